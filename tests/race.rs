//! Several threads racing the very first use of the free functions all get the same selection.
//! (Its own test binary, so that nothing in the process has detected before.)

use std::sync::Barrier;

#[test]
fn racing_first_detection_agrees() {
    let threads = 16;
    let barrier = Barrier::new(threads);
    let seen: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let buf = [1u8; 256];
                    barrier.wait();
                    // The first thing each thread does is flush: the hot path's first use.
                    pmem_flush::persist(&buf);
                    (pmem_flush::selection(), pmem_flush::get_flush_fn() as usize)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    let expected = pmem_flush::Selection::detect(pmem_flush_default_config());
    for (selection, flush_fn) in &seen {
        assert_eq!(*selection, expected);
        assert_eq!(*flush_fn, seen[0].1);
    }
}

/// The configuration the crate detects with on first use.
fn pmem_flush_default_config() -> pmem_flush::Config {
    #[cfg(feature = "std")]
    {
        pmem_flush::Config::from_env()
    }
    #[cfg(not(feature = "std"))]
    {
        pmem_flush::Config::new()
    }
}
