//! Every target without a backend: no write-back instruction is known, so `flush` does nothing
//! and says so in the selection's `Display`; `drain` is a sequentially consistent fence.

use crate::features::Cpu;

/// No feature can be detected here.
pub(crate) fn detect() -> Cpu {
    Cpu::NONE
}
