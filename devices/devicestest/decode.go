// Package devicestest holds test data about devices that more than one
// package's tests use: the decoder's table of payloads, which is
// TestDecode's cases, FuzzDecode's seed corpus, and the malformed part of
// the fault tests' flood (internal/faulttest). Only tests import it.
package devicestest

import (
	"fmt"
	"strings"
	"time"

	"github.com/calibd/calibd/devices"
)

// DevID is the device of every case; OtherID another one.
const (
	DevID   = "0b7e6f52-6a41-4c1e-9d43-2f5e8c1a7b90"
	OtherID = "5d1c2a34-8f0e-4b6a-a9d7-3c2b1e0f9a68"
	// SenmlT is 2026-11-24T08:00:00Z in Unix seconds (date -u -d ... +%s).
	SenmlT = "1795507200"
)

// DecodeNow is the clock every decode case is judged at: five minutes
// after the readings' 08:00.
var DecodeNow = time.Date(2026, 11, 24, 8, 5, 0, 0, time.UTC)

// ReadingTS is the time of the example readings.
var ReadingTS = time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)

// TopicOf is a topic of device DevID: kind is checks, telemetry or events,
// with an optional /senml.
func TopicOf(kind string) string { return "calibd/v1/devices/" + DevID + "/" + kind }

// CheckMsg is a decoded check of DevID.
func CheckMsg(seq int64, ts time.Time, ref, val float64, mode devices.ReadingMode) devices.Message {
	return devices.Message{Kind: devices.MessageChecks, Check: &devices.CheckReading{
		DeviceID: DevID, Seq: seq, TS: ts, ReferenceC: ref, ValueC: val, Mode: mode}}
}

// TelemetryMsg is decoded telemetry of DevID at ReadingTS.
func TelemetryMsg(seq int64, metrics map[string]float64) devices.Message {
	return devices.Message{Kind: devices.MessageTelemetry, Telemetry: &devices.Telemetry{
		DeviceID: DevID, Seq: seq, TS: ReadingTS, Metrics: metrics}}
}

// EventMsg is a decoded event of DevID at ReadingTS.
func EventMsg(seq int64, code string, sev devices.Severity) devices.Message {
	return devices.Message{Kind: devices.MessageEvents, Event: &devices.DeviceEvent{
		DeviceID: DevID, Seq: seq, TS: ReadingTS, Code: code, Severity: sev}}
}

// CheckJSON is the contract's example check with one field replaced, added
// when it is not one of the example's, or removed when value is "".
func CheckJSON(field, value string) string {
	fields := [][2]string{{"ts", `"2026-11-24T08:00:00Z"`}, {"seq", "17"}, {"reference", "37.0"},
		{"value", "37.08"}, {"unit", `"Cel"`}, {"mode", `"calibration"`}}
	var parts []string
	found := false
	for _, f := range fields {
		if f[0] == field {
			found = true
			if value == "" {
				continue
			}
			f[1] = value
		}
		parts = append(parts, fmt.Sprintf("%q:%s", f[0], f[1]))
	}
	if !found && field != "" {
		parts = append(parts, fmt.Sprintf("%q:%s", field, value))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// manyMetrics is a telemetry payload with n metrics m0..m(n-1).
func manyMetrics(n int) string {
	var parts []string
	for i := range n {
		parts = append(parts, fmt.Sprintf(`"m%d":%d`, i, i))
	}
	return `{"ts":"2026-11-24T08:00:00Z","seq":1,"metrics":{` + strings.Join(parts, ",") + `}}`
}

func metricsUpTo(n int) map[string]float64 {
	m := map[string]float64{}
	for i := range n {
		m[fmt.Sprintf("m%d", i)] = float64(i)
	}
	return m
}

// senmlCheck is a SenML check pack: seq 17, then the given records.
func senmlCheck(records ...string) string {
	return `[{"bn":"urn:uuid:` + DevID + `:","bt":` + SenmlT + `,"n":"seq","v":17},` + strings.Join(records, ",") + `]`
}

const (
	senmlRef   = `{"n":"reference","u":"Cel","v":37.0}`
	senmlVal   = `{"n":"value","u":"Cel","v":37.08}`
	senmlMode  = `{"n":"mode","vs":"calibration"}`
	senmlToo   = `{"n":"value","u":"Cel","v":37.08,"vs":"x"}`
	senmlEvent = `[{"bn":"` + DevID + `/","bt":` + SenmlT + `,"n":"seq","v":19},{"n":"code","vs":"trapped_passenger"},{"n":"severity","vs":"critical"}]`
)

// DecodeCase is a payload on a topic and what Decode makes of it at
// DecodeNow: Want, or a DecodeError with WantReason and WantField.
type DecodeCase struct {
	Name       string
	Topic      string
	Payload    string
	Want       devices.Message
	WantReason string // "" for success
	WantField  string
}

// DecodeCases is the table of TestDecode, and the seed corpus of FuzzDecode.
func DecodeCases() []DecodeCase {
	checks, tel, events := TopicOf("checks"), TopicOf("telemetry"), TopicOf("events")
	sChecks, sTel, sEvents := checks+"/senml", tel+"/senml", events+"/senml"
	ok := CheckMsg(17, ReadingTS, 37.0, 37.08, devices.ModeCalibration)
	return []DecodeCase{
		// JSON checks
		{Name: "contract example", Topic: checks, Payload: CheckJSON("", ""), Want: ok},
		{Name: "body mode", Topic: checks, Payload: CheckJSON("mode", `"body"`), Want: CheckMsg(17, ReadingTS, 37.0, 37.08, devices.ModeBody)},
		{Name: "kelvin converted", Topic: checks,
			Payload: `{"ts":"2026-11-24T08:00:00Z","seq":17,"reference":310.15,"value":310.23,"unit":"K","mode":"calibration"}`,
			Want:    CheckMsg(17, ReadingTS, 37.0, 37.08, devices.ModeCalibration)}, // 310.15−273.15 = 37.00, 310.23−273.15 = 37.08
		{Name: "kelvin zero is absolute zero", Topic: checks,
			Payload: `{"ts":"2026-11-24T08:00:00Z","seq":17,"reference":273.15,"value":0,"unit":"K","mode":"body"}`,
			Want:    CheckMsg(17, ReadingTS, 0, -273.15, devices.ModeBody)},
		{Name: "offset and fraction to UTC", Topic: checks, Payload: CheckJSON("ts", `"2026-11-24T16:00:00.5+08:00"`),
			Want: CheckMsg(17, ReadingTS.Add(500*time.Millisecond), 37.0, 37.08, devices.ModeCalibration)},
		{Name: "fields in any order, whitespace", Topic: checks,
			Payload: " {\"mode\":\"calibration\",\n\"unit\":\"Cel\",\"value\":37.08,\"reference\":37,\"seq\":17,\"ts\":\"2026-11-24T08:00:00Z\"}\n",
			Want:    ok},
		{Name: "seq zero", Topic: checks, Payload: CheckJSON("seq", "0"), Want: CheckMsg(0, ReadingTS, 37.0, 37.08, devices.ModeCalibration)},
		{Name: "ts exactly 7 days old", Topic: checks, Payload: CheckJSON("ts", `"2026-11-17T08:05:00Z"`),
			Want: CheckMsg(17, DecodeNow.Add(-7*24*time.Hour), 37.0, 37.08, devices.ModeCalibration)},
		{Name: "ts exactly 5 minutes ahead", Topic: checks, Payload: CheckJSON("ts", `"2026-11-24T08:10:00Z"`),
			Want: CheckMsg(17, DecodeNow.Add(5*time.Minute), 37.0, 37.08, devices.ModeCalibration)},
		{Name: "mode missing", Topic: checks, Payload: CheckJSON("mode", ""), WantReason: "missing_field", WantField: "mode"},
		{Name: "mode null", Topic: checks, Payload: CheckJSON("mode", "null"), WantReason: "missing_field", WantField: "mode"},
		{Name: "mode unknown", Topic: checks, Payload: CheckJSON("mode", `"Body"`), WantReason: "bad_mode", WantField: "mode"},
		{Name: "seq missing", Topic: checks, Payload: CheckJSON("seq", ""), WantReason: "missing_field", WantField: "seq"},
		{Name: "ts missing", Topic: checks, Payload: CheckJSON("ts", ""), WantReason: "missing_field", WantField: "ts"},
		{Name: "unit missing", Topic: checks, Payload: CheckJSON("unit", ""), WantReason: "missing_field", WantField: "unit"},
		{Name: "reference missing", Topic: checks, Payload: CheckJSON("reference", ""), WantReason: "missing_field", WantField: "reference"},
		{Name: "device id in payload", Topic: checks, Payload: CheckJSON("device_id", `"`+OtherID+`"`), WantReason: "unknown_field", WantField: "device_id"},
		{Name: "field name case", Topic: checks, Payload: CheckJSON("Seq", "18"), WantReason: "unknown_field", WantField: "Seq"},
		{Name: "duplicate value", Topic: checks, Payload: `{"value":42,` + CheckJSON("", "")[1:], WantReason: "duplicate_field", WantField: "value"},
		{Name: "seq negative", Topic: checks, Payload: CheckJSON("seq", "-1"), WantReason: "out_of_range", WantField: "seq"},
		{Name: "seq fraction", Topic: checks, Payload: CheckJSON("seq", "1.5"), WantReason: "bad_type", WantField: "seq"},
		{Name: "seq exponent", Topic: checks, Payload: CheckJSON("seq", "1e3"), WantReason: "bad_type", WantField: "seq"},
		{Name: "seq string", Topic: checks, Payload: CheckJSON("seq", `"17"`), WantReason: "bad_type", WantField: "seq"},
		{Name: "seq overflow", Topic: checks, Payload: CheckJSON("seq", "99999999999999999999"), WantReason: "out_of_range", WantField: "seq"},
		{Name: "ts not RFC 3339", Topic: checks, Payload: CheckJSON("ts", `"2026-11-24 08:00:00"`), WantReason: "bad_timestamp", WantField: "ts"},
		{Name: "ts without zone", Topic: checks, Payload: CheckJSON("ts", `"2026-11-24T08:00:00"`), WantReason: "bad_timestamp", WantField: "ts"},
		{Name: "ts number", Topic: checks, Payload: CheckJSON("ts", SenmlT), WantReason: "bad_type", WantField: "ts"},
		{Name: "ts too old", Topic: checks, Payload: CheckJSON("ts", `"2026-11-17T08:04:59Z"`), WantReason: "too_old", WantField: "ts"},
		{Name: "ts in future", Topic: checks, Payload: CheckJSON("ts", `"2026-11-24T08:10:01Z"`), WantReason: "in_future", WantField: "ts"},
		{Name: "unit Fahrenheit", Topic: checks, Payload: CheckJSON("unit", `"degF"`), WantReason: "bad_unit", WantField: "unit"},
		{Name: "unit wrong case", Topic: checks, Payload: CheckJSON("unit", `"cel"`), WantReason: "bad_unit", WantField: "unit"},
		{Name: "value huge", Topic: checks, Payload: CheckJSON("value", "1e7"), WantReason: "out_of_range", WantField: "value"},
		{Name: "value beyond float64", Topic: checks, Payload: CheckJSON("value", "1e400"), WantReason: "out_of_range", WantField: "value"},
		{Name: "value string", Topic: checks, Payload: CheckJSON("value", `"37.08"`), WantReason: "bad_type", WantField: "value"},
		{Name: "reference below absolute zero", Topic: checks, Payload: CheckJSON("reference", "-300"), WantReason: "out_of_range", WantField: "reference"},
		{Name: "negative kelvin", Topic: checks,
			Payload:    `{"ts":"2026-11-24T08:00:00Z","seq":17,"reference":-1,"value":310,"unit":"K","mode":"calibration"}`,
			WantReason: "out_of_range", WantField: "reference"},
		{Name: "not json", Topic: checks, Payload: "hello", WantReason: "not_json"},
		{Name: "empty", Topic: checks, Payload: "", WantReason: "not_json"},
		{Name: "array on a JSON topic", Topic: checks, Payload: "[" + CheckJSON("", "") + "]", WantReason: "not_json"},
		{Name: "truncated", Topic: checks, Payload: CheckJSON("", "")[:30], WantReason: "not_json"},
		{Name: "data after the object", Topic: checks, Payload: CheckJSON("", "") + "{}", WantReason: "not_json"},
		{Name: "invalid UTF-8", Topic: checks, Payload: CheckJSON("mode", "\"calibr\xffation\""), WantReason: "not_json"},
		{Name: "too large", Topic: checks, Payload: CheckJSON("", "") + strings.Repeat(" ", 4097-len(CheckJSON("", ""))), WantReason: "too_large"},
		{Name: "just under the limit", Topic: checks, Payload: CheckJSON("", "") + strings.Repeat(" ", 4096-len(CheckJSON("", ""))), Want: ok},
		// topics
		{Name: "upper-case id", Topic: "calibd/v1/devices/" + strings.ToUpper(DevID) + "/checks", Payload: CheckJSON("", ""), WantReason: "bad_topic"},
		{Name: "unknown kind", Topic: TopicOf("readings"), Payload: CheckJSON("", ""), WantReason: "bad_topic"},
		{Name: "unknown suffix", Topic: checks + "/cbor", Payload: CheckJSON("", ""), WantReason: "bad_topic"},
		{Name: "wrong version", Topic: "calibd/v2/devices/" + DevID + "/checks", Payload: CheckJSON("", ""), WantReason: "bad_topic"},

		// JSON telemetry
		{Name: "telemetry example", Topic: tel,
			Payload: `{"ts":"2026-11-24T08:00:00Z","seq":18,"metrics":{"leveling_error_mm":4.5,"door_cycles":120311}}`,
			Want:    TelemetryMsg(18, map[string]float64{"leveling_error_mm": 4.5, "door_cycles": 120311})},
		{Name: "lifetime counter above a million", Topic: tel,
			Payload: `{"ts":"2026-11-24T08:00:00Z","seq":18,"metrics":{"runs":12000000,"seq":3}}`,
			Want:    TelemetryMsg(18, map[string]float64{"runs": 12000000, "seq": 3})},
		{Name: "64 metrics", Topic: tel, Payload: manyMetrics(64), Want: TelemetryMsg(1, metricsUpTo(64))},
		{Name: "65 metrics", Topic: tel, Payload: manyMetrics(65), WantReason: "too_many_metrics", WantField: "metrics.m64"},
		{Name: "metric name upper case", Topic: tel, Payload: `{"ts":"2026-11-24T08:00:00Z","seq":18,"metrics":{"Door_cycles":1}}`,
			WantReason: "bad_metric", WantField: "metrics.Door_cycles"},
		{Name: "metric name too long", Topic: tel, Payload: `{"ts":"2026-11-24T08:00:00Z","seq":18,"metrics":{"` + strings.Repeat("a", 65) + `":1}}`,
			WantReason: "bad_metric", WantField: "metrics." + strings.Repeat("a", 65)},
		{Name: "metric duplicate", Topic: tel, Payload: `{"ts":"2026-11-24T08:00:00Z","seq":18,"metrics":{"runs":1,"runs":2}}`,
			WantReason: "duplicate_field", WantField: "metrics.runs"},
		{Name: "metric string", Topic: tel, Payload: `{"ts":"2026-11-24T08:00:00Z","seq":18,"metrics":{"runs":"1"}}`,
			WantReason: "bad_type", WantField: "metrics.runs"},
		{Name: "metric too large", Topic: tel, Payload: `{"ts":"2026-11-24T08:00:00Z","seq":18,"metrics":{"runs":2e15}}`,
			WantReason: "out_of_range", WantField: "metrics.runs"},
		{Name: "metrics empty", Topic: tel, Payload: `{"ts":"2026-11-24T08:00:00Z","seq":18,"metrics":{}}`,
			WantReason: "missing_field", WantField: "metrics"},
		{Name: "metrics an array", Topic: tel, Payload: `{"ts":"2026-11-24T08:00:00Z","seq":18,"metrics":[1]}`,
			WantReason: "bad_type", WantField: "metrics"},
		{Name: "check fields on telemetry", Topic: tel, Payload: CheckJSON("", ""), WantReason: "unknown_field", WantField: "reference"},

		// JSON events
		{Name: "event example", Topic: events, Payload: `{"ts":"2026-11-24T08:00:00Z","seq":19,"code":"trapped_passenger","severity":"critical"}`,
			Want: EventMsg(19, "trapped_passenger", devices.SeverityCritical)},
		{Name: "event unknown code", Topic: events, Payload: `{"ts":"2026-11-24T08:00:00Z","seq":19,"code":"Trapped","severity":"critical"}`,
			WantReason: "unknown_code", WantField: "code"},
		{Name: "event unknown severity", Topic: events, Payload: `{"ts":"2026-11-24T08:00:00Z","seq":19,"code":"power_loss","severity":"fatal"}`,
			WantReason: "bad_severity", WantField: "severity"},
		{Name: "event severity missing", Topic: events, Payload: `{"ts":"2026-11-24T08:00:00Z","seq":19,"code":"power_loss"}`,
			WantReason: "missing_field", WantField: "severity"},

		// SenML checks
		{Name: "senml check", Topic: sChecks, Payload: senmlCheck(senmlRef, senmlVal, senmlMode), Want: ok},
		{Name: "senml kelvin from bu", Topic: sChecks,
			Payload: `[{"bn":"` + DevID + `:","bt":` + SenmlT + `,"bu":"K","n":"seq","v":17},{"n":"reference","v":310.15},{"n":"value","v":308.15},{"n":"mode","vs":"body"}]`,
			Want:    CheckMsg(17, ReadingTS, 37.0, 35.0, devices.ModeBody)}, // 308.15−273.15 = 35.00
		{Name: "senml u overrides bu", Topic: sChecks,
			Payload: senmlCheck(`{"bu":"K","n":"reference","v":310.15}`, senmlVal, senmlMode), Want: ok},
		{Name: "senml bare names and t", Topic: sChecks,
			Payload: `[{"bt":1795507100,"n":"seq","v":17,"t":100},{"n":"reference","u":"Cel","v":37,"t":100},{"n":"value","u":"Cel","v":37.08,"t":100},{"n":"mode","vs":"calibration","t":100}]`,
			Want:    ok},
		{Name: "senml base-only header record", Topic: sChecks,
			Payload: `[{"bn":"` + DevID + `/","bt":` + SenmlT + `.25,"bver":10},{"n":"seq","v":17},` + senmlRef + `,` + senmlVal + `,` + senmlMode + `]`,
			Want:    CheckMsg(17, ReadingTS.Add(250*time.Millisecond), 37.0, 37.08, devices.ModeCalibration)},
		{Name: "senml duplicate reference", Topic: sChecks, Payload: senmlCheck(senmlRef, senmlRef, senmlVal, senmlMode), WantReason: "duplicate_field", WantField: "reference"},
		{Name: "senml value missing", Topic: sChecks, Payload: senmlCheck(senmlRef, senmlMode), WantReason: "missing_field", WantField: "value"},
		{Name: "senml mode missing", Topic: sChecks, Payload: senmlCheck(senmlRef, senmlVal), WantReason: "missing_field", WantField: "mode"},
		{Name: "senml seq missing", Topic: sChecks,
			Payload:    `[{"bn":"` + DevID + `:","bt":` + SenmlT + `,"n":"reference","u":"Cel","v":37},` + senmlVal + `,` + senmlMode + `]`,
			WantReason: "missing_field", WantField: "seq"},
		{Name: "senml reference as string", Topic: sChecks, Payload: senmlCheck(`{"n":"reference","u":"Cel","vs":"37"}`, senmlVal, senmlMode), WantReason: "bad_type", WantField: "reference"},
		{Name: "senml no unit", Topic: sChecks, Payload: senmlCheck(`{"n":"reference","v":37}`, senmlVal, senmlMode), WantReason: "missing_field", WantField: "reference"},
		{Name: "senml Fahrenheit", Topic: sChecks, Payload: senmlCheck(`{"n":"reference","u":"degF","v":98.6}`, senmlVal, senmlMode), WantReason: "bad_unit", WantField: "reference"},
		{Name: "senml unit on mode", Topic: sChecks, Payload: senmlCheck(senmlRef, senmlVal, `{"n":"mode","u":"Cel","vs":"body"}`), WantReason: "bad_unit", WantField: "mode"},
		{Name: "senml unit on seq", Topic: sChecks,
			Payload:    `[{"bt":` + SenmlT + `,"n":"seq","u":"Cel","v":17},` + senmlRef + `,` + senmlVal + `,` + senmlMode + `]`,
			WantReason: "bad_unit", WantField: "seq"},
		{Name: "senml seq fraction", Topic: sChecks,
			Payload:    `[{"bt":` + SenmlT + `,"n":"seq","v":17.5},` + senmlRef + `,` + senmlVal + `,` + senmlMode + `]`,
			WantReason: "bad_type", WantField: "seq"},
		{Name: "senml seq negative", Topic: sChecks,
			Payload:    `[{"bt":` + SenmlT + `,"n":"seq","v":-1},` + senmlRef + `,` + senmlVal + `,` + senmlMode + `]`,
			WantReason: "out_of_range", WantField: "seq"},
		{Name: "senml relative time", Topic: sChecks,
			Payload:    `[{"n":"seq","v":17},` + senmlRef + `,` + senmlVal + `,` + senmlMode + `]`,
			WantReason: "bad_timestamp", WantField: "bt"},
		{Name: "senml mixed times", Topic: sChecks, Payload: senmlCheck(senmlRef, `{"n":"value","u":"Cel","v":37.08,"t":1}`, senmlMode), WantReason: "bad_senml", WantField: "[2].t"},
		{Name: "senml too old", Topic: sChecks,
			Payload:    `[{"bt":1794902399,"n":"seq","v":17},` + senmlRef + `,` + senmlVal + `,` + senmlMode + `]`,
			WantReason: "too_old", WantField: "bt"},
		{Name: "senml in future", Topic: sChecks,
			Payload:    `[{"bt":1795507801,"n":"seq","v":17},` + senmlRef + `,` + senmlVal + `,` + senmlMode + `]`,
			WantReason: "in_future", WantField: "bt"},
		{Name: "senml another device", Topic: sChecks,
			Payload:    `[{"bn":"urn:uuid:` + OtherID + `:","bt":` + SenmlT + `,"n":"seq","v":17},` + senmlRef + `,` + senmlVal + `,` + senmlMode + `]`,
			WantReason: "device_mismatch", WantField: "[0].n"},
		{Name: "senml other naming scheme", Topic: sChecks,
			Payload:    `[{"bn":"urn:dev:mac:0024befffe804ff1:","bt":` + SenmlT + `,"n":"seq","v":17},` + senmlRef + `,` + senmlVal + `,` + senmlMode + `]`,
			WantReason: "bad_name", WantField: "[0].n"},
		{Name: "senml name merely ends in value", Topic: sChecks, Payload: senmlCheck(senmlRef, `{"n":"ref_value","u":"Cel","v":37.08}`, senmlMode),
			WantReason: "unknown_field", WantField: "ref_value"},
		{Name: "senml extra record", Topic: sChecks, Payload: senmlCheck(senmlRef, senmlVal, senmlMode, `{"n":"humidity","v":40}`), WantReason: "unknown_field", WantField: "humidity"},
		{Name: "senml sum field", Topic: sChecks, Payload: senmlCheck(senmlRef, `{"n":"value","u":"Cel","v":37.08,"s":1}`, senmlMode), WantReason: "unknown_field", WantField: "[2].s"},
		{Name: "senml base value", Topic: sChecks, Payload: senmlCheck(`{"bv":1,"n":"reference","u":"Cel","v":37}`, senmlVal, senmlMode), WantReason: "unknown_field", WantField: "[1].bv"},
		{Name: "senml version 11", Topic: sChecks, Payload: senmlCheck(`{"bver":11,"n":"reference","u":"Cel","v":37}`, senmlVal, senmlMode), WantReason: "bad_senml", WantField: "[1].bver"},
		{Name: "senml two values", Topic: sChecks, Payload: senmlCheck(senmlRef, senmlToo, senmlMode), WantReason: "bad_senml", WantField: "[2]"},
		{Name: "senml record without value", Topic: sChecks, Payload: senmlCheck(senmlRef, `{"n":"value","u":"Cel"}`, senmlMode), WantReason: "bad_senml", WantField: "[2]"},
		{Name: "senml huge value", Topic: sChecks, Payload: senmlCheck(senmlRef, `{"n":"value","u":"Cel","v":1e300}`, senmlMode), WantReason: "out_of_range", WantField: "value"},
		{Name: "senml empty pack", Topic: sChecks, Payload: `[]`, WantReason: "missing_field"},
		{Name: "senml object not pack", Topic: sChecks, Payload: CheckJSON("", ""), WantReason: "not_json"},
		{Name: "senml record not object", Topic: sChecks, Payload: `[1]`, WantReason: "bad_type", WantField: "[0]"},
		{Name: "senml duplicate key in record", Topic: sChecks, Payload: senmlCheck(senmlRef, `{"n":"value","u":"Cel","v":37.08,"v":40}`, senmlMode), WantReason: "duplicate_field", WantField: "[2].v"},

		// SenML telemetry
		{Name: "senml telemetry", Topic: sTel,
			Payload: `[{"bn":"` + DevID + `:","bt":` + SenmlT + `,"n":"seq","v":18},{"n":"door_cycles","v":120311},{"n":"machine_room_temp","u":"K","v":295.15}]`,
			Want:    TelemetryMsg(18, map[string]float64{"door_cycles": 120311, "machine_room_temp": 22})}, // 295.15−273.15 = 22
		{Name: "senml metric string", Topic: sTel,
			Payload:    `[{"bt":` + SenmlT + `,"n":"seq","v":18},{"n":"door_state","vs":"open"}]`,
			WantReason: "bad_type", WantField: "door_state"},
		{Name: "senml metric in metres", Topic: sTel,
			Payload:    `[{"bt":` + SenmlT + `,"n":"seq","v":18},{"n":"leveling_error","u":"m","v":0.0045}]`,
			WantReason: "bad_unit", WantField: "leveling_error"},
		{Name: "senml metric bad name", Topic: sTel,
			Payload:    `[{"bt":` + SenmlT + `,"n":"seq","v":18},{"n":"Door.Cycles","v":1}]`,
			WantReason: "bad_metric", WantField: "Door.Cycles"},
		{Name: "senml no metrics", Topic: sTel, Payload: `[{"bt":` + SenmlT + `,"n":"seq","v":18}]`, WantReason: "missing_field", WantField: "metrics"},

		// SenML events
		{Name: "senml event", Topic: sEvents, Payload: senmlEvent, Want: EventMsg(19, "trapped_passenger", devices.SeverityCritical)},
		{Name: "senml event code as number", Topic: sEvents,
			Payload:    `[{"bt":` + SenmlT + `,"n":"seq","v":19},{"n":"code","v":3},{"n":"severity","vs":"critical"}]`,
			WantReason: "bad_type", WantField: "code"},
		{Name: "senml event unknown code", Topic: sEvents,
			Payload:    `[{"bt":` + SenmlT + `,"n":"seq","v":19},{"n":"code","vs":"fire"},{"n":"severity","vs":"critical"}]`,
			WantReason: "unknown_code", WantField: "code"},
		{Name: "senml event severity missing", Topic: sEvents,
			Payload:    `[{"bt":` + SenmlT + `,"n":"seq","v":19},{"n":"code","vs":"power_loss"}]`,
			WantReason: "missing_field", WantField: "severity"},
	}
}
