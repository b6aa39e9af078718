//! The model against crash images computed by hand: small regions (three to five 64-byte
//! lines), specific store / flush / drain sequences, and the exact list of images each leaves.
//!
//! Images are listed as the crate enumerates them: the first pending part (in offset order)
//! varies fastest, the durable image comes first and "everything reached" last.

// Lists of ranges (of lines, of words) are compared with array literals, one range included.
#![allow(clippy::single_range_in_vec_init)]

use core::sync::atomic::{AtomicU64, Ordering};

use pmem_flush::MemFlags;
use pmem_flush::prelude::*;
use pmem_flush_model::{Model, Options};

/// A region that starts on a line boundary, so that offsets and lines agree.
#[repr(C, align(64))]
struct Aligned<const N: usize>([u8; N]);

fn zeros<const N: usize>() -> Aligned<N> {
    Aligned([0; N])
}

/// `base` with `parts` (offset, byte, length) filled in.
fn image(len: usize, parts: &[(usize, u8, usize)]) -> Vec<u8> {
    let mut v = vec![0u8; len];
    for &(at, byte, n) in parts {
        v[at..at + n].fill(byte);
    }
    v
}

#[test]
fn a_store_never_written_back_is_lost() {
    let mut r = zeros::<192>();
    let m = Model::new(&r.0);
    m.memset(&mut r.0[..64], 1, MemFlags::NOFLUSH);
    assert_eq!(r.0[..64], [1; 64], "the store reached the user's memory");
    assert_eq!(m.crash_images(), [image(192, &[])]);
    assert_eq!(m.live()[..64], [1; 64]);
    assert_eq!(m.unflushed(), [0..64]);
    assert!(m.pending().is_empty());
}

#[test]
fn one_pending_line_two_images_two_lines_four() {
    let mut r = zeros::<192>();
    let m = Model::new(&r.0);
    m.memset(&mut r.0[..64], 1, MemFlags::NOFLUSH);
    m.memset(&mut r.0[64..128], 2, MemFlags::NOFLUSH);
    m.flush(&r.0[..64]);
    // Line 0 written back, line 1 only stored.
    assert_eq!(
        m.crash_images(),
        [image(192, &[]), image(192, &[(0, 1, 64)])]
    );
    m.flush(&r.0[64..128]);
    assert_eq!(m.pending(), [0..64, 64..128]);
    assert_eq!(
        m.crash_images(),
        [
            image(192, &[]),
            image(192, &[(0, 1, 64)]),
            image(192, &[(64, 2, 64)]),
            image(192, &[(0, 1, 64), (64, 2, 64)]),
        ]
    );
    m.drain();
    let durable = image(192, &[(0, 1, 64), (64, 2, 64)]);
    assert_eq!(m.durable(), durable);
    assert_eq!(m.crash_images(), [durable]);
    assert!(m.pending().is_empty());
    let c = m.counts();
    assert_eq!((c.stores, c.write_backs, c.drains, c.steps), (2, 2, 1, 5));
}

#[test]
fn a_write_back_carries_the_whole_line() {
    let mut r = zeros::<192>();
    let m = Model::new(&r.0);
    // Bytes 60..68 straddle lines 0 and 1; the flush names one byte of line 0.
    m.memset(&mut r.0[60..68], 7, MemFlags::NOFLUSH);
    m.flush(&r.0[62..63]);
    assert_eq!(
        m.crash_images(),
        [image(192, &[]), image(192, &[(60, 7, 4)])],
        "line 0 goes whole (60..64); line 1 (64..68) was never written back"
    );
    assert_eq!(m.unflushed(), [64..128]);
}

#[test]
fn a_line_written_back_twice_holds_either_write_back() {
    let mut r = zeros::<192>();
    let m = Model::new(&r.0);
    m.memset(&mut r.0[..8], 1, MemFlags::NOFLUSH);
    m.flush(&r.0[..8]);
    m.memset(&mut r.0[8..16], 2, MemFlags::NOFLUSH);
    m.flush(&r.0[..16]);
    assert_eq!(
        m.crash_images(),
        [
            image(192, &[]),
            image(192, &[(0, 1, 8)]),
            image(192, &[(0, 1, 8), (8, 2, 8)]),
        ]
    );
    m.drain();
    assert_eq!(m.durable(), image(192, &[(0, 1, 8), (8, 2, 8)]));
}

#[test]
fn a_store_after_the_write_back_is_not_drained() {
    let mut r = zeros::<192>();
    let m = Model::new(&r.0);
    m.memset(&mut r.0[..8], 1, MemFlags::NOFLUSH);
    m.flush(&r.0[..8]);
    m.memset(&mut r.0[8..16], 2, MemFlags::NOFLUSH); // after the write-back
    assert_eq!(
        m.crash_images(),
        [image(192, &[]), image(192, &[(0, 1, 8)])]
    );
    m.drain();
    assert_eq!(m.crash_images(), [image(192, &[(0, 1, 8)])]);
    assert_eq!(
        m.unflushed(),
        [0..64],
        "the second store is still only live"
    );
}

#[test]
fn torn_lines_reach_memory_word_by_word() {
    let mut r = zeros::<192>();
    let m = Model::with_options(&r.0, Options::new().with_torn_lines(true));
    m.memset(&mut r.0[..16], 3, MemFlags::NOFLUSH); // two aligned words of line 0
    m.memset(&mut r.0[64..68], 4, MemFlags::NOFLUSH); // half a word of line 1
    m.flush(&r.0[..128]);
    // Words 0..8, 8..16 and 64..72 each reached or not: 8 images; bytes 68..72 are unchanged,
    // so word 64..72 is 4,4,4,4,0,0,0,0 or all zero.
    let w0 = (0, 3, 8);
    let w1 = (8, 3, 8);
    let w8 = (64, 4, 4);
    assert_eq!(
        m.crash_images(),
        [
            image(192, &[]),
            image(192, &[w0]),
            image(192, &[w1]),
            image(192, &[w0, w1]),
            image(192, &[w8]),
            image(192, &[w0, w8]),
            image(192, &[w1, w8]),
            image(192, &[w0, w1, w8]),
        ]
    );
}

#[test]
fn evictions_let_stored_lines_reach_memory() {
    let mut r = zeros::<192>();
    let m = Model::with_options(&r.0, Options::new().with_evictions(true));
    m.memset(&mut r.0[..8], 5, MemFlags::NOFLUSH);
    assert_eq!(
        m.crash_images(),
        [image(192, &[]), image(192, &[(0, 5, 8)])]
    );
    // Written back, then stored again: the line may hold the write-back or the later store.
    m.flush(&r.0[..8]);
    m.memset(&mut r.0[8..16], 6, MemFlags::NOFLUSH);
    assert_eq!(
        m.crash_images(),
        [
            image(192, &[]),
            image(192, &[(0, 5, 8)]),
            image(192, &[(0, 5, 8), (8, 6, 8)]),
        ]
    );
}

#[test]
fn non_temporal_copies_are_pending_without_a_write_back() {
    let mut r = zeros::<320>();
    let m = Model::new(&r.0);
    let src = [9u8; 256];
    // 256 bytes, no flags: from the threshold up, non-temporal (libpmem's choice).
    m.memcpy(&mut r.0[..256], &src, MemFlags::NODRAIN).unwrap();
    assert_eq!(m.pending(), [0..64, 64..128, 128..192, 192..256]);
    assert_eq!(m.crash_images().len(), 16);
    let c = m.counts();
    assert_eq!((c.non_temporal, c.write_backs, c.drains), (1, 0, 0));
    m.drain();
    assert_eq!(m.durable(), image(320, &[(0, 9, 256)]));
    // 255 bytes: ordinary stores and one write-back of the range.
    m.memcpy(&mut r.0[..255], &src[..255], MemFlags::NODRAIN)
        .unwrap();
    let c = m.counts();
    assert_eq!((c.non_temporal, c.write_backs), (1, 1));
    // Forced either way by the flags.
    m.memcpy(&mut r.0[..8], &src[..8], MemFlags::NONTEMPORAL)
        .unwrap();
    m.memcpy(&mut r.0[..256], &src, MemFlags::TEMPORAL).unwrap();
    let c = m.counts();
    assert_eq!((c.non_temporal, c.write_backs, c.drains), (2, 2, 3));
    // Without non-temporal stores (other targets), even 256 bytes are written back.
    let m = Model::with_options(&r.0, Options::new().with_non_temporal(false));
    m.memcpy(&mut r.0[..256], &src, MemFlags::empty()).unwrap();
    assert_eq!((m.counts().non_temporal, m.counts().write_backs), (0, 1));
}

#[test]
fn flags_drain_as_libpmem_does() {
    let mut r = zeros::<192>();
    let m = Model::new(&r.0);
    m.memcpy_persist(&mut [], &[]).unwrap(); // zero length: still drains
    assert_eq!(m.counts().drains, 1);
    m.memcpy_nodrain(&mut r.0[..4], b"abcd").unwrap();
    assert_eq!((m.counts().write_backs, m.counts().drains), (1, 1));
    m.memcpy(&mut r.0[..4], b"efgh", MemFlags::NOFLUSH).unwrap();
    assert_eq!((m.counts().write_backs, m.counts().drains), (1, 1));
    m.memmove_persist(&mut r.0, 0..4, 0).unwrap(); // onto itself: no store, a drain
    assert_eq!((m.counts().stores, m.counts().drains), (2, 2));
    m.memset_persist(&mut r.0[100..110], 1);
    m.memmove_persist(&mut r.0, 100..110, 4).unwrap();
    assert_eq!(r.0[4..14], [1; 10]);
    assert_eq!(m.live()[4..14], [1; 10]);
    let c = m.counts();
    assert_eq!((c.stores, c.write_backs, c.drains), (4, 3, 4));
    assert_eq!(
        m.durable()[..14],
        *b"efgh\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01"
    );
}

/// A region that holds a commit word.
#[repr(C, align(64))]
struct WithWord {
    word: AtomicU64,
    rest: [u8; 120],
}

#[test]
fn commit_is_seen_directly_and_through_references() {
    let r = WithWord {
        word: AtomicU64::new(0),
        rest: [0; 120],
    };
    // SAFETY: `WithWord` is 128 bytes of initialized memory with no padding (8 + 120 bytes,
    // alignment 64), read here as bytes while nothing writes it.
    let bytes = unsafe { core::slice::from_raw_parts((&raw const r).cast::<u8>(), 128) };
    let m = Model::new(bytes);
    m.commit(&r.word, 7);
    assert_eq!(r.word.load(Ordering::Relaxed), 7);
    assert_eq!(m.durable()[..8], 7u64.to_ne_bytes());
    let c = m.counts();
    assert_eq!((c.stores, c.write_backs, c.drains), (1, 1, 1));
    // Generic code often holds `&P`: the override must still be the one that runs.
    fn commit_through<P: Persist>(p: P, word: &AtomicU64, value: u64) {
        p.commit(word, value)
    }
    commit_through(&m, &r.word, 8);
    #[allow(clippy::needless_borrows_for_generic_args)] // `&&Model` is the point
    commit_through(&&m, &r.word, 9);
    assert_eq!(m.durable()[..8], 9u64.to_ne_bytes());
    assert_eq!(m.counts().stores, 3, "each commit recorded as a store");
    let _ = &r.rest;
}

#[test]
fn accesses_outside_the_region_are_problems() {
    let mut r = zeros::<192>();
    let m = Model::new(&r.0[..128]);
    let stack_copy = [1u8; 8];
    m.flush(&stack_copy); // Corundum's bug: the flush of a stack address
    m.flush(&r.0[64..129]); // one byte past the region
    m.memset(&mut r.0[120..136], 2, MemFlags::NOFLUSH); // a store running past it
    let problems = m.problems();
    assert_eq!(problems.len(), 3);
    assert_eq!(problems[0].addr, stack_copy.as_ptr() as usize);
    assert_eq!(
        (problems[1].addr, problems[1].len),
        (r.0[64..].as_ptr() as usize, 65)
    );
    assert_eq!(problems[2].len, 16);
    assert!(
        problems[0]
            .to_string()
            .contains("not inside the registered region")
    );
    // The parts inside the region still count.
    assert_eq!(m.pending(), [64..128]);
    assert_eq!(m.live()[120..128], [2; 8]);
}

#[test]
fn a_region_that_starts_inside_a_line() {
    let mut r = zeros::<192>();
    let m = Model::new(&r.0[32..]); // lines: 0..32, 32..96, 96..160 of the region
    m.memset(&mut r.0[32 + 40..32 + 41], 1, MemFlags::empty());
    assert_eq!(m.counts().write_backs, 1);
    m.memset(&mut r.0[32 + 100..32 + 101], 2, MemFlags::NOFLUSH);
    m.flush(&r.0[32 + 100..32 + 101]);
    assert_eq!(m.pending(), [96..160]);
    m.memset(&mut r.0[32..33], 3, MemFlags::NOFLUSH);
    m.flush(&r.0[32..33]);
    assert_eq!(m.pending(), [0..32, 96..160]);
}

#[test]
fn plain_stores_are_seen_only_where_a_flush_names_them() {
    let mut r = zeros::<192>();
    let m = Model::new(&r.0);
    r.0[5] = 9; // a plain store, then a flush that names it
    r.0[70] = 1; // a plain store on line 1 ...
    m.flush(&r.0[..8]);
    m.flush(&r.0[64..65]); // ... whose line is written back by a flush that does not name it
    let images = m.crash_images();
    assert_eq!(images.len(), 2, "line 1 carries nothing the model saw");
    assert_eq!(images[1][5], 9);
    assert!(images.iter().all(|i| i[70] == 0), "byte 70 is invisible");
}

#[test]
fn large_points_are_sampled_with_the_extremes_first() {
    let mut r = zeros::<320>();
    let options = Options::new()
        .with_max_enumerated(4)
        .with_samples(5)
        .with_seed(42);
    let m = Model::with_options(&r.0, options);
    m.memset(&mut r.0[..192], 1, MemFlags::TEMPORAL | MemFlags::NODRAIN);
    let images = m.crash_images(); // 3 lines: 8 images, more than 4: sampled
    assert_eq!(images.len(), 2 + 5);
    assert_eq!(images[0], image(320, &[]));
    assert_eq!(images[1], image(320, &[(0, 1, 192)]));
    assert_eq!(
        images,
        m.crash_images(),
        "the same seed tries the same images"
    );
    for i in &images[2..] {
        assert!(i[192..].iter().all(|&b| b == 0));
        for line in i[..192].chunks(64) {
            assert!(
                line == [0; 64] || line == [1; 64],
                "lines reach memory whole"
            );
        }
    }
    let mut r2 = zeros::<320>();
    let other = Model::with_options(&r2.0, options.with_seed(43));
    other.memset(&mut r2.0[..192], 1, MemFlags::TEMPORAL | MemFlags::NODRAIN);
    assert_ne!(
        other.crash_images()[2..],
        images[2..],
        "another seed, other samples"
    );
}
