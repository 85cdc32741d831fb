package faulttest

import (
	"testing"
	"time"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/internal/testenv"
	"github.com/calibd/calibd/migrations"
)

// TestBrokerRestart: while calibd's ingest consumes a stream of checks
// from three devices into PostgreSQL, the Mosquitto process is SIGKILLed
// and started again on the same port. The ingest reports itself
// disconnected (what /readyz answers) while the broker is down, reconnects
// and resubscribes by itself, reports itself connected again, and every
// check the broker accepted after it came back is stored, exactly once;
// of the checks from before the kill, some may be lost with the broker,
// but none is stored twice or made up.
//
// Two brokers: one without persistence, which forgets calibd's session
// and subscriptions (the ingest must subscribe again, in OnConnect, before
// it may call itself connected), and one that saves its state after every
// change, which keeps the session and queues what devices publish before
// calibd is back (the stream resumes at once, while calibd still waits to
// reconnect).
func TestBrokerRestart(t *testing.T) {
	for _, tc := range []struct {
		name    string
		persist bool
	}{
		{"session lost", false},
		{"session persisted", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mq := testenv.StartMosquitto(t, testenv.MosquittoOptions{Persistence: tc.persist})
			st := testenv.Store(t, migrations.Postgres)
			db := st.SQLDB()
			ids := thermometers(t, st, 3)
			in, reg := startIngest(t, mq.URL(), st, newClientID("calibd-fault"))
			if !in.Connected() {
				t.Fatal("the ingest is subscribed but not Connected")
			}

			before := startStream(t, mq.URL(), ids, 1)
			eventually(t, 15*time.Second, "the ingest to store checks mid-stream", func() bool {
				return count(db, "SELECT count(*) FROM readings") >= 150
			})
			mq.Kill()
			eventually(t, 5*time.Second, "the ingest to report itself disconnected", func() bool { return !in.Connected() })
			if g := metric(t, reg, "calibd_ingest_connected"); g != 0 {
				t.Errorf("calibd_ingest_connected = %v while the broker is down, want 0", g)
			}
			before.Ended(t, 15*time.Second)
			beforeAcked, beforeAttempted := before.Stop()

			mq.Restart()
			restarted := time.Now()
			const afterFirst = 100000 // seqs of the stream after the restart
			probe := key{ids[0], afterFirst - 1}
			if !tc.persist {
				// The broker forgot every session: what is published before
				// the ingest subscribes again goes to nobody, by MQTT's
				// rules. So Connected (and /readyz) must not say true before
				// the subscription is back: a check published the moment it
				// does must be stored.
				pub := publisher(t, mq.URL())
				deadline := time.Now().Add(30 * time.Second)
				for !in.Connected() {
					if time.Now().After(deadline) {
						t.Fatal("the ingest did not reconnect within 30s of the broker's restart")
					}
					time.Sleep(50 * time.Microsecond)
				}
				t.Logf("the ingest was connected and subscribed again %v after the broker's restart", time.Since(restarted).Round(time.Millisecond))
				tok := pub.Publish(devices.DeviceTopic(probe.dev, devices.MessageChecks, false), 1, false, checkPayload(probe.seq))
				if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
					t.Fatalf("publish the probe: %v", tok.Error())
				}
			}
			// With persistence the stream resumes while the ingest is still
			// in its reconnect backoff (a second or more): the broker
			// queues for the session it restored.
			offline := !in.Connected()
			after := startStream(t, mq.URL(), ids, afterFirst)
			eventually(t, 30*time.Second, "450 checks accepted after the restart", func() bool { return after.Acked() >= 450 })
			afterAcked, afterAttempted := after.Stop()
			if len(afterAcked) != len(afterAttempted) {
				t.Fatalf("the restarted broker accepted %d of %d checks", len(afterAcked), len(afterAttempted))
			}
			eventually(t, 30*time.Second, "the ingest to report itself connected again", in.Connected)
			eventually(t, 30*time.Second, "every check accepted after the restart to be stored", func() bool {
				return count(db, "SELECT count(*) FROM readings WHERE seq >= $1", afterFirst) >= len(afterAcked)
			})

			// Exactly the accepted set after the restart; a subset of the
			// attempted one before it; nothing twice.
			got := storedKeys(t, db)
			want := map[key]bool{}
			if !tc.persist {
				if got[probe] == 0 {
					t.Errorf("a check published as soon as the ingest reported itself connected was lost: " +
						"Connected said true before the ingest had subscribed again")
				}
				want[probe] = true
			}
			for k := range afterAcked {
				want[k] = true
			}
			lostBefore, lostAcked := 0, 0
			for k := range beforeAttempted {
				if got[k] > 0 {
					want[k] = true
				} else {
					lostBefore++
					if beforeAcked[k] {
						lostAcked++
					}
				}
			}
			checkExactlyOnce(t, db, want)
			// What a SIGKILLed broker held and had not handed to calibd
			// (publishes in flight, and with persistence what it had not
			// saved yet) is the broker's to lose; those are almost always
			// publishes it had not PUBACKed yet.
			t.Logf("before the kill: %d published, %d PUBACKed, %d stored; %d lost with the broker (%d of them PUBACKed); "+
				"after the restart: %d published (the first while the ingest was offline: %v) and stored",
				len(beforeAttempted), len(beforeAcked), len(beforeAttempted)-lostBefore, lostBefore, lostAcked, len(afterAcked), offline)
			if g := metric(t, reg, "calibd_ingest_connected"); g != 1 {
				t.Errorf("calibd_ingest_connected = %v after the restart, want 1", g)
			}
			if n := count(db, "SELECT count(*) FROM dead_letters"); n != 0 {
				t.Errorf("%d dead letters; every check was good", n)
			}
		})
	}
}
