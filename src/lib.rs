//! Make stores durable on persistent memory: flush, drain, persist.
//!
//! `pmem-flush` does what PMDK's libpmem and libpmem2 do for flushing, in Rust, without the
//! standard library, an allocator, locks or an operating system, so that kernels, hypervisors,
//! unikernels and firmware can use it as well as user-space persistent-memory libraries.
//!
//! - **flush** writes the CPU cache lines covering a range back toward memory
//!   (x86-64 CLWB, else CLFLUSHOPT, else CLFLUSH; AArch64 DC CVAP, else DC CVAC; 64-bit POWER
//!   dcbstps; RISC-V cbo.clean when the embedder says Zicbom is there);
//! - **drain** waits until those write-backs (and non-temporal stores) are ordered before later
//!   stores (SFENCE; DSB SY; phwsync; FENCE iorw,iorw);
//! - **persist** is flush then drain; **deep_flush** always writes back, even when CPU caches
//!   are persistent, with the deepest write-back there is;
//! - **invalidate** writes back and evicts the lines, between two fences that also order
//!   loads, so that later loads read what a device or another agent wrote (Linux's
//!   `arch_invalidate_pmem`, for kernels and drivers): x86-64 CLFLUSHOPT or CLFLUSH between
//!   MFENCEs, AArch64 DC CIVAC, 64-bit POWER dcbf, RISC-V cbo.flush, each between the drain's
//!   fence;
//! - **persistent copies** ([`memcpy_persist`], [`memmove_persist`], [`memset_persist`] and
//!   libpmem's flag forms) store and persist in one pass, with non-temporal stores where
//!   libpmem would use them.
//!
//! # Three ways to call it
//!
//! ```
//! // 1. Free functions, like libpmem's: the CPU is detected once, on first use.
//! let log = [0u8; 256];
//! pmem_flush::persist(&log);
//!
//! // 2. A value you keep, like libpmem2's per-mapping functions: one `Copy` value that
//! //    flushes, drains, persists and copies. Generic code takes `impl Persist`.
//! use pmem_flush::prelude::*;
//! let flusher = pmem_flush::flusher(); // the free functions' own selection
//! flusher.flush(&log[..64]);
//! flusher.flush(&log[128..]);
//! flusher.drain();
//! let persist = pmem_flush::get_persist_fn(); // or plain function pointers
//! // SAFETY: `log` is readable for its whole length.
//! unsafe { persist(log.as_ptr(), log.len()) };
//!
//! // 3. A concrete instruction type, when you know the hardware: no dispatch at all.
//! # #[cfg(target_arch = "x86_64")] {
//! use pmem_flush::arch::x86_64::{Clwb, Sfence};
//! if let Some(clwb) = Clwb::new() {
//!     let pair = (clwb, Sfence);
//!     pair.persist(&log);
//! }
//! # }
//! ```
//!
//! # Commit words
//!
//! The pattern persistent data structures are built on: store the payload, flush it, drain;
//! then store a failure-atomic 8-byte commit word and persist it ([`Persist::commit`],
//! [`commit`]). Copies to an 8-byte-aligned destination of a length that is a multiple of 8
//! store at least 8 bytes at a time on every 64-bit target (x86-64, AArch64, 64-bit POWER and
//! RISC-V; `scripts/check-store-widths.sh` checks the built code of each), so an aligned word
//! inside a copy is never torn either. On 32-bit targets an 8-byte store may be two stores.
//!
//! ```
//! use core::sync::atomic::{AtomicU64, Ordering};
//! use pmem_flush::prelude::*;
//!
//! let p = pmem_flush::flusher();
//! let mut slot = [0u8; 64];
//! let valid = AtomicU64::new(0);
//! p.memcpy_persist(&mut slot[..6], b"record").unwrap(); // payload, flush, drain
//! p.commit(&valid, 6); // commit word, flush, drain
//! assert_eq!(valid.load(Ordering::Relaxed), 6);
//! ```
//!
//! # The layers
//!
//! [`features`] decodes raw register values into [`Cpu`] (pure, tested on any host);
//! [`Selection`] picks instructions from a [`Cpu`] and a [`Config`] (pure) and explains itself
//! in `Display`; [`Flusher`] executes a selection (and [`PageFlusher`] a page hook); the traits
//! [`Flush`], [`Drain`], [`Persist`] and [`Evict`] are what code is written against; the free functions use
//! one selection cached in a lock-free cell; [`arch`] holds one module per instruction.
//!
//! # Contracts
//!
//! - Flush covers every line that overlaps `[addr, addr + len)`; `len == 0` touches nothing; no
//!   end address that could wrap is computed, and a range claiming to run past the top of the
//!   address space is cut at the top.
//! - Drain is SFENCE on x86-64 (also after CLFLUSH, as in libpmem2; libpmem skips it), DSB SY
//!   on AArch64, phwsync on 64-bit POWER, FENCE iorw,iorw on RISC-V, a sequentially consistent
//!   atomic fence elsewhere.
//!   [`has_hw_drain`] is `false`.
//! - Byte granularity (eADR): flush does nothing, drain still fences, deep flush still writes
//!   back, invalidate still evicts.
//! - Invalidate is the invalidation fence (MFENCE on x86-64, the drain's fence elsewhere), the
//!   evictions, the fence again; `len == 0` still fences. Data written before it reads back
//!   unchanged after it.
//! - Durability you can see: [`Selection::is_durable`] and [`Flusher::is_durable`] say whether
//!   persist makes data durable; [`Flusher::new`] refuses a selection that would only fence,
//!   or that uses a lesser write-back because the better one could not be asked for
//!   ([`Cpu::unasked`]: AArch64 user space without `std`), unless you accept it; `Display`
//!   says it first, in capitals.
//! - Copies drain whenever libpmem's do, zero length included; wherever destination and length
//!   are multiples of 8, every store is at least 8 bytes wide.
//! - Nothing on a flush, drain or copy path allocates, locks, panics or calls the OS, so they are
//!   safe from interrupt context, once the global selection exists. Its first use (any free
//!   function, [`flusher`], [`selection`], the getters) detects: a few register reads without
//!   `std`; with `std` it also reads libpmem's environment variables (which allocates and takes
//!   the standard library's environment lock) and, on 64-bit POWER Linux, `/proc/self/auxv`.
//!   Call [`init`] (or [`configure`]) before that matters.
//! - AArch64 bare-metal and kernel builds (`target_os` `none` or `uefi`) detect by reading
//!   `ID_AA64ISAR1_EL1`, which traps at EL0: a bare-metal program that runs at EL0 builds with
//!   `RUSTFLAGS="--cfg pmem_flush_el0"`, and then detection assumes DC CVAC only (pass more
//!   through [`Cpu::new`] when the platform says so).
//!
//! # Configuration
//!
//! The free functions detect with [`Config::new`] (libpmem's defaults) on first use, or with
//! libpmem's environment variables when the `std` feature is on (`PMEM_NO_CLWB`,
//! `PMEM_NO_CLFLUSHOPT`, `PMEM_NO_FLUSH`, ...). [`configure`] replaces that choice, and always
//! wins over a first use racing it; a flush racing it may use either selection. [`flusher`]
//! hands out a value with the free functions' selection, so a kept value agrees with them.
//!
//! # Safety policy
//!
//! Every `unsafe` block states why it is sound in a `// SAFETY:` comment and every `unsafe fn`
//! has a `# Safety` section; the lint wall below makes both checkable. Executing a write-back
//! the CPU lacks raises an invalid-opcode fault, so everything that acts on caller-supplied
//! [`Features`] is `unsafe`; everything that detects for itself is safe. Flushing a range faults
//! like a byte load on unmapped memory, so raw-pointer entry points are `unsafe` and slice
//! entry points are safe.

#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(docsrs, doc(auto_cfg(hide(docsrs, target_os = "none"))))]
#![deny(
    unsafe_op_in_unsafe_fn,
    missing_docs,
    clippy::undocumented_unsafe_blocks,
    clippy::missing_safety_doc
)]
// Targets without a backend keep the dispatch machinery with nothing to dispatch to.
#![cfg_attr(
    not(any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "powerpc64",
        target_arch = "riscv64"
    )),
    allow(dead_code, unused_imports, unused_macros, unused_variables)
)]
#![warn(
    missing_debug_implementations,
    rust_2018_idioms,
    clippy::incompatible_msrv
)]

// The `std` feature, except in documentation builds for targets without an operating system,
// where no standard library exists: docs.rs builds every target in its metadata with all
// features, and the `std` items are documented on the Linux targets.
#[cfg(any(test, all(feature = "std", not(all(docsrs, target_os = "none")))))]
extern crate std;

pub mod arch;
mod cell;
pub mod features;
mod lines;
#[cfg(all(feature = "std", target_os = "linux"))]
#[cfg_attr(docsrs, doc(cfg(all(feature = "std", target_os = "linux"))))]
pub mod linux;
mod mem;
mod page;
mod persist;
mod selection;
#[cfg(all(feature = "std", not(all(docsrs, target_os = "none"))))]
mod std_support;
mod traits;

use cell::GLOBAL;
pub use features::{Cpu, Features};
pub use mem::{
    CopyError, MemFlags, MemmoveFn, MemsetFn, NonTemporal, Plan, Stores, choose, get_memcpy_fn,
    get_memmove_fn, get_memset_fn, memcpy, memcpy_nodrain, memcpy_nodrain_raw, memcpy_persist,
    memcpy_persist_raw, memcpy_raw, memmove, memmove_nodrain, memmove_nodrain_raw, memmove_persist,
    memmove_persist_raw, memmove_raw, memset, memset_nodrain, memset_nodrain_raw, memset_persist,
    memset_persist_raw, memset_raw,
};
pub use page::{PageFlusher, PageHook};
pub use persist::{DrainFn, Drainer, FlushFn, Flusher, NotDurable, PersistFn};
pub use selection::{Arch, Config, DEFAULT_NT_THRESHOLD, Fence, Granularity, Selection, WriteBack};
#[cfg(all(feature = "std", not(all(docsrs, target_os = "none"))))]
pub use std_support::{FeatureMismatch, cross_check};
pub use traits::{Drain, Evict, Flush, InPlace, Persist};

/// The traits whose methods every flusher has: `use pmem_flush::prelude::*;`.
///
/// ```
/// use pmem_flush::prelude::*;
/// let f = pmem_flush::flusher();
/// f.flush(&[0u8; 64]); // Flush
/// f.drain(); // Drain
/// f.persist(&[0u8; 64]); // Persist
/// f.evict(&[0u8; 64]); // Evict
/// ```
pub mod prelude {
    pub use crate::traits::{Drain, Evict, Flush, Persist};
}

/// Writes back every cache line that overlaps `buf` (libpmem's `pmem_flush`).
///
/// ```
/// let data = [1u8; 100];
/// pmem_flush::flush(&data);
/// pmem_flush::drain();
/// ```
#[inline]
pub fn flush(buf: &[u8]) {
    // SAFETY: a slice is readable for its whole length.
    unsafe { flush_raw(buf.as_ptr(), buf.len()) }
}

/// Writes back every cache line that overlaps `value`'s bytes (see [`InPlace`] for what may
/// be passed).
///
/// ```
/// let head = core::sync::atomic::AtomicU64::new(1);
/// pmem_flush::flush_value(&head);
/// pmem_flush::drain();
/// ```
///
/// ```compile_fail
/// let data = vec![0u8; 4096];
/// pmem_flush::flush_value(&data); // would flush the Vec's pointer, length and capacity
/// ```
#[inline]
pub fn flush_value<T: InPlace + ?Sized>(value: &T) {
    // SAFETY: a reference is readable for `size_of_val` bytes.
    unsafe { flush_raw((value as *const T).cast(), core::mem::size_of_val(value)) }
}

/// Writes back every cache line that overlaps `[addr, addr + len)`.
///
/// `len == 0` does nothing. A range that claims to run past the top of the address space is cut
/// at the top.
///
/// # Safety
///
/// When `len > 0`, every byte of the range must be readable by a byte load.
///
/// ```
/// let data = [1u8; 100];
/// // SAFETY: `data` is readable for its whole length.
/// unsafe { pmem_flush::flush_raw(data.as_ptr(), data.len()) };
/// ```
// Not `#[inline]`, nor are the other functions that read the cell: code inlined into another
// crate reaches a static through the GOT in position-independent builds (two dependent loads);
// compiled here it is one RIP-relative load. LLVM kept the three-way dispatch out of line in
// callers anyway, so a call is all this costs.
pub unsafe fn flush_raw(addr: *const u8, len: usize) {
    // SAFETY: the caller's contract.
    unsafe { write_back_cached(false, false, addr, len) }
}

/// Writes back `[addr, addr + len)` with the cached selection's flush (`deep`: deep flush),
/// then drains if `drain_after`: after the first use, one load of the cell, a jump to the
/// instruction's loop, and the fence.
///
/// # Safety
///
/// As for [`flush_raw`].
#[inline(always)]
unsafe fn write_back_cached(deep: bool, drain_after: bool, addr: *const u8, len: usize) {
    match GLOBAL.get() {
        Some(word) => {
            match FAST_PATH {
                // The selection nearly every machine of this architecture gets, tested first
                // with one compare and walked with constants: the bare loop, no line size to
                // decode.
                Some((fast, shift)) if word.is(deep, fast, shift) => {
                    // SAFETY: the cell holds this CPU's own selection (or one the caller
                    // vouched for in `configure_unchecked`); the caller guarantees the range is
                    // mapped.
                    unsafe { arch::write_back_range(fast, addr, len, shift) }
                }
                _ => {
                    let kind = if deep { word.deep() } else { word.flush() };
                    // SAFETY: as above.
                    unsafe { arch::write_back_range(kind, addr, len, word.shift()) }
                }
            }
            if drain_after {
                arch::drain();
            }
        }
        // SAFETY: the caller's contract.
        None => unsafe {
            first_use::detect_and_store_then_write_back(deep, drain_after, addr, len)
        },
    }
}

/// The write-back and log2 line size the free functions' hot path is compiled for with
/// constants: x86-64 CLWB with 64-byte lines.
#[cfg(target_arch = "x86_64")]
const FAST_PATH: Option<(WriteBack, u8)> = Some((WriteBack::Clwb, 6));
/// The write-back and log2 line size the free functions' hot path is compiled for with
/// constants: none yet on this target.
#[cfg(not(target_arch = "x86_64"))]
const FAST_PATH: Option<(WriteBack, u8)> = None;

/// The first use of the free functions, out of the way of the hot path.
mod first_use {
    use super::{GLOBAL, arch};

    /// Detects, stores the selection, then does what `write_back_cached` does. Cold and out of
    /// line, and the last thing its callers do (a tail call), so their hot path saves no
    /// registers for it.
    ///
    /// # Safety
    ///
    /// As for [`flush_raw`](super::flush_raw).
    #[cold]
    #[inline(never)]
    pub(super) unsafe fn detect_and_store_then_write_back(
        deep: bool,
        drain_after: bool,
        addr: *const u8,
        len: usize,
    ) {
        let word = GLOBAL.word();
        let kind = if deep { word.deep() } else { word.flush() };
        // SAFETY: as in `write_back_cached`.
        unsafe { arch::write_back_range(kind, addr, len, word.shift()) };
        if drain_after {
            arch::drain();
        }
    }
}

/// Waits until earlier flushes and non-temporal stores are ordered before later stores
/// (libpmem's `pmem_drain`): SFENCE on x86-64, DSB SY on AArch64, phwsync on 64-bit POWER,
/// FENCE iorw,iorw on RISC-V. The bare instruction: nothing is read or decided.
///
/// ```
/// pmem_flush::flush(&[0u8; 64]);
/// pmem_flush::drain();
/// ```
#[inline]
pub fn drain() {
    arch::drain();
}

/// Flushes `buf`, then drains (libpmem's `pmem_persist`).
///
/// ```
/// pmem_flush::persist(b"durable");
/// ```
#[inline]
pub fn persist(buf: &[u8]) {
    // SAFETY: a slice is readable for its whole length.
    unsafe { persist_raw(buf.as_ptr(), buf.len()) }
}

/// Flushes `value`'s bytes, then drains (see [`flush_value`]).
///
/// ```
/// #[repr(C)]
/// struct Header { len: u64, crc: u32 }
/// impl pmem_flush::InPlace for Header {}
/// pmem_flush::persist_value(&Header { len: 1, crc: 2 });
/// ```
///
/// ```compile_fail
/// let mut buf = [0u8; 64];
/// let view: &mut [u8] = &mut buf;
/// pmem_flush::persist_value(&view); // the slice reference, not the slice: refused
/// ```
#[inline]
pub fn persist_value<T: InPlace + ?Sized>(value: &T) {
    // SAFETY: a reference is readable for `size_of_val` bytes.
    unsafe { persist_raw((value as *const T).cast(), core::mem::size_of_val(value)) }
}

/// Flushes `[addr, addr + len)`, then drains.
///
/// # Safety
///
/// As for [`flush_raw`].
///
/// ```
/// let data = [1u8; 100];
/// // SAFETY: `data` is readable for its whole length.
/// unsafe { pmem_flush::persist_raw(data.as_ptr(), data.len()) };
/// ```
pub unsafe fn persist_raw(addr: *const u8, len: usize) {
    // SAFETY: the caller's contract.
    unsafe { write_back_cached(false, true, addr, len) }
}

/// Writes `buf` back with the deepest write-back there is, at every granularity, then drains
/// (libpmem2's `pmem2_deep_flush` for the CPU caches).
///
/// ```
/// pmem_flush::deep_flush(&[0u8; 128]);
/// ```
#[inline]
pub fn deep_flush(buf: &[u8]) {
    // SAFETY: a slice is readable for its whole length.
    unsafe { deep_flush_raw(buf.as_ptr(), buf.len()) }
}

/// Deep-flushes `value`'s bytes (see [`deep_flush`] and [`flush_value`]).
///
/// ```
/// pmem_flush::deep_flush_value(&[7u64; 8]);
/// ```
#[inline]
pub fn deep_flush_value<T: InPlace + ?Sized>(value: &T) {
    // SAFETY: a reference is readable for `size_of_val` bytes.
    unsafe { deep_flush_raw((value as *const T).cast(), core::mem::size_of_val(value)) }
}

/// Deep-flushes `[addr, addr + len)`.
///
/// # Safety
///
/// As for [`flush_raw`].
///
/// ```
/// let data = [1u8; 100];
/// // SAFETY: `data` is readable for its whole length.
/// unsafe { pmem_flush::deep_flush_raw(data.as_ptr(), data.len()) };
/// ```
pub unsafe fn deep_flush_raw(addr: *const u8, len: usize) {
    // SAFETY: the caller's contract.
    unsafe { write_back_cached(true, true, addr, len) }
}

/// Invalidates `buf`: so that later loads read memory that a device or another agent wrote,
/// not stale cache lines (Linux's `arch_invalidate_pmem`). See [`Flusher::invalidate_raw`] for
/// what it executes on each architecture; this is the free functions' selection.
///
/// ```
/// let dma_buffer = [0u8; 4096]; // written by a device, say, once it said it is done
/// pmem_flush::invalidate(&dma_buffer);
/// // Loads of `dma_buffer` now read memory, not stale lines.
/// ```
#[inline]
pub fn invalidate(buf: &[u8]) {
    // SAFETY: a slice is readable for its whole length.
    unsafe { invalidate_raw(buf.as_ptr(), buf.len()) }
}

/// Invalidates `value`'s bytes (see [`invalidate`] and [`flush_value`]).
///
/// ```
/// use core::sync::atomic::{AtomicU64, Ordering};
/// let completion = AtomicU64::new(0); // a status word a device writes, say
/// pmem_flush::invalidate_value(&completion);
/// let status = completion.load(Ordering::Acquire); // from memory, not a stale line
/// # let _ = status;
/// ```
#[inline]
pub fn invalidate_value<T: InPlace + ?Sized>(value: &T) {
    // SAFETY: a reference is readable for `size_of_val` bytes.
    unsafe { invalidate_raw((value as *const T).cast(), core::mem::size_of_val(value)) }
}

/// Invalidates `[addr, addr + len)`: the invalidation fence, every line that overlaps the range
/// written back and evicted, the fence again (see [`Flusher::invalidate_raw`]). `len == 0`
/// evicts nothing and still fences.
///
/// # Safety
///
/// As for [`flush_raw`].
///
/// ```
/// let data = [1u8; 100];
/// // SAFETY: `data` is readable for its whole length.
/// unsafe { pmem_flush::invalidate_raw(data.as_ptr(), data.len()) };
/// ```
// Out of line, as `flush_raw` is; the eviction is derived from the word's features here, so
// the flush paths keep their one compare.
pub unsafe fn invalidate_raw(addr: *const u8, len: usize) {
    let word = GLOBAL.word();
    // SAFETY: the cell holds this CPU's own selection (or one the caller vouched for in
    // `configure_unchecked`), whose eviction this CPU has; the caller guarantees the range is
    // mapped.
    unsafe { arch::invalidate_range(word.evict(), addr, len, word.shift()) }
}

/// Commits: one failure-atomic 8-byte store of `value` into `word`, its write-back, and a
/// drain (see [`Persist::commit`]). Persist what the word commits first.
///
/// ```
/// use core::sync::atomic::{AtomicU64, Ordering};
/// let mut records = [0u8; 64];
/// let count = AtomicU64::new(0);
/// pmem_flush::memcpy_persist(&mut records[..8], &7u64.to_le_bytes()).unwrap();
/// pmem_flush::commit(&count, 1);
/// assert_eq!(count.load(Ordering::Relaxed), 1);
/// ```
#[cfg(target_has_atomic = "64")]
#[inline]
pub fn commit(word: &core::sync::atomic::AtomicU64, value: u64) {
    word.store(value, core::sync::atomic::Ordering::Release);
    persist_value(word);
}

/// Whether the machine has an explicit hardware drain instruction for persistent memory, in
/// libpmem's sense: no architecture does, so this is `false` everywhere (as
/// `pmem_has_hw_drain`). Call [`drain`] after flushing all the same.
///
/// ```
/// assert!(!pmem_flush::has_hw_drain());
/// ```
#[inline]
#[must_use]
pub const fn has_hw_drain() -> bool {
    false
}

/// The [`Flusher`] the free functions use: the same selection, environment overrides included
/// (feature `std`). The way to keep a value that agrees with the free functions.
///
/// ```
/// use pmem_flush::prelude::*;
/// let f = pmem_flush::flusher();
/// f.persist(&[0u8; 64]);
/// assert_eq!(f.flush_write_back(), pmem_flush::selection().flush_write_back());
/// ```
#[must_use]
pub fn flusher() -> Flusher {
    Flusher::from_word(GLOBAL.word())
}

/// The [`Drainer`]: the drain is the same everywhere on this target.
///
/// ```
/// use pmem_flush::prelude::*;
/// pmem_flush::drainer().drain();
/// ```
#[inline]
#[must_use]
pub const fn drainer() -> Drainer {
    Drainer::new()
}

/// The selection the free functions use, detecting first if nothing has yet. Its `Display`
/// explains each choice.
///
/// ```
/// let selection = pmem_flush::selection();
/// println!("{selection}");
/// ```
#[must_use]
pub fn selection() -> Selection {
    GLOBAL.selection()
}

/// Detects now, if nothing has been detected or configured yet, and returns the selection the
/// free functions use.
///
/// The first use of the global selection (any free function, [`flusher`], [`selection`], the
/// getters) detects. Without `std` that is a few register reads. With `std` it also reads
/// libpmem's environment variables, which allocates and takes the standard library's
/// environment lock, and on 64-bit POWER Linux it reads `/proc/self/auxv`. Call `init` early
/// (before signal handlers, allocator hooks or interrupt handlers may flush) so that no later
/// call does any of that. A configuration already made is kept.
///
/// ```
/// let selection = pmem_flush::init();
/// assert_eq!(selection, pmem_flush::selection());
/// ```
pub fn init() -> Selection {
    GLOBAL.selection()
}

/// Detects the CPU and makes the free functions use `config` from now on.
///
/// A configuration always wins over a first use racing it: the detection of that first use
/// never overwrites it. Values obtained earlier keep the selection they were made from:
/// [`Flusher`]s, and the pointers from [`get_flush_fn`], [`get_persist_fn`],
/// [`get_deep_flush_fn`] and [`get_invalidate_fn`]. The free functions, and the pointers from
/// [`get_memmove_fn`], [`get_memcpy_fn`] and [`get_memset_fn`] (which are free functions),
/// follow the new one.
///
/// ```standalone_crate
/// // (A process of its own: doc tests share one otherwise, and this changes the global
/// // selection the others read.)
/// use pmem_flush::{Config, Granularity};
/// pmem_flush::configure(Config::new().with_granularity(Granularity::Byte));
/// assert_eq!(pmem_flush::selection().config().granularity(), Granularity::Byte);
/// # pmem_flush::configure(Config::new());
/// ```
pub fn configure(config: Config) {
    GLOBAL.store(&Selection::detect(config));
}

/// Makes the free functions use `selection`, for environments where the CPU cannot be asked
/// (features the embedder knows from a device tree, ACPI, or the platform's eADR status). As
/// [`configure`] for racing first uses and values obtained earlier.
///
/// # Safety
///
/// As for [`Flusher::new_unchecked`]: the selection is for this target and every CPU that will
/// flush supports its instructions and has lines no smaller than its line size.
///
/// ```standalone_crate
/// // (A process of its own, as for `configure`.)
/// use pmem_flush::{Config, Selection};
/// let detected = Selection::detect(Config::new());
/// // SAFETY: detected on this CPU.
/// unsafe { pmem_flush::configure_unchecked(&detected) };
/// ```
pub unsafe fn configure_unchecked(selection: &Selection) {
    GLOBAL.store(selection);
}

/// A plain function that does what [`flush_raw`] does with the current selection, with the
/// instruction and line size fixed in it (libpmem2's `pmem2_get_flush_fn`). Every call returns
/// the same function until [`configure`] changes the selection (Rust does not promise that two
/// pointers to one function compare equal, so compare what they do, not their addresses).
///
/// ```
/// let flush = pmem_flush::get_flush_fn();
/// let data = [0u8; 64];
/// // SAFETY: `data` is readable for its whole length.
/// unsafe { flush(data.as_ptr(), data.len()) };
/// ```
#[must_use]
pub fn get_flush_fn() -> FlushFn {
    flusher().flush_fn()
}

/// A plain function that does what [`persist_raw`] does with the current selection (libpmem2's
/// `pmem2_get_persist_fn`), as [`get_flush_fn`].
///
/// ```
/// let persist = pmem_flush::get_persist_fn();
/// let data = [0u8; 64];
/// // SAFETY: `data` is readable for its whole length.
/// unsafe { persist(data.as_ptr(), data.len()) };
/// ```
#[must_use]
pub fn get_persist_fn() -> PersistFn {
    flusher().persist_fn()
}

/// A plain function equal to [`drain`] (libpmem2's `pmem2_get_drain_fn`). Never null.
///
/// ```
/// pmem_flush::get_drain_fn()();
/// ```
#[must_use]
pub fn get_drain_fn() -> DrainFn {
    drainer().drain_fn()
}

/// A plain function that does what [`deep_flush_raw`] does with the current selection, as
/// [`get_flush_fn`].
///
/// ```
/// let deep = pmem_flush::get_deep_flush_fn();
/// let data = [0u8; 64];
/// // SAFETY: `data` is readable for its whole length.
/// unsafe { deep(data.as_ptr(), data.len()) };
/// ```
#[must_use]
pub fn get_deep_flush_fn() -> PersistFn {
    flusher().deep_flush_fn()
}

/// A plain function that does what [`invalidate_raw`] does with the current selection, with the
/// instruction and line size fixed in it, as [`get_flush_fn`].
///
/// ```
/// let invalidate = pmem_flush::get_invalidate_fn();
/// let data = [0u8; 64];
/// // SAFETY: `data` is readable for its whole length.
/// unsafe { invalidate(data.as_ptr(), data.len()) };
/// ```
#[must_use]
pub fn get_invalidate_fn() -> PersistFn {
    flusher().invalidate_fn()
}

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
