// Package simulate is calibd's device fleet simulator (`calibd simulate`):
// it publishes what thermometers and lifts send over MQTT (ARCHITECTURE.md
// "Stable contract") at a chosen rate, for demos, tests and the ingest
// benchmark (scripts/bench-ingest.sh).
//
//   - Payloads: calibration-mode checks of a reference source whose error
//     is drift (optionally time-compressed) plus Gaussian noise, lift
//     telemetry and fault events, and a chosen share of payloads calibd's
//     decoder refuses (BadKinds). Each device has its own random stream,
//     so a seed reproduces what every device sends.
//   - Pacing: a total rate spread evenly over time and over the fleet.
//   - Honest QoS 1: a message counts as accepted only when its token
//     completes without error (the broker's PUBACK); the rest are failed
//     or, if the run ends first, unconfirmed.
//   - Logins: by default each device has a connection of its own, logged
//     in as its id with the secret the API issued (what calibd's embedded
//     broker, its /broker/auth hook and `calibd broker export` check);
//     with Connections > 0 the fleet is multiplexed over that many
//     connections of one login, which needs a broker that lets that login
//     publish on every device's topics (an anonymous Mosquitto, or a
//     privileged user in its ACL): calibd's own broker refuses it.
//   - Probes: an out-of-tolerance check of one thermometer every
//     InjectEvery, logged with its publish time, and optionally watched
//     for through the API until its alert appears.
//
// The package acts as devices do, from outside: it reaches calibd only
// through MQTT and the REST API. It is, with internal/ingest, the only
// place paho is imported (internal/archtest).
package simulate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/internal/lograte"
)

// Config is one publishing run.
type Config struct {
	BrokerURL string
	Fleet     []Device
	Profile   Profile
	Seed      uint64
	// Rate is the total messages per second over the fleet; 0 publishes
	// as fast as the broker acknowledges (bounded by Inflight).
	Rate float64
	// Duration ends the run; 0 runs until ctx ends or Messages are sent.
	Duration time.Duration
	// Messages ends the run after that many messages (probes included); 0
	// means no limit.
	Messages int64
	QoS      byte
	// Connections is how many MQTT connections carry the fleet: 0 gives
	// each device its own, logged in as the device; K > 0 multiplexes the
	// fleet over K connections logged in as Username/Password.
	Connections        int
	Username, Password string
	// Workers is how many goroutines publish (default GOMAXPROCS), each
	// for its share of the connections and devices.
	Workers int
	// Inflight bounds each worker's unacknowledged messages (default 4096).
	Inflight int
	// ConnectParallel bounds concurrent connection attempts (default 64).
	ConnectParallel int
	// ClientIDPrefix names the connections: {prefix}-{device id} or
	// {prefix}-{k}; default "calibd-sim".
	ClientIDPrefix string
	// InjectEvery, when set, publishes an out-of-tolerance check of a
	// thermometer (each in turn, in a shuffled order) at that interval.
	InjectEvery time.Duration
	// Alerts, when set, watches the API for each probe's alert.
	Alerts *AlertWatcher
	// DrainTimeout is how long the end of a run waits for outstanding
	// acknowledgements (and watched alerts); default 30s.
	DrainTimeout time.Duration
	Log          *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Workers <= 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	if c.Inflight <= 0 {
		c.Inflight = 4096
	}
	if c.ConnectParallel <= 0 {
		c.ConnectParallel = 64
	}
	if c.ClientIDPrefix == "" {
		c.ClientIDPrefix = "calibd-sim"
	}
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = 30 * time.Second
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate checks the run's settings.
func (c Config) Validate() error {
	var errs []error
	if c.BrokerURL == "" {
		errs = append(errs, errors.New("no broker URL"))
	}
	if len(c.Fleet) == 0 {
		errs = append(errs, errors.New("no devices"))
	}
	if c.Rate < 0 {
		errs = append(errs, errors.New("rate must be 0 (as fast as acknowledged) or positive"))
	}
	if c.QoS > 2 {
		errs = append(errs, errors.New("qos must be 0, 1 or 2"))
	}
	if c.Connections < 0 {
		errs = append(errs, errors.New("connections must be 0 (one per device) or positive"))
	}
	if c.Duration < 0 || c.Messages < 0 || c.InjectEvery < 0 {
		errs = append(errs, errors.New("duration, messages and inject interval must not be negative"))
	}
	if c.InjectEvery > 0 && !slices.ContainsFunc(c.Fleet, func(d Device) bool { return d.Kind == devices.DeviceThermometer }) {
		errs = append(errs, errors.New("out-of-tolerance injection needs thermometers in the fleet"))
	}
	if err := c.Profile.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Probe is one injected out-of-tolerance check and what became of it.
type Probe struct {
	DeviceID    string
	Seq         int64
	PublishedAt time.Time // the check's ts, just before the publish
	AckedAt     time.Time // zero unless acknowledged
	// AlertSeenAt is when the watcher first saw the device's
	// out_of_tolerance alert covering this check (zero if not watched or
	// not seen); AlertCreatedAt is the alert's created_at, and
	// AlertExisted says it was open before this check.
	AlertSeenAt    time.Time
	AlertCreatedAt time.Time
	AlertExisted   bool
}

// Summary is what a run did.
type Summary struct {
	Started     time.Time // first publish
	Stopped     time.Time // end of publishing
	Devices     int
	Connections int
	QoS         byte
	Seed        uint64
	TargetRate  float64
	Published   int64 // handed to the MQTT client
	Acked       int64 // token completed without error (PUBACK at QoS 1)
	Failed      int64 // token completed with an error
	Unconfirmed int64 // no answer before the drain timeout
	Missed      int64 // pacing slots given up because the publisher fell behind
	// Published per kind: checks, telemetry, events (valid), bad, probes.
	Checks, Telemetry, Events, Bad, Probes int64
	// AckedValid are acknowledged messages calibd should store (probes
	// included); AckedBad acknowledged ones it should dead-letter.
	AckedValid, AckedBad int64
	// AckP50, AckP99 are publish-to-acknowledgement latencies.
	AckP50, AckP99 time.Duration
	ProbeLog       []Probe
}

// Elapsed is how long publishing lasted.
func (s Summary) Elapsed() time.Duration { return s.Stopped.Sub(s.Started) }

// Rate is acknowledged messages per second of publishing.
func (s Summary) Rate() float64 {
	if el := s.Elapsed().Seconds(); el > 0 {
		return float64(s.Acked) / el
	}
	return 0
}

// counters are shared by a run's workers.
type counters struct {
	published, acked, failed, unconfirmed       atomic.Int64
	checks, telemetry, events, bad, probes      atomic.Int64
	ackedValid, ackedBad, reserved, lastPublish atomic.Int64
}

// pending is a published message waiting for its token.
type pending struct {
	tok   paho.Token
	sent  time.Time
	bad   bool
	probe *Probe
}

// run is one Run's state.
type run struct {
	cfg     Config
	gen     *Generator
	clients []paho.Client
	c       counters
	probeMu sync.Mutex
	probes  []*Probe
	errLog  *lograte.Sometimes
}

// clientOf is the connection that carries device i.
func (r *run) clientOf(i int) int {
	if r.cfg.Connections == 0 {
		return i
	}
	return i % r.cfg.Connections
}

// Run connects the fleet, publishes until the duration, the message count
// or ctx ends it, waits for outstanding acknowledgements, disconnects and
// returns the summary. Failing to connect every connection is an error;
// failed publishes are counted, not errors.
func Run(ctx context.Context, cfg Config) (Summary, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return Summary{}, err
	}
	cfg.Connections = min(cfg.Connections, len(cfg.Fleet))
	nconn := cfg.Connections
	if nconn == 0 {
		nconn = len(cfg.Fleet)
	}
	r := &run{cfg: cfg, errLog: lograte.New(5 * time.Second)}
	log := cfg.Log
	start := time.Now()
	if err := r.connect(ctx, nconn); err != nil {
		return Summary{}, err
	}
	defer r.disconnect()
	log.Info("fleet connected", "connections", nconn, "devices", len(cfg.Fleet), "took", time.Since(start).Round(time.Millisecond))

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if cfg.Duration > 0 {
		runCtx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
	}
	begin := time.Now()
	r.gen = NewGenerator(cfg.Profile, cfg.Fleet, cfg.Seed, begin)
	workers := r.plan(min(cfg.Workers, nconn))
	if cfg.Alerts != nil {
		cfg.Alerts.start(ctx, log)
	}
	var pubs, waiters sync.WaitGroup
	hard := make(chan struct{})
	lats := make([][]time.Duration, len(workers))
	for k, w := range workers {
		pubs.Go(func() { w.publish(runCtx, begin) })
		waiters.Go(func() { lats[k] = w.wait(hard) })
	}
	injectDone := make(chan struct{})
	go func() {
		defer close(injectDone)
		r.inject(runCtx, workers)
	}()
	pubs.Wait()
	cancel()
	<-injectDone
	stopped := time.Now()
	if last := r.c.lastPublish.Load(); last > 0 {
		stopped = time.Unix(0, last)
	}
	log.Info("publishing stopped; waiting for acknowledgements", "published", r.c.published.Load(),
		"outstanding", r.c.published.Load()-r.c.acked.Load()-r.c.failed.Load())
	drained := make(chan struct{})
	go func() { waiters.Wait(); close(drained) }()
	deadline := time.NewTimer(cfg.DrainTimeout)
	select {
	case <-drained:
	case <-deadline.C:
		close(hard)
		<-drained
	}
	deadline.Stop()
	if cfg.Alerts != nil {
		cfg.Alerts.finish(ctx, time.Now().Add(cfg.DrainTimeout))
	}

	s := Summary{Started: begin, Stopped: stopped, Devices: len(cfg.Fleet), Connections: nconn, QoS: cfg.QoS,
		Seed: cfg.Seed, TargetRate: cfg.Rate,
		Published: r.c.published.Load(), Acked: r.c.acked.Load(), Failed: r.c.failed.Load(),
		Unconfirmed: r.c.unconfirmed.Load(), Checks: r.c.checks.Load(), Telemetry: r.c.telemetry.Load(),
		Events: r.c.events.Load(), Bad: r.c.bad.Load(), Probes: r.c.probes.Load(),
		AckedValid: r.c.ackedValid.Load(), AckedBad: r.c.ackedBad.Load()}
	for _, w := range workers {
		s.Missed += w.pace.missed
	}
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	if ps := durationPercentiles(all, 0.50, 0.99); ps != nil {
		s.AckP50, s.AckP99 = ps[0], ps[1]
	}
	r.probeMu.Lock()
	for _, p := range r.probes {
		s.ProbeLog = append(s.ProbeLog, *p)
	}
	r.probeMu.Unlock()
	if cfg.Alerts != nil {
		cfg.Alerts.fill(s.ProbeLog)
	}
	return s, nil
}

// connect opens nconn connections, ConnectParallel at a time, each tried
// three times; any that cannot connect fails the run.
func (r *run) connect(ctx context.Context, nconn int) error {
	cfg := r.cfg
	r.clients = make([]paho.Client, nconn)
	sem := make(chan struct{}, cfg.ConnectParallel)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		failed   int
		firstErr error
		done     atomic.Int64
	)
	for k := range nconn {
		id, user, pass := cfg.ClientIDPrefix+"-"+strconv.Itoa(k), cfg.Username, cfg.Password
		if cfg.Connections == 0 {
			d := cfg.Fleet[k]
			id, user, pass = cfg.ClientIDPrefix+"-"+d.ID, d.ID, d.Secret
		}
		opts := paho.NewClientOptions().AddBroker(cfg.BrokerURL).SetClientID(id).SetUsername(user).SetPassword(pass).
			SetCleanSession(true).SetAutoReconnect(true).SetConnectRetry(false).SetConnectTimeout(10 * time.Second).
			SetKeepAlive(60 * time.Second).SetMaxReconnectInterval(5 * time.Second).SetWriteTimeout(30 * time.Second)
		c := paho.NewClient(opts)
		r.clients[k] = c
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			r.disconnect()
			return ctx.Err()
		}
		wg.Go(func() {
			defer func() { <-sem }()
			var err error
			for attempt := range 3 {
				if attempt > 0 {
					time.Sleep(time.Duration(attempt) * 500 * time.Millisecond)
				}
				tok := c.Connect()
				if !tok.WaitTimeout(15 * time.Second) {
					err = errors.New("no CONNACK within 15s")
					continue
				}
				if err = tok.Error(); err == nil {
					break
				}
			}
			if err != nil {
				mu.Lock()
				failed++
				if firstErr == nil {
					firstErr = fmt.Errorf("connect %s as %q: %w", id, user, err)
				}
				mu.Unlock()
				return
			}
			if n := done.Add(1); n%2000 == 0 {
				r.cfg.Log.Info("connecting", "connected", n, "of", nconn)
			}
		})
	}
	wg.Wait()
	if failed > 0 {
		r.disconnect()
		return fmt.Errorf("%d of %d connections failed; the first: %w", failed, nconn, firstErr)
	}
	return nil
}

func (r *run) disconnect() {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 256)
	for _, c := range r.clients {
		if c == nil || !c.IsConnectionOpen() {
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c.Disconnect(20)
		})
	}
	wg.Wait()
	r.clients = nil
}

// worker publishes for its share of the fleet and counts acknowledgements.
type worker struct {
	r      *run
	devs   []int // device indexes in a shuffled order
	pace   *pacer
	slots  chan struct{}
	pend   chan pending
	probes chan int
}

// plan splits connections and their devices among n workers; each worker
// paces its share of the rate.
func (r *run) plan(n int) []*worker {
	ws := make([]*worker, n)
	for k := range ws {
		ws[k] = &worker{r: r, slots: make(chan struct{}, r.cfg.Inflight), pend: make(chan pending, r.cfg.Inflight),
			probes: make(chan int, 64)}
	}
	for i := range r.cfg.Fleet {
		w := ws[r.clientOf(i)%n]
		w.devs = append(w.devs, i)
	}
	for k, w := range ws {
		rng := rand.New(rand.NewPCG(r.cfg.Seed, 0x776f726b6572+uint64(k))) // "worker"
		rng.Shuffle(len(w.devs), func(a, b int) { w.devs[a], w.devs[b] = w.devs[b], w.devs[a] })
		w.pace = newPacer(r.cfg.Rate*float64(len(w.devs))/float64(len(r.cfg.Fleet)), time.Time{})
	}
	return ws
}

// owner is the worker that publishes for device i.
func (r *run) owner(ws []*worker, i int) *worker { return ws[r.clientOf(i)%len(ws)] }

// publish sends the worker's devices' messages in turn at its pace until
// ctx ends or the message budget is spent; probes go out as they come.
func (w *worker) publish(ctx context.Context, begin time.Time) {
	defer close(w.pend)
	if len(w.devs) == 0 {
		return
	}
	w.pace.start = begin
	next := 0
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	probe := func(i int) bool { return w.send(ctx, w.r.gen.OutOfTolerance(i, time.Now())) }
	for {
		select {
		case <-ctx.Done():
			return
		case i := <-w.probes:
			if !probe(i) {
				return
			}
			continue
		default:
		}
		n, wait := w.pace.due(time.Now())
		if n == 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return
			case i := <-w.probes:
				if !probe(i) {
					return
				}
			case <-timer.C:
			}
			continue
		}
		for range n {
			if !w.send(ctx, w.r.gen.Next(w.devs[next], time.Now())) {
				return
			}
			next = (next + 1) % len(w.devs)
		}
	}
}

// send publishes one message once the in-flight window has room; false
// means stop (ctx ended or the message budget is spent).
func (w *worker) send(ctx context.Context, m Message) bool {
	r := w.r
	if r.cfg.Messages > 0 && r.c.reserved.Add(1) > r.cfg.Messages {
		return false
	}
	select {
	case w.slots <- struct{}{}:
	case <-ctx.Done():
		return false
	}
	var probe *Probe
	if m.Probe {
		probe = &Probe{DeviceID: r.gen.Device(m.Device).ID, Seq: m.Seq, PublishedAt: m.TS}
		r.probeMu.Lock()
		r.probes = append(r.probes, probe)
		r.probeMu.Unlock()
		r.cfg.Log.Info("injected an out-of-tolerance check", "device_id", probe.DeviceID, "seq", probe.Seq,
			"published_at", probe.PublishedAt.Format(time.RFC3339Nano))
		if r.cfg.Alerts != nil {
			r.cfg.Alerts.add(probe)
		}
	}
	tok := r.clients[r.clientOf(m.Device)].Publish(m.Topic, r.cfg.QoS, false, m.Payload)
	now := time.Now()
	r.c.published.Add(1)
	r.c.lastPublish.Store(now.UnixNano())
	switch {
	case m.Probe:
		r.c.probes.Add(1)
	case m.Bad != "":
		r.c.bad.Add(1)
	case m.Kind == devices.MessageChecks:
		r.c.checks.Add(1)
	case m.Kind == devices.MessageTelemetry:
		r.c.telemetry.Add(1)
	default:
		r.c.events.Add(1)
	}
	w.pend <- pending{tok: tok, sent: m.TS, bad: m.Bad != "", probe: probe}
	return true
}

// wait counts the worker's tokens as they complete, in publish order. Once
// hard closes (the drain timeout), what is left is unconfirmed. It returns
// the acknowledgement latencies.
func (w *worker) wait(hard <-chan struct{}) []time.Duration {
	r := w.r
	var lats []time.Duration
	for p := range w.pend {
		select {
		case <-p.tok.Done():
		case <-hard:
			n := int64(1 + len(w.pend))
			for range w.pend {
			}
			r.c.unconfirmed.Add(n)
			return lats
		}
		<-w.slots
		if err := p.tok.Error(); err != nil {
			r.c.failed.Add(1)
			if ok, suppressed := r.errLog.Allow(time.Now()); ok {
				r.cfg.Log.Warn("publish failed", "error", err, "suppressed", suppressed)
			}
			continue
		}
		now := time.Now()
		r.c.acked.Add(1)
		if p.bad {
			r.c.ackedBad.Add(1)
		} else {
			r.c.ackedValid.Add(1)
		}
		lats = append(lats, now.Sub(p.sent))
		if p.probe != nil {
			r.probeMu.Lock()
			p.probe.AckedAt = now
			r.probeMu.Unlock()
		}
	}
	return lats
}

// inject hands an out-of-tolerance check of the next thermometer (in a
// shuffled order, so no device is picked twice before all were) to its
// worker every InjectEvery.
func (r *run) inject(ctx context.Context, ws []*worker) {
	if r.cfg.InjectEvery <= 0 {
		return
	}
	var therms []int
	for i, d := range r.cfg.Fleet {
		if d.Kind == devices.DeviceThermometer {
			therms = append(therms, i)
		}
	}
	rng := rand.New(rand.NewPCG(r.cfg.Seed, 0x70726f6265)) // "probe"
	rng.Shuffle(len(therms), func(a, b int) { therms[a], therms[b] = therms[b], therms[a] })
	t := time.NewTicker(r.cfg.InjectEvery)
	defer t.Stop()
	for k := 0; ; k++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		i := therms[k%len(therms)]
		select {
		case r.owner(ws, i).probes <- i:
		default:
			r.cfg.Log.Warn("publisher busy; out-of-tolerance check skipped", "device_id", r.cfg.Fleet[i].ID)
		}
	}
}

// durationPercentiles returns the nearest-rank percentiles ps (0..1) of
// xs, or nil when xs is empty. It sorts xs.
func durationPercentiles(xs []time.Duration, ps ...float64) []time.Duration {
	if len(xs) == 0 {
		return nil
	}
	slices.Sort(xs)
	out := make([]time.Duration, len(ps))
	for k, p := range ps {
		i := int(p*float64(len(xs))+0.999999) - 1
		out[k] = xs[min(max(i, 0), len(xs)-1)]
	}
	return out
}
