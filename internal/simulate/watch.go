package simulate

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// AlertWatcher polls calibd's API for the out_of_tolerance alert each
// probe should raise, to time publish-to-alert as a user of the API sees
// it (the alert and the reading commit in one transaction, so this is also
// when the reading became visible).
//
// Every interval it asks about the oldest probe still waiting and, when
// that one's alert is there, about the next, and so on, stopping at the
// first not there yet. So the load on calibd stays at most one request per
// interval while probes wait (plus one per probe seen), and a seen time is
// late by at most the interval, or by as long as an older probe's alert
// took when commits finish out of order.
type AlertWatcher struct {
	api     *API
	every   time.Duration
	timeout time.Duration

	mu      sync.Mutex
	queue   []*Probe // waiting, oldest first
	results map[probeKey]alertSeen
	stop    chan struct{}
	done    chan struct{}
	log     *slog.Logger
}

type probeKey struct {
	device string
	seq    int64
}

type alertSeen struct {
	seen, created time.Time
	existed       bool
}

// NewAlertWatcher polls api every interval (default 10ms) and gives up on
// a probe timeout (default 60s) after its publish.
func NewAlertWatcher(api *API, every, timeout time.Duration) *AlertWatcher {
	if every <= 0 {
		every = 10 * time.Millisecond
	}
	if timeout <= 0 {
		timeout = time.Minute
	}
	return &AlertWatcher{api: api, every: every, timeout: timeout, results: map[probeKey]alertSeen{}}
}

func (w *AlertWatcher) start(ctx context.Context, log *slog.Logger) {
	w.log = log
	w.stop, w.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(w.done)
		t := time.NewTicker(w.every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-w.stop:
				return
			case <-t.C:
			}
			w.poll(ctx)
		}
	}()
}

// add queues a probe (called as it is published; a copy of its identity is
// kept, the Probe itself belongs to the run).
func (w *AlertWatcher) add(p *Probe) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.queue = append(w.queue, &Probe{DeviceID: p.DeviceID, Seq: p.Seq, PublishedAt: p.PublishedAt})
}

// waiting is how many probes wait for their alert.
func (w *AlertWatcher) waiting() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.queue)
}

// finish waits until every probe's alert was seen or given up, or until
// deadline, then stops polling.
func (w *AlertWatcher) finish(ctx context.Context, deadline time.Time) {
	for w.waiting() > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(w.every)
	}
	close(w.stop)
	<-w.done
}

// fill copies what was seen into the run's probes.
func (w *AlertWatcher) fill(probes []Probe) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := range probes {
		if r, ok := w.results[probeKey{probes[i].DeviceID, probes[i].Seq}]; ok {
			probes[i].AlertSeenAt, probes[i].AlertCreatedAt, probes[i].AlertExisted = r.seen, r.created, r.existed
		}
	}
}

func (w *AlertWatcher) poll(ctx context.Context) {
	for {
		w.mu.Lock()
		if len(w.queue) == 0 {
			w.mu.Unlock()
			return
		}
		p := w.queue[0]
		w.mu.Unlock()
		if time.Since(p.PublishedAt) > w.timeout {
			w.log.Warn("no alert for an out-of-tolerance check", "device_id", p.DeviceID, "seq", p.Seq, "waited", w.timeout)
			w.pop()
			continue
		}
		seen, ok := w.check(ctx, p)
		if !ok {
			return
		}
		w.mu.Lock()
		w.results[probeKey{p.DeviceID, p.Seq}] = seen
		w.mu.Unlock()
		w.pop()
	}
}

func (w *AlertWatcher) pop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.queue = w.queue[1:]
}

// check asks whether p's device has an out_of_tolerance alert whose
// evidence reaches p's check.
func (w *AlertWatcher) check(ctx context.Context, p *Probe) (alertSeen, bool) {
	var page struct {
		Items []struct {
			LastAt    time.Time `json:"last_at"`
			FirstAt   time.Time `json:"first_at"`
			CreatedAt time.Time `json:"created_at"`
		} `json:"items"`
	}
	q := url.Values{"device_id": {p.DeviceID}, "kind": {"out_of_tolerance"}, "limit": {"20"}}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := w.api.do(ctx, http.MethodGet, "/alerts?"+q.Encode(), nil, "", &page); err != nil {
		w.log.Warn("watch alerts", "error", err)
		return alertSeen{}, false
	}
	now := time.Now()
	for _, a := range page.Items {
		if !a.LastAt.Before(p.PublishedAt) {
			return alertSeen{seen: now, created: a.CreatedAt, existed: a.FirstAt.Before(p.PublishedAt)}, true
		}
	}
	return alertSeen{}, false
}
