#!/usr/bin/env bash
# Fetches a newer QEMU than the system's (Debian 12 ships 7.2) from Debian's bookworm-backports
# suite, without touching the system's apt state and without replacing the installed QEMU:
#
#   - a private apt configuration (APT_CONFIG): its own sources, lists, cache and preferences,
#     one `.sources` entry for the suite, with the mirror URI read from this machine's own apt
#     sources and Debian's archive keyring;
#   - `apt-get download` of the packages and `dpkg -x` into a cache directory outside the git
#     tree, reused as it is on the next run (no network then);
#   - small wrappers in <cache>/bin (qemu-aarch64, qemu-system-riscv64, ...) that run the
#     extracted binaries with their own data directory and modules.
#
# Prints the cache directory on stdout (progress goes to stderr); exits non-zero with a message
# when the archive cannot be reached or a package is missing.
#
# Usage: scripts/qemu-new.sh [--refresh]
#   PMEM_FLUSH_CACHE   cache root (default ~/.cache/pmem-flush)
#   QEMU_NEW_SUITE     Debian suite to pin (default bookworm-backports; a suite keeps only its
#                      current version, so the version is whatever the suite holds)
#   QEMU_NEW_MIRROR    a Debian mirror URI instead of the one in /etc/apt
set -euo pipefail

SUITE=${QEMU_NEW_SUITE:-bookworm-backports}
ROOT=${PMEM_FLUSH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pmem-flush}
DIR=$ROOT/qemu-$SUITE
# qemu-user: the static user-mode emulators (qemu-user-static is transitional from 9.1 on);
# the system emulators with their common files, data (firmware, keymaps) and modules.
PACKAGES=(qemu-user qemu-system-arm qemu-system-riscv qemu-system-common qemu-system-data)

say() { echo "qemu-new: $*" >&2; }
die() {
    say "ERROR: $*"
    exit 1
}

if [ "${1:-}" = --refresh ]; then
    rm -rf "$DIR"
fi
# What .complete must start with for a cache to be reused (bumped when the layout changes).
LAYOUT="layout 2:"
if [ -e "$DIR/.complete" ] && [ "$(cut -c1-${#LAYOUT} "$DIR/.complete")" = "$LAYOUT" ]; then
    say "using $(cat "$DIR/.complete") from $DIR"
    echo "$DIR"
    exit 0
fi

# --- the mirror, as this machine's apt knows it ----------------------------------------------
# The first URI of a deb822 entry or a one-line entry that serves the release this suite
# belongs to (bookworm for bookworm-backports); never written anywhere but the private config.
release=${SUITE%%-*}
mirror=${QEMU_NEW_MIRROR:-}
for f in /etc/apt/sources.list.d/*.sources; do
    [ -e "$f" ] && [ -z "$mirror" ] || continue
    mirror=$(awk -v rel="$release" '
        /^$/ { if (uri != "" && hit) { print uri; exit } uri = ""; hit = 0; next }
        tolower($1) == "uris:" { uri = $2 }
        tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == rel) hit = 1 }
        END { if (uri != "" && hit) print uri }' "$f" | head -1)
    [ -n "$mirror" ] && break
done
if [ -z "$mirror" ]; then
    mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
        awk -v rel="$release" '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^(http|https|ftp|file):/ && $(i + 1) == rel) { print $i; exit } }')
fi
[ -n "$mirror" ] || die "no apt source for '$release' in /etc/apt (needed to find a Debian mirror)"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -e "$keyring" ] || die "$keyring missing (package debian-archive-keyring)"

# --- a private apt ---------------------------------------------------------------------------
work=$ROOT/apt-$SUITE
rm -rf "$work"
mkdir -p "$work"/{sources,prefs,lists/partial,cache/archives/partial,debs}
cat >"$work/apt.conf" <<EOF
Dir::Etc::SourceList "/dev/null";
Dir::Etc::SourceParts "$work/sources";
Dir::Etc::Preferences "/dev/null";
Dir::Etc::PreferencesParts "$work/prefs";
Dir::State::Lists "$work/lists";
Dir::Cache "$work/cache";
APT::Sandbox::User "root";
Acquire::Retries "2";
Acquire::http::Timeout "30";
EOF
cat >"$work/sources/$SUITE.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $SUITE
Components: main
Signed-By: $keyring
EOF
export APT_CONFIG=$work/apt.conf

say "fetching the $SUITE index from $mirror"
if ! out=$(apt-get update 2>&1) || grep -qE '^(Err|W: Failed|E: )' <<<"$out"; then
    echo "$out" | tail -5 >&2
    die "cannot reach Debian's archive ($mirror, suite $SUITE): the newer QEMU cannot be fetched"
fi
for p in "${PACKAGES[@]}"; do
    apt-cache show "$p/$SUITE" >/dev/null 2>&1 || die "package $p not found in $SUITE"
done
version=$(apt-cache show "qemu-user/$SUITE" | awk '/^Version:/ { print $2; exit }')
say "downloading ${PACKAGES[*]} $version"
if ! (cd "$work/debs" && apt-get download -q "${PACKAGES[@]/%//$SUITE}" >&2); then
    die "download from $mirror failed"
fi

# --- extract -----------------------------------------------------------------------------------
tmp=$DIR.partial
rm -rf "$tmp"
mkdir -p "$tmp"
for deb in "$work"/debs/*.deb; do
    dpkg -x "$deb" "$tmp"
done

# The system emulators link shared libraries; on a machine without any QEMU some may be
# missing. Install those from the system's own suite (libraries only; QEMU itself stays 7.2).
missing_libs=$(ldd "$tmp"/usr/bin/qemu-system-* 2>/dev/null | awk '/not found/ { print $1 }' | sort -u)
if [ -n "$missing_libs" ]; then
    deps=$(apt-cache depends --no-recommends --no-suggests "${PACKAGES[@]/%//$SUITE}" 2>/dev/null |
        awk '$1 == "Depends:" && $2 ~ /^lib/ { print $2 }' | sort -u)
    need=()
    for d in $deps; do
        dpkg-query -W -f='${Status}' "$d" 2>/dev/null | grep -q "ok installed" || need+=("$d")
    done
    say "missing shared libraries: $(echo $missing_libs); installing ${need[*]} from the system's suite"
    [ "$(id -u)" = 0 ] || die "run as root to install ${need[*]}"
    (
        unset APT_CONFIG
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
    ) || die "could not install ${need[*]}"
fi

# Wrappers: user-mode emulators are static; system emulators get their data and modules. QEMU
# refuses modules of another build, and looks for a module it lacks in the installed 7.2's
# directory too (then aborts): the display and audio modules are not fetched, so the wrappers
# turn both off (-nographic and -serial still work).
mkdir -p "$tmp/bin"
for b in "$tmp"/usr/bin/qemu-*; do
    name=${b##*/}
    case $name in
    qemu-system-*)
        printf '#!/bin/sh\nQEMU_MODULE_DIR=%s/usr/lib/x86_64-linux-gnu/qemu exec %s/usr/bin/%s -L %s/usr/share/qemu -display none -audio none "$@"\n' \
            "$DIR" "$DIR" "$name" "$DIR" >"$tmp/bin/$name"
        ;;
    *) printf '#!/bin/sh\nexec %s/usr/bin/%s "$@"\n' "$DIR" "$name" >"$tmp/bin/$name" ;;
    esac
    chmod +x "$tmp/bin/$name"
done
rm -rf "$DIR"
mv "$tmp" "$DIR"
"$DIR/bin/qemu-system-aarch64" -machine virt,dumpdtb=/dev/null >/dev/null ||
    die "the extracted qemu-system-aarch64 does not run"
"$DIR/bin/qemu-aarch64" --version >/dev/null || die "the extracted qemu-aarch64 does not run"
echo "$LAYOUT QEMU $version ($SUITE): ${PACKAGES[*]}" >"$DIR/.complete"
rm -rf "$work"
say "QEMU $version ready in $DIR"
echo "$DIR"
