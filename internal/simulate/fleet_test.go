package simulate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/calibd/calibd/devices"
)

func TestCredentialsFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fleet.csv")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	fleet := RandomFleet(2, 1, 1)
	for i := range fleet {
		fleet[i].Secret = "cds_secret," + string(rune('a'+i))
	}
	if err := WriteCredentials(path, fleet); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("credentials file mode %v, want 0600 (it holds secrets)", st.Mode().Perm())
	}
	got, err := ReadCredentials(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fleet, got); diff != "" {
		t.Errorf("read back (-wrote +read):\n%s", diff)
	}
}

func TestParseCredentials(t *testing.T) {
	const id = "0190b5c2-0000-7000-8000-000000000001"
	tests := []struct {
		name    string
		in      string
		want    []Device
		wantErr string
	}{
		{"plain", "device_id,kind,secret\n" + id + ",thermometer,cds_x\n",
			[]Device{{ID: id, Kind: devices.DeviceThermometer, Secret: "cds_x"}}, ""},
		{"reordered with a reference and a blank line", "kind,secret,device_id,reference_c\n\nelevator,," + strings.ToUpper(id) + ",\nthermometer,s," + id[:35] + "2,35.5\n",
			[]Device{{ID: id, Kind: devices.DeviceElevator}, {ID: id[:35] + "2", Kind: devices.DeviceThermometer, Secret: "s", ReferenceC: 35.5}}, ""},
		{"empty", "", nil, "empty file"},
		{"no rows", "device_id,kind,secret\n", nil, "no devices"},
		{"missing column", "device_id,secret\n", nil, `no "kind" column`},
		{"bad id", "device_id,kind,secret\nT-1,thermometer,x\n", nil, "line 2: device_id"},
		{"bad kind", "device_id,kind,secret\n" + id + ",scale,x\n", nil, "line 2: kind"},
		{"twice", "device_id,kind,secret\n" + id + ",thermometer,x\n" + id + ",thermometer,y\n", nil, "line 3: device " + id + " listed twice"},
		{"bad reference", "device_id,kind,secret,reference_c\n" + id + ",thermometer,x,hot\n", nil, "line 2: reference_c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseCredentials(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseCredentials(%q) = %v, want an error containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parseCredentials(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestSelect(t *testing.T) {
	fleet := RandomFleet(3, 2, 1)
	tests := []struct {
		therms, lifts int
		want          []Device
		wantErr       bool
	}{
		{-1, -1, fleet, false},
		{2, 0, fleet[:2], false},
		{1, -1, []Device{fleet[0], fleet[3], fleet[4]}, false},
		{0, 1, fleet[3:4], false},
		{4, 0, nil, true},
		{0, 0, nil, true},
	}
	for _, tt := range tests {
		got, err := Select(fleet, tt.therms, tt.lifts)
		if (err != nil) != tt.wantErr {
			t.Fatalf("Select(%d, %d) error %v, want error %v", tt.therms, tt.lifts, err, tt.wantErr)
		}
		if diff := cmp.Diff(tt.want, got); !tt.wantErr && diff != "" {
			t.Errorf("Select(%d, %d) (-want +got):\n%s", tt.therms, tt.lifts, diff)
		}
	}
}

func TestRandomFleet(t *testing.T) {
	a, b := RandomFleet(50, 5, 3), RandomFleet(50, 5, 3)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("same seed, another fleet:\n%s", diff)
	}
	ids := map[string]bool{}
	for i, d := range a {
		if _, _, _, err := devices.ParseTopic(devices.DeviceTopic(d.ID, devices.MessageChecks, false)); err != nil {
			t.Fatalf("device id %q makes no device topic: %v", d.ID, err)
		}
		if ids[d.ID] {
			t.Fatalf("id %s twice", d.ID)
		}
		ids[d.ID] = true
		if want := i >= 50; (d.Kind == devices.DeviceElevator) != want {
			t.Errorf("device %d is a %s", i, d.Kind)
		}
	}
}
