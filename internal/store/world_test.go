package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/internal/store"
)

// t0 is the fixed "now" every fixture starts at.
var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// at is an hour in UTC.
func at(y int, m time.Month, d, h int) time.Time { return time.Date(y, m, d, h, 0, 0, 0, time.UTC) }

// clock is a settable store clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// world is the multi-tenant fixture every contract test starts from:
//
//	regulator (bootstrap admin token)
//	operator A: admin + member tokens, venueA with thermA (assigned to inst),
//	            thermA2 (unassigned), elevA (firm), elevA2 (no firm)
//	operator B: admin + member tokens, venueB with thermB and elevB (unassigned)
//	institute:  admin token; sees thermA and venueA only
//	firm:       admin token; sees elevA and venueA only
type world struct {
	t   *testing.T
	ctx context.Context
	st  *store.Store
	clk *clock

	reg               devices.Actor
	opA, opB          devices.Organization
	inst, firm        devices.Organization
	adminA, memberA   devices.Actor
	adminB, memberB   devices.Actor
	instAdmin         devices.Actor
	firmAdmin         devices.Actor
	secret            map[string]string // token id -> secret
	venueA, venueB    devices.Venue
	thermA, thermA2   devices.Thermometer
	thermB            devices.Thermometer
	elevA, elevA2     devices.Elevator
	elevB             devices.Elevator
	serials, regCodes int
}

func newWorld(t *testing.T, st *store.Store) *world {
	t.Helper()
	w := &world{t: t, ctx: t.Context(), st: st, clk: &clock{now: t0}, secret: map[string]string{}}
	st.SetClock(w.clk.Now)

	sec, err := st.Bootstrap(w.ctx, "")
	if err != nil || sec == "" {
		t.Fatalf("Bootstrap(empty db) = %q, %v; want a secret", sec, err)
	}
	w.reg = w.auth(sec)
	w.secret[w.reg.TokenID] = sec

	w.opA = w.org("Operator A (airports)", devices.KindVenueOperator)
	w.opB = w.org("Operator B (railways)", devices.KindVenueOperator)
	w.inst = w.org("Shanghai Institute of Measurement", devices.KindMetrologyInstitute)
	w.firm = w.org("Lift Care Ltd", devices.KindMaintenanceFirm)

	w.adminA = w.token(w.reg, w.opA.ID, devices.RoleAdmin)
	w.memberA = w.token(w.reg, w.opA.ID, devices.RoleMember)
	w.adminB = w.token(w.reg, w.opB.ID, devices.RoleAdmin)
	w.memberB = w.token(w.reg, w.opB.ID, devices.RoleMember)
	w.instAdmin = w.token(w.reg, w.inst.ID, devices.RoleAdmin)
	w.firmAdmin = w.token(w.reg, w.firm.ID, devices.RoleAdmin)

	w.venueA = w.venue(w.adminA, "Pudong T2")
	w.venueB = w.venue(w.adminB, "Hongqiao Station")

	w.thermA = w.thermometer(w.adminA, w.venueA.ID, func(th *devices.Thermometer) { th.InstituteID = &w.inst.ID })
	w.thermA2 = w.thermometer(w.adminA, w.venueA.ID, nil)
	w.thermB = w.thermometer(w.adminB, w.venueB.ID, nil)

	w.elevA = w.elevator(w.adminA, w.venueA.ID, func(e *devices.Elevator) { e.MaintenanceFirmID = &w.firm.ID })
	w.elevA2 = w.elevator(w.adminA, w.venueA.ID, nil)
	w.elevB = w.elevator(w.adminB, w.venueB.ID, nil)
	return w
}

func (w *world) auth(secret string) devices.Actor {
	w.t.Helper()
	a, err := w.st.Authenticate(w.ctx, secret)
	if err != nil {
		w.t.Fatalf("Authenticate(fixture secret) = %v", err)
	}
	return a
}

func (w *world) org(name string, kind devices.OrgKind) devices.Organization {
	w.t.Helper()
	o := devices.Organization{Name: name, Kind: kind, RegionCode: "CN-SH", ContactEmail: "ops@example.org"}
	if err := w.st.CreateOrganization(w.ctx, w.reg, &o); err != nil {
		w.t.Fatalf("CreateOrganization(%s) = %v", name, err)
	}
	return o
}

// token issues a token for orgID as by and returns the actor it
// authenticates as.
func (w *world) token(by devices.Actor, orgID string, role devices.Role) devices.Actor {
	w.t.Helper()
	tok, sec, err := w.st.IssueToken(w.ctx, by, orgID, devices.TokenRequest{Name: string(role) + " token", Role: role})
	if err != nil {
		w.t.Fatalf("IssueToken(%s, %s) = %v", orgID, role, err)
	}
	w.secret[tok.ID] = sec
	return w.auth(sec)
}

func (w *world) venue(a devices.Actor, name string) devices.Venue {
	w.t.Helper()
	v := devices.Venue{Name: name, Kind: devices.VenueAirport, RegionCode: "310115", TimeZone: "Asia/Shanghai",
		Address: "1 Test Road", Contact: devices.Contact{Name: "Duty manager", Email: "duty@example.org"}}
	if err := w.st.CreateVenue(w.ctx, a, &v); err != nil {
		w.t.Fatalf("CreateVenue(%s) = %v", name, err)
	}
	return v
}

func (w *world) nextSerial() string {
	w.serials++
	return fmt.Sprintf("SN-%05d", w.serials)
}

func (w *world) newThermometer(venueID string) devices.Thermometer {
	return devices.Thermometer{VenueID: venueID, Type: devices.TypeIREar, Manufacturer: "Braun",
		Model: "IRT6520", Serial: w.nextSerial(), LocationNote: "gate"}
}

func (w *world) thermometer(a devices.Actor, venueID string, mod func(*devices.Thermometer)) devices.Thermometer {
	w.t.Helper()
	th := w.newThermometer(venueID)
	if mod != nil {
		mod(&th)
	}
	if err := w.st.CreateThermometer(w.ctx, a, &th); err != nil {
		w.t.Fatalf("CreateThermometer(%s) = %v", th.Serial, err)
	}
	return th
}

func (w *world) newElevator(venueID string) devices.Elevator {
	w.regCodes++
	cd := time.Date(2019, 6, 30, 0, 0, 0, 0, time.UTC)
	return devices.Elevator{VenueID: venueID, RegistrationCode: fmt.Sprintf("3110-SH-%05d", w.regCodes),
		Manufacturer: "Otis", Model: "Gen2", CommissioningDate: &cd}
}

func (w *world) elevator(a devices.Actor, venueID string, mod func(*devices.Elevator)) devices.Elevator {
	w.t.Helper()
	e := w.newElevator(venueID)
	if mod != nil {
		mod(&e)
	}
	if err := w.st.CreateElevator(w.ctx, a, &e); err != nil {
		w.t.Fatalf("CreateElevator(%s) = %v", e.RegistrationCode, err)
	}
	return e
}

// count returns the number of rows in table, straight from the database.
func (w *world) count(table string) int {
	w.t.Helper()
	return countSQL(w.t, w.st, "SELECT count(*) FROM "+table)
}

func countSQL(tb testing.TB, st *store.Store, query string) int {
	tb.Helper()
	var n int
	if err := st.SQLDB().QueryRowContext(context.Background(), query).Scan(&n); err != nil {
		tb.Fatalf("%s: %v", query, err)
	}
	return n
}

// ---- assertions ----

func wantIs(tb testing.TB, what string, err, target error) {
	tb.Helper()
	if !errors.Is(err, target) {
		tb.Errorf("%s: err = %v, want %v", what, err, target)
	}
}

// wantFields checks err is a *devices.ValidationError that names every
// field in fields and returns it.
func wantFields(tb testing.TB, what string, err error, fields ...string) *devices.ValidationError {
	tb.Helper()
	var ve *devices.ValidationError
	if !errors.As(err, &ve) {
		tb.Errorf("%s: err = %v, want a *devices.ValidationError naming %v", what, err, fields)
		return nil
	}
	for _, f := range fields {
		if !slices.ContainsFunc(ve.Fields, func(fe devices.FieldError) bool { return fe.Field == f }) {
			tb.Errorf("%s: validation error %v does not name field %q", what, ve, f)
		}
	}
	return ve
}

func wantConflict(tb testing.TB, what string, err error, code string) {
	tb.Helper()
	var ce *devices.ConflictError
	if !errors.As(err, &ce) {
		tb.Errorf("%s: err = %v, want *devices.ConflictError %q", what, err, code)
		return
	}
	if ce.Code != code {
		tb.Errorf("%s: conflict code = %q (%v), want %q", what, ce.Code, ce, code)
	}
	if !errors.Is(err, devices.ErrConflict) {
		tb.Errorf("%s: errors.Is(%v, ErrConflict) = false", what, err)
	}
}

func ptr[T any](v T) *T { return &v }

// pptr builds the "set to v" form of a nullable patch field.
func pptr[T any](v T) **T { p := &v; return &p }

func ids[T any](xs []T, id func(T) string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = id(x)
	}
	return out
}

func venueID(v devices.Venue) string             { return v.ID }
func thermometerID(t devices.Thermometer) string { return t.ID }
func elevatorID(e devices.Elevator) string       { return e.ID }
func orgID(o devices.Organization) string        { return o.ID }

func sameSet(got, want []string) bool {
	g, wt := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(wt)
	return slices.Equal(g, wt)
}
