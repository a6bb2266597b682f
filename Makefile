# Takhin's entry points. `make test` is the one command CI runs (.ci/run).
GO       ?= go
# Fuzz budgets are execution counts, not durations: with a duration, Go
# before 1.27 can fail a target with a bare "context deadline exceeded" when
# the deadline fires while a worker is mid-input (golang/go#75804); a count
# has no deadline to race. Each target runs 9k-38k execs/s here.
FUZZTIME ?= 500000x
# The CI budget: the whole of `make test` must stay well under 20 minutes on
# a 2-core machine; each go test run is capped so a hang fails fast.
TEST_TIMEOUT ?= 12m
RACE_TIMEOUT ?= 8m

.PHONY: build test vet fmt-check lint race sim sim-sweep sim-seeds sim-bench simbug-search bench bench-storage bench-groups fuzz clean

build:
	$(GO) build -o bin/takhin ./cmd/takhin

# Everything CI checks: formatting, vet, the lint test, every package's
# tests, then -race (which also turns the expensive invariants on) over the
# packages that run real goroutines or carry invariant checks.
test: fmt-check vet
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...
	$(MAKE) race
	$(MAKE) fuzz FUZZTIME=50000x

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# -race over the packages with goroutines or invariant checks; the
# simulator (one thread) runs with the invariants tag instead, which is
# far cheaper than -race for the same checks. -short: the race detector
# looks for races, and the full-size runs (property tests' iterations,
# 100k records per codec, session expiry) already ran in the plain pass.
race:
	$(GO) test -count=1 -race -short -timeout $(RACE_TIMEOUT) ./driver/... ./storage/... ./replication/... ./controller/... ./sim/simfs/...
	$(GO) test -count=1 -tags invariants -timeout $(RACE_TIMEOUT) ./sim/
	$(GO) test -count=1 -tags simbug -timeout $(RACE_TIMEOUT) -run TestSimbugPinned ./sim/

lint:
	$(GO) test -count=1 ./internal/lint/

# make sim SEED=42: one seed, exactly reproduced. make sim alone: random
# seeds for SIM_SECONDS of wall time, stopping at the first failure.
sim:
ifdef SEED
	$(GO) run -tags invariants ./cmd/takhin sim --seed $(SEED)
else
	$(GO) run -tags invariants ./cmd/takhin sim --seconds $(SIM_SECONDS)
endif

# Each deliberately broken variant (internal/simbug) must be caught within
# 200 seeds; the first catching seeds are pinned in sim/simbug_test.go.
simbug-search:
	$(GO) test -count=1 -tags simbug -run TestSimbugSearch ./sim/ -simbug.search=200 -v

# The unbroken broker over SIM_SEEDS seeds with every fault class the swarm
# picks (CI runs 20).
SIM_SEEDS ?= 1000
sim-seeds:
	$(GO) test -count=1 -timeout 60m -run TestSweep ./sim/ -sim.sweep=$(SIM_SEEDS)

# The simulator's speed on the reference workloads (invariants on).
sim-bench:
	$(GO) run -tags invariants ./cmd/takhin sim --bench

# Random seeds for SIM_SECONDS of wall time; stops at the first failure.
SIM_SECONDS ?= 60
sim-sweep:
	$(GO) run -tags invariants ./cmd/takhin sim --seconds $(SIM_SECONDS)

# A real `takhin serve` process vs kfake, the ceiling and the disk ceiling
# (each a process of its own too, as Takhin; BENCH_FLAGS="--references
# in-process" keeps them in the bench's) and this disk's fsync, the targets
# evaluated (a report: it exits non-zero only on produce or verify errors).
# The issue's sizes by default; BENCH_FLAGS="--scale 0.5" for a quicker run.
BENCH_FLAGS ?=
bench: bench-storage build
	$(GO) run ./cmd/takhin bench --compare --binary bin/takhin $(BENCH_FLAGS)
	$(GO) run ./cmd/takhin bench --groups $(BENCH_GROUP_FLAGS)

# Consumer groups: 3 members reading 1M records, and 1,000 members over
# 1,000 partitions to a stable group (initial delay 3 s and 0), beside kfake.
BENCH_GROUP_FLAGS ?= --scale 1 --group-members 1000
bench-groups:
	$(GO) run ./cmd/takhin bench --groups $(BENCH_GROUP_FLAGS)

bench-storage:
	$(GO) test -run XXX -bench . -benchtime 2000x ./storage/

fuzz:
	$(GO) test -run XXX -fuzz FuzzParseRequest -fuzztime $(FUZZTIME) ./broker/
	$(GO) test -run XXX -fuzz FuzzBrokerRequest -fuzztime $(FUZZTIME) ./broker/
	$(GO) test -run XXX -fuzz FuzzFramer -fuzztime $(FUZZTIME) ./env/
	$(GO) test -run XXX -fuzz FuzzValidateBatch -fuzztime $(FUZZTIME) ./storage/
	$(GO) test -run XXX -fuzz FuzzRecoverSegment -fuzztime $(FUZZTIME) ./storage/
	$(GO) test -run XXX -fuzz FuzzDamagedLog -fuzztime $(FUZZTIME) ./storage/

clean:
	rm -rf bin
