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
	ActionRevoke      = "revoke"
)

// Audited resource names.
const (
	ResourceOrganization = "organization"
	ResourceToken        = "token"
	ResourceVenue        = "venue"
	ResourceThermometer  = "thermometer"
	ResourceElevator     = "elevator"
	ResourceVisit        = "visit"
	ResourceRequest      = "calibration_request"
	ResourceFeed         = "calendar_feed"
)

// AuditResources lists every resource the audit log names; the OpenAPI
// document's AuditResource enum must match it (a test checks).
var AuditResources = []string{ResourceOrganization, ResourceToken, ResourceVenue, ResourceThermometer, ResourceElevator,
	ResourceVisit, ResourceRequest, ResourceFeed, ResourceCalibrationResult, ResourceReferenceStandard, ResourceDeferral, ResourceTask,
	ResourceContract, ResourceAgreement, ResourceTechnician, ResourceMaintenanceReport, ResourceDeviceCredential, ResourceAlert}

// AuditActions lists every action the audit log records: the registry's,
// and the workflow actions of visits and requests.
var AuditActions = []string{ActionCreate, ActionUpdate, ActionRetire, ActionTokenIssue, ActionTokenRevoke, ActionImport, ActionRevoke,
	string(VisitConfirm), string(VisitStart), string(VisitComplete), string(VisitCancel),
	string(RequestAccept), string(RequestPropose), string(RequestDecline), string(RequestAcceptProposal), string(RequestWithdraw),
	ActionRevise, ActionFlagOutOfTolerance, ActionLift, ActionEnd, string(AgreementReject),
	ActionCountersign, ActionSuspend, ActionReinstate, string(AlertAcknowledge), string(AlertResolve)}

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
