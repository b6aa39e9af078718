//! SFENCE: store fence, the x86 drain.

use core::arch::asm;

/// Orders every earlier store, CLFLUSHOPT, CLWB and non-temporal store of this CPU before every
/// later store.
///
/// Ordering: SFENCE is the drain for persistence; MFENCE is never needed for it. It touches no
/// vector register, so kernels built with SSE off may use it.
///
/// Manual: Intel SDM Vol. 2B, "SFENCE—Store Fence"; part of SSE, so every x86-64 CPU has it.
/// Encoding `0F AE F8`.
///
/// ```
/// use pmem_flush::arch::x86_64::sfence;
/// let mut record = [0u8; 64];
/// record[0] = 1;
/// pmem_flush::flush(&record); // or the bare instructions
/// sfence(); // the flush above is now ordered before later stores
/// ```
#[inline(always)]
pub fn sfence() {
    // SAFETY: SFENCE exists on every x86-64 CPU and only orders memory operations. Not
    // `nomem`: it is also a compiler barrier, so stores are not moved across it.
    unsafe { asm!("sfence", options(nostack, preserves_flags)) }
}

/// A [`Drain`](crate::Drain) fixed to SFENCE.
///
/// ```
/// use pmem_flush::arch::x86_64::{Clflush, Sfence};
/// use pmem_flush::prelude::*;
///
/// Sfence.drain();
/// if let Some(clflush) = Clflush::new() {
///     (clflush, Sfence).persist(&[1u8; 64]); // a Persist with no dispatch
/// }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Sfence;

impl crate::Drain for Sfence {
    #[inline(always)]
    fn drain(&self) {
        sfence();
    }
}
