package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type loadConfig struct {
	target      string
	mode        string
	seedFile    string
	urlFile     string
	token       string
	server      string
	jsonOut     string
	status      string
	conns       int
	rep         int
	duration    time.Duration
	warmup      time.Duration
	timeout     time.Duration
	maxRequests int64
	verify      bool
	verifyPages int
	pid         int
}

// LoadResult is one load run, as written to the results file.
type LoadResult struct {
	Server     string           `json:"server"`
	Mode       string           `json:"mode"`
	Target     string           `json:"target"`
	Devices    int              `json:"devices"`
	Conns      int              `json:"conns"`
	Rep        int              `json:"rep"`
	Started    time.Time        `json:"started"`
	WarmupS    float64          `json:"warmup_s"`
	WindowS    float64          `json:"window_s"`
	Requests   int              `json:"requests"`
	RPS        float64          `json:"rps"`
	MeanMS     float64          `json:"mean_ms"`
	P50MS      float64          `json:"p50_ms"`
	P90MS      float64          `json:"p90_ms"`
	P99MS      float64          `json:"p99_ms"`
	MaxMS      float64          `json:"max_ms"`
	Errors     int64            `json:"errors"`
	ErrorKinds map[string]int64 `json:"error_kinds,omitempty"`
	Restarts   int64            `json:"list_restarts,omitempty"`
	// CPU time per measured request of the server process (--pid) and of
	// this load generator: less sensitive to a busy machine than req/s.
	ServerCPUus float64 `json:"server_cpu_us_per_req,omitempty"`
	ClientCPUus float64 `json:"client_cpu_us_per_req,omitempty"`
	// LoadAvg is the machine's 1-minute load average after the run: how
	// busy the shared machine was.
	LoadAvg float64 `json:"loadavg_1m"`
}

func loadCmd(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("load")
	var c loadConfig
	fs.StringVar(&c.target, "target", "", "base URL: http://127.0.0.1:18080/api/v1 (calibd) or http://127.0.0.1:18081 (bare)")
	fs.StringVar(&c.mode, "mode", "get", "get (one thermometer by id) or list (venue+status, following next_cursor)")
	fs.StringVar(&c.seedFile, "seed", "seed.json", "seed file written by `calibd-bench seed` (ids, hot venue, token)")
	fs.StringVar(&c.seedFile, "ids", "seed.json", "alias of --seed")
	fs.StringVar(&c.urlFile, "url-file", "", "instead of --mode: GET these URLs (one a line, absolute or relative to --target), cycling")
	fs.StringVar(&c.token, "token", "", "bearer token (default: the seed file's)")
	fs.StringVar(&c.server, "server", "", "name of the server under test, for the report (calibd, bare)")
	fs.StringVar(&c.jsonOut, "json-out", "", "append the result as a JSON line to this file")
	fs.StringVar(&c.status, "status", hotStatus, "status filter of list mode")
	fs.IntVar(&c.conns, "conns", 2, "concurrent keep-alive connections, one goroutine each")
	fs.IntVar(&c.rep, "rep", 0, "repetition number, for the report")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "measured duration")
	fs.DurationVar(&c.warmup, "warmup", 2*time.Second, "unmeasured warm-up before it")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Second, "per-request timeout")
	fs.Int64Var(&c.maxRequests, "max-requests", 5_000_000, "stop after this many measured requests")
	fs.IntVar(&c.pid, "pid", 0, "process id of the server, to report its CPU time per request")
	fs.BoolVar(&c.verify, "verify", false, "before loading, check the answers (list: walk the cursor chain)")
	fs.IntVar(&c.verifyPages, "verify-pages", 0, "with --verify in list mode, check at most this many pages (0: the whole chain)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := checkLoopbackURL(c.target); err != nil {
		return err
	}
	if c.conns < 1 || c.duration <= 0 || c.maxRequests < 1 {
		return errors.New("load: --conns, --duration and --max-requests must be positive")
	}
	c.target = strings.TrimRight(c.target, "/")
	var seed SeedInfo
	var next func(w int) nextFunc
	if c.urlFile != "" {
		urls, err := readURLFile(c.target, c.urlFile)
		if err != nil {
			return err
		}
		c.mode = "urls"
		next = func(w int) nextFunc {
			i := w * len(urls) / c.conns
			return func([]byte) string { u := urls[i%len(urls)]; i++; return u }
		}
	} else {
		var err error
		if seed, err = readSeed(c.seedFile); err != nil {
			return err
		}
		if c.token == "" {
			c.token = seed.Token
		}
		switch c.mode {
		case "get":
			next = func(w int) nextFunc {
				r := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
				return func([]byte) string { return c.target + "/thermometers/" + seed.IDs[r.IntN(len(seed.IDs))] }
			}
		case "list":
			next = func(int) nextFunc { return listWalker(c.target, seed.HotVenueID, c.status) }
		default:
			return fmt.Errorf("load: --mode must be get or list, not %q", c.mode)
		}
	}
	if err := preflight(ctx, c, seed, next(0)); err != nil {
		return err
	}
	res, err := runLoad(ctx, c, next)
	if err != nil {
		return err
	}
	res.Devices = seed.Devices
	fmt.Fprintf(stdout, "load: %-6s %-4s %7d devices %2d conns: %7d req in %5.2fs = %8.1f req/s; ms p50 %6.2f p90 %6.2f p99 %6.2f max %7.2f; cpu us/req server %.0f client %.0f; load %.1f; errors %d %v\n",
		res.Server, res.Mode, res.Devices, res.Conns, res.Requests, res.WindowS, res.RPS, res.P50MS, res.P90MS, res.P99MS, res.MaxMS,
		res.ServerCPUus, res.ClientCPUus, res.LoadAvg, res.Errors, res.ErrorKinds)
	if c.jsonOut != "" {
		if err := appendJSONLine(c.jsonOut, res); err != nil {
			return fmt.Errorf("load: %w", err)
		}
	}
	return nil
}

// nextFunc gives a connection its next URL; it sees the previous response
// body (nil after an error), which list mode reads next_cursor from.
type nextFunc func(prev []byte) string

func listURL(base, venue, status, cursor string) string {
	u := base + "/thermometers?venue_id=" + url.QueryEscape(venue) + "&status=" + url.QueryEscape(status) + "&limit=50"
	if cursor != "" {
		u += "&cursor=" + url.QueryEscape(cursor)
	}
	return u
}

// listWalker follows next_cursor through the hot venue's pages and starts
// over at the first page after the last one (or after an error).
func listWalker(base, venue, status string) nextFunc {
	first := true
	return func(prev []byte) string {
		cursor := ""
		if !first && prev != nil {
			cursor = nextCursor(prev)
		}
		first = false
		return listURL(base, venue, status, cursor)
	}
}

var nextCursorKey = []byte(`"next_cursor":`)

// nextCursor reads next_cursor from a list body without decoding the
// whole page, to keep the load generator's CPU share small. Cursors are
// base64url, so they carry no JSON escapes.
func nextCursor(body []byte) string {
	i := bytes.LastIndex(body, nextCursorKey)
	if i < 0 {
		return ""
	}
	rest := bytes.TrimLeft(body[i+len(nextCursorKey):], " \t\r\n")
	if len(rest) == 0 || rest[0] != '"' {
		return "" // null: the last page
	}
	end := bytes.IndexByte(rest[1:], '"')
	if end < 0 {
		return ""
	}
	return string(rest[1 : 1+end])
}

func readURLFile(base, path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	defer f.Close()
	var urls []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !strings.HasPrefix(line, "http://") {
			line = base + "/" + strings.TrimLeft(line, "/")
		}
		if err := checkLoopbackURL(line); err != nil {
			return nil, err
		}
		urls = append(urls, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	if len(urls) == 0 {
		return nil, fmt.Errorf("load: %s lists no URLs", path)
	}
	return urls, nil
}

func newClient(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{
		MaxIdleConns: 1, MaxIdleConnsPerHost: 1, MaxConnsPerHost: 1,
		DisableCompression: true, IdleConnTimeout: time.Minute,
	}}
}

func doGet(ctx context.Context, client *http.Client, u, token string, buf *bytes.Buffer) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	buf.Reset()
	_, err = buf.ReadFrom(resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, err
}

// preflight makes sure the target answers 2xx before spending a run on
// it, and with --verify checks the answers' content.
func preflight(ctx context.Context, c loadConfig, seed SeedInfo, next nextFunc) error {
	client := newClient(c.timeout)
	defer client.CloseIdleConnections()
	var buf bytes.Buffer
	u := next(nil)
	status, err := doGet(ctx, client, u, c.token, &buf)
	if err != nil {
		return fmt.Errorf("load: preflight GET %s: %w", u, err)
	}
	if status/100 != 2 {
		return fmt.Errorf("load: preflight GET %s: status %d: %.300s", u, status, buf.String())
	}
	if !c.verify {
		return nil
	}
	switch c.mode {
	case "list":
		return verifyList(ctx, c, seed, client)
	case "get":
		for _, id := range seed.IDs[:min(20, len(seed.IDs))] {
			status, err := doGet(ctx, client, c.target+"/thermometers/"+id, c.token, &buf)
			if err != nil || status != http.StatusOK {
				return fmt.Errorf("load: verify GET %s: status %d, %v", id, status, err)
			}
			var t struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal(buf.Bytes(), &t); err != nil || t.ID != id {
				return fmt.Errorf("load: verify GET %s: answered %.200s", id, buf.String())
			}
		}
		fmt.Printf("load: verified GET on %d ids at %s\n", min(20, len(seed.IDs)), c.target)
	}
	return nil
}

// verifyList walks the whole cursor chain once: full pages of 50 with a
// cursor, ids strictly increasing, every item in the venue and status, and
// as many items as the seed counted.
func verifyList(ctx context.Context, c loadConfig, seed SeedInfo, client *http.Client) error {
	var buf bytes.Buffer
	cursor, last, total, pages := "", "", 0, 0
	start := time.Now()
	for {
		u := listURL(c.target, seed.HotVenueID, c.status, cursor)
		status, err := doGet(ctx, client, u, c.token, &buf)
		if err != nil || status != http.StatusOK {
			return fmt.Errorf("load: verify %s: status %d, %v: %.300s", u, status, err, buf.String())
		}
		var page struct {
			Items []struct {
				ID      string `json:"id"`
				VenueID string `json:"venue_id"`
				Status  string `json:"status"`
			} `json:"items"`
			NextCursor *string `json:"next_cursor"`
		}
		if err := json.Unmarshal(buf.Bytes(), &page); err != nil {
			return fmt.Errorf("load: verify page %d: %w", pages, err)
		}
		pages++
		for _, it := range page.Items {
			if it.VenueID != seed.HotVenueID || it.Status != c.status {
				return fmt.Errorf("load: verify page %d: item %s has venue %s status %s", pages, it.ID, it.VenueID, it.Status)
			}
			if it.ID <= last {
				return fmt.Errorf("load: verify page %d: id %s does not follow %s", pages, it.ID, last)
			}
			last = it.ID
		}
		total += len(page.Items)
		if page.NextCursor == nil {
			break
		}
		if c.verifyPages > 0 && pages >= c.verifyPages {
			fmt.Printf("load: verified the first %d pages of the list at %s (%d items)\n", pages, c.target, total)
			return nil
		}
		if len(page.Items) != 50 {
			return fmt.Errorf("load: verify page %d: %d items but a next_cursor", pages, len(page.Items))
		}
		cursor = *page.NextCursor
	}
	if seed.HotStatusCount > 0 && total != seed.HotStatusCount {
		return fmt.Errorf("load: verify: the chain listed %d items, the seed counted %d", total, seed.HotStatusCount)
	}
	fmt.Printf("load: verified list chain at %s: %d pages, %d items, %.2fs\n", c.target, pages, total, time.Since(start).Seconds())
	return nil
}

type workerStats struct {
	samples  []time.Duration
	errors   map[string]int64
	restarts int64
	lastEnd  time.Time
}

func runLoad(ctx context.Context, c loadConfig, next func(w int) nextFunc) (LoadResult, error) {
	start := time.Now()
	warmEnd := start.Add(c.warmup)
	deadline := warmEnd.Add(c.duration)
	var measured atomic.Int64
	stats := make([]*workerStats, c.conns)
	var wg sync.WaitGroup
	for w := range c.conns {
		st := &workerStats{samples: make([]time.Duration, 0, 1<<15), errors: map[string]int64{}}
		stats[w] = st
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := newClient(c.timeout)
			defer client.CloseIdleConnections()
			nf := next(w)
			var buf bytes.Buffer
			var prev []byte
			for ctx.Err() == nil {
				t0 := time.Now()
				if !t0.Before(deadline) || measured.Load() >= c.maxRequests {
					return
				}
				u := nf(prev)
				if c.mode == "list" && !strings.Contains(u, "cursor=") && prev != nil {
					st.restarts++
				}
				status, err := doGet(ctx, client, u, c.token, &buf)
				d := time.Since(t0)
				inWindow := !t0.Before(warmEnd)
				prev = nil
				switch {
				case err != nil:
					if inWindow && ctx.Err() == nil {
						st.errors["transport: "+shortErr(err)]++
					}
					time.Sleep(10 * time.Millisecond)
				case status/100 != 2:
					if inWindow {
						st.errors[fmt.Sprintf("status %d", status)]++
					}
				default:
					prev = buf.Bytes()
					if inWindow {
						st.samples = append(st.samples, d)
						measured.Add(1)
					}
				}
				if inWindow {
					st.lastEnd = t0.Add(d)
				}
			}
		}()
	}
	// CPU counters at the start of the measured window and after it.
	select {
	case <-time.After(time.Until(warmEnd)):
	case <-ctx.Done():
	}
	srv0, cli0 := processCPU(c.pid), processCPU(os.Getpid())
	wg.Wait()
	srv1, cli1 := processCPU(c.pid), processCPU(os.Getpid())
	if err := ctx.Err(); err != nil {
		return LoadResult{}, fmt.Errorf("load: interrupted: %w", err)
	}
	res := LoadResult{Server: c.server, Mode: c.mode, Target: c.target, Conns: c.conns, Rep: c.rep,
		Started: start.UTC(), WarmupS: c.warmup.Seconds(), ErrorKinds: map[string]int64{}}
	var all []time.Duration
	end := warmEnd
	for _, st := range stats {
		all = append(all, st.samples...)
		for k, v := range st.errors {
			res.ErrorKinds[k] += v
			res.Errors += v
		}
		res.Restarts += st.restarts
		if st.lastEnd.After(end) {
			end = st.lastEnd
		}
	}
	if len(res.ErrorKinds) == 0 {
		res.ErrorKinds = nil
	}
	res.WindowS = end.Sub(warmEnd).Seconds()
	res.Requests = len(all)
	if res.WindowS > 0 {
		res.RPS = float64(len(all)) / res.WindowS
	}
	if len(all) > 0 {
		if c.pid > 0 && srv0 >= 0 && srv1 >= srv0 {
			res.ServerCPUus = float64(srv1-srv0) / float64(time.Microsecond) / float64(len(all))
		}
		if cli0 >= 0 && cli1 >= cli0 {
			res.ClientCPUus = float64(cli1-cli0) / float64(time.Microsecond) / float64(len(all))
		}
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			res.LoadAvg, _ = strconv.ParseFloat(f[0], 64)
		}
	}
	s := summarize(all)
	res.MeanMS, res.P50MS, res.P90MS, res.P99MS, res.MaxMS = s.mean, s.p50, s.p90, s.p99, s.max
	return res, nil
}

func shortErr(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	s := err.Error()
	if len(s) > 80 {
		s = s[:80]
	}
	return s
}

type latency struct{ mean, p50, p90, p99, max float64 }

// summarize gives exact nearest-rank percentiles of the recorded samples,
// in milliseconds.
func summarize(d []time.Duration) latency {
	if len(d) == 0 {
		return latency{}
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	var sum time.Duration
	for _, x := range d {
		sum += x
	}
	ms := func(x time.Duration) float64 { return float64(x) / float64(time.Millisecond) }
	return latency{mean: ms(sum) / float64(len(d)), p50: ms(percentile(d, 50)), p90: ms(percentile(d, 90)),
		p99: ms(percentile(d, 99)), max: ms(d[len(d)-1])}
}

// percentile is the nearest-rank percentile of sorted samples: the
// smallest sample with at least p% of the samples at or below it.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = max(1, min(rank, len(sorted)))
	return sorted[rank-1]
}

// processCPU is the user+system CPU time a process has used so far, from
// /proc/PID/stat (fields 14 and 15, in clock ticks of 1/100 s), or -1.
func processCPU(pid int) time.Duration {
	if pid <= 0 {
		return -1
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	// The command name (field 2) may hold spaces; count from after it.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return -1
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	const tick = 10 * time.Millisecond // USER_HZ is 100 on Linux
	return time.Duration(ut+st) * tick
}
