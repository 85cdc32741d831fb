package main

import (
	"strings"
	"testing"
)

// TestRenderScheduleJudgesTheTargets: the tick table lists the smallest
// database first and judges the 1M tick and the 1M/100k ratio.
func TestRenderScheduleJudgesTheTargets(t *testing.T) {
	tick := func(devices int, median float64) ScheduleResult {
		return ScheduleResult{Devices: devices, Due: 10000, Runs: 1, PlanMS: []float64{median / 2}, VisitsMS: []float64{median / 2},
			TotalMS: []float64{median}, MedianMS: median}
	}
	tests := []struct {
		name  string
		ticks []ScheduleResult
		want  []string
	}{
		{"both met", []ScheduleResult{tick(1000000, 1200), tick(100000, 1000)},
			[]string{"| Tick at 1M registered < 5 s | 1200 ms | **met** |", "| Tick at 1M within 1.3× of 100k (same 10000 due) | 1.20× (1200 / 1000 ms) | **met** |"}},
		{"growth missed", []ScheduleResult{tick(100000, 1000), tick(1000000, 1400)},
			[]string{"| 1.40× (1400 / 1000 ms) | **missed** |"}},
		{"slow tick", []ScheduleResult{tick(1000000, 6000)}, []string{"| 6000 ms | **missed** |"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := renderSchedule(tt.ticks)
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("renderSchedule lacks %q:\n%s", w, out)
				}
			}
			if i, j := strings.Index(out, "| 100k |"), strings.Index(out, "| 1M |"); i > j && i >= 0 {
				t.Errorf("100k listed after 1M:\n%s", out)
			}
		})
	}
	if renderSchedule(nil) != "" {
		t.Error("no ticks should render nothing")
	}
}
