package ingest

import (
	"context"
	"sync"
	"time"

	"github.com/calibd/calibd/devices"
)

// DefaultDeviceTTL is how long a worker trusts a device it has looked up.
const DefaultDeviceTTL = 5 * time.Second

// deviceCacheSize bounds the devices remembered.
const deviceCacheSize = 200_000

// deviceCache remembers the devices the ingest admitted messages for, for
// a few seconds: every batch looked all of its devices up again, a query
// per batch for facts (kind, retired, range) that change a few times in a
// device's life. A device retired or given a new range is treated so
// within the TTL. A device not found is asked for again every batch, so a
// newly registered one is taken at once.
type deviceCache struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]cachedDevice
}

type cachedDevice struct {
	dev   devices.IngestDevice
	until time.Time
}

// lookup returns the devices among ids, from the cache or from look.
func (c *deviceCache) lookup(ctx context.Context, ids []string, look func(context.Context, []string) (map[string]devices.IngestDevice, error)) (map[string]devices.IngestDevice, error) {
	if c.ttl <= 0 {
		return look(ctx, ids)
	}
	now := time.Now()
	out := make(map[string]devices.IngestDevice, len(ids))
	var miss []string
	c.mu.Lock()
	for _, id := range ids {
		if e, ok := c.m[id]; ok && now.Before(e.until) {
			out[id] = e.dev
		} else {
			miss = append(miss, id)
		}
	}
	c.mu.Unlock()
	if len(miss) == 0 {
		return out, nil
	}
	got, err := look(ctx, miss)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]cachedDevice, len(got))
	}
	if len(c.m)+len(got) > deviceCacheSize {
		for id, e := range c.m {
			if !now.Before(e.until) || len(c.m)+len(got) > deviceCacheSize {
				delete(c.m, id)
			}
		}
	}
	until := now.Add(c.ttl)
	for id, d := range got {
		out[id] = d
		c.m[id] = cachedDevice{dev: d, until: until}
	}
	return out, nil
}
