//! DC CIVAC: data cache clean and invalidate by virtual address to the Point of Coherency.

use core::arch::asm;

use crate::features::Features;

/// Cleans the data-cache line containing `line` to the Point of Coherency and invalidates it:
/// dirty data in any cache is written back first (nothing is lost), then no cache holds the
/// line, so the next load reads it from memory: the eviction of an invalidation.
///
/// Ordering: it executes in program order with loads and stores to the same line (of the
/// minimum size, CTR_EL0.DminLine) in Normal write-back or write-through memory with the same
/// cacheability, so this CPU's own earlier stores to the line are cleaned; with accesses to
/// Device or Non-cacheable memory it may execute in any order unless a DMB or DSB lies between,
/// and with accesses to other lines only a barrier orders it (the Arm ARM's own example puts a
/// DMB between a DC CVAC and a store elsewhere); and it is complete only after a DSB. So an invalidation is `DSB SY`, the DC CIVACs, `DSB SY`
/// ([`dsb_sy`](super::dsb_sy)): the first orders them after the accesses that decided to
/// invalidate (the load of a completion flag, say), the second waits for them to complete
/// before any later instruction, loads included, executes. Linux's `arch_invalidate_pmem`
/// (`dcache_inval_poc`) ends with the same `DSB SY`; it discards whole lines with DC IVAC,
/// which is UNDEFINED at EL0 and loses dirty data, where this crate cleans every line.
///
/// Manual: Arm ARM (DDI 0487), C5.3 "DC CIVAC, Data or unified Cache line Clean and Invalidate
/// by VA to PoC", D7.5.9 "Ordering and completion of data and instruction cache instructions"
/// (D4 in older editions), and D23.2 "SCTLR_EL1" (UCI); every ARMv8 CPU. Emitted as
/// `sys #3, c7, c14, #1, Xt`. At EL0 it needs SCTLR_EL1.UCI set by the OS, as DC CVAC does
/// (Linux, Android and FreeBSD set it), and read permission for the address.
///
/// # Safety
///
/// `line` must be an address that a byte load could read without faulting, and at EL0 the OS
/// must allow cache maintenance (SCTLR_EL1.UCI), or the instruction traps.
///
/// ```
/// use pmem_flush::arch::aarch64::{DcCivac, dc_civac, dsb_sy};
///
/// let line = [0x5au8; 64]; // written by this CPU: the eviction writes it back first
/// if DcCivac::is_available() {
///     dsb_sy();
///     // SAFETY: this CPU has the instruction (checked above), and `line` is readable.
///     unsafe { dc_civac(line.as_ptr()) };
///     dsb_sy();
/// }
/// assert_eq!(line, [0x5a; 64]);
/// ```
#[inline(always)]
pub unsafe fn dc_civac(line: *const u8) {
    // SAFETY: the caller guarantees the address is mapped and EL0 cache maintenance is allowed.
    // Not `nomem`: the compiler must not move loads or stores of this line across the eviction.
    unsafe { asm!("sys #3, c7, c14, #1, {}", in(reg) line, options(nostack, preserves_flags)) }
}

concrete_evicter!(
    /// An [`Evict`](crate::Evict) fixed to DC CIVAC at compile time: each call is the bare loop.
    /// Available wherever DC CVAC is (every ARMv8 CPU; at EL0 where the OS allows cache
    /// maintenance).
    DcCivac,
    dc_civac,
    Features::DC_CVAC,
    dsb_sy
);
