// Package broker runs calibd's embedded MQTT broker (mochi) for the
// zero-install default: devices log in with their id and the secret the
// API issued, through the same check an external broker's auth hook calls,
// and may publish only on their own topics. calibd's ingest takes device
// messages in process (Config.Sink), and a device's PUBACK waits for the
// commit; a subscriber can also log in over TCP with a service login made
// at start (the benchmark's counting subscriber does).
package broker

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/calibd/calibd/devices"
)

// IngestUser is the login of calibd's own ingest client.
const IngestUser = "calibd-ingest"

// Authenticator checks a device login (store.Store implements it).
type Authenticator interface {
	AuthenticateDevice(ctx context.Context, username, password string) (devices.DeviceIdentity, error)
}

// Config says where the broker listens.
type Config struct {
	// Addr is the TCP listen address; 127.0.0.1:0 picks a free port.
	Addr string
	// IngestWindow is how many QoS 1 messages the broker sends calibd's
	// ingest before it waits for acknowledgements (DefaultIngestWindow
	// when zero). The ingest speaks MQTT 3.1.1, which has no receive
	// maximum, and mochi then sends a subscriber everything at once and
	// drops what no longer fits its write buffer: measured losing 173,000
	// messages of a 10,000-device burst. (mochi's own send quota does not
	// help: a message it holds back and sends later is no longer tracked,
	// so its acknowledgement never frees the quota and the flow stops.)
	// Instead, a device's message waits, in that device's connection,
	// until the ingest has fewer than the window unacknowledged: the
	// device already has its PUBACK, and its next message is read when
	// the ingest catches up, which is backpressure all the way back.
	IngestWindow int
	// Sink, when set, takes every device message in this process
	// (calibd's ingest, ingest.StartLocal), and the device's PUBACK waits
	// until the message is committed (sink.go); nothing is forwarded to
	// subscribers. Without it, device messages go to subscribers such as
	// the ingest login over TCP (the benchmark's counting subscriber).
	Sink Sink
}

// MaxPacketBytes is the largest MQTT packet the embedded broker reads; a
// larger one closes the connection. Device payloads above the ingest's own
// limit (devices.DefaultMaxPayloadBytes) and below this one are taken and
// dead-lettered as too large, as through any broker.
const MaxPacketBytes = 64 << 10

// DefaultIngestWindow is Config.IngestWindow's default: the in-flight
// window the README asks of Mosquitto for lossless operation.
const DefaultIngestWindow = 2000

// Broker is a running embedded broker.
type Broker struct {
	srv            *mqtt.Server
	tcp            *listeners.TCP
	ingestPassword string
}

// Start binds the listener and serves until Close.
func Start(cfg Config, auth Authenticator, log *slog.Logger) (*Broker, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("broker: ingest password: %w", err)
	}
	br := &Broker{ingestPassword: base64.RawURLEncoding.EncodeToString(b)}
	window := cfg.IngestWindow
	if window <= 0 {
		window = DefaultIngestWindow
	}
	caps := mqtt.NewDefaultServerCapabilities()
	// A client's queue of packets for its write loop is allocated at
	// connect, whoever the client is, and holds what the broker forwards
	// it; acknowledgements bypass it. With a Sink nobody is forwarded
	// anything, so a few slots do; without one it is sized for the
	// ingest's window, not mochi's 8,192, which cost every idle device
	// connection 64 KiB.
	caps.MaximumClientWritesPending = int32(window + 256)
	if cfg.Sink != nil {
		caps.MaximumClientWritesPending = 8
	}
	// A device's message enters the ingest's in-flight store before it
	// waits for a slot, so that store holds the window plus one message
	// per waiting device; mochi drops beyond MaximumInflight (8,192 by
	// default: 75,000 messages lost with 10,000 devices), so take the
	// protocol's most.
	caps.MaximumInflight = math.MaxUint16
	// mochi reads a whole packet into memory, before a login is checked
	// too, and by default of any size MQTT allows (256 MiB).
	caps.MaximumPacketSize = MaxPacketBytes
	br.srv = mqtt.New(&mqtt.Options{InlineClient: false, Logger: log, Capabilities: caps})
	if err := br.srv.AddHook(&authHook{auth: auth, ingestPassword: []byte(br.ingestPassword), slots: make(chan struct{}, window),
		clients: br.srv.Clients, log: log}, nil); err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	if cfg.Sink != nil {
		if err := br.srv.AddHook(newSinkHook(cfg.Sink, log), nil); err != nil {
			return nil, fmt.Errorf("broker: %w", err)
		}
	}
	br.tcp = listeners.NewTCP(listeners.Config{ID: "tcp", Address: cfg.Addr})
	if err := br.srv.AddListener(br.tcp); err != nil {
		return nil, fmt.Errorf("broker: listen on %s: %w", cfg.Addr, err)
	}
	if err := br.srv.Serve(); err != nil {
		_ = br.srv.Close()
		return nil, fmt.Errorf("broker: %w", err)
	}
	return br, nil
}

// URL is the broker's address as tcp://host:port.
func (b *Broker) URL() string { return "tcp://" + b.tcp.Address() }

// IngestLogin is the username and password of calibd's ingest client.
func (b *Broker) IngestLogin() (string, string) { return IngestUser, b.ingestPassword }

// Close stops listening and disconnects every client.
//
// mochi's own Close (v2.7.9) collects the listener's clients holding the
// clients' read lock while it takes it again (Clients.GetByListener calls
// Len). A client leaving at that moment asks for the write lock in
// between, and the two then wait for each other for ever: CI saw a test's
// cleanup hang for ten minutes that way (upstream issue mochi-mqtt/server
// #488; the fixes proposed there are not released). So the listener is ended first
// with no client callback, the clients are disconnected from a copy of the
// map, and mochi's Close then finds the listener already ended and only
// stops the hooks.
func (b *Broker) Close() error {
	b.tcp.Close(func(string) {})
	for _, cl := range b.srv.Clients.GetAll() {
		if !cl.Closed() {
			_ = b.srv.DisconnectClient(cl, packets.ErrServerShuttingDown)
		}
	}
	return b.srv.Close()
}

// authHook authenticates devices through the Authenticator, and the
// ingest client by its start-time password, and keeps each to its topics.
type authHook struct {
	mqtt.HookBase
	auth           Authenticator
	ingestPassword []byte
	// slots holds one token per message sent to the ingest and not yet
	// acknowledged (Config.IngestWindow).
	slots chan struct{}
	// clients are the broker's sessions, connected or kept.
	clients *mqtt.Clients
	log     *slog.Logger
}

func (h *authHook) ID() string { return "calibd-auth" }

func (h *authHook) Provides(b byte) bool {
	return bytes.Contains([]byte{mqtt.OnConnectAuthenticate, mqtt.OnACLCheck, mqtt.OnQosPublish, mqtt.OnQosComplete, mqtt.OnQosDropped},
		[]byte{b})
}

// ingestSlotWait bounds how long a message waits for the ingest's window;
// past it the message goes anyway (and is logged), so a miscount can slow
// the broker but never stall it.
const ingestSlotWait = 30 * time.Second

// OnQosPublish runs in the publishing device's connection when mochi hands
// a QoS 1 message to a subscriber: for the ingest it waits for a slot of
// the window. Redeliveries (Dup) already hold theirs.
func (h *authHook) OnQosPublish(cl *mqtt.Client, pk packets.Packet, _ int64, _ int) {
	if string(cl.Properties.Username) != IngestUser || pk.FixedHeader.Type != packets.Publish || pk.FixedHeader.Dup {
		return
	}
	select {
	case h.slots <- struct{}{}:
	case <-time.After(ingestSlotWait):
		h.log.Warn("the ingest's window stayed full; sending anyway", "window", cap(h.slots), "waited", ingestSlotWait)
	}
}

// OnQosComplete: the ingest acknowledged a message; its slot is free.
func (h *authHook) OnQosComplete(cl *mqtt.Client, pk packets.Packet) {
	if string(cl.Properties.Username) == IngestUser && pk.FixedHeader.Type == packets.Puback {
		h.release()
	}
}

// OnQosDropped: a message to the ingest was dropped (expired, or its
// session cleared); its slot is free.
func (h *authHook) OnQosDropped(cl *mqtt.Client, _ packets.Packet) {
	if string(cl.Properties.Username) == IngestUser {
		h.release()
	}
}

func (h *authHook) release() {
	select {
	case <-h.slots:
	default: // one sent without a slot (see ingestSlotWait)
	}
}

func (h *authHook) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	user := string(pk.Connect.Username)
	ok := false
	if user == IngestUser {
		ok = subtle.ConstantTimeCompare(pk.Connect.Password, h.ingestPassword) == 1
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := h.auth.AuthenticateDevice(ctx, user, string(pk.Connect.Password))
		if err != nil && !errors.Is(err, devices.ErrUnauthenticated) {
			h.log.Warn("device login not checked", "username", user, "error", err)
		}
		ok = err == nil
	}
	// A session belongs to the login that made it: mochi would let any
	// login take over a client id (disconnecting its owner, inheriting its
	// session), so one tenant's device could keep knocking another's off.
	if prev, found := h.clients.Get(cl.ID); ok && found && string(prev.Properties.Username) != user {
		h.log.Warn("login refused: its client id belongs to another login", "client", cl.ID, "username", user)
		return false
	}
	return ok
}

// OnACLCheck: a device (its username is its id, checked at connect) may
// publish on its own topics and subscribe to nothing; the ingest client
// may subscribe to device topics (plain or shared) and publish nothing.
func (h *authHook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	user := string(cl.Properties.Username)
	if user == IngestUser {
		return !write && ingestMaySubscribe(topic)
	}
	return write && devices.DeviceIdentity{DeviceID: strings.ToLower(user)}.MayPublish(topic)
}

// ingestMaySubscribe allows filters under the device root, directly or
// through a shared subscription ($share/{group}/calibd/v1/devices/...).
func ingestMaySubscribe(filter string) bool {
	if rest, ok := strings.CutPrefix(filter, "$share/"); ok {
		i := strings.IndexByte(rest, '/')
		if i <= 0 {
			return false
		}
		filter = rest[i+1:]
	}
	return strings.HasPrefix(filter, devices.TopicPrefix)
}
