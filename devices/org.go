package devices

import (
	"strings"
	"time"
)

// OrgKind says what an organization does, and so what it may see.
type OrgKind string

// The four kinds of organization.
const (
	KindRegulator          OrgKind = "regulator"
	KindMetrologyInstitute OrgKind = "metrology_institute"
	KindMaintenanceFirm    OrgKind = "maintenance_firm"
	KindVenueOperator      OrgKind = "venue_operator"
)

// OrgKinds lists every kind, for validation messages and documentation.
var OrgKinds = []OrgKind{KindRegulator, KindMetrologyInstitute, KindMaintenanceFirm, KindVenueOperator}

// Valid reports whether k is a known kind.
func (k OrgKind) Valid() bool {
	for _, v := range OrgKinds {
		if k == v {
			return true
		}
	}
	return false
}

// Organization is a tenant: a regulator, an institute, a firm or a venue
// operator.
type Organization struct {
	ID           string
	Name         string
	Kind         OrgKind
	RegionCode   string
	ContactEmail string
	Retired      bool
	Version      int
	CreatedAt    time.Time
	UpdatedAt    time.Time
	RetiredAt    *time.Time
}

// Validate checks the fields a caller supplies.
func (o *Organization) Validate() error {
	var p Problems
	o.Name = strings.TrimSpace(o.Name)
	checkText(&p, "name", o.Name, true, 200)
	if !o.Kind.Valid() {
		p.Addf("kind", "must be one of %s", joinKinds(OrgKinds))
	}
	checkRegion(&p, "region_code", &o.RegionCode, false)
	checkEmail(&p, "contact_email", o.ContactEmail)
	return p.Err()
}

// OrganizationPatch holds the fields an update may change; nil means keep.
type OrganizationPatch struct {
	Name         *string
	RegionCode   *string
	ContactEmail *string
}

// Apply changes o in place and reports the changed fields.
func (o *Organization) Apply(p OrganizationPatch) Changes {
	c := Changes{}
	setField(c, "name", &o.Name, normalized(p.Name, nil))
	setField(c, "region_code", &o.RegionCode, normalized(p.RegionCode, strings.ToUpper))
	setField(c, "contact_email", &o.ContactEmail, p.ContactEmail)
	return c
}

// OrganizationFilter narrows a list of organizations.
type OrganizationFilter struct {
	Kind OrgKind
}

// Role is what a token may do inside its organization.
type Role string

// Token roles.
const (
	RoleAdmin  Role = "admin"
	RoleMember Role = "member"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleAdmin || r == RoleMember }

// Token is an API credential of one organization. The secret itself is
// never stored, only its hash.
type Token struct {
	ID        string
	OrgID     string
	Name      string
	Role      Role
	ExpiresAt *time.Time
	RevokedAt *time.Time
	CreatedAt time.Time
	CreatedBy string // token id that issued it; empty for the bootstrap and the CLI
}

// TokenRequest is what a caller asks for when issuing a token.
type TokenRequest struct {
	Name      string
	Role      Role
	ExpiresAt *time.Time
}

// Validate checks a token request against now.
func (r *TokenRequest) Validate(now time.Time) error {
	var p Problems
	r.Name = strings.TrimSpace(r.Name)
	checkText(&p, "name", r.Name, true, 100)
	if !r.Role.Valid() {
		p.Add("role", "must be one of admin, member")
	}
	if r.ExpiresAt != nil && !r.ExpiresAt.After(now) {
		p.Add("expires_at", "must be in the future")
	}
	return p.Err()
}

// Actor is who is asking: the organization behind a token and the token's
// role. Every store method takes one and applies its visibility rules in the
// query itself.
type Actor struct {
	OrgID   string
	OrgKind OrgKind
	Role    Role
	TokenID string
	// TokenExpiresAt is when the token stops working (nil: never); caches
	// of the actor must not outlive it.
	TokenExpiresAt *time.Time
	// System marks an operator acting through the command line (token
	// recovery); it may do what a regulator admin may.
	System bool
}

// SystemActor is the command-line operator.
func SystemActor() Actor {
	return Actor{OrgKind: KindRegulator, Role: RoleAdmin, System: true}
}

// IsRegulator reports whether the actor reads everything.
func (a Actor) IsRegulator() bool { return a.OrgKind == KindRegulator }

// IsAdmin reports whether the token has the admin role.
func (a Actor) IsAdmin() bool { return a.Role == RoleAdmin }

// CanManageOrganizations: regulator admins create, change and retire any
// organization.
func (a Actor) CanManageOrganizations() bool { return a.IsRegulator() && a.IsAdmin() }

// CanManageTokens reports whether the actor may issue or revoke tokens of
// orgID: regulator admins for anyone, other admins for their own org.
func (a Actor) CanManageTokens(orgID string) bool {
	if !a.IsAdmin() {
		return false
	}
	return a.IsRegulator() || a.OrgID == orgID
}

// CanEditOrganization reports whether the actor may change orgID's profile.
func (a Actor) CanEditOrganization(orgID string) bool {
	return a.CanManageTokens(orgID)
}

// CanWriteRegistry reports whether the actor registers and edits venues and
// devices. Only venue operators do; everyone else reads.
func (a Actor) CanWriteRegistry() bool { return a.OrgKind == KindVenueOperator }

func joinKinds[T ~string](ks []T) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}
