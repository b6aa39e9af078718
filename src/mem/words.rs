//! The aligned word loops: where a copy's destination and length are multiples of 8, every
//! ordinary (temporal) store of the general-purpose paths is made here, as an aligned 8-byte
//! store.
//!
//! Why functions of their own: a store through `write_unaligned::<u64>` gives the compiler no
//! alignment, so on targets without fast unaligned access (`aarch64-unknown-none` with
//! `+strict-align`, `riscv64gc`) it becomes eight single-byte stores, and an 8-byte commit word
//! could be torn by an eviction between them. Here the destination is a `*mut u64` known to be
//! aligned and every store is `write_volatile`: the compiler can neither split an aligned
//! volatile word store nor merge a run of them into wider vector stores or turn the loop into a
//! call to `memset` / `memcpy` (which store bytes on some targets). Loads may be unaligned (a
//! source at any offset); an aligned source is read with aligned loads.
//!
//! Each function is `#[inline(never)]`, with a symbol `scripts/check-store-widths.sh` and
//! `tests/disasm.rs` find in the library of every target, to check from the emitted
//! instructions that it makes no store narrower than 8 bytes, and that the copy paths call it.
//! The unit tests count at run time (under QEMU for the other architectures) that aligned
//! inputs reach these functions and no other ordinary store.

/// Copies `len` bytes from `src` to `dst`, ascending, one word at a time (each load right
/// before its store): correct for overlapping ranges when `dst` is below `src`, or when they
/// do not overlap.
///
/// # Safety
///
/// `dst` is 8-byte aligned and writable for `len` bytes, `len` is a multiple of 8, `src` is
/// readable for `len` bytes; if the ranges overlap, `dst` is below `src`.
#[inline(never)]
pub(crate) unsafe fn copy_forward(dst: *mut u8, src: *const u8, len: usize) {
    #[cfg(test)]
    super::small::count::words(len);
    let d = dst.cast::<u64>();
    let words = len / 8;
    // SAFETY: word `i < words` lies inside both ranges; `d` is aligned (the caller's contract)
    // and the aligned-source loop runs only for an aligned `src`. Ascending order: a store can
    // only reach source bytes at or below the word just loaded (dst is below src).
    unsafe {
        if src.addr() & 7 == 0 {
            let s = src.cast::<u64>();
            for i in 0..words {
                d.add(i).write_volatile(s.add(i).read());
            }
        } else {
            for i in 0..words {
                d.add(i)
                    .write_volatile(src.add(8 * i).cast::<u64>().read_unaligned());
            }
        }
    }
}

/// As [`copy_forward`], descending: correct for overlapping ranges when `dst` is above `src`.
///
/// # Safety
///
/// `dst` is 8-byte aligned and writable for `len` bytes, `len` is a multiple of 8, `src` is
/// readable for `len` bytes; if the ranges overlap, `dst` is above `src`.
#[inline(never)]
pub(crate) unsafe fn copy_backward(dst: *mut u8, src: *const u8, len: usize) {
    #[cfg(test)]
    super::small::count::words(len);
    let d = dst.cast::<u64>();
    let words = len / 8;
    // SAFETY: as in `copy_forward`; descending, a store can only reach source bytes at or
    // above the word just loaded (dst is above src).
    unsafe {
        if src.addr() & 7 == 0 {
            let s = src.cast::<u64>();
            for i in (0..words).rev() {
                d.add(i).write_volatile(s.add(i).read());
            }
        } else {
            for i in (0..words).rev() {
                d.add(i)
                    .write_volatile(src.add(8 * i).cast::<u64>().read_unaligned());
            }
        }
    }
}

/// Copies `len` bytes in the direction that is correct for these ranges (ascending unless
/// `dst` lies inside `[src, src + len)`).
///
/// # Safety
///
/// `dst` is 8-byte aligned and writable for `len` bytes, `len` is a multiple of 8, `src` is
/// readable for `len` bytes.
#[inline(always)]
pub(crate) unsafe fn copy(dst: *mut u8, src: *const u8, len: usize) {
    // SAFETY: the caller's contract; the direction is chosen as each function requires.
    unsafe {
        if dst.addr().wrapping_sub(src.addr()) >= len {
            copy_forward(dst, src, len)
        } else {
            copy_backward(dst, src, len)
        }
    }
}

/// Stores `pattern` to each of the `len / 8` words at `dst`.
///
/// # Safety
///
/// `dst` is 8-byte aligned and writable for `len` bytes; `len` is a multiple of 8.
#[inline(never)]
pub(crate) unsafe fn fill(dst: *mut u8, pattern: u64, len: usize) {
    #[cfg(test)]
    super::small::count::words(len);
    let d = dst.cast::<u64>();
    for i in 0..len / 8 {
        // SAFETY: word `i` lies inside the range; `d` is aligned (the caller's contract).
        unsafe { d.add(i).write_volatile(pattern) };
    }
}
