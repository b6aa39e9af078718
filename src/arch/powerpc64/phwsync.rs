//! phwsync: persistent heavyweight sync (`sync` with L = 4), the POWER drain.

use core::arch::asm;

/// Waits until every earlier store and `dcbstps` of this CPU has reached persistent storage,
/// and orders them before every later storage access.
///
/// On POWER10 (ISA 3.1) this is `phwsync`; POWER8 and POWER9 execute the encoding as `hwsync`
/// (`sync 0`), which orders and completes their `dcbf` write-backs (the same Linux change as for
/// [`dcbstps`](super::dcbstps), which documents what older processors do and do not do).
///
/// Ordering: a full barrier (stronger than `lwsync`, which does not order write-backs; PMDK
/// moved from `lwsync` to this for that reason). Loads are ordered too, so it is also the
/// invalidation fence on both sides of [`dcbf`](super::dcbf).
///
/// Manual: Power ISA 3.1, Book II, 4.6.3 "Memory Barrier Instructions" (`sync` with L = 4,
/// extended mnemonic `phwsync`). Encoding `0x7C80_04AC`, emitted as a word so that assemblers
/// without ISA 3.1 accept it.
///
/// ```
/// use pmem_flush::arch::powerpc64::phwsync;
/// let mut record = [0u8; 64];
/// record[0] = 1;
/// pmem_flush::flush(&record); // or the bare instructions
/// phwsync(); // the flush above is now ordered before later stores
/// ```
#[inline(always)]
pub fn phwsync() {
    // SAFETY: the encoding executes as phwsync or hwsync on every 64-bit POWER CPU this crate
    // supports, and only orders. Not `nomem`: it is also a compiler barrier. (Emulators run it
    // too, QEMU from 10.0 with every POWER model, so no build swaps it.)
    unsafe { asm!(".long 0x7c8004ac", options(nostack, preserves_flags)) }
}

/// A [`Drain`](crate::Drain) fixed to `phwsync`.
///
/// ```
/// use pmem_flush::arch::powerpc64::{Dcbstps, Phwsync};
/// use pmem_flush::prelude::*;
///
/// Phwsync.drain();
/// if let Some(write_back) = Dcbstps::new() {
///     (write_back, Phwsync).persist(&[1u8; 64]); // a Persist with no dispatch
/// }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Phwsync;

impl crate::Drain for Phwsync {
    #[inline(always)]
    fn drain(&self) {
        phwsync();
    }
}
