package devices

import (
	"context"
	"slices"
	"time"
)

// TaskKind is why an institute goes to a thermometer.
type TaskKind string

// Task kinds.
const (
	// TaskOnSite: the plan job found the thermometer due.
	TaskOnSite TaskKind = "on_site_calibration"
	// TaskVenueRequest: the venue operator asked for a calibration.
	TaskVenueRequest TaskKind = "venue_request"
	// TaskRecheck: a reference standard used on it was found out of
	// tolerance (reverse traceability).
	TaskRecheck TaskKind = "recheck"
)

// TaskKinds lists every kind.
var TaskKinds = []TaskKind{TaskOnSite, TaskVenueRequest, TaskRecheck}

// Valid reports whether k is a known kind.
func (k TaskKind) Valid() bool { return slices.Contains(TaskKinds, k) }

// TaskState is where a task is in its life:
// open → scheduled → in_progress → completed | cancelled(reason).
type TaskState string

// Task states.
const (
	TaskOpen       TaskState = "open"
	TaskScheduled  TaskState = "scheduled"
	TaskInProgress TaskState = "in_progress"
	TaskCompleted  TaskState = "completed"
	TaskCancelled  TaskState = "cancelled"
)

// TaskStates lists every state.
var TaskStates = []TaskState{TaskOpen, TaskScheduled, TaskInProgress, TaskCompleted, TaskCancelled}

// Valid reports whether s is a known state.
func (s TaskState) Valid() bool { return slices.Contains(TaskStates, s) }

// Active reports whether the task still has work to do; a thermometer has
// at most one active task.
func (s TaskState) Active() bool { return s == TaskOpen || s == TaskScheduled || s == TaskInProgress }

// Task is one thermometer's calibration for one due cycle.
type Task struct {
	ID             string
	Kind           TaskKind
	ThermometerID  string
	VenueID        string
	OperatorOrgID  string
	InstituteID    *string
	VisitID        *string    // the visit it is planned in, if any
	RequestID      *string    // the venue's request it answers (kind venue_request)
	OverdueSince   *time.Time // when the overdue job found it past due; nil while not
	DueAt          time.Time
	DueOn          string // the due date in the venue's time zone, YYYY-MM-DD
	State          TaskState
	Priority       int
	PriorityReason string
	CancelReason   string
	Version        int
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Priority classes of on-site work, most urgent first.
const (
	PriorityOutOfTolerance = 0 // out of tolerance or quarantined (drift flags join in the MQTT issue)
	PriorityHospital       = 1
	PriorityTransport      = 2 // airports, railway and bus stations
	PriorityRetail         = 3 // malls, supermarkets, schools
	PriorityOther          = 4
)

// TaskPriority ranks a thermometer's calibration: devices already out of
// tolerance first, then by where people depend on them.
func TaskPriority(status ThermometerStatus, venue VenueKind) (int, string) {
	switch {
	case status == StatusOutOfTolerance || status == StatusQuarantined:
		return PriorityOutOfTolerance, "device is " + string(status)
	case venue == VenueHospital:
		return PriorityHospital, "medical use at a hospital"
	case venue == VenueAirport || venue == VenueRailwayStation || venue == VenueBusStation:
		return PriorityTransport, "epidemic screening at a transport hub (" + string(venue) + ")"
	case venue == VenueMall || venue == VenueSupermarket || venue == VenueSchool:
		return PriorityRetail, "screening at a " + string(venue)
	}
	return PriorityOther, "other venue"
}

// TaskFilter narrows a task list.
type TaskFilter struct {
	InstituteID   string
	VenueID       string
	ThermometerID string
	State         TaskState
	Kind          TaskKind
}

// PlanReport is what one run of the plan job did.
type PlanReport struct {
	Due        int // thermometers due within the horizon without an active task
	Created    int // tasks created by this run (a concurrent run may have created the rest)
	Unassigned int // of the due, thermometers with no institute assigned: their tasks wait for one
	Deferred   int // due dates an active emergency deferral moved first (new registrations, calibrations)
}

// TaskStore keeps calibration tasks.
type TaskStore interface {
	// PlanCalibrations creates an on-site task for every thermometer due
	// within horizonDays (judged in its venue's time zone) that has no
	// active task. Safe to run repeatedly and concurrently.
	PlanCalibrations(ctx context.Context, now time.Time, horizonDays int) (PlanReport, error)
	ListTasks(ctx context.Context, a Actor, f TaskFilter, p Page) ([]Task, string, error)
	GetTask(ctx context.Context, a Actor, id string) (Task, error)
	// CancelTask ends an active task with a reason (the device was not on
	// site, is out of use, ...), at the caller's version or AnyVersion. Only
	// the assigned institute cancels (ErrForbidden); a task that is not
	// active answers a ConflictError "invalid_transition"; a task in a
	// visit not yet confirmed leaves it. Returns ErrNotFound for a task the
	// actor may not see and ErrPreconditionFailed for a stale version.
	CancelTask(ctx context.Context, a Actor, id string, version int, reason string) (Task, error)
}

// ResourceTask names calibration tasks in the audit log (cancelled with
// the action "cancel").
const ResourceTask = "calibration_task"
