package httpapi

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/calibd/calibd/devices"
)

// Problem is an RFC 9457 problem details body with calibd's stable code.
type Problem struct {
	Type      string               `json:"type"`
	Title     string               `json:"title"`
	Status    int                  `json:"status"`
	Detail    string               `json:"detail,omitempty"`
	Code      string               `json:"code"`
	Instance  string               `json:"instance,omitempty"`
	RequestID string               `json:"request_id,omitempty"`
	Errors    []devices.FieldError `json:"errors,omitempty"`
}

// httpError is an error the HTTP layer itself raises (bad body, missing
// header) with its status and code.
type httpError struct {
	status int
	code   string
	detail string
	fields []devices.FieldError
}

func (e *httpError) Error() string { return e.detail }

func badRequest(code, format string, args ...any) error {
	return &httpError{status: http.StatusBadRequest, code: code, detail: fmt.Sprintf(format, args...)}
}

func statusError(status int, code, format string, args ...any) error {
	return &httpError{status: status, code: code, detail: fmt.Sprintf(format, args...)}
}

// problemFor is the one place an error becomes a status and a body.
func problemFor(err error) Problem {
	var (
		he *httpError
		ve *devices.ValidationError
		ce *devices.ConflictError
		fe *devices.ForbiddenError
	)
	var re *devices.ReplayError
	switch {
	case errors.Is(err, devices.ErrIdempotencyKeyReused):
		return Problem{Status: http.StatusUnprocessableEntity, Code: "idempotency_key_reused", Detail: err.Error(),
			Errors: []devices.FieldError{{Field: idempotencyKeyHeader, Reason: "was used for a different request"}}}
	case errors.As(err, &re) && re.Resource == devices.ResourceToken:
		return Problem{Status: http.StatusConflict, Code: "token_already_issued",
			Detail: fmt.Sprintf("token %s was already issued under this Idempotency-Key and its secret is shown only once; "+
				"if it was lost, revoke that token and issue a new one with a new key", re.ID)}
	case errors.As(err, &re):
		return Problem{Status: http.StatusConflict, Code: "already_done", Detail: re.Error()}
	case errors.As(err, &he):
		return Problem{Status: he.status, Code: he.code, Detail: he.detail, Errors: he.fields}
	case errors.As(err, &ve):
		return Problem{Status: http.StatusUnprocessableEntity, Code: "validation_failed",
			Detail: "one or more fields are invalid; see errors", Errors: ve.Fields}
	case errors.Is(err, devices.ErrUnauthenticated):
		return Problem{Status: http.StatusUnauthorized, Code: "unauthenticated",
			Detail: "send a valid, unexpired, unrevoked API token as 'Authorization: Bearer <token>'"}
	case errors.As(err, &fe):
		return Problem{Status: http.StatusForbidden, Code: "forbidden", Detail: fe.Reason}
	case errors.Is(err, devices.ErrForbidden):
		return Problem{Status: http.StatusForbidden, Code: "forbidden", Detail: "this token may not do that"}
	case errors.Is(err, devices.ErrNotFound):
		return Problem{Status: http.StatusNotFound, Code: "not_found", Detail: "no such object"}
	case errors.As(err, &ce):
		return Problem{Status: http.StatusConflict, Code: ce.Code, Detail: ce.Message}
	case errors.Is(err, devices.ErrConflict):
		return Problem{Status: http.StatusConflict, Code: "conflict", Detail: err.Error()}
	case errors.Is(err, devices.ErrPreconditionFailed):
		return Problem{Status: http.StatusPreconditionFailed, Code: "stale_version",
			Detail: "the object changed since you read it; GET it again and retry with its current ETag or version"}
	case errors.Is(err, devices.ErrBusy):
		return Problem{Status: http.StatusServiceUnavailable, Code: "busy",
			Detail: "the change collided with concurrent changes to the same objects and nothing was written; send it again"}
	}
	return Problem{Status: http.StatusInternalServerError, Code: "internal", Detail: "internal error"}
}

// fail writes err as problem+json and aborts the request. Server-side
// errors are logged here, once, with the request id.
func (s *Server) fail(c *gin.Context, err error) {
	p := problemFor(err)
	p.Type = "urn:calibd:problem:" + p.Code
	p.Title = http.StatusText(p.Status)
	p.Instance = c.Request.URL.Path
	p.RequestID = requestID(c)
	if p.Status >= 500 {
		s.log.ErrorContext(c.Request.Context(), "request failed", "error", err,
			"request_id", p.RequestID, "method", c.Request.Method, "path", c.FullPath())
	}
	if p.Code == "busy" {
		c.Header("Retry-After", "1")
	}
	if p.Status == http.StatusUnauthorized {
		c.Header("WWW-Authenticate", `Bearer realm="calibd"`)
	}
	c.Header("Content-Type", "application/problem+json")
	c.Header("Cache-Control", "no-store")
	c.AbortWithStatusJSON(p.Status, p)
}
