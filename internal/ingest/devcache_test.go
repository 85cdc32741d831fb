package ingest

import (
	"context"
	"testing"
	"time"

	"github.com/calibd/calibd/devices"
)

// TestDeviceCache: a device found is trusted for the TTL, then looked up
// again (a retirement is seen then); a device not found is looked up every
// time, so a newly registered one is taken at once.
func TestDeviceCache(t *testing.T) {
	known := map[string]devices.IngestDevice{"a": {ID: "a", Kind: devices.DeviceThermometer}}
	var asked [][]string
	look := func(_ context.Context, ids []string) (map[string]devices.IngestDevice, error) {
		asked = append(asked, ids)
		out := map[string]devices.IngestDevice{}
		for _, id := range ids {
			if d, ok := known[id]; ok {
				out[id] = d
			}
		}
		return out, nil
	}
	c := deviceCache{ttl: 50 * time.Millisecond}
	ctx := context.Background()
	for range 3 {
		got, err := c.lookup(ctx, []string{"a", "b"}, look)
		if err != nil || len(got) != 1 || got["a"].Retired {
			t.Fatalf("lookup = %v, %v; want a, in service", got, err)
		}
	}
	if len(asked) != 3 || len(asked[0]) != 2 || len(asked[1]) != 1 || asked[1][0] != "b" {
		t.Fatalf("asked the store %v; want [a b] once, then [b] each time", asked)
	}
	known["a"] = devices.IngestDevice{ID: "a", Kind: devices.DeviceThermometer, Retired: true}
	known["b"] = devices.IngestDevice{ID: "b", Kind: devices.DeviceElevator}
	if got, _ := c.lookup(ctx, []string{"a", "b"}, look); got["a"].Retired || got["b"].Kind != devices.DeviceElevator {
		t.Errorf("within the TTL: %v; want a as cached and b, new, found", got)
	}
	time.Sleep(60 * time.Millisecond)
	if got, _ := c.lookup(ctx, []string{"a"}, look); !got["a"].Retired {
		t.Errorf("after the TTL a is %+v, want it retired", got["a"])
	}
	off := deviceCache{ttl: -1}
	asked = nil
	for range 2 {
		_, _ = off.lookup(ctx, []string{"a"}, look)
	}
	if len(asked) != 2 {
		t.Errorf("with the cache off the store was asked %d times for 2 lookups", len(asked))
	}
}
