package store

// Replica returns a Store on the same database as s with none of s's
// in-process caches, as another replica of calibd would have: tests of
// what replicas share go through it.
func (s *Store) Replica() *Store {
	r := &Store{db: s.db, sqlDB: s.sqlDB, dialect: s.dialect, now: s.now, log: s.log, dueHorizon: s.dueHorizon, maxCycle: s.maxCycle,
		urgent: s.urgent, drift: s.drift, thresholds: s.thresholds}
	r.deadLetters.Store(s.deadLetters.Load())
	return r
}
