package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/calibd/calibd/devices"
)

// fakeStore is an in-memory ReadingStore: it knows a fixed set of
// devices, skips a (device, seq) it has, records dead letters, and can be
// told to fail its next SaveMessages calls.
type fakeStore struct {
	mu        sync.Mutex
	devs      map[string]devices.IngestDevice
	saved     map[msgKey]devices.Message
	letters   []devices.DeadLetter
	failSaves int // fail this many more SaveMessages calls
	saveCalls int
	commits   int // successful SaveMessages calls
}

type msgKey struct {
	id  string
	seq int64
}

var errStoreDown = errors.New("store down")

func newFakeStore(devs ...devices.IngestDevice) *fakeStore {
	s := &fakeStore{devs: map[string]devices.IngestDevice{}, saved: map[msgKey]devices.Message{}}
	for _, d := range devs {
		s.devs[d.ID] = d
	}
	return s
}

func (s *fakeStore) IngestDevices(_ context.Context, ids []string) (map[string]devices.IngestDevice, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]devices.IngestDevice{}
	for _, id := range ids {
		if d, ok := s.devs[id]; ok {
			out[id] = d
		}
	}
	return out, nil
}

func (s *fakeStore) SaveMessages(_ context.Context, msgs []devices.Message, _ time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.saveCalls++
	if s.failSaves > 0 {
		s.failSaves--
		return 0, errStoreDown
	}
	n := 0
	for _, m := range msgs {
		k := msgKey{m.DeviceID(), m.Seq()}
		if _, ok := s.saved[k]; ok {
			continue
		}
		s.saved[k] = m
		n++
	}
	s.commits++
	return n, nil
}

func (s *fakeStore) SaveDeadLetters(_ context.Context, letters []devices.DeadLetter) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.letters = append(s.letters, letters...)
	return nil
}

// count is how many messages of device id are stored.
func (s *fakeStore) count(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k := range s.saved {
		if k.id == id {
			n++
		}
	}
	return n
}

func (s *fakeStore) has(id string, seq int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.saved[msgKey{id, seq}]
	return ok
}

// reasons counts dead letters by reason, for topics of device id.
func (s *fakeStore) reasons(id string) map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for _, l := range s.letters {
		if strings.Contains(l.Topic, id) {
			out[l.Reason]++
		}
	}
	return out
}

func (s *fakeStore) calls() (saves, commits int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.saveCalls, s.commits
}

// fakeMsg is a paho.Message whose Ack records whether its (device, seq)
// was already in the store when it was acknowledged.
type fakeMsg struct {
	topic         string
	payload       []byte
	id            string
	seq           int64
	store         *fakeStore
	acks          atomic.Int32
	ackedUnstored atomic.Int32
	onAck         func(*fakeMsg) // when set, called instead of checking the store
}

func (m *fakeMsg) Duplicate() bool   { return false }
func (m *fakeMsg) Qos() byte         { return 1 }
func (m *fakeMsg) Retained() bool    { return false }
func (m *fakeMsg) Topic() string     { return m.topic }
func (m *fakeMsg) MessageID() uint16 { return uint16(m.seq) }
func (m *fakeMsg) Payload() []byte   { return m.payload }
func (m *fakeMsg) Ack() {
	m.acks.Add(1)
	if m.onAck != nil {
		m.onAck(m)
		return
	}
	if !m.store.has(m.id, m.seq) {
		m.ackedUnstored.Add(1)
	}
}

var _ paho.Message = (*fakeMsg)(nil)

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func thermometer(id string) devices.IngestDevice {
	return devices.IngestDevice{ID: id, Kind: devices.DeviceThermometer, RangeMinC: 34, RangeMaxC: 42}
}

func lift(id string) devices.IngestDevice {
	return devices.IngestDevice{ID: id, Kind: devices.DeviceElevator}
}

func newID() string { return uuid.NewString() }

func nowTS() string { return time.Now().UTC().Format(time.RFC3339) }

func checkJSON(seq int64, value float64) string {
	return fmt.Sprintf(`{"ts":%q,"seq":%d,"reference":37.0,"value":%g,"unit":"Cel","mode":"calibration"}`, nowTS(), seq, value)
}

func telemetryJSON(seq int64) string {
	return fmt.Sprintf(`{"ts":%q,"seq":%d,"metrics":{"leveling_error_mm":4.5,"door_cycles":120311}}`, nowTS(), seq)
}

func eventJSON(seq int64) string {
	return fmt.Sprintf(`{"ts":%q,"seq":%d,"code":"trapped_passenger","severity":"critical"}`, nowTS(), seq)
}

// metricValue sums a collector's counters, gauges and histogram counts.
func metricValue(t *testing.T, c prometheus.Collector) float64 {
	t.Helper()
	ch := make(chan prometheus.Metric, 64)
	go func() { c.Collect(ch); close(ch) }()
	sum := 0.0
	for m := range ch {
		var pb dto.Metric
		if err := m.Write(&pb); err != nil {
			t.Fatal(err)
		}
		switch {
		case pb.Counter != nil:
			sum += pb.Counter.GetValue()
		case pb.Gauge != nil:
			sum += pb.Gauge.GetValue()
		case pb.Histogram != nil:
			sum += float64(pb.Histogram.GetSampleCount())
		}
	}
	return sum
}

// eventually polls cond until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
