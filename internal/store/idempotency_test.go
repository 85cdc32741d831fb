package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/internal/store"
	"github.com/calibd/calibd/internal/testenv"
)

func withKey(ctx context.Context, key, hash string) context.Context {
	return devices.WithIdempotencyKey(ctx, devices.IdempotencyKey{Key: key, Hash: hash})
}

func wantReplay(tb testing.TB, what string, err error, id string) *devices.ReplayError {
	tb.Helper()
	var rep *devices.ReplayError
	if !errors.As(err, &rep) {
		tb.Errorf("%s: err = %v, want a *devices.ReplayError", what, err)
		return nil
	}
	if id != "" && rep.ID != id {
		tb.Errorf("%s: replay names %s %s, want %s", what, rep.Resource, rep.ID, id)
	}
	return rep
}

// TestIdempotentCreates: a create retried under the same Idempotency-Key
// writes nothing the second time and names what the first one made; the
// key is per organization, bound to its request, reusable after it
// expires, and not consumed by a request that failed.
func TestIdempotentCreates(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newWorld(t, st)

		t.Run("retry creates nothing", func(t *testing.T) {
			ctx := withKey(w.ctx, "retry-1", "h1")
			th := w.newThermometer(w.venueA.ID)
			if err := st.CreateThermometer(ctx, w.adminA, &th); err != nil {
				t.Fatalf("first create: %v", err)
			}
			nTh, nEv := w.count("thermometers"), w.count("audit_events")
			again := th
			again.ID = ""
			wantReplay(t, "retried create", st.CreateThermometer(ctx, w.memberA, &again), th.ID)
			if w.count("thermometers") != nTh || w.count("audit_events") != nEv {
				t.Errorf("a replayed create wrote rows: thermometers %d -> %d, audit %d -> %d",
					nTh, w.count("thermometers"), nEv, w.count("audit_events"))
			}
		})

		t.Run("same key for another request is refused", func(t *testing.T) {
			ctx := withKey(w.ctx, "retry-2", "h2")
			v := devices.Venue{Name: "Gate C", Kind: devices.VenueAirport, RegionCode: "310115", TimeZone: "Asia/Shanghai"}
			if err := st.CreateVenue(ctx, w.adminA, &v); err != nil {
				t.Fatal(err)
			}
			n := w.count("venues")
			v2 := devices.Venue{Name: "Gate D", Kind: devices.VenueAirport, RegionCode: "310115", TimeZone: "Asia/Shanghai"}
			wantIs(t, "different body", st.CreateVenue(withKey(w.ctx, "retry-2", "other"), w.adminA, &v2), devices.ErrIdempotencyKeyReused)
			// Same body hash, other resource: also a different request.
			th := w.newThermometer(w.venueA.ID)
			wantIs(t, "other resource", st.CreateThermometer(ctx, w.adminA, &th), devices.ErrIdempotencyKeyReused)
			if w.count("venues") != n {
				t.Errorf("refused requests wrote a venue")
			}
		})

		t.Run("keys are per organization", func(t *testing.T) {
			ctxA := withKey(w.ctx, "shared-key", "same")
			thA := w.newThermometer(w.venueA.ID)
			if err := st.CreateThermometer(ctxA, w.adminA, &thA); err != nil {
				t.Fatal(err)
			}
			// Operator B happens to pick the same key and body hash: it must
			// get its own thermometer, never a pointer to A's.
			thB := w.newThermometer(w.venueB.ID)
			if err := st.CreateThermometer(withKey(w.ctx, "shared-key", "same"), w.adminB, &thB); err != nil {
				t.Fatalf("B's create under A's key: %v", err)
			}
			if thB.ID == "" || thB.ID == thA.ID || thB.VenueID != w.venueB.ID {
				t.Errorf("B's create = %+v; want a new thermometer in B's venue", thB)
			}
		})

		t.Run("a failed request does not use the key up", func(t *testing.T) {
			ctx := withKey(w.ctx, "retry-3", "bad")
			bad := w.newThermometer(w.venueA.ID)
			bad.Type = "ir_nose"
			wantFields(t, "invalid create", st.CreateThermometer(ctx, w.adminA, &bad), "type")
			good := w.newThermometer(w.venueA.ID)
			if err := st.CreateThermometer(withKey(w.ctx, "retry-3", "good"), w.adminA, &good); err != nil {
				t.Errorf("corrected request under the same key: %v", err)
			}
		})

		t.Run("an expired key can be used again and is purged", func(t *testing.T) {
			ctx := withKey(w.ctx, "retry-4", "h4")
			o := devices.Organization{Name: "Institute East", Kind: devices.KindMetrologyInstitute}
			if err := st.CreateOrganization(ctx, w.reg, &o); err != nil {
				t.Fatal(err)
			}
			w.clk.Add(devices.IdempotencyTTL - time.Minute)
			o2 := devices.Organization{Name: "Institute East", Kind: devices.KindMetrologyInstitute}
			wantReplay(t, "retry within the TTL", st.CreateOrganization(ctx, w.reg, &o2), o.ID)
			w.clk.Add(2 * time.Minute)
			if err := st.CreateOrganization(ctx, w.reg, &o2); err != nil || o2.ID == o.ID {
				t.Errorf("create after the TTL = %v (id %s, first %s); want a new organization", err, o2.ID, o.ID)
			}
			before := w.count("idempotency_keys")
			n, err := st.PurgeIdempotencyKeys(w.ctx, w.clk.Now().Add(-devices.IdempotencyTTL))
			if err != nil || n < 1 || w.count("idempotency_keys") != before-int(n) {
				t.Errorf("PurgeIdempotencyKeys = %d, %v; table %d -> %d", n, err, before, w.count("idempotency_keys"))
			}
			renewed := o2.ID
			wantReplay(t, "the renewed key survives the purge", st.CreateOrganization(ctx, w.reg, &o2), renewed)
		})

		t.Run("a retried import imports nothing", func(t *testing.T) {
			rows := parseThermometers(t, thermometerCSVHeader+thermometerCSVRow(900001, "")+thermometerCSVRow(900002, ""))
			ctx := withKey(w.ctx, "import-1", "csv")
			if n, err := st.ImportThermometers(ctx, w.adminA, w.venueA.ID, rows); err != nil || n != 2 {
				t.Fatalf("import = %d, %v", n, err)
			}
			n := w.count("thermometers")
			_, err := st.ImportThermometers(ctx, w.adminA, w.venueA.ID, rows)
			if rep := wantReplay(t, "retried import", err, w.venueA.ID); rep != nil && rep.Created != 2 {
				t.Errorf("replayed import reports %d created, want 2", rep.Created)
			}
			if w.count("thermometers") != n {
				t.Errorf("retried import wrote thermometers")
			}
		})

		t.Run("concurrent retries create one object", func(t *testing.T) {
			const n = 6
			ctx := withKey(w.ctx, "race-1", "hr")
			errs := make([]error, n)
			ids := make([]string, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					e := w.newElevatorCode(w.venueA.ID, "3110-SH-RACE")
					errs[i] = st.CreateElevator(ctx, w.adminA, &e)
					ids[i] = e.ID
				})
			}
			wg.Wait()
			var made string
			for i, err := range errs {
				if err == nil {
					if made != "" {
						t.Errorf("two concurrent creates under one key succeeded: %s and %s", made, ids[i])
					}
					made = ids[i]
				}
			}
			if made == "" {
				t.Fatalf("no concurrent create succeeded: %v", errs)
			}
			for _, err := range errs {
				if err != nil {
					wantReplay(t, "concurrent retry", err, made)
				}
			}
		})
	})
}

// newElevatorCode is an elevator with a fixed registration code.
func (w *world) newElevatorCode(venueID, code string) devices.Elevator {
	cd := time.Date(2019, 6, 30, 0, 0, 0, 0, time.UTC)
	return devices.Elevator{VenueID: venueID, RegistrationCode: code, Manufacturer: "Otis", Model: "Gen2", CommissioningDate: &cd}
}
