//! DSB SY: data synchronization barrier, full system, the AArch64 drain.

use core::arch::asm;

/// Waits until every earlier memory access and cache maintenance instruction of this CPU
/// (DC CVAC / CVAP / CVADP / CIVAC included) is complete, for the full system, before any later
/// instruction executes.
///
/// Ordering: the drain for persistence. A `DMB` would only order the cleans, not wait for
/// them; Linux also ends its persistent-memory write-back with `DSB SY`. PMDK's `DMB ISHST` is
/// weaker than this. It is also the invalidation fence on both sides of DC CIVAC: later loads
/// wait for it too (see [`dc_civac`](super::dc_civac)).
///
/// Manual: Arm ARM (DDI 0487), C6.2 "DSB, Data Synchronization Barrier", and D7.5.9 on the
/// completion of cache maintenance instructions; every ARMv8 CPU, at every exception level.
///
/// ```
/// use pmem_flush::arch::aarch64::dsb_sy;
/// let mut record = [0u8; 64];
/// record[0] = 1;
/// pmem_flush::flush(&record); // or the bare instructions
/// dsb_sy(); // the flush above is now ordered before later stores
/// ```
#[inline(always)]
pub fn dsb_sy() {
    // SAFETY: DSB exists on every AArch64 CPU at every exception level and only waits. Not
    // `nomem`: it is also a compiler barrier, so memory accesses are not moved across it.
    unsafe { asm!("dsb sy", options(nostack, preserves_flags)) }
}

/// A [`Drain`](crate::Drain) fixed to `DSB SY`.
///
/// ```
/// use pmem_flush::arch::aarch64::{DcCvac, Dsb};
/// use pmem_flush::prelude::*;
///
/// Dsb.drain();
/// if let Some(write_back) = DcCvac::new() {
///     (write_back, Dsb).persist(&[1u8; 64]); // a Persist with no dispatch
/// }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Dsb;

impl crate::Drain for Dsb {
    #[inline(always)]
    fn drain(&self) {
        dsb_sy();
    }
}
