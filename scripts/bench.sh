#!/usr/bin/env bash
# pmem-flush side by side with libpmem and the hardware floor: the one command.
#
#   bash scripts/bench.sh            full run (a few minutes): rewrites this CPU's results,
#                                    bench/results/<vendor>-<family>-<model>/ (from
#                                    /proc/cpuinfo, e.g. GenuineIntel-6-167), and BENCHMARKS.md,
#                                    which shows every CPU under bench/results/ side by side
#   bash scripts/bench.sh --quick    smoke test (seconds): writes target/bench-quick/ only
#
# Extra arguments go to the benchmark (e.g. --only persist). Environment:
#   BENCH_CPU=N        the CPU to pin to (default: the last one; BENCH_CPU=none to not pin)
#   BENCH_FEATURES=... features of the benchmark crate (ours-copy: our memcpy/memset, issue 4)
#   BENCH_OUT=DIR      the results root: the CSV and the plots go to DIR/<cpu>/
set -euo pipefail
cd "$(dirname "$0")/.."

quick=false
for a in "$@"; do
    [ "$a" = --quick ] && quick=true
done

# libpmem: the C library we compare with (headers and the -lpmem link name).
if [ ! -e /usr/include/libpmem.h ] || ! ldconfig -p 2>/dev/null | grep -q 'libpmem\.so\b'; then
    if [ "$(id -u)" = 0 ]; then
        echo "installing libpmem-dev" >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpmem-dev >/dev/null
    else
        echo "libpmem-dev is missing: run as root, or: sudo apt-get install libpmem-dev" >&2
        exit 1
    fi
fi

# libpmem reads these when it is loaded; the comparison is against its defaults.
for v in $(env | sed -n 's/^\(PMEM_[A-Z0-9_]*\)=.*/\1/p'); do
    echo "unsetting $v (libpmem is measured with its defaults)" >&2
    unset "$v"
done

features=()
[ -n "${BENCH_FEATURES:-}" ] && features=(--features "$BENCH_FEATURES")
cargo build --release -q -p pmem-flush-bench "${features[@]}"
bin=${CARGO_TARGET_DIR:-target}/release/pmem-flush-bench

if $quick; then
    out=${BENCH_OUT:-target/bench-quick}
    markdown=$out/BENCHMARKS.md
else
    out=${BENCH_OUT:-bench/results}
    markdown=BENCHMARKS.md
fi

pin=()
cpu=${BENCH_CPU:-$(($(nproc) - 1))}
if [ "$cpu" != none ] && command -v taskset >/dev/null; then
    pin=(taskset -c "$cpu")
fi

"${pin[@]}" "$bin" run --out "$out" --markdown "$markdown" "$@"
