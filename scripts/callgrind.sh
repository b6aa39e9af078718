#!/usr/bin/env bash
# Instructions per call of every overhead-bound contender, counted by callgrind: a
# load-independent view next to the timings of scripts/bench.sh.
#
#   bash scripts/callgrind.sh [BENCH_BINARY]
#
# valgrind 3.19 (Debian 12) executes neither CLWB nor CLFLUSHOPT and its virtual CPU reports
# only CLFLUSH, so under it both libraries select CLFLUSH; the contenders that hard-code CLWB
# (the floor, the concrete type) are skipped. The counts show the work around the write-back
# instruction (call, detection word, dispatch, line walk), which is the same whichever
# instruction is selected. The copy rows show that the default and the forced non-temporal
# memcpy execute the same instructions (valgrind's CPU has AVX2, not AVX-512: both libraries
# copy with AVX there).
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${1:-}
if [ -z "$bin" ]; then
    cargo build --release -q -p pmem-flush-bench
    bin=target/release/pmem-flush-bench
fi
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

reps=10 # COUNT_REPS in bench/src/main.rs
printf '%-24s %-7s %-14s %12s\n' case size contender 'Ir per call'
while IFS='|' read -r group mode size calls; do
    valgrind --tool=callgrind --callgrind-out-file="$out/cg" \
        "$bin" count --only "$group" --mode "$mode" --size "$size" >/dev/null 2>&1
    callgrind_annotate --inclusive=yes --threshold=100 "$out/cg" 2>/dev/null |
        sed -n 's/^ *\([0-9,]*\) ([ 0-9.]*%) *[^ ]*pmem_flush_bench::\(ours_copy::\)\{0,1\}contenders::\([a-z_]*\) .*/\1 \3/p' |
        grep -vE ' (cases|[a-z]+_contenders)$' |
        while read -r ir driver; do
            ir=${ir//,/}
            printf '%-24s %-7s %-14s %12.1f\n' "${mode:0:24}" "$size" "$driver" \
                "$(echo "$ir / ($reps * $calls)" | bc -l)"
        done
done <<'EOF'
overhead|flush of a clean line|64|1000
overhead|persist of length 0|0|1000
overhead|drain alone|0|1000
persist|fresh|64|256
persist|fresh|4096|4
memcpy|default|1024|16
memcpy|non-temporal|1024|16
memset|temporal|4096|4
EOF
