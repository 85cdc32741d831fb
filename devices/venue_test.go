package devices_test

import (
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/calibd/calibd/devices"
)

func validVenue() devices.Venue {
	return devices.Venue{
		Name:       "Hongqiao Airport T2",
		Kind:       devices.VenueAirport,
		Address:    "Shenhong Rd",
		RegionCode: "310112",
		TimeZone:   "Asia/Shanghai",
		Contact:    devices.Contact{Name: "Li Wei", Phone: "+86 21 5555 0100", Email: "ops@example.org"},
	}
}

func TestVenueValidate(t *testing.T) {
	tests := []struct {
		name       string
		edit       func(v *devices.Venue)
		wantFields []string
		// check runs on the validated venue when set.
		check func(t *testing.T, v devices.Venue)
	}{
		{name: "valid", edit: func(v *devices.Venue) {}},
		{name: "minimal: only required fields", edit: func(v *devices.Venue) {
			v.Address, v.Contact = "", devices.Contact{}
		}},
		{name: "name trimmed", edit: func(v *devices.Venue) { v.Name = "  Mall  " },
			check: func(t *testing.T, v devices.Venue) {
				if v.Name != "Mall" {
					t.Errorf("Name = %q, want Mall", v.Name)
				}
			}},
		{name: "name missing", edit: func(v *devices.Venue) { v.Name = "" }, wantFields: sorted("name")},
		{name: "name only spaces", edit: func(v *devices.Venue) { v.Name = " \t " }, wantFields: sorted("name")},
		{name: "name 200 runes of CJK", edit: func(v *devices.Venue) { v.Name = strings.Repeat("场", 200) }},
		{name: "name 201 runes", edit: func(v *devices.Venue) { v.Name = strings.Repeat("场", 201) }, wantFields: sorted("name")},
		{name: "name invalid UTF-8", edit: func(v *devices.Venue) { v.Name = "bad\xff" }, wantFields: sorted("name")},
		{name: "name with NUL", edit: func(v *devices.Venue) { v.Name = "a\x00b" }, wantFields: sorted("name")},
		{name: "kind empty", edit: func(v *devices.Venue) { v.Kind = "" }, wantFields: sorted("kind")},
		{name: "kind unknown", edit: func(v *devices.Venue) { v.Kind = "stadium" }, wantFields: sorted("kind")},
		{name: "kind upper-case is not a kind", edit: func(v *devices.Venue) { v.Kind = "AIRPORT" }, wantFields: sorted("kind")},
		{name: "kind other", edit: func(v *devices.Venue) { v.Kind = devices.VenueOther }},
		{name: "address 501 characters", edit: func(v *devices.Venue) { v.Address = strings.Repeat("a", 501) }, wantFields: sorted("address")},
		{name: "address 500 characters", edit: func(v *devices.Venue) { v.Address = strings.Repeat("a", 500) }},
		{name: "region GB/T 2260", edit: func(v *devices.Venue) { v.RegionCode = "310115" },
			check: wantRegion("310115")},
		{name: "region ISO 3166-2", edit: func(v *devices.Venue) { v.RegionCode = "CN-SH" },
			check: wantRegion("CN-SH")},
		{name: "region lower-case upper-cased and trimmed", edit: func(v *devices.Venue) { v.RegionCode = " cn-sh " },
			check: wantRegion("CN-SH")},
		{name: "region required", edit: func(v *devices.Venue) { v.RegionCode = "" }, wantFields: sorted("region_code")},
		{name: "region only spaces", edit: func(v *devices.Venue) { v.RegionCode = "   " }, wantFields: sorted("region_code")},
		{name: "region with space", edit: func(v *devices.Venue) { v.RegionCode = "CN SH" }, wantFields: sorted("region_code")},
		{name: "region with underscore", edit: func(v *devices.Venue) { v.RegionCode = "CN_SH" }, wantFields: sorted("region_code")},
		{name: "region with dot", edit: func(v *devices.Venue) { v.RegionCode = "310.115" }, wantFields: sorted("region_code")},
		{name: "region leading dash", edit: func(v *devices.Venue) { v.RegionCode = "-SH" }, wantFields: sorted("region_code")},
		{name: "region CJK", edit: func(v *devices.Venue) { v.RegionCode = "上海" }, wantFields: sorted("region_code")},
		{name: "region 16 characters", edit: func(v *devices.Venue) { v.RegionCode = strings.Repeat("1", 16) }},
		{name: "region 17 characters", edit: func(v *devices.Venue) { v.RegionCode = strings.Repeat("1", 17) }, wantFields: sorted("region_code")},
		{name: "lat and lon", edit: func(v *devices.Venue) { v.Lat, v.Lon = ptr(31.19), ptr(121.33) }},
		{name: "lat and lon at the limits", edit: func(v *devices.Venue) { v.Lat, v.Lon = ptr(-90.0), ptr(180.0) }},
		{name: "lat and lon zero", edit: func(v *devices.Venue) { v.Lat, v.Lon = ptr(0.0), ptr(0.0) }},
		{name: "lat without lon", edit: func(v *devices.Venue) { v.Lat = ptr(31.19) }, wantFields: sorted("lat")},
		{name: "lon without lat", edit: func(v *devices.Venue) { v.Lon = ptr(121.33) }, wantFields: sorted("lat")},
		{name: "lat above 90", edit: func(v *devices.Venue) { v.Lat, v.Lon = ptr(90.0001), ptr(0.0) }, wantFields: sorted("lat")},
		{name: "lat below -90", edit: func(v *devices.Venue) { v.Lat, v.Lon = ptr(-91.0), ptr(0.0) }, wantFields: sorted("lat")},
		{name: "lon above 180", edit: func(v *devices.Venue) { v.Lat, v.Lon = ptr(0.0), ptr(180.5) }, wantFields: sorted("lon")},
		{name: "lon below -180", edit: func(v *devices.Venue) { v.Lat, v.Lon = ptr(0.0), ptr(-181.0) }, wantFields: sorted("lon")},
		{name: "lat NaN", edit: func(v *devices.Venue) { v.Lat, v.Lon = ptr(math.NaN()), ptr(0.0) }, wantFields: sorted("lat")},
		{name: "lon NaN", edit: func(v *devices.Venue) { v.Lat, v.Lon = ptr(0.0), ptr(math.NaN()) }, wantFields: sorted("lon")},
		{name: "lat +Inf", edit: func(v *devices.Venue) { v.Lat, v.Lon = ptr(math.Inf(1)), ptr(0.0) }, wantFields: sorted("lat")},
		{name: "both NaN", edit: func(v *devices.Venue) { v.Lat, v.Lon = ptr(math.NaN()), ptr(math.NaN()) }, wantFields: sorted("lat", "lon")},
		{name: "lon NaN without lat", edit: func(v *devices.Venue) { v.Lon = ptr(math.NaN()) }, wantFields: sorted("lat", "lon")},
		{name: "time zone Asia/Urumqi", edit: func(v *devices.Venue) { v.TimeZone = "Asia/Urumqi" }},
		{name: "time zone UTC", edit: func(v *devices.Venue) { v.TimeZone = "UTC" }},
		{name: "time zone missing", edit: func(v *devices.Venue) { v.TimeZone = "" }, wantFields: sorted("time_zone")},
		{name: "time zone Local", edit: func(v *devices.Venue) { v.TimeZone = "Local" }, wantFields: sorted("time_zone")},
		{name: "time zone unknown", edit: func(v *devices.Venue) { v.TimeZone = "Asia/Atlantis" }, wantFields: sorted("time_zone")},
		{name: "time zone path traversal", edit: func(v *devices.Venue) { v.TimeZone = "../../etc/passwd" }, wantFields: sorted("time_zone")},
		{name: "time zone offset is not a zone", edit: func(v *devices.Venue) { v.TimeZone = "+08:00" }, wantFields: sorted("time_zone")},
		{name: "contact email invalid", edit: func(v *devices.Venue) { v.Contact.Email = "not-an-email" }, wantFields: sorted("contact.email")},
		{name: "contact email with display name", edit: func(v *devices.Venue) { v.Contact.Email = "Ops <ops@example.org>" }, wantFields: sorted("contact.email")},
		{name: "contact email with spaces", edit: func(v *devices.Venue) { v.Contact.Email = " ops@example.org" }, wantFields: sorted("contact.email")},
		{name: "contact email too long", edit: func(v *devices.Venue) {
			v.Contact.Email = strings.Repeat("a", 64) + "@" + strings.Repeat("b", 186) + ".org"
		}, wantFields: sorted("contact.email")},
		{name: "contact email empty is fine", edit: func(v *devices.Venue) { v.Contact.Email = "" }},
		{name: "contact name too long", edit: func(v *devices.Venue) { v.Contact.Name = strings.Repeat("x", 201) }, wantFields: sorted("contact.name")},
		{name: "contact phone too long", edit: func(v *devices.Venue) { v.Contact.Phone = strings.Repeat("1", 51) }, wantFields: sorted("contact.phone")},
		{
			name: "every bad field is listed",
			edit: func(v *devices.Venue) {
				*v = devices.Venue{Kind: "castle", Address: strings.Repeat("a", 501), RegionCode: "CN SH",
					Lat: ptr(100.0), Lon: ptr(math.NaN()), TimeZone: "Mars/Olympus",
					Contact: devices.Contact{Name: strings.Repeat("n", 201), Phone: strings.Repeat("1", 51), Email: "nope"}}
			},
			wantFields: sorted("name", "kind", "address", "region_code", "lat", "lon", "time_zone",
				"contact.name", "contact.phone", "contact.email"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := validVenue()
			tt.edit(&v)
			err := v.Validate()
			if diff := cmp.Diff(tt.wantFields, validationFields(t, err)); diff != "" {
				t.Errorf("Validate() = %v; fields (-want +got):\n%s", err, diff)
			}
			if tt.check != nil {
				tt.check(t, v)
			}
		})
	}
}

func wantRegion(want string) func(t *testing.T, v devices.Venue) {
	return func(t *testing.T, v devices.Venue) {
		t.Helper()
		if v.RegionCode != want {
			t.Errorf("RegionCode = %q, want %q", v.RegionCode, want)
		}
	}
}

func TestVenueKindValid(t *testing.T) {
	for _, k := range devices.VenueKinds {
		if !k.Valid() {
			t.Errorf("%q.Valid() = false, want true", k)
		}
	}
	for _, k := range []devices.VenueKind{"", "Airport", "stadium", "airport "} {
		if k.Valid() {
			t.Errorf("%q.Valid() = true, want false", k)
		}
	}
}

func TestVenueApply(t *testing.T) {
	tests := []struct {
		name  string
		start func(v *devices.Venue)
		patch devices.VenuePatch
		want  devices.Changes
		after func(t *testing.T, v devices.Venue)
	}{
		{name: "empty patch", want: devices.Changes{}},
		{
			name:  "same values are not changes",
			patch: devices.VenuePatch{Name: ptr("Hongqiao Airport T2"), Kind: ptr(devices.VenueAirport), TimeZone: ptr("Asia/Shanghai")},
			want:  devices.Changes{},
		},
		{
			name:  "name, kind and contact email",
			patch: devices.VenuePatch{Name: ptr("T1"), Kind: ptr(devices.VenueMall), ContactEmail: ptr("x@example.org")},
			want: devices.Changes{
				"name":          {From: "Hongqiao Airport T2", To: "T1"},
				"kind":          {From: devices.VenueAirport, To: devices.VenueMall},
				"contact.email": {From: "ops@example.org", To: "x@example.org"},
			},
		},
		{
			name:  "set coordinates",
			patch: devices.VenuePatch{Lat: pptr(31.2), Lon: pptr(121.3)},
			want:  devices.Changes{"lat": {From: nil, To: 31.2}, "lon": {From: nil, To: 121.3}},
		},
		{
			name:  "clear coordinates",
			start: func(v *devices.Venue) { v.Lat, v.Lon = ptr(31.2), ptr(121.3) },
			patch: devices.VenuePatch{Lat: clearPtr[float64](), Lon: clearPtr[float64]()},
			want:  devices.Changes{"lat": {From: 31.2, To: nil}, "lon": {From: 121.3, To: nil}},
			after: func(t *testing.T, v devices.Venue) {
				if v.Lat != nil || v.Lon != nil {
					t.Errorf("Lat, Lon = %v, %v, want nil, nil", v.Lat, v.Lon)
				}
			},
		},
		{
			name:  "same coordinates are not changes",
			start: func(v *devices.Venue) { v.Lat, v.Lon = ptr(31.2), ptr(121.3) },
			patch: devices.VenuePatch{Lat: pptr(31.2), Lon: pptr(121.3)},
			want:  devices.Changes{},
		},
		{
			name:  "clearing absent coordinates is not a change",
			patch: devices.VenuePatch{Lat: clearPtr[float64]()},
			want:  devices.Changes{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := validVenue()
			if tt.start != nil {
				tt.start(&v)
			}
			got := v.Apply(tt.patch)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Apply() changes (-want +got):\n%s", diff)
			}
			for field, ch := range got {
				if cmp.Equal(ch.From, ch.To) {
					t.Errorf("change %s has From == To == %v", field, ch.From)
				}
			}
			if tt.after != nil {
				tt.after(t, v)
			}
		})
	}
}
