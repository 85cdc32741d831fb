package ingest

import (
	"slices"
	"testing"
	"time"
)

// TestAckerOrder: acknowledgements leave in delivery order whatever order
// batches commit in; a skipped delivery does not hold later ones back.
func TestAckerOrder(t *testing.T) {
	var acked []uint16
	msg := func(seq uint64) delivery {
		return delivery{seq: seq, received: time.Now(), msg: &fakeMsg{seq: int64(seq), onAck: func(m *fakeMsg) { acked = append(acked, m.MessageID()) }}}
	}
	a := newAcker(nil)
	a.done([]delivery{msg(3), msg(4)}) // the second worker's batch commits first
	if len(acked) != 0 || a.waiting() != 2 {
		t.Fatalf("acked %v before message 1", acked)
	}
	a.done([]delivery{msg(1), msg(2)})
	a.skip(5) // left for redelivery at shutdown
	a.done([]delivery{msg(7)})
	a.done([]delivery{msg(6)})
	if want := []uint16{1, 2, 3, 4, 6, 7}; !slices.Equal(acked, want) || a.waiting() != 0 {
		t.Errorf("acked %v, want %v (waiting %d)", acked, want, a.waiting())
	}
}
