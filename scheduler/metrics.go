package scheduler

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the calibd_scheduler_* series exposed on /metrics.
type metrics struct {
	runs        *prometheus.CounterVec
	items       *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	lastSuccess *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "calibd_scheduler_runs_total",
			Help: "Scheduler job runs by job and outcome (succeeded, failed, skipped_running, skipped_locked).",
		}, []string{"job", "outcome"}),
		items: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "calibd_scheduler_items_total",
			Help: "Objects created or changed by scheduler jobs.",
		}, []string{"job"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "calibd_scheduler_run_duration_seconds",
			Help:    "Duration of scheduler job runs that executed the job.",
			Buckets: []float64{0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600},
		}, []string{"job"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "calibd_scheduler_last_success_timestamp_seconds",
			Help: "Unix time at which each scheduler job last succeeded in this process.",
		}, []string{"job"}),
	}
	for _, c := range []prometheus.Collector{m.runs, m.items, m.duration, m.lastSuccess} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register scheduler metrics: %w", err)
		}
	}
	return m, nil
}

// add creates a job's counter series at zero, so rates and alerts see the
// job before its first run. The last-success gauge stays absent until a
// success, so that "never succeeded" is not read as 1970.
func (m *metrics) add(job string) {
	for _, o := range []Outcome{OutcomeSucceeded, OutcomeFailed, OutcomeSkippedRunning, OutcomeSkippedLocked} {
		m.runs.WithLabelValues(job, string(o))
	}
	m.items.WithLabelValues(job)
	m.duration.WithLabelValues(job)
}

// record counts one run; executed says whether the job body ran, and d is
// how long the run took.
func (m *metrics) record(run Run, executed bool, d time.Duration) {
	m.runs.WithLabelValues(run.Job, string(run.Outcome)).Inc()
	if run.Items > 0 {
		m.items.WithLabelValues(run.Job).Add(float64(run.Items))
	}
	if executed {
		m.duration.WithLabelValues(run.Job).Observe(d.Seconds())
	}
	if run.Outcome == OutcomeSucceeded {
		m.lastSuccess.WithLabelValues(run.Job).Set(float64(run.Finished.UnixNano()) / 1e9)
	}
}
