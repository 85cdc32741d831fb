package devices_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/calibd/calibd/devices"
)

func TestOrganizationValidate(t *testing.T) {
	valid := func() devices.Organization {
		return devices.Organization{Name: "Shanghai Institute of Measurement", Kind: devices.KindMetrologyInstitute,
			RegionCode: "310000", ContactEmail: "lab@example.org"}
	}
	tests := []struct {
		name       string
		edit       func(o *devices.Organization)
		wantFields []string
		wantName   string
		wantRegion string
	}{
		{name: "valid", edit: func(o *devices.Organization) {}, wantName: "Shanghai Institute of Measurement", wantRegion: "310000"},
		{name: "region optional", edit: func(o *devices.Organization) { o.RegionCode = "" }, wantName: "Shanghai Institute of Measurement"},
		{name: "email optional", edit: func(o *devices.Organization) { o.ContactEmail = "" }, wantName: "Shanghai Institute of Measurement", wantRegion: "310000"},
		{name: "name and region normalised", edit: func(o *devices.Organization) { o.Name, o.RegionCode = "  SAMR ", "cn-sh" }, wantName: "SAMR", wantRegion: "CN-SH"},
		{name: "name missing", edit: func(o *devices.Organization) { o.Name = "  " }, wantFields: sorted("name"), wantRegion: "310000"},
		{name: "name 201 characters", edit: func(o *devices.Organization) { o.Name = strings.Repeat("x", 201) }, wantFields: sorted("name"), wantName: strings.Repeat("x", 201), wantRegion: "310000"},
		{name: "each kind", edit: func(o *devices.Organization) { o.Kind = devices.KindVenueOperator }, wantName: "Shanghai Institute of Measurement", wantRegion: "310000"},
		{name: "kind empty", edit: func(o *devices.Organization) { o.Kind = "" }, wantFields: sorted("kind"), wantName: "Shanghai Institute of Measurement", wantRegion: "310000"},
		{name: "kind unknown", edit: func(o *devices.Organization) { o.Kind = "hospital" }, wantFields: sorted("kind"), wantName: "Shanghai Institute of Measurement", wantRegion: "310000"},
		{name: "region bad", edit: func(o *devices.Organization) { o.RegionCode = "31#00" }, wantFields: sorted("region_code"), wantName: "Shanghai Institute of Measurement", wantRegion: "31#00"},
		{name: "email bad", edit: func(o *devices.Organization) { o.ContactEmail = "lab@" }, wantFields: sorted("contact_email"), wantName: "Shanghai Institute of Measurement", wantRegion: "310000"},
		{
			name: "every bad field is listed",
			edit: func(o *devices.Organization) {
				*o = devices.Organization{Kind: "x", RegionCode: "a b", ContactEmail: "@"}
			},
			wantFields: sorted("name", "kind", "region_code", "contact_email"),
			wantRegion: "A B",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := valid()
			tt.edit(&o)
			err := o.Validate()
			if diff := cmp.Diff(tt.wantFields, validationFields(t, err)); diff != "" {
				t.Errorf("Validate() = %v; fields (-want +got):\n%s", err, diff)
			}
			if o.Name != tt.wantName || o.RegionCode != tt.wantRegion {
				t.Errorf("after Validate Name, RegionCode = %q, %q, want %q, %q", o.Name, o.RegionCode, tt.wantName, tt.wantRegion)
			}
		})
	}
}

func TestOrgKindValid(t *testing.T) {
	if len(devices.OrgKinds) != 4 {
		t.Errorf("len(OrgKinds) = %d, want 4", len(devices.OrgKinds))
	}
	for _, k := range devices.OrgKinds {
		if !k.Valid() {
			t.Errorf("%q.Valid() = false", k)
		}
	}
	for _, k := range []devices.OrgKind{"", "Regulator", "venue-operator"} {
		if k.Valid() {
			t.Errorf("%q.Valid() = true", k)
		}
	}
}

func TestOrganizationApply(t *testing.T) {
	o := devices.Organization{Name: "A", Kind: devices.KindMaintenanceFirm, RegionCode: "310000", ContactEmail: "a@example.org"}
	got := o.Apply(devices.OrganizationPatch{Name: ptr("B"), RegionCode: ptr("310000"), ContactEmail: ptr("")})
	want := devices.Changes{"name": {From: "A", To: "B"}, "contact_email": {From: "a@example.org", To: ""}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Apply() changes (-want +got):\n%s", diff)
	}
	if o.Name != "B" || o.ContactEmail != "" || o.RegionCode != "310000" {
		t.Errorf("after Apply = %+v", o)
	}
	if got := o.Apply(devices.OrganizationPatch{}); len(got) != 0 {
		t.Errorf("Apply(empty) = %v, want no changes", got)
	}
}

func TestTokenRequestValidate(t *testing.T) {
	now := mustTime(t, "2026-03-01T09:00:00Z")
	tests := []struct {
		name       string
		req        devices.TokenRequest
		wantFields []string
	}{
		{name: "admin, no expiry", req: devices.TokenRequest{Name: "ci", Role: devices.RoleAdmin}},
		{name: "member, future expiry", req: devices.TokenRequest{Name: "ci", Role: devices.RoleMember, ExpiresAt: ptr(now.Add(time.Nanosecond))}},
		{name: "future expiry in another zone", req: devices.TokenRequest{Name: "ci", Role: devices.RoleMember,
			ExpiresAt: ptr(mustTime(t, "2026-03-01T17:00:01+08:00"))}},
		{name: "expiry now", req: devices.TokenRequest{Name: "ci", Role: devices.RoleAdmin, ExpiresAt: ptr(now)}, wantFields: sorted("expires_at")},
		{name: "expiry now in another zone", req: devices.TokenRequest{Name: "ci", Role: devices.RoleAdmin,
			ExpiresAt: ptr(mustTime(t, "2026-03-01T17:00:00+08:00"))}, wantFields: sorted("expires_at")},
		{name: "expiry in the past", req: devices.TokenRequest{Name: "ci", Role: devices.RoleAdmin, ExpiresAt: ptr(now.Add(-time.Hour))}, wantFields: sorted("expires_at")},
		{name: "name missing", req: devices.TokenRequest{Name: " ", Role: devices.RoleAdmin}, wantFields: sorted("name")},
		{name: "name 100 characters", req: devices.TokenRequest{Name: strings.Repeat("n", 100), Role: devices.RoleAdmin}},
		{name: "name 101 characters", req: devices.TokenRequest{Name: strings.Repeat("n", 101), Role: devices.RoleAdmin}, wantFields: sorted("name")},
		{name: "role empty", req: devices.TokenRequest{Name: "ci"}, wantFields: sorted("role")},
		{name: "role unknown", req: devices.TokenRequest{Name: "ci", Role: "owner"}, wantFields: sorted("role")},
		{name: "everything wrong", req: devices.TokenRequest{Role: "root", ExpiresAt: ptr(now.Add(-time.Second))},
			wantFields: sorted("name", "role", "expires_at")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.req
			err := r.Validate(now)
			if diff := cmp.Diff(tt.wantFields, validationFields(t, err)); diff != "" {
				t.Errorf("Validate() = %v; fields (-want +got):\n%s", err, diff)
			}
		})
	}
}

func TestActorPermissions(t *testing.T) {
	const own, other = "org-own", "org-other"
	type perms struct {
		regulator, admin, manageOrgs, tokensOwn, tokensOther, editOwn, editOther, writeRegistry bool
	}
	tests := []struct {
		name  string
		actor devices.Actor
		want  perms
	}{
		{"regulator admin", devices.Actor{OrgID: own, OrgKind: devices.KindRegulator, Role: devices.RoleAdmin},
			perms{regulator: true, admin: true, manageOrgs: true, tokensOwn: true, tokensOther: true, editOwn: true, editOther: true}},
		{"regulator member", devices.Actor{OrgID: own, OrgKind: devices.KindRegulator, Role: devices.RoleMember},
			perms{regulator: true}},
		{"institute admin", devices.Actor{OrgID: own, OrgKind: devices.KindMetrologyInstitute, Role: devices.RoleAdmin},
			perms{admin: true, tokensOwn: true, editOwn: true}},
		{"institute member", devices.Actor{OrgID: own, OrgKind: devices.KindMetrologyInstitute, Role: devices.RoleMember},
			perms{}},
		{"maintenance firm admin", devices.Actor{OrgID: own, OrgKind: devices.KindMaintenanceFirm, Role: devices.RoleAdmin},
			perms{admin: true, tokensOwn: true, editOwn: true}},
		{"maintenance firm member", devices.Actor{OrgID: own, OrgKind: devices.KindMaintenanceFirm, Role: devices.RoleMember},
			perms{}},
		{"venue operator admin", devices.Actor{OrgID: own, OrgKind: devices.KindVenueOperator, Role: devices.RoleAdmin},
			perms{admin: true, tokensOwn: true, editOwn: true, writeRegistry: true}},
		{"venue operator member", devices.Actor{OrgID: own, OrgKind: devices.KindVenueOperator, Role: devices.RoleMember},
			perms{writeRegistry: true}},
		{"unknown role is not admin", devices.Actor{OrgID: own, OrgKind: devices.KindRegulator, Role: "Admin"},
			perms{regulator: true}},
		{"unknown kind", devices.Actor{OrgID: own, OrgKind: "", Role: devices.RoleAdmin},
			perms{admin: true, tokensOwn: true, editOwn: true}},
		{"system actor", devices.SystemActor(),
			perms{regulator: true, admin: true, manageOrgs: true, tokensOwn: true, tokensOther: true, editOwn: true, editOther: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.actor
			ownID := a.OrgID
			if ownID == "" {
				ownID = own
			}
			got := perms{
				regulator:     a.IsRegulator(),
				admin:         a.IsAdmin(),
				manageOrgs:    a.CanManageOrganizations(),
				tokensOwn:     a.CanManageTokens(ownID),
				tokensOther:   a.CanManageTokens(other),
				editOwn:       a.CanEditOrganization(ownID),
				editOther:     a.CanEditOrganization(other),
				writeRegistry: a.CanWriteRegistry(),
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(perms{})); diff != "" {
				t.Errorf("permissions of %+v (-want +got):\n%s", a, diff)
			}
		})
	}
}

func TestSystemActor(t *testing.T) {
	a := devices.SystemActor()
	if !a.System || a.OrgID != "" || a.TokenID != "" {
		t.Errorf("SystemActor() = %+v, want System with no org or token", a)
	}
}

func TestRoleValid(t *testing.T) {
	tests := []struct {
		role devices.Role
		want bool
	}{{devices.RoleAdmin, true}, {devices.RoleMember, true}, {"", false}, {"ADMIN", false}, {"owner", false}}
	for _, tt := range tests {
		if got := tt.role.Valid(); got != tt.want {
			t.Errorf("Role(%q).Valid() = %v, want %v", tt.role, got, tt.want)
		}
	}
}
