package ingest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/calibd/calibd/devices"
)

// deliver offers a message and waits until it is stored.
func deliver(ctx context.Context, in *Ingest, topic string, payload []byte) error {
	done := make(chan struct{})
	if err := in.Offer(ctx, topic, payload, func() { close(done) }); err != nil {
		return err
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TestOffer: what an in-process broker offers is reported stored only
// once the store has it (after retries through store failures); dead
// letters are reported too (they are committed); many devices' messages
// share batches; and once Close has begun nothing more is taken.
func TestOffer(t *testing.T) {
	therm := newID()
	st := newFakeStore(thermometer(therm))
	st.failSaves = 2
	in, err := StartLocal(Config{BatchSize: 50, BatchWait: 5 * time.Millisecond}, st, discardLog(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !in.Connected() {
		t.Error("an in-process ingest says it is not connected")
	}
	topic := devices.DeviceTopic(therm, devices.MessageChecks, false)

	ctx0 := context.Background()
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, n+1)
	for k := range n {
		wg.Go(func() {
			seq := int64(k + 1)
			if err := deliver(ctx0, in, topic, []byte(checkJSON(seq, 37))); err != nil {
				errs <- err
				return
			}
			if !st.has(therm, seq) {
				errs <- errors.New("Deliver returned before the message was stored")
			}
		})
	}
	wg.Go(func() {
		if err := deliver(ctx0, in, topic, []byte("not json")); err != nil {
			errs <- err
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := st.count(therm); n != 40 {
		t.Errorf("%d stored, want 40", n)
	}
	if got := st.reasons(therm)[devices.ReasonNotJSON]; got != 1 {
		t.Errorf("%d not_json dead letters, want 1", got)
	}
	if got := metricValue(t, in.m.retries); got != 2 {
		t.Errorf("retries = %v, want 2", got)
	}
	if _, commits := st.calls(); commits >= n {
		t.Errorf("%d commits for %d concurrent messages: they were not batched", commits, n)
	}

	// With the store down, nothing is reported stored.
	st.mu.Lock()
	st.failSaves = 1 << 30
	st.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := deliver(ctx, in, topic, []byte(checkJSON(100, 37))); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a message offered with the store down: %v, want no report before the deadline", err)
	}

	closeCtx, cancelClose := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancelClose()
	_ = in.Close(closeCtx) // gives up on the failing batch
	if in.Connected() {
		t.Error("a closed in-process ingest says it is connected")
	}
	if err := in.Offer(ctx0, topic, []byte(checkJSON(101, 37)), nil); !errors.Is(err, ErrNotTaken) {
		t.Errorf("Offer after Close = %v, want ErrNotTaken", err)
	}
	if st.has(therm, 100) || st.has(therm, 101) {
		t.Error("a message stored while the store was down")
	}
}
