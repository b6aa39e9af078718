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
/// `fence`.
///
/// Manual: RISC-V Unprivileged ISA, "FENCE" and the RVWMO memory model; CMO extensions 1.0,
/// "Memory Ordering". Every RISC-V CPU.
#[inline(always)]
pub fn fence_iorw() {
    // SAFETY: FENCE exists on every RISC-V CPU and only orders. Not `nomem`: it is also a
    // compiler barrier.
    unsafe { asm!("fence iorw, iorw", options(nostack, preserves_flags)) }
}

/// A [`Drain`](crate::Drain) fixed to `fence iorw,iorw`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct FenceIorw;

impl crate::Drain for FenceIorw {
    #[inline(always)]
    fn drain(&self) {
        fence_iorw();
    }
}
