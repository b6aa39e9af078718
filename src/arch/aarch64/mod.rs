//! AArch64: DC CVAC, DC CVAP, DC CVADP, DC CIVAC, DSB SY, and the ID_AA64ISAR1_EL1 / CTR_EL0
//! reads.
//!
//! The raw instructions are `unsafe fn`s taking the address of one line; the concrete flusher
//! types ([`DcCvap`], [`DcCvadp`], [`DcCvac`]) walk a range with one of them and no dispatch;
//! [`Dsb`] is the drain. [`DcCivac`] evicts ([`Evict`](crate::Evict)) for invalidation, between
//! two [`dsb_sy`].

mod dc_civac;
mod dc_cvac;
mod dc_cvadp;
mod dc_cvap;
mod dsb;
mod sysreg;

pub use dc_civac::{DcCivac, dc_civac};
pub use dc_cvac::{DcCvac, dc_cvac};
pub use dc_cvadp::{DcCvadp, dc_cvadp};
pub use dc_cvap::{DcCvap, dc_cvap};
pub use dsb::{Dsb, dsb_sy};
pub use sysreg::{read_ctr_el0, read_id_aa64isar1_el1, read_registers};

use crate::features::aarch64::{self, Registers};
use crate::features::{Cpu, Features};

/// Whether this build runs at EL1 or above, where the ID registers can be read without a trap:
/// bare-metal and kernel targets, unless the embedder says otherwise.
pub(crate) const PRIVILEGED: bool =
    cfg!(any(target_os = "none", target_os = "uefi")) && !cfg!(pmem_flush_el0);

/// Whether user space on this OS may read CTR_EL0 and execute DC CVAC (SCTLR_EL1.UCT and UCI):
/// only systems known to set both. (Apple's and Windows' are not claimed: there the caller
/// passes the facts in.)
const EL0_CACHE_MAINTENANCE: bool = cfg!(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd"
));

/// Reads what can be read here without trapping and decodes it (see
/// [`Cpu::detect`](crate::Cpu::detect)).
pub(crate) fn detect() -> Cpu {
    if PRIVILEGED {
        // SAFETY: bare-metal and kernel builds run at EL1 or above.
        return aarch64::decode(&unsafe { read_registers() });
    }
    if !EL0_CACHE_MAINTENANCE {
        return Cpu::NONE;
    }
    // SAFETY: these systems set SCTLR_EL1.UCT (or emulate the read).
    let ctr_el0 = unsafe { read_ctr_el0() };
    let cpu = aarch64::decode(&Registers {
        id_aa64isar1_el1: os_view_isar1(),
        ctr_el0,
    });
    // Without `std` the OS was not asked: DC CVAP and DC CVADP may exist unseen.
    if OS_VIEW {
        cpu
    } else {
        cpu.with_unasked(Features::DC_CVAP.union(Features::DC_CVADP))
    }
}

/// Whether this build can ask the OS for FEAT_DPB and FEAT_DPB2.
const OS_VIEW: bool = cfg!(all(feature = "std", not(all(docsrs, target_os = "none"))));

/// The DPB field as the OS reports it, in ID_AA64ISAR1_EL1 form; 0 without the `std` feature.
fn os_view_isar1() -> u64 {
    #[cfg(all(feature = "std", not(all(docsrs, target_os = "none"))))]
    {
        if std::arch::is_aarch64_feature_detected!("dpb2") {
            return 2;
        }
        if std::arch::is_aarch64_feature_detected!("dpb") {
            return 1;
        }
    }
    0
}
