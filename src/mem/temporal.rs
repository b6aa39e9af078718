//! The path every target has: ordinary stores, each line written back soon after it is stored.
//!
//! Lines are written back a block at a time (1 KiB) so the write-back dispatch runs once per
//! kilobyte, while the data is still in the cache. `WriteBack::None` stores only (byte
//! granularity, `NOFLUSH`).
//!
//! On x86-64 builds with SSE the whole lines are stored with the SSE2 stores the [`Vectors`]
//! argument allows (`x86_64::memmove_temporal_sse2`); everywhere else, and in kernel builds
//! with SSE off, with the aligned word loops of [`super::words`]. Partial lines go
//! through [`super::small`] on every path.

use super::NonTemporal;
use super::small::{move_block, set_block};
use super::words;
use crate::arch::write_back_range;
use crate::selection::WriteBack;

/// Bytes stored between write-backs.
pub(super) const BLOCK: usize = 1024;

/// The vector registers the temporal path stores whole lines from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Vectors {
    /// General-purpose registers only: the aligned word loops, 8-byte stores.
    None,
    /// SSE2, 16-byte stores.
    #[cfg_attr(
        not(all(target_arch = "x86_64", target_feature = "sse2")),
        allow(dead_code, reason = "x86-64 builds with SSE only")
    )]
    Sse2,
}

impl Vectors {
    /// The vector stores of the temporal path for this build and a selection with
    /// non-temporal stores `nt`: none in builds without SSE (kernels) and where the selection's
    /// non-temporal stores are MOVNTI (chosen when SSE2 is absent or disabled); SSE2 otherwise,
    /// which every x86-64 build with SSE already uses. So a `Config` that disables SSE2 but
    /// also turns non-temporal stores off, or opts into MOVDIR64B, still gets SSE2 stores here:
    /// only a build without SSE keeps vector registers out of every path.
    ///
    /// Not the widest set the selection allows: ordinary stores to lines that are not in the
    /// cache (a new pmem destination) were slower with 32- and 64-byte stores than with 16-byte
    /// ones at 1-64 KiB on the Intel Xeon of bench/results/ (bench/NOTES.md, "Forced temporal
    /// copies"), and on AMD Zen 4 two 16-byte stores per cycle match one 32-byte store.
    #[inline(always)]
    pub(crate) const fn allowed_by(nt: NonTemporal) -> Vectors {
        if cfg!(all(target_arch = "x86_64", target_feature = "sse2"))
            && !matches!(nt, NonTemporal::Movnti)
        {
            Vectors::Sse2
        } else {
            Vectors::None
        }
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
        if vectors == Vectors::Sse2 {
            return super::x86_64::memmove_temporal_sse2(dst, src, len, wb, shift);
        }
        let _ = vectors;
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
                write_back_range(wb, dst.add(written_back), done - written_back, shift);
                written_back = done;
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
                write_back_range(wb, dst.add(done), written_back - done, shift);
                written_back = done;
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
        if vectors == Vectors::Sse2 {
            return super::x86_64::memset_temporal_sse2(dst, pattern, len, wb, shift);
        }
        let _ = vectors;
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
            write_back_range(wb, dst.add(written_back), done - written_back, shift);
            written_back = done;
        }
        set_block(dst.add(body_end), pattern, len - body_end);
        write_back_range(wb, dst.add(written_back), len - written_back, shift);
    }
}
