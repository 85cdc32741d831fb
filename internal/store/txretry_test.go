package store_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/internal/store"
	"github.com/calibd/calibd/internal/testenv"
	"github.com/calibd/calibd/migrations"
)

// TestResultBesideConflictingWriter: a calibration result is recorded while
// another transaction holds the thermometer's row and then asks for the
// task the result locked first. On PostgreSQL that is a real deadlock; the
// other session waits 10 s before looking for one, so the result's
// transaction is the one rolled back, and it is run again once the other
// commits: the technician gets the result, not an error. SQLite has one
// writer at a time, so there the result simply waits for the other.
func TestResultBesideConflictingWriter(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newResultWorld(t, st)
		th := w.instThermometer()
		task, ok := w.startTasks()[th.ID]
		if !ok {
			t.Fatal("no in-progress task for the thermometer")
		}
		ctx, cancel := context.WithTimeout(w.ctx, time.Minute)
		defer cancel()
		conn, other := otherTx(t, ctx, st)
		pg := st.Dialect() == migrations.Postgres
		if pg {
			mustExec(t, other, "SET LOCAL deadlock_timeout = '10s'")
			mustExec(t, other, "SELECT 1 FROM thermometers WHERE id = $1 FOR UPDATE", th.ID)
		} else {
			mustExec(t, other, "UPDATE thermometers SET version = version WHERE id = ?", th.ID)
		}

		type outcome struct {
			r   devices.CalibrationResult
			err error
		}
		done := make(chan outcome, 1)
		go func() {
			r, err := st.RecordResult(ctx, w.instAdmin, devices.ResultInput{TaskID: task.ID, StandardID: w.std.ID,
				PerformedAt: w.clk.Now(), Data: calData()})
			done <- outcome{r, err}
		}()
		if pg {
			// Once the result's transaction waits for the thermometer, ask
			// for its task: each now waits for the other.
			waitForLockWaiter(t, ctx, st.SQLDB())
			mustExec(t, other, "SELECT 1 FROM calibration_tasks WHERE id = $1 FOR UPDATE", task.ID)
		} else {
			time.Sleep(200 * time.Millisecond)
		}
		if err := other.Commit(); err != nil {
			t.Fatalf("the other transaction: %v", err)
		}
		conn.Close() // SQLite's store has one connection
		got := <-done
		if got.err != nil {
			t.Fatalf("RecordResult beside a conflicting writer = %v, want the result", got.err)
		}
		if got.r.Verdict != devices.VerdictPass {
			t.Errorf("verdict = %s, want pass", got.r.Verdict)
		}
		if pg && st.TxRetries() < 1 {
			t.Errorf("transaction retries = %d, want the deadlock victim run again", st.TxRetries())
		}
		if n := w.count("calibration_results"); n != 1 {
			t.Errorf("calibration results = %d, want 1", n)
		}
		k := allTasks(t, st, w.instAdmin, devices.TaskFilter{State: devices.TaskCompleted})
		if len(k) != 1 || k[0].ID != task.ID {
			t.Errorf("completed tasks = %v, want the one task", k)
		}
	})
}

// TestTxGivesUp: a transaction that keeps being rolled back for concurrent
// ones is tried three times and then answered devices.ErrBusy (503 at the
// API); any other error is returned at once, untried.
func TestTxGivesUp(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		for _, c := range []struct {
			code     string
			attempts int
			busy     bool
		}{
			{"40P01", 3, true}, // deadlock_detected
			{"40001", 3, true}, // serialization_failure
			{"23505", 1, false},
		} {
			calls := 0
			err := st.TxForTest(ctx, func(tx *gorm.DB) error {
				calls++
				return &pgconn.PgError{Code: c.code, Message: "injected"}
			})
			if calls != c.attempts || errors.Is(err, devices.ErrBusy) != c.busy {
				t.Errorf("SQLSTATE %s: %d attempts, error %v; want %d attempts, busy %v", c.code, calls, err, c.attempts, c.busy)
			}
			var pe *pgconn.PgError
			if !errors.As(err, &pe) || pe.Code != c.code {
				t.Errorf("SQLSTATE %s: error %v does not carry the database's error", c.code, err)
			}
		}
		// A context that ends while waiting to try again ends the retries.
		short, cancel := context.WithCancel(ctx)
		calls := 0
		err := st.TxForTest(short, func(tx *gorm.DB) error {
			calls++
			cancel()
			return &pgconn.PgError{Code: "40P01"}
		})
		if calls != 1 || !errors.Is(err, devices.ErrBusy) {
			t.Errorf("cancelled while retrying: %d attempts, %v; want 1 and busy", calls, err)
		}
	})
}

// otherTx begins a transaction on a connection of its own, as another
// process would; both end at cleanup unless the test ends them first.
func otherTx(t *testing.T, ctx context.Context, st *store.Store) (*sql.Conn, *sql.Tx) {
	t.Helper()
	conn, err := st.SQLDB().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback() }) // after Commit it is a no-op
	return conn, tx
}

func mustExec(t *testing.T, tx *sql.Tx, q string, args ...any) {
	t.Helper()
	if _, err := tx.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// waitForLockWaiter returns once some session of the database waits for a
// row lock.
func waitForLockWaiter(t *testing.T, ctx context.Context, db *sql.DB) {
	t.Helper()
	for {
		var n int
		err := db.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatal("no session came to wait for a lock")
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// TestRetireBesideStatusChange: retiring a thermometer without a version
// while another transaction (the ingest marking it out of tolerance) has
// changed it and not yet committed retires it once that commits, instead of
// failing with ErrPreconditionFailed for a version the caller never named.
func TestRetireBesideStatusChange(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newWorld(t, st)
		th := w.thermometer(w.adminA, w.venueA.ID, nil)
		ctx, cancel := context.WithTimeout(w.ctx, time.Minute)
		defer cancel()
		conn, other := otherTx(t, ctx, st)
		q := "UPDATE thermometers SET status = 'out_of_tolerance', version = version + 1 WHERE id = ?"
		if st.Dialect() == migrations.Postgres {
			q = "UPDATE thermometers SET status = 'out_of_tolerance', version = version + 1 WHERE id = $1"
		}
		mustExec(t, other, q, th.ID)
		type outcome struct {
			th  devices.Thermometer
			err error
		}
		done := make(chan outcome, 1)
		go func() {
			got, err := st.RetireThermometer(ctx, w.adminA, th.ID, devices.AnyVersion)
			done <- outcome{got, err}
		}()
		if st.Dialect() == migrations.Postgres {
			waitForLockWaiter(t, ctx, st.SQLDB())
		} else {
			time.Sleep(100 * time.Millisecond)
		}
		if err := other.Commit(); err != nil {
			t.Fatal(err)
		}
		conn.Close() // SQLite's store has one connection
		got := <-done
		if got.err != nil {
			t.Fatalf("RetireThermometer(any version) beside a status change = %v, want it retired", got.err)
		}
		if got.th.Status != devices.StatusRetired || got.th.Version != 3 {
			t.Errorf("after: status %s version %d, want retired at version 3", got.th.Status, got.th.Version)
		}
	})
}
