package broker_test

import (
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/internal/broker"
)

// TestIngestWindow: the embedded broker sends the ingest client at most
// its window of unacknowledged QoS 1 messages; the publishing device waits
// meanwhile (its connection is not read), and each acknowledgement lets
// one more through: a burst far beyond the window reaches the ingest
// whole, and the device gets every PUBACK (mochi's default for an MQTT
// 3.1.1 subscriber is to send everything and drop what overflows its
// write buffer).
func TestIngestWindow(t *testing.T) {
	const window, burst = 50, 400
	b, err := broker.Start(broker.Config{Addr: "127.0.0.1:0", IngestWindow: window}, logins{devA: "cds_a"},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	var mu sync.Mutex
	var held []paho.Message
	seen := map[string]bool{}
	user, pass := b.IngestLogin()
	opts := paho.NewClientOptions().AddBroker(b.URL()).SetClientID("calibd-test").SetUsername(user).SetPassword(pass).
		SetCleanSession(false).SetAutoAckDisabled(true).SetOrderMatters(true).SetAutoReconnect(false).
		SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) {
			mu.Lock()
			defer mu.Unlock()
			held = append(held, m)
			seen[string(m.Payload())] = true
		})
	ingest := paho.NewClient(opts)
	if tok := ingest.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("ingest connect: %v", tok.Error())
	}
	t.Cleanup(func() { ingest.Disconnect(100) })
	topic := devices.DeviceTopic(devA, devices.MessageChecks, false)
	if tok := ingest.Subscribe(topic, 1, nil); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	dev, err := connect(t, b.URL(), "dev-a", devA, "cds_a")
	if err != nil {
		t.Fatal(err)
	}
	published := make(chan error, 1)
	go func() {
		var toks []paho.Token
		for i := range burst {
			toks = append(toks, dev.Publish(topic, 1, false, []byte{byte(i >> 8), byte(i)}))
		}
		for i, tok := range toks {
			if !tok.WaitTimeout(20*time.Second) || tok.Error() != nil {
				published <- fmt.Errorf("publish %d: no PUBACK (%v)", i, tok.Error())
				return
			}
		}
		published <- nil
	}()
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(held) }
	time.Sleep(300 * time.Millisecond)
	if n := count(); n != window {
		t.Fatalf("the ingest holds %d unacknowledged messages, want its window of %d", n, window)
	}
	// Acknowledge as they come: the rest follows, none lost.
	deadline := time.Now().Add(10 * time.Second)
	acked := 0
	for time.Now().Before(deadline) {
		mu.Lock()
		batch := held[acked:]
		mu.Unlock()
		for _, m := range batch {
			m.Ack()
			acked++
		}
		mu.Lock()
		done := len(seen) == burst
		mu.Unlock()
		if done {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := <-published; err != nil {
		t.Error(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != burst {
		t.Errorf("the ingest received %d distinct messages of %d", len(seen), burst)
	}
}
