//! cbo.flush: cache-block flush (Zicbom), the RISC-V eviction for invalidation.

use core::arch::asm;

use crate::features::Features;

/// Writes the cache block containing `line` back to memory if it holds modified data and
/// invalidates it in every cache, so the next load reads it from memory: the eviction of an
/// invalidation.
///
/// Ordering: in RVWMO's preserved program order the flush behaves as a store, with one more
/// rule: it precedes later loads of overlapping addresses. So it is ordered after this hart's
/// earlier loads and stores of the block and before its later loads of the block; with accesses
/// to other addresses only a `FENCE` orders it, in which it belongs to the W or the O class,
/// depending on the physical memory attributes of the block. So an invalidation is
/// `FENCE iorw,iorw` ([`fence_iorw`](super::fence_iorw)), the `cbo.flush`es,
/// `FENCE iorw,iorw`: the first orders them after every earlier access (the load of a completion
/// flag, say, which is at another address), the second before every later access, to other
/// addresses and I/O included.
///
/// Manual: RISC-V CMO extensions 1.0 ("Base Cache Management Operation ISA Extensions" in the
/// Unprivileged ISA), "Cache-Block Management Instructions", "Memory Ordering: Preserved
/// Program Order" and "cbo.flush"; "RVWMO Memory Consistency Model" and "FENCE". No register
/// reports the extension. Encoding `0x0020_200F | rs1 << 15`. Below M-mode it also needs menvcfg.CBCFE (and
/// senvcfg.CBCFE for U-mode) set, as `cbo.clean` does, or it raises an illegal-instruction
/// exception.
///
/// # Safety
///
/// The CPU must implement Zicbom with flushes enabled for the current mode, and `line` must be
/// an address that a byte load could read without faulting.
///
/// ```
/// use pmem_flush::arch::riscv64::{cbo_flush, fence_iorw};
/// use pmem_flush::features::riscv64;
///
/// // Zicbom and its block size come from the platform (device tree `riscv,cbom-block-size`,
/// // ACPI RHCT, Linux `riscv_hwprobe`); here nobody said, so nothing is executed.
/// let platform_block_size: Option<usize> = None;
/// let line = [0u8; 64];
/// if riscv64::zicbom(platform_block_size).features.contains(pmem_flush::Features::ZICBOM) {
///     fence_iorw();
///     // SAFETY: the platform says the hart implements Zicbom with flushes enabled, and
///     // `line` is readable.
///     unsafe { cbo_flush(line.as_ptr()) };
///     fence_iorw();
/// }
/// ```
#[inline(always)]
pub unsafe fn cbo_flush(line: *const u8) {
    // SAFETY: the caller guarantees Zicbom (enabled) and a mapped address. Not `nomem`: the
    // compiler must not move loads or stores of this block across the flush.
    unsafe {
        asm!(
            ".option push",
            ".option arch, +zicbom",
            "cbo.flush ({})",
            ".option pop",
            in(reg) line,
            options(nostack, preserves_flags)
        )
    }
}

concrete_evicter!(
    /// An [`Evict`](crate::Evict) fixed to cbo.flush at compile time: each call is the bare
    /// loop. [`new`](Self::new) always returns `None` (nothing can be detected); build it with
    /// [`new_unchecked`](Self::new_unchecked) from the platform's facts.
    CboFlush,
    cbo_flush,
    Features::ZICBOM,
    fence_iorw
);
