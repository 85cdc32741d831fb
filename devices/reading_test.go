package devices_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/devices/devicestest"
)

// The decode table and its helpers live in devicestest: the table is
// TestDecode's cases, FuzzDecode's seed corpus, and the malformed part of
// the fault tests' flood.
const (
	devID   = devicestest.DevID
	otherID = devicestest.OtherID
	senmlT  = devicestest.SenmlT
)

var (
	decodeNow    = devicestest.DecodeNow
	readingTS    = devicestest.ReadingTS
	topicOf      = devicestest.TopicOf
	checkMsg     = devicestest.CheckMsg
	telemetryMsg = devicestest.TelemetryMsg
	eventMsg     = devicestest.EventMsg
	checkJSON    = devicestest.CheckJSON
	decodeCases  = devicestest.DecodeCases
)

func TestDecode(t *testing.T) {
	for _, tt := range decodeCases() {
		t.Run(tt.Name, func(t *testing.T) {
			got, err := devices.Decode(tt.Topic, []byte(tt.Payload), decodeNow, devices.DecodeLimits{})
			checkDecoded(t, tt.Topic, got, err)
			if tt.WantReason != "" {
				var de *devices.DecodeError
				if !errors.As(err, &de) || de.Reason != tt.WantReason || de.Field != tt.WantField {
					t.Fatalf("Decode(%q) = %v, want reason %s field %q", tt.Payload, err, tt.WantReason, tt.WantField)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode(%q) = %v, want %v", tt.Payload, err, tt.Want)
			}
			if diff := cmp.Diff(tt.Want, got); diff != "" {
				t.Errorf("Decode(%q) mismatch (-want +got):\n%s", tt.Payload, diff)
			}
		})
	}
}

func TestDecodeLimits(t *testing.T) {
	payload := []byte(checkJSON("", ""))
	tests := []struct {
		name       string
		limits     devices.DecodeLimits
		now        time.Time
		wantReason string
	}{
		{name: "smaller size limit", limits: devices.DecodeLimits{MaxBytes: 50}, now: decodeNow, wantReason: "too_large"},
		{name: "shorter age", limits: devices.DecodeLimits{MaxAge: time.Minute}, now: decodeNow, wantReason: "too_old"},
		{name: "shorter future", limits: devices.DecodeLimits{MaxFuture: time.Second}, now: readingTS.Add(-2 * time.Second), wantReason: "in_future"},
		{name: "defaults", now: readingTS.Add(-5 * time.Minute)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := devices.Decode(topicOf("checks"), payload, tt.now, tt.limits)
			var de *devices.DecodeError
			if tt.wantReason == "" && err != nil || tt.wantReason != "" && (!errors.As(err, &de) || de.Reason != tt.wantReason) {
				t.Fatalf("Decode(%q) = %v, want reason %q", payload, err, tt.wantReason)
			}
		})
	}
}

func TestDecodeErrorMessage(t *testing.T) {
	_, err := devices.Decode(topicOf("checks"), []byte(strings.Repeat(" ", 5000)), decodeNow, devices.DecodeLimits{})
	if want := "payload: payload is 5000 bytes; the limit is 4096 bytes"; err == nil || err.Error() != want {
		t.Errorf("Decode(5000 spaces) = %v, want %q", err, want)
	}
	_, err = devices.Decode(topicOf("checks"), []byte(checkJSON("unit", `"F"`)), decodeNow, devices.DecodeLimits{})
	if want := `payload field "unit": unit "F" is not Cel or K`; err == nil || err.Error() != want {
		t.Errorf("Decode(unit F) = %v, want %q", err, want)
	}
	if got, want := (&devices.DecodeError{Reason: "not_json"}).Error(), "payload: not json"; got != want {
		t.Errorf("DecodeError{not_json}.Error() = %q, want %q", got, want)
	}
}

func TestParseTopic(t *testing.T) {
	tests := []struct {
		topic     string
		wantID    string
		wantKind  devices.MessageKind
		wantSenML bool
		wantErr   bool
	}{
		{topic: topicOf("checks"), wantID: devID, wantKind: devices.MessageChecks},
		{topic: topicOf("telemetry"), wantID: devID, wantKind: devices.MessageTelemetry},
		{topic: topicOf("events/senml"), wantID: devID, wantKind: devices.MessageEvents, wantSenML: true},
		{topic: topicOf("checks/senml"), wantID: devID, wantKind: devices.MessageChecks, wantSenML: true},
		{topic: "", wantErr: true},
		{topic: "calibd/v1/devices/", wantErr: true},
		{topic: "calibd/v1/devices/" + devID, wantErr: true},
		{topic: topicOf(""), wantErr: true},
		{topic: topicOf("checks/"), wantErr: true},
		{topic: topicOf("checks/senml/x"), wantErr: true},
		{topic: topicOf("Checks"), wantErr: true},
		{topic: topicOf("+"), wantErr: true},
		{topic: "calibd/v1/devices/+/checks", wantErr: true},
		{topic: "calibd/v1/devices/" + strings.ToUpper(devID) + "/checks", wantErr: true},
		{topic: "calibd/v1/devices/" + devID[:35] + "/checks", wantErr: true},
		{topic: "$share/calibd/" + topicOf("checks"), wantErr: true},
		{topic: "/" + topicOf("checks"), wantErr: true},
	}
	for _, tt := range tests {
		id, kind, senml, err := devices.ParseTopic(tt.topic)
		if tt.wantErr {
			var de *devices.DecodeError
			if !errors.As(err, &de) || de.Reason != "bad_topic" {
				t.Errorf("ParseTopic(%q) = %v, want a bad_topic DecodeError", tt.topic, err)
			}
			continue
		}
		if err != nil || id != tt.wantID || kind != tt.wantKind || senml != tt.wantSenML {
			t.Errorf("ParseTopic(%q) = %q, %q, %v, %v, want %q, %q, %v", tt.topic, id, kind, senml, err, tt.wantID, tt.wantKind, tt.wantSenML)
		}
		if back := devices.DeviceTopic(id, kind, senml); back != tt.topic {
			t.Errorf("DeviceTopic(%q, %q, %v) = %q, want %q", id, kind, senml, back, tt.topic)
		}
	}
}

func TestCheckReadingErrorAndRange(t *testing.T) {
	tests := []struct {
		ref, val, minC, maxC float64
		wantErr              float64
		wantIn               bool
	}{
		{ref: 37, val: 37.08, minC: 34, maxC: 42.5, wantErr: 0.08, wantIn: true},
		{ref: 37, val: 36.8, minC: 34, maxC: 42.5, wantErr: -0.2, wantIn: true},
		{ref: 42, val: 42.5, minC: 34, maxC: 42.5, wantErr: 0.5, wantIn: true}, // bound included
		{ref: 34, val: 33.9, minC: 34, maxC: 42.5, wantErr: -0.1, wantIn: false},
		{ref: 42, val: 42.6, minC: 34, maxC: 42.5, wantErr: 0.6, wantIn: false},
	}
	for _, tt := range tests {
		r := devices.CheckReading{ReferenceC: tt.ref, ValueC: tt.val}
		if got := r.ErrorC(); math.Abs(got-tt.wantErr) > 1e-9 {
			t.Errorf("CheckReading{%g, %g}.ErrorC() = %v, want %v", tt.ref, tt.val, got, tt.wantErr)
		}
		if got := r.InRange(tt.minC, tt.maxC); got != tt.wantIn {
			t.Errorf("CheckReading{value %g}.InRange(%g, %g) = %v, want %v", tt.val, tt.minC, tt.maxC, got, tt.wantIn)
		}
	}
}

func TestMessageHeader(t *testing.T) {
	tests := []struct {
		msg     devices.Message
		wantID  string
		wantSeq int64
		wantTS  time.Time
	}{
		{msg: checkMsg(17, readingTS, 37, 37, devices.ModeBody), wantID: devID, wantSeq: 17, wantTS: readingTS},
		{msg: telemetryMsg(18, nil), wantID: devID, wantSeq: 18, wantTS: readingTS},
		{msg: eventMsg(19, "power_loss", devices.SeverityWarning), wantID: devID, wantSeq: 19, wantTS: readingTS},
		{msg: devices.Message{}},
	}
	for _, tt := range tests {
		if id, seq, ts := tt.msg.DeviceID(), tt.msg.Seq(), tt.msg.TS(); id != tt.wantID || seq != tt.wantSeq || !ts.Equal(tt.wantTS) {
			t.Errorf("%s message header = %q, %d, %v, want %q, %d, %v", tt.msg.Kind, id, seq, ts, tt.wantID, tt.wantSeq, tt.wantTS)
		}
	}
}
