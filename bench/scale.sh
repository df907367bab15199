#!/usr/bin/env bash
# Table size (issue #5): login, register and GET /users/me against a store of 10,000 users, then
# of 1,000,000, same server, same settings; the lookups by email and id are index scans, so the
# rates must not drop with the size. Prints a markdown table with the ratio large/small.
#
#   bench/scale.sh                          # SQLite, 10k vs 1M users (build included)
#   SMALL=1000 LARGE=100000 bench/scale.sh
#
# Settings (environment): SMALL=10000 LARGE=1000000 DURATION=15 CONNS=32 THREADS=$(nproc)
#   PORT_OURS=8200 RESULTS=bench/results/scale-<time> SKIP_BUILD=1 ARGON2_M/T/P (65536/3/4)
set -euo pipefail

BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SMALL="${SMALL:-10000}"
LARGE="${LARGE:-1000000}"
DURATION="${DURATION:-15}"
CONNS="${CONNS:-32}"
RESULTS="${RESULTS:-$BENCH/results/scale-$(date +%Y%m%d-%H%M%S)}"
SKIP_REF=1
USERS="$SMALL"

# shellcheck source=bench/common.sh
. "$BENCH/common.sh"

mkdir -p "$RESULTS"
rm -f "$RESULTS"/*.json "$RESULTS"/*.db* "$RESULTS"/*.log
: >"$RESULTS/results.jsonl"

for size in "$SMALL" "$LARGE"; do
    USERS="$size"
    OURS_DB="$RESULTS/users-$size.db"
    log "axum-users over $size users"
    start_ours warn
    token="$(register_and_seed "$PORT_OURS" "$OURS_DB")"
    measure a "$size" "$OURS_PID" "$PORT_OURS" "$token" "$CONNS"
    measure b "$size" "$OURS_PID" "$PORT_OURS" "" "$CONNS"
    measure c "$size" "$OURS_PID" "$PORT_OURS" "" "$CONNS"
    stop "$OURS_PID"
done

python3 - "$RESULTS/results.jsonl" "$SMALL" "$LARGE" <<'PY' | tee "$RESULTS/table.md"
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
small, large = sys.argv[2], sys.argv[3]
names = {"a": "GET /users/me", "b": "login", "c": "register"}
by = {(r["scenario"], r["server"]): r for r in rows}
print(f"| scenario | users | req/s | p50 ms | p99 ms | errors | large/small |")
print("|---|---:|---:|---:|---:|---:|---:|")
for s in "abc":
    for size in (small, large):
        r = by[(s, size)]
        ratio = r["rps"] / by[(s, small)]["rps"]
        print(f"| {names[s]} | {int(size):,} | {r['rps']:.1f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | "
              f"{r['errors']} | {ratio:.2f} |")
PY
