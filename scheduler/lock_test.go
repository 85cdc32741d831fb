package scheduler_test

import (
	"testing"

	"github.com/calibd/calibd/scheduler"
)

func TestLocalLocker(t *testing.T) {
	var l scheduler.LocalLocker
	ctx := t.Context()
	unlock, ok, err := l.TryLock(ctx, "plan")
	if !ok || err != nil {
		t.Fatalf("TryLock(plan) = %v, %v, want true, nil", ok, err)
	}
	if _, ok, _ := l.TryLock(ctx, "plan"); ok {
		t.Fatal("second TryLock(plan) succeeded while held")
	}
	other, ok, _ := l.TryLock(ctx, "overdue")
	if !ok {
		t.Fatal("TryLock(overdue) failed while only plan is held")
	}
	other()
	unlock()
	unlock() // a second call is harmless
	again, ok, _ := l.TryLock(ctx, "plan")
	if !ok {
		t.Fatal("TryLock(plan) failed after unlock")
	}
	again()
}
