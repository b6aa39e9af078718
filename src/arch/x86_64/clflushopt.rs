//! CLFLUSHOPT: optimized cache line flush.

use core::arch::asm;

use crate::features::Features;

/// Writes the cache line containing `line` back to memory and invalidates it.
///
/// Ordering: like CLWB, ordered with older writes to the same line, with fences and locked
/// instructions; not with writes to other lines, other write-backs, or reads. An `SFENCE`
/// after it orders it before later stores. As the eviction of an invalidation it is preceded
/// and followed by `MFENCE` ([`mfence`](super::mfence), which says why), since later loads may
/// pass an `SFENCE`.
///
/// Manual: Intel SDM Vol. 2A, "CLFLUSHOPT—Flush Cache Line Optimized"; detected by
/// CPUID.(EAX=07H,ECX=0):EBX\[23\]. Encoding `66 0F AE /7`.
///
/// # Safety
///
/// The CPU must support CLFLUSHOPT (it raises #UD otherwise), and `line` must be an address
/// that a byte load could read without faulting.
///
/// ```
/// use pmem_flush::arch::x86_64::{ClflushOpt, clflushopt, sfence};
///
/// let line = [0u8; 64];
/// if ClflushOpt::is_available() {
///     // SAFETY: this CPU has the instruction (checked above), and `line` is readable.
///     unsafe { clflushopt(line.as_ptr()) };
///     sfence();
/// }
/// ```
#[inline(always)]
pub unsafe fn clflushopt(line: *const u8) {
    // SAFETY: the caller guarantees CLFLUSHOPT exists and the address is mapped. Not `nomem`:
    // the compiler must not move stores to this line across the write-back.
    unsafe { asm!("clflushopt byte ptr [{}]", in(reg) line, options(nostack, preserves_flags)) }
}

concrete_flusher!(
    /// A [`Flush`](crate::Flush) and [`Evict`](crate::Evict) fixed to CLFLUSHOPT at compile
    /// time: each call is the bare loop.
    ClflushOpt,
    clflushopt,
    Features::CLFLUSHOPT
);

impl_evict!(ClflushOpt, clflushopt);
