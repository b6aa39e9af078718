//! x86-64: CLFLUSH, CLFLUSHOPT, CLWB, SFENCE, MFENCE, and the CPUID / XGETBV reads.
//!
//! The raw instructions are `unsafe fn`s taking the address of one line; the concrete
//! flusher types ([`Clwb`], [`ClflushOpt`], [`Clflush`]) walk a range with one of them and no
//! dispatch; [`Sfence`] is the drain. [`ClflushOpt`] and [`Clflush`] also evict
//! ([`Evict`](crate::Evict)), and [`mfence`] ([`Mfence`]) is the fence on both sides of an
//! invalidation.

mod clflush;
mod clflushopt;
mod clwb;
mod cpuid;
mod mfence;
mod sfence;

pub use clflush::{Clflush, clflush};
pub use clflushopt::{ClflushOpt, clflushopt};
pub use clwb::{Clwb, clwb};
pub use cpuid::read_registers;
pub use mfence::{Mfence, mfence};
pub use sfence::{Sfence, sfence};

use crate::features::{Cpu, x86};

/// Reads CPUID (and XCR0 where readable) and decodes it. Vector features are dropped when this
/// build may not touch vector registers (kernel targets compiled with SSE off).
pub(crate) fn detect() -> Cpu {
    let cpu = x86::decode(&read_registers());
    Cpu {
        features: crate::features::usable_in_this_build(cpu.features),
        ..cpu
    }
}
