#!/usr/bin/env bash
# The 8-byte store promise, checked in the emitted instructions of every backend target.
#
# Copies to an 8-byte-aligned destination of a length that is a multiple of 8 store only through
# the aligned word loops of src/mem/words.rs (the unit tests count that at run time, under QEMU
# for the other architectures). This script builds the release library for each target below
# and checks, in its disassembly, that
#   1. each word loop (pmem_flush::mem::words::{copy_forward,copy_backward,fill}) is there,
#      makes at least one store of 8 bytes or more and none narrower, and calls nothing (no
#      memset / memcpy);
#   2. the rest of the library calls each of them (the copy paths reach them);
# and prints, for information, how many narrow stores the other copy functions make (the
# overlapping stores of unaligned blocks, where the promise does not apply).
#
# Uses Debian's rustc with -Zbuild-std=core, as scripts/cross.sh does (and the same target
# directory, so the libraries its build step made are reused); needs the cross binutils that
# cross.sh installs.
#
# Usage: scripts/check-store-widths.sh [TARGET...]   (no argument: every target below)
set -euo pipefail
cd "$(dirname "$0")/.."
TD=${CROSS_TARGET_DIR:-$PWD/target-cross}

dcargo() {
    RUSTC_BOOTSTRAP=1 RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc \
        CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}" /usr/bin/cargo "$@"
}

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(
    x86_64-unknown-linux-gnu
    x86_64-unknown-none
    aarch64-unknown-none
    aarch64-unknown-none-softfloat
    aarch64-unknown-linux-gnu
    riscv64gc-unknown-none-elf
    riscv64gc-unknown-linux-gnu
    powerpc64le-unknown-linux-gnu
)
words=(copy_forward copy_backward fill)

status=0
fail() {
    echo "FAILED: $*"
    status=1
}

# Per architecture: the objdump, its options, and extended regexes for a store narrower than
# 8 bytes and for one of 8 bytes or more (matched against "mnemonic operands").
arch_of() {
    case $1 in
    x86_64*)
        objdump=objdump
        opts=(-M intel)
        # A memory destination of 1, 2 or 4 bytes (reads such as cmp/test, cache-line
        # instructions and padding nops excluded).
        narrow='^(mov|movnti|movd|movss|stos[bwd]?|rep stos[bwd]?|movs[bwd]?|rep movs[bwd]?|add|sub|and|or|xor|inc|dec|not|neg|xchg|set[a-z]+|movbe|cmpxchg|xadd|pextr[bwd]|vpextr[bwd]|vmovd|vmovss)[[:space:]]+(BYTE|WORD|DWORD) PTR'
        wide='^(mov|movnti|movq|movups|movaps|movdqu|movdqa|movntdq|vmovups|vmovaps|vmovdqu(8|16|32|64)?|vmovdqa(32|64)?|vmovntdq|movdir64b)[[:space:]]+(QWORD|XMMWORD|YMMWORD|ZMMWORD)? ?PTR|^movdir64b'
        ;;
    aarch64*)
        objdump=aarch64-linux-gnu-objdump
        opts=()
        narrow='^(st[a-z]*r[a-z]*b|st[a-z]*r[a-z]*h)[[:space:]]|^(str|stur|stp|stnp|stlr|stlur|sttr|stllr|stxr|stlxr)[[:space:]]+[wbhs]([0-9]|zr)|^st1[[:space:]]+\{v[0-9]+\.[bhs]\}\['
        wide='^(str|stur|stp|stnp|stlr|stlur)[[:space:]]+[xqd]([0-9]|zr)'
        ;;
    riscv64*)
        objdump=riscv64-linux-gnu-objdump
        opts=()
        narrow='^(c\.)?(sb|sh|sw|swsp|fsw|fswsp|fsh)[[:space:]]'
        wide='^(c\.)?(sd|sdsp|fsd|fsdsp)[[:space:]]'
        ;;
    powerpc64*)
        objdump=powerpc64le-linux-gnu-objdump
        opts=()
        narrow='^(stb|stbx|stbu|stbux|sth|sthx|sthu|sthux|sthbrx|stw|stwx|stwu|stwux|stwbrx|stwcx\.|stfs|stfsx|stfsu|stfsux|stfiwx|stxsiwx|stxsihx|stxsibx|stvebx|stvehx|stvewx)[[:space:]]'
        wide='^(std|stdx|stdu|stdux|stdbrx|stxvd2x|stxvw4x|stxv|stxvx|stfd|stfdx|stfdu|stq|stxsd|stxsdx)[[:space:]]'
        ;;
    *)
        echo "no store patterns for $1" >&2
        exit 2
        ;;
    esac
}

# "function<TAB>mnemonic operands" for every instruction of the objects in $1 (demangled
# names, hashes and LLVM suffixes such as .llvm.123 dropped), and "function<TAB>@reloc NAME" for
# every relocation naming a function.
listing() {
    "$objdump" -dr -C --no-show-raw-insn "${opts[@]}" "$1"/*.o | awk '
        /^[0-9a-f]+ <.*>:$/ {
            fn = substr($0, index($0, "<") + 1); sub(/>:$/, "", fn); sub(/\.llvm\.[0-9]+$/, "", fn)
            next
        }
        fn == "" { next }
        /^$/ { fn = ""; next }
        /^[[:space:]]+[0-9a-f]+:[[:space:]]+R_/ { print fn "\t@reloc " $3; next }
        /^[[:space:]]+[0-9a-f]+:\t/ {
            i = $0; sub(/^[[:space:]]+[0-9a-f]+:\t/, "", i); gsub(/[[:space:]]+/, " ", i); print fn "\t" i
        }'
}

for t in "${targets[@]}"; do
    arch_of "$t"
    lib=$TD/lib/$t/release/libpmem_flush.rlib
    if ! RUSTFLAGS="-D warnings" dcargo build -q --release --lib -Zbuild-std=core --target "$t" \
        --target-dir "$TD/lib"; then
        fail "$t: build"
        continue
    fi
    d=$(mktemp -d)
    (cd "$d" && ar x "$lib")
    listing "$d" >"$d/listing"
    echo "== $t"
    for w in "${words[@]}"; do
        fn="pmem_flush::mem::words::$w"
        body=$(awk -F'\t' -v f="$fn" '$1 == f || index($1, f ".") == 1 { print $2 }' "$d/listing")
        if [ -z "$body" ]; then
            fail "$t: no function $fn in the library"
            continue
        fi
        n_narrow=$(grep -cE "$narrow" <<<"$body" || true)
        n_wide=$(grep -cE "$wide" <<<"$body" || true)
        calls=$(grep -E '^@reloc .*(memset|memcpy|memmove|bcopy)|^(call|bl|jal|jalr ra)[[:space:]]' <<<"$body" || true)
        callers=$(awk -F'\t' -v f="$fn" '$1 != f && index($1, f ".") != 1 && index($2, f) { n++ } END { print n + 0 }' "$d/listing")
        printf '  %-40s stores >= 8 bytes x%s, narrower x%s, references from other functions x%s\n' "$fn" "$n_wide" "$n_narrow" "$callers"
        [ "$n_narrow" = 0 ] || fail "$t: $fn stores narrower than 8 bytes: $(grep -E "$narrow" <<<"$body" | head -3 | tr '\n' ';')"
        [ "$n_wide" -gt 0 ] || fail "$t: $fn has no store of 8 bytes or more"
        [ -z "$calls" ] || fail "$t: $fn calls out: $(head -3 <<<"$calls" | tr '\n' ';')"
        [ "$callers" -gt 0 ] || fail "$t: nothing in the library calls $fn"
    done
    # For information: the narrow stores of the other copy code (unaligned blocks).
    awk -F'\t' -v re="$narrow" '$1 ~ /^pmem_flush::mem::/ && $2 ~ re { n[$1]++ }
        END { for (f in n) printf "  (narrow stores, unaligned blocks: %s x%d)\n", f, n[f] }' \
        "$d/listing" | sort
    rm -rf "$d"
done
echo
if [ $status = 0 ]; then echo "store widths: all ok"; else echo "store widths: FAILED"; fi
exit $status
