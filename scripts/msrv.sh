#!/usr/bin/env bash
# The oldest compilers, as facts (MSRV.md). The Linux kernel's minimum Rust is 1.85, Debian 13
# (trixie)'s rustc; its binaries need glibc 2.39, so it runs in a cached trixie chroot.
#
#   check (default)  trixie's rustc 1.85 builds the library for every target of the matrix in
#                    MSRV.md (-Zbuild-std=core, warnings denied; the x86-64 host build without
#                    -Zbuild-std) and each result must be the one MSRV.md's 1.85 column records:
#                    the kernel and bare-metal targets build, the x86-64 host build (AVX-512,
#                    1.89) and powerpc64 (inline asm, 1.95) do not. Then the rustup toolchain
#                    pinned in rust-toolchain.toml, with Debian's rust-src of the same version,
#                    must build powerpc64le-unknown-linux-gnu (its oldest compiler, 1.95).
#   survey           Every compiler available here on every target: bookworm's rustc 1.63 (in a
#                    bookworm chroot), trixie's 1.85, the pinned rustup toolchain (with Debian's
#                    rust-src for the cross targets), Debian's rustc-web on the host; the host
#                    row also runs the test suite. Prints MSRV.md's generated part;
#                    `survey --write` replaces it in MSRV.md.
#
# Needs root (debootstrap, chroot, mount namespaces), Debian's archive (the mirror URI is read
# from this machine's apt sources) and crates.io; /etc/apt is never modified (the chroots have
# their own apt, the rust-src download a private APT_CONFIG). Chroots and downloads are cached
# in $PMEM_FLUSH_MSRV_CACHE (default /var/cache/pmem-flush), outside the tree, for later runs;
# delete that directory to start over. Build logs: target-msrv/logs/.
#
# Usage: scripts/msrv.sh [check | survey [--write]]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CACHE=${PMEM_FLUSH_MSRV_CACHE:-/var/cache/pmem-flush}
JOBS=${CARGO_BUILD_JOBS:-1}
LOGS=$ROOT/target-msrv/logs
export CARGO_TERM_COLOR=never LC_ALL=C

mode=${1:-check}
write=${2:-}
case $mode in
check | survey) ;;
*)
    echo "usage: $0 [check | survey [--write]]" >&2
    exit 2
    ;;
esac

# --- output and timing ------------------------------------------------------------------------
T_STEP=$SECONDS
step() {
    printf '\n--- %s (previous step %ss, %ss so far)\n' "$*" "$((SECONDS - T_STEP))" "$SECONDS"
    T_STEP=$SECONDS
}
die() {
    echo "msrv: ERROR: $*" >&2
    exit 1
}

# --- targets ------------------------------------------------------------------------------------
# id (MSRV.md's row) | triple | rustc flags for this crate only | kind: "host" (library, then the test suite in
# the survey; no -Zbuild-std) or "lib" (library with -Zbuild-std=core)
targets=(
    "x86_64-unknown-linux-gnu|x86_64-unknown-linux-gnu||host"
    "x86_64-unknown-none|x86_64-unknown-none||lib"
    "aarch64-unknown-none|aarch64-unknown-none||lib"
    "aarch64-unknown-none, --cfg pmem_flush_el0|aarch64-unknown-none|--cfg pmem_flush_el0|lib"
    "aarch64-unknown-none-softfloat|aarch64-unknown-none-softfloat||lib"
    "riscv64gc-unknown-none-elf|riscv64gc-unknown-none-elf||lib"
    "powerpc64le-unknown-linux-gnu|powerpc64le-unknown-linux-gnu||lib"
    "thumbv7em-none-eabihf|thumbv7em-none-eabihf||lib"
)

# --- the machine's Debian mirror, from its own apt sources --------------------------------------
# The URI of the entry that carries this machine's release itself (not -security, -updates).
mirror() {
    local codename uri
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    [ -n "$codename" ] || die "no VERSION_CODENAME in /etc/os-release: is this Debian?"
    # deb822 (.sources): a stanza of Types deb whose Suites include the codename.
    uri=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk -v c="$codename" '
        BEGIN { RS = ""; FS = "\n" }
        {
            u = ""; s = 0; t = 0
            for (i = 1; i <= NF; i++) {
                if ($i ~ /^URIs:/) { split($i, a, /[ \t]+/); u = a[2] }
                if ($i ~ /^Suites:/) { n = split($i, a, /[ \t]+/); for (j = 2; j <= n; j++) if (a[j] == c) s = 1 }
                if ($i ~ /^Types:/ && $i ~ /[ \t]deb([ \t]|$)/) t = 1
                if ($i ~ /^Enabled:[ \t]*no/) t = 0
            }
            if (u != "" && s && t) { print u; exit }
        }')
    # One-line format (sources.list): "deb [options] URI suite components".
    if [ -z "$uri" ]; then
        uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
            sed 's/\[[^]]*\]//' | awk -v c="$codename" '$1 == "deb" && $3 == c { print $2; exit }')
    fi
    [ -n "$uri" ] || die "no apt source for '$codename' in /etc/apt/sources.list{,.d/}: cannot tell which Debian mirror to use"
    echo "${uri%/}"
}

# Fails clearly unless suite $2's release file is reachable at mirror $1.
reachable() {
    timeout 30 curl -fsS -o /dev/null "$1/dists/$2/InRelease" ||
        die "Debian's archive is unreachable: $1/dists/$2/InRelease (mirror read from /etc/apt) could not be fetched"
}

# --- host tools and locking ---------------------------------------------------------------------
setup() {
    [ "$(id -u)" = 0 ] || die "run as root: debootstrap, chroot and mount namespaces need it"
    mkdir -p "$CACHE" "$LOGS"
    exec 9>"$CACHE/lock"
    flock -w 3600 9 || die "another msrv.sh has held $CACHE/lock for an hour"
    local missing=()
    command -v debootstrap >/dev/null || missing+=(debootstrap)
    command -v curl >/dev/null || missing+=(curl)
    [ -e /usr/share/keyrings/debian-archive-keyring.gpg ] || missing+=(debian-archive-keyring)
    if [ ${#missing[@]} -gt 0 ]; then
        echo "installing on the host: ${missing[*]}"
        timeout 600 apt-get update -qq || die "apt-get update failed: is Debian's archive reachable?"
        DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -qq "${missing[@]}" >/dev/null ||
            die "could not install ${missing[*]}"
    fi
    unshare --mount --propagation private true 2>/dev/null ||
        die "cannot create a mount namespace (unshare --mount): needs CAP_SYS_ADMIN"
}

# --- chroots ------------------------------------------------------------------------------------
# True if anything is mounted at or below directory $1.
has_mounts() {
    awk -v d="$1" '$2 == d || index($2, d "/") == 1 { found = 1 } END { exit !found }' /proc/self/mounts
}

# Removes a cache directory, refusing if something is mounted below it.
remove() {
    [ -e "$1" ] || return 0
    has_mounts "$1" && die "$1 has something mounted below it: unmount that before it can be removed"
    rm -rf --one-file-system "$1"
}

# Runs a command in chroot $1 in a private mount namespace: /proc and /dev are mounted for the
# command only and vanish with the namespace, so nothing stays mounted in the cache. The
# environment is cleared; pass variables as VAR=value arguments before the command. Killed
# after $CHROOT_TIMEOUT seconds (default 1800).
in_chroot() {
    local dir=$1
    shift
    timeout "${CHROOT_TIMEOUT:-1800}" unshare --mount --propagation private -- /bin/sh -c '
        set -e
        dir=$1; shift
        mount -t proc proc "$dir/proc"
        # A /dev of its own, never the host'"'"'s: with the host'"'"'s /dev bound in, a package script
        # that removes and rewrites /dev/null inside the chroot replaced the host'"'"'s /dev/null
        # with a regular file (seen here; everything reading /dev/null broke afterwards).
        mount -t tmpfs -o mode=0755,size=64k pmem-flush-dev "$dir/dev"
        mk() { mknod -m 0666 "$dir/dev/$1" c "$2" "$3"; }
        mk null 1 3; mk zero 1 5; mk full 1 7; mk random 1 8; mk urandom 1 9; mk tty 5 0
        ln -s /proc/self/fd "$dir/dev/fd"
        ln -s /proc/self/fd/0 "$dir/dev/stdin"
        ln -s /proc/self/fd/1 "$dir/dev/stdout"
        ln -s /proc/self/fd/2 "$dir/dev/stderr"
        mkdir -p "$dir/dev/pts" "$dir/dev/shm"
        exec chroot "$dir" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin \
            LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"' sh "$dir" "$@"
}

# Makes sure chroot $CACHE/$1 exists with Debian suite $1 and packages $2...; reuses it if a
# previous run completed it. Prints its directory.
ensure_chroot() {
    local suite=$1
    shift
    local dir=$CACHE/$suite new=$CACHE/$suite.new uri t0=$SECONDS
    if [ -e "$dir/.pmem-flush-ready" ]; then
        echo "chroot $dir: cached ($(cat "$dir/.pmem-flush-ready"))" >&2
        echo "$dir"
        return
    fi
    uri=$(mirror)
    echo "chroot $dir: creating with debootstrap from $uri ($suite), then apt-get install $*" >&2
    reachable "$uri" "$suite"
    remove "$new"
    remove "$dir"
    mkdir -p "$new"
    # debootstrap mounts /proc and /sys in the target while it runs: in a namespace of its own,
    # which also gets a /dev of its own. A fresh debootstrap here once left the host's /dev/null
    # replaced by a regular file (cause not pinned down); with a private /dev it cannot.
    timeout 900 unshare --mount --propagation private -- /bin/sh -c '
        set -e
        mount -t tmpfs -o mode=0755,size=64k pmem-flush-dev /dev
        mk() { mknod -m 0666 "/dev/$1" c "$2" "$3"; }
        mk null 1 3; mk zero 1 5; mk full 1 7; mk random 1 8; mk urandom 1 9; mk tty 5 0
        ln -s /proc/self/fd /dev/fd
        exec debootstrap "$@"' sh --variant=minbase \
        --keyring=/usr/share/keyrings/debian-archive-keyring.gpg "$suite" "$new" "$uri" \
        >"$LOGS/debootstrap-$suite.log" 2>&1 || {
        tail -20 "$LOGS/debootstrap-$suite.log" >&2
        die "debootstrap $suite from $uri failed (log: $LOGS/debootstrap-$suite.log)"
    }
    echo "  debootstrap: $((SECONDS - t0))s" >&2
    t0=$SECONDS
    cp /etc/resolv.conf "$new/etc/resolv.conf"
    CHROOT_TIMEOUT=300 in_chroot "$new" apt-get update -qq >&2 ||
        die "apt-get update in the $suite chroot failed"
    CHROOT_TIMEOUT=1200 in_chroot "$new" apt-get install -y -qq --no-install-recommends "$@" \
        >"$LOGS/apt-$suite.log" 2>&1 || {
        tail -20 "$LOGS/apt-$suite.log" >&2
        die "apt-get install $* in the $suite chroot failed"
    }
    in_chroot "$new" apt-get clean
    echo "  apt-get install: $((SECONDS - t0))s" >&2
    in_chroot "$new" rustc -V >"$new/.pmem-flush-ready"
    mv "$new" "$dir"
    echo "$dir"
}

# Copies the crate (tracked files and untracked ones git does not ignore, as they are in the
# working tree) to chroot $1's /build/src; /build/target stays between runs. The copies get the
# current time as their modification time (tar -m): cargo decides freshness by mtime, and
# another checkout may hold other contents with older times.
copy_source() {
    local dir=$1
    remove "$dir/build/src"
    mkdir -p "$dir/build/src" "$dir/build/target"
    if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        (cd "$ROOT" && git ls-files -z --cached --others --exclude-standard |
            while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
            tar --null -T - -cf -) | tar -C "$dir/build/src" -xmf -
    else
        tar -C "$ROOT" --exclude='./target*' -cf - . | tar -C "$dir/build/src" -xmf -
    fi
    # The host's CA bundle and resolver, so that the chroot's cargo reaches crates.io.
    mkdir -p "$dir/etc/ssl/certs"
    cp /etc/ssl/certs/ca-certificates.crt "$dir/etc/ssl/certs/ca-certificates.crt"
    cp /etc/resolv.conf "$dir/etc/resolv.conf"
}

# --- the pinned rustup toolchain with Debian's rust-src of the same version ---------------------
# rustup cannot download rust-src here; Debian's archive has rust-src for some versions
# (trixie-backports keeps several). Builds $CACHE/rustup-<version>-src: the toolchain
# hard-linked (copied if the cache is on another file system) plus lib/rustlib/src/rust from
# Debian's package, fetched with a private APT_CONFIG. Prints the sysroot, or nothing if Debian
# has no rust-src of that version.
ensure_src_sysroot() {
    local toolchain=$1 sysroot version dir uri conf pkgver
    sysroot=$(rustup run "$toolchain" rustc --print sysroot 2>/dev/null) || {
        echo "rustup has no toolchain $toolchain" >&2
        return 0
    }
    version=$("$sysroot/bin/rustc" -V | awk '{ print $2 }')
    dir=$CACHE/rustup-$version-src
    if [ -e "$dir/.pmem-flush-ready" ]; then
        echo "rustc $version with Debian's rust-src: cached ($dir)" >&2
        echo "$dir/sysroot"
        return
    fi
    uri=$(mirror)
    reachable "$uri" trixie-backports
    remove "$dir"
    mkdir -p "$dir/apt/lists/partial" "$dir/apt/cache/archives/partial" "$dir/apt/sources.list.d" \
        "$dir/apt/preferences.d" "$dir/deb"
    printf 'Types: deb\nURIs: %s\nSuites: trixie trixie-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
        "$uri" >"$dir/apt/sources.list.d/debian.sources"
    conf=$dir/apt/apt.conf
    cat >"$conf" <<EOF
Dir::Etc::SourceList "/dev/null";
Dir::Etc::SourceParts "$dir/apt/sources.list.d";
Dir::Etc::PreferencesParts "$dir/apt/preferences.d";
Dir::State::Lists "$dir/apt/lists";
Dir::Cache "$dir/apt/cache";
APT::Sandbox::User "root";
EOF
    APT_CONFIG=$conf timeout 300 apt-get update -qq >&2 ||
        die "apt-get update (private configuration $conf) failed"
    pkgver=$(APT_CONFIG=$conf apt-cache madison rust-src | awk -v v="$version" '$3 ~ "^" v "[+]" { print $3; exit }')
    if [ -z "$pkgver" ]; then
        echo "Debian's archive has no rust-src $version (it has: $(APT_CONFIG=$conf apt-cache madison rust-src | awk '{ printf "%s ", $3 }'))" >&2
        remove "$dir"
        return 0
    fi
    (cd "$dir/deb" && APT_CONFIG=$conf timeout 600 apt-get download -qq "rust-src=$pkgver" >&2) ||
        die "apt-get download rust-src=$pkgver failed"
    dpkg-deb -x "$dir"/deb/rust-src_*.deb "$dir/src"
    cp -al "$sysroot" "$dir/sysroot" 2>/dev/null || cp -a "$sysroot" "$dir/sysroot"
    rm -rf "$dir/sysroot/share/doc" "$dir/deb" "$dir/apt"
    mkdir -p "$dir/sysroot/lib/rustlib/src"
    ln -sfn "$(readlink -f "$dir/src/usr/lib/rustlib/src/rust")" "$dir/sysroot/lib/rustlib/src/rust"
    [ -d "$dir/sysroot/lib/rustlib/src/rust/library/core" ] || die "rust-src $pkgver: no library/core"
    echo "rustc $version, rust-src $pkgver" >"$dir/.pmem-flush-ready"
    echo "rustc $version with Debian's rust-src $pkgver: $dir" >&2
    echo "$dir/sysroot"
}

# --- one build ----------------------------------------------------------------------------------
# Builds target spec $2 with compiler $1, sets RESULT (ok | fails) and NOTE (the first error, or
# for the host in the survey the test results).
#   $1: chroot:<dir> | sysroot:<dir> (rustc and cargo in <dir>/bin) | debian-web (/usr/bin)
# $RUN_TESTS=1: the host target also runs its test suite (the result stays "ok" when the
# library and the tests build; NOTE says how many tests passed and which failed).
RESULT="" NOTE="" LOG=""
build_one() {
    local how=$1 spec=$2 id triple flags kind
    IFS='|' read -r id triple flags kind <<<"$spec"
    # Libraries: `cargo rustc` passes the spec's flags (a --cfg) to this crate only, so the
    # targets' builds of core are shared, and kept in one target directory per triple.
    local sub=$triple cmds=()
    if [ "$kind" = host ]; then
        sub=host
        cmds=("build --lib")
        [ "${RUN_TESTS:-0}" = 1 ] && cmds+=("test --no-run" "test --no-fail-fast")
    else
        cmds=("rustc --lib --release -Zbuild-std=core --target $triple")
    fi
    local c out="" all="" rc=0 args
    case $how in
    chroot:*) LOG=chroot-$(basename "${how#chroot:}") ;;
    sysroot:*) LOG=$(basename "$(dirname "${how#sysroot:}")") ;;
    *) LOG=$how ;;
    esac
    LOG=$LOGS/$LOG-$(tr -c 'a-z0-9_.\n-' '_' <<<"$id").log
    for c in "${cmds[@]}"; do
        # shellcheck disable=SC2206 # words on purpose
        args=($c --ignore-rust-version --locked)
        # shellcheck disable=SC2206
        [ -z "$flags" ] || args+=(-- $flags)
        case $how in
        chroot:*)
            out=$(in_chroot "${how#chroot:}" RUSTC_BOOTSTRAP=1 RUSTFLAGS="-D warnings" \
                CARGO_BUILD_JOBS="$JOBS" CARGO_TERM_COLOR=never \
                CARGO_HTTP_CAINFO=/etc/ssl/certs/ca-certificates.crt CARGO_TARGET_DIR="/build/target/$sub" \
                sh -c 'cd /build/src && exec cargo "$@"' sh "${args[@]}" 2>&1) || rc=$?
            ;;
        sysroot:*)
            out=$(cd "$ROOT" && RUSTC_BOOTSTRAP=1 RUSTC="${how#sysroot:}/bin/rustc" RUSTDOC="${how#sysroot:}/bin/rustdoc" \
                RUSTFLAGS="-D warnings" CARGO_BUILD_JOBS="$JOBS" CARGO_TARGET_DIR="$(dirname "${how#sysroot:}")/target/$sub" \
                timeout 1800 "${how#sysroot:}/bin/cargo" "${args[@]}" 2>&1) || rc=$?
            ;;
        debian-web)
            out=$(cd "$ROOT" && RUSTC_BOOTSTRAP=1 RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc \
                RUSTFLAGS="-D warnings" CARGO_BUILD_JOBS="$JOBS" CARGO_TARGET_DIR="$ROOT/target-msrv/debian-web/$sub" \
                timeout 1800 /usr/bin/cargo "${args[@]}" 2>&1) || rc=$?
            ;;
        esac
        all+="\$ cargo ${args[*]}"$'\n'"$out"$'\n'
        [ $rc = 0 ] || break
    done
    printf '%s\n' "$all" >"$LOG"
    if [ $rc = 0 ] || { [ "$c" = "test --no-fail-fast" ] && grep -q '^test result' <<<"$out"; }; then
        RESULT=ok NOTE=""
        if [ "$c" = "test --no-fail-fast" ]; then
            NOTE=$(awk '/^test result/ { p += $4; f += $6 } END { printf "tests: %d passed, %d failed", p, f }' <<<"$out")
            local failed
            failed=$(awk '/^failures:$/ { on = 1; next } on && /^    [a-z_:0-9]+$/ { print $1 } on && /^test result/ { on = 0 }' <<<"$out" | sort -u | tr '\n' ' ')
            [ -z "$failed" ] || NOTE+=" (${failed% })"
        fi
        return
    fi
    RESULT=fails
    # The first error; for a manifest or target-information error, the innermost cause too.
    NOTE=$(grep -m1 -E '^error' <<<"$out" || true)
    if grep -qE 'failed to (parse|load) manifest|failed to run .rustc.' <<<"$NOTE"; then
        NOTE="$NOTE: $(awk '/^Caused by:/ { c = 1; next } c && NF { l = $0 } END { print l }' <<<"$out" | sed 's/^ *//')"
    fi
    [ $rc = 124 ] && NOTE="timed out"
    [ -n "$NOTE" ] || NOTE="exit status $rc: $(tail -1 <<<"$out")"
    if grep -qiE 'failed to (download|get|query|update)|Couldn.t resolve|SSL connect|network failure' <<<"$out"; then
        NOTE="$NOTE (network: is crates.io reachable?)"
    fi
    NOTE=${NOTE//|//}
}

# --- MSRV.md ------------------------------------------------------------------------------------
# The cell of MSRV.md's matrix in row $1 and the column whose header starts with $2: ok, fails,
# "not tried", or nothing if there is no such cell.
recorded() {
    awk -v row="\`$1\`" -v col="$2" -F'|' '
        /<!-- msrv-matrix:begin -->/ { on = 1; next }
        /<!-- msrv-matrix:end -->/ { on = 0 }
        on && /^\| *target *\|/ { for (i = 2; i < NF; i++) { h = $i; gsub(/^ +| +$/, "", h); if (index(h, col) == 1) c = i } next }
        on && c {
            r = $2; gsub(/^ +| +$/, "", r)
            if (r == row) { v = $c; gsub(/^ +| +$/, "", v); sub(/ *[(:].*/, "", v); print v; exit }
        }' "$ROOT/MSRV.md"
}

# --- check: trixie's 1.85 and the pinned toolchain on powerpc64 ---------------------------------
check() {
    step "setup: root, cache $CACHE, host tools (debootstrap, curl)"
    setup

    step "trixie chroot with rustc, cargo, rust-src"
    local dir ver
    dir=$(ensure_chroot trixie rustc cargo rust-src)
    ver=$(in_chroot "$dir" rustc -V)
    echo "compiler: $ver (Debian 13 trixie, the Linux kernel's minimum)"
    ver=$(awk '{ print $2 }' <<<"$ver")

    step "copy the crate into the chroot"
    copy_source "$dir"

    local spec id status=0 want t0
    for spec in "${targets[@]}"; do
        id=${spec%%|*}
        step "rustc $ver: $id"
        t0=$SECONDS
        build_one "chroot:$dir" "$spec"
        want=$(recorded "$id" "$ver")
        echo "  $RESULT${NOTE:+: $NOTE} ($((SECONDS - t0))s); MSRV.md records: ${want:-nothing}"
        if [ "$RESULT" != "$want" ]; then
            echo "FAILED: $id with rustc $ver: $RESULT, but MSRV.md records ${want:-nothing} (log: $LOG)"
            status=1
        fi
    done

    local toolchain sysroot
    toolchain=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' "$ROOT/rust-toolchain.toml")
    step "rustup $toolchain (rust-toolchain.toml) with Debian's rust-src: powerpc64le-unknown-linux-gnu"
    sysroot=$(ensure_src_sysroot "$toolchain")
    if [ -z "$sysroot" ]; then
        echo "SKIPPED: no rust-src of rustup's $toolchain in Debian's archive, so no -Zbuild-std with it"
    else
        t0=$SECONDS
        build_one "sysroot:$sysroot" "powerpc64le-unknown-linux-gnu|powerpc64le-unknown-linux-gnu||lib"
        echo "  $RESULT${NOTE:+: $NOTE} ($((SECONDS - t0))s)"
        [ "$RESULT" = ok ] || {
            echo "FAILED: powerpc64le-unknown-linux-gnu with rustup $toolchain"
            status=1
        }
    fi

    step "done"
    # The host's /dev/null must still be the device (see ensure_chroot): fail loudly if not.
    if [ ! -c /dev/null ]; then
        echo "FAILED: /dev/null is no longer a character device after the chroot work; restoring it"
        rm -f /dev/null && mknod -m 0666 /dev/null c 1 3
        status=1
    fi
    if [ $status = 0 ]; then
        echo "msrv: all as MSRV.md records (${SECONDS}s)"
    else
        echo "msrv: FAILED (${SECONDS}s): an API or feature newer than a target's recorded oldest compiler, or MSRV.md out of date (scripts/msrv.sh survey --write)"
    fi
    return $status
}

# --- survey: every compiler available, every target ---------------------------------------------
survey() {
    step "setup: root, cache $CACHE, host tools (debootstrap, curl)"
    setup

    step "chroots: bookworm (rustc 1.63) and trixie (rustc 1.85)"
    local bookworm trixie
    bookworm=$(ensure_chroot bookworm rustc cargo rust-src)
    trixie=$(ensure_chroot trixie rustc cargo rust-src)
    copy_source "$bookworm"
    copy_source "$trixie"

    step "the pinned rustup toolchain with Debian's rust-src"
    local toolchain sysroot
    toolchain=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' "$ROOT/rust-toolchain.toml")
    sysroot=$(ensure_src_sysroot "$toolchain")

    # label | how; in ascending version order
    local compilers=(
        "$(in_chroot "$bookworm" rustc -V | awk '{print $2}') (Debian 12 rustc)|chroot:$bookworm"
        "$(in_chroot "$trixie" rustc -V | awk '{print $2}') (Debian 13 rustc)|chroot:$trixie"
    )
    [ -z "$sysroot" ] ||
        compilers+=("$("$sysroot/bin/rustc" -V | awk '{print $2}') (rustup, pinned; Debian's rust-src)|sysroot:$sysroot")
    if [ -x /usr/bin/rustc ] && [ -d "$(/usr/bin/rustc --print sysroot)/lib/rustlib/src/rust/library" ]; then
        compilers+=("$(/usr/bin/rustc -V | awk '{print $2}') (Debian 12 rustc-web)|debian-web")
    else
        echo "Debian's rustc-web with rust-web-src is not installed: its column is left out (scripts/cross.sh installs it)"
    fi

    local results=() cspec label how spec id t0
    for cspec in "${compilers[@]}"; do
        IFS='|' read -r label how <<<"$cspec"
        for spec in "${targets[@]}"; do
            id=${spec%%|*}
            step "$label: $id"
            t0=$SECONDS
            RUN_TESTS=1 build_one "$how" "$spec"
            echo "  $RESULT${NOTE:+: $NOTE} ($((SECONDS - t0))s)"
            results+=("$id|$label|$RESULT|$NOTE")
        done
    done

    step "MSRV.md's generated part"
    local md
    md=$(survey_markdown "${results[@]}")
    echo "$md"
    if [ "$write" = --write ]; then
        grep -q '<!-- msrv-survey:begin -->' "$ROOT/MSRV.md" || die "MSRV.md lacks the <!-- msrv-survey:begin --> marker"
        local tmp
        tmp=$(mktemp)
        printf '%s\n' "$md" >"$tmp.md"
        awk -v f="$tmp.md" '
            /<!-- msrv-survey:begin -->/ { print; while ((getline l < f) > 0) print l; skip = 1; next }
            /<!-- msrv-survey:end -->/ { skip = 0 }
            !skip { print }' "$ROOT/MSRV.md" >"$tmp"
        cat "$tmp" >"$ROOT/MSRV.md"
        rm -f "$tmp" "$tmp.md"
        echo "MSRV.md updated"
    fi
}

# Markdown from "id|compiler|result|note" lines (compilers in ascending version order): the
# matrix, then per target the oldest compiler that worked and the first error of the next
# older one.
survey_markdown() {
    local r id label res note l ids=() cols=() dup
    for r in "$@"; do
        IFS='|' read -r id label _ _ <<<"$r"
        dup=0
        for l in "${ids[@]+"${ids[@]}"}"; do [ "$l" = "$id" ] && dup=1; done
        [ $dup = 1 ] || ids+=("$id")
        dup=0
        for l in "${cols[@]+"${cols[@]}"}"; do [ "$l" = "$label" ] && dup=1; done
        [ $dup = 1 ] || cols+=("$label")
    done
    echo "Generated by \`scripts/msrv.sh survey --write\` on $(date -u +%Y-%m-%d), host $(. /etc/os-release && echo "$PRETTY_NAME") (glibc $(ldd --version | awk 'NR == 1 { print $NF }')), \`-Zbuild-std=core\` and \`--release\` for every target but the host, warnings denied; the host row also runs \`cargo test\`."
    echo
    echo "<!-- msrv-matrix:begin -->"
    local head="| target |" sep="| --- |" line
    for l in "${cols[@]}"; do
        head+=" $l |"
        sep+=" --- |"
    done
    echo "$head"
    echo "$sep"
    for id in "${ids[@]}"; do
        line="| \`$id\` |"
        for l in "${cols[@]}"; do
            for r in "$@"; do
                IFS='|' read -r rid label res note <<<"$r"
                [ "$rid" = "$id" ] && [ "$label" = "$l" ] || continue
                if [ "$res" = ok ] && [ -n "$note" ]; then line+=" ok ($note) |"; else line+=" $res |"; fi
            done
        done
        echo "$line"
    done
    echo "<!-- msrv-matrix:end -->"
    echo
    echo "| target | oldest that builds, of those tried | the next older one tried: its first error |"
    echo "| --- | --- | --- |"
    local oldest older older_note
    for id in "${ids[@]}"; do
        oldest="" older="" older_note=""
        for l in "${cols[@]}"; do
            for r in "$@"; do
                IFS='|' read -r rid label res note <<<"$r"
                [ "$rid" = "$id" ] && [ "$label" = "$l" ] || continue
                if [ -z "$oldest" ] && [ "$res" = ok ]; then
                    oldest=$label
                elif [ -z "$oldest" ] && [ "$res" = fails ]; then
                    older=$label older_note=$note
                fi
            done
        done
        note=${older_note//\`/\'}
        echo "| \`$id\` | ${oldest:-none} | ${older:+$older: \`${note//|/\\|}\`} |"
    done
}

"$mode"
