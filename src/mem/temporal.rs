//! The path every target has: ordinary stores, each line written back soon after it is stored.
//!
//! Lines are written back a block at a time (1 KiB) so the write-back dispatch runs once per
//! kilobyte, while the data is still in the cache. `WriteBack::None` stores only (byte
//! granularity, `NOFLUSH`).
//!
//! On x86-64 builds with SSE the whole lines are stored with the vector stores the
//! [`Vectors`] argument allows (`x86_64::memmove_temporal_sse2`; from [`WIDE_FROM`] bytes the
//! AVX or AVX-512F forms where the selection has that set); everywhere else, and in kernel
//! builds with SSE off, with the aligned word loops of [`super::words`]. Partial lines go
//! through [`super::small`] on every path.

use super::NonTemporal;
use super::small::{move_block, set_block};
use super::words;
use crate::arch::write_back_range;
use crate::selection::WriteBack;

/// Bytes stored between write-backs.
pub(super) const BLOCK: usize = 1024;

/// Copies from this many bytes store whole lines with the wider vector set the selection
/// allows (AVX-512F or AVX); shorter ones with SSE2. Measured on the Intel Xeon of
/// bench/results/ (bench/NOTES.md, "Forced temporal copies" and its "Long copies" part): up to
/// 64 KiB, where the destination lines are read for ownership from nearby caches, 16-byte
/// stores were the fastest; from 1 MiB, where they come from DRAM, 64-byte stores were faster
/// for memset (64 MiB by 5-12 %; AVX, measured at 64 MiB only, in between) and level for
/// memcpy, which takes the same rule. The likely reason, not confirmed by counters: a store
/// takes a store-buffer entry whatever its width (on this Xeon; on AMD Zen 4 a 512-bit store
/// takes two), so wider stores keep more lines' reads for ownership in flight.
#[cfg_attr(
    not(all(target_arch = "x86_64", target_feature = "sse2")),
    allow(dead_code, reason = "x86-64 builds with SSE only")
)]
pub(super) const WIDE_FROM: usize = 1 << 20;

/// The vector registers the temporal path stores whole lines from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Vectors {
    /// General-purpose registers only: the aligned word loops, 8-byte stores.
    None,
    /// SSE2, 16-byte stores, at every length.
    #[cfg_attr(
        not(all(target_arch = "x86_64", target_feature = "sse2")),
        allow(dead_code, reason = "x86-64 builds with SSE only")
    )]
    Sse2,
    /// SSE2 below [`WIDE_FROM`], AVX (32-byte stores) from there.
    #[cfg_attr(
        not(all(target_arch = "x86_64", target_feature = "sse2")),
        allow(dead_code, reason = "x86-64 builds with SSE only")
    )]
    Avx,
    /// SSE2 below [`WIDE_FROM`], AVX-512F (64-byte stores) from there.
    #[cfg_attr(
        not(all(target_arch = "x86_64", target_feature = "sse2")),
        allow(dead_code, reason = "x86-64 builds with SSE only")
    )]
    Avx512f,
}

impl Vectors {
    /// The vector stores of the temporal path for this build and a selection with
    /// non-temporal stores `nt`: none in builds without SSE (kernels) and where the selection's
    /// non-temporal stores are MOVNTI (chosen when SSE2 is absent or disabled); AVX or
    /// AVX-512F for long copies where the selection chose that set for its non-temporal stores
    /// (so the CPU has it, the OS saves its registers and the configuration did not disable
    /// it; for a selection built unchecked, the caller promised as much); SSE2 otherwise,
    /// which every x86-64 build with SSE already uses. So a `Config` that disables SSE2 but
    /// also turns non-temporal stores off, or opts into MOVDIR64B, still gets SSE2 stores
    /// here: only a build without SSE keeps vector registers out of every path.
    #[inline(always)]
    pub(crate) const fn allowed_by(nt: NonTemporal) -> Vectors {
        if !cfg!(all(target_arch = "x86_64", target_feature = "sse2")) {
            return Vectors::None;
        }
        match nt {
            NonTemporal::Movnti => Vectors::None,
            NonTemporal::Avx => Vectors::Avx,
            NonTemporal::Avx512f => Vectors::Avx512f,
            _ => Vectors::Sse2,
        }
    }

    /// The one set a copy of `len` bytes stores its whole lines with: `None`, `Sse2`, or (from
    /// [`WIDE_FROM`] bytes) the wider set `self` allows.
    #[cfg_attr(
        not(all(target_arch = "x86_64", target_feature = "sse2")),
        allow(dead_code, reason = "x86-64 builds with SSE only")
    )]
    #[inline(always)]
    pub(crate) const fn for_len(self, len: usize) -> Vectors {
        match self {
            Vectors::Avx | Vectors::Avx512f if len < WIDE_FROM => Vectors::Sse2,
            v => v,
        }
    }
}

/// The offset from `dst` at which the cache line holding `dst + off` starts (0 when it starts
/// before `dst`). A block's write-back stops there, so that with lines longer than 64 bytes
/// (POWER's 128, A64FX's 256) a line that the next block also stores is written back once,
/// after both.
#[inline(always)]
fn line_start(dst: *mut u8, off: usize, shift: u8) -> usize {
    let mask = (1usize << shift) - 1;
    ((dst.addr() + off) & !mask).saturating_sub(dst.addr())
}

/// The offset from `dst` at which the cache line holding `dst + off` ends, for a copy that runs
/// backward (`off` itself when a line starts there; `usize::MAX` when the line is the last one of
/// the address space).
#[inline(always)]
fn line_end(dst: *mut u8, off: usize, shift: u8) -> usize {
    let mask = (1usize << shift) - 1;
    match (dst.addr() + off).checked_add(mask) {
        Some(end) => (end & !mask) - dst.addr(),
        None => usize::MAX,
    }
}

/// Bytes from `dst` up to the next 64-byte boundary (0 when aligned).
#[inline(always)]
pub(super) fn to_boundary(dst: *mut u8) -> usize {
    dst.addr().wrapping_neg() & 63
}

/// Copies `len` bytes, which may overlap, writing lines back with `wb`, storing whole lines
/// from the registers `vectors` allows.
///
/// Forward when `dst` is below `src` or the ranges do not overlap, backward otherwise; every
/// piece runs in that direction (the word loops word by word, the blocks loading all their
/// bytes before storing any), so every source byte is read before any store can reach it.
///
/// # Safety
///
/// `src` readable and `dst` writable for `len` bytes; the CPU supports `wb` and `vectors`;
/// `shift` in 4..=11.
pub(crate) unsafe fn memmove(
    dst: *mut u8,
    src: *const u8,
    len: usize,
    wb: WriteBack,
    shift: u8,
    vectors: Vectors,
) {
    // SAFETY: every offset stays within `len`; the caller's contract covers the
    // ranges, the write-back and the vector registers.
    unsafe {
        if len <= 64 {
            move_block(dst, src, len);
            write_back_range(wb, dst, len, shift);
            return;
        }
        #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
        match vectors.for_len(len) {
            Vectors::None => {}
            Vectors::Sse2 => return super::x86_64::memmove_temporal_sse2(dst, src, len, wb, shift),
            Vectors::Avx => return super::x86_64::memmove_temporal_avx(dst, src, len, wb, shift),
            Vectors::Avx512f => {
                return super::x86_64::memmove_temporal_avx512f(dst, src, len, wb, shift);
            }
        }
        let _ = vectors;
        #[cfg(test)]
        count::whole_lines(Vectors::None);
        let head = to_boundary(dst);
        let body_end = head + ((len - head) & !63);
        if dst.addr().wrapping_sub(src.addr()) >= len {
            move_block(dst, src, head);
            let mut done = head;
            let mut written_back = 0;
            while done < body_end {
                let end = body_end.min(done + BLOCK);
                // Whole lines: `dst + done` is 64-byte aligned.
                words::copy_forward(dst.add(done), src.add(done), end - done);
                done = end;
                let upto = line_start(dst, done, shift);
                if upto > written_back {
                    write_back_range(wb, dst.add(written_back), upto - written_back, shift);
                    written_back = upto;
                }
            }
            move_block(dst.add(body_end), src.add(body_end), len - body_end);
            write_back_range(wb, dst.add(written_back), len - written_back, shift);
        } else {
            move_block(dst.add(body_end), src.add(body_end), len - body_end);
            let mut done = body_end;
            let mut written_back = len;
            while done > head {
                let start = head.max(done.saturating_sub(BLOCK));
                words::copy_backward(dst.add(start), src.add(start), done - start);
                done = start;
                let from = line_end(dst, done, shift).min(written_back);
                if from < written_back {
                    write_back_range(wb, dst.add(from), written_back - from, shift);
                    written_back = from;
                }
            }
            move_block(dst, src, head);
            write_back_range(wb, dst, written_back, shift);
        }
    }
}

/// Sets `len` bytes to the byte repeated in `pattern`, writing lines back with `wb`, storing
/// whole lines from the registers `vectors` allows.
///
/// # Safety
///
/// `dst` writable for `len` bytes; the CPU supports `wb` and `vectors`; `shift` in 4..=11.
pub(crate) unsafe fn memset(
    dst: *mut u8,
    pattern: u64,
    len: usize,
    wb: WriteBack,
    shift: u8,
    vectors: Vectors,
) {
    // SAFETY: every offset stays within `len`; the caller's contract covers the
    // range, the write-back and the vector registers.
    unsafe {
        if len <= 64 {
            set_block(dst, pattern, len);
            write_back_range(wb, dst, len, shift);
            return;
        }
        #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
        match vectors.for_len(len) {
            Vectors::None => {}
            Vectors::Sse2 => {
                return super::x86_64::memset_temporal_sse2(dst, pattern, len, wb, shift);
            }
            Vectors::Avx => {
                return super::x86_64::memset_temporal_avx(dst, pattern, len, wb, shift);
            }
            Vectors::Avx512f => {
                return super::x86_64::memset_temporal_avx512f(dst, pattern, len, wb, shift);
            }
        }
        let _ = vectors;
        #[cfg(test)]
        count::whole_lines(Vectors::None);
        let head = to_boundary(dst);
        let body_end = head + ((len - head) & !63);
        set_block(dst, pattern, head);
        let mut done = head;
        let mut written_back = 0;
        while done < body_end {
            let end = body_end.min(done + BLOCK);
            // Whole lines: `dst + done` is 64-byte aligned.
            words::fill(dst.add(done), pattern, end - done);
            done = end;
            let upto = line_start(dst, done, shift);
            if upto > written_back {
                write_back_range(wb, dst.add(written_back), upto - written_back, shift);
                written_back = upto;
            }
        }
        set_block(dst.add(body_end), pattern, len - body_end);
        write_back_range(wb, dst.add(written_back), len - written_back, shift);
    }
}

/// Unit-test record, per thread: the register set each temporal copy longer than a line
/// stored its whole lines with, in order (written by the function that stores them).
#[cfg(test)]
pub(crate) mod count {
    use super::Vectors;
    use std::cell::RefCell;
    use std::vec::Vec;

    std::thread_local! {
        static SETS: RefCell<Vec<Vectors>> = const { RefCell::new(Vec::new()) };
    }

    pub(in crate::mem) fn whole_lines(v: Vectors) {
        SETS.with(|s| s.borrow_mut().push(v));
    }

    /// Runs `f` and returns the sets its temporal copies used.
    pub(crate) fn during(f: impl FnOnce()) -> Vec<Vectors> {
        SETS.with(|s| s.borrow_mut().clear());
        f();
        SETS.with(|s| s.take())
    }
}
