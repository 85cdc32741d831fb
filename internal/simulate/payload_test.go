package simulate

import (
	"bytes"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/calibd/calibd/devices"
)

var t0 = time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)

func testFleet() []Device {
	return RandomFleet(3, 2, 42)
}

// TestGeneratorDeterministic: the same seed, fleet and start give the same
// messages, whatever order the devices are asked in; another seed does not.
func TestGeneratorDeterministic(t *testing.T) {
	p := DefaultProfile()
	p.BadShare, p.FaultShare, p.DriftPerDay = 0.3, 0.3, 0.5
	fleet := testFleet()
	type key struct {
		dev, step int
	}
	collect := func(seed uint64, order []int) map[key]Message {
		g := NewGenerator(p, fleet, seed, t0)
		out := map[key]Message{}
		for step := range 50 {
			now := t0.Add(time.Duration(step) * 137 * time.Millisecond)
			for _, i := range order {
				out[key{i, step}] = g.Next(i, now)
			}
		}
		return out
	}
	a := collect(7, []int{0, 1, 2, 3, 4})
	b := collect(7, []int{4, 2, 0, 3, 1})
	c := collect(8, []int{0, 1, 2, 3, 4})
	differ := 0
	for k, m := range a {
		if m.Topic != b[k].Topic || !bytes.Equal(m.Payload, b[k].Payload) || m.Bad != b[k].Bad || m.Seq != b[k].Seq {
			t.Fatalf("device %d step %d: %q on %s, then %q on %s with the same seed", k.dev, k.step, m.Payload, m.Topic, b[k].Payload, b[k].Topic)
		}
		if !bytes.Equal(m.Payload, c[k].Payload) {
			differ++
		}
	}
	if differ == 0 {
		t.Error("another seed produced the very same payloads")
	}
}

// TestValidPayloadsDecode: every valid message decodes as the contract's
// kind, with seq growing by one per device from the start's Unix
// milliseconds and a sub-second ts.
func TestValidPayloadsDecode(t *testing.T) {
	p := DefaultProfile()
	p.FaultShare = 0.5
	fleet := testFleet()
	g := NewGenerator(p, fleet, 1, t0)
	last := map[int]int64{}
	kinds := map[devices.MessageKind]int{}
	for step := range 200 {
		now := t0.Add(time.Duration(step)*time.Second + 123456789)
		for i := range fleet {
			m := g.Next(i, now)
			got, err := devices.Decode(m.Topic, m.Payload, now, devices.DecodeLimits{})
			if err != nil {
				t.Fatalf("Decode(%s, %s) = %v", m.Topic, m.Payload, err)
			}
			if got.Kind != m.Kind || got.DeviceID() != fleet[i].ID || got.Seq() != m.Seq || !got.TS().Equal(m.TS) {
				t.Fatalf("Decode(%s) = %+v, want kind %s seq %d ts %s", m.Payload, got, m.Kind, m.Seq, m.TS)
			}
			if want := t0.UnixMilli() + int64(step) + 1; m.Seq != want {
				t.Fatalf("device %d step %d: seq %d, want %d", i, step, m.Seq, want)
			}
			if m.Seq <= last[i] {
				t.Fatalf("device %d: seq %d after %d", i, m.Seq, last[i])
			}
			last[i] = m.Seq
			if m.TS.Nanosecond() != 123456000 {
				t.Fatalf("ts %s: want microsecond precision kept", m.TS)
			}
			kinds[m.Kind]++
			switch fleet[i].Kind {
			case devices.DeviceThermometer:
				c := got.Check
				if m.Kind != devices.MessageChecks || c.Mode != devices.ModeCalibration || c.ReferenceC != 37 || math.Abs(c.ErrorC()) > 0.2 {
					t.Fatalf("thermometer message %s: %+v", m.Payload, c)
				}
			case devices.DeviceElevator:
				if m.Kind == devices.MessageChecks {
					t.Fatalf("a lift sent a check: %s", m.Payload)
				}
			}
		}
	}
	for _, k := range devices.MessageKinds {
		if kinds[k] == 0 {
			t.Errorf("no %s messages in 1,000", k)
		}
	}
}

// TestBadPayloadsRefused: every bad kind, from a thermometer and from a
// lift, is refused by the decoder with the reason the ingest dead-letters
// it under; none is ever stored.
func TestBadPayloadsRefused(t *testing.T) {
	p := DefaultProfile()
	p.BadShare = 1
	fleet := testFleet()
	g := NewGenerator(p, fleet, 3, t0)
	seen := map[devices.DeviceKind]map[BadKind]int{devices.DeviceThermometer: {}, devices.DeviceElevator: {}}
	for step := range 400 {
		now := t0.Add(time.Duration(step) * time.Second)
		for i, d := range fleet {
			m := g.Next(i, now)
			if m.Bad == "" {
				t.Fatalf("BadShare 1 gave a valid message %s", m.Payload)
			}
			_, err := devices.Decode(m.Topic, m.Payload, now, devices.DecodeLimits{})
			var de *devices.DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("%s %s from a %s: Decode(%q) = %v, want a *DecodeError", m.Bad, m.Topic, d.Kind, m.Payload, err)
			}
			if de.Reason != BadReason[m.Bad] {
				t.Fatalf("%s from a %s: Decode(%q) reason %s, want %s (%v)", m.Bad, d.Kind, m.Payload, de.Reason, BadReason[m.Bad], err)
			}
			seen[d.Kind][m.Bad]++
		}
	}
	for kind, bads := range seen {
		for _, b := range BadKinds {
			if bads[b] == 0 {
				t.Errorf("no %s payload from a %s", b, kind)
			}
		}
	}
}

// TestDrift: with time compressed to one simulated day per real minute, a
// thermometer drifting at 1 °C/day (times its 0.5–1.5 factor) is that far
// off after a minute; without noise the check's error is exactly the drift.
func TestDrift(t *testing.T) {
	tests := []struct {
		name          string
		daysPerMinute float64
		after         time.Duration
		wantDays      float64
	}{
		{"real time", 0, 12 * time.Hour, 0.5},
		{"a day a minute", 1, time.Minute, 1},
		{"a week a minute", 7, 30 * time.Second, 3.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := DefaultProfile()
			p.NoiseC, p.DriftPerDay, p.DaysPerMinute = 0, 1, tt.daysPerMinute
			fleet := []Device{{ID: "0190b5c2-0000-7000-8000-000000000001", Kind: devices.DeviceThermometer}}
			g := NewGenerator(p, fleet, 9, t0)
			rate := g.devs[0].driftRate
			if rate < 0.5 || rate > 1.5 {
				t.Fatalf("drift rate %v °C/day, want 0.5 to 1.5", rate)
			}
			now := t0.Add(tt.after)
			want := rate * tt.wantDays
			if got := g.DriftC(0, now); math.Abs(got-want) > 1e-9 {
				t.Errorf("DriftC after %s = %v, want %v", tt.after, got, want)
			}
			m := g.Next(0, now)
			msg, err := devices.Decode(m.Topic, m.Payload, now, devices.DecodeLimits{})
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(msg.Check.ErrorC()-want) > 0.0006 {
				t.Errorf("check error %v, want the drift %v (to the 0.001 °C the payload keeps)", msg.Check.ErrorC(), want)
			}
		})
	}
}

// TestOutOfTolerance: an injected check reads the offset beyond the
// reference, beyond every tolerance profile's MPE, and keeps the device's
// seq order.
func TestOutOfTolerance(t *testing.T) {
	p := DefaultProfile()
	fleet := testFleet()
	g := NewGenerator(p, fleet, 5, t0)
	a := g.Next(0, t0)
	m := g.OutOfTolerance(0, t0.Add(time.Second))
	b := g.Next(0, t0.Add(2*time.Second))
	if !(a.Seq < m.Seq && m.Seq < b.Seq) || !m.Probe {
		t.Fatalf("seqs %d, %d (probe %v), %d", a.Seq, m.Seq, m.Probe, b.Seq)
	}
	msg, err := devices.Decode(m.Topic, m.Payload, t0.Add(time.Second), devices.DecodeLimits{})
	if err != nil {
		t.Fatal(err)
	}
	if e := msg.Check.ErrorC(); e < 0.8 || msg.Check.Mode != devices.ModeCalibration {
		t.Errorf("injected check %s: error %v, want about %v", m.Payload, e, p.OOTOffsetC)
	}
}

// TestPacer: at a steady clock the pacer hands out one slot per 1/rate,
// never a second's worth at once; after a stall it catches up at most
// maxLag's worth and counts the rest as missed.
func TestPacer(t *testing.T) {
	p := newPacer(1000, t0)
	sent := 0
	for ms := 1; ms <= 1000; ms++ {
		n, _ := p.due(t0.Add(time.Duration(ms) * time.Millisecond))
		if n > 2 {
			t.Fatalf("at %d ms: %d messages at once", ms, n)
		}
		sent += n
	}
	if sent < 999 || sent > 1000 {
		t.Errorf("sent %d in a second at 1000/s", sent)
	}
	n, _ := p.due(t0.Add(2 * time.Second))
	if n != 100 || p.missed < 899 || p.missed > 901 {
		t.Errorf("after a 1 s stall: %d at once, %d missed; want 100 and about 900", n, p.missed)
	}
	if n, wait := newPacer(10, t0).due(t0); n != 0 || wait != 100*time.Millisecond {
		t.Errorf("at 10/s from the start: %d due, wait %s; want 0 and 100ms", n, wait)
	}
	if n, _ := newPacer(0, t0).due(t0); n == 0 {
		t.Error("an unpaced pacer held messages back")
	}
}
