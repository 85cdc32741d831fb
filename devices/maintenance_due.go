package devices

import (
	"fmt"
	"slices"
	"time"
)

// MaintenanceHistory is what the due-date engine needs to know of a lift:
// the day of its last on-site maintenance, the last day each category was
// done on site ("" for never) and the last day it was checked at all,
// on site or remotely.
type MaintenanceHistory struct {
	LastOnSite  string
	LastByCat   map[MaintenanceCategory]string
	LastChecked string
}

// MaintenanceDue is the next on-site maintenance of a lift: its day, the
// category it must cover and why.
type MaintenanceDue struct {
	Day      string
	Category MaintenanceCategory
	Why      string
}

func addDays(day string, n int) string {
	t, err := time.Parse(DateLayout, day)
	if err != nil {
		return day
	}
	return t.AddDate(0, 0, n).Format(DateLayout)
}

func laterDay(a, b string) string {
	if a > b {
		return a
	}
	return b
}

func earlierDay(a, b string) string {
	if a < b {
		return a
	}
	return b
}

// NextOnSite is the lift's next on-site maintenance under contract c and
// its agreements, and false when none falls within the contract. The
// first is due the day the contract starts. After that it is due a cycle
// after the last one: the cycle of the accepted agreement in force on that
// day, but once the agreement ends (or is suspended or revoked, when it no
// longer governs) the contract's own cycle counts again from the last
// visit, and never later than the day after the agreement's window.
// The category is the largest whose period has run since it was last done
// (or since the contract started): T5002's categories are cumulative.
func NextOnSite(c MaintenanceContract, agreements []CycleAgreement, h MaintenanceHistory) (MaintenanceDue, bool) {
	var due MaintenanceDue
	if h.LastOnSite == "" || h.LastOnSite < c.StartsOn {
		due.Day, due.Why = c.StartsOn, "first maintenance under the contract, due when it starts"
	} else {
		cyc := CycleOn(c, agreements, h.LastOnSite)
		normal := addDays(h.LastOnSite, c.OnSiteCycleDays)
		due.Day = normal
		due.Why = fmt.Sprintf("%d-day cycle of the contract after the visit of %s", c.OnSiteCycleDays, h.LastOnSite)
		if cyc.AgreementID != "" {
			stretched := addDays(h.LastOnSite, cyc.OnSiteDays)
			limit := laterDay(normal, addDays(cyc.AgreementUntil, 1))
			due.Day = earlierDay(stretched, limit)
			if due.Day == stretched {
				due.Why = fmt.Sprintf("%d-day cycle of agreement %s after the visit of %s", cyc.OnSiteDays, cyc.AgreementID, h.LastOnSite)
			} else {
				due.Why = fmt.Sprintf("agreement %s ends on %s: the contract's %d-day cycle applies again after the visit of %s",
					cyc.AgreementID, cyc.AgreementUntil, c.OnSiteCycleDays, h.LastOnSite)
			}
		}
	}
	if !c.ActiveOn(due.Day) {
		return MaintenanceDue{}, false
	}
	due.Category = CategoryHalfMonthly
	for _, cat := range MaintenanceCategories[1:] {
		since := h.LastByCat[cat]
		if since == "" || since < c.StartsOn {
			since = c.StartsOn
		}
		if addDays(since, cat.PeriodDays()) <= due.Day {
			due.Category = cat
		}
	}
	return due, true
}

// NextRemote is the lift's next remote inspection: RemoteDays after it
// was last checked (on site or remotely), while the agreement in force
// then still governs that day and it comes before the next on-site visit.
// False when no remote inspection is due before that visit.
func NextRemote(c MaintenanceContract, agreements []CycleAgreement, h MaintenanceHistory, nextOnSite string) (string, string, bool) {
	last := laterDay(h.LastChecked, h.LastOnSite)
	if last == "" {
		return "", "", false
	}
	cyc := CycleOn(c, agreements, last)
	if cyc.RemoteDays == 0 {
		return "", "", false
	}
	day := addDays(last, cyc.RemoteDays)
	if (nextOnSite != "" && day >= nextOnSite) || day > cyc.AgreementUntil || !c.ActiveOn(day) {
		return "", "", false
	}
	return day, cyc.AgreementID, true
}

// PeriodicInspectionYears are the years after commissioning in which TSG
// T7001-2023 puts a lift's periodic inspection; from year 16 on it is
// yearly (DOMAIN.md §4.1). Other years are self-tested (TSG T7008-2023).
var PeriodicInspectionYears = []int{1, 4, 7, 9, 11, 13, 15}

// NextPeriodicInspection is the first periodic-inspection anniversary of
// the commissioning date on or after from.
func NextPeriodicInspection(commissioned time.Time, from time.Time) time.Time {
	c := commissioned.UTC()
	for year := 1; year < 200; year++ {
		if year <= 15 && !slices.Contains(PeriodicInspectionYears, year) {
			continue
		}
		at := time.Date(c.Year()+year, c.Month(), c.Day(), 0, 0, 0, 0, time.UTC)
		if !at.Before(from) {
			return at
		}
	}
	return time.Time{}
}
