//! Concrete instruction types: present exactly when detection says so, and they run.

#![cfg(target_arch = "x86_64")]

use pmem_flush::arch::x86_64::{Clflush, ClflushOpt, Clwb, Mfence, Sfence, mfence};
use pmem_flush::{Cpu, Drain, Evict, Features, Flush};

fn exercise(flush: &dyn Fn(&[u8])) {
    let buf: Vec<u8> = (0..8192u32).map(|i| i as u8).collect();
    for offset in [0, 1, 63, 64, 65, 4095] {
        for len in [0, 1, 63, 64, 65, 4096] {
            flush(&buf[offset..offset + len]);
        }
    }
    Sfence.drain();
    assert!(buf.iter().enumerate().all(|(i, b)| *b == i as u8));
}

#[test]
fn constructors_follow_detection_and_flushers_run() {
    let cpu = Cpu::detect();
    let clwb = Clwb::new();
    let clflushopt = ClflushOpt::new();
    let clflush = Clflush::new();
    assert_eq!(clwb.is_some(), cpu.features.contains(Features::CLWB));
    assert_eq!(
        clflushopt.is_some(),
        cpu.features.contains(Features::CLFLUSHOPT)
    );
    assert_eq!(clflush.is_some(), cpu.features.contains(Features::CLFLUSH));
    let mut ran = Vec::new();
    if let Some(f) = clwb {
        assert_eq!(f.line_size(), cpu.usable_line_size());
        exercise(&|b| f.flush(b));
        ran.push("clwb");
    }
    if let Some(f) = clflushopt {
        exercise(&|b| f.flush(b));
        ran.push("clflushopt");
    }
    if let Some(f) = clflush {
        exercise(&|b| f.flush(b));
        ran.push("clflush");
    }
    println!("ran: {ran:?}");
    assert!(!ran.is_empty(), "every x86-64 CPU has CLFLUSH");
}

/// The two evicting types invalidate between MFENCEs, and what was written before reads back
/// unchanged after.
#[test]
fn evicting_types_invalidate_and_data_reads_back() {
    let cpu = Cpu::detect();
    let mut buf: Vec<u8> = (0..8192u32).map(|i| (i * 7) as u8).collect();
    let mut ran = Vec::new();
    let (clflushopt, clflush) = (ClflushOpt::new(), Clflush::new());
    let evicters: [(&str, Option<&dyn Evict>); 2] = [
        ("clflushopt", clflushopt.as_ref().map(|e| e as &dyn Evict)),
        ("clflush", clflush.as_ref().map(|e| e as &dyn Evict)),
    ];
    for (name, evict) in evicters {
        let Some(evict) = evict else { continue };
        for offset in [0, 1, 63, 64, 65, 4095] {
            for len in [0, 1, 63, 64, 65, 4096] {
                // Written just before, through the cache.
                buf[offset..offset + len]
                    .iter_mut()
                    .for_each(|b| *b = b.wrapping_add(1));
                mfence();
                evict.evict(&buf[offset..offset + len]);
                Mfence.drain();
                assert!(
                    buf[offset..offset + len]
                        .iter()
                        .enumerate()
                        .all(|(i, b)| { *b == (((offset + i) as u32 * 7) as u8).wrapping_add(1) }),
                    "{name}: data changed"
                );
                buf[offset..offset + len]
                    .iter_mut()
                    .for_each(|b| *b = b.wrapping_sub(1));
            }
        }
        ran.push(name);
    }
    assert_eq!(
        ran.contains(&"clflushopt"),
        cpu.features.contains(Features::CLFLUSHOPT)
    );
    assert!(ran.contains(&"clflush"), "every x86-64 CPU has CLFLUSH");
    println!("evicted with: {ran:?}");
}
