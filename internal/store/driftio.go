package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/calibd/calibd/migrations"
)

// The reads and writes the ingest makes for every batch. They scan rows by
// hand rather than through gorm's reflection. On PostgreSQL they go
// through pgx itself on the transaction's connection: one statement
// prepared per connection, the batch's ids as one uuid[] parameter, binary
// parameters and results, and every state of the batch written by one
// UPDATE over unnest()ed arrays. At thousands of checks a second this is
// where the ingest's CPU went (docs/BENCHMARKS.md).

// rowScanner is what the hand-scanned reads need of *sql.Rows and pgx.Rows.
type rowScanner interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// withPgx runs fn on the pgx connection under conn.
func withPgx(conn *sql.Conn, fn func(*pgx.Conn) error) error {
	return conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("store: need a pgx connection, have %T", dc)
		}
		return fn(c.Conn())
	})
}

// eachRowByID runs a read keyed by ids and hands every row to scan. On
// PostgreSQL (conn set) pg runs through pgx with ids as $1 (a uuid[]);
// on SQLite lite runs through tx with ids as IN lists of at most 1,000
// (every ? in lite is the list).
func eachRowByID(ctx context.Context, tx *gorm.DB, conn *sql.Conn, ids []string, pg, lite string, scan func(rowScanner) error) error {
	if len(ids) == 0 {
		return nil
	}
	if conn != nil {
		keys, err := uuidKeys(ids)
		if err != nil {
			return err
		}
		return withPgx(conn, func(c *pgx.Conn) error {
			rows, err := c.Query(ctx, pg, keys)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				if err := scan(rows); err != nil {
					return err
				}
			}
			return rows.Err()
		})
	}
	for chunk := range slices.Chunk(ids, 1000) {
		args := make([]any, strings.Count(lite, "?"))
		for i := range args {
			args[i] = chunk
		}
		rows, err := tx.WithContext(ctx).Raw(lite, args...).Rows()
		if err != nil {
			return err
		}
		for rows.Next() {
			if err := scan(rows); err != nil {
				rows.Close()
				return err
			}
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return err
		}
	}
	return nil
}

// uuidKeys parses ids for a uuid[] parameter: pgx encodes [16]byte
// directly, where a string goes through a failed plan and a text parse.
func uuidKeys(ids []string) ([][16]byte, error) {
	out := make([][16]byte, len(ids))
	for i, id := range ids {
		u, err := uuid.Parse(id)
		if err != nil {
			return nil, fmt.Errorf("store: id %q: %w", id, err)
		}
		out[i] = u
	}
	return out, nil
}

const driftThermometerColumns = "id, venue_id, operator_org_id, institute_id, status, mpe_c, tolerance_profile, last_calibrated_at, next_due_at, facts_version"

// Row locks driftThermometers takes (PostgreSQL only).
const (
	noLock     = ""
	lockWait   = "FOR UPDATE"
	lockNoWait = "FOR UPDATE NOWAIT" // fails with 55P03 when another holds a row
)

// driftThermometers reads what the detectors and a new alert need of the
// thermometers among ids (lifts are simply absent), locking the rows in id
// order with lock unless it is noLock (PostgreSQL, through conn).
func driftThermometers(ctx context.Context, tx *gorm.DB, conn *sql.Conn, ids []string, lock string) (map[string]*thermometerRow, error) {
	out := make(map[string]*thermometerRow, len(ids))
	forUpdate := ""
	if lock != noLock {
		forUpdate = " ORDER BY id " + lock
	}
	err := eachRowByID(ctx, tx, conn, ids,
		"SELECT "+driftThermometerColumns+" FROM thermometers WHERE id = ANY($1)"+forUpdate,
		"SELECT "+driftThermometerColumns+" FROM thermometers WHERE id IN ?",
		func(rows rowScanner) error {
			th := new(thermometerRow)
			if err := rows.Scan(&th.ID, &th.VenueID, &th.OperatorOrgID, &th.InstituteID, &th.Status, &th.MPEC, &th.ToleranceProfile,
				&th.LastCalibratedAt, &th.NextDueAt, &th.FactsVersion); err != nil {
				return err
			}
			out[th.ID] = th // by pointer: the row is large, and the batch's outcomes share it
			return nil
		})
	return out, err
}

// readDriftThermometers adds the rows of the thermometers among ids to
// into (lifts stay absent), unlocked.
func readDriftThermometers(ctx context.Context, tx *gorm.DB, conn *sql.Conn, ids []string, into map[string]*thermometerRow) error {
	if len(ids) == 0 {
		return nil
	}
	got, err := driftThermometers(ctx, tx, conn, ids, noLock)
	for id, th := range got {
		into[id] = th
	}
	return err
}

const driftStateColumns = "device_id, state, through_ts, through_seq, reset_at, replays, updated_at, sigma_c, u_c, mu0_c, params_source"

// readDriftStates reads the drift states of ids, locking them when lock
// is set (FOR UPDATE on PostgreSQL; SQLite's transaction holds the whole
// database), in device order so that concurrent batches lock in one order.
func (s *Store) readDriftStates(ctx context.Context, tx *gorm.DB, conn *sql.Conn, ids []string, into map[string]driftStateRow, lock bool) error {
	forUpdate := ""
	if lock && s.dialect == migrations.Postgres {
		forUpdate = " FOR UPDATE"
	}
	return eachRowByID(ctx, tx, conn, ids,
		"SELECT "+driftStateColumns+" FROM drift_states WHERE device_id = ANY($1) ORDER BY device_id"+forUpdate,
		"SELECT "+driftStateColumns+" FROM drift_states WHERE device_id IN ? ORDER BY device_id",
		func(rows rowScanner) error {
			var r driftStateRow
			if err := rows.Scan(&r.DeviceID, &r.State, &r.ThroughTS, &r.ThroughSeq, &r.ResetAt, &r.Replays, &r.UpdatedAt, &r.SigmaC, &r.UC,
				&r.Mu0C, &r.ParamsSource); err != nil {
				return err
			}
			into[r.DeviceID] = r
			return nil
		})
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

// casDriftStates writes each write's row (PostgreSQL, through pgx on
// conn) only where the stored state is still the one it read (same
// through point, reset and replay count) and the thermometer is still at
// the facts version the batch judged it by, and reports which devices it
// wrote.
func casDriftStates(ctx context.Context, conn *sql.Conn, writes []driftWrite, now time.Time) (map[string]bool, error) {
	applied := make(map[string]bool, len(writes))
	if len(writes) == 0 {
		return applied, nil
	}
	n := len(writes)
	ids, states := make([]string, n), make([]string, n)
	through, seqs, replays := make([]time.Time, n), make([]int64, n), make([]int32, n)
	oldTS, oldSeq, oldReset, oldReplays := make([]*time.Time, n), make([]*int64, n), make([]*time.Time, n), make([]int32, n)
	oldFacts := make([]int64, n)
	for i, w := range writes {
		r, o := w.row, w.read
		ids[i], states[i], through[i], seqs[i], replays[i] = r.DeviceID, r.State, r.ThroughTS.UTC(), *r.ThroughSeq, int32(r.Replays)
		oldTS[i], oldSeq[i], oldReset[i], oldReplays[i], oldFacts[i] = o.ThroughTS, o.ThroughSeq, o.ResetAt, int32(o.Replays), w.o.th.FactsVersion
	}
	keys, err := uuidKeys(ids)
	if err != nil {
		return nil, err
	}
	err = withPgx(conn, func(c *pgx.Conn) error {
		rs, err := c.Query(ctx,
			`UPDATE drift_states AS d SET state = v.state, through_ts = v.through_ts, through_seq = v.through_seq, replays = v.replays,
			 updated_at = $10
			 FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::bigint[], $5::int[], $6::timestamptz[], $7::bigint[],
			   $8::timestamptz[], $9::int[], $11::bigint[])
			 AS v(device_id, state, through_ts, through_seq, replays, old_ts, old_seq, old_reset, old_replays, old_facts)
			 WHERE d.device_id = v.device_id AND d.through_ts IS NOT DISTINCT FROM v.old_ts
			   AND d.through_seq IS NOT DISTINCT FROM v.old_seq AND d.reset_at IS NOT DISTINCT FROM v.old_reset
			   AND d.replays = v.old_replays
			   AND EXISTS (SELECT 1 FROM thermometers t WHERE t.id = v.device_id AND t.facts_version = v.old_facts)
			 RETURNING d.device_id`,
			keys, states, through, seqs, replays, oldTS, oldSeq, oldReset, oldReplays, now, oldFacts)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var id string
			if err := rs.Scan(&id); err != nil {
				return err
			}
			applied[id] = true
		}
		return rs.Err()
	})
	return applied, err
}
