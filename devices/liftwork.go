package devices

import (
	"context"
	"slices"
	"time"
)

// LiftTaskKind is what a lift maintenance task asks for.
type LiftTaskKind string

// Lift task kinds. An urgent on-site task follows a remote inspection that
// found an item not ok.
const (
	LiftTaskOnSite       LiftTaskKind = "onsite"
	LiftTaskRemote       LiftTaskKind = "remote"
	LiftTaskUrgentOnSite LiftTaskKind = "urgent_onsite"
)

// LiftTaskKinds lists every kind.
var LiftTaskKinds = []LiftTaskKind{LiftTaskOnSite, LiftTaskRemote, LiftTaskUrgentOnSite}

// Valid reports whether k is a known kind.
func (k LiftTaskKind) Valid() bool { return slices.Contains(LiftTaskKinds, k) }

// Completes reports whether a report of kind r completes a task of kind
// k: a remote inspection a remote task, an on-site report either on-site
// task.
func (k LiftTaskKind) Completes(r ReportKind) bool {
	if r == ReportRemote {
		return k == LiftTaskRemote
	}
	return r == ReportOnSite && (k == LiftTaskOnSite || k == LiftTaskUrgentOnSite)
}

// LiftTaskState is where a lift task is.
//
//	open → completed (a report) | cancelled (no longer due) | missed (a
//	remote inspection past its day without a report)
type LiftTaskState string

// Lift task states.
const (
	LiftTaskOpen      LiftTaskState = "open"
	LiftTaskCompleted LiftTaskState = "completed"
	LiftTaskCancelled LiftTaskState = "cancelled"
	LiftTaskMissed    LiftTaskState = "missed"
)

// LiftTaskStates lists every state.
var LiftTaskStates = []LiftTaskState{LiftTaskOpen, LiftTaskCompleted, LiftTaskCancelled, LiftTaskMissed}

// Valid reports whether s is a known state.
func (s LiftTaskState) Valid() bool { return slices.Contains(LiftTaskStates, s) }

// LiftTask is a piece of lift maintenance the scheduler (or a failed
// remote check) asks the contracted firm to do by a day in the venue's time
// zone. The lifts job keeps at most one open task of each kind per lift and
// moves an open on-site task when the cycle in force changes.
type LiftTask struct {
	ID             string
	Kind           LiftTaskKind
	ContractID     string
	ElevatorID     string
	VenueID        string
	OperatorOrgID  string
	FirmOrgID      string
	AgreementID    *string // the agreement whose cycle set the day, if any
	Category       MaintenanceCategory
	DueOn          string // YYYY-MM-DD in the venue's zone
	State          LiftTaskState
	Why            string
	CarriedItems   []string // checklist codes a remote inspection could not check, or found not ok
	SourceReportID *string  // the remote report an urgent task follows
	OverdueSince   *time.Time
	Version        int
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// LiftTaskFilter narrows a lift task list. Empty fields do not filter.
type LiftTaskFilter struct {
	ElevatorID string
	Kind       LiftTaskKind
	State      LiftTaskState
}

// ReportFilter narrows a maintenance report list.
type ReportFilter struct {
	ElevatorID string
	Kind       ReportKind
}

// LiftWorkReport is what one run of the lifts job did.
type LiftWorkReport struct {
	Contracts         int // contracts active today that were planned
	AgreementsExpired int
	Created           int // tasks this run inserted
	Moved             int // open on-site or remote tasks given a new day, category or reason
	Cancelled         int // open tasks no longer due
	Overdue           int // on-site tasks this run found past due and marked
	Missed            int // remote tasks this run found past due without a report
	EventsRaised      int // events this run inserted; an event raised before is not raised again
}

// InspectionReminderDays is how far ahead the venue operator is reminded
// of a lift's periodic inspection: the request is due a month before.
const InspectionReminderDays = 31

// Audit and event names of lift work.
const (
	ResourceMaintenanceReport = "maintenance_report"
	ResourceLiftTask          = "maintenance_task"
	ActionCountersign         = "countersign"
	ActionSuspend             = "suspend"
	ActionReinstate           = "reinstate"
)

// NextRemoteFrom is NextRemote seen from today: a remote inspection whose
// day passed unreported (the task was missed) does not stop the next ones,
// so the day moves on by the agreed interval to the first not before
// today, still before the next on-site visit and within the agreement.
func NextRemoteFrom(c MaintenanceContract, agreements []CycleAgreement, h MaintenanceHistory, nextOnSite, today string) (string, string, bool) {
	day, agID, ok := NextRemote(c, agreements, h, nextOnSite)
	if !ok || day >= today {
		return day, agID, ok
	}
	cyc := CycleOn(c, agreements, laterDay(h.LastChecked, h.LastOnSite))
	for day < today {
		day = addDays(day, cyc.RemoteDays)
	}
	if (nextOnSite != "" && day >= nextOnSite) || day > cyc.AgreementUntil || !c.ActiveOn(day) {
		return "", "", false
	}
	return day, agID, true
}

// LiftWorkStore keeps lift maintenance tasks and reports. A task or report
// is seen by the lift's venue operator, the contracted firm and the
// regulator; anyone else gets ErrNotFound.
type LiftWorkStore interface {
	// PlanLiftWork is the lifts job after agreement expiry: for every
	// contract active today in its venue's zone it creates the next on-site
	// task and the next remote-inspection task due within horizonDays,
	// moves or cancels open ones the cycle in force no longer asks for,
	// marks on-site tasks past due (maintenance_overdue) and remote ones
	// past due without a report (missed, remote_inspection_missed), and
	// reminds operators of periodic inspections at most
	// InspectionReminderDays away (inspection_due). Safe to run repeatedly
	// and concurrently: each task is created once and each event raised
	// once.
	PlanLiftWork(ctx context.Context, now time.Time, horizonDays int) (LiftWorkReport, error)
	ListLiftTasks(ctx context.Context, a Actor, f LiftTaskFilter, p Page) ([]LiftTask, string, error)
	GetLiftTask(ctx context.Context, a Actor, id string) (LiftTask, error)
	// FileReport: the firm with a contract active today files a remote
	// inspection or on-site maintenance report, and its effects happen in
	// the same transaction (see the issue: the task completes; a failed
	// remote item opens an urgent on-site task, raises lift_check_failed and
	// suspends the agreement; items not checkable remotely carry over; an
	// all-ok on-site report reinstates a suspended agreement). Returns
	// ErrNotFound (a lift the actor cannot see), ErrForbidden (not the
	// contracted firm, or its contract ended), *ValidationError (naming the
	// field; elevator_id when the lift is under no contract today).
	FileReport(ctx context.Context, a Actor, r *MaintenanceReport) error
	GetReport(ctx context.Context, a Actor, id string) (MaintenanceReport, error)
	ListReports(ctx context.Context, a Actor, f ReportFilter, p Page) ([]MaintenanceReport, string, error)
	// CountersignReport: the lift's venue operator signs a report, once
	// (ConflictError "invalid_transition" the second time); ErrForbidden
	// for anyone else who sees it.
	CountersignReport(ctx context.Context, a Actor, id, note string) (MaintenanceReport, error)
}

// LiftHistory is what a lift's reports say of its maintenance, judged in
// loc (the venue's zone): the days of the last on-site visit, of the last
// visit of each category (cumulative: an annual visit counts for every
// smaller category) and of the last check of any kind, and the items
// remote inspections since the last on-site visit could not check, in
// checklist order. A remote report's CarriedOver holds those items.
func LiftHistory(reports []MaintenanceReport, loc *time.Location) (MaintenanceHistory, []string) {
	h := MaintenanceHistory{LastByCat: map[MaintenanceCategory]string{}}
	var lastOnSite time.Time
	for _, r := range reports {
		day := r.PerformedAt.In(loc).Format(DateLayout)
		h.LastChecked = laterDay(h.LastChecked, day)
		if r.Kind != ReportOnSite {
			continue
		}
		if r.PerformedAt.After(lastOnSite) {
			lastOnSite = r.PerformedAt
		}
		h.LastOnSite = laterDay(h.LastOnSite, day)
		for _, cat := range MaintenanceCategories {
			if r.Category.Covers(cat) {
				h.LastByCat[cat] = laterDay(h.LastByCat[cat], day)
			}
		}
	}
	carried := map[string]bool{}
	for _, r := range reports {
		if r.Kind == ReportRemote && r.PerformedAt.After(lastOnSite) {
			for _, code := range r.CarriedOver {
				carried[code] = true
			}
		}
	}
	return h, checklistOrder(carried)
}

// MergeItems joins two lists of checklist codes without repeats, in
// checklist order.
func MergeItems(a, b []string) []string {
	set := map[string]bool{}
	for _, c := range append(slices.Clone(a), b...) {
		set[c] = true
	}
	return checklistOrder(set)
}

func checklistOrder(set map[string]bool) []string {
	var out []string
	for _, it := range Checklist {
		if set[it.Code] {
			out = append(out, it.Code)
			delete(set, it.Code)
		}
	}
	rest := make([]string, 0, len(set))
	for c := range set {
		rest = append(rest, c)
	}
	slices.Sort(rest)
	return append(out, rest...)
}
