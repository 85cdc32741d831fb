// Package config reads calibd's configuration from environment variables,
// once, in main. Every key, default and check lives in this file.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/calibd/calibd/devices"
)

// Defaults of the zero-configuration path.
const (
	DefaultDatabasePath = "./data/calibd.db"
	DefaultHTTPAddr     = "127.0.0.1:8080"
)

// Config is everything calibd reads from its environment.
type Config struct {
	Env              string        // ENV: development | production
	DatabaseURL      string        // DATABASE_URL: postgres://… ; empty → SQLite file
	DBMaxConns       int           // DB_MAX_CONNS: PostgreSQL pool size
	HTTPAddr         string        // HTTP_ADDR
	LogLevel         slog.Level    // LOG_LEVEL: debug | info | warn | error
	LogFormat        string        // LOG_FORMAT: text | json
	BootstrapToken   string        // CALIBD_BOOTSTRAP_TOKEN: the first admin token, if you choose it
	BrokerAuthToken  string        // BROKER_AUTH_TOKEN: bearer token an external broker's auth hook sends; empty disables /broker/*
	MQTTURL          string        // MQTT_URL: tcp:// or ssl:// broker; empty → the embedded broker
	MQTTEmbeddedAddr string        // MQTT_EMBEDDED_ADDR: where the embedded broker listens
	MQTTClientID     string        // MQTT_CLIENT_ID: stable and unique per replica
	MQTTUsername     string        // MQTT_USERNAME: the ingest's login on an external broker
	MQTTPassword     string        // MQTT_PASSWORD (secret)
	MQTTCAFile       string        // MQTT_CA_FILE: CAs of an ssl:// broker; empty → system roots
	IngestShared     bool          // INGEST_SHARED: subscribe through $share/calibd/... so replicas split the stream
	IngestWorkers    int           // INGEST_WORKERS
	IngestQueue      int           // INGEST_QUEUE: messages held before backpressure
	IngestBatch      int           // INGEST_BATCH: messages per commit
	IngestBatchWait  time.Duration // INGEST_BATCH_WAIT: how long a batch may wait to fill; 0: commit what is queued
	IngestDeviceTTL  time.Duration // INGEST_DEVICE_TTL: how long the ingest trusts a device it looked up; 0: every batch
	AuthCacheTTL     time.Duration // AUTH_CACHE_TTL: how long a replica trusts a resolved token
	MaxBodyBytes     int64         // MAX_BODY_BYTES: JSON request bodies
	MaxImportBytes   int64         // MAX_IMPORT_BYTES: CSV uploads
	ShutdownTimeout  time.Duration // SHUTDOWN_TIMEOUT
	SlowQuery        time.Duration // SLOW_QUERY: log queries slower than this; 0 = off
	AutoMigrate      bool          // MIGRATE_ON_START: apply migrations at start (default on)
	SchedulePlan     string        // SCHEDULE_PLAN: cron spec of the plan job; "off" = only on demand
	ScheduleVisits   string        // SCHEDULE_VISITS: cron spec of the visits job
	ScheduleOverdue  string        // SCHEDULE_OVERDUE: cron spec of the overdue job
	ScheduleLifts    string        // SCHEDULE_LIFTS: cron spec of the lift maintenance job
	ScheduleSilent   string        // SCHEDULE_SILENT: cron spec of the job that finds silent devices
	SilentThermo     time.Duration // SILENT_AFTER_THERMOMETER: how long a thermometer may stay quiet
	SilentLift       time.Duration // SILENT_AFTER_ELEVATOR: how long a lift may stay quiet
	LiftHorizonDays  int           // LIFT_HORIZON_DAYS: how far ahead the lifts job creates tasks
	LiftUrgentHours  int           // LIFT_URGENT_HOURS: how soon an on-site visit follows a failed remote check
	VisitHorizonDays int           // VISIT_HORIZON_DAYS: how far ahead the visits job places visits
	SchedulerTZ      string        // SCHEDULER_TZ: IANA zone the cron specs are read in
	DueHorizonDays   int           // DUE_HORIZON_DAYS: how far ahead a thermometer counts as due soon
	MaxLiftCycleDays int           // MAX_EXTENDED_CYCLE_DAYS: the longest on-site cycle a lift agreement may set
	// LiftThresholds (LIFT_THRESHOLDS) are the bounds on lift telemetry
	// metrics whose breach raises the lift's threshold alert; never nil
	// after a successful Load ("none" gives an empty set).
	LiftThresholds devices.Thresholds
	Drift          DriftSettings // DRIFT_*: the drift detectors (drift.go)
	// WebSessionTTL (WEB_SESSION_TTL) bounds a dashboard sign-in;
	// WebIdleTimeout (WEB_IDLE_TIMEOUT) ends an unused one;
	// WebSecureCookies (WEB_SECURE_COOKIES) marks the cookie Secure on
	// plain HTTP behind a TLS proxy that sends no X-Forwarded-Proto.
	WebSessionTTL    time.Duration
	WebIdleTimeout   time.Duration
	WebSecureCookies bool
	// PprofAddr (PPROF_ADDR) serves net/http/pprof on its own loopback
	// listener, for profiling; empty (the default) serves none.
	PprofAddr string
}

// Production reports whether ENV=production.
func (c Config) Production() bool { return c.Env == "production" }

// Embedded reports whether the zero-install SQLite default is in use.
func (c Config) Embedded() bool {
	return !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://")
}

// Load reads the configuration through getenv (os.Getenv in main, a map in
// tests) and validates it.
func Load(getenv func(string) string) (Config, error) {
	var errs []error
	str := func(key, def string) string {
		if v := strings.TrimSpace(getenv(key)); v != "" {
			return v
		}
		return def
	}
	dur := func(key string, def time.Duration) time.Duration {
		v := getenv(key)
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			errs = append(errs, fmt.Errorf("%s: %q is not a duration such as 5s", key, v))
			return def
		}
		return d
	}
	num := func(key string, def int64) int64 {
		v := getenv(key)
		if v == "" {
			return def
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			errs = append(errs, fmt.Errorf("%s: %q is not a positive whole number", key, v))
			return def
		}
		return n
	}
	c := Config{
		Env:              str("ENV", "development"),
		DatabaseURL:      str("DATABASE_URL", DefaultDatabasePath),
		DBMaxConns:       int(num("DB_MAX_CONNS", 20)),
		HTTPAddr:         str("HTTP_ADDR", DefaultHTTPAddr),
		LogFormat:        str("LOG_FORMAT", ""),
		BootstrapToken:   getenv("CALIBD_BOOTSTRAP_TOKEN"),
		BrokerAuthToken:  getenv("BROKER_AUTH_TOKEN"),
		MQTTURL:          str("MQTT_URL", ""),
		MQTTEmbeddedAddr: str("MQTT_EMBEDDED_ADDR", DefaultMQTTEmbeddedAddr),
		MQTTClientID:     str("MQTT_CLIENT_ID", defaultClientID()),
		MQTTUsername:     getenv("MQTT_USERNAME"),
		MQTTPassword:     getenv("MQTT_PASSWORD"),
		MQTTCAFile:       str("MQTT_CA_FILE", ""),
		IngestWorkers:    int(num("INGEST_WORKERS", 3)),
		IngestQueue:      int(num("INGEST_QUEUE", 10000)),
		IngestBatch:      int(num("INGEST_BATCH", 1000)),
		IngestBatchWait:  dur("INGEST_BATCH_WAIT", 25*time.Millisecond),
		IngestDeviceTTL:  dur("INGEST_DEVICE_TTL", 5*time.Second),
		AuthCacheTTL:     dur("AUTH_CACHE_TTL", 5*time.Second),
		MaxBodyBytes:     num("MAX_BODY_BYTES", 1<<20),
		MaxImportBytes:   num("MAX_IMPORT_BYTES", 32<<20),
		ShutdownTimeout:  dur("SHUTDOWN_TIMEOUT", 15*time.Second),
		SlowQuery:        dur("SLOW_QUERY", 0),
		AutoMigrate:      true,
		SchedulePlan:     str("SCHEDULE_PLAN", "5 * * * *"),
		ScheduleVisits:   str("SCHEDULE_VISITS", "15 * * * *"),
		ScheduleOverdue:  str("SCHEDULE_OVERDUE", "25 * * * *"),
		ScheduleLifts:    str("SCHEDULE_LIFTS", "35 * * * *"),
		ScheduleSilent:   str("SCHEDULE_SILENT", "*/5 * * * *"),
		SilentThermo:     dur("SILENT_AFTER_THERMOMETER", 24*time.Hour),
		SilentLift:       dur("SILENT_AFTER_ELEVATOR", 15*time.Minute),
		LiftHorizonDays:  int(num("LIFT_HORIZON_DAYS", 7)),
		LiftUrgentHours:  int(num("LIFT_URGENT_HOURS", 24)),
		VisitHorizonDays: int(num("VISIT_HORIZON_DAYS", 60)),
		SchedulerTZ:      str("SCHEDULER_TZ", "UTC"),
		DueHorizonDays:   int(num("DUE_HORIZON_DAYS", 30)),
		MaxLiftCycleDays: int(num("MAX_EXTENDED_CYCLE_DAYS", 45)),
		WebSessionTTL:    dur("WEB_SESSION_TTL", 8*time.Hour),
		WebIdleTimeout:   dur("WEB_IDLE_TIMEOUT", time.Hour),
		PprofAddr:        str("PPROF_ADDR", ""),
	}
	if v := getenv("MIGRATE_ON_START"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("MIGRATE_ON_START: %q is not true or false", v))
		}
		c.AutoMigrate = b
	}
	if v := getenv("WEB_SECURE_COOKIES"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("WEB_SECURE_COOKIES: %q is not true or false", v))
		}
		c.WebSecureCookies = b
	}
	if v := getenv("INGEST_SHARED"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("INGEST_SHARED: %q is not true or false", v))
		}
		c.IngestShared = b
	}
	// Unset and empty both mean the default (getenv cannot tell them
	// apart); "none" turns the bounds off.
	th, err := devices.ParseThresholds(str("LIFT_THRESHOLDS", devices.DefaultLiftThresholds))
	if err != nil {
		errs = append(errs, fmt.Errorf("LIFT_THRESHOLDS: %w", err))
	}
	c.LiftThresholds = th
	if err := c.LogLevel.UnmarshalText([]byte(str("LOG_LEVEL", "info"))); err != nil {
		errs = append(errs, fmt.Errorf("LOG_LEVEL: %q is not debug, info, warn or error", getenv("LOG_LEVEL")))
	}
	drift, driftErrs := loadDrift(getenv)
	c.Drift, errs = drift, append(errs, driftErrs...)
	if c.LogFormat == "" {
		c.LogFormat = "text"
		if c.Production() {
			c.LogFormat = "json"
		}
	}
	if err := c.Validate(); err != nil {
		errs = append(errs, err)
	}
	return c, errors.Join(errs...)
}

// DefaultMQTTEmbeddedAddr is where the embedded broker listens.
const DefaultMQTTEmbeddedAddr = "127.0.0.1:1883"

// defaultClientID is calibd-<hostname>: stable across restarts of one
// replica, different between replicas on different hosts.
func defaultClientID() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		h = "local"
	}
	return "calibd-" + h
}

// ScheduleOff is the SCHEDULE_* value that leaves a job to on-demand runs.
const ScheduleOff = "off"

// Validate checks rules that join several keys.
func (c Config) Validate() error {
	var errs []error
	if c.Env != "development" && c.Env != "production" {
		errs = append(errs, fmt.Errorf("ENV: %q is not development or production", c.Env))
	}
	if c.Production() && c.Embedded() {
		errs = append(errs, errors.New("ENV=production needs DATABASE_URL=postgres://…; the embedded SQLite file is for development only"))
	}
	if c.Production() && c.MQTTURL == "" {
		errs = append(errs, errors.New("ENV=production needs MQTT_URL=tcp://… or ssl://…; the embedded broker is for development only"))
	}
	if c.MQTTURL != "" && !strings.HasPrefix(c.MQTTURL, "tcp://") && !strings.HasPrefix(c.MQTTURL, "ssl://") &&
		!strings.HasPrefix(c.MQTTURL, "mqtt://") && !strings.HasPrefix(c.MQTTURL, "mqtts://") {
		errs = append(errs, fmt.Errorf("MQTT_URL: %q is not tcp://, ssl://, mqtt:// or mqtts://host:port", c.MQTTURL))
	}
	if _, _, err := net.SplitHostPort(c.MQTTEmbeddedAddr); err != nil {
		errs = append(errs, fmt.Errorf("MQTT_EMBEDDED_ADDR: %q is not host:port", c.MQTTEmbeddedAddr))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("LOG_FORMAT: %q is not text or json", c.LogFormat))
	}
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		errs = append(errs, fmt.Errorf("HTTP_ADDR: %q is not host:port", c.HTTPAddr))
	}
	if _, err := time.LoadLocation(c.SchedulerTZ); err != nil {
		errs = append(errs, fmt.Errorf("SCHEDULER_TZ: %q is not an IANA time zone such as Asia/Shanghai", c.SchedulerTZ))
	}
	if c.VisitHorizonDays > 366 {
		errs = append(errs, fmt.Errorf("VISIT_HORIZON_DAYS: %d is more than a year", c.VisitHorizonDays))
	}
	if c.DueHorizonDays > 366 {
		errs = append(errs, fmt.Errorf("DUE_HORIZON_DAYS: %d is more than a year", c.DueHorizonDays))
	}
	if c.LiftHorizonDays > 366 {
		errs = append(errs, fmt.Errorf("LIFT_HORIZON_DAYS: %d is more than a year", c.LiftHorizonDays))
	}
	if c.LiftUrgentHours > 7*24 {
		errs = append(errs, fmt.Errorf("LIFT_URGENT_HOURS: %d is more than a week; a failed check needs a prompt visit", c.LiftUrgentHours))
	}
	if c.BrokerAuthToken != "" && len(c.BrokerAuthToken) < 32 {
		errs = append(errs, errors.New("BROKER_AUTH_TOKEN: use at least 32 characters"))
	}
	if c.MaxLiftCycleDays < 16 || c.MaxLiftCycleDays > 180 {
		errs = append(errs, fmt.Errorf("MAX_EXTENDED_CYCLE_DAYS: %d is not between 16 and 180 (the statutory cycle is 15 days)", c.MaxLiftCycleDays))
	}
	return errors.Join(errs...)
}

// LogValue logs the configuration once at start with secrets masked.
func (c Config) LogValue() slog.Value {
	boot := ""
	if c.BootstrapToken != "" {
		boot = "set (masked)"
	}
	return slog.GroupValue(
		slog.String("env", c.Env),
		slog.String("database_url", maskURL(c.DatabaseURL)),
		slog.String("http_addr", c.HTTPAddr),
		slog.String("log_level", c.LogLevel.String()),
		slog.String("log_format", c.LogFormat),
		slog.String("bootstrap_token", boot),
		slog.Bool("broker_auth_endpoints", c.BrokerAuthToken != ""),
		slog.String("mqtt_url", maskURL(c.MQTTURL)),
		slog.String("mqtt_embedded_addr", c.MQTTEmbeddedAddr),
		slog.String("mqtt_client_id", c.MQTTClientID),
		slog.String("mqtt_username", c.MQTTUsername),
		slog.Bool("mqtt_password_set", c.MQTTPassword != ""),
		slog.Bool("ingest_shared", c.IngestShared),
		slog.Int("ingest_workers", c.IngestWorkers),
		slog.Duration("ingest_batch_wait", c.IngestBatchWait),
		slog.Duration("auth_cache_ttl", c.AuthCacheTTL),
		slog.Int64("max_body_bytes", c.MaxBodyBytes),
		slog.Int64("max_import_bytes", c.MaxImportBytes),
		slog.String("schedule_plan", c.SchedulePlan),
		slog.String("schedule_visits", c.ScheduleVisits),
		slog.String("schedule_overdue", c.ScheduleOverdue),
		slog.String("schedule_lifts", c.ScheduleLifts),
		slog.String("schedule_silent", c.ScheduleSilent),
		slog.Duration("silent_after_thermometer", c.SilentThermo),
		slog.Duration("silent_after_elevator", c.SilentLift),
		slog.Int("lift_horizon_days", c.LiftHorizonDays),
		slog.Int("lift_urgent_hours", c.LiftUrgentHours),
		slog.Int("visit_horizon_days", c.VisitHorizonDays),
		slog.String("scheduler_tz", c.SchedulerTZ),
		slog.Int("due_horizon_days", c.DueHorizonDays),
		slog.Int("max_extended_cycle_days", c.MaxLiftCycleDays),
		slog.String("lift_thresholds", c.LiftThresholds.String()),
		slog.Any("drift", c.Drift),
		slog.Duration("web_session_ttl", c.WebSessionTTL),
		slog.Duration("web_idle_timeout", c.WebIdleTimeout),
		slog.Bool("web_secure_cookies", c.WebSecureCookies),
	)
}

// maskURL hides the password of a URL.
func maskURL(raw string) string {
	scheme := strings.Index(raw, "://")
	at := strings.LastIndexByte(raw, '@')
	if scheme < 0 || at < scheme {
		return raw
	}
	userinfo := raw[scheme+3 : at]
	if i := strings.IndexByte(userinfo, ':'); i >= 0 {
		return raw[:scheme+3] + userinfo[:i] + ":xxxxx" + raw[at:]
	}
	return raw
}
