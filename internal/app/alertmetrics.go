package app

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/calibd/calibd/internal/store"
)

// alertCollector exports calibd_alerts{kind,state}: the alerts in the
// database, read at scrape time (at most once per alertCacheTTL). It is a
// gauge of the shared table, so every replica reports the same numbers:
// take max, not sum, across replicas. Raised alerts show as the increase
// of the sum over states.
type alertCollector struct {
	st   *store.Store
	log  *slog.Logger
	desc *prometheus.Desc

	mu     sync.Mutex
	at     time.Time
	counts []store.AlertCount
}

const alertCacheTTL = 2 * time.Second

func newAlertCollector(st *store.Store, log *slog.Logger) *alertCollector {
	return &alertCollector{st: st, log: log, desc: prometheus.NewDesc("calibd_alerts",
		"Alerts by kind and state (alerts are never deleted: the sum over states counts every alert raised).",
		[]string{"kind", "state"}, nil)}
}

func (c *alertCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *alertCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.at) > alertCacheTTL {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		counts, err := c.st.AlertCounts(ctx)
		cancel()
		if err != nil {
			// A scrape must not fail for it: the last numbers stand.
			c.log.Warn("counting alerts for /metrics", "err", err)
		} else {
			c.counts, c.at = counts, time.Now()
		}
	}
	for _, a := range c.counts {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(a.N), a.Kind, a.State)
	}
}
