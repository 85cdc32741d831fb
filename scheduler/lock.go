package scheduler

import (
	"context"
	"sync"
)

// Locker is the cluster-wide lock a job run holds, so that one replica
// executes a tick. On PostgreSQL the store implements it with
// pg_try_advisory_lock; LocalLocker serves a single process.
type Locker interface {
	// TryLock takes the lock called name without waiting for it. It
	// returns ok false, and a nil unlock, if someone else holds it. After
	// ok true the caller must call unlock exactly once when done. err
	// reports a failure to ask (the lock is then not held).
	TryLock(ctx context.Context, name string) (unlock func(), ok bool, err error)
}

// LocalLocker is a Locker within one process: one holder per name. It
// suits the embedded SQLite setup, where a single process runs the jobs,
// and tests that simulate replicas sharing one lock. The zero value is
// ready to use; it must not be copied after first use.
type LocalLocker struct {
	mu   sync.Mutex
	held map[string]bool
}

// TryLock implements Locker. It never blocks and never fails.
func (l *LocalLocker) TryLock(_ context.Context, name string) (func(), bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held[name] {
		return nil, false, nil
	}
	if l.held == nil {
		l.held = make(map[string]bool)
	}
	l.held[name] = true
	var once sync.Once
	unlock := func() {
		once.Do(func() {
			l.mu.Lock()
			delete(l.held, name)
			l.mu.Unlock()
		})
	}
	return unlock, true, nil
}
