//! 64-bit POWER (both endiannesses): dcbstps, phwsync, and dcbf for invalidation.
//!
//! [`dcbstps`] walks a range as the concrete [`Dcbstps`] flusher; [`Phwsync`] is the drain.
//! Both use ISA 3.1 encodings that POWER8 and POWER9 execute as `dcbf` and `hwsync`. [`dcbf`]
//! (L = 0) evicts as the concrete [`Dcbf`] ([`Evict`](crate::Evict)), between two [`phwsync`].
//!
//! Built with `--cfg pmem_flush_pre_isa31_encodings`, the crate emits plain `dcbf` instead of
//! `dcbstps` (invalidation's `dcbf` is the same in both builds). That exists only for emulators
//! that reject `dcbf` with L = 6 (every QEMU up to at least 11.1, even with `-cpu power10`): on
//! a POWER10 plain `dcbf` does not reach the persistence domain, so never ship a build with
//! it. `phwsync` is never swapped: QEMU executes it from 10.0 on.

mod dcbf;
mod dcbstps;
mod phwsync;

pub use dcbf::{Dcbf, dcbf};
pub use dcbstps::{Dcbstps, dcbstps};
pub use phwsync::{Phwsync, phwsync};

use crate::features::{Cpu, powerpc64};

/// See [`Cpu::detect`](crate::Cpu::detect): the POWER8 baseline, or the auxiliary vector with
/// the `std` feature on Linux.
pub(crate) fn detect() -> Cpu {
    #[cfg(all(feature = "std", any(target_os = "linux", target_os = "android")))]
    {
        if let Some((hwcap2, dcache)) = crate::std_support::auxv_power() {
            return powerpc64::decode_auxv(hwcap2, dcache);
        }
    }
    powerpc64::ASSUMED
}
