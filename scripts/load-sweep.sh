#!/bin/bash
# The load sweep of RELIABILITY.md: mixed traffic for 60 s at 1, 8 and 64
# clients on a fresh SQLite file and on a fresh database of the private
# MariaDB on 127.0.0.1:34001 (see RELIABILITY.md for starting it).
#   go build -o /tmp/profiled ./cmd/profiled
#   go build -o /tmp/profiled-load ./cmd/profiled-load
#   scripts/load-sweep.sh
set -u
for c in 1 8 64; do
  rm -f /tmp/load-sweep-$c.db*
  /tmp/profiled-load -bin /tmp/profiled -db sqlite:/tmp/load-sweep-$c.db -c $c -d 60s 2>&1 | grep -A12 "^| store"
  /tmp/profiled-load -bin /tmp/profiled -db mysql://root@127.0.0.1:34001/sweep_$c -c $c -d 60s 2>&1 | grep -A12 "^| store"
done
