//! x86-64 non-temporal copies: MOVNTI, SSE2, AVX, AVX-512F and MOVDIR64B.
//!
//! One driver for every instruction set: the partial first line with ordinary stores and a
//! write-back, whole 64-byte lines with the set's non-temporal stores, and the partial last line
//! with MOVNTI when its length is a multiple of 8 (ordinary stores and a write-back otherwise).
//! Whole lines start 64-byte aligned, so every non-temporal store is aligned. No fence is issued
//! here: the copy's drain (or the caller's, after `NODRAIN`) is an SFENCE, which orders
//! non-temporal stores, whatever the write-back instruction, CLFLUSH included.
//!
//! The vector sets are compiled only where the build may use vector registers, each inside a
//! function with its `#[target_feature]`, so the compiler adds `vzeroupper` on the way out of
//! AVX code. The MOVNTI and MOVDIR64B paths use general-purpose registers only, in every build
//! (`tests/disasm.rs` checks that they name no xmm, ymm or zmm register): their partial lines
//! go through [`super::small`], whose stores cannot be merged into vector stores, and
//! [`super::words`].
//!
//! The vector sets also give the temporal path its whole-line stores (`memmove_temporal_sse2`,
//! `memset_temporal_sse2` and the AVX and AVX-512F forms): ordinary aligned vector stores, 256
//! bytes at a time, each 256 bytes written back once the next 256 are stored. SSE2 below
//! 1 MiB whatever the selection, the selection's widest set from there; why, and why that
//! write-back lag: bench/NOTES.md, "Forced temporal copies".

use core::arch::asm;
#[cfg(target_feature = "sse2")]
use core::arch::x86_64::{
    __m128i, __m256i, __m512i, _mm_loadu_si128, _mm_set1_epi64x, _mm_stream_si128,
    _mm256_loadu_si256, _mm256_set1_epi64x, _mm256_stream_si256, _mm512_loadu_si512,
    _mm512_set1_epi64, _mm512_stream_si512,
};

use super::small::{move_block, set_block};
use super::temporal::to_boundary;
/// Bytes of the vector temporal path stored between write-backs (see `memmove_temporal_with`).
#[cfg(target_feature = "sse2")]
const WRITE_BACK_BLOCK: usize = 256;
use crate::arch::write_back_range;
use crate::selection::WriteBack;

/// One instruction set's non-temporal stores of a whole 64-byte line.
trait Line {
    /// Lines copied per [`copy_block`](Line::copy_block): as many as the set's registers hold,
    /// so that a block's loads are all in flight before its stores (a source in DRAM is read
    /// at full speed only with many loads outstanding).
    const BLOCK: usize = 1;

    /// Loads 64 bytes from `src`, then stores them to `dst` with non-temporal stores.
    ///
    /// # Safety
    ///
    /// The CPU supports the set; `src` readable and `dst` writable for 64 bytes; `dst` 64-byte
    /// aligned.
    unsafe fn copy(dst: *mut u8, src: *const u8);

    /// Loads `BLOCK` lines from `src`, then stores them all to `dst`.
    ///
    /// # Safety
    ///
    /// As for [`Line::copy`], for `64 * BLOCK` bytes.
    #[inline(always)]
    unsafe fn copy_block(dst: *mut u8, src: *const u8) {
        // SAFETY: the caller's contract; with `BLOCK == 1` this is one line.
        unsafe { Self::copy(dst, src) }
    }

    /// Stores the byte repeated in `pattern` to the 64 bytes at `dst`, non-temporally.
    ///
    /// # Safety
    ///
    /// As for [`Line::copy`], without `src`.
    unsafe fn fill(dst: *mut u8, pattern: u64);
}

/// `MOVNTI` of one 8-byte word: Intel SDM Vol. 2B, "MOVNTI—Store Doubleword Using Non-Temporal
/// Hint". Weakly ordered: an SFENCE orders it before later stores.
///
/// # Safety
///
/// `dst` writable for 8 bytes (every x86-64 CPU has MOVNTI).
#[inline(always)]
unsafe fn movnti(dst: *mut u8, v: u64) {
    #[cfg(test)]
    crate::arch::trace::non_temporal(super::NonTemporal::Movnti);
    // SAFETY: the caller guarantees the 8 bytes are writable. A store: not `nomem`, not
    // `readonly`.
    unsafe {
        asm!("movnti qword ptr [{}], {}", in(reg) dst, in(reg) v, options(nostack, preserves_flags))
    }
}

struct Movnti;

impl Line for Movnti {
    #[inline(always)]
    unsafe fn copy(dst: *mut u8, src: *const u8) {
        // SAFETY: the caller guarantees 64 readable bytes at `src` and 64 writable at `dst`.
        unsafe {
            let w: [u64; 8] =
                core::array::from_fn(|i| src.add(8 * i).cast::<u64>().read_unaligned());
            for (i, v) in w.into_iter().enumerate() {
                movnti(dst.add(8 * i), v);
            }
        }
    }

    #[inline(always)]
    unsafe fn fill(dst: *mut u8, pattern: u64) {
        for i in 0..8 {
            // SAFETY: the caller guarantees 64 writable bytes at `dst`.
            unsafe { movnti(dst.add(8 * i), pattern) };
        }
    }
}

#[cfg(target_feature = "sse2")]
struct Sse2;

#[cfg(target_feature = "sse2")]
impl Line for Sse2 {
    const BLOCK: usize = 4;

    #[inline(always)]
    unsafe fn copy_block(dst: *mut u8, src: *const u8) {
        #[cfg(test)]
        crate::arch::trace::non_temporal(super::NonTemporal::Sse2);
        // SAFETY: as in `copy`, for 256 bytes: 16 registers loaded, then 16 stores.
        unsafe {
            let v: [__m128i; 16] =
                core::array::from_fn(|i| _mm_loadu_si128(src.add(16 * i).cast()));
            for (i, v) in v.into_iter().enumerate() {
                _mm_stream_si128(dst.add(16 * i).cast(), v);
            }
        }
    }

    #[inline(always)]
    unsafe fn copy(dst: *mut u8, src: *const u8) {
        #[cfg(test)]
        crate::arch::trace::non_temporal(super::NonTemporal::Sse2);
        // SAFETY: SSE2 is enabled for this build; the caller guarantees the ranges and that
        // `dst` is 64-byte (so 16-byte) aligned, as MOVNTDQ needs.
        unsafe {
            let v: [__m128i; 4] = core::array::from_fn(|i| _mm_loadu_si128(src.add(16 * i).cast()));
            for (i, v) in v.into_iter().enumerate() {
                _mm_stream_si128(dst.add(16 * i).cast(), v);
            }
        }
    }

    #[inline(always)]
    unsafe fn fill(dst: *mut u8, pattern: u64) {
        #[cfg(test)]
        crate::arch::trace::non_temporal(super::NonTemporal::Sse2);
        // SAFETY: as in `copy`.
        unsafe {
            let v = _mm_set1_epi64x(pattern as i64);
            for i in 0..4 {
                _mm_stream_si128(dst.add(16 * i).cast(), v);
            }
        }
    }
}

#[cfg(target_feature = "sse2")]
struct Avx;

/// AVX line copy: two 32-byte loads, two `VMOVNTDQ`.
///
/// # Safety
///
/// As for [`Line::copy`] with AVX.
#[cfg(target_feature = "sse2")]
#[target_feature(enable = "avx")]
#[inline]
unsafe fn avx_copy(dst: *mut u8, src: *const u8) {
    // SAFETY: the caller's contract; `dst` 64-byte aligned covers VMOVNTDQ's 32.
    unsafe {
        let a: __m256i = _mm256_loadu_si256(src.cast());
        let b: __m256i = _mm256_loadu_si256(src.add(32).cast());
        _mm256_stream_si256(dst.cast(), a);
        _mm256_stream_si256(dst.add(32).cast(), b);
    }
}

/// AVX block copy: 8 lines, 16 registers loaded, then 16 `VMOVNTDQ`.
///
/// # Safety
///
/// As for [`Line::copy`] with AVX, for 512 bytes.
#[cfg(target_feature = "sse2")]
#[target_feature(enable = "avx")]
#[inline]
unsafe fn avx_copy_block(dst: *mut u8, src: *const u8) {
    // SAFETY: the caller's contract.
    unsafe {
        let v: [__m256i; 16] = core::array::from_fn(|i| _mm256_loadu_si256(src.add(32 * i).cast()));
        for (i, v) in v.into_iter().enumerate() {
            _mm256_stream_si256(dst.add(32 * i).cast(), v);
        }
    }
}

/// AVX line fill.
///
/// # Safety
///
/// As for [`Line::fill`] with AVX.
#[cfg(target_feature = "sse2")]
#[target_feature(enable = "avx")]
#[inline]
unsafe fn avx_fill(dst: *mut u8, pattern: u64) {
    // SAFETY: the caller's contract.
    unsafe {
        let v = _mm256_set1_epi64x(pattern as i64);
        _mm256_stream_si256(dst.cast(), v);
        _mm256_stream_si256(dst.add(32).cast(), v);
    }
}

#[cfg(target_feature = "sse2")]
impl Line for Avx {
    const BLOCK: usize = 8;

    #[inline(always)]
    unsafe fn copy_block(dst: *mut u8, src: *const u8) {
        #[cfg(test)]
        crate::arch::trace::non_temporal(super::NonTemporal::Avx);
        // SAFETY: the caller's contract, AVX included.
        unsafe { avx_copy_block(dst, src) }
    }

    #[inline(always)]
    unsafe fn copy(dst: *mut u8, src: *const u8) {
        #[cfg(test)]
        crate::arch::trace::non_temporal(super::NonTemporal::Avx);
        // SAFETY: the caller's contract, AVX included.
        unsafe { avx_copy(dst, src) }
    }

    #[inline(always)]
    unsafe fn fill(dst: *mut u8, pattern: u64) {
        #[cfg(test)]
        crate::arch::trace::non_temporal(super::NonTemporal::Avx);
        // SAFETY: the caller's contract, AVX included.
        unsafe { avx_fill(dst, pattern) }
    }
}

#[cfg(target_feature = "sse2")]
struct Avx512f;

/// AVX-512F line copy: one 64-byte load, one `VMOVNTDQ`.
///
/// # Safety
///
/// As for [`Line::copy`] with AVX-512F.
#[cfg(target_feature = "sse2")]
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn avx512f_copy(dst: *mut u8, src: *const u8) {
    // SAFETY: the caller's contract; `dst` is 64-byte aligned as the store needs.
    unsafe {
        let v: __m512i = _mm512_loadu_si512(src.cast());
        _mm512_stream_si512(dst.cast(), v);
    }
}

/// AVX-512F block copy: 16 lines, 16 registers loaded, then 16 `VMOVNTDQ`.
///
/// # Safety
///
/// As for [`Line::copy`] with AVX-512F, for 1024 bytes.
#[cfg(target_feature = "sse2")]
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn avx512f_copy_block(dst: *mut u8, src: *const u8) {
    // SAFETY: the caller's contract.
    unsafe {
        let v: [__m512i; 16] = core::array::from_fn(|i| _mm512_loadu_si512(src.add(64 * i).cast()));
        for (i, v) in v.into_iter().enumerate() {
            _mm512_stream_si512(dst.add(64 * i).cast(), v);
        }
    }
}

/// AVX-512F line fill.
///
/// # Safety
///
/// As for [`Line::fill`] with AVX-512F.
#[cfg(target_feature = "sse2")]
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn avx512f_fill(dst: *mut u8, pattern: u64) {
    // SAFETY: the caller's contract.
    unsafe { _mm512_stream_si512(dst.cast(), _mm512_set1_epi64(pattern as i64)) }
}

#[cfg(target_feature = "sse2")]
impl Line for Avx512f {
    const BLOCK: usize = 16;

    #[inline(always)]
    unsafe fn copy_block(dst: *mut u8, src: *const u8) {
        #[cfg(test)]
        crate::arch::trace::non_temporal(super::NonTemporal::Avx512f);
        // SAFETY: the caller's contract, AVX-512F included.
        unsafe { avx512f_copy_block(dst, src) }
    }

    #[inline(always)]
    unsafe fn copy(dst: *mut u8, src: *const u8) {
        #[cfg(test)]
        crate::arch::trace::non_temporal(super::NonTemporal::Avx512f);
        // SAFETY: the caller's contract, AVX-512F included.
        unsafe { avx512f_copy(dst, src) }
    }

    #[inline(always)]
    unsafe fn fill(dst: *mut u8, pattern: u64) {
        #[cfg(test)]
        crate::arch::trace::non_temporal(super::NonTemporal::Avx512f);
        // SAFETY: the caller's contract, AVX-512F included.
        unsafe { avx512f_fill(dst, pattern) }
    }
}

struct Movdir64b;

/// `MOVDIR64B`: Intel SDM Vol. 2B, "MOVDIR64B—Move 64 Bytes as Direct Store". Reads 64 bytes
/// at `src` (any alignment), then writes them to `dst` (64-byte aligned) as one weakly ordered
/// direct store: an SFENCE orders it before later stores. No vector register is involved.
///
/// # Safety
///
/// The CPU has MOVDIR64B (CPUID.(EAX=7,ECX=0):ECX\[28\]); `src` readable and `dst` writable for
/// 64 bytes; `dst` 64-byte aligned.
#[inline(always)]
unsafe fn movdir64b(dst: *mut u8, src: *const u8) {
    #[cfg(test)]
    crate::arch::trace::non_temporal(super::NonTemporal::Movdir64b);
    // SAFETY: the caller's contract. Reads and writes memory: neither `nomem` nor `readonly`.
    unsafe {
        asm!("movdir64b {}, [{}]", in(reg) dst, in(reg) src, options(nostack, preserves_flags))
    }
}

impl Line for Movdir64b {
    #[inline(always)]
    unsafe fn copy(dst: *mut u8, src: *const u8) {
        // SAFETY: the caller's contract.
        unsafe { movdir64b(dst, src) }
    }

    #[inline(always)]
    unsafe fn fill(dst: *mut u8, pattern: u64) {
        // The source line on the stack, written word by word with volatile stores: a
        // `[pattern; 8]` would be built with vector stores in builds with SSE, and this path
        // keeps to general-purpose registers.
        let mut line = core::mem::MaybeUninit::<[u64; 8]>::uninit();
        let words = line.as_mut_ptr().cast::<u64>();
        // SAFETY: the eight words are the local `line`, aligned; once written, `line` is 64
        // readable bytes; the caller's contract for `dst`.
        unsafe {
            for i in 0..8 {
                words.add(i).write_volatile(pattern);
            }
            movdir64b(dst, words.cast())
        }
    }
}

/// The last partial line, starting 64-byte aligned: MOVNTI when `n` is a multiple of 8, else
/// ordinary stores and a write-back.
///
/// Word by word, each load right before its store, ascending when `forward`, descending
/// otherwise: in the direction the whole move runs, a store only reaches source bytes already
/// loaded. (A buffer of words would be compiled into a `memcpy` call.)
///
/// # Safety
///
/// `src` readable and `dst` writable for `n < 64` bytes; `dst` 8-byte aligned; the CPU supports
/// `wb`; `forward` as the move's direction.
#[inline(always)]
// `n % 8 == 0`, not `n.is_multiple_of(8)` (Rust 1.87): the kernel targets build with 1.85.
#[allow(clippy::manual_is_multiple_of)]
unsafe fn move_tail(
    dst: *mut u8,
    src: *const u8,
    n: usize,
    wb: WriteBack,
    shift: u8,
    forward: bool,
) {
    // SAFETY: the caller's contract; every offset plus 8 is at most `n`.
    unsafe {
        if n % 8 == 0 {
            let word = |i: usize| {
                movnti(
                    dst.add(8 * i),
                    src.add(8 * i).cast::<u64>().read_unaligned(),
                )
            };
            if forward {
                (0..n / 8).for_each(word);
            } else {
                (0..n / 8).rev().for_each(word);
            }
        } else {
            move_block(dst, src, n);
            write_back_range(wb, dst, n, shift);
        }
    }
}

/// As [`move_tail`], for a fill.
///
/// # Safety
///
/// `dst` writable for `n < 64` bytes and 8-byte aligned; the CPU supports `wb`.
#[inline(always)]
// `n % 8 == 0`, not `n.is_multiple_of(8)` (Rust 1.87): the kernel targets build with 1.85.
#[allow(clippy::manual_is_multiple_of)]
unsafe fn set_tail(dst: *mut u8, pattern: u64, n: usize, wb: WriteBack, shift: u8) {
    // SAFETY: the caller's contract; every offset plus 8 is at most `n`.
    unsafe {
        if n % 8 == 0 {
            for i in 0..n / 8 {
                movnti(dst.add(8 * i), pattern);
            }
        } else {
            set_block(dst, pattern, n);
            write_back_range(wb, dst, n, shift);
        }
    }
}

/// The non-temporal memmove for instruction set `L`.
///
/// # Safety
///
/// The CPU supports `L` and `wb`; `src` readable and `dst` writable for `len` bytes.
#[inline(always)]
unsafe fn memmove_with<L: Line>(
    dst: *mut u8,
    src: *const u8,
    len: usize,
    wb: WriteBack,
    shift: u8,
) {
    let head = to_boundary(dst).min(len);
    let body_end = head + ((len - head) & !63);
    let tail = len - body_end;
    let block = 64 * L::BLOCK;
    // SAFETY: every piece stays within `len`; lines start at `dst + head`, which is
    // 64-byte aligned; the caller's contract covers the rest. The order (forward unless `dst`
    // lies inside the source) keeps overlapping moves correct, as in `temporal::memmove`: each
    // block or line loads all its bytes before storing any.
    unsafe {
        if dst.addr().wrapping_sub(src.addr()) >= len {
            move_block(dst, src, head);
            write_back_range(wb, dst, head, shift);
            let mut off = head;
            while body_end - off >= block {
                L::copy_block(dst.add(off), src.add(off));
                off += block;
            }
            while off < body_end {
                L::copy(dst.add(off), src.add(off));
                off += 64;
            }
            move_tail(dst.add(body_end), src.add(body_end), tail, wb, shift, true);
        } else {
            move_tail(dst.add(body_end), src.add(body_end), tail, wb, shift, false);
            let mut off = body_end;
            while off - head >= block {
                off -= block;
                L::copy_block(dst.add(off), src.add(off));
            }
            while off > head {
                off -= 64;
                L::copy(dst.add(off), src.add(off));
            }
            move_block(dst, src, head);
            write_back_range(wb, dst, head, shift);
        }
    }
}

/// The non-temporal memset for instruction set `L`.
///
/// # Safety
///
/// The CPU supports `L` and `wb`; `dst` writable for `len` bytes.
#[inline(always)]
unsafe fn memset_with<L: Line>(dst: *mut u8, pattern: u64, len: usize, wb: WriteBack, shift: u8) {
    let head = to_boundary(dst).min(len);
    let body_end = head + ((len - head) & !63);
    // SAFETY: as in `memmove_with`.
    unsafe {
        set_block(dst, pattern, head);
        write_back_range(wb, dst, head, shift);
        let mut off = head;
        while off < body_end {
            L::fill(dst.add(off), pattern);
            off += 64;
        }
        set_tail(dst.add(body_end), pattern, len - body_end, wb, shift);
    }
}

/// Defines the entry points of one instruction set: a memmove and a memset, each a function of
/// its own (never inlined: one copy of each driver, and a symbol the disassembly tests can find)
/// with the set's target features.
macro_rules! entry_points {
    ($(#[$cfg:meta])* $line:ident, $memmove:ident, $memset:ident $(, $feature:literal)?) => {
        /// Non-temporal memmove with this instruction set.
        ///
        /// # Safety
        ///
        /// The CPU supports the set and `wb`; `src` readable and `dst` writable for `len` bytes.
        $(#[$cfg])*
        $(#[target_feature(enable = $feature)])?
        #[inline(never)]
        pub(super) unsafe fn $memmove(dst: *mut u8, src: *const u8, len: usize, wb: WriteBack, shift: u8) {
            // SAFETY: the caller's contract.
            unsafe { memmove_with::<$line>(dst, src, len, wb, shift) }
        }

        /// Non-temporal memset with this instruction set.
        ///
        /// # Safety
        ///
        /// The CPU supports the set and `wb`; `dst` writable for `len` bytes.
        $(#[$cfg])*
        $(#[target_feature(enable = $feature)])?
        #[inline(never)]
        pub(super) unsafe fn $memset(dst: *mut u8, pattern: u64, len: usize, wb: WriteBack, shift: u8) {
            // SAFETY: the caller's contract.
            unsafe { memset_with::<$line>(dst, pattern, len, wb, shift) }
        }
    };
}

entry_points!(Movnti, memmove_movnti, memset_movnti);
entry_points!(
    #[cfg(target_feature = "sse2")]
    Sse2,
    memmove_sse2,
    memset_sse2
);
entry_points!(
    #[cfg(target_feature = "sse2")]
    Avx,
    memmove_avx,
    memset_avx,
    "avx"
);
entry_points!(
    #[cfg(target_feature = "sse2")]
    Avx512f,
    memmove_avx512f,
    memset_avx512f,
    "avx512f"
);
entry_points!(Movdir64b, memmove_movdir64b, memset_movdir64b);

/// One aligned vector store, volatile so that it stays one store of the vector's width: the
/// optimizer may otherwise turn a run of loads and stores into a call of `memmove` or `memset`
/// (rustc 1.97 did, for the SSE2 block copy), which breaks the promises on store widths and
/// leaves the write-back to chase a library's stores.
///
/// # Safety
///
/// `dst` is writable for `size_of::<T>()` bytes and aligned for `T`.
#[cfg(target_feature = "sse2")]
#[inline(always)]
unsafe fn store_vector<T>(dst: *mut T, v: T) {
    // SAFETY: the caller's contract.
    unsafe { dst.write_volatile(v) }
}

/// One vector set's ordinary (temporal) stores of whole 64-byte lines.
#[cfg(target_feature = "sse2")]
trait TemporalLine {
    /// Lines per [`copy_block`](TemporalLine::copy_block): one write-back block, whatever the
    /// set (sixteen SSE2 registers, eight AVX, four AVX-512).
    const BLOCK: usize = WRITE_BACK_BLOCK / 64;

    /// Loads `BLOCK` lines from `src`, then stores them all to `dst`.
    ///
    /// # Safety
    ///
    /// The CPU supports the set; `src` readable and `dst` writable for `64 * BLOCK` bytes;
    /// `dst` 64-byte aligned.
    unsafe fn copy_block(dst: *mut u8, src: *const u8);

    /// Loads one line from `src`, then stores it to `dst`.
    ///
    /// # Safety
    ///
    /// As for [`TemporalLine::copy_block`], for 64 bytes.
    unsafe fn copy(dst: *mut u8, src: *const u8);

    /// Stores the byte repeated in `pattern` to the 64 bytes at `dst`.
    ///
    /// # Safety
    ///
    /// As for [`TemporalLine::copy`], without `src`.
    unsafe fn fill(dst: *mut u8, pattern: u64);
}

/// Defines one vector set's temporal line functions (each with the set's target feature, so
/// that it inlines into the set's entry points) and implements [`TemporalLine`] with them.
macro_rules! temporal_lines {
    (
        $set:ident, $feature:literal, $vec:ty, $width:literal,
        $loadu:ident, $splat:ident,
        $copy_block:ident, $copy:ident, $fill:ident
    ) => {
        /// A write-back block's vector loads, then its aligned vector stores.
        ///
        /// # Safety
        ///
        /// As for [`TemporalLine::copy_block`] with this set.
        #[cfg(target_feature = "sse2")]
        #[target_feature(enable = $feature)]
        #[inline]
        unsafe fn $copy_block(dst: *mut u8, src: *const u8) {
            // SAFETY: the caller's contract; `dst` 64-byte aligned covers the store's alignment.
            unsafe {
                let v: [$vec; WRITE_BACK_BLOCK / $width] =
                    core::array::from_fn(|i| $loadu(src.add($width * i).cast()));
                for (i, v) in v.into_iter().enumerate() {
                    store_vector(dst.add($width * i).cast(), v);
                }
            }
        }

        /// One line: its vector loads, then its aligned vector stores.
        ///
        /// # Safety
        ///
        /// As for [`TemporalLine::copy`] with this set.
        #[cfg(target_feature = "sse2")]
        #[target_feature(enable = $feature)]
        #[inline]
        unsafe fn $copy(dst: *mut u8, src: *const u8) {
            // SAFETY: as in the block copy, for one line.
            unsafe {
                let v: [$vec; 64 / $width] =
                    core::array::from_fn(|i| $loadu(src.add($width * i).cast()));
                for (i, v) in v.into_iter().enumerate() {
                    store_vector(dst.add($width * i).cast(), v);
                }
            }
        }

        /// One line of the pattern, aligned vector stores.
        ///
        /// # Safety
        ///
        /// As for [`TemporalLine::fill`] with this set.
        #[cfg(target_feature = "sse2")]
        #[target_feature(enable = $feature)]
        #[inline]
        unsafe fn $fill(dst: *mut u8, pattern: u64) {
            let v = $splat(pattern as i64);
            for i in 0..64 / $width {
                // SAFETY: the caller's contract; 64-byte aligned.
                unsafe { store_vector(dst.add($width * i).cast::<$vec>(), v) };
            }
        }

        #[cfg(target_feature = "sse2")]
        impl TemporalLine for $set {
            #[inline(always)]
            unsafe fn copy_block(dst: *mut u8, src: *const u8) {
                // SAFETY: the caller's contract, the set included.
                unsafe { $copy_block(dst, src) }
            }

            #[inline(always)]
            unsafe fn copy(dst: *mut u8, src: *const u8) {
                // SAFETY: the caller's contract, the set included.
                unsafe { $copy(dst, src) }
            }

            #[inline(always)]
            unsafe fn fill(dst: *mut u8, pattern: u64) {
                // SAFETY: the caller's contract, the set included.
                unsafe { $fill(dst, pattern) }
            }
        }
    };
}

temporal_lines!(
    Sse2,
    "sse2",
    __m128i,
    16,
    _mm_loadu_si128,
    _mm_set1_epi64x,
    sse2_t_copy_block,
    sse2_t_copy,
    sse2_t_fill
);
temporal_lines!(
    Avx,
    "avx",
    __m256i,
    32,
    _mm256_loadu_si256,
    _mm256_set1_epi64x,
    avx_t_copy_block,
    avx_t_copy,
    avx_t_fill
);
temporal_lines!(
    Avx512f,
    "avx512f",
    __m512i,
    64,
    _mm512_loadu_si512,
    _mm512_set1_epi64,
    avx512f_t_copy_block,
    avx512f_t_copy,
    avx512f_t_fill
);

/// The temporal memmove for vector set `L`: partial lines through [`move_block`], whole lines
/// with `L`'s stores, 256 bytes at a time, each 256 bytes written back once the next 256 are
/// stored (a write-back right behind the stores to a line whose read-for-ownership is still in
/// flight waits for it: written back per line, this path took twice as long on the Intel Xeon
/// of bench/results/).
///
/// # Safety
///
/// The CPU supports `L` and `wb`; `src` readable and `dst` writable for `len > 64` bytes.
#[cfg(target_feature = "sse2")]
#[inline(always)]
unsafe fn memmove_temporal_with<L: TemporalLine>(
    dst: *mut u8,
    src: *const u8,
    len: usize,
    wb: WriteBack,
    shift: u8,
) {
    let head = to_boundary(dst).min(len);
    let body_end = head + ((len - head) & !63);
    let block = 64 * L::BLOCK;
    // SAFETY: every piece stays within `len`; lines start at `dst + head`, 64-byte aligned;
    // the caller's contract covers the rest. Forward unless `dst` lies inside the source, and
    // every piece loads all its bytes before storing any, as in `temporal::memmove`.
    unsafe {
        if dst.addr().wrapping_sub(src.addr()) >= len {
            move_block(dst, src, head);
            // Stored and written back: [0, written_back); stored, not yet: up to `stored`.
            let (mut off, mut written_back, mut stored) = (head, 0, head);
            while off < body_end {
                let end = body_end.min(off + WRITE_BACK_BLOCK);
                while end - off >= block {
                    L::copy_block(dst.add(off), src.add(off));
                    off += block;
                }
                while off < end {
                    L::copy(dst.add(off), src.add(off));
                    off += 64;
                }
                // The block before this one: its stores had a block's time to complete.
                write_back_range(wb, dst.add(written_back), stored - written_back, shift);
                (written_back, stored) = (stored, off);
            }
            move_block(dst.add(body_end), src.add(body_end), len - body_end);
            write_back_range(wb, dst.add(written_back), len - written_back, shift);
        } else {
            move_block(dst.add(body_end), src.add(body_end), len - body_end);
            // Stored and written back: [written_back, len); stored, not yet: from `stored`.
            let (mut off, mut written_back, mut stored) = (body_end, len, body_end);
            while off > head {
                let start = head.max(off.saturating_sub(WRITE_BACK_BLOCK));
                while off - start >= block {
                    off -= block;
                    L::copy_block(dst.add(off), src.add(off));
                }
                while off > start {
                    off -= 64;
                    L::copy(dst.add(off), src.add(off));
                }
                write_back_range(wb, dst.add(stored), written_back - stored, shift);
                (written_back, stored) = (stored, off);
            }
            move_block(dst, src, head);
            write_back_range(wb, dst, written_back, shift);
        }
    }
}

/// The temporal memset for vector set `L`.
///
/// # Safety
///
/// The CPU supports `L` and `wb`; `dst` writable for `len` bytes.
#[cfg(target_feature = "sse2")]
#[inline(always)]
unsafe fn memset_temporal_with<L: TemporalLine>(
    dst: *mut u8,
    pattern: u64,
    len: usize,
    wb: WriteBack,
    shift: u8,
) {
    let head = to_boundary(dst).min(len);
    let body_end = head + ((len - head) & !63);
    // SAFETY: as in `memmove_temporal_with`.
    unsafe {
        set_block(dst, pattern, head);
        // As in `memmove_temporal_with`: each block written back after the next is stored.
        let (mut off, mut written_back, mut stored) = (head, 0, head);
        while off < body_end {
            let end = body_end.min(off + WRITE_BACK_BLOCK);
            while off < end {
                L::fill(dst.add(off), pattern);
                off += 64;
            }
            write_back_range(wb, dst.add(written_back), stored - written_back, shift);
            (written_back, stored) = (stored, off);
        }
        set_block(dst.add(body_end), pattern, len - body_end);
        write_back_range(wb, dst.add(written_back), len - written_back, shift);
    }
}

/// Defines the temporal entry points of one vector set, as `entry_points!` does.
macro_rules! temporal_entry_points {
    ($line:ident, $memmove:ident, $memset:ident, $feature:literal) => {
        /// Temporal memmove with this vector set (whole lines), lines written back with `wb`.
        ///
        /// # Safety
        ///
        /// The CPU supports the set and `wb`; `src` readable and `dst` writable for `len`
        /// bytes.
        #[cfg(target_feature = "sse2")]
        #[target_feature(enable = $feature)]
        #[inline(never)]
        pub(super) unsafe fn $memmove(
            dst: *mut u8,
            src: *const u8,
            len: usize,
            wb: WriteBack,
            shift: u8,
        ) {
            #[cfg(test)]
            super::temporal::count::whole_lines(super::temporal::Vectors::$line);
            // SAFETY: the caller's contract.
            unsafe { memmove_temporal_with::<$line>(dst, src, len, wb, shift) }
        }

        /// Temporal memset with this vector set (whole lines), lines written back with `wb`.
        ///
        /// # Safety
        ///
        /// The CPU supports the set and `wb`; `dst` writable for `len` bytes.
        #[cfg(target_feature = "sse2")]
        #[target_feature(enable = $feature)]
        #[inline(never)]
        pub(super) unsafe fn $memset(
            dst: *mut u8,
            pattern: u64,
            len: usize,
            wb: WriteBack,
            shift: u8,
        ) {
            #[cfg(test)]
            super::temporal::count::whole_lines(super::temporal::Vectors::$line);
            // SAFETY: the caller's contract.
            unsafe { memset_temporal_with::<$line>(dst, pattern, len, wb, shift) }
        }
    };
}

temporal_entry_points!(Sse2, memmove_temporal_sse2, memset_temporal_sse2, "sse2");
temporal_entry_points!(Avx, memmove_temporal_avx, memset_temporal_avx, "avx");
temporal_entry_points!(
    Avx512f,
    memmove_temporal_avx512f,
    memset_temporal_avx512f,
    "avx512f"
);
