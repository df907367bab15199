#!/usr/bin/env bash
# The benchmark kit: axum-users against FastAPI Users 15.0.5 (one uvicorn worker), on loopback,
# with the same argon2 parameters, the same JWT lifetime, the same load generator (wrk) and the
# same durations. Prints one markdown table (and writes it to $RESULTS/table.md).
#
#   bench/run.sh                      # the whole run (~10 minutes on 2 cores, build included)
#   DURATION=30 bench/run.sh          # longer measurements
#
# Settings (environment):
#   DURATION=15      seconds of each measured run        WARMUP=3   seconds of warm-up before a/e
#   CONNS=32         connections of every HTTP scenario  STORM_CONNS=16  logins in flight in (d)
#   THREADS=$(nproc) wrk threads                         USERS=10000     seeded users per database
#   PORT_REF=8100 PORT_OURS=8200 PORT_FLOOR=8300         RESULTS=bench/results/<time>
#   ARGON2_M=65536 ARGON2_T=3 ARGON2_P=4 JWT_LIFETIME=3600   (both servers and scenario f)
#   SKIP_BUILD=1     use the binaries already built      SKIP_REF=1  leave the reference out
#   SKIP_ACCESS_LOG=1  leave out the extra (a) run with the server's default logging
#
# Scenarios: (a) GET /users/me with a bearer token; (b) login; (c) register with unique emails;
# (d) GET /users/me while a login storm runs; (e) a bare axum handler returning a constant (the
# floor); (f) argon2id hashing through the server's HashPool on all cores (the limit of b, c).
set -euo pipefail

BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DURATION="${DURATION:-15}"
CONNS="${CONNS:-32}"
STORM_CONNS="${STORM_CONNS:-16}"
export STORM_CONNS
USERS="${USERS:-10000}"
RESULTS="${RESULTS:-$BENCH/results/$(date +%Y%m%d-%H%M%S)}"

# shellcheck source=bench/common.sh
. "$BENCH/common.sh"

# --- helpers -----------------------------------------------------------------------------
mkdir -p "$RESULTS"
rm -f "$RESULTS"/*.json "$RESULTS"/*.db* "$RESULTS"/*.log
: >"$RESULTS/results.jsonl"

storm() { # server pid port token
    local me="$RESULTS/d-$1.json" logins="$RESULTS/d-storm-$1.json"
    peak_reset "$2"
    wrk_run "$logins" login "$3" "$STORM_CONNS" 1 "$((DURATION + 2))" "" &
    local storm_pid=$!
    PIDS+=("$storm_pid")
    sleep 1
    wrk_run "$me" me "$3" "$CONNS" "$THREADS" "$DURATION" "$4"
    wait "$storm_pid" || true
    local rss
    rss="$(peak_kib "$2")"
    record d "$1" "$(tail -n1 "$me")" "$rss"
    record d-storm "$1" "$(tail -n1 "$logins")" "$rss"
    printf '  d %-5s %s\n  d-storm %-5s %s\n' "$1" "$(tail -n1 "$me")" "$1" "$(tail -n1 "$logins")" >&2
}

start_ref() {
    REF_DATABASE_URL="sqlite+aiosqlite:///$RESULTS/ref.db" \
        REF_SECRET="$SECRET" REF_JWT_LIFETIME="$JWT_LIFETIME" \
        REF_ARGON2_M="$ARGON2_M" REF_ARGON2_T="$ARGON2_T" REF_ARGON2_P="$ARGON2_P" \
        "$VENV/bin/python" -m uvicorn app:app --app-dir "$BENCH/reference" \
        --host 127.0.0.1 --port "$PORT_REF" --workers 1 --log-level warning --no-access-log \
        >"$RESULTS/ref.log" 2>&1 &
    REF_PID=$!
    PIDS+=("$REF_PID")
    wait_ready "$PORT_REF" "$REF_PID"
}

# --- the run -----------------------------------------------------------------------------
log "machine"
python3 "$BENCH/tools/report.py" --machine "$RESULTS" >"$RESULTS/machine.json"
cat "$RESULTS/machine.json" >&2

log "axum-users (port $PORT_OURS)"
# As the reference: no rate limits or lockout (FastAPI Users has none; ours would answer the
# load generator's single address with 429), and warnings only, no line per request (uvicorn:
# --log-level warning --no-access-log). The server's default (RUST_LOG=info: one access line per request)
# is measured once more at the end, as (a) "with access log".
start_ours warn
OURS_TOKEN="$(register_and_seed "$PORT_OURS" "$RESULTS/ours.db")"
measure a ours "$OURS_PID" "$PORT_OURS" "$OURS_TOKEN" "$CONNS"
measure b ours "$OURS_PID" "$PORT_OURS" "" "$CONNS"
measure c ours "$OURS_PID" "$PORT_OURS" "" "$CONNS"
# (f) right after (b) and (c), so that the three see the same machine (the server is idle).
log "argon2 limit: HashPool on all cores, m=$ARGON2_M t=$ARGON2_T p=$ARGON2_P, ${DURATION}s"
"$ARGON2_BIN" "$DURATION" 0 "$ARGON2_M" "$ARGON2_T" "$ARGON2_P" >"$RESULTS/f.json"
record f argon2 "$(tail -n1 "$RESULTS/f.json")" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rss_kib"])' "$RESULTS/f.json")"
printf '  f %s\n' "$(tail -n1 "$RESULTS/f.json")" >&2
storm ours "$OURS_PID" "$PORT_OURS" "$OURS_TOKEN"
stop "$OURS_PID"
if [ -z "${SKIP_ACCESS_LOG:-}" ]; then
    log "axum-users with its default logging (RUST_LOG=info: an access line per request, to a file)"
    start_ours info
    measure a ours-log "$OURS_PID" "$PORT_OURS" "$OURS_TOKEN" "$CONNS"
    stop "$OURS_PID"
fi

if [ -z "${SKIP_REF:-}" ]; then
    log "FastAPI Users 15.0.5 on uvicorn, one worker (port $PORT_REF)"
    start_ref
    REF_TOKEN="$(register_and_seed "$PORT_REF" "$RESULTS/ref.db")"
    measure a ref "$REF_PID" "$PORT_REF" "$REF_TOKEN" "$CONNS"
    measure b ref "$REF_PID" "$PORT_REF" "" "$CONNS"
    measure c ref "$REF_PID" "$PORT_REF" "" "$CONNS"
    storm ref "$REF_PID" "$PORT_REF" "$REF_TOKEN"
    stop "$REF_PID"
fi

log "floor: bare axum handler (port $PORT_FLOOR)"
"$FLOOR_BIN" "127.0.0.1:$PORT_FLOOR" >"$RESULTS/floor.log" 2>&1 &
FLOOR_PID=$!
PIDS+=("$FLOOR_PID")
wait_ready_floor() {
    local i
    for i in $(seq 1 100); do
        curl -fsS -o /dev/null "http://127.0.0.1:$PORT_FLOOR/users/me" 2>/dev/null && return 0
        sleep 0.1
    done
    die "the floor server did not start"
}
wait_ready_floor
measure e floor "$FLOOR_PID" "$PORT_FLOOR" "" "$CONNS"
stop "$FLOOR_PID"

log "results ($RESULTS)"
python3 "$BENCH/tools/report.py" "$RESULTS" | tee "$RESULTS/table.md"
