//! Ordinary (temporal) stores for blocks shorter than a line and for whole 64-byte chunks.
//!
//! Every store here is 8 bytes wide whenever the block's address and length are multiples of 8:
//! blocks use pairs of overlapping stores of the widest size that fits (the technique libc
//! memcpys use for short copies), so a block of 8k bytes at an 8-aligned address is only ever
//! stored with 8-byte stores at 8-aligned addresses. Every block loads all its source bytes before
//! it stores any, so overlapping source and destination are fine. Nothing outside the block is
//! read or written.

/// A store of `T` at an unaligned address. In unit tests, stores narrower than 8 bytes are
/// counted, which is how the 8-byte promise is checked.
#[inline(always)]
unsafe fn store<T: Copy>(p: *mut u8, v: T) {
    #[cfg(test)]
    narrow::count(core::mem::size_of::<T>());
    // SAFETY: the caller guarantees `p` is writable for `size_of::<T>()` bytes.
    unsafe { p.cast::<T>().write_unaligned(v) }
}

/// A load of `T` from an unaligned address.
#[inline(always)]
unsafe fn load<T: Copy>(p: *const u8) -> T {
    // SAFETY: the caller guarantees `p` is readable for `size_of::<T>()` bytes.
    unsafe { p.cast::<T>().read_unaligned() }
}

/// Copies `n <= 64` bytes from `src` to `dst`, which may overlap.
///
/// # Safety
///
/// `src` is readable and `dst` writable for `n` bytes; `n <= 64`.
#[inline(always)]
pub(crate) unsafe fn move_block(dst: *mut u8, src: *const u8, n: usize) {
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

/// Copies one 64-byte chunk: eight 8-byte loads, then eight 8-byte stores (the compiler may
/// merge them into wider vector moves where the build allows).
///
/// # Safety
///
/// `src` is readable and `dst` writable for 64 bytes.
#[inline(always)]
pub(crate) unsafe fn move_chunk(dst: *mut u8, src: *const u8) {
    // SAFETY: offsets 0..=56 plus 8 bytes stay within the 64 bytes the caller guarantees.
    unsafe {
        let w: [u64; 8] = core::array::from_fn(|i| load::<u64>(src.add(8 * i)));
        for (i, v) in w.into_iter().enumerate() {
            store(dst.add(8 * i), v);
        }
    }
}

/// Sets one 64-byte chunk with eight 8-byte stores.
///
/// # Safety
///
/// `dst` is writable for 64 bytes.
#[inline(always)]
pub(crate) unsafe fn set_chunk(dst: *mut u8, pattern: u64) {
    for i in 0..8 {
        // SAFETY: offsets 0..=56 plus 8 bytes stay within the 64 bytes the caller guarantees.
        unsafe { store(dst.add(8 * i), pattern) };
    }
}

/// Unit-test counter of stores narrower than 8 bytes on this thread.
#[cfg(test)]
pub(crate) mod narrow {
    use std::cell::Cell;

    std::thread_local! {
        static NARROW: Cell<usize> = const { Cell::new(0) };
    }

    pub(super) fn count(width: usize) {
        if width < 8 {
            NARROW.with(|n| n.set(n.get() + 1));
        }
    }

    /// Runs `f` and returns how many stores narrower than 8 bytes it made.
    pub(crate) fn during(f: impl FnOnce()) -> usize {
        NARROW.with(|n| n.set(0));
        f();
        NARROW.with(|n| n.get())
    }
}
