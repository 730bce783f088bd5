# The README's commands. `make test` is what CI runs after its setup.
.PHONY: run test generate bench fuzz

run:
	go run ./cmd/profiled serve

# The race-detector tests of every package. The scripts' WebAssembly modules
# are compiled first, once, by a test binary built WITHOUT -race
# (internal/tests/wazerowarm), into the wazero compilation cache the tests
# read from PROFILED_TEST_WAZERO_CACHE (a temporary one unless it is set):
# wazero's compiler runs about ten times slower under -race, and each
# package used to compile each module itself.
test:
	@set -e; cache="$$PROFILED_TEST_WAZERO_CACHE"; \
	if [ -z "$$cache" ]; then cache=$$(mktemp -d); trap 'rm -rf "$$cache"' EXIT; fi; \
	echo "go test -count=1 ./internal/tests/wazerowarm -args -warm $$cache"; \
	go test -count=1 ./internal/tests/wazerowarm -args -warm "$$cache"; \
	echo "PROFILED_TEST_WAZERO_CACHE=$$cache go test -race -count=1 -parallel 4 -timeout 20m $(LONG_TESTS) ./..."; \
	PROFILED_TEST_WAZERO_CACHE="$$cache" go test -race -count=1 -parallel 4 -timeout 20m $(LONG_TESTS) ./...

# The longest test binaries, named first so that go test (which starts
# packages in the order they are listed, two at a time on two cores) does
# not leave one of them to run alone at the end; ./... adds the rest once.
LONG_TESTS = ./internal/tests/e2e ./internal/sandbox ./internal/tests/reliability ./internal/db ./internal/scripttest ./cmd/profiled

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
