package faulttest

import (
	"fmt"
	"maps"
	"path/filepath"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/internal/testenv"
)

// TestSIGKILLEmbedded: calibd on its embedded broker (no MQTT_URL), the
// zero-install default, is SIGKILLed mid-stream and started again, then
// stopped gracefully (SIGTERM) mid-stream and started again. The
// broker dies with it, so no broker session can hold anything; what makes
// this lossless is that a device's PUBACK waits for the commit: whatever
// calibd had not committed was never acknowledged, the device keeps it,
// and sends it again when it reconnects. Every check the devices
// published, before, during and after the outage, is stored exactly once.
func TestSIGKILLEmbedded(t *testing.T) {
	bin := calibdBinary(t)
	for _, dialect := range testenv.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			dbURL, st := migratedStore(t, dialect)
			db := st.SQLDB()
			secrets := thermometersWithSecrets(t, st, 3)
			addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
			env := calibdEnv(t, dbURL, "", newClientID("calibd-embedded"))
			env["MQTT_EMBEDDED_ADDR"] = addr
			log := filepath.Join(t.TempDir(), "calibd.log")
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("calibd's log:\n%s", logTail(log, 40))
				}
			})

			first := startCalibd(t, bin, env, log)
			s := startDeviceStream(t, "tcp://"+addr, secrets)
			eventually(t, 30*time.Second, "calibd to store checks mid-stream", func() bool {
				return count(db, "SELECT count(*) FROM readings") >= 300
			})
			first.Kill()
			killedAt := count(db, "SELECT count(*) FROM readings")
			time.Sleep(time.Second) // the devices go on publishing into their own stores

			second := startCalibd(t, bin, env, log)
			n := count(db, "SELECT count(*) FROM readings")
			eventually(t, 30*time.Second, "the stream to go on after the restart", func() bool {
				return count(db, "SELECT count(*) FROM readings") >= n+300
			})
			// A graceful stop mid-stream: calibd drains what it took,
			// acknowledging it, and refuses the rest, which the devices
			// keep.
			second.Stop()
			time.Sleep(500 * time.Millisecond)
			third := startCalibd(t, bin, env, log)
			n = count(db, "SELECT count(*) FROM readings")
			eventually(t, 30*time.Second, "the stream to go on after the graceful restart", func() bool {
				return count(db, "SELECT count(*) FROM readings") >= n+300
			})
			attempted := s.Stop()
			// The devices send again what was never acknowledged; what is
			// missing after a minute was lost.
			for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				if count(db, "SELECT count(*) FROM readings") >= len(attempted) {
					break
				}
			}
			checkExactlyOnce(t, db, attempted)
			if n := count(db, "SELECT count(*) FROM dead_letters"); n != 0 {
				t.Errorf("%d dead letters; every check was good", n)
			}
			m, err := third.metrics()
			if err != nil {
				t.Fatal(err)
			}
			third.Kill()
			t.Logf("%d checks published and stored once; %d stored when calibd was killed; the last calibd stored %v as new and skipped %v stored already",
				len(attempted), killedAt, m["calibd_ingest_messages_stored_total"], m["calibd_ingest_messages_duplicate_total"])
		})
	}
}

// deviceStream publishes calibration checks as the devices themselves
// would: one MQTT connection per device, logged in with its secret, QoS 1,
// a persistent session, reconnecting on its own, and keeping what was not
// acknowledged to send again. It goes on publishing while the broker is
// away (paho keeps those messages until it is back).
type deviceStream struct {
	clients map[string]paho.Client
	mu      sync.Mutex
	sent    map[key]bool
	stop    chan struct{}
	done    chan struct{}
}

func startDeviceStream(t *testing.T, url string, secrets map[string]string) *deviceStream {
	t.Helper()
	s := &deviceStream{clients: map[string]paho.Client{}, sent: map[key]bool{}, stop: make(chan struct{}), done: make(chan struct{})}
	for _, id := range sortedKeys(secrets) {
		c := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID("dev-" + id).
			SetUsername(id).SetPassword(secrets[id]).SetCleanSession(false).
			SetAutoReconnect(true).SetConnectRetry(true).SetConnectRetryInterval(100 * time.Millisecond).
			SetMaxReconnectInterval(200 * time.Millisecond).SetConnectTimeout(2 * time.Second).
			SetWriteTimeout(2 * time.Second))
		if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("device %s connect: %v", id, tok.Error())
		}
		s.clients[id] = c
		t.Cleanup(func() { c.Disconnect(100) })
	}
	go s.run()
	t.Cleanup(func() { s.Stop() })
	return s
}

func (s *deviceStream) run() {
	defer close(s.done)
	tick := time.NewTicker(streamTick)
	defer tick.Stop()
	for seq := int64(1); ; seq++ {
		select {
		case <-s.stop:
			return
		case <-tick.C:
		}
		for id, c := range s.clients {
			c.Publish(devices.DeviceTopic(id, devices.MessageChecks, false), 1, false, checkPayload(seq))
			s.mu.Lock()
			s.sent[key{id, seq}] = true
			s.mu.Unlock()
		}
	}
}

// Stop ends the stream and returns every check published. The clients
// stay connected, to send again what is not acknowledged yet.
func (s *deviceStream) Stop() map[key]bool {
	stopAndWait(s.stop, s.done)
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.sent)
}
