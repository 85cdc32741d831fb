package faulttest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/calibd/calibd/internal/testenv"
)

// TestSIGKILL: the real calibd binary (`calibd serve`, configured through
// its environment as in production) ingests a stream of checks from three
// devices through Mosquitto; it is SIGKILLed mid-stream, with batches
// received but not committed, committed but not acknowledged, and
// messages queued; the stream goes on into the broker while it is down;
// it is started again with the same MQTT client id. The broker redelivers
// what was never acknowledged and hands over what it queued, and every
// check the broker accepted (PUBACKed to the device) is stored exactly
// once.
func TestSIGKILL(t *testing.T) {
	bin := calibdBinary(t)
	for _, dialect := range testenv.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			mq := testenv.StartMosquitto(t, testenv.MosquittoOptions{})
			dbURL, st := migratedStore(t, dialect)
			db := st.SQLDB()
			ids := thermometers(t, st, 3)
			env := calibdEnv(t, dbURL, mq.URL(), newClientID("calibd-fault"))
			log := filepath.Join(t.TempDir(), "calibd.log")
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("calibd's log:\n%s", logTail(log, 40))
				}
			})

			first := startCalibd(t, bin, env, log)
			s := startStream(t, mq.URL(), ids, 1)
			eventually(t, 30*time.Second, "calibd to store checks mid-stream", func() bool {
				return count(db, "SELECT count(*) FROM readings") >= 300
			})
			first.Kill()
			killedAt := count(db, "SELECT count(*) FROM readings")
			n := s.Acked()
			eventually(t, 30*time.Second, "the broker to take 600 checks while calibd is down", func() bool { return s.Acked() >= n+600 })

			second := startCalibd(t, bin, env, log)
			n = s.Acked()
			eventually(t, 30*time.Second, "the stream to go on after the restart", func() bool { return s.Acked() >= n+300 })
			acked, attempted := s.Stop()
			if len(acked) != len(attempted) {
				t.Fatalf("the broker accepted %d of %d checks; it never went down", len(acked), len(attempted))
			}
			eventually(t, 60*time.Second, "every accepted check to be stored", func() bool {
				return count(db, "SELECT count(*) FROM readings") >= len(acked)
			})
			var m map[string]float64
			eventually(t, 30*time.Second, "the restarted calibd to acknowledge all it received", func() bool {
				var err error
				m, err = second.metrics()
				return err == nil && m["calibd_ingest_messages_received_total"] > 0 &&
					m["calibd_ingest_ack_latency_seconds_count"] == m["calibd_ingest_messages_received_total"]
			})
			checkExactlyOnce(t, db, acked)
			if n := count(db, "SELECT count(*) FROM dead_letters"); n != 0 {
				t.Errorf("%d dead letters; every check was good", n)
			}
			second.Kill()
			if b, err := os.ReadFile(log); err != nil {
				t.Error(err)
			} else if strings.Contains(string(b), "WARNING: DATA RACE") || strings.Contains(string(b), "panic:") {
				t.Errorf("calibd's log reports a data race or a panic:\n%s", logTail(log, 60))
			}
			t.Logf("%d checks published and stored once; %d stored when calibd was killed; the restarted calibd received %v, stored %v as new and skipped %v stored already",
				len(acked), killedAt, m["calibd_ingest_messages_received_total"], m["calibd_ingest_messages_stored_total"],
				m["calibd_ingest_messages_duplicate_total"])
		})
	}
}
