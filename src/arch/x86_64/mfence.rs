//! MFENCE: memory fence, the x86 invalidation fence.

use core::arch::asm;

/// Orders every earlier load, store, CLFLUSH and CLFLUSHOPT of this CPU before every later
/// load and store: the fence on both sides of an invalidation's evictions.
///
/// Ordering: SFENCE, the drain, orders write-backs before later *stores* only; later loads may
/// pass it. An invalidation exists so that later loads see memory rather than a stale line, so
/// it needs MFENCE:
///
/// - after the evictions: MFENCE cannot pass an earlier CLFLUSH or CLFLUSHOPT, and reads cannot
///   pass an earlier MFENCE, so the loads that follow are performed after the lines were
///   written back and evicted. (CLFLUSH is ordered with writes and other CLFLUSHes but not with
///   reads; CLFLUSHOPT only with fences, locked instructions and older writes to its own line.)
/// - before them: CLFLUSH and CLFLUSHOPT are not ordered with earlier reads (nor CLFLUSHOPT with
///   earlier writes to other lines), so without a fence an eviction may be performed before the
///   load that decided to invalidate (a completion flag, say), and a speculative fetch in
///   between would leave the stale line cached. CLFLUSH and CLFLUSHOPT cannot pass an earlier
///   MFENCE, which cannot pass earlier reads and writes.
///
/// Linux does the same: `clflush_cache_range`, which its `arch_invalidate_pmem` calls, brackets
/// the CLFLUSHOPT loop with `mb()`, an MFENCE on x86-64.
///
/// No fence stops the processor from fetching a line again speculatively at any time (WB
/// memory), before, during or after the fence: invalidate after the other agent's writes have
/// completed, and nothing stale can be fetched back.
///
/// It touches no vector register, so kernels built with SSE off may use it.
///
/// Manual: Intel SDM Vol. 2B, "MFENCE—Memory Fence"; Vol. 2A, "CLFLUSH—Flush Cache Line" and
/// "CLFLUSHOPT—Flush Cache Line Optimized" (what each is ordered with, and speculative fetches);
/// Vol. 3A, 10.2.2 "Memory Ordering in P6 and More Recent Processor Families" (8.2.2 in editions
/// before 2023). Part of SSE2, so every x86-64 CPU has it. Encoding `0F AE F0`.
///
/// ```
/// use pmem_flush::arch::x86_64::{ClflushOpt, mfence};
/// use pmem_flush::prelude::*;
///
/// let shared = [0x5au8; 256]; // written by this CPU: each eviction writes it back first
/// if let Some(evict) = ClflushOpt::new() {
///     mfence(); // after the accesses that decided to invalidate
///     evict.evict(&shared);
///     mfence(); // before the loads that must see memory
/// }
/// assert_eq!(shared, [0x5a; 256]);
/// ```
#[inline(always)]
pub fn mfence() {
    // SAFETY: MFENCE exists on every x86-64 CPU and only orders memory operations. Not
    // `nomem`: it is also a compiler barrier, so loads and stores are not moved across it.
    unsafe { asm!("mfence", options(nostack, preserves_flags)) }
}

/// A [`Drain`](crate::Drain) fixed to MFENCE: the invalidation fence, which also drains (it
/// orders everything SFENCE orders, and later loads too), at a higher cost than
/// [`Sfence`](super::Sfence).
///
/// ```
/// use pmem_flush::arch::x86_64::{Clflush, Mfence};
/// use pmem_flush::prelude::*;
///
/// Mfence.drain();
/// if let Some(clflush) = Clflush::new() {
///     let data = [1u8; 64];
///     Mfence.drain();
///     clflush.evict(&data); // an invalidation with concrete types
///     Mfence.drain();
/// }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Mfence;

impl crate::Drain for Mfence {
    #[inline(always)]
    fn drain(&self) {
        mfence();
    }
}
