// Package store keeps calibd's state with gorm on PostgreSQL or, as the
// zero-install default, on a pure-Go SQLite file. It implements the devices
// store interfaces, turns gorm and driver errors into domain error kinds, and
// applies every visibility rule in its queries. Only this package imports
// gorm.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/migrations"
)

// Config says which database to open.
type Config struct {
	// URL is a postgres:// (or postgresql://) URL, or a SQLite file path
	// (optionally "sqlite://path" or "file:path").
	URL string
	// MaxOpenConns caps the PostgreSQL pool (SQLite always uses one).
	MaxOpenConns int
	// SlowQuery logs queries slower than this at warn; 0 disables.
	SlowQuery time.Duration
	// DueHorizonDays is how far ahead a thermometer counts as due soon
	// (its due_state); 0 means devices.DefaultDueHorizonDays.
	DueHorizonDays int
	// MaxExtendedCycleDays bounds the on-site cycle of a lift's extended-
	// cycle agreement; 0 means devices.DefaultMaxExtendedCycleDays.
	MaxExtendedCycleDays int
	// LiftUrgentHours is how soon an on-site visit must follow a remote
	// inspection that found an item not ok; 0 means DefaultLiftUrgentHours.
	LiftUrgentHours int
	// LiftThresholds are the bounds on lift telemetry metrics whose breach
	// raises the lift's threshold alert. nil means the defaults
	// (devices.DefaultLiftThresholds); an empty, non-nil set raises none
	// (LIFT_THRESHOLDS=none).
	LiftThresholds devices.Thresholds
	// Drift tunes the drift detectors; the zero value means the defaults
	// (DefaultDriftSettings).
	Drift DriftSettings
}

// DriftSettings are the drift detectors' configuration and the σ and U
// a thermometer is judged by until a calibration gives its own.
type DriftSettings struct {
	Detectors      devices.DriftConfig
	SigmaC         float64            // default repeatability σ, °C
	SigmaByProfile map[string]float64 // default σ per tolerance profile code
	UC             float64            // default expanded uncertainty U (k = 2), °C
}

// DefaultDriftSettings are DOMAIN.md §3's detectors with σ = U = 0.05 °C.
func DefaultDriftSettings() DriftSettings {
	return DriftSettings{Detectors: devices.DefaultDriftConfig(), SigmaC: devices.DefaultDriftSigmaC, UC: devices.DefaultDriftUC}
}

// DefaultLiftUrgentHours is the default of Config.LiftUrgentHours.
const DefaultLiftUrgentHours = 24

// Store implements devices.Registry.
type Store struct {
	db      *gorm.DB
	sqlDB   *sql.DB
	dialect string
	now     devices.Clock
	log     *slog.Logger

	localLocks localLocks // scheduler job locks on SQLite
	dueHorizon int
	maxCycle   int
	urgent     time.Duration
	drift      DriftSettings
	thresholds devices.Thresholds
	zones      sync.Map // IANA name -> *time.Location
	venueZone  sync.Map // venue id -> cachedZone
	driftCache driftCache
	txRetries  atomic.Int64 // transactions run again after giving way (tx)
	// deadLetters overrides devices.DeadLetterLimit when set (tests).
	deadLetters atomic.Int64
	// exportPage overrides exportPage, the readings an export reads at a
	// time, when set (tests).
	exportPage atomic.Int64
}

// venueZoneTTL is how long a replica trusts a venue's time zone it has
// read (the replica that changes a venue forgets it at once). Reading the
// zone through a join made every GET and list of thermometers cost about
// half as much again (docs/BENCHMARKS.md).
const venueZoneTTL = time.Minute

type cachedZone struct {
	name  string
	until time.Time
}

// venueZones returns the time zone of each venue, from the cache or in
// one query for those it lacks.
func (s *Store) venueZones(q *gorm.DB, ids ...string) (map[string]string, error) {
	out := make(map[string]string, len(ids))
	now := time.Now()
	var missing []string
	for _, id := range ids {
		if _, done := out[id]; done {
			continue
		}
		if z, ok := s.venueZone.Load(id); ok && now.Before(z.(cachedZone).until) {
			out[id] = z.(cachedZone).name
			continue
		}
		out[id] = ""
		missing = append(missing, id)
	}
	if len(missing) == 0 {
		return out, nil
	}
	var rows []struct{ ID, TimeZone string }
	if err := q.Session(&gorm.Session{NewDB: true}).Model(&venueRow{}).Select("id, time_zone").Where("id IN ?", missing).
		Find(&rows).Error; err != nil {
		return nil, err
	}
	for _, r := range rows {
		out[r.ID] = r.TimeZone
		s.venueZone.Store(r.ID, cachedZone{name: r.TimeZone, until: now.Add(venueZoneTTL)})
	}
	return out, nil
}

// zone loads an IANA time zone once; a name the host cannot load (venues
// are validated when written) is read as UTC.
func (s *Store) zone(name string) *time.Location {
	if loc, ok := s.zones.Load(name); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		loc = time.UTC
	}
	s.zones.Store(name, loc)
	return loc
}

// withDueState fills t's due state as of now in its venue's zone.
func (s *Store) withDueState(t devices.Thermometer, zone string) devices.Thermometer {
	if t.Status != devices.StatusRetired {
		t.DueState = devices.DueStateAt(t.NextDueAt, s.now(), s.dueHorizon, s.zone(zone))
	}
	return t
}

var _ devices.Registry = (*Store)(nil)

// Open connects to the database named by cfg. It does not migrate.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*Store, error) {
	dialect, dsn, err := parseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	// Reading the set back from its spec checks one built by hand too.
	spec := devices.DefaultLiftThresholds
	if cfg.LiftThresholds != nil {
		spec = cfg.LiftThresholds.String()
	}
	thresholds, err := devices.ParseThresholds(spec)
	if err != nil {
		return nil, fmt.Errorf("lift thresholds: %w", err)
	}
	gcfg := &gorm.Config{
		TranslateError:         true,
		SkipDefaultTransaction: true,
		PrepareStmt:            dialect == migrations.Postgres,
		Logger:                 gormLogger{log: log, slow: cfg.SlowQuery},
		NowFunc:                func() time.Time { return time.Now().UTC() },
	}
	var dial gorm.Dialector
	if dialect == migrations.Postgres {
		dial = postgres.New(postgres.Config{DSN: dsn})
	} else {
		if dir := filepath.Dir(dsnPath(dsn)); dir != "" && dir != "." {
			if err := os.MkdirAll(dir, 0o750); err != nil {
				return nil, fmt.Errorf("create database directory: %w", err)
			}
		}
		dial = sqlite.Open(dsn)
	}
	db, err := gorm.Open(dial, gcfg)
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", dialect, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", dialect, err)
	}
	if dialect == migrations.SQLite {
		// One connection: SQLite has one writer, and a single connection
		// turns lock contention into queueing instead of SQLITE_BUSY.
		sqlDB.SetMaxOpenConns(1)
	} else {
		n := cfg.MaxOpenConns
		if n <= 0 {
			n = 20
		}
		sqlDB.SetMaxOpenConns(n)
		sqlDB.SetMaxIdleConns(n)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := sqlDB.PingContext(pctx); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("reach %s database: %w", dialect, err)
	}
	maxCycle := cfg.MaxExtendedCycleDays
	if maxCycle <= 0 {
		maxCycle = devices.DefaultMaxExtendedCycleDays
	}
	urgent := cfg.LiftUrgentHours
	if urgent <= 0 {
		urgent = DefaultLiftUrgentHours
	}
	horizon := cfg.DueHorizonDays
	if horizon <= 0 {
		horizon = devices.DefaultDueHorizonDays
	}
	drift := cfg.Drift
	if drift.Detectors == (devices.DriftConfig{}) {
		drift.Detectors = devices.DefaultDriftConfig()
	}
	if drift.SigmaC <= 0 {
		drift.SigmaC = devices.DefaultDriftSigmaC
	}
	if drift.UC <= 0 {
		drift.UC = devices.DefaultDriftUC
	}
	if err := drift.Detectors.Validate(); err != nil {
		_ = sqlDB.Close()
		return nil, err
	}
	return &Store{db: db, sqlDB: sqlDB, dialect: dialect, now: func() time.Time { return time.Now().UTC() }, log: log,
		dueHorizon: horizon, maxCycle: maxCycle, urgent: time.Duration(urgent) * time.Hour, drift: drift,
		thresholds: thresholds}, nil
}

// parseURL tells the dialect and the driver DSN apart.
func parseURL(raw string) (dialect, dsn string, err error) {
	switch {
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		return migrations.Postgres, raw, nil
	case raw == "":
		return "", "", errors.New("database URL is empty")
	case strings.Contains(raw, "://") && !strings.HasPrefix(raw, "sqlite://"):
		return "", "", fmt.Errorf("database URL: unsupported scheme in %q (use postgres:// or a SQLite file path)", redactURL(raw))
	}
	path := strings.TrimPrefix(raw, "sqlite://")
	path = strings.TrimPrefix(path, "file:")
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	return migrations.SQLite, "file:" + path +
		"?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)", nil
}

func dsnPath(dsn string) string {
	p := strings.TrimPrefix(dsn, "file:")
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	return p
}

// redactURL hides a password in a URL for messages.
func redactURL(raw string) string {
	at := strings.LastIndexByte(raw, '@')
	scheme := strings.Index(raw, "://")
	if at < 0 || scheme < 0 {
		return raw
	}
	userinfo := raw[scheme+3 : at]
	if i := strings.IndexByte(userinfo, ':'); i >= 0 {
		return raw[:scheme+3] + userinfo[:i] + ":xxxxx" + raw[at:]
	}
	return raw
}

// Dialect is "postgres" or "sqlite".
func (s *Store) Dialect() string { return s.dialect }

// SetClock replaces the store's clock (tests).
func (s *Store) SetClock(c devices.Clock) { s.now = func() time.Time { return c().UTC() } }

// Close closes the pool.
func (s *Store) Close() error { return s.sqlDB.Close() }

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.sqlDB.PingContext(ctx) }

// SQLDB exposes the pool for tools (benchmark seeding, migrations).
func (s *Store) SQLDB() *sql.DB { return s.sqlDB }

func (s *Store) provider() (*goose.Provider, error) {
	fsys, err := migrations.FS(s.dialect)
	if err != nil {
		return nil, err
	}
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	gd := goose.DialectSQLite3
	if s.dialect == migrations.Postgres {
		gd = goose.DialectPostgres
		// Replicas starting together take turns instead of racing.
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	return goose.NewProvider(gd, s.sqlDB, fsys, opts...)
}

// Migrate applies every pending migration and reports how many ran.
func (s *Store) Migrate(ctx context.Context) (int, error) {
	p, err := s.provider()
	if err != nil {
		return 0, fmt.Errorf("migrations: %w", err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return len(res), fmt.Errorf("migrate: %w", err)
	}
	return len(res), nil
}

// MigrationStatus is one migration and whether it has run.
type MigrationStatus struct {
	Version   int64
	Name      string
	AppliedAt *time.Time
}

// MigrationStatus lists every migration with its state.
func (s *Store) MigrationStatus(ctx context.Context) ([]MigrationStatus, error) {
	p, err := s.provider()
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migration status: %w", err)
	}
	out := make([]MigrationStatus, 0, len(st))
	for _, m := range st {
		ms := MigrationStatus{Version: m.Source.Version, Name: filepath.Base(m.Source.Path)}
		if m.State == goose.StateApplied {
			at := m.AppliedAt.UTC()
			ms.AppliedAt = &at
		}
		out = append(out, ms)
	}
	return out, nil
}

// newID returns a time-ordered UUID (v7), so keyset order is creation order.
func newID() string { return uuid.Must(uuid.NewV7()).String() }

// txAttempts is how many times tx runs a transaction that PostgreSQL
// rolled back to let a concurrent one through.
const txAttempts = 3

// tx runs fn in a transaction bound to ctx. A transaction PostgreSQL rolls
// back as a deadlock victim or a serialization failure wrote nothing, so
// it is run again, up to txAttempts times after a short randomized pause:
// fn must start from what it reads through tx and reset whatever it
// reports outside. When every attempt gave way the error is
// devices.ErrBusy, which the API answers 503 with Retry-After.
func (s *Store) tx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return s.retrying(ctx, func() error { return s.db.WithContext(ctx).Transaction(fn) })
}

// retrying runs once, a whole transaction, again while it gave way (tx).
func (s *Store) retrying(ctx context.Context, once func() error) error {
	for attempt := 1; ; attempt++ {
		err := once()
		if !gaveWay(err) {
			return err
		}
		if attempt == txAttempts {
			return fmt.Errorf("%w: gave way to a concurrent change %d times: %w", devices.ErrBusy, attempt, err)
		}
		s.txRetries.Add(1)
		pause := time.Duration(attempt) * (5*time.Millisecond + rand.N(20*time.Millisecond))
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", devices.ErrBusy, err)
		case <-time.After(pause):
		}
	}
}

// TxRetries counts the transactions run again after PostgreSQL rolled
// them back for a concurrent one (deadlock or serialization failure).
func (s *Store) TxRetries() int64 { return s.txRetries.Load() }

// gaveWay says err is PostgreSQL rolling a transaction back so that a
// concurrent one could go on: deadlock_detected, serialization_failure, or
// lock_not_available (a NOWAIT lock another transaction held).
func gaveWay(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001" || pe.Code == "55P03")
}

// updateAt writes updates to row id of model's table only while it is
// still at version: when a concurrent writer got there first it changes
// nothing and answers ErrPreconditionFailed (optimistic concurrency).
func updateAt(tx *gorm.DB, model any, id string, version int, updates map[string]any) error {
	res := tx.Model(model).Where("id = ? AND version = ?", id, version).Updates(updates)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return devices.ErrPreconditionFailed
	}
	return nil
}

// translate turns gorm and driver errors into domain kinds; domain errors
// pass through.
func translate(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound):
		return fmt.Errorf("%s: %w", what, devices.ErrNotFound)
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return devices.Conflict("duplicate", "%s already exists", what)
	case errors.Is(err, gorm.ErrForeignKeyViolated):
		return devices.Conflict("reference", "%s refers to a missing or retired object", what)
	}
	return err
}

// gormLogger sends gorm's messages to slog: errors other than "not found",
// and slow queries.
type gormLogger struct {
	log  *slog.Logger
	slow time.Duration
}

func (l gormLogger) LogMode(logger.LogLevel) logger.Interface { return l }
func (l gormLogger) Info(ctx context.Context, msg string, args ...any) {
	l.log.DebugContext(ctx, fmt.Sprintf(msg, args...))
}
func (l gormLogger) Warn(ctx context.Context, msg string, args ...any) {
	l.log.WarnContext(ctx, fmt.Sprintf(msg, args...))
}
func (l gormLogger) Error(ctx context.Context, msg string, args ...any) {
	l.log.ErrorContext(ctx, fmt.Sprintf(msg, args...))
}
func (l gormLogger) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), err error) {
	if l.slow > 0 {
		if d := time.Since(begin); d > l.slow {
			sqlText, rows := fc()
			l.log.WarnContext(ctx, "slow query", "duration", d, "rows", rows, "sql", truncate(sqlText, 300))
		}
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func isNotFound(err error) bool { return errors.Is(err, devices.ErrNotFound) }

func itoa(n int) string { return strconv.Itoa(n) }
