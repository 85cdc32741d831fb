package devices

import "time"

// Audit actions.
const (
	ActionCreate      = "create"
	ActionUpdate      = "update"
	ActionRetire      = "retire"
	ActionTokenIssue  = "token.issue"
	ActionTokenRevoke = "token.revoke"
	ActionImport      = "import"
)

// Audited resource names.
const (
	ResourceOrganization = "organization"
	ResourceToken        = "token"
	ResourceVenue        = "venue"
	ResourceThermometer  = "thermometer"
	ResourceElevator     = "elevator"
)

// AuditEvent records who changed what and when. The log is append-only: no
// method updates or deletes an event.
type AuditEvent struct {
	ID         string
	At         time.Time
	OrgID      string // empty for the command-line operator
	TokenID    string // empty for the command-line operator and bootstrap
	Action     string
	Resource   string
	ResourceID string
	Changes    Changes
}

// AuditFilter narrows the audit log. Empty fields do not filter.
type AuditFilter struct {
	OrgID      string
	Resource   string
	ResourceID string
	Action     string
	Since      *time.Time
	Until      *time.Time
}
