# Shared by bench/run.sh, bench/scale.sh and bench/flood.sh: tools, builds, starting the
# server, wrk runs and peak RSS. Sourced after the caller has set its settings (see run.sh).

# Settings every script shares (each may be set in the environment; the callers set their own
# DURATION, CONNS, USERS and RESULTS before sourcing this file).
ROOT="$(dirname "$BENCH")"
THREADS="${THREADS:-$(nproc)}"
WARMUP="${WARMUP:-3}"
PORT_REF="${PORT_REF:-8100}"
PORT_OURS="${PORT_OURS:-8200}"
PORT_FLOOR="${PORT_FLOOR:-8300}"
ARGON2_M="${ARGON2_M:-65536}"
ARGON2_T="${ARGON2_T:-3}"
ARGON2_P="${ARGON2_P:-4}"
JWT_LIFETIME="${JWT_LIFETIME:-3600}"
export DURATION WARMUP CONNS THREADS USERS ARGON2_M ARGON2_T ARGON2_P JWT_LIFETIME
PASSWORD="correct-horse-battery-staple-42"
SECRET="benchmark-secret-benchmark-secret-0123456789"
VENV="$BENCH/.venv"
TARGET="$ROOT/target"
# Long enough for a reference login queued behind 31 others (each blocks its event loop).
WRK_TIMEOUT=60s

log() { printf '\n== %s\n' "$*" >&2; }
die() { printf '%s: %s\n' "$(basename "$0")" "$*" >&2; exit 1; }

PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- tools -------------------------------------------------------------------------------
log "tools"
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v wrk >/dev/null; then
    command -v apt-get >/dev/null || die "wrk is missing (install it with your package manager)"
    as_root apt-get update -qq
    as_root apt-get install -y -qq wrk >/dev/null
fi
for tool in curl python3 cargo; do
    command -v "$tool" >/dev/null || die "$tool is missing"
done
for port in "$PORT_REF" "$PORT_OURS" "$PORT_FLOOR"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        die "port $port is taken (set PORT_REF, PORT_OURS, PORT_FLOOR)"
    fi
done

# --- builds ------------------------------------------------------------------------------
if [ -z "${SKIP_BUILD:-}" ]; then
    log "cargo build --release -p axum-users-server"
    (cd "$ROOT" && cargo build --release -p axum-users-server)
    log "bench helpers (floor, argon2_limit)"
    # The helpers are their own workspace; the main lockfile pins the same versions and the
    # shared target directory reuses what the server build compiled.
    cp "$ROOT/Cargo.lock" "$BENCH/helpers/Cargo.lock"
    cargo build --release --manifest-path "$BENCH/helpers/Cargo.toml" --target-dir "$TARGET"
fi
OURS_BIN="$TARGET/release/axum-users"
FLOOR_BIN="$TARGET/release/floor"
ARGON2_BIN="$TARGET/release/argon2_limit"
for bin in "$OURS_BIN" "$FLOOR_BIN" "$ARGON2_BIN"; do
    [ -x "$bin" ] || die "$bin is missing (run without SKIP_BUILD)"
done

if [ -z "${SKIP_REF:-}" ]; then
    log "reference virtualenv ($VENV)"
    stamp="$VENV/.requirements"
    if ! cmp -s "$BENCH/reference/requirements.txt" "$stamp" 2>/dev/null; then
        [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
        "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$BENCH/reference/requirements.txt"
        cp "$BENCH/reference/requirements.txt" "$stamp"
    fi
fi

# --- helpers -----------------------------------------------------------------------------
wait_ready() { # port pid
    local i
    for i in $(seq 1 300); do
        curl -fsS -o /dev/null "http://127.0.0.1:$1/openapi.json" 2>/dev/null && return 0
        kill -0 "$2" 2>/dev/null || die "the server on port $1 exited; see $RESULTS/*.log"
        sleep 0.2
    done
    die "the server on port $1 did not start"
}

peak_reset() { echo 5 >"/proc/$1/clear_refs" 2>/dev/null || true; }
peak_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

record() { # scenario server json rss_kib
    python3 - "$1" "$2" "$3" "$4" >>"$RESULTS/results.jsonl" <<'EOF'
import json, sys
row = json.loads(sys.argv[3])
row.update(scenario=sys.argv[1], server=sys.argv[2], rss_kib=int(sys.argv[4] or 0))
print(json.dumps(row))
EOF
}

# wrk_run OUT_FILE SCENARIO PORT CONNS THREADS DURATION TOKEN
wrk_run() {
    rm -f "$1"
    WRK_OUT="$1" WRK_SCENARIO="$2" WRK_TOKEN="$7" WRK_PASSWORD="$PASSWORD" WRK_USERS="$USERS" \
        WRK_RUN="$(date +%s%N)" \
        wrk -t"$5" -c"$4" -d"$6"s --timeout "$WRK_TIMEOUT" -s "$BENCH/wrk/scenario.lua" \
        "http://127.0.0.1:$3" >"$1.txt"
}

measure() { # scenario server pid port token conns
    local out="$RESULTS/$1-$2.json"
    if [ "$1" = a ] || [ "$1" = e ]; then
        wrk_run "$RESULTS/warmup.json" me "$4" "$6" "$THREADS" "$WARMUP" "$5"
    fi
    peak_reset "$3"
    local kind
    case "$1" in a | e) kind=me ;; b) kind=login ;; c) kind=register ;; esac
    wrk_run "$out" "$kind" "$4" "$6" "$THREADS" "$DURATION" "$5"
    record "$1" "$2" "$(tail -n1 "$out")" "$(peak_kib "$3")"
    printf '  %s %-5s %s\n' "$1" "$2" "$(tail -n1 "$out")" >&2
}

register_and_seed() { # port db_path -> prints a bearer token of user0
    local status
    status="$(curl -sS -o "$RESULTS/register.out" -w '%{http_code}' -X POST \
        -H 'content-type: application/json' \
        -d "{\"email\":\"user0@bench.example\",\"password\":\"$PASSWORD\"}" \
        "http://127.0.0.1:$1/auth/register")"
    [ "$status" = 201 ] || die "registering user0 on port $1 answered $status: $(cat "$RESULTS/register.out")"
    python3 "$BENCH/tools/seed.py" "$2" "$USERS" >&2
    curl -fsS -X POST -d "username=user0%40bench.example&password=$PASSWORD" \
        "http://127.0.0.1:$1/auth/jwt/login" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])'
}

start_ours() { # RUST_LOG value
    RUST_LOG="$1" \
        AXUM_USERS_BIND="127.0.0.1:$PORT_OURS" \
        AXUM_USERS_DATABASE_URL="sqlite://${OURS_DB:-$RESULTS/ours.db}" \
        AXUM_USERS_SECRET="$SECRET" \
        AXUM_USERS_SECRET_FILE="$RESULTS/ours.secret" \
        AXUM_USERS_JWT_LIFETIME_SECONDS="$JWT_LIFETIME" \
        AXUM_USERS_BACKENDS=jwt \
        AXUM_USERS_RATE_LIMITS=false \
        AXUM_USERS_MAIL_OUTBOX="$RESULTS/outbox" \
        AXUM_USERS_ARGON2_MEMORY_KIB="$ARGON2_M" \
        AXUM_USERS_ARGON2_ITERATIONS="$ARGON2_T" \
        AXUM_USERS_ARGON2_PARALLELISM="$ARGON2_P" \
        "$OURS_BIN" serve >>"$RESULTS/ours.log" 2>&1 &
    OURS_PID=$!
    PIDS+=("$OURS_PID")
    wait_ready "$PORT_OURS" "$OURS_PID"
}

stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
