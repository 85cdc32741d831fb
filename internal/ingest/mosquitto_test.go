package ingest

import (
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/internal/testenv"
)

// These tests run against the real Mosquitto (TEST_MQTT_URL; it allows
// anonymous clients here). The topics are the contract's, shared with
// whoever else uses that broker, so each test publishes as fresh random
// devices and judges only those; others' traffic reaches the ingest as
// unknown devices and is dead-lettered in the fake store.

// forgetSession removes a persistent session from the broker when the test
// ends (registered before the ingest starts, so it runs after its Close):
// otherwise Mosquitto keeps queueing every device message for it.
func forgetSession(t *testing.T, url, clientID string) {
	t.Helper()
	t.Cleanup(func() {
		c := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID(clientID).SetCleanSession(true).
			SetConnectTimeout(3 * time.Second).SetAutoReconnect(false))
		if tok := c.Connect(); tok.WaitTimeout(3*time.Second) && tok.Error() == nil {
			c.Disconnect(50)
		}
	})
}

func publishChecks(t *testing.T, c paho.Client, id string, from, n int) {
	t.Helper()
	topic := devices.DeviceTopic(id, devices.MessageChecks, false)
	toks := make([]paho.Token, 0, n)
	for k := from; k < from+n; k++ {
		toks = append(toks, c.Publish(topic, 1, false, checkJSON(int64(k), 37.0)))
	}
	for _, tok := range toks {
		if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("publish: %v", tok.Error())
		}
	}
}

// TestMosquitto: 100 QoS 1 checks, all stored once; then another client
// takes the session over, the broker drops the ingest, paho reconnects at
// once (taking it back) and resubscribes, and later checks are stored too.
func TestMosquitto(t *testing.T) {
	url := testenv.MQTTURL(t)
	therm := newID()
	st := newFakeStore(thermometer(therm))
	cfg := Config{URL: url, ClientID: "calibd-test-" + newID()}
	forgetSession(t, url, cfg.ClientID)
	in := startOn(t, st, cfg)
	pub := device(t, url, therm, "", "")

	publishChecks(t, pub, therm, 1, 100)
	eventually(t, 5*time.Second, "100 checks stored", func() bool { return st.count(therm) == 100 })

	thief := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID(cfg.ClientID).SetCleanSession(false).
		SetAutoReconnect(false).SetAutoAckDisabled(true).SetConnectTimeout(3 * time.Second))
	if tok := thief.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("take the session over: %v", tok.Error())
	}
	t.Cleanup(func() { thief.Disconnect(0) })
	eventually(t, 5*time.Second, "the ingest to reconnect and resubscribe", func() bool {
		return in.subscribes.Load() >= 2 && in.Connected()
	})
	publishChecks(t, pub, therm, 101, 100)
	eventually(t, 5*time.Second, "200 checks stored", func() bool { return st.count(therm) == 200 })
	if got := metricValue(t, in.m.stored); got != 200 {
		t.Errorf("stored = %v, want 200", got)
	}
}

// TestMosquittoShared: two replicas in one share group split the stream
// and together store each message exactly once.
func TestMosquittoShared(t *testing.T) {
	url := testenv.MQTTURL(t)
	therm := newID()
	st := newFakeStore(thermometer(therm))
	// A group of our own: another calibd on this broker in group "calibd"
	// would otherwise take a share of our messages.
	group := "calibd-test-" + newID()[:8]
	var ins []*Ingest
	for range 2 {
		cfg := Config{URL: url, ClientID: "calibd-test-" + newID(), Shared: true, ShareGroup: group}
		forgetSession(t, url, cfg.ClientID)
		ins = append(ins, startOn(t, st, cfg))
	}
	pub := device(t, url, therm, "", "")
	publishChecks(t, pub, therm, 1, 200)
	eventually(t, 5*time.Second, "200 checks stored", func() bool { return st.count(therm) == 200 })
	total := 0.0
	for k, in := range ins {
		n := metricValue(t, in.m.stored)
		if n == 0 {
			t.Errorf("replica %d stored nothing: the stream was not split", k)
		}
		total += n
		if d := metricValue(t, in.m.duplicates); d != 0 {
			t.Errorf("replica %d saw %v duplicates", k, d)
		}
	}
	if total != 200 {
		t.Errorf("replicas stored %v new messages together, want 200", total)
	}
}
