#!/usr/bin/env bash
# Smoke test of the examples under examples/: builds them, starts each on a free loopback port
# (EXAMPLE_ADDR=127.0.0.1:0; the example prints the address it got) with a throwaway SQLite
# database, and drives it with curl: register → login → protected route, plus what the example
# is about (cookie-spa: the cookie flow from the SPA's origin, the CORS preflight, the CSRF
# refusal; custom-fields: the fields' round trip and their place in /openapi.json;
# postgres-redis: both token backends, revoked at logout; custom-hooks: the welcome email in the
# outbox and the audit lines). Any unexpected status, header or body fails the run.
#
#   scripts/examples.sh                          # every example
#   scripts/examples.sh quickstart cookie-spa    # some of them
#
# postgres-redis needs PostgreSQL and Redis (DATABASE_URL, default
# postgres://postgres@127.0.0.1:5432/test, and REDIS_URL, default redis://127.0.0.1:6379, or
# TEST_DATABASE_URL / TEST_REDIS_URL as .ci/run exports them). When either is unreachable it is
# skipped, except with CI=true, where that fails the run.
#
# Needs curl and python3 (JSON checks). Server logs are shown when a check fails.
set -euo pipefail
cd "$(dirname "$0")/.."

ALL=(quickstart cookie-spa postgres-redis custom-fields custom-hooks)
if [ "$#" -gt 0 ]; then SELECTED=("$@"); else SELECTED=("${ALL[@]}"); fi
for name in "${SELECTED[@]}"; do
    case " ${ALL[*]} " in *" $name "*) ;; *) echo "unknown example: $name (one of: ${ALL[*]})" >&2; exit 2 ;; esac
done

TARGET_DIR="${CARGO_TARGET_DIR:-target}"
DATABASE_URL="${DATABASE_URL:-${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}}"
REDIS_URL="${REDIS_URL:-${TEST_REDIS_URL:-redis://127.0.0.1:6379}}"
PASSWORD="guinevere-and-lancelot"

build_args=()
for name in "${SELECTED[@]}"; do build_args+=(-p "$name"); done
cargo build "${build_args[@]}"

tmp="$(mktemp -d)"
pids=()
skipped=()
current=""
cleanup() {
    status=$?
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [ "$status" -ne 0 ]; then
        for log in "$tmp"/*.log; do
            [ -f "$log" ] || continue
            echo "--- last lines of $(basename "$log")"
            tail -n 30 "$log" || true
        done
        echo "examples: FAILED${current:+ (in $current)}; files kept in $tmp"
    else
        rm -rf "$tmp"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
    echo "FAIL [$current] $*" >&2
    exit 1
}
ok() { echo "  ok: $*"; }

# --- starting an example ----------------------------------------------------------------------

# start NAME [VAR=VALUE...]: runs the example with these variables; sets BASE to its address.
start() {
    local name="$1"
    shift
    local log="$tmp/$name.log"
    env EXAMPLE_ADDR=127.0.0.1:0 RUST_LOG="${RUST_LOG:-info}" "$@" \
        "$TARGET_DIR/debug/$name" >"$log" 2>&1 &
    local pid=$!
    pids+=("$pid")
    BASE=""
    for _ in $(seq 1 300); do
        BASE="$(grep -o -m1 'listening on http://127\.0\.0\.1:[0-9]*' "$log" | sed 's/^listening on //' || true)"
        [ -n "$BASE" ] && break
        kill -0 "$pid" 2>/dev/null || fail "$name exited at start: $(cat "$log")"
        sleep 0.1
    done
    [ -n "$BASE" ] || fail "$name printed no address within 30 s"
    echo "  $name listening on $BASE"
}

# stop: stops the last example started.
stop() {
    local pid="${pids[-1]}"
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    unset 'pids[-1]'
}

# --- requests and checks ----------------------------------------------------------------------

# req METHOD PATH [curl args...]: one request; sets STATUS, body in $tmp/body, headers in
# $tmp/headers.
req() {
    local method="$1" path="$2"
    shift 2
    STATUS="$(curl -sS --max-time 30 -o "$tmp/body" -D "$tmp/headers" -w '%{http_code}' \
        -X "$method" "$@" "$BASE$path")" || fail "$method $path: curl failed"
    tr -d '\r' <"$tmp/headers" >"$tmp/headers.lf"
    mv "$tmp/headers.lf" "$tmp/headers"
    LAST="$method $path"
}

# json METHOD PATH JSON [curl args...]
json() {
    local method="$1" path="$2" body="$3"
    shift 3
    req "$method" "$path" -H 'content-type: application/json' --data-binary "$body" "$@"
}

# login_form PATH EMAIL PASSWORD [curl args...]: an application/x-www-form-urlencoded login.
login_form() {
    local path="$1" email="$2" password="$3"
    shift 3
    req POST "$path" --data-urlencode "username=$email" --data-urlencode "password=$password" "$@"
}

# status CODE: the last answer's status.
status() {
    [ "$STATUS" = "$1" ] || fail "$LAST: status $STATUS, expected $1; body: $(head -c 2000 "$tmp/body")"
}

# check PYTHON_EXPR: a condition on the last body, parsed as JSON into `b`.
check() {
    python3 - "$tmp/body" "$1" <<'EOF' || fail "$LAST: body check failed: $1; body: $(head -c 2000 "$tmp/body")"
import json, sys
with open(sys.argv[1], encoding="utf-8") as f:
    b = json.load(f)
sys.exit(0 if eval(sys.argv[2], {"b": b}) else 1)
EOF
}

# value PYTHON_EXPR: prints a value of the last body.
value() {
    python3 - "$tmp/body" "$1" <<'EOF'
import json, sys
with open(sys.argv[1], encoding="utf-8") as f:
    b = json.load(f)
print(eval(sys.argv[2], {"b": b}))
EOF
}

# header NAME REGEX: the last answer has header NAME matching REGEX (extended, case-insensitive).
header() {
    grep -qiE "^$1: $2" "$tmp/headers" || fail "$LAST: no header $1 matching /$2/; headers: $(cat "$tmp/headers")"
}

# no_header NAME: the last answer lacks header NAME.
no_header() {
    if grep -qi "^$1:" "$tmp/headers"; then fail "$LAST: unexpected header: $(grep -i "^$1:" "$tmp/headers")"; fi
}

# wait_log FILE REGEX: waits (5 s at most) until the log matches.
wait_log() {
    for _ in $(seq 1 50); do
        grep -qE "$2" "$1" && return 0
        sleep 0.1
    done
    fail "no line matching /$2/ in $(basename "$1")"
}

new_email() { echo "arthur.$1.$RANDOM$RANDOM@camelot.example"; }

# register_and_login PREFIX EMAIL [JSON fields]: registers EMAIL, logs in on PREFIX/login;
# sets TOKEN and USER_ID.
register_and_login() {
    local prefix="$1" email="$2" extra="${3:-}"
    json POST /auth/register "{\"email\": \"$email\", \"password\": \"$PASSWORD\"$extra}"
    status 201
    check "b['email'] == '$email' and b['is_active'] is True and b['is_superuser'] is False and b['is_verified'] is False"
    USER_ID="$(value "b['id']")"
    login_form "$prefix/login" "$email" "$PASSWORD"
    status 200
    check "b['token_type'] == 'bearer' and len(b['access_token']) > 20"
    TOKEN="$(value "b['access_token']")"
}

# --- the examples -----------------------------------------------------------------------------

example_quickstart() {
    start quickstart DATABASE_URL="sqlite://$tmp/quickstart.db"
    local email
    email="$(new_email quickstart)"
    register_and_login /auth/jwt "$email"
    ok "register 201, login 200 (bearer)"
    json POST /auth/register "{\"email\": \"$email\", \"password\": \"$PASSWORD\"}"
    status 400
    check "b == {'detail': 'REGISTER_USER_ALREADY_EXISTS'}"
    req GET /authenticated-route -H "Authorization: Bearer $TOKEN"
    status 200
    check "b == {'message': 'Hello $email!'}"
    ok "GET /authenticated-route 200 {\"message\": \"Hello $email!\"}"
    req GET /authenticated-route
    status 401
    check "b == {'detail': 'Unauthorized'}"
    req GET /users/me -H "Authorization: Bearer $TOKEN"
    status 200
    check "b['id'] == '$USER_ID' and b['email'] == '$email'"
    ok "GET /users/me 200; without a token 401"
    # The quickstart's hooks print the reset token; reset the password with it.
    json POST /auth/forgot-password "{\"email\": \"$email\"}"
    status 202
    wait_log "$tmp/quickstart.log" "User $USER_ID has forgot their password. Reset token: "
    local reset
    reset="$(grep -o "User $USER_ID has forgot their password. Reset token: [^ ]*" "$tmp/quickstart.log" | tail -n1 | sed 's/.*Reset token: //')"
    json POST /auth/reset-password "{\"token\": \"$reset\", \"password\": \"excalibur-in-the-lake\"}"
    status 200
    login_form /auth/jwt/login "$email" "excalibur-in-the-lake"
    status 200
    ok "forgot-password 202 (token printed by the hook), reset-password 200, login with the new password"
    req POST /auth/jwt/logout -H "Authorization: Bearer $(value "b['access_token']")"
    status 204
    req GET /openapi.json
    status 200
    check "b['openapi'].startswith('3.1') and '/auth/jwt/login' in b['paths'] and '/users/me' in b['paths']"
    ok "logout 204, /openapi.json"
    stop
}

example_cookie_spa() {
    local spa="http://localhost:5173" evil="http://evil.example" jar="$tmp/cookies.txt"
    start cookie-spa DATABASE_URL="sqlite://$tmp/cookie-spa.db" SPA_ORIGIN="$spa"
    local email
    email="$(new_email spa)"
    # The browser's preflight for a credentialed PATCH from the SPA.
    req OPTIONS /users/me -H "Origin: $spa" -H 'Access-Control-Request-Method: PATCH' \
        -H 'Access-Control-Request-Headers: content-type'
    status 200
    header access-control-allow-origin "$spa\$"
    header access-control-allow-credentials 'true$'
    header access-control-allow-methods '.*PATCH'
    header access-control-allow-headers '.*content-type'
    req OPTIONS /users/me -H "Origin: $evil" -H 'Access-Control-Request-Method: PATCH'
    no_header access-control-allow-origin
    ok "CORS preflight: the SPA's origin admitted with credentials, another origin not"
    json POST /auth/register "{\"email\": \"$email\", \"password\": \"$PASSWORD\"}" -H "Origin: $spa"
    status 201
    header access-control-allow-origin "$spa\$"
    login_form /auth/cookie/login "$email" "$PASSWORD" -H "Origin: $spa" -c "$jar"
    status 204
    header set-cookie 'fastapiusersauth=[^;]+; HttpOnly; Max-Age=3600; Path=/; SameSite=lax'
    header access-control-allow-credentials 'true$'
    ok "register 201, cookie login 204 with Set-Cookie (HttpOnly)"
    req GET /users/me -H "Origin: $spa" -b "$jar"
    status 200
    check "b['email'] == '$email'"
    header access-control-allow-origin "$spa\$"
    header access-control-allow-credentials 'true$'
    req GET /authenticated-route -H "Origin: $spa" -b "$jar"
    status 200
    check "b == {'message': 'Hello $email!'}"
    ok "GET /users/me and /authenticated-route 200 with the cookie"
    local renamed
    renamed="$(new_email spa-renamed)"
    json PATCH /users/me "{\"email\": \"$renamed\"}" -H "Origin: $spa" -b "$jar"
    status 200
    check "b['email'] == '$renamed'"
    json PATCH /users/me '{"email": "mordred@camelot.example"}' -H "Origin: $evil" -b "$jar"
    status 403
    check "b == {'detail': 'Forbidden'}"
    no_header access-control-allow-origin
    json PATCH /users/me '{"email": "mordred@camelot.example"}' -H 'Sec-Fetch-Site: cross-site' -b "$jar"
    status 403
    ok "PATCH /users/me from the SPA 200; from another origin (Origin, Sec-Fetch-Site) 403 (CSRF)"
    req POST /auth/cookie/logout -H "Origin: $spa" -b "$jar" -c "$jar"
    status 204
    header set-cookie 'fastapiusersauth=""; HttpOnly; Max-Age=0'
    req GET /users/me -H "Origin: $spa" -b "$jar"
    status 401
    ok "logout 204 clears the cookie; then 401"
    stop
}

# reachable URL: whether host:port of the URL accepts a TCP connection (2 s).
reachable() {
    python3 - "$1" <<'EOF'
import socket, sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
default = {"postgres": 5432, "postgresql": 5432, "redis": 6379}.get(u.scheme, 0)
try:
    socket.create_connection((u.hostname or "127.0.0.1", u.port or default), timeout=2).close()
except OSError:
    sys.exit(1)
EOF
}

example_postgres_redis() {
    local missing=""
    reachable "$DATABASE_URL" || missing="PostgreSQL ($DATABASE_URL)"
    reachable "$REDIS_URL" || missing="${missing:+$missing and }Redis ($REDIS_URL)"
    if [ -n "$missing" ]; then
        [ "${CI:-}" = "true" ] && fail "$missing not reachable (CI=true: not skipping)"
        echo "  SKIPPED: $missing not reachable"
        skipped+=("$current")
        return 0
    fi
    start postgres-redis DATABASE_URL="$DATABASE_URL" REDIS_URL="$REDIS_URL"
    local email db_token redis_token
    email="$(new_email pg)"
    register_and_login /auth/database "$email"
    db_token="$TOKEN"
    ok "register 201, database login 200"
    login_form /auth/redis/login "$email" "$PASSWORD"
    status 200
    redis_token="$(value "b['access_token']")"
    ok "redis login 200"
    for token in "$db_token" "$redis_token"; do
        req GET /authenticated-route -H "Authorization: Bearer $token"
        status 200
        check "b == {'message': 'Hello $email!'}"
        req GET /users/me -H "Authorization: Bearer $token"
        status 200
        check "b['id'] == '$USER_ID'"
    done
    ok "GET /authenticated-route and /users/me 200 with either token"
    req POST /auth/database/logout -H "Authorization: Bearer $db_token"
    status 204
    req GET /users/me -H "Authorization: Bearer $db_token"
    status 401
    req GET /users/me -H "Authorization: Bearer $redis_token"
    status 200
    req POST /auth/redis/logout -H "Authorization: Bearer $redis_token"
    status 204
    req GET /users/me -H "Authorization: Bearer $redis_token"
    status 401
    ok "each logout revokes its own token (database row, Redis key): then 401"
    stop
}

example_custom_fields() {
    start custom-fields DATABASE_URL="sqlite://$tmp/custom-fields.db"
    local email
    email="$(new_email fields)"
    register_and_login /auth/jwt "$email" ', "first_name": "Arthur", "birthdate": "1990-05-17"'
    json POST /auth/register "{\"email\": \"$email\", \"password\": \"$PASSWORD\", \"first_name\": \"Arthur\", \"birthdate\": \"1990-05-17\"}"
    status 400
    json POST /auth/register "{\"email\": \"x.$email\", \"password\": \"$PASSWORD\"}"
    status 422
    check "any(e['type'] == 'missing' and e['loc'] == ['body', 'first_name'] for e in b['detail'])"
    json POST /auth/register "{\"email\": \"y.$email\", \"password\": \"$PASSWORD\", \"first_name\": \"Kay\", \"birthdate\": \"not a date\"}"
    status 422
    check "any(e['loc'] == ['body', 'birthdate'] for e in b['detail'])"
    ok "register 201 with the fields; 422 without first_name, 422 for a bad birthdate"
    req GET /users/me -H "Authorization: Bearer $TOKEN"
    status 200
    check "b['first_name'] == 'Arthur' and b['birthdate'] == '1990-05-17' and b['email'] == '$email'"
    json PATCH /users/me '{"first_name": "Wart"}' -H "Authorization: Bearer $TOKEN"
    status 200
    check "b['first_name'] == 'Wart' and b['birthdate'] == '1990-05-17'"
    json PATCH /users/me '{"birthdate": null}' -H "Authorization: Bearer $TOKEN"
    status 200
    check "b['first_name'] == 'Wart' and b['birthdate'] is None"
    req GET /authenticated-route -H "Authorization: Bearer $TOKEN"
    status 200
    check "b == {'message': 'Hello Wart!', 'birthdate': None}"
    ok "GET /users/me returns them; PATCH changes only what it names; the app's route reads them"
    req GET /openapi.json
    status 200
    check "all(f in b['components']['schemas'][s]['properties'] for s in ('UserRead', 'UserCreate', 'UserUpdate') for f in ('first_name', 'birthdate'))"
    check "'first_name' in b['components']['schemas']['UserRead']['required'] and 'first_name' in b['components']['schemas']['UserCreate']['required']"
    check "'first_name' not in b['components']['schemas']['UserUpdate'].get('required', [])"
    check "'birthdate' not in b['components']['schemas']['UserCreate']['required']"
    check "b['components']['schemas']['UserRead']['properties']['birthdate'].get('format') == 'date'"
    ok "/openapi.json: first_name and birthdate in UserRead, UserCreate (first_name required), UserUpdate"
    stop
}

example_custom_hooks() {
    local outbox="$tmp/outbox" log="$tmp/custom-hooks.log"
    start custom-hooks DATABASE_URL="sqlite://$tmp/custom-hooks.db" MAIL_OUTBOX="$outbox"
    local email
    email="$(new_email hooks)"
    json POST /auth/register "{\"email\": \"$email\", \"password\": \"short\"}"
    status 400
    check "b == {'detail': {'code': 'REGISTER_INVALID_PASSWORD', 'reason': 'Password should be at least 8 characters'}}"
    ok "validate_password: 400 REGISTER_INVALID_PASSWORD with the reason"
    register_and_login /auth/jwt "$email"
    local eml=""
    for _ in $(seq 1 50); do
        eml="$(grep -l "^To: $email" "$outbox"/*.eml 2>/dev/null | head -n1 || true)"
        [ -n "$eml" ] && break
        sleep 0.1
    done
    [ -n "$eml" ] || fail "no welcome email to $email in $outbox"
    grep -q "^Subject: Welcome to Camelot" "$eml" || fail "$eml: not the welcome email: $(head -n 20 "$eml")"
    ok "on_after_register: welcome email $(basename "$eml") in the outbox"
    wait_log "$log" "audit: login succeeded user_id=$USER_ID email=$email client_ip=Some\(127\.0\.0\.1\)"
    login_form /auth/jwt/login "$email" "not-the-password"
    status 400
    check "b == {'detail': 'LOGIN_BAD_CREDENTIALS'}"
    wait_log "$log" "audit: login failed user_id=Some\($USER_ID\) email=$email"
    ok "on_after_login / on_after_failed_login: audit lines with user id and client address"
    req GET /authenticated-route -H "Authorization: Bearer $TOKEN"
    status 200
    check "b == {'message': 'Hello $email!'}"
    ok "GET /authenticated-route 200"
    stop
}

for name in "${SELECTED[@]}"; do
    current="$name"
    echo "== $name"
    "example_${name//-/_}"
done
current=""
if [ "${#skipped[@]}" -gt 0 ]; then
    echo "examples: passed, except ${skipped[*]} (SKIPPED: services unreachable)"
else
    echo "examples: all passed (${SELECTED[*]})"
fi
