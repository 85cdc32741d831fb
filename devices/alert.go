package devices

import (
	"context"
	"slices"
	"strings"
	"time"
)

// AlertKind is what an alert reports about a device.
type AlertKind string

// Alert kinds (issue 5). Drift detection raises out_of_tolerance (one
// calibration-mode check beyond ±MPE) and drift (EWMA or CUSUM).
const (
	AlertOutOfTolerance AlertKind = "out_of_tolerance"
	AlertDrift          AlertKind = "drift"
	AlertPredictedDrift AlertKind = "predicted_drift"
	AlertSilent         AlertKind = "silent"
	AlertFault          AlertKind = "fault"
	AlertThreshold      AlertKind = "threshold"
)

// AlertKinds lists every kind.
var AlertKinds = []AlertKind{AlertOutOfTolerance, AlertDrift, AlertPredictedDrift, AlertSilent, AlertFault, AlertThreshold}

// Valid reports whether k is a known kind.
func (k AlertKind) Valid() bool { return slices.Contains(AlertKinds, k) }

// AlertState is where an alert is: open → acknowledged → resolved.
type AlertState string

// Alert states.
const (
	AlertOpen         AlertState = "open"
	AlertAcknowledged AlertState = "acknowledged"
	AlertResolved     AlertState = "resolved"
)

// AlertStates lists every state.
var AlertStates = []AlertState{AlertOpen, AlertAcknowledged, AlertResolved}

// Valid reports whether s is a known state.
func (s AlertState) Valid() bool { return slices.Contains(AlertStates, s) }

// Drift defaults until σ and U come from a device's calibration data: the
// repeatability of DOMAIN.md §3 (0.05–0.1 °C, unverified) and an expanded
// uncertainty of the same size.
const (
	DefaultDriftSigmaC = 0.05
	DefaultDriftUC     = 0.05
)

// Alert is one open (or past) alert about a device: at most one is open
// per device and kind, and it grows with the evidence.
type Alert struct {
	ID             string
	DeviceID       string
	DeviceKind     DeviceKind
	VenueID        string
	OperatorOrgID  string
	InstituteID    *string
	Kind           AlertKind
	State          AlertState
	FirstAt        time.Time // the first reading that raised it
	LastAt         time.Time // the latest reading that supports it
	Evidence       int       // how many readings support it
	Detail         string
	ResolvedReason string
	// PredictedAt is a predicted_drift alert's forecast: when the check
	// error is expected to reach MPE − U (DOMAIN.md §3.3).
	PredictedAt *time.Time
	Version     int
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// AlertFilter narrows an alert list.
type AlertFilter struct {
	DeviceID string
	Kind     AlertKind
	State    AlertState
}

// AlertAction is a person's step on an alert.
type AlertAction string

// Alert actions: acknowledge (open → acknowledged) and resolve (open or
// acknowledged → resolved, with a reason).
const (
	AlertAcknowledge AlertAction = "acknowledge"
	AlertResolve     AlertAction = "resolve"
)

// Next returns the state a takes s to, or a ConflictError
// "invalid_transition".
func (s AlertState) Next(a AlertAction) (AlertState, error) {
	switch {
	case a == AlertAcknowledge && s == AlertOpen:
		return AlertAcknowledged, nil
	case a == AlertResolve && (s == AlertOpen || s == AlertAcknowledged):
		return AlertResolved, nil
	}
	return "", Conflict("invalid_transition", "an %s alert cannot be %sd", s, strings.TrimSuffix(string(a), "e"))
}

// ResourceAlert names alerts in the audit log.
const ResourceAlert = "alert"

// AlertStore keeps alerts; they are visible to the tenants who see the
// device (the venue operator, the thermometer's institute, the regulator).
type AlertStore interface {
	ListAlerts(ctx context.Context, a Actor, f AlertFilter, p Page) ([]Alert, string, error)
	GetAlert(ctx context.Context, a Actor, id string) (Alert, error)
	// ActOnAlert acknowledges or resolves (with a reason) an alert: the
	// device's venue operator, the thermometer's institute or the lift's
	// firm may; the regulator gets ErrForbidden.
	ActOnAlert(ctx context.Context, a Actor, id string, version int, action AlertAction, reason string) (Alert, error)
}

// CriticalLiftFaults are the lift events that raise a critical fault
// alert whatever severity the device gave them, and suspend the lift's
// extended-cycle agreement until an on-site visit clears it (DOMAIN.md
// §4.2–§4.3: trapped passengers, movement with open doors, safety chain).
var CriticalLiftFaults = []string{"trapped_passenger", "door_open_while_moving", "unintended_movement", "overspeed",
	"overtravel_top", "overtravel_bottom", "safety_circuit_open", "lock_circuit_open", "stop_outside_door_zone"}

// CriticalLiftEvent reports whether a lift event is a critical fault.
func CriticalLiftEvent(code string, sev Severity) bool {
	return sev == SeverityCritical || slices.Contains(CriticalLiftFaults, code)
}

// Silence defaults: how long a device with an MQTT credential may stay
// quiet before a silent alert (thermometers check in at least daily; lifts
// report telemetry continuously).
const (
	DefaultSilentThermometer = 24 * time.Hour
	DefaultSilentElevator    = 15 * time.Minute
)

// SilenceReport is what one run of the silent job did.
type SilenceReport struct {
	Watched int // devices with a current MQTT credential
	Silent  int // of those, quiet for longer than their limit now
	Raised  int // silent alerts opened by this run
}

// SilenceStore finds devices that stopped reporting. Its alerts resolve by
// themselves when the device speaks again.
type SilenceStore interface {
	// RaiseSilent opens a silent alert for every device with a current
	// credential that sent nothing (or was issued its credential and sent
	// nothing since) for longer than the limit of its kind.
	RaiseSilent(ctx context.Context, now time.Time, thermometer, elevator time.Duration) (SilenceReport, error)
}
