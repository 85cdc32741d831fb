package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/internal/store"
	"github.com/calibd/calibd/internal/testenv"
)

// BenchmarkSaveMessages is calibd's own side of the ingest's write path,
// without a broker: batches of 1,000 calibration checks, one per
// thermometer of a 1,000-thermometer fleet, each check in time order after
// the last, so every batch stores its readings and moves every
// thermometer's drift detectors (on PostgreSQL the compare-and-set write
// and the replica's state cache). allocs/op and B/op are per batch and do
// not depend on the machine's load; ns/op includes the database's time.
// Run: go test ./internal/store -run '^$' -bench SaveMessages -benchmem
func BenchmarkSaveMessages(b *testing.B) {
	for _, dialect := range testenv.Dialects() {
		b.Run(dialect, func(b *testing.B) {
			st := testenv.Store(b, dialect)
			ids := benchFleet(b, st, 1000)
			ctx := context.Background()
			start := time.Now().UTC().Add(-24 * time.Hour).Truncate(time.Second)
			seq := int64(0)
			batch := func() []devices.Message {
				seq++
				ts := start.Add(time.Duration(seq) * time.Second)
				msgs := make([]devices.Message, len(ids))
				for k, id := range ids {
					msgs[k] = devices.Message{Kind: devices.MessageChecks, Check: &devices.CheckReading{DeviceID: id, Seq: seq, TS: ts,
						ReferenceC: 37, ValueC: 37 + 0.01*float64(k%5-2), Mode: devices.ModeCalibration}}
				}
				return msgs
			}
			// The first batch creates every drift state; the benchmark is
			// the steady state after it.
			if _, err := st.SaveMessages(ctx, batch(), time.Now()); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				b.StopTimer()
				msgs := batch()
				b.StartTimer()
				n, err := st.SaveMessages(ctx, msgs, time.Now())
				if err != nil || n != len(msgs) {
					b.Fatalf("stored %d of %d: %v", n, len(msgs), err)
				}
			}
			b.ReportMetric(float64(b.N*len(ids))/b.Elapsed().Seconds(), "readings/s")
		})
	}
}

// benchFleet registers n thermometers of one operator and venue, through
// the store's CSV import, and returns their ids.
func benchFleet(b *testing.B, st *store.Store, n int) []string {
	b.Helper()
	ctx := context.Background()
	sec, err := st.Bootstrap(ctx, "")
	if err != nil {
		b.Fatal(err)
	}
	reg, err := st.Authenticate(ctx, sec)
	if err != nil {
		b.Fatal(err)
	}
	op := devices.Organization{Name: "Operator", Kind: devices.KindVenueOperator, RegionCode: "CN-SH", ContactEmail: "ops@example.org"}
	if err := st.CreateOrganization(ctx, reg, &op); err != nil {
		b.Fatal(err)
	}
	_, opSec, err := st.IssueToken(ctx, reg, op.ID, devices.TokenRequest{Name: "ops", Role: devices.RoleAdmin})
	if err != nil {
		b.Fatal(err)
	}
	admin, err := st.Authenticate(ctx, opSec)
	if err != nil {
		b.Fatal(err)
	}
	v := devices.Venue{Name: "Pudong T2", Kind: devices.VenueAirport, RegionCode: "310115", TimeZone: "Asia/Shanghai",
		Address: "1 Test Road", Contact: devices.Contact{Name: "Duty manager", Email: "duty@example.org"}}
	if err := st.CreateVenue(ctx, admin, &v); err != nil {
		b.Fatal(err)
	}
	rows := make([]devices.ImportRow[devices.Thermometer], n)
	for i := range rows {
		rows[i] = devices.ImportRow[devices.Thermometer]{Line: i + 2, Value: devices.Thermometer{Type: devices.TypeIREar,
			Manufacturer: "Braun", Model: "IRT6520", Serial: fmt.Sprintf("SN-%05d", i+1), LocationNote: "gate"}}
	}
	if _, err := st.ImportThermometers(ctx, admin, v.ID, rows); err != nil {
		b.Fatal(err)
	}
	var ids []string
	rs, err := st.SQLDB().QueryContext(ctx, "SELECT id FROM thermometers ORDER BY id")
	if err != nil {
		b.Fatal(err)
	}
	defer rs.Close()
	for rs.Next() {
		var id string
		if err := rs.Scan(&id); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, id)
	}
	if len(ids) != n {
		b.Fatalf("%d thermometers registered, want %d", len(ids), n)
	}
	return ids
}
