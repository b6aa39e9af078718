//! The libpmem-style free functions and pmem2-style getters over the global selection.
//!
//! One test function: `configure` changes process-wide state, so the steps run in order.

use pmem_flush::{Config, Features, Granularity, Selection, WriteBack};

#[test]
fn free_functions_follow_the_global_selection() {
    let detected = Selection::detect(Config::new());

    // Persisted data reads back, through every entry point.
    let mut buf = vec![0u8; 4096 + 63];
    for (i, b) in buf.iter_mut().enumerate() {
        *b = i as u8;
    }
    pmem_flush::flush(&buf[1..]);
    pmem_flush::drain();
    pmem_flush::persist(&buf[7..4000]);
    pmem_flush::deep_flush(&buf);
    #[derive(Clone, Copy)]
    struct Record {
        key: u64,
        value: [u8; 100],
    }
    impl pmem_flush::InPlace for Record {}
    let record = Record {
        key: 7,
        value: [9; 100],
    };
    pmem_flush::flush_value(&record);
    pmem_flush::persist_value(&record);
    pmem_flush::deep_flush_value(&record.value[..]);
    assert!(buf.iter().enumerate().all(|(i, b)| *b == i as u8));

    // Invalidated data reads back unchanged: written back before it was evicted.
    for (offset, len) in [(0, 4096), (1, 63), (63, 2), (5, 0), (4000, 159)] {
        buf[offset..offset + len]
            .iter_mut()
            .for_each(|b| *b = b.wrapping_add(3));
        pmem_flush::invalidate(&buf[offset..offset + len]);
        assert!(
            buf[offset..offset + len]
                .iter()
                .enumerate()
                .all(|(i, b)| *b == ((offset + i) as u8).wrapping_add(3)),
            "invalidate at {offset}, {len} bytes"
        );
        buf[offset..offset + len]
            .iter_mut()
            .for_each(|b| *b = b.wrapping_sub(3));
    }
    pmem_flush::invalidate_value(&record);
    pmem_flush::flusher().invalidate(&buf);
    assert!(buf.iter().enumerate().all(|(i, b)| *b == i as u8));
    assert_eq!((record.key, record.value[99]), (7, 9));

    // Zero length touches nothing: a dangling pointer is fine.
    let dangling = std::ptr::without_provenance::<u8>(0x8);
    // SAFETY: with len == 0 no byte needs to be readable.
    unsafe {
        pmem_flush::flush_raw(dangling, 0);
        pmem_flush::persist_raw(dangling, 0);
        pmem_flush::deep_flush_raw(dangling, 0);
        pmem_flush::get_flush_fn()(dangling, 0);
        pmem_flush::get_persist_fn()(dangling, 0);
        pmem_flush::invalidate_raw(dangling, 0);
        pmem_flush::get_invalidate_fn()(dangling, 0);
    }

    assert!(!pmem_flush::has_hw_drain());

    // The getters run (what each one does is checked against its flusher in the unit tests;
    // Rust does not promise that two pointers to one function compare equal).
    // SAFETY: `buf` is readable for its whole length.
    unsafe {
        pmem_flush::get_flush_fn()(buf.as_ptr(), buf.len());
        pmem_flush::get_persist_fn()(buf.as_ptr(), buf.len());
        pmem_flush::get_deep_flush_fn()(buf.as_ptr(), buf.len());
        pmem_flush::get_invalidate_fn()(buf.as_ptr(), buf.len());
    }
    pmem_flush::get_drain_fn()();

    // Byte granularity: flush does nothing, deep flush still writes back.
    pmem_flush::configure(Config::new().with_granularity(Granularity::Byte));
    let byte = pmem_flush::selection();
    assert_eq!(byte.flush_write_back(), WriteBack::None);
    assert_eq!(
        byte.deep_flush_write_back(),
        detected.deep_flush_write_back()
    );
    assert_eq!(pmem_flush::flusher().flush_write_back(), WriteBack::None);
    pmem_flush::persist(&buf);
    // ... and invalidate still evicts: stale lines are stale whatever the granularity.
    assert_eq!(byte.evict_write_back(), detected.evict_write_back());
    assert_eq!(
        pmem_flush::flusher().evict_write_back(),
        detected.evict_write_back()
    );
    pmem_flush::invalidate(&buf);
    assert!(buf.iter().enumerate().all(|(i, b)| *b == i as u8));

    // Masks, libpmem's PMEM_NO_CLWB: the next best instruction, and Display says why.
    pmem_flush::configure(Config::new().disable(Features::CLWB));
    let masked = pmem_flush::selection();
    assert_ne!(masked.flush_write_back(), WriteBack::Clwb);
    assert_eq!(masked.evict_write_back(), detected.evict_write_back());
    if detected.flush_write_back() == WriteBack::Clwb {
        assert!(
            masked
                .to_string()
                .contains("clwb        disabled by configuration"),
            "{masked}"
        );
    }
    pmem_flush::persist(&buf);

    // Caller-supplied facts: a selection the embedder vouches for.
    let own = Selection::new(&pmem_flush::Cpu::detect(), Config::new());
    // SAFETY: built from this CPU's own detection.
    unsafe { pmem_flush::configure_unchecked(&own) };
    assert_eq!(pmem_flush::selection(), own);
    pmem_flush::persist(&buf);
}
