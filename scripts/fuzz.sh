#!/usr/bin/env bash
# Runs every cargo-fuzz target (fuzz/) for SECONDS_PER_TARGET seconds (default 60), one after
# the other on one core, and prints a table of executions, coverage and crashes.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]        FUZZ_TARGETS="wire config" to run only some
#
# Needs the nightly toolchain and cargo-fuzz (installed from crates.io when missing). Not part
# of CI: CI runs the same target bodies as short proptests (integration-tests/tests/fuzz_props.rs).
# Seeds come from the protocol's golden fixtures, the publiccode.yml fixtures and shared corpus,
# the example configuration, fuzz/seeds/ and every kept crash input in fuzz/regressions/.
# A crash leaves its input in fuzz/artifacts/<target>/; keep it in fuzz/regressions/<target>/
# once fixed, where integration-tests/tests/fuzz_regressions.rs replays it on every test run.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
targets="${FUZZ_TARGETS:-wire document publiccode api_body config}"

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "the nightly toolchain is needed: rustup toolchain install nightly" >&2
    exit 2
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

corpus=fuzz/corpus
logs=fuzz/artifacts/logs
mkdir -p "$logs"
for t in $targets; do
    mkdir -p "$corpus/$t"
    if [ -d "fuzz/regressions/$t" ]; then
        cp -n fuzz/regressions/"$t"/* "$corpus/$t/" 2>/dev/null || true
    fi
    if [ -d "fuzz/seeds/$t" ]; then
        cp -n fuzz/seeds/"$t"/* "$corpus/$t/" 2>/dev/null || true
    fi
done
# Valid encodings of every wire object, from the golden fixtures.
if [ -d "$corpus/wire" ]; then
    for f in protocol/tests/fixtures/*.hex; do
        tr -d ' \n' <"$f" | xxd -r -p >"$corpus/wire/fixture-$(basename "$f" .hex)"
    done
fi
if [ -d "$corpus/publiccode" ]; then
    for f in node/tests/fixtures/publiccode/*.yml ../shared/corpus/publiccode/*.yml; do
        [ -f "$f" ] && cp -n "$f" "$corpus/publiccode/" 2>/dev/null || true
    done
fi
if [ -d "$corpus/config" ]; then
    cp -n docs/config.example.toml "$corpus/config/" 2>/dev/null || true
fi

echo "== building the fuzz targets (nightly, sanitizer coverage)"
(cd fuzz && cargo +nightly fuzz build)

results=()
failed=0
for t in $targets; do
    echo "== $t for $secs s"
    log="$logs/$t.log"
    set +e
    (cd fuzz && cargo +nightly fuzz run "$t" "corpus/$t" -- \
        -max_total_time="$secs" -timeout=20 -rss_limit_mb=3072 -print_final_stats=1) >"$log" 2>&1
    rc=$?
    set -e
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*')
    units=$(find "$corpus/$t" -type f | wc -l)
    if [ "$rc" = 0 ]; then
        verdict="no crash"
    else
        failed=1
        artifact=$(grep -o 'fuzz/artifacts/[^ ]*\|artifacts/[^ ]*' "$log" | tail -1)
        verdict="CRASH (exit $rc) ${artifact:-see $log}"
        tail -40 "$log"
    fi
    results+=("| $t | ${secs} s | ${execs:-?} | ${rate:-?}/s | ${cov:-?} | $units | $verdict |")
done

echo
echo "| target | time | executions | rate | coverage (edges) | corpus | result |"
echo "|---|---|---|---|---|---|---|"
printf '%s\n' "${results[@]}"
echo
echo "nightly: $(rustc +nightly --version); logs in $logs/"
exit "$failed"
