package devices

import (
	"slices"
	"testing"
	"time"
)

// TestNextRemoteFrom: a missed remote inspection does not stop the next;
// the day moves on by the interval, still before the next visit and within
// the agreement.
func TestNextRemoteFrom(t *testing.T) {
	c := MaintenanceContract{ID: "c", StartsOn: "2026-03-01", OnSiteCycleDays: 15}
	ag := []CycleAgreement{{ID: "g", ContractID: "c", OnSiteCycleDays: 30, RemoteIntervalDays: 7, ValidFrom: "2026-03-01",
		ValidTo: "2026-04-30", State: AgreementAccepted}}
	h := MaintenanceHistory{LastOnSite: "2026-03-01", LastChecked: "2026-03-01"}
	tests := []struct {
		name, today, want string
		ok                bool
	}{
		{"due ahead", "2026-03-05", "2026-03-08", true},
		{"due today", "2026-03-08", "2026-03-08", true},
		{"missed once", "2026-03-09", "2026-03-15", true},
		{"missed twice", "2026-03-16", "2026-03-22", true},
		{"the next would reach the visit", "2026-03-30", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, agID, ok := NextRemoteFrom(c, ag, h, "2026-03-31", tt.today)
			if got != tt.want || ok != tt.ok || (ok && agID != "g") {
				t.Errorf("NextRemoteFrom(today %s) = %q, %q, %v; want %q, %v", tt.today, got, agID, ok, tt.want, tt.ok)
			}
		})
	}
}

// TestLiftHistory: days in the venue's zone, cumulative categories, and
// the items remote checks since the last visit could not check.
func TestLiftHistory(t *testing.T) {
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Skip(err)
	}
	reports := []MaintenanceReport{
		{Kind: ReportRemote, PerformedAt: time.Date(2026, 2, 20, 3, 0, 0, 0, time.UTC), CarriedOver: []string{"HM02"}},
		{Kind: ReportOnSite, Category: CategoryQuarterly, PerformedAt: time.Date(2026, 3, 1, 17, 0, 0, 0, time.UTC)}, // 03-02 locally
		{Kind: ReportRemote, PerformedAt: time.Date(2026, 3, 8, 3, 0, 0, 0, time.UTC), CarriedOver: []string{"HM31", "HM04"}},
		{Kind: ReportRemote, PerformedAt: time.Date(2026, 3, 15, 3, 0, 0, 0, time.UTC), CarriedOver: []string{"HM04"}},
	}
	h, carried := LiftHistory(reports, sh)
	if h.LastOnSite != "2026-03-02" || h.LastChecked != "2026-03-15" || h.LastByCat[CategoryHalfMonthly] != "2026-03-02" ||
		h.LastByCat[CategoryQuarterly] != "2026-03-02" || h.LastByCat[CategoryAnnual] != "" {
		t.Errorf("history = %+v", h)
	}
	if want := []string{"HM04", "HM31"}; !slices.Equal(carried, want) {
		t.Errorf("carried = %v, want %v (since the last visit, in checklist order)", carried, want)
	}
}
