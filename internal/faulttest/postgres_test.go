package faulttest

import (
	"math"
	"testing"
	"time"

	"github.com/calibd/calibd/internal/store"
	"github.com/calibd/calibd/internal/testenv"
)

// TestPostgresRestart: calibd's database lives on a private PostgreSQL
// cluster, migrated through the store's normal open path. While four
// devices stream checks through Mosquitto, the cluster is stopped (fast
// mode: sessions killed, open transactions rolled back) and, once the
// ingest's batches have failed and been retried a few times, started
// again. Batches retry with backoff and stay unacknowledged meanwhile, so
// in the end every check the broker accepted is stored exactly once
// (count(*) = count(distinct (device_id, seq)) = published), and no good
// check became a dead letter.
func TestPostgresRestart(t *testing.T) {
	pg := testenv.StartPostgres(t)
	url := pg.CreateDatabase("calibd")
	ctx := t.Context()
	st, err := store.Open(ctx, store.Config{URL: url, MaxOpenConns: 8}, testenv.Logger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	db := st.SQLDB()
	ids := thermometers(t, st, 4)
	mq := testenv.StartMosquitto(t, testenv.MosquittoOptions{})
	in, reg := startIngest(t, mq.URL(), st, newClientID("calibd-fault"))

	s := startStream(t, mq.URL(), ids, 1)
	eventually(t, 15*time.Second, "the ingest to store checks mid-stream", func() bool {
		return count(db, "SELECT count(*) FROM readings") >= 200
	})
	pg.Stop()
	down := time.Now()
	// The stream goes on into the broker while the ingest's batches fail:
	// keep the database down until they have been retried a few times and
	// a backlog larger than a batch has piled up (1200 checks, 1.5 s).
	backlog := s.Acked() + 1200
	eventually(t, 30*time.Second, "batches to fail and be retried while a backlog piles up", func() bool {
		return metric(t, reg, "calibd_ingest_store_retries_total") >= 4 && s.Acked() >= backlog
	})
	pg.Start()
	outage := time.Since(down)
	retriesAtRestart := metric(t, reg, "calibd_ingest_store_retries_total")

	// Checks keep coming after the restart, then the stream ends.
	n := s.Acked()
	eventually(t, 30*time.Second, "the stream to go on after the restart", func() bool { return s.Acked() >= n+400 })
	acked, attempted := s.Stop()
	if len(acked) != len(attempted) {
		t.Fatalf("the broker accepted %d of %d checks; it never went down", len(acked), len(attempted))
	}
	eventually(t, 60*time.Second, "every accepted check to be stored", func() bool {
		return count(db, "SELECT count(*) FROM readings") >= len(acked)
	})
	// Everything is acknowledged, so nothing is left to redeliver: wait
	// for the last acknowledgements before judging.
	eventually(t, 30*time.Second, "every received message to be acknowledged", func() bool {
		return metric(t, reg, "calibd_ingest_ack_latency_seconds") == metric(t, reg, "calibd_ingest_messages_received_total")
	})
	checkExactlyOnce(t, db, acked)
	if n := count(db, "SELECT count(*) FROM dead_letters"); n != 0 {
		t.Errorf("%d dead letters written during the outage; every check was good", n)
	}
	if dl := metric(t, reg, "calibd_ingest_messages_dead_lettered_total"); dl != 0 {
		t.Errorf("calibd_ingest_messages_dead_lettered_total = %v, want 0", dl)
	}
	if !in.Connected() {
		t.Error("the ingest lost the broker during a database outage")
	}
	// Backoff: each worker retries after 0.1 s, 0.2 s, 0.4 s, ... up to
	// 5 s, so a worker fits about log2(outage/0.1 s) + outage/5 s retries
	// into the outage; a retry loop without backoff would do hundreds.
	retries := metric(t, reg, "calibd_ingest_store_retries_total")
	perWorker := math.Ceil(math.Log2(outage.Seconds()/0.1)) + math.Ceil(outage.Seconds()/5) + 2
	if limit := 2 * perWorker; retriesAtRestart > limit {
		t.Errorf("%v retries in a %v outage; with backoff the 2 workers make at most %v", retriesAtRestart, outage.Round(time.Millisecond), limit)
	}
	t.Logf("outage %v; %v retries by the restart, %v in all; %d checks published and stored once; %v stored as new, %v duplicates skipped",
		outage.Round(time.Millisecond), retriesAtRestart, retries, len(acked),
		metric(t, reg, "calibd_ingest_messages_stored_total"), metric(t, reg, "calibd_ingest_messages_duplicate_total"))
}
