//! 64-bit RISC-V: cbo.clean and cbo.flush (Zicbom), and FENCE.
//!
//! No register says whether Zicbom exists or how large a block is, so detection reports no
//! write-back, `flush` does nothing and the selection says so. The embedder who knows better
//! (device tree, ACPI RHCT, Linux `riscv_hwprobe`) passes the facts in:
//! [`features::riscv64::zicbom`](crate::features::riscv64::zicbom), then
//! [`configure_unchecked`](crate::configure_unchecked) or
//! [`Flusher::new_unchecked`](crate::Flusher::new_unchecked), or the concrete [`CboClean`]
//! (and [`CboFlush`], which evicts for invalidation between two [`fence_iorw`]).

mod cbo_clean;
mod cbo_flush;
mod fence;

pub use cbo_clean::{CboClean, cbo_clean};
pub use cbo_flush::{CboFlush, cbo_flush};
pub use fence::{FenceIorw, fence_iorw};

use crate::features::Cpu;

/// Nothing can be asked: no write-back.
pub(crate) fn detect() -> Cpu {
    Cpu::NONE
}
