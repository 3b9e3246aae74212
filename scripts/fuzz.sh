#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ for FUZZ_SECONDS each (default 60), FUZZ_JOBS at a time
# (default 2, one per core here), prints a table of target, runs and result, and exits non-zero
# when any target crashed, naming the input that did it.
#
#   FUZZ_SECONDS=20 bash scripts/fuzz.sh                  # a quicker pass
#   FUZZ_TARGETS="generic whatsapp" bash scripts/fuzz.sh  # some targets only
#   FUZZ_SANITIZER=address bash scripts/fuzz.sh           # with AddressSanitizer
#
# Toolchain: cargo-fuzz is meant for nightly, and only a stable toolchain can be counted on here.
# Its coverage instrumentation (-Cpasses=sancov-module, -Cllvm-args=-sanitizer-coverage-*) and
# `--cfg fuzzing` are stable flags, so with `--sanitizer none` a stable rustc builds the targets
# as they are. AddressSanitizer needs `-Zsanitizer=address`, an unstable flag: stable rustc takes
# it only with RUSTC_BOOTSTRAP=1, which this script sets when FUZZ_SANITIZER asks for one. No
# sanitizer is the default because the code under test forbids `unsafe`: what the targets look
# for is panics, overflows (debug assertions and overflow checks stay on) and broken properties,
# and without ASan the targets build faster and run about twice as many inputs.
#
# The committed corpus (fuzz/corpus/<target>) is copied to a scratch directory first, so a run
# never grows it; crashes land in fuzz/artifacts/<target>/.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fuzz_dir="$root/fuzz"
seconds="${FUZZ_SECONDS:-60}"
jobs="${FUZZ_JOBS:-2}"
sanitizer="${FUZZ_SANITIZER:-none}"
read -r -a targets <<<"${FUZZ_TARGETS:-shopify woocommerce generic whatsapp signature_headers csv_rows}"

cargo_fuzz_version="0.13.2"
tools="$root/target/tools/cargo-fuzz"
if [[ "$("$tools/bin/cargo-fuzz" --version 2>/dev/null)" != "cargo-fuzz $cargo_fuzz_version" ]]; then
    cargo install cargo-fuzz --version "$cargo_fuzz_version" --locked --root "$tools"
fi
export PATH="$tools/bin:$PATH"
if [[ "$sanitizer" != none ]]; then
    export RUSTC_BOOTSTRAP=1
fi

if ! [[ "$seconds" =~ ^[1-9][0-9]*$ && "$jobs" =~ ^[1-9][0-9]*$ ]]; then
    echo "FUZZ_SECONDS and FUZZ_JOBS must be positive whole numbers (got '$seconds' and '$jobs')" >&2
    exit 2
fi
for target in "${targets[@]}"; do
    if [[ ! -f "$fuzz_dir/fuzz_targets/$target.rs" ]]; then
        echo "unknown fuzz target '$target': see fuzz/fuzz_targets/" >&2
        exit 2
    fi
done

cd "$fuzz_dir"
work="$fuzz_dir/target/fuzz-run"
rm -rf "$work"
mkdir -p "$work/logs" "$work/status"

# One build of all targets, so they share every compiled dependency.
if ! cargo fuzz build --sanitizer "$sanitizer" >"$work/build.log" 2>&1; then
    cat "$work/build.log" >&2
    echo "the fuzz targets did not build" >&2
    exit 1
fi
binaries="$fuzz_dir/target/$(rustc -vV | sed -n 's/^host: //p')/release"

# run_target TARGET: fuzzes TARGET from a scratch copy of its corpus; records its exit status.
run_target() {
    local target="$1" corpus="$work/corpus/$1" status=0
    mkdir -p "$corpus" "$fuzz_dir/artifacts/$target"
    cp -R "$fuzz_dir/corpus/$target/." "$corpus/" 2>/dev/null || true
    # -timeout: one input taking 10 s is a hang worth reporting, not a slow machine.
    "$binaries/$target" "$corpus" \
        -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$fuzz_dir/artifacts/$target/" >"$work/logs/$target.log" 2>&1 || status=$?
    echo "$status" >"$work/status/$target"
}

running=0
for target in "${targets[@]}"; do
    if ((running >= jobs)); then
        wait -n
        running=$((running - 1))
    fi
    run_target "$target" &
    running=$((running + 1))
done
wait

failed=0
printf '%-18s %12s  %s\n' target runs result
for target in "${targets[@]}"; do
    log="$work/logs/$target.log"
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
    status="$(cat "$work/status/$target" 2>/dev/null || echo "?")"
    if [[ "$status" == 0 ]]; then
        result="ok"
    else
        failed=1
        crash="$(sed -n 's/.*Test unit written to //p' "$log" | tail -n 1)"
        result="FAILED (exit $status): ${crash:-no input saved, see $log}"
    fi
    printf '%-18s %12s  %s\n' "$target" "${runs:-?}" "$result"
done

if ((failed)); then
    for target in "${targets[@]}"; do
        if [[ "$(cat "$work/status/$target" 2>/dev/null || echo "?")" != 0 ]]; then
            echo >&2
            echo "--- $target: the end of $work/logs/$target.log" >&2
            grep -v '^#[0-9]' "$work/logs/$target.log" | tail -n 40 >&2
            echo "reproduce: PATH=\"$tools/bin:\$PATH\"; cd fuzz && cargo fuzz run --sanitizer $sanitizer $target <the input named above>" >&2
        fi
    done
    exit 1
fi
