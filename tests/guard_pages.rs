//! Copies and sets between inaccessible pages: nothing outside the range is read or written.
//!
//! Each buffer is one page with a `PROT_NONE` page on both sides, so a single byte read or
//! written past either end faults and kills the test. For s in 0..64: copies and sets of
//! N - s bytes at offset s, and of N - 2s bytes at offset s on both sides, forward and backward,
//! with the non-temporal threshold at 0 and at "never", on every path this CPU has.

#![cfg(unix)]

use pmem_flush::prelude::*;
use pmem_flush::{Config, Features, Flusher, MemFlags, NonTemporal, NotDurable};

/// One page between two inaccessible pages, unmapped on drop.
struct Guarded {
    base: *mut u8,
    page: usize,
}

impl Guarded {
    fn new() -> Guarded {
        // SAFETY: plain libc calls; results checked.
        unsafe {
            let page = libc::sysconf(libc::_SC_PAGESIZE) as usize;
            let base = libc::mmap(
                std::ptr::null_mut(),
                3 * page,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            assert_ne!(base, libc::MAP_FAILED);
            let base = base.cast::<u8>();
            assert_eq!(
                libc::mprotect(
                    base.add(page).cast(),
                    page,
                    libc::PROT_READ | libc::PROT_WRITE
                ),
                0
            );
            Guarded { base, page }
        }
    }

    /// The accessible page.
    fn bytes(&mut self) -> &mut [u8] {
        // SAFETY: the middle page is mapped read-write and owned by `self`.
        unsafe { std::slice::from_raw_parts_mut(self.base.add(self.page), self.page) }
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly what `new` mapped.
        unsafe { libc::munmap(self.base.cast(), 3 * self.page) };
    }
}

/// A config for each non-temporal path the CPU has (and one with none).
fn configs() -> Vec<(NonTemporal, Config)> {
    let all_vector = Features::SSE2 | Features::AVX | Features::AVX512F;
    let candidates = [
        Config::new().with_non_temporal(false),
        Config::new().disable(all_vector),
        Config::new().disable(Features::AVX | Features::AVX512F),
        Config::new().disable(Features::AVX512F),
        Config::new(),
        Config::new().with_movdir64b(true),
    ];
    let mut seen = Vec::new();
    for config in candidates {
        let nt = Flusher::new(config)
            .unwrap_or_else(NotDurable::accept)
            .non_temporal();
        if !seen.iter().any(|(p, _)| *p == nt) {
            seen.push((nt, config));
        }
    }
    seen
}

fn fill_pattern(buf: &mut [u8], seed: u8) {
    for (i, b) in buf.iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(13) ^ seed;
    }
}

#[test]
fn nothing_outside_the_range_is_read_or_written() {
    let (mut a, mut b) = (Guarded::new(), Guarded::new());
    let n = a.page;
    let mut cases = 0;
    let paths: Vec<NonTemporal> = configs().iter().map(|(p, _)| *p).collect();
    for (_, config) in configs() {
        for threshold in [0, usize::MAX] {
            let c = Flusher::new(config.with_nt_threshold(threshold))
                .unwrap_or_else(NotDurable::accept);
            for s in 0..64 {
                for (dst_off, src_off, len) in [(s, 0, n - s), (0, s, n - s), (s, s, n - 2 * s)] {
                    // Between the two buffers.
                    fill_pattern(a.bytes(), 1);
                    fill_pattern(b.bytes(), 2);
                    let want: Vec<u8> = a.bytes()[src_off..src_off + len].to_vec();
                    let src = a.bytes()[src_off..].as_ptr();
                    let dst = b.bytes()[dst_off..].as_mut_ptr();
                    // SAFETY: both ranges lie inside their accessible pages.
                    unsafe { c.memmove_raw(dst, src, len, MemFlags::empty()) };
                    assert_eq!(&b.bytes()[dst_off..dst_off + len], &want[..]);

                    // Within one buffer, in both directions.
                    for (from, to) in [(src_off, dst_off), (dst_off, src_off)] {
                        fill_pattern(a.bytes(), 3);
                        let mut model = a.bytes().to_vec();
                        model.copy_within(from..from + len, to);
                        c.memmove(a.bytes(), from..from + len, to, MemFlags::empty())
                            .expect("in bounds");
                        assert!(a.bytes() == &model[..], "memmove {from} -> {to} len {len}");
                    }

                    c.memset(
                        &mut b.bytes()[dst_off..dst_off + len],
                        0x5c,
                        MemFlags::empty(),
                    );
                    assert!(b.bytes()[dst_off..dst_off + len].iter().all(|&x| x == 0x5c));
                    cases += 4;
                }
            }
        }
    }
    println!("guard pages: paths {paths:?}, {cases} cases, page {n} bytes");
}
