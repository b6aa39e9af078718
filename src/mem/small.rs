//! Ordinary (temporal) stores for blocks shorter than a line.
//!
//! A block whose address and length are multiples of 8 goes to the aligned word loops
//! ([`super::words`]): aligned 8-byte stores on every target. Any other block uses pairs of
//! overlapping stores of the widest size that fits (the technique libc memcpys use for short
//! copies); it loads all its source bytes before it stores any, so overlapping source and
//! destination are fine. Nothing outside the block is read or written.
//!
//! On x86-64 those overlapping stores are single `mov`s written in `asm!`, so the compiler
//! cannot merge them into vector stores: the MOVNTI and MOVDIR64B paths, which store their
//! partial lines here, stay in general-purpose registers even in builds with SSE.

use super::words;

/// One store of a general-purpose value at any address.
trait Store: Copy {
    /// Stores `self` at `p`.
    ///
    /// # Safety
    ///
    /// `p` is writable for `size_of::<Self>()` bytes.
    unsafe fn store(self, p: *mut u8);
}

/// Implements [`Store`] with one `mov` of the given width (x86-64: never merged into vector
/// stores) or with `write_unaligned` elsewhere (split into narrower stores where the target
/// lacks unaligned access: these blocks are outside the 8-byte promise).
macro_rules! store {
    ($t:ty, $asm:literal, $class:ident) => {
        impl Store for $t {
            #[inline(always)]
            unsafe fn store(self, p: *mut u8) {
                #[cfg(test)]
                count::store(core::mem::size_of::<$t>());
                #[cfg(target_arch = "x86_64")]
                // SAFETY: the caller guarantees the bytes are writable. A store: neither
                // `nomem` nor `readonly`; `mov` leaves the flags alone.
                unsafe {
                    core::arch::asm!($asm, p = in(reg) p, v = in($class) self,
                        options(nostack, preserves_flags))
                }
                #[cfg(not(target_arch = "x86_64"))]
                // SAFETY: the caller guarantees the bytes are writable.
                unsafe {
                    p.cast::<$t>().write_unaligned(self)
                }
            }
        }
    };
}

store!(u8, "mov byte ptr [{p}], {v}", reg_byte);
store!(u16, "mov word ptr [{p}], {v:x}", reg);
store!(u32, "mov dword ptr [{p}], {v:e}", reg);
store!(u64, "mov qword ptr [{p}], {v}", reg);

/// A store of `T` at an unaligned address.
#[inline(always)]
unsafe fn store<T: Store>(p: *mut u8, v: T) {
    // SAFETY: the caller's contract.
    unsafe { v.store(p) }
}

/// A load of `T` from an unaligned address.
#[inline(always)]
unsafe fn load<T: Copy>(p: *const u8) -> T {
    // SAFETY: the caller guarantees `p` is readable for `size_of::<T>()` bytes.
    unsafe { p.cast::<T>().read_unaligned() }
}

/// Whether a block of `n` bytes at `dst` is for the aligned word loops.
#[inline(always)]
fn in_words(dst: *mut u8, n: usize) -> bool {
    n != 0 && (dst.addr() | n) & 7 == 0
}

/// Copies `n <= 64` bytes from `src` to `dst`, which may overlap.
///
/// # Safety
///
/// `src` is readable and `dst` writable for `n` bytes; `n <= 64`.
#[inline(always)]
pub(crate) unsafe fn move_block(dst: *mut u8, src: *const u8, n: usize) {
    if in_words(dst, n) {
        // SAFETY: the caller's contract; `dst` and `n` are multiples of 8.
        return unsafe { words::copy(dst, src, n) };
    }
    // SAFETY: each offset plus its width is at most `n`, and the caller
    // guarantees `n` readable bytes at `src` and `n` writable bytes at `dst`.
    unsafe {
        match n {
            0 => {}
            1 => store(dst, load::<u8>(src)),
            2..=3 => {
                let (a, b) = (load::<u16>(src), load::<u16>(src.add(n - 2)));
                store(dst, a);
                store(dst.add(n - 2), b);
            }
            4..=7 => {
                let (a, b) = (load::<u32>(src), load::<u32>(src.add(n - 4)));
                store(dst, a);
                store(dst.add(n - 4), b);
            }
            8..=16 => {
                let (a, b) = (load::<u64>(src), load::<u64>(src.add(n - 8)));
                store(dst, a);
                store(dst.add(n - 8), b);
            }
            17..=32 => {
                let w = [0, 8, n - 16, n - 8].map(|o| load::<u64>(src.add(o)));
                for (o, v) in [0, 8, n - 16, n - 8].into_iter().zip(w) {
                    store(dst.add(o), v);
                }
            }
            _ => {
                let offsets = [0, 8, 16, 24, n - 32, n - 24, n - 16, n - 8];
                let w = offsets.map(|o| load::<u64>(src.add(o)));
                for (o, v) in offsets.into_iter().zip(w) {
                    store(dst.add(o), v);
                }
            }
        }
    }
}

/// Sets `n <= 64` bytes at `dst` to the byte repeated in `pattern`.
///
/// # Safety
///
/// `dst` is writable for `n` bytes; `n <= 64`.
#[inline(always)]
pub(crate) unsafe fn set_block(dst: *mut u8, pattern: u64, n: usize) {
    if in_words(dst, n) {
        // SAFETY: the caller's contract; `dst` and `n` are multiples of 8.
        return unsafe { words::fill(dst, pattern, n) };
    }
    // SAFETY: each offset plus its width is at most `n`.
    unsafe {
        match n {
            0 => {}
            1 => store(dst, pattern as u8),
            2..=3 => {
                store(dst, pattern as u16);
                store(dst.add(n - 2), pattern as u16);
            }
            4..=7 => {
                store(dst, pattern as u32);
                store(dst.add(n - 4), pattern as u32);
            }
            8..=16 => {
                store(dst, pattern);
                store(dst.add(n - 8), pattern);
            }
            17..=32 => {
                for o in [0, 8, n - 16, n - 8] {
                    store(dst.add(o), pattern);
                }
            }
            _ => {
                for o in [0, 8, 16, 24, n - 32, n - 24, n - 16, n - 8] {
                    store(dst.add(o), pattern);
                }
            }
        }
    }
}

/// Unit-test counters, per thread: stores made by the overlapping stores above (by width), and
/// bytes stored by the aligned word loops.
#[cfg(test)]
pub(crate) mod count {
    use std::cell::Cell;

    std::thread_local! {
        static NARROW: Cell<usize> = const { Cell::new(0) };
        static OVERLAPPING: Cell<usize> = const { Cell::new(0) };
        static WORD_BYTES: Cell<usize> = const { Cell::new(0) };
    }

    pub(super) fn store(width: usize) {
        OVERLAPPING.with(|n| n.set(n.get() + 1));
        if width < 8 {
            NARROW.with(|n| n.set(n.get() + 1));
        }
    }

    pub(in crate::mem) fn words(len: usize) {
        WORD_BYTES.with(|n| n.set(n.get() + len));
    }

    /// What [`during`] counted.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub(crate) struct Counts {
        /// Stores narrower than 8 bytes.
        pub(crate) narrow: usize,
        /// Stores of the overlapping-store path, any width (none for aligned blocks).
        pub(crate) overlapping: usize,
        /// Bytes stored by the aligned word loops.
        pub(crate) word_bytes: usize,
    }

    /// Runs `f` and returns what it stored where.
    pub(crate) fn during(f: impl FnOnce()) -> Counts {
        for c in [&NARROW, &OVERLAPPING, &WORD_BYTES] {
            c.with(|n| n.set(0));
        }
        f();
        Counts {
            narrow: NARROW.with(|n| n.get()),
            overlapping: OVERLAPPING.with(|n| n.get()),
            word_bytes: WORD_BYTES.with(|n| n.get()),
        }
    }
}
