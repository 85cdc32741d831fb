package faulttest

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/internal/ingest"
	"github.com/calibd/calibd/internal/store"
	"github.com/calibd/calibd/internal/testenv"
)

// key identifies a device message, as the readings table's primary key.
type key struct {
	dev string
	seq int64
}

func (k key) String() string { return fmt.Sprintf("%s#%d", k.dev[:8], k.seq) }

// migratedStore opens a fresh database of dialect, migrated, for the
// test's own checks; calibd under test gets its URL.
func migratedStore(t *testing.T, dialect string) (string, *store.Store) {
	t.Helper()
	dbURL := testenv.DatabaseURL(t, dialect)
	st, err := store.Open(t.Context(), store.Config{URL: dbURL, MaxOpenConns: 4}, testenv.Logger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if _, err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return dbURL, st
}

// thermometers registers n thermometers of one operator and venue in st,
// through the store as the API would, and returns their ids.
func thermometers(t *testing.T, st *store.Store, n int) []string {
	t.Helper()
	_, ids := registerThermometers(t, st, n)
	return ids
}

// thermometersWithSecrets registers n thermometers as thermometers does
// and issues each an MQTT secret: it returns id -> secret.
func thermometersWithSecrets(t *testing.T, st *store.Store, n int) map[string]string {
	t.Helper()
	admin, ids := registerThermometers(t, st, n)
	out := map[string]string{}
	for _, id := range ids {
		_, sec, err := st.IssueDeviceSecret(t.Context(), admin, id)
		if err != nil {
			t.Fatal(err)
		}
		out[id] = sec
	}
	return out
}

func registerThermometers(t *testing.T, st *store.Store, n int) (devices.Actor, []string) {
	t.Helper()
	ctx := t.Context()
	sec, err := st.Bootstrap(ctx, "")
	if err != nil || sec == "" {
		t.Fatalf("bootstrap a fresh database: %q, %v", sec, err)
	}
	reg, err := st.Authenticate(ctx, sec)
	if err != nil {
		t.Fatal(err)
	}
	op := devices.Organization{Name: "Operator", Kind: devices.KindVenueOperator, RegionCode: "CN-SH", ContactEmail: "ops@example.org"}
	if err := st.CreateOrganization(ctx, reg, &op); err != nil {
		t.Fatal(err)
	}
	_, opSec, err := st.IssueToken(ctx, reg, op.ID, devices.TokenRequest{Name: "ops", Role: devices.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	admin, err := st.Authenticate(ctx, opSec)
	if err != nil {
		t.Fatal(err)
	}
	v := devices.Venue{Name: "Pudong T2", Kind: devices.VenueAirport, RegionCode: "310115", TimeZone: "Asia/Shanghai",
		Address: "1 Test Road", Contact: devices.Contact{Name: "Duty manager", Email: "duty@example.org"}}
	if err := st.CreateVenue(ctx, admin, &v); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, n)
	for i := range ids {
		th := devices.Thermometer{VenueID: v.ID, Type: devices.TypeIREar, Manufacturer: "Braun", Model: "IRT6520",
			Serial: fmt.Sprintf("SN-%05d", i+1), LocationNote: "gate"}
		if err := st.CreateThermometer(ctx, admin, &th); err != nil {
			t.Fatal(err)
		}
		ids[i] = th.ID
	}
	return admin, ids
}

// checkPayload is a calibration check of seq taken now, reading exactly
// the reference: it moves no drift detector towards an alert.
func checkPayload(seq int64) string {
	return fmt.Sprintf(`{"ts":%q,"seq":%d,"reference":37.0,"value":37.0,"unit":"Cel","mode":"calibration"}`,
		time.Now().UTC().Format("2006-01-02T15:04:05.000Z07:00"), seq)
}

func newClientID(prefix string) string { return prefix + "-" + uuid.NewString()[:8] }

// publisher is a device-side paho client: a clean session that does not
// reconnect, so a broker that goes away ends its stream. (Its write
// timeout also bounds how long a Publish blocks when the connection has
// just died under it.)
func publisher(t *testing.T, url string) paho.Client {
	t.Helper()
	c := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID(newClientID("pub")).
		SetCleanSession(true).SetAutoReconnect(false).SetConnectRetry(false).
		SetConnectTimeout(5 * time.Second).SetWriteTimeout(2 * time.Second))
	tok := c.Connect()
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publisher connect to %s: %v", url, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

// stream publishes calibration checks with QoS 1 at a steady pace: every
// tick one check per device, seq counting up from first. It records which
// the broker accepted (PUBACKed): the set the reliability rules promise to
// store. It stops at Stop, or at the first refused publish (the broker
// went away).
type stream struct {
	c     paho.Client
	ids   []string
	first int64

	mu        sync.Mutex
	acked     map[key]bool
	attempted map[key]bool
	err       error

	stop chan struct{}
	done chan struct{}
}

// streamTick paces every stream: with three devices, 600 checks a second,
// enough that batches are always in flight when a fault strikes, few
// enough for two shared cores.
const streamTick = 5 * time.Millisecond

func startStream(t *testing.T, url string, ids []string, first int64) *stream {
	t.Helper()
	s := &stream{c: publisher(t, url), ids: ids, first: first, acked: map[key]bool{}, attempted: map[key]bool{},
		stop: make(chan struct{}), done: make(chan struct{})}
	go s.run()
	t.Cleanup(func() { s.Stop() })
	return s
}

type pending struct {
	k   key
	tok paho.Token
}

func (s *stream) run() {
	defer close(s.done)
	var inflight []pending
	// settle records the finished publishes at the head of inflight; with
	// wait it waits for them all, for up to 10 s in all: a publish still
	// unanswered then was not accepted.
	settle := func(wait bool) {
		deadline := time.Now().Add(10 * time.Second)
		for len(inflight) > 0 {
			p := inflight[0]
			if wait {
				p.tok.WaitTimeout(max(time.Millisecond, time.Until(deadline)))
			}
			select {
			case <-p.tok.Done():
			default:
				return
			}
			s.mu.Lock()
			if p.tok.Error() == nil {
				s.acked[p.k] = true
			} else if s.err == nil {
				s.err = p.tok.Error()
			}
			s.mu.Unlock()
			inflight = inflight[1:]
		}
	}
	defer settle(true)
	tick := time.NewTicker(streamTick)
	defer tick.Stop()
	for seq := s.first; ; seq++ {
		select {
		case <-s.stop:
			return
		case <-tick.C:
		}
		for _, id := range s.ids {
			k := key{id, seq}
			s.mu.Lock()
			s.attempted[k] = true
			s.mu.Unlock()
			inflight = append(inflight, pending{k, s.c.Publish(devices.DeviceTopic(id, devices.MessageChecks, false), 1, false, checkPayload(seq))})
		}
		settle(false)
		s.mu.Lock()
		failed := s.err != nil
		s.mu.Unlock()
		if failed || !s.c.IsConnectionOpen() {
			return
		}
	}
}

// Stop ends the stream, waits for its outstanding publishes and returns
// what the broker accepted and what was attempted.
func (s *stream) Stop() (acked, attempted map[key]bool) {
	stopAndWait(s.stop, s.done)
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.acked), maps.Clone(s.attempted)
}

// stopAndWait closes stop, unless it is closed already, and waits for
// done: ending a publishing goroutine from Stop or from a cleanup.
func stopAndWait(stop, done chan struct{}) {
	select {
	case <-stop:
	default:
		close(stop)
	}
	<-done
}

// Ended waits for a stream to end by itself (its broker went away).
func (s *stream) Ended(t *testing.T, timeout time.Duration) {
	t.Helper()
	select {
	case <-s.done:
	case <-time.After(timeout):
		t.Fatalf("the publisher did not notice within %v that the broker went away", timeout)
	}
}

// Acked is how many checks the broker has accepted so far.
func (s *stream) Acked() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.acked)
}

// startIngest starts calibd's ingest on the broker at url with the
// defaults calibd runs with, and waits for its first subscription.
func startIngest(t *testing.T, url string, st devices.ReadingStore, clientID string) (*ingest.Ingest, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	in, err := ingest.Start(t.Context(), ingest.Config{URL: url, ClientID: clientID}, st, testenv.Logger(), reg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := in.Close(ctx); err != nil {
			t.Errorf("close the ingest: %v", err)
		}
	})
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	if err := in.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	return in, reg
}

// metric sums every series of the named metric family in reg: counter and
// gauge values, histogram sample counts. A missing family is 0.
func metric(t *testing.T, reg prometheus.Gatherer, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			switch {
			case m.Counter != nil:
				sum += m.Counter.GetValue()
			case m.Gauge != nil:
				sum += m.Gauge.GetValue()
			case m.Histogram != nil:
				sum += float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return sum
}

// metricByLabel is the named counter family's values by the label's value.
func metricByLabel(t *testing.T, reg prometheus.Gatherer, name, label string) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && m.Counter.GetValue() != 0 {
					out[l.GetValue()] += m.Counter.GetValue()
				}
			}
		}
	}
	return out
}

// count runs a count query; errors (a database that is down) count as -1.
func count(db *sql.DB, query string, args ...any) int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var n int
	if err := db.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
		return -1
	}
	return n
}

// storedKeys reads every (device, seq) of the readings table with how
// many rows it has (the primary key says one; the test checks anyway).
func storedKeys(t *testing.T, db *sql.DB) map[key]int {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), "SELECT CAST(device_id AS TEXT), seq FROM readings")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[key]int{}
	for rows.Next() {
		var k key
		if err := rows.Scan(&k.dev, &k.seq); err != nil {
			t.Fatal(err)
		}
		out[k]++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkExactlyOnce asserts that the readings table holds want, each
// exactly once, and nothing else: count(*) = count(distinct) = len(want).
func checkExactlyOnce(t *testing.T, db *sql.DB, want map[key]bool) {
	t.Helper()
	total := count(db, "SELECT count(*) FROM readings")
	distinct := count(db, "SELECT count(*) FROM (SELECT DISTINCT device_id, seq FROM readings) d")
	if total != len(want) || distinct != len(want) {
		t.Errorf("readings: count(*) = %d, count(distinct (device_id, seq)) = %d; want both = %d published", total, distinct, len(want))
	}
	got := storedKeys(t, db)
	var lost, extra, doubled []key
	for k := range want {
		if got[k] == 0 {
			lost = append(lost, k)
		}
	}
	for k, n := range got {
		if !want[k] {
			extra = append(extra, k)
		}
		if n > 1 {
			doubled = append(doubled, k)
		}
	}
	report := func(what string, ks []key) {
		if len(ks) == 0 {
			return
		}
		sort.Slice(ks, func(i, j int) bool { return ks[i].dev < ks[j].dev || ks[i].dev == ks[j].dev && ks[i].seq < ks[j].seq })
		t.Errorf("%d readings %s, e.g. %v", len(ks), what, ks[:min(len(ks), 10)])
	}
	report("PUBACKed but not stored (lost)", lost)
	report("stored but never published", extra)
	report("stored more than once", doubled)
}

// eventually polls cond until it holds, failing the test after timeout.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sortedKeys is for messages.
func sortedKeys[V any](m map[string]V) []string {
	ks := slices.Collect(maps.Keys(m))
	sort.Strings(ks)
	return ks
}

// topicMatches reports whether an MQTT topic matches a filter with + and #
// wildcards: whether the broker delivers a message on topic to a
// subscription of filter.
func topicMatches(filter, topic string) bool {
	f, tp := strings.Split(filter, "/"), strings.Split(topic, "/")
	for i, part := range f {
		if part == "#" {
			return true
		}
		if i >= len(tp) || part != "+" && part != tp[i] {
			return false
		}
	}
	return len(f) == len(tp)
}
