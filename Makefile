# The README's commands. `make test` is what CI runs after its setup.
.PHONY: run test test-race generate bench fuzz

run:
	go run ./cmd/profiled serve

# Every package's tests, with the race detector, and the end-to-end suite
# (internal/tests/e2e) beside them without it, but for its tests whose
# claim is about concurrency (E2E_RACE), which run with it. The e2e suite
# checks behaviour through HTTP, the browser and real stores; under -race
# it alone took 570 s of CI's 10 minutes, while the concurrent code it
# drives has its race-detector tests in its own packages and in the
# reliability suite (RATIONALE: "Why does the e2e suite run without the
# race detector?"). `make test-race` runs everything under -race.
#
# The scripts' WebAssembly modules are compiled first, once, by a test
# binary built WITHOUT -race (internal/tests/wazerowarm), into the wazero
# compilation cache the tests read from PROFILED_TEST_WAZERO_CACHE (a
# temporary one unless it is set): wazero's compiler runs about ten times
# slower under -race, and each package used to compile each module itself.
E2E = ./internal/tests/e2e
E2E_RACE = TestOIDCRefreshReuse|TestRBACLimitsConcurrent|TestConcurrentMetadataMerges
test:
	@set -e; cache="$$PROFILED_TEST_WAZERO_CACHE"; \
	if [ -z "$$cache" ]; then cache=$$(mktemp -d); trap 'rm -rf "$$cache"' EXIT; fi; \
	export PROFILED_TEST_WAZERO_CACHE="$$cache"; \
	echo "go test -count=1 ./internal/tests/wazerowarm -args -warm $$cache"; \
	go test -count=1 ./internal/tests/wazerowarm -args -warm "$$cache"; \
	echo "go test -count=1 -parallel 4 -timeout 20m $(E2E)  (beside the race run)"; \
	go test -count=1 -parallel 4 -timeout 20m $(E2E) & e2e=$$!; \
	race=0; pkgs=$$(go list $(LONG_TESTS) ./... | grep -vx 'github.com/profiled/profiled/internal/tests/e2e'); \
	echo "go test -race -count=1 -parallel 4 -timeout 20m <every package but e2e>"; \
	go test -race -count=1 -parallel 4 -timeout 20m $$pkgs || race=$$?; \
	echo "go test -race -count=1 -run '^($(E2E_RACE))$$' $(E2E)"; \
	go test -race -count=1 -timeout 20m -run '^($(E2E_RACE))$$' $(E2E) || race=$$?; \
	e2erc=0; wait $$e2e || e2erc=$$?; \
	if [ $$race != 0 ] || [ $$e2erc != 0 ]; then echo "make test: failed (race run $$race, e2e $$e2erc)"; exit 1; fi

# Everything under the race detector, e2e included (slower: not CI's).
test-race:
	go test -race -count=1 -parallel 4 -timeout 30m ./...

# The longest test binaries, named first so that go test (which starts
# packages in the order they are listed, two at a time on two cores) does
# not leave one of them to run alone at the end; ./... adds the rest once.
LONG_TESTS = ./internal/sandbox ./internal/db ./internal/tests/reliability ./internal/scripttest ./cmd/profiled

generate:
	go tool gqlgen generate
	cd client && go generate ./

bench:
	go test -run '^$$' -bench . -benchtime 2s ./...

# Short runs of every Go fuzz target in the repository (FUZZTIME each; CI
# uses a few seconds, longer runs on demand: make fuzz FUZZTIME=5m).
FUZZTIME ?= 10s
fuzz:
	FUZZTIME=$(FUZZTIME) scripts/fuzz.sh
