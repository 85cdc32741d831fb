package devices

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// This file decodes what devices publish over MQTT (ARCHITECTURE.md
// "Stable contract"): check readings, telemetry and fault events, as plain
// JSON objects or as SenML JSON packs (RFC 8428) on the /senml topics. The
// decoders are pure: the caller passes the clock and the limits, and gets
// either a Message or a *DecodeError whose Reason the ingest counts dead
// letters by. Whether the device exists and whether a value lies within its
// range are the ingest's business (it has the device); see
// CheckReading.InRange.
//
// SenML mapping. A pack is a JSON array of records. Base fields bn, bt, bu
// and bver apply to the record that carries them and to every later one
// (RFC 8428 §4.6); record fields n, u, v, vs, vb and t are understood;
// any other field (bv, bs, s, ut, vd, ...) is refused as unknown_field. A
// record's name is bn+n; it must be FIELD, ID:FIELD, ID/FIELD,
// urn:uuid:ID:FIELD or urn:uuid:ID/FIELD where ID is the topic's device id,
// so no record can speak for another device. The FIELDs are:
//
//	checks     seq (v), reference (v, u), value (v, u), mode (vs)
//	telemetry  seq (v); every other record is a metric named FIELD (v)
//	events     seq (v), code (vs), severity (vs)
//
// Each FIELD appears once. Temperatures need a unit, in u or inherited from
// bu: Cel, or K which is converted to °C. Telemetry metrics may carry Cel or
// K (converted) or no unit; any other unit is refused because the metric's
// unit is part of its name (leveling_error_mm), as in the JSON form. seq,
// mode, code and severity ignore an inherited bu but refuse an explicit u.
// Every record's time is bt+t in seconds since the Unix epoch and all
// records must carry the same time. Relative times (below 2^28, which
// RFC 8428 §4.5.3 reads as relative to now, including an absent time) are
// refused: the device must state when it measured, so that a redelivered
// message keeps its timestamp and drift detectors see the true order. Only
// SenML version 10 (bver absent or at most 10) is understood.

// MessageKind is which device topic a message arrived on.
type MessageKind string

// Message kinds, one per device topic.
const (
	MessageChecks    MessageKind = "checks"
	MessageTelemetry MessageKind = "telemetry"
	MessageEvents    MessageKind = "events"
)

// MessageKinds lists every kind.
var MessageKinds = []MessageKind{MessageChecks, MessageTelemetry, MessageEvents}

// Valid reports whether k is a known kind.
func (k MessageKind) Valid() bool { return slices.Contains(MessageKinds, k) }

// TopicPrefix starts every device topic; the device id and the kind
// follow, then "/senml" for SenML JSON.
const TopicPrefix = "calibd/v1/devices/"

// DeviceTopic is the topic a device publishes kind on.
func DeviceTopic(deviceID string, kind MessageKind, senml bool) string {
	t := TopicPrefix + deviceID + "/" + string(kind)
	if senml {
		t += "/senml"
	}
	return t
}

// CheckReading is one reading of a reference source: the thermometer
// pointed at a blackbody (or a thermograph at its in-scene reference) of
// known temperature ReferenceC and displayed ValueC.
type CheckReading struct {
	DeviceID   string
	Seq        int64
	TS         time.Time // UTC
	ReferenceC float64
	ValueC     float64
	// Mode says how the device computed ValueC. Only calibration-mode
	// readings may be judged against the MPE (DOMAIN.md §1.1).
	Mode ReadingMode
}

// ErrorC is the check error e = value − reference, in °C.
func (r CheckReading) ErrorC() float64 { return r.ValueC - r.ReferenceC }

// InRange reports whether the displayed value lies within the device's
// measuring range [minC, maxC], bounds included.
func (r CheckReading) InRange(minC, maxC float64) bool { return r.ValueC >= minC && r.ValueC <= maxC }

// Telemetry is a set of counters and levels a device reported at one time.
type Telemetry struct {
	DeviceID string
	Seq      int64
	TS       time.Time // UTC
	Metrics  map[string]float64
}

// DeviceEvent is a fault or event a device reported.
type DeviceEvent struct {
	DeviceID string
	Seq      int64
	TS       time.Time // UTC
	Code     string    // one of DeviceEventCodes
	Severity Severity
}

// Message is one decoded device message: Kind says which one of Check,
// Telemetry and Event is set; the other two are nil.
type Message struct {
	Kind      MessageKind
	Check     *CheckReading
	Telemetry *Telemetry
	Event     *DeviceEvent
}

// DeviceID, Seq and TS identify and date the message whatever its kind;
// (DeviceID, Seq) is the idempotency key. They are zero for a zero Message.
func (m Message) DeviceID() string { id, _, _ := m.header(); return id }

// Seq is the message's sequence number.
func (m Message) Seq() int64 { _, seq, _ := m.header(); return seq }

// TS is when the device says it measured.
func (m Message) TS() time.Time { _, _, ts := m.header(); return ts }

func (m Message) header() (string, int64, time.Time) {
	switch {
	case m.Check != nil:
		return m.Check.DeviceID, m.Check.Seq, m.Check.TS
	case m.Telemetry != nil:
		return m.Telemetry.DeviceID, m.Telemetry.Seq, m.Telemetry.TS
	case m.Event != nil:
		return m.Event.DeviceID, m.Event.Seq, m.Event.TS
	}
	return "", 0, time.Time{}
}

// DeviceEventCodes lists the fault and event codes a device may report:
// the lift faults of GB/T 24476 monitoring (DOMAIN.md §4.3) and a few
// thermometer self-check faults.
var DeviceEventCodes = []string{
	// lifts
	"trapped_passenger",      // passengers trapped in the car
	"door_open_while_moving", // car moved with a door open
	"unintended_movement",    // car moved away from a landing with the doors open (UCM)
	"stop_outside_door_zone", // car stopped outside a door zone
	"overspeed",              // speed above the rated limit
	"overtravel_top",         // car ran past the top terminal floor (冲顶)
	"overtravel_bottom",      // car ran past the bottom terminal floor (蹲底)
	"speed_anomaly",          // speed outside its expected profile
	"safety_circuit_open",    // safety circuit interrupted
	"lock_circuit_open",      // door lock circuit interrupted
	"door_fault",             // doors failed to open or close
	"landing_button_stuck",   // a landing call button stays pressed
	"power_loss",             // mains power lost
	"power_restored",         // mains power back
	"inspection_mode",        // lift switched to inspection (maintenance) operation
	"normal_mode",            // lift back in normal operation
	// thermometers and any device
	"self_check_failed",        // the device's built-in self-check failed
	"sensor_fault",             // the sensing element reports a fault
	"reference_source_fault",   // the in-scene or portable reference source is unstable or absent
	"ambient_out_of_range",     // room temperature or humidity outside the operating conditions
	"battery_low",              // battery below its low mark
	"clock_unsynchronised",     // the device's clock lost its time source
	"firmware_updated",         // new firmware running
	"tamper_detected",          // housing opened or the device moved
	"communication_restored",   // back online after a gap
	"configuration_changed",    // settings changed on the device
	"calibration_mode_entered", // switched to calibration (unadjusted) mode
	"body_mode_entered",        // switched to body (adjusted) mode
}

// KnownEventCode reports whether code is one of DeviceEventCodes.
func KnownEventCode(code string) bool { return slices.Contains(DeviceEventCodes, code) }

// Decode reasons: short stable slugs the ingest counts dead letters by.
const (
	ReasonBadTopic       = "bad_topic"        // not a device topic of this contract
	ReasonTooLarge       = "too_large"        // payload above DecodeLimits.MaxBytes
	ReasonNotJSON        = "not_json"         // not UTF-8, not JSON, or not the expected object/array
	ReasonUnknownField   = "unknown_field"    // a field the contract does not define
	ReasonDuplicateField = "duplicate_field"  // a field (or SenML name, or metric) given twice
	ReasonMissingField   = "missing_field"    // a required field absent or null
	ReasonBadType        = "bad_type"         // a field of the wrong JSON type, or seq not an integer
	ReasonBadTimestamp   = "bad_timestamp"    // ts not RFC 3339, or a relative/unrepresentable SenML time
	ReasonTooOld         = "too_old"          // ts older than DecodeLimits.MaxAge
	ReasonInFuture       = "in_future"        // ts more than DecodeLimits.MaxFuture ahead
	ReasonBadUnit        = "bad_unit"         // a unit other than Cel or K, or a unit where none belongs
	ReasonOutOfRange     = "out_of_range"     // a number too large, negative seq, below absolute zero
	ReasonBadMode        = "bad_mode"         // mode other than calibration or body
	ReasonUnknownCode    = "unknown_code"     // event code not in DeviceEventCodes
	ReasonBadSeverity    = "bad_severity"     // severity other than info, warning, critical
	ReasonBadMetric      = "bad_metric"       // metric name not [a-z0-9_]{1,64}
	ReasonTooManyMetrics = "too_many_metrics" // more than MaxMetrics metrics
	ReasonBadName        = "bad_name"         // a SenML name not of the mapped forms
	ReasonDeviceMismatch = "device_mismatch"  // a SenML name speaks for another device
	ReasonBadSenML       = "bad_senml"        // a SenML pack this decoder cannot read unambiguously
)

// DecodeReasons lists every reason Decode and ParseTopic give, so the
// ingest can expose each dead-letter counter from the start, at zero.
var DecodeReasons = []string{ReasonBadTopic, ReasonTooLarge, ReasonNotJSON, ReasonUnknownField, ReasonDuplicateField,
	ReasonMissingField, ReasonBadType, ReasonBadTimestamp, ReasonTooOld, ReasonInFuture, ReasonBadUnit, ReasonOutOfRange,
	ReasonBadMode, ReasonUnknownCode, ReasonBadSeverity, ReasonBadMetric, ReasonTooManyMetrics, ReasonBadName,
	ReasonDeviceMismatch, ReasonBadSenML}

// Reasons the ingest gives once it has looked the device up (the decoder
// does not know it); a check outside the thermometer's measuring range is
// ReasonOutOfRange.
const (
	ReasonUnknownDevice   = "unknown_device"    // no such device, or a retired one
	ReasonWrongDeviceKind = "wrong_device_kind" // a check from a lift, telemetry from a thermometer
)

// DeadLetterReasons lists every reason a dead letter can carry.
var DeadLetterReasons = append(slices.Clone(DecodeReasons), ReasonUnknownDevice, ReasonWrongDeviceKind)

// DecodeError says why a payload was refused. Reason is one of the Reason
// constants, stable for metrics and dead-letter rows; Field names the
// payload field at fault when there is one; Detail is for people.
type DecodeError struct {
	Reason string
	Field  string
	Detail string
}

func (e *DecodeError) Error() string {
	detail := e.Detail
	if detail == "" {
		detail = strings.ReplaceAll(e.Reason, "_", " ")
	}
	if e.Field != "" {
		return fmt.Sprintf("payload field %q: %s", e.Field, detail)
	}
	return "payload: " + detail
}

func decodeErr(reason, field, format string, args ...any) *DecodeError {
	return &DecodeError{Reason: reason, Field: field, Detail: fmt.Sprintf(format, args...)}
}

// Default decode limits.
const (
	DefaultMaxPayloadBytes = 4096
	DefaultMaxFuture       = 5 * time.Minute
	DefaultMaxAge          = 7 * 24 * time.Hour
	// MaxMetrics is the most metrics one telemetry message may carry.
	MaxMetrics = 64
	// MaxTemperature bounds |reference| and |value| as sent, in Cel or K.
	MaxTemperature = 1e6
	// MaxMetricValue bounds |metric|. It is wider than MaxTemperature
	// because lifetime counters (door cycles, runs, operating seconds)
	// pass a million, and below 2^53 so integer counters stay exact.
	MaxMetricValue = 1e15
	// maxSeqSenML is the largest seq a SenML float carries exactly (2^53).
	maxSeqSenML = 1 << 53
	// senmlAbsoluteTime: RFC 8428 §4.5.3 times below 2^28 are relative.
	senmlAbsoluteTime = 1 << 28
	// anyFinite is the rawNumber limit for numbers checked later.
	anyFinite = math.MaxFloat64
	// kelvinOffset converts K to °C.
	kelvinOffset = 273.15
)

// DecodeLimits bound what Decode accepts. A zero field means its default.
type DecodeLimits struct {
	MaxBytes  int           // largest payload; DefaultMaxPayloadBytes
	MaxFuture time.Duration // how far ahead of now ts may be; DefaultMaxFuture
	MaxAge    time.Duration // how far behind now ts may be; DefaultMaxAge
}

func (l DecodeLimits) withDefaults() DecodeLimits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxPayloadBytes
	}
	if l.MaxFuture <= 0 {
		l.MaxFuture = DefaultMaxFuture
	}
	if l.MaxAge <= 0 {
		l.MaxAge = DefaultMaxAge
	}
	return l
}

// ParseTopic splits a device topic calibd/v1/devices/{id}/{kind}[/senml].
// The id must be a lower-case UUID (the device's MQTT username, so the
// broker's ACL compares it byte for byte). Any other topic is a
// *DecodeError with reason bad_topic.
func ParseTopic(topic string) (deviceID string, kind MessageKind, senml bool, err error) {
	bad := func(format string, args ...any) (string, MessageKind, bool, error) {
		return "", "", false, decodeErr(ReasonBadTopic, "", "topic %q: %s", topic, fmt.Sprintf(format, args...))
	}
	rest, ok := strings.CutPrefix(topic, TopicPrefix)
	if !ok {
		return bad("does not start with %q", TopicPrefix)
	}
	// Two or three parts, cut rather than split: a topic per message.
	if n := strings.Count(rest, "/"); n != 1 && n != 2 {
		return bad("want %s{id}/{checks|telemetry|events}[/senml]", TopicPrefix)
	}
	id, rest, _ := strings.Cut(rest, "/")
	if !IsUUID(id) || strings.ToLower(id) != id {
		return bad("device id must be a lower-case UUID")
	}
	k, suffix, hasSuffix := strings.Cut(rest, "/")
	kind = MessageKind(k)
	if !kind.Valid() {
		return bad("kind must be checks, telemetry or events")
	}
	if hasSuffix {
		if suffix != "senml" {
			return bad("only /senml may follow the kind")
		}
		senml = true
	}
	return id, kind, senml, nil
}

// Decode parses a payload published on topic, judged at now within limits.
// Every error is a *DecodeError. The device id comes from the topic only.
func Decode(topic string, payload []byte, now time.Time, limits DecodeLimits) (Message, error) {
	id, kind, senml, err := ParseTopic(topic)
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
	d := decoder{id: id, kind: kind, now: now, limits: limits}
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

type decoder struct {
	id     string
	kind   MessageKind
	now    time.Time
	limits DecodeLimits
}

// member is one key and raw value of a JSON object, in order. raw is a
// sub-slice of the data readObject split, not a copy.
type member struct {
	key string
	raw json.RawMessage
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// jsonType names the JSON type of a raw value.
func jsonType(raw json.RawMessage) string {
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

func rawString(raw json.RawMessage, field string) (string, *DecodeError) {
	b, err := rawText(raw, field)
	if err != nil {
		return "", err
	}
	return internString(b), nil
}

// rawText is rawString's text as bytes, for a caller that only looks at
// it: a sub-slice of raw when the literal needs no unescaping, as nearly
// every string a device sends.
func rawText(raw json.RawMessage, field string) ([]byte, *DecodeError) {
	if t := jsonType(raw); t != "string" {
		return nil, decodeErr(ReasonBadType, field, "must be a string, not %s", t)
	}
	if b, ok := plainString(raw); ok {
		return b, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, decodeErr(ReasonNotJSON, field, "bad string: %v", err)
	}
	return []byte(s), nil
}

// rawNumber parses a JSON number; a literal too large for a float64 is
// out_of_range, as is any value beyond ±limit.
func rawNumber(raw json.RawMessage, field string, limit float64) (float64, *DecodeError) {
	if t := jsonType(raw); t != "number" {
		return 0, decodeErr(ReasonBadType, field, "must be a number, not %s", t)
	}
	// lit stays bytes, and string(lit) a temporary, so that parsing does
	// not allocate; the error paths print it with %s all the same.
	lit := bytes.TrimSpace(raw)
	f, err := strconv.ParseFloat(string(lit), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, decodeErr(ReasonOutOfRange, field, "%s is not a finite number", lit)
	}
	if math.Abs(f) > limit {
		return 0, decodeErr(ReasonOutOfRange, field, "%s is outside ±%g", lit, limit)
	}
	return f, nil
}

// rawSeq parses seq: a JSON integer literal, 0 or more.
func rawSeq(raw json.RawMessage, field string) (int64, *DecodeError) {
	if t := jsonType(raw); t != "number" {
		return 0, decodeErr(ReasonBadType, field, "must be an integer, not %s", t)
	}
	lit := bytes.TrimSpace(raw) // as in rawNumber
	if bytes.ContainsAny(lit, ".eE") {
		return 0, decodeErr(ReasonBadType, field, "%s is not an integer", lit)
	}
	n, err := strconv.ParseInt(string(lit), 10, 64)
	if err != nil {
		return 0, decodeErr(ReasonOutOfRange, field, "%s does not fit a 64-bit integer", lit)
	}
	if n < 0 {
		return 0, decodeErr(ReasonOutOfRange, field, "must be 0 or more, not %d", n)
	}
	return n, nil
}

// window checks ts against now and the limits.
func (d decoder) window(ts time.Time, field string) *DecodeError {
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

// toCelsius checks a temperature's unit and converts it to °C.
func toCelsius(v float64, unit, field string) (float64, *DecodeError) {
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

// fields are a JSON object's members without the null ones. Keys are
// unique (readObject refuses duplicates) and few, so a slice serves.
type fields []member

// get is the raw value of key, nil if it is absent.
func (f fields) get(key string) json.RawMessage {
	for _, m := range f {
		if m.key == key {
			return m.raw
		}
	}
	return nil
}

// objectFields checks an object's members: each key must be allowed, and
// every allowed key is required and must not be null. It reuses ms.
func objectFields(ms []member, path string, allowed []string) (fields, *DecodeError) {
	f := fields(ms[:0])
	for _, m := range ms {
		if !slices.Contains(allowed, m.key) {
			return nil, decodeErr(ReasonUnknownField, join(path, m.key), "not a field of this message (want %s)", strings.Join(allowed, ", "))
		}
		if jsonType(m.raw) == "null" {
			continue // null counts as absent
		}
		f = append(f, m)
	}
	for _, k := range allowed {
		if f.get(k) == nil {
			return nil, decodeErr(ReasonMissingField, join(path, k), "required")
		}
	}
	return f, nil
}

var jsonFields = map[MessageKind][]string{
	MessageChecks:    {"ts", "seq", "reference", "value", "unit", "mode"},
	MessageTelemetry: {"ts", "seq", "metrics"},
	MessageEvents:    {"ts", "seq", "code", "severity"},
}

// json decodes the plain JSON form.
func (d decoder) json(payload []byte) (Message, *DecodeError) {
	ms, err := readObject(payload, "", true)
	if err != nil {
		return Message{}, err
	}
	f, err := objectFields(ms, "", jsonFields[d.kind])
	if err != nil {
		return Message{}, err
	}
	seq, err := rawSeq(f.get("seq"), "seq")
	if err != nil {
		return Message{}, err
	}
	tsText, err := rawText(f.get("ts"), "ts")
	if err != nil {
		return Message{}, err
	}
	ts, perr := time.Parse(time.RFC3339Nano, string(tsText))
	if perr != nil {
		return Message{}, decodeErr(ReasonBadTimestamp, "ts", "%q is not an RFC 3339 time", tsText)
	}
	ts = ts.UTC()
	if err := d.window(ts, "ts"); err != nil {
		return Message{}, err
	}
	switch d.kind {
	case MessageChecks:
		unit, err := rawString(f.get("unit"), "unit")
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
			v, err := rawNumber(f.get(t.name), t.name, MaxTemperature)
			if err != nil {
				return Message{}, err
			}
			if *t.dst, err = toCelsius(v, unit, t.name); err != nil {
				return Message{}, err
			}
		}
		mode, err := rawString(f.get("mode"), "mode")
		if err != nil {
			return Message{}, err
		}
		if c.Mode, err = checkMode(mode, "mode"); err != nil {
			return Message{}, err
		}
		return Message{Kind: MessageChecks, Check: &c}, nil
	case MessageTelemetry:
		ms, err := readObject(f.get("metrics"), "metrics", false)
		if err != nil {
			return Message{}, err
		}
		tel := Telemetry{DeviceID: d.id, Seq: seq, TS: ts, Metrics: map[string]float64{}}
		for _, m := range ms {
			field := "metrics." + m.key
			if err := addMetric(tel.Metrics, m.key, field); err != nil {
				return Message{}, err
			}
			v, err := rawNumber(m.raw, field, MaxMetricValue)
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
		code, err := rawString(f.get("code"), "code")
		if err != nil {
			return Message{}, err
		}
		sev, err := rawString(f.get("severity"), "severity")
		if err != nil {
			return Message{}, err
		}
		if ev.Code, ev.Severity, err = checkEvent(code, sev, "code", "severity"); err != nil {
			return Message{}, err
		}
		return Message{Kind: MessageEvents, Event: &ev}, nil
	}
}

func checkMode(s, field string) (ReadingMode, *DecodeError) {
	m := ReadingMode(s)
	if !m.Valid() {
		return "", decodeErr(ReasonBadMode, field, "mode %q is not calibration or body", s)
	}
	return m, nil
}

func checkEvent(code, sev, codeField, sevField string) (string, Severity, *DecodeError) {
	if !KnownEventCode(code) {
		return "", "", decodeErr(ReasonUnknownCode, codeField, "%q is not a known event code", code)
	}
	s := Severity(sev)
	if !s.Valid() {
		return "", "", decodeErr(ReasonBadSeverity, sevField, "%q is not info, warning or critical", sev)
	}
	return code, s, nil
}

// addMetric checks a new metric's name against the rules and the metrics
// already collected (it does not store the value).
func addMetric(metrics map[string]float64, name, field string) *DecodeError {
	if !validMetricName(name) {
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

func validMetricName(s string) bool {
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

// senmlRecord is one SenML record after base-field resolution.
type senmlRecord struct {
	index    int    // position in the pack, for error messages
	name     string // the FIELD part of bn+n
	unit     string // u, else the inherited bu
	explicit bool   // unit came from u
	v        *float64
	vs       *string
	vb       *bool
	time     float64 // bt + t, seconds
}

var senmlRecordFields = []string{"bn", "bt", "bu", "bver", "n", "u", "v", "vs", "vb", "t"}

// senmlRecords reads a pack into resolved records; base-only records
// (no n, u, t or value) only update the base values.
func (d decoder) senmlRecords(payload []byte) ([]senmlRecord, *DecodeError) {
	raws, derr := readArray(payload)
	if derr != nil {
		return nil, derr
	}
	var (
		bn, bu string
		bt     float64
		out    []senmlRecord
	)
	for i, raw := range raws {
		path := fmt.Sprintf("[%d]", i)
		ms, derr := readObject(raw, path, false)
		if derr != nil {
			return nil, derr
		}
		var (
			rec        = senmlRecord{index: i}
			n          string
			t          float64
			hasN, hasT bool
			hasU       bool
			valueCount int
		)
		for _, m := range ms {
			field := path + "." + m.key
			if !slices.Contains(senmlRecordFields, m.key) {
				return nil, decodeErr(ReasonUnknownField, field, "not a SenML field this decoder understands (want %s)", strings.Join(senmlRecordFields, ", "))
			}
			switch m.key {
			case "bn":
				if bn, derr = rawString(m.raw, field); derr != nil {
					return nil, derr
				}
			case "bu":
				if bu, derr = rawString(m.raw, field); derr != nil {
					return nil, derr
				}
			case "bt":
				if bt, derr = rawNumber(m.raw, field, anyFinite); derr != nil {
					return nil, derr
				}
			case "bver":
				ver, derr := rawNumber(m.raw, field, anyFinite)
				if derr != nil {
					return nil, derr
				}
				if ver != math.Trunc(ver) || ver < 1 || ver > 10 {
					return nil, decodeErr(ReasonBadSenML, field, "SenML version %g is not supported (want 1 to 10)", ver)
				}
			case "n":
				if n, derr = rawString(m.raw, field); derr != nil {
					return nil, derr
				}
				hasN = true
			case "u":
				if rec.unit, derr = rawString(m.raw, field); derr != nil {
					return nil, derr
				}
				hasU = true
			case "t":
				if t, derr = rawNumber(m.raw, field, anyFinite); derr != nil {
					return nil, derr
				}
				hasT = true
			case "v":
				if jsonType(m.raw) != "number" {
					return nil, decodeErr(ReasonBadType, field, "must be a number, not %s", jsonType(m.raw))
				}
				// The range depends on the name; check it when mapping.
				f, derr := rawNumber(m.raw, field, anyFinite)
				if derr != nil {
					return nil, derr
				}
				rec.v = &f
				valueCount++
			case "vs":
				s, derr := rawString(m.raw, field)
				if derr != nil {
					return nil, derr
				}
				rec.vs = &s
				valueCount++
			case "vb":
				if jt := jsonType(m.raw); jt != "boolean" {
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
func (d decoder) senmlField(full, field string) (string, *DecodeError) {
	i := strings.LastIndexAny(full, ":/")
	if i < 0 {
		return full, nil
	}
	prefix, name := full[:i], full[i+1:]
	if urn, ok := strings.CutPrefix(prefix, "urn:uuid:"); prefix == d.id || ok && urn == d.id {
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

// senmlTime converts a record time to a UTC time, refusing relative and
// unrepresentable times.
func senmlTime(secs float64, field string) (time.Time, *DecodeError) {
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
func (d decoder) senml(payload []byte) (Message, *DecodeError) {
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
	ts, derr := senmlTime(recs[0].time, "bt")
	if derr != nil {
		return Message{}, derr
	}
	if derr := d.window(ts, "bt"); derr != nil {
		return Message{}, derr
	}
	byName := map[string]senmlRecord{}
	var order []string
	for _, r := range recs {
		if _, dup := byName[r.name]; dup {
			return Message{}, decodeErr(ReasonDuplicateField, r.name, "record %q given twice", r.name)
		}
		byName[r.name] = r
		order = append(order, r.name)
	}
	need := func(name string) (senmlRecord, *DecodeError) {
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
		return senmlString(r)
	}
	seqRec, derr := need("seq")
	if derr != nil {
		return Message{}, derr
	}
	seq, derr := senmlSeq(seqRec)
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
			if *t.dst, derr = senmlNumber(r, MaxTemperature, true); derr != nil {
				return Message{}, derr
			}
		}
		mode, derr := needString("mode")
		if derr != nil {
			return Message{}, derr
		}
		if c.Mode, derr = checkMode(mode, "mode"); derr != nil {
			return Message{}, derr
		}
		return Message{Kind: MessageChecks, Check: &c}, nil
	case MessageTelemetry:
		tel := Telemetry{DeviceID: d.id, Seq: seq, TS: ts, Metrics: map[string]float64{}}
		for _, name := range order {
			if name == "seq" {
				continue
			}
			if derr := addMetric(tel.Metrics, name, name); derr != nil {
				return Message{}, derr
			}
			v, derr := senmlNumber(byName[name], MaxMetricValue, false)
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
		if ev.Code, ev.Severity, derr = checkEvent(code, sev, "code", "severity"); derr != nil {
			return Message{}, derr
		}
		return Message{Kind: MessageEvents, Event: &ev}, nil
	}
}

// senmlSeq reads the seq record: v, a whole number from 0 to 2^53, no u.
func senmlSeq(r senmlRecord) (int64, *DecodeError) {
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

// senmlString reads a record that carries vs and no unit of its own.
func senmlString(r senmlRecord) (string, *DecodeError) {
	if r.vs == nil {
		return "", decodeErr(ReasonBadType, r.name, "the %s record must carry vs", r.name)
	}
	if r.explicit {
		return "", decodeErr(ReasonBadUnit, r.name, "the %s record takes no unit, not %q", r.name, r.unit)
	}
	return *r.vs, nil
}

// senmlNumber reads a numeric record within ±limit. A Cel or K unit
// is converted to °C; with unitRequired unset, no unit passes the value
// through and any other unit is refused.
func senmlNumber(r senmlRecord, limit float64, unitRequired bool) (float64, *DecodeError) {
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
	return toCelsius(v, r.unit, r.name)
}
