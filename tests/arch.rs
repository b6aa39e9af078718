//! AArch64, POWER and RISC-V: the concrete types follow detection and run where the CPU has the
//! instruction, invalidated data reads back unchanged, and `probe_*` functions that
//! `scripts/cross.sh` disassembles with the cross objdump to check that each backend emits its
//! instructions, inlined.
//!
//! Run under QEMU user mode by `scripts/cross.sh`; on x86-64 this file is empty. After an
//! instruction has run, a test prints `executed: <mnemonic>` (seen with `--nocapture`): the
//! script's table of what executed where is built from those lines, never from expectations.

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

/// Changes every range at awkward offsets and lengths, invalidates it with `invalidate`, and
/// checks that what was written reads back unchanged (written back before it was evicted).
fn exercise_invalidate(invalidate: &dyn Fn(&[u8])) {
    let mut buf: Vec<u8> = (0..8192u32).map(|i| i as u8).collect();
    for offset in [0, 1, 63, 64, 65, 127, 128, 129, 4095] {
        for len in [0, 1, 63, 64, 65, 128, 129, 4096] {
            let range = offset..offset + len;
            buf[range.clone()]
                .iter_mut()
                .for_each(|b| *b = b.wrapping_add(1));
            invalidate(&buf[range.clone()]);
            assert!(
                buf[range.clone()]
                    .iter()
                    .enumerate()
                    .all(|(i, b)| *b == ((offset + i) as u8).wrapping_add(1)),
                "data changed by an invalidation at {offset}, {len} bytes"
            );
            buf[range].iter_mut().for_each(|b| *b = b.wrapping_sub(1));
        }
    }
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

/// # Safety
/// The range is mapped.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe fn probe_flusher_invalidate(f: &Flusher, p: *const u8, len: usize) {
    // SAFETY: the caller's contract.
    unsafe { f.invalidate_raw(p, len) }
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
    println!("executed: {want}");
    println!("{}", pmem_flush::selection());
}

#[test]
fn invalidation_through_every_entry_point_keeps_the_data() {
    let f = Flusher::new(Config::new()).unwrap_or_else(NotDurable::accept);
    let sel = pmem_flush::selection();
    let buf = vec![9u8; 5000];
    // SAFETY: `buf` is readable for its whole length.
    unsafe { probe_flusher_invalidate(&f, buf.as_ptr().wrapping_add(1), 4000) };
    exercise_invalidate(&|b| f.invalidate(b));
    exercise_invalidate(&|b| pmem_flush::invalidate(b));
    let g = pmem_flush::get_invalidate_fn();
    exercise_invalidate(&|b| {
        // SAFETY: `b` is readable for its whole length.
        unsafe { g(b.as_ptr(), b.len()) }
    });
    pmem_flush::invalidate_value(&buf[..]);
    assert!(buf.iter().all(|&b| b == 9));
    // The fence on both sides is the drain's here; what is evicted with, the selection says.
    assert_eq!(sel.invalidate_fence(), f.drainer().fence());
    assert_eq!(f.evict_write_back(), sel.evict_write_back());
    let want = if cfg!(target_arch = "aarch64") {
        WriteBack::DcCivac
    } else if cfg!(target_arch = "powerpc64") {
        WriteBack::Dcbf
    } else {
        WriteBack::None // RISC-V: nothing detected without the platform's word
    };
    assert_eq!(sel.evict_write_back(), want, "{sel}");
    if want != WriteBack::None {
        println!("executed: {}", want.mnemonic());
    }
    println!("executed: {}", sel.invalidate_fence());
}

#[cfg(target_arch = "aarch64")]
mod aarch64 {
    use super::*;
    use pmem_flush::Features;
    use pmem_flush::arch::aarch64::{DcCivac, DcCvac, DcCvadp, DcCvap, Dsb, dsb_sy};

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

    /// # Safety
    /// The range is mapped.
    #[unsafe(no_mangle)]
    #[inline(never)]
    pub unsafe fn probe_dc_civac(p: *const u8, len: usize) {
        // SAFETY: every ARMv8 CPU has DC CIVAC; the caller's contract.
        unsafe { DcCivac::new_unchecked(64).evict_raw(p, len) }
    }

    #[unsafe(no_mangle)]
    #[inline(never)]
    pub fn probe_dsb() {
        Dsb.drain()
    }

    #[test]
    fn dc_civac_invalidates_at_el0_and_data_reads_back() {
        std::hint::black_box(probe_dc_civac as unsafe fn(_, _));
        let cpu = Cpu::detect();
        let civac = DcCivac::new();
        assert_eq!(civac.is_some(), cpu.features.contains(Features::DC_CVAC));
        let civac = civac.expect("Linux lets user space clean and invalidate: DC CIVAC");
        assert_eq!(civac.line_size(), cpu.usable_line_size());
        let buf = [4u8; 300];
        dsb_sy();
        // SAFETY: every ARMv8 CPU has DC CIVAC, and Linux allows it at EL0; `buf` is readable.
        unsafe { probe_dc_civac(buf.as_ptr().wrapping_add(1), buf.len() - 1) };
        dsb_sy();
        exercise_invalidate(&|b| {
            dsb_sy();
            civac.evict(b);
            dsb_sy();
        });
        assert!(buf.iter().all(|&b| b == 4));
        println!("executed: dc civac");
        let sel = pmem_flush::selection();
        assert_eq!(sel.evict_write_back(), WriteBack::DcCivac, "{sel}");
        assert!(
            sel.to_string()
                .contains("invalidate: dsb sy, dc civac per "),
            "{sel}"
        );
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
        println!("executed: dc cvac");
        // DC CVAP / CVADP where detection says so: with `std`, the OS's hwcaps (QEMU 7.2 user
        // mode raised SIGILL on them even for models that advertise them; 10.0 runs them).
        if let Some(f) = cvap {
            exercise(&|b| f.flush(b));
            println!("executed: dc cvap");
        }
        if let Some(f) = cvadp {
            exercise(&|b| f.flush(b));
            println!("executed: dc cvadp");
        }
        Dsb.drain();
        println!("executed: dsb sy");
        let sel = pmem_flush::selection();
        let want = if cpu.features.contains(Features::DC_CVAP) {
            WriteBack::DcCvap
        } else {
            WriteBack::DcCvac
        };
        assert_eq!(sel.flush_write_back(), want, "{sel}");
    }

    /// DPB from ID_AA64ISAR1_EL1 as Linux user space reads it (the kernel emulates MRS of the
    /// ID registers at EL0, and QEMU user mode does as Linux does). The crate's own detection
    /// never reads it in user space; the test may, since it only runs on Linux.
    fn dpb() -> u64 {
        // SAFETY: Linux emulates EL0 reads of ID_AA64ISAR1_EL1 and lets EL0 read CTR_EL0.
        let regs = unsafe { pmem_flush::arch::aarch64::read_registers() };
        regs.id_aa64isar1_el1 & 0xf
    }

    #[test]
    fn dc_cvap_and_dc_cvadp_run_where_the_id_register_says_so() {
        let dpb = dpb();
        let cpu = Cpu::detect();
        let line = cpu.usable_line_size();
        println!("ID_AA64ISAR1_EL1.DPB = {dpb}; data-cache line {line} bytes");
        if cfg!(feature = "std") {
            // The OS's hwcaps and the ID register agree.
            assert_eq!(
                cpu.features.contains(Features::DC_CVAP),
                dpb >= 1,
                "{cpu:?}"
            );
            assert_eq!(
                cpu.features.contains(Features::DC_CVADP),
                dpb >= 2,
                "{cpu:?}"
            );
        }
        let buf = [3u8; 700];
        if dpb >= 1 {
            // SAFETY: DPB >= 1 is FEAT_DPB; `buf` is readable; `line` is CTR_EL0's DminLine.
            unsafe { probe_dc_cvap(buf.as_ptr().wrapping_add(1), buf.len() - 1) };
            // SAFETY: as above.
            let f = unsafe { DcCvap::new_unchecked(line) };
            exercise(&|b| f.flush(b));
            println!("executed: dc cvap");
        }
        if dpb >= 2 {
            // SAFETY: DPB >= 2 is FEAT_DPB2; as above.
            unsafe { probe_dc_cvadp(buf.as_ptr(), buf.len()) };
            // SAFETY: as above.
            let f = unsafe { DcCvadp::new_unchecked(line) };
            exercise(&|b| f.flush(b));
            println!("executed: dc cvadp");
        }
        probe_dsb();
        assert!(buf.iter().all(|&b| b == 3));
    }
}

#[cfg(target_arch = "powerpc64")]
mod powerpc64 {
    use super::*;
    use pmem_flush::Features;
    use pmem_flush::arch::powerpc64::{Dcbf, Dcbstps, Phwsync, phwsync};

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

    /// # Safety
    /// The range is mapped.
    ///
    /// 64-byte steps (half a POWER block: safe, it only repeats work), so that in the emulator
    /// build, where `probe_dcbstps` emits the same `dcbf`, the two are not identical functions
    /// that the compiler merges into one symbol the disassembly check cannot find.
    #[unsafe(no_mangle)]
    #[inline(never)]
    pub unsafe fn probe_dcbf(p: *const u8, len: usize) {
        // SAFETY: every 64-bit POWER CPU has dcbf; the caller's contract.
        unsafe { Dcbf::new_unchecked(64).evict_raw(p, len) }
    }

    #[test]
    fn dcbf_invalidates_and_data_reads_back() {
        std::hint::black_box(probe_dcbf as unsafe fn(_, _));
        let f = Dcbf::new().expect("every 64-bit POWER CPU");
        assert_eq!(f.line_size(), 128);
        let buf = [6u8; 300];
        phwsync();
        // SAFETY: every 64-bit POWER CPU has dcbf; `buf` is readable.
        unsafe { probe_dcbf(buf.as_ptr().wrapping_add(5), buf.len() - 5) };
        phwsync();
        exercise_invalidate(&|b| {
            phwsync();
            f.evict(b);
            phwsync();
        });
        assert!(buf.iter().all(|&b| b == 6));
        // dcbf L=0 in every build (the emulator build's stand-in for dcbstps is the same).
        println!("executed: dcbf");
        let sel = pmem_flush::selection();
        assert_eq!(
            (sel.evict_write_back(), sel.invalidate_fence()),
            (WriteBack::Dcbf, pmem_flush::Fence::Phwsync),
            "{sel}"
        );
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
        // No QEMU executes dcbstps (dcbf L=6); the emulator build emits plain dcbf in its place.
        if cfg!(pmem_flush_pre_isa31_encodings) {
            println!("executed: dcbf");
        } else {
            println!("executed: dcbstps");
        }
        probe_phwsync();
        Phwsync.drain();
        println!("executed: phwsync");
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
    use pmem_flush::arch::riscv64::{CboClean, CboFlush, FenceIorw, fence_iorw};

    /// # Safety
    /// The CPU has Zicbom (enabled for this mode) and the range is mapped.
    #[unsafe(no_mangle)]
    #[inline(never)]
    pub unsafe fn probe_cbo_clean(p: *const u8, len: usize) {
        // SAFETY: the caller's contract.
        unsafe { CboClean::new_unchecked(64).flush_raw(p, len) }
    }

    /// # Safety
    /// The CPU has Zicbom (enabled for this mode) and the range is mapped.
    #[unsafe(no_mangle)]
    #[inline(never)]
    pub unsafe fn probe_cbo_flush(p: *const u8, len: usize) {
        // SAFETY: the caller's contract.
        unsafe { CboFlush::new_unchecked(64).evict_raw(p, len) }
    }

    #[unsafe(no_mangle)]
    #[inline(never)]
    pub fn probe_fence() {
        FenceIorw.drain()
    }

    /// The Zicbom block size the runner vouches for in `PMEM_FLUSH_TEST_CBOM_BLOCK_SIZE`
    /// (`scripts/cross.sh` sets it when QEMU runs with `-cpu rv64,zicbom=true`): the test's
    /// stand-in for the device tree or `riscv_hwprobe`. Unset: no Zicbom.
    fn cbom_block_size() -> Option<usize> {
        let v = std::env::var("PMEM_FLUSH_TEST_CBOM_BLOCK_SIZE").ok()?;
        Some(
            v.parse()
                .expect("PMEM_FLUSH_TEST_CBOM_BLOCK_SIZE is a number of bytes"),
        )
    }

    #[test]
    fn cbo_clean_runs_where_the_runner_says_zicbom() {
        let Some(block) = cbom_block_size() else {
            // Seen even with output captured; in CI the runner always vouches, so a missing
            // value there is a broken runner, not a skip.
            assert!(
                std::env::var_os("CI").is_none(),
                "CI: PMEM_FLUSH_TEST_CBOM_BLOCK_SIZE is not set, so cbo.clean would not run"
            );
            eprintln!(
                "SKIPPED: no Zicbom vouched for (PMEM_FLUSH_TEST_CBOM_BLOCK_SIZE): cbo.clean not run"
            );
            return;
        };
        let cpu = pmem_flush::features::riscv64::zicbom(Some(block));
        let sel = pmem_flush::Selection::new(&cpu, Config::new());
        assert_eq!(
            (sel.flush_write_back(), sel.line_size()),
            (WriteBack::CboClean, block)
        );
        let buf = [5u8; 700];
        // SAFETY: the runner says this CPU has Zicbom with `block`-byte blocks, enabled for
        // user mode; `buf` is readable.
        unsafe { probe_cbo_clean(buf.as_ptr().wrapping_add(3), buf.len() - 3) };
        // SAFETY: as above.
        let f = unsafe { Flusher::new_unchecked(&sel) };
        exercise(&|b| f.flush(b));
        f.persist(&buf);
        f.deep_flush(&buf);
        // SAFETY: as above.
        let clean = unsafe { CboClean::new_unchecked(block) };
        exercise(&|b| clean.flush(b));
        let mut dst = vec![0u8; 3000];
        let src: Vec<u8> = (0..3000u32).map(|i| (i * 7) as u8).collect();
        f.memcpy(&mut dst, &src, pmem_flush::MemFlags::empty())
            .unwrap();
        assert_eq!(dst, src);
        probe_fence();
        assert!(buf.iter().all(|&b| b == 5));
        println!("executed: cbo.clean");

        // Invalidation: cbo.flush between two FENCE iorw,iorw, through the flusher, its
        // pointer and the concrete type; what was written reads back unchanged.
        assert_eq!(
            (sel.evict_write_back(), sel.invalidate_fence()),
            (WriteBack::CboFlush, pmem_flush::Fence::Fence)
        );
        fence_iorw();
        // SAFETY: as above.
        unsafe { probe_cbo_flush(buf.as_ptr().wrapping_add(3), buf.len() - 3) };
        fence_iorw();
        exercise_invalidate(&|b| f.invalidate(b));
        let g = f.invalidate_fn();
        exercise_invalidate(&|b| {
            // SAFETY: `b` is readable for its whole length.
            unsafe { g(b.as_ptr(), b.len()) }
        });
        // SAFETY: as above.
        let flush = unsafe { CboFlush::new_unchecked(block) };
        exercise_invalidate(&|b| {
            fence_iorw();
            flush.evict(b);
            fence_iorw();
        });
        assert!(buf.iter().all(|&b| b == 5));
        println!("executed: cbo.flush");
    }

    #[test]
    fn nothing_detected_so_nothing_flushed_and_said_so() {
        // `probe_cbo_clean` and `probe_cbo_flush` run in the test above only when the runner
        // vouches for Zicbom.
        std::hint::black_box((
            probe_cbo_clean as unsafe fn(_, _),
            probe_cbo_flush as unsafe fn(_, _),
            probe_fence as fn(),
        ));
        probe_fence();
        assert_eq!(Cpu::detect(), Cpu::NONE);
        assert!(CboClean::new().is_none());
        assert!(CboFlush::new().is_none());
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
        assert!(
            text.contains("invalidate: fence iorw,iorw only, NOTHING IS EVICTED"),
            "{text}"
        );
        // The embedder's word makes a selection (acted on in the test above).
        let told = pmem_flush::Selection::new(
            &pmem_flush::features::riscv64::zicbom(Some(64)),
            Config::new(),
        );
        assert_eq!(told.flush_write_back(), WriteBack::CboClean);
    }
}
