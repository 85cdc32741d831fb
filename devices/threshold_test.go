package devices_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/calibd/calibd/devices"
)

func thAbove(metric string, limit float64) devices.Threshold {
	return devices.Threshold{Metric: metric, Bound: devices.BoundAbove, Limit: limit}
}

func thBelow(metric string, limit float64) devices.Threshold {
	return devices.Threshold{Metric: metric, Bound: devices.BoundBelow, Limit: limit}
}

func thInclusive(t devices.Threshold) devices.Threshold { t.Inclusive = true; return t }

// thresholdCase is one row of TestParseThresholds; the rows also seed
// FuzzParseThresholds.
type thresholdCase struct {
	name      string
	spec      string
	want      devices.Thresholds
	wantEntry int    // the entry the error names, from 1; 0 for success
	wantErr   string // a fragment of the reason
}

func thresholdCases() []thresholdCase {
	return []thresholdCase{
		{name: "default", spec: devices.DefaultLiftThresholds,
			want: devices.Thresholds{thAbove("leveling_error_mm", 10), thBelow("leveling_error_mm", -10)}},
		{name: "issue example", spec: "levelling_error_mm>10,machine_room_temp_c>40,machine_room_temp_c<0,vibration_mm_s>4.5",
			want: devices.Thresholds{thAbove("levelling_error_mm", 10), thAbove("machine_room_temp_c", 40), thBelow("machine_room_temp_c", 0),
				thAbove("vibration_mm_s", 4.5)}},
		{name: "inclusive operators and spaces", spec: " door_cycles >= 1e6 , machine_room_temp_c<= -5.5 ",
			want: devices.Thresholds{thInclusive(thAbove("door_cycles", 1e6)), thInclusive(thBelow("machine_room_temp_c", -5.5))}},
		{name: "explicit plus sign", spec: "x>+3", want: devices.Thresholds{thAbove("x", 3)}},
		{name: "none", spec: "none", want: devices.Thresholds{}},
		{name: "none in capitals", spec: " NONE ", want: devices.Thresholds{}},
		{name: "empty", spec: "", want: devices.Thresholds{}},
		{name: "blank", spec: "   ", want: devices.Thresholds{}},
		{name: "equal exclusive limits leave the limit in bounds", spec: "x>0,x<0", want: devices.Thresholds{thAbove("x", 0), thBelow("x", 0)}},
		{name: "limit at the metric range", spec: "x>1e15", want: devices.Thresholds{thAbove("x", 1e15)}},

		{name: "no operator", spec: "leveling_error_mm>10,vibration_mm_s", wantEntry: 2, wantErr: "want METRIC>LIMIT"},
		{name: "no metric", spec: ">10", wantEntry: 1, wantErr: "no metric name"},
		{name: "upper-case metric", spec: "Leveling_Error_mm>10", wantEntry: 1, wantErr: "metric name"},
		{name: "dotted metric", spec: "a>1,car.speed>2", wantEntry: 2, wantErr: "metric name"},
		{name: "metric too long", spec: strings.Repeat("m", 65) + ">1", wantEntry: 1, wantErr: "metric name"},
		{name: "reversed operator", spec: "x=>1", wantEntry: 1, wantErr: "metric name"},
		{name: "no limit", spec: "x>", wantEntry: 1, wantErr: "no limit"},
		{name: "doubled operator", spec: "vibration_mm_s>>4.5", wantEntry: 1, wantErr: "not a decimal number"},
		{name: "not a number", spec: "x>ten", wantEntry: 1, wantErr: "not a decimal number"},
		{name: "infinity", spec: "x>Inf", wantEntry: 1, wantErr: "not a decimal number"},
		{name: "NaN", spec: "x<NaN", wantEntry: 1, wantErr: "not a decimal number"},
		{name: "hex", spec: "x<0x10", wantEntry: 1, wantErr: "not a decimal number"},
		{name: "underscore digits", spec: "x<1_000", wantEntry: 1, wantErr: "not a decimal number"},
		{name: "overflow", spec: "x>1e400", wantEntry: 1, wantErr: "not a decimal number"},
		{name: "beyond the metric range", spec: "x<-2e15", wantEntry: 1, wantErr: "outside"},
		{name: "a unit on the limit", spec: "machine_room_temp_c>40C", wantEntry: 1, wantErr: "not a decimal number"},
		{name: "stray comma", spec: "x>1,,y<2", wantEntry: 2, wantErr: "empty"},
		{name: "trailing comma", spec: "x>1,", wantEntry: 2, wantErr: "empty"},
		{name: "two upper bounds", spec: "x>1,y<0,x>=2", wantEntry: 3, wantErr: "already has an upper bound in entry 1"},
		{name: "two lower bounds", spec: "x<1,x<2", wantEntry: 2, wantErr: "already has a lower bound"},
		{name: "crossed bounds", spec: "machine_room_temp_c>0,machine_room_temp_c<40", wantEntry: 2, wantErr: "every value"},
		{name: "inclusive at the same limit", spec: "x>=0,x<0", wantEntry: 2, wantErr: "every value"},
		{name: "none among entries", spec: "none,x>1", wantEntry: 1, wantErr: "want METRIC>LIMIT"},
		{name: "too many", spec: manyThresholds(devices.MaxThresholds + 1), wantEntry: devices.MaxThresholds + 1, wantErr: "more than"},
	}
}

// manyThresholds is n distinct valid entries.
func manyThresholds(n int) string {
	parts := make([]string, n)
	for i := range parts {
		op := ">1"
		if i%2 == 1 {
			op = "<0"
		}
		parts[i] = "m" + strings.Repeat("x", i/2) + op
	}
	return strings.Join(parts, ",")
}

func TestParseThresholds(t *testing.T) {
	for _, tt := range thresholdCases() {
		t.Run(tt.name, func(t *testing.T) {
			got, err := devices.ParseThresholds(tt.spec)
			if tt.wantEntry == 0 {
				if err != nil {
					t.Fatalf("ParseThresholds(%q) error = %v", tt.spec, err)
				}
				if got == nil {
					t.Errorf("ParseThresholds(%q) = nil, want a non-nil set", tt.spec)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("ParseThresholds(%q) (-want +got):\n%s", tt.spec, diff)
				}
				return
			}
			var te *devices.ThresholdError
			if !errors.As(err, &te) || te.Index != tt.wantEntry || !strings.Contains(te.Reason, tt.wantErr) {
				t.Fatalf("ParseThresholds(%q) = %v, %v; want an error naming entry %d with %q", tt.spec, got, err, tt.wantEntry, tt.wantErr)
			}
			if !strings.HasPrefix(err.Error(), "entry ") || !strings.Contains(err.Error(), te.Entry) {
				t.Errorf("error %q does not name the entry %q", err, te.Entry)
			}
		})
	}
}

func TestParseThresholdsManyOK(t *testing.T) {
	got, err := devices.ParseThresholds(manyThresholds(devices.MaxThresholds))
	if err != nil || len(got) != devices.MaxThresholds {
		t.Fatalf("ParseThresholds(%d entries) = %d, %v", devices.MaxThresholds, len(got), err)
	}
}

func TestThresholdsString(t *testing.T) {
	tests := []struct {
		in   devices.Thresholds
		want string
	}{
		{nil, "none"},
		{devices.Thresholds{}, "none"},
		{devices.Thresholds{thAbove("x", 10), thInclusive(thBelow("x", -0.5)), thInclusive(thAbove("y", 1e15))}, "x>10,x<=-0.5,y>=1e+15"},
	}
	for _, tt := range tests {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestThresholdBreaches(t *testing.T) {
	set := devices.Thresholds{thAbove("leveling_error_mm", 10), thBelow("leveling_error_mm", -10), thInclusive(thAbove("vibration_mm_s", 4.5)),
		thInclusive(thBelow("machine_room_temp_c", 0))}
	tests := []struct {
		name    string
		metrics map[string]float64
		want    []string // ThresholdBreach.String of each, in order
	}{
		{"in bounds", map[string]float64{"leveling_error_mm": 4.5, "vibration_mm_s": 1, "machine_room_temp_c": 22}, nil},
		{"at an exclusive limit", map[string]float64{"leveling_error_mm": 10}, nil},
		{"at the other exclusive limit", map[string]float64{"leveling_error_mm": -10}, nil},
		{"just above", map[string]float64{"leveling_error_mm": 10.01}, []string{"leveling_error_mm 10.01 is above 10"}},
		{"below", map[string]float64{"leveling_error_mm": -12}, []string{"leveling_error_mm -12 is below -10"}},
		{"at an inclusive limit", map[string]float64{"vibration_mm_s": 4.5}, []string{"vibration_mm_s 4.5 is above or at 4.5"}},
		{"at the inclusive lower limit", map[string]float64{"machine_room_temp_c": 0}, []string{"machine_room_temp_c 0 is below or at 0"}},
		{"several, in the set's order", map[string]float64{"machine_room_temp_c": -3, "vibration_mm_s": 9, "leveling_error_mm": 15, "door_cycles": 1e6},
			[]string{"leveling_error_mm 15 is above 10", "vibration_mm_s 9 is above or at 4.5", "machine_room_temp_c -3 is below or at 0"}},
		{"unbounded metrics only", map[string]float64{"door_cycles": 120311}, nil},
		{"no metrics", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 5 { // map order must not matter
				var got []string
				for _, b := range set.Breaches(tt.metrics) {
					if b.Value != tt.metrics[b.Metric] {
						t.Errorf("breach %v carries value %g, want %g", b, b.Value, tt.metrics[b.Metric])
					}
					got = append(got, b.String())
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Fatalf("Breaches(%v) (-want +got):\n%s", tt.metrics, diff)
				}
			}
		})
	}
	if got := devices.Thresholds(nil).Breaches(map[string]float64{"leveling_error_mm": 1e9}); got != nil {
		t.Errorf("an empty set breaches: %v", got)
	}
}
