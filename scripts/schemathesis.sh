#!/usr/bin/env bash
# Fuzzes the API from its own OpenAPI document with schemathesis (PyPI), once as a normal user
# and once as a superuser, against the real server binary on a loopback port with a throwaway
# SQLite database. Fails on any finding: a 5xx, a response that violates the documented schema,
# an undocumented status code or content type, or a request that times out.
#
#   scripts/schemathesis.sh                      # by hand or from .ci/run
#   ST_MAX_EXAMPLES=500 scripts/schemathesis.sh  # fuzz harder
#   ST_SEED=123 scripts/schemathesis.sh          # replay a run (the seed is printed)
#
# Environment: VENV (default target/ci-python, created if missing), ST_MAX_EXAMPLES (default 100
# per operation), ST_SEED (default random), ST_WORKERS (default 1: CPython 3.11's parser is not
# thread-safe and schemathesis' workers are threads), ST_CHECKS (default: the four above; "all"
# to explore), AXUM_USERS_BIN (default: build target/debug/axum-users with cargo). JUnit reports
# go to target/test-artifacts/schemathesis/{user,superuser}.xml.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
VENV="${VENV:-target/ci-python}"
MAX_EXAMPLES="${ST_MAX_EXAMPLES:-100}"
WORKERS="${ST_WORKERS:-1}"
CHECKS="${ST_CHECKS:-not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance}"
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
REPORTS="$TARGET_DIR/test-artifacts/schemathesis"

[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
PY="$VENV/bin/python"

if [ -z "${AXUM_USERS_BIN:-}" ]; then
    cargo build -p axum-users-server --bin axum-users
    AXUM_USERS_BIN="$TARGET_DIR/debug/axum-users"
fi

tmp="$(mktemp -d)"
server_pid=""
cleanup() {
    status=$?
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if [ "$status" -ne 0 ] && [ -f "$tmp/server.log" ]; then
        echo "--- last lines of the server's log ($tmp/server.log)"
        tail -n 40 "$tmp/server.log" || true
    else
        rm -rf "$tmp"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port="$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
export AXUM_USERS_BIND="127.0.0.1:$port"
export AXUM_USERS_DATABASE_URL="sqlite://$tmp/db"
export AXUM_USERS_SECRET_FILE="$tmp/secret"
AXUM_USERS_SECRET="$("$PY" -c 'import secrets; print(secrets.token_urlsafe(48))')"
export AXUM_USERS_SECRET
export AXUM_USERS_ARGON2_MEMORY_KIB=1024 AXUM_USERS_ARGON2_ITERATIONS=1 AXUM_USERS_ARGON2_PARALLELISM=1
export AXUM_USERS_MAIL_OUTBOX="$tmp/outbox"
export AXUM_USERS_COOKIE_SECURE=false
export RUST_LOG="${RUST_LOG:-warn}"

admin_email="admin@fuzz.example.com"
user_email="user@fuzz.example.com"
admin_password="$("$PY" -c 'import secrets; print(secrets.token_urlsafe(24))')"
user_password="$("$PY" -c 'import secrets; print(secrets.token_urlsafe(24))')"

AXUM_USERS_NEW_PASSWORD="$admin_password" \
    "$AXUM_USERS_BIN" create-user --email "$admin_email" --superuser --verified >/dev/null
"$AXUM_USERS_BIN" serve >"$tmp/server.log" 2>&1 &
server_pid=$!

# Waits for the server, registers the normal user, logs both in; prints the two tokens.
tokens="$(BASE="$base" ADMIN_EMAIL="$admin_email" ADMIN_PASSWORD="$admin_password" \
    USER_EMAIL="$user_email" USER_PASSWORD="$user_password" "$PY" - <<'EOF'
import json, os, time, urllib.error, urllib.parse, urllib.request

base = os.environ["BASE"]
deadline = time.monotonic() + 60
while True:
    try:
        urllib.request.urlopen(base + "/openapi.json", timeout=2).read()
        break
    except (urllib.error.URLError, ConnectionError, OSError):
        if time.monotonic() > deadline:
            raise SystemExit("the server did not answer /openapi.json within 60 s")
        time.sleep(0.2)

def post(path, data, content_type):
    req = urllib.request.Request(base + path, data=data, headers={"content-type": content_type})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)

post("/auth/register",
     json.dumps({"email": os.environ["USER_EMAIL"], "password": os.environ["USER_PASSWORD"]}).encode(),
     "application/json")
for who in ("USER", "ADMIN"):
    form = urllib.parse.urlencode({"username": os.environ[who + "_EMAIL"],
                                   "password": os.environ[who + "_PASSWORD"]}).encode()
    print(post("/auth/jwt/login", form, "application/x-www-form-urlencoded")["access_token"])
EOF
)"
user_token="$(sed -n 1p <<<"$tokens")"
admin_token="$(sed -n 2p <<<"$tokens")"

# schemathesis keeps a cache of interesting requests to replay in later runs; keep it under
# target/ rather than in the work tree.
cat >"$tmp/schemathesis.toml" <<EOF
[cache]
directory = "$(cd "$TARGET_DIR" && pwd)/schemathesis-cache"
EOF

seed_args=()
[ -n "${ST_SEED:-}" ] && seed_args=(--seed "$ST_SEED")

failed=0
for who in user superuser; do
    token="$user_token"
    [ "$who" = superuser ] && token="$admin_token"
    printf '\n== schemathesis as the %s (%s examples per operation)\n' "$who" "$MAX_EXAMPLES"
    mkdir -p "$REPORTS"
    "$VENV/bin/st" --config-file "$tmp/schemathesis.toml" run "$base/openapi.json" \
        --header "Authorization: Bearer $token" \
        --checks "$CHECKS" \
        --max-examples "$MAX_EXAMPLES" \
        --workers "$WORKERS" \
        --request-timeout 30 \
        --report junit --report-junit-path "$REPORTS/$who.xml" \
        --no-color \
        "${seed_args[@]}" || failed=1
    kill -0 "$server_pid" 2>/dev/null || { echo "the server died"; exit 1; }
done
exit "$failed"
