#!/usr/bin/env bash
# Runs the whole test suite and the detect example under qemu-x86_64-static with three CPU
# models, each exposing a different rung of the x86 write-back ladder, and checks that detect
# picks the instruction that model has:
#
#   qemu64          CLFLUSH only, no OSXSAVE  -> clflush
#   EPYC            CLFLUSHOPT, no CLWB       -> clflushopt
#   Skylake-Server  CLWB                      -> clwb
#
# Usage: scripts/qemu-x86-models.sh   (installs qemu-user-static if it is missing and we are root)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v qemu-x86_64-static >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user-static
    else
        echo "qemu-x86_64-static missing: apt-get install qemu-user-static" >&2
        exit 1
    fi
fi

# QEMU warns on stderr about model features TCG cannot emulate (AVX-512, ...): expected noise.
quiet() { grep -v "TCG doesn't support requested feature" || true; }

status=0
for pair in "qemu64 clflush" "EPYC clflushopt" "Skylake-Server clwb"; do
    set -- $pair
    model=$1 want=$2
    echo "=== -cpu $model: expect $want"
    export CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER="qemu-x86_64-static -cpu $model"
    for features in "" "--features std"; do
        # shellcheck disable=SC2086
        if ! cargo test -q $features 2> >(quiet >&2) | grep -E "^test result|FAILED|panicked"; then
            echo "tests failed under -cpu $model $features"
            status=1
        fi
    done
    # Which copy paths the copy tests exercised on this model, and how many cases.
    cargo test -q --lib mem:: -- --nocapture 2> >(quiet >&2) | grep -E "paths|cases" | sed 's/^\.*/    /'
    out=$(cargo run -q --release --example detect --features std 2> >(quiet >&2)) || status=1
    echo "$out" | sed -n '/^flush:/p;/^drain:/p;/^copies:/p;/^cross-check/p;/^ok$/p;/FAILED/p'
    if ! echo "$out" | grep -q "^flush:      $want per 64-byte line"; then
        echo "detect did not pick $want under -cpu $model"
        status=1
    fi
    if ! echo "$out" | grep -q '^ok$'; then
        echo "detect's self-check failed under -cpu $model"
        status=1
    fi
done
unset CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER
if [ $status = 0 ]; then echo "all CPU models: ok"; else echo "CPU models: FAILED"; fi
exit $status
