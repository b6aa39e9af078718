//! CLFLUSH: cache line flush.

use core::arch::asm;

use crate::features::Features;

/// Writes the cache line containing `line` back to memory and invalidates it.
///
/// Ordering: ordered with writes, with other CLFLUSHes and with fences, so each one waits for
/// the previous: correct without a fence, but serial and slow. This crate still drains with
/// `SFENCE` after it, as libpmem2 does. It is not ordered with reads (nor with CLFLUSHOPT and
/// CLWB): as the eviction of an invalidation it is preceded and followed by `MFENCE`
/// ([`mfence`](super::mfence), which says why).
///
/// Manual: Intel SDM Vol. 2A, "CLFLUSH—Flush Cache Line"; detected by CPUID.01H:EDX\[19\].
/// Encoding `0F AE /7`.
///
/// # Safety
///
/// The CPU must support CLFLUSH (every x86-64 CPU with SSE2 does), and `line` must be an address
/// that a byte load could read without faulting.
///
/// ```
/// use pmem_flush::arch::x86_64::{Clflush, clflush, sfence};
///
/// let line = [0u8; 64];
/// if Clflush::is_available() {
///     // SAFETY: this CPU has the instruction (checked above), and `line` is readable.
///     unsafe { clflush(line.as_ptr()) };
///     sfence();
/// }
/// ```
#[inline(always)]
pub unsafe fn clflush(line: *const u8) {
    // SAFETY: the caller guarantees CLFLUSH exists and the address is mapped. Not `nomem`: the
    // compiler must not move stores to this line across the write-back.
    unsafe { asm!("clflush byte ptr [{}]", in(reg) line, options(nostack, preserves_flags)) }
}

concrete_flusher!(
    /// A [`Flush`](crate::Flush) and [`Evict`](crate::Evict) fixed to CLFLUSH at compile time:
    /// each call is the bare loop.
    Clflush,
    clflush,
    Features::CLFLUSH
);

impl_evict!(Clflush, clflush);
