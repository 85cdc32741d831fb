package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/calibd/calibd/internal/app"
	"github.com/calibd/calibd/internal/config"
	"github.com/calibd/calibd/internal/testenv"
)

// TestSimulateEndToEnd: `calibd simulate -provision` registers a fleet
// through a running calibd's API and writes its credentials; a second
// `calibd simulate` logs every device in to calibd's embedded broker with
// them and publishes; calibd stores every acknowledged valid message,
// dead-letters every acknowledged bad one, and raises the injected
// out-of-tolerance checks' alerts, which the simulator sees through the
// API.
func TestSimulateEndToEnd(t *testing.T) {
	const boot = "cdt_simulate_test_regulator_0123456789abcdef"
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"DATABASE_URL": filepath.Join(t.TempDir(), "calibd.db"), "HTTP_ADDR": "127.0.0.1:0",
			"MQTT_EMBEDDED_ADDR": "127.0.0.1:0", "CALIBD_BOOTSTRAP_TOKEN": boot, "MQTT_CLIENT_ID": "calibd-simulate-test"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, "test", testenv.Logger(), &bytes.Buffer{})
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
	api := "http://" + a.Addr()
	dir := t.TempDir()
	creds := filepath.Join(dir, "fleet.csv")
	env := func(k string) string { return map[string]string{"CALIBD_TOKEN": boot}[k] }
	sim := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if err := run(t.Context(), append([]string{"simulate"}, args...), env, &out, &errb); err != nil {
			t.Fatalf("calibd simulate %s: %v\n%s", strings.Join(args, " "), err, errb.String())
		}
		return out.String()
	}

	out := sim("-provision", "-provision-only", "-api", api, "-devices", "4", "-lifts", "2", "-credentials", creds)
	if !strings.Contains(out, "provisioned 4 thermometers and 2 lifts") {
		t.Errorf("provision said %q", out)
	}
	if st, err := os.Stat(creds); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v, %v", st, err)
	}

	summary, probes := filepath.Join(dir, "summary.json"), filepath.Join(dir, "probes.csv")
	out = sim("-credentials", creds, "-broker", a.MQTTURL(), "-rate", "400", "-messages", "160", "-bad", "0.1",
		"-faults", "0.2", "-seed", "5", "-inject-oot-every", "100ms", "-watch-alerts", "-api", api,
		"-summary-json", summary, "-probe-log", probes)
	if !strings.Contains(out, "6 devices, one connection per device, QoS 1, seed 5") {
		t.Errorf("summary: %q", out)
	}
	var s struct {
		Acked           int `json:"acked"`
		AckedValid      int `json:"acked_valid"`
		AckedBad        int `json:"acked_bad"`
		Failed          int `json:"failed"`
		Unconfirmed     int `json:"unconfirmed"`
		Probes          int `json:"probes"`
		ProbeAlertsSeen int `json:"probe_alerts_seen"`
	}
	b, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	if s.Acked != 160 || s.Failed != 0 || s.Unconfirmed != 0 || s.AckedBad == 0 || s.Probes == 0 {
		t.Fatalf("summary %s", b)
	}

	metric := func(name string) float64 {
		r, err := http.Get(api + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		total := 0.0
		sc := bufio.NewScanner(r.Body)
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, name+" ") || strings.HasPrefix(line, name+"{") {
				f := strings.Fields(line)
				v, _ := strconv.ParseFloat(f[len(f)-1], 64)
				total += v
			}
		}
		return total
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		stored, dead := metric("calibd_ingest_messages_stored_total"), metric("calibd_ingest_messages_dead_lettered_total")
		if int(stored) == s.AckedValid && int(dead) == s.AckedBad {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("calibd stored %v and dead-lettered %v; the simulator had %d valid and %d bad messages acknowledged",
				stored, dead, s.AckedValid, s.AckedBad)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Every probe's alert was seen; distinct devices' ones were new.
	f, err := os.Open(probes)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) != s.Probes+1 {
		t.Fatalf("probe log: %d rows, %v", len(rows), err)
	}
	for _, row := range rows[1:] {
		if row[4] == "" {
			t.Errorf("probe %v: no alert seen", row)
		}
	}
	if s.ProbeAlertsSeen == 0 {
		t.Errorf("no probe's new alert timed: %s", b)
	}
}

// TestSimulateFlags: bad settings are refused before anything connects.
func TestSimulateFlags(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-bad", "2"}, "bad must be a share"},
		{[]string{"-qos", "3"}, "-qos"},
		{[]string{"-provision"}, "-credentials FILE"},
		{[]string{"-provision-only"}, "needs -provision"},
		{[]string{"-watch-alerts"}, "needs -inject-oot-every"},
		{[]string{"-count-only", "-embedded", "127.0.0.1:0"}, "needs -credentials"},
		{[]string{"-credentials", "no/such/file.csv"}, "no such file"},
		{[]string{"-frobnicate"}, "flag provided but not defined"},
		{[]string{"extra"}, "unexpected argument"},
	} {
		var out bytes.Buffer
		err := run(t.Context(), append([]string{"simulate"}, tt.args...), func(string) string { return "" }, &out, &out)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("simulate %v: %v, want an error containing %q", tt.args, err, tt.want)
		}
	}
	var out bytes.Buffer
	if err := run(t.Context(), []string{"simulate", "-h"}, func(string) string { return "" }, &out, &out); err != nil ||
		!strings.Contains(out.String(), "-inject-oot-every") {
		t.Errorf("simulate -h: %v\n%s", err, out.String())
	}
}
