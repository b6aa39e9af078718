#!/usr/bin/env bash
# x86-64 at CPL 3: under the installed QEMU's user mode (qemu-x86_64-static, Debian's 7.2) and
# natively on the host, every run recorded for EXECUTED.md (scripts/lib.sh):
#
#   1. the whole test suite, with and without `std`, under three CPU models, each exposing a
#      different rung of the x86 write-back ladder, and detect's choice there:
#        qemu64          CLFLUSH only, no OSXSAVE  -> clflush
#        EPYC            CLFLUSHOPT, no CLWB       -> clflushopt
#        Skylake-Server  CLWB                      -> clwb
#   2. detect, with and without `std`, under every 64-bit CPU model the installed
#      qemu-x86_64 knows: it must exit 0 (an instruction the model lacks would be SIGILL),
#      choose the write-back (and the eviction for invalidate) that the model's CPUID says
#      (decoded here, independently of the crate), and run no concrete write-back the model
#      lacks;
#   3. detect, with and without `std`, on the host CPU itself (AVX-512 and MOVDIR64B copies
#      execute only there: no QEMU emulates them).
#
# Usage: scripts/qemu-x86-models.sh   (installs qemu-user-static if it is missing and we are root)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

if ! command -v qemu-x86_64-static >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user-static
    else
        echo "qemu-x86_64-static missing: apt-get install qemu-user-static" >&2
        exit 1
    fi
fi
QV=$(qemu_version qemu-x86_64-static)
status=0
fail() {
    echo "FAILED: $*"
    status=1
}

# QEMU warns on stderr about model features TCG cannot emulate (AVX-512, ...): expected noise.
quiet() { grep -v "TCG doesn't support requested feature" || true; }

# What the CPUID values in detect's "registers:" line say the best write-back is, and which
# write-backs the model has: "clwb clwb clflushopt clflush" (best first, then all it has).
cpuid_says() {
    local line max edx1 ebx7=0 best="nothing" has=""
    line=$(grep -m1 '^registers:' "$1") || return 1
    max=$(sed -nE 's/.*max_leaf: ([0-9a-f]+).*/\1/p' <<<"$line")
    edx1=$(sed -nE 's/.*leaf1: \[[0-9a-f]+, [0-9a-f]+, [0-9a-f]+, ([0-9a-f]+)\].*/\1/p' <<<"$line")
    if ((16#$max >= 7)); then
        ebx7=$(sed -nE 's/.*leaf7: \[[0-9a-f]+, ([0-9a-f]+),.*/\1/p' <<<"$line")
        ebx7=$((16#$ebx7))
    fi
    edx1=$((16#$edx1))
    ((edx1 >> 19 & 1)) && has="clflush" best=clflush
    ((ebx7 >> 23 & 1)) && has="clflushopt $has" best=clflushopt
    ((ebx7 >> 24 & 1)) && has="clwb $has" best=clwb
    echo "$best $has"
}

# check_detect ID: the run chose what CPUID says and ran no write-back the model lacks. Sets
# BEST to what CPUID says.
BEST=""
check_detect() {
    local id=$1 says has insn
    BEST=""
    says=$(cpuid_says "$RUNS/$id.log") || { run_fail "$id" "no registers line"; fail "$id: no registers line"; return; }
    read -r BEST has <<<"$says"
    if ! grep -q "^flush:      $BEST per" "$RUNS/$id.log"; then
        run_fail "$id" "CPUID says $BEST, detect chose $(sed -n 's/^flush: *//p' "$RUNS/$id.log")"
        fail "$id: chose other than $BEST"
    fi
    # Invalidate evicts with CLFLUSHOPT, else CLFLUSH (never CLWB), between MFENCEs.
    local inval="mfence only"
    [[ " $has " != *" clflush "* ]] || inval="mfence, clflush per 64-byte line, mfence"
    [[ " $has " != *" clflushopt "* ]] || inval="mfence, clflushopt per 64-byte line, mfence"
    if ! grep -q "^invalidate: $inval" "$RUNS/$id.log"; then
        run_fail "$id" "CPUID says invalidate: $inval"
        fail "$id: invalidate other than $inval"
    fi
    for insn in clwb clflushopt clflush; do
        if [[ " $has " != *" $insn "* ]] && grep -q "^executed: $insn$" "$RUNS/$id.log"; then
            run_fail "$id" "$insn ran on a model without it"
            fail "$id: $insn ran on a model without it"
        fi
    done
    grep -q '^ok$' "$RUNS/$id.log" || { run_fail "$id" "self-check"; fail "$id: self-check"; }
}

# "detect" or "detect + std".
what_detect() { if [ "$1" = std ]; then echo "detect + std"; else echo detect; fi; }

echo "=== the test suite under three CPU models ($QV user mode)"
for pair in "qemu64 clflush" "EPYC clflushopt" "Skylake-Server clwb"; do
    set -- $pair
    model=$1 want=$2
    echo "--- -cpu $model: expect $want"
    export CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER="timeout 300 qemu-x86_64-static -cpu $model"
    for features in "" "--features std"; do
        fx=nostd
        [ -z "$features" ] || fx=std
        # shellcheck disable=SC2086
        run_env "user-x86_64-$model-$fx" x86_64 user "CPL 3" "$QV user" "$model" \
            "test suite${features:+ + std}" pass 0 cargo test $features ||
            fail "tests under -cpu $model $features"
        { grep -E "FAILED|panicked" "$RUNS/user-x86_64-$model-$fx.log" || true; } | quiet | sed "s/^/    /"
        echo "    $(awk '/^test result/ { b++; p += $4; f += $6 } END { printf "%d binaries: %d passed, %d failed", b, p, f }' "$RUNS/user-x86_64-$model-$fx.log")"
    done
    # Which copy paths the copy tests exercised on this model, and how many cases.
    cargo test -q --lib mem:: -- --nocapture 2> >(quiet >&2) | grep -E "paths|cases" | sed 's/^\.*/    /'
    unset CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER
done

# detect, with and without std, kept apart (both builds write target/release/examples/detect).
mkdir -p "$ROOT/target-cross/x86"
for fx in nostd std; do
    features=""
    [ $fx = nostd ] || features="--features std"
    # shellcheck disable=SC2086
    cargo build -q --release --example detect $features
    cp target/release/examples/detect "$ROOT/target-cross/x86/detect-$fx"
done

for pair in "qemu64 clflush" "EPYC clflushopt" "Skylake-Server clwb"; do
    set -- $pair
    for fx in nostd std; do
        id="detect-x86_64-$1-$fx"
        run_env "$id" x86_64 user "CPL 3" "$QV user" "$1" "$(what_detect $fx)" pass 60 \
            qemu-x86_64-static -cpu "$1" "$ROOT/target-cross/x86/detect-$fx" || fail "$id"
        check_detect "$id"
        [ "$BEST" = "$2" ] || { run_fail "$id" "expected $2"; fail "$id: expected $2, CPUID says $BEST"; }
        sed -n '/^flush:/p;/^invalidate:/p;/^copies:/p;/^cross-check/p' "$RUNS/$id.log" | sed 's/^/    /'
    done
done

echo "=== detect under every 64-bit CPU model of $QV (qemu-x86_64-static -cpu help)"
n=0
skipped=()
declare -A chose=()
for model in $(qemu-x86_64-static -cpu help | awk '$1 == "x86" { print $2 }'); do
    probe=$(timeout 20 qemu-x86_64-static -cpu "$model" /bin/true 2>&1 || true)
    if grep -q "does not support 64 bit" <<<"$probe"; then
        skipped+=("$model")
        continue
    fi
    n=$((n + 1))
    for fx in nostd std; do
        id="sweep-x86_64-$model-$fx"
        if run_env "$id" x86_64 user "CPL 3" "$QV user" "$model" "$(what_detect $fx)" pass 60 \
            qemu-x86_64-static -cpu "$model" "$ROOT/target-cross/x86/detect-$fx" >/dev/null; then
            check_detect "$id"
            chose[$BEST]="${chose[$BEST]:-} $model"
        else
            fail "$id: $(cut -f9 "$RUNS/$id.meta")"
        fi
    done
done
echo "  $n 64-bit models, each with and without std; not 64-bit (QEMU refuses them here): ${skipped[*]}"
for best in clwb clflushopt clflush nothing; do
    [ -n "${chose[$best]:-}" ] || continue
    # Each model is counted twice (with and without std); print it once.
    echo "  $best: $(tr ' ' '\n' <<<"${chose[$best]}" | awk 'NF && !seen[$0]++' | tr '\n' ' ')"
done

echo "=== detect on the host CPU (no emulator)"
host=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //; s/  */ /g')
for fx in nostd std; do
    id="host-x86_64-$fx"
    run_env "$id" x86_64 user "CPL 3" "host CPU, no emulator" "$host" "$(what_detect $fx)" pass 120 \
        "$ROOT/target-cross/x86/detect-$fx" || fail "$id"
    check_detect "$id"
    sed -n '/^flush:/p;/^copies:/p;/^cross-check/p' "$RUNS/$id.log" | sed 's/^/    /'
    echo "    executed: $(run_executed "$id")"
done

if [ $status = 0 ]; then echo "all CPU models: ok"; else echo "CPU models: FAILED"; fi
exit $status
