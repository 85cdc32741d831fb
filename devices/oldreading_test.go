package devices

// This file keeps the decoder as it was before the hand-written JSON
// splitter (devices/jsonscan.go) replaced encoding/json's Decoder.Token
// walk: the whole old Decode, renamed with an "old" prefix and otherwise
// unchanged, as the oracle the differential tests and fuzz targets compare
// the new decoder with (jsonscan_diff_test.go). It shares only the
// exported types, the reason constants and decodeErr with the new code.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// broker's ACL compares it byte for byte). Any other topic is a
// *DecodeError with reason bad_topic.
func oldParseTopic(topic string) (deviceID string, kind MessageKind, senml bool, err error) {
	bad := func(format string, args ...any) (string, MessageKind, bool, error) {
		return "", "", false, decodeErr(ReasonBadTopic, "", "topic %q: %s", topic, fmt.Sprintf(format, args...))
	}
	rest, ok := strings.CutPrefix(topic, TopicPrefix)
	if !ok {
		return bad("does not start with %q", TopicPrefix)
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 2 && len(parts) != 3 {
		return bad("want %s{id}/{checks|telemetry|events}[/senml]", TopicPrefix)
	}
	id := parts[0]
	if !IsUUID(id) || strings.ToLower(id) != id {
		return bad("device id must be a lower-case UUID")
	}
	kind = MessageKind(parts[1])
	if !kind.Valid() {
		return bad("kind must be checks, telemetry or events")
	}
	if len(parts) == 3 {
		if parts[2] != "senml" {
			return bad("only /senml may follow the kind")
		}
		senml = true
	}
	return id, kind, senml, nil
}

// oldDecode parses a payload published on topic, judged at now within limits.
// Every error is a *DecodeError. The device id comes from the topic only.
func oldDecode(topic string, payload []byte, now time.Time, limits DecodeLimits) (Message, error) {
	id, kind, senml, err := oldParseTopic(topic)
	if err != nil {
		return Message{}, err
	}
	limits = limits.withDefaults()
	if len(payload) > limits.MaxBytes {
		return Message{}, decodeErr(ReasonTooLarge, "", "payload is %d bytes; the limit is %d bytes", len(payload), limits.MaxBytes)
	}
	if !utf8.Valid(payload) {
		return Message{}, decodeErr(ReasonNotJSON, "", "payload is not valid UTF-8")
	}
	d := oldDecoder{id: id, kind: kind, now: now, limits: limits}
	var msg Message
	var derr *DecodeError
	if senml {
		msg, derr = d.senml(payload)
	} else {
		msg, derr = d.json(payload)
	}
	if derr != nil {
		return Message{}, derr
	}
	return msg, nil
}

type oldDecoder struct {
	id     string
	kind   MessageKind
	now    time.Time
	limits DecodeLimits
}

// oldMember is one key and raw value of a JSON object, in order.
type oldMember struct {
	key string
	raw json.RawMessage
}

// oldReadObject reads a JSON object's members, refusing duplicate keys
// (encoding/json would silently keep the last). With top set it also
// refuses anything after the object.
func oldReadObject(data []byte, path string, top bool) ([]oldMember, *DecodeError) {
	where := "payload"
	if path != "" {
		where = path
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, decodeErr(ReasonNotJSON, path, "%s is not JSON: %v", where, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		if top {
			return nil, decodeErr(ReasonNotJSON, path, "%s must be a JSON object", where)
		}
		return nil, decodeErr(ReasonBadType, path, "must be an object, not %s", oldJSONType(json.RawMessage(data)))
	}
	var out []oldMember
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, decodeErr(ReasonNotJSON, path, "%s is not JSON: %v", where, err)
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, decodeErr(ReasonNotJSON, path, "%s is not JSON: %v", where, err)
		}
		if seen[key] {
			return nil, decodeErr(ReasonDuplicateField, oldJoin(path, key), "given twice")
		}
		seen[key] = true
		out = append(out, oldMember{key: key, raw: raw})
	}
	if _, err := dec.Token(); err != nil {
		return nil, decodeErr(ReasonNotJSON, path, "%s is not JSON: %v", where, err)
	}
	if top {
		if _, err := dec.Token(); err != io.EOF {
			return nil, decodeErr(ReasonNotJSON, path, "%s has data after the JSON value", where)
		}
	}
	return out, nil
}

func oldJoin(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// oldJSONType names the JSON type of a raw value.
func oldJSONType(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

func oldRawString(raw json.RawMessage, field string) (string, *DecodeError) {
	if t := oldJSONType(raw); t != "string" {
		return "", decodeErr(ReasonBadType, field, "must be a string, not %s", t)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", decodeErr(ReasonNotJSON, field, "bad string: %v", err)
	}
	return s, nil
}

// oldRawNumber parses a JSON number; a literal too large for a float64 is
// out_of_range, as is any value beyond ±limit.
func oldRawNumber(raw json.RawMessage, field string, limit float64) (float64, *DecodeError) {
	if t := oldJSONType(raw); t != "number" {
		return 0, decodeErr(ReasonBadType, field, "must be a number, not %s", t)
	}
	lit := string(bytes.TrimSpace(raw))
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, decodeErr(ReasonOutOfRange, field, "%s is not a finite number", lit)
	}
	if math.Abs(f) > limit {
		return 0, decodeErr(ReasonOutOfRange, field, "%s is outside ±%g", lit, limit)
	}
	return f, nil
}

// oldRawSeq parses seq: a JSON integer literal, 0 or more.
func oldRawSeq(raw json.RawMessage, field string) (int64, *DecodeError) {
	if t := oldJSONType(raw); t != "number" {
		return 0, decodeErr(ReasonBadType, field, "must be an integer, not %s", t)
	}
	lit := string(bytes.TrimSpace(raw))
	if strings.ContainsAny(lit, ".eE") {
		return 0, decodeErr(ReasonBadType, field, "%s is not an integer", lit)
	}
	n, err := strconv.ParseInt(lit, 10, 64)
	if err != nil {
		return 0, decodeErr(ReasonOutOfRange, field, "%s does not fit a 64-bit integer", lit)
	}
	if n < 0 {
		return 0, decodeErr(ReasonOutOfRange, field, "must be 0 or more, not %d", n)
	}
	return n, nil
}

// window checks ts against now and the limits.
func (d oldDecoder) window(ts time.Time, field string) *DecodeError {
	if ts.After(d.now.Add(d.limits.MaxFuture)) {
		return decodeErr(ReasonInFuture, field, "%s is more than %s ahead of now (%s)",
			ts.Format(time.RFC3339Nano), d.limits.MaxFuture, d.now.UTC().Format(time.RFC3339))
	}
	if ts.Before(d.now.Add(-d.limits.MaxAge)) {
		return decodeErr(ReasonTooOld, field, "%s is more than %s before now (%s)",
			ts.Format(time.RFC3339Nano), d.limits.MaxAge, d.now.UTC().Format(time.RFC3339))
	}
	return nil
}

// oldToCelsius checks a temperature's unit and converts it to °C.
func oldToCelsius(v float64, unit, field string) (float64, *DecodeError) {
	switch unit {
	case "Cel":
		if v < -kelvinOffset {
			return 0, decodeErr(ReasonOutOfRange, field, "%g °C is below absolute zero", v)
		}
		return v, nil
	case "K":
		if v < 0 {
			return 0, decodeErr(ReasonOutOfRange, field, "%g K is below absolute zero", v)
		}
		// Round to a micro-kelvin so 310.15 K reads 37 °C, not 36.99999999999997.
		return math.Round((v-kelvinOffset)*1e6) / 1e6, nil
	}
	return 0, decodeErr(ReasonBadUnit, field, "unit %q is not Cel or K", unit)
}

// oldFields are a JSON object's members by key.
type oldFields map[string]json.RawMessage

// oldObjectFields checks an object's members: each key must be allowed, and
// every allowed key is required and must not be null.
func oldObjectFields(ms []oldMember, path string, allowed []string) (oldFields, *DecodeError) {
	f := oldFields{}
	for _, m := range ms {
		if !slices.Contains(allowed, m.key) {
			return nil, decodeErr(ReasonUnknownField, oldJoin(path, m.key), "not a field of this message (want %s)", strings.Join(allowed, ", "))
		}
		if oldJSONType(m.raw) == "null" {
			continue // null counts as absent
		}
		f[m.key] = m.raw
	}
	for _, k := range allowed {
		if _, ok := f[k]; !ok {
			return nil, decodeErr(ReasonMissingField, oldJoin(path, k), "required")
		}
	}
	return f, nil
}

var oldJSONFields = map[MessageKind][]string{
	MessageChecks:    {"ts", "seq", "reference", "value", "unit", "mode"},
	MessageTelemetry: {"ts", "seq", "metrics"},
	MessageEvents:    {"ts", "seq", "code", "severity"},
}

// json decodes the plain JSON form.
func (d oldDecoder) json(payload []byte) (Message, *DecodeError) {
	ms, err := oldReadObject(payload, "", true)
	if err != nil {
		return Message{}, err
	}
	f, err := oldObjectFields(ms, "", oldJSONFields[d.kind])
	if err != nil {
		return Message{}, err
	}
	seq, err := oldRawSeq(f["seq"], "seq")
	if err != nil {
		return Message{}, err
	}
	tsText, err := oldRawString(f["ts"], "ts")
	if err != nil {
		return Message{}, err
	}
	ts, perr := time.Parse(time.RFC3339Nano, tsText)
	if perr != nil {
		return Message{}, decodeErr(ReasonBadTimestamp, "ts", "%q is not an RFC 3339 time", tsText)
	}
	ts = ts.UTC()
	if err := d.window(ts, "ts"); err != nil {
		return Message{}, err
	}
	switch d.kind {
	case MessageChecks:
		unit, err := oldRawString(f["unit"], "unit")
		if err != nil {
			return Message{}, err
		}
		if unit != "Cel" && unit != "K" {
			return Message{}, decodeErr(ReasonBadUnit, "unit", "unit %q is not Cel or K", unit)
		}
		c := CheckReading{DeviceID: d.id, Seq: seq, TS: ts}
		for _, t := range []struct {
			name string
			dst  *float64
		}{{"reference", &c.ReferenceC}, {"value", &c.ValueC}} {
			v, err := oldRawNumber(f[t.name], t.name, MaxTemperature)
			if err != nil {
				return Message{}, err
			}
			if *t.dst, err = oldToCelsius(v, unit, t.name); err != nil {
				return Message{}, err
			}
		}
		mode, err := oldRawString(f["mode"], "mode")
		if err != nil {
			return Message{}, err
		}
		if c.Mode, err = oldCheckMode(mode, "mode"); err != nil {
			return Message{}, err
		}
		return Message{Kind: MessageChecks, Check: &c}, nil
	case MessageTelemetry:
		ms, err := oldReadObject(f["metrics"], "metrics", false)
		if err != nil {
			return Message{}, err
		}
		tel := Telemetry{DeviceID: d.id, Seq: seq, TS: ts, Metrics: map[string]float64{}}
		for _, m := range ms {
			if err := oldAddMetric(tel.Metrics, m.key, "metrics."+m.key); err != nil {
				return Message{}, err
			}
			v, err := oldRawNumber(m.raw, "metrics."+m.key, MaxMetricValue)
			if err != nil {
				return Message{}, err
			}
			tel.Metrics[m.key] = v
		}
		if len(tel.Metrics) == 0 {
			return Message{}, decodeErr(ReasonMissingField, "metrics", "must hold at least one metric")
		}
		return Message{Kind: MessageTelemetry, Telemetry: &tel}, nil
	default:
		ev := DeviceEvent{DeviceID: d.id, Seq: seq, TS: ts}
		code, err := oldRawString(f["code"], "code")
		if err != nil {
			return Message{}, err
		}
		sev, err := oldRawString(f["severity"], "severity")
		if err != nil {
			return Message{}, err
		}
		if ev.Code, ev.Severity, err = oldCheckEvent(code, sev, "code", "severity"); err != nil {
			return Message{}, err
		}
		return Message{Kind: MessageEvents, Event: &ev}, nil
	}
}

func oldCheckMode(s, field string) (ReadingMode, *DecodeError) {
	m := ReadingMode(s)
	if !m.Valid() {
		return "", decodeErr(ReasonBadMode, field, "mode %q is not calibration or body", s)
	}
	return m, nil
}

func oldCheckEvent(code, sev, codeField, sevField string) (string, Severity, *DecodeError) {
	if !KnownEventCode(code) {
		return "", "", decodeErr(ReasonUnknownCode, codeField, "%q is not a known event code", code)
	}
	s := Severity(sev)
	if !s.Valid() {
		return "", "", decodeErr(ReasonBadSeverity, sevField, "%q is not info, warning or critical", sev)
	}
	return code, s, nil
}

// oldAddMetric checks a new metric's name against the rules and the metrics
// already collected (it does not store the value).
func oldAddMetric(metrics map[string]float64, name, field string) *DecodeError {
	if !oldValidMetricName(name) {
		return decodeErr(ReasonBadMetric, field, "metric name %q must be 1 to 64 of a-z, 0-9 and _", name)
	}
	if _, dup := metrics[name]; dup {
		return decodeErr(ReasonDuplicateField, field, "metric %q given twice", name)
	}
	if len(metrics) >= MaxMetrics {
		return decodeErr(ReasonTooManyMetrics, field, "more than %d metrics", MaxMetrics)
	}
	return nil
}

func oldValidMetricName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// oldSenmlRecord is one SenML record after base-field resolution.
type oldSenmlRecord struct {
	index    int    // position in the pack, for error messages
	name     string // the FIELD part of bn+n
	unit     string // u, else the inherited bu
	explicit bool   // unit came from u
	v        *float64
	vs       *string
	vb       *bool
	time     float64 // bt + t, seconds
}

var oldSenmlRecordFields = []string{"bn", "bt", "bu", "bver", "n", "u", "v", "vs", "vb", "t"}

// senmlRecords reads a pack into resolved records; base-only records
// (no n, u, t or value) only update the base values.
func (d oldDecoder) senmlRecords(payload []byte) ([]oldSenmlRecord, *DecodeError) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	tok, err := dec.Token()
	if err != nil {
		return nil, decodeErr(ReasonNotJSON, "", "payload is not JSON: %v", err)
	}
	if dl, ok := tok.(json.Delim); !ok || dl != '[' {
		return nil, decodeErr(ReasonNotJSON, "", "a SenML payload must be a JSON array of records")
	}
	var raws []json.RawMessage
	for dec.More() {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, decodeErr(ReasonNotJSON, "", "payload is not JSON: %v", err)
		}
		raws = append(raws, raw)
	}
	if _, err := dec.Token(); err != nil {
		return nil, decodeErr(ReasonNotJSON, "", "payload is not JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, decodeErr(ReasonNotJSON, "", "payload has data after the JSON array")
	}
	var (
		bn, bu string
		bt     float64
		out    []oldSenmlRecord
	)
	for i, raw := range raws {
		path := fmt.Sprintf("[%d]", i)
		ms, derr := oldReadObject(raw, path, false)
		if derr != nil {
			return nil, derr
		}
		var (
			rec        = oldSenmlRecord{index: i}
			n          string
			t          float64
			hasN, hasT bool
			hasU       bool
			valueCount int
		)
		for _, m := range ms {
			field := path + "." + m.key
			if !slices.Contains(oldSenmlRecordFields, m.key) {
				return nil, decodeErr(ReasonUnknownField, field, "not a SenML field this decoder understands (want %s)", strings.Join(oldSenmlRecordFields, ", "))
			}
			switch m.key {
			case "bn":
				if bn, derr = oldRawString(m.raw, field); derr != nil {
					return nil, derr
				}
			case "bu":
				if bu, derr = oldRawString(m.raw, field); derr != nil {
					return nil, derr
				}
			case "bt":
				if bt, derr = oldRawNumber(m.raw, field, anyFinite); derr != nil {
					return nil, derr
				}
			case "bver":
				ver, derr := oldRawNumber(m.raw, field, anyFinite)
				if derr != nil {
					return nil, derr
				}
				if ver != math.Trunc(ver) || ver < 1 || ver > 10 {
					return nil, decodeErr(ReasonBadSenML, field, "SenML version %g is not supported (want 1 to 10)", ver)
				}
			case "n":
				if n, derr = oldRawString(m.raw, field); derr != nil {
					return nil, derr
				}
				hasN = true
			case "u":
				if rec.unit, derr = oldRawString(m.raw, field); derr != nil {
					return nil, derr
				}
				hasU = true
			case "t":
				if t, derr = oldRawNumber(m.raw, field, anyFinite); derr != nil {
					return nil, derr
				}
				hasT = true
			case "v":
				if oldJSONType(m.raw) != "number" {
					return nil, decodeErr(ReasonBadType, field, "must be a number, not %s", oldJSONType(m.raw))
				}
				// The range depends on the name; check it when mapping.
				f, derr := oldRawNumber(m.raw, field, anyFinite)
				if derr != nil {
					return nil, derr
				}
				rec.v = &f
				valueCount++
			case "vs":
				s, derr := oldRawString(m.raw, field)
				if derr != nil {
					return nil, derr
				}
				rec.vs = &s
				valueCount++
			case "vb":
				if jt := oldJSONType(m.raw); jt != "boolean" {
					return nil, decodeErr(ReasonBadType, field, "must be a boolean, not %s", jt)
				}
				b := bytes.HasPrefix(bytes.TrimSpace(m.raw), []byte("t"))
				rec.vb = &b
				valueCount++
			}
		}
		if valueCount == 0 && !hasN && !hasT && !hasU {
			continue // a base-only record
		}
		if valueCount != 1 {
			return nil, decodeErr(ReasonBadSenML, path, "a record must carry exactly one of v, vs and vb, not %d", valueCount)
		}
		full := bn + n
		if full == "" {
			return nil, decodeErr(ReasonMissingField, path+".n", "record has no name (bn + n is empty)")
		}
		if rec.name, derr = d.senmlField(full, path+".n"); derr != nil {
			return nil, derr
		}
		rec.explicit = hasU
		if !hasU {
			rec.unit = bu
		}
		rec.time = bt + t
		out = append(out, rec)
	}
	if len(out) == 0 {
		return nil, decodeErr(ReasonMissingField, "", "SenML pack has no records")
	}
	return out, nil
}

// senmlField strips the device prefix from a resolved name and returns
// the field it names.
func (d oldDecoder) senmlField(full, field string) (string, *DecodeError) {
	i := strings.LastIndexAny(full, ":/")
	if i < 0 {
		return full, nil
	}
	prefix, name := full[:i], full[i+1:]
	if prefix == d.id || prefix == "urn:uuid:"+d.id {
		if name == "" {
			return "", decodeErr(ReasonBadName, field, "name %q has nothing after the device", full)
		}
		return name, nil
	}
	other := strings.TrimPrefix(prefix, "urn:uuid:")
	if IsUUID(other) {
		return "", decodeErr(ReasonDeviceMismatch, field, "name %q speaks for device %s, not %s", full, other, d.id)
	}
	return "", decodeErr(ReasonBadName, field, "name %q must be FIELD, ID:FIELD, ID/FIELD or urn:uuid:ID:FIELD for device %s", full, d.id)
}

// oldSenmlTime converts a record time to a UTC time, refusing relative and
// unrepresentable times.
func oldSenmlTime(secs float64, field string) (time.Time, *DecodeError) {
	if !(secs >= senmlAbsoluteTime) { // also NaN
		return time.Time{}, decodeErr(ReasonBadTimestamp, field,
			"time %g is relative (below 2^28, RFC 8428 §4.5.3); send bt as seconds since 1970-01-01T00:00:00Z", secs)
	}
	if secs > 253402300799 { // 9999-12-31T23:59:59Z
		return time.Time{}, decodeErr(ReasonBadTimestamp, field, "time %g is beyond the year 9999", secs)
	}
	whole := math.Floor(secs)
	ns := math.Round((secs - whole) * 1e9)
	return time.Unix(int64(whole), int64(ns)).Round(time.Microsecond).UTC(), nil
}

// senml decodes a SenML JSON pack with the mapping described at the top
// of this file.
func (d oldDecoder) senml(payload []byte) (Message, *DecodeError) {
	recs, derr := d.senmlRecords(payload)
	if derr != nil {
		return Message{}, derr
	}
	for _, r := range recs[1:] {
		if r.time != recs[0].time {
			return Message{}, decodeErr(ReasonBadSenML, fmt.Sprintf("[%d].t", r.index),
				"record %q has time %g, record %q has %g; one message is one observation", r.name, r.time, recs[0].name, recs[0].time)
		}
	}
	ts, derr := oldSenmlTime(recs[0].time, "bt")
	if derr != nil {
		return Message{}, derr
	}
	if derr := d.window(ts, "bt"); derr != nil {
		return Message{}, derr
	}
	byName := map[string]oldSenmlRecord{}
	var order []string
	for _, r := range recs {
		if _, dup := byName[r.name]; dup {
			return Message{}, decodeErr(ReasonDuplicateField, r.name, "record %q given twice", r.name)
		}
		byName[r.name] = r
		order = append(order, r.name)
	}
	need := func(name string) (oldSenmlRecord, *DecodeError) {
		r, ok := byName[name]
		if !ok {
			return r, decodeErr(ReasonMissingField, name, "SenML pack has no record named %q", name)
		}
		return r, nil
	}
	needString := func(name string) (string, *DecodeError) {
		r, derr := need(name)
		if derr != nil {
			return "", derr
		}
		return oldSenmlString(r)
	}
	seqRec, derr := need("seq")
	if derr != nil {
		return Message{}, derr
	}
	seq, derr := oldSenmlSeq(seqRec)
	if derr != nil {
		return Message{}, derr
	}
	var allowed []string
	switch d.kind {
	case MessageChecks:
		allowed = []string{"seq", "reference", "value", "mode"}
	case MessageEvents:
		allowed = []string{"seq", "code", "severity"}
	}
	if allowed != nil {
		for _, name := range order {
			if !slices.Contains(allowed, name) {
				return Message{}, decodeErr(ReasonUnknownField, name, "not a record of this message (want %s)", strings.Join(allowed, ", "))
			}
		}
	}
	switch d.kind {
	case MessageChecks:
		c := CheckReading{DeviceID: d.id, Seq: seq, TS: ts}
		for _, t := range []struct {
			name string
			dst  *float64
		}{{"reference", &c.ReferenceC}, {"value", &c.ValueC}} {
			r, derr := need(t.name)
			if derr != nil {
				return Message{}, derr
			}
			if *t.dst, derr = oldSenmlNumber(r, MaxTemperature, true); derr != nil {
				return Message{}, derr
			}
		}
		mode, derr := needString("mode")
		if derr != nil {
			return Message{}, derr
		}
		if c.Mode, derr = oldCheckMode(mode, "mode"); derr != nil {
			return Message{}, derr
		}
		return Message{Kind: MessageChecks, Check: &c}, nil
	case MessageTelemetry:
		tel := Telemetry{DeviceID: d.id, Seq: seq, TS: ts, Metrics: map[string]float64{}}
		for _, name := range order {
			if name == "seq" {
				continue
			}
			if derr := oldAddMetric(tel.Metrics, name, name); derr != nil {
				return Message{}, derr
			}
			v, derr := oldSenmlNumber(byName[name], MaxMetricValue, false)
			if derr != nil {
				return Message{}, derr
			}
			tel.Metrics[name] = v
		}
		if len(tel.Metrics) == 0 {
			return Message{}, decodeErr(ReasonMissingField, "metrics", "SenML pack has no metric records")
		}
		return Message{Kind: MessageTelemetry, Telemetry: &tel}, nil
	default:
		ev := DeviceEvent{DeviceID: d.id, Seq: seq, TS: ts}
		code, derr := needString("code")
		if derr != nil {
			return Message{}, derr
		}
		sev, derr := needString("severity")
		if derr != nil {
			return Message{}, derr
		}
		if ev.Code, ev.Severity, derr = oldCheckEvent(code, sev, "code", "severity"); derr != nil {
			return Message{}, derr
		}
		return Message{Kind: MessageEvents, Event: &ev}, nil
	}
}

// oldSenmlSeq reads the seq record: v, a whole number from 0 to 2^53, no u.
func oldSenmlSeq(r oldSenmlRecord) (int64, *DecodeError) {
	if r.v == nil {
		return 0, decodeErr(ReasonBadType, "seq", "the seq record must carry v")
	}
	if r.explicit {
		return 0, decodeErr(ReasonBadUnit, "seq", "the seq record takes no unit, not %q", r.unit)
	}
	v := *r.v
	if v != math.Trunc(v) {
		return 0, decodeErr(ReasonBadType, "seq", "%g is not an integer", v)
	}
	if v < 0 || v > maxSeqSenML {
		return 0, decodeErr(ReasonOutOfRange, "seq", "%g is outside 0 to 2^53", v)
	}
	return int64(v), nil
}

// oldSenmlString reads a record that carries vs and no unit of its own.
func oldSenmlString(r oldSenmlRecord) (string, *DecodeError) {
	if r.vs == nil {
		return "", decodeErr(ReasonBadType, r.name, "the %s record must carry vs", r.name)
	}
	if r.explicit {
		return "", decodeErr(ReasonBadUnit, r.name, "the %s record takes no unit, not %q", r.name, r.unit)
	}
	return *r.vs, nil
}

// oldSenmlNumber reads a numeric record within ±limit. A Cel or K unit
// is converted to °C; with unitRequired unset, no unit passes the value
// through and any other unit is refused.
func oldSenmlNumber(r oldSenmlRecord, limit float64, unitRequired bool) (float64, *DecodeError) {
	if r.v == nil {
		return 0, decodeErr(ReasonBadType, r.name, "the %s record must carry v", r.name)
	}
	v := *r.v
	if math.Abs(v) > limit {
		return 0, decodeErr(ReasonOutOfRange, r.name, "%g is outside ±%g", v, limit)
	}
	if r.unit == "" {
		if unitRequired {
			return 0, decodeErr(ReasonMissingField, r.name, "the %s record needs a unit (u or bu): Cel or K", r.name)
		}
		return v, nil
	}
	return oldToCelsius(v, r.unit, r.name)
}

// oldReadArray is the old senmlRecords' walk of the pack, cut out of it
// unchanged so that readArray can be compared with it alone.
func oldReadArray(payload []byte) ([]json.RawMessage, *DecodeError) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	tok, err := dec.Token()
	if err != nil {
		return nil, decodeErr(ReasonNotJSON, "", "payload is not JSON: %v", err)
	}
	if dl, ok := tok.(json.Delim); !ok || dl != '[' {
		return nil, decodeErr(ReasonNotJSON, "", "a SenML payload must be a JSON array of records")
	}
	var raws []json.RawMessage
	for dec.More() {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, decodeErr(ReasonNotJSON, "", "payload is not JSON: %v", err)
		}
		raws = append(raws, raw)
	}
	if _, err := dec.Token(); err != nil {
		return nil, decodeErr(ReasonNotJSON, "", "payload is not JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, decodeErr(ReasonNotJSON, "", "payload has data after the JSON array")
	}
	return raws, nil
}
