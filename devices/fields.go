package devices

import (
	"math"
	"net/mail"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"
)

// Change is one field's value before and after a write, as the audit log
// records it.
type Change struct {
	From any `json:"from"`
	To   any `json:"to"`
}

// Changes maps field names to their change.
type Changes map[string]Change

// setField applies an optional new value and records a change when it
// differs from the old one.
func setField[T any](c Changes, name string, dst *T, v *T) {
	if v == nil {
		return
	}
	if reflect.DeepEqual(*dst, *v) {
		return
	}
	c[name] = Change{From: *dst, To: *v}
	*dst = *v
}

// normalized returns a patch string as validation will store it: trimmed,
// then passed through f (nil: as is). Patches compare and record the
// normalized value, so the audit log shows what was stored and a patch
// differing only in spacing changes nothing.
func normalized(v *string, f func(string) string) *string {
	if v == nil {
		return nil
	}
	s := strings.TrimSpace(*v)
	if f != nil {
		s = f(s)
	}
	return &s
}

// setOptional is setField for nullable values: a non-nil outer pointer
// means "set", and a nil inner pointer means "clear".
func setOptional[T comparable](c Changes, name string, dst **T, v **T) {
	if v == nil {
		return
	}
	old, nw := *dst, *v
	if (old == nil && nw == nil) || (old != nil && nw != nil && *old == *nw) {
		return
	}
	c[name] = Change{From: deref(old), To: deref(nw)}
	*dst = nw
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func checkText(p *Problems, field, v string, required bool, max int) {
	switch {
	case required && v == "":
		p.Add(field, "is required")
	case !utf8.ValidString(v):
		p.Add(field, "must be valid UTF-8")
	case utf8.RuneCountInString(v) > max:
		p.Addf(field, "must be at most %d characters", max)
	case strings.ContainsRune(v, 0):
		p.Add(field, "must not contain NUL characters")
	}
}

// checkRegion accepts an administrative region code: a GB/T 2260 six-digit
// code such as 310115 or an ISO 3166-2 code such as CN-SH. It upper-cases v.
func checkRegion(p *Problems, field string, v *string, required bool) {
	*v = strings.ToUpper(strings.TrimSpace(*v))
	if *v == "" {
		if required {
			p.Add(field, "is required")
		}
		return
	}
	if len(*v) > 16 {
		p.Add(field, "must be at most 16 characters")
		return
	}
	for i, r := range *v {
		ok := (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') || (r == '-' && i > 0)
		if !ok {
			p.Add(field, "must be a region code such as 310115 or CN-SH (letters, digits, '-')")
			return
		}
	}
}

func checkEmail(p *Problems, field, v string) {
	if v == "" {
		return
	}
	a, err := mail.ParseAddress(v)
	if err != nil || a.Address != v || len(v) > 254 {
		p.Add(field, "must be an e-mail address such as ops@example.org")
	}
}

func checkFinite(p *Problems, field string, v float64) bool {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		p.Add(field, "must be a finite number")
		return false
	}
	return true
}

func checkZone(p *Problems, field, v string) {
	if v == "" {
		p.Add(field, "is required (an IANA time zone such as Asia/Shanghai)")
		return
	}
	if v == "Local" {
		p.Add(field, "must be an IANA time zone such as Asia/Shanghai")
		return
	}
	if _, err := time.LoadLocation(v); err != nil {
		p.Add(field, "is not a known IANA time zone (e.g. Asia/Shanghai)")
	}
}

func checkID(p *Problems, field, v string) {
	if !IsUUID(v) {
		p.Add(field, "must be a UUID")
	}
}

// IsUUID reports whether s is a canonical lower- or upper-case UUID string.
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) {
				return false
			}
		}
	}
	return true
}
