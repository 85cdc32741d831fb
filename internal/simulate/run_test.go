package simulate

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/internal/testenv"
)

// counting starts a counting subscriber and returns a function that
// waits for its result (it stops after idle).
func counting(t *testing.T, cfg CountConfig) func() CountResult {
	t.Helper()
	ready := make(chan struct{})
	type out struct {
		res CountResult
		err error
	}
	done := make(chan out, 1)
	cfg.Ready = func() { close(ready) }
	if cfg.Idle == 0 {
		cfg.Idle = time.Second
	}
	cfg.Log = testenv.Logger()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	go func() {
		res, err := Count(ctx, cfg)
		done <- out{res, err}
	}()
	select {
	case <-ready:
	case o := <-done:
		t.Fatalf("counter: %v", o.err)
	}
	return func() CountResult {
		o := <-done
		if o.err != nil {
			t.Fatalf("counter: %v", o.err)
		}
		return o.res
	}
}

func checkSummary(t *testing.T, s Summary, want int64) {
	t.Helper()
	if s.Published != want || s.Acked != want || s.Failed != 0 || s.Unconfirmed != 0 {
		t.Errorf("published %d, acknowledged %d, failed %d, unconfirmed %d; want %d acknowledged", s.Published, s.Acked,
			s.Failed, s.Unconfirmed, want)
	}
	if s.Checks+s.Telemetry+s.Events+s.Bad+s.Probes != s.Published || s.AckedValid+s.AckedBad != s.Acked {
		t.Errorf("kinds do not add up: %+v", s)
	}
}

// TestRunEmbeddedBroker: each device of a mixed fleet logs in to calibd's
// embedded broker as itself with its secret and publishes; the broker's
// topic checks let every message through (bad payloads too: they are the
// ingest's to refuse) and a counting subscriber receives exactly what was
// acknowledged. A wrong secret fails the run before anything is sent.
func TestRunEmbeddedBroker(t *testing.T) {
	fleet := RandomFleet(6, 4, rand.Uint64())
	for i := range fleet {
		fleet[i].Secret = fmt.Sprintf("cds_secret_%d", i)
	}
	e, err := StartEmbedded("127.0.0.1:0", fleet, testenv.Logger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	user, pass := e.CounterLogin()
	result := counting(t, CountConfig{BrokerURL: e.URL(), Username: user, Password: pass, QoS: 1})

	p := DefaultProfile()
	p.BadShare, p.FaultShare = 0.2, 0.3
	start := time.Now()
	s, err := Run(t.Context(), Config{BrokerURL: e.URL(), Fleet: fleet, Profile: p, Seed: 1, Rate: 1000, Messages: 300, QoS: 1,
		InjectEvery: 20 * time.Millisecond, Log: testenv.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	checkSummary(t, s, 300)
	if s.Bad == 0 || s.Events == 0 || s.Telemetry == 0 || s.Checks == 0 || s.Probes == 0 {
		t.Errorf("a kind is missing: %+v", s)
	}
	if el := time.Since(start); el < 250*time.Millisecond {
		t.Errorf("300 messages at 1000/s took %s: not paced", el)
	}
	if len(s.ProbeLog) != int(s.Probes) {
		t.Errorf("%d probes logged, %d published", len(s.ProbeLog), s.Probes)
	}
	for _, pr := range s.ProbeLog {
		if pr.AckedAt.Before(pr.PublishedAt) {
			t.Errorf("probe %+v acknowledged before it was published", pr)
		}
	}
	if got := result(); got.Messages != 300 {
		t.Errorf("the counter received %d messages, want 300", got.Messages)
	}

	wrong := append([]Device(nil), fleet...)
	wrong[3].Secret += "x"
	_, err = Run(t.Context(), Config{BrokerURL: e.URL(), Fleet: wrong, Profile: p, Seed: 1, Rate: 100, Messages: 10, QoS: 1,
		Log: testenv.Logger()})
	if err == nil || !strings.Contains(err.Error(), "1 of 10 connections failed") || !strings.Contains(err.Error(), wrong[3].ID) {
		t.Errorf("a wrong secret: %v", err)
	}
}

// TestRunMosquitto: the fleet multiplexed over two anonymous connections
// to the real Mosquitto; a subscriber to these devices' topics receives
// every acknowledged message.
func TestRunMosquitto(t *testing.T) {
	url := testenv.MQTTURL(t)
	fleet := RandomFleet(8, 2, rand.Uint64())
	var filters []string
	for _, d := range fleet {
		filters = append(filters, devices.TopicPrefix+d.ID+"/#")
	}
	result := counting(t, CountConfig{BrokerURL: url, ClientID: "calibd-sim-count-" + fleet[0].ID, QoS: 1, Filters: filters})
	p := DefaultProfile()
	p.BadShare = 0.1
	s, err := Run(t.Context(), Config{BrokerURL: url, Fleet: fleet, Profile: p, Seed: 2, Rate: 2000, Messages: 400, QoS: 1,
		Connections: 2, ClientIDPrefix: "calibd-sim-" + fleet[0].ID[:8], Log: testenv.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	checkSummary(t, s, 400)
	if s.Connections != 2 {
		t.Errorf("%d connections, want 2", s.Connections)
	}
	if got := result(); got.Messages != 400 {
		t.Errorf("the subscriber received %d messages, want 400", got.Messages)
	}
}

// TestRunStopsOnContext: an unlimited run ends when its context does, and
// still accounts for every message it published.
func TestRunStopsOnContext(t *testing.T) {
	fleet := RandomFleet(3, 0, rand.Uint64())
	e, err := StartEmbedded("127.0.0.1:0", fleet, testenv.Logger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	s, err := Run(ctx, Config{BrokerURL: e.URL(), Fleet: fleet, Profile: DefaultProfile(), Seed: 3, Rate: 0, QoS: 1,
		Log: testenv.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	if s.Published == 0 || s.Acked+s.Failed+s.Unconfirmed != s.Published {
		t.Errorf("published %d, acknowledged %d, failed %d, unconfirmed %d", s.Published, s.Acked, s.Failed, s.Unconfirmed)
	}
}
