package devices_test

import (
	"testing"
	"time"

	"github.com/calibd/calibd/devices"
)

// mustZone loads an IANA time zone or fails the test.
func mustZone(tb testing.TB, name string) *time.Location {
	tb.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		tb.Fatalf("time.LoadLocation(%q): %v", name, err)
	}
	return loc
}

func TestNextDue(t *testing.T) {
	tests := []struct {
		name  string
		zone  string // "" means a nil location (UTC)
		last  string
		days  int
		want  string // UTC
		local string // the want instant on the venue's wall clock
	}{
		// Shanghai is UTC+8 all year.
		{name: "shanghai one year", zone: "Asia/Shanghai", last: "2026-03-01T09:00:00Z", days: 365,
			want: "2027-02-28T16:00:00Z", local: "2027-03-01 00:00 +0800"},
		// 20:00 UTC is already 04:00 on the next local day: Mar 2 + 1.
		{name: "shanghai date is the local date", zone: "Asia/Shanghai", last: "2026-03-01T20:00:00Z", days: 1,
			want: "2026-03-02T16:00:00Z", local: "2026-03-03 00:00 +0800"},
		// Jan 31 + 30 days: Feb 28 is +28, then Mar 1, Mar 2.
		{name: "month end jan 31 plus 30", zone: "Asia/Shanghai", last: "2026-01-31T02:00:00Z", days: 30,
			want: "2026-03-01T16:00:00Z", local: "2026-03-02 00:00 +0800"},
		// 2028 is a leap year: Feb 29 is +29, Mar 1 is +30.
		{name: "month end in a leap year", zone: "Asia/Shanghai", last: "2028-01-31T02:00:00Z", days: 30,
			want: "2028-02-29T16:00:00Z", local: "2028-03-01 00:00 +0800"},
		// New York springs forward on 2026-03-08: 12:00 EST Mar 1 + 14 days
		// is Mar 15 00:00 EDT (-4), not 05:00 UTC as 14×24 h would give.
		{name: "new york across march dst", zone: "America/New_York", last: "2026-03-01T17:00:00Z", days: 14,
			want: "2026-03-15T04:00:00Z", local: "2026-03-15 00:00 -0400"},
		// Falls back on 2026-11-01: Oct 25 12:00 EDT + 10 days is Nov 4 00:00 EST.
		{name: "new york across november dst", zone: "America/New_York", last: "2026-10-25T16:00:00Z", days: 10,
			want: "2026-11-04T05:00:00Z", local: "2026-11-04 00:00 -0500"},
		// 04:30 UTC is 23:30 EST on Jan 14, so Jan 14 + 1.
		{name: "new york 23:30 counts as the earlier day", zone: "America/New_York", last: "2026-01-15T04:30:00Z", days: 1,
			want: "2026-01-15T05:00:00Z", local: "2026-01-15 00:00 -0500"},
		{name: "new york 00:00 counts as its own day", zone: "America/New_York", last: "2026-01-15T05:00:00Z", days: 1,
			want: "2026-01-16T05:00:00Z", local: "2026-01-16 00:00 -0500"},
		{name: "new york 23:59 counts as the earlier day", zone: "America/New_York", last: "2026-01-15T04:59:00Z", days: 1,
			want: "2026-01-15T05:00:00Z", local: "2026-01-15 00:00 -0500"},
		// London goes to BST on 2026-03-29 at 01:00 UTC: 23:30 GMT Mar 28 + 2
		// days is Mar 30 00:00 BST = 23:00 UTC Mar 29.
		{name: "london across bst start", zone: "Europe/London", last: "2026-03-28T23:30:00Z", days: 2,
			want: "2026-03-29T23:00:00Z", local: "2026-03-30 00:00 +0100"},
		// 23:30 UTC Jul 1 is 00:30 BST Jul 2; zero days is the start of that day.
		{name: "london zero days is start of the local day", zone: "Europe/London", last: "2026-07-01T23:30:00Z", days: 0,
			want: "2026-07-01T23:00:00Z", local: "2026-07-02 00:00 +0100"},
		// Mar 1 2027 to Mar 1 2028 spans Feb 29: 365 days end on the leap day.
		{name: "leap day as due date", zone: "Europe/London", last: "2027-03-01T10:00:00Z", days: 365,
			want: "2028-02-29T00:00:00Z", local: "2028-02-29 00:00 +0000"},
		// Feb 29 2028 + 365 days: Mar 1 2029 would be 366.
		{name: "leap day as calibration date", zone: "Europe/London", last: "2028-02-29T12:00:00Z", days: 365,
			want: "2029-02-28T00:00:00Z", local: "2029-02-28 00:00 +0000"},
		// Lord Howe: +10:30 standard, +11 in summer (30-minute DST from
		// 2026-10-04). Sep 30 22:30 +10:30 + 10 days is Oct 10 00:00 +11.
		{name: "lord howe across october dst", zone: "Australia/Lord_Howe", last: "2026-09-30T12:00:00Z", days: 10,
			want: "2026-10-09T13:00:00Z", local: "2026-10-10 00:00 +1100"},
		// Summer time ends 2026-04-05: Apr 1 11:00 +11 + 10 is Apr 11 00:00 +10:30.
		{name: "lord howe across april dst", zone: "Australia/Lord_Howe", last: "2026-04-01T00:00:00Z", days: 10,
			want: "2026-04-10T13:30:00Z", local: "2026-04-11 00:00 +1030"},
		// Santiago skips from 00:00 -04 to 01:00 -03 on 2024-09-08: the day
		// begins at 01:00 local = 04:00 UTC.
		{name: "midnight in a dst gap", zone: "America/Santiago", last: "2024-09-01T15:00:00Z", days: 7,
			want: "2024-09-08T04:00:00Z", local: "2024-09-08 01:00 -0300"},
		{name: "nil location is utc", last: "2026-05-10T23:59:00Z", days: 1,
			want: "2026-05-11T00:00:00Z", local: "2026-05-11 00:00 +0000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var loc *time.Location
			if tt.zone != "" {
				loc = mustZone(t, tt.zone)
			}
			got := devices.NextDue(mustTime(t, tt.last), tt.days, loc)
			want := mustTime(t, tt.want)
			if !got.Equal(want) || got.Location() != time.UTC {
				t.Fatalf("NextDue(%s, %d, %s) = %v, want %v (UTC)", tt.last, tt.days, tt.zone, got, want)
			}
			view := loc
			if view == nil {
				view = time.UTC
			}
			if s := got.In(view).Format("2006-01-02 15:04 -0700"); s != tt.local {
				t.Errorf("local time %s, want %s", s, tt.local)
			}
			// A device is due_soon on its due date and ok the instant before.
			if s := devices.DueStateAt(got, got, 0, loc); s != devices.DueSoon {
				t.Errorf("DueStateAt(due, due, 0) = %s, want due_soon", s)
			}
			if s := devices.DueStateAt(got, got.Add(-time.Nanosecond), 0, loc); s != devices.DueOK {
				t.Errorf("DueStateAt(due, due-1ns, 0) = %s, want ok", s)
			}
		})
	}
}

func TestDueStateAt(t *testing.T) {
	tests := []struct {
		name    string
		zone    string // "" means a nil location (UTC)
		nextDue string
		now     string
		horizon int
		want    devices.DueState
	}{
		// Due Jul 1 2026 in Shanghai (00:00 +08 = Jun 30 16:00 UTC).
		{name: "due today at 23:59:59 local is due soon", zone: "Asia/Shanghai", nextDue: "2026-06-30T16:00:00Z",
			now: "2026-07-01T15:59:59Z", horizon: 30, want: devices.DueSoon},
		{name: "next local midnight is overdue", zone: "Asia/Shanghai", nextDue: "2026-06-30T16:00:00Z",
			now: "2026-07-01T16:00:00Z", horizon: 30, want: devices.DueOverdue},
		// The same instants read in UTC: due Jun 30, today Jul 1.
		{name: "the zone decides the date", nextDue: "2026-06-30T16:00:00Z",
			now: "2026-07-01T15:59:59Z", horizon: 30, want: devices.DueOverdue},
		// Jun 1 → Jul 1 is 30 days: inside an inclusive 30-day horizon.
		{name: "horizon edge inclusive at 23:59", zone: "Asia/Shanghai", nextDue: "2026-06-30T16:00:00Z",
			now: "2026-06-01T15:59:00Z", horizon: 30, want: devices.DueSoon},
		{name: "horizon edge inclusive at 00:00", zone: "Asia/Shanghai", nextDue: "2026-06-30T16:00:00Z",
			now: "2026-05-31T16:00:00Z", horizon: 30, want: devices.DueSoon},
		// May 31 → Jul 1 is 31 days.
		{name: "one day beyond the horizon", zone: "Asia/Shanghai", nextDue: "2026-06-30T16:00:00Z",
			now: "2026-05-31T15:59:00Z", horizon: 30, want: devices.DueOK},
		// Due Mar 15 2026 00:00 EDT; Feb 13 → Mar 15 is 15 + 15 = 30 days
		// although the span holds a 23-hour day.
		{name: "new york horizon across dst", zone: "America/New_York", nextDue: "2026-03-15T04:00:00Z",
			now: "2026-02-13T05:00:00Z", horizon: 30, want: devices.DueSoon},
		{name: "new york 23:59 the day before the horizon", zone: "America/New_York", nextDue: "2026-03-15T04:00:00Z",
			now: "2026-02-13T04:59:00Z", horizon: 30, want: devices.DueOK},
		{name: "new york due day 23:59 edt", zone: "America/New_York", nextDue: "2026-03-15T04:00:00Z",
			now: "2026-03-16T03:59:00Z", horizon: 30, want: devices.DueSoon},
		{name: "new york day after 00:00 edt", zone: "America/New_York", nextDue: "2026-03-15T04:00:00Z",
			now: "2026-03-16T04:00:00Z", horizon: 30, want: devices.DueOverdue},
		// Due Oct 10 2026 00:00 +11 on Lord Howe.
		{name: "lord howe due day 23:59", zone: "Australia/Lord_Howe", nextDue: "2026-10-09T13:00:00Z",
			now: "2026-10-10T12:59:00Z", horizon: 0, want: devices.DueSoon},
		{name: "lord howe next midnight", zone: "Australia/Lord_Howe", nextDue: "2026-10-09T13:00:00Z",
			now: "2026-10-10T13:00:00Z", horizon: 0, want: devices.DueOverdue},
		// Due on the leap day 2028-02-29 (London, GMT in winter).
		{name: "leap day eve with zero horizon", zone: "Europe/London", nextDue: "2028-02-29T00:00:00Z",
			now: "2028-02-28T23:59:59Z", horizon: 0, want: devices.DueOK},
		{name: "leap day eve with one day horizon", zone: "Europe/London", nextDue: "2028-02-29T00:00:00Z",
			now: "2028-02-28T23:59:59Z", horizon: 1, want: devices.DueSoon},
		{name: "leap day itself", zone: "Europe/London", nextDue: "2028-02-29T00:00:00Z",
			now: "2028-02-29T23:59:59Z", horizon: 0, want: devices.DueSoon},
		{name: "day after the leap day", zone: "Europe/London", nextDue: "2028-02-29T00:00:00Z",
			now: "2028-03-01T00:00:00Z", horizon: 0, want: devices.DueOverdue},
		// Jan 30 → Feb 29 2028 is 1 + 29 = 30 days; Jan 29 is 31.
		{name: "horizon through february of a leap year", zone: "Europe/London", nextDue: "2028-02-29T00:00:00Z",
			now: "2028-01-30T08:00:00Z", horizon: devices.DefaultDueHorizonDays, want: devices.DueSoon},
		{name: "beyond horizon through february", zone: "Europe/London", nextDue: "2028-02-29T00:00:00Z",
			now: "2028-01-29T08:00:00Z", horizon: devices.DefaultDueHorizonDays, want: devices.DueOK},
		{name: "negative horizon counts as zero", zone: "Europe/London", nextDue: "2028-02-29T00:00:00Z",
			now: "2028-02-29T12:00:00Z", horizon: -5, want: devices.DueSoon},
		{name: "negative horizon next day ok", zone: "Europe/London", nextDue: "2028-02-29T00:00:00Z",
			now: "2028-02-28T12:00:00Z", horizon: -5, want: devices.DueOK},
		{name: "far future", zone: "Asia/Shanghai", nextDue: "2027-06-30T16:00:00Z",
			now: "2026-01-01T00:00:00Z", horizon: 30, want: devices.DueOK},
		{name: "long overdue", zone: "Asia/Shanghai", nextDue: "2020-06-30T16:00:00Z",
			now: "2026-01-01T00:00:00Z", horizon: 30, want: devices.DueOverdue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var loc *time.Location
			if tt.zone != "" {
				loc = mustZone(t, tt.zone)
			}
			got := devices.DueStateAt(mustTime(t, tt.nextDue), mustTime(t, tt.now), tt.horizon, loc)
			if got != tt.want {
				t.Errorf("DueStateAt(%s, %s, %d, %s) = %s, want %s", tt.nextDue, tt.now, tt.horizon, tt.zone, got, tt.want)
			}
		})
	}
}

func TestDueStateValid(t *testing.T) {
	for _, s := range devices.DueStates {
		if !s.Valid() {
			t.Errorf("%q.Valid() = false", s)
		}
	}
	if devices.DueState("late").Valid() {
		t.Error(`"late".Valid() = true`)
	}
}
