package store

import (
	"sync"

	"github.com/calibd/calibd/devices"
)

// driftCacheSize bounds the drift states a replica remembers: about 1 KB
// each with the thermometer row, so some 50 MiB at most.
const driftCacheSize = 50_000

// driftCache holds, per thermometer, the drift state row this replica last
// committed, decoded, so that a batch on PostgreSQL need not read the row
// back and parse it. It is only a guess at what is stored: the
// compare-and-set write of every state checks that the row is still the
// one the batch started from, and a device another replica or a
// calibration changed meanwhile fails that check and is read again under
// lock (updateDrift). The thermometer row the state was judged by is kept
// too, so a batch need not read it either: every update of the
// thermometer bumps its facts_version (a trigger), which the same check
// compares. A wrong entry therefore costs a retry, never a wrong state.
type driftCache struct {
	mu   sync.Mutex
	rows map[string]cachedDrift
}

type cachedDrift struct {
	row driftStateRow
	st  devices.DriftState
	// th is the thermometer row the state was judged by; the compare and
	// set's facts_version check says whether it is still current.
	th *thermometerRow
}

// take returns the cached entries of ids and the ids it has none for.
func (c *driftCache) take(ids []string) (found map[string]cachedDrift, missing []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	found = make(map[string]cachedDrift, len(ids))
	for _, id := range ids {
		if e, ok := c.rows[id]; ok {
			found[id] = e
		} else {
			missing = append(missing, id)
		}
	}
	return found, missing
}

// put remembers rows a transaction has committed; when full it forgets
// arbitrary entries first.
func (c *driftCache) put(rows []cachedDrift) {
	if len(rows) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rows == nil {
		c.rows = make(map[string]cachedDrift, len(rows))
	}
	for id := range c.rows {
		if len(c.rows)+len(rows) <= driftCacheSize {
			break
		}
		delete(c.rows, id)
	}
	for _, r := range rows {
		r.row.State = "" // st is what is used; the text is only kept in the database
		c.rows[r.row.DeviceID] = r
	}
}

// forget drops a device's entry (its state was reset here).
func (c *driftCache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.rows, id)
}
