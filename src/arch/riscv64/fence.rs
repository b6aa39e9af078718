//! FENCE iorw,iorw: the RISC-V drain.

use core::arch::asm;

/// Orders every earlier memory and I/O access of this hart, `cbo.clean` included, before every
/// later one.
///
/// Ordering: `cbo.clean` counts as W or O in a `FENCE`, depending on the block's physical
/// memory attributes (main memory or I/O; persistent memory may be either), so the
/// predecessor set needs both: `fence rw,rw` would leave a clean of an I/O-attributed block
/// unordered. Later stores of either class must wait, and later loads too, so that this drain
/// is as strong as AArch64's `DSB SY` and POWER's `phwsync`: `fence iorw,iorw`, the plain
/// `fence`. Because it orders later loads too, it is also the invalidation fence on both sides
/// of [`cbo_flush`](super::cbo_flush).
///
/// Manual: RISC-V Unprivileged ISA, "FENCE" and the RVWMO memory model; CMO extensions 1.0,
/// "Memory Ordering". Every RISC-V CPU.
///
/// ```
/// use pmem_flush::arch::riscv64::fence_iorw;
/// let mut record = [0u8; 64];
/// record[0] = 1;
/// pmem_flush::flush(&record); // or the bare instructions
/// fence_iorw(); // the flush above is now ordered before later stores
/// ```
#[inline(always)]
pub fn fence_iorw() {
    // SAFETY: FENCE exists on every RISC-V CPU and only orders. Not `nomem`: it is also a
    // compiler barrier.
    unsafe { asm!("fence iorw, iorw", options(nostack, preserves_flags)) }
}

/// A [`Drain`](crate::Drain) fixed to `fence iorw,iorw`.
///
/// ```
/// use pmem_flush::arch::riscv64::{CboClean, FenceIorw};
/// use pmem_flush::prelude::*;
///
/// FenceIorw.drain();
/// if let Some(write_back) = CboClean::new() {
///     (write_back, FenceIorw).persist(&[1u8; 64]); // a Persist with no dispatch
/// }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct FenceIorw;

impl crate::Drain for FenceIorw {
    #[inline(always)]
    fn drain(&self) {
        fence_iorw();
    }
}
