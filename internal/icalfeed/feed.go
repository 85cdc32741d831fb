// Package icalfeed renders calibration visits as an iCalendar (RFC 5545)
// feed that calendar clients subscribe to, using github.com/arran4/golang-ical.
//
// Every visit is an all-day VEVENT. Clients recognise an event by its UID
// and replace their copy when SEQUENCE grows, so a moved visit keeps its UID
// and carries a higher Sequence.
//
// The library folds lines at 75 octets and escapes TEXT values (backslash,
// semicolon, comma, newline). Feed adds what it leaves out: CRLF line
// endings (its default on Unix is LF), carriage returns in text normalised
// to newlines, and other control characters, which RFC 5545 TEXT cannot
// hold, replaced by spaces.
package icalfeed

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	ics "github.com/arran4/golang-ical"
)

// ProductID is the feed's PRODID.
const ProductID = "-//calibd//calibration schedule//EN"

// Event statuses (RFC 5545 §3.8.1.11).
const (
	StatusTentative = "TENTATIVE" // planned, not yet confirmed
	StatusConfirmed = "CONFIRMED"
	StatusCancelled = "CANCELLED"
)

// Event is one all-day calendar entry, typically a calibration visit.
type Event struct {
	// UID is stable for the life of the visit, e.g. visit id + "@calibd".
	UID string
	// Day is the visit's date, YYYY-MM-DD.
	Day         string
	Summary     string
	Description string
	Location    string
	// Status is StatusTentative, StatusConfirmed or StatusCancelled.
	Status string
	// Sequence is the visit's version; raise it whenever the visit changes
	// so that clients update their copy.
	Sequence int
	// Updated is when the visit last changed (LAST-MODIFIED); optional.
	Updated time.Time
	// URL links to the visit; optional.
	URL string
}

// Feed renders events as a VCALENDAR named name (X-WR-CALNAME), published
// with METHOD:PUBLISH and stamped with now (DTSTAMP, in UTC). Events are
// ordered by Day, then UID, whatever the order of events. It fails on an
// event without a UID, with a Day that is not a date, with an unknown
// Status or a negative Sequence, and on two events sharing a UID.
func Feed(name string, events []Event, now time.Time) ([]byte, error) {
	sorted := slices.Clone(events)
	slices.SortStableFunc(sorted, func(a, b Event) int {
		return cmp.Or(strings.Compare(a.Day, b.Day), strings.Compare(a.UID, b.UID))
	})

	if dup := duplicateUID(sorted); dup != "" {
		return nil, fmt.Errorf("event %s: duplicate UID", dup)
	}

	cal := ics.NewCalendarFor("calibd")
	cal.SetProductId(ProductID)
	cal.SetVersion("2.0")
	cal.SetMethod(ics.MethodPublish)
	cal.SetXWRCalName(text(name))

	stamp := now.UTC()
	for i, e := range sorted {
		if strings.TrimSpace(e.UID) == "" {
			return nil, fmt.Errorf("event %d: empty UID", i)
		}
		day, err := time.Parse(time.DateOnly, e.Day)
		if err != nil {
			return nil, fmt.Errorf("event %s: day %q is not YYYY-MM-DD", e.UID, e.Day)
		}
		var status ics.ObjectStatus
		switch e.Status {
		case StatusTentative, StatusConfirmed, StatusCancelled:
			status = ics.ObjectStatus(e.Status)
		default:
			return nil, fmt.Errorf("event %s: unknown status %q", e.UID, e.Status)
		}
		if e.Sequence < 0 {
			return nil, fmt.Errorf("event %s: negative sequence %d", e.UID, e.Sequence)
		}

		ev := cal.AddEvent(text(e.UID))
		ev.SetDtStampTime(stamp)
		ev.SetAllDayStartAt(day)
		ev.SetAllDayEndAt(day.AddDate(0, 0, 1))
		ev.SetSummary(text(e.Summary))
		if e.Description != "" {
			ev.SetDescription(text(e.Description))
		}
		if e.Location != "" {
			ev.SetLocation(text(e.Location))
		}
		ev.SetStatus(status)
		ev.SetSequence(e.Sequence)
		if !e.Updated.IsZero() {
			ev.SetModifiedAt(e.Updated)
		}
		if e.URL != "" {
			ev.SetURL(uri(e.URL))
		}
	}
	var b strings.Builder
	if err := cal.SerializeTo(&b, ics.WithNewLineWindows); err != nil {
		return nil, fmt.Errorf("serialize calendar: %w", err)
	}
	return []byte(b.String()), nil
}

// duplicateUID returns a UID used by more than one event, or "".
func duplicateUID(events []Event) string {
	seen := make(map[string]bool, len(events))
	for _, e := range events {
		if seen[e.UID] {
			return e.UID
		}
		seen[e.UID] = true
	}
	return ""
}

// text prepares a TEXT value for the library, which escapes \ ; , and LF
// but not CR or other control characters: CRLF and CR become LF, other
// controls (tab excepted) a space.
func text(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\r':
			return '\n'
		case r == '\n' || r == '\t':
			return r
		case r < 0x20 || r == 0x7f:
			return ' '
		}
		return r
	}, s)
}

// uri drops the characters a URI value cannot hold unescaped on a content
// line: controls and spaces.
func uri(s string) string {
	return strings.Map(func(r rune) rune {
		if r <= 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}
