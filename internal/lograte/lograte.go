// Package lograte limits repeated warnings: one per interval, with a count
// of the ones held back.
package lograte

import (
	"sync"
	"time"
)

// Sometimes lets through one event per interval and counts the rest.
type Sometimes struct {
	mu         sync.Mutex
	every      time.Duration
	last       time.Time
	suppressed int
}

// New lets one event through per every.
func New(every time.Duration) *Sometimes { return &Sometimes{every: every} }

// Allow reports whether to log now, and how many events were held back
// since the last one let through.
func (s *Sometimes) Allow(now time.Time) (bool, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.last.IsZero() && now.Sub(s.last) < s.every {
		s.suppressed++
		return false, 0
	}
	n := s.suppressed
	s.last, s.suppressed = now, 0
	return true, n
}
