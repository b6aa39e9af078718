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
//! // 2. A pair you keep, like libpmem2's: detect once, call many times, or hand out plain
//! //    function pointers.
//! use pmem_flush::{Config, Drain, Flush, Flusher};
//! let flusher = Flusher::new(Config::new());
//! let drainer = flusher.drainer();
//! flusher.flush(&log[..64]);
//! flusher.flush(&log[128..]);
//! drainer.drain();
//! let persist = pmem_flush::get_persist_fn();
//! // SAFETY: `log` is readable for its whole length.
//! unsafe { persist(log.as_ptr(), log.len()) };
//!
//! // 3. A concrete instruction type, when you know the hardware: no dispatch at all.
//! # #[cfg(target_arch = "x86_64")] {
//! if let Some(clwb) = pmem_flush::arch::x86_64::Clwb::new() {
//!     clwb.flush(&log);
//!     pmem_flush::arch::x86_64::sfence();
//! }
//! # }
//! ```
//!
//! # The layers
//!
//! [`features`] decodes raw register values into [`Cpu`] (pure, tested on any host);
//! [`Selection`] picks instructions from a [`Cpu`] and a [`Config`] (pure) and explains itself
//! in `Display`; [`Flusher`] and [`Drainer`] execute a selection; the free functions use one
//! selection cached in a lock-free cell; [`arch`] holds one module per instruction.
//!
//! # Contracts
//!
//! - Flush covers every line that overlaps `[addr, addr + len)`; `len == 0` touches nothing; no
//!   end address that could wrap is computed, and a range claiming to run past the top of the
//!   address space is cut at the top.
//! - Drain is SFENCE on x86-64 (also after CLFLUSH), DSB SY on AArch64, phwsync on 64-bit
//!   POWER, FENCE iorw,iorw on RISC-V, a sequentially consistent atomic fence elsewhere.
//!   [`has_hw_drain`] is `false`.
//! - Byte granularity (eADR): flush does nothing, drain still fences, deep flush still writes
//!   back.
//! - Nothing on a flush or drain path allocates, locks, panics or calls the OS: safe from
//!   interrupt context.
//!
//! # Configuration
//!
//! The free functions detect with [`Config::new`] (libpmem's defaults) on first use, or with
//! libpmem's environment variables when the `std` feature is on (`PMEM_NO_CLWB`,
//! `PMEM_NO_CLFLUSHOPT`, `PMEM_NO_FLUSH`). [`configure`] replaces that choice; call it before
//! other threads start flushing, since a flush racing it may use either selection.
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

#[cfg(any(test, feature = "std"))]
extern crate std;

pub mod arch;
mod cell;
pub mod features;
mod lines;
mod mem;
mod persist;
mod selection;
#[cfg(feature = "std")]
mod std_support;

use cell::GLOBAL;
pub use features::{Cpu, Features};
pub use mem::{
    Copier, CopyError, MemFlags, MemmoveFn, MemsetFn, NonTemporal, Plan, Stores, choose, copier,
    get_memcpy_fn, get_memmove_fn, get_memset_fn, memcpy, memcpy_nodrain, memcpy_nodrain_raw,
    memcpy_persist, memcpy_persist_raw, memcpy_raw, memmove, memmove_nodrain, memmove_nodrain_raw,
    memmove_persist, memmove_persist_raw, memmove_raw, memset, memset_nodrain, memset_nodrain_raw,
    memset_persist, memset_persist_raw, memset_raw,
};
pub use persist::{Drain, DrainFn, Drainer, Flush, FlushFn, Flusher, PageHook, PersistFn};
pub use selection::{Arch, Config, DEFAULT_NT_THRESHOLD, Fence, Granularity, Selection, WriteBack};
#[cfg(feature = "std")]
pub use std_support::{FeatureMismatch, cross_check};

/// Writes back every cache line that overlaps `buf` (libpmem's `pmem_flush`).
#[inline]
pub fn flush(buf: &[u8]) {
    // SAFETY: a slice is readable for its whole length.
    unsafe { flush_raw(buf.as_ptr(), buf.len()) }
}

/// Writes back every cache line that overlaps `value`'s bytes.
///
/// Flushes the value itself: for a `Vec` or `Box` that is the handle, not the heap data.
#[inline]
pub fn flush_value<T: ?Sized>(value: &T) {
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
                drain();
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
    use super::{GLOBAL, arch, drain};

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
            drain();
        }
    }
}

/// Waits until earlier flushes and non-temporal stores are ordered before later stores
/// (libpmem's `pmem_drain`): SFENCE on x86-64, DSB SY on AArch64, phwsync on 64-bit POWER,
/// FENCE iorw,iorw on RISC-V.
#[inline]
pub fn drain() {
    arch::fence(arch::DRAIN);
}

/// Flushes `buf`, then drains (libpmem's `pmem_persist`).
#[inline]
pub fn persist(buf: &[u8]) {
    // SAFETY: a slice is readable for its whole length.
    unsafe { persist_raw(buf.as_ptr(), buf.len()) }
}

/// Flushes `value`'s bytes, then drains (see [`flush_value`]).
#[inline]
pub fn persist_value<T: ?Sized>(value: &T) {
    // SAFETY: a reference is readable for `size_of_val` bytes.
    unsafe { persist_raw((value as *const T).cast(), core::mem::size_of_val(value)) }
}

/// Flushes `[addr, addr + len)`, then drains.
///
/// # Safety
///
/// As for [`flush_raw`].
pub unsafe fn persist_raw(addr: *const u8, len: usize) {
    // SAFETY: the caller's contract.
    unsafe { write_back_cached(false, true, addr, len) }
}

/// Writes `buf` back with the deepest write-back there is, at every granularity, then drains
/// (libpmem2's `pmem2_deep_flush` for the CPU caches).
#[inline]
pub fn deep_flush(buf: &[u8]) {
    // SAFETY: a slice is readable for its whole length.
    unsafe { deep_flush_raw(buf.as_ptr(), buf.len()) }
}

/// Deep-flushes `value`'s bytes (see [`deep_flush`] and [`flush_value`]).
#[inline]
pub fn deep_flush_value<T: ?Sized>(value: &T) {
    // SAFETY: a reference is readable for `size_of_val` bytes.
    unsafe { deep_flush_raw((value as *const T).cast(), core::mem::size_of_val(value)) }
}

/// Deep-flushes `[addr, addr + len)`.
///
/// # Safety
///
/// As for [`flush_raw`].
pub unsafe fn deep_flush_raw(addr: *const u8, len: usize) {
    // SAFETY: the caller's contract.
    unsafe { write_back_cached(true, true, addr, len) }
}

/// Whether the machine has an explicit hardware drain instruction for persistent memory, in
/// libpmem's sense: no architecture does, so this is `false` everywhere (as
/// `pmem_has_hw_drain`). Call [`drain`] after flushing all the same.
#[inline]
pub const fn has_hw_drain() -> bool {
    false
}

/// The [`Flusher`] the free functions use.
pub fn flusher() -> Flusher {
    let sel = GLOBAL.selection();
    // SAFETY: the cell holds this CPU's own selection or one the caller vouched for.
    unsafe { Flusher::new_unchecked(&sel) }
}

/// The [`Drainer`] the free functions use.
#[inline]
pub const fn drainer() -> Drainer {
    Drainer::new()
}

/// The selection the free functions use, detecting first if nothing has yet. Its `Display`
/// explains each choice.
pub fn selection() -> Selection {
    GLOBAL.selection()
}

/// Detects the CPU and makes the free functions use `config` from now on.
pub fn configure(config: Config) {
    GLOBAL.store(&Selection::detect(config));
}

/// Makes the free functions use `selection`, for environments where the CPU cannot be asked
/// (features the embedder knows from a device tree, ACPI, or the platform's eADR status).
///
/// # Safety
///
/// As for [`Flusher::new_unchecked`]: the selection is for this target and every CPU that will
/// flush supports its instructions and has lines no smaller than its line size.
pub unsafe fn configure_unchecked(selection: &Selection) {
    GLOBAL.store(selection);
}

/// A plain function equal to [`flush_raw`] for the current selection, with no dispatch left
/// (libpmem2's `pmem2_get_flush_fn`). Returns the same pointer on every call until the
/// selection is changed by [`configure`].
pub fn get_flush_fn() -> FlushFn {
    flusher().flush_fn()
}

/// A plain function equal to [`persist_raw`] for the current selection (libpmem2's
/// `pmem2_get_persist_fn`). Same pointer on every call, as [`get_flush_fn`].
pub fn get_persist_fn() -> PersistFn {
    flusher().persist_fn()
}

/// A plain function equal to [`drain`] (libpmem2's `pmem2_get_drain_fn`). Never null, same
/// pointer on every call.
pub fn get_drain_fn() -> DrainFn {
    drainer().drain_fn()
}

/// A plain function equal to [`deep_flush_raw`] for the current selection.
pub fn get_deep_flush_fn() -> PersistFn {
    flusher().deep_flush_fn()
}

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
