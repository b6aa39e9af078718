//! With `std`, libpmem's environment overrides reach every value that comes from the global
//! selection, not only the free functions (its own test binary: the variables are read once).

#![cfg(feature = "std")]

use pmem_flush::prelude::*;
use pmem_flush::{Config, Flusher, Granularity, NotDurable, WriteBack};

#[test]
fn overrides_reach_the_kept_flusher_and_the_pointers() {
    // SAFETY: this test binary has one test, and nothing else reads the environment now.
    unsafe {
        std::env::set_var("PMEM_NO_CLWB", "1");
        std::env::set_var("PMEM_NO_FLUSH", "1");
    }
    let global = pmem_flush::selection();
    assert_eq!(global.config().granularity(), Granularity::Byte);
    assert_eq!(global.flush_write_back(), WriteBack::None);
    assert_ne!(global.deep_flush_write_back(), WriteBack::Clwb);

    // The recommended way to keep a value agrees with the free functions ...
    let kept = pmem_flush::flusher();
    assert_eq!(kept.granularity(), Granularity::Byte);
    assert_eq!(kept.flush_write_back(), WriteBack::None);
    assert_eq!(kept.deep_flush_write_back(), global.deep_flush_write_back());
    // ... and so does a flusher built from the environment.
    let from_env = Flusher::new(Config::from_env()).unwrap_or_else(NotDurable::accept);
    assert_eq!(from_env, kept);
    // `Config::new()` is libpmem's defaults, whatever the environment says.
    let defaults = Flusher::new(Config::new()).unwrap_or_else(NotDurable::accept);
    assert_eq!(defaults.granularity(), Granularity::CacheLine);
    kept.persist(&[0u8; 64]);
}
