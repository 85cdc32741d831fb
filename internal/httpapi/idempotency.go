package httpapi

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/calibd/calibd/devices"
)

// Creates honour the Idempotency-Key request header (IETF
// draft-ietf-httpapi-idempotency-key-header): a client that did not get an
// answer retries with the same key and body, and the store, which records
// the key in the same transaction as the create, answers with what the
// first request made instead of making it twice. The replayed answer
// carries Idempotent-Replayed: true and shows the object as it is now.
const (
	idempotencyKeyHeader = "Idempotency-Key"
	replayedHeader       = "Idempotent-Replayed"
)

// withIdempotencyKey attaches a POST's Idempotency-Key, fingerprinted with
// its method, path and body, to the request's context.
func withIdempotencyKey(c *gin.Context, body []byte) error {
	if c.Request.Method != http.MethodPost {
		return nil
	}
	vals, present := c.Request.Header[http.CanonicalHeaderKey(idempotencyKeyHeader)]
	if !present {
		return nil
	}
	if len(vals) != 1 {
		return invalidHeader(idempotencyKeyHeader, "send the header once")
	}
	if why := devices.ValidIdempotencyKey(vals[0]); why != "" {
		return invalidHeader(idempotencyKeyHeader, why)
	}
	h := sha256.New()
	h.Write([]byte(c.Request.Method))
	h.Write([]byte{0})
	h.Write([]byte(c.Request.URL.Path))
	h.Write([]byte{0})
	h.Write(body)
	k := devices.IdempotencyKey{Key: vals[0], Hash: hex.EncodeToString(h.Sum(nil))}
	c.Request = c.Request.WithContext(devices.WithIdempotencyKey(c.Request.Context(), k))
	return nil
}

func invalidHeader(name, reason string) error {
	return &httpError{status: http.StatusBadRequest, code: "invalid_header",
		detail: "the " + name + " header " + reason,
		fields: []devices.FieldError{{Field: name, Reason: reason}}}
}

// replayOf reports whether err says the request was already done under its
// idempotency key, and the id of what it made; it marks the answer as a
// replay.
func replayOf(c *gin.Context, err error) (*devices.ReplayError, bool) {
	var rep *devices.ReplayError
	if !errors.As(err, &rep) {
		return nil, false
	}
	c.Header(replayedHeader, "true")
	return rep, true
}
