package store_test

import (
	"testing"
	"time"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/internal/store"
	"github.com/calibd/calibd/internal/testenv"
)

// versioned is one resource as the optimistic-concurrency tests see it.
type versioned struct {
	name string
	id   string
	// update applies a change (when change) or a patch that sets every
	// field to its current value (no-op) at version v.
	update func(v int, change string) (int, error)
	noop   func(v int) (int, error)
	retire func(v int) (int, error)
}

func versionedResources(w *world) []versioned {
	st, ctx := w.st, w.ctx
	empty := w.venue(w.adminA, "Empty hall")
	return []versioned{
		{
			name: "organization", id: w.opA.ID,
			update: func(v int, s string) (int, error) {
				o, err := st.UpdateOrganization(ctx, w.reg, w.opA.ID, v, devices.OrganizationPatch{Name: &s})
				return o.Version, err
			},
			noop: func(v int) (int, error) {
				o, err := st.UpdateOrganization(ctx, w.adminA, w.opA.ID, v, devices.OrganizationPatch{
					RegionCode: ptr("CN-SH"), ContactEmail: ptr("ops@example.org")})
				return o.Version, err
			},
			retire: func(v int) (int, error) {
				o, err := st.RetireOrganization(ctx, w.reg, w.opB.ID, v)
				return o.Version, err
			},
		},
		{
			name: "venue", id: w.venueA.ID,
			update: func(v int, s string) (int, error) {
				x, err := st.UpdateVenue(ctx, w.adminA, w.venueA.ID, v, devices.VenuePatch{Name: &s})
				return x.Version, err
			},
			noop: func(v int) (int, error) {
				x, err := st.UpdateVenue(ctx, w.adminA, w.venueA.ID, v, devices.VenuePatch{Kind: &w.venueA.Kind,
					TimeZone: &w.venueA.TimeZone, ContactEmail: &w.venueA.Contact.Email, Lat: new(*float64)})
				return x.Version, err
			},
			retire: func(v int) (int, error) {
				x, err := st.RetireVenue(ctx, w.adminA, empty.ID, v)
				return x.Version, err
			},
		},
		{
			name: "thermometer", id: w.thermA.ID,
			update: func(v int, s string) (int, error) {
				x, err := st.UpdateThermometer(ctx, w.adminA, w.thermA.ID, v, devices.ThermometerPatch{LocationNote: &s})
				return x.Version, err
			},
			noop: func(v int) (int, error) {
				modes := []devices.ReadingMode{devices.ModeBody, devices.ModeCalibration}
				x, err := st.UpdateThermometer(ctx, w.adminA, w.thermA.ID, v, devices.ThermometerPatch{
					Serial: &w.thermA.Serial, Modes: &modes, InstituteID: pptr(w.inst.ID),
					Status: ptr(devices.StatusInService), IntervalDays: ptr(365), LastCalibratedAt: new(*time.Time)})
				return x.Version, err
			},
			retire: func(v int) (int, error) {
				x, err := st.RetireThermometer(ctx, w.adminA, w.thermA2.ID, v)
				return x.Version, err
			},
		},
		{
			name: "elevator", id: w.elevA.ID,
			update: func(v int, s string) (int, error) {
				x, err := st.UpdateElevator(ctx, w.adminA, w.elevA.ID, v, devices.ElevatorPatch{Model: &s})
				return x.Version, err
			},
			noop: func(v int) (int, error) {
				cd := *w.elevA.CommissioningDate
				x, err := st.UpdateElevator(ctx, w.adminA, w.elevA.ID, v, devices.ElevatorPatch{
					RegistrationCode: &w.elevA.RegistrationCode, MaintenanceFirmID: pptr(w.firm.ID),
					CommissioningDate: pptr(cd), Status: ptr(devices.ElevatorInService)})
				return x.Version, err
			},
			retire: func(v int) (int, error) {
				x, err := st.RetireElevator(ctx, w.adminA, w.elevA2.ID, v)
				return x.Version, err
			},
		},
	}
}

// TestOptimisticConcurrency: a stale version is ErrPreconditionFailed,
// each real change bumps the version by one, and a patch that changes
// nothing neither bumps it nor writes an audit event.
func TestOptimisticConcurrency(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newWorld(t, st)
		// Updates happen an hour after the fixture was built, so their
		// times differ from the creation times.
		w.clk.Set(t0.Add(time.Hour))
		for _, r := range versionedResources(w) {
			t.Run(r.name, func(t *testing.T) {
				v, err := r.update(1, "first change")
				if err != nil || v != 2 {
					t.Fatalf("update at version 1 = version %d, %v; want 2", v, err)
				}
				v, err = r.update(2, "second change")
				if err != nil || v != 3 {
					t.Fatalf("update at version 2 = version %d, %v; want 3", v, err)
				}
				_, err = r.update(2, "stale change")
				wantIs(t, "update at stale version 2", err, devices.ErrPreconditionFailed)
				_, err = r.update(4, "future change")
				wantIs(t, "update at future version 4", err, devices.ErrPreconditionFailed)

				before := w.count("audit_events")
				v, err = r.noop(3)
				if err != nil || v != 3 {
					t.Errorf("no-op update = version %d, %v; want 3 unchanged", v, err)
				}
				if after := w.count("audit_events"); after != before {
					t.Errorf("no-op update wrote %d audit events, want 0", after-before)
				}
				evs, _, err := st.ListAudit(w.ctx, w.reg, devices.AuditFilter{ResourceID: r.id, Action: devices.ActionUpdate}, devices.Page{})
				if err != nil || len(evs) != 2 {
					t.Errorf("update events for %s = %d, %v; want 2", r.name, len(evs), err)
				}

				_, err = r.retire(7)
				wantIs(t, "retire at stale version", err, devices.ErrPreconditionFailed)
				v, err = r.retire(1)
				if err != nil || v != 2 {
					t.Errorf("retire at version 1 = version %d, %v; want 2", v, err)
				}
			})
		}
	})
}

// TestTimestampsFollowTheClock: created, updated and retired times are the
// store clock's, and what an update returns is what a later read gives.
func TestTimestampsFollowTheClock(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newWorld(t, st)
		ctx := w.ctx
		t1 := t0.Add(90 * time.Minute)
		w.clk.Set(t1)
		type stamps struct {
			name                string
			created, updated    time.Time
			retired             *time.Time
			readCreated, readUp time.Time
		}
		var got []stamps

		v, err := st.UpdateVenue(ctx, w.adminA, w.venueA.ID, 1, devices.VenuePatch{Name: ptr("renamed")})
		if err != nil {
			t.Fatal(err)
		}
		rv, err := st.GetVenue(ctx, w.adminA, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, stamps{"venue update", v.CreatedAt, v.UpdatedAt, nil, rv.CreatedAt, rv.UpdatedAt})

		th, err := st.UpdateThermometer(ctx, w.adminA, w.thermA.ID, 1, devices.ThermometerPatch{LocationNote: ptr("moved")})
		if err != nil {
			t.Fatal(err)
		}
		rth, err := st.GetThermometer(ctx, w.adminA, th.ID)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, stamps{"thermometer update", th.CreatedAt, th.UpdatedAt, nil, rth.CreatedAt, rth.UpdatedAt})

		th, err = st.RetireThermometer(ctx, w.adminA, w.thermA2.ID, 1)
		if err != nil {
			t.Fatal(err)
		}
		rth, err = st.GetThermometer(ctx, w.adminA, th.ID)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, stamps{"thermometer retire", th.CreatedAt, th.UpdatedAt, rth.RetiredAt, rth.CreatedAt, rth.UpdatedAt})

		e, err := st.UpdateElevator(ctx, w.adminA, w.elevA.ID, 1, devices.ElevatorPatch{Model: ptr("Gen3")})
		if err != nil {
			t.Fatal(err)
		}
		re, err := st.GetElevator(ctx, w.adminA, e.ID)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, stamps{"elevator update", e.CreatedAt, e.UpdatedAt, nil, re.CreatedAt, re.UpdatedAt})

		o, err := st.UpdateOrganization(ctx, w.reg, w.opB.ID, 1, devices.OrganizationPatch{Name: ptr("Operator B2")})
		if err != nil {
			t.Fatal(err)
		}
		ro, err := st.GetOrganization(ctx, w.reg, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, stamps{"organization update", o.CreatedAt, o.UpdatedAt, nil, ro.CreatedAt, ro.UpdatedAt})

		for _, s := range got {
			if !s.created.Equal(t0) || !s.readCreated.Equal(t0) {
				t.Errorf("%s: created %v, read back %v; want %v", s.name, s.created, s.readCreated, t0)
			}
			if !s.updated.Equal(t1) || !s.readUp.Equal(t1) {
				t.Errorf("%s: updated %v, read back %v; want the clock's %v", s.name, s.updated, s.readUp, t1)
			}
			if s.retired != nil && !s.retired.Equal(t1) {
				t.Errorf("%s: retired %v, want %v", s.name, *s.retired, t1)
			}
		}
	})
}
