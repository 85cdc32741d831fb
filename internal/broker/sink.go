package broker

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/calibd/calibd/internal/lograte"
)

// Sink takes device messages in process (calibd's ingest).
type Sink interface {
	// Offer hands over one message. It returns once the message is queued,
	// waiting while the Sink is full (the device's connection reads
	// nothing more meanwhile: backpressure), or with an error when ctx
	// ended first or the Sink is closing. stored, when not nil, is called
	// once the message is committed, from any goroutine; never if it is
	// not.
	Offer(ctx context.Context, topic string, payload []byte, stored func()) error
}

// offerWait bounds how long a device's message waits for room in the Sink
// (nanoseconds; tests shorten it).
var offerWait atomic.Int64

func init() { offerWait.Store(int64(2 * time.Minute)) }

// sinkHook hands every device message to the Sink instead of to
// subscribers, and acknowledges a QoS 1 message only once the Sink has
// committed it: a crash before that leaves the message with the device,
// which sends it again when it reconnects (an MQTT client keeps what was
// not acknowledged), and the store skips what it already has. A device may
// have many messages in flight: they are offered as they arrive, commit
// in batches with everyone else's, and their PUBACKs go out in the order
// the messages came (MQTT 3.1.1 §4.6), each once it and those before it
// are stored. A message the Sink had no room for within offerWait closes
// the device's connection, so that it sends its unacknowledged messages
// again; one refused because the Sink is closing is simply not
// acknowledged: the connection stays up so that the PUBACKs of what the
// Sink still commits reach the device, and the broker's own close follows.
type sinkHook struct {
	mqtt.HookBase
	sink Sink
	log  *slog.Logger
	warn *lograte.Sometimes

	mu     sync.Mutex
	queues map[*mqtt.Client]*ackQueue
}

func newSinkHook(s Sink, log *slog.Logger) *sinkHook {
	return &sinkHook{sink: s, log: log, warn: lograte.New(10 * time.Second), queues: map[*mqtt.Client]*ackQueue{}}
}

func (h *sinkHook) ID() string { return "calibd-sink" }

func (h *sinkHook) Provides(b byte) bool {
	return bytes.Contains([]byte{mqtt.OnPublish, mqtt.OnDisconnect}, []byte{b})
}

// OnPublish runs in the device's connection after OnACLCheck allowed the
// topic. Nothing is retained or forwarded. For QoS 0 and 1 mochi does
// nothing more (ErrRejectPacket): the PUBACK is ours, sent when stored.
// QoS 2's exchange is mochi's, so a QoS 2 message is waited for here.
func (h *sinkHook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if string(cl.Properties.Username) == IngestUser {
		return pk, packets.ErrRejectPacket // the ingest login publishes nothing (OnACLCheck refuses it too)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(offerWait.Load()))
	defer cancel()
	switch pk.FixedHeader.Qos {
	case 0:
		if err := h.sink.Offer(ctx, pk.TopicName, pk.Payload, nil); err != nil {
			h.notTaken(cl, pk, err, false)
		}
		return pk, packets.ErrRejectPacket
	case 1:
		q := h.queue(cl)
		stored := q.expect(pk.PacketID)
		if err := h.sink.Offer(ctx, pk.TopicName, pk.Payload, stored); err != nil {
			h.notTaken(cl, pk, err, ctx.Err() != nil)
		}
		return pk, packets.ErrRejectPacket
	default:
		// QoS 2: wait for the commit here, then let mochi run the
		// PUBREC/PUBREL/PUBCOMP exchange (CodeSuccessIgnore: not
		// forwarded). The device's further messages wait meanwhile.
		done := make(chan struct{})
		if err := h.sink.Offer(ctx, pk.TopicName, pk.Payload, func() { close(done) }); err != nil {
			h.notTaken(cl, pk, err, ctx.Err() != nil)
			return pk, packets.ErrRejectPacket
		}
		select {
		case <-done:
			return pk, packets.CodeSuccessIgnore
		case <-ctx.Done():
			h.notTaken(cl, pk, ctx.Err(), true)
			return pk, packets.ErrRejectPacket
		}
	}
}

// notTaken logs a message the Sink refused and, with closeConn, closes the
// device's connection so that it sends its unacknowledged messages again.
func (h *sinkHook) notTaken(cl *mqtt.Client, pk packets.Packet, err error, closeConn bool) {
	if ok, suppressed := h.warn.Allow(time.Now()); ok {
		h.log.Warn("device message not taken by the ingest; the device keeps it, unacknowledged",
			"client", cl.ID, "topic", pk.TopicName, "qos", pk.FixedHeader.Qos, "closing_connection", closeConn,
			"error", err, "suppressed", suppressed)
	}
	if closeConn {
		cl.Stop(packets.ErrServerUnavailable)
	}
}

// OnDisconnect forgets the connection's acknowledgements: a message
// stored after its connection closed is not acknowledged, and the device
// sends it again (the store skips it).
func (h *sinkHook) OnDisconnect(cl *mqtt.Client, _ error, _ bool) {
	h.mu.Lock()
	q := h.queues[cl]
	delete(h.queues, cl)
	h.mu.Unlock()
	if q != nil {
		q.close()
	}
}

func (h *sinkHook) queue(cl *mqtt.Client) *ackQueue {
	h.mu.Lock()
	defer h.mu.Unlock()
	q := h.queues[cl]
	if q == nil {
		q = &ackQueue{write: cl.WritePacket}
		h.queues[cl] = q
	}
	return q
}

// ackQueue holds one connection's QoS 1 messages from arrival to
// acknowledgement, in arrival order.
type ackQueue struct {
	mu      sync.Mutex
	write   func(packets.Packet) error
	first   uint64 // the arrival number of pending[0]
	pending []ackSlot
	closed  bool
}

type ackSlot struct {
	id     uint16
	stored bool
}

// expect records a message's arrival and returns what marks it stored.
func (q *ackQueue) expect(id uint16) func() {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := q.first + uint64(len(q.pending))
	q.pending = append(q.pending, ackSlot{id: id})
	return func() { q.stored(n) }
}

// stored marks arrival n stored and acknowledges every stored message at
// the front, in order.
func (q *ackQueue) stored(n uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed || n < q.first {
		return
	}
	q.pending[n-q.first].stored = true
	k := 0
	for k < len(q.pending) && q.pending[k].stored {
		// A failed write means the connection is going; the device then
		// sends the message again.
		_ = q.write(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback}, PacketID: q.pending[k].id})
		k++
	}
	q.first += uint64(k)
	q.pending = append(q.pending[:0], q.pending[k:]...)
}

func (q *ackQueue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	q.pending = nil
}
