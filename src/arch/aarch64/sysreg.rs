//! MRS of ID_AA64ISAR1_EL1 and CTR_EL0: the register reads behind AArch64 detection.

use core::arch::asm;

use crate::features::aarch64::Registers;

/// Reads ID_AA64ISAR1_EL1 (`S3_0_C0_C6_1`).
///
/// Manual: Arm ARM (DDI 0487), D23.2 "ID_AA64ISAR1_EL1, AArch64 Instruction Set Attribute
/// Register 1".
///
/// # Safety
///
/// Must run at EL1 or above, or at EL0 under an OS that emulates EL0 reads of the ID registers
/// (Linux does, and so does QEMU's user mode); anywhere else the read traps.
///
/// ```
/// # #[cfg(target_os = "linux")] {
/// use pmem_flush::arch::aarch64::read_id_aa64isar1_el1;
/// // SAFETY: Linux emulates EL0 reads of the ID registers.
/// let isar1 = unsafe { read_id_aa64isar1_el1() };
/// let dpb = isar1 & 0xf; // FEAT_DPB (DC CVAP) from 1, FEAT_DPB2 (DC CVADP) from 2
/// println!("ID_AA64ISAR1_EL1.DPB = {dpb}");
/// # }
/// ```
#[inline]
#[must_use]
pub unsafe fn read_id_aa64isar1_el1() -> u64 {
    let v: u64;
    // SAFETY: the caller guarantees the read does not trap. A register read: no memory.
    unsafe { asm!("mrs {}, S3_0_C0_C6_1", out(reg) v, options(nomem, nostack, preserves_flags)) }
    v
}

/// Reads CTR_EL0, the cache type register.
///
/// Manual: Arm ARM (DDI 0487), D23.2 "CTR_EL0, Cache Type Register".
///
/// # Safety
///
/// Must run at EL1 or above, or at EL0 where the OS set SCTLR_EL1.UCT (Linux, Android and
/// FreeBSD do, or emulate the read); anywhere else the read traps.
///
/// ```
/// # #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))] {
/// use pmem_flush::arch::aarch64::read_ctr_el0;
/// // SAFETY: these systems let EL0 read CTR_EL0 (SCTLR_EL1.UCT).
/// let ctr = unsafe { read_ctr_el0() };
/// let dminline = (ctr >> 16) & 0xf; // log2 of the smallest data-cache line, in 4-byte words
/// assert_eq!(4 << dminline, pmem_flush::Cpu::detect().line_size);
/// # }
/// ```
#[inline]
#[must_use]
pub unsafe fn read_ctr_el0() -> u64 {
    let v: u64;
    // SAFETY: the caller guarantees the read does not trap. A register read: no memory.
    unsafe { asm!("mrs {}, ctr_el0", out(reg) v, options(nomem, nostack, preserves_flags)) }
    v
}

/// Reads both registers that [`decode`](crate::features::aarch64::decode) needs: the caller's
/// way to opt in to the ID-register read at EL0 under Linux, e.g.
///
/// ```standalone_crate
/// // (A process of its own: it changes the global selection other doc tests read.)
/// # #[cfg(target_os = "linux")] {
/// use pmem_flush::{Config, Selection, features::aarch64};
/// // SAFETY: Linux emulates EL0 reads of the ID registers and sets SCTLR_EL1.UCT.
/// let cpu = aarch64::decode(&unsafe { pmem_flush::arch::aarch64::read_registers() });
/// // SAFETY: the selection comes from this CPU's own registers.
/// unsafe { pmem_flush::configure_unchecked(&Selection::new(&cpu, Config::new())) };
/// # }
/// ```
///
/// # Safety
///
/// As for [`read_id_aa64isar1_el1`] and [`read_ctr_el0`].
#[inline]
#[must_use]
pub unsafe fn read_registers() -> Registers {
    // SAFETY: the caller's contract.
    unsafe {
        Registers {
            id_aa64isar1_el1: read_id_aa64isar1_el1(),
            ctr_el0: read_ctr_el0(),
        }
    }
}
