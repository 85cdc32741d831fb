package simulate

import "time"

// pacer spreads messages evenly over time at a fixed rate: it says how
// many are due now (the slots whose time has come since the last call) or
// how long to wait for the next one, so a publisher that keeps up sends
// one message every 1/rate seconds rather than a burst every second. A
// publisher that falls behind (the broker holds acknowledgements back, the
// machine is busy) catches up at most maxLag's worth at once; older slots
// are given up and counted as missed, which shows in the achieved rate
// rather than as a burst later.
type pacer struct {
	rate   float64 // messages per second; 0 or less: unpaced
	start  time.Time
	slots  int64 // slots handed out or given up
	missed int64
}

// Pacing limits.
const (
	maxLag      = 100 * time.Millisecond
	minWait     = time.Millisecond // shorter sleeps cost more than the smoothness they buy
	unpacedSpan = 64               // messages per call when unpaced
)

func newPacer(rate float64, start time.Time) *pacer { return &pacer{rate: rate, start: start} }

// due returns how many messages to send now, or, when none is due, how
// long until the next one.
func (p *pacer) due(now time.Time) (int, time.Duration) {
	if p.rate <= 0 {
		return unpacedSpan, 0
	}
	want := int64(now.Sub(p.start).Seconds() * p.rate)
	lag := want - p.slots
	if limit := max(1, int64(p.rate*maxLag.Seconds())); lag > limit {
		p.missed += lag - limit
		p.slots += lag - limit
		lag = limit
	}
	if lag <= 0 {
		next := p.start.Add(time.Duration(float64(p.slots+1) / p.rate * float64(time.Second)))
		return 0, max(minWait, next.Sub(now))
	}
	p.slots += lag
	return int(lag), 0
}
