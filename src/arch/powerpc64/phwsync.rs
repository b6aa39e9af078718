//! phwsync: persistent heavyweight sync (`sync` with L = 4), the POWER drain.

use core::arch::asm;

/// Waits until every earlier store and `dcbstps` of this CPU has reached persistent storage,
/// and orders them before every later storage access.
///
/// On POWER10 (ISA 3.1) this is `phwsync`; POWER8 and POWER9 execute the encoding as `hwsync`
/// (`sync 0`), which orders and completes their `dcbf` write-backs.
///
/// Ordering: a full barrier (stronger than `lwsync`, which does not order write-backs; PMDK
/// moved from `lwsync` to this for that reason).
///
/// Manual: Power ISA 3.1, Book II, 4.6.3 "Memory Barrier Instructions" (`sync` with L = 4,
/// extended mnemonic `phwsync`). Encoding `0x7C80_04AC`, emitted as a word so that assemblers
/// without ISA 3.1 accept it.
#[inline(always)]
pub fn phwsync() {
    // SAFETY: the encoding executes as phwsync or hwsync on every 64-bit POWER CPU this crate
    // supports, and only orders. Not `nomem`: it is also a compiler barrier. (Emulators run it
    // too, QEMU from 10.0 with every POWER model, so no build swaps it.)
    unsafe { asm!(".long 0x7c8004ac", options(nostack, preserves_flags)) }
}

/// A [`Drain`](crate::Drain) fixed to `phwsync`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Phwsync;

impl crate::Drain for Phwsync {
    #[inline(always)]
    fn drain(&self) {
        phwsync();
    }
}
