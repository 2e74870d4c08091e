# Sluice: the two commands a newcomer needs are `go run ./cmd/sluice serve` and `make test`.
GO ?= go
# Seconds per fuzz target in make test: about 80 targets, two at a time, so 6 s each keeps the
# step near six minutes; run scripts/fuzz-short.sh with a larger FUZZTIME for a longer pass.
FUZZTIME ?= 6s

.PHONY: all build test test-unit test-e2e test-race-fuzz test-deps unit race fuzz-short bench clean

all: build

build:
	$(GO) build -o bin/sluice ./cmd/sluice

# Every test: vet, then three suites side by side: the unit tests; the end-to-end tests (real
# clients and a headless browser against real `sluice serve` processes; mostly waiting on
# processes and timeouts) in E2E_SHARDS processes (scripts/test-e2e.sh); and the internal and
# streams packages again under the race detector (-short) followed by a short run of every fuzz
# target, two targets at a time with one fuzzing worker each.
test: test-deps
	$(GO) vet ./...
	$(MAKE) --no-print-directory -j3 test-unit test-e2e test-race-fuzz

test-unit:
	$(GO) test -p 2 -timeout 30m $$($(GO) list ./... | grep -v '/tests$$')

test-e2e:
	scripts/test-e2e.sh

test-race-fuzz:
	$(GO) test -race -short -p 2 -timeout 15m ./internal/... ./streams/...
	FUZZTIME=$(FUZZTIME) FUZZPARALLEL=1 FUZZSHARDS=2 scripts/fuzz-short.sh

# Installs the Debian client packages the end-to-end tests drive, when they are missing.
test-deps:
	scripts/install-test-deps.sh

unit:
	$(GO) test -p 2 -short ./internal/...

race:
	$(GO) test -race -short -p 2 ./internal/... ./streams/...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./internal/...

clean:
	rm -rf bin
