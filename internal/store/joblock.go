package store

import (
	"context"
	"database/sql/driver"
	"hash/fnv"
	"sync"

	"github.com/calibd/calibd/migrations"
)

// jobLockSpace keeps scheduler lock keys apart from other advisory locks.
const jobLockSpace = "calibd.scheduler."

// jobLockKey is the advisory lock key of a scheduler job.
func jobLockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte(jobLockSpace + name))
	return int64(h.Sum64())
}

// TryLock takes the cluster-wide lock of a scheduler job without waiting
// (it implements scheduler.Locker). On PostgreSQL it is a session advisory
// lock held on a connection set aside until unlock, so exactly one replica
// runs a tick and a crashed replica's lock goes with its connection. On
// SQLite, where one process serves the file, it is an in-process lock.
func (s *Store) TryLock(ctx context.Context, name string) (func(), bool, error) {
	if s.dialect == migrations.SQLite {
		return s.localLocks.tryLock(name)
	}
	conn, err := s.sqlDB.Conn(ctx)
	if err != nil {
		return nil, false, err
	}
	key := jobLockKey(name)
	var ok bool
	if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1)", key).Scan(&ok); err != nil {
		_ = conn.Close()
		return nil, false, err
	}
	if !ok {
		_ = conn.Close()
		return nil, false, nil
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			// If the unlock fails, returning the connection to the pool
			// would keep the session lock; discard the connection instead,
			// which ends the session and its locks.
			if _, err := conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock($1)", key); err != nil {
				_ = conn.Raw(func(any) error { return driver.ErrBadConn })
			}
			_ = conn.Close()
		})
	}, true, nil
}

// localLocks is the SQLite job lock: a set of held names.
type localLocks struct {
	mu   sync.Mutex
	held map[string]bool
}

func (l *localLocks) tryLock(name string) (func(), bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held == nil {
		l.held = map[string]bool{}
	}
	if l.held[name] {
		return nil, false, nil
	}
	l.held[name] = true
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			delete(l.held, name)
			l.mu.Unlock()
		})
	}, true, nil
}
