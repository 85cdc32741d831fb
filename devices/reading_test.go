package devices_test

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/calibd/calibd/devices"
)

const (
	devID   = "0b7e6f52-6a41-4c1e-9d43-2f5e8c1a7b90"
	otherID = "5d1c2a34-8f0e-4b6a-a9d7-3c2b1e0f9a68"
	// senmlT is 2026-11-24T08:00:00Z in Unix seconds (date -u -d ... +%s).
	senmlT = "1795507200"
)

// decodeNow is the clock every decode case is judged at: five minutes
// after the readings' 08:00.
var decodeNow = time.Date(2026, 11, 24, 8, 5, 0, 0, time.UTC)

var readingTS = time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)

func topicOf(kind string) string { return "calibd/v1/devices/" + devID + "/" + kind }

func checkMsg(seq int64, ts time.Time, ref, val float64, mode devices.ReadingMode) devices.Message {
	return devices.Message{Kind: devices.MessageChecks, Check: &devices.CheckReading{
		DeviceID: devID, Seq: seq, TS: ts, ReferenceC: ref, ValueC: val, Mode: mode}}
}

func telemetryMsg(seq int64, metrics map[string]float64) devices.Message {
	return devices.Message{Kind: devices.MessageTelemetry, Telemetry: &devices.Telemetry{
		DeviceID: devID, Seq: seq, TS: readingTS, Metrics: metrics}}
}

func eventMsg(seq int64, code string, sev devices.Severity) devices.Message {
	return devices.Message{Kind: devices.MessageEvents, Event: &devices.DeviceEvent{
		DeviceID: devID, Seq: seq, TS: readingTS, Code: code, Severity: sev}}
}

// checkJSON is the contract's example check with one field replaced, added
// when it is not one of the example's, or removed when value is "".
func checkJSON(field, value string) string {
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
	return `[{"bn":"urn:uuid:` + devID + `:","bt":` + senmlT + `,"n":"seq","v":17},` + strings.Join(records, ",") + `]`
}

const (
	senmlRef   = `{"n":"reference","u":"Cel","v":37.0}`
	senmlVal   = `{"n":"value","u":"Cel","v":37.08}`
	senmlMode  = `{"n":"mode","vs":"calibration"}`
	senmlToo   = `{"n":"value","u":"Cel","v":37.08,"vs":"x"}`
	senmlEvent = `[{"bn":"` + devID + `/","bt":` + senmlT + `,"n":"seq","v":19},{"n":"code","vs":"trapped_passenger"},{"n":"severity","vs":"critical"}]`
)

type decodeCase struct {
	name       string
	topic      string
	payload    string
	want       devices.Message
	wantReason string // "" for success
	wantField  string
}

// decodeCases is the table of TestDecode, and the seed corpus of FuzzDecode.
func decodeCases() []decodeCase {
	checks, tel, events := topicOf("checks"), topicOf("telemetry"), topicOf("events")
	sChecks, sTel, sEvents := checks+"/senml", tel+"/senml", events+"/senml"
	ok := checkMsg(17, readingTS, 37.0, 37.08, devices.ModeCalibration)
	return []decodeCase{
		// JSON checks
		{name: "contract example", topic: checks, payload: checkJSON("", ""), want: ok},
		{name: "body mode", topic: checks, payload: checkJSON("mode", `"body"`), want: checkMsg(17, readingTS, 37.0, 37.08, devices.ModeBody)},
		{name: "kelvin converted", topic: checks,
			payload: `{"ts":"2026-11-24T08:00:00Z","seq":17,"reference":310.15,"value":310.23,"unit":"K","mode":"calibration"}`,
			want:    checkMsg(17, readingTS, 37.0, 37.08, devices.ModeCalibration)}, // 310.15−273.15 = 37.00, 310.23−273.15 = 37.08
		{name: "kelvin zero is absolute zero", topic: checks,
			payload: `{"ts":"2026-11-24T08:00:00Z","seq":17,"reference":273.15,"value":0,"unit":"K","mode":"body"}`,
			want:    checkMsg(17, readingTS, 0, -273.15, devices.ModeBody)},
		{name: "offset and fraction to UTC", topic: checks, payload: checkJSON("ts", `"2026-11-24T16:00:00.5+08:00"`),
			want: checkMsg(17, readingTS.Add(500*time.Millisecond), 37.0, 37.08, devices.ModeCalibration)},
		{name: "fields in any order, whitespace", topic: checks,
			payload: " {\"mode\":\"calibration\",\n\"unit\":\"Cel\",\"value\":37.08,\"reference\":37,\"seq\":17,\"ts\":\"2026-11-24T08:00:00Z\"}\n",
			want:    ok},
		{name: "seq zero", topic: checks, payload: checkJSON("seq", "0"), want: checkMsg(0, readingTS, 37.0, 37.08, devices.ModeCalibration)},
		{name: "ts exactly 7 days old", topic: checks, payload: checkJSON("ts", `"2026-11-17T08:05:00Z"`),
			want: checkMsg(17, decodeNow.Add(-7*24*time.Hour), 37.0, 37.08, devices.ModeCalibration)},
		{name: "ts exactly 5 minutes ahead", topic: checks, payload: checkJSON("ts", `"2026-11-24T08:10:00Z"`),
			want: checkMsg(17, decodeNow.Add(5*time.Minute), 37.0, 37.08, devices.ModeCalibration)},
		{name: "mode missing", topic: checks, payload: checkJSON("mode", ""), wantReason: "missing_field", wantField: "mode"},
		{name: "mode null", topic: checks, payload: checkJSON("mode", "null"), wantReason: "missing_field", wantField: "mode"},
		{name: "mode unknown", topic: checks, payload: checkJSON("mode", `"Body"`), wantReason: "bad_mode", wantField: "mode"},
		{name: "seq missing", topic: checks, payload: checkJSON("seq", ""), wantReason: "missing_field", wantField: "seq"},
		{name: "ts missing", topic: checks, payload: checkJSON("ts", ""), wantReason: "missing_field", wantField: "ts"},
		{name: "unit missing", topic: checks, payload: checkJSON("unit", ""), wantReason: "missing_field", wantField: "unit"},
		{name: "reference missing", topic: checks, payload: checkJSON("reference", ""), wantReason: "missing_field", wantField: "reference"},
		{name: "device id in payload", topic: checks, payload: checkJSON("device_id", `"`+otherID+`"`), wantReason: "unknown_field", wantField: "device_id"},
		{name: "field name case", topic: checks, payload: checkJSON("Seq", "18"), wantReason: "unknown_field", wantField: "Seq"},
		{name: "duplicate value", topic: checks, payload: `{"value":42,` + checkJSON("", "")[1:], wantReason: "duplicate_field", wantField: "value"},
		{name: "seq negative", topic: checks, payload: checkJSON("seq", "-1"), wantReason: "out_of_range", wantField: "seq"},
		{name: "seq fraction", topic: checks, payload: checkJSON("seq", "1.5"), wantReason: "bad_type", wantField: "seq"},
		{name: "seq exponent", topic: checks, payload: checkJSON("seq", "1e3"), wantReason: "bad_type", wantField: "seq"},
		{name: "seq string", topic: checks, payload: checkJSON("seq", `"17"`), wantReason: "bad_type", wantField: "seq"},
		{name: "seq overflow", topic: checks, payload: checkJSON("seq", "99999999999999999999"), wantReason: "out_of_range", wantField: "seq"},
		{name: "ts not RFC 3339", topic: checks, payload: checkJSON("ts", `"2026-11-24 08:00:00"`), wantReason: "bad_timestamp", wantField: "ts"},
		{name: "ts without zone", topic: checks, payload: checkJSON("ts", `"2026-11-24T08:00:00"`), wantReason: "bad_timestamp", wantField: "ts"},
		{name: "ts number", topic: checks, payload: checkJSON("ts", senmlT), wantReason: "bad_type", wantField: "ts"},
		{name: "ts too old", topic: checks, payload: checkJSON("ts", `"2026-11-17T08:04:59Z"`), wantReason: "too_old", wantField: "ts"},
		{name: "ts in future", topic: checks, payload: checkJSON("ts", `"2026-11-24T08:10:01Z"`), wantReason: "in_future", wantField: "ts"},
		{name: "unit Fahrenheit", topic: checks, payload: checkJSON("unit", `"degF"`), wantReason: "bad_unit", wantField: "unit"},
		{name: "unit wrong case", topic: checks, payload: checkJSON("unit", `"cel"`), wantReason: "bad_unit", wantField: "unit"},
		{name: "value huge", topic: checks, payload: checkJSON("value", "1e7"), wantReason: "out_of_range", wantField: "value"},
		{name: "value beyond float64", topic: checks, payload: checkJSON("value", "1e400"), wantReason: "out_of_range", wantField: "value"},
		{name: "value string", topic: checks, payload: checkJSON("value", `"37.08"`), wantReason: "bad_type", wantField: "value"},
		{name: "reference below absolute zero", topic: checks, payload: checkJSON("reference", "-300"), wantReason: "out_of_range", wantField: "reference"},
		{name: "negative kelvin", topic: checks,
			payload:    `{"ts":"2026-11-24T08:00:00Z","seq":17,"reference":-1,"value":310,"unit":"K","mode":"calibration"}`,
			wantReason: "out_of_range", wantField: "reference"},
		{name: "not json", topic: checks, payload: "hello", wantReason: "not_json"},
		{name: "empty", topic: checks, payload: "", wantReason: "not_json"},
		{name: "array on a JSON topic", topic: checks, payload: "[" + checkJSON("", "") + "]", wantReason: "not_json"},
		{name: "truncated", topic: checks, payload: checkJSON("", "")[:30], wantReason: "not_json"},
		{name: "data after the object", topic: checks, payload: checkJSON("", "") + "{}", wantReason: "not_json"},
		{name: "invalid UTF-8", topic: checks, payload: checkJSON("mode", "\"calibr\xffation\""), wantReason: "not_json"},
		{name: "too large", topic: checks, payload: checkJSON("", "") + strings.Repeat(" ", 4097-len(checkJSON("", ""))), wantReason: "too_large"},
		{name: "just under the limit", topic: checks, payload: checkJSON("", "") + strings.Repeat(" ", 4096-len(checkJSON("", ""))), want: ok},
		// topics
		{name: "upper-case id", topic: "calibd/v1/devices/" + strings.ToUpper(devID) + "/checks", payload: checkJSON("", ""), wantReason: "bad_topic"},
		{name: "unknown kind", topic: topicOf("readings"), payload: checkJSON("", ""), wantReason: "bad_topic"},
		{name: "unknown suffix", topic: checks + "/cbor", payload: checkJSON("", ""), wantReason: "bad_topic"},
		{name: "wrong version", topic: "calibd/v2/devices/" + devID + "/checks", payload: checkJSON("", ""), wantReason: "bad_topic"},

		// JSON telemetry
		{name: "telemetry example", topic: tel,
			payload: `{"ts":"2026-11-24T08:00:00Z","seq":18,"metrics":{"leveling_error_mm":4.5,"door_cycles":120311}}`,
			want:    telemetryMsg(18, map[string]float64{"leveling_error_mm": 4.5, "door_cycles": 120311})},
		{name: "lifetime counter above a million", topic: tel,
			payload: `{"ts":"2026-11-24T08:00:00Z","seq":18,"metrics":{"runs":12000000,"seq":3}}`,
			want:    telemetryMsg(18, map[string]float64{"runs": 12000000, "seq": 3})},
		{name: "64 metrics", topic: tel, payload: manyMetrics(64), want: telemetryMsg(1, metricsUpTo(64))},
		{name: "65 metrics", topic: tel, payload: manyMetrics(65), wantReason: "too_many_metrics", wantField: "metrics.m64"},
		{name: "metric name upper case", topic: tel, payload: `{"ts":"2026-11-24T08:00:00Z","seq":18,"metrics":{"Door_cycles":1}}`,
			wantReason: "bad_metric", wantField: "metrics.Door_cycles"},
		{name: "metric name too long", topic: tel, payload: `{"ts":"2026-11-24T08:00:00Z","seq":18,"metrics":{"` + strings.Repeat("a", 65) + `":1}}`,
			wantReason: "bad_metric", wantField: "metrics." + strings.Repeat("a", 65)},
		{name: "metric duplicate", topic: tel, payload: `{"ts":"2026-11-24T08:00:00Z","seq":18,"metrics":{"runs":1,"runs":2}}`,
			wantReason: "duplicate_field", wantField: "metrics.runs"},
		{name: "metric string", topic: tel, payload: `{"ts":"2026-11-24T08:00:00Z","seq":18,"metrics":{"runs":"1"}}`,
			wantReason: "bad_type", wantField: "metrics.runs"},
		{name: "metric too large", topic: tel, payload: `{"ts":"2026-11-24T08:00:00Z","seq":18,"metrics":{"runs":2e15}}`,
			wantReason: "out_of_range", wantField: "metrics.runs"},
		{name: "metrics empty", topic: tel, payload: `{"ts":"2026-11-24T08:00:00Z","seq":18,"metrics":{}}`,
			wantReason: "missing_field", wantField: "metrics"},
		{name: "metrics an array", topic: tel, payload: `{"ts":"2026-11-24T08:00:00Z","seq":18,"metrics":[1]}`,
			wantReason: "bad_type", wantField: "metrics"},
		{name: "check fields on telemetry", topic: tel, payload: checkJSON("", ""), wantReason: "unknown_field", wantField: "reference"},

		// JSON events
		{name: "event example", topic: events, payload: `{"ts":"2026-11-24T08:00:00Z","seq":19,"code":"trapped_passenger","severity":"critical"}`,
			want: eventMsg(19, "trapped_passenger", devices.SeverityCritical)},
		{name: "event unknown code", topic: events, payload: `{"ts":"2026-11-24T08:00:00Z","seq":19,"code":"Trapped","severity":"critical"}`,
			wantReason: "unknown_code", wantField: "code"},
		{name: "event unknown severity", topic: events, payload: `{"ts":"2026-11-24T08:00:00Z","seq":19,"code":"power_loss","severity":"fatal"}`,
			wantReason: "bad_severity", wantField: "severity"},
		{name: "event severity missing", topic: events, payload: `{"ts":"2026-11-24T08:00:00Z","seq":19,"code":"power_loss"}`,
			wantReason: "missing_field", wantField: "severity"},

		// SenML checks
		{name: "senml check", topic: sChecks, payload: senmlCheck(senmlRef, senmlVal, senmlMode), want: ok},
		{name: "senml kelvin from bu", topic: sChecks,
			payload: `[{"bn":"` + devID + `:","bt":` + senmlT + `,"bu":"K","n":"seq","v":17},{"n":"reference","v":310.15},{"n":"value","v":308.15},{"n":"mode","vs":"body"}]`,
			want:    checkMsg(17, readingTS, 37.0, 35.0, devices.ModeBody)}, // 308.15−273.15 = 35.00
		{name: "senml u overrides bu", topic: sChecks,
			payload: senmlCheck(`{"bu":"K","n":"reference","v":310.15}`, senmlVal, senmlMode), want: ok},
		{name: "senml bare names and t", topic: sChecks,
			payload: `[{"bt":1795507100,"n":"seq","v":17,"t":100},{"n":"reference","u":"Cel","v":37,"t":100},{"n":"value","u":"Cel","v":37.08,"t":100},{"n":"mode","vs":"calibration","t":100}]`,
			want:    ok},
		{name: "senml base-only header record", topic: sChecks,
			payload: `[{"bn":"` + devID + `/","bt":` + senmlT + `.25,"bver":10},{"n":"seq","v":17},` + senmlRef + `,` + senmlVal + `,` + senmlMode + `]`,
			want:    checkMsg(17, readingTS.Add(250*time.Millisecond), 37.0, 37.08, devices.ModeCalibration)},
		{name: "senml duplicate reference", topic: sChecks, payload: senmlCheck(senmlRef, senmlRef, senmlVal, senmlMode), wantReason: "duplicate_field", wantField: "reference"},
		{name: "senml value missing", topic: sChecks, payload: senmlCheck(senmlRef, senmlMode), wantReason: "missing_field", wantField: "value"},
		{name: "senml mode missing", topic: sChecks, payload: senmlCheck(senmlRef, senmlVal), wantReason: "missing_field", wantField: "mode"},
		{name: "senml seq missing", topic: sChecks,
			payload:    `[{"bn":"` + devID + `:","bt":` + senmlT + `,"n":"reference","u":"Cel","v":37},` + senmlVal + `,` + senmlMode + `]`,
			wantReason: "missing_field", wantField: "seq"},
		{name: "senml reference as string", topic: sChecks, payload: senmlCheck(`{"n":"reference","u":"Cel","vs":"37"}`, senmlVal, senmlMode), wantReason: "bad_type", wantField: "reference"},
		{name: "senml no unit", topic: sChecks, payload: senmlCheck(`{"n":"reference","v":37}`, senmlVal, senmlMode), wantReason: "missing_field", wantField: "reference"},
		{name: "senml Fahrenheit", topic: sChecks, payload: senmlCheck(`{"n":"reference","u":"degF","v":98.6}`, senmlVal, senmlMode), wantReason: "bad_unit", wantField: "reference"},
		{name: "senml unit on mode", topic: sChecks, payload: senmlCheck(senmlRef, senmlVal, `{"n":"mode","u":"Cel","vs":"body"}`), wantReason: "bad_unit", wantField: "mode"},
		{name: "senml unit on seq", topic: sChecks,
			payload:    `[{"bt":` + senmlT + `,"n":"seq","u":"Cel","v":17},` + senmlRef + `,` + senmlVal + `,` + senmlMode + `]`,
			wantReason: "bad_unit", wantField: "seq"},
		{name: "senml seq fraction", topic: sChecks,
			payload:    `[{"bt":` + senmlT + `,"n":"seq","v":17.5},` + senmlRef + `,` + senmlVal + `,` + senmlMode + `]`,
			wantReason: "bad_type", wantField: "seq"},
		{name: "senml seq negative", topic: sChecks,
			payload:    `[{"bt":` + senmlT + `,"n":"seq","v":-1},` + senmlRef + `,` + senmlVal + `,` + senmlMode + `]`,
			wantReason: "out_of_range", wantField: "seq"},
		{name: "senml relative time", topic: sChecks,
			payload:    `[{"n":"seq","v":17},` + senmlRef + `,` + senmlVal + `,` + senmlMode + `]`,
			wantReason: "bad_timestamp", wantField: "bt"},
		{name: "senml mixed times", topic: sChecks, payload: senmlCheck(senmlRef, `{"n":"value","u":"Cel","v":37.08,"t":1}`, senmlMode), wantReason: "bad_senml", wantField: "[2].t"},
		{name: "senml too old", topic: sChecks,
			payload:    `[{"bt":1794902399,"n":"seq","v":17},` + senmlRef + `,` + senmlVal + `,` + senmlMode + `]`,
			wantReason: "too_old", wantField: "bt"},
		{name: "senml in future", topic: sChecks,
			payload:    `[{"bt":1795507801,"n":"seq","v":17},` + senmlRef + `,` + senmlVal + `,` + senmlMode + `]`,
			wantReason: "in_future", wantField: "bt"},
		{name: "senml another device", topic: sChecks,
			payload:    `[{"bn":"urn:uuid:` + otherID + `:","bt":` + senmlT + `,"n":"seq","v":17},` + senmlRef + `,` + senmlVal + `,` + senmlMode + `]`,
			wantReason: "device_mismatch", wantField: "[0].n"},
		{name: "senml other naming scheme", topic: sChecks,
			payload:    `[{"bn":"urn:dev:mac:0024befffe804ff1:","bt":` + senmlT + `,"n":"seq","v":17},` + senmlRef + `,` + senmlVal + `,` + senmlMode + `]`,
			wantReason: "bad_name", wantField: "[0].n"},
		{name: "senml name merely ends in value", topic: sChecks, payload: senmlCheck(senmlRef, `{"n":"ref_value","u":"Cel","v":37.08}`, senmlMode),
			wantReason: "unknown_field", wantField: "ref_value"},
		{name: "senml extra record", topic: sChecks, payload: senmlCheck(senmlRef, senmlVal, senmlMode, `{"n":"humidity","v":40}`), wantReason: "unknown_field", wantField: "humidity"},
		{name: "senml sum field", topic: sChecks, payload: senmlCheck(senmlRef, `{"n":"value","u":"Cel","v":37.08,"s":1}`, senmlMode), wantReason: "unknown_field", wantField: "[2].s"},
		{name: "senml base value", topic: sChecks, payload: senmlCheck(`{"bv":1,"n":"reference","u":"Cel","v":37}`, senmlVal, senmlMode), wantReason: "unknown_field", wantField: "[1].bv"},
		{name: "senml version 11", topic: sChecks, payload: senmlCheck(`{"bver":11,"n":"reference","u":"Cel","v":37}`, senmlVal, senmlMode), wantReason: "bad_senml", wantField: "[1].bver"},
		{name: "senml two values", topic: sChecks, payload: senmlCheck(senmlRef, senmlToo, senmlMode), wantReason: "bad_senml", wantField: "[2]"},
		{name: "senml record without value", topic: sChecks, payload: senmlCheck(senmlRef, `{"n":"value","u":"Cel"}`, senmlMode), wantReason: "bad_senml", wantField: "[2]"},
		{name: "senml huge value", topic: sChecks, payload: senmlCheck(senmlRef, `{"n":"value","u":"Cel","v":1e300}`, senmlMode), wantReason: "out_of_range", wantField: "value"},
		{name: "senml empty pack", topic: sChecks, payload: `[]`, wantReason: "missing_field"},
		{name: "senml object not pack", topic: sChecks, payload: checkJSON("", ""), wantReason: "not_json"},
		{name: "senml record not object", topic: sChecks, payload: `[1]`, wantReason: "bad_type", wantField: "[0]"},
		{name: "senml duplicate key in record", topic: sChecks, payload: senmlCheck(senmlRef, `{"n":"value","u":"Cel","v":37.08,"v":40}`, senmlMode), wantReason: "duplicate_field", wantField: "[2].v"},

		// SenML telemetry
		{name: "senml telemetry", topic: sTel,
			payload: `[{"bn":"` + devID + `:","bt":` + senmlT + `,"n":"seq","v":18},{"n":"door_cycles","v":120311},{"n":"machine_room_temp","u":"K","v":295.15}]`,
			want:    telemetryMsg(18, map[string]float64{"door_cycles": 120311, "machine_room_temp": 22})}, // 295.15−273.15 = 22
		{name: "senml metric string", topic: sTel,
			payload:    `[{"bt":` + senmlT + `,"n":"seq","v":18},{"n":"door_state","vs":"open"}]`,
			wantReason: "bad_type", wantField: "door_state"},
		{name: "senml metric in metres", topic: sTel,
			payload:    `[{"bt":` + senmlT + `,"n":"seq","v":18},{"n":"leveling_error","u":"m","v":0.0045}]`,
			wantReason: "bad_unit", wantField: "leveling_error"},
		{name: "senml metric bad name", topic: sTel,
			payload:    `[{"bt":` + senmlT + `,"n":"seq","v":18},{"n":"Door.Cycles","v":1}]`,
			wantReason: "bad_metric", wantField: "Door.Cycles"},
		{name: "senml no metrics", topic: sTel, payload: `[{"bt":` + senmlT + `,"n":"seq","v":18}]`, wantReason: "missing_field", wantField: "metrics"},

		// SenML events
		{name: "senml event", topic: sEvents, payload: senmlEvent, want: eventMsg(19, "trapped_passenger", devices.SeverityCritical)},
		{name: "senml event code as number", topic: sEvents,
			payload:    `[{"bt":` + senmlT + `,"n":"seq","v":19},{"n":"code","v":3},{"n":"severity","vs":"critical"}]`,
			wantReason: "bad_type", wantField: "code"},
		{name: "senml event unknown code", topic: sEvents,
			payload:    `[{"bt":` + senmlT + `,"n":"seq","v":19},{"n":"code","vs":"fire"},{"n":"severity","vs":"critical"}]`,
			wantReason: "unknown_code", wantField: "code"},
		{name: "senml event severity missing", topic: sEvents,
			payload:    `[{"bt":` + senmlT + `,"n":"seq","v":19},{"n":"code","vs":"power_loss"}]`,
			wantReason: "missing_field", wantField: "severity"},
	}
}

func TestDecode(t *testing.T) {
	for _, tt := range decodeCases() {
		t.Run(tt.name, func(t *testing.T) {
			got, err := devices.Decode(tt.topic, []byte(tt.payload), decodeNow, devices.DecodeLimits{})
			checkDecoded(t, tt.topic, got, err)
			if tt.wantReason != "" {
				var de *devices.DecodeError
				if !errors.As(err, &de) || de.Reason != tt.wantReason || de.Field != tt.wantField {
					t.Fatalf("Decode(%q) = %v, want reason %s field %q", tt.payload, err, tt.wantReason, tt.wantField)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode(%q) = %v, want %v", tt.payload, err, tt.want)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Decode(%q) mismatch (-want +got):\n%s", tt.payload, diff)
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
