//! The explorer: correct operations pass with the crash points and images counted by hand;
//! operations with a known bug are reported at the step that exposes it, with the image.

// Lists of ranges (of lines, of words) are compared with array literals, one range included.
#![allow(clippy::single_range_in_vec_init)]

use std::cell::Cell;

use pmem_flush::MemFlags;
use pmem_flush::prelude::*;
use pmem_flush_model::{Failure, Options, PointKind, Source, explore};

fn word(image: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(image[at..at + 8].try_into().unwrap())
}

/// The record is 8 bytes at offset 64 (line 1), its commit word at offset 0 (line 0):
/// committed means the record is there.
fn check_record(image: &[u8]) -> Result<(), String> {
    match (word(image, 0), &image[64..72]) {
        (0, _) | (1, b"payload!") => Ok(()),
        (c, r) => Err(format!("commit word {c} over record {r:?}")),
    }
}

fn payload_then_commit<P: Persist>(p: &P, region: &mut [u8]) {
    p.memcpy_persist(&mut region[64..72], b"payload!").unwrap();
    p.memcpy_persist(&mut region[..8], &1u64.to_le_bytes())
        .unwrap();
}

#[test]
fn a_correct_operation_passes_with_every_point_counted() {
    let stats = explore(
        &[0u8; 128],
        |region, m| payload_then_commit(m, region),
        check_record,
    )
    .unwrap();
    // Points: the start (1 image), write-back #1 (line 1 or not: 2), drain #1 (2),
    // write-back #2 (line 0 or not: 2), drain #2 (2), the end (1).
    assert_eq!((stats.points, stats.images), (6, 10));
    assert_eq!((stats.stores, stats.write_backs, stats.drains), (2, 2, 2));
    assert_eq!((stats.sampled_points, stats.largest_point), (0, 2));
}

#[test]
fn commit_before_payload_is_reported_at_the_commit_write_back() {
    let report = explore(
        &[0u8; 128],
        |region, m| {
            m.memcpy_persist(&mut region[..8], &1u64.to_le_bytes())
                .unwrap();
            m.memcpy_persist(&mut region[64..72], b"payload!").unwrap();
        },
        check_record,
    )
    .unwrap_err();
    let offset = Some(0);
    assert!(
        matches!(report.point.kind, PointKind::WriteBack { nth: 1, offset: o, len: 8, .. } if o == offset),
        "{report}"
    );
    assert_eq!(report.point.step, 2, "store #1, then write-back #1");
    let image = report.image.as_ref().unwrap();
    assert_eq!((image.index, image.count, image.sampled), (1, 2, false));
    assert_eq!(image.reached.len(), 1);
    assert_eq!(image.reached[0].range, 0..64);
    assert_eq!(image.reached[0].source, Source::WriteBack { nth: 1, of: 1 });
    assert_eq!(
        report.error().unwrap(),
        "commit word 1 over record [0, 0, 0, 0, 0, 0, 0, 0]"
    );
    let text = report.to_string();
    assert!(
        text.starts_with(
            "crash at write-back #1 (flush_raw of 8 bytes at offset 0) (step 2), \
             image 2 of 2 (enumerated): reached memory: [0..64); did not: nothing\n\
             the check failed: commit word 1 over record"
        ),
        "{text}"
    );
    assert_eq!((report.stats.points, report.stats.images), (2, 3));
}

#[test]
fn a_missing_drain_is_reported_with_the_lines_that_did_not_reach_memory() {
    let report = explore(
        &[0u8; 128],
        |region, m| {
            m.memcpy_nodrain(&mut region[64..72], b"payload!").unwrap(); // no drain after
            m.memcpy_persist(&mut region[..8], &1u64.to_le_bytes())
                .unwrap();
        },
        check_record,
    )
    .unwrap_err();
    assert!(
        matches!(report.point.kind, PointKind::WriteBack { nth: 2, .. }),
        "{report}"
    );
    let image = report.image.unwrap();
    // Line 0 (the commit) reached memory, line 1 (the payload) did not: image 2 of 4.
    assert_eq!((image.index, image.count), (1, 4));
    assert_eq!(image.reached[0].range, 0..64);
    assert_eq!(image.not_reached, [64..128]);
}

#[test]
fn a_flush_of_a_stack_copy_is_reported() {
    // Corundum's bug: persisting a local copy instead of the persistent data.
    let report = explore(
        &[0u8; 128],
        |region, m| {
            let mut local = [0u8; 8];
            local.copy_from_slice(b"payload!");
            region[64..72].copy_from_slice(&local); // a plain store, never flushed
            m.persist(&local);
            m.memcpy_persist(&mut region[..8], &1u64.to_le_bytes())
                .unwrap();
        },
        check_record,
    )
    .unwrap_err();
    let Failure::OutsideRegion(problem) = report.failure else {
        panic!("{report:?}");
    };
    assert!(matches!(
        report.point.kind,
        PointKind::WriteBack {
            nth: 1,
            offset: None,
            len: 8,
            ..
        }
    ));
    assert_eq!(problem.len, 8);
    assert!(report.image.is_none());
    assert!(
        report
            .to_string()
            .contains("outside the region: write-back #1 (flush_raw of 8 bytes at address"),
        "{report}"
    );
}

#[test]
fn the_check_sees_what_the_operation_completed() {
    // A counter that must never go backwards, and must keep every completed increment.
    fn bump<P: Persist>(p: &P, region: &mut [u8], lose_it: bool) {
        let n = word(region, 0) + 1;
        let flags = if lose_it {
            MemFlags::NOFLUSH // stored, never written back
        } else {
            MemFlags::empty()
        };
        p.memcpy(&mut region[..8], &n.to_le_bytes(), flags).unwrap();
    }
    let run = |lose_at: u64| {
        let done = Cell::new(0u64);
        explore(
            &[0u8; 64],
            |region, m| {
                for i in 0..5 {
                    bump(m, region, i == lose_at);
                    done.set(done.get() + 1);
                }
            },
            |image| {
                let n = word(image, 0);
                if n >= done.get() {
                    Ok(())
                } else {
                    Err(format!("{n} survived, {} completed", done.get()))
                }
            },
        )
    };
    let stats = run(99).unwrap();
    assert_eq!(stats.drains, 5);
    let report = run(4).unwrap_err();
    // The last increment was never written back: its loss shows at the end.
    assert_eq!(report.point.kind, PointKind::End);
    assert_eq!(report.error().unwrap(), "4 survived, 5 completed");
}

#[test]
fn exploration_stops_at_the_first_failure() {
    let report = explore(
        &[0u8; 64],
        |region, m| {
            for _ in 0..10 {
                m.memset_persist(region, 1);
            }
        },
        |_| Err("always"),
    )
    .unwrap_err();
    assert_eq!(report.point.kind, PointKind::Start);
    assert_eq!((report.stats.points, report.stats.images), (1, 1));
    // The operation still ran to its end (it cannot be stopped), and was counted.
    assert_eq!(report.stats.drains, 10);
}

#[test]
fn evictions_catch_a_commit_word_stored_too_early() {
    let op = |region: &mut [u8], m: &pmem_flush_model::Model<'_>| {
        // The commit word is stored first and persisted last.
        m.memcpy(&mut region[..8], &1u64.to_le_bytes(), MemFlags::NOFLUSH)
            .unwrap();
        m.memcpy_persist(&mut region[64..72], b"payload!").unwrap();
        m.persist(&region[..8]);
    };
    // Without evictions the early store never reaches memory before its write-back.
    explore(&[0u8; 128], op, check_record).unwrap();
    let report = Options::new()
        .with_evictions(true)
        .explore(&[0u8; 128], op, check_record)
        .unwrap_err();
    assert!(
        matches!(
            report.point.kind,
            PointKind::Store {
                nth: 1,
                offset: Some(0),
                len: 8,
                ..
            }
        ),
        "{report}"
    );
    let image = report.image.unwrap();
    assert_eq!(image.reached[0].source, Source::Eviction);
    assert!(image.to_string().contains("[0..64) (evicted)"), "{image}");
}

#[test]
fn torn_lines_catch_an_unaligned_commit_word() {
    // A commit word at offset 4 spans two aligned words: it can tear.
    let op = |region: &mut [u8], m: &pmem_flush_model::Model<'_>| {
        m.memcpy_persist(&mut region[4..12], &u64::MAX.to_le_bytes())
            .unwrap();
    };
    let check = |image: &[u8]| match word(image, 4) {
        0 | u64::MAX => Ok(()),
        w => Err(format!("torn commit word {w:#x}")),
    };
    explore(&[0u8; 64], op, check).unwrap();
    let report = Options::new()
        .with_torn_lines(true)
        .explore(&[0u8; 64], op, check)
        .unwrap_err();
    assert_eq!(report.error().unwrap(), "torn commit word 0xffffffff");
    let image = report.image.unwrap();
    assert_eq!(image.reached[0].range, 0..8);
    assert_eq!(image.not_reached, [8..16]);
}

#[test]
fn sampling_is_seeded() {
    // 20 lines written back at once: 2^20 images, sampled.
    let seen = |seed: u64| {
        let mut hashes = Vec::new();
        let stats = Options::new()
            .with_seed(seed)
            .with_samples(10)
            .explore(
                &[0u8; 64 * 20],
                |region, m| m.memset_persist(region, 1),
                |image| {
                    hashes.push(image.chunks(64).map(|l| l[0] as u32).collect::<Vec<_>>());
                    Ok::<(), ()>(())
                },
            )
            .unwrap();
        assert_eq!(stats.sampled_points, 2);
        assert_eq!(stats.images, 1 + 12 + 12 + 1);
        assert_eq!(stats.largest_point, 1 << 20);
        hashes
    };
    let a = seen(1);
    assert_eq!(a[1], vec![0; 20], "nothing reached memory");
    assert_eq!(a[2], vec![1; 20], "everything did");
    assert_eq!(a, seen(1));
    assert_ne!(a, seen(2));
}
