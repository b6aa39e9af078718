//! DC CVADP: data cache clean by virtual address to the Point of Deep Persistence (FEAT_DPB2).

use core::arch::asm;

use crate::features::Features;

/// Cleans the data-cache line containing `line` to the Point of Deep Persistence: once
/// complete, the data survives even the failures the platform's deep persistence domain covers
/// (for example the loss of a backup energy source), beyond what DC CVAP reaches.
///
/// Ordering: ordered after earlier stores to the same line; not ordered with other lines or
/// other cache maintenance. Complete only after a `DSB` ([`dsb_sy`](super::dsb_sy)).
///
/// Manual: Arm ARM (DDI 0487), C5.3 "DC CVADP, Data or unified Cache line Clean by VA to PoDP";
/// FEAT_DPB2, ID_AA64ISAR1_EL1.DPB >= 2 (ARMv8.5). Emitted as `sys #3, c7, c13, #1, Xt`, which
/// assembles without the `dpb2` target feature.
///
/// # Safety
///
/// The CPU must implement FEAT_DPB2 (the encoding is UNDEFINED otherwise), `line` must be an
/// address that a byte load could read without faulting, and at EL0 the OS must allow cache
/// maintenance (SCTLR_EL1.UCI).
///
/// ```
/// use pmem_flush::arch::aarch64::{DcCvadp, dc_cvadp, dsb_sy};
///
/// let line = [0u8; 64];
/// if DcCvadp::is_available() {
///     // SAFETY: this CPU has the instruction (checked above), and `line` is readable.
///     unsafe { dc_cvadp(line.as_ptr()) };
///     dsb_sy();
/// }
/// ```
#[inline(always)]
pub unsafe fn dc_cvadp(line: *const u8) {
    // SAFETY: the caller guarantees FEAT_DPB2, a mapped address and EL0 cache maintenance. Not
    // `nomem`: the compiler must not move stores to this line across the clean.
    unsafe { asm!("sys #3, c7, c13, #1, {}", in(reg) line, options(nostack, preserves_flags)) }
}

concrete_flusher!(
    /// A [`Flush`](crate::Flush) fixed to DC CVADP at compile time: each call is the bare loop.
    DcCvadp,
    dc_cvadp,
    Features::DC_CVADP
);
