package devices_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/calibd/calibd/devices"
)

// TestAgreementStateMachine: every (state, event) pair, the allowed ones
// with their target and every other one refused as invalid_transition.
func TestAgreementStateMachine(t *testing.T) {
	allowed := map[devices.AgreementState]map[devices.AgreementEvent]devices.AgreementState{
		devices.AgreementProposed: {devices.AgreementAccept: devices.AgreementAccepted, devices.AgreementReject: devices.AgreementRejected,
			devices.AgreementRevoke: devices.AgreementRevoked, devices.AgreementExpire: devices.AgreementExpired},
		devices.AgreementAccepted: {devices.AgreementSuspend: devices.AgreementSuspended, devices.AgreementRevoke: devices.AgreementRevoked,
			devices.AgreementExpire: devices.AgreementExpired},
		devices.AgreementSuspended: {devices.AgreementReinstate: devices.AgreementAccepted, devices.AgreementRevoke: devices.AgreementRevoked,
			devices.AgreementExpire: devices.AgreementExpired},
		devices.AgreementRejected: {},
		devices.AgreementRevoked:  {},
		devices.AgreementExpired:  {},
	}
	events := []devices.AgreementEvent{devices.AgreementAccept, devices.AgreementReject, devices.AgreementRevoke,
		devices.AgreementExpire, devices.AgreementSuspend, devices.AgreementReinstate}
	if len(allowed) != len(devices.AgreementStates) {
		t.Fatalf("the table covers %d states, the domain has %d", len(allowed), len(devices.AgreementStates))
	}
	for _, from := range devices.AgreementStates {
		for _, e := range events {
			got, err := from.Next(e)
			want, ok := allowed[from][e]
			switch {
			case ok && (err != nil || got != want):
				t.Errorf("%s.Next(%s) = %q, %v; want %q", from, e, got, err, want)
			case !ok:
				var ce *devices.ConflictError
				if !errors.As(err, &ce) || ce.Code != "invalid_transition" {
					t.Errorf("%s.Next(%s) = %q, %v; want invalid_transition", from, e, got, err)
				}
			}
		}
	}
	for s, live := range map[devices.AgreementState]bool{devices.AgreementProposed: true, devices.AgreementAccepted: true,
		devices.AgreementSuspended: true, devices.AgreementRejected: false, devices.AgreementRevoked: false, devices.AgreementExpired: false} {
		if s.Live() != live {
			t.Errorf("%s.Live() = %v, want %v", s, s.Live(), live)
		}
	}
}

func TestAgreementValidateProposal(t *testing.T) {
	contract := devices.MaintenanceContract{ID: "c", OnSiteCycleDays: 15, StartsOn: "2026-01-01", EndsOn: "2026-12-31"}
	ok := func() devices.CycleAgreement {
		return devices.CycleAgreement{OnSiteCycleDays: 30, RemoteIntervalDays: 7, ValidFrom: "2026-02-01", ValidTo: "2026-04-30",
			Reason: "epidemic: limit technician visits"}
	}
	tests := []struct {
		name   string
		edit   func(*devices.CycleAgreement)
		fields []string
	}{
		{"30-day cycle with weekly remote checks", func(*devices.CycleAgreement) {}, nil},
		{"at the bound", func(a *devices.CycleAgreement) { a.OnSiteCycleDays = 45 }, nil},
		{"above the bound", func(a *devices.CycleAgreement) { a.OnSiteCycleDays = 46 }, []string{"onsite_cycle_days"}},
		{"does not stretch", func(a *devices.CycleAgreement) { a.OnSiteCycleDays, a.RemoteIntervalDays = 15, 7 }, []string{"onsite_cycle_days"}},
		{"remote not more often", func(a *devices.CycleAgreement) { a.RemoteIntervalDays = 30 }, []string{"remote_interval_days"}},
		{"no remote checks", func(a *devices.CycleAgreement) { a.RemoteIntervalDays = 0 }, []string{"remote_interval_days"}},
		{"window reversed", func(a *devices.CycleAgreement) { a.ValidTo = "2026-01-15" }, []string{"valid_to"}},
		{"before the contract", func(a *devices.CycleAgreement) { a.ValidFrom = "2025-12-01" }, []string{"valid_from"}},
		{"after the contract", func(a *devices.CycleAgreement) { a.ValidTo = "2027-01-31" }, []string{"valid_to"}},
		{"no reason", func(a *devices.CycleAgreement) { a.Reason = "  " }, []string{"reason"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := ok()
			tt.edit(&a)
			err := a.ValidateProposal(contract, devices.DefaultMaxExtendedCycleDays)
			if tt.fields == nil {
				if err != nil {
					t.Fatalf("ValidateProposal = %v, want nil", err)
				}
				return
			}
			var ve *devices.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("ValidateProposal = %v, want a validation error", err)
			}
			var got []string
			for _, f := range ve.Fields {
				got = append(got, f.Field)
			}
			if strings.Join(got, ",") != strings.Join(tt.fields, ",") {
				t.Errorf("fields = %v, want %v", got, tt.fields)
			}
		})
	}
}

// TestNextOnSite: the due-date engine across agreement changes and
// contract ends.
func TestNextOnSite(t *testing.T) {
	contract := devices.MaintenanceContract{ID: "c", OnSiteCycleDays: 15, StartsOn: "2026-01-01", EndsOn: "2027-12-31"}
	agree := func(state devices.AgreementState, from, to string) devices.CycleAgreement {
		return devices.CycleAgreement{ID: "a", ContractID: "c", OnSiteCycleDays: 30, RemoteIntervalDays: 7, ValidFrom: from, ValidTo: to, State: state}
	}
	hist := func(last string) devices.MaintenanceHistory {
		return devices.MaintenanceHistory{LastOnSite: last, LastChecked: last, LastByCat: map[devices.MaintenanceCategory]string{}}
	}
	tests := []struct {
		name  string
		ags   []devices.CycleAgreement
		h     devices.MaintenanceHistory
		want  string
		cat   devices.MaintenanceCategory
		found bool
	}{
		{"first visit on the contract's first day", nil, hist(""), "2026-01-01", devices.CategoryHalfMonthly, true},
		{"contract cycle", nil, hist("2026-03-10"), "2026-03-25", devices.CategoryHalfMonthly, true},
		{"accepted agreement stretches", []devices.CycleAgreement{agree(devices.AgreementAccepted, "2026-03-01", "2026-06-30")},
			hist("2026-03-10"), "2026-04-09", devices.CategoryQuarterly, true},
		{"proposal does not", []devices.CycleAgreement{agree(devices.AgreementProposed, "2026-03-01", "2026-06-30")},
			hist("2026-03-10"), "2026-03-25", devices.CategoryHalfMonthly, true},
		{"suspended does not", []devices.CycleAgreement{agree(devices.AgreementSuspended, "2026-03-01", "2026-06-30")},
			hist("2026-03-10"), "2026-03-25", devices.CategoryHalfMonthly, true},
		{"ending agreement: contract cycle from the last visit", []devices.CycleAgreement{agree(devices.AgreementAccepted, "2026-03-01", "2026-03-20")},
			hist("2026-03-10"), "2026-03-25", devices.CategoryHalfMonthly, true},
		{"ending agreement: the day after it ends when the cycle ran out", []devices.CycleAgreement{agree(devices.AgreementAccepted, "2026-03-01", "2026-03-31")},
			hist("2026-03-02"), "2026-04-01", devices.CategoryQuarterly, true},
		{"agreement of another contract", []devices.CycleAgreement{{ID: "x", ContractID: "other", OnSiteCycleDays: 30, ValidFrom: "2026-01-01",
			ValidTo: "2026-12-31", State: devices.AgreementAccepted}}, hist("2026-03-10"), "2026-03-25", devices.CategoryHalfMonthly, true},
		{"past the contract's end", nil, hist("2027-12-20"), "", "", false},
		{"half-monthly only early on", nil, hist("2026-02-01"), "2026-02-16", devices.CategoryHalfMonthly, true},
		{"semi-annual short of a year", nil, hist("2026-12-16"), "2026-12-31", devices.CategorySemiAnnual, true},
		{"annual a year in", nil, hist("2026-12-17"), "2027-01-01", devices.CategoryAnnual, true},
		{"quarterly done recently", nil, devices.MaintenanceHistory{LastOnSite: "2026-04-10",
			LastByCat: map[devices.MaintenanceCategory]string{devices.CategoryQuarterly: "2026-04-10"}}, "2026-04-25", devices.CategoryHalfMonthly, true},
		{"semi-annual after half a year", nil, devices.MaintenanceHistory{LastOnSite: "2026-06-20",
			LastByCat: map[devices.MaintenanceCategory]string{devices.CategoryQuarterly: "2026-04-10"}}, "2026-07-05", devices.CategorySemiAnnual, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := devices.NextOnSite(contract, tt.ags, tt.h)
			if ok != tt.found || got.Day != tt.want || got.Category != tt.cat {
				t.Errorf("NextOnSite = %+v, %v; want %s %s, %v", got, ok, tt.want, tt.cat, tt.found)
			}
			if ok && got.Why == "" {
				t.Error("no explanation")
			}
		})
	}
}

func TestNextRemote(t *testing.T) {
	contract := devices.MaintenanceContract{ID: "c", OnSiteCycleDays: 15, StartsOn: "2026-01-01"}
	accepted := []devices.CycleAgreement{{ID: "a", ContractID: "c", OnSiteCycleDays: 30, RemoteIntervalDays: 7,
		ValidFrom: "2026-03-01", ValidTo: "2026-03-31", State: devices.AgreementAccepted}}
	tests := []struct {
		name       string
		ags        []devices.CycleAgreement
		last, seen string
		nextOnSite string
		want       string
	}{
		{"a week after the visit", accepted, "2026-03-02", "2026-03-02", "2026-04-01", "2026-03-09"},
		{"a week after the last remote check", accepted, "2026-03-02", "2026-03-16", "2026-04-01", "2026-03-23"},
		{"not on or after the next visit", accepted, "2026-03-02", "2026-03-23", "2026-03-30", ""},
		{"not after the agreement", accepted, "2026-03-02", "2026-03-27", "2026-04-10", ""},
		{"none without an agreement", nil, "2026-03-02", "2026-03-02", "2026-03-17", ""},
		{"none before any visit", accepted, "", "", "2026-03-01", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := devices.MaintenanceHistory{LastOnSite: tt.last, LastChecked: tt.seen}
			got, ag, ok := devices.NextRemote(contract, tt.ags, h, tt.nextOnSite)
			if got != tt.want || ok != (tt.want != "") || (ok && ag != "a") {
				t.Errorf("NextRemote = %q (%q), %v; want %q", got, ag, ok, tt.want)
			}
		})
	}
}

func TestNextPeriodicInspection(t *testing.T) {
	comm := time.Date(2019, 6, 30, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		from time.Time
		want time.Time
	}{
		{time.Date(2019, 7, 1, 0, 0, 0, 0, time.UTC), time.Date(2020, 6, 30, 0, 0, 0, 0, time.UTC)},   // year 1
		{time.Date(2020, 7, 1, 0, 0, 0, 0, time.UTC), time.Date(2023, 6, 30, 0, 0, 0, 0, time.UTC)},   // years 2-3 self-tested
		{time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC), time.Date(2028, 6, 30, 0, 0, 0, 0, time.UTC)}, // year 9 (8 is self-tested)
		{time.Date(2034, 7, 1, 0, 0, 0, 0, time.UTC), time.Date(2035, 6, 30, 0, 0, 0, 0, time.UTC)},   // year 16: yearly
		{time.Date(2028, 6, 30, 0, 0, 0, 0, time.UTC), time.Date(2028, 6, 30, 0, 0, 0, 0, time.UTC)},  // on the day
	}
	for _, tt := range tests {
		if got := devices.NextPeriodicInspection(comm, tt.from); !got.Equal(tt.want) {
			t.Errorf("NextPeriodicInspection(from %s) = %s, want %s", tt.from.Format(time.DateOnly), got.Format(time.DateOnly), tt.want.Format(time.DateOnly))
		}
	}
}

func TestChecklist(t *testing.T) {
	counts := map[devices.MaintenanceCategory]int{}
	seen := map[string]bool{}
	for _, it := range devices.Checklist {
		counts[it.Category]++
		if seen[it.Code] || it.Title == "" || !it.Category.Valid() {
			t.Errorf("item %+v: duplicate, untitled or without a category", it)
		}
		seen[it.Code] = true
	}
	want := map[devices.MaintenanceCategory]int{devices.CategoryHalfMonthly: 31, devices.CategoryQuarterly: 13,
		devices.CategorySemiAnnual: 15, devices.CategoryAnnual: 17}
	for c, n := range want {
		if counts[c] != n {
			t.Errorf("%s items = %d, want %d (TSG T5002 Appendix A)", c, counts[c], n)
		}
	}
	// Cumulative: 31, 44, 59, 76.
	for c, n := range map[devices.MaintenanceCategory]int{devices.CategoryHalfMonthly: 31, devices.CategoryQuarterly: 44,
		devices.CategorySemiAnnual: 59, devices.CategoryAnnual: 76} {
		if got := len(devices.ChecklistFor(c, false)); got != n {
			t.Errorf("ChecklistFor(%s) has %d items, want %d", c, got, n)
		}
	}
	remote := devices.ChecklistFor(devices.CategoryAnnual, true)
	for _, it := range remote {
		if it.Category != devices.CategoryHalfMonthly {
			t.Errorf("remote item %s is not a half-monthly item", it.Code)
		}
	}
	if it, ok := devices.ChecklistItemByCode("hm29"); !ok || it.Remote || !strings.Contains(it.Title, "7 mm") {
		t.Errorf("HM29 (lock engagement) = %+v, %v; want an on-site-only item", it, ok)
	}
	if _, ok := devices.ChecklistItemByCode("HM32"); ok {
		t.Error("HM32 exists")
	}
}
