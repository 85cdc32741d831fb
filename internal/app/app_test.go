package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/calibd/calibd/internal/app"
	"github.com/calibd/calibd/internal/config"
	"github.com/calibd/calibd/internal/store"
	"github.com/calibd/calibd/internal/testenv"
)

// TestRunEndToEnd starts the real service on a free port over each
// database, uses the printed bootstrap token through real HTTP, and shuts it
// down gracefully.
func TestRunEndToEnd(t *testing.T) {
	for _, d := range testenv.Dialects() {
		t.Run(d, func(t *testing.T) {
			url := testenv.DatabaseURL(t, d)
			cfg, err := config.Load(func(k string) string {
				return map[string]string{"DATABASE_URL": url, "HTTP_ADDR": "127.0.0.1:0"}[k]
			})
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			a, err := app.New(ctx, cfg, "test", testenv.Logger(), &out)
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- a.Run(ctx) }()

			tok := regexp.MustCompile(`cdt_[A-Za-z0-9_-]+`).FindString(out.String())
			if tok == "" {
				t.Fatalf("no bootstrap token printed: %q", out.String())
			}
			base := "http://" + a.Addr()
			get := func(path string) *http.Response {
				req, _ := http.NewRequest("GET", base+path, nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				r, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				return r
			}
			// Ready once the database answers and the ingest is connected
			// to the (embedded) broker, which happens just after start.
			for i := 0; ; i++ {
				r := get("/readyz")
				r.Body.Close()
				if r.StatusCode == 200 {
					break
				}
				if i == 50 {
					t.Fatalf("readyz %d after 5 s", r.StatusCode)
				}
				time.Sleep(100 * time.Millisecond)
			}
			r := get("/api/v1/me")
			var me struct {
				Organization struct{ Kind string } `json:"organization"`
			}
			if err := json.NewDecoder(r.Body).Decode(&me); err != nil || me.Organization.Kind != "regulator" {
				t.Fatalf("me: %d %v %+v", r.StatusCode, err, me)
			}
			r.Body.Close()

			// The scheduler is wired: the regulator runs plan through it, and
			// the run took the store's job lock (not skipped).
			req, _ := http.NewRequest("POST", base+"/api/v1/scheduler/jobs/plan/run", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			r, err = http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var run struct{ Job, Outcome string }
			if err := json.NewDecoder(r.Body).Decode(&run); err != nil || r.StatusCode != 200 || run.Outcome != "succeeded" {
				t.Errorf("plan run: %d %v %+v", r.StatusCode, err, run)
			}
			r.Body.Close()
			if r := get("/metrics"); r.StatusCode != 200 {
				t.Errorf("metrics %d", r.StatusCode)
			} else {
				var b bytes.Buffer
				_, _ = b.ReadFrom(r.Body)
				r.Body.Close()
				if !strings.Contains(b.String(), `calibd_scheduler_runs_total{job="plan",outcome="succeeded"} 1`) {
					t.Errorf("/metrics does not count the plan run")
				}
			}

			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("Run returned %v after shutdown", err)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("no graceful shutdown within 20s")
			}

			// A second start on the same database prints no new token.
			ctx2, cancel2 := context.WithCancel(context.Background())
			defer cancel2()
			out.Reset()
			a2, err := app.New(ctx2, cfg, "test", testenv.Logger(), &out)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(out.String(), "cdt_") {
				t.Errorf("second start printed a token again: %q", out.String())
			}
			cancel2()
			if err := a2.Run(ctx2); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestBootstrapTokenFromEnv: CALIBD_BOOTSTRAP_TOKEN becomes the admin
// token and is not printed.
func TestBootstrapTokenFromEnv(t *testing.T) {
	const tok = "cdt_0123456789abcdefghijklmnopqrstuvwxyzABCD"
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"DATABASE_URL": filepath.Join(t.TempDir(), "x.db"), "HTTP_ADDR": "127.0.0.1:0",
			"CALIBD_BOOTSTRAP_TOKEN": tok}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, "test", testenv.Logger(), &out)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done }()
	if strings.Contains(out.String(), tok) {
		t.Error("a token taken from the environment was printed")
	}
	req, _ := http.NewRequest("GET", "http://"+a.Addr()+"/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 200 {
		t.Errorf("bootstrap token from env: %d", r.StatusCode)
	}
}

// TestBadSchedule: a cron spec the scheduler cannot read stops the start
// with the key at fault, before anything listens.
func TestBadSchedule(t *testing.T) {
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"DATABASE_URL": filepath.Join(t.TempDir(), "x.db"), "HTTP_ADDR": "127.0.0.1:0",
			"SCHEDULE_PLAN": "every tuesday"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := app.New(context.Background(), cfg, "test", testenv.Logger(), &out); err == nil || !strings.Contains(err.Error(), "SCHEDULE_PLAN") {
		t.Errorf("app.New with SCHEDULE_PLAN=%q: %v; want an error naming SCHEDULE_PLAN", cfg.SchedulePlan, err)
	}
}

// TestPendingMigrations: with MIGRATE_ON_START=false, a database that
// lacks this version's migrations stops the start with a message saying
// what to run; once migrated, it starts.
func TestPendingMigrations(t *testing.T) {
	db := filepath.Join(t.TempDir(), "x.db")
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"DATABASE_URL": db, "HTTP_ADDR": "127.0.0.1:0", "MIGRATE_ON_START": "false"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := app.New(context.Background(), cfg, "test", testenv.Logger(), &out); err == nil || !strings.Contains(err.Error(), "calibd migrate up") {
		t.Fatalf("app.New on an unmigrated database: %v; want an error naming calibd migrate up", err)
	}
	st, err := store.Open(context.Background(), store.Config{URL: db}, testenv.Logger())
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.Migrate(context.Background())
	_ = st.Close()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, "test", testenv.Logger(), &out)
	if err != nil {
		t.Fatalf("app.New on a migrated database: %v", err)
	}
	cancel()
	if err := a.Run(ctx); err != nil {
		t.Errorf("Run after cancel: %v", err)
	}
}

// TestIngestEndToEnd: on the embedded default, a thermometer whose operator
// issued its MQTT secret publishes a calibration check to the embedded
// broker, and calibd stores it once (a redelivery of the same seq is a
// duplicate); a device with a wrong secret cannot connect.
func TestIngestEndToEnd(t *testing.T) {
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"DATABASE_URL": filepath.Join(t.TempDir(), "x.db"), "HTTP_ADDR": "127.0.0.1:0",
			"MQTT_EMBEDDED_ADDR": "127.0.0.1:0"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, "test", testenv.Logger(), &out)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	base := "http://" + a.Addr() + "/api/v1"
	call := func(method, path, tok string, body any, want int) map[string]any {
		t.Helper()
		var rd *bytes.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		} else {
			rd = bytes.NewReader(nil)
		}
		req, _ := http.NewRequest(method, base+path, rd)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(r.Body).Decode(&m)
		if r.StatusCode != want {
			t.Fatalf("%s %s = %d, want %d: %v", method, path, r.StatusCode, want, m)
		}
		return m
	}
	reg := regexp.MustCompile(`cdt_[A-Za-z0-9_-]+`).FindString(out.String())
	op := call("POST", "/organizations", reg, map[string]any{"name": "Op", "kind": "venue_operator"}, 201)["id"].(string)
	opTok := call("POST", "/organizations/"+op+"/tokens", reg, map[string]any{"name": "ops", "role": "admin"}, 201)["token"].(string)
	venue := call("POST", "/venues", opTok, map[string]any{"name": "T2", "kind": "airport", "region_code": "310115",
		"time_zone": "Asia/Shanghai"}, 201)["id"].(string)
	th := call("POST", "/thermometers", opTok, map[string]any{"venue_id": venue, "type": "ir_ear", "manufacturer": "Braun",
		"model": "IRT6520", "serial": "T2-1"}, 201)["id"].(string)
	secret := call("POST", "/devices/"+th+"/credentials", opTok, nil, 201)["secret"].(string)

	connect := func(pass string) (paho.Client, error) {
		c := paho.NewClient(paho.NewClientOptions().AddBroker(a.MQTTURL()).SetClientID("dev-" + pass[len(pass)-4:]).
			SetUsername(th).SetPassword(pass).SetConnectTimeout(3 * time.Second).SetAutoReconnect(false))
		tok := c.Connect()
		tok.WaitTimeout(5 * time.Second)
		return c, tok.Error()
	}
	if _, err := connect(secret + "nope"); err == nil {
		t.Error("a wrong secret connected")
	}
	dev, err := connect(secret)
	if err != nil {
		t.Fatalf("device connect: %v", err)
	}
	defer dev.Disconnect(100)
	payload := fmt.Sprintf(`{"ts":%q,"seq":17,"reference":37.0,"value":37.08,"unit":"Cel","mode":"calibration"}`,
		time.Now().UTC().Format(time.RFC3339))
	for range 2 {
		if tok := dev.Publish("calibd/v1/devices/"+th+"/checks", 1, false, payload); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("publish: %v", tok.Error())
		}
	}
	metric := func(name string) string {
		r, err := http.Get("http://" + a.Addr() + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(r.Body)
		for _, line := range strings.Split(b.String(), "\n") {
			if strings.HasPrefix(line, name+" ") {
				return strings.TrimPrefix(line, name+" ")
			}
		}
		return ""
	}
	// Received first, then stored (or counted a duplicate) once its batch
	// commits.
	for i := 0; metric("calibd_ingest_messages_stored_total") != "1" || metric("calibd_ingest_messages_duplicate_total") != "1"; i++ {
		if i == 50 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if s, d := metric("calibd_ingest_messages_stored_total"), metric("calibd_ingest_messages_duplicate_total"); s != "1" || d != "1" {
		t.Errorf("stored %s, duplicates %s; want 1 and 1", s, d)
	}
	// A check 0.5 °C off raises out_of_tolerance, counted in /metrics.
	oot := fmt.Sprintf(`{"ts":%q,"seq":18,"reference":37.0,"value":37.5,"unit":"Cel","mode":"calibration"}`,
		time.Now().UTC().Format(time.RFC3339Nano))
	if tok := dev.Publish("calibd/v1/devices/"+th+"/checks", 1, false, oot); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
	const raised = `calibd_alerts{kind="out_of_tolerance",state="open"}`
	for i := 0; metric(raised) != "1" && i < 100; i++ {
		time.Sleep(100 * time.Millisecond)
	}
	if v := metric(raised); v != "1" {
		t.Errorf("%s = %q, want 1", raised, v)
	}
}
