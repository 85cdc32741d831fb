package devices_test

import (
	"testing"
	"time"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/devices/devicestest"
)

// benchCheck is a typical check as a thermometer publishes it.
const benchCheck = `{"seq":123,"ts":"2026-11-30T01:02:03.456Z","reference":37.0,"value":37.02,"unit":"Cel","mode":"calibration"}`

// benchNow is a minute after benchCheck's ts.
var benchNow = time.Date(2026, 11, 30, 1, 3, 3, 0, time.UTC)

func benchDecode(b *testing.B, topic string, payload []byte, now time.Time) {
	b.Helper()
	if _, err := devices.Decode(topic, payload, now, devices.DecodeLimits{}); err != nil {
		b.Fatalf("Decode(%s) = %v", payload, err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		if _, err := devices.Decode(topic, payload, now, devices.DecodeLimits{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeCheck decodes the JSON check every thermometer sends.
func BenchmarkDecodeCheck(b *testing.B) {
	benchDecode(b, devicestest.TopicOf("checks"), []byte(benchCheck), benchNow)
}

// BenchmarkDecodeTelemetry decodes a small JSON telemetry message.
func BenchmarkDecodeTelemetry(b *testing.B) {
	benchDecode(b, devicestest.TopicOf("telemetry"),
		[]byte(`{"ts":"2026-11-24T08:00:00Z","seq":18,"metrics":{"leveling_error_mm":4.5,"door_cycles":120311}}`), devicestest.DecodeNow)
}

// BenchmarkDecodeCheckSenML decodes the same check as a SenML pack.
func BenchmarkDecodeCheckSenML(b *testing.B) {
	payload := `[{"bn":"urn:uuid:` + devicestest.DevID + `:","bt":` + devicestest.SenmlT + `,"n":"seq","v":17},` +
		`{"n":"reference","u":"Cel","v":37.0},{"n":"value","u":"Cel","v":37.08},{"n":"mode","vs":"calibration"}]`
	benchDecode(b, devicestest.TopicOf("checks/senml"), []byte(payload), devicestest.DecodeNow)
}
