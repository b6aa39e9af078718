//! DC CVAP: data cache clean by virtual address to the Point of Persistence (FEAT_DPB).

use core::arch::asm;

use crate::features::Features;

/// Cleans the data-cache line containing `line` to the Point of Persistence: once complete, the
/// data survives the loss of power the platform's persistence domain is built for.
///
/// Ordering: ordered after earlier stores to the same line; not ordered with other lines or
/// other cache maintenance. Complete only after a `DSB` ([`dsb_sy`](super::dsb_sy)).
///
/// Manual: Arm ARM (DDI 0487), C5.3 "DC CVAP, Data or unified Cache line Clean by VA to PoP";
/// FEAT_DPB, ID_AA64ISAR1_EL1.DPB >= 1 (ARMv8.2). Emitted as `sys #3, c7, c12, #1, Xt`, which
/// assembles without the `dpb` target feature.
///
/// # Safety
///
/// The CPU must implement FEAT_DPB (the encoding is UNDEFINED otherwise), `line` must be an
/// address that a byte load could read without faulting, and at EL0 the OS must allow cache
/// maintenance (SCTLR_EL1.UCI).
///
/// ```
/// use pmem_flush::arch::aarch64::{DcCvap, dc_cvap, dsb_sy};
///
/// let line = [0u8; 64];
/// if DcCvap::is_available() {
///     // SAFETY: this CPU has the instruction (checked above), and `line` is readable.
///     unsafe { dc_cvap(line.as_ptr()) };
///     dsb_sy();
/// }
/// ```
#[inline(always)]
pub unsafe fn dc_cvap(line: *const u8) {
    // SAFETY: the caller guarantees FEAT_DPB, a mapped address and EL0 cache maintenance. Not
    // `nomem`: the compiler must not move stores to this line across the clean.
    unsafe { asm!("sys #3, c7, c12, #1, {}", in(reg) line, options(nostack, preserves_flags)) }
}

concrete_flusher!(
    /// A [`Flush`](crate::Flush) fixed to DC CVAP at compile time: each call is the bare loop.
    DcCvap,
    dc_cvap,
    Features::DC_CVAP
);
