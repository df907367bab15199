#!/usr/bin/env bash
# The TypeScript client check: builds and starts the real server on a free loopback port with a
# throwaway SQLite database and a generated secret, fetches its /openapi.json, generates
# clients/typescript/src/schema.d.ts with openapi-typescript, type-checks the client with
# `tsc --noEmit` (strict), compiles it and runs clients/typescript/src/smoke.ts (openapi-fetch):
# register → login (form body) → GET /users/me → PATCH /users/me → logout, every status and body
# checked. A document whose types do not compile, or any mismatch, fails the run.
#
#   scripts/ts-client.sh
#
# Needs node (20+) and npm (packages from the npm registry, pinned by
# clients/typescript/package-lock.json). AXUM_USERS_BIN: a server binary to use instead of
# building target/debug/axum-users.
set -euo pipefail
cd "$(dirname "$0")/.."

CLIENT=clients/typescript
TARGET_DIR="${CARGO_TARGET_DIR:-target}"

command -v node >/dev/null || { echo "node is not installed" >&2; exit 1; }
command -v npm >/dev/null || { echo "npm is not installed" >&2; exit 1; }

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
        echo "ts-client: FAILED"
    else
        rm -rf "$tmp"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
export AXUM_USERS_BIND="127.0.0.1:$port"
export AXUM_USERS_DATABASE_URL="sqlite://$tmp/db"
export AXUM_USERS_SECRET_FILE="$tmp/secret"
AXUM_USERS_SECRET="$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')"
export AXUM_USERS_SECRET
export AXUM_USERS_ARGON2_MEMORY_KIB=1024 AXUM_USERS_ARGON2_ITERATIONS=1 AXUM_USERS_ARGON2_PARALLELISM=1
export AXUM_USERS_MAIL_OUTBOX="$tmp/outbox"
export RUST_LOG="${RUST_LOG:-warn}"

"$AXUM_USERS_BIN" serve >"$tmp/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 300); do
    curl -fsS -o /dev/null "$base/health" 2>/dev/null && break
    kill -0 "$server_pid" 2>/dev/null || { echo "the server exited at start" >&2; exit 1; }
    sleep 0.1
done
curl -fsS -o /dev/null "$base/health" || { echo "the server did not answer /health within 30 s" >&2; exit 1; }
echo "== server on $base"

echo "== npm ci"
(cd "$CLIENT" && npm ci --no-audit --no-fund --loglevel=error)

echo "== openapi-typescript"
curl -fsS -o "$CLIENT/openapi.json" "$base/openapi.json"
# --default-non-nullable false: openapi-typescript otherwise makes every property that has a
# default *required* (is_active on UserCreate, scope on the login form), in request bodies too;
# FastAPI's own documents need the same flag.
(cd "$CLIENT" && ./node_modules/.bin/openapi-typescript openapi.json --output src/schema.d.ts \
    --default-non-nullable false)

echo "== tsc --noEmit (strict)"
(cd "$CLIENT" && ./node_modules/.bin/tsc --noEmit)

echo "== smoke: register → login → /users/me → PATCH /users/me → logout"
(cd "$CLIENT" && rm -rf dist && ./node_modules/.bin/tsc && AXUM_USERS_URL="$base" node dist/smoke.js)
