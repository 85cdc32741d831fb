package devices

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Error kinds. Store and service methods wrap these with context; the HTTP
// layer maps each kind to one status code in one place.
var (
	// ErrNotFound: the object does not exist or the actor may not see it.
	// The two are deliberately indistinguishable.
	ErrNotFound = errors.New("not found")
	// ErrForbidden: the actor sees the object but may not do this to it.
	ErrForbidden = errors.New("forbidden")
	// ErrUnauthenticated: no, unknown, expired or revoked credentials.
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrConflict: the change collides with existing state (a duplicate
	// unique key, an invalid state transition).
	ErrConflict = errors.New("conflict")
	// ErrPreconditionFailed: the caller's version of the object is stale.
	ErrPreconditionFailed = errors.New("precondition failed")
	// ErrBusy: the change kept colliding with concurrent ones (the database
	// rolled it back each time to let them through); nothing was written
	// and the same request may be sent again.
	ErrBusy = errors.New("busy")
)

// ConflictError is an ErrConflict with a stable machine code and a message
// a person can act on.
type ConflictError struct {
	Code    string
	Message string
}

func (e *ConflictError) Error() string { return e.Message }

// Is makes errors.Is(err, ErrConflict) hold.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// Conflict builds a ConflictError.
func Conflict(code, format string, args ...any) error {
	return &ConflictError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ForbiddenError is an ErrForbidden that says why.
type ForbiddenError struct{ Reason string }

func (e *ForbiddenError) Error() string { return "forbidden: " + e.Reason }

// Is makes errors.Is(err, ErrForbidden) hold.
func (e *ForbiddenError) Is(target error) bool { return target == ErrForbidden }

// Forbidden builds a ForbiddenError.
func Forbidden(reason string) error { return &ForbiddenError{Reason: reason} }

// FieldError names one field at fault and why. Row is set (1-based, header
// excluded) for bulk imports.
type FieldError struct {
	Row    int    `json:"row,omitempty"`
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// ValidationError lists every field at fault, not just the first.
type ValidationError struct {
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	parts := make([]string, 0, len(e.Fields))
	for _, f := range e.Fields {
		if f.Row > 0 {
			parts = append(parts, fmt.Sprintf("row %d %s: %s", f.Row, f.Field, f.Reason))
			continue
		}
		parts = append(parts, f.Field+": "+f.Reason)
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// Problems collects field errors while validating.
type Problems struct {
	list []FieldError
}

// Add records that field is wrong for reason.
func (p *Problems) Add(field, reason string) {
	p.list = append(p.list, FieldError{Field: field, Reason: reason})
}

// Addf is Add with formatting.
func (p *Problems) Addf(field, format string, args ...any) {
	p.Add(field, fmt.Sprintf(format, args...))
}

// Merge appends another error's fields when it is a ValidationError and
// reports whether it was.
func (p *Problems) Merge(err error) bool {
	var ve *ValidationError
	if errors.As(err, &ve) {
		p.list = append(p.list, ve.Fields...)
		return true
	}
	return false
}

// Err returns a *ValidationError when anything was added, else nil.
func (p *Problems) Err() error {
	if len(p.list) == 0 {
		return nil
	}
	fields := append([]FieldError(nil), p.list...)
	sort.SliceStable(fields, func(i, j int) bool { return fields[i].Row < fields[j].Row })
	return &ValidationError{Fields: fields}
}

// Fields turns a ready list of field errors into a *ValidationError, sorted
// by row (nil when the list is empty).
func Fields(fields []FieldError) error {
	p := Problems{list: fields}
	return p.Err()
}

// Invalid is a one-field ValidationError.
func Invalid(field, reason string) error {
	return &ValidationError{Fields: []FieldError{{Field: field, Reason: reason}}}
}
