package store_test

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/internal/store"
	"github.com/calibd/calibd/internal/testenv"
)

// resultWorld is the world plus what results need: a second institute
// with its own admin and standard, and a standard of the first institute
// valid until 2040.
type resultWorld struct {
	*world
	std        devices.ReferenceStandard
	other      devices.Organization
	otherAdmin devices.Actor
	otherStd   devices.ReferenceStandard
	instMember devices.Actor
}

func newResultWorld(t *testing.T, st *store.Store) *resultWorld {
	t.Helper()
	w := &resultWorld{world: newWorld(t, st)}
	w.other = w.org("Beijing Institute of Metrology", devices.KindMetrologyInstitute)
	w.otherAdmin = w.token(w.reg, w.other.ID, devices.RoleAdmin)
	w.instMember = w.token(w.reg, w.inst.ID, devices.RoleMember)
	w.std = w.standard(w.instAdmin, "BB-001", at(2025, 12, 1, 0), at(2040, 1, 1, 0))
	w.otherStd = w.standard(w.otherAdmin, "BJ-001", at(2025, 12, 1, 0), at(2040, 1, 1, 0))
	return w
}

func (w *resultWorld) standard(a devices.Actor, serial string, calibrated, due time.Time) devices.ReferenceStandard {
	w.t.Helper()
	s := devices.ReferenceStandard{Name: "Cavity blackbody " + serial, Serial: serial, CertificateNo: "NIM-" + serial,
		CalibratedAt: calibrated, DueAt: due}
	if err := w.st.CreateStandard(w.ctx, a, &s); err != nil {
		w.t.Fatalf("CreateStandard(%s) = %v", serial, err)
	}
	return s
}

// instThermometer registers a thermometer of operator A assigned to the
// institute (never calibrated: due at once, 365-day interval).
func (w *resultWorld) instThermometer() devices.Thermometer {
	w.t.Helper()
	return w.thermometer(w.adminA, w.venueA.ID, func(th *devices.Thermometer) { th.InstituteID = &w.inst.ID })
}

// startTasks runs the plan and visits jobs at the world clock and confirms
// and starts every planned visit of the institute, as the institute would;
// it returns the institute's in-progress tasks by thermometer.
func (w *resultWorld) startTasks() map[string]devices.Task {
	w.t.Helper()
	if _, err := w.st.PlanCalibrations(w.ctx, w.clk.Now(), devices.DefaultDueHorizonDays); err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.st.PlanVisits(w.ctx, w.clk.Now(), 60); err != nil {
		w.t.Fatal(err)
	}
	for _, v := range visitsOf(w.t, w.st, w.instAdmin, devices.VisitFilter{State: devices.VisitPlanned}) {
		if _, err := w.st.ActOnVisit(w.ctx, w.instAdmin, v.ID, devices.AnyVersion, devices.VisitConfirm, ""); err != nil {
			w.t.Fatalf("confirm visit: %v", err)
		}
		if _, err := w.st.ActOnVisit(w.ctx, w.instAdmin, v.ID, devices.AnyVersion, devices.VisitStart, ""); err != nil {
			w.t.Fatalf("start visit: %v", err)
		}
	}
	out := map[string]devices.Task{}
	for _, k := range allTasks(w.t, w.st, w.instAdmin, devices.TaskFilter{State: devices.TaskInProgress}) {
		out[k.ThermometerID] = k
	}
	return out
}

// readings3 is three equal readings.
func readings3(v float64) []float64 { return []float64{v, v, v} }

// calData is a JJG 1164-style calibration at 35.0, 37.0 and 41.5 °C whose
// as-found readings are off by errs (0 where not given), U = 0.05 °C.
func calData(errs ...float64) devices.CalibrationData {
	refs := []float64{35.0, 37.0, 41.5}
	d := devices.CalibrationData{Mode: devices.ModeCalibration, Ambient: devices.Ambient{TempC: 23, RHPercent: 50},
		Rule: devices.RuleSimple}
	for i, r := range refs {
		e := 0.0
		if i < len(errs) {
			e = errs[i]
		}
		d.Points = append(d.Points, devices.TestPoint{ReferenceC: r, AsFoundC: readings3(r + e), UC: 0.05})
	}
	return d
}

func (w *resultWorld) record(a devices.Actor, task devices.Task, std devices.ReferenceStandard, performed time.Time, d devices.CalibrationData) devices.CalibrationResult {
	w.t.Helper()
	r, err := w.st.RecordResult(w.ctx, a, devices.ResultInput{TaskID: task.ID, StandardID: std.ID, PerformedAt: performed, Data: d})
	if err != nil {
		w.t.Fatalf("RecordResult(task %s) = %v", task.ID, err)
	}
	return r
}

func (w *resultWorld) thermo(id string) devices.Thermometer {
	w.t.Helper()
	th, err := w.st.GetThermometer(w.ctx, w.reg, id)
	if err != nil {
		w.t.Fatal(err)
	}
	return th
}

func (w *resultWorld) intervalReason(id string) string {
	w.t.Helper()
	var s string
	if err := w.st.SQLDB().QueryRowContext(w.ctx, "SELECT interval_reason FROM thermometers WHERE id = '"+id+"'").Scan(&s); err != nil {
		w.t.Fatal(err)
	}
	return s
}

func (w *resultWorld) setPolicy(id, policyJSON string) {
	w.t.Helper()
	if _, err := w.st.SQLDB().ExecContext(w.ctx, "UPDATE thermometers SET interval_policy = '"+policyJSON+"' WHERE id = '"+id+"'"); err != nil {
		w.t.Fatal(err)
	}
}

func certPrefix(instituteID string) string {
	hex := strings.ToUpper(strings.ReplaceAll(instituteID, "-", ""))
	return "CAL-" + hex[len(hex)-8:] + "-"
}

func verdicts(os []devices.PointOutcome) []devices.Verdict {
	out := make([]devices.Verdict, len(os))
	for i, o := range os {
		out[i] = o.Verdict
	}
	return out
}

// TestRecordResultPass: a passing calibration issues certificate 000001 of
// the year, then 000002; it completes the task and moves the device's next
// due date by the staircase (365 → 456 days) from the calibration's date in
// the venue's zone (Shanghai: 20:00 UTC is the next day there).
func TestRecordResultPass(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newResultWorld(t, st)
		thC := w.instThermometer()
		tasks := w.startTasks()
		taskA, taskC := tasks[w.thermA.ID], tasks[thC.ID]
		if taskA.ID == "" || taskC.ID == "" {
			t.Fatalf("in-progress tasks = %+v; want thermA's and thC's", tasks)
		}
		w.clk.Set(at(2026, 3, 3, 9))
		performed := at(2026, 3, 2, 20) // 2026-03-03 04:00 in Shanghai
		r := w.record(w.instMember, taskA, w.std, performed, calData(0.05, 0.10, -0.05))

		wantNo := certPrefix(w.inst.ID) + "2026-000001"
		if r.CertificateNo != wantNo || r.Revision != 1 || r.ReplacesID != nil {
			t.Errorf("certificate %q revision %d replaces %v; want %q, 1, nil", r.CertificateNo, r.Revision, r.ReplacesID, wantNo)
		}
		if !regexp.MustCompile(`^CAL-[0-9A-F]{8}-2026-\d{6}$`).MatchString(r.CertificateNo) {
			t.Errorf("certificate number %q has not the CAL-XXXXXXXX-YYYY-NNNNNN form", r.CertificateNo)
		}
		if r.Verdict != devices.VerdictPass || r.AsFoundVerdict != devices.VerdictPass ||
			!slices.Equal(verdicts(r.AsFound), []devices.Verdict{"pass", "pass", "pass"}) || r.AsLeft != nil {
			t.Errorf("verdicts = %s / as-found %s %v / as-left %v; want all pass, no as-left", r.Verdict, r.AsFoundVerdict, verdicts(r.AsFound), r.AsLeft)
		}
		if e := r.AsFound[1].ErrorC; e < 0.0999 || e > 0.1001 {
			t.Errorf("error at 37 °C = %v, want 0.10", e)
		}
		if r.Data.MPEC != 0.2 || r.Data.RangeMinC != 35 || r.Data.RangeMaxC != 42 || r.Data.Points[0].K != 2 || r.Data.Rule != devices.RuleSimple {
			t.Errorf("stored data = %+v; want the thermometer's MPE 0.2 and range 35..42, k = 2", r.Data)
		}
		if r.StandardID != w.std.ID || r.StandardCertificateNo != "NIM-BB-001" || !r.StandardDueAt.Equal(at(2040, 1, 1, 0)) {
			t.Errorf("traceability = %s %s %v", r.StandardID, r.StandardCertificateNo, r.StandardDueAt)
		}
		if r.MethodDoc != "JJG 1164-2019 / JJF 1107-2003" || r.IssuedByOrgID != w.inst.ID || r.IssuedByToken != w.instMember.TokenID ||
			!r.IssuedAt.Equal(at(2026, 3, 3, 9)) || !r.PerformedAt.Equal(performed) {
			t.Errorf("issue = method %q by %s/%s at %v performed %v", r.MethodDoc, r.IssuedByOrgID, r.IssuedByToken, r.IssuedAt, r.PerformedAt)
		}
		wantReason := "as-found 0.1 °C within MPE 0.2 °C: lengthened 365 → 456 days (staircase ×1.25, max 730)"
		wantDue := time.Date(2027, 6, 1, 16, 0, 0, 0, time.UTC) // 2027-06-02 00:00 in Shanghai
		if r.After.IntervalDays != 456 || r.After.IntervalReason != wantReason || !r.After.NextDueAt.Equal(wantDue) ||
			r.After.Status != devices.StatusInService || !r.Applied || r.Before.IntervalDays != 365 {
			t.Errorf("result after = %+v applied %v before %+v", r.After, r.Applied, r.Before)
		}

		th := w.thermo(w.thermA.ID)
		if th.Status != devices.StatusInService || th.IntervalDays != 456 || !th.NextDueAt.Equal(wantDue) ||
			th.LastCalibratedAt == nil || !th.LastCalibratedAt.Equal(performed) || th.Version != w.thermA.Version+1 {
			t.Errorf("thermometer = status %s interval %d due %v last %v v%d; want in_service 456 %v %v v%d",
				th.Status, th.IntervalDays, th.NextDueAt, th.LastCalibratedAt, th.Version, wantDue, performed, w.thermA.Version+1)
		}
		if got := w.intervalReason(th.ID); got != wantReason {
			t.Errorf("thermometer interval_reason = %q, want %q", got, wantReason)
		}
		task, err := st.GetTask(w.ctx, w.reg, taskA.ID)
		if err != nil || task.State != devices.TaskCompleted || task.Version != taskA.Version+1 {
			t.Errorf("task = %s v%d, %v; want completed v%d", task.State, task.Version, err, taskA.Version+1)
		}
		got, err := st.GetResult(w.ctx, w.adminA, r.ID)
		if err != nil || got.CertificateNo != wantNo || len(got.AsFound) != 3 || got.Data.Points[2].AsFoundC[0] != 41.45 ||
			got.Data.Ambient.RHPercent != 50 || len(got.Flags) != 0 || got.Superseded() {
			t.Errorf("GetResult = %+v, %v", got, err)
		}

		r2 := w.record(w.instAdmin, taskC, w.std, performed.Add(time.Hour), calData())
		if want := certPrefix(w.inst.ID) + "2026-000002"; r2.CertificateNo != want {
			t.Errorf("second certificate = %q, want %q", r2.CertificateNo, want)
		}
		if n := countSQL(t, st, "SELECT count(*) FROM audit_events WHERE resource = 'calibration_result'"); n != 2 {
			t.Errorf("%d calibration_result audit events, want 2", n)
		}
		if n := countSQL(t, st, "SELECT count(*) FROM audit_events WHERE resource = 'thermometer' AND action = 'update'"); n != 2 {
			t.Errorf("%d thermometer update audit events, want 2", n)
		}
		_, err = st.RecordResult(w.ctx, w.instAdmin, devices.ResultInput{TaskID: taskA.ID, StandardID: w.std.ID, PerformedAt: performed, Data: calData()})
		wantConflict(t, "a second result for a completed task", err, "invalid_transition")
	})
}

// TestRecordResultFail: a failing point fails the calibration; the device
// goes out_of_tolerance with its due date kept and its interval halved;
// a later passing calibration restores it and lengthens from there.
func TestRecordResultFail(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newResultWorld(t, st)
		task := w.startTasks()[w.thermA.ID]
		w.clk.Set(at(2026, 3, 3, 9))
		before := w.thermo(w.thermA.ID)
		r := w.record(w.instAdmin, task, w.std, at(2026, 3, 2, 20), calData(0, 0.3, 0))
		if r.Verdict != devices.VerdictFail || r.AsFoundVerdict != devices.VerdictFail ||
			!slices.Equal(verdicts(r.AsFound), []devices.Verdict{"pass", "fail", "pass"}) {
			t.Errorf("verdicts = %s %v; want fail at 37 °C only", r.Verdict, verdicts(r.AsFound))
		}
		th := w.thermo(w.thermA.ID)
		wantReason := "as-found 0.3 °C out of tolerance (MPE 0.2 °C): shortened 365 → 182 days (staircase ×0.5, min 90)"
		if th.Status != devices.StatusOutOfTolerance || !th.NextDueAt.Equal(before.NextDueAt) || th.LastCalibratedAt != nil ||
			th.IntervalDays != 182 || w.intervalReason(th.ID) != wantReason {
			t.Errorf("after a fail: status %s due %v (was %v) last %v interval %d reason %q", th.Status, th.NextDueAt,
				before.NextDueAt, th.LastCalibratedAt, th.IntervalDays, w.intervalReason(th.ID))
		}
		_, err := st.UpdateThermometer(w.ctx, w.adminA, th.ID, devices.AnyVersion, devices.ThermometerPatch{Status: ptr(devices.StatusInService)})
		wantConflict(t, "operator puts a failed device back in service", err, "invalid_transition")

		// The fail opened a recheck task, most urgent, due today there.
		w.clk.Set(at(2026, 3, 10, 9))
		again := w.startTasks()[th.ID]
		if again.Kind != devices.TaskRecheck || again.Priority != devices.PriorityOutOfTolerance ||
			!strings.Contains(again.PriorityReason, r.CertificateNo) {
			t.Fatalf("task after the fail = %+v; want the started recheck naming %s", again, r.CertificateNo)
		}
		performed := at(2026, 3, 11, 2) // 10:00 in Shanghai
		w.clk.Set(at(2026, 3, 11, 3))
		r2 := w.record(w.instAdmin, again, w.std, performed, calData(0.1, 0, 0))
		th = w.thermo(th.ID)
		wantDue := time.Date(2026, 10, 23, 16, 0, 0, 0, time.UTC) // 2026-03-11 + 227 days, Shanghai midnight
		if r2.Verdict != devices.VerdictPass || th.Status != devices.StatusInService || th.IntervalDays != 227 ||
			!th.NextDueAt.Equal(wantDue) || !strings.Contains(w.intervalReason(th.ID), "lengthened 182 → 227 days") {
			t.Errorf("after a pass: verdict %s status %s interval %d due %v reason %q", r2.Verdict, th.Status, th.IntervalDays,
				th.NextDueAt, w.intervalReason(th.ID))
		}
		if !strings.HasSuffix(r2.CertificateNo, "-2026-000002") {
			t.Errorf("certificate after a fail = %q, want number 000002", r2.CertificateNo)
		}
		// An operator's edit of something else keeps the due date the
		// result set.
		edited, err := st.UpdateThermometer(w.ctx, w.adminA, th.ID, devices.AnyVersion, devices.ThermometerPatch{LocationNote: ptr("gate D14")})
		if err != nil || !edited.NextDueAt.Equal(wantDue) {
			t.Errorf("after editing the location: due %v, %v; want %v", edited.NextDueAt, err, wantDue)
		}
	})
}

// TestRecordResultIndeterminate: under JJF 1094 with U above MPE/3 an
// error between MPE - U and MPE + U is indeterminate: the device is
// quarantined and an open re-check task, due today in the venue's zone,
// makes it re-tested.
func TestRecordResultIndeterminate(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newResultWorld(t, st)
		task := w.startTasks()[w.thermA.ID]
		w.clk.Set(at(2026, 3, 3, 20)) // 2026-03-04 04:00 in Shanghai
		d := calData(0, 0.15, 0)
		d.Rule = devices.RuleJJF1094
		for i := range d.Points {
			d.Points[i].UC = 0.1
		}
		r := w.record(w.instAdmin, task, w.std, at(2026, 3, 3, 19), d)
		if r.Verdict != devices.VerdictIndeterminate || !slices.Equal(verdicts(r.AsFound), []devices.Verdict{"pass", "indeterminate", "pass"}) ||
			r.Data.Rule != devices.RuleJJF1094 {
			t.Errorf("verdicts = %s %v rule %s", r.Verdict, verdicts(r.AsFound), r.Data.Rule)
		}
		th := w.thermo(w.thermA.ID)
		if th.Status != devices.StatusQuarantined || th.IntervalDays != 365 {
			t.Errorf("device = %s, interval %d; want quarantined, 365 kept", th.Status, th.IntervalDays)
		}
		rechecks := allTasks(t, st, w.instAdmin, devices.TaskFilter{ThermometerID: th.ID, Kind: devices.TaskRecheck})
		if len(rechecks) != 1 {
			t.Fatalf("re-check tasks = %+v; want one", rechecks)
		}
		k := rechecks[0]
		if k.State != devices.TaskOpen || k.DueOn != "2026-03-04" || k.Priority != devices.PriorityOutOfTolerance ||
			!strings.Contains(k.PriorityReason, r.CertificateNo) || k.InstituteID == nil || *k.InstituteID != w.inst.ID {
			t.Errorf("re-check task = %+v; want open, due 2026-03-04, priority 0 naming %s", k, r.CertificateNo)
		}
		// The re-test passes: back in service.
		again := w.startTasks()[th.ID]
		if again.ID != k.ID {
			t.Fatalf("started task %s, want the re-check %s", again.ID, k.ID)
		}
		w.clk.Set(at(2026, 3, 3, 22))
		w.record(w.instAdmin, again, w.std, at(2026, 3, 3, 21), calData())
		if th = w.thermo(th.ID); th.Status != devices.StatusInService {
			t.Errorf("after the re-test the device is %s, want in_service", th.Status)
		}
	})
}

// TestRecordResultRefused: every bad input is refused naming its field,
// several at once, and nothing is written: no result, no certificate
// number taken, no audit event, task and device unchanged.
func TestRecordResultRefused(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newResultWorld(t, st)
		task := w.startTasks()[w.thermA.ID]
		w.clk.Set(at(2026, 3, 3, 9))
		performed := at(2026, 3, 2, 20)
		overdue := w.standard(w.instAdmin, "BB-OLD", at(2025, 3, 1, 0), at(2026, 3, 2, 12))
		// An open task (planned after the visits were started) is not
		// ready for a result.
		thOpen := w.instThermometer()
		if _, err := st.PlanCalibrations(w.ctx, w.clk.Now(), 30); err != nil {
			t.Fatal(err)
		}
		openTasks := allTasks(t, st, w.instAdmin, devices.TaskFilter{ThermometerID: thOpen.ID})
		if len(openTasks) != 1 || openTasks[0].State != devices.TaskOpen {
			t.Fatalf("tasks of the new thermometer = %+v; want one open", openTasks)
		}

		snapshot := func() map[string]int {
			m := map[string]int{}
			for _, tb := range []string{"calibration_results", "certificate_counters", "audit_events", "calibration_tasks", "result_flags"} {
				m[tb] = w.count(tb)
			}
			m["task_version"] = countSQL(t, st, "SELECT version FROM calibration_tasks WHERE id = '"+task.ID+"'")
			m["thermometer_version"] = countSQL(t, st, "SELECT version FROM thermometers WHERE id = '"+w.thermA.ID+"'")
			return m
		}
		before := snapshot()

		tests := []struct {
			name   string
			edit   func(in *devices.ResultInput)
			fields []string
			reason string // a word the first field's reason must contain
		}{
			{"as-left without adjustment", func(in *devices.ResultInput) { in.Data.Points[0].AsLeftC = readings3(35) },
				[]string{"points[0].as_left_c"}, "adjusted"},
			{"reading outside the range", func(in *devices.ResultInput) { in.Data.Points[1].AsFoundC = []float64{37.1, 42.5, 37} },
				[]string{"points[1].as_found_c[1]"}, "range"},
			{"two points only", func(in *devices.ResultInput) { in.Data.Points = in.Data.Points[:2] },
				[]string{"points"}, "at least 3"},
			{"U zero", func(in *devices.ResultInput) { in.Data.Points[2].UC = 0 }, []string{"points[2].u_c"}, "above 0"},
			{"U negative", func(in *devices.ResultInput) { in.Data.Points[0].UC = -0.1 }, []string{"points[0].u_c"}, "above 0"},
			{"overdue standard", func(in *devices.ResultInput) { in.StandardID = overdue.ID },
				[]string{"standard_id"}, "overdue since 2026-03-02T12:00:00Z"},
			{"another institute's standard", func(in *devices.ResultInput) { in.StandardID = w.otherStd.ID },
				[]string{"standard_id"}, "not a reference standard of your institute"},
			{"no standard", func(in *devices.ResultInput) { in.StandardID = "" }, []string{"standard_id"}, "required"},
			{"in the future", func(in *devices.ResultInput) { in.PerformedAt = at(2026, 3, 3, 10) }, []string{"performed_at"}, "future"},
			{"before the task", func(in *devices.ResultInput) { in.PerformedAt = at(2026, 2, 28, 9) },
				[]string{"performed_at"}, "before the task"},
			{"unknown mode", func(in *devices.ResultInput) { in.Data.Mode = "infrared" }, []string{"mode"}, "calibration or body"},
			{"every problem at once", func(in *devices.ResultInput) {
				in.Data.Points[0].AsLeftC = readings3(35)
				in.Data.Points[2].UC = 0
				in.Data.Ambient.RHPercent = 120
				in.StandardID = overdue.ID
			}, []string{"points[0].as_left_c", "points[2].u_c", "ambient.rh_percent", "standard_id"}, "adjusted"},
		}
		for _, tt := range tests {
			in := devices.ResultInput{TaskID: task.ID, StandardID: w.std.ID, PerformedAt: performed, Data: calData()}
			tt.edit(&in)
			_, err := st.RecordResult(w.ctx, w.instAdmin, in)
			ve := wantFields(t, tt.name, err, tt.fields...)
			if ve != nil && (len(ve.Fields) != len(tt.fields) || !strings.Contains(ve.Fields[0].Reason, tt.reason)) {
				t.Errorf("%s: fields %v; want exactly %v, the first saying %q", tt.name, ve.Fields, tt.fields, tt.reason)
			}
		}

		good := devices.ResultInput{TaskID: task.ID, StandardID: w.std.ID, PerformedAt: performed, Data: calData()}
		_, err := st.RecordResult(w.ctx, w.instAdmin, devices.ResultInput{TaskID: openTasks[0].ID, StandardID: w.std.ID, PerformedAt: performed, Data: calData()})
		wantConflict(t, "result for an open task", err, "invalid_transition")
		_, err = st.RecordResult(w.ctx, w.adminA, good)
		wantIs(t, "venue operator records", err, devices.ErrForbidden)
		_, err = st.RecordResult(w.ctx, w.reg, good)
		wantIs(t, "regulator records", err, devices.ErrForbidden)
		_, err = st.RecordResult(w.ctx, w.otherAdmin, devices.ResultInput{TaskID: task.ID, StandardID: w.otherStd.ID, PerformedAt: performed, Data: calData()})
		wantIs(t, "another institute records", err, devices.ErrNotFound)
		_, err = st.RecordResult(w.ctx, w.firmAdmin, good)
		wantIs(t, "maintenance firm records", err, devices.ErrNotFound)
		_, err = st.RecordResult(w.ctx, w.instAdmin, devices.ResultInput{StandardID: w.std.ID, PerformedAt: performed, Data: calData()})
		wantFields(t, "no task", err, "task_id")

		if after := snapshot(); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("refusals wrote something: before %v, after %v", before, after)
		}
		r, err := st.RecordResult(w.ctx, w.instAdmin, good)
		if err != nil || !strings.HasSuffix(r.CertificateNo, "-2026-000001") {
			t.Errorf("first accepted result = %q, %v; want number 000001 (refusals take no number)", r.CertificateNo, err)
		}
	})
}

// TestResultImmutable: the database itself refuses to change or delete a
// result, on both dialects.
func TestResultImmutable(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newResultWorld(t, st)
		task := w.startTasks()[w.thermA.ID]
		w.clk.Set(at(2026, 3, 3, 9))
		r := w.record(w.instAdmin, task, w.std, at(2026, 3, 2, 20), calData(0, 0.3, 0))
		for _, q := range []string{
			"UPDATE calibration_results SET verdict = 'pass' WHERE id = '" + r.ID + "'",
			"UPDATE calibration_results SET correction_reason = 'x'",
			"DELETE FROM calibration_results WHERE id = '" + r.ID + "'",
		} {
			_, err := st.SQLDB().ExecContext(w.ctx, q)
			if err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("%s: err = %v, want the append-only refusal", q, err)
			}
		}
		got, err := st.GetResult(w.ctx, w.reg, r.ID)
		if err != nil || got.Verdict != devices.VerdictFail || got.CorrectionReason != "" {
			t.Errorf("result after refused writes = %s %q, %v", got.Verdict, got.CorrectionReason, err)
		}
	})
}

// TestReviseResult: a correction is a new result that names the one it
// replaces, numbered -R<revision>; the original stays as it was; a result
// is corrected once; correcting the device's latest result re-applies the
// effects from the device as that result found it.
func TestReviseResult(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newResultWorld(t, st)
		task := w.startTasks()[w.thermA.ID]
		w.clk.Set(at(2026, 3, 3, 9))
		registered := w.thermo(w.thermA.ID)
		performed := at(2026, 3, 2, 20)
		orig := w.record(w.instAdmin, task, w.std, performed, calData())

		// The technician typed 37.0 for 37.3: the correction fails.
		fix := devices.ResultInput{StandardID: w.std.ID, PerformedAt: performed, Data: calData(0, 0.3, 0)}
		_, err := st.ReviseResult(w.ctx, w.instAdmin, orig.ID, fix, "  ")
		wantFields(t, "correction without reason", err, "reason")
		_, err = st.ReviseResult(w.ctx, w.adminA, orig.ID, fix, "typo")
		wantIs(t, "operator corrects", err, devices.ErrForbidden)
		_, err = st.ReviseResult(w.ctx, w.otherAdmin, orig.ID, fix, "typo")
		wantIs(t, "another institute corrects", err, devices.ErrNotFound)

		rev, err := st.ReviseResult(w.ctx, w.instMember, orig.ID, fix, "37 °C readings transcribed wrongly")
		if err != nil {
			t.Fatal(err)
		}
		if rev.Revision != 2 || rev.ReplacesID == nil || *rev.ReplacesID != orig.ID || rev.CertificateNo != orig.CertificateNo+"-R2" ||
			rev.Verdict != devices.VerdictFail || rev.CorrectionReason != "37 °C readings transcribed wrongly" ||
			rev.TaskID == nil || *rev.TaskID != task.ID || !rev.Applied {
			t.Errorf("revision = rev %d replaces %v cert %q verdict %s reason %q task %v applied %v", rev.Revision, rev.ReplacesID,
				rev.CertificateNo, rev.Verdict, rev.CorrectionReason, rev.TaskID, rev.Applied)
		}
		th := w.thermo(w.thermA.ID)
		if th.Status != devices.StatusOutOfTolerance || th.IntervalDays != 182 || !th.NextDueAt.Equal(registered.NextDueAt) ||
			th.LastCalibratedAt != nil {
			t.Errorf("device after the failing correction = %s, %d days, due %v, last %v; want out_of_tolerance, 182, due %v, never calibrated",
				th.Status, th.IntervalDays, th.NextDueAt, th.LastCalibratedAt, registered.NextDueAt)
		}
		old, err := st.GetResult(w.ctx, w.memberA, orig.ID)
		if err != nil || old.Verdict != devices.VerdictPass || old.CertificateNo != orig.CertificateNo || old.ReplacedByID == nil ||
			*old.ReplacedByID != rev.ID || !old.Superseded() {
			t.Errorf("original after the correction = %+v, %v; want unchanged, replaced by %s", old, err, rev.ID)
		}
		_, err = st.ReviseResult(w.ctx, w.instAdmin, orig.ID, fix, "again")
		wantConflict(t, "second correction of the original", err, "already_revised")

		// Correcting the correction: revision 3, back to passing, interval
		// from the device as the original found it (365 → 456).
		rev3, err := st.ReviseResult(w.ctx, w.instAdmin, rev.ID, devices.ResultInput{PerformedAt: performed, Data: calData(0.05)}, "wrong file")
		if err != nil {
			t.Fatal(err)
		}
		if rev3.Revision != 3 || rev3.CertificateNo != orig.CertificateNo+"-R3" || rev3.StandardID != w.std.ID || rev3.Verdict != devices.VerdictPass {
			t.Errorf("revision 3 = %d %q standard %s %s", rev3.Revision, rev3.CertificateNo, rev3.StandardID, rev3.Verdict)
		}
		th = w.thermo(w.thermA.ID)
		if th.Status != devices.StatusInService || th.IntervalDays != 456 || th.LastCalibratedAt == nil || !th.LastCalibratedAt.Equal(performed) {
			t.Errorf("device after the passing correction = %s %d %v", th.Status, th.IntervalDays, th.LastCalibratedAt)
		}
		if n := w.count("calibration_results"); n != 3 {
			t.Errorf("%d result rows, want 3 (nothing overwritten)", n)
		}
		if n := w.count("certificate_counters"); n != 1 || countSQL(t, st, "SELECT next FROM certificate_counters") != 2 {
			t.Errorf("corrections took certificate numbers: counter next = %d", countSQL(t, st, "SELECT next FROM certificate_counters"))
		}
		list, _, err := st.ListResults(w.ctx, w.adminA, devices.ResultFilter{ThermometerID: w.thermA.ID}, devices.Page{})
		if err != nil || !slices.Equal(ids(list, func(r devices.CalibrationResult) string { return r.ID }), []string{rev3.ID, rev.ID, orig.ID}) {
			t.Errorf("results of thermA newest first = %v, %v", ids(list, func(r devices.CalibrationResult) string { return r.CertificateNo }), err)
		}
	})
}

// TestTraceStandard: declaring a standard out of tolerance flags every
// result it traced since its own calibration (not earlier ones), opens
// one re-check task per affected device, and does nothing twice.
func TestTraceStandard(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newResultWorld(t, st)
		thC, thD := w.instThermometer(), w.instThermometer()
		tasks := w.startTasks()
		w.clk.Set(at(2026, 3, 3, 9))
		early := w.record(w.instAdmin, tasks[thD.ID], w.std, at(2026, 3, 2, 20), calData())
		// The standard is recalibrated at 21:00 (its certificate record
		// moves; no API does this yet).
		if _, err := st.SQLDB().ExecContext(w.ctx, "UPDATE reference_standards SET calibrated_at = '2026-03-02 21:00:00+00:00' WHERE id = '"+w.std.ID+"'"); err != nil {
			t.Fatal(err)
		}
		rA := w.record(w.instAdmin, tasks[w.thermA.ID], w.std, at(2026, 3, 2, 22), calData())
		rC := w.record(w.instAdmin, tasks[thC.ID], w.std, at(2026, 3, 2, 23), calData(0, 0.1, 0))

		_, err := st.FlagStandardOutOfTolerance(w.ctx, w.instMember, w.std.ID, "drift found")
		wantIs(t, "member flags", err, devices.ErrForbidden)
		_, err = st.FlagStandardOutOfTolerance(w.ctx, w.reg, w.std.ID, "drift found")
		wantIs(t, "regulator flags", err, devices.ErrForbidden)
		_, err = st.FlagStandardOutOfTolerance(w.ctx, w.adminA, w.std.ID, "drift found")
		wantIs(t, "operator flags", err, devices.ErrNotFound)
		_, err = st.FlagStandardOutOfTolerance(w.ctx, w.otherAdmin, w.std.ID, "drift found")
		wantIs(t, "another institute flags", err, devices.ErrNotFound)
		_, err = st.FlagStandardOutOfTolerance(w.ctx, w.instAdmin, w.std.ID, "")
		wantFields(t, "flag without reason", err, "reason")

		rep, err := st.FlagStandardOutOfTolerance(w.ctx, w.instAdmin, w.std.ID, "NIM found +0.15 °C at 37 °C")
		if err != nil {
			t.Fatal(err)
		}
		flagged := ids(rep.Flagged, func(r devices.CalibrationResult) string { return r.ID })
		if !sameSet(flagged, []string{rA.ID, rC.ID}) || rep.RecheckTasks != 2 || rep.Standard.Status != devices.StandardOutOfTolerance ||
			rep.Standard.Version != 2 {
			t.Errorf("report = flagged %v (want %s, %s; not %s), %d re-checks, standard %s v%d", flagged, rA.ID, rC.ID, early.ID,
				rep.RecheckTasks, rep.Standard.Status, rep.Standard.Version)
		}
		for _, r := range rep.Flagged {
			if len(r.Flags) != 1 || r.Flags[0].StandardID != w.std.ID || r.Flags[0].Reason != "NIM found +0.15 °C at 37 °C" {
				t.Errorf("flags of %s = %+v", r.CertificateNo, r.Flags)
			}
		}
		for _, th := range []devices.Thermometer{w.thermA, thC} {
			ks := allTasks(t, st, w.instAdmin, devices.TaskFilter{ThermometerID: th.ID, Kind: devices.TaskRecheck, State: devices.TaskOpen})
			if len(ks) != 1 || ks[0].Priority != devices.PriorityOutOfTolerance || !strings.Contains(ks[0].PriorityReason, "BB-001") ||
				ks[0].DueOn != "2026-03-03" {
				t.Errorf("re-check tasks of %s = %+v; want one, priority 0, naming BB-001, due 2026-03-03", th.ID, ks)
			}
		}
		if ks := allTasks(t, st, w.instAdmin, devices.TaskFilter{ThermometerID: thD.ID, Kind: devices.TaskRecheck}); len(ks) != 0 {
			t.Errorf("a device calibrated before the standard's calibration got re-check tasks %+v", ks)
		}

		again, err := st.FlagStandardOutOfTolerance(w.ctx, w.instAdmin, w.std.ID, "reported twice")
		if err != nil || again.RecheckTasks != 0 || len(again.Flagged) != 2 || again.Standard.Version != 2 {
			t.Errorf("second run = %d re-checks, %d flagged, v%d, %v; want 0, 2, v2", again.RecheckTasks, len(again.Flagged), again.Standard.Version, err)
		}
		if n := w.count("result_flags"); n != 2 {
			t.Errorf("%d flag rows after two runs, want 2", n)
		}
		if n := countSQL(t, st, "SELECT count(*) FROM calibration_tasks WHERE kind = 'recheck'"); n != 2 {
			t.Errorf("%d re-check tasks after two runs, want 2", n)
		}
		listed, _, err := st.ListResults(w.ctx, w.memberA, devices.ResultFilter{Flagged: true}, devices.Page{})
		if err != nil || !sameSet(ids(listed, func(r devices.CalibrationResult) string { return r.ID }), []string{rA.ID, rC.ID}) {
			t.Errorf("operator's flagged results = %d, %v", len(listed), err)
		}
		byStd, _, err := st.ListResults(w.ctx, w.instAdmin, devices.ResultFilter{StandardID: w.std.ID}, devices.Page{})
		if err != nil || len(byStd) != 3 {
			t.Errorf("results by standard = %d, %v; want 3", len(byStd), err)
		}

		// The out-of-tolerance standard traces nothing more.
		ready := w.startTasks()
		_, err = st.RecordResult(w.ctx, w.instAdmin, devices.ResultInput{TaskID: ready[w.thermA.ID].ID, StandardID: w.std.ID,
			PerformedAt: w.clk.Now(), Data: calData()})
		if ve := wantFields(t, "result with an out-of-tolerance standard", err, "standard_id"); ve != nil && !strings.Contains(ve.Fields[0].Reason, "out_of_tolerance") {
			t.Errorf("reason = %q", ve.Fields[0].Reason)
		}
	})
}

// TestResultVisibility: the institute, the venue's operator and the
// regulator read a result; another operator, another institute and a
// maintenance firm do not know it exists. Standards are the institute's
// (and the regulator's to read).
func TestResultVisibility(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newResultWorld(t, st)
		task := w.startTasks()[w.thermA.ID]
		w.clk.Set(at(2026, 3, 3, 9))
		r := w.record(w.instAdmin, task, w.std, at(2026, 3, 2, 20), calData())
		for name, a := range map[string]devices.Actor{"institute": w.instMember, "operator A": w.memberA, "regulator": w.reg} {
			if got, err := st.GetResult(w.ctx, a, r.ID); err != nil || got.ID != r.ID {
				t.Errorf("%s GetResult = %v", name, err)
			}
			if got, _, err := st.ListResults(w.ctx, a, devices.ResultFilter{}, devices.Page{}); err != nil || len(got) != 1 {
				t.Errorf("%s ListResults = %d, %v; want 1", name, len(got), err)
			}
		}
		for name, a := range map[string]devices.Actor{"operator B": w.adminB, "another institute": w.otherAdmin, "firm": w.firmAdmin} {
			_, err := st.GetResult(w.ctx, a, r.ID)
			wantIs(t, name+" GetResult", err, devices.ErrNotFound)
			if got, _, err := st.ListResults(w.ctx, a, devices.ResultFilter{}, devices.Page{}); err != nil || len(got) != 0 {
				t.Errorf("%s ListResults = %d, %v; want none", name, len(got), err)
			}
			_, err = st.ReviseResult(w.ctx, a, r.ID, devices.ResultInput{PerformedAt: r.PerformedAt, Data: calData()}, "x")
			wantIs(t, name+" ReviseResult", err, devices.ErrNotFound)
		}
		_, err := st.GetResult(w.ctx, w.reg, "not-an-id")
		wantIs(t, "GetResult(bad id)", err, devices.ErrNotFound)

		for name, a := range map[string]devices.Actor{"operator A": w.adminA, "another institute": w.otherAdmin, "firm": w.firmAdmin} {
			_, err := st.GetStandard(w.ctx, a, w.std.ID)
			wantIs(t, name+" GetStandard", err, devices.ErrNotFound)
		}
		if got, _, err := st.ListStandards(w.ctx, w.instMember, devices.Page{}); err != nil || len(got) != 1 || got[0].ID != w.std.ID {
			t.Errorf("institute's standards = %+v, %v", got, err)
		}
		if got, _, err := st.ListStandards(w.ctx, w.reg, devices.Page{}); err != nil || len(got) != 2 {
			t.Errorf("regulator's standards = %d, %v; want 2", len(got), err)
		}
	})
}

// TestCreateStandard: an institute admin registers standards; fields are
// checked by name; a serial is unique within the institute.
func TestCreateStandard(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newResultWorld(t, st)
		bad := devices.ReferenceStandard{Name: " ", Serial: "BB-9", CalibratedAt: at(2026, 3, 2, 0), DueAt: at(2026, 1, 1, 0)}
		err := st.CreateStandard(w.ctx, w.instAdmin, &bad)
		wantFields(t, "bad standard", err, "name", "certificate_no", "calibrated_at", "due_at")
		dup := devices.ReferenceStandard{Name: "Another", Serial: "BB-001", CertificateNo: "X", CalibratedAt: at(2026, 1, 1, 0), DueAt: at(2027, 1, 1, 0)}
		wantConflict(t, "duplicate serial", st.CreateStandard(w.ctx, w.instAdmin, &dup), "duplicate_serial")
		dup.Serial = "BB-001"
		if err := st.CreateStandard(w.ctx, w.otherAdmin, &dup); err != nil || dup.InstituteID != w.other.ID {
			t.Errorf("another institute registers its own BB-001: %v (institute %s)", err, dup.InstituteID)
		}
		wantIs(t, "member registers", st.CreateStandard(w.ctx, w.instMember, &devices.ReferenceStandard{}), devices.ErrForbidden)
		wantIs(t, "operator registers", st.CreateStandard(w.ctx, w.adminA, &devices.ReferenceStandard{}), devices.ErrForbidden)
		got, err := st.GetStandard(w.ctx, w.instMember, w.std.ID)
		if err != nil || got.InstituteID != w.inst.ID || got.Status != devices.StandardInService || got.Version != 1 ||
			!got.CalibratedAt.Equal(at(2025, 12, 1, 0)) || got.CertificateNo != "NIM-BB-001" {
			t.Errorf("GetStandard = %+v, %v", got, err)
		}
	})
}

// TestRecordResultConcurrent: two results of one institute recorded at the
// same moment get distinct, consecutive certificate numbers.
func TestRecordResultConcurrent(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newResultWorld(t, st)
		thC := w.instThermometer()
		tasks := w.startTasks()
		w.clk.Set(at(2026, 3, 3, 9))
		var wg sync.WaitGroup
		res := make([]devices.CalibrationResult, 2)
		errs := make([]error, 2)
		for i, th := range []string{w.thermA.ID, thC.ID} {
			wg.Go(func() {
				res[i], errs[i] = st.RecordResult(t.Context(), w.instAdmin, devices.ResultInput{TaskID: tasks[th].ID,
					StandardID: w.std.ID, PerformedAt: at(2026, 3, 2, 20), Data: calData()})
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("concurrent result %d: %v", i, err)
			}
		}
		got := []string{res[0].CertificateNo, res[1].CertificateNo}
		slices.Sort(got)
		p := certPrefix(w.inst.ID) + "2026-"
		if !slices.Equal(got, []string{p + "000001", p + "000002"}) {
			t.Errorf("concurrent certificates = %v; want %s000001 and %s000002", got, p, p)
		}
		if n := countSQL(t, st, "SELECT next FROM certificate_counters"); n != 3 {
			t.Errorf("counter next = %d, want 3", n)
		}
	})
}

// TestIntervalPolicies: a fixed policy keeps the interval; the control
// chart falls back to the staircase, saying so, until five results exist,
// then fits the as-found drift and caps the interval below the staircase's.
func TestIntervalPolicies(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newResultWorld(t, st)
		fixed, chart := w.instThermometer(), w.instThermometer()
		w.setPolicy(fixed.ID, `{"kind":"fixed","min_days":90,"max_days":730,"lengthen_factor":1.25,"shorten_factor":0.5}`)
		w.setPolicy(chart.ID, `{"kind":"control_chart","min_days":30,"max_days":1825,"lengthen_factor":1.25,"shorten_factor":0.5}`)
		policy := devices.IntervalPolicy{Kind: devices.IntervalControlChart, MinDays: 30, MaxDays: 1825, LengthenFactor: 1.25, ShortenFactor: 0.5}

		tasks := w.startTasks()
		w.clk.Add(24 * time.Hour)
		performed := w.clk.Now().Add(-time.Hour)
		rf := w.record(w.instAdmin, tasks[fixed.ID], w.std, performed, calData(0.1))
		if rf.After.IntervalDays != 365 || rf.After.IntervalReason != "fixed interval: 365 days unchanged" ||
			!rf.After.NextDueAt.Equal(devices.NextDue(performed, 365, mustZone(t, "Asia/Shanghai"))) {
			t.Errorf("fixed policy = %+v", rf.After)
		}

		var history []devices.AsFound
		days := 365
		task := tasks[chart.ID]
		for i := range 5 {
			e := 0.04 * float64(i) // drifting towards the 0.2 °C MPE
			r := w.record(w.instAdmin, task, w.std, performed, calData(0, e, 0))
			history = append(history, devices.AsFound{At: performed, MaxAbsErrorC: math.Abs(r.AsFound[1].ErrorC), MPEC: 0.2, Verdict: devices.VerdictPass})
			want, wantWhy := policy.Next(days, history)
			if r.After.IntervalDays != want || r.After.IntervalReason != wantWhy {
				t.Errorf("result %d: interval %d %q; want %d %q", i+1, r.After.IntervalDays, r.After.IntervalReason, want, wantWhy)
			}
			if i < 4 && !strings.HasPrefix(r.After.IntervalReason, fmt.Sprintf("control chart needs 5 as-found results, has %d; staircase:", i+1)) {
				t.Errorf("result %d reason %q; want the staircase fallback", i+1, r.After.IntervalReason)
			}
			if i == 4 && (!strings.HasPrefix(r.After.IntervalReason, "control chart over 5 results") || want >= days*5/4) {
				t.Errorf("fifth result: %d days %q; want the control chart below the staircase's %d", want, r.After.IntervalReason, days*5/4)
			}
			days = r.After.IntervalDays
			if i == 4 {
				break
			}
			// Next cycle: the plan job finds it due two days ahead.
			w.clk.Set(r.After.NextDueAt.Add(-48 * time.Hour))
			task = w.startTasks()[chart.ID]
			if task.ID == "" {
				t.Fatalf("cycle %d: no task for the control-chart device", i+2)
			}
			w.clk.Add(24 * time.Hour)
			performed = w.clk.Now().Add(-time.Hour)
		}
	})
}

// TestThermometerIntervalPolicy: a policy set through the registry (at
// registration, or replaced later, which keeps the interval and the due
// date and says why) is stored, audited and used by the next result: a
// fixed policy keeps the interval after a pass, a staircase lengthens it
// by its own factor, and the device reads back the result's reason.
func TestThermometerIntervalPolicy(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newResultWorld(t, st)
		fixedPolicy := devices.IntervalPolicy{Kind: devices.IntervalFixed, MinDays: 90, MaxDays: 730, LengthenFactor: 1.25, ShortenFactor: 0.5}
		fixed := w.thermometer(w.adminA, w.venueA.ID, func(th *devices.Thermometer) {
			th.InstituteID = &w.inst.ID
			th.IntervalPolicy = fixedPolicy
		})
		if got := w.thermo(fixed.ID); got.IntervalPolicy != fixedPolicy || got.IntervalReason != "" {
			t.Errorf("registered with a fixed policy: policy %+v reason %q", got.IntervalPolicy, got.IntervalReason)
		}
		if got := w.thermo(w.thermA.ID).IntervalPolicy; got != devices.DefaultIntervalPolicy() {
			t.Errorf("registered without a policy: %+v, want the default", got)
		}

		stair := w.instThermometer()
		policy := devices.IntervalPolicy{Kind: devices.IntervalStaircase, MinDays: 120, MaxDays: 1000, LengthenFactor: 1.5, ShortenFactor: 0.5}
		wantWhy := "interval policy changed by the operator to staircase (120..1000 days, ×1.5 after a pass, ×0.5 after a fail): kept 365 days"
		up, err := st.UpdateThermometer(w.ctx, w.adminA, stair.ID, stair.Version, devices.ThermometerPatch{IntervalPolicy: &policy})
		if err != nil {
			t.Fatalf("UpdateThermometer(policy) = %v", err)
		}
		got := w.thermo(stair.ID)
		if got.IntervalPolicy != policy || got.IntervalReason != wantWhy || got.IntervalDays != 365 ||
			!got.NextDueAt.Equal(stair.NextDueAt) || got.Version != stair.Version+1 || up.Version != got.Version {
			t.Errorf("after the policy change: policy %+v reason %q interval %d due %v (was %v) v%d",
				got.IntervalPolicy, got.IntervalReason, got.IntervalDays, got.NextDueAt, stair.NextDueAt, got.Version)
		}
		wantEvent(t, w.oneEvent(stair.ID, devices.ActionUpdate), w.adminA, devices.ResourceThermometer, devices.Changes{
			"interval_policy.min_days":        {From: float64(90), To: float64(120)},
			"interval_policy.max_days":        {From: float64(730), To: float64(1000)},
			"interval_policy.lengthen_factor": {From: 1.25, To: 1.5},
			"interval_reason":                 {From: "", To: wantWhy},
		})
		// The column holds JSON for a chosen policy and stays '' for the
		// default, also through an edit of something else.
		if _, err := st.UpdateThermometer(w.ctx, w.adminA, w.thermA2.ID, devices.AnyVersion,
			devices.ThermometerPatch{LocationNote: ptr("hall")}); err != nil {
			t.Fatal(err)
		}
		cols := sqlStrings(t, st, "SELECT interval_policy FROM thermometers WHERE id IN ('"+w.thermA2.ID+"', '"+stair.ID+"') ORDER BY id = '"+stair.ID+"'")
		if len(cols) != 2 || cols[0] != "" || !strings.Contains(cols[1], `"max_days":1000`) {
			t.Errorf("interval_policy columns (default, staircase) = %q", cols)
		}

		tasks := w.startTasks()
		w.clk.Add(24 * time.Hour)
		performed := w.clk.Now().Add(-time.Hour)
		rf := w.record(w.instAdmin, tasks[fixed.ID], w.std, performed, calData(0.1))
		rs := w.record(w.instAdmin, tasks[stair.ID], w.std, performed, calData(0.1))
		for _, c := range []struct {
			name, id string
			r        devices.CalibrationResult
			before   string // the interval_reason the result found
			days     int
			why      string
		}{
			{"fixed", fixed.ID, rf, "", 365, "fixed interval: 365 days unchanged"},
			{"staircase", stair.ID, rs, wantWhy, 547, "as-found 0.1 °C within MPE 0.2 °C: lengthened 365 → 547 days (staircase ×1.5, max 1000)"},
		} {
			th := w.thermo(c.id)
			if c.r.Before.IntervalReason != c.before || c.r.After.IntervalDays != c.days || c.r.After.IntervalReason != c.why ||
				th.IntervalDays != c.days || th.IntervalReason != c.why {
				t.Errorf("%s policy after a pass: result %q -> %d %q, thermometer %d %q; want %q -> %d %q", c.name,
					c.r.Before.IntervalReason, c.r.After.IntervalDays, c.r.After.IntervalReason, th.IntervalDays, th.IntervalReason,
					c.before, c.days, c.why)
			}
		}
		// A stored policy that does not validate is an error, never
		// silently the default.
		w.setPolicy(fixed.ID, `{"kind":"weekly","min_days":90,"max_days":730,"lengthen_factor":1.25,"shorten_factor":0.5}`)
		_, err = st.GetThermometer(w.ctx, w.reg, fixed.ID)
		var ve *devices.ValidationError
		if err == nil || !strings.Contains(err.Error(), "interval policy") || errors.As(err, &ve) {
			t.Errorf("GetThermometer with an unreadable policy = %v, want an internal interval policy error", err)
		}
	})
}

// TestCertificateOf: a result's certificate names the item, the venue,
// the customer, the laboratory and the standard, for whoever may read the
// result, and nobody else.
func TestCertificateOf(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newResultWorld(t, st)
		task := w.startTasks()[w.thermA.ID]
		w.clk.Set(at(2026, 3, 3, 9))
		r := w.record(w.instAdmin, task, w.std, at(2026, 3, 2, 20), calData())
		for _, a := range []devices.Actor{w.instAdmin, w.adminA, w.reg} {
			p, err := st.CertificateOf(w.ctx, a, r.ID)
			if err != nil || p.Result.CertificateNo != r.CertificateNo || p.Thermometer.Serial != w.thermA.Serial ||
				p.VenueName != w.venueA.Name || p.OperatorName != w.opA.Name || p.InstituteName != w.inst.Name ||
				p.StandardSerial != w.std.Serial || p.StandardName != w.std.Name || p.ReplacesNo != "" {
				t.Errorf("CertificateOf as %s = %+v, %v", a.OrgKind, p, err)
			}
		}
		_, err := st.CertificateOf(w.ctx, w.adminB, r.ID)
		wantIs(t, "operator B reads A's certificate", err, devices.ErrNotFound)
	})
}
