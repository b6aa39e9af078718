#!/usr/bin/env bash
# Beyond the host: cross builds, the test suite under QEMU user mode, disassembly checks of the
# cross-built code, and bare-metal images at kernel privilege (AArch64 EL1, RISC-V M-mode,
# x86-64 CPL 0 under UEFI), each run recorded for EXECUTED.md (scripts/lib.sh, executed.sh).
#
#   builds  the library for x86_64-unknown-none (SSE off), aarch64-unknown-none (also with
#           --cfg pmem_flush_el0), aarch64-unknown-none-softfloat, riscv64gc-unknown-none-elf,
#           powerpc64le-unknown-linux-gnu and thumbv7em-none-eabihf, warnings denied; rustdoc
#           of the three backends' targets, warnings denied;
#   user    under QEMU 10 user mode (scripts/qemu-new.sh): the whole test suite with and
#           without `std` on aarch64 (-cpu max, neoverse-n1, cortex-a57: DC CVAP / DC CVADP
#           execute at EL0), powerpc64le (power10, power9, power8: phwsync executes) and
#           riscv64 (rv64 with Zicbom: cbo.clean executes); `detect --features std` on a sweep
#           of CPU models against a table of expected choices and line sizes;
#   disasm  the cross-built code holds each backend's instructions (and what no QEMU runs), and
#           the invalidation's evictions only where invalidation uses them;
#   bare    examples/aarch64-bare at EL1 under qemu-system-aarch64 10 -machine virt, five models;
#   riscv   examples/riscv-bare in M-mode under qemu-system-riscv64 10 -machine virt -bios none,
#           with Zicbom, without it, and the negative controls (Zicbom forced where absent: the
#           first cbo.clean traps; with an invalidation first, the first cbo.flush traps);
#   uefi    examples/x86_64-uefi at CPL 0 under qemu-system-x86_64 + OVMF, nine CPU models and
#           the negative control (CLWB forced on Broadwell: #UD); also built for the target with
#           SSE (examples/x86_64-uefi/x86_64-unknown-uefi-sse.json) and run on three models.
# The example crates are checked with rustfmt and clippy (warnings denied) before they are built.
#
# Uses Debian's rustc 1.96 with -Zbuild-std (rustup has no std for these targets here); see
# shared/reference/toolchain.md. Installs the Debian packages it needs when run as root; fetches
# QEMU 10 into ~/.cache/pmem-flush (scripts/qemu-new.sh) without touching the system's apt.
#
# Usage: scripts/cross.sh [builds|user|disasm|bare|riscv|uefi]...   (no argument: all, in order)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TD=$ROOT/target-cross
export CARGO_TERM_COLOR=never
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

# --- what it needs --------------------------------------------------------------------------
packages=(rustc-web cargo-web rust-web-src rust-web-clippy
    gcc-aarch64-linux-gnu libc6-dev-arm64-cross
    gcc-powerpc64le-linux-gnu libc6-dev-ppc64el-cross
    gcc-riscv64-linux-gnu libc6-dev-riscv64-cross
    qemu-user-static qemu-system-x86 ovmf)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        echo "installing: ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "missing packages: ${missing[*]} (run as root to install them)" >&2
        exit 1
    fi
fi

# Debian's cargo and rustc, never rustup's (which has no std for these targets).
dcargo() {
    RUSTC_BOOTSTRAP=1 RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc \
        CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}" /usr/bin/cargo "$@"
}
# Debian's clippy (rust-web-clippy) on Debian's cargo: rustup's proxies come first on PATH.
dclippy() {
    CARGO=/usr/bin/cargo RUSTC_BOOTSTRAP=1 RUSTC=/usr/bin/rustc \
        CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}" /usr/bin/cargo-clippy clippy "$@"
}
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_POWERPC64LE_UNKNOWN_LINUX_GNU_LINKER=powerpc64le-linux-gnu-gcc
export CARGO_TARGET_RISCV64GC_UNKNOWN_LINUX_GNU_LINKER=riscv64-linux-gnu-gcc

status=0
nfail=0
fail() {
    echo "FAILED: $*"
    status=1
    nfail=$((nfail + 1))
}
section() { printf '\n--- %s (%ss so far)\n' "$*" "$SECONDS"; }

# QEMU 10 from bookworm-backports, fetched once into the cache (scripts/qemu-new.sh).
QB=""
QV=""
qemu_new() {
    [ -n "$QB" ] && return 0
    local dir
    dir=$(bash scripts/qemu-new.sh) || {
        echo "FAILED: QEMU 10 could not be fetched (scripts/qemu-new.sh above says why)"
        exit 1
    }
    QB=$dir/bin
    QV=$(qemu_version "$QB/qemu-aarch64")
}

echo "$(/usr/bin/rustc -V); system QEMU: $(qemu_version qemu-x86_64-static)"

# Formats and lints an example crate (warnings denied) for its target, with Debian's clippy.
lint_example() {
    local dir=$1 target=$2
    shift 2
    if ! cargo fmt --manifest-path "$dir/Cargo.toml" -- --check; then
        fail "rustfmt: $dir"
    fi
    if ! (cd "$dir" && dclippy -q --release -Zbuild-std=core \
        -Zbuild-std-features=compiler-builtins-mem -Zjson-target-spec --target "$target" \
        --target-dir "$TD/${dir##*/}" "$@" -- -D warnings); then
        fail "clippy: $dir $*"
    else
        echo "  fmt and clippy (warnings denied): $dir, $target $*"
    fi
}

# --- builds ---------------------------------------------------------------------------------
builds() {
    section "builds: the library for bare-metal and cross targets, warnings denied"
    local t
    for spec in \
        "x86_64-unknown-none:" \
        "aarch64-unknown-none:" \
        "aarch64-unknown-none:--cfg pmem_flush_el0" \
        "aarch64-unknown-none-softfloat:" \
        "riscv64gc-unknown-none-elf:" \
        "powerpc64le-unknown-linux-gnu:" \
        "thumbv7em-none-eabihf:"; do
        t=${spec%%:*}
        local cfg=${spec#*:}
        local dir=$TD/lib${cfg:+-el0}
        if RUSTFLAGS="-D warnings $cfg" dcargo build -q --release --lib -Zbuild-std=core \
            --target "$t" --target-dir "$dir"; then
            case $t in
            *linux*) echo "built: $t (no features here; with std it is built and tested in the user step)" ;;
            *) echo "built: $t ${cfg:+($cfg) }(no features: std does not exist there)" ;;
            esac
        else
            fail "build $t $cfg"
        fi
    done

    section "docs for the backend targets, warnings (broken links included) denied"
    for t in aarch64-unknown-none powerpc64le-unknown-linux-gnu riscv64gc-unknown-none-elf; do
        if RUSTDOCFLAGS="-D warnings" dcargo doc -q --no-deps -Zbuild-std=core --target "$t" \
            --target-dir "$TD/doc"; then
            echo "documented: $t"
        else
            fail "docs for $t"
        fi
    done
}

# --- user: the test suite and detect under QEMU 10 user mode ----------------------------------
# The runner variable cargo reads for target $1.
runner_var() { echo "CARGO_TARGET_$(echo "$1" | tr 'a-z-' 'A-Z_')_RUNNER"; }

# suite ARCH TRIPLE EMULATOR SYSROOT RUSTFLAGS "ENV=VALUE ..." CPU...
# Builds the test suite (with and without std) once, then runs it under each CPU model with
# output captured (--nocapture: the tests' "executed:" lines are the table's evidence).
suite() {
    local arch=$1 t=$2 emu=$3 sysroot=$4 flags=$5 envs=$6
    shift 6
    local var features id cpu
    var=$(runner_var "$t")
    local out
    for features in "" "--features std"; do
        # shellcheck disable=SC2086
        if ! out=$(RUSTFLAGS="$flags" dcargo test -q -Zbuild-std --target "$t" \
            --target-dir "$TD/user" $features --no-run 2>&1); then
            echo "$out" | tail -30
            fail "build of the tests for $t $features"
            return
        fi
    done
    local kv fx
    for cpu in "$@"; do
        for features in "" "--features std"; do
            fx=nostd
            [ -z "$features" ] || fx=std
            id="user-$arch-${cpu%%,*}-$fx"
            export "$var=timeout 300 $QB/$emu -cpu $cpu -L $sysroot"
            for kv in $envs; do export "${kv?}"; done
            # shellcheck disable=SC2086
            if ! RUSTFLAGS="$flags" run_env "$id" "$arch" user EL0 "$QV user" "$cpu" \
                "test suite${features:+ + std}" pass 0 \
                dcargo test -Zbuild-std --target "$t" --target-dir "$TD/user" $features -- --nocapture; then
                tail -30 "$RUNS/$id.log"
                fail "tests on $t -cpu $cpu $features"
            fi
            for kv in $envs; do unset "${kv%%=*}"; done
            unset "$var"
            { grep -E "FAILED|panicked" "$RUNS/$id.log" || true; } | sed "s|^|    |"
            echo "    $(awk '/^test result/ { b++; p += $4; f += $6 } END { printf "%d binaries: %d passed, %d failed", b, p, f }' "$RUNS/$id.log"); executed: $(run_executed "$id")"
        done
    done
}

# detect_sweep ARCH TRIPLE EMULATOR SYSROOT RUSTFLAGS "CPU|FLUSH|DEEP|LINE"...
# Builds `detect --features std` once and runs it under each CPU model, checking the choice
# (DEEP and LINE may be "-": not checked).
detect_sweep() {
    local arch=$1 t=$2 emu=$3 sysroot=$4 flags=$5
    shift 5
    local bin=$TD/user/$t/debug/examples/detect spec cpu flush deep line id out
    if ! out=$(RUSTFLAGS="$flags" dcargo build -q -Zbuild-std --target "$t" --target-dir "$TD/user" \
        --profile test --example detect --features std 2>&1); then
        echo "$out" | tail -30
        fail "build of detect for $t"
        return
    fi
    for spec in "$@"; do
        IFS='|' read -r cpu flush deep line <<<"$spec"
        id="detect-$arch-${cpu%%,*}"
        run_env "$id" "$arch" user EL0 "$QV user" "$cpu" "detect + std" pass 60 \
            "$QB/$emu" -cpu "$cpu" -L "$sysroot" "$bin" || fail "detect on $t -cpu $cpu"
        out=$(cat "$RUNS/$id.log")
        if [ "$line" = - ]; then
            grep -q "^flush:      $flush" <<<"$out"
        else
            grep -q "^flush:      $flush per $line-byte line" <<<"$out"
        fi || { run_fail "$id" "expected flush: $flush per $line-byte line"; fail "$id: flush"; }
        [ "$deep" = - ] || grep -q "^deep flush: $deep per $line-byte line" <<<"$out" ||
            { run_fail "$id" "expected deep flush: $deep per $line-byte line"; fail "$id: deep flush"; }
        grep -q '^ok$' <<<"$out" || { run_fail "$id" "self-check"; fail "$id: self-check"; }
        # What invalidate executes: the eviction of this architecture between its fences (none
        # on RISC-V, where the sweep passes no Zicbom facts).
        local inval
        case $arch in
        aarch64) inval="dsb sy, dc civac per $line-byte line, dsb sy" ;;
        powerpc64) inval="phwsync, dcbf per $line-byte line, phwsync" ;;
        *) inval="fence iorw,iorw only, NOTHING IS EVICTED" ;;
        esac
        grep -q "^invalidate: $inval" <<<"$out" ||
            { run_fail "$id" "expected invalidate: $inval"; fail "$id: invalidate"; }
        echo "    -cpu $cpu: $(grep -E '^flush:' <<<"$out" | tr -s ' ' | cut -c1-40); $(grep -E '^deep flush:' <<<"$out" | cut -d, -f1); executed: $(run_executed "$id")"
    done
}

user() {
    qemu_new
    section "QEMU user mode ($QV): aarch64"
    suite aarch64 aarch64-unknown-linux-gnu qemu-aarch64 /usr/aarch64-linux-gnu "" "" \
        max neoverse-n1 cortex-a57
    # CPU model : flush : deep flush : line size (bytes), for detect --features std.
    detect_sweep aarch64 aarch64-unknown-linux-gnu qemu-aarch64 /usr/aarch64-linux-gnu "" \
        "cortex-a53|dc cvac|dc cvac|64" "cortex-a57|dc cvac|dc cvac|64" \
        "cortex-a72|dc cvac|dc cvac|64" "cortex-a55|dc cvap|dc cvap|64" \
        "cortex-a76|dc cvap|dc cvap|64" "neoverse-n1|dc cvap|dc cvap|64" \
        "cortex-a710|dc cvap|dc cvadp|64" "neoverse-n2|dc cvap|dc cvadp|64" \
        "neoverse-v1|dc cvap|dc cvadp|64" "a64fx|dc cvap|dc cvap|256" "max|dc cvap|dc cvadp|32"

    # No QEMU executes dcbstps (dcbf L=6): the emulator build swaps it for plain dcbf; phwsync
    # is the real encoding.
    section "QEMU user mode ($QV): powerpc64le, built with --cfg pmem_flush_pre_isa31_encodings"
    local ppcflags="--cfg pmem_flush_pre_isa31_encodings"
    suite powerpc64 powerpc64le-unknown-linux-gnu qemu-ppc64le /usr/powerpc64le-linux-gnu \
        "$ppcflags" "" power10 power9 power8
    detect_sweep powerpc64 powerpc64le-unknown-linux-gnu qemu-ppc64le /usr/powerpc64le-linux-gnu \
        "$ppcflags" "power10|dcbstps|dcbstps|128" "power9|dcbstps|dcbstps|128" \
        "power8|dcbstps|dcbstps|128"

    # Zicbom in user mode: QEMU 10.0 enables cbo.clean for U-mode with zicbom=true (10.0.13
    # and 11.x do not: see shared/reference/toolchain.md). The suite learns the block size from
    # the runner, as a program would from riscv_hwprobe.
    section "QEMU user mode ($QV): riscv64gc with Zicbom"
    suite riscv64 riscv64gc-unknown-linux-gnu qemu-riscv64 /usr/riscv64-linux-gnu "" \
        "PMEM_FLUSH_TEST_CBOM_BLOCK_SIZE=64" "rv64,zicbom=true"
    detect_sweep riscv64 riscv64gc-unknown-linux-gnu qemu-riscv64 /usr/riscv64-linux-gnu "" \
        "rv64,zicbom=true|nothing|-|-"
}

# --- disassembly -------------------------------------------------------------------------------
# The body of function $2 in the disassembly $1 (objdump -d output).
body() {
    awk -v f="<$2>:" '$2 == f { on = 1; next } on && /^$/ { exit } on { print }' "$1"
}

# Checks that function $3 of $2 (disassembled with objdump $1) holds every pattern after $4...
expect_in() {
    local dump=$1 name=$2 fn=$3
    shift 3
    local text
    text=$(body "$dump" "$fn")
    if [ -z "$text" ]; then
        fail "$name: no function $fn"
        return
    fi
    for pat in "$@"; do
        if [[ $pat == !* ]]; then
            if grep -qE "${pat#!}" <<<"$text"; then fail "$name: $fn has ${pat#!}"; fi
        elif ! grep -qE "$pat" <<<"$text"; then
            fail "$name: $fn lacks $pat"
        fi
    done
    if grep -qE '\s(bl|call|jal)\s' <<<"$text"; then
        fail "$name: $fn calls out: $(grep -E '\s(bl|call|jal)\s' <<<"$text" | head -3)"
    fi
    echo "  $name $fn: $(grep -oE "$(printf '%s|' "$@" | sed 's/![^|]*|//g; s/|$//')" <<<"$text" | sort | uniq -c | tr -s ' \n' ' ')"
}

# The test binary `arch` built for target $1 in $2.
arch_test_binary() {
    ls -t "$2/$1/debug/deps/"arch-* 2>/dev/null | grep -v '\.d$' | head -1
}

# Each architecture's check, run through run_env (its output is the run's log); it prints
# "checked: <instruction>" for what it found, and returns non-zero when a check failed.
disasm_aarch64() {
    local before=$nfail d bin
    d=$(mktemp -d)
    bin=$(arch_test_binary aarch64-unknown-linux-gnu "$TD/user")
    [ -n "$bin" ] || { fail "no aarch64 test binary (run the user step first)"; return 1; }
    aarch64-linux-gnu-objdump -d --no-show-raw-insn "$bin" >"$d/a64"
    expect_in "$d/a64" aarch64 probe_dc_cvac 'dc\s+cvac' '!dc\s+cvap' '!dsb' && echo "checked: dc cvac"
    expect_in "$d/a64" aarch64 probe_dc_cvap 'dc\s+cvap' '!dc\s+cvac' '!dsb' && echo "checked: dc cvap"
    expect_in "$d/a64" aarch64 probe_dc_cvadp 'dc\s+cvadp' '!dc\s+cvap,' '!dsb' && echo "checked: dc cvadp"
    expect_in "$d/a64" aarch64 probe_dc_civac 'dc\s+civac' '!dc\s+cva' '!dsb' && echo "checked: dc civac"
    expect_in "$d/a64" aarch64 probe_dsb 'dsb\s+sy' && echo "checked: dsb sy"
    expect_in "$d/a64" aarch64 probe_free_drain 'dsb\s+sy'
    expect_in "$d/a64" aarch64 probe_flusher 'dc\s+cvac' 'dc\s+cvap,' 'dc\s+cvadp' '!dc\s+civac'
    # An invalidation evicts with DC CIVAC between DSB SYs, and never merely cleans.
    expect_in "$d/a64" aarch64 probe_flusher_invalidate 'dc\s+civac' 'dsb\s+sy' '!dc\s+cva'
    rm -rf "$d"
    [ "$nfail" = "$before" ]
}

disasm_x86_64() {
    local before=$nfail d kx n_vec n_movnti
    d=$(mktemp -d)
    # The kernel target (SSE off): no vector register anywhere in the library, and the copies
    # it has are the general-purpose ones (MOVNTI, MOVDIR64B).
    kx=$(mktemp -d)
    (cd "$kx" && ar x "$TD/lib/x86_64-unknown-none/release/libpmem_flush.rlib")
    objdump -d --no-show-raw-insn -M intel "$kx"/*.o >"$d/x86-none"
    rm -rf "$kx"
    n_vec=$(grep -cE '[xyz]mm[0-9]' "$d/x86-none" || true)
    n_movnti=$(grep -cE '\smovnti\s' "$d/x86-none" || true)
    echo "  x86_64-unknown-none library: instructions naming xmm/ymm/zmm x$n_vec, movnti x$n_movnti"
    if [ "$n_vec" = 0 ] && [ "$n_movnti" -gt 0 ]; then
        echo "checked: movnti"
    else
        fail "x86_64-unknown-none: vector registers or no MOVNTI copy path"
    fi
    # The host library (SSE on): every write-back and every copy path, including those no
    # QEMU executes (AVX-512F, MOVDIR64B); tests/disasm.rs checks them function by function.
    if cargo build -q --release --lib --target-dir "$TD/host"; then
        kx=$(mktemp -d)
        (cd "$kx" && ar x "$TD/host/release/libpmem_flush.rlib")
        objdump -d --no-show-raw-insn -M intel "$kx"/*.o >"$d/x86-host"
        rm -rf "$kx"
        local spec pat marker n
        for spec in 'clwb\s:clwb' 'clflushopt\s:clflushopt' 'clflush\s:clflush' 'sfence:sfence' 'mfence:mfence' \
            'movnti\s:movnti' 'movntdq\s+XMMWORD:movntdq' 'vmovntdq\s+YMMWORD:vmovntdq ymm' \
            'vmovntdq\s+ZMMWORD:vmovntdq zmm' 'movdir64b\s:movdir64b'; do
            pat=${spec%%:*} marker=${spec#*:}
            n=$(grep -cE "\s$pat" "$d/x86-host" || true)
            echo "  x86_64 host library: $marker x$n"
            if [ "$n" -gt 0 ]; then echo "checked: $marker"; else fail "x86_64 host library lacks $marker"; fi
        done
    else
        fail "host build for the disassembly"
    fi
    rm -rf "$d"
    [ "$nfail" = "$before" ]
}

disasm_powerpc64() {
    local before=$nfail d rl bin n_dcbstps n_phwsync n_other
    d=$(mktemp -d)
    # The shipped encodings in the library built in the builds step ...
    rl=$(mktemp -d)
    (cd "$rl" && ar x "$TD/lib/powerpc64le-unknown-linux-gnu/release/libpmem_flush.rlib")
    powerpc64le-linux-gnu-objdump -d -C "$rl"/*.o >"$d/ppc-lib"
    rm -rf "$rl"
    n_dcbstps=$(grep -cE '7c c0 .. ac|ac .. c0 7c' "$d/ppc-lib" || true)
    n_phwsync=$(grep -cE 'ac 04 80 7c\s+phwsync' "$d/ppc-lib" || true)
    # Plain dcbf (L=0, 0x7c0000ac | RB << 11) is invalidation's eviction, little-endian bytes
    # "ac .. 00 7c".
    n_dcbf=$(grep -cE 'ac .. 00 7c\s+dcbf\s' "$d/ppc-lib" || true)
    n_other=$(grep -cE '\s(hwsync|sync|lwsync)\s' "$d/ppc-lib" || true)
    echo "  powerpc64le library: dcbstps (dcbf L=6, 0x7cc0..ac) x$n_dcbstps, phwsync (0x7c8004ac) x$n_phwsync, dcbf (L=0, 0x7c00..ac) x$n_dcbf, other sync forms x$n_other"
    if [ "$n_dcbstps" -gt 0 ] && [ "$n_phwsync" -gt 0 ] && [ "$n_dcbf" -gt 0 ] && [ "$n_other" = 0 ]; then
        grep -E 'dcbstps' "$d/ppc-lib" | head -1 | sed 's/^/    /'
        grep -E '\sdcbf\s' "$d/ppc-lib" | head -1 | sed 's/^/    /'
        echo "checked: dcbstps"
        echo "checked: phwsync"
    else
        fail "powerpc64le library encodings"
    fi
    # Plain dcbf (which on POWER10 stops short of the persistence domain) only in invalidation
    # code: never on a flush path.
    local with_dcbf
    with_dcbf=$(awk '/^[0-9a-f]+ <.*>:$/ { name = $0; next } /[ \t]dcbf[ \t]/ { print name }' "$d/ppc-lib" | sort -u)
    echo "  functions with plain dcbf:"
    sed 's/^/    /' <<<"$with_dcbf"
    if [ -n "$with_dcbf" ] && ! grep -vqE 'invalidate|evict|fenced_lines' <<<"$with_dcbf"; then
        echo "checked: dcbf"
    else
        fail "powerpc64le library: plain dcbf outside the invalidation code"
    fi
    # ... and the emulator build's forms in the probes of the user-mode test binary: dcbf in
    # place of dcbstps, the real phwsync.
    bin=$(arch_test_binary powerpc64le-unknown-linux-gnu "$TD/user")
    [ -n "$bin" ] || { fail "no powerpc64le test binary (run the user step first)"; return 1; }
    powerpc64le-linux-gnu-objdump -d "$bin" >"$d/ppc"
    expect_in "$d/ppc" "powerpc64le (emulator build)" probe_dcbstps '\sdcbf\s' '!\sdcbstps\s'
    expect_in "$d/ppc" powerpc64le probe_dcbf 'ac .. 00 7c\s+dcbf\s' '!\sdcbstps\s' '!phwsync'
    expect_in "$d/ppc" powerpc64le probe_flusher_invalidate 'ac .. 00 7c\s+dcbf\s' 'ac 04 80 7c\s+phwsync'
    expect_in "$d/ppc" "powerpc64le (emulator build)" probe_phwsync 'ac 04 80 7c\s+phwsync' '!\s(sync|hwsync)(\s|$)'
    rm -rf "$d"
    [ "$nfail" = "$before" ]
}

disasm_riscv64() {
    local before=$nfail d bin cbo w
    d=$(mktemp -d)
    bin=$(arch_test_binary riscv64gc-unknown-linux-gnu "$TD/user")
    [ -n "$bin" ] || { fail "no riscv64 test binary (run the user step first)"; return 1; }
    # binutils 2.40 prints cbo.clean as a raw word (0x0010200f | rs1 << 15).
    riscv64-linux-gnu-objdump -d "$bin" >"$d/rv"
    cbo=""
    for w in $(body "$d/rv" probe_cbo_clean | awk 'length($2) == 8 && $2 ~ /^[0-9a-f]+$/ { print $2 }'); do
        if (((16#$w & 0xfff07fff) == 0x0010200f)); then
            cbo=$w
            break
        fi
    done
    if [ -n "$cbo" ]; then
        echo "  riscv64 probe_cbo_clean: cbo.clean as 0x$cbo (rs1 = x$(((0x$cbo >> 15) & 31)))"
        echo "checked: cbo.clean"
    else
        fail "riscv64: probe_cbo_clean lacks cbo.clean"
    fi
    # cbo.flush: 0x0020200f | rs1 << 15, in its probe and in the flusher's invalidation (with the
    # fence around it), and never a cbo.clean in either.
    local probe n_flush n_clean flush_ok=1
    for probe in probe_cbo_flush probe_flusher_invalidate; do
        n_flush=0 n_clean=0
        for w in $(body "$d/rv" "$probe" | awk 'length($2) == 8 && $2 ~ /^[0-9a-f]+$/ { print $2 }'); do
            (((16#$w & 0xfff07fff) == 0x0020200f)) && n_flush=$((n_flush + 1))
            (((16#$w & 0xfff07fff) == 0x0010200f)) && n_clean=$((n_clean + 1))
        done
        echo "  riscv64 $probe: cbo.flush x$n_flush, cbo.clean x$n_clean"
        if [ "$n_flush" = 0 ] || [ "$n_clean" != 0 ]; then
            fail "riscv64: $probe should evict with cbo.flush only"
            flush_ok=""
        fi
    done
    [ -z "$flush_ok" ] || echo "checked: cbo.flush"
    expect_in "$d/rv" riscv64 probe_flusher_invalidate '0ff0000f\s+fence'
    expect_in "$d/rv" riscv64 probe_fence '0ff0000f\s+fence' && echo "checked: fence iorw,iorw"
    expect_in "$d/rv" riscv64 probe_free_drain '0ff0000f\s+fence'
    rm -rf "$d"
    [ "$nfail" = "$before" ]
}

disasm() {
    section "disassembly of the cross-built code"
    local objdump_v a
    objdump_v="objdump, binutils $(objdump --version | sed -nE "1s/.* ([0-9.]+)$/\1/p")"
    for a in aarch64 x86_64 powerpc64 riscv64; do
        run_env "disasm-$a" "$a" disassembly code "$objdump_v" - "built code" pass 0 \
            "disasm_$a" || fail "disassembly checks for $a"
        grep -v '^checked:' "$RUNS/disasm-$a.log" | sed 's/^/  /'
    done
    # Aligned copies store 8 bytes or more: the word loops of every backend target's library.
    bash scripts/check-store-widths.sh || fail "8-byte stores of aligned copies (scripts/check-store-widths.sh)"
}

# --- bare: AArch64 at EL1 ----------------------------------------------------------------------
bare() {
    qemu_new
    section "bare-metal AArch64 example at EL1 (qemu-system-aarch64 $QV -machine virt)"
    lint_example examples/aarch64-bare aarch64-unknown-none
    local elf=$TD/aarch64-bare/aarch64-unknown-none/release/aarch64-bare
    if ! (cd examples/aarch64-bare && dcargo build -q --release -Zbuild-std=core \
        -Zbuild-std-features=compiler-builtins-mem --target aarch64-unknown-none \
        --target-dir "$TD/aarch64-bare"); then
        fail "build examples/aarch64-bare"
        return
    fi
    local dump
    dump=$(aarch64-linux-gnu-objdump -d --no-show-raw-insn "$elf")
    for insn in 'dc\s+cvac' 'dc\s+cvap,' 'dc\s+cvadp' 'dc\s+civac' 'dsb\s+sy' 'mrs\s+x[0-9]+, id_aa64isar1_el1' 'mrs\s+x[0-9]+, ctr_el0'; do
        echo "  image: $(grep -cE "$insn" <<<"$dump") x $insn"
        grep -qE "$insn" <<<"$dump" || fail "bare image lacks $insn"
    done
    local spec model flush deep id out
    for spec in "max:dc cvap:dc cvadp" "neoverse-n1:dc cvap:dc cvap" "cortex-a57:dc cvac:dc cvac" \
        "neoverse-v1:dc cvap:dc cvadp" "cortex-a710:dc cvap:dc cvadp"; do
        IFS=: read -r model flush deep <<<"$spec"
        id="el1-aarch64-$model"
        echo "=== -cpu $model: expect flush $flush, deep flush $deep"
        run_env "$id" aarch64 kernel EL1 "$QV system" "$model" "bare-metal image" pass 120 \
            "$QB/qemu-system-aarch64" -machine virt -cpu "$model" -m 128M -nographic \
            -semihosting -kernel "$elf" || fail "-cpu $model: the image failed"
        out=$(cat "$RUNS/$id.log")
        { grep -E '^(CurrentEL|ID_AA64|CTR_EL0|features:|flush:|deep flush:|invalidate:|drain:|note:|PANIC|finished)|concrete types this CPU has|FAILED' <<<"$out" || true; } | sed 's/^/  /'
        grep -q "^flush:      $flush per 64-byte line" <<<"$out" ||
            { run_fail "$id" "expected flush $flush"; fail "-cpu $model did not flush with $flush"; }
        grep -q "^deep flush: $deep per 64-byte line, then dsb sy" <<<"$out" ||
            { run_fail "$id" "expected deep flush $deep"; fail "-cpu $model did not deep-flush with $deep"; }
        grep -q "^invalidate: dsb sy, dc civac per 64-byte line, dsb sy" <<<"$out" ||
            { run_fail "$id" "expected invalidate with dc civac"; fail "-cpu $model did not invalidate with dc civac"; }
        grep -q "^executed: dc civac" <<<"$out" ||
            { run_fail "$id" "dc civac did not run"; fail "-cpu $model: dc civac did not run"; }
        grep -q "^finished: ok" <<<"$out" || fail "-cpu $model did not finish"
        echo "  executed: $(run_executed "$id")"
    done
}

# --- riscv: M-mode with Zicbom from the device tree --------------------------------------------
riscv() {
    qemu_new
    section "bare-metal RISC-V example in M-mode (qemu-system-riscv64 $QV -machine virt -bios none)"
    lint_example examples/riscv-bare riscv64gc-unknown-none-elf
    local elf=$TD/riscv-bare/riscv64gc-unknown-none-elf/release/riscv-bare
    if ! (cd examples/riscv-bare && dcargo build -q --release -Zbuild-std=core \
        -Zbuild-std-features=compiler-builtins-mem --target riscv64gc-unknown-none-elf \
        --target-dir "$TD/riscv-bare"); then
        fail "build examples/riscv-bare"
        return
    fi
    local w n=0 nf=0
    for w in $(riscv64-linux-gnu-objdump -d "$elf" | awk 'length($2) == 8 && $2 ~ /^[0-9a-f]+$/ { print $2 }'); do
        (((16#$w & 0xfff07fff) == 0x0010200f)) && n=$((n + 1))
        (((16#$w & 0xfff07fff) == 0x0020200f)) && nf=$((nf + 1))
    done
    echo "  image: $n x cbo.clean, $nf x cbo.flush"
    [ "$n" -gt 0 ] || fail "riscv image lacks cbo.clean"
    [ "$nf" -gt 0 ] || fail "riscv image lacks cbo.flush"
    # id : -cpu : -append : expectation : what
    local spec id cpu append expect what out
    for spec in \
        "m-riscv64-zicbom|rv64,zicbom=true||pass|bare-metal image" \
        "m-riscv64-no-zicbom|rv64,zicbom=false||pass|bare-metal image, no Zicbom in the device tree" \
        "m-riscv64-negative-control|rv64,zicbom=false|pmem-flush.cbom-block-size=64|fail:illegal instruction.*cbo\.clean|negative control: Zicbom forced on a hart without it" \
        "m-riscv64-negative-control-flush|rv64,zicbom=false|pmem-flush.cbom-block-size=64 pmem-flush.invalidate-first|fail:illegal instruction.*cbo\.flush|negative control: Zicbom forced on a hart without it, invalidation first"; do
        IFS='|' read -r id cpu append expect what <<<"$spec"
        echo "=== -cpu $cpu${append:+ -append $append}: expect $expect"
        run_env "$id" riscv64 kernel M-mode "$QV system" "$cpu" "$what" "$expect" 60 \
            "$QB/qemu-system-riscv64" -machine virt -cpu "$cpu" -m 128M -bios none -nographic \
            -kernel "$elf" ${append:+-append "$append"} || fail "$id"
        out=$(cat "$RUNS/$id.log")
        { grep -E '^(device tree:|command line:|flush:|invalidate:|TRAP|PANIC|finished)|FAILED' <<<"$out" || true; } | sed 's/^/  /'
        case $id in
        *-no-zicbom)
            grep -q '^flush:      nothing' <<<"$out" || { run_fail "$id" "expected no write-back"; fail "$id: chose a write-back"; }
            grep -q '^invalidate: fence iorw,iorw only, NOTHING IS EVICTED' <<<"$out" ||
                { run_fail "$id" "expected no eviction"; fail "$id: chose an eviction"; }
            ;;
        *-zicbom)
            grep -q '^executed: cbo.clean' <<<"$out" || { run_fail "$id" "cbo.clean did not run"; fail "$id: no cbo.clean"; }
            grep -q '^invalidate: fence iorw,iorw, cbo.flush per 64-byte line, fence iorw,iorw' <<<"$out" ||
                { run_fail "$id" "expected invalidate with cbo.flush"; fail "$id: invalidate"; }
            grep -q '^executed: cbo.flush' <<<"$out" || { run_fail "$id" "cbo.flush did not run"; fail "$id: no cbo.flush"; }
            ;;
        esac
        [ -z "$(run_executed "$id")" ] || echo "  executed: $(run_executed "$id")"
    done
}

# --- uefi: x86-64 at CPL 0 ---------------------------------------------------------------------
# "clwb", "clflushopt" or "clflush": what the CPUID values (CPUID.1 EDX, CPUID.7.0 EBX, hex)
# say the best write-back is, decoded here independently of the crate.
x86_best() {
    local edx1=$((16#$1)) ebx7=$((16#$2))
    if ((ebx7 >> 24 & 1)); then
        echo clwb
    elif ((ebx7 >> 23 & 1)); then
        echo clflushopt
    elif ((edx1 >> 19 & 1)); then
        echo clflush
    else
        echo nothing
    fi
}

uefi() {
    section "UEFI application at CPL 0 (qemu-system-x86_64 $(qemu_version qemu-system-x86_64) + OVMF)"
    # lld-link: rustup's rust-lld (rustup is how this project's Rust is installed), else lld.
    local lld
    lld=$(rustc --print sysroot)/lib/rustlib/x86_64-unknown-linux-gnu/bin/rust-lld
    if [ ! -x "$lld" ]; then
        command -v lld-link >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq lld >/dev/null
        lld=$(command -v lld-link || ls /usr/lib/llvm-*/bin/lld-link | head -1)
    fi
    export CARGO_TARGET_X86_64_UNKNOWN_UEFI_LINKER=$lld
    export CARGO_TARGET_X86_64_UNKNOWN_UEFI_SSE_LINKER=$lld
    lint_example examples/x86_64-uefi x86_64-unknown-uefi
    lint_example examples/x86_64-uefi x86_64-unknown-uefi --features force-clwb
    lint_example examples/x86_64-uefi ./x86_64-unknown-uefi-sse.json
    # Three builds, each into its own ESP: the stock soft-float target; the negative control;
    # the same application for the target with SSE (a target spec beside the example).
    local variant target features esp efi listing n_vec n_movntdq
    for variant in plain force-clwb sse; do
        target=x86_64-unknown-uefi features=""
        [ $variant != force-clwb ] || features="--features force-clwb"
        [ $variant != sse ] || target=./x86_64-unknown-uefi-sse.json
        esp=$TD/x86_64-uefi/esp-$variant
        # shellcheck disable=SC2086
        if ! (cd examples/x86_64-uefi && dcargo build -q --release -Zbuild-std=core \
            -Zbuild-std-features=compiler-builtins-mem -Zjson-target-spec --target "$target" \
            --target-dir "$TD/x86_64-uefi" $features); then
            fail "build examples/x86_64-uefi ($variant)"
            return
        fi
        target=${target#./}
        efi=$TD/x86_64-uefi/${target%.json}/release/x86_64-uefi.efi
        rm -rf "$esp"
        mkdir -p "$esp/EFI/BOOT"
        cp "$efi" "$esp/EFI/BOOT/BOOTX64.EFI"
        listing=$(objdump -d --no-show-raw-insn -M intel "$efi")
        echo "  $variant image: $(grep -oE '\s(clwb|clflushopt|clflush|sfence|mfence|movnti|movntdq)\s' <<<"$listing" | sort | uniq -c | tr -s ' \n' ' ')"
        # The stock UEFI target is soft-float: no vector register anywhere in the image; the
        # SSE build's copies use MOVNTDQ.
        n_vec=$(grep -cE '[xyz]mm[0-9]' <<<"$listing" || true)
        n_movntdq=$(grep -cE '\smovntdq\s' <<<"$listing" || true)
        case $variant in
        sse) [ "$n_movntdq" -gt 0 ] || fail "x86_64-uefi ($variant): no movntdq in the image" ;;
        *) [ "$n_vec" = 0 ] || fail "x86_64-uefi ($variant): $n_vec instructions name xmm/ymm/zmm" ;;
        esac
    done
    # build : model : expected flush : the concrete write-backs it has : copies that must run
    local spec variant model want has copies id out leaf1 leaf7 decoded insn expect what evict
    for spec in "plain:qemu64:clflush:clflush:movnti" "plain:Broadwell:clflush:clflush:movnti" \
        "plain:EPYC:clflushopt:clflushopt clflush:movnti" \
        "plain:Denverton:clflushopt:clflushopt clflush:movnti" \
        "plain:Skylake-Server-v2:clwb:clwb clflush:movnti" \
        "plain:Snowridge:clwb:clwb clflushopt clflush:movnti" \
        "plain:Skylake-Server:clwb:clwb clflushopt clflush:movnti" \
        "plain:Icelake-Server:clwb:clwb clflushopt clflush:movnti" \
        "plain:Cascadelake-Server:clwb:clwb clflushopt clflush:movnti" \
        "force-clwb:Broadwell:negative::" \
        "sse:qemu64:clflush:clflush:movntdq movnti" \
        "sse:Denverton:clflushopt:clflushopt clflush:movntdq movnti" \
        "sse:Skylake-Server-v2:clwb:clwb clflush:movntdq movnti"; do
        IFS=: read -r variant model want has copies <<<"$spec"
        case $variant in
        force-clwb)
            id=cpl0-x86_64-negative-control
            expect="fail:#UD \(invalid opcode\)"
            what="negative control: CLWB forced on a CPU without it"
            ;;
        sse)
            id=cpl0-x86_64-sse-$model
            expect=pass
            what="UEFI application, target with SSE"
            ;;
        *)
            id=cpl0-x86_64-$model
            expect=pass
            what="UEFI application"
            ;;
        esac
        echo "=== $variant build, -cpu $model: expect ${want/negative/#UD reported as a failure}"
        # isa-debug-exit: status 2v+1; the application writes 0x10 when every check passed.
        run_env "$id" x86_64 kernel "CPL 0" "$(qemu_version qemu-system-x86_64) system + OVMF" "$model" \
            "$what" "$expect" 180 bash -c '"$@"; s=$?; [ $s = 33 ] && exit 0; exit $s' _ \
            qemu-system-x86_64 -nodefaults -machine q35 -cpu "$model" -m 256M \
            -bios /usr/share/ovmf/OVMF.fd -drive "format=raw,file=fat:rw:$TD/x86_64-uefi/esp-$variant" \
            -display none -serial stdio -device isa-debug-exit,iobase=0xf4,iosize=0x04 ||
            fail "$id"
        out=$(grep -v "TCG doesn't support" "$RUNS/$id.log" || true)
        { grep -E '^(CPL|CPUID|features:|flush:|invalidate:|negative|EXCEPTION|PANIC|finished)|FAILED' <<<"$out" || true; } | sed 's/^/  /'
        [ "$want" = negative ] && continue
        leaf1=$(sed -nE 's/^CPUID\.1: +\[([0-9a-f]+), ([0-9a-f]+), ([0-9a-f]+), ([0-9a-f]+)\]/\4/p' <<<"$out")
        leaf7=$(sed -nE 's/^CPUID\.7\.0: +\[([0-9a-f]+), ([0-9a-f]+), ([0-9a-f]+), ([0-9a-f]+)\]/\2/p' <<<"$out")
        decoded=$(x86_best "${leaf1:-0}" "${leaf7:-0}")
        [ "$decoded" = "$want" ] ||
            { run_fail "$id" "CPUID says $decoded, the table $want"; fail "$id: CPUID says $decoded"; }
        grep -q "^flush:      $want per 64-byte line" <<<"$out" ||
            { run_fail "$id" "expected flush $want"; fail "$id: did not flush with $want"; }
        # The eviction CPUID says (CLFLUSHOPT, else CLFLUSH; never CLWB), between MFENCEs.
        evict=clflush
        ((16#${leaf7:-0} >> 23 & 1)) && evict=clflushopt
        grep -q "^invalidate: mfence, $evict per 64-byte line, mfence" <<<"$out" ||
            { run_fail "$id" "expected invalidate with $evict"; fail "$id: did not invalidate with $evict"; }
        grep -q "^CPL 0" <<<"$out" || { run_fail "$id" "not at CPL 0"; fail "$id: CPL"; }
        for insn in $has $copies mfence; do
            grep -q "^executed: $insn$" <<<"$out" ||
                { run_fail "$id" "$insn did not run"; fail "$id: $insn did not run"; }
        done
        for insn in clwb clflushopt clflush; do
            if [[ " $has " != *" $insn "* ]] && grep -q "^executed: $insn$" <<<"$out"; then
                run_fail "$id" "$insn ran on a model without it"
                fail "$id: $insn ran on a model without it"
            fi
        done
        echo "  executed: $(run_executed "$id")"
    done
}

steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(builds user disasm bare riscv uefi)
for s in "${steps[@]}"; do
    case $s in
    builds | user | disasm | bare | riscv | uefi)
        t0=$SECONDS
        "$s"
        printf 'step %s: %ss\n' "$s" "$((SECONDS - t0))"
        ;;
    *)
        echo "unknown step $s" >&2
        exit 2
        ;;
    esac
done
echo
if [ $status = 0 ]; then echo "cross: all ok (${SECONDS}s)"; else echo "cross: FAILED (${SECONDS}s)"; fi
exit $status
