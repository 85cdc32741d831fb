package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/calibd/calibd/devices"
)

// coverageRow is one group of the coverage query.
type coverageRow struct {
	RegionCode     string
	VenueKind      string
	Total          int
	DueSoon        int
	Overdue        int
	OutOfTolerance int
	Drifting       int
	Silent         int
}

// Coverage implements devices.CoverageStore.
//
// The fleet is counted by the database in one grouped scan of thermometers
// joined to their venues, never row by row in Go, so the cost is one pass
// over the registry (and the few alerts not resolved) at any size.
//
// Due states are judged exactly as devices.DueStateAt judges them, without
// time zone arithmetic in SQL (SQLite has no time zone database): a due
// date is a calendar date in the venue's zone, so "overdue" (its date is
// before today there) is next_due_at < the UTC instant today began there,
// and "due soon" (today up to HorizonDays days on) is next_due_at in
// [that instant, the instant the day after the horizon begins there).
// Both instants come from devices.NextDue, which handles DST and a
// midnight skipped by it, for each zone the venues use (a handful: the
// venues are read for their distinct zones first), and the query compares
// each row with its venue zone's pair. The two can differ only in a zone
// whose clock goes back across midnight, for a due date within the hour
// repeated. Comparing instants keeps the query a plain range test that
// both dialects run alike; judging each row in Go would read a million
// rows to count them.
//
// A venue in a zone no venue used a moment earlier, registered between the
// two reads, counts in Total but in no due column until the next load.
func (s *Store) Coverage(ctx context.Context, a devices.Actor) (devices.Coverage, error) {
	if !a.IsRegulator() {
		return devices.Coverage{}, devices.Forbidden("only the regulator watches coverage")
	}
	now := s.now()
	out := devices.Coverage{At: now, HorizonDays: s.dueHorizon, Rows: []devices.CoverageRow{}}
	db := s.db.WithContext(ctx)
	var zones []string
	if err := db.Model(&venueRow{}).Distinct("time_zone").Order("time_zone").Pluck("time_zone", &zones).Error; err != nil {
		return out, fmt.Errorf("coverage zones: %w", err)
	}
	if len(zones) == 0 {
		return out, nil
	}
	var soon, overdue []string
	var soonArgs, overdueArgs []any
	for _, name := range zones {
		loc := s.zone(name)
		today := devices.NextDue(now, 0, loc)
		after := devices.NextDue(now, s.dueHorizon+1, loc)
		overdue = append(overdue, "(v.time_zone = ? AND t.next_due_at < ?)")
		overdueArgs = append(overdueArgs, name, today)
		soon = append(soon, "(v.time_zone = ? AND t.next_due_at >= ? AND t.next_due_at < ?)")
		soonArgs = append(soonArgs, name, today, after)
	}
	// The alerts not resolved, one row per thermometer with flags (at most
	// one alert per device and kind is not resolved: alerts_one_open), so
	// the join does not multiply thermometers.
	active := `SELECT device_id,
		MAX(CASE WHEN kind = ? THEN 1 ELSE 0 END) AS oot,
		MAX(CASE WHEN kind IN (?, ?) THEN 1 ELSE 0 END) AS drifting,
		MAX(CASE WHEN kind = ? THEN 1 ELSE 0 END) AS silent
	FROM alerts WHERE state <> ? AND device_kind = ? GROUP BY device_id`
	query := `SELECT v.region_code AS region_code, v.kind AS venue_kind, COUNT(*) AS total,
		SUM(CASE WHEN ` + strings.Join(soon, " OR ") + ` THEN 1 ELSE 0 END) AS due_soon,
		SUM(CASE WHEN ` + strings.Join(overdue, " OR ") + ` THEN 1 ELSE 0 END) AS overdue,
		SUM(CASE WHEN t.status = ? OR COALESCE(al.oot, 0) = 1 THEN 1 ELSE 0 END) AS out_of_tolerance,
		SUM(COALESCE(al.drifting, 0)) AS drifting,
		SUM(COALESCE(al.silent, 0)) AS silent
	FROM thermometers t
	JOIN venues v ON v.id = t.venue_id
	LEFT JOIN (` + active + `) al ON al.device_id = t.id
	WHERE t.status <> ?
	GROUP BY v.region_code, v.kind
	ORDER BY v.region_code, v.kind`
	args := append(soonArgs, overdueArgs...)
	args = append(args, string(devices.StatusOutOfTolerance),
		string(devices.AlertOutOfTolerance), string(devices.AlertDrift), string(devices.AlertPredictedDrift), string(devices.AlertSilent),
		string(devices.AlertResolved), string(devices.DeviceThermometer),
		string(devices.StatusRetired))
	var rows []coverageRow
	if err := db.Raw(query, args...).Scan(&rows).Error; err != nil {
		return out, fmt.Errorf("coverage: %w", err)
	}
	for _, r := range rows {
		out.Rows = append(out.Rows, devices.CoverageRow{RegionCode: r.RegionCode, VenueKind: devices.VenueKind(r.VenueKind), Total: r.Total,
			DueSoon: r.DueSoon, Overdue: r.Overdue, OutOfTolerance: r.OutOfTolerance, Drifting: r.Drifting, Silent: r.Silent})
	}
	return out, nil
}
