# shellcheck shell=bash
# Shared by scripts/cross.sh and scripts/qemu-x86-models.sh (sourced, not run): every emulated
# or native run goes through `run_env`, which gives it a timeout, keeps its output in
# $RUNS/<id>.log and describes it in $RUNS/<id>.meta. scripts/executed.sh builds the table of
# what executed where from those files and nothing else.
#
# Meta files hold one tab-separated line:
#   id  arch  mode  level  emulator  model  what  expect  result  seconds
# mode is user, kernel or disassembly; result starts with "ok" when the run did what was
# expected (a negative control that failed as it must is ok too).

RUNS=${PMEM_FLUSH_RUNS:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/target-cross/runs}
mkdir -p "$RUNS"

# "QEMU 10.0.2" from an emulator's --version.
qemu_version() {
    "$@" --version 2>/dev/null | sed -nE '1s/.*version ([0-9]+\.[0-9]+(\.[0-9]+)?).*/QEMU \1/p'
}

# run_env ID ARCH MODE LEVEL EMULATOR MODEL WHAT EXPECT TIMEOUT CMD...
#   EXPECT   pass, or fail:REGEX (a negative control: must exit non-zero, printing REGEX)
#   TIMEOUT  seconds for `timeout`, or 0 when CMD brings its own (cargo runners): a status 124
#            anywhere in its output then counts as a timeout
# Prints one summary line; returns 0 when the run did what was expected.
run_env() {
    local id=$1 arch=$2 mode=$3 level=$4 emulator=$5 model=$6 what=$7 expect=$8 limit=$9
    shift 9
    local log=$RUNS/$id.log rc=0 start=$SECONDS result
    # A run that stops half-way must not leave the previous run's record behind for
    # scripts/executed.sh to count.
    rm -f "$RUNS/$id.meta"
    if [ "$limit" = 0 ]; then
        "$@" >"$log" 2>&1 </dev/null || rc=$?
    else
        timeout -k 10 "$limit" "$@" >"$log" 2>&1 </dev/null || rc=$?
    fi
    # Serial consoles (OVMF) write CRs and terminal escapes.
    sed -i 's/\r//g; s/\x1b\[[0-9;=?]*[A-Za-z]//g' "$log"
    local timed_out=""
    if [ $rc = 124 ] || { [ "$limit" = 0 ] && grep -qE '(exit status|status): 124\b' "$log"; }; then
        timed_out=1
    fi
    if [ -n "$timed_out" ]; then
        if [ "$limit" = 0 ]; then
            result="TIMEOUT (an emulator run hit its runner's timeout: a hang)"
        else
            result="TIMEOUT (no end within ${limit}s: a hang)"
        fi
    elif [ "$expect" = pass ]; then
        if [ $rc = 0 ]; then result=ok; else result="FAILED (status $rc)"; fi
    else
        local want=${expect#fail:}
        if [ $rc = 0 ]; then
            result="FAILED (status 0: the negative control passed)"
        elif grep -qE "$want" "$log"; then
            result="ok: failed as it must (status $rc: $(grep -m1 -oE "$want" "$log"))"
        else
            result="FAILED (status $rc, but no '$want' in the output)"
        fi
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$id" "$arch" "$mode" "$level" \
        "$emulator" "$model" "$what" "$expect" "$result" "$((SECONDS - start))" >"$RUNS/$id.meta"
    printf '  %-48s %-40s %ss\n' "$id" "$result" "$((SECONDS - start))"
    [[ $result == ok* ]]
}

# run_fail ID MESSAGE: a check after the run failed; the run no longer counts.
run_fail() {
    local meta=$RUNS/$1.meta
    [ -e "$meta" ] || return 0
    awk -F'\t' -v OFS='\t' -v m="$2" '{ $9 = "FAILED (" m ")"; print }' "$meta" >"$meta.new"
    mv "$meta.new" "$meta"
    echo "  $1: FAILED: $2"
}

# The instructions run ID reported as executed (lines "executed: X"), separated by "; ".
run_executed() {
    grep -oE 'executed: .*$' "$RUNS/$1.log" 2>/dev/null | sed 's/^executed: //' | sort -u |
        paste -sd';' - | sed 's/;/; /g'
}
