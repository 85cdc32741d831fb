package httpapi

import (
	"encoding/base64"
	"net/http"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/calibd/calibd/devices"
)

type deadLetterJSON struct {
	ID       string  `json:"id"`
	Topic    string  `json:"topic"`
	DeviceID *string `json:"device_id"`
	Reason   string  `json:"reason"`
	Detail   string  `json:"detail"`
	// Payload is the kept bytes as text when they are UTF-8 (a character
	// the cut split is left off), PayloadBase64 the same bytes exactly.
	Payload       *string   `json:"payload"`
	PayloadBase64 string    `json:"payload_base64"`
	PayloadBytes  int       `json:"payload_bytes"`
	ReceivedAt    time.Time `json:"received_at"`
}

func toDeadLetterJSON(l devices.DeadLetter) deadLetterJSON {
	out := deadLetterJSON{ID: strconv.FormatInt(l.ID, 10), Topic: l.Topic, Reason: l.Reason, Detail: l.Detail,
		PayloadBase64: base64.StdEncoding.EncodeToString(l.Payload), PayloadBytes: len(l.Payload), ReceivedAt: l.Received}
	if l.DeviceID != "" {
		out.DeviceID = &l.DeviceID
	}
	if text, ok := payloadText(l.Payload); ok {
		out.Payload = &text
	}
	return out
}

// payloadText is p as text if it is UTF-8, allowing for a character that
// the dead letter's byte limit cut at the end.
func payloadText(p []byte) (string, bool) {
	if utf8.Valid(p) {
		return string(p), true
	}
	if len(p) < devices.DeadLetterPayloadBytes {
		return "", false
	}
	for cut := 1; cut < utf8.UTFMax && cut < len(p); cut++ {
		if head := p[:len(p)-cut]; utf8.Valid(head) && !utf8.FullRune(p[len(p)-cut:]) {
			return string(head), true
		}
	}
	return "", false
}

// deadLetterFilter reads the query parameters both lists share.
func deadLetterFilter(q *query) devices.DeadLetterFilter {
	return devices.DeadLetterFilter{
		Reason: q.enum("reason", func(v string) bool { return slices.Contains(devices.DeadLetterReasons, v) }, joinStrings(devices.DeadLetterReasons)),
		From:   q.time("from"), To: q.time("to")}
}

// listDeadLetters: the messages the ingest refused, newest first, for the
// devices the caller sees (the regulator: all, also those naming no known
// device).
func (s *Server) listDeadLetters(c *gin.Context) {
	q := newQuery(c, "device_id", "reason", "from", "to")
	f := deadLetterFilter(q)
	f.DeviceID = q.id("device_id")
	p := q.page()
	if err := q.done(); err != nil {
		s.fail(c, err)
		return
	}
	items, next, err := s.reg.ListDeadLetters(c.Request.Context(), actorOf(c), f, p)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, list(items, next, toDeadLetterJSON))
}

// deviceDeadLetters: one device's refused messages, newest first.
func (s *Server) deviceDeadLetters(c *gin.Context) {
	q := newQuery(c, "reason", "from", "to")
	f := deadLetterFilter(q)
	p := q.page()
	if err := q.done(); err != nil {
		s.fail(c, err)
		return
	}
	items, next, err := s.reg.DeviceDeadLetters(c.Request.Context(), actorOf(c), c.Param("id"), f, p)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, list(items, next, toDeadLetterJSON))
}
