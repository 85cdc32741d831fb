package ingest

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/internal/broker"
)

// anyDevice stands in for the store's AuthenticateDevice: every device
// logs in with the password "secret" (unknown devices too, so that the
// ingest, not the broker, refuses their messages).
type anyDevice struct{}

func (anyDevice) AuthenticateDevice(_ context.Context, user, pass string) (devices.DeviceIdentity, error) {
	if pass != "secret" {
		return devices.DeviceIdentity{}, devices.ErrUnauthenticated
	}
	return devices.DeviceIdentity{DeviceID: user}, nil
}

func startBroker(t *testing.T) *broker.Broker {
	t.Helper()
	b, err := broker.Start(broker.Config{Addr: "127.0.0.1:0"}, anyDevice{}, discardLog())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// startIngest starts an ingest on the embedded broker and waits for its
// subscription.
func startIngest(t *testing.T, b *broker.Broker, st devices.ReadingStore, cfg Config) *Ingest {
	t.Helper()
	cfg.URL = b.URL()
	cfg.Username, cfg.Password = b.IngestLogin()
	if cfg.ClientID == "" {
		cfg.ClientID = "ingest-" + newID()
	}
	return startOn(t, st, cfg)
}

func startOn(t *testing.T, st devices.ReadingStore, cfg Config) *Ingest {
	t.Helper()
	if cfg.BatchWait == 0 {
		cfg.BatchWait = 10 * time.Millisecond
	}
	in, err := Start(t.Context(), cfg, st, discardLog(), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = in.Close(ctx)
	})
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := in.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	return in
}

// device is a paho client logged in as device id.
func device(t *testing.T, url, id, user, pass string) paho.Client {
	t.Helper()
	opts := paho.NewClientOptions().AddBroker(url).SetClientID("dev-" + id).SetUsername(user).SetPassword(pass).
		SetConnectTimeout(3 * time.Second).SetAutoReconnect(false)
	c := paho.NewClient(opts)
	tok := c.Connect()
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("device %s connect: %v", id, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(50) })
	return c
}

func publish(t *testing.T, c paho.Client, topic, payload string) {
	t.Helper()
	tok := c.Publish(topic, 1, false, payload)
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publish on %s: %v", topic, tok.Error())
	}
}

// TestIngest: good checks, telemetry and events are stored once, a
// redelivered (device, seq) once; every bad message becomes a dead letter
// with its reason and the good traffic around it is stored.
func TestIngest(t *testing.T) {
	therm, elev, retired, unknown := newID(), newID(), newID(), newID()
	st := newFakeStore(thermometer(therm), lift(elev),
		devices.IngestDevice{ID: retired, Kind: devices.DeviceThermometer, Retired: true, RangeMinC: 34, RangeMaxC: 42})
	b := startBroker(t)
	in := startIngest(t, b, st, Config{})

	th := device(t, b.URL(), therm, therm, "secret")
	el := device(t, b.URL(), elev, elev, "secret")
	re := device(t, b.URL(), retired, retired, "secret")
	un := device(t, b.URL(), unknown, unknown, "secret")
	checks := devices.DeviceTopic(therm, devices.MessageChecks, false)

	publish(t, th, checks, checkJSON(1, 37.05))
	publish(t, th, checks, checkJSON(1, 37.05)) // a redelivery: same (device, seq)
	publish(t, th, devices.DeviceTopic(therm, devices.MessageChecks, true),
		`[{"bn":"`+therm+`:","bt":`+strconv.FormatInt(time.Now().Unix(), 10)+`,"bu":"Cel","n":"seq","v":2},{"n":"reference","v":37},{"n":"value","v":37.1},{"n":"mode","vs":"calibration"}]`)
	publish(t, th, devices.DeviceTopic(therm, devices.MessageEvents, false), eventJSON(3))
	publish(t, el, devices.DeviceTopic(elev, devices.MessageTelemetry, false), telemetryJSON(1))
	publish(t, el, devices.DeviceTopic(elev, devices.MessageEvents, false), eventJSON(2))

	publish(t, th, checks, `not json`)                                                             // not_json
	publish(t, th, checks, `{"seq":4,"color":"red"}`)                                              // unknown_field
	publish(t, th, checks, checkJSON(5, 55.0))                                                     // out_of_range for 34..42
	publish(t, th, checks, `{"pad":"`+strings.Repeat("x", 5000)+`"}`)                              // too_large
	publish(t, th, devices.DeviceTopic(therm, devices.MessageTelemetry, false), telemetryJSON(6))  // wrong_device_kind
	publish(t, el, devices.DeviceTopic(elev, devices.MessageChecks, false), checkJSON(3, 37.0))    // wrong_device_kind
	publish(t, un, devices.DeviceTopic(unknown, devices.MessageChecks, false), checkJSON(1, 37.0)) // unknown_device
	publish(t, re, devices.DeviceTopic(retired, devices.MessageChecks, false), checkJSON(1, 37.0)) // unknown_device
	publish(t, th, checks, checkJSON(7, 36.9))

	eventually(t, 5*time.Second, "every message handled", func() bool {
		return metricValue(t, in.m.ackLatency) == 15
	})
	if n := st.count(therm); n != 4 {
		t.Errorf("thermometer: %d messages stored, want 4 (seq 1, 2, 3, 7)", n)
	}
	if n := st.count(elev); n != 2 {
		t.Errorf("lift: %d messages stored, want 2", n)
	}
	for _, seq := range []int64{1, 2, 3, 7} {
		if !st.has(therm, seq) {
			t.Errorf("thermometer seq %d not stored", seq)
		}
	}
	wantLetters := map[string]map[string]int{
		therm:   {devices.ReasonNotJSON: 1, devices.ReasonUnknownField: 1, ReasonOutOfRange: 1, devices.ReasonTooLarge: 1, ReasonWrongDeviceKind: 1},
		elev:    {ReasonWrongDeviceKind: 1},
		unknown: {ReasonUnknownDevice: 1},
		retired: {ReasonUnknownDevice: 1},
	}
	for id, want := range wantLetters {
		got := st.reasons(id)
		for r, n := range want {
			if got[r] != n {
				t.Errorf("device %s: %d dead letters %s, want %d (all: %v)", id, got[r], r, n, got)
			}
		}
		if len(got) != len(want) {
			t.Errorf("device %s: dead letters %v, want %v", id, got, want)
		}
	}
	for _, l := range st.letters {
		if len(l.Payload) > devices.DeadLetterPayloadBytes {
			t.Errorf("dead letter keeps %d bytes", len(l.Payload))
		}
	}
	for name, tc := range map[string]struct {
		c    prometheus.Collector
		want float64
	}{
		"received":       {in.m.received, 15},
		"stored":         {in.m.stored, 6},
		"duplicates":     {in.m.duplicates, 1},
		"dead_lettered":  {in.m.deadLettered, 8},
		"too_large":      {in.m.deadLettered.WithLabelValues(devices.ReasonTooLarge), 1},
		"unknown_device": {in.m.deadLettered.WithLabelValues(ReasonUnknownDevice), 2},
		"wrong_kind":     {in.m.deadLettered.WithLabelValues(ReasonWrongDeviceKind), 2},
		"connected":      {in.m.connected, 1},
		"store_retries":  {in.m.retries, 0},
	} {
		if got := metricValue(t, tc.c); got != tc.want {
			t.Errorf("metric %s = %v, want %v", name, got, tc.want)
		}
	}
}

// TestIngestFlood: 200 bad payloads among 200 good ones; every good one
// is stored and every bad one dead-lettered, none left unacknowledged.
func TestIngestFlood(t *testing.T) {
	therm := newID()
	st := newFakeStore(thermometer(therm))
	b := startBroker(t)
	in := startIngest(t, b, st, Config{BatchSize: 50})
	th := device(t, b.URL(), therm, therm, "secret")
	checks := devices.DeviceTopic(therm, devices.MessageChecks, false)
	bad := []string{"", "{", "[]", "null", `{"seq":-1}`, "\xff\xfe", `{"ts":"yesterday","seq":1,"reference":37,"value":37,"unit":"Cel","mode":"calibration"}`,
		`{"seq":1,"seq":2}`, checkJSON(1, 1e300), strings.Repeat("{", 5000)}
	var toks []paho.Token
	for k := range 200 {
		toks = append(toks, th.Publish(checks, 1, false, checkJSON(int64(k+1), 36.5+float64(k%10)/10)))
		toks = append(toks, th.Publish(checks, 1, false, bad[k%len(bad)]))
	}
	for _, tok := range toks {
		if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("publish: %v", tok.Error())
		}
	}
	eventually(t, 10*time.Second, "400 messages acknowledged", func() bool { return metricValue(t, in.m.ackLatency) == 400 })
	if n := st.count(therm); n != 200 {
		t.Errorf("%d good messages stored, want 200", n)
	}
	total := 0
	for _, n := range st.reasons(therm) {
		total += n
	}
	if total != 200 {
		t.Errorf("%d dead letters, want 200: %v", total, st.reasons(therm))
	}
	if got := metricValue(t, in.m.deadLettered); got != 200 {
		t.Errorf("dead-letter counters add up to %v, want 200", got)
	}
}

// TestIngestStoreDown: the first 3 SaveMessages calls fail; the batch is
// retried with backoff and stored exactly once.
func TestIngestStoreDown(t *testing.T) {
	therm := newID()
	st := newFakeStore(thermometer(therm))
	st.failSaves = 3
	b := startBroker(t)
	in := startIngest(t, b, st, Config{})
	th := device(t, b.URL(), therm, therm, "secret")
	for k := range 20 {
		publish(t, th, devices.DeviceTopic(therm, devices.MessageChecks, false), checkJSON(int64(k+1), 37))
	}
	eventually(t, 10*time.Second, "20 messages acknowledged", func() bool { return metricValue(t, in.m.ackLatency) == 20 })
	if n := st.count(therm); n != 20 {
		t.Errorf("%d messages stored, want 20", n)
	}
	if saves, commits := st.calls(); saves-commits != 3 {
		t.Errorf("%d SaveMessages calls, %d succeeded: want 3 failures", saves, commits)
	}
	if got := metricValue(t, in.m.retries); got != 3 {
		t.Errorf("retries = %v, want 3", got)
	}
	if got := metricValue(t, in.m.stored); got != 20 {
		t.Errorf("stored = %v, want 20", got)
	}
}

// TestAckAfterCommit drives the workers directly with fake messages: no
// message is acknowledged before the store has it, and a Close that gives
// up on a failing store acknowledges nothing.
func TestAckAfterCommit(t *testing.T) {
	therm := newID()
	topic := devices.DeviceTopic(therm, devices.MessageChecks, false)
	msgs := func(st *fakeStore, n int) []*fakeMsg {
		var out []*fakeMsg
		for k := range n {
			out = append(out, &fakeMsg{topic: topic, payload: []byte(checkJSON(int64(k+1), 37)), id: therm, seq: int64(k + 1), store: st})
		}
		return out
	}
	run := func(st *fakeStore, ms []*fakeMsg, closeAfter, closeWithin time.Duration) (*Ingest, error) {
		in, err := newIngest(Config{BatchSize: 7, BatchWait: 5 * time.Millisecond}, st, discardLog(), nil)
		if err != nil {
			t.Fatal(err)
		}
		in.startWorkers()
		for _, m := range ms {
			in.onMessage(nil, m)
		}
		time.Sleep(closeAfter)
		ctx, cancel := context.WithTimeout(context.Background(), closeWithin)
		defer cancel()
		return in, in.Close(ctx)
	}

	t.Run("retried then acknowledged", func(t *testing.T) {
		st := newFakeStore(thermometer(therm))
		st.failSaves = 3
		ms := msgs(st, 30)
		in, err := run(st, ms, 0, 5*time.Second) // Close drains: the retries (0.7 s of backoff) happen inside it
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
		for _, m := range ms {
			if m.acks.Load() != 1 || m.ackedUnstored.Load() != 0 {
				t.Errorf("seq %d: %d acks, %d before it was stored", m.seq, m.acks.Load(), m.ackedUnstored.Load())
			}
		}
		if n := st.count(therm); n != 30 {
			t.Errorf("%d stored, want 30", n)
		}
		if got := metricValue(t, in.m.retries); got != 3 {
			t.Errorf("retries = %v, want 3", got)
		}
	})
	t.Run("store never back", func(t *testing.T) {
		st := newFakeStore(thermometer(therm))
		st.failSaves = 1 << 30
		ms := msgs(st, 10)
		if _, err := run(st, ms, 50*time.Millisecond, 300*time.Millisecond); err == nil {
			t.Error("Close reported a drained queue while the store was down")
		}
		for _, m := range ms {
			if m.acks.Load() != 0 {
				t.Errorf("seq %d acknowledged though never stored", m.seq)
			}
		}
	})
}

// TestDeadLetterCountersStartAtZero: every reason has its series before
// the first dead letter.
func TestDeadLetterCountersStartAtZero(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := newIngest(Config{}, newFakeStore(), discardLog(), reg); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "calibd_ingest_") {
			t.Errorf("metric %s lacks the calibd_ingest_ prefix", mf.GetName())
		}
		if mf.GetName() == "calibd_ingest_messages_dead_lettered_total" {
			if got, want := len(mf.GetMetric()), len(devices.DecodeReasons)+2; got != want {
				t.Errorf("%d dead-letter series, want %d", got, want)
			}
		}
	}
}

// TestNextBatchWait: with a wait, a worker gathers messages that arrive
// within it after the first; with none (INGEST_BATCH_WAIT=0), it takes
// what is queued and returns at once, up to the batch size either way.
func TestNextBatchWait(t *testing.T) {
	d := func(seq uint64) delivery {
		return delivery{seq: seq, received: time.Now(), msg: &fakeMsg{seq: int64(seq)}}
	}
	for _, tt := range []struct {
		name   string
		wait   time.Duration
		queued int
		later  int // sent 5 ms after the first
		want   int
	}{
		{name: "no wait takes the queued", wait: -1, queued: 3, later: 4, want: 3},
		{name: "no wait stops at the batch size", wait: -1, queued: 9, want: 5},
		{name: "a wait gathers later ones", wait: time.Second, queued: 1, later: 4, want: 5},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in, err := newIngest(Config{BatchSize: 5, BatchWait: tt.wait, QueueSize: 20}, newFakeStore(), discardLog(), nil)
			if err != nil {
				t.Fatal(err)
			}
			for k := range tt.queued {
				in.queue <- d(uint64(k))
			}
			go func() {
				time.Sleep(5 * time.Millisecond)
				for k := range tt.later {
					in.queue <- d(uint64(100 + k))
				}
			}()
			batch, more := in.nextBatch()
			if len(batch) != tt.want || !more {
				t.Errorf("nextBatch took %d (more %v), want %d", len(batch), more, tt.want)
			}
		})
	}
}
