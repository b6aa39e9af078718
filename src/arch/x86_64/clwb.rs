//! CLWB: cache line write back.

use core::arch::asm;

use crate::features::Features;

/// Writes the cache line containing `line` back to memory; the line may stay cached (some
/// parts, such as Cascade Lake, invalidate it anyway; no data is lost either way).
///
/// Ordering: ordered with older writes to the same line, with fences and locked instructions;
/// not with writes to other lines or other write-backs. An `SFENCE` after it orders it before
/// later stores. No fence is needed before it for this CPU's own earlier stores.
///
/// Manual: Intel SDM Vol. 2A, "CLWB—Cache Line Write Back"; detected by
/// CPUID.(EAX=07H,ECX=0):EBX\[24\]. Encoding `66 0F AE /6`.
///
/// # Safety
///
/// The CPU must support CLWB (it raises #UD otherwise), and `line` must be an address that a
/// byte load could read without faulting.
///
/// ```
/// use pmem_flush::arch::x86_64::{Clwb, clwb, sfence};
///
/// let line = [0u8; 64];
/// if Clwb::is_available() {
///     // SAFETY: this CPU has the instruction (checked above), and `line` is readable.
///     unsafe { clwb(line.as_ptr()) };
///     sfence();
/// }
/// ```
#[inline(always)]
pub unsafe fn clwb(line: *const u8) {
    // SAFETY: the caller guarantees CLWB exists and the address is mapped. Not `nomem`: the
    // compiler must not move stores to this line across the write-back.
    unsafe { asm!("clwb byte ptr [{}]", in(reg) line, options(nostack, preserves_flags)) }
}

concrete_flusher!(
    /// A [`Flush`](crate::Flush) fixed to CLWB at compile time: each call is the bare loop.
    Clwb,
    clwb,
    Features::CLWB
);
