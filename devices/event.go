package devices

import (
	"context"
	"slices"
	"time"
)

// EventKind is what an event reports.
type EventKind string

// Event kinds.
const (
	// EventTaskOverdue: an active calibration task is past its due date in
	// its venue's time zone. Raised once per task; the task's overdue_since
	// column records when the overdue job first found it so.
	EventTaskOverdue EventKind = "task_overdue"
	// EventDeviceOverdue: a thermometer is past its next due date in its
	// venue's time zone. Raised once per device and due cycle; the device
	// itself is not changed, its overdue state follows from NextDueAt.
	EventDeviceOverdue EventKind = "device_overdue"
	// EventMaintenanceOverdue: an open on-site lift task is past its day.
	// Raised once per task (its overdue_since records when).
	EventMaintenanceOverdue EventKind = "maintenance_overdue"
	// EventRemoteInspectionMissed: a remote inspection's day passed
	// without a report; the task is marked missed. Once per task.
	EventRemoteInspectionMissed EventKind = "remote_inspection_missed"
	// EventLiftCheckFailed: a remote inspection found an item not ok; an
	// urgent on-site task follows. Once per report.
	EventLiftCheckFailed EventKind = "lift_check_failed"
	// EventAgreementSuspended: a failed remote check suspended the
	// extended-cycle agreement until an on-site visit clears the lift.
	EventAgreementSuspended EventKind = "agreement_suspended"
	// EventInspectionDue: a lift's TSG T7001 periodic inspection is at
	// most InspectionReminderDays away. Once per lift and inspection day.
	EventInspectionDue EventKind = "inspection_due"
)

// EventKinds lists every kind.
var EventKinds = []EventKind{EventTaskOverdue, EventDeviceOverdue, EventMaintenanceOverdue, EventRemoteInspectionMissed,
	EventLiftCheckFailed, EventAgreementSuspended, EventInspectionDue}

// Valid reports whether k is a known kind.
func (k EventKind) Valid() bool { return slices.Contains(EventKinds, k) }

// Severity is how urgently someone should look at an event.
type Severity string

// Severities, least urgent first.
const (
	SeverityInfo     Severity = "info"
	SeverityWarning  Severity = "warning"
	SeverityCritical Severity = "critical"
)

// Severities lists every severity.
var Severities = []Severity{SeverityInfo, SeverityWarning, SeverityCritical}

// Valid reports whether s is a known severity.
func (s Severity) Valid() bool { return slices.Contains(Severities, s) }

// Event resources: what an event's ResourceID names.
const (
	EventResourceTask        = "calibration_task"
	EventResourceThermometer = ResourceThermometer
	EventResourceLiftTask    = ResourceLiftTask
	EventResourceReport      = ResourceMaintenanceReport
	EventResourceAgreement   = ResourceAgreement
	EventResourceElevator    = ResourceElevator
)

// Event is something a job found that people should know about. Events
// are append-only: nothing updates or deletes one. The regulator sees every
// event; a venue operator those of its venues (OperatorOrgID); a metrology
// institute those of the devices and tasks assigned to it (InstituteID).
type Event struct {
	ID            string
	At            time.Time // when it was raised
	Kind          EventKind
	Severity      Severity
	OperatorOrgID *string
	InstituteID   *string
	VenueID       *string
	Resource      string // EventResourceTask or EventResourceThermometer
	ResourceID    string
	Message       string
}

// EventFilter narrows an event list. Empty fields do not filter.
type EventFilter struct {
	Kind    EventKind
	VenueID string
	Since   *time.Time // raised at or after
}

// OverdueReport is what one run of the overdue job did.
type OverdueReport struct {
	TasksMarked    int // active tasks this run found past due and marked (a concurrent run may have marked the rest)
	DevicesOverdue int // non-retired thermometers past their due date now, with or without an earlier event
	EventsRaised   int // events this run inserted; an event raised before is not raised again
}

// EventStore keeps events.
type EventStore interface {
	// MarkOverdue judges, at now and in each venue's time zone, every
	// active calibration task and every non-retired thermometer: a task
	// past its due date is marked overdue and gets a task_overdue event
	// (critical when it is out of tolerance, otherwise warning); a
	// thermometer past its due date gets a device_overdue event for that
	// due date. Safe to run repeatedly and concurrently: each task is
	// marked once and each event raised once.
	MarkOverdue(ctx context.Context, now time.Time) (OverdueReport, error)
	// ListEvents lists the visible events, newest first.
	// *ValidationError for a bad filter or page.
	ListEvents(ctx context.Context, a Actor, f EventFilter, p Page) ([]Event, string, error)
	// GetEvent: ErrNotFound when it does not exist or is invisible.
	GetEvent(ctx context.Context, a Actor, id string) (Event, error)
}
