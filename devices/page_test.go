package devices_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/calibd/calibd/devices"
)

func TestPageNormalize(t *testing.T) {
	tests := []struct {
		name      string
		in        devices.Page
		wantLimit int
		wantErr   bool
	}{
		{name: "zero takes the default", in: devices.Page{}, wantLimit: devices.DefaultLimit},
		{name: "one", in: devices.Page{Limit: 1}, wantLimit: 1},
		{name: "max", in: devices.Page{Limit: devices.MaxLimit}, wantLimit: devices.MaxLimit},
		{name: "above max", in: devices.Page{Limit: devices.MaxLimit + 1}, wantLimit: devices.MaxLimit + 1, wantErr: true},
		{name: "negative", in: devices.Page{Limit: -1}, wantLimit: -1, wantErr: true},
		{name: "cursor kept", in: devices.Page{Limit: 10, Cursor: "abc"}, wantLimit: 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.in
			err := p.Normalize()
			if tt.wantErr {
				if diff := cmp.Diff([]string{"limit"}, validationFields(t, err)); diff != "" {
					t.Errorf("Normalize() = %v; fields (-want +got):\n%s", err, diff)
				}
			} else if err != nil {
				t.Errorf("Normalize() = %v, want nil", err)
			}
			if p.Limit != tt.wantLimit || p.Cursor != tt.in.Cursor {
				t.Errorf("after Normalize = %+v, want limit %d cursor %q", p, tt.wantLimit, tt.in.Cursor)
			}
		})
	}
	if devices.DefaultLimit != 50 || devices.MaxLimit != 500 {
		t.Errorf("limits = %d, %d; the error message says 1..500", devices.DefaultLimit, devices.MaxLimit)
	}
}

func TestIsUUID(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"3f2b8c1e-9d4a-4b7e-8f21-6c5d0e9a1b23", true},
		{"3F2B8C1E-9D4A-4B7E-8F21-6C5D0E9A1B23", true},
		{"00000000-0000-0000-0000-000000000000", true},
		{"3f2b8c1e-9d4a-4b7e-8f21-6c5d0e9a1b2", false},   // 35
		{"3f2b8c1e-9d4a-4b7e-8f21-6c5d0e9a1b234", false}, // 37
		{"3f2b8c1e9d4a4b7e8f216c5d0e9a1b23", false},      // no dashes
		{"{3f2b8c1e-9d4a-4b7e-8f21-6c5d0e9a1b2}", false},
		{"3f2b8c1e-9d4a-4b7e-8f21_6c5d0e9a1b23", false}, // wrong separator
		{"3f2b8c1e-9d4a-4b7e-8f2-16c5d0e9a1b23", false}, // dash misplaced
		{"3f2b8c1g-9d4a-4b7e-8f21-6c5d0e9a1b23", false}, // g
		{"3f2b8c1e-9d4a-4b7e-8f21-6c5d0e9a1b2 ", false},
		{"3f2b8c1e-9d4a-4b7e-8f21-6c5d0e9a1b\u00e9", false}, // 36 bytes, non-ASCII
		{"", false},
	}
	for _, tt := range tests {
		if got := devices.IsUUID(tt.in); got != tt.want {
			t.Errorf("IsUUID(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestToleranceProfileFits(t *testing.T) {
	tests := []struct {
		name    string
		profile devices.ToleranceProfile
		typ     devices.ThermometerType
		want    bool
	}{
		{"ear fits ear", earProfile, devices.TypeIREar, true},
		{"ear does not fit forehead", earProfile, devices.TypeIRForehead, false},
		{"skin fits screening", skinProfile, devices.TypeIRScreening, true},
		{"skin fits forehead", skinProfile, devices.TypeIRForehead, true},
		{"skin does not fit contact", skinProfile, devices.TypeMedicalContact, false},
		{"empty profile fits nothing", devices.ToleranceProfile{}, devices.TypeIREar, false},
		{"empty type", earProfile, "", false},
	}
	for _, tt := range tests {
		if got := tt.profile.Fits(tt.typ); got != tt.want {
			t.Errorf("%s: Fits(%q) = %v, want %v", tt.name, tt.typ, got, tt.want)
		}
	}
}

func TestDefaultProfileCoversEveryType(t *testing.T) {
	want := map[devices.ThermometerType]string{
		devices.TypeIREar:          "jjg1164_ear",
		devices.TypeIRForehead:     "jjf1107_forehead",
		devices.TypeIRScreening:    "jjf1107_screening",
		devices.TypeMedicalContact: "jjg1162_contact",
	}
	if diff := cmp.Diff(want, devices.DefaultProfile); diff != "" {
		t.Errorf("DefaultProfile (-want +got):\n%s", diff)
	}
	for _, typ := range devices.ThermometerTypes {
		if devices.DefaultProfile[typ] == "" {
			t.Errorf("no default profile for %q", typ)
		}
	}
}
