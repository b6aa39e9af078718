//! RISC-V: there is no register to decode. Whether Zicbom is present and how large a cache
//! block is come from the platform (device tree `riscv,isa-extensions` and
//! `riscv,cbom-block-size`, ACPI RHCT, or Linux `riscv_hwprobe`), so the embedder passes them
//! in; this module turns those facts into a [`Cpu`].

use super::{Cpu, Features};

/// The CPU as the embedder describes it: `cbom_block_size` is the Zicbom block size in bytes
/// (device tree `riscv,cbom-block-size`, hwprobe `ZICBOM_BLOCK_SIZE`), or `None` when the
/// platform does not report Zicbom.
///
/// A block size of 0 means the platform reported none, which is the same as no Zicbom: without
/// it a walk could skip blocks. A size that is not a power of two is stepped at the power of
/// two below it (safe: lines are only written back more than once).
///
/// ```
/// use pmem_flush::features::riscv64::zicbom;
/// use pmem_flush::{Arch, Config, Features, Selection, WriteBack};
/// // The device tree says `riscv,isa-extensions = ..., "zicbom"` and
/// // `riscv,cbom-block-size = <64>`.
/// let cpu = zicbom(Some(64));
/// assert_eq!((cpu.features, cpu.line_size), (Features::ZICBOM, 64));
/// let sel = Selection::for_arch(Arch::RiscV64, &cpu, Config::new());
/// assert_eq!(sel.flush_write_back(), WriteBack::CboClean);
/// // On a RISC-V target, act on it with `unsafe { Flusher::new_unchecked(&Selection::new(&cpu, ..)) }`
/// // or `configure_unchecked`: only the platform can vouch for these facts.
/// assert!(zicbom(None).features.is_empty());
/// ```
#[must_use]
pub const fn zicbom(cbom_block_size: Option<usize>) -> Cpu {
    match cbom_block_size {
        Some(size) if size > 0 => Cpu::new(Features::ZICBOM, size),
        _ => Cpu::NONE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedder_facts() {
        assert_eq!(zicbom(None), Cpu::NONE);
        assert_eq!(zicbom(Some(0)), Cpu::NONE, "no block size: no Zicbom");
        let c = zicbom(Some(64));
        assert_eq!((c.features, c.usable_line_size()), (Features::ZICBOM, 64));
        // A Sophgo/T-Head style 64-byte block and a hypothetical 96: stepped at 64.
        assert_eq!(zicbom(Some(96)).usable_line_size(), 64);
        assert_eq!(zicbom(Some(4096)).usable_line_size(), 2048);
    }
}
