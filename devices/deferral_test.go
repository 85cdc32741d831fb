package devices_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/calibd/calibd/devices"
)

func TestDeferralValidate(t *testing.T) {
	ok := func() devices.Deferral {
		return devices.Deferral{Name: " Spring Festival 2027 ", Reason: "public-health emergency", WindowFrom: "2027-01-20",
			WindowTo: "2027-03-31", ExtendDays: devices.DefaultDeferralExtendDays}
	}
	tests := []struct {
		name   string
		edit   func(*devices.Deferral)
		fields []string
	}{
		{"minimal", func(*devices.Deferral) {}, nil},
		{"full scope", func(d *devices.Deferral) {
			d.Types = []devices.ThermometerType{devices.TypeIRForehead}
			d.RegionCodes = []string{"310000", "42"}
			d.VenueIDs = []string{"7C9E6679-7425-40DE-944B-E07FC1F90AE7"}
		}, nil},
		{"ends before it starts", func(d *devices.Deferral) { d.WindowTo = "2027-01-19" }, []string{"window_to"}},
		{"not dates", func(d *devices.Deferral) { d.WindowFrom, d.WindowTo = "20 Jan", "2027-13-01" }, []string{"window_from", "window_to"}},
		{"longer than a year", func(d *devices.Deferral) { d.WindowTo = "2028-06-01" }, []string{"window_to"}},
		{"no name or reason", func(d *devices.Deferral) { d.Name, d.Reason = " ", "" }, []string{"name", "reason"}},
		{"extension too long", func(d *devices.Deferral) { d.ExtendDays = 400 }, []string{"extend_days"}},
		{"negative extension", func(d *devices.Deferral) { d.ExtendDays = -1 }, []string{"extend_days"}},
		{"bad scope", func(d *devices.Deferral) {
			d.Types = []devices.ThermometerType{"ir_wrist", devices.TypeIREar, devices.TypeIREar}
			d.RegionCodes = []string{"Shanghai", "3"}
			d.VenueIDs = []string{"venue-1"}
		}, []string{"types[0]", "types[2]", "region_codes[0]", "region_codes[1]", "venue_ids[0]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := ok()
			tt.edit(&d)
			err := d.Validate()
			var ve *devices.ValidationError
			if tt.fields == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if !errors.As(err, &ve) {
				t.Fatalf("Validate() = %v, want a validation error", err)
			}
			var got []string
			for _, p := range ve.Fields {
				got = append(got, p.Field)
			}
			if strings.Join(got, ",") != strings.Join(tt.fields, ",") {
				t.Errorf("fields = %v, want %v", got, tt.fields)
			}
		})
	}
	d := ok()
	if err := d.Validate(); err != nil || d.Name != "Spring Festival 2027" {
		t.Errorf("normalized name %q, err %v", d.Name, err)
	}
}

func TestDeferralCovers(t *testing.T) {
	v1, v2 := "7c9e6679-7425-40de-944b-e07fc1f90ae7", "16fd2706-8baf-433b-82eb-8c7fada847da"
	tests := []struct {
		name   string
		d      devices.Deferral
		typ    devices.ThermometerType
		venue  string
		region string
		want   bool
	}{
		{"empty scope covers everything", devices.Deferral{}, devices.TypeIREar, v1, "310115", true},
		{"type in", devices.Deferral{Types: []devices.ThermometerType{devices.TypeIREar}}, devices.TypeIREar, v1, "310115", true},
		{"type out", devices.Deferral{Types: []devices.ThermometerType{devices.TypeIREar}}, devices.TypeIRForehead, v1, "310115", false},
		{"province covers district", devices.Deferral{RegionCodes: []string{"310000"}}, devices.TypeIREar, v1, "310115", true},
		{"city covers district", devices.Deferral{RegionCodes: []string{"420100"}}, devices.TypeIREar, v1, "420106", true},
		{"other province", devices.Deferral{RegionCodes: []string{"310000"}}, devices.TypeIREar, v1, "320115", false},
		{"district is exact", devices.Deferral{RegionCodes: []string{"310115"}}, devices.TypeIREar, v1, "310116", false},
		{"venue in", devices.Deferral{VenueIDs: []string{v1}}, devices.TypeIREar, v1, "", true},
		{"venue out", devices.Deferral{VenueIDs: []string{v1}}, devices.TypeIREar, v2, "", false},
		{"every list must match", devices.Deferral{Types: []devices.ThermometerType{devices.TypeIREar}, RegionCodes: []string{"31"}},
			devices.TypeIREar, v1, "420106", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.d.Covers(tt.typ, tt.venue, tt.region); got != tt.want {
				t.Errorf("Covers(%s, %s, %q) = %v, want %v", tt.typ, tt.venue, tt.region, got, tt.want)
			}
		})
	}
	for in, want := range map[string]string{"310000": "31", "310100": "3101", "310115": "310115", "00": "00", "4200": "42"} {
		if got := devices.RegionPrefix(in); got != want {
			t.Errorf("RegionPrefix(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDeferredDue(t *testing.T) {
	sh := mustZone(t, "Asia/Shanghai")
	ny := mustZone(t, "America/New_York")
	d := devices.Deferral{WindowFrom: "2027-01-20", WindowTo: "2027-03-31", ExtendDays: 90}
	tests := []struct {
		name  string
		d     devices.Deferral
		due   time.Time
		loc   *time.Location
		want  time.Time
		moved bool
	}{
		{"inside: end of window plus 90 days, same local time", d, time.Date(2027, 2, 10, 9, 30, 0, 0, sh), sh,
			time.Date(2027, 6, 29, 9, 30, 0, 0, sh), true},
		{"first day counts in the venue's zone", d, time.Date(2027, 1, 19, 16, 30, 0, 0, time.UTC), sh,
			time.Date(2027, 6, 29, 0, 30, 0, 0, sh), true},
		{"the day before, locally, does not", d, time.Date(2027, 1, 19, 15, 30, 0, 0, time.UTC), sh,
			time.Date(2027, 1, 19, 15, 30, 0, 0, time.UTC), false},
		{"last day counts", d, time.Date(2027, 3, 31, 23, 59, 0, 0, sh), sh, time.Date(2027, 6, 29, 23, 59, 0, 0, sh), true},
		{"after the window stays", d, time.Date(2027, 4, 1, 0, 0, 0, 0, sh), sh, time.Date(2027, 4, 1, 0, 0, 0, 0, sh), false},
		// New York leaves EST for EDT on 2027-03-14: the clock time is
		// kept, so the UTC offset of the moved date differs.
		{"across a DST change keeps the wall clock", devices.Deferral{WindowFrom: "2027-03-01", WindowTo: "2027-03-10", ExtendDays: 30},
			time.Date(2027, 3, 5, 8, 0, 0, 0, ny), ny, time.Date(2027, 4, 9, 8, 0, 0, 0, ny), true},
		{"month end plus days rolls over", devices.Deferral{WindowFrom: "2027-01-01", WindowTo: "2027-01-31", ExtendDays: 29},
			time.Date(2027, 1, 31, 12, 0, 0, 0, sh), sh, time.Date(2027, 3, 1, 12, 0, 0, 0, sh), true},
		{"no extension moves to the window's end", devices.Deferral{WindowFrom: "2027-01-01", WindowTo: "2027-01-31"},
			time.Date(2027, 1, 5, 12, 0, 0, 0, sh), sh, time.Date(2027, 1, 31, 12, 0, 0, 0, sh), true},
		{"no extension on the last day moves nothing", devices.Deferral{WindowFrom: "2027-01-01", WindowTo: "2027-01-31"},
			time.Date(2027, 1, 31, 12, 0, 0, 0, sh), sh, time.Date(2027, 1, 31, 12, 0, 0, 0, sh), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, moved := tt.d.DeferredDue(tt.due, tt.loc)
			if !got.Equal(tt.want) || moved != tt.moved {
				t.Errorf("DeferredDue(%v) = %v, %v; want %v, %v", tt.due, got.In(tt.loc), moved, tt.want.In(tt.loc), tt.moved)
			}
		})
	}
}
