package devices

import (
	"context"
	"time"
)

// Every method takes the Actor asking and applies the visibility rules in
// its query: an object the actor may not see is ErrNotFound, never its
// contents, and a list never holds another tenant's rows. Lists return the
// page and the cursor of the next one ("" at the end).

// OrganizationStore keeps organizations.
type OrganizationStore interface {
	// CreateOrganization inserts o (ID, version and times are set).
	// ErrForbidden unless a regulator admin; *ValidationError.
	CreateOrganization(ctx context.Context, a Actor, o *Organization) error
	// GetOrganization: ErrNotFound when invisible. Everyone sees its own
	// organization, the regulator and the public directory of institutes and
	// maintenance firms; venue operators see only themselves.
	GetOrganization(ctx context.Context, a Actor, id string) (Organization, error)
	ListOrganizations(ctx context.Context, a Actor, f OrganizationFilter, p Page) ([]Organization, string, error)
	// UpdateOrganization: ErrNotFound, ErrForbidden, ErrPreconditionFailed
	// when version is stale, *ValidationError.
	UpdateOrganization(ctx context.Context, a Actor, id string, version int, p OrganizationPatch) (Organization, error)
	// RetireOrganization marks it retired; its tokens stop working.
	RetireOrganization(ctx context.Context, a Actor, id string, version int) (Organization, error)
}

// TokenStore keeps API tokens.
type TokenStore interface {
	// IssueToken creates a token for orgID and returns it with its secret,
	// which is never retrievable again. ErrNotFound, ErrForbidden,
	// *ValidationError.
	IssueToken(ctx context.Context, a Actor, orgID string, r TokenRequest) (Token, string, error)
	ListTokens(ctx context.Context, a Actor, orgID string, p Page) ([]Token, string, error)
	// RevokeToken: ErrNotFound, ErrForbidden. Revoking twice is a no-op.
	RevokeToken(ctx context.Context, a Actor, orgID, tokenID string) (Token, error)
	// Authenticate resolves a bearer secret: ErrUnauthenticated when it is
	// unknown, expired, revoked or its organization retired.
	Authenticate(ctx context.Context, secret string) (Actor, error)
	// Bootstrap creates the first regulator organization and an admin token
	// when no organization exists, with secret when not empty. It reports
	// the secret it created, or "" when the database was not empty.
	Bootstrap(ctx context.Context, secret string) (string, error)
}

// VenueStore keeps venues.
type VenueStore interface {
	// CreateVenue: ErrForbidden unless a venue operator; *ValidationError.
	CreateVenue(ctx context.Context, a Actor, v *Venue) error
	GetVenue(ctx context.Context, a Actor, id string) (Venue, error)
	ListVenues(ctx context.Context, a Actor, f VenueFilter, p Page) ([]Venue, string, error)
	UpdateVenue(ctx context.Context, a Actor, id string, version int, p VenuePatch) (Venue, error)
	// RetireVenue: ErrConflict while devices in it are not retired. Every
	// Update and Retire takes the version the caller last saw
	// (ErrPreconditionFailed when stale), or AnyVersion.
	RetireVenue(ctx context.Context, a Actor, id string, version int) (Venue, error)
}

// ThermometerStore keeps thermometers.
type ThermometerStore interface {
	// CreateThermometer: ErrNotFound for an invisible venue, ErrForbidden,
	// ErrConflict for a duplicate manufacturer+model+serial, *ValidationError.
	CreateThermometer(ctx context.Context, a Actor, t *Thermometer) error
	GetThermometer(ctx context.Context, a Actor, id string) (Thermometer, error)
	ListThermometers(ctx context.Context, a Actor, f ThermometerFilter, p Page) ([]Thermometer, string, error)
	UpdateThermometer(ctx context.Context, a Actor, id string, version int, p ThermometerPatch) (Thermometer, error)
	RetireThermometer(ctx context.Context, a Actor, id string, version int) (Thermometer, error)
	// ImportThermometers registers every row in venueID or none:
	// *ValidationError lists every bad row.
	ImportThermometers(ctx context.Context, a Actor, venueID string, rows []ImportRow[Thermometer]) (int, error)
	// ExportThermometers calls fn for each visible thermometer of venueID.
	ExportThermometers(ctx context.Context, a Actor, venueID string, fn func(Thermometer) error) error
}

// ElevatorStore keeps elevators.
type ElevatorStore interface {
	CreateElevator(ctx context.Context, a Actor, e *Elevator) error
	GetElevator(ctx context.Context, a Actor, id string) (Elevator, error)
	ListElevators(ctx context.Context, a Actor, f ElevatorFilter, p Page) ([]Elevator, string, error)
	UpdateElevator(ctx context.Context, a Actor, id string, version int, p ElevatorPatch) (Elevator, error)
	RetireElevator(ctx context.Context, a Actor, id string, version int) (Elevator, error)
	ImportElevators(ctx context.Context, a Actor, venueID string, rows []ImportRow[Elevator]) (int, error)
	ExportElevators(ctx context.Context, a Actor, venueID string, fn func(Elevator) error) error
}

// ProfileStore reads the seeded tolerance profiles (visible to everyone).
type ProfileStore interface {
	ListProfiles(ctx context.Context) ([]ToleranceProfile, error)
	GetProfile(ctx context.Context, code string) (ToleranceProfile, error)
}

// AuditStore reads the audit log: the regulator sees every event, others
// their own organization's.
type AuditStore interface {
	ListAudit(ctx context.Context, a Actor, f AuditFilter, p Page) ([]AuditEvent, string, error)
}

// Registry is everything the API needs from storage.
type Registry interface {
	OrganizationStore
	TokenStore
	VenueStore
	ThermometerStore
	ElevatorStore
	ProfileStore
	AuditStore
	TaskStore
	VisitStore
	EventStore
	RequestStore
	FeedStore
	ResultStore
	CertificateStore
	DeferralStore
	MaintenanceStore
	LiftWorkStore
	TechnicianStore
	DeviceCredentialStore
	ReadingHistory
	DeadLetterHistory
	AlertStore
	SilenceStore
	CoverageStore
	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
}

// Clock tells the time; tests pass a fixed one.
type Clock func() time.Time
