//! 64-bit POWER: decode what the OS or the processor says into [`Cpu`].
//!
//! User space cannot read the Processor Version Register; Linux tells it through the auxiliary
//! vector instead (`AT_HWCAP2`, `AT_DCACHEBSIZE`). A kernel reads the PVR itself. Both decoders
//! are pure and tested here on recorded values.
//!
//! Bit values from Linux `arch/powerpc/include/uapi/asm/cputable.h`; PVR versions from the
//! POWER processor user's manuals (and QEMU's CPU models, which use the same numbers).

use super::{Cpu, Features};

/// The cache block of every 64-bit POWER server processor (POWER8, POWER9, POWER10): the
/// size used when nothing else is known.
pub const DEFAULT_BLOCK: usize = 128;

/// `AT_HWCAP2` bit `PPC_FEATURE2_ARCH_2_07`: ISA 2.07 (POWER8) or later.
pub const HWCAP2_ARCH_2_07: u64 = 0x8000_0000;
/// `AT_HWCAP2` bit `PPC_FEATURE2_ARCH_3_1`: ISA 3.1 (POWER10) or later.
pub const HWCAP2_ARCH_3_1: u64 = 0x0004_0000;

/// What a 64-bit POWER CPU is assumed to be when nothing is known: POWER8 or later (the
/// baseline of every little-endian 64-bit POWER system), 128-byte blocks. `dcbstps` is emitted,
/// and executes as `dcbf` unless the CPU is a POWER10.
pub const ASSUMED: Cpu = Cpu::new(Features::DCBF, DEFAULT_BLOCK);

/// Decodes Linux's auxiliary-vector entries `AT_HWCAP2` and `AT_DCACHEBSIZE` (`None` for an
/// entry the vector lacks).
///
/// - `AT_HWCAP2` without `PPC_FEATURE2_ARCH_2_07` is a processor older than POWER8, where the
///   `dcbf L=6` / `sync 4` encodings are not known to be safe: no write-back is reported. A
///   missing `AT_HWCAP2` is not evidence of anything, so the POWER8 baseline is assumed.
/// - `PPC_FEATURE2_ARCH_3_1` adds [`Features::POWER_ISA_3_1`].
/// - The block size is `AT_DCACHEBSIZE` when it is present and not 0, else 128.
///
/// ```
/// use pmem_flush::features::powerpc64::{HWCAP2_ARCH_2_07, HWCAP2_ARCH_3_1, decode_auxv};
/// use pmem_flush::Features;
/// // A POWER10 as Linux describes it: ISA 2.07 and 3.1 in AT_HWCAP2, 128-byte blocks.
/// let cpu = decode_auxv(Some(HWCAP2_ARCH_2_07 | HWCAP2_ARCH_3_1), Some(128));
/// assert_eq!(cpu.features, Features::DCBF | Features::POWER_ISA_3_1);
/// // A POWER7 (no ISA 2.07): no write-back is claimed.
/// assert!(decode_auxv(Some(0), Some(128)).features.is_empty());
/// ```
#[must_use]
pub const fn decode_auxv(hwcap2: Option<u64>, dcache_block_size: Option<u64>) -> Cpu {
    let mut f = Features::empty();
    let (isa_2_07, isa_3_1) = match hwcap2 {
        None => (true, false),
        Some(h) => (h & HWCAP2_ARCH_2_07 != 0, h & HWCAP2_ARCH_3_1 != 0),
    };
    if isa_2_07 {
        f = f.union(Features::DCBF);
        if isa_3_1 {
            f = f.union(Features::POWER_ISA_3_1);
        }
    }
    let line_size = match dcache_block_size {
        None | Some(0) => DEFAULT_BLOCK,
        Some(b) => b as usize,
    };
    Cpu::new(f, line_size)
}

/// Decodes a Processor Version Register value (`mfspr rD, 287`, privileged; Linux emulates it
/// for user space), with 128-byte blocks.
///
/// The version is the upper half. Known values: POWER8E 0x004B, POWER8NVL 0x004C, POWER8
/// 0x004D, POWER9 0x004E, POWER10 0x0080, POWER11 0x0082; in a partition running in an
/// architected compatibility mode the PVR reads as a logical value 0x0F00_000N (4 = ISA 2.07,
/// 5 = ISA 3.0, 6 = ISA 3.1, 7 = ISA 3.1B).
///
/// Version numbers are names, not a scale, but IBM's server line has only grown upward since
/// POWER8, so an unknown version from 0x004B to 0x00FF is taken as a POWER8-or-later server
/// (dcbf forms safe) and one from 0x0080 up as ISA 3.1. Anything else (older servers, embedded
/// cores) gets no write-back: better said than guessed.
///
/// ```
/// use pmem_flush::features::powerpc64::decode_pvr;
/// use pmem_flush::Features;
/// assert_eq!(decode_pvr(0x004E_1202).features, Features::DCBF); // POWER9 DD2.2
/// assert!(decode_pvr(0x0080_0200).features.contains(Features::POWER_ISA_3_1)); // POWER10
/// assert!(decode_pvr(0x003F_0201).features.is_empty()); // POWER7: no write-back
/// ```
#[must_use]
pub const fn decode_pvr(pvr: u32) -> Cpu {
    let version = pvr >> 16;
    let mut f = Features::empty();
    if pvr & !0xf == 0x0F00_0000 && pvr & 0xf >= 4 {
        f = f.union(Features::DCBF);
        if pvr & 0xf >= 6 {
            f = f.union(Features::POWER_ISA_3_1);
        }
    } else if version >= 0x004B && version <= 0x00FF {
        f = f.union(Features::DCBF);
        if version >= 0x0080 {
            f = f.union(Features::POWER_ISA_3_1);
        }
    }
    Cpu::new(f, DEFAULT_BLOCK)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Features as F;

    #[test]
    fn recorded_auxv_values() {
        // AT_HWCAP2 and AT_DCACHEBSIZE under qemu-ppc64le-static -cpu MODEL (QEMU 7.2),
        // read with getauxval by a test program.
        let cases = [
            ("power8", 0x8e00_0000, 128, F::DCBF),
            ("power9", 0x8ee0_0000, 128, F::DCBF),
            ("power10", 0x8ee6_0000, 128, F::DCBF | F::POWER_ISA_3_1),
        ];
        for (model, hwcap2, block, features) in cases {
            let cpu = decode_auxv(Some(hwcap2), Some(block));
            assert_eq!(cpu.features, features, "{model}");
            assert_eq!(cpu.line_size, 128, "{model}");
        }
    }

    #[test]
    fn auxv_absent_and_old_values() {
        // Nothing known: the POWER8 baseline with 128-byte blocks.
        assert_eq!(decode_auxv(None, None), ASSUMED);
        assert_eq!(decode_auxv(None, Some(0)), ASSUMED);
        // POWER7: AT_HWCAP2 present without ARCH_2_07 (0, or other bits): no write-back.
        assert_eq!(decode_auxv(Some(0), Some(128)).features, F::empty());
        assert_eq!(
            decode_auxv(Some(0x0200_0000), Some(128)).features,
            F::empty()
        );
        // ISA 3.1 bit without ARCH_2_07 is contradictory: the older claim wins.
        assert_eq!(
            decode_auxv(Some(HWCAP2_ARCH_3_1), None).features,
            F::empty()
        );
        // Another block size reported by the OS is used as is (selections clamp it).
        assert_eq!(decode_auxv(Some(HWCAP2_ARCH_2_07), Some(64)).line_size, 64);
        // Unknown future bits change nothing.
        assert_eq!(
            decode_auxv(Some(0xffff_ffff), Some(128)).features,
            F::DCBF | F::POWER_ISA_3_1
        );
    }

    #[test]
    fn pvr_known_unknown_and_logical() {
        let cases = [
            (0x004b_0201, F::DCBF, "POWER8E"),
            (0x004d_0200, F::DCBF, "POWER8"),
            (0x004e_1202, F::DCBF, "POWER9 DD2.2"),
            (0x0080_1200, F::DCBF | F::POWER_ISA_3_1, "POWER10"),
            (0x0082_0200, F::DCBF | F::POWER_ISA_3_1, "POWER11"),
            (
                0x0090_0100,
                F::DCBF | F::POWER_ISA_3_1,
                "unknown future server",
            ),
            (0x0F00_0004, F::DCBF, "logical ISA 2.07"),
            (0x0F00_0005, F::DCBF, "logical ISA 3.0"),
            (0x0F00_0006, F::DCBF | F::POWER_ISA_3_1, "logical ISA 3.1"),
            (0x0F00_0007, F::DCBF | F::POWER_ISA_3_1, "logical ISA 3.1B"),
            (0x0F00_0003, F::empty(), "logical ISA 2.06"),
            (0x003f_0201, F::empty(), "POWER7"),
            (0x8024_0000, F::empty(), "e6500 (embedded)"),
            (0, F::empty(), "zero"),
        ];
        for (pvr, features, name) in cases {
            let cpu = decode_pvr(pvr);
            assert_eq!(cpu.features, features, "{name}");
            assert_eq!(cpu.line_size, 128);
        }
    }
}
