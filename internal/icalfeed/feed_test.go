package icalfeed

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	ics "github.com/arran4/golang-ical"
	"github.com/google/go-cmp/cmp"
)

var now = time.Date(2020, 3, 1, 16, 4, 5, 0, time.FixedZone("CST", 8*3600))

func parse(tb testing.TB, out []byte) *ics.Calendar {
	tb.Helper()
	cal, err := ics.ParseCalendar(bytes.NewReader(out))
	if err != nil {
		tb.Fatalf("ParseCalendar: %v\n%s", err, out)
	}
	return cal
}

func calProp(cal *ics.Calendar, name string) string {
	for _, p := range cal.CalendarProperties {
		if p.IANAToken == name {
			return p.Value
		}
	}
	return "<missing>"
}

func prop(ev *ics.VEvent, p ics.ComponentProperty) string {
	if v := ev.GetProperty(p); v != nil {
		return v.Value
	}
	return "<missing>"
}

// parsed is what the library reads back for one event.
type parsed struct {
	UID, Start, End, StartValue, EndValue            string
	Summary, Description, Location, Status, Sequence string
	Stamp, Modified                                  time.Time
	URL                                              string
}

func readEvent(tb testing.TB, ev *ics.VEvent) parsed {
	tb.Helper()
	start, err := ev.GetAllDayStartAt()
	if err != nil {
		tb.Fatalf("DTSTART: %v", err)
	}
	end, err := ev.GetAllDayEndAt()
	if err != nil {
		tb.Fatalf("DTEND: %v", err)
	}
	stamp, err := ev.GetDtStampTime()
	if err != nil {
		tb.Fatalf("DTSTAMP: %v", err)
	}
	p := parsed{
		UID: ev.Id(), Start: start.Format(time.DateOnly), End: end.Format(time.DateOnly),
		StartValue:  strings.Join(ev.GetProperty(ics.ComponentPropertyDtStart).ICalParameters["VALUE"], ","),
		EndValue:    strings.Join(ev.GetProperty(ics.ComponentPropertyDtEnd).ICalParameters["VALUE"], ","),
		Summary:     prop(ev, ics.ComponentPropertySummary),
		Description: prop(ev, ics.ComponentPropertyDescription),
		Location:    prop(ev, ics.ComponentPropertyLocation),
		Status:      prop(ev, ics.ComponentPropertyStatus),
		Sequence:    prop(ev, ics.ComponentPropertySequence),
		Stamp:       stamp,
		URL:         prop(ev, ics.ComponentPropertyUrl),
	}
	if ev.HasProperty(ics.ComponentPropertyLastModified) {
		if p.Modified, err = ev.GetLastModifiedAt(); err != nil {
			tb.Fatalf("LAST-MODIFIED: %v", err)
		}
	}
	return p
}

func TestFeedRoundTrip(t *testing.T) {
	updated := time.Date(2020, 2, 28, 9, 0, 0, 0, time.UTC)
	events := []Event{
		{
			UID: "v-2@calibd", Day: "2020-03-03", Summary: "Calibration visit: Wanda Plaza",
			Description: "4 thermometers", Location: "93 Jianguo Road", Status: StatusConfirmed,
			Sequence: 2, Updated: updated, URL: "https://calibd.example/visits/v-2",
		},
		{UID: "v-1@calibd", Day: "2020-03-02", Summary: "Planned visit", Status: StatusTentative},
		{UID: "v-0@calibd", Day: "2020-03-03", Summary: "Cancelled visit", Status: StatusCancelled, Sequence: 5},
	}
	out, err := Feed("Calibration schedule – Beijing", events, now)
	if err != nil {
		t.Fatalf("Feed: %v", err)
	}
	cal := parse(t, out)
	for name, want := range map[string]string{
		"PRODID": ProductID, "VERSION": "2.0", "METHOD": "PUBLISH",
		"X-WR-CALNAME": "Calibration schedule – Beijing",
	} {
		if got := calProp(cal, name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	stamp := now.UTC()
	var got []parsed
	for _, ev := range cal.Events() {
		got = append(got, readEvent(t, ev))
	}
	want := []parsed{
		{UID: "v-1@calibd", Start: "2020-03-02", End: "2020-03-03", StartValue: "DATE", EndValue: "DATE",
			Summary: "Planned visit", Description: "<missing>", Location: "<missing>", Status: "TENTATIVE",
			Sequence: "0", Stamp: stamp, URL: "<missing>"},
		{UID: "v-0@calibd", Start: "2020-03-03", End: "2020-03-04", StartValue: "DATE", EndValue: "DATE",
			Summary: "Cancelled visit", Description: "<missing>", Location: "<missing>", Status: "CANCELLED",
			Sequence: "5", Stamp: stamp, URL: "<missing>"},
		{UID: "v-2@calibd", Start: "2020-03-03", End: "2020-03-04", StartValue: "DATE", EndValue: "DATE",
			Summary: "Calibration visit: Wanda Plaza", Description: "4 thermometers", Location: "93 Jianguo Road",
			Status: "CONFIRMED", Sequence: "2", Stamp: stamp, Modified: updated,
			URL: "https://calibd.example/visits/v-2"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events read back (-want +got):\n%s", diff)
	}
	for _, w := range []string{
		"DTSTART;VALUE=DATE:20200302\r\n", "DTEND;VALUE=DATE:20200303\r\n",
		"DTSTAMP:20200301T080405Z\r\n", "LAST-MODIFIED:20200228T090000Z\r\n",
	} {
		if !bytes.Contains(out, []byte(w)) {
			t.Errorf("feed lacks %q", w)
		}
	}
}

func TestFeedLinesCRLFAndFolded(t *testing.T) {
	long := strings.Repeat("Bring the blackbody, the reference thermometer; 检查 ", 8)
	out, err := Feed("schedule", []Event{{UID: "v-1@calibd", Day: "2020-03-02", Description: long, Status: StatusConfirmed}}, now)
	if err != nil {
		t.Fatalf("Feed: %v", err)
	}
	if !bytes.HasPrefix(out, []byte("BEGIN:VCALENDAR\r\n")) || !bytes.HasSuffix(out, []byte("END:VCALENDAR\r\n")) {
		t.Errorf("feed is not framed by BEGIN/END:VCALENDAR with CRLF:\n%q", out)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\r\n"), "\r\n")
	folded := 0
	for i, l := range lines {
		if strings.ContainsAny(l, "\r\n") {
			t.Errorf("line %d has a bare CR or LF: %q", i, l)
		}
		if len(l) > 75 {
			t.Errorf("line %d is %d octets, want at most 75: %q", i, len(l), l)
		}
		if !utf8.ValidString(l) {
			t.Errorf("line %d splits a UTF-8 sequence: %q", i, l)
		}
		if strings.HasPrefix(l, " ") {
			folded++
		}
	}
	if folded == 0 {
		t.Errorf("a %d-byte description was not folded", len(long))
	}
	if got := prop(parse(t, out).Events()[0], ics.ComponentPropertyDescription); got != long {
		t.Errorf("DESCRIPTION read back = %q, want %q", got, long)
	}
}

func TestFeedEscaping(t *testing.T) {
	tests := []struct {
		name, in, raw, back string
	}{
		{"comma", "probes, covers", `probes\, covers`, "probes, covers"},
		{"semicolon", "gate B; lift 2", `gate B\; lift 2`, "gate B; lift 2"},
		{"newline", "line 1\nline 2", `line 1\nline 2`, "line 1\nline 2"},
		{"crlf", "line 1\r\nline 2\rline 3", `line 1\nline 2\nline 3`, "line 1\nline 2\nline 3"},
		{"backslash", `C:\certs`, `C:\\certs`, `C:\certs`},
		{"control", "a\x00b\x1bc", "a b c", "a b c"},
		{"unicode", "万达广场 °C", "万达广场 °C", "万达广场 °C"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := Event{UID: "v-1@calibd", Day: "2020-03-02", Summary: tt.in, Description: tt.in, Location: tt.in, Status: StatusConfirmed}
			out, err := Feed(tt.in, []Event{ev}, now)
			if err != nil {
				t.Fatalf("Feed: %v", err)
			}
			for _, p := range []string{"SUMMARY", "DESCRIPTION", "LOCATION", "X-WR-CALNAME"} {
				if want := "\r\n" + p + ":" + tt.raw + "\r\n"; !strings.Contains(string(out), want) {
					t.Errorf("feed lacks %q:\n%s", want, out)
				}
			}
			cal := parse(t, out)
			if got := calProp(cal, "X-WR-CALNAME"); got != tt.back {
				t.Errorf("X-WR-CALNAME read back = %q, want %q", got, tt.back)
			}
			e := cal.Events()[0]
			for _, p := range []ics.ComponentProperty{ics.ComponentPropertySummary, ics.ComponentPropertyDescription, ics.ComponentPropertyLocation} {
				if got := prop(e, p); got != tt.back {
					t.Errorf("%s read back = %q, want %q", p, got, tt.back)
				}
			}
		})
	}
}

func TestFeedMovedVisitKeepsUID(t *testing.T) {
	planned := Event{UID: "visit-42@calibd", Day: "2020-03-02", Summary: "Visit", Status: StatusTentative, Sequence: 0}
	moved := planned
	moved.Day, moved.Sequence, moved.Status = "2020-03-05", 1, StatusConfirmed

	var got []parsed
	for _, ev := range []Event{planned, moved} {
		out, err := Feed("schedule", []Event{ev}, now)
		if err != nil {
			t.Fatalf("Feed: %v", err)
		}
		evs := parse(t, out).Events()
		if len(evs) != 1 {
			t.Fatalf("feed has %d events, want 1", len(evs))
		}
		got = append(got, readEvent(t, evs[0]))
	}
	if got[0].UID != "visit-42@calibd" || got[1].UID != got[0].UID {
		t.Errorf("UIDs = %q, %q; want both visit-42@calibd", got[0].UID, got[1].UID)
	}
	if got[1].Start != "2020-03-05" || got[1].End != "2020-03-06" || got[1].Status != "CONFIRMED" {
		t.Errorf("moved visit = %+v, want 2020-03-05..06 CONFIRMED", got[1])
	}
	s0, _ := strconv.Atoi(got[0].Sequence)
	s1, _ := strconv.Atoi(got[1].Sequence)
	if s1 <= s0 {
		t.Errorf("SEQUENCE %d -> %d, want it to grow", s0, s1)
	}
}

func TestFeedOrderAndDeterminism(t *testing.T) {
	a := []Event{
		{UID: "c", Day: "2020-03-02", Status: StatusConfirmed},
		{UID: "b", Day: "2020-03-10", Status: StatusConfirmed},
		{UID: "a", Day: "2020-03-02", Status: StatusConfirmed},
		{UID: "d", Day: "2020-02-28", Status: StatusConfirmed},
	}
	b := []Event{a[2], a[3], a[1], a[0]}
	outA, err := Feed("s", a, now)
	if err != nil {
		t.Fatalf("Feed: %v", err)
	}
	outB, err := Feed("s", b, now)
	if err != nil {
		t.Fatalf("Feed: %v", err)
	}
	if !bytes.Equal(outA, outB) {
		t.Errorf("feeds of the same events in different orders differ")
	}
	var uids []string
	for _, ev := range parse(t, outA).Events() {
		uids = append(uids, ev.Id())
	}
	if diff := cmp.Diff([]string{"d", "a", "c", "b"}, uids); diff != "" {
		t.Errorf("event order (-want +got):\n%s", diff)
	}
}

func TestFeedEmpty(t *testing.T) {
	out, err := Feed("empty", nil, now)
	if err != nil {
		t.Fatalf("Feed: %v", err)
	}
	want := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:" + ProductID + "\r\nMETHOD:PUBLISH\r\nX-WR-CALNAME:empty\r\nEND:VCALENDAR\r\n"
	if diff := cmp.Diff(want, string(out)); diff != "" {
		t.Errorf("empty feed (-want +got):\n%s", diff)
	}
	cal := parse(t, out)
	if n := len(cal.Events()); n != 0 {
		t.Errorf("empty feed has %d events", n)
	}
}

func TestFeedRejects(t *testing.T) {
	ok := Event{UID: "v@calibd", Day: "2020-03-02", Status: StatusConfirmed}
	tests := []struct {
		name   string
		mutate func(*Event)
		want   string
	}{
		{"no uid", func(e *Event) { e.UID = " " }, "empty UID"},
		{"bad day", func(e *Event) { e.Day = "2020-3-2" }, "not YYYY-MM-DD"},
		{"datetime day", func(e *Event) { e.Day = "2020-03-02T10:00:00Z" }, "not YYYY-MM-DD"},
		{"bad status", func(e *Event) { e.Status = "planned" }, "unknown status"},
		{"negative sequence", func(e *Event) { e.Sequence = -1 }, "negative sequence"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := ok
			tt.mutate(&e)
			if _, err := Feed("s", []Event{e}, now); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Feed = %v, want error containing %q", err, tt.want)
			}
		})
	}
	dup := ok
	dup.Day = "2020-03-09"
	if _, err := Feed("s", []Event{ok, dup}, now); err == nil || !strings.Contains(err.Error(), "duplicate UID") {
		t.Errorf("Feed(duplicate UIDs) = %v, want duplicate UID error", err)
	}
}
