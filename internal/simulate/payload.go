package simulate

import (
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/calibd/calibd/devices"
)

// Profile says what the fleet's messages look like.
type Profile struct {
	// ReferenceC is the reference source's temperature in checks, unless
	// a device has its own.
	ReferenceC float64
	// NoiseC is the standard deviation of a check's error, °C.
	NoiseC float64
	// DriftPerDay is how fast a thermometer's error grows, °C per
	// simulated day; each thermometer drifts at 0.5 to 1.5 times it.
	DriftPerDay float64
	// DaysPerMinute compresses time: each real minute is this many
	// simulated days for drift, so a demo shows drift in minutes. Zero
	// means real time.
	DaysPerMinute float64
	// BadShare is the share of messages (0..1) sent as payloads the
	// decoder refuses (BadKinds, in equal parts).
	BadShare float64
	// FaultShare is the share of a lift's valid messages that are fault
	// events rather than telemetry.
	FaultShare float64
	// OOTOffsetC is how far beyond the reference an injected
	// out-of-tolerance check reads: well beyond any tolerance profile's
	// MPE (the widest is 0.5 °C).
	OOTOffsetC float64
}

// DefaultProfile: checks of a 37 °C reference with 0.03 °C noise, no
// drift, no bad payloads, 1 % of lift messages fault events.
func DefaultProfile() Profile {
	return Profile{ReferenceC: 37.0, NoiseC: 0.03, FaultShare: 0.01, OOTOffsetC: 1.0}
}

// Validate checks the profile's ranges.
func (p Profile) Validate() error {
	var errs []error
	if !(p.ReferenceC >= 0 && p.ReferenceC <= 100) {
		errs = append(errs, errors.New("reference must be between 0 and 100 °C"))
	}
	if !(p.NoiseC >= 0 && p.NoiseC <= 10) {
		errs = append(errs, errors.New("noise must be between 0 and 10 °C"))
	}
	if !(math.Abs(p.DriftPerDay) <= 10) {
		errs = append(errs, errors.New("drift must be between -10 and 10 °C/day"))
	}
	if !(p.DaysPerMinute >= 0 && p.DaysPerMinute <= 1e6) {
		errs = append(errs, errors.New("days-per-minute must be 0 (real time) or positive"))
	}
	if !(p.BadShare >= 0 && p.BadShare <= 1) {
		errs = append(errs, errors.New("bad must be a share between 0 and 1"))
	}
	if !(p.FaultShare >= 0 && p.FaultShare <= 1) {
		errs = append(errs, errors.New("faults must be a share between 0 and 1"))
	}
	if !(p.OOTOffsetC > 0.5 && p.OOTOffsetC <= 5) {
		errs = append(errs, errors.New("the out-of-tolerance offset must be above 0.5 °C (the widest MPE) and at most 5 °C"))
	}
	return errors.Join(errs...)
}

// BadKind is a way a payload can be wrong. Every kind is refused by
// devices.Decode, so calibd dead-letters it (never stores it).
type BadKind string

// Bad payload kinds.
const (
	BadMalformedJSON BadKind = "malformed_json" // a valid payload cut short
	BadWrongUnit     BadKind = "wrong_unit"     // °F and friends; a unit on a lift metric
	BadNonFinite     BadKind = "non_finite"     // a number too large for a float64 (±1e999)
	BadOutOfRange    BadKind = "out_of_range"   // below absolute zero; a lift counter beyond 1e15
	BadRandomBytes   BadKind = "random_bytes"   // not UTF-8 at all
)

// BadKinds lists every kind, in the order the generator draws them.
var BadKinds = []BadKind{BadMalformedJSON, BadWrongUnit, BadNonFinite, BadOutOfRange, BadRandomBytes}

// BadReason is the devices.Decode reason each kind is refused with.
var BadReason = map[BadKind]string{
	BadMalformedJSON: devices.ReasonNotJSON,
	BadWrongUnit:     devices.ReasonBadUnit,
	BadNonFinite:     devices.ReasonOutOfRange,
	BadOutOfRange:    devices.ReasonOutOfRange,
	BadRandomBytes:   devices.ReasonNotJSON,
}

// Message is one generated message.
type Message struct {
	Device  int // index in the fleet
	Topic   string
	Payload []byte
	Kind    devices.MessageKind
	Bad     BadKind // empty for a valid message
	Probe   bool    // an injected out-of-tolerance check
	Seq     int64
	TS      time.Time
}

// liftFaults are the fault events lifts send, with the severity a lift
// controller would give them; the warnings come up more often.
var liftFaults = []struct {
	code     string
	severity devices.Severity
}{
	{"door_fault", devices.SeverityWarning},
	{"door_fault", devices.SeverityWarning},
	{"landing_button_stuck", devices.SeverityWarning},
	{"speed_anomaly", devices.SeverityWarning},
	{"power_loss", devices.SeverityWarning},
	{"power_restored", devices.SeverityInfo},
	{"stop_outside_door_zone", devices.SeverityWarning},
	{"trapped_passenger", devices.SeverityCritical},
	{"safety_circuit_open", devices.SeverityCritical},
}

// deviceState is what the generator keeps per device. Only the worker that
// publishes for a device touches its state.
type deviceState struct {
	dev        Device
	rng        *rand.Rand
	seq        int64
	referenceC float64
	driftRate  float64 // °C per simulated day
	doorCycles int64
	runs       int64
}

// Generator makes a fleet's messages. Given the same profile, fleet, seed
// and start, the same calls (device, time) produce the same messages: each
// device draws from a random stream of its own, so the order in which
// devices publish does not change what any one of them sends.
//
// Sequence numbers start at the start time in Unix milliseconds and grow
// by one per message, so a restarted simulator never reuses a (device,
// seq) while each device sends fewer than 1,000 messages a second.
type Generator struct {
	p     Profile
	start time.Time
	devs  []deviceState
}

// NewGenerator prepares the fleet's state.
func NewGenerator(p Profile, fleet []Device, seed uint64, start time.Time) *Generator {
	g := &Generator{p: p, start: start, devs: make([]deviceState, len(fleet))}
	for i, d := range fleet {
		rng := rand.New(rand.NewPCG(seed, uint64(i)))
		s := deviceState{dev: d, rng: rng, seq: start.UnixMilli(), referenceC: p.ReferenceC}
		if d.ReferenceC > 0 {
			s.referenceC = d.ReferenceC
		}
		s.driftRate = p.DriftPerDay * (0.5 + rng.Float64())
		s.doorCycles = 100_000 + rng.Int64N(400_000)
		s.runs = s.doorCycles / 2
		g.devs[i] = s
	}
	return g
}

// Len is the fleet's size.
func (g *Generator) Len() int { return len(g.devs) }

// Device is the fleet's device i.
func (g *Generator) Device(i int) Device { return g.devs[i].dev }

// simDays is how many simulated days have passed at now.
func (g *Generator) simDays(now time.Time) float64 {
	el := now.Sub(g.start)
	if g.p.DaysPerMinute > 0 {
		return el.Minutes() * g.p.DaysPerMinute
	}
	return el.Hours() / 24
}

// DriftC is device i's drift at now, in °C (zero for lifts).
func (g *Generator) DriftC(i int, now time.Time) float64 {
	s := &g.devs[i]
	if s.dev.Kind != devices.DeviceThermometer {
		return 0
	}
	return s.driftRate * g.simDays(now)
}

// Next is device i's next message at now: a check from a thermometer,
// telemetry or (FaultShare) a fault event from a lift, or (BadShare) a
// payload the decoder refuses.
func (g *Generator) Next(i int, now time.Time) Message {
	s := &g.devs[i]
	ts := now.UTC().Truncate(time.Microsecond)
	s.seq++
	m := Message{Device: i, Seq: s.seq, TS: ts}
	bad := g.p.BadShare > 0 && s.rng.Float64() < g.p.BadShare
	switch {
	case s.dev.Kind == devices.DeviceThermometer:
		m.Kind = devices.MessageChecks
		value := s.referenceC + s.driftRate*g.simDays(now) + s.rng.NormFloat64()*g.p.NoiseC
		m.Payload = checkPayload(ts, s.seq, s.referenceC, value, "Cel")
	case !bad && g.p.FaultShare > 0 && s.rng.Float64() < g.p.FaultShare:
		m.Kind = devices.MessageEvents
		f := liftFaults[s.rng.IntN(len(liftFaults))]
		m.Payload = eventPayload(ts, s.seq, f.code, f.severity)
	default:
		m.Kind = devices.MessageTelemetry
		s.doorCycles += 1 + s.rng.Int64N(4)
		s.runs += 1 + s.rng.Int64N(2)
		leveling := math.Abs(2.5 + s.rng.NormFloat64()*1.5)
		m.Payload = telemetryPayload(ts, s.seq, leveling, s.doorCycles, s.runs)
	}
	if bad {
		m.Bad = BadKinds[s.rng.IntN(len(BadKinds))]
		g.spoil(s, &m)
	}
	m.Topic = devices.DeviceTopic(s.dev.ID, m.Kind, false)
	if m.Bad == BadWrongUnit && m.Kind == devices.MessageTelemetry {
		m.Topic = devices.DeviceTopic(s.dev.ID, m.Kind, true)
	}
	return m
}

// OutOfTolerance is an injected check of thermometer i at now whose error
// is OOTOffsetC beyond its drift: far outside any MPE, so calibd raises an
// out_of_tolerance alert.
func (g *Generator) OutOfTolerance(i int, now time.Time) Message {
	s := &g.devs[i]
	ts := now.UTC().Truncate(time.Microsecond)
	s.seq++
	value := s.referenceC + s.driftRate*g.simDays(now) + g.p.OOTOffsetC + s.rng.NormFloat64()*g.p.NoiseC
	return Message{Device: i, Topic: devices.DeviceTopic(s.dev.ID, devices.MessageChecks, false),
		Payload: checkPayload(ts, s.seq, s.referenceC, value, "Cel"), Kind: devices.MessageChecks, Probe: true,
		Seq: s.seq, TS: ts}
}

// spoil turns m's valid payload into one of kind m.Bad.
func (g *Generator) spoil(s *deviceState, m *Message) {
	switch m.Bad {
	case BadMalformedJSON:
		// A strict prefix of a JSON object never parses.
		m.Payload = m.Payload[:1+s.rng.IntN(len(m.Payload)-1)]
	case BadWrongUnit:
		if m.Kind == devices.MessageChecks {
			units := []string{"F", "degF", "°C", "C", "mK"}
			m.Payload = checkPayload(m.TS, m.Seq, s.referenceC*9/5+32, 98.6+s.rng.NormFloat64()*0.1, units[s.rng.IntN(len(units))])
		} else {
			m.Payload = senmlTelemetryWithUnit(s.dev.ID, m.TS, m.Seq, "mm")
		}
	case BadNonFinite:
		lit := "1e999"
		if s.rng.IntN(2) == 0 {
			lit = "-1e999"
		}
		if m.Kind == devices.MessageChecks {
			m.Payload = checkPayloadRaw(m.TS, m.Seq, s.referenceC, lit, "Cel")
		} else {
			m.Payload = telemetryPayloadRaw(m.TS, m.Seq, lit)
		}
	case BadOutOfRange:
		if m.Kind == devices.MessageChecks {
			// A disconnected sensor: below absolute zero.
			m.Payload = checkPayload(m.TS, m.Seq, s.referenceC, -300-s.rng.Float64()*100, "Cel")
		} else {
			m.Payload = telemetryPayloadRaw(m.TS, m.Seq, "1e16")
		}
	case BadRandomBytes:
		b := make([]byte, 8+s.rng.IntN(57))
		for i := range b {
			b[i] = byte(s.rng.Uint32())
		}
		b[0] = 0xff // never valid UTF-8
		m.Payload = b
	}
}

func appendHead(b []byte, ts time.Time, seq int64) []byte {
	b = append(b, `{"ts":"`...)
	b = ts.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","seq":`...)
	return strconv.AppendInt(b, seq, 10)
}

func checkPayload(ts time.Time, seq int64, reference, value float64, unit string) []byte {
	return checkPayloadRaw(ts, seq, reference, strconv.FormatFloat(math.Round(value*1000)/1000, 'f', -1, 64), unit)
}

func checkPayloadRaw(ts time.Time, seq int64, reference float64, value, unit string) []byte {
	b := appendHead(make([]byte, 0, 128), ts, seq)
	b = append(b, `,"reference":`...)
	b = strconv.AppendFloat(b, reference, 'f', -1, 64)
	b = append(b, `,"value":`...)
	b = append(b, value...)
	b = append(b, `,"unit":`...)
	b = strconv.AppendQuote(b, unit)
	return append(b, `,"mode":"calibration"}`...)
}

func telemetryPayload(ts time.Time, seq int64, leveling float64, doorCycles, runs int64) []byte {
	b := appendHead(make([]byte, 0, 128), ts, seq)
	b = append(b, `,"metrics":{"leveling_error_mm":`...)
	b = strconv.AppendFloat(b, math.Round(leveling*10)/10, 'f', -1, 64)
	b = append(b, `,"door_cycles":`...)
	b = strconv.AppendInt(b, doorCycles, 10)
	b = append(b, `,"runs":`...)
	b = strconv.AppendInt(b, runs, 10)
	return append(b, `}}`...)
}

func telemetryPayloadRaw(ts time.Time, seq int64, doorCycles string) []byte {
	b := appendHead(make([]byte, 0, 128), ts, seq)
	b = append(b, `,"metrics":{"leveling_error_mm":2.5,"door_cycles":`...)
	b = append(b, doorCycles...)
	return append(b, `}}`...)
}

func eventPayload(ts time.Time, seq int64, code string, sev devices.Severity) []byte {
	b := appendHead(make([]byte, 0, 96), ts, seq)
	b = append(b, `,"code":`...)
	b = strconv.AppendQuote(b, code)
	b = append(b, `,"severity":`...)
	b = strconv.AppendQuote(b, string(sev))
	return append(b, '}')
}

// senmlTelemetryWithUnit is a SenML telemetry pack whose metric carries a
// unit that is neither Cel nor K: the unit belongs in a metric's name.
func senmlTelemetryWithUnit(id string, ts time.Time, seq int64, unit string) []byte {
	b := append(make([]byte, 0, 160), `[{"bn":"`...)
	b = append(b, id...)
	b = append(b, `:","bt":`...)
	b = strconv.AppendFloat(b, float64(ts.UnixMicro())/1e6, 'f', 6, 64)
	b = append(b, `,"n":"seq","v":`...)
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, `},{"n":"leveling_error_mm","u":`...)
	b = strconv.AppendQuote(b, unit)
	return append(b, `,"v":4.5}]`...)
}
