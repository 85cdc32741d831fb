package store_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/internal/store"
	"github.com/calibd/calibd/internal/testenv"
)

const thermometerCSVHeader = "type,manufacturer,model,serial,location_note,tolerance_profile,institute_id,calibration_interval_days,last_calibrated_at\n"

// thermometerCSVRow is one good row; serial numbers are unique per i.
func thermometerCSVRow(i int, instituteID string) string {
	return fmt.Sprintf("ir_forehead,Beurer,FT 90,IMP-%06d,Gate %d,,%s,180,2026-01-15T08:00:00Z\n", i, i%40, instituteID)
}

func parseThermometers(t *testing.T, csvText string) []devices.ImportRow[devices.Thermometer] {
	t.Helper()
	rows, err := devices.ParseThermometersCSV(strings.NewReader(csvText))
	if err != nil {
		t.Fatalf("ParseThermometersCSV: %v", err)
	}
	return rows
}

type rowField struct {
	Row   int
	Field string
}

// wantRowErrors checks err lists exactly the (row, field) pairs in want,
// each at least once, and no other row.
func wantRowErrors(t *testing.T, err error, want []rowField) {
	t.Helper()
	ve := wantFields(t, "import", err)
	if ve == nil {
		return
	}
	got := map[rowField]bool{}
	badRows := map[int]bool{}
	for _, f := range ve.Fields {
		got[rowField{f.Row, f.Field}] = true
		badRows[f.Row] = true
	}
	wantRows := map[int]bool{}
	for _, w := range want {
		wantRows[w.Row] = true
		if !got[w] {
			t.Errorf("import error does not name row %d field %q; it lists %v", w.Row, w.Field, ve.Fields)
		}
	}
	for r := range badRows {
		if !wantRows[r] {
			t.Errorf("import error blames row %d, which is good: %v", r, ve.Fields)
		}
	}
}

// TestImportThermometers: a batch with bad rows writes nothing and names
// every bad row by its CSV line; a good batch of 2,500 rows writes every
// row with its audit event and one import event.
func TestImportThermometers(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newWorld(t, st)
		ctx := w.ctx

		t.Run("bad rows write nothing", func(t *testing.T) {
			var b strings.Builder
			b.WriteString(thermometerCSVHeader)
			// Line n of the file is data row n-1; the header is line 1.
			lines := map[int]string{
				3:  "ir_nose,Beurer,FT 90,BAD-3,,,,180,\n",
				5:  "ir_forehead,Beurer,FT 90,BAD-5,,jjg9999,,180,\n",
				7:  "ir_forehead,Beurer,FT 90,IMP-000002,,,,180,\n", // repeats line 2
				9:  fmt.Sprintf("%s,%s,%s,%s,,,,365,\n", w.thermA2.Type, w.thermA2.Manufacturer, w.thermA2.Model, w.thermA2.Serial),
				11: "ir_forehead,Beurer,FT 90,BAD-11,,,,a year,\n",
				13: fmt.Sprintf("ir_forehead,Beurer,FT 90,BAD-13,,,%s,180,\n", w.opB.ID),
				15: "ir_forehead,Beurer,FT 90,BAD-15,,,,180,2027-01-01T00:00:00Z\n",
				17: fmt.Sprintf("%s,%s,%s,%s,,,,365,\n", w.thermB.Type, w.thermB.Manufacturer, w.thermB.Model, w.thermB.Serial),
				18: "ir_forehead,Beurer,FT 90,BAD-18,,jjg1162_contact,,180,\n",
			}
			for line := 2; line <= 20; line++ {
				if s, ok := lines[line]; ok {
					b.WriteString(s)
					continue
				}
				b.WriteString(thermometerCSVRow(line, w.inst.ID))
			}
			rows := parseThermometers(t, b.String())
			if len(rows) != 19 || rows[0].Line != 2 || rows[18].Line != 20 {
				t.Fatalf("parsed %d rows, lines %d..%d; want 19, 2..20", len(rows), rows[0].Line, rows[len(rows)-1].Line)
			}
			thBefore, evBefore := w.count("thermometers"), w.count("audit_events")
			n, err := st.ImportThermometers(ctx, w.adminA, w.venueA.ID, rows)
			if n != 0 {
				t.Errorf("ImportThermometers(bad batch) = %d, want 0", n)
			}
			wantRowErrors(t, err, []rowField{
				{3, "type"}, {5, "tolerance_profile"}, {7, "serial"}, {9, "serial"},
				{11, "calibration_interval_days"}, {13, "institute_id"}, {15, "last_calibrated_at"},
				{17, "serial"}, {18, "tolerance_profile"},
			})
			if got := w.count("thermometers"); got != thBefore {
				t.Errorf("thermometers %d -> %d after a refused import", thBefore, got)
			}
			if got := w.count("audit_events"); got != evBefore {
				t.Errorf("audit_events %d -> %d after a refused import", evBefore, got)
			}
		})

		t.Run("2,500 good rows", func(t *testing.T) {
			const n = 2500
			var b strings.Builder
			b.WriteString(thermometerCSVHeader)
			for i := range n {
				b.WriteString(thermometerCSVRow(i, w.inst.ID))
			}
			rows := parseThermometers(t, b.String())
			thBefore, evBefore := w.count("thermometers"), w.count("audit_events")
			got, err := st.ImportThermometers(ctx, w.adminA, w.venueA.ID, rows)
			if err != nil || got != n {
				t.Fatalf("ImportThermometers(%d good rows) = %d, %v", n, got, err)
			}
			if d := w.count("thermometers") - thBefore; d != n {
				t.Errorf("thermometers grew by %d, want %d", d, n)
			}
			if d := w.count("audit_events") - evBefore; d != n+1 {
				t.Errorf("audit_events grew by %d, want %d (one per row plus the import)", d, n+1)
			}
			perRow := countSQL(t, st, "SELECT count(*) FROM audit_events WHERE action = 'create' AND resource = 'thermometer' "+
				"AND org_id = '"+w.opA.ID+"' AND token_id = '"+w.adminA.TokenID+"' "+
				"AND resource_id IN (SELECT CAST(id AS text) FROM thermometers WHERE serial LIKE 'IMP-%')")
			if perRow != n {
				t.Errorf("create events joined to imported thermometers = %d, want %d", perRow, n)
			}
			evs, _, err := st.ListAudit(ctx, w.adminA, devices.AuditFilter{Action: devices.ActionImport, ResourceID: w.venueA.ID}, devices.Page{})
			if err != nil || len(evs) != 1 {
				t.Fatalf("import events = %d, %v; want 1", len(evs), err)
			}
			if c := evs[0].Changes["thermometers_created"].To; c != float64(n) {
				t.Errorf("import event thermometers_created = %v, want %d", c, n)
			}
			if evs[0].TokenID != w.adminA.TokenID || evs[0].OrgID != w.opA.ID {
				t.Errorf("import event by org %s token %s, want A's admin", evs[0].OrgID, evs[0].TokenID)
			}

			// Every imported row is in venue A, assigned and due from its
			// CSV calibration date; the institute sees them all.
			seen := 0
			p := devices.Page{Limit: 500}
			for {
				ths, next, err := st.ListThermometers(ctx, w.instAdmin, devices.ThermometerFilter{VenueID: w.venueA.ID, Type: devices.TypeIRForehead}, p)
				if err != nil {
					t.Fatal(err)
				}
				for _, th := range ths {
					seen++
					want := at(2026, 1, 15, 8).AddDate(0, 0, 180)
					if th.OperatorOrgID != w.opA.ID || th.InstituteID == nil || *th.InstituteID != w.inst.ID ||
						th.IntervalDays != 180 || !th.NextDueAt.Equal(want) || th.ToleranceProfile != "jjf1107_forehead" {
						t.Fatalf("imported %+v: want operator A, institute, 180 days, due %v, default forehead profile", th, want)
					}
				}
				if next == "" {
					break
				}
				p.Cursor = next
			}
			if seen != n {
				t.Errorf("institute lists %d imported thermometers, want %d", seen, n)
			}

			// Export streams past its 1,000-row batches: every thermometer
			// of the venue exactly once.
			exported := map[string]int{}
			err = st.ExportThermometers(ctx, w.adminA, w.venueA.ID, func(th devices.Thermometer) error {
				exported[th.ID]++
				return nil
			})
			if err != nil || len(exported) != n+2 {
				t.Errorf("ExportThermometers(venue A) = %d distinct, %v; want %d", len(exported), err, n+2)
			}
			for id, c := range exported {
				if c != 1 {
					t.Errorf("export yields %s %d times", id, c)
				}
			}

			// Importing the same file again collides with every row.
			_, err = st.ImportThermometers(ctx, w.adminA, w.venueA.ID, rows[:20])
			ve := wantFields(t, "re-import", err, "serial")
			if ve != nil && len(ve.Fields) != 20 {
				t.Errorf("re-import of 20 rows reports %d problems, want 20", len(ve.Fields))
			}
		})

		t.Run("export round-trips", func(t *testing.T) {
			var b strings.Builder
			cw, err := devices.NewThermometerCSVWriter(&b)
			if err != nil {
				t.Fatal(err)
			}
			err = st.ExportThermometers(ctx, w.adminB, w.venueB.ID, cw.Write)
			if err == nil {
				err = cw.Flush()
			}
			if err != nil {
				t.Fatal(err)
			}
			rows := parseThermometers(t, b.String())
			if len(rows) != 1 || rows[0].Value.Serial != w.thermB.Serial || len(rows[0].Problems) != 0 {
				t.Fatalf("export of venue B parsed back as %+v", rows)
			}
			// The exported file imports elsewhere once the serial is
			// free; here it collides, naming line 2.
			_, err = st.ImportThermometers(ctx, w.adminB, w.venueB.ID, rows)
			wantRowErrors(t, err, []rowField{{2, "serial"}})
		})
	})
}

const elevatorCSVHeader = "registration_code,manufacturer,model,commissioning_date,maintenance_firm_id,status\n"

// TestImportElevators is TestImportThermometers for elevators.
func TestImportElevators(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newWorld(t, st)
		ctx := w.ctx
		parse := func(t *testing.T, s string) []devices.ImportRow[devices.Elevator] {
			t.Helper()
			rows, err := devices.ParseElevatorsCSV(strings.NewReader(s))
			if err != nil {
				t.Fatalf("ParseElevatorsCSV: %v", err)
			}
			return rows
		}
		good := func(i int) string {
			return fmt.Sprintf("SH-IMP-%04d,Schindler,3300,2018-05-0%d,%s,\n", i, 1+i%9, w.firm.ID)
		}

		t.Run("bad rows write nothing", func(t *testing.T) {
			lines := map[int]string{
				4:  "sh-imp-0002,Kone,MonoSpace,,,\n", // repeats line 2 once upper-cased
				6:  w.elevB.RegistrationCode + ",Otis,Gen2,,,\n",
				8:  fmt.Sprintf("SH-BAD-8,Otis,Gen2,,%s,\n", w.inst.ID),
				10: "SH-BAD-10,Otis,Gen2,2019/06/30,,\n",
				11: "SH-BAD-11,Otis,Gen2,2030-01-01,,\n",
				12: "SH BAD 12,Otis,Gen2,,,\n",
				13: "SH-BAD-13,,Gen2,,,retired\n",
			}
			var b strings.Builder
			b.WriteString(elevatorCSVHeader)
			for line := 2; line <= 14; line++ {
				if s, ok := lines[line]; ok {
					b.WriteString(s)
					continue
				}
				b.WriteString(good(line))
			}
			rows := parse(t, b.String())
			elBefore, evBefore := w.count("elevators"), w.count("audit_events")
			_, err := st.ImportElevators(ctx, w.adminA, w.venueA.ID, rows)
			wantRowErrors(t, err, []rowField{
				{4, "registration_code"}, {6, "registration_code"}, {8, "maintenance_firm_id"},
				{10, "commissioning_date"}, {11, "commissioning_date"}, {12, "registration_code"},
				{13, "manufacturer"}, {13, "status"},
			})
			if got := w.count("elevators"); got != elBefore {
				t.Errorf("elevators %d -> %d after a refused import", elBefore, got)
			}
			if got := w.count("audit_events"); got != evBefore {
				t.Errorf("audit_events %d -> %d after a refused import", evBefore, got)
			}
		})

		t.Run("good rows", func(t *testing.T) {
			const n = 60
			var b strings.Builder
			b.WriteString(elevatorCSVHeader)
			for i := range n {
				b.WriteString(good(100 + i))
			}
			rows := parse(t, b.String())
			elBefore, evBefore := w.count("elevators"), w.count("audit_events")
			got, err := st.ImportElevators(ctx, w.adminA, w.venueA.ID, rows)
			if err != nil || got != n {
				t.Fatalf("ImportElevators(%d good rows) = %d, %v", n, got, err)
			}
			if d := w.count("elevators") - elBefore; d != n {
				t.Errorf("elevators grew by %d, want %d", d, n)
			}
			if d := w.count("audit_events") - evBefore; d != n+1 {
				t.Errorf("audit_events grew by %d, want %d", d, n+1)
			}
			evs, _, err := st.ListAudit(ctx, w.reg, devices.AuditFilter{Action: devices.ActionImport, ResourceID: w.venueA.ID}, devices.Page{})
			if err != nil || len(evs) != 1 || evs[0].Changes["elevators_created"].To != float64(n) {
				t.Errorf("import events = %+v, %v; want one with elevators_created %d", evs, err, n)
			}
			var exported []devices.Elevator
			err = st.ExportElevators(ctx, w.firmAdmin, w.venueA.ID, func(e devices.Elevator) error { exported = append(exported, e); return nil })
			if err != nil || len(exported) != n+1 { // the imported ones plus elevA
				t.Fatalf("firm exports %d elevators, %v; want %d", len(exported), err, n+1)
			}
			i := slices.IndexFunc(exported, func(e devices.Elevator) bool { return e.RegistrationCode == "SH-IMP-0100" })
			if i < 0 || exported[i].CommissioningDate == nil || exported[i].CommissioningDate.Format(devices.DateLayout) != "2018-05-02" ||
				exported[i].Status != devices.ElevatorInService || exported[i].OperatorOrgID != w.opA.ID {
				t.Errorf("imported SH-IMP-0100 exports as %+v", exported[min(max(i, 0), len(exported)-1)])
			}
		})
	})
}
