#!/usr/bin/env bash
# The login flood (issue #8): 1000 concurrent connections hammer POST /auth/jwt/login with real
# argon2id verifications (reference parameters: 64 MiB each), and the server's peak RSS must stay
# under (hash workers × 64 MiB + 64 MiB): the bounded hashing queue answers 503 + Retry-After
# instead of queueing without bound. Prints one JSON line and a verdict; exits 1 over the bound.
#
#   bench/flood.sh                 # 1000 connections, 30 s (build included)
#   CONNS=2000 DURATION=60 bench/flood.sh
#
# Settings (environment): CONNS=1000 DURATION=30 USERS=1000 HASH_WORKERS=$(nproc)
#   PORT_OURS=8200 RESULTS=bench/results/flood-<time> SKIP_BUILD=1 ARGON2_M/T/P (65536/3/4)
# Rate limits are off (one load generator is one client IP: the per-IP limit would answer it
# with 429 before any hashing, which is not what this measures).
set -euo pipefail

BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DURATION="${DURATION:-30}"
CONNS="${CONNS:-1000}"
USERS="${USERS:-1000}"
HASH_WORKERS="${HASH_WORKERS:-$(nproc)}"
RESULTS="${RESULTS:-$BENCH/results/flood-$(date +%Y%m%d-%H%M%S)}"
SKIP_REF=1

# shellcheck source=bench/common.sh
. "$BENCH/common.sh"

# wrk needs a descriptor per connection, the server one more each.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
mkdir -p "$RESULTS"
rm -f "$RESULTS"/*.json "$RESULTS"/*.db* "$RESULTS"/*.log
: >"$RESULTS/results.jsonl"

log "axum-users: $HASH_WORKERS hash workers, 64 waiting jobs each (port $PORT_OURS)"
export AXUM_USERS_HASH_WORKERS="$HASH_WORKERS"
start_ours warn
register_and_seed "$PORT_OURS" "$RESULTS/ours.db" >/dev/null
idle_kib="$(peak_kib "$OURS_PID")"
log "login flood: $CONNS connections, ${DURATION}s"
peak_reset "$OURS_PID"
WRK_COUNT_STATUS=1 wrk_run "$RESULTS/flood.json" login "$PORT_OURS" "$CONNS" "$THREADS" "$DURATION" ""
peak="$(peak_kib "$OURS_PID")"
# The server still answers afterwards.
curl -fsS -o /dev/null "http://127.0.0.1:$PORT_OURS/health" || die "the server stopped answering"
stop "$OURS_PID"

python3 - "$(tail -n1 "$RESULTS/flood.json")" "$peak" "$idle_kib" "$HASH_WORKERS" "$CONNS" <<'PY' | tee "$RESULTS/table.md"
import json, sys
row = json.loads(sys.argv[1])
peak, idle, workers, conns = (int(x) for x in sys.argv[2:6])
bound = (workers * 64 + 64) * 1024
ok = row["requests"] - row["status"]
print(f"| connections | requests | 200 | 503 | other errors | req/s | p50 ms | p99 ms | RSS idle | peak RSS | bound |")
print(f"|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
other = row["errors"] - row["status_503"]
print(f"| {conns} | {row['requests']} | {ok} | {row['status_503']} | {other} | {row['rps']:.1f} | "
      f"{row['p50_ms']:.1f} | {row['p99_ms']:.1f} | {idle / 1024:.1f} MiB | {peak / 1024:.1f} MiB | "
      f"{bound / 1024:.0f} MiB |")
verdict = "under" if peak < bound else "OVER"
print(f"\npeak RSS {peak / 1024:.1f} MiB is {verdict} the bound of {workers} × 64 MiB + 64 MiB = {bound / 1024:.0f} MiB")
sys.exit(0 if peak < bound else 1)
PY
