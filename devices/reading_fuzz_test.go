package devices_test

import (
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/calibd/calibd/devices"
)

// checkDecoded holds the invariants of every Decode outcome: an error is a
// *DecodeError with a reason from DecodeReasons and nothing decoded; a message is of the
// topic's kind and device, has seq ≥ 0, a timestamp inside the default
// window around decodeNow, finite values, and a known mode or code.
func checkDecoded(tb testing.TB, topic string, msg devices.Message, err error) {
	tb.Helper()
	if err != nil {
		var de *devices.DecodeError
		if !errors.As(err, &de) || !slices.Contains(devices.DecodeReasons, de.Reason) || err.Error() == "" {
			tb.Fatalf("Decode(%q) error %v (%T) is not a *DecodeError with a listed reason", topic, err, err)
		}
		if msg != (devices.Message{}) {
			tb.Fatalf("Decode(%q) = %+v with error %v, want a zero Message", topic, msg, err)
		}
		return
	}
	id, kind, _, perr := devices.ParseTopic(topic)
	if perr != nil {
		tb.Fatalf("Decode accepted topic %q that ParseTopic refuses: %v", topic, perr)
	}
	set := 0
	for _, p := range []bool{msg.Check != nil, msg.Telemetry != nil, msg.Event != nil} {
		if p {
			set++
		}
	}
	if msg.Kind != kind || set != 1 {
		tb.Fatalf("Decode(%q) = %+v, want exactly one %s part", topic, msg, kind)
	}
	if msg.DeviceID() != id || msg.Seq() < 0 {
		tb.Fatalf("Decode(%q) device %q seq %d, want device %q and seq ≥ 0", topic, msg.DeviceID(), msg.Seq(), id)
	}
	ts := msg.TS()
	if ts.Before(decodeNow.Add(-devices.DefaultMaxAge)) || ts.After(decodeNow.Add(devices.DefaultMaxFuture)) || ts.Location().String() != "UTC" {
		tb.Fatalf("Decode(%q) ts %v, outside the window around %v or not UTC", topic, ts, decodeNow)
	}
	finite := func(what string, v, limit float64) {
		if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > limit {
			tb.Fatalf("Decode(%q) %s = %v, want finite within ±%g", topic, what, v, limit)
		}
	}
	switch {
	case msg.Check != nil:
		c := msg.Check
		finite("reference", c.ReferenceC, devices.MaxTemperature)
		finite("value", c.ValueC, devices.MaxTemperature)
		if c.ReferenceC < -273.15 || c.ValueC < -273.15 || !c.Mode.Valid() {
			tb.Fatalf("Decode(%q) = %+v: below absolute zero or unknown mode", topic, *c)
		}
	case msg.Telemetry != nil:
		if n := len(msg.Telemetry.Metrics); n < 1 || n > devices.MaxMetrics {
			tb.Fatalf("Decode(%q) has %d metrics, want 1 to %d", topic, n, devices.MaxMetrics)
		}
		for name, v := range msg.Telemetry.Metrics {
			if name == "" || len(name) > 64 || name != stripNotMetric(name) {
				tb.Fatalf("Decode(%q) metric name %q", topic, name)
			}
			finite("metric "+name, v, devices.MaxMetricValue)
		}
	case msg.Event != nil:
		if !devices.KnownEventCode(msg.Event.Code) || !slices.Contains(devices.Severities, msg.Event.Severity) {
			tb.Fatalf("Decode(%q) = %+v: unknown code or severity", topic, *msg.Event)
		}
	}
}

// stripNotMetric drops every byte a metric name may not hold.
func stripNotMetric(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' {
			b = append(b, c)
		}
	}
	return string(b)
}

// fuzzTopics are the six device topics; FuzzDecode picks one by index so
// the fuzzer spends its time on payloads (FuzzParseTopic covers topics).
var fuzzTopics = []string{
	topicOf("checks"), topicOf("telemetry"), topicOf("events"),
	topicOf("checks/senml"), topicOf("telemetry/senml"), topicOf("events/senml"),
}

// FuzzDecode: whatever a device publishes, Decode never panics and its
// outcome holds checkDecoded's invariants. Seeded from TestDecode's table.
func FuzzDecode(f *testing.F) {
	for _, tt := range decodeCases() {
		if i := slices.Index(fuzzTopics, tt.Topic); i >= 0 {
			f.Add(uint8(i), []byte(tt.Payload))
		}
	}
	f.Fuzz(func(t *testing.T, topic uint8, payload []byte) {
		tp := fuzzTopics[int(topic)%len(fuzzTopics)]
		msg, err := devices.Decode(tp, payload, decodeNow, devices.DecodeLimits{})
		checkDecoded(t, tp, msg, err)
	})
}

// FuzzParseTopic: ParseTopic never panics, refuses with a bad_topic
// DecodeError, and what it accepts round-trips through DeviceTopic.
func FuzzParseTopic(f *testing.F) {
	for _, tt := range decodeCases() {
		f.Add(tt.Topic)
	}
	f.Fuzz(func(t *testing.T, topic string) {
		id, kind, senml, err := devices.ParseTopic(topic)
		if err != nil {
			var de *devices.DecodeError
			if !errors.As(err, &de) || de.Reason != devices.ReasonBadTopic {
				t.Fatalf("ParseTopic(%q) = %v, want a bad_topic DecodeError", topic, err)
			}
			return
		}
		if !devices.IsUUID(id) || !kind.Valid() || devices.DeviceTopic(id, kind, senml) != topic {
			t.Fatalf("ParseTopic(%q) = %q, %q, %v: does not round-trip", topic, id, kind, senml)
		}
	})
}
