//! Persistent memmove / memcpy / memset with libpmem's flags.
//!
//! A copy stores the data and makes it persistent in one pass: ordinary (temporal) stores
//! followed by a write-back of each line, or non-temporal stores that bypass the caches, chosen
//! by [`choose`] from the flags, the length, the granularity and the threshold exactly as
//! libpmem chooses. Then it drains, unless the flags say not to.
//!
//! Promises beyond libpmem's:
//! - wherever the destination and the length are multiples of 8, every store is at least 8 bytes
//!   wide, on every path of every 64-bit target (PMDK's SIMD paths used two 4-byte stores at
//!   length 8); `scripts/check-store-widths.sh` checks it in the built code of each backend
//!   target; a 32-bit target may split an 8-byte store in two;
//! - nothing outside `[dst, dst + len)` is written and nothing outside `[src, src + len)` is
//!   read, on every path;
//! - the MOVDIR64B path uses MOVDIR64B and general-purpose registers only; vector paths are
//!   used only when the CPU and the OS allow them and never in builds with SSE off.

mod small;
mod temporal;
mod words;
#[cfg(target_arch = "x86_64")]
mod x86_64;

use core::fmt;
use core::ops::Range;

use bitflags::bitflags;

use crate::arch;
use crate::cell::GLOBAL;
use crate::persist::Flusher;
use crate::selection::{Granularity, WriteBack};
use crate::traits::{Drain, Flush, Persist};
use temporal::Vectors;

bitflags! {
    /// libpmem's `PMEM_F_MEM_*` flags, with its bit values. Other bits (from
    /// [`from_bits_retain`](MemFlags::from_bits_retain)) are ignored, as libpmem's release
    /// builds ignore them.
    ///
    /// ```
    /// use pmem_flush::{MemFlags, prelude::*};
    /// let flusher = pmem_flush::flusher();
    /// let mut log = [0u8; 4096];
    /// let records = [[1u8; 64], [2u8; 64]];
    /// // Several copies, one drain (libpmem's PMEM_F_MEM_NODRAIN), non-temporal where possible.
    /// let flags = MemFlags::NONTEMPORAL | MemFlags::NODRAIN;
    /// for (i, record) in records.iter().enumerate() {
    ///     flusher.memcpy(&mut log[i * 64..][..64], record, flags).unwrap();
    /// }
    /// flusher.drain();
    /// assert!(flags.contains(MemFlags::NODRAIN));
    /// assert_eq!(MemFlags::NOFLUSH.bits(), 32); // libpmem's values
    /// ```
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct MemFlags: u32 {
        /// Do not drain at the end: the caller will call [`drain`](crate::drain).
        const NODRAIN = 1;
        /// Use non-temporal stores.
        const NONTEMPORAL = 2;
        /// Use ordinary (temporal) stores, then write the lines back.
        const TEMPORAL = 4;
        /// The destination is write-combining memory: non-temporal stores.
        const WC = 8;
        /// The destination is write-back memory: ordinary stores, then write-backs.
        const WB = 16;
        /// Ordinary stores, no write-back and no drain: the caller persists later.
        const NOFLUSH = 32;
    }
}

/// The non-temporal stores a copy can use, by instruction set. Chosen by
/// [`Selection::non_temporal`](crate::Selection::non_temporal).
///
/// ```
/// use pmem_flush::{NonTemporal, prelude::*};
/// // What the copies of this machine's selection use for long copies, and how it is named.
/// let nt: NonTemporal = pmem_flush::flusher().non_temporal();
/// println!("long copies store with {}", nt.mnemonic());
/// # #[cfg(not(target_arch = "x86_64"))]
/// assert_eq!(nt, NonTemporal::None); // non-temporal stores are an x86-64 path
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
#[non_exhaustive]
pub enum NonTemporal {
    /// None available or allowed: copies use ordinary stores and write-backs.
    None = 0,
    /// x86 `MOVNTI`, 8 bytes from a general-purpose register: no vector state needed, so this is
    /// the path for kernels built with SSE off.
    Movnti = 1,
    /// x86 SSE2 `MOVNTDQ`, 16 bytes.
    Sse2 = 2,
    /// x86 AVX `VMOVNTDQ`, 32 bytes.
    Avx = 3,
    /// x86 AVX-512F `VMOVNTDQ`, 64 bytes.
    Avx512f = 4,
    /// x86 `MOVDIR64B`, 64 bytes memory to memory, no vector registers (opt-in).
    Movdir64b = 5,
}

impl NonTemporal {
    /// The inverse of `as u8`; unknown values give `None`.
    #[inline(always)]
    pub(crate) const fn from_u8(v: u8) -> NonTemporal {
        match v {
            1 => NonTemporal::Movnti,
            2 => NonTemporal::Sse2,
            3 => NonTemporal::Avx,
            4 => NonTemporal::Avx512f,
            5 => NonTemporal::Movdir64b,
            _ => NonTemporal::None,
        }
    }

    /// The instruction, as the selection's `Display` names it.
    ///
    /// ```
    /// assert!(pmem_flush::NonTemporal::Movnti.mnemonic().starts_with("movnti"));
    /// ```
    #[must_use]
    pub const fn mnemonic(self) -> &'static str {
        match self {
            NonTemporal::None => "none",
            NonTemporal::Movnti => "movnti (8 bytes, general-purpose registers)",
            NonTemporal::Sse2 => "movntdq (SSE2, 16 bytes)",
            NonTemporal::Avx => "vmovntdq (AVX, 32 bytes)",
            NonTemporal::Avx512f => "vmovntdq (AVX-512F, 64 bytes)",
            NonTemporal::Movdir64b => "movdir64b (64 bytes)",
        }
    }
}

/// How a copy stores its data.
///
/// ```
/// use pmem_flush::{Granularity, MemFlags, NonTemporal, Stores, choose};
/// let plan = choose(MemFlags::NOFLUSH, 64, Granularity::CacheLine, 256, NonTemporal::None);
/// assert_eq!(plan.stores(), Stores::Temporal);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Stores {
    /// Ordinary stores, no write-back (byte granularity, or `NOFLUSH`).
    Temporal,
    /// Ordinary stores, each line written back after it is stored.
    TemporalWriteBack,
    /// Non-temporal stores of this kind for whole lines; the partial first line is stored
    /// ordinarily and written back.
    NonTemporal(NonTemporal),
}

/// What one copy does: its stores, and whether it drains at the end.
///
/// ```
/// use pmem_flush::{Granularity, MemFlags, NonTemporal, Stores, choose};
/// let plan = choose(MemFlags::NODRAIN, 4096, Granularity::CacheLine, 256, NonTemporal::Sse2);
/// assert_eq!(plan.stores(), Stores::NonTemporal(NonTemporal::Sse2));
/// assert!(!plan.drains());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Plan {
    pub(crate) stores: Stores,
    pub(crate) drain: bool,
}

impl Plan {
    /// How the data is stored.
    ///
    /// ```
    /// use pmem_flush::{Granularity, MemFlags, NonTemporal, Stores, choose};
    /// let plan = choose(MemFlags::TEMPORAL, 4096, Granularity::CacheLine, 256, NonTemporal::Avx);
    /// assert_eq!(plan.stores(), Stores::TemporalWriteBack);
    /// ```
    #[inline]
    #[must_use]
    pub const fn stores(&self) -> Stores {
        self.stores
    }

    /// Whether a drain follows (not with `NODRAIN` or `NOFLUSH`). It follows even when the
    /// copy stores nothing (zero length, or a move onto itself), as in libpmem.
    ///
    /// ```
    /// use pmem_flush::{Granularity, MemFlags, NonTemporal, choose};
    /// assert!(choose(MemFlags::empty(), 0, Granularity::CacheLine, 256, NonTemporal::None).drains());
    /// assert!(!choose(MemFlags::NOFLUSH, 0, Granularity::CacheLine, 256, NonTemporal::None).drains());
    /// ```
    #[inline]
    #[must_use]
    pub const fn drains(&self) -> bool {
        self.drain
    }
}

/// libpmem's choice of stores for a copy of `len` bytes, in its order of precedence.
///
/// Cache-line granularity: `NOFLUSH` gives ordinary stores without write-back; otherwise `WC` or
/// `NONTEMPORAL` non-temporal stores; otherwise `WB` or `TEMPORAL` ordinary stores with
/// write-back; otherwise non-temporal from `threshold` bytes up (`len == threshold` is
/// non-temporal), ordinary with write-back below.
///
/// Byte granularity (eADR): `NOFLUSH` gives ordinary stores; `NONTEMPORAL` non-temporal;
/// anything else (`WC` included) ordinary stores without write-back.
///
/// Where `nt` is [`NonTemporal::None`], non-temporal becomes ordinary stores (with write-back
/// at cache-line granularity). A drain follows unless `NODRAIN` or `NOFLUSH` is set.
///
/// ```
/// use pmem_flush::{Granularity, MemFlags, NonTemporal, Stores, choose};
/// let nt = NonTemporal::Avx512f;
/// let at = |flags, len, g| choose(flags, len, g, 256, nt).stores();
/// // libpmem's table: below the threshold ordinary stores + write-back, from it non-temporal.
/// assert_eq!(at(MemFlags::empty(), 128, Granularity::CacheLine), Stores::TemporalWriteBack);
/// assert_eq!(at(MemFlags::empty(), 1024, Granularity::CacheLine), Stores::NonTemporal(nt));
/// // eADR: ordinary stores without write-back unless NONTEMPORAL asks.
/// assert_eq!(at(MemFlags::WC, 1024, Granularity::Byte), Stores::Temporal);
/// assert_eq!(at(MemFlags::NONTEMPORAL, 128, Granularity::Byte), Stores::NonTemporal(nt));
/// ```
#[must_use]
pub const fn choose(
    flags: MemFlags,
    len: usize,
    granularity: Granularity,
    threshold: usize,
    nt: NonTemporal,
) -> Plan {
    let non_temporal = match granularity {
        Granularity::CacheLine => {
            if flags.contains(MemFlags::NOFLUSH) {
                Some(false)
            } else if flags.intersects(MemFlags::WC.union(MemFlags::NONTEMPORAL)) {
                Some(true)
            } else if flags.intersects(MemFlags::WB.union(MemFlags::TEMPORAL)) || len < threshold {
                None
            } else {
                Some(true)
            }
        }
        Granularity::Byte => {
            Some(!flags.contains(MemFlags::NOFLUSH) && flags.contains(MemFlags::NONTEMPORAL))
        }
    };
    // `Some(true)`: non-temporal; `Some(false)`: ordinary, no write-back; `None`: ordinary with
    // write-back.
    let stores = match (non_temporal, nt, granularity) {
        (Some(true), NonTemporal::None, Granularity::CacheLine) | (None, _, _) => {
            Stores::TemporalWriteBack
        }
        (Some(true), NonTemporal::None, Granularity::Byte) | (Some(false), _, _) => {
            Stores::Temporal
        }
        (Some(true), nt, _) => Stores::NonTemporal(nt),
    };
    Plan {
        stores,
        drain: !flags.intersects(MemFlags::NODRAIN.union(MemFlags::NOFLUSH)),
    }
}

/// Why a safe copy did nothing.
///
/// ```
/// let mut dst = [0u8; 4];
/// let err = pmem_flush::memcpy_persist(&mut dst, &[1, 2, 3]).unwrap_err();
/// assert_eq!(err, pmem_flush::CopyError::LengthMismatch { dst: 4, src: 3 });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CopyError {
    /// Source and destination slices differ in length.
    LengthMismatch {
        /// The destination's length.
        dst: usize,
        /// The source's length.
        src: usize,
    },
    /// A range lies outside the buffer, or starts after its end.
    OutOfBounds,
}

impl fmt::Display for CopyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CopyError::LengthMismatch { dst, src } => {
                write!(f, "destination is {dst} bytes, source {src}")
            }
            CopyError::OutOfBounds => f.write_str("range outside the buffer"),
        }
    }
}

impl core::error::Error for CopyError {}

/// `Ok` when a copy's slices have the same length.
#[inline(always)]
pub(crate) fn check_lengths(dst: usize, src: usize) -> Result<(), CopyError> {
    if dst == src {
        Ok(())
    } else {
        Err(CopyError::LengthMismatch { dst, src })
    }
}

/// `(from, to, len)` for moving `src` to `dest` within a buffer of `buf_len` bytes, when both
/// ranges lie inside it.
#[inline(always)]
pub(crate) fn check_within(
    buf_len: usize,
    src: Range<usize>,
    dest: usize,
) -> Result<(usize, usize, usize), CopyError> {
    let len = src
        .end
        .checked_sub(src.start)
        .ok_or(CopyError::OutOfBounds)?;
    let dest_end = dest.checked_add(len).ok_or(CopyError::OutOfBounds)?;
    if src.end > buf_len || dest_end > buf_len {
        return Err(CopyError::OutOfBounds);
    }
    Ok((src.start, dest, len))
}

/// Ordinary stores only: the bytes of a move, no write-back.
///
/// # Safety
///
/// `src` readable and `dst` writable for `len` bytes (they may overlap).
#[inline]
unsafe fn store_only_memmove(dst: *mut u8, src: *const u8, len: usize) {
    // SAFETY: the caller's contract; `WriteBack::None` executes no instruction.
    unsafe {
        temporal::memmove(
            dst,
            src,
            len,
            WriteBack::None,
            6,
            Vectors::allowed_by(NonTemporal::None),
        )
    }
}

/// Ordinary stores only: the bytes of a fill, no write-back.
///
/// # Safety
///
/// `dst` writable for `len` bytes.
#[inline]
unsafe fn store_only_memset(dst: *mut u8, pattern: u64, len: usize) {
    // SAFETY: the caller's contract; `WriteBack::None` executes no instruction.
    unsafe {
        temporal::memset(
            dst,
            pattern,
            len,
            WriteBack::None,
            6,
            Vectors::allowed_by(NonTemporal::None),
        )
    }
}

/// [`Persist::memmove_raw`] for any flush and drain: ordinary stores, one `flush_raw` of the
/// whole range unless `NOFLUSH`, a drain unless `NODRAIN`/`NOFLUSH` (zero length included).
///
/// # Safety
///
/// As for [`Persist::memmove_raw`].
#[inline]
pub(crate) unsafe fn memmove_with_flush<P: Flush + Drain + ?Sized>(
    p: &P,
    dst: *mut u8,
    src: *const u8,
    len: usize,
    flags: MemFlags,
) -> *mut u8 {
    let plan = choose(
        flags,
        len,
        Granularity::CacheLine,
        usize::MAX,
        NonTemporal::None,
    );
    if len != 0 && dst.cast_const() != src {
        // SAFETY: the caller's contract.
        unsafe { store_only_memmove(dst, src, len) };
        if plan.stores != Stores::Temporal {
            // SAFETY: the destination was just written, so it is mapped and readable.
            unsafe { p.flush_raw(dst, len) };
        }
    }
    if plan.drain {
        p.drain();
    }
    dst
}

/// [`Persist::memset_raw`] for any flush and drain, as [`memmove_with_flush`].
///
/// # Safety
///
/// As for [`Persist::memset_raw`].
#[inline]
pub(crate) unsafe fn memset_with_flush<P: Flush + Drain + ?Sized>(
    p: &P,
    dst: *mut u8,
    value: u8,
    len: usize,
    flags: MemFlags,
) -> *mut u8 {
    let plan = choose(
        flags,
        len,
        Granularity::CacheLine,
        usize::MAX,
        NonTemporal::None,
    );
    if len != 0 {
        // SAFETY: the caller's contract.
        unsafe { store_only_memset(dst, u64::from_ne_bytes([value; 8]), len) };
        if plan.stores != Stores::Temporal {
            // SAFETY: the destination was just written, so it is mapped and readable.
            unsafe { p.flush_raw(dst, len) };
        }
    }
    if plan.drain {
        p.drain();
    }
    dst
}

/// [`Persist::memmove_raw`] on a [`Flusher`]: its plan, the chosen store path, the drain.
/// Always inlined, so the free functions decide the plan and call the chosen path directly.
///
/// # Safety
///
/// As for [`Persist::memmove_raw`]; the flusher's instructions are supported (its
/// constructor's contract).
#[inline(always)]
pub(crate) unsafe fn memmove_selected(
    f: &Flusher,
    dst: *mut u8,
    src: *const u8,
    len: usize,
    flags: MemFlags,
) -> *mut u8 {
    let plan = f.plan(flags, len);
    // libpmem's copy returns at once for a zero length or a move onto itself; its `_persist`
    // forms and the flag forms without NODRAIN/NOFLUSH still drain afterwards.
    if len != 0 && dst.cast_const() != src {
        let (wb, shift) = write_back_for(f, plan);
        // SAFETY: the caller's contract for the ranges; the flusher's for the instructions.
        unsafe {
            match plan.stores {
                Stores::NonTemporal(nt) => non_temporal_memmove(nt, dst, src, len, wb, shift),
                // Short copies inline: a handful of stores and one or two write-backs.
                _ if len <= 64 => {
                    small::move_block(dst, src, len);
                    arch::write_back_range(wb, dst, len, shift);
                }
                _ => temporal::memmove(
                    dst,
                    src,
                    len,
                    wb,
                    shift,
                    Vectors::allowed_by(f.non_temporal()),
                ),
            }
        }
    }
    if plan.drain {
        arch::drain();
    }
    dst
}

/// [`Persist::memset_raw`] on a [`Flusher`], as [`memmove_selected`].
///
/// # Safety
///
/// As for [`Persist::memset_raw`]; the flusher's instructions are supported.
#[inline(always)]
pub(crate) unsafe fn memset_selected(
    f: &Flusher,
    dst: *mut u8,
    value: u8,
    len: usize,
    flags: MemFlags,
) -> *mut u8 {
    let plan = f.plan(flags, len);
    if len != 0 {
        let pattern = u64::from_ne_bytes([value; 8]);
        let (wb, shift) = write_back_for(f, plan);
        // SAFETY: the caller's contract for the range; the flusher's for the instructions.
        unsafe {
            match plan.stores {
                Stores::NonTemporal(nt) => non_temporal_memset(nt, dst, pattern, len, wb, shift),
                _ if len <= 64 => {
                    small::set_block(dst, pattern, len);
                    arch::write_back_range(wb, dst, len, shift);
                }
                _ => temporal::memset(
                    dst,
                    pattern,
                    len,
                    wb,
                    shift,
                    Vectors::allowed_by(f.non_temporal()),
                ),
            }
        }
    }
    if plan.drain {
        arch::drain();
    }
    dst
}

/// The write-back a plan's stores need (none for plain ordinary stores) and the line shift.
#[inline(always)]
fn write_back_for(f: &Flusher, plan: Plan) -> (WriteBack, u8) {
    let wb = match plan.stores {
        Stores::Temporal => WriteBack::None,
        _ => f.flush_write_back(),
    };
    (wb, f.line_shift())
}

/// Moves with non-temporal stores of kind `nt`.
///
/// # Safety
///
/// The CPU supports `nt` and `write_back`; the ranges are valid as for `core::ptr::copy`.
#[inline]
unsafe fn non_temporal_memmove(
    nt: NonTemporal,
    dst: *mut u8,
    src: *const u8,
    len: usize,
    write_back: WriteBack,
    shift: u8,
) {
    // SAFETY: the caller's contract, passed on.
    unsafe {
        match nt {
            #[cfg(target_arch = "x86_64")]
            NonTemporal::Movnti => x86_64::memmove_movnti(dst, src, len, write_back, shift),
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            NonTemporal::Sse2 => x86_64::memmove_sse2(dst, src, len, write_back, shift),
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            NonTemporal::Avx => x86_64::memmove_avx(dst, src, len, write_back, shift),
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            NonTemporal::Avx512f => x86_64::memmove_avx512f(dst, src, len, write_back, shift),
            #[cfg(target_arch = "x86_64")]
            NonTemporal::Movdir64b => x86_64::memmove_movdir64b(dst, src, len, write_back, shift),
            // Never selected where it does not exist; ordinary stores are always correct.
            _ => temporal::memmove(dst, src, len, write_back, shift, Vectors::allowed_by(nt)),
        }
    }
}

/// Sets with non-temporal stores of kind `nt`.
///
/// # Safety
///
/// The CPU supports `nt` and `write_back`; `dst` is writable for `len` bytes.
#[inline]
unsafe fn non_temporal_memset(
    nt: NonTemporal,
    dst: *mut u8,
    pattern: u64,
    len: usize,
    write_back: WriteBack,
    shift: u8,
) {
    // SAFETY: the caller's contract, passed on.
    unsafe {
        match nt {
            #[cfg(target_arch = "x86_64")]
            NonTemporal::Movnti => x86_64::memset_movnti(dst, pattern, len, write_back, shift),
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            NonTemporal::Sse2 => x86_64::memset_sse2(dst, pattern, len, write_back, shift),
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            NonTemporal::Avx => x86_64::memset_avx(dst, pattern, len, write_back, shift),
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            NonTemporal::Avx512f => x86_64::memset_avx512f(dst, pattern, len, write_back, shift),
            #[cfg(target_arch = "x86_64")]
            NonTemporal::Movdir64b => {
                x86_64::memset_movdir64b(dst, pattern, len, write_back, shift)
            }
            _ => temporal::memset(
                dst,
                pattern,
                len,
                write_back,
                shift,
                Vectors::allowed_by(nt),
            ),
        }
    }
}

/// The flusher the free functions use. The free functions that call this are not `#[inline]`:
/// inlined into another crate, a static is reached through the GOT in position-independent
/// builds (two dependent loads instead of one).
#[inline(always)]
fn global() -> Flusher {
    Flusher::from_word(GLOBAL.word())
}

/// libpmem2's `pmem2_memmove_fn` / `pmem2_memcpy_fn`: `(dst, src, len, flags) -> dst`, with the
/// contract of [`Persist::memmove_raw`].
///
/// ```
/// use pmem_flush::{MemFlags, MemmoveFn};
/// let memcpy: MemmoveFn = pmem_flush::get_memcpy_fn();
/// let src = [9u8; 100];
/// let mut dst = [0u8; 100];
/// // SAFETY: `src` is readable and `dst` writable for 100 bytes, and they do not overlap.
/// unsafe { memcpy(dst.as_mut_ptr(), src.as_ptr(), 100, MemFlags::empty()) };
/// assert_eq!(dst, src);
/// ```
pub type MemmoveFn =
    unsafe fn(dst: *mut u8, src: *const u8, len: usize, flags: MemFlags) -> *mut u8;
/// libpmem2's `pmem2_memset_fn`: `(dst, value, len, flags) -> dst`, with the contract of
/// [`Persist::memset_raw`].
///
/// ```
/// use pmem_flush::{MemFlags, MemsetFn};
/// let memset: MemsetFn = pmem_flush::get_memset_fn();
/// let mut dst = [1u8; 100];
/// // SAFETY: `dst` is writable for 100 bytes.
/// unsafe { memset(dst.as_mut_ptr(), 0, 100, MemFlags::NODRAIN) };
/// pmem_flush::drain();
/// assert_eq!(dst, [0; 100]);
/// ```
pub type MemsetFn = unsafe fn(dst: *mut u8, value: u8, len: usize, flags: MemFlags) -> *mut u8;

/// Copies and persists: libpmem's `pmem_memcpy_persist`. Returns `dst`. Drains even when
/// `len == 0`.
///
/// # Safety
///
/// `src` is readable and `dst` writable for `len` bytes (they may overlap).
///
/// ```
/// let src = [5u8; 100];
/// let mut dst = [0u8; 100];
/// // SAFETY: both buffers are valid for 100 bytes.
/// unsafe { pmem_flush::memcpy_persist_raw(dst.as_mut_ptr(), src.as_ptr(), 100) };
/// assert_eq!(dst, src);
/// ```
pub unsafe fn memcpy_persist_raw(dst: *mut u8, src: *const u8, len: usize) -> *mut u8 {
    // SAFETY: the caller's contract.
    unsafe { memmove_selected(&global(), dst, src, len, MemFlags::empty()) }
}

/// Copies and writes back without the final drain: libpmem's `pmem_memcpy_nodrain`. Call
/// [`drain`](crate::drain) before relying on persistence.
///
/// # Safety
///
/// `src` is readable and `dst` writable for `len` bytes (they may overlap).
///
/// ```
/// let src = [5u8; 100];
/// let mut dst = [0u8; 100];
/// // SAFETY: both buffers are valid for 100 bytes.
/// unsafe { pmem_flush::memcpy_nodrain_raw(dst.as_mut_ptr(), src.as_ptr(), 100) };
/// pmem_flush::drain();
/// ```
pub unsafe fn memcpy_nodrain_raw(dst: *mut u8, src: *const u8, len: usize) -> *mut u8 {
    // SAFETY: the caller's contract.
    unsafe { memmove_selected(&global(), dst, src, len, MemFlags::NODRAIN) }
}

/// Copies `src` into `dst` and persists; nothing is written when the lengths differ.
///
/// ```
/// let mut dst = [0u8; 3];
/// pmem_flush::memcpy_persist(&mut dst, b"abc").unwrap();
/// assert_eq!(&dst, b"abc");
/// ```
pub fn memcpy_persist(dst: &mut [u8], src: &[u8]) -> Result<(), CopyError> {
    global().memcpy(dst, src, MemFlags::empty())
}

/// Copies `src` into `dst` without the final drain; nothing is written when the lengths differ.
///
/// ```
/// let mut dst = [0u8; 3];
/// pmem_flush::memcpy_nodrain(&mut dst, b"abc").unwrap();
/// pmem_flush::drain();
/// ```
pub fn memcpy_nodrain(dst: &mut [u8], src: &[u8]) -> Result<(), CopyError> {
    global().memcpy(dst, src, MemFlags::NODRAIN)
}

/// Moves (ranges may overlap) and persists: libpmem's `pmem_memmove_persist`.
///
/// # Safety
///
/// `src` is readable and `dst` writable for `len` bytes.
///
/// ```
/// let mut buf = *b"abcdef";
/// let p = buf.as_mut_ptr();
/// // SAFETY: both ranges lie inside `buf`.
/// unsafe { pmem_flush::memmove_persist_raw(p.add(1), p, 4) };
/// assert_eq!(&buf, b"aabcdf");
/// ```
pub unsafe fn memmove_persist_raw(dst: *mut u8, src: *const u8, len: usize) -> *mut u8 {
    // SAFETY: the caller's contract.
    unsafe { memmove_selected(&global(), dst, src, len, MemFlags::empty()) }
}

/// Moves and writes back without the final drain: libpmem's `pmem_memmove_nodrain`.
///
/// # Safety
///
/// `src` is readable and `dst` writable for `len` bytes.
///
/// ```
/// let mut buf = *b"abcdef";
/// let p = buf.as_mut_ptr();
/// // SAFETY: both ranges lie inside `buf`.
/// unsafe { pmem_flush::memmove_nodrain_raw(p, p.add(2), 4) };
/// pmem_flush::drain();
/// assert_eq!(&buf, b"cdefef");
/// ```
pub unsafe fn memmove_nodrain_raw(dst: *mut u8, src: *const u8, len: usize) -> *mut u8 {
    // SAFETY: the caller's contract.
    unsafe { memmove_selected(&global(), dst, src, len, MemFlags::NODRAIN) }
}

/// Moves `buf[src]` to `buf[dest..]` and persists; nothing is written when a range lies outside
/// `buf`.
///
/// ```
/// let mut buf = *b"abcdef";
/// pmem_flush::memmove_persist(&mut buf, 0..3, 3).unwrap();
/// assert_eq!(&buf, b"abcabc");
/// ```
pub fn memmove_persist(buf: &mut [u8], src: Range<usize>, dest: usize) -> Result<(), CopyError> {
    global().memmove(buf, src, dest, MemFlags::empty())
}

/// Moves within `buf` without the final drain.
///
/// ```
/// let mut buf = *b"abcdef";
/// pmem_flush::memmove_nodrain(&mut buf, 3..6, 0).unwrap();
/// pmem_flush::drain();
/// assert_eq!(&buf, b"defdef");
/// ```
pub fn memmove_nodrain(buf: &mut [u8], src: Range<usize>, dest: usize) -> Result<(), CopyError> {
    global().memmove(buf, src, dest, MemFlags::NODRAIN)
}

/// Copies with libpmem's flags: `pmem_memcpy`.
///
/// # Safety
///
/// `src` is readable and `dst` writable for `len` bytes.
///
/// ```
/// use pmem_flush::MemFlags;
/// let src = [1u8; 512];
/// let mut dst = [0u8; 512];
/// // SAFETY: both buffers are valid for 512 bytes.
/// unsafe { pmem_flush::memcpy_raw(dst.as_mut_ptr(), src.as_ptr(), 512, MemFlags::NONTEMPORAL) };
/// assert_eq!(dst, src);
/// ```
pub unsafe fn memcpy_raw(dst: *mut u8, src: *const u8, len: usize, flags: MemFlags) -> *mut u8 {
    // SAFETY: the caller's contract.
    unsafe { memmove_selected(&global(), dst, src, len, flags) }
}

/// Moves with libpmem's flags: `pmem_memmove`.
///
/// # Safety
///
/// `src` is readable and `dst` writable for `len` bytes.
///
/// ```
/// use pmem_flush::MemFlags;
/// let mut buf = *b"abcdef";
/// let p = buf.as_mut_ptr();
/// // SAFETY: both ranges lie inside `buf`.
/// unsafe { pmem_flush::memmove_raw(p.add(2), p, 4, MemFlags::TEMPORAL) };
/// assert_eq!(&buf, b"ababcd");
/// ```
pub unsafe fn memmove_raw(dst: *mut u8, src: *const u8, len: usize, flags: MemFlags) -> *mut u8 {
    // SAFETY: the caller's contract.
    unsafe { memmove_selected(&global(), dst, src, len, flags) }
}

/// Copies slices of equal length with libpmem's flags.
///
/// ```
/// use pmem_flush::MemFlags;
/// let mut dst = [0u8; 3];
/// pmem_flush::memcpy(&mut dst, b"xyz", MemFlags::NODRAIN | MemFlags::TEMPORAL).unwrap();
/// pmem_flush::drain();
/// ```
pub fn memcpy(dst: &mut [u8], src: &[u8], flags: MemFlags) -> Result<(), CopyError> {
    global().memcpy(dst, src, flags)
}

/// Moves within a buffer with libpmem's flags.
///
/// ```
/// use pmem_flush::MemFlags;
/// let mut buf = *b"abcdef";
/// pmem_flush::memmove(&mut buf, 1..3, 4, MemFlags::empty()).unwrap();
/// assert_eq!(&buf, b"abcdbc");
/// ```
pub fn memmove(
    buf: &mut [u8],
    src: Range<usize>,
    dest: usize,
    flags: MemFlags,
) -> Result<(), CopyError> {
    global().memmove(buf, src, dest, flags)
}

/// Sets and persists: libpmem's `pmem_memset_persist`.
///
/// # Safety
///
/// `dst` is writable for `len` bytes.
///
/// ```
/// let mut buf = [0u8; 64];
/// // SAFETY: `buf` is writable for 64 bytes.
/// unsafe { pmem_flush::memset_persist_raw(buf.as_mut_ptr(), 9, 64) };
/// assert_eq!(buf, [9; 64]);
/// ```
pub unsafe fn memset_persist_raw(dst: *mut u8, value: u8, len: usize) -> *mut u8 {
    // SAFETY: the caller's contract.
    unsafe { memset_selected(&global(), dst, value, len, MemFlags::empty()) }
}

/// Sets and writes back without the final drain: libpmem's `pmem_memset_nodrain`.
///
/// # Safety
///
/// `dst` is writable for `len` bytes.
///
/// ```
/// let mut buf = [0u8; 64];
/// // SAFETY: `buf` is writable for 64 bytes.
/// unsafe { pmem_flush::memset_nodrain_raw(buf.as_mut_ptr(), 9, 64) };
/// pmem_flush::drain();
/// ```
pub unsafe fn memset_nodrain_raw(dst: *mut u8, value: u8, len: usize) -> *mut u8 {
    // SAFETY: the caller's contract.
    unsafe { memset_selected(&global(), dst, value, len, MemFlags::NODRAIN) }
}

/// Sets with libpmem's flags: `pmem_memset`.
///
/// # Safety
///
/// `dst` is writable for `len` bytes.
///
/// ```
/// use pmem_flush::MemFlags;
/// let mut buf = [0u8; 64];
/// // SAFETY: `buf` is writable for 64 bytes.
/// unsafe { pmem_flush::memset_raw(buf.as_mut_ptr(), 1, 64, MemFlags::NOFLUSH) };
/// pmem_flush::persist(&buf);
/// ```
pub unsafe fn memset_raw(dst: *mut u8, value: u8, len: usize, flags: MemFlags) -> *mut u8 {
    // SAFETY: the caller's contract.
    unsafe { memset_selected(&global(), dst, value, len, flags) }
}

/// Sets every byte of `dst` to `value` and persists.
///
/// ```
/// let mut buf = [1u8; 300];
/// pmem_flush::memset_persist(&mut buf, 0);
/// assert_eq!(buf, [0; 300]);
/// ```
pub fn memset_persist(dst: &mut [u8], value: u8) {
    global().memset(dst, value, MemFlags::empty())
}

/// Sets every byte of `dst` without the final drain.
///
/// ```
/// let mut buf = [1u8; 300];
/// pmem_flush::memset_nodrain(&mut buf, 0);
/// pmem_flush::drain();
/// ```
pub fn memset_nodrain(dst: &mut [u8], value: u8) {
    global().memset(dst, value, MemFlags::NODRAIN)
}

/// Sets every byte of `dst` with libpmem's flags.
///
/// ```
/// let mut buf = [1u8; 300];
/// pmem_flush::memset(&mut buf, 2, pmem_flush::MemFlags::WB);
/// assert_eq!(buf, [2; 300]);
/// ```
pub fn memset(dst: &mut [u8], value: u8, flags: MemFlags) {
    global().memset(dst, value, flags)
}

/// A plain function for [`memmove_raw`] (libpmem2's `pmem2_get_memmove_fn`): the free
/// function itself, which reads the global selection at each call, so the pointer follows
/// [`configure`](crate::configure).
///
/// ```
/// use pmem_flush::MemFlags;
/// let memmove = pmem_flush::get_memmove_fn();
/// let mut buf = *b"abcdef";
/// let p = buf.as_mut_ptr();
/// // SAFETY: both ranges lie inside `buf`.
/// unsafe { memmove(p, p.add(3), 3, MemFlags::empty()) };
/// assert_eq!(&buf, b"defdef");
/// ```
#[must_use]
pub fn get_memmove_fn() -> MemmoveFn {
    memmove_raw
}

/// libpmem2's `pmem2_get_memcpy_fn`: [`memcpy_raw`] (which is also a correct memmove).
///
/// ```
/// use pmem_flush::MemFlags;
/// let memcpy = pmem_flush::get_memcpy_fn();
/// let (src, mut dst) = ([3u8; 32], [0u8; 32]);
/// // SAFETY: both buffers are valid for 32 bytes.
/// unsafe { memcpy(dst.as_mut_ptr(), src.as_ptr(), 32, MemFlags::empty()) };
/// assert_eq!(dst, src);
/// ```
#[must_use]
pub fn get_memcpy_fn() -> MemmoveFn {
    memcpy_raw
}

/// A plain function for [`memset_raw`] (libpmem2's `pmem2_get_memset_fn`), as
/// [`get_memmove_fn`].
///
/// ```
/// use pmem_flush::MemFlags;
/// let memset = pmem_flush::get_memset_fn();
/// let mut buf = [0u8; 32];
/// // SAFETY: `buf` is writable for 32 bytes.
/// unsafe { memset(buf.as_mut_ptr(), 7, 32, MemFlags::empty()) };
/// assert_eq!(buf, [7; 32]);
/// ```
#[must_use]
pub fn get_memset_fn() -> MemsetFn {
    memset_raw
}

#[cfg(test)]
mod tests;
