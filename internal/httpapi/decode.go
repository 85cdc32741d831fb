package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/calibd/calibd/devices"
)

// object reads a JSON object field by field, so that every problem (a
// wrong type, an unknown field, null where a value is needed) is reported
// with its field name, all at once, and so that PATCH can tell "absent"
// from "null".
type object struct {
	prefix string
	raw    map[string]json.RawMessage
	used   map[string]bool
	probs  *devices.Problems
}

// readObject reads the request body as one JSON object within the size
// limit.
func (s *Server) readObject(c *gin.Context) (*object, error) {
	if ct := c.GetHeader("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return nil, statusError(http.StatusUnsupportedMediaType, "unsupported_media_type",
				"send the body as application/json")
		}
	}
	body, err := readLimited(c, s.cfg.MaxBodyBytes)
	if err != nil {
		return nil, err
	}
	if err := withIdempotencyKey(c, body); err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, badRequest("empty_body", "the request body is empty; send a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var raw map[string]json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		var se *json.SyntaxError
		var ute *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return nil, badRequest("malformed_json", "the body is not valid JSON: %s at byte %d", se.Error(), se.Offset)
		case errors.As(err, &ute):
			return nil, badRequest("malformed_json", "the body must be a JSON object")
		case errors.Is(err, io.ErrUnexpectedEOF):
			return nil, badRequest("malformed_json", "the body is not valid JSON: it ends too early")
		}
		return nil, badRequest("malformed_json", "the body is not valid JSON: %v", err)
	}
	if raw == nil {
		return nil, badRequest("malformed_json", "the body must be a JSON object, not null")
	}
	if dec.More() {
		return nil, badRequest("malformed_json", "the body holds more than one JSON value")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, badRequest("malformed_json", "the body holds trailing data after the JSON object")
	}
	return &object{raw: raw, used: map[string]bool{}, probs: &devices.Problems{}}, nil
}

// readLimited reads the body up to limit bytes; more is a 413.
func readLimited(c *gin.Context, limit int64) ([]byte, error) {
	r := http.MaxBytesReader(c.Writer, c.Request.Body, limit)
	b, err := io.ReadAll(r)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, statusError(http.StatusRequestEntityTooLarge, "body_too_large",
			"the request body is larger than the limit of %d bytes", limit)
	}
	if err != nil {
		return nil, badRequest("unreadable_body", "could not read the request body: %v", err)
	}
	return b, nil
}

func (o *object) name(k string) string { return o.prefix + k }

// take returns the raw value of k and whether it is present and not null.
// present reports presence even when null.
func (o *object) take(k string) (v json.RawMessage, present bool) {
	o.used[k] = true
	v, present = o.raw[k]
	return v, present
}

func isNull(v json.RawMessage) bool { return string(bytes.TrimSpace(v)) == "null" }

func (o *object) bad(k, reason string) { o.probs.Add(o.name(k), reason) }

// str reads an optional string; null counts as absent for required-less
// fields only when allowNull.
func (o *object) str(k string) *string {
	v, ok := o.take(k)
	if !ok {
		return nil
	}
	var s string
	if isNull(v) || json.Unmarshal(v, &s) != nil {
		o.bad(k, "must be a string")
		return nil
	}
	return &s
}

// nullableStr reads a string that may be set to null (to clear it).
func (o *object) nullableStr(k string) **string {
	v, ok := o.take(k)
	if !ok {
		return nil
	}
	var out *string
	if !isNull(v) {
		var s string
		if json.Unmarshal(v, &s) != nil {
			o.bad(k, "must be a string or null")
			return nil
		}
		out = &s
	}
	return &out
}

// numberLiteral reads v as a JSON number. A string holding one ("90")
// is not a number, though encoding/json puts it into a json.Number.
func numberLiteral(v json.RawMessage) (json.Number, bool) {
	v = bytes.TrimSpace(v)
	var n json.Number
	if len(v) == 0 || v[0] == '"' || json.Unmarshal(v, &n) != nil {
		return "", false
	}
	return n, true
}

func (o *object) number(k string, v json.RawMessage) (float64, bool) {
	n, ok := numberLiteral(v)
	if !ok {
		o.bad(k, "must be a number")
		return 0, false
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		o.bad(k, "must be a finite number")
		return 0, false
	}
	return f, true
}

func (o *object) float(k string) *float64 {
	v, ok := o.take(k)
	if !ok {
		return nil
	}
	if isNull(v) {
		o.bad(k, "must be a number")
		return nil
	}
	f, ok := o.number(k, v)
	if !ok {
		return nil
	}
	return &f
}

func (o *object) nullableFloat(k string) **float64 {
	v, ok := o.take(k)
	if !ok {
		return nil
	}
	var out *float64
	if !isNull(v) {
		f, ok := o.number(k, v)
		if !ok {
			return nil
		}
		out = &f
	}
	return &out
}

func (o *object) int(k string) *int {
	v, ok := o.take(k)
	if !ok {
		return nil
	}
	n, ok := numberLiteral(v)
	if isNull(v) || !ok {
		o.bad(k, "must be a whole number")
		return nil
	}
	i, err := strconv.ParseInt(string(n), 10, 32)
	if err != nil {
		o.bad(k, "must be a whole number within range")
		return nil
	}
	x := int(i)
	return &x
}

func (o *object) parseTime(k string, v json.RawMessage) (time.Time, bool) {
	var s string
	if json.Unmarshal(v, &s) != nil {
		o.bad(k, "must be an RFC 3339 time string such as 2026-03-01T09:00:00Z")
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		o.bad(k, "must be an RFC 3339 time string such as 2026-03-01T09:00:00Z")
		return time.Time{}, false
	}
	return t.UTC(), true
}

func (o *object) nullableTime(k string) **time.Time {
	v, ok := o.take(k)
	if !ok {
		return nil
	}
	var out *time.Time
	if !isNull(v) {
		t, ok := o.parseTime(k, v)
		if !ok {
			return nil
		}
		out = &t
	}
	return &out
}

func (o *object) nullableDate(k string) **time.Time {
	v, ok := o.take(k)
	if !ok {
		return nil
	}
	var out *time.Time
	if !isNull(v) {
		var s string
		t, err := time.Time{}, error(nil)
		if json.Unmarshal(v, &s) == nil {
			t, err = time.Parse(devices.DateLayout, s)
		}
		if s == "" || err != nil {
			o.bad(k, "must be a date string such as 2019-06-30")
			return nil
		}
		out = &t
	}
	return &out
}

func (o *object) strings(k string) *[]string {
	v, ok := o.take(k)
	if !ok {
		return nil
	}
	var ss []string
	if isNull(v) || json.Unmarshal(v, &ss) != nil {
		o.bad(k, "must be an array of strings")
		return nil
	}
	return &ss
}

// sub reads a nested object; absent gives nil.
func (o *object) sub(k string) *object {
	v, ok := o.take(k)
	if !ok {
		return nil
	}
	var raw map[string]json.RawMessage
	if isNull(v) || json.Unmarshal(v, &raw) != nil || raw == nil {
		o.bad(k, "must be an object")
		return nil
	}
	return &object{prefix: o.name(k) + ".", raw: raw, used: map[string]bool{}, probs: o.probs}
}

// boolean reads an optional true/false.
func (o *object) boolean(k string) *bool {
	v, ok := o.take(k)
	if !ok {
		return nil
	}
	var b bool
	if isNull(v) || json.Unmarshal(v, &b) != nil {
		o.bad(k, "must be true or false")
		return nil
	}
	return &b
}

// floats reads an optional array of numbers.
func (o *object) floats(k string) *[]float64 {
	v, ok := o.take(k)
	if !ok {
		return nil
	}
	var fs []float64
	if isNull(v) || json.Unmarshal(v, &fs) != nil {
		o.bad(k, "must be an array of numbers")
		return nil
	}
	return &fs
}

// objects reads an optional array of objects; each element reports its
// problems as k[i].field. The caller passes the elements to done.
func (o *object) objects(k string) []*object {
	v, ok := o.take(k)
	if !ok {
		return nil
	}
	var raws []map[string]json.RawMessage
	if isNull(v) || json.Unmarshal(v, &raws) != nil {
		o.bad(k, "must be an array of objects")
		return nil
	}
	out := make([]*object, len(raws))
	for i, raw := range raws {
		if raw == nil {
			o.bad(k+"["+strconv.Itoa(i)+"]", "must be an object")
			raw = map[string]json.RawMessage{}
		}
		out[i] = &object{prefix: o.name(k) + "[" + strconv.Itoa(i) + "].", raw: raw, used: map[string]bool{}, probs: o.probs}
	}
	return out
}

// done reports unknown fields and every problem met while reading.
func (o *object) done(children ...*object) error {
	o.unknown()
	for _, ch := range children {
		if ch != nil {
			ch.unknown()
		}
	}
	return o.probs.Err()
}

func (o *object) unknown() {
	var extra []string
	for k := range o.raw {
		if !o.used[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	for _, k := range extra {
		o.bad(k, "is not a known field")
	}
}

// version reads the expected version from If-Match ("3" or W/"3") or from
// the body field "version". required makes its absence a 428.
func (s *Server) version(c *gin.Context, o *object, required bool) (int, error) {
	if im := strings.TrimSpace(c.GetHeader("If-Match")); im != "" {
		tag := strings.Trim(strings.TrimPrefix(im, "W/"), `"`)
		n, err := strconv.Atoi(tag)
		if err != nil || n < 1 {
			return 0, statusError(http.StatusPreconditionFailed, "stale_version",
				"If-Match %q is not an ETag this API returned", im)
		}
		if o != nil {
			o.used["version"] = true
		}
		return n, nil
	}
	if o != nil {
		if v := o.int("version"); v != nil {
			if *v < 1 {
				o.bad("version", "must be 1 or more")
				return 0, nil
			}
			return *v, nil
		}
	}
	if required {
		return 0, statusError(http.StatusPreconditionRequired, "version_required",
			"send the version you last read, as an If-Match header with the ETag or a \"version\" field")
	}
	return devices.AnyVersion, nil
}

func setETag(c *gin.Context, version int) { c.Header("ETag", fmt.Sprintf(`"%d"`, version)) }

// query parameters

type query struct {
	c     *gin.Context
	probs devices.Problems
	known []string
}

func newQuery(c *gin.Context, known ...string) *query {
	return &query{c: c, known: append(known, "limit", "cursor")}
}

// newFilterQuery is newQuery for an answer that is not paged (an export):
// limit and cursor are unknown there.
func newFilterQuery(c *gin.Context, known ...string) *query { return &query{c: c, known: known} }

func (q *query) str(k string) string { return q.c.Query(k) }

func (q *query) id(k string) string {
	v := q.c.Query(k)
	if v != "" && !devices.IsUUID(v) {
		q.probs.Add(k, "must be a UUID")
	}
	return strings.ToLower(v)
}

func (q *query) enum(k string, ok func(string) bool, allowed string) string {
	v := q.c.Query(k)
	if v != "" && !ok(v) {
		q.probs.Add(k, "must be one of "+allowed)
	}
	return v
}

func (q *query) time(k string) *time.Time {
	v := q.c.Query(k)
	if v == "" {
		return nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		if d, derr := time.Parse(devices.DateLayout, v); derr == nil {
			return &d
		}
		q.probs.Add(k, "must be an RFC 3339 time such as 2026-12-01T00:00:00Z or a date such as 2026-12-01")
		return nil
	}
	t = t.UTC()
	return &t
}

// date reads a calendar date YYYY-MM-DD.
func (q *query) date(k string) string {
	v := q.c.Query(k)
	if v == "" {
		return ""
	}
	if _, err := time.Parse(devices.DateLayout, v); err != nil {
		q.probs.Add(k, "must be a date such as 2026-12-01")
		return ""
	}
	return v
}

func (q *query) bool(k string) bool {
	v := q.c.Query(k)
	if v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		q.probs.Add(k, "must be true or false")
	}
	return b
}

func (q *query) page() devices.Page {
	p := devices.Page{Cursor: q.c.Query("cursor")}
	if v := q.c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > devices.MaxLimit {
			q.probs.Add("limit", "must be a whole number between 1 and 500")
		}
		p.Limit = n
	}
	return p
}

// done reports unknown parameters and bad values.
func (q *query) done() error {
	var extra []string
	for k := range q.c.Request.URL.Query() {
		if !slices.Contains(q.known, k) {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	for _, k := range extra {
		q.probs.Add(k, "is not a known query parameter; known: "+strings.Join(q.known, ", "))
	}
	return q.probs.Err()
}
