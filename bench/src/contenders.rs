//! The cases and their contenders.
//!
//! Every contender is an `#[inline(never)]` batch driver: a loop over the batch's regions that
//! calls the entry point under test the way a user would (our `#[inline]` entry points inline
//! into the loop, as they do in a user's crate; libpmem is a call into the shared library; the
//! floor is the bare instructions). The drivers reach our objects through `&Env`, filled at run
//! time, so nothing about the selection is known at compile time.

use pmem_flush::arch::x86_64::{Clwb, Sfence};
use pmem_flush::prelude::*;
use pmem_flush::{DrainFn, Drainer, FlushFn, Flusher, PersistFn};

use crate::floor::{self, CopyFloor};
use crate::harness::{Batch, Case, Check, Contender, Kind, Prep};
use crate::libpmem as c;
use crate::ours_copy;

/// Our objects, detected once before measuring.
pub struct Env {
    pub flusher: Flusher,
    pub drainer: Drainer,
    pub clwb: Clwb,
    pub flush_fn: FlushFn,
    pub persist_fn: PersistFn,
    pub drain_fn: DrainFn,
    /// The copy floor for the widest stores this CPU has.
    pub floor: CopyFloor,
}

impl Env {
    /// Detects. `None` when the CPU lacks CLWB (the floor and the concrete type need it).
    pub fn new(floor: CopyFloor) -> Option<Env> {
        let flusher = pmem_flush::flusher();
        Some(Env {
            flusher,
            drainer: flusher.drainer(),
            clwb: Clwb::new()?,
            flush_fn: pmem_flush::get_flush_fn(),
            persist_fn: pmem_flush::get_persist_fn(),
            drain_fn: pmem_flush::get_drain_fn(),
            floor,
        })
    }

    /// As [`Env::new`] on a CPU that may lack CLWB (valgrind's virtual CPU has only CLFLUSH),
    /// for instruction counting: the `Clwb` inside must then never run.
    ///
    /// # Safety
    ///
    /// The caller runs no contender that uses `clwb` (the concrete type, the floor) unless the
    /// CPU has CLWB.
    pub unsafe fn new_for_counting(floor: CopyFloor) -> Env {
        let flusher = pmem_flush::flusher();
        Env {
            flusher,
            drainer: flusher.drainer(),
            // SAFETY: the caller's contract.
            clwb: Clwb::new().unwrap_or(unsafe { Clwb::new_unchecked(64) }),
            flush_fn: pmem_flush::get_flush_fn(),
            persist_fn: pmem_flush::get_persist_fn(),
            drain_fn: pmem_flush::get_drain_fn(),
            floor,
        }
    }
}

/// A batch driver.
type Driver = unsafe fn(&Env, &Batch);

/// Defines a batch driver: `|env, batch, i| body` runs once per region.
macro_rules! driver {
    ($name:ident, |$env:ident, $b:ident, $i:ident| $body:block) => {
        #[inline(never)]
        #[allow(unused_variables)]
        unsafe fn $name($env: &Env, $b: &Batch) {
            for $i in 0..$b.count $body
        }
    };
}

// persist = flush + drain.
driver!(persist_free, |env, b, i| {
    // SAFETY: the region lies in the arena.
    unsafe { pmem_flush::persist_raw(b.dst(i), b.len) }
});
driver!(persist_fn, |env, b, i| {
    // SAFETY: as above.
    unsafe { (env.persist_fn)(b.dst(i), b.len) }
});
driver!(persist_pair, |env, b, i| {
    // SAFETY: as above.
    unsafe { env.flusher.flush_raw(b.dst(i), b.len) };
    env.drainer.drain();
});
driver!(persist_concrete, |env, b, i| {
    // SAFETY: as above; `Clwb` was built by its checked constructor.
    unsafe { env.clwb.flush_raw(b.dst(i), b.len) };
    Sfence.drain();
});
driver!(persist_libpmem, |env, b, i| {
    // SAFETY: as above.
    unsafe { c::pmem_persist(b.dst(i).cast(), b.len) }
});
driver!(persist_libpmem_split, |env, b, i| {
    // SAFETY: as above.
    unsafe {
        c::pmem_flush(b.dst(i).cast(), b.len);
        c::pmem_drain();
    }
});
driver!(persist_floor, |env, b, i| {
    // SAFETY: as above; CLWB was checked at startup.
    unsafe { floor::clwb_range(b.dst(i), b.len) };
    floor::sfence();
});

// flush alone.
driver!(flush_free, |env, b, i| {
    // SAFETY: the region lies in the arena.
    unsafe { pmem_flush::flush_raw(b.dst(i), b.len) }
});
driver!(flush_fn, |env, b, i| {
    // SAFETY: as above.
    unsafe { (env.flush_fn)(b.dst(i), b.len) }
});
driver!(flush_pair, |env, b, i| {
    // SAFETY: as above.
    unsafe { env.flusher.flush_raw(b.dst(i), b.len) }
});
driver!(flush_concrete, |env, b, i| {
    // SAFETY: as above.
    unsafe { env.clwb.flush_raw(b.dst(i), b.len) }
});
driver!(flush_libpmem, |env, b, i| {
    // SAFETY: as above.
    unsafe { c::pmem_flush(b.dst(i).cast(), b.len) }
});
driver!(flush_floor, |env, b, i| {
    // SAFETY: as above; CLWB was checked at startup.
    unsafe { floor::clwb_range(b.dst(i), b.len) }
});

// drain alone.
driver!(drain_free, |env, b, i| { pmem_flush::drain() });
driver!(drain_fn, |env, b, i| { (env.drain_fn)() });
driver!(drain_pair, |env, b, i| { env.drainer.drain() });
driver!(drain_concrete, |env, b, i| { Sfence.drain() });
driver!(drain_libpmem, |env, b, i| {
    // SAFETY: no arguments.
    unsafe { c::pmem_drain() }
});
driver!(drain_floor, |env, b, i| { floor::sfence() });

// copies through libpmem.
driver!(memcpy_libpmem_default, |env, b, i| {
    // SAFETY: the regions lie in the arenas and do not overlap.
    unsafe { c::pmem_memcpy_persist(b.dst(i).cast(), b.src(i).cast(), b.len) };
});
driver!(memcpy_libpmem_temporal, |env, b, i| {
    // SAFETY: as above.
    unsafe { c::pmem_memcpy(b.dst(i).cast(), b.src(i).cast(), b.len, c::F_MEM_TEMPORAL) };
});
driver!(memcpy_libpmem_nontemporal, |env, b, i| {
    // SAFETY: as above.
    unsafe {
        c::pmem_memcpy(
            b.dst(i).cast(),
            b.src(i).cast(),
            b.len,
            c::F_MEM_NONTEMPORAL,
        )
    };
});
driver!(memset_libpmem_default, |env, b, i| {
    // SAFETY: the region lies in the arena.
    unsafe { c::pmem_memset_persist(b.dst(i).cast(), b.value.into(), b.len) };
});
driver!(memset_libpmem_temporal, |env, b, i| {
    // SAFETY: as above.
    unsafe { c::pmem_memset(b.dst(i).cast(), b.value.into(), b.len, c::F_MEM_TEMPORAL) };
});
driver!(memset_libpmem_nontemporal, |env, b, i| {
    // SAFETY: as above.
    unsafe { c::pmem_memset(b.dst(i).cast(), b.value.into(), b.len, c::F_MEM_NONTEMPORAL) };
});

// The copy floors: one indirect call per batch (not per copy) into a loop compiled for the
// widest vector stores.
driver!(floor_nt_copy, |env, b, i| {
    if i == 0 {
        // SAFETY: the regions lie in the arenas; the floor was picked for this CPU.
        unsafe { (env.floor.nt_copy)(b) }
    }
});
driver!(floor_t_copy, |env, b, i| {
    if i == 0 {
        // SAFETY: as above.
        unsafe { (env.floor.t_copy)(b) }
    }
});
driver!(floor_nt_set, |env, b, i| {
    if i == 0 {
        // SAFETY: as above.
        unsafe { (env.floor.nt_set)(b) }
    }
});
driver!(floor_t_set, |env, b, i| {
    if i == 0 {
        // SAFETY: as above.
        unsafe { (env.floor.t_set)(b) }
    }
});

/// The copy modes: libpmem's default choice, and the two forced ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CopyMode {
    Default,
    Temporal,
    NonTemporal,
}

impl CopyMode {
    pub const ALL: [CopyMode; 3] = [CopyMode::Default, CopyMode::Temporal, CopyMode::NonTemporal];

    pub fn name(self) -> &'static str {
        match self {
            CopyMode::Default => "default",
            CopyMode::Temporal => "temporal",
            CopyMode::NonTemporal => "non-temporal",
        }
    }
}

fn contender(id: &'static str, label: &'static str, kind: Kind, run: Driver) -> Contender<Env> {
    Contender {
        id,
        label,
        kind,
        run,
    }
}

/// The persist contenders.
fn persist_contenders() -> Vec<Contender<Env>> {
    vec![
        contender(
            "ours.free",
            "pmem_flush::persist_raw",
            Kind::Ours,
            persist_free,
        ),
        contender("ours.fn", "get_persist_fn()", Kind::Ours, persist_fn),
        contender(
            "ours.pair",
            "Flusher::flush_raw + Drainer::drain",
            Kind::Ours,
            persist_pair,
        ),
        contender(
            "ours.concrete",
            "Clwb::flush_raw + Sfence::drain",
            Kind::Ours,
            persist_concrete,
        ),
        contender("libpmem", "pmem_persist", Kind::Libpmem, persist_libpmem),
        contender(
            "libpmem.split",
            "pmem_flush + pmem_drain",
            Kind::Libpmem,
            persist_libpmem_split,
        ),
        contender("floor", "CLWB loop + SFENCE", Kind::Floor, persist_floor),
    ]
}

/// The flush contenders.
fn flush_contenders() -> Vec<Contender<Env>> {
    vec![
        contender("ours.free", "pmem_flush::flush_raw", Kind::Ours, flush_free),
        contender("ours.fn", "get_flush_fn()", Kind::Ours, flush_fn),
        contender("ours.pair", "Flusher::flush_raw", Kind::Ours, flush_pair),
        contender(
            "ours.concrete",
            "Clwb::flush_raw",
            Kind::Ours,
            flush_concrete,
        ),
        contender("libpmem", "pmem_flush", Kind::Libpmem, flush_libpmem),
        contender("floor", "CLWB loop", Kind::Floor, flush_floor),
    ]
}

/// The drain contenders.
fn drain_contenders() -> Vec<Contender<Env>> {
    vec![
        contender("ours.free", "pmem_flush::drain", Kind::Ours, drain_free),
        contender("ours.fn", "get_drain_fn()", Kind::Ours, drain_fn),
        contender("ours.pair", "Drainer::drain", Kind::Ours, drain_pair),
        contender("ours.concrete", "Sfence::drain", Kind::Ours, drain_concrete),
        contender("libpmem", "pmem_drain", Kind::Libpmem, drain_libpmem),
        contender("floor", "SFENCE", Kind::Floor, drain_floor),
    ]
}

/// Persist and flush sizes (the list).
pub const PERSIST_SIZES: [usize; 7] = [64, 256, 1 << 10, 4 << 10, 64 << 10, 1 << 20, 16 << 20];

/// Copy sizes: 8 bytes, then powers of 4 from 16 bytes to 64 MiB, with the non-temporal
/// threshold's edges (255, 256, 257).
pub const COPY_SIZES: [usize; 15] = [
    8,
    16,
    64,
    255,
    256,
    257,
    1 << 10,
    4 << 10,
    16 << 10,
    64 << 10,
    256 << 10,
    1 << 20,
    4 << 20,
    16 << 20,
    64 << 20,
];

/// Bytes a batch of small calls covers: every call of a sample works on its own region, and the
/// regions of one sample together fit in the L1 data cache.
const BATCH_BYTES: usize = 16 << 10;

/// Calls per sample in the overhead cases.
const OVERHEAD_CALLS: usize = 1000;

/// Regions start on 64-byte boundaries.
fn stride(size: usize) -> usize {
    size.div_ceil(floor::LINE).max(1) * floor::LINE
}

/// Every case, in the order they run and are reported.
pub fn cases(groups: &[String]) -> Vec<Case<Env>> {
    let wanted = |g: &str| groups.is_empty() || groups.iter().any(|w| w == g);
    let mut cases = Vec::new();
    if wanted("persist") {
        for size in PERSIST_SIZES {
            cases.push(Case {
                group: "persist",
                mode: "fresh",
                size,
                count: (BATCH_BYTES / size).max(1),
                stride: stride(size),
                prep: Prep::DirtyDestination,
                complete: true,
                fence_after: false,
                check: Check::Nothing,
                contenders: persist_contenders(),
                libpmem: "libpmem",
                floor: vec!["floor"],
                concrete: Some("ours.concrete"),
            });
        }
    }
    if wanted("flush") {
        for size in PERSIST_SIZES {
            cases.push(Case {
                group: "flush",
                mode: "fresh",
                size,
                count: (BATCH_BYTES / size).max(1),
                stride: stride(size),
                prep: Prep::DirtyDestination,
                complete: false,
                fence_after: true,
                check: Check::Nothing,
                contenders: flush_contenders(),
                libpmem: "libpmem",
                floor: vec!["floor"],
                concrete: Some("ours.concrete"),
            });
        }
    }
    if wanted("overhead") {
        let overhead = |mode, size, stride, prep, fence_after, contenders| Case {
            group: "overhead",
            mode,
            size,
            count: OVERHEAD_CALLS,
            stride,
            prep,
            complete: false,
            fence_after,
            check: Check::Nothing,
            contenders,
            libpmem: "libpmem",
            floor: vec!["floor"],
            concrete: Some("ours.concrete"),
        };
        // A different line each call: CLWBs of one line wait for each other (about 75 ns
        // apart on the machine this was written on), which would hide every call's overhead.
        cases.push(overhead(
            "flush of a clean line",
            64,
            floor::LINE,
            Prep::CleanLines,
            true,
            flush_contenders(),
        ));
        cases.push(overhead(
            "persist of length 0",
            0,
            0,
            Prep::Nothing,
            false,
            persist_contenders(),
        ));
        cases.push(overhead(
            "drain alone",
            0,
            0,
            Prep::Nothing,
            false,
            drain_contenders(),
        ));
    }
    for (group, prep, check) in [
        ("memcpy", Prep::HotSourceColdDestination, Check::Copied),
        ("memset", Prep::ColdDestination, Check::Set),
    ] {
        if !wanted(group) {
            continue;
        }
        for mode in CopyMode::ALL {
            let is_cpy = group == "memcpy";
            let mut contenders = Vec::new();
            if let Some((cpy, set)) = ours_copy::contenders(mode) {
                contenders.push(if is_cpy { cpy } else { set });
            }
            let (libpmem_label, libpmem_run): (&'static str, Driver) = match (is_cpy, mode) {
                (true, CopyMode::Default) => ("pmem_memcpy_persist", memcpy_libpmem_default),
                (true, CopyMode::Temporal) => ("pmem_memcpy(TEMPORAL)", memcpy_libpmem_temporal),
                (true, CopyMode::NonTemporal) => {
                    ("pmem_memcpy(NONTEMPORAL)", memcpy_libpmem_nontemporal)
                }
                (false, CopyMode::Default) => ("pmem_memset_persist", memset_libpmem_default),
                (false, CopyMode::Temporal) => ("pmem_memset(TEMPORAL)", memset_libpmem_temporal),
                (false, CopyMode::NonTemporal) => {
                    ("pmem_memset(NONTEMPORAL)", memset_libpmem_nontemporal)
                }
            };
            contenders.push(contender(
                "libpmem",
                libpmem_label,
                Kind::Libpmem,
                libpmem_run,
            ));
            let (nt, t): (Driver, Driver) = if is_cpy {
                (floor_nt_copy, floor_t_copy)
            } else {
                (floor_nt_set, floor_t_set)
            };
            let floor_nt = contender("floor.nt", "non-temporal stores + SFENCE", Kind::Floor, nt);
            let floor_t = contender("floor.t", "stores + CLWB per line + SFENCE", Kind::Floor, t);
            // Both floors run in every mode, so that the three modes' rounds have the same
            // company: a contender's time depends on what ran before it in the round (after
            // `floor.t`'s ordinary stores and CLWBs, non-temporal copies ran 1-2 % slower here),
            // and comparing our default-flags copy with our forced non-temporal one, as issue
            // 10 does, needs rounds that differ in nothing else (bench/NOTES.md). Each mode is
            // still judged against its own floor.
            let floor_ids = match mode {
                CopyMode::Default => vec![floor_nt.id, floor_t.id],
                CopyMode::Temporal => vec![floor_t.id],
                CopyMode::NonTemporal => vec![floor_nt.id],
            };
            contenders.extend([floor_nt, floor_t]);
            for size in COPY_SIZES {
                cases.push(Case {
                    group,
                    mode: mode.name(),
                    size,
                    count: (BATCH_BYTES / stride(size)).max(1),
                    stride: stride(size),
                    prep,
                    complete: true,
                    fence_after: false,
                    check,
                    contenders: contenders.clone(),
                    libpmem: "libpmem",
                    floor: floor_ids.clone(),
                    concrete: None,
                });
            }
        }
    }
    cases
}
