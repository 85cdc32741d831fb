package httpapi

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/calibd/calibd/devices"
)

// TestBusyAnswer: a change the database kept rolling back for concurrent
// ones (devices.ErrBusy) is a 503 problem the client may send again after
// Retry-After, not a 500.
func TestBusyAnswer(t *testing.T) {
	rec := httptest.NewRecorder()
	c, _ := gin.CreateTestContext(rec)
	c.Request = httptest.NewRequest(http.MethodPost, "/api/v1/calibration-results", nil)
	s := &Server{log: slog.New(slog.DiscardHandler)}
	s.fail(c, fmt.Errorf("record result: %w", devices.ErrBusy))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("status = %d, want 503", rec.Code)
	}
	if got := rec.Header().Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After = %q, want 1", got)
	}
	if got := rec.Header().Get("Content-Type"); got != "application/problem+json" {
		t.Errorf("Content-Type = %q", got)
	}
	var p Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	if p.Code != "busy" || p.Status != http.StatusServiceUnavailable || p.Detail == "" {
		t.Errorf("problem = %+v", p)
	}
}
