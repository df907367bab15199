#!/usr/bin/env bash
# cargo fuzz over the parsers that read untrusted input (fuzz/fuzz_targets): the JWT decoder,
# the PHC hash parser, email normalisation, and whole requests through the real routers (JSON,
# form and multipart bodies; Cookie and Authorization headers). Each target runs for a bounded
# time; a crash fails the run and leaves its input in fuzz/artifacts/<target>/ (turn it into a
# regression test beside crates/*/tests/*_prop.rs, then fix).
#
#   scripts/fuzz.sh                    # every target, 30 s each
#   FUZZ_SECONDS=300 scripts/fuzz.sh jwt_decode
#
# libFuzzer's instrumentation needs rustc's -Z flags; the machine has one stable toolchain, so
# RUSTC_BOOTSTRAP=1 unlocks them for this build only (fuzz/ is its own workspace: the main
# build never sees the flag).
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZ_SECONDS="${FUZZ_SECONDS:-30}"
CARGO_FUZZ_VERSION=0.13.2
if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
    cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION"
fi
export RUSTC_BOOTSTRAP=1

targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
    mapfile -t targets < <(cd fuzz && cargo fuzz list)
fi
for target in "${targets[@]}"; do
    printf '== fuzz %s (%s s)\n' "$target" "$FUZZ_SECONDS"
    log="fuzz/target/fuzz-$target.log"
    mkdir -p fuzz/target
    # -rss_limit_mb: the HTTP target keeps a hashing pool and a runtime alive.
    if ! (cd fuzz && cargo fuzz run "$target" -- -max_total_time="$FUZZ_SECONDS" \
        -rss_limit_mb=4096 -print_final_stats=1) >"$log" 2>&1; then
        tail -n 40 "$log" >&2
        echo "fuzz: $target failed (crash inputs, if any: fuzz/artifacts/$target/; log: $log)" >&2
        exit 1
    fi
    grep -E '^(Done|stat::number_of_executed_units)' "$log" || true
done
echo "fuzz: ${#targets[@]} targets, ${FUZZ_SECONDS} s each, no crash"
