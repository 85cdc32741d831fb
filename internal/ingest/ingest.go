// Package ingest takes device messages from the MQTT broker into the
// ReadingStore, at least once and never doubled (ARCHITECTURE.md
// "Reliability rules"):
//
//   - paho subscribes with QoS 1 on a persistent session (clean session
//     off, a stable client id), in OnConnect so a reconnect resubscribes;
//   - the message handler only puts the message on a bounded queue;
//   - N workers take batches off the queue, decode them, commit them in
//     the store, and acknowledge every message of a batch only after the
//     commit returned: a crash before that makes the broker redeliver, and
//     the store skips a (device, seq) it has already;
//   - a message that cannot be stored (bad payload, unknown device, value
//     out of range, wrong device kind) becomes a dead letter, committed and
//     acknowledged with its batch, so bad input never stalls the stream.
//
// Backpressure. What bounds the messages calibd holds is the broker's
// in-flight window: it sends a client at most that many unacknowledged
// QoS 1 messages (Mosquitto max_inflight_messages, 20 by default), and
// since we acknowledge only after commit, a slow store stops the broker
// sending.
// Acknowledgements go out in delivery order (acker): Mosquitto refills
// its whole window on an out-of-order one, which defeats the bound.
// paho calls the handler for one message at a time, in delivery order
// (SetOrderMatters(true)); it only queues, and the queue (INGEST_QUEUE)
// must hold the window, because a handler waiting on a full queue stops
// paho reading from the broker. Further messages wait in the broker's
// session queue, never dropped by us; the broker's own queue limit
// (Mosquitto max_queued_messages, 1000 by default) must be raised for
// lossless operation. The window also caps how many messages can be in
// our queue and batches at once, so batches larger than it need a larger
// window.
//
// The embedded broker has no paho client in between (StartLocal, Offer):
// it offers each device message to the same queue, waiting while it is
// full, and acknowledges it to the device once its batch committed.
//
// Only this package imports paho (STYLE.md §2).
package ingest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/internal/lograte"
)

// Defaults for the zero fields of Config.
const (
	DefaultQueueSize  = 10000
	DefaultWorkers    = 3
	DefaultBatchSize  = 1000
	DefaultBatchWait  = 25 * time.Millisecond
	DefaultShareGroup = "calibd"
)

// Config says where the broker is and how the ingest batches.
type Config struct {
	// URL is the broker, tcp://host:port or ssl://host:port.
	URL string
	// ClientID must be stable per replica and unique among replicas: the
	// broker keeps the persistent session (subscriptions and unacknowledged
	// messages) under it.
	ClientID string
	Username string
	Password string
	// Shared subscribes through $share/{ShareGroup}/..., so the replicas of
	// one group split the stream.
	Shared     bool
	ShareGroup string // DefaultShareGroup when empty
	QueueSize  int    // DefaultQueueSize when zero
	Workers    int    // DefaultWorkers when zero
	BatchSize  int    // DefaultBatchSize when zero
	// DeviceTTL is how long a worker trusts a device it looked up (its
	// kind, retirement and range); DefaultDeviceTTL when zero, none when
	// negative.
	DeviceTTL time.Duration
	// BatchWait is how long a worker waits for a batch to fill after its
	// first message; DefaultBatchWait when zero. Negative: no wait, a
	// worker takes what is queued (batches grow with the load).
	BatchWait time.Duration
	Limits    devices.DecodeLimits
	// CAFile is a PEM file of the CAs that sign an ssl:// broker's
	// certificate; empty means the system roots.
	CAFile string
	// TLS, when set, is used as is for ssl:// (CAFile is then ignored).
	TLS *tls.Config
}

func (c Config) withDefaults() Config {
	if c.ShareGroup == "" {
		c.ShareGroup = DefaultShareGroup
	}
	if c.QueueSize <= 0 {
		c.QueueSize = DefaultQueueSize
	}
	if c.Workers <= 0 {
		c.Workers = DefaultWorkers
	}
	if c.BatchSize <= 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.DeviceTTL == 0 {
		c.DeviceTTL = DefaultDeviceTTL
	}
	if c.BatchWait == 0 {
		c.BatchWait = DefaultBatchWait
	}
	return c
}

// tlsConfig is nil (paho then dials ssl:// with Go's defaults: the system
// roots and the URL's host name) unless a CA file or a config is given.
func (c Config) tlsConfig() (*tls.Config, error) {
	if c.TLS != nil {
		return c.TLS, nil
	}
	if c.CAFile == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(c.CAFile)
	if err != nil {
		return nil, fmt.Errorf("ingest: read CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("ingest: CA file %s holds no PEM certificate", c.CAFile)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// Filters are the subscriptions: every device topic of the contract, as a
// shared subscription of group when group is not empty.
func Filters(group string) []string {
	var fs []string
	for _, k := range devices.MessageKinds {
		for _, senml := range []bool{false, true} {
			f := devices.DeviceTopic("+", k, senml)
			if group != "" {
				f = "$share/" + group + "/" + f
			}
			fs = append(fs, f)
		}
	}
	return fs
}

// delivery is a message on the queue, with when it arrived.
type delivery struct {
	msg      paho.Message
	received time.Time
	seq      uint64 // delivery order, for the acker; 0: from Offer, acknowledged as soon as committed
}

// Ingest is a running ingest: a paho client and its workers.
type Ingest struct {
	cfg    Config
	store  devices.ReadingStore
	log    *slog.Logger
	m      *metrics
	client paho.Client
	// local: started by StartLocal; an in-process broker calls Offer
	// and there is no client.
	local bool

	queue   chan delivery
	devices deviceCache
	// seq numbers deliveries (only the handler writes it: paho calls it
	// for one message at a time); acks releases their acknowledgements in
	// that order.
	seq  uint64
	acks *acker
	// intake guards closing the queue: handlers send under its read lock
	// while intakeClosed is false.
	intake       sync.RWMutex
	intakeClosed bool
	stopIntake   chan struct{}

	workCtx    context.Context
	cancelWork context.CancelFunc
	workers    sync.WaitGroup
	watchers   sync.WaitGroup

	ready      chan struct{}
	readyOnce  sync.Once
	subscribes atomic.Int64 // successful subscriptions: 1 + reconnects
	// conn says whether the current connection is subscribed (Connected).
	conn      connState
	closeOnce sync.Once
	closeErr  error

	storeWarn *lograte.Sometimes
	letterLog *lograte.Sometimes
	fullWarn  *lograte.Sometimes
}

// Start starts the workers and connects to the broker. It does not wait
// for the connection: paho retries until the broker answers (ConnectRetry)
// and reconnects after a loss (AutoReconnect); Connected and WaitReady
// tell. metrics may be nil.
func Start(ctx context.Context, cfg Config, store devices.ReadingStore, log *slog.Logger, metrics prometheus.Registerer) (*Ingest, error) {
	if cfg.URL == "" {
		return nil, errors.New("ingest: no broker URL")
	}
	if cfg.ClientID == "" {
		return nil, errors.New("ingest: no client id (it must be stable per replica: the broker keeps the session under it)")
	}
	tlsCfg, err := cfg.tlsConfig()
	if err != nil {
		return nil, err
	}
	i, err := newIngest(cfg, store, log, metrics)
	if err != nil {
		return nil, err
	}
	opts := paho.NewClientOptions().
		AddBroker(i.cfg.URL).
		SetClientID(i.cfg.ClientID).
		SetUsername(i.cfg.Username).
		SetPassword(i.cfg.Password).
		SetCleanSession(false).
		SetAutoAckDisabled(true).
		SetOrderMatters(true).
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(time.Second).
		SetMaxReconnectInterval(10 * time.Second).
		SetConnectTimeout(10 * time.Second).
		SetKeepAlive(30 * time.Second).
		SetCustomOpenConnectionFn(dialBroker).
		SetStore(newOutboundStore()).
		// Every subscription delivers here: paho's router does not match
		// $share/... filters against the topics messages arrive on.
		SetDefaultPublishHandler(i.onMessage).
		SetOnConnectHandler(i.onConnect).
		SetConnectionLostHandler(i.onConnectionLost).
		SetReconnectingHandler(i.onReconnecting)
	if tlsCfg != nil {
		opts.SetTLSConfig(tlsCfg)
	}
	i.client = paho.NewClient(opts)
	i.startWorkers()
	tok := i.client.Connect()
	i.watchers.Add(1)
	go func() {
		defer i.watchers.Done()
		// With ConnectRetry the token completes once connected, or with an
		// error when Close disconnects first.
		tok.Wait()
		if err := tok.Error(); err != nil && !i.closing() {
			i.log.Error("connect to broker", "error", err)
		}
	}()
	i.log.Info("ingest started", "client_id", i.cfg.ClientID, "shared", i.cfg.Shared, "workers", i.cfg.Workers,
		"queue_size", i.cfg.QueueSize, "batch_size", i.cfg.BatchSize, "batch_wait", i.cfg.BatchWait)
	_ = ctx // Start does not block; the workers live until Close.
	return i, nil
}

// newIngest builds everything but the client.
func newIngest(cfg Config, store devices.ReadingStore, log *slog.Logger, reg prometheus.Registerer) (*Ingest, error) {
	cfg = cfg.withDefaults()
	i := &Ingest{
		cfg:        cfg,
		store:      store,
		log:        log.With("component", "ingest"),
		queue:      make(chan delivery, cfg.QueueSize),
		devices:    deviceCache{ttl: cfg.DeviceTTL},
		stopIntake: make(chan struct{}),
		ready:      make(chan struct{}),
		storeWarn:  lograte.New(10 * time.Second),
		letterLog:  lograte.New(10 * time.Second),
		fullWarn:   lograte.New(10 * time.Second),
	}
	m, err := newMetrics(reg, func() float64 { return float64(len(i.queue)) }, func() float64 {
		if i.Connected() {
			return 1
		}
		return 0
	})
	if err != nil {
		return nil, err
	}
	i.m = m
	i.acks = newAcker(func(d time.Duration) { m.ackLatency.Observe(d.Seconds()) })
	i.workCtx, i.cancelWork = context.WithCancel(context.Background())
	return i, nil
}

func (i *Ingest) startWorkers() {
	for range i.cfg.Workers {
		i.workers.Add(1)
		go func() {
			defer i.workers.Done()
			i.work()
		}()
	}
}

// Connected reports whether the client is connected and its current
// connection subscribed (what /readyz and calibd_ingest_connected say).
// After a reconnect paho reports the connection open before onConnect has
// subscribed again; a broker that lost the session (restarted without
// persistence) delivers nothing to us until then, so that is not ready.
// Started by StartLocal, it is connected until Close.
func (i *Ingest) Connected() bool {
	if i.local {
		return !i.closing()
	}
	return i.conn.subscribed() && i.client != nil && i.client.IsConnectionOpen()
}

// connState tracks whether the current connection is subscribed. paho
// calls the reconnecting handler before every new connection attempt, in
// the goroutine that then connects and starts onConnect; the handler
// clears the flag and starts a new generation, so onConnect sets it only
// for its own connection, never for a later one it outlived. (The
// connection-lost handler runs in a goroutine paho starts alongside the
// reconnect: it may run after a quick reconnect has subscribed, so it
// must not clear the flag.)
type connState struct {
	mu  sync.Mutex
	gen uint64
	sub bool
}

func (c *connState) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// newConnection forgets the subscription: a new connection is coming.
func (c *connState) newConnection() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.sub = false
}

// subscribedOn marks the connection of generation gen subscribed, unless
// a newer connection has begun since.
func (c *connState) subscribedOn(gen uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return false
	}
	c.sub = true
	return true
}

func (c *connState) subscribed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sub
}

// WaitReady waits for the first subscription (after which the broker keeps
// the session's messages even while the ingest is away).
func (i *Ingest) WaitReady(ctx context.Context) error {
	select {
	case <-i.ready:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("ingest: wait for subscription: %w", ctx.Err())
	}
}

func (i *Ingest) closing() bool {
	select {
	case <-i.stopIntake:
		return true
	default:
		return false
	}
}

// onConnect subscribes (paho calls it in a goroutine of its own, after
// every connect and reconnect). A refused subscription is retried while
// the connection lasts: without it the ingest receives nothing.
func (i *Ingest) onConnect(c paho.Client) {
	gen := i.conn.generation()
	group := ""
	if i.cfg.Shared {
		group = i.cfg.ShareGroup
	}
	filters := map[string]byte{}
	for _, f := range Filters(group) {
		filters[f] = 1
	}
	wait := 100 * time.Millisecond
	for !i.closing() && c.IsConnectionOpen() {
		err := subscribe(c, filters)
		if err == nil {
			if !i.conn.subscribedOn(gen) {
				return // the connection this ran for is gone; the next one's onConnect subscribes
			}
			i.readyOnce.Do(func() { close(i.ready) })
			n := i.subscribes.Add(1)
			i.log.Info("subscribed", "filters", len(filters), "shared", i.cfg.Shared, "connects", n)
			return
		}
		i.log.Error("subscribe", "error", err, "retry_in", wait)
		select {
		case <-time.After(wait):
		case <-i.stopIntake:
			return
		}
		wait = min(2*wait, 10*time.Second)
	}
}

func subscribe(c paho.Client, filters map[string]byte) error {
	tok := c.SubscribeMultiple(filters, nil)
	if !tok.WaitTimeout(10 * time.Second) {
		return errors.New("subscribe: no answer within 10s")
	}
	if err := tok.Error(); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	if st, ok := tok.(*paho.SubscribeToken); ok {
		for f, q := range st.Result() {
			if q >= 0x80 {
				return fmt.Errorf("subscribe: broker refused %q", f)
			}
		}
	}
	return nil
}

func (i *Ingest) onConnectionLost(_ paho.Client, err error) {
	i.log.Warn("broker connection lost", "error", err)
}

// onReconnecting runs before each reconnection attempt (see connState).
func (i *Ingest) onReconnecting(paho.Client, *paho.ClientOptions) {
	i.conn.newConnection()
	i.log.Info("reconnecting to broker")
}

// onMessage only enqueues. When the queue is full it waits (see the
// package comment: the broker's in-flight window turns that into
// backpressure); once Close began it leaves the message unacknowledged,
// for the broker to redeliver to the next session.
func (i *Ingest) onMessage(_ paho.Client, msg paho.Message) {
	i.m.received.Inc()
	i.seq++
	d := delivery{msg: msg, received: time.Now(), seq: i.seq}
	i.intake.RLock()
	defer i.intake.RUnlock()
	if i.intakeClosed {
		i.acks.skip(d.seq)
		return
	}
	select {
	case i.queue <- d:
	default:
		// Full: wait. paho reads nothing more from the broker meanwhile
		// (pings included), so the queue must hold the broker's window.
		if ok, _ := i.fullWarn.Allow(time.Now()); ok {
			i.log.Warn("ingest queue full; waiting for the store (raise INGEST_QUEUE above the broker's in-flight window)",
				"queue", cap(i.queue))
		}
		select {
		case i.queue <- d:
		case <-i.stopIntake:
			i.acks.skip(d.seq)
		}
	}
}

// Close stops the ingest, within ctx. Its order differs from a plain
// disconnect-then-drain (STYLE.md §7) so that nothing committed is left
// unacknowledged: acknowledgements go out on the connection, so it stays
// up until the queue is drained.
//
//  1. stop intake: handlers stop queueing (what they hold stays
//     unacknowledged and the broker redelivers it to the next session);
//  2. drain: the workers commit and acknowledge everything queued;
//  3. disconnect, letting paho flush the acknowledgements.
//
// We never unsubscribe: the persistent session keeps collecting messages
// while we are away. If ctx ends before the queue is drained, the workers
// stop retrying, their batches stay unacknowledged (redelivered later),
// and Close returns ctx's error.
func (i *Ingest) Close(ctx context.Context) error {
	i.closeOnce.Do(func() { i.closeErr = i.close(ctx) })
	return i.closeErr
}

func (i *Ingest) close(ctx context.Context) error {
	close(i.stopIntake)
	i.intake.Lock()
	i.intakeClosed = true
	close(i.queue)
	i.intake.Unlock()

	drained := make(chan struct{})
	go func() {
		i.workers.Wait()
		close(drained)
	}()
	var err error
	select {
	case <-drained:
	case <-ctx.Done():
		err = fmt.Errorf("ingest: drain queue: %w", ctx.Err())
		i.log.Warn("ingest closed before its queue drained; the broker will redeliver", "queued", len(i.queue))
	}
	i.cancelWork()
	<-drained
	if i.client != nil {
		quiesce := uint(250)
		if dl, ok := ctx.Deadline(); ok {
			quiesce = uint(max(0, min(250, time.Until(dl).Milliseconds())))
		}
		i.client.Disconnect(quiesce)
	}
	i.watchers.Wait()
	i.log.Info("ingest stopped")
	return err
}

var libraryLogger sync.Once

// SetLibraryLogger routes paho's package-level loggers (errors, critical
// and warnings) to log. They are globals: the first call wins.
func SetLibraryLogger(log *slog.Logger) {
	libraryLogger.Do(func() {
		paho.ERROR = slog.NewLogLogger(log.Handler(), slog.LevelError)
		paho.CRITICAL = slog.NewLogLogger(log.Handler(), slog.LevelError)
		paho.WARN = slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	})
}
