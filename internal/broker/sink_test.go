package broker_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/internal/broker"
)

// sink records what it is offered; the test says when each is stored.
// refuse makes that many next offers fail as a closing ingest's do; block
// makes that many wait for room until their deadline.
type sink struct {
	mu     sync.Mutex
	offers []offer
	refuse int
	block  int
}

type offer struct {
	body   string
	stored func()
}

func (s *sink) Offer(ctx context.Context, topic string, payload []byte, stored func()) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refuse > 0 {
		s.refuse--
		return errors.New("ingest closing")
	}
	if s.block > 0 {
		s.block--
		s.mu.Unlock()
		<-ctx.Done()
		s.mu.Lock()
		return ctx.Err()
	}
	s.offers = append(s.offers, offer{topic + " " + string(payload), stored})
	return nil
}

func (s *sink) offered() []offer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]offer(nil), s.offers...)
}

// TestSinkAcknowledgesAfterStore: with a Sink, device messages go to it
// and nowhere else; a device's QoS 1 messages are acknowledged only once
// stored, in the order they came, however the stores are ordered; a
// message that finds no room in time closes the connection, and the
// device sends it again once it reconnects; QoS 2 completes once stored;
// a closing sink's refusal is not acknowledged and leaves the connection.
func TestSinkAcknowledgesAfterStore(t *testing.T) {
	s := &sink{}
	b := startWithSink(t, s)

	forwarded := make(chan string, 10)
	user, pass := b.IngestLogin()
	sub, err := connect(t, b.URL(), "subscriber", user, pass, func(_ paho.Client, m paho.Message) { forwarded <- m.Topic() })
	if err != nil {
		t.Fatal(err)
	}
	if tok := sub.Subscribe(devices.TopicPrefix+"#", 1, nil); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}

	// The device keeps unacknowledged messages across reconnects, as an
	// MQTT client with a persistent session does.
	connects := make(chan struct{}, 10)
	opts := paho.NewClientOptions().AddBroker(b.URL()).SetClientID("dev-a").SetUsername(devA).SetPassword("cds_a").
		SetCleanSession(false).SetAutoReconnect(true).SetConnectRetryInterval(50 * time.Millisecond).
		SetMaxReconnectInterval(100 * time.Millisecond).SetConnectTimeout(3 * time.Second).
		SetOnConnectHandler(func(paho.Client) { connects <- struct{}{} })
	dev := paho.NewClient(opts)
	if tok := dev.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("device connect: %v", tok.Error())
	}
	t.Cleanup(func() { dev.Disconnect(100) })
	<-connects

	topic := devices.DeviceTopic(devA, devices.MessageChecks, false)
	tok1 := dev.Publish(topic, 1, false, `{"seq":1}`)
	tok2 := dev.Publish(topic, 1, false, `{"seq":2}`)
	waitFor(t, func() bool { return len(s.offered()) == 2 })
	if tok1.WaitTimeout(100*time.Millisecond) || tok2.WaitTimeout(100*time.Millisecond) {
		t.Fatal("the device was acknowledged before the sink stored its messages")
	}
	got := s.offered()
	if got[0].body != topic+` {"seq":1}` || got[1].body != topic+` {"seq":2}` {
		t.Fatalf("offered %q and %q", got[0].body, got[1].body)
	}
	got[1].stored() // the second message's batch commits first
	if tok2.WaitTimeout(200 * time.Millisecond) {
		t.Fatal("the second message was acknowledged before the first")
	}
	got[0].stored()
	for k, tok := range []paho.Token{tok1, tok2} {
		if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("message %d not acknowledged once stored: %v", k+1, tok.Error())
		}
	}

	// QoS 0 is offered with nothing to acknowledge.
	if tok := dev.Publish(topic, 0, false, `{"seq":3}`); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	waitFor(t, func() bool { return len(s.offered()) == 3 })
	if s.offered()[2].stored != nil {
		t.Error("a QoS 0 message was offered with an acknowledgement")
	}

	// A message that finds no room in the sink in time closes the
	// connection, and the device sends it again.
	restore := broker.SetOfferWait(300 * time.Millisecond)
	s.mu.Lock()
	s.block = 1
	s.mu.Unlock()
	dev.Publish(topic, 1, false, `{"seq":4}`)
	select {
	case <-connects:
	case <-time.After(10 * time.Second):
		t.Fatal("the connection of a message that waited too long was not closed")
	}
	restore()
	// paho sends the unacknowledged message again on the new connection
	// (and completes its first token then), so follow it in the offers.
	waitFor(t, func() bool { return len(s.offered()) == 4 })
	if got := s.offered()[3].body; got != topic+` {"seq":4}` {
		t.Fatalf("after the reconnect the device sent %q, want seq 4 again", got)
	}
	tok5 := dev.Publish(topic, 1, false, `{"seq":5}`)
	waitFor(t, func() bool { return len(s.offered()) == 5 })
	s.offered()[4].stored()
	if tok5.WaitTimeout(200 * time.Millisecond) {
		t.Fatal("seq 5 was acknowledged before the resent seq 4 was stored")
	}
	s.offered()[3].stored()
	if !tok5.WaitTimeout(5*time.Second) || tok5.Error() != nil {
		t.Fatalf("seq 5 not acknowledged once stored: %v", tok5.Error())
	}
	// QoS 2: the exchange completes only once the message is stored.
	tok6 := dev.Publish(topic, 2, false, `{"seq":6}`)
	waitFor(t, func() bool { return len(s.offered()) == 6 })
	if tok6.WaitTimeout(200 * time.Millisecond) {
		t.Fatal("a QoS 2 exchange completed before the sink stored the message")
	}
	s.offered()[5].stored()
	if !tok6.WaitTimeout(5*time.Second) || tok6.Error() != nil {
		t.Fatalf("QoS 2 message not completed once stored: %v", tok6.Error())
	}
	// A closing sink's refusal leaves the message unacknowledged with the
	// device and the connection up, for the PUBACKs of what is still
	// being committed.
	s.mu.Lock()
	s.refuse = 1 << 20
	s.mu.Unlock()
	tok7 := dev.Publish(topic, 1, false, `{"seq":7}`)
	if tok7.WaitTimeout(300 * time.Millisecond) {
		t.Fatal("a message the sink refused was acknowledged")
	}
	select {
	case <-connects:
		t.Fatal("a closing sink's refusal closed the connection")
	default:
	}
	if !dev.IsConnectionOpen() {
		t.Fatal("a closing sink's refusal closed the connection")
	}
	select {
	case f := <-forwarded:
		t.Fatalf("a subscriber was sent %s; with a sink nothing is forwarded", f)
	case <-time.After(100 * time.Millisecond):
	}
}

// startWithSink starts a broker that hands device messages to s.
func startWithSink(t *testing.T, s broker.Sink) *broker.Broker {
	t.Helper()
	b, err := broker.Start(broker.Config{Addr: "127.0.0.1:0", Sink: s}, logins{devA: "cds_a"},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestPacketLimit: the embedded broker takes a payload above the ingest's
// limit (the ingest dead-letters it) but closes the connection of a
// packet above MaxPacketBytes instead of reading it into memory.
func TestPacketLimit(t *testing.T) {
	s := &sink{}
	b := startWithSink(t, s)
	lost := make(chan struct{}, 1)
	opts := paho.NewClientOptions().AddBroker(b.URL()).SetClientID("dev-a").SetUsername(devA).SetPassword("cds_a").
		SetAutoReconnect(false).SetConnectTimeout(3 * time.Second).
		SetConnectionLostHandler(func(paho.Client, error) { lost <- struct{}{} })
	dev := paho.NewClient(opts)
	if tok := dev.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("device connect: %v", tok.Error())
	}
	t.Cleanup(func() { dev.Disconnect(100) })
	topic := devices.DeviceTopic(devA, devices.MessageChecks, false)

	dev.Publish(topic, 0, false, strings.Repeat("x", devices.DefaultMaxPayloadBytes*4))
	waitFor(t, func() bool { return len(s.offered()) == 1 })
	dev.Publish(topic, 0, false, strings.Repeat("x", broker.MaxPacketBytes))
	select {
	case <-lost:
	case <-time.After(5 * time.Second):
		t.Fatal("a packet above MaxPacketBytes did not close the connection")
	}
	if n := len(s.offered()); n != 1 {
		t.Errorf("%d messages offered; the oversized packet must not be", n)
	}
}
