//! The hardware floor: the cheapest code that does the same work as a persist or a persistent
//! copy, hard-coded for this CPU with no detection, no dispatch and no length checks beyond the
//! loop itself.
//!
//! - persist: a CLWB per 64-byte line (line size fixed at 64), then SFENCE;
//! - copies: non-temporal stores of the widest kind the CPU has (AVX-512, else AVX, else SSE2)
//!   for whole vectors (copies load a block of 16 vectors, then store it), one non-temporal
//!   store for a last piece of exactly 8 or 16 bytes, else plain stores plus a CLWB for the
//!   last piece, then SFENCE; or the temporal form: plain stores in blocks of 32 lines, a CLWB
//!   per line after each block, SFENCE.
//!
//! The copy loops assume a 64-byte-aligned destination, which the benchmark always passes (the
//! head alignment work a library does for unaligned destinations is then a no-op for every
//! contender).

use core::arch::asm;
use core::arch::x86_64::*;

use crate::harness::Batch;

/// The cache-line size the floor assumes.
pub const LINE: usize = 64;

/// CLWB of the line holding `p`.
///
/// # Safety
///
/// The CPU has CLWB and `p` is mapped.
#[inline(always)]
pub unsafe fn clwb(p: *const u8) {
    // SAFETY: the caller's contract. Not `nomem`: it must stay after the stores to the line.
    unsafe { asm!("clwb byte ptr [{}]", in(reg) p, options(nostack, preserves_flags)) }
}

/// SFENCE.
#[inline(always)]
pub fn sfence() {
    // SAFETY: every x86-64 CPU has SFENCE; it only orders memory operations.
    unsafe { asm!("sfence", options(nostack, preserves_flags)) }
}

/// CLWB of every 64-byte line overlapping `[addr, addr + len)`.
///
/// # Safety
///
/// The CPU has CLWB and the range is mapped.
#[inline(always)]
pub unsafe fn clwb_range(addr: *const u8, len: usize) {
    let mut p = addr.wrapping_sub(addr.addr() % LINE);
    let end = addr.addr() + len;
    while p.addr() < end {
        // SAFETY: the caller's contract; `p` is a line overlapping the range.
        unsafe { clwb(p) };
        p = p.wrapping_add(LINE);
    }
}

/// The part of a non-temporal copy or fill after the whole vectors: `len - i` (< one vector)
/// bytes in the last line. One non-temporal store when the piece is exactly 8 or 16 bytes (more
/// than one partial non-temporal write to a line costs more than caching it); otherwise plain
/// stores and a CLWB of the line.
///
/// # Safety
///
/// `dst + i .. dst + len` is writable, `src` (when given) likewise readable; the CPU has CLWB;
/// `dst + i` is 8-aligned.
#[inline(always)]
unsafe fn nt_tail(dst: *mut u8, src: Option<*const u8>, value: u8, i: usize, len: usize) {
    let rest = len - i;
    let word = |k: usize| {
        src.map_or(i64::from_ne_bytes([value; 8]), |s| {
            // SAFETY: the caller's contract, `k + 8 <= len`.
            unsafe { s.add(k).cast::<i64>().read_unaligned() }
        })
    };
    match rest {
        0 => {}
        // SAFETY (both): in bounds and 8-aligned (16-aligned for 16: the vector body ends on a
        // 16-byte boundary of a 64-aligned destination).
        8 => unsafe { _mm_stream_si64(dst.add(i).cast::<i64>(), word(i)) },
        16 => unsafe {
            _mm_stream_si128(
                dst.add(i).cast::<__m128i>(),
                _mm_set_epi64x(word(i + 8), word(i)),
            )
        },
        _ => {
            for k in i..len {
                // SAFETY: the caller's contract, `k < len`.
                unsafe { *dst.add(k) = src.map_or(value, |s| *s.add(k)) };
            }
            // SAFETY: as above.
            unsafe { clwb_range(dst.add(i), rest) };
        }
    }
}

/// Defines the four floor loops (nt copy, temporal copy, nt set, temporal set) for one vector
/// width, and their batch drivers.
macro_rules! vector_floor {
    (
        $isa:ident, $feature:literal, $vec:ty, $width:expr,
        $loadu:ident, $storeu:ident, $stream:ident, $splat:ident, $zero:ident
    ) => {
        pub mod $isa {
            use super::*;

            /// Vectors per block of the non-temporal copy: loaded, then stored.
            const BLOCK: usize = 16;
            /// Lines per block of the temporal forms: stored, then written back.
            const T_BLOCK: usize = 32;

            /// Non-temporal copy of `len` bytes to a 64-byte-aligned `dst`, then SFENCE.
            ///
            /// # Safety
            ///
            /// The CPU has the feature and CLWB; the ranges are valid and do not overlap.
            #[target_feature(enable = $feature)]
            #[inline]
            pub unsafe fn nt_copy(dst: *mut u8, src: *const u8, len: usize) {
                let (d, s) = (dst.cast::<$vec>(), src.cast::<$vec>());
                let mut i = 0;
                // Blocks: every load first, then every store (as PMDK does), so the source
                // reads overlap.
                while i + BLOCK * $width <= len {
                    let mut v = [$zero(); BLOCK];
                    for (k, x) in v.iter_mut().enumerate() {
                        // SAFETY: in bounds.
                        *x = unsafe { $loadu(s.add(i / $width + k)) };
                    }
                    for (k, x) in v.into_iter().enumerate() {
                        // SAFETY: in bounds; `d` is vector-aligned (64-aligned base).
                        unsafe { $stream(d.add(i / $width + k), x) };
                    }
                    i += BLOCK * $width;
                }
                while i + $width <= len {
                    // SAFETY: as above.
                    unsafe { $stream(d.add(i / $width), $loadu(s.add(i / $width))) };
                    i += $width;
                }
                // SAFETY: the caller's contract.
                unsafe { nt_tail(dst, Some(src), 0, i, len) };
                sfence();
            }

            /// Temporal copy with a CLWB per line, then SFENCE.
            ///
            /// # Safety
            ///
            /// As for [`nt_copy`].
            #[target_feature(enable = $feature)]
            #[inline]
            pub unsafe fn t_copy(dst: *mut u8, src: *const u8, len: usize) {
                let (d, s) = (dst.cast::<$vec>(), src.cast::<$vec>());
                let mut i = 0;
                while i + LINE <= len {
                    // A block of up to `T_BLOCK` whole lines: the stores, then a CLWB per line.
                    let lines = ((len - i) / LINE).min(T_BLOCK);
                    for k in 0..lines * LINE / $width {
                        let at = i / $width + k;
                        // SAFETY: in bounds.
                        unsafe { $storeu(d.add(at), $loadu(s.add(at))) };
                    }
                    for k in 0..lines {
                        // SAFETY: the line was just written; the CPU has CLWB.
                        unsafe { clwb(dst.add(i + k * LINE)) };
                    }
                    i += lines * LINE;
                }
                let line = i;
                while i + 8 <= len {
                    // SAFETY: in bounds.
                    unsafe {
                        dst.add(i)
                            .cast::<u64>()
                            .write_unaligned(src.add(i).cast::<u64>().read_unaligned())
                    };
                    i += 8;
                }
                for k in i..len {
                    // SAFETY: in bounds.
                    unsafe { *dst.add(k) = *src.add(k) };
                }
                if line < len {
                    // SAFETY: the last, partial line was just written.
                    unsafe { clwb(dst.add(line)) };
                }
                sfence();
            }

            /// Non-temporal fill of `len` bytes at a 64-byte-aligned `dst`, then SFENCE.
            ///
            /// # Safety
            ///
            /// The CPU has the feature and CLWB; the range is valid.
            #[target_feature(enable = $feature)]
            #[inline]
            pub unsafe fn nt_set(dst: *mut u8, value: u8, len: usize) {
                let d = dst.cast::<$vec>();
                let v = $splat(value as i8);
                let mut i = 0;
                while i + $width <= len {
                    // SAFETY: in bounds; vector-aligned.
                    unsafe { $stream(d.add(i / $width), v) };
                    i += $width;
                }
                // SAFETY: the caller's contract.
                unsafe { nt_tail(dst, None, value, i, len) };
                sfence();
            }

            /// Temporal fill with a CLWB per line, then SFENCE.
            ///
            /// # Safety
            ///
            /// As for [`nt_set`].
            #[target_feature(enable = $feature)]
            #[inline]
            pub unsafe fn t_set(dst: *mut u8, value: u8, len: usize) {
                let d = dst.cast::<$vec>();
                let v = $splat(value as i8);
                let mut i = 0;
                while i + LINE <= len {
                    // As in `t_copy`.
                    let lines = ((len - i) / LINE).min(T_BLOCK);
                    for k in 0..lines * LINE / $width {
                        // SAFETY: in bounds.
                        unsafe { $storeu(d.add(i / $width + k), v) };
                    }
                    for k in 0..lines {
                        // SAFETY: the line was just written.
                        unsafe { clwb(dst.add(i + k * LINE)) };
                    }
                    i += lines * LINE;
                }
                let line = i;
                let word = u64::from_ne_bytes([value; 8]);
                while i + 8 <= len {
                    // SAFETY: in bounds.
                    unsafe { dst.add(i).cast::<u64>().write_unaligned(word) };
                    i += 8;
                }
                for k in i..len {
                    // SAFETY: in bounds.
                    unsafe { *dst.add(k) = value };
                }
                if line < len {
                    // SAFETY: the last, partial line was just written.
                    unsafe { clwb(dst.add(line)) };
                }
                sfence();
            }

            /// Batch drivers, compiled with the feature so the loops above inline into them.
            ///
            /// # Safety
            ///
            /// The CPU has the feature and CLWB; the batch's regions are valid.
            #[target_feature(enable = $feature)]
            #[inline(never)]
            pub unsafe fn batch_nt_copy(b: &Batch) {
                for i in 0..b.count {
                    // SAFETY: the caller's contract.
                    unsafe { nt_copy(b.dst(i), b.src(i), b.len) }
                }
            }

            /// See [`batch_nt_copy`].
            ///
            /// # Safety
            ///
            /// As there.
            #[target_feature(enable = $feature)]
            #[inline(never)]
            pub unsafe fn batch_t_copy(b: &Batch) {
                for i in 0..b.count {
                    // SAFETY: the caller's contract.
                    unsafe { t_copy(b.dst(i), b.src(i), b.len) }
                }
            }

            /// See [`batch_nt_copy`].
            ///
            /// # Safety
            ///
            /// As there.
            #[target_feature(enable = $feature)]
            #[inline(never)]
            pub unsafe fn batch_nt_set(b: &Batch) {
                for i in 0..b.count {
                    // SAFETY: the caller's contract.
                    unsafe { nt_set(b.dst(i), b.value, b.len) }
                }
            }

            /// See [`batch_nt_copy`].
            ///
            /// # Safety
            ///
            /// As there.
            #[target_feature(enable = $feature)]
            #[inline(never)]
            pub unsafe fn batch_t_set(b: &Batch) {
                for i in 0..b.count {
                    // SAFETY: the caller's contract.
                    unsafe { t_set(b.dst(i), b.value, b.len) }
                }
            }
        }
    };
}

vector_floor!(
    avx512,
    "avx512f",
    __m512i,
    64,
    _mm512_loadu_si512,
    _mm512_storeu_si512,
    _mm512_stream_si512,
    _mm512_set1_epi8,
    _mm512_setzero_si512
);
vector_floor!(
    avx,
    "avx",
    __m256i,
    32,
    _mm256_loadu_si256,
    _mm256_storeu_si256,
    _mm256_stream_si256,
    _mm256_set1_epi8,
    _mm256_setzero_si256
);
vector_floor!(
    sse2,
    "sse2",
    __m128i,
    16,
    _mm_loadu_si128,
    _mm_storeu_si128,
    _mm_stream_si128,
    _mm_set1_epi8,
    _mm_setzero_si128
);

/// The four copy floors for the widest vector stores this CPU (and OS) allows.
#[derive(Clone, Copy)]
pub struct CopyFloor {
    /// "AVX-512F", "AVX" or "SSE2".
    pub isa: &'static str,
    pub nt_copy: unsafe fn(&Batch),
    pub t_copy: unsafe fn(&Batch),
    pub nt_set: unsafe fn(&Batch),
    pub t_set: unsafe fn(&Batch),
}

impl CopyFloor {
    /// Picks the widest stores `std` says this CPU and OS support.
    pub fn detect() -> CopyFloor {
        if is_x86_feature_detected!("avx512f") {
            CopyFloor {
                isa: "AVX-512F",
                nt_copy: avx512::batch_nt_copy,
                t_copy: avx512::batch_t_copy,
                nt_set: avx512::batch_nt_set,
                t_set: avx512::batch_t_set,
            }
        } else if is_x86_feature_detected!("avx") {
            CopyFloor {
                isa: "AVX",
                nt_copy: avx::batch_nt_copy,
                t_copy: avx::batch_t_copy,
                nt_set: avx::batch_nt_set,
                t_set: avx::batch_t_set,
            }
        } else {
            CopyFloor {
                isa: "SSE2",
                nt_copy: sse2::batch_nt_copy,
                t_copy: sse2::batch_t_copy,
                nt_set: sse2::batch_nt_set,
                t_set: sse2::batch_t_set,
            }
        }
    }
}
