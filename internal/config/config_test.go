package config

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/calibd/calibd/devices"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadDefaults(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.DatabaseURL != DefaultDatabasePath || c.HTTPAddr != "127.0.0.1:8080" || !c.Embedded() || c.Production() ||
		c.LogFormat != "text" || c.LogLevel != slog.LevelInfo || c.AuthCacheTTL != 5*time.Second || !c.AutoMigrate {
		t.Errorf("defaults = %+v", c)
	}
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
		check   func(Config) bool
	}{
		{"production refuses the embedded default", map[string]string{"ENV": "production"}, "ENV=production needs DATABASE_URL", nil},
		{"production on postgres logs json", map[string]string{"ENV": "production", "DATABASE_URL": "postgres://u:p@h/db",
			"MQTT_URL": "ssl://broker:8883"}, "",
			func(c Config) bool { return c.LogFormat == "json" && !c.Embedded() }},
		{"production refuses the embedded broker", map[string]string{"ENV": "production", "DATABASE_URL": "postgres://u:p@h/db"},
			"ENV=production needs MQTT_URL", nil},
		{"bad broker url", map[string]string{"MQTT_URL": "http://broker"}, "MQTT_URL", nil},
		{"bad shared flag", map[string]string{"INGEST_SHARED": "sometimes"}, "INGEST_SHARED", nil},
		{"ingest settings", map[string]string{"MQTT_URL": "tcp://b:1883", "INGEST_SHARED": "true", "MQTT_CLIENT_ID": "calibd-1"}, "",
			func(c Config) bool {
				return c.IngestShared && c.MQTTClientID == "calibd-1" && c.IngestWorkers == 3 && c.IngestBatchWait == 25*time.Millisecond && c.MQTTEmbeddedAddr == "127.0.0.1:1883"
			}},
		{"unknown env", map[string]string{"ENV": "staging"}, "ENV", nil},
		{"bad duration", map[string]string{"AUTH_CACHE_TTL": "soon"}, "AUTH_CACHE_TTL", nil},
		{"bad size", map[string]string{"MAX_BODY_BYTES": "-1"}, "MAX_BODY_BYTES", nil},
		{"bad level", map[string]string{"LOG_LEVEL": "loud"}, "LOG_LEVEL", nil},
		{"bad format", map[string]string{"LOG_FORMAT": "xml"}, "LOG_FORMAT", nil},
		{"bad addr", map[string]string{"HTTP_ADDR": "8080"}, "HTTP_ADDR", nil},
		{"bad bool", map[string]string{"MIGRATE_ON_START": "maybe"}, "MIGRATE_ON_START", nil},
		{"bad scheduler zone", map[string]string{"SCHEDULER_TZ": "Mars/Olympus"}, "SCHEDULER_TZ", nil},
		{"bad horizon", map[string]string{"DUE_HORIZON_DAYS": "0"}, "DUE_HORIZON_DAYS", nil},
		{"horizon over a year", map[string]string{"DUE_HORIZON_DAYS": "400"}, "DUE_HORIZON_DAYS", nil},
		{"scheduler settings", map[string]string{"SCHEDULE_PLAN": "off", "SCHEDULER_TZ": "Asia/Shanghai", "DUE_HORIZON_DAYS": "14"}, "",
			func(c Config) bool {
				return c.SchedulePlan == ScheduleOff && c.SchedulerTZ == "Asia/Shanghai" && c.DueHorizonDays == 14
			}},
		{"default lift thresholds", nil, "",
			func(c Config) bool { return c.LiftThresholds.String() == devices.DefaultLiftThresholds }},
		{"blank lift thresholds mean the default", map[string]string{"LIFT_THRESHOLDS": "  "}, "",
			func(c Config) bool { return c.LiftThresholds.String() == devices.DefaultLiftThresholds }},
		{"lift thresholds off", map[string]string{"LIFT_THRESHOLDS": "none"}, "",
			func(c Config) bool { return c.LiftThresholds != nil && len(c.LiftThresholds) == 0 }},
		{"lift thresholds", map[string]string{"LIFT_THRESHOLDS": "leveling_error_mm>8, machine_room_temp_c>=40,machine_room_temp_c<5"}, "",
			func(c Config) bool {
				return c.LiftThresholds.String() == "leveling_error_mm>8,machine_room_temp_c>=40,machine_room_temp_c<5"
			}},
		{"bad lift threshold names its entry", map[string]string{"LIFT_THRESHOLDS": "leveling_error_mm>10,vibration_mm_s>>4.5"},
			`LIFT_THRESHOLDS: entry 2 "vibration_mm_s>>4.5"`, nil},
		{"crossed lift thresholds", map[string]string{"LIFT_THRESHOLDS": "machine_room_temp_c>0,machine_room_temp_c<40"},
			`LIFT_THRESHOLDS: entry 2`, nil},
		{"cache off", map[string]string{"AUTH_CACHE_TTL": "0s", "MIGRATE_ON_START": "false", "LOG_LEVEL": "debug"}, "",
			func(c Config) bool { return c.AuthCacheTTL == 0 && !c.AutoMigrate && c.LogLevel == slog.LevelDebug }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(env(tt.env))
			switch {
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Load(%v) error = %v, want one mentioning %q", tt.env, err, tt.wantErr)
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Load(%v) error = %v", tt.env, err)
			case tt.check != nil && !tt.check(c):
				t.Errorf("Load(%v) = %+v", tt.env, c)
			}
		})
	}
}

func TestLogValueMasksSecrets(t *testing.T) {
	c, err := Load(env(map[string]string{"DATABASE_URL": "postgres://calibd:s3cret@db:5432/calibd", "CALIBD_BOOTSTRAP_TOKEN": "cdt_topsecretvalue"}))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	slog.New(slog.NewTextHandler(&b, nil)).Info("config", "config", c)
	out := b.String()
	if strings.Contains(out, "s3cret") || strings.Contains(out, "topsecretvalue") {
		t.Errorf("secrets leak into the log: %s", out)
	}
	if !strings.Contains(out, "lift_thresholds="+devices.DefaultLiftThresholds) {
		t.Errorf("lift thresholds missing from the summary: %s", out)
	}
	if !strings.Contains(out, "calibd:xxxxx@db:5432") {
		t.Errorf("masked URL missing: %s", out)
	}
}
