package devices

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Audited resources and actions of calibration results and reference
// standards.
const (
	ResourceCalibrationResult = "calibration_result"
	ResourceReferenceStandard = "reference_standard"
	// ActionRevise: a correction replaced a result.
	ActionRevise = "revise"
	// ActionFlagOutOfTolerance: a reference standard was found out of
	// tolerance and the results that used it were flagged.
	ActionFlagOutOfTolerance = "flag_out_of_tolerance"
)

// StandardStatus is whether a reference standard may trace calibrations.
type StandardStatus string

// Standard statuses.
const (
	StandardInService      StandardStatus = "in_service"
	StandardOutOfTolerance StandardStatus = "out_of_tolerance"
	StandardRetired        StandardStatus = "retired"
)

// StandardStatuses lists every status.
var StandardStatuses = []StandardStatus{StandardInService, StandardOutOfTolerance, StandardRetired}

// Valid reports whether s is a known status.
func (s StandardStatus) Valid() bool { return slices.Contains(StandardStatuses, s) }

// ReferenceStandard is one of an institute's working standards, a
// blackbody radiation source, with its own calibration certificate and due
// date: the link between a device's result and the national standard
// (DOMAIN.md §2.4).
type ReferenceStandard struct {
	ID            string
	InstituteID   string
	Name          string
	Serial        string
	CertificateNo string    // the standard's own calibration certificate
	CalibratedAt  time.Time // when that certificate's calibration was made
	DueAt         time.Time // when the standard must be calibrated again
	Status        StandardStatus
	Version       int
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// MaxClockSkew is how far in the future a client's timestamp may lie (its
// clock running fast) before it counts as in the future.
const MaxClockSkew = 5 * time.Minute

// Validate checks the fields a caller supplies, naming each one at fault:
// name, serial and certificate_no are required; calibrated_at is set and
// not in the future; due_at is after calibrated_at; an empty status is
// in_service.
func (s *ReferenceStandard) Validate(now time.Time) error {
	var pr Problems
	s.Name = strings.TrimSpace(s.Name)
	s.Serial = strings.TrimSpace(s.Serial)
	s.CertificateNo = strings.TrimSpace(s.CertificateNo)
	checkText(&pr, "name", s.Name, true, 200)
	checkText(&pr, "serial", s.Serial, true, 100)
	checkText(&pr, "certificate_no", s.CertificateNo, true, 100)
	switch {
	case s.CalibratedAt.IsZero():
		pr.Add("calibrated_at", "is required")
	case s.CalibratedAt.After(now.Add(MaxClockSkew)):
		pr.Add("calibrated_at", "must not be in the future")
	}
	switch {
	case s.DueAt.IsZero():
		pr.Add("due_at", "is required")
	case !s.CalibratedAt.IsZero() && !s.DueAt.After(s.CalibratedAt):
		pr.Add("due_at", "must be after calibrated_at")
	}
	if s.Status == "" {
		s.Status = StandardInService
	}
	if !s.Status.Valid() {
		pr.Addf("status", "must be one of %s", joinKinds(StandardStatuses))
	}
	s.CalibratedAt, s.DueAt = s.CalibratedAt.UTC(), s.DueAt.UTC()
	return pr.Err()
}

// CoverReason says why the standard's current certificate does not cover
// a calibration performed at `at`, or "" when it does: the calibration
// must lie between the standard's own calibration and its due date. The
// status is the caller's to check.
func (s ReferenceStandard) CoverReason(at time.Time) string {
	switch {
	case s.DueAt.Before(at):
		return fmt.Sprintf("reference standard %s (certificate %s) is overdue since %s; recalibrate it first",
			s.Serial, s.CertificateNo, s.DueAt.UTC().Format(time.RFC3339))
	case at.Before(s.CalibratedAt):
		return fmt.Sprintf("reference standard %s was calibrated at %s (certificate %s), after performed_at; its earlier certificate is not on record",
			s.Serial, s.CalibratedAt.UTC().Format(time.RFC3339), s.CertificateNo)
	}
	return ""
}

// ResultInput is what an institute records for one calibration of a task's
// thermometer. Data's MPE and range are taken from the thermometer (its
// effective MPE), whatever the caller sends. An empty MethodDoc becomes
// the document of the thermometer's tolerance profile.
type ResultInput struct {
	TaskID      string
	StandardID  string
	PerformedAt time.Time
	Data        CalibrationData
	MethodDoc   string
}

// CalibrationState is the part of a thermometer a calibration result
// changes.
type CalibrationState struct {
	Status           ThermometerStatus
	IntervalDays     int
	IntervalReason   string
	LastCalibratedAt *time.Time
	NextDueAt        time.Time
}

// After returns the thermometer's state after a calibration with overall
// verdict v performed at `at`. The interval always follows the policy over
// history (the as-found results including this one), with the policy's
// reason; then:
//
//   - pass: in service again (also from out_of_tolerance or quarantined),
//     last calibrated at `at`, due NextDue(at, interval, loc);
//   - fail: out_of_tolerance until a passing calibration; the due date is
//     kept;
//   - indeterminate: quarantined for a re-test; the due date is kept.
func (s CalibrationState) After(v Verdict, at time.Time, p IntervalPolicy, history []AsFound, loc *time.Location) CalibrationState {
	days, why := p.Next(s.IntervalDays, history)
	days = min(max(days, MinIntervalDays), MaxIntervalDays)
	out := s
	out.IntervalDays, out.IntervalReason = days, why
	switch v {
	case VerdictPass:
		t := at.UTC()
		out.Status, out.LastCalibratedAt, out.NextDueAt = StatusInService, &t, NextDue(at, days, loc)
	case VerdictFail:
		out.Status = StatusOutOfTolerance
	default:
		out.Status = StatusQuarantined
	}
	return out
}

// CertificateNumber is the number of an institute's seq-th certificate of
// year: "CAL-", the last 8 hex digits of the institute's id (ids are
// time-ordered UUIDs whose leading digits are a timestamp shared by
// organizations created together; the trailing ones are random), the year
// and the sequence number in 6 digits: CAL-9F3A0C21-2026-000001.
func CertificateNumber(instituteID string, year, seq int) string {
	hex := strings.ToUpper(strings.ReplaceAll(instituteID, "-", ""))
	if len(hex) > 8 {
		hex = hex[len(hex)-8:]
	}
	return fmt.Sprintf("CAL-%s-%04d-%06d", hex, year, seq)
}

// RevisionCertificateNumber numbers a correction: the original
// certificate's number and "-R" with the correction's revision (the
// original is revision 1), so CAL-9F3A0C21-2026-000001-R2 replaces
// CAL-9F3A0C21-2026-000001. Corrections take no number from the yearly
// sequence, which stays gap-free for originals.
func RevisionCertificateNumber(replaced string, revision int) string {
	if i := strings.LastIndex(replaced, "-R"); i > 0 {
		replaced = replaced[:i]
	}
	return fmt.Sprintf("%s-R%d", replaced, revision)
}

// ResultFlag marks a result whose reference standard was later found out
// of tolerance (reverse traceability).
type ResultFlag struct {
	StandardID string
	Reason     string
	FlaggedAt  time.Time
}

// CalibrationResult is one issued calibration certificate of a
// thermometer. It never changes: a correction is a new result with
// Revision + 1 whose ReplacesID names this one. Flags (and ReplacedByID)
// are kept beside it.
type CalibrationResult struct {
	ID            string
	TaskID        *string
	ThermometerID string
	VenueID       string
	OperatorOrgID string
	InstituteID   string
	// The reference standard and, for the traceability statement, its
	// certificate and due date when the result was issued.
	StandardID            string
	StandardCertificateNo string
	StandardDueAt         time.Time
	Revision              int     // 1 for an original
	ReplacesID            *string // the result this one corrects
	ReplacedByID          *string // the correction that supersedes this one, if any
	CertificateNo         string
	// Data is the measurement as validated: the thermometer's MPE and
	// range, K and the rule defaulted.
	Data           CalibrationData
	AsFound        []PointOutcome
	AsLeft         []PointOutcome // only when Data.Adjusted
	AsFoundVerdict Verdict
	Verdict        Verdict // on the as-left outcomes when adjusted, else on the as-found ones
	PerformedAt    time.Time
	IssuedAt       time.Time
	IssuedByOrgID  string
	IssuedByToken  string
	MethodDoc      string
	// Before is the thermometer before this result; After the thermometer
	// as this result leaves it. Applied says whether After was written to
	// the thermometer: a correction of a result that is no longer the
	// device's latest changes nothing on it.
	Before           CalibrationState
	After            CalibrationState
	Applied          bool
	CorrectionReason string
	Flags            []ResultFlag
}

// Superseded reports whether a correction replaced the result.
func (r CalibrationResult) Superseded() bool { return r.ReplacedByID != nil }

// ResultFilter narrows a result list. Empty fields do not filter.
type ResultFilter struct {
	ThermometerID string
	StandardID    string
	Flagged       bool // only results flagged by reverse traceability
}

// TraceReport is what finding a reference standard out of tolerance did.
type TraceReport struct {
	Standard     ReferenceStandard
	Flagged      []CalibrationResult // every result it traced since its last calibration, with its flags
	RecheckTasks int                 // re-check tasks created by this call
}

// ResultStore keeps reference standards and calibration results.
//
// Visibility: an institute sees its own standards and results; a venue
// operator the results of its venues' thermometers; the regulator
// everything; a maintenance firm nothing. What an actor may not see is
// ErrNotFound.
type ResultStore interface {
	// CreateStandard registers a standard of the actor's institute (ID,
	// institute, version and times are set; status in_service).
	// ErrForbidden unless an institute admin; ErrConflict
	// "duplicate_serial"; *ValidationError.
	CreateStandard(ctx context.Context, a Actor, s *ReferenceStandard) error
	ListStandards(ctx context.Context, a Actor, p Page) ([]ReferenceStandard, string, error)
	GetStandard(ctx context.Context, a Actor, id string) (ReferenceStandard, error)
	// RecordResult issues the certificate of a task's calibration, in one
	// transaction: the result with the next certificate number, the task
	// completed and the thermometer's status, interval and due date per
	// CalibrationState.After (indeterminate also opens a re-check task).
	// ErrNotFound for an invisible task; ErrForbidden unless the task's
	// institute; ErrConflict "invalid_transition" unless the task is
	// scheduled or in_progress, "retired" for a retired thermometer;
	// *ValidationError naming every field at fault (data.* for the
	// measurement, standard_id for a standard that is not the institute's,
	// not in service or not covering performed_at, performed_at).
	RecordResult(ctx context.Context, a Actor, in ResultInput) (CalibrationResult, error)
	// ReviseResult issues a correction of result resultID with the
	// corrected input (an empty TaskID or StandardID keeps the original's)
	// and a required reason. When the replaced result is the thermometer's
	// latest, its effects are recomputed from the corrected data.
	// ErrNotFound, ErrForbidden unless the issuing institute, ErrConflict
	// "already_revised" when a correction exists, *ValidationError.
	ReviseResult(ctx context.Context, a Actor, resultID string, in ResultInput, reason string) (CalibrationResult, error)
	GetResult(ctx context.Context, a Actor, id string) (CalibrationResult, error)
	// ListResults lists results newest first.
	ListResults(ctx context.Context, a Actor, f ResultFilter, p Page) ([]CalibrationResult, string, error)
	// FlagStandardOutOfTolerance marks the standard out_of_tolerance,
	// flags every result that used it since its calibration and opens a
	// re-check task for each affected thermometer without an active task.
	// Repeating it flags and creates nothing twice. ErrNotFound,
	// ErrForbidden unless an admin of the standard's institute,
	// *ValidationError when reason is empty.
	FlagStandardOutOfTolerance(ctx context.Context, a Actor, standardID string, reason string) (TraceReport, error)
}
