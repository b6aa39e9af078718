//! DC CVAC: data cache clean by virtual address to the Point of Coherency.

use core::arch::asm;

use crate::features::Features;

/// Cleans the data-cache line containing `line` to the Point of Coherency: every copy of the
/// line in caches that hold dirty data is written back so that all observers see it. On a
/// system with a Point of Persistence beyond the Point of Coherency this may stop short of
/// persistence: prefer [`dc_cvap`](super::dc_cvap) where FEAT_DPB exists.
///
/// Ordering: ordered after earlier stores to the same line; not ordered with other lines or
/// other cache maintenance. Complete only after a `DSB` ([`dsb_sy`](super::dsb_sy)).
///
/// Manual: Arm ARM (DDI 0487), C5.3 "DC CVAC, Data or unified Cache line Clean by VA to PoC";
/// every ARMv8 CPU. Emitted as `sys #3, c7, c10, #1, Xt`. At EL0 it needs SCTLR_EL1.UCI set by
/// the OS (Linux, Android and FreeBSD set it).
///
/// # Safety
///
/// `line` must be an address that a byte load could read without faulting, and at EL0 the OS
/// must allow cache maintenance (SCTLR_EL1.UCI), or the instruction traps.
///
/// ```
/// use pmem_flush::arch::aarch64::{DcCvac, dc_cvac, dsb_sy};
///
/// let line = [0u8; 64];
/// if DcCvac::is_available() {
///     // SAFETY: this CPU has the instruction (checked above), and `line` is readable.
///     unsafe { dc_cvac(line.as_ptr()) };
///     dsb_sy();
/// }
/// ```
#[inline(always)]
pub unsafe fn dc_cvac(line: *const u8) {
    // SAFETY: the caller guarantees the address is mapped and EL0 cache maintenance is allowed.
    // Not `nomem`: the compiler must not move stores to this line across the clean.
    unsafe { asm!("sys #3, c7, c10, #1, {}", in(reg) line, options(nostack, preserves_flags)) }
}

concrete_flusher!(
    /// A [`Flush`](crate::Flush) fixed to DC CVAC at compile time: each call is the bare loop.
    DcCvac,
    dc_cvac,
    Features::DC_CVAC
);
