package devices_test

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/calibd/calibd/devices"
)

// remoteItems is a complete remote report: every remotely checkable
// half-monthly item ok, and the brake gap listed as not checkable.
func remoteItems() []devices.ItemCheck {
	var out []devices.ItemCheck
	for _, it := range devices.ChecklistFor(devices.CategoryHalfMonthly, true) {
		out = append(out, devices.ItemCheck{Code: it.Code, Result: devices.ItemOK})
	}
	return append(out, devices.ItemCheck{Code: "HM05", Result: devices.ItemNotCheckableRemotely})
}

func TestReportValidate(t *testing.T) {
	now := time.Date(2026, 3, 20, 10, 0, 0, 0, time.UTC)
	hash := strings.Repeat("ab", 32)
	remote := func() devices.MaintenanceReport {
		return devices.MaintenanceReport{Kind: devices.ReportRemote, PerformedAt: now.Add(-time.Hour), Technician: "Wang Lei",
			VenuePerson: "Duty manager Li", Items: remoteItems(),
			Evidence: []devices.Evidence{{URL: "https://video.example.org/r/1.mp4", SHA256: hash, DurationSeconds: 420, CapturedAt: now.Add(-time.Hour)}}}
	}
	onsite := func(c devices.MaintenanceCategory) devices.MaintenanceReport {
		r := devices.MaintenanceReport{Kind: devices.ReportOnSite, Category: c, PerformedAt: now, Technician: "Wang Lei"}
		for _, it := range devices.ChecklistFor(c, false) {
			r.Items = append(r.Items, devices.ItemCheck{Code: it.Code, Result: devices.ItemOK})
		}
		return r
	}
	tests := []struct {
		name   string
		r      func() devices.MaintenanceReport
		fields []string
	}{
		{"complete remote inspection", remote, nil},
		{"complete quarterly on site", func() devices.MaintenanceReport { return onsite(devices.CategoryQuarterly) }, nil},
		{"evidence without a hash", func() devices.MaintenanceReport {
			r := remote()
			r.Evidence[0].SHA256 = ""
			return r
		}, []string{"evidence[0].sha256"}},
		{"no evidence, no venue person", func() devices.MaintenanceReport {
			r := remote()
			r.Evidence, r.VenuePerson = nil, " "
			return r
		}, []string{"venue_person", "evidence"}},
		{"bad evidence", func() devices.MaintenanceReport {
			r := remote()
			r.Evidence[0] = devices.Evidence{URL: "ftp://x/y", SHA256: strings.Repeat("g", 64), DurationSeconds: -1, CapturedAt: now.Add(48 * time.Hour)}
			return r
		}, []string{"evidence[0].url", "evidence[0].sha256", "evidence[0].duration_s", "evidence[0].captured_at"}},
		{"unknown item", func() devices.MaintenanceReport {
			r := remote()
			r.Items = append(r.Items, devices.ItemCheck{Code: "HM99", Result: devices.ItemOK})
			return r
		}, []string{"items[" + strconv.Itoa(len(remoteItems())) + "].code"}},
		{"item outside the category", func() devices.MaintenanceReport {
			r := onsite(devices.CategoryHalfMonthly)
			r.Items = append(r.Items, devices.ItemCheck{Code: "A03", Result: devices.ItemOK})
			return r
		}, []string{"items[31].code"}},
		{"brake checked over video", func() devices.MaintenanceReport {
			r := remote()
			r.Items[len(r.Items)-1].Result = devices.ItemOK
			return r
		}, []string{"items[" + strconv.Itoa(len(remoteItems())-1) + "].result"}},
		{"not ok without a note", func() devices.MaintenanceReport {
			r := remote()
			r.Items[0].Result = devices.ItemNotOK
			return r
		}, []string{"items[0].note"}},
		{"a missing item", func() devices.MaintenanceReport {
			r := onsite(devices.CategoryAnnual)
			r.Items = r.Items[1:]
			return r
		}, []string{"items"}},
		{"not checkable on site", func() devices.MaintenanceReport {
			r := onsite(devices.CategoryHalfMonthly)
			r.Items[4].Result = devices.ItemNotCheckableRemotely
			return r
		}, []string{"items[4].result"}},
		{"repeated item", func() devices.MaintenanceReport {
			r := onsite(devices.CategoryHalfMonthly)
			r.Items = append(r.Items, r.Items[0])
			return r
		}, []string{"items[31].code"}},
		{"future, no technician, no category", func() devices.MaintenanceReport {
			r := onsite(devices.CategoryHalfMonthly)
			r.PerformedAt, r.Technician, r.Category = now.Add(time.Hour), "", "monthly"
			return r
		}, []string{"performed_at", "technician", "category"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.r()
			err := r.Validate(now)
			if tt.fields == nil {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			var ve *devices.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate = %v, want a validation error", err)
			}
			var got []string
			for _, f := range ve.Fields {
				got = append(got, f.Field)
			}
			for _, f := range tt.fields {
				if !slices.Contains(got, f) {
					t.Errorf("fields %v lack %s", got, f)
				}
			}
			if len(got) != len(tt.fields) {
				t.Errorf("fields = %v, want exactly %v", got, tt.fields)
			}
		})
	}
	r := remote()
	r.Items[0] = devices.ItemCheck{Code: r.Items[0].Code, Result: devices.ItemNotOK, Note: "machine room light out"}
	if err := r.Validate(now); err != nil {
		t.Fatal(err)
	}
	if f, n := r.Failed(), r.NotCheckable(); !slices.Equal(f, []string{"HM01"}) || !slices.Equal(n, []string{"HM05"}) {
		t.Errorf("Failed = %v, NotCheckable = %v", f, n)
	}
}
