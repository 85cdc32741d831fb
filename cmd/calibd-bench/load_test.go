package main

import (
	"testing"
	"time"
)

func TestPercentileNearestRank(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, 50 * time.Millisecond}, {90, 90 * time.Millisecond}, {99, 99 * time.Millisecond}, {100, 100 * time.Millisecond}, {0.1, time.Millisecond}} {
		if got := percentile(d, c.p); got != c.want {
			t.Errorf("p%v = %v, want %v", c.p, got, c.want)
		}
	}
	if got := percentile(d[:1], 99); got != time.Millisecond {
		t.Errorf("p99 of one sample = %v", got)
	}
	s := summarize([]time.Duration{3 * time.Millisecond, time.Millisecond, 2 * time.Millisecond})
	if s.p50 != 2 || s.max != 3 || s.mean != 2 {
		t.Errorf("summarize = %+v", s)
	}
}

func TestNextCursor(t *testing.T) {
	for body, want := range map[string]string{
		`{"items":[{"id":"a","next_cursor":"x"}],"next_cursor":"MDE5YWJj"}`: "MDE5YWJj",
		`{"items":[],"next_cursor":null}`:                                   "",
		`{"items":[], "next_cursor": "abc_-"}`:                              "abc_-",
		`{"error":"nope"}`:                                                  "",
	} {
		if got := nextCursor([]byte(body)); got != want {
			t.Errorf("nextCursor(%s) = %q, want %q", body, got, want)
		}
	}
}

func TestListWalkerRestartsAfterLastPage(t *testing.T) {
	w := listWalker("http://127.0.0.1:1", "v", "in_service")
	first := w(nil)
	if got := w([]byte(`{"next_cursor":"c1"}`)); got != first+"&cursor=c1" {
		t.Errorf("second page %q", got)
	}
	if got := w([]byte(`{"next_cursor":null}`)); got != first {
		t.Errorf("after the last page %q, want %q", got, first)
	}
}

func TestLoopbackOnly(t *testing.T) {
	for _, u := range []string{"http://127.0.0.1:18080/api/v1", "http://localhost:1", "http://[::1]:2"} {
		if err := checkLoopbackURL(u); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	for _, u := range []string{"http://10.0.0.1:80", "https://127.0.0.1:1", "http://example.org"} {
		if err := checkLoopbackURL(u); err == nil {
			t.Errorf("%s accepted", u)
		}
	}
	if err := checkLoopbackDB("postgres://postgres@db.example.org/x"); err == nil {
		t.Error("remote database accepted")
	}
}
