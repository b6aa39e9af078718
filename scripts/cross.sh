#!/usr/bin/env bash
# Beyond the host: cross builds, the test suite under QEMU user mode, disassembly checks of the
# cross-built code, and the bare-metal AArch64 example at EL1 under QEMU system mode.
#
#   1. build the library for x86_64-unknown-none (SSE off), aarch64-unknown-none (also with
#      --cfg pmem_flush_el0), aarch64-unknown-none-softfloat, riscv64gc-unknown-none-elf,
#      powerpc64le-unknown-linux-gnu and thumbv7em-none-eabihf, warnings denied; document the
#      three backends' targets with rustdoc warnings denied;
#   2. run the whole test suite (with and without `std`) and the detect example under
#      qemu-user for aarch64 (-cpu cortex-a57), powerpc64le (-cpu power10) and riscv64gc;
#   3. disassemble what was built and check each backend's instructions;
#   4. build examples/aarch64-bare and run it under qemu-system-aarch64 -machine virt with
#      -cpu max, neoverse-n1 and cortex-a57, checking what it selected and that it finished.
#
# Uses Debian's rustc 1.96 with -Zbuild-std (rustup has no std for these targets here); see
# shared/reference/toolchain.md. Installs the Debian packages it needs when run as root.
#
# Usage: scripts/cross.sh [builds|user|disasm|bare]...   (no argument: all four, in order)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TD=$ROOT/target-cross
export CARGO_TERM_COLOR=never

# --- what it needs --------------------------------------------------------------------------
packages=(rustc-web cargo-web rust-web-src
    gcc-aarch64-linux-gnu libc6-dev-arm64-cross
    gcc-powerpc64le-linux-gnu libc6-dev-ppc64el-cross
    gcc-riscv64-linux-gnu libc6-dev-riscv64-cross
    qemu-user-static qemu-system-arm)
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
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_POWERPC64LE_UNKNOWN_LINUX_GNU_LINKER=powerpc64le-linux-gnu-gcc
export CARGO_TARGET_RISCV64GC_UNKNOWN_LINUX_GNU_LINKER=riscv64-linux-gnu-gcc

status=0
fail() {
    echo "FAILED: $*"
    status=1
}
section() { printf '\n--- %s (%ss so far)\n' "$*" "$SECONDS"; }
echo "$(/usr/bin/rustc -V); $(qemu-system-aarch64 --version | head -1)"

# --- 1. builds ------------------------------------------------------------------------------
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

# --- 2. the test suite under QEMU user mode -------------------------------------------------
# triple | QEMU runner | extra RUSTFLAGS
user_targets=(
    "aarch64-unknown-linux-gnu|qemu-aarch64-static -cpu cortex-a57 -L /usr/aarch64-linux-gnu|"
    "powerpc64le-unknown-linux-gnu|qemu-ppc64le-static -cpu power10 -L /usr/powerpc64le-linux-gnu|--cfg pmem_flush_pre_isa31_encodings"
    "riscv64gc-unknown-linux-gnu|qemu-riscv64-static -L /usr/riscv64-linux-gnu|"
)

user() {
    local spec t runner flags var features out
    for spec in "${user_targets[@]}"; do
        IFS='|' read -r t runner flags <<<"$spec"
        section "QEMU user mode: $t, runner '$runner' ${flags:+, RUSTFLAGS '$flags'}"
        var=CARGO_TARGET_$(echo "$t" | tr 'a-z-' 'A-Z_')_RUNNER
        export "$var=timeout 600 $runner"
        for features in "" "--features std"; do
            # shellcheck disable=SC2086
            if ! out=$(RUSTFLAGS="$flags" dcargo test -Zbuild-std --target "$t" \
                --target-dir "$TD/user" $features 2>&1); then
                echo "$out" | tail -40
                fail "tests on $t $features"
            fi
            echo "$out" | grep -E "^test result|Running|FAILED|panicked" |
                sed "s|^|  [$t ${features:-no features}] |"
        done
        if out=$(RUSTFLAGS="$flags" dcargo run -q -Zbuild-std --target "$t" \
            --target-dir "$TD/user" --profile test --example detect --features std 2>&1); then
            echo "$out" | sed -n '/^features:/p;/^flush:/p;/^deep flush:/p;/^drain:/p;/^copies:/p;/^note:/p;/^cross-check/p;/^ok$/p;/FAILED/p' |
                sed "s|^|  [$t detect] |"
        else
            echo "$out" | tail -30
            fail "detect example on $t"
        fi
        unset "$var"
    done
}

# --- 3. disassembly -------------------------------------------------------------------------
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

disasm() {
    section "disassembly of the cross-built code"
    local d bin dump
    d=$(mktemp -d)
    # AArch64: probes in the user-mode test binary.
    bin=$(arch_test_binary aarch64-unknown-linux-gnu "$TD/user")
    if [ -n "$bin" ]; then
        aarch64-linux-gnu-objdump -d --no-show-raw-insn "$bin" >"$d/a64"
        expect_in "$d/a64" aarch64 probe_dc_cvac 'dc\s+cvac' '!dc\s+cvap' '!dsb'
        expect_in "$d/a64" aarch64 probe_dc_cvap 'dc\s+cvap' '!dc\s+cvac' '!dsb'
        expect_in "$d/a64" aarch64 probe_dc_cvadp 'dc\s+cvadp' '!dc\s+cvap,' '!dsb'
        expect_in "$d/a64" aarch64 probe_dsb 'dsb\s+sy'
        expect_in "$d/a64" aarch64 probe_free_drain 'dsb\s+sy'
        expect_in "$d/a64" aarch64 probe_flusher 'dc\s+cvac' 'dc\s+cvap,' 'dc\s+cvadp'
    else
        fail "no aarch64 test binary (run the user step first)"
    fi
    # x86-64 kernel target (SSE off): no vector register anywhere in the library, and the copies
    # it has are the general-purpose ones (MOVNTI, MOVDIR64B).
    local kx
    kx=$(mktemp -d)
    (cd "$kx" && ar x "$TD/lib/x86_64-unknown-none/release/libpmem_flush.rlib")
    objdump -d --no-show-raw-insn -M intel "$kx"/*.o >"$d/x86-none"
    rm -rf "$kx"
    local n_vec n_movnti
    n_vec=$(grep -cE '[xyz]mm[0-9]' "$d/x86-none" || true)
    n_movnti=$(grep -cE '\smovnti\s' "$d/x86-none" || true)
    echo "  x86_64-unknown-none library: instructions naming xmm/ymm/zmm x$n_vec, movnti x$n_movnti"
    [ "$n_vec" = 0 ] && [ "$n_movnti" -gt 0 ] || fail "x86_64-unknown-none: vector registers or no MOVNTI copy path"
    # POWER: the shipped encodings in the library built in step 1 ...
    local rl
    rl=$(mktemp -d)
    (cd "$rl" && ar x "$TD/lib/powerpc64le-unknown-linux-gnu/release/libpmem_flush.rlib")
    powerpc64le-linux-gnu-objdump -d "$rl"/*.o >"$d/ppc-lib"
    local n_dcbstps n_phwsync n_other
    n_dcbstps=$(grep -cE '7c c0 .. ac|ac .. c0 7c' "$d/ppc-lib" || true)
    n_phwsync=$(grep -cE 'ac 04 80 7c\s+phwsync' "$d/ppc-lib" || true)
    n_other=$(grep -cE '\s(dcbf|hwsync|sync|lwsync)\s' "$d/ppc-lib" || true)
    echo "  powerpc64le library: dcbstps (dcbf L=6, 0x7cc0..ac) x$n_dcbstps, phwsync (0x7c8004ac) x$n_phwsync, other dcbf/sync forms x$n_other"
    [ "$n_dcbstps" -gt 0 ] && [ "$n_phwsync" -gt 0 ] && [ "$n_other" = 0 ] ||
        fail "powerpc64le library encodings"
    grep -E 'dcbstps' "$d/ppc-lib" | head -1 | sed 's/^/    /'
    rm -rf "$rl"
    # ... and the emulator build's forms in the probes of the user-mode test binary.
    bin=$(arch_test_binary powerpc64le-unknown-linux-gnu "$TD/user")
    if [ -n "$bin" ]; then
        powerpc64le-linux-gnu-objdump -d "$bin" >"$d/ppc"
        expect_in "$d/ppc" "powerpc64le (emulator build)" probe_dcbstps '\sdcbf\s' '!\sdcbstps\s'
        expect_in "$d/ppc" "powerpc64le (emulator build)" probe_phwsync '\s(sync|hwsync)(\s|$)' '!\sphwsync'
    else
        fail "no powerpc64le test binary (run the user step first)"
    fi
    # RISC-V: binutils 2.40 prints cbo.clean as a raw word (0x0010200f | rs1 << 15).
    bin=$(arch_test_binary riscv64gc-unknown-linux-gnu "$TD/user")
    if [ -n "$bin" ]; then
        riscv64-linux-gnu-objdump -d "$bin" >"$d/rv"
        local cbo
        cbo=""
        local w
        for w in $(body "$d/rv" probe_cbo_clean | awk 'length($2) == 8 && $2 ~ /^[0-9a-f]+$/ { print $2 }'); do
            if (((16#$w & 0xfff07fff) == 0x0010200f)); then
                cbo=$w
                break
            fi
        done
        if [ -n "$cbo" ]; then
            echo "  riscv64 probe_cbo_clean: cbo.clean as 0x$cbo (rs1 = x$(((0x$cbo >> 15) & 31)))"
        else
            fail "riscv64: probe_cbo_clean lacks cbo.clean"
        fi
        expect_in "$d/rv" riscv64 probe_fence '0ff0000f\s+fence'
        expect_in "$d/rv" riscv64 probe_free_drain '0ff0000f\s+fence'
    else
        fail "no riscv64 test binary (run the user step first)"
    fi
    rm -rf "$d"
    bash scripts/check-store-widths.sh || fail "8-byte stores of aligned copies (scripts/check-store-widths.sh)"
}

# --- 4. bare metal at EL1 -------------------------------------------------------------------
bare() {
    section "bare-metal AArch64 example at EL1 (qemu-system-aarch64 -machine virt)"
    local elf=$TD/bare/aarch64-unknown-none/release/aarch64-bare
    if ! (cd examples/aarch64-bare && dcargo build -q --release -Zbuild-std=core \
        -Zbuild-std-features=compiler-builtins-mem --target aarch64-unknown-none \
        --target-dir "$TD/bare"); then
        fail "build examples/aarch64-bare"
        return
    fi
    local dump
    dump=$(aarch64-linux-gnu-objdump -d --no-show-raw-insn "$elf")
    for insn in 'dc\s+cvac' 'dc\s+cvap,' 'dc\s+cvadp' 'dsb\s+sy' 'mrs\s+x[0-9]+, id_aa64isar1_el1' 'mrs\s+x[0-9]+, ctr_el0'; do
        echo "  image: $(grep -cE "$insn" <<<"$dump") x $insn"
        grep -qE "$insn" <<<"$dump" || fail "bare image lacks $insn"
    done
    local spec model flush deep out
    for spec in "max:dc cvap:dc cvadp" "neoverse-n1:dc cvap:dc cvap" "cortex-a57:dc cvac:dc cvac"; do
        IFS=: read -r model flush deep <<<"$spec"
        echo "=== -cpu $model: expect flush $flush, deep flush $deep"
        out=$(timeout 60 qemu-system-aarch64 -machine virt -cpu "$model" -m 128M -nographic \
            -semihosting -kernel "$elf" 2>&1) || fail "-cpu $model exited with $?"
        echo "$out" | sed -n '/^CurrentEL/p;/^ID_AA64/p;/^CTR_EL0/p;/^features:/p;/^flush:/p;/^deep flush:/p;/^drain:/p;/^note:/p;/concrete types this CPU has/p;/FAILED/p;/PANIC/p;/^finished/p' | sed 's/^/  /'
        grep -q "^flush:      $flush per 64-byte line" <<<"$out" || fail "-cpu $model did not flush with $flush"
        grep -q "^deep flush: $deep per 64-byte line, then dsb sy" <<<"$out" || fail "-cpu $model did not deep-flush with $deep"
        grep -q "^finished: ok" <<<"$out" || fail "-cpu $model did not finish"
    done
}

steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(builds user disasm bare)
for s in "${steps[@]}"; do
    case $s in
    builds | user | disasm | bare) "$s" ;;
    *)
        echo "unknown step $s" >&2
        exit 2
        ;;
    esac
done
echo
if [ $status = 0 ]; then echo "cross: all ok (${SECONDS}s)"; else echo "cross: FAILED (${SECONDS}s)"; fi
exit $status
