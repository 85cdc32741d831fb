package store

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/calibd/calibd/devices"
)

// liftThresholds raises or grows the threshold alert of each lift whose
// telemetry, stored by the batch received at received, breaches one of the
// configured bounds (LIFT_THRESHOLDS; issue 5 item 6). tel is the batch's
// telemetry as decoded.
//
// A lift has at most one open threshold alert whatever the metric (the
// alerts_one_open index): it opens on the first breach, and every later
// breaching message adds one to its evidence; last_at and the detail
// follow the newest breach by (ts, seq), so neither depends on the order of
// a batch or, but for messages of the same ts, on the order of batches.
// The detail names each metric beyond its bound, its value and the bound.
//
// Nothing else follows from a breach: unlike a critical fault, it does not
// suspend the lift's agreement, and it raises no event. The alert is the
// record the firm works from: the operator, the lift's firm and the
// regulator see it (alertScope) and the firm acknowledges and resolves it.
// An event would only repeat it to the operator and the regulator, and
// would never reach the firm (events name no firm).
func (s *Store) liftThresholds(tx *gorm.DB, tel []*devices.Telemetry, received time.Time) error {
	if len(s.thresholds) == 0 || len(tel) == 0 {
		return nil
	}
	// Most telemetry is within bounds, so the batch is screened in memory
	// and only breaching messages cost a query.
	type key struct {
		id  string
		seq int64
	}
	seen := map[key]bool{}
	var keys [][]any
	for _, t := range tel {
		k := key{t.DeviceID, t.Seq}
		if seen[k] || len(s.thresholds.Breaches(t.Metrics)) == 0 {
			continue
		}
		seen[k] = true
		keys = append(keys, []any{t.DeviceID, t.Seq})
	}
	if len(keys) == 0 {
		return nil
	}
	// The rows this batch stored (a redelivered message kept its first
	// received_at and counted then), of lifts only, looked up by primary
	// key: a lift's whole history is never scanned. The stored metrics
	// decide, as a batch may carry one (device, seq) twice.
	hits := map[string]*thresholdHit{}
	for chunk := range slices.Chunk(keys, 500) {
		var rows []struct {
			DeviceID      string
			Seq           int64
			TS            time.Time `gorm:"column:ts"`
			Metrics       *string
			VenueID       string
			OperatorOrgID string
		}
		if err := tx.Table("readings AS r").Select("r.device_id, r.seq, r.ts, r.metrics, e.venue_id, e.operator_org_id").
			Joins("JOIN elevators e ON e.id = r.device_id").
			Where("(r.device_id, r.seq) IN ? AND r.kind = ? AND r.received_at = ?", chunk, string(devices.MessageTelemetry), received).
			Find(&rows).Error; err != nil {
			return err
		}
		for _, r := range rows {
			if r.Metrics == nil {
				continue
			}
			var metrics map[string]float64
			if err := json.Unmarshal([]byte(*r.Metrics), &metrics); err != nil {
				return fmt.Errorf("stored metrics of %s seq %d: %w", r.DeviceID, r.Seq, err)
			}
			breaches := s.thresholds.Breaches(metrics)
			if len(breaches) == 0 {
				continue
			}
			h := hits[r.DeviceID]
			if h == nil {
				h = &thresholdHit{venueID: r.VenueID, operatorID: r.OperatorOrgID}
				hits[r.DeviceID] = h
			}
			h.add(r.TS.UTC(), r.Seq, breaches)
		}
	}
	if len(hits) == 0 {
		return nil
	}
	now := s.now()
	alerts := make([]alertRow, 0, len(hits))
	for id, h := range hits {
		alerts = append(alerts, alertRow{ID: newID(), DeviceID: id, DeviceKind: string(devices.DeviceElevator), VenueID: h.venueID,
			OperatorOrgID: h.operatorID, Kind: string(devices.AlertThreshold), State: string(devices.AlertOpen), FirstAt: h.first,
			LastAt: h.lastTS, Evidence: h.count, Detail: h.detail, Version: 1, CreatedAt: now, UpdatedAt: now})
	}
	// Key order, so that concurrent batches wait for each other rather
	// than deadlock.
	slices.SortFunc(alerts, func(a, b alertRow) int { return strings.Compare(a.DeviceID, b.DeviceID) })
	// One statement for the batch: it opens the alerts that are not open
	// and grows those that are. The upsert, unlike a read then a write,
	// cannot fail on alerts_one_open when another replica opens the same
	// alert at the same moment. The conflict target names the partial
	// index with its predicate as a literal, which PostgreSQL needs to
	// infer it.
	return tx.Clauses(clause.OnConflict{
		Columns:     []clause.Column{{Name: "device_id"}, {Name: "kind"}},
		TargetWhere: clause.Where{Exprs: []clause.Expression{clause.Expr{SQL: "state <> '" + string(devices.AlertResolved) + "'"}}},
		DoUpdates: clause.Set{
			{Column: clause.Column{Name: "evidence"}, Value: gorm.Expr("alerts.evidence + excluded.evidence")},
			{Column: clause.Column{Name: "first_at"},
				Value: gorm.Expr("CASE WHEN excluded.first_at < alerts.first_at THEN excluded.first_at ELSE alerts.first_at END")},
			{Column: clause.Column{Name: "last_at"},
				Value: gorm.Expr("CASE WHEN excluded.last_at > alerts.last_at THEN excluded.last_at ELSE alerts.last_at END")},
			{Column: clause.Column{Name: "detail"},
				Value: gorm.Expr("CASE WHEN excluded.last_at > alerts.last_at THEN excluded.detail ELSE alerts.detail END")},
			{Column: clause.Column{Name: "version"}, Value: gorm.Expr("alerts.version + 1")},
			{Column: clause.Column{Name: "updated_at"}, Value: gorm.Expr("excluded.updated_at")},
		},
	}).CreateInBatches(alerts, s.insertBatch()).Error
}

// thresholdHit gathers one lift's breaching messages of a batch.
type thresholdHit struct {
	venueID, operatorID string
	first, lastTS       time.Time
	lastSeq             int64
	count               int
	detail              string // of the newest breach by (ts, seq)
}

func (h *thresholdHit) add(ts time.Time, seq int64, breaches []devices.ThresholdBreach) {
	if h.count == 0 || ts.Before(h.first) {
		h.first = ts
	}
	if h.count == 0 || cmp.Or(ts.Compare(h.lastTS), cmp.Compare(seq, h.lastSeq)) > 0 {
		h.lastTS, h.lastSeq = ts, seq
		parts := make([]string, len(breaches))
		for i, b := range breaches {
			parts[i] = b.String()
		}
		h.detail = fmt.Sprintf("telemetry at %s (seq %d): %s", ts.Format(time.RFC3339Nano), seq, strings.Join(parts, "; "))
	}
	h.count++
}
