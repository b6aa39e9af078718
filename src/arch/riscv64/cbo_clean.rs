//! cbo.clean: cache-block clean (Zicbom).

use core::arch::asm;

use crate::features::Features;

/// Writes the cache block containing `line` back to memory if it holds modified data; the
/// block may stay cached.
///
/// Ordering: for memory ordering the clean behaves as a store to the block (so it is ordered
/// after earlier stores to the same block), and for `FENCE` it belongs to the W or the O class,
/// depending on the physical memory attributes of the block. A `FENCE` whose predecessor set
/// holds both W and O ([`fence_iorw`](super::fence_iorw)) orders it before later accesses.
///
/// Manual: RISC-V CMO extensions 1.0, "Zicbom" and "Memory Ordering"; no register reports the
/// extension. Encoding `0x0010_200F | rs1 << 15`. Below M-mode it also needs menvcfg.CBCFE (and
/// senvcfg.CBCFE for U-mode) set, or it raises an illegal-instruction exception.
///
/// # Safety
///
/// The CPU must implement Zicbom with cleans enabled for the current mode, and `line` must be an
/// address that a byte load could read without faulting.
///
/// ```
/// use pmem_flush::arch::riscv64::{cbo_clean, fence_iorw};
/// use pmem_flush::features::riscv64;
///
/// // Zicbom and its block size come from the platform (device tree `riscv,cbom-block-size`,
/// // ACPI RHCT, Linux `riscv_hwprobe`); here nobody said, so nothing is executed.
/// let platform_block_size: Option<usize> = None;
/// let line = [0u8; 64];
/// if riscv64::zicbom(platform_block_size).features.contains(pmem_flush::Features::ZICBOM) {
///     // SAFETY: the platform says the hart implements Zicbom with cleans enabled, and `line`
///     // is readable.
///     unsafe { cbo_clean(line.as_ptr()) };
///     fence_iorw();
/// }
/// ```
#[inline(always)]
pub unsafe fn cbo_clean(line: *const u8) {
    // SAFETY: the caller guarantees Zicbom (enabled) and a mapped address. Not `nomem`: the
    // compiler must not move stores to this block across the clean.
    unsafe {
        asm!(
            ".option push",
            ".option arch, +zicbom",
            "cbo.clean ({})",
            ".option pop",
            in(reg) line,
            options(nostack, preserves_flags)
        )
    }
}

concrete_flusher!(
    /// A [`Flush`](crate::Flush) fixed to cbo.clean at compile time: each call is the bare loop.
    /// [`new`](Self::new) always returns `None` (nothing can be detected); build it with
    /// [`new_unchecked`](Self::new_unchecked) from the platform's facts.
    CboClean,
    cbo_clean,
    Features::ZICBOM
);
