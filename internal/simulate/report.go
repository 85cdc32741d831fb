package simulate

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"
)

// ms is a duration in milliseconds, for people and JSON.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// ProbeLatencies are the publish-to-alert figures of the probes whose
// alert the watcher saw (alerts open before the probe left out): n, then
// the p50 and p99 of the time until the alert was visible through the
// API.
func (s Summary) ProbeLatencies() (n int, p50, p99 time.Duration) {
	var xs []time.Duration
	for _, p := range s.ProbeLog {
		if !p.AlertSeenAt.IsZero() && !p.AlertExisted {
			xs = append(xs, p.AlertSeenAt.Sub(p.PublishedAt))
		}
	}
	if ps := durationPercentiles(xs, 0.50, 0.99); ps != nil {
		return len(xs), ps[0], ps[1]
	}
	return 0, 0, 0
}

// WriteText prints the summary for people.
func (s Summary) WriteText(w io.Writer) {
	conns := fmt.Sprintf("%d connections", s.Connections)
	if s.Connections == s.Devices {
		conns = "one connection per device"
	}
	target := "as fast as acknowledged"
	if s.TargetRate > 0 {
		target = fmt.Sprintf("target %.0f/s", s.TargetRate)
	}
	fmt.Fprintf(w, "calibd simulate: %d devices, %s, QoS %d, seed %d\n", s.Devices, conns, s.QoS, s.Seed)
	fmt.Fprintf(w, "  published     %d in %.1f s (%s; %d slots missed by falling behind)\n",
		s.Published, s.Elapsed().Seconds(), target, s.Missed)
	fmt.Fprintf(w, "  accepted      %d (token completed without error%s), failed %d, unconfirmed %d: %.1f/s\n",
		s.Acked, map[bool]string{true: ": PUBACK", false: ""}[s.QoS > 0], s.Failed, s.Unconfirmed, s.Rate())
	fmt.Fprintf(w, "  by kind       checks %d, telemetry %d, events %d, bad %d, out-of-tolerance probes %d\n",
		s.Checks, s.Telemetry, s.Events, s.Bad, s.Probes)
	fmt.Fprintf(w, "  for calibd    %d accepted valid messages to store, %d accepted bad ones to dead-letter\n", s.AckedValid, s.AckedBad)
	if s.Acked > 0 {
		fmt.Fprintf(w, "  latency       publish to acknowledgement p50 %.2f ms, p99 %.2f ms\n", ms(s.AckP50), ms(s.AckP99))
	}
	if len(s.ProbeLog) > 0 {
		n, p50, p99 := s.ProbeLatencies()
		fmt.Fprintf(w, "  probes        %d out-of-tolerance checks", len(s.ProbeLog))
		if n > 0 {
			fmt.Fprintf(w, "; a new alert visible through the API for %d: p50 %.1f ms, p99 %.1f ms after publishing", n, ms(p50), ms(p99))
		}
		fmt.Fprintln(w)
	}
}

// WriteJSON writes the summary as one JSON object (for scripts).
func (s Summary) WriteJSON(path string) error {
	n, p50, p99 := s.ProbeLatencies()
	return writeJSON(path, map[string]any{
		"mode": "publish", "devices": s.Devices, "connections": s.Connections, "qos": s.QoS, "seed": s.Seed,
		"target_rate": s.TargetRate, "started": s.Started.UTC(), "stopped": s.Stopped.UTC(),
		"elapsed_s": s.Elapsed().Seconds(), "published": s.Published, "acked": s.Acked, "failed": s.Failed,
		"unconfirmed": s.Unconfirmed, "missed": s.Missed, "rate": s.Rate(),
		"checks": s.Checks, "telemetry": s.Telemetry, "events": s.Events, "bad": s.Bad, "probes": s.Probes,
		"acked_valid": s.AckedValid, "acked_bad": s.AckedBad,
		"ack_p50_ms": ms(s.AckP50), "ack_p99_ms": ms(s.AckP99),
		"probe_alerts_seen": n, "probe_alert_p50_ms": ms(p50), "probe_alert_p99_ms": ms(p99),
	})
}

// WriteProbeLog writes the probes as CSV: device_id, seq, published_at,
// acked_at, alert_seen_at, alert_created_at, alert_existed (times RFC 3339
// with nanoseconds, empty when unknown).
func (s Summary) WriteProbeLog(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("probe log: %w", err)
	}
	w := csv.NewWriter(f)
	_ = w.Write([]string{"device_id", "seq", "published_at", "acked_at", "alert_seen_at", "alert_created_at", "alert_existed"})
	tm := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	for _, p := range s.ProbeLog {
		_ = w.Write([]string{p.DeviceID, strconv.FormatInt(p.Seq, 10), tm(p.PublishedAt), tm(p.AckedAt),
			tm(p.AlertSeenAt), tm(p.AlertCreatedAt), strconv.FormatBool(p.AlertExisted)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return fmt.Errorf("probe log: %w", err)
	}
	return f.Close()
}

// WriteText prints a counting subscriber's result.
func (r CountResult) WriteText(w io.Writer) {
	fmt.Fprintf(w, "calibd simulate -count-only: %d messages", r.Messages)
	if r.Messages > 1 {
		fmt.Fprintf(w, " in %.1f s: %.1f/s", r.Last.Sub(r.First).Seconds(), r.Rate())
	}
	fmt.Fprintln(w)
}

// WriteJSON writes the count as one JSON object.
func (r CountResult) WriteJSON(path string) error {
	m := map[string]any{"mode": "count", "messages": r.Messages, "rate": r.Rate(), "elapsed_s": r.Last.Sub(r.First).Seconds()}
	if r.Messages > 0 {
		m["first"], m["last"] = r.First.UTC(), r.Last.UTC()
	}
	return writeJSON(path, m)
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	return nil
}
