package devices

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// IdempotencyTTL is how long a create remembers its Idempotency-Key: a
// retry within it answers with the first result; after it the key may be
// used again.
const IdempotencyTTL = 24 * time.Hour

// MaxIdempotencyKeyLen bounds the Idempotency-Key header.
const MaxIdempotencyKeyLen = 255

// IdempotencyKey is a client's promise that requests carrying the same Key
// are retries of one request. Hash fingerprints the request (method, path
// and body), so that a key reused for a different request is refused
// rather than answered with an unrelated result.
type IdempotencyKey struct {
	Key  string
	Hash string
}

// ValidIdempotencyKey reports why key is not acceptable, or "" if it is:
// 1 to 255 visible ASCII characters.
func ValidIdempotencyKey(key string) string {
	if key == "" || len(key) > MaxIdempotencyKeyLen {
		return fmt.Sprintf("must be 1 to %d characters", MaxIdempotencyKeyLen)
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return "must be visible ASCII characters (a UUID is a good key)"
		}
	}
	return ""
}

type idempotencyCtxKey struct{}

// WithIdempotencyKey returns ctx carrying k for the create it is passed to.
func WithIdempotencyKey(ctx context.Context, k IdempotencyKey) context.Context {
	return context.WithValue(ctx, idempotencyCtxKey{}, k)
}

// IdempotencyKeyFrom returns the key ctx carries, if any.
func IdempotencyKeyFrom(ctx context.Context) (IdempotencyKey, bool) {
	k, ok := ctx.Value(idempotencyCtxKey{}).(IdempotencyKey)
	return k, ok
}

// ReplayError says a create was already done under the request's
// idempotency key: nothing new was written, and the first request created
// Resource ID (or, for imports, Created objects in venue ID).
type ReplayError struct {
	Resource string
	ID       string
	Created  int
}

func (e *ReplayError) Error() string {
	return fmt.Sprintf("already done under this idempotency key: %s %s", e.Resource, e.ID)
}

// ErrIdempotencyKeyReused: the key was used within IdempotencyTTL for a
// request with a different method, path or body.
var ErrIdempotencyKeyReused = errors.New("this Idempotency-Key was already used for a different request; use a new key for a new request")
