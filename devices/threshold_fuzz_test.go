package devices_test

import (
	"errors"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/calibd/calibd/devices"
)

// FuzzParseThresholds: whatever LIFT_THRESHOLDS holds, ParseThresholds
// never panics; an error names an entry of the spec as written; a set it
// accepts is valid, round-trips through String, and breaches at each limit
// exactly when the bound is inclusive. Seeded from TestParseThresholds'
// table.
func FuzzParseThresholds(f *testing.F) {
	for _, tt := range thresholdCases() {
		f.Add(tt.spec)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		got, err := devices.ParseThresholds(spec)
		if err != nil {
			var te *devices.ThresholdError
			if !errors.As(err, &te) {
				t.Fatalf("ParseThresholds(%q) error %v (%T) is not a *ThresholdError", spec, err, err)
			}
			entries := strings.Split(strings.TrimSpace(spec), ",")
			if te.Index < 1 || te.Index > len(entries) || strings.TrimSpace(entries[te.Index-1]) != te.Entry || te.Reason == "" {
				t.Fatalf("ParseThresholds(%q) error %+v does not name an entry of the spec", spec, te)
			}
			if !strings.HasPrefix(err.Error(), "entry "+strconv.Itoa(te.Index)+" ") {
				t.Fatalf("error %q does not start with its entry number", err)
			}
			if got != nil {
				t.Fatalf("ParseThresholds(%q) returned %v with an error", spec, got)
			}
			return
		}
		if got == nil || len(got) > devices.MaxThresholds {
			t.Fatalf("ParseThresholds(%q) = %#v", spec, got)
		}
		for _, th := range got {
			if th.Metric == "" || len(th.Metric) > 64 || strings.Trim(th.Metric, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" ||
				(th.Bound != devices.BoundAbove && th.Bound != devices.BoundBelow) ||
				math.IsNaN(th.Limit) || math.Abs(th.Limit) > devices.MaxMetricValue {
				t.Fatalf("ParseThresholds(%q) accepted %#v", spec, th)
			}
			at := devices.Thresholds{th}.Breaches(map[string]float64{th.Metric: th.Limit})
			if (len(at) == 1) != th.Inclusive {
				t.Fatalf("%s at its limit: breaches %v (inclusive %v)", th, at, th.Inclusive)
			}
		}
		again, err := devices.ParseThresholds(got.String())
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Fatalf("ParseThresholds(%q) = %v; its String %q reads back as %v, %v", spec, got, got.String(), again, err)
		}
	})
}
