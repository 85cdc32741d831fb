package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/calibd/calibd/devices"
)

// ErrNotTaken is Offer's answer when the ingest will not commit a
// message (it is closing, or the caller gave up first): the device must
// not be acknowledged, so that it sends the message again.
var ErrNotTaken = errors.New("ingest: message not taken")

// StartLocal starts the ingest without a broker client, for a broker in
// this process (the embedded one) that hands over each device message
// through Offer. The workers, batching, dead letters and metrics are
// those of Start; there is no broker session in between, so nothing is
// acknowledged to anyone but the device, and only after its batch
// committed.
func StartLocal(cfg Config, store devices.ReadingStore, log *slog.Logger, metrics prometheus.Registerer) (*Ingest, error) {
	i, err := newIngest(cfg, store, log, metrics)
	if err != nil {
		return nil, err
	}
	i.local = true
	i.readyOnce.Do(func() { close(i.ready) })
	i.startWorkers()
	i.log.Info("ingest started in process", "workers", i.cfg.Workers, "queue_size", i.cfg.QueueSize,
		"batch_size", i.cfg.BatchSize, "batch_wait", i.cfg.BatchWait)
	return i, nil
}

// Offer queues one message from an in-process broker and returns; stored,
// when not nil, is called once the message's batch is committed (by a
// worker, and never if the batch is not committed: the ingest closed
// first). It waits while the queue is full, which is the backpressure: the
// broker reads nothing more from that device meanwhile. It returns
// ErrNotTaken when the ingest is closing or ctx ends first. payload must
// not change afterwards.
func (i *Ingest) Offer(ctx context.Context, topic string, payload []byte, stored func()) error {
	if !i.local {
		return errors.New("ingest: Offer needs StartLocal")
	}
	i.m.received.Inc()
	d := delivery{msg: &localMessage{topic: topic, payload: payload, stored: stored}, received: time.Now()}
	i.intake.RLock()
	defer i.intake.RUnlock()
	if i.intakeClosed {
		return fmt.Errorf("%w: the ingest is closing", ErrNotTaken)
	}
	select {
	case i.queue <- d:
		return nil
	case <-i.stopIntake:
		return fmt.Errorf("%w: the ingest is closing", ErrNotTaken)
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrNotTaken, context.Cause(ctx))
	}
}

// localMessage is a message Offer queued; its acknowledgement calls
// stored. It has no broker delivery order here (seq 0 in delivery): the
// acker releases it as soon as its batch committed, and the broker orders
// a device's acknowledgements itself.
type localMessage struct {
	topic   string
	payload []byte
	stored  func()
}

func (m *localMessage) Duplicate() bool   { return false }
func (m *localMessage) Qos() byte         { return 1 }
func (m *localMessage) Retained() bool    { return false }
func (m *localMessage) Topic() string     { return m.topic }
func (m *localMessage) MessageID() uint16 { return 0 }
func (m *localMessage) Payload() []byte   { return m.payload }
func (m *localMessage) Ack() {
	if m.stored != nil {
		m.stored()
	}
}
