#!/usr/bin/env bash
# The crate as crates.io will ship it: `cargo package` (which builds the packaged copy), then the
# tests of the `.crate` alone, unpacked outside the workspace, with and without `std`: the
# shipped tests must pass from what is shipped. The disassembly tests run there too (they need
# objdump; with CI set its absence fails them, elsewhere they skip and say so).
#
# In CI (CI set) the work tree must be clean, as `cargo package` requires; elsewhere uncommitted
# changes are packaged too (--allow-dirty), so the check can run before a commit.
set -euo pipefail
exec </dev/null
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"

dirty=(--allow-dirty)
[ -n "${CI:-}" ] && dirty=()
cargo package -q --locked "${dirty[@]}"

version=$(cargo metadata --no-deps --format-version 1 --offline |
    python3 -c 'import json,sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "pmem-flush"))')
crate=target/package/pmem-flush-$version.crate
echo "$crate: $(tar tzf "$crate" | wc -l) files, $(($(stat -c %s "$crate") / 1024)) KiB"

# Unpacked outside the workspace (inside it, cargo would take the repository's workspace for
# its own); the packaged copy has no rust-toolchain.toml, so the pinned toolchain is named.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar xzf "$crate" -C "$work"
toolchain=$(sed -n 's/^channel = "\(.*\)"/\1/p' rust-toolchain.toml)
(
    cd "$work/pmem-flush-$version"
    export RUSTUP_TOOLCHAIN=$toolchain CARGO_TARGET_DIR=$OLDPWD/target/package-test
    # --offline: the lock file is in the package and the earlier steps fetched its crates.
    echo "--- tests of the unpacked crate"
    cargo test -q --locked --offline
    echo "--- tests of the unpacked crate with std"
    cargo test -q --locked --offline --features std
)
