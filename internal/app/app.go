// Package app wires calibd together: it opens the store, migrates,
// bootstraps the first admin token, builds the API and serves it until the
// context ends, then shuts down in order.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/internal/broker"
	"github.com/calibd/calibd/internal/config"
	"github.com/calibd/calibd/internal/httpapi"
	"github.com/calibd/calibd/internal/ingest"
	"github.com/calibd/calibd/internal/store"
	"github.com/calibd/calibd/internal/web"
	"github.com/calibd/calibd/scheduler"
)

// App is a started calibd: listening, not yet serving.
type App struct {
	cfg   config.Config
	log   *slog.Logger
	store *store.Store
	jobs  *scheduler.Runner
	mqtt  *mqttSide
	http  *http.Server
	ln    net.Listener
}

// New opens the database, applies migrations (unless disabled), creates the
// bootstrap token on an empty database (printing it once to out) and binds
// the HTTP address.
func New(ctx context.Context, cfg config.Config, version string, log *slog.Logger, out io.Writer) (*App, error) {
	log.Info("starting calibd", "version", version, "config", cfg)
	if cfg.Embedded() {
		log.Warn("using the embedded SQLite database; set DATABASE_URL=postgres://… for production", "path", cfg.DatabaseURL)
	}
	st, err := store.Open(ctx, store.Config{URL: cfg.DatabaseURL, MaxOpenConns: cfg.DBMaxConns, SlowQuery: cfg.SlowQuery,
		DueHorizonDays: cfg.DueHorizonDays, MaxExtendedCycleDays: cfg.MaxLiftCycleDays,
		LiftUrgentHours: cfg.LiftUrgentHours, LiftThresholds: cfg.LiftThresholds,
		Drift: store.DriftSettings{Detectors: cfg.Drift.Detectors, SigmaC: cfg.Drift.SigmaC, SigmaByProfile: cfg.Drift.SigmaByProfile,
			UC: cfg.Drift.UC}},
		log.With("component", "store"))
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			_ = st.Close()
		}
	}()
	if cfg.AutoMigrate {
		n, err := st.Migrate(ctx)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			log.Info("migrations applied", "count", n)
		}
	} else if err := schemaCurrent(ctx, st); err != nil {
		return nil, err
	}
	secret, err := st.Bootstrap(ctx, cfg.BootstrapToken)
	if err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	if secret != "" {
		if cfg.BootstrapToken == "" {
			fmt.Fprintf(out, "\nFirst start: created the regulator organization and its admin token.\n"+
				"It is shown only this once; keep it safe:\n\n    %s\n\n"+
				"Sign in with it at http://%s/ (the dashboard), or use it as 'Authorization: Bearer <token>'.\n"+
				"Lost it? Run 'calibd token create --org <id>'.\n\n", secret, cfg.HTTPAddr)
		}
		log.Info("bootstrap regulator organization and admin token created")
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		newAlertCollector(st, log.With("component", "metrics")),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "calibd_db_transaction_retries_total",
			Help: "Transactions (API requests, jobs, ingest batches) run again after PostgreSQL rolled them back for a concurrent one (deadlock, serialization failure, a NOWAIT lock taken).",
		}, func() float64 { return float64(st.TxRetries()) }))
	jobs, err := newScheduler(cfg, st, log.With("component", "scheduler"), reg)
	if err != nil {
		return nil, err
	}
	mq, err := startMQTT(ctx, cfg, st, log, reg)
	if err != nil {
		return nil, err
	}
	defer func() {
		if !ok {
			mq.close(context.Background())
		}
	}()
	ui, err := web.New(st, log.With("component", "web"), web.Config{SessionTTL: cfg.WebSessionTTL, IdleTimeout: cfg.WebIdleTimeout,
		SecureCookies: cfg.WebSecureCookies, Version: version})
	if err != nil {
		return nil, err
	}
	api, err := httpapi.New(st, log.With("component", "http"), httpapi.Config{
		MaxBodyBytes: cfg.MaxBodyBytes, MaxImportBytes: cfg.MaxImportBytes, AuthCacheTTL: cfg.AuthCacheTTL, Version: version,
		BrokerAuthToken: cfg.BrokerAuthToken,
		BrokerConnected: mq.ingest.Connected,
		Jobs:            jobs,
		UI:              ui,
	}, reg)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.HTTPAddr, err)
	}
	srv := &http.Server{
		Handler:           api.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ok = true
	return &App{cfg: cfg, log: log, store: st, jobs: jobs, mqtt: mq, http: srv, ln: ln}, nil
}

// Addr is the bound HTTP address (useful with port 0).
func (a *App) Addr() string { return a.ln.Addr().String() }

// MQTTURL is the embedded broker's address ("" with MQTT_URL set).
func (a *App) MQTTURL() string {
	if a.mqtt.broker == nil {
		return ""
	}
	return a.mqtt.broker.URL()
}

// Run serves until ctx ends or the server fails, then shuts down: HTTP
// first (in-flight requests finish), then the database.
func (a *App) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- a.http.Serve(a.ln) }()
	hctx, stopHousekeeping := context.WithCancel(ctx)
	housekeepingDone := make(chan struct{})
	go func() {
		defer close(housekeepingDone)
		a.housekeeping(hctx, time.Hour)
	}()
	a.jobs.Start()
	if a.cfg.PprofAddr != "" {
		// Profiling for whoever runs the benchmarks: on its own listener,
		// never on the public one.
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		ps := &http.Server{Addr: a.cfg.PprofAddr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := ps.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				a.log.Warn("pprof listener", "error", err)
			}
		}()
		defer ps.Close()
		a.log.Info("pprof is serving", "addr", a.cfg.PprofAddr)
	}
	a.log.Info("calibd is serving", "url", "http://"+a.Addr())
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	a.log.Info("shutting down")
	stopHousekeeping()
	<-housekeepingDone
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	shutErr := a.http.Shutdown(sctx)
	jobsErr := a.jobs.Stop(sctx)
	mqttErr := a.mqtt.close(sctx)
	closeErr := a.store.Close()
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	return errors.Join(serveErr, shutErr, jobsErr, mqttErr, closeErr)
}

// mqttSide is the embedded broker (when MQTT_URL is unset) and the ingest.
type mqttSide struct {
	broker *broker.Broker
	ingest *ingest.Ingest
	log    *slog.Logger
}

// startMQTT starts the embedded broker when no MQTT_URL is set, then the
// ingest on it or on the configured broker. If the embedded broker's
// default port is taken (a Mosquitto on this host), it listens on a free
// loopback port instead and says so.
func startMQTT(ctx context.Context, cfg config.Config, st *store.Store, log *slog.Logger, reg prometheus.Registerer) (*mqttSide, error) {
	ingest.SetLibraryLogger(log.With("component", "paho"))
	m := &mqttSide{log: log}
	icfg := ingest.Config{URL: cfg.MQTTURL, ClientID: cfg.MQTTClientID, Username: cfg.MQTTUsername, Password: cfg.MQTTPassword,
		Shared: cfg.IngestShared, QueueSize: cfg.IngestQueue, Workers: cfg.IngestWorkers, BatchSize: cfg.IngestBatch,
		BatchWait: cfg.IngestBatchWait, DeviceTTL: cfg.IngestDeviceTTL, CAFile: cfg.MQTTCAFile}
	// INGEST_BATCH_WAIT=0 and INGEST_DEVICE_TTL=0 mean none; ingest.Config's
	// zero is its default.
	if icfg.BatchWait == 0 {
		icfg.BatchWait = -1
	}
	if icfg.DeviceTTL == 0 {
		icfg.DeviceTTL = -1
	}
	if cfg.MQTTURL != "" {
		i, err := ingest.Start(ctx, icfg, st, log, reg)
		if err != nil {
			return nil, err
		}
		m.ingest = i
		return m, nil
	}
	// The embedded broker hands device messages to the ingest in process;
	// a device's PUBACK waits for its commit.
	i, err := ingest.StartLocal(icfg, st, log, reg)
	if err != nil {
		return nil, err
	}
	blog := log.With("component", "broker")
	b, err := broker.Start(broker.Config{Addr: cfg.MQTTEmbeddedAddr, Sink: i}, st, blog)
	if err != nil && cfg.MQTTEmbeddedAddr == config.DefaultMQTTEmbeddedAddr {
		log.Warn("the embedded MQTT broker's port is taken (another broker on this host?); using a free port instead; "+
			"set MQTT_URL to use that broker, or MQTT_EMBEDDED_ADDR", "addr", cfg.MQTTEmbeddedAddr, "error", err)
		b, err = broker.Start(broker.Config{Addr: "127.0.0.1:0", Sink: i}, st, blog)
	}
	if err != nil {
		_ = i.Close(ctx)
		return nil, err
	}
	m.broker = b
	log.Warn("using the embedded MQTT broker; set MQTT_URL=tcp://… for production", "url", b.URL())
	m.ingest = i
	return m, nil
}

// close drains the ingest (acking what it commits) and disconnects, then
// stops the embedded broker.
func (m *mqttSide) close(ctx context.Context) error {
	err := m.ingest.Close(ctx)
	if m.broker != nil {
		err = errors.Join(err, m.broker.Close())
	}
	return err
}

// housekeeping deletes expired idempotency keys every interval. Every
// replica runs it; the deletes are idempotent.
func (a *App) housekeeping(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n, err := a.store.PurgeIdempotencyKeys(ctx, time.Now().Add(-devices.IdempotencyTTL))
			switch {
			case err != nil && ctx.Err() == nil:
				a.log.Warn("purging expired idempotency keys", "error", err)
			case n > 0:
				a.log.Info("purged expired idempotency keys", "count", n)
			}
		}
	}
}

// newScheduler builds the job runner: every job, with its spec from the
// configuration, under the store's cluster-wide job lock.
func newScheduler(cfg config.Config, st *store.Store, log *slog.Logger, reg prometheus.Registerer) (*scheduler.Runner, error) {
	loc, err := time.LoadLocation(cfg.SchedulerTZ)
	if err != nil {
		return nil, fmt.Errorf("SCHEDULER_TZ: %w", err)
	}
	r, err := scheduler.New(scheduler.Options{Logger: log, Registerer: reg, Locker: st, Location: loc})
	if err != nil {
		return nil, err
	}
	spec := func(s string) string {
		if s == config.ScheduleOff {
			return ""
		}
		return s
	}
	if err := r.Register(scheduler.PlanJob(st, time.Now, cfg.DueHorizonDays, spec(cfg.SchedulePlan))); err != nil {
		return nil, fmt.Errorf("SCHEDULE_PLAN: %w", err)
	}
	if err := r.Register(scheduler.VisitsJob(st, time.Now, cfg.VisitHorizonDays, spec(cfg.ScheduleVisits))); err != nil {
		return nil, fmt.Errorf("SCHEDULE_VISITS: %w", err)
	}
	if err := r.Register(scheduler.OverdueJob(st, time.Now, spec(cfg.ScheduleOverdue))); err != nil {
		return nil, fmt.Errorf("SCHEDULE_OVERDUE: %w", err)
	}
	if err := r.Register(scheduler.LiftsJob(st, st, time.Now, cfg.LiftHorizonDays, spec(cfg.ScheduleLifts))); err != nil {
		return nil, fmt.Errorf("SCHEDULE_LIFTS: %w", err)
	}
	if err := r.Register(scheduler.SilentJob(st, time.Now, cfg.SilentThermo, cfg.SilentLift, spec(cfg.ScheduleSilent))); err != nil {
		return nil, fmt.Errorf("SCHEDULE_SILENT: %w", err)
	}
	return r, nil
}

// Run is New followed by Run.
func Run(ctx context.Context, cfg config.Config, version string, log *slog.Logger, out io.Writer) error {
	a, err := New(ctx, cfg, version, log, out)
	if err != nil {
		return err
	}
	return a.Run(ctx)
}

// schemaCurrent refuses to start on a database that lacks migrations this
// version needs (MIGRATE_ON_START=false): every request and ingest batch
// touching the new columns would fail until someone ran them. A database
// ahead of this version (a newer replica migrated it during a rollout) is
// fine.
func schemaCurrent(ctx context.Context, st *store.Store) error {
	ms, err := st.MigrationStatus(ctx)
	if err != nil {
		return err
	}
	var pending []string
	for _, m := range ms {
		if m.AppliedAt == nil {
			pending = append(pending, m.Name)
		}
	}
	if len(pending) > 0 {
		return fmt.Errorf("the database lacks %d migration(s) this version needs (%s); run 'calibd migrate up', "+
			"or start with MIGRATE_ON_START=true", len(pending), strings.Join(pending, ", "))
	}
	return nil
}
