# The README's commands. `make test` is what CI runs after its setup.
.PHONY: run test generate bench fuzz

run:
	go run ./cmd/profiled serve

test:
	go test -race -count=1 -parallel 4 -timeout 20m ./...

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
