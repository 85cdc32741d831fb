package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"github.com/calibd/calibd/migrations"
)

// readingColumns are the readings table's columns in the order the write
// path sends them.
var readingColumns = []string{"device_id", "seq", "kind", "ts", "reference_c", "value_c", "mode", "metrics", "code", "severity", "received_at"}

func (r readingRow) values() []any {
	return []any{r.DeviceID, r.Seq, r.Kind, r.TS, r.ReferenceC, r.ValueC, r.Mode, r.Metrics, r.Code, r.Severity, r.ReceivedAt}
}

// readingKey identifies a stored message.
type readingKey struct {
	device string
	seq    int64
}

// ingestTx runs fn in one transaction. On PostgreSQL it holds one pooled
// connection for the whole transaction and hands fn that connection too,
// so fn can COPY through pgx and run gorm statements in the same
// transaction (database/sql gives no way to a pgx connection inside a
// *sql.Tx). On SQLite it is s.tx and conn is nil. Like s.tx, a
// transaction that gave way to a concurrent one is run again.
func (s *Store) ingestTx(ctx context.Context, fn func(tx *gorm.DB, conn *sql.Conn) error) error {
	if s.dialect != migrations.Postgres {
		return s.tx(ctx, func(tx *gorm.DB) error { return fn(tx, nil) })
	}
	return s.retrying(ctx, func() error { return s.ingestTxOnce(ctx, fn) })
}

func (s *Store) ingestTxOnce(ctx context.Context, fn func(tx *gorm.DB, conn *sql.Conn) error) error {
	conn, err := s.sqlDB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
		return err
	}
	tx := s.db.Session(&gorm.Session{NewDB: true, Context: ctx})
	tx.Statement.ConnPool = conn
	if err = fn(tx, conn); err == nil {
		if _, err = conn.ExecContext(ctx, "COMMIT"); err == nil {
			return nil
		}
	}
	// A failed COMMIT has already ended the transaction; ROLLBACK then only
	// warns. When even that fails, the connection is in an unknown state:
	// drop it rather than hand it to the pool.
	if _, rbErr := conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); rbErr != nil {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	return err
}

// errCopyConflict says the batch's direct COPY met a (device, seq) stored
// already: the transaction is spoiled and is run again with staging.
var errCopyConflict = errors.New("store: a reading of the batch is stored already")

// insertReadings stores rows (sorted by key), skipping a (device, seq)
// stored already, and returns the rows it stored, each key once.
//
// On PostgreSQL with direct set, rows are COPYed straight into readings:
// the common case, a batch of new messages, costs one COPY. A redelivery
// makes that COPY fail on the primary key (errCopyConflict); the caller
// then runs the transaction again with direct unset, which COPYs into a
// session-local staging table and moves the rows over with INSERT ...
// SELECT ... ON CONFLICT DO NOTHING (COPY itself cannot skip conflicts).
// SQLite uses multi-row INSERT ... ON CONFLICT DO NOTHING. RETURNING
// names the rows that were new, so a redelivery feeds no detector twice.
func (s *Store) insertReadings(tx *gorm.DB, conn *sql.Conn, rows []readingRow, direct bool) ([]readingRow, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	if conn != nil && direct {
		if err := copyRows(tx.Statement.Context, conn, "readings", rows); err != nil {
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && pgErr.Code == "23505" {
				return nil, errCopyConflict
			}
			return nil, err
		}
		return rows, nil
	}
	var keys []readingKey
	var err error
	if conn != nil {
		keys, err = copyReadings(tx, conn, rows)
	} else {
		keys, err = s.insertReadingRows(tx, rows)
	}
	if err != nil {
		return nil, err
	}
	stored := make(map[readingKey]bool, len(keys))
	for _, k := range keys {
		stored[k] = true
	}
	out := make([]readingRow, 0, len(keys))
	for _, r := range rows {
		k := readingKey{r.DeviceID, r.Seq}
		if stored[k] {
			out = append(out, r)
			delete(stored, k) // a key twice in one batch is stored once
		}
	}
	return out, nil
}

// copyRows COPYs rows into table through pgx on conn.
func copyRows(ctx context.Context, conn *sql.Conn, table string, rows []readingRow) error {
	return withPgx(conn, func(c *pgx.Conn) error {
		_, err := c.CopyFrom(ctx, pgx.Identifier{table}, readingColumns, pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
			v := rows[i].values()
			id, err := uuid.Parse(rows[i].DeviceID)
			if err != nil {
				return nil, fmt.Errorf("reading of device %q: %w", rows[i].DeviceID, err)
			}
			v[0] = [16]byte(id)
			return v, nil
		}))
		return err
	})
}

func copyReadings(tx *gorm.DB, conn *sql.Conn, rows []readingRow) ([]readingKey, error) {
	// ON COMMIT DELETE ROWS empties the staging table at the end of every
	// transaction, so it only ever holds this batch.
	if err := tx.Exec("CREATE TEMP TABLE IF NOT EXISTS readings_in (LIKE readings) ON COMMIT DELETE ROWS").Error; err != nil {
		return nil, err
	}
	if err := copyRows(tx.Statement.Context, conn, "readings_in", rows); err != nil {
		return nil, err
	}
	cols := strings.Join(readingColumns, ", ")
	return scanKeys(tx.Raw("INSERT INTO readings (" + cols + ") SELECT " + cols +
		" FROM readings_in ORDER BY device_id, seq ON CONFLICT DO NOTHING RETURNING device_id, seq"))
}

func (s *Store) insertReadingRows(tx *gorm.DB, rows []readingRow) ([]readingKey, error) {
	tuple := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(readingColumns)), ", ") + ")"
	var keys []readingKey
	for start := 0; start < len(rows); start += s.insertBatch() {
		chunk := rows[start:min(start+s.insertBatch(), len(rows))]
		args := make([]any, 0, len(chunk)*len(readingColumns))
		tuples := make([]string, len(chunk))
		for i, r := range chunk {
			args = append(args, r.values()...)
			tuples[i] = tuple
		}
		k, err := scanKeys(tx.Raw("INSERT INTO readings ("+strings.Join(readingColumns, ", ")+") VALUES "+strings.Join(tuples, ", ")+
			" ON CONFLICT DO NOTHING RETURNING device_id, seq", args...))
		if err != nil {
			return nil, err
		}
		keys = append(keys, k...)
	}
	return keys, nil
}

func scanKeys(q *gorm.DB) ([]readingKey, error) {
	rs, err := q.Rows()
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var keys []readingKey
	for rs.Next() {
		var k readingKey
		if err := rs.Scan(&k.device, &k.seq); err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, errors.Join(rs.Err(), rs.Close())
}
