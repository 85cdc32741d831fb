package ingest

import (
	"fmt"
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/calibd/calibd/devices"
)

// Dead-letter reasons the ingest adds to devices.DecodeReasons: they need
// the device, which the decoder does not have.
const (
	ReasonUnknownDevice   = devices.ReasonUnknownDevice   // no such device, or a retired one
	ReasonOutOfRange      = devices.ReasonOutOfRange      // a check value outside the thermometer's range
	ReasonWrongDeviceKind = devices.ReasonWrongDeviceKind // a check from a lift, telemetry from a thermometer
)

// deadLetterReasons lists every reason a dead letter can carry, so each
// counter series exists from the start, at zero.
func deadLetterReasons() []string { return slices.Clone(devices.DeadLetterReasons) }

// metrics are the calibd_ingest_* series exposed on /metrics.
type metrics struct {
	received     prometheus.Counter
	stored       prometheus.Counter
	duplicates   prometheus.Counter
	deadLettered *prometheus.CounterVec
	retries      prometheus.Counter
	connected    prometheus.GaugeFunc
	batchSize    prometheus.Histogram
	commit       prometheus.Histogram
	ackLatency   prometheus.Histogram
	age          prometheus.Histogram
	held         prometheus.Histogram
}

// latencyBuckets span a fast local commit (1 ms) to a store outage that
// retries for a minute.
var latencyBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// ageBuckets resolve a reading's age at commit around what matters for
// an alert (a tenth to a quarter of a second) and reach a backlog of
// minutes.
var ageBuckets = []float64{0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.5, 0.75, 1, 2.5, 5, 10, 30, 60, 300}

func newMetrics(reg prometheus.Registerer, queueDepth, connected func() float64) (*metrics, error) {
	m := &metrics{
		received: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "calibd_ingest_messages_received_total",
			Help: "MQTT messages handed to the ingest by the broker (redeliveries included).",
		}),
		stored: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "calibd_ingest_messages_stored_total",
			Help: "Valid messages stored for the first time.",
		}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "calibd_ingest_messages_duplicate_total",
			Help: "Valid messages whose (device, seq) was stored already: redeliveries, skipped.",
		}),
		deadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "calibd_ingest_messages_dead_lettered_total",
			Help: "Messages refused, acknowledged and kept as dead letters, by reason.",
		}, []string{"reason"}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "calibd_ingest_store_retries_total",
			Help: "Batch commits that failed and were retried (the batch stays unacknowledged meanwhile).",
		}),
		// Read from Connected at each scrape: one answer for /readyz and
		// /metrics, with no handler ordering to get wrong.
		connected: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "calibd_ingest_connected",
			Help: "1 while the ingest is connected to the broker and subscribed, else 0.",
		}, connected),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "calibd_ingest_batch_size",
			Help:    "Messages per batch a worker committed.",
			Buckets: []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000},
		}),
		commit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "calibd_ingest_commit_duration_seconds",
			Help:    "Time to commit a batch (device lookup, messages, dead letters), retries included.",
			Buckets: latencyBuckets,
		}),
		ackLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "calibd_ingest_ack_latency_seconds",
			Help:    "Time from a message's receipt to its acknowledgement.",
			Buckets: latencyBuckets,
		}),
		age: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "calibd_ingest_reading_age_seconds",
			Help: "Time from a stored reading's timestamp (the device's clock) to the commit that stored it: " +
				"publish to commit, when device and server clocks agree.",
			Buckets: ageBuckets,
		}),
		held: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "calibd_ingest_receipt_to_commit_seconds",
			Help: "Time from a message's receipt by the ingest to the commit of its batch: calibd's own part of " +
				"publish to commit (queue, batch wait, decode, commit).",
			Buckets: ageBuckets,
		}),
	}
	depth := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "calibd_ingest_queue_depth",
		Help: "Messages received and waiting for a worker.",
	}, queueDepth)
	for _, r := range deadLetterReasons() {
		m.deadLettered.WithLabelValues(r)
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.received, m.stored, m.duplicates, m.deadLettered, m.retries,
		m.connected, m.batchSize, m.commit, m.ackLatency, m.age, m.held, depth} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register ingest metrics: %w", err)
		}
	}
	return m, nil
}
