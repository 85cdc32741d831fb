# calibd: `make run` starts the service on the embedded SQLite default,
# `make test` runs vet and the whole suite (SQLite always; PostgreSQL and
# Mosquitto when TEST_DATABASE_URL / TEST_MQTT_URL are set, required under
# CI=true).

GO       ?= go
BIN      := bin
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
PKGS     := ./...

.PHONY: all build run test test-short vet fmt lint fuzz bench bench-ingest clean web-vendor

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/calibd ./cmd/calibd

run: build
	./$(BIN)/calibd serve

vet:
	$(GO) vet $(PKGS)

fmt:
	gofmt -w $$(git ls-files '*.go')

lint: vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# -artifacts keeps what failing tests save under test-output/_artifacts (the
# browser tests' screenshots).
test: lint
	@mkdir -p test-output
	$(GO) test -race -count=1 -timeout 10m -artifacts -outputdir $(CURDIR)/test-output $(PKGS)

test-short:
	$(GO) test -count=1 $(PKGS)

# Each fuzz target for FUZZTIME (default 30s); crashers land in testdata/fuzz.
FUZZTIME ?= 30s
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f"; $(GO) test $$pkg -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME); \
	  done; \
	done

bench:
	./scripts/bench.sh

# The MQTT ingest end to end (simulator -> broker -> calibd -> PostgreSQL),
# DURATION seconds per run (default 60; DURATION=10 for a smoke run). See
# docs/BENCHMARKS.md, "Ingest benchmark".
bench-ingest:
	./scripts/bench-ingest.sh

clean:
	rm -rf $(BIN)

# Refresh the dashboard's vendored scripts (htmx, uPlot) from the npm registry.
web-vendor:
	./scripts/web-vendor.sh
