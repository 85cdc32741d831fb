package simulate

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/internal/broker"
)

// CountConfig is a counting subscriber: the raw ceiling of a broker, with
// nothing behind it but an atomic counter.
type CountConfig struct {
	BrokerURL          string
	Username, Password string
	ClientID           string // default calibd-sim-count
	QoS                byte
	// Filters default to every device topic (calibd/v1/devices/#).
	Filters []string
	// Duration ends counting; 0: until ctx ends or Idle.
	Duration time.Duration
	// Idle ends counting once messages came and then none for this long;
	// 0: never.
	Idle time.Duration
	// Ready, if set, is called once subscribed.
	Ready func()
	Log   *slog.Logger
}

// CountResult is what a counting subscriber received.
type CountResult struct {
	Messages    int64
	First, Last time.Time
}

// Rate is messages per second between the first and the last.
func (r CountResult) Rate() float64 {
	if el := r.Last.Sub(r.First).Seconds(); el > 0 && r.Messages > 1 {
		return float64(r.Messages-1) / el
	}
	return 0
}

// Count subscribes at QoS and counts until Duration, Idle or ctx ends it.
// paho acknowledges each QoS 1 message as soon as the handler returns, so
// this is what the broker can deliver to one subscriber, not what a store
// can keep.
func Count(ctx context.Context, cfg CountConfig) (CountResult, error) {
	if cfg.ClientID == "" {
		cfg.ClientID = "calibd-sim-count"
	}
	if len(cfg.Filters) == 0 {
		cfg.Filters = []string{devices.TopicPrefix + "#"}
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var n, first, last atomic.Int64
	opts := paho.NewClientOptions().AddBroker(cfg.BrokerURL).SetClientID(cfg.ClientID).
		SetUsername(cfg.Username).SetPassword(cfg.Password).SetCleanSession(true).SetAutoReconnect(false).
		SetConnectTimeout(10 * time.Second).SetKeepAlive(60 * time.Second).
		SetDefaultPublishHandler(func(_ paho.Client, _ paho.Message) {
			now := time.Now().UnixNano()
			if n.Add(1) == 1 {
				first.Store(now)
			}
			last.Store(now)
		}).
		SetConnectionLostHandler(func(_ paho.Client, err error) { log.Warn("counter lost its connection", "error", err) })
	c := paho.NewClient(opts)
	tok := c.Connect()
	if !tok.WaitTimeout(15*time.Second) || tok.Error() != nil {
		return CountResult{}, fmt.Errorf("count: connect to %s: %v", cfg.BrokerURL, tok.Error())
	}
	defer c.Disconnect(100)
	filters := map[string]byte{}
	for _, f := range cfg.Filters {
		filters[f] = cfg.QoS
	}
	st := c.SubscribeMultiple(filters, nil)
	if !st.WaitTimeout(10*time.Second) || st.Error() != nil {
		return CountResult{}, fmt.Errorf("count: subscribe: %v", st.Error())
	}
	if s, ok := st.(*paho.SubscribeToken); ok {
		for f, q := range s.Result() {
			if q >= 0x80 {
				return CountResult{}, fmt.Errorf("count: the broker refused %q", f)
			}
		}
	}
	log.Info("counter subscribed", "filters", strings.Join(cfg.Filters, " "), "qos", cfg.QoS)
	if cfg.Ready != nil {
		cfg.Ready()
	}
	var end <-chan time.Time
	if cfg.Duration > 0 {
		end = time.After(cfg.Duration)
	}
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	lastReport, reported := time.Now(), int64(0)
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-end:
			break loop
		case now := <-t.C:
			got := n.Load()
			if cfg.Idle > 0 && got > 0 && now.Sub(time.Unix(0, last.Load())) > cfg.Idle {
				break loop
			}
			if now.Sub(lastReport) >= 5*time.Second {
				log.Info("counting", "messages", got, "per_second", float64(got-reported)/now.Sub(lastReport).Seconds())
				lastReport, reported = now, got
			}
			if !c.IsConnectionOpen() {
				return result(&n, &first, &last), errors.New("count: the connection to the broker was lost")
			}
		}
	}
	return result(&n, &first, &last), nil
}

func result(n, first, last *atomic.Int64) CountResult {
	r := CountResult{Messages: n.Load()}
	if r.Messages > 0 {
		r.First, r.Last = time.Unix(0, first.Load()), time.Unix(0, last.Load())
	}
	return r
}

// Embedded is calibd's embedded broker (internal/broker: mochi with
// calibd's login and topic checks) serving a fleet from its credentials
// instead of a database, so the raw ceiling of that broker can be measured
// apart from calibd. Devices log in as their id with their secret; the
// counter logs in as calibd's ingest.
type Embedded struct {
	b *broker.Broker
}

// StartEmbedded starts the broker on addr (127.0.0.1:0 picks a port).
func StartEmbedded(addr string, fleet []Device, log *slog.Logger) (*Embedded, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	auth := fleetAuth{}
	for _, d := range fleet {
		auth[d.ID] = d
	}
	b, err := broker.Start(broker.Config{Addr: addr}, auth, log)
	if err != nil {
		return nil, err
	}
	return &Embedded{b: b}, nil
}

// URL is the broker's tcp:// address.
func (e *Embedded) URL() string { return e.b.URL() }

// CounterLogin is the login a counter subscribes with.
func (e *Embedded) CounterLogin() (string, string) { return e.b.IngestLogin() }

// Close stops the broker.
func (e *Embedded) Close() error { return e.b.Close() }

// fleetAuth authenticates a fleet's devices by their secrets.
type fleetAuth map[string]Device

func (f fleetAuth) AuthenticateDevice(_ context.Context, user, pass string) (devices.DeviceIdentity, error) {
	d, ok := f[strings.ToLower(user)]
	if !ok || subtle.ConstantTimeCompare([]byte(d.Secret), []byte(pass)) != 1 {
		return devices.DeviceIdentity{}, devices.ErrUnauthenticated
	}
	return devices.DeviceIdentity{DeviceID: d.ID, Kind: d.Kind}, nil
}
