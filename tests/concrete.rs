//! Concrete instruction types: present exactly when detection says so, and they run.

#![cfg(target_arch = "x86_64")]

use pmem_flush::arch::x86_64::{Clflush, ClflushOpt, Clwb, Sfence};
use pmem_flush::{Cpu, Drain, Features, Flush};

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
