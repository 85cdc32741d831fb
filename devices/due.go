package devices

import "time"

// DefaultDueHorizonDays is how many calendar days ahead of its due date a
// device counts as due soon when the caller names no horizon.
const DefaultDueHorizonDays = 30

// DueState is where a device stands against its next due date.
type DueState string

// Due states.
const (
	DueOK      DueState = "ok"
	DueSoon    DueState = "due_soon"
	DueOverdue DueState = "overdue"
)

// DueStates lists every state.
var DueStates = []DueState{DueOK, DueSoon, DueOverdue}

// Valid reports whether s is a known state.
func (s DueState) Valid() bool { return s == DueOK || s == DueSoon || s == DueOverdue }

// NextDue returns when a calibration made at last falls due again: the
// calendar date of last in loc (the venue's time zone) plus intervalDays
// calendar days, at 00:00 local time that day, in UTC. Counting dates rather
// than 24-hour spans keeps DST changes from shifting the due date, and
// AddDate-style normalization makes Jan 31 + 30 days March 2 (March 1 in a
// leap year). Where a DST change skips local midnight the result is the
// first instant of the day. A nil loc means UTC.
func NextDue(last time.Time, intervalDays int, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	y, m, d := last.In(loc).Date()
	return localDayStart(y, m, d+intervalDays, loc).UTC()
}

// localDayStart is the first instant of the local date y-m-d in loc; d may
// overflow the month as in time.Date.
func localDayStart(y int, m time.Month, d int, loc *time.Location) time.Time {
	t := time.Date(y, m, d, 0, 0, 0, 0, loc)
	want := time.Date(y, m, d, 0, 0, 0, 0, time.UTC) // normalized date
	if got := t.In(loc); civilDate(got).Before(want) {
		// Midnight fell in a DST gap and time.Date chose the offset that
		// lands before it, in the evening of the day before. The wall
		// clock in that offset reaches midnight exactly at the change,
		// which is where the day begins.
		hh, mm, ss := got.Clock()
		since := time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute +
			time.Duration(ss)*time.Second + time.Duration(got.Nanosecond())
		t = t.Add(24*time.Hour - since)
	}
	return t
}

// civilDate is t's calendar date in t's own location, as midnight UTC, so that
// dates compare and subtract without DST effects.
func civilDate(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// DueStateAt says where a device due at nextDue stands at now. Both are read
// as calendar dates in loc (the venue's time zone; nil means UTC), so the
// time of day does not matter:
//
//   - overdue when today's date is after the due date; a device due today
//     is still due_soon, and becomes overdue at the next local midnight;
//   - due_soon when the due date is today or at most horizonDays calendar
//     days after it (a negative horizon counts as 0);
//   - ok otherwise.
func DueStateAt(nextDue, now time.Time, horizonDays int, loc *time.Location) DueState {
	if loc == nil {
		loc = time.UTC
	}
	if horizonDays < 0 {
		horizonDays = 0
	}
	due := civilDate(nextDue.In(loc))
	today := civilDate(now.In(loc))
	// Both are UTC midnights, so the difference is a whole number of days.
	days := int(due.Sub(today) / (24 * time.Hour))
	switch {
	case days < 0:
		return DueOverdue
	case days <= horizonDays:
		return DueSoon
	default:
		return DueOK
	}
}
