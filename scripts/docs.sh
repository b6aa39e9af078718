#!/usr/bin/env bash
# The docs as docs.rs builds them, and the checks made on rustdoc's output.
#
#   scripts/docs.sh html       for every target of [package.metadata.docs.rs]: the HTML docs
#                              with all features and --cfg docsrs, warnings denied, then a look
#                              for the availability badge on gated items of that target
#   scripts/docs.sh examples   rustdoc's JSON for every target, then scripts/api.py examples:
#                              every public function, method, type, trait and type alias has a
#                              doc example
#   scripts/docs.sh api        the same JSON, then scripts/api.py listing: the public API equals
#                              public-api.txt
#   scripts/docs.sh api --bless   rewrites public-api.txt from the JSON of every target
#
# Add --host to act on x86_64-unknown-linux-gnu alone (the lines of public-api.txt for the
# host are still compared); everything else needs Debian's rustc 1.96 with its standard
# library source (`rustc-web cargo-web rust-web-src`, installed here when run as root), since
# rustup has no standard library for the other targets on these machines.
#
# The host uses the pinned rustup toolchain with RUSTC_BOOTSTRAP=1 (docs.rs uses nightly);
# the other targets use Debian's cargo, rustc and rustdoc with -Zbuild-std (core, or std for
# the Linux targets) and share target-cross/doc.
set -euo pipefail
exec </dev/null
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"

what=${1:-}
shift || true
bless=() host_only=
for a in "$@"; do
    case $a in
    --bless) bless=(--bless) ;;
    --host) host_only=1 ;;
    *) echo "unknown argument: $a" >&2; exit 2 ;;
    esac
done
case $what in html | examples | api) ;; *) sed -n '2,20p' "$0"; exit 2 ;; esac

# The targets of [package.metadata.docs.rs], read from Cargo.toml so the two cannot drift.
mapfile -t targets < <(python3 - <<'EOF'
import re
text = open("Cargo.toml").read()
block = text.split("[package.metadata.docs.rs]", 1)[1].split("\n[", 1)[0]
print("\n".join(re.findall(r'"([a-z0-9_]+-[a-z0-9_-]+)"', block.split("targets", 1)[1])))
EOF
)
host=x86_64-unknown-linux-gnu
[ -n "$host_only" ] && targets=("$host")

if [ "${targets[*]}" != "$host" ] && ! { [ -x /usr/bin/rustdoc ] && [ -d /usr/lib/rustlib/src ]; }; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rustc-web cargo-web rust-web-src >/dev/null
    else
        echo "Debian's rustc-web, cargo-web and rust-web-src are needed (or pass --host)" >&2
        exit 1
    fi
fi

# doc TARGET RUSTDOCFLAGS: all features and --cfg docsrs, as docs.rs; prints the output dir.
doc() {
    local t=$1 flags=$2
    if [ "$t" = "$host" ]; then
        RUSTC_BOOTSTRAP=1 RUSTDOCFLAGS="--cfg docsrs $flags" \
            cargo doc -q --no-deps --all-features >&2 || return 1
        echo target/doc
    else
        local std=core
        case $t in *-linux-*) std=std ;; esac
        RUSTC_BOOTSTRAP=1 RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc \
            RUSTDOCFLAGS="--cfg docsrs $flags" /usr/bin/cargo doc -q --no-deps --all-features \
            -Zbuild-std=$std --target "$t" --target-dir target-cross/doc >&2 || return 1
        echo "target-cross/doc/$t/doc"
    fi
}

# badge FILE TEXT: the page shows "Available on ... TEXT ... only" for its item.
status=0
badge() {
    local file=$1 text=$2
    if ! [ -f "$file" ]; then
        echo "  MISSING page: $file"
        status=1
    elif grep -o 'Available on <strong>.\{0,200\}</strong> only\.' "$file" | head -1 |
        sed 's/<[^>]*>//g' | grep -qF "$text"; then
        echo "  badge '$text': ${file#*/doc/}"
    else
        echo "  NO badge '$text' on ${file#*/doc/}"
        status=1
    fi
}
absent() {
    if [ -e "$1" ]; then
        echo "  UNEXPECTED page: $1"
        status=1
    else
        echo "  absent as it should be: ${1#*/doc/}"
    fi
}

json=()
for t in "${targets[@]}"; do
    start=$SECONDS
    if [ "$what" = html ]; then
        if ! out=$(doc "$t" "-D warnings"); then
            echo "$t: FAILED: rustdoc (warnings denied)"
            status=1
            continue
        fi
        out=$out/pmem_flush
        echo "$t: documented, warnings denied ($((SECONDS - start)) s)"
        case $t in
        x86_64-*)
            badge "$out/arch/x86_64/struct.Clwb.html" x86-64
            badge "$out/arch/x86_64/fn.sfence.html" x86-64
            ;;
        aarch64-*)
            badge "$out/arch/aarch64/struct.DcCvap.html" AArch64
            badge "$out/arch/aarch64/fn.read_registers.html" AArch64
            ;;
        riscv64*)
            badge "$out/arch/riscv64/struct.CboClean.html" RISC-V
            badge "$out/arch/riscv64/fn.fence_iorw.html" RISC-V
            ;;
        powerpc64*)
            badge "$out/arch/powerpc64/struct.Dcbstps.html" PowerPC64
            badge "$out/arch/powerpc64/fn.phwsync.html" PowerPC64
            ;;
        esac
        badge "$out/fn.commit.html" target_has_atomic=64
        case $t in
        *-linux-*)
            badge "$out/fn.cross_check.html" std
            badge "$out/struct.FeatureMismatch.html" std
            badge "$out/linux/fn.granularity_of_file.html" Linux
            badge "$out/struct.Config.html" std # Config::from_env
            ;;
        *)
            absent "$out/fn.cross_check.html" # no std on targets without an OS
            ;;
        esac
    else
        if ! dir=$(doc "$t" "-Zunstable-options --output-format json"); then
            echo "$t: FAILED: rustdoc JSON"
            status=1
            continue
        fi
        echo "$t: rustdoc JSON ($((SECONDS - start)) s)"
        json+=("$dir/pmem_flush.json")
    fi
done

[ ${#json[@]} -gt 0 ] || exit $status
case $what in
examples) python3 scripts/api.py examples "${json[@]}" || status=1 ;;
api) python3 scripts/api.py listing "${bless[@]}" "${json[@]}" || status=1 ;;
esac
exit $status
