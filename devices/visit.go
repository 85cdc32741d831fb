package devices

import (
	"context"
	"slices"
	"time"
)

// VisitState is where an on-site visit is:
// planned → confirmed → in_progress → completed, and planned or confirmed
// → cancelled (with a reason).
type VisitState string

// Visit states.
const (
	VisitPlanned    VisitState = "planned"
	VisitConfirmed  VisitState = "confirmed"
	VisitInProgress VisitState = "in_progress"
	VisitCompleted  VisitState = "completed"
	VisitCancelled  VisitState = "cancelled"
)

// VisitStates lists every state.
var VisitStates = []VisitState{VisitPlanned, VisitConfirmed, VisitInProgress, VisitCompleted, VisitCancelled}

// Valid reports whether s is a known state.
func (s VisitState) Valid() bool { return slices.Contains(VisitStates, s) }

// Movable reports whether re-planning may move the visit to another day.
func (s VisitState) Movable() bool { return s == VisitPlanned }

// VisitAction is a step of the institute's visit workflow.
type VisitAction string

// Visit actions.
const (
	VisitConfirm  VisitAction = "confirm"
	VisitStart    VisitAction = "start"
	VisitComplete VisitAction = "complete"
	VisitCancel   VisitAction = "cancel"
)

// VisitActions lists every action.
var VisitActions = []VisitAction{VisitConfirm, VisitStart, VisitComplete, VisitCancel}

// visitMoves: the state each action leads to, from the states it may start in.
var visitMoves = map[VisitAction]struct {
	from []VisitState
	to   VisitState
}{
	VisitConfirm:  {[]VisitState{VisitPlanned}, VisitConfirmed},
	VisitStart:    {[]VisitState{VisitConfirmed}, VisitInProgress},
	VisitComplete: {[]VisitState{VisitInProgress}, VisitCompleted},
	VisitCancel:   {[]VisitState{VisitPlanned, VisitConfirmed}, VisitCancelled},
}

// Next returns the state action leads to from s, or a ConflictError
// "invalid_transition" naming the states it is allowed from.
func (s VisitState) Next(action VisitAction) (VisitState, error) {
	m, ok := visitMoves[action]
	if !ok {
		return "", Invalid("action", "must be one of confirm, start, complete, cancel")
	}
	if !slices.Contains(m.from, s) {
		names := make([]string, len(m.from))
		for i, f := range m.from {
			names[i] = string(f)
		}
		return "", Conflict("invalid_transition", "a %s visit cannot %s; only a %s one can", s, action, joinOr(names))
	}
	return m.to, nil
}

func joinOr(xs []string) string {
	switch len(xs) {
	case 0:
		return ""
	case 1:
		return xs[0]
	}
	out := xs[0]
	for _, x := range xs[1 : len(xs)-1] {
		out += ", " + x
	}
	return out + " or " + xs[len(xs)-1]
}

// Visit is one institute's day at one venue.
type Visit struct {
	ID            string
	InstituteID   string
	VenueID       string
	OperatorOrgID string
	Day           string // YYYY-MM-DD in the institute's time zone
	State         VisitState
	Priority      int
	Why           string
	CancelReason  string
	TaskIDs       []string
	Technicians   []VisitTechnician // who goes, by name
	Version       int
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// VisitFilter narrows a visit list; From and To bound Day (inclusive).
type VisitFilter struct {
	InstituteID  string
	VenueID      string
	TechnicianID string // visits this technician is assigned to
	State        VisitState
	From, To     string
}

// VisitReport is what one run of the visits job did.
type VisitReport struct {
	Institutes int // institutes planned
	Planned    int // visits created or moved
	Unchanged  int // planned visits left where they were
	Unplaced   int // open tasks that found no day within the horizon
	Emptied    int // planned visits cancelled because their tasks went elsewhere
}

// VisitStore keeps visits and institute calendars.
type VisitStore interface {
	// PlanVisits groups every institute's open tasks into visits and
	// places them within its capacity; confirmed visits never move.
	PlanVisits(ctx context.Context, now time.Time, horizonDays int) (VisitReport, error)
	ListVisits(ctx context.Context, a Actor, f VisitFilter, p Page) ([]Visit, string, error)
	GetVisit(ctx context.Context, a Actor, id string) (Visit, error)
	// ActOnVisit applies a workflow action at the caller's version; cancel
	// needs a reason.
	ActOnVisit(ctx context.Context, a Actor, id string, version int, action VisitAction, reason string) (Visit, error)
	GetCalendar(ctx context.Context, a Actor, instituteID string) (InstituteCalendar, int, error)
	PutCalendar(ctx context.Context, a Actor, instituteID string, version int, c InstituteCalendar) (InstituteCalendar, int, error)
}
