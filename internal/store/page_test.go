package store_test

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/internal/store"
	"github.com/calibd/calibd/internal/testenv"
)

// collect follows next cursors from the first page until the empty one
// and returns every id in the order the pages gave them, and the size of
// each page.
func collect(t *testing.T, list func(p devices.Page) ([]string, string, error), limit int) ([]string, []int) {
	t.Helper()
	var all []string
	var sizes []int
	p := devices.Page{Limit: limit}
	for i := 0; ; i++ {
		if i > 100 {
			t.Fatalf("more than 100 pages: the cursor does not advance")
		}
		page, next, err := list(p)
		if err != nil {
			t.Fatalf("page %d (cursor %q): %v", i, p.Cursor, err)
		}
		all = append(all, page...)
		sizes = append(sizes, len(page))
		if next == "" {
			return all, sizes
		}
		if next == p.Cursor {
			t.Fatalf("page %d returned its own cursor %q", i, next)
		}
		p.Cursor = next
	}
}

// TestKeysetPagination: following next cursors with Limit 50 yields every
// visible item exactly once in id order and ends with an empty cursor;
// bad cursors and limits are field errors.
func TestKeysetPagination(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newWorld(t, st)
		ctx := w.ctx

		want := []string{w.venueA.ID}
		for i := range 120 {
			want = append(want, w.venue(w.adminA, fmt.Sprintf("Hall %03d", i)).ID)
		}
		slices.Sort(want)
		// A's venues interleave with one of B's in id order.
		w.venue(w.adminB, "Between")

		listVenues := func(a devices.Actor) func(devices.Page) ([]string, string, error) {
			return func(p devices.Page) ([]string, string, error) {
				vs, next, err := st.ListVenues(ctx, a, devices.VenueFilter{}, p)
				return ids(vs, venueID), next, err
			}
		}
		got, sizes := collect(t, listVenues(w.adminA), 50)
		if !slices.Equal(got, want) {
			t.Errorf("venues over pages = %d ids (%v...), want the %d of A in id order", len(got), got[:min(3, len(got))], len(want))
		}
		if !slices.Equal(sizes, []int{50, 50, 21}) {
			t.Errorf("venue page sizes = %v, want [50 50 21]", sizes)
		}
		gotB, _ := collect(t, listVenues(w.adminB), 50)
		if len(gotB) != 2 {
			t.Errorf("B pages through %d venues, want its 2", len(gotB))
		}

		// 150 thermometers in one new venue: a multiple of the limit, so
		// the last full page must still end with an empty cursor.
		hall := w.venue(w.adminA, "Thermometer hall")
		var b strings.Builder
		b.WriteString(thermometerCSVHeader)
		for i := range 150 {
			b.WriteString(thermometerCSVRow(i, ""))
		}
		if _, err := st.ImportThermometers(ctx, w.adminA, hall.ID, parseThermometers(t, b.String())); err != nil {
			t.Fatal(err)
		}
		var wantTh []string
		if err := st.ExportThermometers(ctx, w.adminA, hall.ID, func(th devices.Thermometer) error {
			wantTh = append(wantTh, th.ID)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		slices.Sort(wantTh)
		if len(wantTh) != 150 {
			t.Fatalf("export of hall = %d thermometers, want 150", len(wantTh))
		}
		listTh := func(p devices.Page) ([]string, string, error) {
			ths, next, err := st.ListThermometers(ctx, w.adminA, devices.ThermometerFilter{VenueID: hall.ID}, p)
			return ids(ths, thermometerID), next, err
		}
		gotTh, sizes := collect(t, listTh, 50)
		if !slices.Equal(gotTh, wantTh) {
			t.Errorf("thermometers over pages = %d ids, want the 150 in id order", len(gotTh))
		}
		if !slices.Equal(sizes, []int{50, 50, 50}) {
			t.Errorf("thermometer page sizes = %v, want [50 50 50] and then an empty cursor", sizes)
		}

		// Audit pages run newest first.
		listAudit := func(p devices.Page) ([]string, string, error) {
			evs, next, err := st.ListAudit(ctx, w.adminA, devices.AuditFilter{}, p)
			return ids(evs, func(e devices.AuditEvent) string { return e.ID }), next, err
		}
		gotEv, _ := collect(t, listAudit, 50)
		wantN := countSQL(t, st, "SELECT count(*) FROM audit_events WHERE org_id = '"+w.opA.ID+"'")
		if len(gotEv) != wantN || !slices.IsSortedFunc(gotEv, func(a, b string) int { return strings.Compare(b, a) }) {
			t.Errorf("audit over pages = %d events (descending %v), want %d in descending id order", len(gotEv),
				slices.IsSortedFunc(gotEv, func(a, b string) int { return strings.Compare(b, a) }), wantN)
		}
		if len(slices.Compact(slices.Clone(gotEv))) != len(gotEv) {
			t.Errorf("audit pages repeat an event")
		}

		t.Run("limits and cursors", func(t *testing.T) {
			vs, next, err := st.ListVenues(ctx, w.adminA, devices.VenueFilter{}, devices.Page{Limit: 0})
			if err != nil || len(vs) != devices.DefaultLimit || next == "" {
				t.Errorf("ListVenues(limit 0) = %d items, cursor %q, %v; want %d and a cursor", len(vs), next, err, devices.DefaultLimit)
			}
			vs, _, err = st.ListVenues(ctx, w.adminA, devices.VenueFilter{}, devices.Page{Limit: devices.MaxLimit})
			if err != nil || len(vs) != len(want)+1 { // and the thermometer hall
				t.Errorf("ListVenues(limit 500) = %d items, %v; want %d", len(vs), err, len(want)+1)
			}
			bad := []struct {
				name  string
				p     devices.Page
				field string
			}{
				{"limit 501", devices.Page{Limit: 501}, "limit"},
				{"limit -1", devices.Page{Limit: -1}, "limit"},
				{"cursor not base64", devices.Page{Cursor: "%%%"}, "cursor"},
				{"cursor not an id", devices.Page{Cursor: base64.RawURLEncoding.EncodeToString([]byte("42"))}, "cursor"},
				{"cursor padded", devices.Page{Cursor: next + "=="}, "cursor"},
			}
			for _, tt := range bad {
				_, _, err := st.ListVenues(ctx, w.adminA, devices.VenueFilter{}, tt.p)
				wantFields(t, "ListVenues("+tt.name+")", err, tt.field)
				_, _, err = st.ListThermometers(ctx, w.adminA, devices.ThermometerFilter{}, tt.p)
				wantFields(t, "ListThermometers("+tt.name+")", err, tt.field)
				_, _, err = st.ListElevators(ctx, w.adminA, devices.ElevatorFilter{}, tt.p)
				wantFields(t, "ListElevators("+tt.name+")", err, tt.field)
				_, _, err = st.ListOrganizations(ctx, w.adminA, devices.OrganizationFilter{}, tt.p)
				wantFields(t, "ListOrganizations("+tt.name+")", err, tt.field)
				_, _, err = st.ListTokens(ctx, w.adminA, w.opA.ID, tt.p)
				wantFields(t, "ListTokens("+tt.name+")", err, tt.field)
				_, _, err = st.ListAudit(ctx, w.adminA, devices.AuditFilter{}, tt.p)
				wantFields(t, "ListAudit("+tt.name+")", err, tt.field)
			}
			// A cursor from A's list gives B nothing of A's.
			vs, _, err = st.ListVenues(ctx, w.adminB, devices.VenueFilter{}, devices.Page{Cursor: next})
			for _, v := range vs {
				if v.OperatorOrgID != w.opB.ID {
					t.Errorf("B with A's cursor sees venue %s of %s", v.ID, v.OperatorOrgID)
				}
			}
			if err != nil {
				t.Errorf("B with A's cursor: %v", err)
			}
		})
	})
}
