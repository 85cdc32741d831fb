package lograte

import (
	"testing"
	"time"
)

func TestSometimes(t *testing.T) {
	s := New(10 * time.Second)
	t0 := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	if ok, n := s.Allow(t0); !ok || n != 0 {
		t.Errorf("first: %v %d", ok, n)
	}
	for i := 1; i <= 3; i++ {
		if ok, _ := s.Allow(t0.Add(time.Duration(i) * time.Second)); ok {
			t.Errorf("event %d within the interval let through", i)
		}
	}
	if ok, n := s.Allow(t0.Add(10 * time.Second)); !ok || n != 3 {
		t.Errorf("after the interval: %v, %d held back (want 3)", ok, n)
	}
}
