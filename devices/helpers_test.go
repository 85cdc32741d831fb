package devices_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/calibd/calibd/devices"
)

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }

// pptr returns a non-nil pointer to a pointer to v: a patch that sets v.
func pptr[T any](v T) **T { p := &v; return &p }

// clear returns a non-nil pointer to a nil pointer: a patch that clears.
func clearPtr[T any]() **T { var p *T; return &p }

// mustTime parses an RFC 3339 time or fails the test.
func mustTime(tb testing.TB, s string) time.Time {
	tb.Helper()
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		tb.Fatalf("time.Parse(%q): %v", s, err)
	}
	return t
}

// validationFields returns the sorted field names of a *ValidationError, nil
// for a nil error, and fails the test for any other error.
func validationFields(tb testing.TB, err error) []string {
	tb.Helper()
	if err == nil {
		return nil
	}
	var ve *devices.ValidationError
	if !errors.As(err, &ve) {
		tb.Fatalf("error %v (%T) is not a *devices.ValidationError", err, err)
	}
	if len(ve.Fields) == 0 {
		tb.Fatalf("ValidationError with no fields: %v", err)
	}
	out := make([]string, len(ve.Fields))
	for i, f := range ve.Fields {
		if f.Reason == "" {
			tb.Errorf("field %q has an empty reason", f.Field)
		}
		out[i] = f.Field
	}
	slices.Sort(out)
	return out
}

// sorted returns a sorted copy, for comparing field lists.
func sorted(s ...string) []string {
	if len(s) == 0 {
		return nil
	}
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// conflictCode returns the Code of a *ConflictError and fails the test when
// err is not one (or does not satisfy errors.Is(err, ErrConflict)).
func conflictCode(tb testing.TB, err error) string {
	tb.Helper()
	if !errors.Is(err, devices.ErrConflict) {
		tb.Fatalf("error %v is not ErrConflict", err)
	}
	var ce *devices.ConflictError
	if !errors.As(err, &ce) {
		tb.Fatalf("error %v (%T) is not a *devices.ConflictError", err, err)
	}
	return ce.Code
}
