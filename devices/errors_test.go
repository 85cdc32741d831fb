package devices_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/calibd/calibd/devices"
)

func TestErrorKinds(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		want    error
		notWant []error
		msg     string
	}{
		{
			name:    "conflict",
			err:     devices.Conflict("dup", "serial %s taken", "A1"),
			want:    devices.ErrConflict,
			notWant: []error{devices.ErrForbidden, devices.ErrNotFound, devices.ErrPreconditionFailed},
			msg:     "serial A1 taken",
		},
		{
			name:    "wrapped conflict",
			err:     fmt.Errorf("create: %w", devices.Conflict("dup", "taken")),
			want:    devices.ErrConflict,
			notWant: []error{devices.ErrForbidden},
			msg:     "create: taken",
		},
		{
			name:    "forbidden",
			err:     devices.Forbidden("only admins"),
			want:    devices.ErrForbidden,
			notWant: []error{devices.ErrConflict, devices.ErrUnauthenticated},
			msg:     "forbidden: only admins",
		},
		{
			name:    "invalid is not a kind sentinel",
			err:     devices.Invalid("name", "is required"),
			notWant: []error{devices.ErrConflict, devices.ErrForbidden, devices.ErrNotFound},
			msg:     "invalid input: name: is required",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.want != nil && !errors.Is(tt.err, tt.want) {
				t.Errorf("errors.Is(%v, %v) = false, want true", tt.err, tt.want)
			}
			for _, nw := range tt.notWant {
				if errors.Is(tt.err, nw) {
					t.Errorf("errors.Is(%v, %v) = true, want false", tt.err, nw)
				}
			}
			if got := tt.err.Error(); got != tt.msg {
				t.Errorf("Error() = %q, want %q", got, tt.msg)
			}
		})
	}
}

func TestConflictCarriesCode(t *testing.T) {
	err := fmt.Errorf("wrap: %w", devices.Conflict("invalid_transition", "no"))
	if got := conflictCode(t, err); got != "invalid_transition" {
		t.Errorf("Code = %q, want invalid_transition", got)
	}
}

func TestValidationErrorMessage(t *testing.T) {
	tests := []struct {
		name   string
		fields []devices.FieldError
		want   string
	}{
		{"one field", []devices.FieldError{{Field: "name", Reason: "is required"}}, "invalid input: name: is required"},
		{
			"rows and fields",
			[]devices.FieldError{{Row: 3, Field: "type", Reason: "bad"}, {Field: "csv", Reason: "empty"}},
			"invalid input: row 3 type: bad; csv: empty",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := &devices.ValidationError{Fields: tt.fields}
			if got := err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestProblems(t *testing.T) {
	t.Run("empty is nil", func(t *testing.T) {
		var p devices.Problems
		if err := p.Err(); err != nil {
			t.Errorf("Err() = %v, want nil", err)
		}
		if err := devices.Fields(nil); err != nil {
			t.Errorf("Fields(nil) = %v, want nil", err)
		}
	})
	t.Run("add, addf and merge keep every field", func(t *testing.T) {
		var p devices.Problems
		p.Add("a", "one")
		p.Addf("b", "max %d", 5)
		if !p.Merge(devices.Invalid("c", "three")) {
			t.Error("Merge(ValidationError) = false, want true")
		}
		if p.Merge(devices.ErrConflict) {
			t.Error("Merge(ErrConflict) = true, want false")
		}
		if p.Merge(nil) {
			t.Error("Merge(nil) = true, want false")
		}
		var ve *devices.ValidationError
		if !errors.As(p.Err(), &ve) {
			t.Fatalf("Err() = %v, want *ValidationError", p.Err())
		}
		want := []devices.FieldError{{Field: "a", Reason: "one"}, {Field: "b", Reason: "max 5"}, {Field: "c", Reason: "three"}}
		if diff := cmp.Diff(want, ve.Fields); diff != "" {
			t.Errorf("fields (-want +got):\n%s", diff)
		}
	})
	t.Run("Err returns a copy", func(t *testing.T) {
		var p devices.Problems
		p.Add("a", "one")
		var ve *devices.ValidationError
		errors.As(p.Err(), &ve)
		ve.Fields[0].Field = "mutated"
		errors.As(p.Err(), &ve)
		if ve.Fields[0].Field != "a" {
			t.Errorf("second Err() field = %q, want a (first result aliased the list)", ve.Fields[0].Field)
		}
	})
	t.Run("Fields sorts by row, stable", func(t *testing.T) {
		in := []devices.FieldError{{Row: 5, Field: "x"}, {Row: 2, Field: "y"}, {Row: 5, Field: "a"}, {Row: 2, Field: "b"}}
		var ve *devices.ValidationError
		if !errors.As(devices.Fields(in), &ve) {
			t.Fatal("Fields did not return a *ValidationError")
		}
		want := []devices.FieldError{{Row: 2, Field: "y"}, {Row: 2, Field: "b"}, {Row: 5, Field: "x"}, {Row: 5, Field: "a"}}
		if diff := cmp.Diff(want, ve.Fields); diff != "" {
			t.Errorf("Fields order (-want +got):\n%s", diff)
		}
	})
}
