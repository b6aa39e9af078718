//! THE ADAPTER for our persistent copies (issue 4): the one file that names
//! `pmem_flush::memcpy_persist_raw` and friends.
//!
//! Off by default so that this benchmark builds before that API exists. Once it is merged, run
//! with `--features ours-copy` (`scripts/bench.sh` passes `BENCH_FEATURES` through), or make the
//! feature a default in `bench/Cargo.toml`. If the merged names or signatures differ from the
//! plan below, only the six one-line wrappers here change.
//!
//! The plan (issue 4): `unsafe fn memcpy_persist_raw(dst: *mut u8, src: *const u8, len: usize)`,
//! `unsafe fn memset_persist_raw(dst: *mut u8, value: u8, len: usize)`, and the flag forms
//! `unsafe fn memcpy_raw(dst, src, len, MemFlags)` / `memset_raw(dst, value, len, MemFlags)`.

use crate::contenders::{CopyMode, Env};
use crate::harness::Contender;

/// Our copy contenders for `mode`: `(memcpy, memset)`, or `None` without the feature.
#[cfg(not(feature = "ours-copy"))]
pub fn contenders(_mode: CopyMode) -> Option<(Contender<Env>, Contender<Env>)> {
    None
}

/// Our copy contenders for `mode`: `(memcpy, memset)`.
#[cfg(feature = "ours-copy")]
pub fn contenders(mode: CopyMode) -> Option<(Contender<Env>, Contender<Env>)> {
    use pmem_flush::MemFlags;

    use crate::harness::{Batch, Kind};

    /// One batch driver per (operation, mode), so each inlines its call.
    macro_rules! driver {
        ($name:ident, |$b:ident, $i:ident| $call:expr) => {
            #[inline(never)]
            unsafe fn $name(_env: &Env, $b: &Batch) {
                for $i in 0..$b.count {
                    // SAFETY: the batch's regions lie in the arenas and do not overlap.
                    let _ = unsafe { $call };
                }
            }
        };
    }
    driver!(cpy_default, |b, i| pmem_flush::memcpy_persist_raw(
        b.dst(i),
        b.src(i),
        b.len
    ));
    driver!(cpy_temporal, |b, i| pmem_flush::memcpy_raw(
        b.dst(i),
        b.src(i),
        b.len,
        MemFlags::TEMPORAL
    ));
    driver!(cpy_nontemporal, |b, i| pmem_flush::memcpy_raw(
        b.dst(i),
        b.src(i),
        b.len,
        MemFlags::NONTEMPORAL
    ));
    driver!(set_default, |b, i| pmem_flush::memset_persist_raw(
        b.dst(i),
        b.value,
        b.len
    ));
    driver!(set_temporal, |b, i| pmem_flush::memset_raw(
        b.dst(i),
        b.value,
        b.len,
        MemFlags::TEMPORAL
    ));
    driver!(set_nontemporal, |b, i| pmem_flush::memset_raw(
        b.dst(i),
        b.value,
        b.len,
        MemFlags::NONTEMPORAL
    ));

    let ours = |label, run| Contender {
        id: "ours.free",
        label,
        kind: Kind::Ours,
        run,
    };
    Some(match mode {
        CopyMode::Default => (
            ours("pmem_flush::memcpy_persist_raw", cpy_default),
            ours("pmem_flush::memset_persist_raw", set_default),
        ),
        CopyMode::Temporal => (
            ours("pmem_flush::memcpy_raw(TEMPORAL)", cpy_temporal),
            ours("pmem_flush::memset_raw(TEMPORAL)", set_temporal),
        ),
        CopyMode::NonTemporal => (
            ours("pmem_flush::memcpy_raw(NONTEMPORAL)", cpy_nontemporal),
            ours("pmem_flush::memset_raw(NONTEMPORAL)", set_nontemporal),
        ),
    })
}
