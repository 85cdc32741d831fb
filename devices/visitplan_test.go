package devices_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/calibd/calibd/devices"
)

// vpCalendar is a UTC Monday–Friday calendar with the given capacity.
func vpCalendar(technicians, perDay int, holidays ...string) devices.InstituteCalendar {
	c := devices.DefaultInstituteCalendar()
	c.Technicians, c.VisitsPerTechnicianPerDay, c.Holidays = technicians, perDay, holidays
	return c
}

// vpTask is a task of the given class at venue.
func vpTask(id, venue string, priority int, due string) devices.PlannedTask {
	return devices.PlannedTask{TaskID: id, VenueID: venue, Priority: priority, DueOn: due}
}

// vpPlan runs PlanVisits and fails the test on error.
func vpPlan(t *testing.T, in devices.VisitPlanInput) ([]devices.VisitPlan, []devices.PlannedTask) {
	t.Helper()
	plans, unplaced, err := devices.PlanVisits(in)
	if err != nil {
		t.Fatalf("PlanVisits: %v", err)
	}
	return plans, unplaced
}

// vpDays maps venue id to the planned day.
func vpDays(plans []devices.VisitPlan) map[string]string {
	out := make(map[string]string, len(plans))
	for _, p := range plans {
		out[p.VenueID] = p.Day
	}
	return out
}

func TestDefaultInstituteCalendar(t *testing.T) {
	c := devices.DefaultInstituteCalendar()
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	want := devices.InstituteCalendar{TimeZone: "UTC", Technicians: 2, VisitsPerTechnicianPerDay: 4,
		WorkingDays: []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("default calendar (-want +got):\n%s", diff)
	}
	if got := c.DailyCapacity(); got != 8 {
		t.Errorf("DailyCapacity = %d, want 8", got)
	}
}

func TestInstituteCalendarValidate(t *testing.T) {
	tests := []struct {
		name       string
		edit       func(c *devices.InstituteCalendar)
		wantFields []string
		check      func(t *testing.T, c devices.InstituteCalendar)
	}{
		{name: "valid", edit: func(c *devices.InstituteCalendar) {}},
		{name: "limits", edit: func(c *devices.InstituteCalendar) {
			c.Technicians, c.VisitsPerTechnicianPerDay = 500, 20
		}, check: func(t *testing.T, c devices.InstituteCalendar) {
			if c.DailyCapacity() != 10000 {
				t.Errorf("DailyCapacity = %d, want 10000", c.DailyCapacity())
			}
		}},
		{name: "zone missing", edit: func(c *devices.InstituteCalendar) { c.TimeZone = "" }, wantFields: sorted("time_zone")},
		{name: "zone unknown", edit: func(c *devices.InstituteCalendar) { c.TimeZone = "Asia/Atlantis" }, wantFields: sorted("time_zone")},
		{name: "zone trimmed", edit: func(c *devices.InstituteCalendar) { c.TimeZone = " Asia/Shanghai " },
			check: func(t *testing.T, c devices.InstituteCalendar) {
				if c.TimeZone != "Asia/Shanghai" {
					t.Errorf("TimeZone = %q", c.TimeZone)
				}
			}},
		{name: "no technicians", edit: func(c *devices.InstituteCalendar) { c.Technicians = 0 }, wantFields: sorted("technicians")},
		{name: "501 technicians", edit: func(c *devices.InstituteCalendar) { c.Technicians = 501 }, wantFields: sorted("technicians")},
		{name: "no visits", edit: func(c *devices.InstituteCalendar) { c.VisitsPerTechnicianPerDay = 0 },
			wantFields: sorted("visits_per_technician_per_day")},
		{name: "21 visits", edit: func(c *devices.InstituteCalendar) { c.VisitsPerTechnicianPerDay = 21 },
			wantFields: sorted("visits_per_technician_per_day")},
		{name: "no working days", edit: func(c *devices.InstituteCalendar) { c.WorkingDays = nil }, wantFields: sorted("working_days")},
		{name: "working day repeats", edit: func(c *devices.InstituteCalendar) {
			c.WorkingDays = []time.Weekday{time.Monday, time.Friday, time.Monday}
		}, wantFields: sorted("working_days")},
		{name: "working day out of range", edit: func(c *devices.InstituteCalendar) {
			c.WorkingDays = []time.Weekday{time.Monday, 7}
		}, wantFields: sorted("working_days")},
		{name: "working days sorted", edit: func(c *devices.InstituteCalendar) {
			c.WorkingDays = []time.Weekday{time.Saturday, time.Monday, time.Sunday}
		}, check: func(t *testing.T, c devices.InstituteCalendar) {
			want := []time.Weekday{time.Sunday, time.Monday, time.Saturday}
			if !slices.Equal(c.WorkingDays, want) {
				t.Errorf("WorkingDays = %v, want %v", c.WorkingDays, want)
			}
		}},
		{name: "holidays sorted and deduplicated", edit: func(c *devices.InstituteCalendar) {
			c.Holidays = []string{"2026-10-02", "2026-10-01", " 2026-10-02", "2026-01-01"}
		}, check: func(t *testing.T, c devices.InstituteCalendar) {
			want := []string{"2026-01-01", "2026-10-01", "2026-10-02"}
			if !slices.Equal(c.Holidays, want) {
				t.Errorf("Holidays = %v, want %v", c.Holidays, want)
			}
		}},
		{name: "bad holidays named by index", edit: func(c *devices.InstituteCalendar) {
			c.Holidays = []string{"2026-10-01", "2026-10-1", "2026-02-30", "tomorrow"}
		}, wantFields: sorted("holidays[1]", "holidays[2]", "holidays[3]")},
		{name: "too many holidays", edit: func(c *devices.InstituteCalendar) {
			c.Holidays = make([]string, devices.MaxHolidays+1)
			for i := range c.Holidays {
				c.Holidays[i] = "2026-01-01"
			}
		}, wantFields: sorted("holidays")},
		{name: "everything wrong", edit: func(c *devices.InstituteCalendar) {
			*c = devices.InstituteCalendar{TimeZone: "Local", Technicians: -1, VisitsPerTechnicianPerDay: 99,
				Holidays: []string{"2026-01-01", "2026-01-01", "x"}}
		}, wantFields: sorted("holidays[2]", "technicians", "time_zone", "visits_per_technician_per_day", "working_days")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := devices.DefaultInstituteCalendar()
			tt.edit(&c)
			got := validationFields(t, c.Validate())
			if diff := cmp.Diff(tt.wantFields, got); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}

func TestInstituteCalendarValidateKeepsCallerSlices(t *testing.T) {
	days := []time.Weekday{time.Friday, time.Monday}
	hol := []string{"2026-12-25", "2026-01-01"}
	c := devices.InstituteCalendar{TimeZone: "UTC", Technicians: 1, VisitsPerTechnicianPerDay: 1, WorkingDays: days, Holidays: hol}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if days[0] != time.Friday || hol[0] != "2026-12-25" {
		t.Errorf("caller slices reordered: %v %v", days, hol)
	}
}

func TestFirstPlannableDay(t *testing.T) {
	c := devices.DefaultInstituteCalendar()
	c.TimeZone = "Asia/Shanghai"
	// 17:30 UTC is 01:30 the next morning in Shanghai.
	got, err := c.FirstPlannableDay(mustTime(t, "2026-11-25T17:30:00Z"))
	if err != nil || got != "2026-11-27" {
		t.Errorf("FirstPlannableDay = %q, %v; want 2026-11-27", got, err)
	}
	c.TimeZone = "UTC"
	if got, _ := c.FirstPlannableDay(mustTime(t, "2026-12-31T23:59:59Z")); got != "2027-01-01" {
		t.Errorf("FirstPlannableDay at year end = %q, want 2027-01-01", got)
	}
	c.TimeZone = "Nowhere/Town"
	_, err = c.FirstPlannableDay(mustTime(t, "2026-11-25T17:30:00Z"))
	if diff := cmp.Diff(sorted("time_zone"), validationFields(t, err)); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
}

func TestPlanVisitsExplains(t *testing.T) {
	in := devices.VisitPlanInput{
		Calendar: vpCalendar(1, 2, "2026-11-24"),
		From:     "2026-11-23", // a Monday
		Horizon:  60,
		Tasks: []devices.PlannedTask{
			{TaskID: "t2", VenueID: "v-hosp", VenueName: "Ruijin Hospital", Priority: devices.PriorityHospital,
				PriorityReason: "medical use at a hospital", DueOn: "2026-12-04"},
			{TaskID: "t5", VenueID: "v-school", Priority: devices.PriorityRetail, PriorityReason: "screening at a school", DueOn: "2026-11-26"},
			{TaskID: "t1", VenueID: "v-hosp", VenueName: "Ruijin Hospital", Priority: devices.PriorityOutOfTolerance,
				PriorityReason: "device is out_of_tolerance", DueOn: "2026-11-20"},
			{TaskID: "t4", VenueID: "v-mall", Priority: devices.PriorityRetail, PriorityReason: "screening at a mall", DueOn: "2026-11-25"},
			{TaskID: "t3", VenueID: "v-hosp", VenueName: "Ruijin Hospital", Priority: devices.PriorityHospital,
				PriorityReason: "medical use at a hospital", DueOn: "2026-11-30"},
		},
		Fixed: []devices.FixedVisit{
			{VisitID: "fx-1", VenueID: "v-other", Day: "2026-11-23"},
			{VisitID: "fx-2", VenueID: "v-hosp", Day: "2026-11-30"},
			{VisitID: "fx-0", VenueID: "v-hosp", Day: "2026-11-20"}, // before From: history
		},
		Existing: []devices.ExistingVisit{{VisitID: "pv-9", VenueID: "v-school", Day: "2026-11-27"}},
	}
	plans, unplaced := vpPlan(t, in)
	want := []devices.VisitPlan{
		{
			VenueID: "v-hosp", Day: "2026-11-23", TaskIDs: []string{"t1", "t3", "t2"}, Priority: 0,
			Why: "3 open tasks at Ruijin Hospital share one visit (one technician slot): " +
				"1 × priority 0 (device is out_of_tolerance), 2 × priority 1 (medical use at a hospital); " +
				"earliest due 2026-11-20, all due by 2026-12-04, 1 due before 2026-11-23; " +
				"turn 1 of 3 by priority then earliest due (priority 0, earliest due 2026-11-20); " +
				"2026-11-23 is the first plannable day and has a free slot (1 of 2 slots taken, 1 by confirmed visits); " +
				"confirmed visit fx-2 on 2026-11-30 at this venue stays as it is; these tasks are not on it",
			TaskWhy: map[string]string{
				"t1": "priority 0 (device is out_of_tolerance), due 2026-11-20, before the visit day",
				"t3": "priority 1 (medical use at a hospital), due 2026-11-30",
				"t2": "priority 1 (medical use at a hospital), due 2026-12-04",
			},
		},
		{
			VenueID: "v-mall", Day: "2026-11-25", TaskIDs: []string{"t4"}, Priority: 3,
			Why: "1 open task at this venue takes one visit (one technician slot): 1 × priority 3 (screening at a mall); " +
				"earliest due 2026-11-25; " +
				"turn 2 of 3 by priority then earliest due (priority 3, earliest due 2026-11-25); " +
				"2026-11-25 is the first working day from 2026-11-23 with a free slot (0 of 2 slots taken); " +
				"skipped 2026-11-23 full, 2026-11-24 is a holiday",
			TaskWhy: map[string]string{"t4": "priority 3 (screening at a mall), due 2026-11-25"},
		},
		{
			VisitID: "pv-9", VenueID: "v-school", Day: "2026-11-25", TaskIDs: []string{"t5"}, Priority: 3,
			Why: "1 open task at this venue takes one visit (one technician slot): 1 × priority 3 (screening at a school); " +
				"earliest due 2026-11-26; " +
				"turn 3 of 3 by priority then earliest due (priority 3, earliest due 2026-11-26); " +
				"2026-11-25 is the first working day from 2026-11-23 with a free slot (1 of 2 slots taken); " +
				"skipped 2026-11-23 full, 2026-11-24 is a holiday; " +
				"reuses planned visit pv-9, moved from 2026-11-27",
			TaskWhy: map[string]string{"t5": "priority 3 (screening at a school), due 2026-11-26"},
		},
	}
	if diff := cmp.Diff(want, plans); diff != "" {
		t.Errorf("plans (-want +got):\n%s", diff)
	}
	if len(unplaced) != 0 {
		t.Errorf("unplaced = %v, want none", unplaced)
	}
}

func TestPlanVisitsCapacityAcrossDays(t *testing.T) {
	in := devices.VisitPlanInput{Calendar: vpCalendar(3, 1), From: "2026-11-23", Horizon: 30}
	for i, v := range []string{"a", "b", "c", "d", "e", "f", "g"} {
		in.Tasks = append(in.Tasks, vpTask("t-"+v, "v-"+v, devices.PriorityOther, fmt.Sprintf("2026-12-%02d", 1+i)))
	}
	// A second task at v-a rides on the same visit and takes no slot.
	in.Tasks = append(in.Tasks, vpTask("t-a2", "v-a", devices.PriorityOther, "2026-12-09"))
	plans, unplaced := vpPlan(t, in)
	want := map[string]string{
		"v-a": "2026-11-23", "v-b": "2026-11-23", "v-c": "2026-11-23",
		"v-d": "2026-11-24", "v-e": "2026-11-24", "v-f": "2026-11-24",
		"v-g": "2026-11-25",
	}
	if diff := cmp.Diff(want, vpDays(plans)); diff != "" {
		t.Errorf("days (-want +got):\n%s", diff)
	}
	if len(unplaced) != 0 {
		t.Errorf("unplaced = %v", unplaced)
	}
	if got := plans[0].TaskIDs; !slices.Equal(got, []string{"t-a", "t-a2"}) {
		t.Errorf("v-a tasks = %v", got)
	}
	if !strings.Contains(plans[5].Why, "2026-11-24 is the first working day from 2026-11-23 with a free slot (2 of 3 slots taken); skipped 2026-11-23 full") {
		t.Errorf("v-f Why = %q", plans[5].Why)
	}
}

func TestPlanVisitsSkipsClosedDays(t *testing.T) {
	tests := []struct {
		name     string
		cal      devices.InstituteCalendar
		from     string
		venues   int
		wantDays []string
		wantWhy  string // in the last plan's Why
	}{
		{name: "Friday full, Monday next", cal: vpCalendar(1, 1), from: "2026-11-27", venues: 2,
			wantDays: []string{"2026-11-27", "2026-11-30"},
			wantWhy:  "2026-11-30 is the first working day from 2026-11-27 with a free slot (0 of 1 slots taken); skipped 2026-11-27 full, 2026-11-28 to 2026-11-29 are not working days"},
		{name: "Friday holiday", cal: vpCalendar(1, 1, "2026-11-27"), from: "2026-11-27", venues: 1,
			wantDays: []string{"2026-11-30"},
			wantWhy:  "skipped 2026-11-27 is a holiday, 2026-11-28 to 2026-11-29 are not working days"},
		{name: "Sunday from", cal: vpCalendar(1, 1), from: "2026-11-29", venues: 1,
			wantDays: []string{"2026-11-30"},
			wantWhy:  "skipped 2026-11-29 is not a working day (Sunday)"},
		{name: "holiday run over a weekend", cal: vpCalendar(1, 1, "2026-12-24", "2026-12-25", "2026-12-28"), from: "2026-12-24", venues: 1,
			wantDays: []string{"2026-12-29"},
			wantWhy:  "skipped 2026-12-24 to 2026-12-25 are holidays, 2026-12-26 to 2026-12-27 are not working days, 2026-12-28 is a holiday"},
		{name: "Saturday working", cal: func() devices.InstituteCalendar {
			c := vpCalendar(1, 1)
			c.WorkingDays = []time.Weekday{time.Saturday}
			return c
		}(), from: "2026-11-23", venues: 2,
			wantDays: []string{"2026-11-28", "2026-12-05"},
			wantWhy:  "skipped 2026-11-23 to 2026-11-27 are not working days, 2026-11-28 full, 2026-11-29 to 2026-12-04 are not working days"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := devices.VisitPlanInput{Calendar: tt.cal, From: tt.from, Horizon: 30}
			for i := range tt.venues {
				v := fmt.Sprint(i)
				in.Tasks = append(in.Tasks, vpTask("t-"+v, "v-"+v, devices.PriorityOther, fmt.Sprintf("2026-12-%02d", 1+i)))
			}
			plans, _ := vpPlan(t, in)
			var days []string
			for _, p := range plans {
				days = append(days, p.Day)
			}
			if diff := cmp.Diff(tt.wantDays, days); diff != "" {
				t.Errorf("days (-want +got):\n%s", diff)
			}
			if len(plans) > 0 && !strings.Contains(plans[len(plans)-1].Why, tt.wantWhy) {
				t.Errorf("Why = %q\nwant it to contain %q", plans[len(plans)-1].Why, tt.wantWhy)
			}
		})
	}
}

func TestPlanVisitsSkipNotesAreCapped(t *testing.T) {
	// Every working day of three weeks is a holiday.
	var hol []string
	for d := 23; d <= 30; d++ {
		hol = append(hol, fmt.Sprintf("2026-11-%02d", d))
	}
	for d := 1; d <= 11; d++ {
		hol = append(hol, fmt.Sprintf("2026-12-%02d", d))
	}
	in := devices.VisitPlanInput{Calendar: vpCalendar(1, 1, hol...), From: "2026-11-23", Horizon: 60,
		Tasks: []devices.PlannedTask{vpTask("t", "v", devices.PriorityOther, "2026-12-01")}}
	plans, _ := vpPlan(t, in)
	if len(plans) != 1 || plans[0].Day != "2026-12-14" {
		t.Fatalf("plans = %+v", plans)
	}
	want := "skipped 2026-11-23 to 2026-11-27 are holidays, 2026-11-28 to 2026-11-29 are not working days, " +
		"2026-11-30 to 2026-12-04 are holidays, 2026-12-05 to 2026-12-06 are not working days, " +
		"2026-12-07 to 2026-12-11 are holidays, 2026-12-12 to 2026-12-13 are not working days"
	if !strings.HasSuffix(plans[0].Why, want) {
		t.Errorf("Why = %q\nwant suffix %q", plans[0].Why, want)
	}
	in.Calendar.Holidays = append(hol, "2026-12-14")
	plans, _ = vpPlan(t, in)
	if !strings.HasSuffix(plans[0].Why, "2026-12-12 to 2026-12-13 are not working days, 1 more day closed or full") {
		t.Errorf("Why = %q", plans[0].Why)
	}
}

func TestPlanVisitsPriorityOrder(t *testing.T) {
	p := func(s devices.ThermometerStatus, k devices.VenueKind) (int, string) {
		return devices.TaskPriority(s, k)
	}
	task := func(id, venue string, s devices.ThermometerStatus, k devices.VenueKind, due string) devices.PlannedTask {
		pr, why := p(s, k)
		return devices.PlannedTask{TaskID: id, VenueID: venue, Priority: pr, PriorityReason: why, DueOn: due}
	}
	cal := vpCalendar(1, 1)
	cal.WorkingDays = []time.Weekday{time.Sunday, time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday}
	in := devices.VisitPlanInput{Calendar: cal, From: "2026-11-23", Horizon: 30, Tasks: []devices.PlannedTask{
		task("t-other", "v-other", devices.StatusInService, devices.VenueOther, "2026-11-01"),
		task("t-school", "v-school", devices.StatusInService, devices.VenueSchool, "2026-11-02"),
		task("t-mall", "v-mall", devices.StatusInService, devices.VenueMall, "2026-11-05"),
		task("t-bus", "v-bus", devices.StatusInService, devices.VenueBusStation, "2026-11-03"),
		task("t-hosp-late", "v-hosp-late", devices.StatusInService, devices.VenueHospital, "2026-12-10"),
		task("t-hosp-early", "v-hosp-early", devices.StatusInService, devices.VenueHospital, "2026-12-01"),
		task("t-oot-airport", "v-airport", devices.StatusQuarantined, devices.VenueAirport, "2026-12-20"),
		task("t-oot", "v-oot-hosp", devices.StatusOutOfTolerance, devices.VenueHospital, "2026-12-30"),
		task("t-oot-hosp-ok", "v-oot-hosp", devices.StatusInService, devices.VenueHospital, "2026-11-10"),
	}}
	plans, _ := vpPlan(t, in)
	var venues []string
	for _, pl := range plans {
		venues = append(venues, pl.VenueID+"@"+pl.Day)
	}
	want := []string{
		"v-oot-hosp@2026-11-23",   // priority 0 via t-oot; earliest due 2026-11-10 (its in-service task)
		"v-airport@2026-11-24",    // priority 0 (quarantined), earliest due 2026-12-20
		"v-hosp-early@2026-11-25", // priority 1, due 2026-12-01
		"v-hosp-late@2026-11-26",  // priority 1, due 2026-12-10
		"v-bus@2026-11-27",        // priority 2
		"v-school@2026-11-28",     // priority 3, due 2026-11-02
		"v-mall@2026-11-29",       // priority 3, due 2026-11-05
		"v-other@2026-11-30",      // priority 4, though due first of all
	}
	if diff := cmp.Diff(want, venues); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	if got := plans[0].TaskIDs; !slices.Equal(got, []string{"t-oot", "t-oot-hosp-ok"}) {
		t.Errorf("v-oot-hosp tasks = %v, want the out-of-tolerance task first", got)
	}
	if plans[0].Priority != devices.PriorityOutOfTolerance || plans[2].Priority != devices.PriorityHospital {
		t.Errorf("priorities = %d, %d", plans[0].Priority, plans[2].Priority)
	}
	if got := plans[0].TaskWhy["t-oot"]; got != "priority 0 (device is out_of_tolerance), due 2026-12-30" {
		t.Errorf("TaskWhy[t-oot] = %q", got)
	}
}

func TestPlanVisitsFixedVisits(t *testing.T) {
	in := devices.VisitPlanInput{Calendar: vpCalendar(1, 2), From: "2026-11-23", Horizon: 30,
		Tasks: []devices.PlannedTask{
			vpTask("t-a", "v-a", devices.PriorityHospital, "2026-11-20"),
			vpTask("t-b", "v-b", devices.PriorityOther, "2026-11-20"),
			vpTask("t-c", "v-c", devices.PriorityOther, "2026-11-21"),
		},
		Fixed: []devices.FixedVisit{
			{VisitID: "fx-1", VenueID: "v-x", Day: "2026-11-23"},
			{VisitID: "fx-2", VenueID: "v-y", Day: "2026-11-23"},
			{VisitID: "fx-3", VenueID: "v-a", Day: "2026-11-24"}, // same venue: not joined, not moved
			{VisitID: "fx-4", VenueID: "v-z", Day: "2026-11-25"},
			{VisitID: "fx-5", VenueID: "v-z", Day: "2026-11-25"},
			{VisitID: "fx-6", VenueID: "v-z", Day: "2026-11-25"}, // over capacity: the day is simply full
			{VisitID: "fx-7", VenueID: "v-z", Day: "2026-11-20"}, // before From: takes nothing
		},
	}
	plans, unplaced := vpPlan(t, in)
	want := map[string]string{"v-a": "2026-11-24", "v-b": "2026-11-26", "v-c": "2026-11-26"}
	if diff := cmp.Diff(want, vpDays(plans)); diff != "" {
		t.Errorf("days (-want +got):\n%s", diff)
	}
	if len(unplaced) != 0 {
		t.Errorf("unplaced = %v", unplaced)
	}
	for _, p := range plans {
		if p.VisitID != "" {
			t.Errorf("plan for %s has VisitID %q; fixed visits must not be reused", p.VenueID, p.VisitID)
		}
	}
	if !strings.Contains(plans[0].Why, "2026-11-24 is the first working day from 2026-11-23 with a free slot (1 of 2 slots taken, 1 by confirmed visits); skipped 2026-11-23 full; "+
		"confirmed visit fx-3 on 2026-11-24 at this venue stays as it is; these tasks are not on it") {
		t.Errorf("v-a Why = %q", plans[0].Why)
	}
	if !strings.Contains(plans[1].Why, "2026-11-26 is the first working day from 2026-11-23 with a free slot (0 of 2 slots taken); skipped 2026-11-23 to 2026-11-25 full") {
		t.Errorf("v-b Why = %q", plans[1].Why)
	}
	// The input is left as it was.
	if in.Fixed[0].VisitID != "fx-1" || in.Fixed[6].Day != "2026-11-20" {
		t.Errorf("fixed visits changed: %v", in.Fixed)
	}
}

func TestPlanVisitsReusesExistingIDs(t *testing.T) {
	in := devices.VisitPlanInput{Calendar: vpCalendar(1, 1), From: "2026-11-23", Horizon: 30,
		Tasks: []devices.PlannedTask{
			vpTask("t-a", "v-a", devices.PriorityHospital, "2026-11-20"),
			vpTask("t-b", "v-b", devices.PriorityOther, "2026-11-20"),
			vpTask("t-c", "v-c", devices.PriorityOther, "2026-11-21"),
		},
		Existing: []devices.ExistingVisit{
			{VisitID: "pv-a", VenueID: "v-a", Day: "2026-11-23"},
			{VisitID: "pv-b2", VenueID: "v-b", Day: "2026-11-25"},
			{VisitID: "pv-b1", VenueID: "v-b", Day: "2026-11-30"},
			{VisitID: "pv-gone", VenueID: "v-gone", Day: "2026-11-23"}, // no open tasks: not in the plan
		},
	}
	plans, _ := vpPlan(t, in)
	type got struct{ VisitID, VenueID, Day string }
	var gotPlans []got
	for _, p := range plans {
		gotPlans = append(gotPlans, got{p.VisitID, p.VenueID, p.Day})
	}
	want := []got{
		{"pv-a", "v-a", "2026-11-23"},
		{"pv-b2", "v-b", "2026-11-24"}, // the earlier of v-b's two
		{"", "v-c", "2026-11-25"},
	}
	if diff := cmp.Diff(want, gotPlans); diff != "" {
		t.Errorf("plans (-want +got):\n%s", diff)
	}
	if !strings.HasSuffix(plans[0].Why, "; keeps planned visit pv-a on its day") {
		t.Errorf("v-a Why = %q", plans[0].Why)
	}
	if !strings.HasSuffix(plans[1].Why, "; reuses planned visit pv-b2, moved from 2026-11-25") {
		t.Errorf("v-b Why = %q", plans[1].Why)
	}
}

func TestPlanVisitsDeterministic(t *testing.T) {
	in := devices.VisitPlanInput{Calendar: vpCalendar(1, 2, "2026-12-01", "2026-11-26"), From: "2026-11-23", Horizon: 10}
	for i := range 40 {
		v := fmt.Sprintf("v-%02d", i%13)
		in.Tasks = append(in.Tasks, devices.PlannedTask{
			TaskID: fmt.Sprintf("t-%02d", i), VenueID: v, VenueName: "Venue " + v,
			Priority: i % 5, PriorityReason: fmt.Sprintf("class %d", i%5),
			DueOn: fmt.Sprintf("2026-12-%02d", 1+i%7),
		})
	}
	for i := range 6 {
		in.Fixed = append(in.Fixed, devices.FixedVisit{VisitID: fmt.Sprintf("fx-%d", i), VenueID: "v-f",
			Day: fmt.Sprintf("2026-11-%02d", 23+i%3)})
		in.Existing = append(in.Existing, devices.ExistingVisit{VisitID: fmt.Sprintf("pv-%d", i),
			VenueID: fmt.Sprintf("v-%02d", i%4), Day: fmt.Sprintf("2026-11-%02d", 24+i)})
	}
	in.Calendar.WorkingDays = []time.Weekday{time.Friday, time.Thursday, time.Wednesday, time.Tuesday, time.Monday}
	wantPlans, wantUnplaced := vpPlan(t, in)
	if len(wantPlans) == 0 || len(wantUnplaced) == 0 {
		t.Fatalf("want both plans and unplaced tasks: %d, %d", len(wantPlans), len(wantUnplaced))
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		sh := in
		sh.Tasks, sh.Fixed, sh.Existing = slices.Clone(in.Tasks), slices.Clone(in.Fixed), slices.Clone(in.Existing)
		sh.Calendar.WorkingDays, sh.Calendar.Holidays = slices.Clone(in.Calendar.WorkingDays), slices.Clone(in.Calendar.Holidays)
		r.Shuffle(len(sh.Tasks), func(i, j int) { sh.Tasks[i], sh.Tasks[j] = sh.Tasks[j], sh.Tasks[i] })
		r.Shuffle(len(sh.Fixed), func(i, j int) { sh.Fixed[i], sh.Fixed[j] = sh.Fixed[j], sh.Fixed[i] })
		r.Shuffle(len(sh.Existing), func(i, j int) { sh.Existing[i], sh.Existing[j] = sh.Existing[j], sh.Existing[i] })
		r.Shuffle(len(sh.Calendar.WorkingDays), func(i, j int) {
			sh.Calendar.WorkingDays[i], sh.Calendar.WorkingDays[j] = sh.Calendar.WorkingDays[j], sh.Calendar.WorkingDays[i]
		})
		r.Shuffle(len(sh.Calendar.Holidays), func(i, j int) {
			sh.Calendar.Holidays[i], sh.Calendar.Holidays[j] = sh.Calendar.Holidays[j], sh.Calendar.Holidays[i]
		})
		plans, unplaced := vpPlan(t, sh)
		if diff := cmp.Diff(wantPlans, plans); diff != "" {
			t.Fatalf("plans differ after shuffling (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(wantUnplaced, unplaced); diff != "" {
			t.Fatalf("unplaced differ after shuffling (-want +got):\n%s", diff)
		}
	}
	if in.Calendar.WorkingDays[0] != time.Friday {
		t.Errorf("caller's working days reordered: %v", in.Calendar.WorkingDays)
	}
}

func TestPlanVisitsUnplacedBeyondHorizon(t *testing.T) {
	in := devices.VisitPlanInput{Calendar: vpCalendar(1, 1), From: "2026-11-23", Horizon: 3}
	for i, v := range []string{"a", "b", "c", "d", "e"} {
		in.Tasks = append(in.Tasks, vpTask("t-"+v, "v-"+v, devices.PriorityOther, fmt.Sprintf("2026-12-%02d", 1+i)))
	}
	in.Tasks = append(in.Tasks, vpTask("t-e2", "v-e", devices.PriorityHospital, "2026-12-20"))
	in.Tasks[3].UnplacedWhy = "stale input text"
	in.Fixed = []devices.FixedVisit{{VisitID: "fx", VenueID: "v-x", Day: "2026-11-25"}}
	plans, unplaced := vpPlan(t, in)
	// v-e holds a hospital task, so it goes first; two slots are left.
	if diff := cmp.Diff(map[string]string{"v-e": "2026-11-23", "v-a": "2026-11-24"}, vpDays(plans)); diff != "" {
		t.Errorf("days (-want +got):\n%s", diff)
	}
	why := func(turn int, due string) string {
		return fmt.Sprintf("turn %d of 5 by priority then earliest due (priority 4, earliest due %s); ", turn, due) +
			"no free slot in the 3-day horizon 2026-11-23 to 2026-11-25: all 3 working days are full (capacity 1 a day, 1 slot taken by confirmed visits)"
	}
	want := []devices.PlannedTask{
		{TaskID: "t-b", VenueID: "v-b", Priority: 4, DueOn: "2026-12-02", UnplacedWhy: why(3, "2026-12-02")},
		{TaskID: "t-c", VenueID: "v-c", Priority: 4, DueOn: "2026-12-03", UnplacedWhy: why(4, "2026-12-03")},
		{TaskID: "t-d", VenueID: "v-d", Priority: 4, DueOn: "2026-12-04", UnplacedWhy: why(5, "2026-12-04")},
	}
	if diff := cmp.Diff(want, unplaced); diff != "" {
		t.Errorf("unplaced (-want +got):\n%s", diff)
	}

	// A horizon of only a weekend has no working day at all.
	in = devices.VisitPlanInput{Calendar: vpCalendar(1, 1, "2026-11-30"), From: "2026-11-28", Horizon: 3,
		Tasks: []devices.PlannedTask{vpTask("t", "v", devices.PriorityOther, "2026-12-01")}}
	plans, unplaced = vpPlan(t, in)
	if len(plans) != 0 || len(unplaced) != 1 {
		t.Fatalf("plans %v, unplaced %v", plans, unplaced)
	}
	if got, want := unplaced[0].UnplacedWhy, "turn 1 of 1 by priority then earliest due (priority 4, earliest due 2026-12-01); "+
		"no working day in the 3-day horizon 2026-11-28 to 2026-11-30 (1 working day is a holiday)"; got != want {
		t.Errorf("UnplacedWhy = %q\nwant %q", got, want)
	}
}

func TestPlanVisitsNoTasks(t *testing.T) {
	plans, unplaced := vpPlan(t, devices.VisitPlanInput{Calendar: vpCalendar(1, 1), From: "2026-11-23", Horizon: 1,
		Existing: []devices.ExistingVisit{{VisitID: "pv", VenueID: "v", Day: "2026-11-23"}}})
	if plans != nil || unplaced != nil {
		t.Errorf("plans %v, unplaced %v; want none", plans, unplaced)
	}
}

func TestPlanVisitsValidate(t *testing.T) {
	tests := []struct {
		name       string
		edit       func(in *devices.VisitPlanInput)
		wantFields []string
	}{
		{name: "valid", edit: func(in *devices.VisitPlanInput) {}},
		{name: "horizon 366", edit: func(in *devices.VisitPlanInput) { in.Horizon = 366 }},
		{name: "horizon 0", edit: func(in *devices.VisitPlanInput) { in.Horizon = 0 }, wantFields: sorted("horizon")},
		{name: "horizon 367", edit: func(in *devices.VisitPlanInput) { in.Horizon = 367 }, wantFields: sorted("horizon")},
		{name: "from not a day", edit: func(in *devices.VisitPlanInput) { in.From = "2026-11-31" }, wantFields: sorted("from")},
		{name: "from with time", edit: func(in *devices.VisitPlanInput) { in.From = "2026-11-23T00:00:00Z" }, wantFields: sorted("from")},
		{name: "calendar fields prefixed", edit: func(in *devices.VisitPlanInput) {
			in.Calendar.Technicians, in.Calendar.Holidays = 0, []string{"2026-01-01", "2026-1-2"}
		}, wantFields: sorted("calendar.holidays[1]", "calendar.technicians")},
		{name: "task fields", edit: func(in *devices.VisitPlanInput) {
			in.Tasks = append(in.Tasks,
				devices.PlannedTask{TaskID: "t1", VenueID: " ", Priority: 5, DueOn: "2026/12/01"},
				devices.PlannedTask{TaskID: "", VenueID: "v", Priority: -1, DueOn: "2026-12-01", VenueName: "a\x00b"})
		}, wantFields: sorted("tasks[1].task_id", "tasks[1].venue_id", "tasks[1].priority", "tasks[1].due_on",
			"tasks[2].task_id", "tasks[2].priority", "tasks[2].venue_name")},
		{name: "visit fields", edit: func(in *devices.VisitPlanInput) {
			in.Fixed = []devices.FixedVisit{{VisitID: "x", VenueID: "v", Day: "2026-11-23"}, {VisitID: "", VenueID: "", Day: "soon"}}
			in.Existing = []devices.ExistingVisit{{VisitID: "x", VenueID: "v", Day: "2026-11-23"}, {VisitID: "y", VenueID: "v", Day: ""}}
		}, wantFields: sorted("fixed[1].visit_id", "fixed[1].venue_id", "fixed[1].day", "existing[0].visit_id", "existing[1].day")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := devices.VisitPlanInput{Calendar: vpCalendar(1, 1), From: "2026-11-23", Horizon: 60,
				Tasks: []devices.PlannedTask{vpTask("t1", "v", devices.PriorityOther, "2026-12-01")}}
			tt.edit(&in)
			plans, unplaced, err := devices.PlanVisits(in)
			if diff := cmp.Diff(tt.wantFields, validationFields(t, err)); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
			if err != nil && (plans != nil || unplaced != nil) {
				t.Errorf("got plans or unplaced tasks with an error")
			}
		})
	}
}

func TestPlanVisitsDefaultReasons(t *testing.T) {
	cal := vpCalendar(5, 1)
	in := devices.VisitPlanInput{Calendar: cal, From: "2026-11-23", Horizon: 1}
	for p := devices.PriorityOutOfTolerance; p <= devices.PriorityOther; p++ {
		in.Tasks = append(in.Tasks, vpTask(fmt.Sprint("t", p), fmt.Sprint("v", p), p, "2026-12-01"))
	}
	plans, _ := vpPlan(t, in)
	got := make([]string, len(plans))
	for i, pl := range plans {
		got[i] = pl.TaskWhy[pl.TaskIDs[0]]
	}
	want := []string{
		"priority 0 (out of tolerance or drift-flagged), due 2026-12-01",
		"priority 1 (hospital), due 2026-12-01",
		"priority 2 (transport hub), due 2026-12-01",
		"priority 3 (mall, supermarket or school), due 2026-12-01",
		"priority 4 (other venue), due 2026-12-01",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("TaskWhy (-want +got):\n%s", diff)
	}
}
