//! The path every target has: ordinary stores, each line written back soon after it is stored.
//!
//! Lines are written back a block at a time (16 chunks of 64 bytes) so the write-back dispatch
//! runs once per kilobyte, while the data is still in the cache. `WriteBack::None` stores only
//! (byte granularity, `NOFLUSH`).

use super::small::{move_block, move_chunk, set_block, set_chunk};
use crate::arch::write_back_range;
use crate::selection::WriteBack;

/// Bytes stored between write-backs.
const BLOCK: usize = 1024;

/// Bytes from `dst` up to the next 64-byte boundary (0 when aligned).
#[inline(always)]
pub(super) fn to_boundary(dst: *mut u8) -> usize {
    dst.addr().wrapping_neg() & 63
}

/// Copies `len` bytes, which may overlap, writing lines back with `wb`.
///
/// Forward when `dst` is below `src` or the ranges do not overlap, backward otherwise; within
/// each piece all loads come before the stores, so every source byte is read before any store
/// can reach it.
///
/// # Safety
///
/// `src` readable and `dst` writable for `len` bytes; the CPU supports `wb`; `shift` in 4..=11.
pub(crate) unsafe fn memmove(dst: *mut u8, src: *const u8, len: usize, wb: WriteBack, shift: u8) {
    // SAFETY: every offset stays within `len`; the caller's contract covers the
    // ranges and the write-back.
    unsafe {
        if len <= 64 {
            move_block(dst, src, len);
            write_back_range(wb, dst, len, shift);
            return;
        }
        let head = to_boundary(dst);
        let body_end = head + ((len - head) & !63);
        if dst.addr().wrapping_sub(src.addr()) >= len {
            move_block(dst, src, head);
            let mut done = head;
            let mut written_back = 0;
            while done < body_end {
                let end = body_end.min(done + BLOCK);
                while done < end {
                    move_chunk(dst.add(done), src.add(done));
                    done += 64;
                }
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
                while done > start {
                    done -= 64;
                    move_chunk(dst.add(done), src.add(done));
                }
                write_back_range(wb, dst.add(done), written_back - done, shift);
                written_back = done;
            }
            move_block(dst, src, head);
            write_back_range(wb, dst, written_back, shift);
        }
    }
}

/// Sets `len` bytes to the byte repeated in `pattern`, writing lines back with `wb`.
///
/// # Safety
///
/// `dst` writable for `len` bytes; the CPU supports `wb`; `shift` in 4..=11.
pub(crate) unsafe fn memset(dst: *mut u8, pattern: u64, len: usize, wb: WriteBack, shift: u8) {
    // SAFETY: every offset stays within `len`; the caller's contract covers the
    // range and the write-back.
    unsafe {
        if len <= 64 {
            set_block(dst, pattern, len);
            write_back_range(wb, dst, len, shift);
            return;
        }
        let head = to_boundary(dst);
        let body_end = head + ((len - head) & !63);
        set_block(dst, pattern, head);
        let mut done = head;
        let mut written_back = 0;
        while done < body_end {
            let end = body_end.min(done + BLOCK);
            while done < end {
                set_chunk(dst.add(done), pattern);
                done += 64;
            }
            write_back_range(wb, dst.add(written_back), done - written_back, shift);
            written_back = done;
        }
        set_block(dst.add(body_end), pattern, len - body_end);
        write_back_range(wb, dst.add(written_back), len - written_back, shift);
    }
}
