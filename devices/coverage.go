package devices

import (
	"context"
	"time"
)

// CoverageRow counts the thermometers in service (every status but
// retired) in the venues of one region code and venue kind. A thermometer
// counts once in each column that applies to it, so the columns do not
// add up to Total:
//
//   - DueSoon and Overdue are its due state (DueStateAt in its venue's
//     time zone, with the store's due-soon horizon);
//   - OutOfTolerance: its status says so, or an out_of_tolerance alert is
//     not resolved;
//   - Drifting: a drift or predicted_drift alert is not resolved;
//   - Silent: a silent alert is not resolved.
type CoverageRow struct {
	RegionCode     string
	VenueKind      VenueKind
	Total          int
	DueSoon        int
	Overdue        int
	OutOfTolerance int
	Drifting       int
	Silent         int
}

// Coverage is the regulator's view of the whole fleet: one row per region
// code and venue kind that has thermometers, ordered by region then kind.
type Coverage struct {
	Rows []CoverageRow
	// At is the instant the due states were judged at; HorizonDays is how
	// many days ahead a due date counts as due soon.
	At          time.Time
	HorizonDays int
}

// Totals sums the rows.
func (c Coverage) Totals() CoverageRow {
	var t CoverageRow
	for _, r := range c.Rows {
		t.Total += r.Total
		t.DueSoon += r.DueSoon
		t.Overdue += r.Overdue
		t.OutOfTolerance += r.OutOfTolerance
		t.Drifting += r.Drifting
		t.Silent += r.Silent
	}
	return t
}

// CoverageStore aggregates the fleet for the regulator.
type CoverageStore interface {
	// Coverage counts every thermometer not retired by region and venue
	// kind, in one pass over the registry however large it is. Only the
	// regulator watches coverage: anyone else gets ErrForbidden, as the
	// API's other regulator-only collection (the scheduler jobs) answers.
	Coverage(ctx context.Context, a Actor) (Coverage, error)
}
