//! dcbstps: data cache block store to persistent storage (`dcbf` with L = 6).

use core::arch::asm;

use crate::features::Features;

/// Writes the cache block containing `line` back to persistent storage.
///
/// On POWER10 (ISA 3.1) this is `dcbstps`: the block is written back to the persistence
/// domain and may stay cached. POWER8 and POWER9 execute the same encoding as `dcbf` (write
/// back and invalidate), which reaches memory, the most those processors offer: Linux added the
/// ISA 3.1 forms in 2020 ("powerpc/pmem: Add new instructions for persistent storage and sync")
/// as variants that those processors do not tell apart from `dcbf` and `hwsync`, and IBM's
/// toolchain team reported `dcbf 0,RB,6` executing on POWER9 hardware (PMDK issue 6079).
///
/// Before POWER8 (ISA 2.06 and older: POWER7, the PowerPC 970 that big-endian baselines still
/// allow, 64-bit embedded cores) no source says what a processor does with L = 6, a value its
/// `dcbf` does not define. This crate emits the encoding on every `powerpc64` target, so use it
/// only on POWER8 or later: the auxiliary-vector and PVR decoders give older processors no
/// write-back at all, and the baseline assumed without either ([`ASSUMED`]) is POWER8.
///
/// [`ASSUMED`]: crate::features::powerpc64::ASSUMED
///
/// Ordering: a write-back of the block, ordered after earlier stores to it; not ordered with
/// later accesses or other blocks until a `phwsync` ([`phwsync`](super::phwsync)).
///
/// Manual: Power ISA 3.1, Book II, 4.3.2 "Data Cache Instructions" (`dcbf` with L = 6, extended
/// mnemonic `dcbstps`). Encoding `0x7CC0_00AC | RB << 11` (RA = 0); built with the `dcbf`
/// mnemonic so that assemblers without ISA 3.1 accept it.
///
/// # Safety
///
/// The CPU must be a POWER8 or later (the feature [`Features::DCBF`]), and `line` must be an
/// address that a byte load could read without faulting.
///
/// ```
/// use pmem_flush::arch::powerpc64::{Dcbstps, dcbstps, phwsync};
///
/// let line = [0u8; 64];
/// if Dcbstps::is_available() {
///     // SAFETY: this CPU has the instruction (checked above), and `line` is readable.
///     unsafe { dcbstps(line.as_ptr()) };
///     phwsync();
/// }
/// ```
#[inline(always)]
pub unsafe fn dcbstps(line: *const u8) {
    // SAFETY: the caller guarantees a POWER8-or-later CPU and a mapped address. Not `nomem`:
    // the compiler must not move stores to this block across the write-back.
    #[cfg(not(pmem_flush_pre_isa31_encodings))]
    unsafe {
        asm!("dcbf 0, {}, 6", in(reg) line, options(nostack, preserves_flags))
    }
    // SAFETY: as above; plain `dcbf` (L = 0) is what POWER8 and POWER9 execute for L = 6.
    #[cfg(pmem_flush_pre_isa31_encodings)]
    unsafe {
        asm!("dcbf 0, {}", in(reg) line, options(nostack, preserves_flags))
    }
}

concrete_flusher!(
    /// A [`Flush`](crate::Flush) fixed to dcbstps at compile time: each call is the bare loop.
    Dcbstps,
    dcbstps,
    Features::DCBF
);
