//! With `std`, the first use of the global selection reads libpmem's environment variables,
//! which allocates. After `init`, nothing on a flush, drain, persist or copy path allocates:
//! counted by a global allocator, on this thread only (its own test binary, one test).

#![cfg(feature = "std")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::AtomicU64;

use pmem_flush::prelude::*;
use pmem_flush::{Config, Drainer, MemFlags};

struct Counting;

thread_local! {
    /// Allocations made by this thread while counting; `None` while not counting. Const
    /// initialised, so reading it never allocates.
    static COUNT: Cell<Option<usize>> = const { Cell::new(None) };
}

// SAFETY: forwards to the system allocator; the counter is a thread-local `Cell` that never
// allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = COUNT.try_with(|c| c.set(c.get().map(|n| n + 1)));
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Allocations `f` makes on this thread.
fn allocations(f: impl FnOnce()) -> usize {
    COUNT.with(|c| c.set(Some(0)));
    f();
    COUNT.with(|c| c.replace(None)).unwrap_or(0)
}

#[test]
fn nothing_allocates_after_init() {
    // A libpmem override, so that the first use has a variable to read.
    // SAFETY: this test binary has one test and no other thread reads the environment now.
    unsafe { std::env::set_var("PMEM_MOVNT_THRESHOLD", "1024") };

    let during_init = allocations(|| {
        pmem_flush::init();
    });
    // The hazard `init` exists for, seen by this counter: reading the environment allocates.
    assert!(during_init > 0, "the first use read no variable?");
    assert_eq!(pmem_flush::selection().config().nt_threshold(), 1024);

    let mut dst = vec![0u8; 8192];
    let src = vec![7u8; 8192];
    let word = AtomicU64::new(0);
    let after = allocations(|| {
        pmem_flush::flush(&src);
        pmem_flush::drain();
        pmem_flush::persist(&src);
        pmem_flush::deep_flush(&src[..100]);
        pmem_flush::persist_value(&word);
        pmem_flush::commit(&word, 1);
        for len in [0, 8, 100, 1023, 1024, 8192] {
            pmem_flush::memcpy_persist(&mut dst[..len], &src[..len]).unwrap();
            pmem_flush::memset_nodrain(&mut dst[..len], 3);
            pmem_flush::memmove_persist(&mut dst, 0..len, 8192 - len).unwrap();
            pmem_flush::memcpy(&mut dst[..len], &src[..len], MemFlags::NONTEMPORAL).unwrap();
        }
        let f = pmem_flush::flusher();
        f.persist(&src);
        f.memcpy_persist(&mut dst, &src).unwrap();
        f.commit(&word, 2);
        Drainer::new().drain();
        let selection = pmem_flush::selection();
        let _ = selection.is_durable();
        // SAFETY: `src` is readable for its whole length.
        unsafe {
            pmem_flush::get_flush_fn()(src.as_ptr(), src.len());
            pmem_flush::get_persist_fn()(src.as_ptr(), src.len());
        }
        pmem_flush::get_drain_fn()();
    });
    assert_eq!(after, 0, "allocations after init");

    // The counter does see allocations in the measured region.
    assert_eq!(allocations(|| drop(std::hint::black_box(vec![1u8; 3]))), 1);

    // A configuration made before init is kept by it.
    pmem_flush::configure(Config::new().with_nt_threshold(4096));
    assert_eq!(pmem_flush::init().config().nt_threshold(), 4096);
}
