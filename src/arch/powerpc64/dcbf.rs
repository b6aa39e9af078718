//! dcbf (L = 0): data cache block flush, the POWER eviction for invalidation.

use core::arch::asm;

use crate::features::Features;

/// Writes the cache block containing `line` back to main storage if it is modified, and
/// invalidates it in every cache of the coherence domain, so the next load reads it from
/// memory: the eviction of an invalidation.
///
/// Only invalidation uses it: on POWER10 plain `dcbf` writes back to main storage, not
/// necessarily to the persistence domain (that is `dcbstps` / `dcbfps`), so flush never does.
/// Persist what must be durable before invalidating it. (Linux's `arch_invalidate_pmem` uses
/// `dcbfps`, `dcbf` with L = 4, on POWER8 and later; this crate uses L = 0, which every 64-bit
/// POWER CPU and every QEMU executes, since an invalidation is about stale lines, not
/// durability.)
///
/// Ordering: the flush covers this CPU's earlier stores to the block; its order with other
/// storage accesses, loads of other locations in particular, is set by a heavyweight `sync`,
/// which orders every storage access and cache management instruction before it ahead of every
/// one after it. So an invalidation is `phwsync` ([`phwsync`](super::phwsync), a heavyweight
/// sync, `hwsync` on POWER8 and POWER9), the `dcbf`s, `phwsync`: the first orders them after
/// the accesses that decided to invalidate, the second makes later loads wait for them. Linux's
/// `flush_dcache_range` brackets its `dcbf` loop the same way on 64-bit POWER (`sync` before
/// and after).
///
/// Manual: Power ISA 3.1, Book II, 4.3.2 "Data Cache Instructions" (`dcbf`, L = 0) and 4.6.3
/// "Memory Barrier Instructions" (`sync`); every 64-bit POWER CPU. Encoding
/// `0x7C00_00AC | RB << 11` (RA = 0), `dcbf 0, RB`.
///
/// # Safety
///
/// The CPU must be a 64-bit POWER CPU (the feature [`Features::DCBF`]), and `line` must be an
/// address that a byte load could read without faulting.
///
/// ```
/// use pmem_flush::arch::powerpc64::{Dcbf, dcbf, phwsync};
///
/// let line = [0x5au8; 128]; // written by this CPU: the eviction writes it back first
/// if Dcbf::is_available() {
///     phwsync();
///     // SAFETY: this CPU has the instruction (checked above), and `line` is readable.
///     unsafe { dcbf(line.as_ptr()) };
///     phwsync();
/// }
/// assert_eq!(line, [0x5a; 128]);
/// ```
#[inline(always)]
pub unsafe fn dcbf(line: *const u8) {
    // SAFETY: the caller guarantees a 64-bit POWER CPU and a mapped address. Not `nomem`: the
    // compiler must not move loads or stores of this block across the flush.
    unsafe { asm!("dcbf 0, {}", in(reg) line, options(nostack, preserves_flags)) }
}

concrete_evicter!(
    /// An [`Evict`](crate::Evict) fixed to `dcbf` (L = 0) at compile time: each call is the bare
    /// loop.
    Dcbf,
    dcbf,
    Features::DCBF,
    phwsync
);
