package main

// In-process benchmarks of calibd's handler stack and the bare handler on
// the seeded benchmark database, for CPU profiles without the network and
// the load generator in the way:
//
//	BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/calibd_bench?sslmode=disable \
//	BENCH_SEED=bin/bench/seed.json \
//	go test ./cmd/calibd-bench -run '^$' -bench Stack -benchtime 5000x -cpuprofile cpu.out
//
// They skip without BENCH_DATABASE_URL. cpu-us/op is this process's CPU
// time per request (PostgreSQL's share is not in it).

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/calibd/calibd/internal/httpapi"
	"github.com/calibd/calibd/internal/store"
)

func benchEnv(b *testing.B) (string, SeedInfo) {
	b.Helper()
	url := os.Getenv("BENCH_DATABASE_URL")
	if url == "" {
		b.Skip("BENCH_DATABASE_URL is not set")
	}
	seed, err := readSeed(os.Getenv("BENCH_SEED"))
	if err != nil {
		b.Fatal(err)
	}
	return url, seed
}

func calibdHandler(b *testing.B, url string) http.Handler {
	b.Helper()
	log := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := store.Open(context.Background(), store.Config{URL: url}, log)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	api, err := httpapi.New(st, log, httpapi.Config{AuthCacheTTL: 5 * time.Second}, prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	return api.Handler()
}

func bareTestHandler(b *testing.B, url string) http.Handler {
	b.Helper()
	db, err := openBareDB(url, 20)
	if err != nil {
		b.Fatal(err)
	}
	if sqlDB, err := db.DB(); err == nil {
		b.Cleanup(func() { _ = sqlDB.Close() })
	}
	return bareHandler(db)
}

func cpuNow() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func runStack(b *testing.B, h http.Handler, token string, next func(prev []byte) string) {
	b.Helper()
	var prev []byte
	serve := func() {
		req := httptest.NewRequest(http.MethodGet, next(prev), nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("%s: %d %s", req.URL, rec.Code, rec.Body.String())
		}
		prev = rec.Body.Bytes()
	}
	for range 200 { // warm the pool, prepared statements and caches
		serve()
	}
	b.ReportAllocs()
	b.ResetTimer()
	c0 := cpuNow()
	for range b.N {
		serve()
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuNow()-c0)/float64(time.Microsecond)/float64(b.N), "cpu-us/op")
}

func getNext(base string, ids []string) func([]byte) string {
	i := 0
	return func([]byte) string { i++; return base + "/thermometers/" + ids[i%len(ids)] }
}

func BenchmarkStackGetCalibd(b *testing.B) {
	url, seed := benchEnv(b)
	runStack(b, calibdHandler(b, url), seed.Token, getNext("/api/v1", seed.IDs))
}

func BenchmarkStackGetBare(b *testing.B) {
	url, seed := benchEnv(b)
	runStack(b, bareTestHandler(b, url), "", getNext("", seed.IDs))
}

func BenchmarkStackListCalibd(b *testing.B) {
	url, seed := benchEnv(b)
	runStack(b, calibdHandler(b, url), seed.Token, listWalker("/api/v1", seed.HotVenueID, seed.HotStatus))
}

func BenchmarkStackListBare(b *testing.B) {
	url, seed := benchEnv(b)
	runStack(b, bareTestHandler(b, url), "", listWalker("", seed.HotVenueID, seed.HotStatus))
}
