package ingest

import (
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// acker releases acknowledgements in the order the broker delivered the
// messages, whatever order their batches commit in.
//
// Why: MQTT expects PUBACKs in delivery order (MQTT 3.1.1 §4.6), and a
// broker's in-flight window (Mosquitto's max_inflight_messages, the
// embedded broker's send quota) is what turns a slow store into
// backpressure. Acknowledged out of order, as two workers committing
// batches would, Mosquitto 2.0.11 was measured sending a whole new window
// per out-of-order acknowledgement (5,000 messages after 270 acks), so
// the window stopped bounding what calibd holds, and calibd grew to
// hundreds of MB of waiting messages. In order, at most one window is
// ever outstanding.
//
// seq numbers come from the handler, which paho calls in delivery order
// (SetOrderMatters(true)). A message that will never be acknowledged by
// us (left for redelivery at shutdown) is skipped so later ones go out.
type acker struct {
	mu      sync.Mutex
	next    uint64 // the oldest seq not yet released
	pending map[uint64]ackItem
	observe func(time.Duration)
}

type ackItem struct {
	msg      paho.Message // nil: skipped, nothing to send
	received time.Time
}

func newAcker(observe func(time.Duration)) *acker {
	return &acker{next: 1, pending: map[uint64]ackItem{}, observe: observe}
}

// done marks the messages of a committed batch; every message at the
// front of the delivery order that is done is acknowledged.
func (a *acker) done(batch []delivery) {
	ordered := false
	for _, d := range batch {
		if d.seq == 0 { // from an in-process broker (Offer): no order to keep here, and no lock
			a.ack(ackItem{msg: d.msg, received: d.received})
		} else {
			ordered = true
		}
	}
	if !ordered {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, d := range batch {
		if d.seq != 0 {
			a.pending[d.seq] = ackItem{msg: d.msg, received: d.received}
		}
	}
	a.release()
}

// skip marks a delivery that will not be acknowledged.
func (a *acker) skip(seq uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.pending[seq] = ackItem{}
	a.release()
}

func (a *acker) release() {
	for {
		it, ok := a.pending[a.next]
		if !ok {
			return
		}
		delete(a.pending, a.next)
		a.next++
		a.ack(it)
	}
}

func (a *acker) ack(it ackItem) {
	if it.msg != nil {
		it.msg.Ack()
		if a.observe != nil {
			a.observe(time.Since(it.received))
		}
	}
}

// waiting is how many done messages wait for an earlier one.
func (a *acker) waiting() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.pending)
}
