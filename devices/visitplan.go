package devices

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Limits of visit planning.
const (
	MaxTechnicians               = 500
	MaxVisitsPerTechnicianPerDay = 20
	MaxVisitHorizonDays          = 366
	MaxHolidays                  = 1000
)

// InstituteCalendar is an institute's capacity for on-site visits.
type InstituteCalendar struct {
	TimeZone                  string         // IANA zone of the institute
	Technicians               int            // 1..500
	VisitsPerTechnicianPerDay int            // 1..20
	WorkingDays               []time.Weekday // e.g. Mon..Fri; at least one, no repeats
	Holidays                  []string       // YYYY-MM-DD dates in the institute's zone, no work
}

// DefaultInstituteCalendar is UTC, 2 technicians with 4 visits each a day,
// Monday to Friday, no holidays.
func DefaultInstituteCalendar() InstituteCalendar {
	return InstituteCalendar{
		TimeZone:                  "UTC",
		Technicians:               2,
		VisitsPerTechnicianPerDay: 4,
		WorkingDays:               []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday},
	}
}

// Validate checks every field and normalizes: the zone is trimmed, working
// days are sorted, holidays trimmed, sorted and deduplicated. It replaces
// the slices rather than reordering them, so a caller's slices stay as
// they were.
func (c *InstituteCalendar) Validate() error {
	var p Problems
	c.TimeZone = strings.TrimSpace(c.TimeZone)
	checkZone(&p, "time_zone", c.TimeZone)
	if c.Technicians < 1 || c.Technicians > MaxTechnicians {
		p.Addf("technicians", "must be between 1 and %d", MaxTechnicians)
	}
	if c.VisitsPerTechnicianPerDay < 1 || c.VisitsPerTechnicianPerDay > MaxVisitsPerTechnicianPerDay {
		p.Addf("visits_per_technician_per_day", "must be between 1 and %d", MaxVisitsPerTechnicianPerDay)
	}

	days := slices.Clone(c.WorkingDays)
	slices.Sort(days)
	daysOK := true
	switch {
	case len(days) == 0:
		p.Add("working_days", "must name at least one day of the week")
		daysOK = false
	case days[0] < time.Sunday || days[len(days)-1] > time.Saturday:
		p.Add("working_days", "must be days of the week, 0 (Sunday) to 6 (Saturday)")
		daysOK = false
	}
	for i := 1; daysOK && i < len(days); i++ {
		if days[i] == days[i-1] {
			p.Addf("working_days", "must name each day once; %s repeats", days[i])
			daysOK = false
		}
	}
	if daysOK {
		c.WorkingDays = days
	}

	if len(c.Holidays) > MaxHolidays {
		p.Addf("holidays", "must list at most %d dates", MaxHolidays)
	} else {
		hol := make([]string, 0, len(c.Holidays))
		holOK := true
		for i, h := range c.Holidays {
			h = strings.TrimSpace(h)
			if _, ok := parseVisitDate(h); !ok {
				p.Addf(fmt.Sprintf("holidays[%d]", i), "must be a date such as 2026-10-01, got %q", h)
				holOK = false
				continue
			}
			hol = append(hol, h)
		}
		if holOK && len(hol) > 0 {
			slices.Sort(hol)
			c.Holidays = slices.Compact(hol)
		}
	}
	return p.Err()
}

// DailyCapacity is how many visits the institute can make on one working
// day: technicians × visits per technician per day.
func (c InstituteCalendar) DailyCapacity() int {
	return c.Technicians * c.VisitsPerTechnicianPerDay
}

// FirstPlannableDay is the day after now's date in the institute's zone, as
// YYYY-MM-DD: the usual VisitPlanInput.From.
func (c InstituteCalendar) FirstPlannableDay(now time.Time) (string, error) {
	var p Problems
	checkZone(&p, "time_zone", strings.TrimSpace(c.TimeZone))
	if err := p.Err(); err != nil {
		return "", err
	}
	loc, _ := time.LoadLocation(strings.TrimSpace(c.TimeZone))
	y, m, d := now.In(loc).Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC).Format(DateLayout), nil
}

// PlannedTask is an open task as the planner sees it. Pass only tasks that
// are not already on a fixed visit.
type PlannedTask struct {
	TaskID         string
	VenueID        string
	VenueName      string // optional, for the explanations
	Priority       int    // PriorityOutOfTolerance..PriorityOther, as from TaskPriority
	PriorityReason string // as from TaskPriority; empty: the class name
	DueOn          string // YYYY-MM-DD
	// UnplacedWhy is set by PlanVisits on the tasks it could not place and
	// ignored on input.
	UnplacedWhy string
}

// FixedVisit is a visit the planner must not move (confirmed or later),
// taking a slot on its day.
type FixedVisit struct {
	VisitID string
	VenueID string
	Day     string // YYYY-MM-DD in the institute's zone
}

// ExistingVisit is an unconfirmed (planned) visit from an earlier run that
// may move; PlanVisits reuses its VisitID for the same venue so that
// calendars keep the same UID.
type ExistingVisit struct {
	VisitID string
	VenueID string
	Day     string // YYYY-MM-DD in the institute's zone
}

// VisitPlan is one planned visit.
type VisitPlan struct {
	VisitID  string            // from ExistingVisit for the same venue, else "" (the caller assigns a new id)
	VenueID  string            // the venue all its tasks are at
	Day      string            // YYYY-MM-DD in the institute's zone
	TaskIDs  []string          // in priority order
	Priority int               // the most urgent task's
	Why      string            // why these tasks are together and why this day, for people
	TaskWhy  map[string]string // per task: its priority reason and due date
}

// VisitPlanInput is what PlanVisits plans from.
type VisitPlanInput struct {
	Calendar InstituteCalendar
	From     string // first plannable day YYYY-MM-DD (e.g. tomorrow in the institute zone)
	Horizon  int    // days to look ahead from From, From included: 1..366
	Tasks    []PlannedTask
	Fixed    []FixedVisit
	Existing []ExistingVisit
}

// PlanVisits places one visit per venue holding open tasks on days within
// the institute's capacity. It is pure and deterministic: the order of the
// input slices does not matter.
//
//   - All of a venue's tasks go on one visit, which takes one technician
//     slot. Tasks are ordered by (priority, due date, task id); a visit's
//     priority is its most urgent task's.
//   - Fixed visits are never moved or changed and are not returned. Each one
//     on a day of the horizon takes a slot that day. Tasks of a venue that
//     has a fixed visit go on a new planned visit, not on the fixed one.
//   - Visits are placed in order of (priority, earliest due date, venue
//     id), each on the earliest day from From, within Horizon days, that is
//     a working day, not a holiday, and has a free slot (the daily capacity
//     minus fixed visits and visits placed before it that day).
//   - A placed visit reuses the id of the venue's existing visit (earliest
//     day, then smallest id, when there are several), wherever it lands.
//     Existing visits whose id is not in the plans are no longer needed.
//   - Visits that do not fit come back as unplaced tasks, in placement
//     order, each with UnplacedWhy saying why; that is not an error.
//
// Plans come in placement order, which is also day order. Invalid input is
// a *ValidationError naming every field at fault, calendar fields prefixed
// "calendar.".
func PlanVisits(in VisitPlanInput) (plans []VisitPlan, unplaced []PlannedTask, err error) {
	cal := in.Calendar
	from, err := in.validate(&cal)
	if err != nil {
		return nil, nil, err
	}
	visits := groupVisits(in.Tasks)
	if len(visits) == 0 {
		return nil, nil, nil
	}
	h := newPlanHorizon(cal, from, in.Horizon, in.Fixed)
	existing := existingByVenue(in.Existing)
	fixed := fixedByVenue(in.Fixed, in.From)

	next := 0 // the first day that may have a free slot; it only moves on
	for turn, v := range visits {
		for next < len(h.days) && !h.free(next) {
			next++
		}
		if next == len(h.days) {
			why := fmt.Sprintf("%s; %s", v.turnText(turn, len(visits)), h.noSlotText())
			for _, t := range v.tasks {
				t.UnplacedWhy = why
				unplaced = append(unplaced, t)
			}
			continue
		}
		d := &h.days[next]
		plan := VisitPlan{
			VenueID:  v.venueID,
			Day:      d.date,
			Priority: v.priority,
			TaskIDs:  make([]string, len(v.tasks)),
			TaskWhy:  make(map[string]string, len(v.tasks)),
		}
		for i, t := range v.tasks {
			plan.TaskIDs[i] = t.TaskID
			plan.TaskWhy[t.TaskID] = visitTaskWhy(t, d.date)
		}
		parts := []string{v.tasksText(d.date), v.turnText(turn, len(visits)), h.dayText(next)}
		if ex, ok := existing[v.venueID]; ok {
			plan.VisitID = ex.VisitID
			if ex.Day == d.date {
				parts = append(parts, fmt.Sprintf("keeps planned visit %s on its day", ex.VisitID))
			} else {
				parts = append(parts, fmt.Sprintf("reuses planned visit %s, moved from %s", ex.VisitID, ex.Day))
			}
		}
		for _, f := range fixed[v.venueID] {
			parts = append(parts, fmt.Sprintf("confirmed visit %s on %s at this venue stays as it is; these tasks are not on it", f.VisitID, f.Day))
		}
		plan.Why = strings.Join(parts, "; ")
		d.placed++
		plans = append(plans, plan)
	}
	return plans, unplaced, nil
}

// validate checks the input, validating and normalizing cal (a copy of
// in.Calendar), and returns From as a date.
func (in VisitPlanInput) validate(cal *InstituteCalendar) (time.Time, error) {
	var p Problems
	if err := cal.Validate(); err != nil {
		var ve *ValidationError
		if !errors.As(err, &ve) {
			return time.Time{}, err
		}
		for _, f := range ve.Fields {
			p.Add("calendar."+f.Field, f.Reason)
		}
	}
	from, ok := parseVisitDate(in.From)
	if !ok {
		p.Add("from", "must be a date such as 2026-11-26")
	}
	if in.Horizon < 1 || in.Horizon > MaxVisitHorizonDays {
		p.Addf("horizon", "must be between 1 and %d days", MaxVisitHorizonDays)
	}
	taskAt := make(map[string]int, len(in.Tasks))
	for i, t := range in.Tasks {
		f := fmt.Sprintf("tasks[%d].", i)
		visitRequireID(&p, f+"task_id", t.TaskID)
		if j, dup := taskAt[t.TaskID]; dup && strings.TrimSpace(t.TaskID) != "" {
			p.Addf(f+"task_id", "repeats tasks[%d]", j)
		} else {
			taskAt[t.TaskID] = i
		}
		visitRequireID(&p, f+"venue_id", t.VenueID)
		checkText(&p, f+"venue_name", t.VenueName, false, 200)
		checkText(&p, f+"priority_reason", t.PriorityReason, false, 500)
		if t.Priority < PriorityOutOfTolerance || t.Priority > PriorityOther {
			p.Addf(f+"priority", "must be between %d and %d", PriorityOutOfTolerance, PriorityOther)
		}
		if _, ok := parseVisitDate(t.DueOn); !ok {
			p.Add(f+"due_on", "must be a date such as 2026-12-04")
		}
	}
	visitAt := make(map[string]string, len(in.Fixed)+len(in.Existing))
	checkVisit := func(f, id, venue, day string) {
		visitRequireID(&p, f+"visit_id", id)
		if prev, dup := visitAt[id]; dup && strings.TrimSpace(id) != "" {
			p.Addf(f+"visit_id", "repeats %s", prev)
		} else {
			visitAt[id] = strings.TrimSuffix(f, ".")
		}
		visitRequireID(&p, f+"venue_id", venue)
		if _, ok := parseVisitDate(day); !ok {
			p.Add(f+"day", "must be a date such as 2026-11-26")
		}
	}
	for i, v := range in.Fixed {
		checkVisit(fmt.Sprintf("fixed[%d].", i), v.VisitID, v.VenueID, v.Day)
	}
	for i, v := range in.Existing {
		checkVisit(fmt.Sprintf("existing[%d].", i), v.VisitID, v.VenueID, v.Day)
	}
	return from, p.Err()
}

func visitRequireID(p *Problems, field, v string) {
	if strings.TrimSpace(v) == "" {
		p.Add(field, "is required")
		return
	}
	checkText(p, field, v, true, 200)
}

// parseVisitDate parses a canonical YYYY-MM-DD date as midnight UTC.
func parseVisitDate(s string) (time.Time, bool) {
	t, err := time.Parse(DateLayout, s)
	if err != nil || t.Format(DateLayout) != s {
		return time.Time{}, false
	}
	return t, true
}

// visitPriorityClass names a priority class for people.
func visitPriorityClass(p int) string {
	switch p {
	case PriorityOutOfTolerance:
		return "out of tolerance or drift-flagged"
	case PriorityHospital:
		return "hospital"
	case PriorityTransport:
		return "transport hub"
	case PriorityRetail:
		return "mall, supermarket or school"
	}
	return "other venue"
}

func visitTaskReason(t PlannedTask) string {
	if t.PriorityReason != "" {
		return t.PriorityReason
	}
	return visitPriorityClass(t.Priority)
}

func visitTaskWhy(t PlannedTask, day string) string {
	s := fmt.Sprintf("priority %d (%s), due %s", t.Priority, visitTaskReason(t), t.DueOn)
	if t.DueOn < day {
		s += ", before the visit day"
	}
	return s
}

// visitDraft is one venue's tasks before placement.
type visitDraft struct {
	venueID   string
	venueName string
	tasks     []PlannedTask // by (priority, due, id)
	priority  int
	earliest  string
	latest    string
}

// groupVisits groups tasks by venue and orders the visits for placement.
func groupVisits(in []PlannedTask) []visitDraft {
	tasks := slices.Clone(in)
	for i := range tasks {
		tasks[i].UnplacedWhy = ""
	}
	slices.SortFunc(tasks, func(a, b PlannedTask) int {
		return cmp.Or(strings.Compare(a.VenueID, b.VenueID), cmp.Compare(a.Priority, b.Priority),
			strings.Compare(a.DueOn, b.DueOn), strings.Compare(a.TaskID, b.TaskID))
	})
	var visits []visitDraft
	for i := 0; i < len(tasks); {
		j := i
		for j < len(tasks) && tasks[j].VenueID == tasks[i].VenueID {
			j++
		}
		v := visitDraft{venueID: tasks[i].VenueID, tasks: tasks[i:j:j], priority: tasks[i].Priority,
			earliest: tasks[i].DueOn, latest: tasks[i].DueOn}
		for _, t := range v.tasks {
			if v.venueName == "" {
				v.venueName = t.VenueName
			}
			v.earliest = min(v.earliest, t.DueOn)
			v.latest = max(v.latest, t.DueOn)
		}
		visits = append(visits, v)
		i = j
	}
	slices.SortFunc(visits, func(a, b visitDraft) int {
		return cmp.Or(cmp.Compare(a.priority, b.priority), strings.Compare(a.earliest, b.earliest),
			strings.Compare(a.venueID, b.venueID))
	})
	return visits
}

// tasksText says why these tasks share a visit.
func (v visitDraft) tasksText(day string) string {
	where := "this venue"
	if v.venueName != "" {
		where = v.venueName
	}
	head := fmt.Sprintf("%d open tasks at %s share one visit", len(v.tasks), where)
	if len(v.tasks) == 1 {
		head = fmt.Sprintf("1 open task at %s takes one visit", where)
	}
	type class struct {
		priority int
		reason   string
	}
	counts := make(map[class]int)
	var classes []class
	for _, t := range v.tasks {
		c := class{t.Priority, visitTaskReason(t)}
		if counts[c] == 0 {
			classes = append(classes, c)
		}
		counts[c]++
	}
	slices.SortFunc(classes, func(a, b class) int {
		return cmp.Or(cmp.Compare(a.priority, b.priority), strings.Compare(a.reason, b.reason))
	})
	groups := make([]string, len(classes))
	for i, c := range classes {
		groups[i] = fmt.Sprintf("%d × priority %d (%s)", counts[c], c.priority, c.reason)
	}
	s := fmt.Sprintf("%s (one technician slot): %s; earliest due %s", head, strings.Join(groups, ", "), v.earliest)
	if v.latest != v.earliest {
		s += ", all due by " + v.latest
	}
	late := 0
	for _, t := range v.tasks {
		if t.DueOn < day {
			late++
		}
	}
	if late > 0 {
		s += fmt.Sprintf(", %d due before %s", late, day)
	}
	return s
}

// turnText says where the visit stood in the placement order.
func (v visitDraft) turnText(turn, n int) string {
	return fmt.Sprintf("turn %d of %d by priority then earliest due (priority %d, earliest due %s)",
		turn+1, n, v.priority, v.earliest)
}

// fixedByVenue lists each venue's fixed visits on or after from, by (day, id).
func fixedByVenue(fixed []FixedVisit, from string) map[string][]FixedVisit {
	out := make(map[string][]FixedVisit)
	for _, f := range fixed {
		if f.Day >= from {
			out[f.VenueID] = append(out[f.VenueID], f)
		}
	}
	for _, l := range out {
		slices.SortFunc(l, func(a, b FixedVisit) int {
			return cmp.Or(strings.Compare(a.Day, b.Day), strings.Compare(a.VisitID, b.VisitID))
		})
	}
	return out
}

// existingByVenue picks each venue's existing visit to reuse: the earliest
// day, then the smallest id.
func existingByVenue(existing []ExistingVisit) map[string]ExistingVisit {
	out := make(map[string]ExistingVisit)
	for _, e := range existing {
		prev, ok := out[e.VenueID]
		if !ok || e.Day < prev.Day || (e.Day == prev.Day && e.VisitID < prev.VisitID) {
			out[e.VenueID] = e
		}
	}
	return out
}

// planDay is one day of the horizon.
type planDay struct {
	date    string
	weekday time.Weekday
	workday bool // one of the calendar's working days
	holiday bool
	fixed   int // fixed visits that day
	placed  int // visits placed that day so far
}

// open reports whether visits may be made that day.
func (d planDay) open() bool { return d.workday && !d.holiday }

func (d planDay) taken() int { return d.fixed + d.placed }

// planHorizon is the days visits may go on and the daily capacity.
type planHorizon struct {
	days     []planDay
	capacity int
}

func newPlanHorizon(cal InstituteCalendar, from time.Time, n int, fixed []FixedVisit) planHorizon {
	h := planHorizon{days: make([]planDay, n), capacity: cal.DailyCapacity()}
	at := make(map[string]int, n)
	for i := range h.days {
		t := from.AddDate(0, 0, i)
		d := planDay{date: t.Format(DateLayout), weekday: t.Weekday()}
		d.workday = slices.Contains(cal.WorkingDays, d.weekday)
		_, d.holiday = slices.BinarySearch(cal.Holidays, d.date)
		h.days[i] = d
		at[d.date] = i
	}
	for _, f := range fixed {
		if i, ok := at[f.Day]; ok {
			h.days[i].fixed++
		}
	}
	return h
}

// free reports whether day i has a free slot.
func (h planHorizon) free(i int) bool {
	return h.days[i].open() && h.days[i].taken() < h.capacity
}

// visitMaxSkipNotes caps the skipped-day notes in one explanation.
const visitMaxSkipNotes = 6

// dayText says why a visit goes on day i: the days before it in the
// horizon are closed or full.
func (h planHorizon) dayText(i int) string {
	d := h.days[i]
	slots := fmt.Sprintf("%d of %d slots taken", d.taken(), h.capacity)
	if d.fixed > 0 {
		slots += fmt.Sprintf(", %d by confirmed visits", d.fixed)
	}
	if i == 0 {
		return fmt.Sprintf("%s is the first plannable day and has a free slot (%s)", d.date, slots)
	}
	return fmt.Sprintf("%s is the first working day from %s with a free slot (%s); skipped %s",
		d.date, h.days[0].date, slots, h.skipText(i))
}

// skipKind is why a day was skipped.
func (h planHorizon) skipKind(i int) string {
	switch d := h.days[i]; {
	case !d.workday:
		return "not working"
	case d.holiday:
		return "holiday"
	}
	return "full"
}

// skipText describes days [0, end) of the horizon, runs of days skipped for
// the same reason merged.
func (h planHorizon) skipText(end int) string {
	var notes []string
	more := 0
	for i := 0; i < end; {
		kind := h.skipKind(i)
		j := i + 1
		for j < end && h.skipKind(j) == kind {
			j++
		}
		if len(notes) == visitMaxSkipNotes {
			more += j - i
			i = j
			continue
		}
		first, last := h.days[i].date, h.days[j-1].date
		switch {
		case kind == "not working" && i == j-1:
			notes = append(notes, fmt.Sprintf("%s is not a working day (%s)", first, h.days[i].weekday))
		case kind == "not working":
			notes = append(notes, fmt.Sprintf("%s to %s are not working days", first, last))
		case kind == "holiday" && i == j-1:
			notes = append(notes, first+" is a holiday")
		case kind == "holiday":
			notes = append(notes, fmt.Sprintf("%s to %s are holidays", first, last))
		case i == j-1:
			notes = append(notes, first+" full")
		default:
			notes = append(notes, fmt.Sprintf("%s to %s full", first, last))
		}
		i = j
	}
	if more > 0 {
		notes = append(notes, visitPlural(more, "more day", "more days")+" closed or full")
	}
	return strings.Join(notes, ", ")
}

// noSlotText says why nothing more fits in the horizon.
func (h planHorizon) noSlotText() string {
	open, holidays, fixed := 0, 0, 0
	for _, d := range h.days {
		switch {
		case d.open():
			open++
			fixed += d.fixed
		case d.workday:
			holidays++
		}
	}
	hol := ""
	switch holidays {
	case 0:
	case 1:
		hol = "1 working day is a holiday"
	default:
		hol = fmt.Sprintf("%d working days are holidays", holidays)
	}
	first, last := h.days[0].date, h.days[len(h.days)-1].date
	if open == 0 {
		s := fmt.Sprintf("no working day in the %d-day horizon %s to %s", len(h.days), first, last)
		if hol != "" {
			s += " (" + hol + ")"
		}
		return s
	}
	full := fmt.Sprintf("all %d working days are full", open)
	if open == 1 {
		full = "its 1 working day is full"
	}
	s := fmt.Sprintf("no free slot in the %d-day horizon %s to %s: %s (capacity %d a day, %s taken by confirmed visits",
		len(h.days), first, last, full, h.capacity, visitPlural(fixed, "slot", "slots"))
	if hol != "" {
		s += "; " + hol
	}
	return s + ")"
}

// visitPlural is "n one" or "n many".
func visitPlural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
