#!/usr/bin/env bash
# Listing, Profiled against Ory Kratos on the same machine, same data size,
# same load (issue 17): Profiled's `users(first: 100)` (the list case of
# cmd/profiled-load, fields of a list page, metadata included) against
# Kratos's `GET /admin/identities?per_page=100`, ROUNDS rounds of CLIENTS
# clients for DURATION each, the two sides alternating (the order swaps
# every round), both driven by cmd/profiled-load. It prints req/s and
# p50/p95 of every run and the ratio Profiled/Kratos of each round.
#
#   scripts/kratos-compare.sh                        # 100k users, SQLite on both sides
#   STORES="sqlite mysql" scripts/kratos-compare.sh  # Profiled on MariaDB too (Kratos stays on SQLite)
#   N=1000000 ROUNDS=1 scripts/kratos-compare.sh
#
# Kratos is built from the Go module proxy at KRATOS_VERSION (cgo, -tags
# sqlite). `go install github.com/ory/kratos@VERSION` cannot build it: its
# go.mod replaces github.com/ory/client-go with a directory that the module
# zip does not carry. So the script copies the module's source out of the
# module cache, drops that one replace (the server does not import the
# client) and builds it. Where that fails (no C compiler, no proxy), it
# says so and exits 0 without measuring.
#
# Everything lives under WORK (default $TMPDIR/profiled-kratos-compare):
# the Kratos binary, its config and SQLite database (seeded once per N and
# kept), logs. Profiled's seeded SQLite store is the harness's cache
# (seed-N-c4.db under $TMPDIR/profiled-load-cache); on MariaDB the database
# profiled_load_N (at MYSQL_URL) is seeded once and kept.
set -euo pipefail

KRATOS_VERSION="${KRATOS_VERSION:-v1.3.1}"
N="${N:-100000}"
CLIENTS="${CLIENTS:-16}"
DURATION="${DURATION:-20s}"
ROUNDS="${ROUNDS:-3}"
STORES="${STORES:-sqlite}"
MYSQL_URL="${MYSQL_URL:-mysql://root@127.0.0.1:3306}"
WORK="${KRATOS_WORK:-${TMPDIR:-/tmp}/profiled-kratos-compare}"
COST=4 # bcrypt cost of the seeded hashes (neither side verifies one here)

cd "$(dirname "$0")/.."
mkdir -p "$WORK"
skip() {
  echo "SKIP: $*" >&2
  exit 0
}

pids=()
cleanup() {
  for p in "${pids[@]}"; do
    kill "$p" 2>/dev/null || true
  done
  for p in "${pids[@]}"; do
    wait "$p" 2>/dev/null || true
  done
}
trap cleanup EXIT

# free_port prints a loopback TCP port nothing listens on.
free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 20000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return
    fi
  done
  echo "no free port" >&2
  return 1
}

# wait_http URL: until it answers 200 (60 s).
wait_http() {
  for _ in $(seq 1 600); do
    if curl -fsS -o /dev/null "$1" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "no answer from $1" >&2
  return 1
}

command -v curl >/dev/null || skip "curl is missing (apt-get install curl)"

# --- Kratos, built once ------------------------------------------------------
KRATOS="$WORK/kratos-$KRATOS_VERSION"
if [ ! -x "$KRATOS" ]; then
  command -v gcc >/dev/null || skip "no C compiler: Kratos's SQLite driver needs cgo (apt-get install gcc)"
  echo "building Ory Kratos $KRATOS_VERSION from the Go module proxy (once; log: $WORK/build.log)" >&2
  dir=$(go mod download -json "github.com/ory/kratos@$KRATOS_VERSION" 2>>"$WORK/build.log" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') || true
  [ -n "$dir" ] && [ -d "$dir" ] || skip "the module proxy does not serve github.com/ory/kratos@$KRATOS_VERSION (see $WORK/build.log)"
  rm -rf "$WORK/src"
  cp -r "$dir" "$WORK/src"
  chmod -R u+w "$WORK/src"
  if ! (cd "$WORK/src" && go mod edit -dropreplace=github.com/ory/client-go &&
    GOFLAGS=-mod=mod CGO_ENABLED=1 go build -tags sqlite -o "$KRATOS.tmp" .) >>"$WORK/build.log" 2>&1; then
    skip "building Kratos $KRATOS_VERSION failed (see $WORK/build.log)"
  fi
  mv "$KRATOS.tmp" "$KRATOS"
  rm -rf "$WORK/src"
fi

# --- Profiled and the harness -------------------------------------------------
go build -o "$WORK/profiled" ./cmd/profiled
go build -o "$WORK/profiled-load" ./cmd/profiled-load
LOAD="$WORK/profiled-load"

# --- Kratos: config, migrations, server, seed ---------------------------------
KDIR="$WORK/kratos-$N"
mkdir -p "$KDIR"
cat >"$KDIR/identity.schema.json" <<'EOF'
{
  "$id": "https://profiled.invalid/kratos-compare/identity.schema.json",
  "$schema": "http://json-schema.org/draft-07/schema#",
  "title": "Person",
  "type": "object",
  "properties": {
    "traits": {
      "type": "object",
      "properties": {
        "email": {
          "type": "string",
          "format": "email",
          "ory.sh/kratos": { "credentials": { "password": { "identifier": true } } }
        },
        "name": { "type": "string" },
        "nickname": { "type": "string" }
      },
      "required": ["email"],
      "additionalProperties": false
    }
  }
}
EOF
KPUB=$(free_port)
KADM=$(free_port)
cat >"$KDIR/kratos.yml" <<EOF
version: $KRATOS_VERSION
dsn: sqlite://$KDIR/kratos.db?_fk=true&mode=rwc
serve:
  public:
    host: 127.0.0.1
    port: $KPUB
    base_url: http://127.0.0.1:$KPUB/
  admin:
    host: 127.0.0.1
    port: $KADM
    base_url: http://127.0.0.1:$KADM/
selfservice:
  default_browser_return_url: http://127.0.0.1:$KPUB/
  methods:
    password:
      enabled: true
identity:
  default_schema_id: default
  schemas:
    - id: default
      url: file://$KDIR/identity.schema.json
secrets:
  cookie: [profiled-kratos-compare-cookie-secret-0123456789]
  cipher: [profiled-kratos-compare-cipher-0]
courier:
  smtp:
    connection_uri: smtp://127.0.0.1:1/
log:
  level: error
  format: text
EOF
"$KRATOS" migrate sql -e --yes -c "$KDIR/kratos.yml" >"$KDIR/migrate.log" 2>&1 ||
  { cat "$KDIR/migrate.log" >&2; exit 1; }
DSN="sqlite://$KDIR/kratos.db?_fk=true&mode=rwc" "$KRATOS" serve -c "$KDIR/kratos.yml" --dev >"$KDIR/serve.log" 2>&1 &
KPID=$!
pids+=("$KPID")
wait_http "http://127.0.0.1:$KADM/admin/health/ready" || { tail -20 "$KDIR/serve.log" >&2; exit 1; }
if [ ! -e "$KDIR/seeded" ]; then
  "$LOAD" -seed-kratos "http://127.0.0.1:$KADM" -users "$N" -cost "$COST"
  touch "$KDIR/seeded"
fi
KURL="http://127.0.0.1:$KADM/admin/identities?per_page=100"

echo
echo "# Listing: Profiled users(first: 100) vs Ory Kratos $KRATOS_VERSION GET /admin/identities?per_page=100"
echo "# $N users, $CLIENTS clients, $DURATION per run, $ROUNDS rounds; $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%FT%TZ); commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"

for store in $STORES; do
  case "$store" in
  sqlite) db="" ;;
  mysql)
    db="$MYSQL_URL/profiled_load_${N}"
    # The key-encryption key the harness keeps for this database (see
    # storeEnv in cmd/profiled-load/server.go), unless one is set.
    if [ -z "${PROFILED_SECRET_KEY:-}${PROFILED_SECRET_KEY_FILE:-}" ]; then
      export PROFILED_SECRET_KEY_FILE="${TMPDIR:-/tmp}/profiled-load-cache/mysql-$(sed 's/[^A-Za-z0-9_-]/_/g' <<<"${db#mysql://}").secret-key"
    fi
    ;;
  *) echo "unknown store $store (sqlite, mysql)" >&2; exit 2 ;;
  esac
  # The seeded store (cached), then a server on it that stays up for every round.
  db=$("$LOAD" -bin "$WORK/profiled" -seed-only -users "$N" -cost "$COST" ${db:+-db "$db"})
  PPORT=$(free_port)
  PROFILED_LOG_LEVEL=warn PROFILED_BCRYPT_COST=$COST "$WORK/profiled" serve --addr "127.0.0.1:$PPORT" --db "$db" >"$WORK/profiled-$store.log" 2>&1 &
  PPID_=$!
  pids+=("$PPID_")
  wait_http "http://127.0.0.1:$PPORT/healthz"
  TOKEN=$("$WORK/profiled" token create --db "$db" --scope "read:users read:connections create:users create:connections")

  echo
  echo "## Profiled on $store ($db), Kratos on SQLite"
  echo
  echo "| round | Profiled req/s | p50 / p95 ms | Kratos req/s | p50 / p95 ms | Profiled / Kratos |"
  echo "|---|---|---|---|---|---|"
  ratios=()
  for r in $(seq 1 "$ROUNDS"); do
    prof() { "$LOAD" -url "http://127.0.0.1:$PPORT" -token "$TOKEN" -pid "$PPID_" -case list -users "$N" -cost "$COST" -c "$CLIENTS" -d "$DURATION" | grep '^| list '; }
    krat() { "$LOAD" -case get -raw-get "$KURL" -pid "$KPID" -c "$CLIENTS" -d "$DURATION" | grep '^| get '; }
    if [ $((r % 2)) = 1 ]; then p=$(prof); k=$(krat); else k=$(krat); p=$(prof); fi
    # Columns of a harness row: | case | store | users | clients | s | requests | rate | errors | p50 | p95 | p99 | peak RSS | note |
    line=$(awk -F'|' -v r="$r" -v p="$p" -v k="$k" 'BEGIN {
      split(p, P, "|"); split(k, K, "|")
      pr = P[8] + 0; kr = K[8] + 0
      printf "| %d | %.1f (errors %s) | %.1f / %.1f | %.1f (errors %s) | %.1f / %.1f | **%.2f×** |", r, pr, P[9] + 0, P[10], P[11], kr, K[9] + 0, K[10], K[11], (kr > 0 ? pr / kr : 0)
    }')
    echo "$line"
    ratios+=("$(awk -F'|' '{ gsub(/[*×]/, "", $7); print $7 + 0 }' <<<"$line")")
    echo "   profiled: $p" >&2
    echo "   kratos:   $k" >&2
  done
  printf '%s\n' "${ratios[@]}" | sort -g | awk '{ a[NR] = $1 } END { printf "\nratio Profiled/Kratos on %s: median %.2f×, range %.2f–%.2f×\n", store, a[int((NR + 1) / 2)], a[1], a[NR] }' store="$store"
  kill "$PPID_" 2>/dev/null || true
  wait "$PPID_" 2>/dev/null || true
done
