//! Persistent memmove / memcpy / memset with libpmem's flags.
//!
//! A copy stores the data and makes it persistent in one pass: ordinary (temporal) stores
//! followed by a write-back of each line, or non-temporal stores that bypass the caches, chosen
//! by [`choose`] from the flags, the length, the granularity and the threshold exactly as
//! libpmem chooses. Then it drains, unless the flags say not to.
//!
//! Promises beyond libpmem's:
//! - wherever the destination and the length are multiples of 8, every store is at least 8 bytes
//!   wide, on every path (PMDK's SIMD paths used two 4-byte stores at length 8);
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
use crate::cell::{GLOBAL, Word};
use crate::selection::{Config, Granularity, Selection, WriteBack};
use temporal::Vectors;

bitflags! {
    /// libpmem's `PMEM_F_MEM_*` flags, with its bit values.
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
/// [`Selection::non_temporal`].
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Plan {
    /// How the data is stored.
    pub stores: Stores,
    /// Whether a drain follows (not with `NODRAIN` or `NOFLUSH`).
    pub drain: bool,
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CopyError {
    /// Source and destination slices differ in length.
    LengthMismatch {
        /// The destination's length.
        dst: usize,
        /// The source's length.
        src: usize,
    },
    /// A range lies outside the buffer.
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

/// The copy functions for one selection: libpmem2's `pmem2_get_memcpy_fn` family as a value.
///
/// `Copy`, two words. The crate's free copy functions use the one built from the global
/// selection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Copier {
    threshold: usize,
    write_back: WriteBack,
    nt: NonTemporal,
    line_shift: u8,
    granularity: Granularity,
}

static_assertions::assert_impl_all!(Copier: Copy, Send, Sync);
static_assertions::const_assert!(
    core::mem::size_of::<Copier>() <= 2 * core::mem::size_of::<usize>()
);

impl Copier {
    /// Detects the CPU this code runs on and chooses for `config`.
    pub fn new(config: Config) -> Copier {
        let selection = Selection::detect(config);
        // SAFETY: the selection comes from this CPU's own detection, for this target.
        unsafe { Copier::new_unchecked(&selection) }
    }

    /// The copier for `selection`.
    ///
    /// # Safety
    ///
    /// As for [`Flusher::new_unchecked`](crate::Flusher::new_unchecked): the selection is for
    /// this target and every CPU that runs the copier supports its instructions (write-back and
    /// non-temporal stores) and has lines no smaller than its line size.
    #[inline]
    pub const unsafe fn new_unchecked(selection: &Selection) -> Copier {
        Copier {
            threshold: selection.config().get_nt_threshold(),
            write_back: selection.flush(),
            nt: selection.non_temporal(),
            line_shift: selection.line_shift(),
            granularity: selection.config().get_granularity(),
        }
    }

    /// The copier of the global selection, from its packed word.
    #[inline(always)]
    pub(crate) fn from_word(word: Word) -> Copier {
        Copier {
            threshold: word.nt_threshold(),
            write_back: word.flush(),
            nt: word.non_temporal(),
            line_shift: word.shift(),
            granularity: word.granularity(),
        }
    }

    /// The non-temporal stores this copier uses.
    #[inline]
    pub const fn non_temporal(&self) -> NonTemporal {
        self.nt
    }

    /// Copies from this many bytes up use non-temporal stores by default.
    #[inline]
    pub const fn nt_threshold(&self) -> usize {
        self.threshold
    }

    /// The write-back a plan's stores need: none for plain ordinary stores.
    #[inline(always)]
    fn write_back_for(&self, plan: Plan) -> WriteBack {
        match plan.stores {
            Stores::Temporal => WriteBack::None,
            _ => self.write_back,
        }
    }

    /// Its plan for a copy of `len` bytes with `flags`.
    #[inline]
    pub const fn plan(&self, flags: MemFlags, len: usize) -> Plan {
        choose(flags, len, self.granularity, self.threshold, self.nt)
    }

    /// Copies `len` bytes from `src` to `dst`, which may overlap, and makes them persistent as
    /// `flags` say (libpmem's `pmem_memmove`). Returns `dst`. `len == 0` or `dst == src` does
    /// nothing at all, as in libpmem.
    ///
    /// # Safety
    ///
    /// `src` is readable and `dst` writable for `len` bytes (as for `core::ptr::copy`).
    #[inline]
    pub unsafe fn memmove_raw(
        &self,
        dst: *mut u8,
        src: *const u8,
        len: usize,
        flags: MemFlags,
    ) -> *mut u8 {
        // SAFETY: the caller's contract.
        unsafe { self.memmove_inline(dst, src, len, flags) }
    }

    /// The body of [`memmove_raw`](Self::memmove_raw), always inlined: the free functions
    /// decide the plan and call the chosen path directly, with no call in between.
    ///
    /// # Safety
    ///
    /// As for [`memmove_raw`](Self::memmove_raw).
    #[inline(always)]
    unsafe fn memmove_inline(
        &self,
        dst: *mut u8,
        src: *const u8,
        len: usize,
        flags: MemFlags,
    ) -> *mut u8 {
        if len == 0 || dst.cast_const() == src {
            return dst;
        }
        let plan = self.plan(flags, len);
        let (wb, shift) = (self.write_back_for(plan), self.line_shift);
        // SAFETY: the caller's contract for the ranges; the constructor's for the instructions.
        unsafe {
            match plan.stores {
                Stores::NonTemporal(nt) => non_temporal_memmove(nt, dst, src, len, wb, shift),
                // Short copies inline: a handful of stores and one or two write-backs.
                _ if len <= 64 => {
                    small::move_block(dst, src, len);
                    arch::write_back_range(wb, dst, len, shift);
                }
                _ => temporal::memmove(dst, src, len, wb, shift, Vectors::allowed_by(self.nt)),
            }
        }
        if plan.drain {
            arch::fence(arch::DRAIN);
        }
        dst
    }

    /// As [`memmove_raw`](Self::memmove_raw) (libpmem's `pmem_memcpy`); the ranges should not
    /// overlap, but nothing goes wrong if they do.
    ///
    /// # Safety
    ///
    /// As for [`memmove_raw`](Self::memmove_raw).
    #[inline]
    pub unsafe fn memcpy_raw(
        &self,
        dst: *mut u8,
        src: *const u8,
        len: usize,
        flags: MemFlags,
    ) -> *mut u8 {
        // SAFETY: the caller's contract.
        unsafe { self.memmove_raw(dst, src, len, flags) }
    }

    /// Sets `len` bytes at `dst` to `value` and makes them persistent as `flags` say
    /// (libpmem's `pmem_memset`). Returns `dst`.
    ///
    /// # Safety
    ///
    /// `dst` is writable for `len` bytes.
    #[inline]
    pub unsafe fn memset_raw(
        &self,
        dst: *mut u8,
        value: u8,
        len: usize,
        flags: MemFlags,
    ) -> *mut u8 {
        // SAFETY: the caller's contract.
        unsafe { self.memset_inline(dst, value, len, flags) }
    }

    /// The body of [`memset_raw`](Self::memset_raw), always inlined (see `memmove_inline`).
    ///
    /// # Safety
    ///
    /// As for [`memset_raw`](Self::memset_raw).
    #[inline(always)]
    unsafe fn memset_inline(
        &self,
        dst: *mut u8,
        value: u8,
        len: usize,
        flags: MemFlags,
    ) -> *mut u8 {
        if len == 0 {
            return dst;
        }
        let plan = self.plan(flags, len);
        let pattern = u64::from_ne_bytes([value; 8]);
        let (wb, shift) = (self.write_back_for(plan), self.line_shift);
        // SAFETY: the caller's contract for the range; the constructor's for the instructions.
        unsafe {
            match plan.stores {
                Stores::NonTemporal(nt) => non_temporal_memset(nt, dst, pattern, len, wb, shift),
                _ if len <= 64 => {
                    small::set_block(dst, pattern, len);
                    arch::write_back_range(wb, dst, len, shift);
                }
                _ => temporal::memset(dst, pattern, len, wb, shift, Vectors::allowed_by(self.nt)),
            }
        }
        if plan.drain {
            arch::fence(arch::DRAIN);
        }
        dst
    }

    /// Copies `src` into `dst` (same length) as `flags` say. Nothing is written when the
    /// lengths differ.
    #[inline]
    pub fn memcpy(&self, dst: &mut [u8], src: &[u8], flags: MemFlags) -> Result<(), CopyError> {
        if dst.len() != src.len() {
            return Err(CopyError::LengthMismatch {
                dst: dst.len(),
                src: src.len(),
            });
        }
        // SAFETY: both slices are valid for their (equal) length.
        unsafe { self.memmove_raw(dst.as_mut_ptr(), src.as_ptr(), src.len(), flags) };
        Ok(())
    }

    /// Copies `buf[src]` to `buf[dest..]` within one buffer (like `slice::copy_within`) as
    /// `flags` say. Nothing is written when either range lies outside `buf`.
    #[inline]
    pub fn memmove_within(
        &self,
        buf: &mut [u8],
        src: Range<usize>,
        dest: usize,
        flags: MemFlags,
    ) -> Result<(), CopyError> {
        let len = src
            .end
            .checked_sub(src.start)
            .ok_or(CopyError::OutOfBounds)?;
        let dest_end = dest.checked_add(len).ok_or(CopyError::OutOfBounds)?;
        if src.end > buf.len() || dest_end > buf.len() {
            return Err(CopyError::OutOfBounds);
        }
        let base = buf.as_mut_ptr();
        // SAFETY: both ranges were checked to lie inside `buf`.
        unsafe { self.memmove_raw(base.add(dest), base.add(src.start), len, flags) };
        Ok(())
    }

    /// Sets every byte of `dst` to `value` as `flags` say.
    #[inline]
    pub fn memset(&self, dst: &mut [u8], value: u8, flags: MemFlags) {
        // SAFETY: the slice is writable for its length.
        unsafe { self.memset_raw(dst.as_mut_ptr(), value, dst.len(), flags) };
    }
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

/// The copier the free functions use. The free functions that call this are not `#[inline]`:
/// inlined into another crate, a static is reached through the GOT in position-independent
/// builds (two dependent loads instead of one).
#[inline(always)]
fn global() -> Copier {
    Copier::from_word(GLOBAL.word())
}

/// The [`Copier`] the free functions use (the global selection's).
pub fn copier() -> Copier {
    global()
}

/// libpmem2's `pmem2_memmove_fn` / `pmem2_memcpy_fn`: `(dst, src, len, flags) -> dst`, with the
/// contract of [`Copier::memmove_raw`].
pub type MemmoveFn =
    unsafe fn(dst: *mut u8, src: *const u8, len: usize, flags: MemFlags) -> *mut u8;
/// libpmem2's `pmem2_memset_fn`: `(dst, value, len, flags) -> dst`, with the contract of
/// [`Copier::memset_raw`].
pub type MemsetFn = unsafe fn(dst: *mut u8, value: u8, len: usize, flags: MemFlags) -> *mut u8;

/// Copies and persists: libpmem's `pmem_memcpy_persist`.
///
/// # Safety
///
/// `src` is readable and `dst` writable for `len` bytes (they may overlap).
pub unsafe fn memcpy_persist_raw(dst: *mut u8, src: *const u8, len: usize) -> *mut u8 {
    // SAFETY: the caller's contract.
    unsafe { global().memmove_inline(dst, src, len, MemFlags::empty()) }
}

/// Copies and writes back without the final drain: libpmem's `pmem_memcpy_nodrain`. Call
/// [`drain`](crate::drain) before relying on persistence.
///
/// # Safety
///
/// `src` is readable and `dst` writable for `len` bytes (they may overlap).
pub unsafe fn memcpy_nodrain_raw(dst: *mut u8, src: *const u8, len: usize) -> *mut u8 {
    // SAFETY: the caller's contract.
    unsafe { global().memmove_inline(dst, src, len, MemFlags::NODRAIN) }
}

/// Copies `src` into `dst` and persists; nothing is written when the lengths differ.
pub fn memcpy_persist(dst: &mut [u8], src: &[u8]) -> Result<(), CopyError> {
    global().memcpy(dst, src, MemFlags::empty())
}

/// Copies `src` into `dst` without the final drain; nothing is written when the lengths differ.
pub fn memcpy_nodrain(dst: &mut [u8], src: &[u8]) -> Result<(), CopyError> {
    global().memcpy(dst, src, MemFlags::NODRAIN)
}

/// Moves (ranges may overlap) and persists: libpmem's `pmem_memmove_persist`.
///
/// # Safety
///
/// `src` is readable and `dst` writable for `len` bytes.
pub unsafe fn memmove_persist_raw(dst: *mut u8, src: *const u8, len: usize) -> *mut u8 {
    // SAFETY: the caller's contract.
    unsafe { global().memmove_inline(dst, src, len, MemFlags::empty()) }
}

/// Moves and writes back without the final drain: libpmem's `pmem_memmove_nodrain`.
///
/// # Safety
///
/// `src` is readable and `dst` writable for `len` bytes.
pub unsafe fn memmove_nodrain_raw(dst: *mut u8, src: *const u8, len: usize) -> *mut u8 {
    // SAFETY: the caller's contract.
    unsafe { global().memmove_inline(dst, src, len, MemFlags::NODRAIN) }
}

/// Moves `buf[src]` to `buf[dest..]` and persists; nothing is written when a range lies outside
/// `buf`.
pub fn memmove_persist(buf: &mut [u8], src: Range<usize>, dest: usize) -> Result<(), CopyError> {
    global().memmove_within(buf, src, dest, MemFlags::empty())
}

/// Moves within `buf` without the final drain.
pub fn memmove_nodrain(buf: &mut [u8], src: Range<usize>, dest: usize) -> Result<(), CopyError> {
    global().memmove_within(buf, src, dest, MemFlags::NODRAIN)
}

/// Copies with libpmem's flags: `pmem_memcpy`.
///
/// # Safety
///
/// `src` is readable and `dst` writable for `len` bytes.
pub unsafe fn memcpy_raw(dst: *mut u8, src: *const u8, len: usize, flags: MemFlags) -> *mut u8 {
    // SAFETY: the caller's contract.
    unsafe { global().memmove_inline(dst, src, len, flags) }
}

/// Moves with libpmem's flags: `pmem_memmove`.
///
/// # Safety
///
/// `src` is readable and `dst` writable for `len` bytes.
pub unsafe fn memmove_raw(dst: *mut u8, src: *const u8, len: usize, flags: MemFlags) -> *mut u8 {
    // SAFETY: the caller's contract.
    unsafe { global().memmove_inline(dst, src, len, flags) }
}

/// Copies slices of equal length with libpmem's flags.
pub fn memcpy(dst: &mut [u8], src: &[u8], flags: MemFlags) -> Result<(), CopyError> {
    global().memcpy(dst, src, flags)
}

/// Moves within a buffer with libpmem's flags.
pub fn memmove(
    buf: &mut [u8],
    src: Range<usize>,
    dest: usize,
    flags: MemFlags,
) -> Result<(), CopyError> {
    global().memmove_within(buf, src, dest, flags)
}

/// Sets and persists: libpmem's `pmem_memset_persist`.
///
/// # Safety
///
/// `dst` is writable for `len` bytes.
pub unsafe fn memset_persist_raw(dst: *mut u8, value: u8, len: usize) -> *mut u8 {
    // SAFETY: the caller's contract.
    unsafe { global().memset_inline(dst, value, len, MemFlags::empty()) }
}

/// Sets and writes back without the final drain: libpmem's `pmem_memset_nodrain`.
///
/// # Safety
///
/// `dst` is writable for `len` bytes.
pub unsafe fn memset_nodrain_raw(dst: *mut u8, value: u8, len: usize) -> *mut u8 {
    // SAFETY: the caller's contract.
    unsafe { global().memset_inline(dst, value, len, MemFlags::NODRAIN) }
}

/// Sets with libpmem's flags: `pmem_memset`.
///
/// # Safety
///
/// `dst` is writable for `len` bytes.
pub unsafe fn memset_raw(dst: *mut u8, value: u8, len: usize, flags: MemFlags) -> *mut u8 {
    // SAFETY: the caller's contract.
    unsafe { global().memset_inline(dst, value, len, flags) }
}

/// Sets every byte of `dst` to `value` and persists.
pub fn memset_persist(dst: &mut [u8], value: u8) {
    global().memset(dst, value, MemFlags::empty())
}

/// Sets every byte of `dst` without the final drain.
pub fn memset_nodrain(dst: &mut [u8], value: u8) {
    global().memset(dst, value, MemFlags::NODRAIN)
}

/// Sets every byte of `dst` with libpmem's flags.
pub fn memset(dst: &mut [u8], value: u8, flags: MemFlags) {
    global().memset(dst, value, flags)
}

/// The global copier with its non-temporal stores fixed at compile time, so that a function
/// pointer to it skips that dispatch.
unsafe fn memmove_fixed<const NT: u8>(
    dst: *mut u8,
    src: *const u8,
    len: usize,
    flags: MemFlags,
) -> *mut u8 {
    let copier = Copier {
        nt: NonTemporal::from_u8(NT),
        ..global()
    };
    // SAFETY: only handed out for the global selection's own `nt`; the caller's contract.
    unsafe { copier.memmove_inline(dst, src, len, flags) }
}

/// As [`memmove_fixed`], for memset.
unsafe fn memset_fixed<const NT: u8>(
    dst: *mut u8,
    value: u8,
    len: usize,
    flags: MemFlags,
) -> *mut u8 {
    let copier = Copier {
        nt: NonTemporal::from_u8(NT),
        ..global()
    };
    // SAFETY: as for `memmove_fixed`.
    unsafe { copier.memset_inline(dst, value, len, flags) }
}

/// A plain function for [`memmove_raw`] with the global selection's non-temporal stores fixed
/// (libpmem2's `pmem2_get_memmove_fn`). Same pointer on every call until [`configure`](crate::configure)
/// changes them; write-back, granularity and threshold are read from the global selection at
/// each call.
pub fn get_memmove_fn() -> MemmoveFn {
    match global().nt {
        NonTemporal::None => memmove_fixed::<0>,
        NonTemporal::Movnti => memmove_fixed::<1>,
        NonTemporal::Sse2 => memmove_fixed::<2>,
        NonTemporal::Avx => memmove_fixed::<3>,
        NonTemporal::Avx512f => memmove_fixed::<4>,
        NonTemporal::Movdir64b => memmove_fixed::<5>,
    }
}

/// libpmem2's `pmem2_get_memcpy_fn`: the same function as [`get_memmove_fn`] (a memmove is a
/// correct memcpy).
pub fn get_memcpy_fn() -> MemmoveFn {
    get_memmove_fn()
}

/// A plain function for [`memset_raw`] (libpmem2's `pmem2_get_memset_fn`), as
/// [`get_memmove_fn`].
pub fn get_memset_fn() -> MemsetFn {
    match global().nt {
        NonTemporal::None => memset_fixed::<0>,
        NonTemporal::Movnti => memset_fixed::<1>,
        NonTemporal::Sse2 => memset_fixed::<2>,
        NonTemporal::Avx => memset_fixed::<3>,
        NonTemporal::Avx512f => memset_fixed::<4>,
        NonTemporal::Movdir64b => memset_fixed::<5>,
    }
}

#[cfg(test)]
mod tests;
