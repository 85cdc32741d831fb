package store

import (
	"database/sql"
	"errors"
	"slices"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/calibd/calibd/migrations"
)

// The reads and writes updateDrift makes for every batch. They scan rows by
// hand rather than through gorm's reflection, and on PostgreSQL write every
// state of the batch in one UPDATE over unnest()ed arrays: at thousands of
// checks a second this is where the ingest's CPU went (docs/BENCHMARKS.md).

// driftThermometers reads what the detectors and a new alert need of the
// thermometers among ids (lifts are simply absent).
func driftThermometers(tx *gorm.DB, ids []string) (map[string]thermometerRow, error) {
	out := make(map[string]thermometerRow, len(ids))
	for chunk := range slices.Chunk(ids, 1000) {
		rows, err := tx.Raw("SELECT id, venue_id, operator_org_id, institute_id, status, mpe_c, tolerance_profile, last_calibrated_at, "+
			"next_due_at FROM thermometers WHERE id IN ?", chunk).Rows()
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var th thermometerRow
			var inst sql.NullString
			var last sql.NullTime
			if err := rows.Scan(&th.ID, &th.VenueID, &th.OperatorOrgID, &inst, &th.Status, &th.MPEC, &th.ToleranceProfile, &last,
				&th.NextDueAt); err != nil {
				rows.Close()
				return nil, err
			}
			if inst.Valid {
				th.InstituteID = &inst.String
			}
			if last.Valid {
				t := last.Time
				th.LastCalibratedAt = &t
			}
			out[th.ID] = th
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// readDriftStates reads the drift states of ids, locking them when lock
// is set (FOR UPDATE on PostgreSQL; SQLite's transaction holds the whole
// database), in device order so that concurrent batches lock in one order.
func (s *Store) readDriftStates(tx *gorm.DB, ids []string, into map[string]driftStateRow, lock bool) error {
	forUpdate := ""
	if lock && s.dialect == migrations.Postgres {
		forUpdate = " FOR UPDATE"
	}
	for chunk := range slices.Chunk(ids, 1000) {
		rows, err := tx.Raw("SELECT device_id, state, through_ts, through_seq, reset_at, replays, updated_at, sigma_c, u_c, params_source "+
			"FROM drift_states WHERE device_id IN ? ORDER BY device_id"+forUpdate, chunk).Rows()
		if err != nil {
			return err
		}
		for rows.Next() {
			var r driftStateRow
			var through, reset sql.NullTime
			var seq sql.NullInt64
			var sigma, u sql.NullFloat64
			if err := rows.Scan(&r.DeviceID, &r.State, &through, &seq, &reset, &r.Replays, &r.UpdatedAt, &sigma, &u, &r.ParamsSource); err != nil {
				rows.Close()
				return err
			}
			r.ThroughTS, r.ThroughSeq, r.ResetAt = nullTime(through), nullInt(seq), nullTime(reset)
			r.SigmaC, r.UC = nullFloat(sigma), nullFloat(u)
			into[r.DeviceID] = r
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return err
		}
	}
	return nil
}

// writeDriftStates stores the new state, through point and replay count
// of existing states on SQLite, where the transaction holds the database
// (PostgreSQL writes through casDriftStates).
func (s *Store) writeDriftStates(tx *gorm.DB, rows []driftStateRow) error {
	if len(rows) == 0 {
		return nil
	}
	return tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "device_id"}},
		DoUpdates: clause.AssignmentColumns([]string{"state", "through_ts", "through_seq", "replays", "updated_at"})}).
		CreateInBatches(rows, s.insertBatch()).Error
}

// casDriftStates writes rows (PostgreSQL) only where the stored state is
// still the one read (same through point, reset and replay count), and
// reports which devices it wrote.
func (s *Store) casDriftStates(tx *gorm.DB, rows, read []driftStateRow, now time.Time) (map[string]bool, error) {
	applied := map[string]bool{}
	if len(rows) == 0 {
		return applied, nil
	}
	n := len(rows)
	ids, states := make([]string, n), make([]string, n)
	through, seqs, replays := make([]time.Time, n), make([]int64, n), make([]int64, n)
	oldTS, oldSeq, oldReset, oldReplays := make([]*time.Time, n), make([]*int64, n), make([]*time.Time, n), make([]int64, n)
	for i, r := range rows {
		ids[i], states[i], through[i], seqs[i], replays[i] = r.DeviceID, r.State, r.ThroughTS.UTC(), *r.ThroughSeq, int64(r.Replays)
		o := read[i]
		oldTS[i], oldSeq[i], oldReset[i], oldReplays[i] = o.ThroughTS, o.ThroughSeq, o.ResetAt, int64(o.Replays)
	}
	rs, err := tx.Statement.ConnPool.QueryContext(tx.Statement.Context,
		`UPDATE drift_states AS d SET state = v.state, through_ts = v.through_ts, through_seq = v.through_seq, replays = v.replays,
		 updated_at = $10
		 FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::bigint[], $5::int[], $6::timestamptz[], $7::bigint[],
		   $8::timestamptz[], $9::int[])
		 AS v(device_id, state, through_ts, through_seq, replays, old_ts, old_seq, old_reset, old_replays)
		 WHERE d.device_id = v.device_id AND d.through_ts IS NOT DISTINCT FROM v.old_ts
		   AND d.through_seq IS NOT DISTINCT FROM v.old_seq AND d.reset_at IS NOT DISTINCT FROM v.old_reset
		   AND d.replays = v.old_replays
		 RETURNING d.device_id`,
		ids, states, through, seqs, replays, oldTS, oldSeq, oldReset, oldReplays, now)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	for rs.Next() {
		var id string
		if err := rs.Scan(&id); err != nil {
			return nil, err
		}
		applied[id] = true
	}
	return applied, errors.Join(rs.Err(), rs.Close())
}

func nullTime(v sql.NullTime) *time.Time {
	if !v.Valid {
		return nil
	}
	t := v.Time
	return &t
}

func nullInt(v sql.NullInt64) *int64 {
	if !v.Valid {
		return nil
	}
	n := v.Int64
	return &n
}

func nullFloat(v sql.NullFloat64) *float64 {
	if !v.Valid {
		return nil
	}
	f := v.Float64
	return &f
}
