//! AArch64, POWER and RISC-V: the concrete types follow detection and run where the CPU has the
//! instruction, and `probe_*` functions that `scripts/cross.sh` disassembles with the cross
//! objdump to check that each backend emits its instructions, inlined.
//!
//! Run under QEMU user mode by `scripts/cross.sh`; on x86-64 this file is empty.

#![cfg(any(
    target_arch = "aarch64",
    target_arch = "powerpc64",
    target_arch = "riscv64"
))]

use pmem_flush::prelude::*;
use pmem_flush::{Config, Cpu, Flusher, NotDurable, WriteBack};

/// Persists through `flush` at awkward offsets and lengths and checks the data is intact.
fn exercise(flush: &dyn Fn(&[u8])) {
    let buf: Vec<u8> = (0..8192u32).map(|i| i as u8).collect();
    for offset in [0, 1, 63, 64, 65, 127, 128, 129, 4095] {
        for len in [0, 1, 63, 64, 65, 128, 129, 4096] {
            flush(&buf[offset..offset + len]);
        }
    }
    pmem_flush::drain();
    assert!(buf.iter().enumerate().all(|(i, b)| *b == i as u8));
}

/// # Safety
/// The range is mapped.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe fn probe_flusher(f: &Flusher, p: *const u8, len: usize) {
    // SAFETY: the caller's contract.
    unsafe { f.flush_raw(p, len) }
}

#[unsafe(no_mangle)]
#[inline(never)]
pub fn probe_free_drain() {
    pmem_flush::drain()
}

#[test]
fn detected_pair_runs_and_drains_with_this_architectures_fence() {
    let f = Flusher::new(Config::new()).unwrap_or_else(NotDurable::accept);
    let buf = vec![7u8; 5000];
    // SAFETY: `buf` is readable for its whole length.
    unsafe { probe_flusher(&f, buf.as_ptr().wrapping_add(1), 4000) };
    probe_free_drain();
    exercise(&|b| f.flush(b));
    let want = if cfg!(target_arch = "aarch64") {
        "dsb sy"
    } else if cfg!(target_arch = "powerpc64") {
        "phwsync"
    } else {
        "fence iorw,iorw"
    };
    assert_eq!(f.drainer().fence().mnemonic(), want);
    println!("{}", pmem_flush::selection());
}

#[cfg(target_arch = "aarch64")]
mod aarch64 {
    use super::*;
    use pmem_flush::Features;
    use pmem_flush::arch::aarch64::{DcCvac, DcCvadp, DcCvap, Dsb};

    /// # Safety
    /// The range is mapped.
    #[unsafe(no_mangle)]
    #[inline(never)]
    pub unsafe fn probe_dc_cvac(p: *const u8, len: usize) {
        // SAFETY: every ARMv8 CPU has DC CVAC; the caller's contract.
        unsafe { DcCvac::new_unchecked(64).flush_raw(p, len) }
    }

    /// # Safety
    /// The CPU has FEAT_DPB and the range is mapped.
    #[unsafe(no_mangle)]
    #[inline(never)]
    pub unsafe fn probe_dc_cvap(p: *const u8, len: usize) {
        // SAFETY: the caller's contract.
        unsafe { DcCvap::new_unchecked(64).flush_raw(p, len) }
    }

    /// # Safety
    /// The CPU has FEAT_DPB2 and the range is mapped.
    #[unsafe(no_mangle)]
    #[inline(never)]
    pub unsafe fn probe_dc_cvadp(p: *const u8, len: usize) {
        // SAFETY: the caller's contract.
        unsafe { DcCvadp::new_unchecked(64).flush_raw(p, len) }
    }

    #[unsafe(no_mangle)]
    #[inline(never)]
    pub fn probe_dsb() {
        Dsb.drain()
    }

    #[test]
    fn constructors_follow_detection_and_flushers_run() {
        std::hint::black_box((
            probe_dc_cvac as unsafe fn(_, _),
            probe_dc_cvap as unsafe fn(_, _),
            probe_dc_cvadp as unsafe fn(_, _),
            probe_dsb as fn(),
        ));
        let cpu = Cpu::detect();
        let (cvac, cvap, cvadp) = (DcCvac::new(), DcCvap::new(), DcCvadp::new());
        assert_eq!(cvac.is_some(), cpu.features.contains(Features::DC_CVAC));
        assert_eq!(cvap.is_some(), cpu.features.contains(Features::DC_CVAP));
        assert_eq!(cvadp.is_some(), cpu.features.contains(Features::DC_CVADP));
        let cvac = cvac.expect("Linux lets user space clean caches: DC CVAC is detected");
        assert_eq!(cvac.line_size(), cpu.usable_line_size());
        let buf = [1u8; 300];
        // SAFETY: DC CVAC exists on every ARMv8 CPU; `buf` is readable.
        unsafe { probe_dc_cvac(buf.as_ptr(), buf.len()) };
        exercise(&|b| cvac.flush(b));
        // DC CVAP / CVADP only where detection says so (QEMU 7.2 user mode raises SIGILL on
        // them even for CPU models that advertise them, so the suite runs with cortex-a57).
        if let Some(f) = cvap {
            exercise(&|b| f.flush(b));
        }
        if let Some(f) = cvadp {
            exercise(&|b| f.flush(b));
        }
        Dsb.drain();
        let sel = pmem_flush::selection();
        let want = if cpu.features.contains(Features::DC_CVAP) {
            WriteBack::DcCvap
        } else {
            WriteBack::DcCvac
        };
        assert_eq!(sel.flush_write_back(), want, "{sel}");
    }
}

#[cfg(target_arch = "powerpc64")]
mod powerpc64 {
    use super::*;
    use pmem_flush::Features;
    use pmem_flush::arch::powerpc64::{Dcbstps, Phwsync};

    /// # Safety
    /// The CPU is a POWER8 or later and the range is mapped.
    #[unsafe(no_mangle)]
    #[inline(never)]
    pub unsafe fn probe_dcbstps(p: *const u8, len: usize) {
        // SAFETY: the caller's contract.
        unsafe { Dcbstps::new_unchecked(128).flush_raw(p, len) }
    }

    #[unsafe(no_mangle)]
    #[inline(never)]
    pub fn probe_phwsync() {
        Phwsync.drain()
    }

    #[test]
    fn dcbstps_per_128_byte_block_and_phwsync() {
        std::hint::black_box((probe_dcbstps as unsafe fn(_, _), probe_phwsync as fn()));
        let cpu = Cpu::detect();
        assert!(cpu.features.contains(Features::DCBF), "{cpu:?}");
        let f = Dcbstps::new().expect("every POWER8-or-later CPU");
        assert_eq!(f.line_size(), 128);
        let buf = [1u8; 300];
        // SAFETY: detection says POWER8 or later; `buf` is readable.
        unsafe { probe_dcbstps(buf.as_ptr(), buf.len()) };
        exercise(&|b| f.flush(b));
        Phwsync.drain();
        let sel = pmem_flush::selection();
        assert_eq!(
            (sel.flush_write_back(), sel.line_size()),
            (WriteBack::Dcbstps, 128),
            "{sel}"
        );
        // With std on Linux the auxiliary vector speaks (QEMU's power10 model sets ARCH_3_1).
        if cfg!(feature = "std") {
            println!(
                "AT_HWCAP2 says ISA 3.1: {}",
                cpu.features.contains(Features::POWER_ISA_3_1)
            );
        }
    }
}

#[cfg(target_arch = "riscv64")]
mod riscv64 {
    use super::*;
    use pmem_flush::arch::riscv64::{CboClean, FenceIorw};

    /// # Safety
    /// The CPU has Zicbom (enabled for this mode) and the range is mapped.
    #[unsafe(no_mangle)]
    #[inline(never)]
    pub unsafe fn probe_cbo_clean(p: *const u8, len: usize) {
        // SAFETY: the caller's contract.
        unsafe { CboClean::new_unchecked(64).flush_raw(p, len) }
    }

    #[unsafe(no_mangle)]
    #[inline(never)]
    pub fn probe_fence() {
        FenceIorw.drain()
    }

    #[test]
    fn nothing_detected_so_nothing_flushed_and_said_so() {
        // Kept for the disassembly check; never called (QEMU 7.2 has no Zicbom).
        std::hint::black_box((probe_cbo_clean as unsafe fn(_, _), probe_fence as fn()));
        probe_fence();
        assert_eq!(Cpu::detect(), Cpu::NONE);
        assert!(CboClean::new().is_none());
        let sel = pmem_flush::selection();
        assert_eq!(
            (sel.flush_write_back(), sel.deep_flush_write_back()),
            (WriteBack::None, WriteBack::None)
        );
        let text = sel.to_string();
        assert!(
            text.contains("no write-back instruction is available"),
            "{text}"
        );
        assert!(text.contains("no register reports Zicbom"), "{text}");
        // The embedder's word makes a selection (not acted on here: no Zicbom under QEMU).
        let told = pmem_flush::Selection::new(
            &pmem_flush::features::riscv64::zicbom(Some(64)),
            Config::new(),
        );
        assert_eq!(told.flush_write_back(), WriteBack::CboClean);
    }
}
