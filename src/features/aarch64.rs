//! AArch64: decode ID_AA64ISAR1_EL1 and CTR_EL0 values into [`Cpu`].
//!
//! Field positions from the Arm Architecture Reference Manual for A-profile (DDI 0487),
//! D23.2 "General system control registers": ID_AA64ISAR1_EL1.DPB is bits \[3:0\], CTR_EL0.DminLine
//! bits \[19:16\].

use super::{Cpu, Features};

/// Raw register values that decide AArch64 persistence features, as read from a CPU or recorded
/// from one.
///
/// The fields are public to read; build a value with [`Registers::new`].
///
/// ```
/// use pmem_flush::features::aarch64::{Registers, decode};
/// use pmem_flush::Features;
/// // DPB = 1 (DC CVAP), DminLine = 4 (64-byte lines).
/// let cpu = decode(&Registers::new(0x1, 4 << 16));
/// assert_eq!(cpu.features, Features::DC_CVAC | Features::DC_CVAP);
/// assert_eq!(cpu.line_size, 64);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub struct Registers {
    /// ID_AA64ISAR1_EL1 (`S3_0_C0_C6_1`). Readable at EL1 and above; at EL0 only where the OS
    /// emulates the read (Linux does). Pass 0 when it could not be read: that means "no
    /// FEAT_DPB", which only costs speed and depth, never correctness.
    pub id_aa64isar1_el1: u64,
    /// CTR_EL0: DminLine gives the smallest data-cache line of the caches this CPU controls.
    pub ctr_el0: u64,
}

impl Registers {
    /// Register values as read (or 0 for a register that could not be read).
    ///
    /// ```
    /// let regs = pmem_flush::features::aarch64::Registers::new(2, 0x8444_c004);
    /// assert_eq!(regs.id_aa64isar1_el1, 2);
    /// ```
    #[inline]
    #[must_use]
    pub const fn new(id_aa64isar1_el1: u64, ctr_el0: u64) -> Registers {
        Registers {
            id_aa64isar1_el1,
            ctr_el0,
        }
    }
}

/// ID_AA64ISAR1_EL1.DPB: 0 none, 1 DC CVAP (FEAT_DPB), 2 DC CVAP and DC CVADP (FEAT_DPB2).
const fn dpb(isar1: u64) -> u64 {
    isar1 & 0xf
}

/// CTR_EL0.DminLine: log2 of the number of 4-byte words in the smallest data-cache line.
const fn dmin_line(ctr: u64) -> u32 {
    ((ctr >> 16) & 0xf) as u32
}

/// Decodes raw ID_AA64ISAR1_EL1 / CTR_EL0 values.
///
/// - `DC CVAC` is part of every ARMv8 CPU: always present.
/// - `DC CVAP` when DPB >= 1, `DC CVADP` when DPB >= 2. DPB is an unsigned ID field, and the Arm
///   ARM's rules for such fields (D19.1.3, "Principles of the ID scheme for fields in ID
///   registers") make a larger value a superset of a smaller one: a future DPB of 3 or more still
///   has both instructions, as Linux's `>=` tests on the field also assume.
/// - The line size is `4 << DminLine` bytes, every value of the field included (selections never
///   step by less than 16 bytes or more than 2048; see [`Cpu::usable_line_size`]).
///
/// ```
/// use pmem_flush::features::aarch64::{Registers, decode};
/// use pmem_flush::Features;
/// // Values recorded under QEMU's `-cpu max`: DPB = 2, DminLine = 3 (32-byte lines).
/// let cpu = decode(&Registers::new(0x2, 0x8003_8003));
/// assert!(cpu.features.contains(Features::DC_CVAP | Features::DC_CVADP));
/// assert_eq!(cpu.line_size, 32);
/// ```
#[must_use]
pub const fn decode(regs: &Registers) -> Cpu {
    let mut f = Features::DC_CVAC;
    let dpb = dpb(regs.id_aa64isar1_el1);
    if dpb >= 1 {
        f = f.union(Features::DC_CVAP);
    }
    if dpb >= 2 {
        f = f.union(Features::DC_CVADP);
    }
    Cpu::new(f, 4 << dmin_line(regs.ctr_el0))
}

/// The DPB value that Linux's hardware capabilities stand for: `AT_HWCAP` bit 16 (`HWCAP_DCPOP`,
/// FEAT_DPB) and `AT_HWCAP2` bit 0 (`HWCAP2_DCPODP`, FEAT_DPB2), as an ID_AA64ISAR1_EL1 value
/// with only the DPB field set. For user space that reads the auxiliary vector itself.
///
/// ```
/// use pmem_flush::features::aarch64::{Registers, decode, isar1_from_linux_hwcaps};
/// use pmem_flush::Features;
/// // getauxval(AT_HWCAP) with HWCAP_DCPOP, AT_HWCAP2 without HWCAP2_DCPODP; CTR_EL0 read
/// // separately (64-byte lines here).
/// let isar1 = isar1_from_linux_hwcaps(1 << 16, 0);
/// assert_eq!(isar1, 1);
/// let cpu = decode(&Registers::new(isar1, 4 << 16));
/// assert_eq!(cpu.features, Features::DC_CVAC | Features::DC_CVAP);
/// ```
#[must_use]
pub const fn isar1_from_linux_hwcaps(hwcap: u64, hwcap2: u64) -> u64 {
    if hwcap2 & 1 != 0 {
        2
    } else if hwcap & (1 << 16) != 0 {
        1
    } else {
        0
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Register values recorded on this project's machines from QEMU 7.2 CPU models; the name
    /// says how each was read.
    pub(crate) struct Recorded {
        pub name: &'static str,
        pub regs: Registers,
        /// AT_HWCAP and AT_HWCAP2 seen by the same program in user mode.
        pub hwcaps: (u64, u64),
    }

    const fn rec(name: &'static str, isar1: u64, ctr: u64, hwcaps: (u64, u64)) -> Recorded {
        Recorded {
            name,
            regs: Registers {
                id_aa64isar1_el1: isar1,
                ctr_el0: ctr,
            },
            hwcaps,
        }
    }

    /// `user`: MRS at EL0 under `qemu-aarch64-static -cpu MODEL` (which, like Linux, lets EL0
    /// read the ID registers). `EL1`: MRS at EL1 in the bare-metal example under
    /// `qemu-system-aarch64 -machine virt -cpu MODEL` (`scripts/cross.sh` prints them).
    pub(crate) const RECORDED: [Recorded; 9] = [
        rec("cortex-a57 (user): DPB 0", 0, 0x8444_c004, (0x8fb, 0)),
        rec("cortex-a53 (user): DPB 0", 0, 0x8444_8004, (0x8fb, 0)),
        rec("cortex-a72 (user): DPB 0", 0, 0x8444_c004, (0x8fb, 0)),
        rec(
            "neoverse-n1 (user): DPB 1",
            0x0010_0001,
            0x8444_c004,
            (0x11_9ffb, 0),
        ),
        rec(
            "a64fx (user): DPB 1, 256-byte lines",
            0x0001_0001,
            0x8666_8006,
            (0x41_5ffb, 0),
        ),
        rec(
            "max (user): DPB 2, 32-byte DminLine",
            0x0011_1011_0121_1012,
            0x8003_8003,
            (0xecff_fffb, 0x7f87_7fff),
        ),
        rec("cortex-a57 (EL1): DPB 0", 0, 0x8444_c004, (0x8fb, 0)),
        rec(
            "neoverse-n1 (EL1): DPB 1",
            0x0010_0001,
            0x8444_c004,
            (0x11_9ffb, 0),
        ),
        // At EL1 `max` has the same DPB but other fields (and 64-byte lines) differ from user
        // mode; its hwcaps are the user-mode ones.
        rec(
            "max (EL1): DPB 2",
            0x0011_1111_0121_1012,
            0x8444_c004,
            (0xecff_fffb, 0x7f87_7fff),
        ),
    ];

    fn expected(name: &str) -> (Features, usize) {
        use Features as F;
        let dpb = name.rsplit("DPB ").next().unwrap_or_default();
        let features = match dpb.chars().next() {
            Some('0') => F::DC_CVAC,
            Some('1') => F::DC_CVAC | F::DC_CVAP,
            Some('2') => F::DC_CVAC | F::DC_CVAP | F::DC_CVADP,
            _ => panic!("no expectation for {name}"),
        };
        let line = if name.contains("256-byte") {
            256
        } else if name.contains("32-byte") {
            32
        } else {
            64
        };
        (features, line)
    }

    #[test]
    fn recorded_cpus_decode_to_expected_features() {
        for r in &RECORDED {
            let cpu = decode(&r.regs);
            assert_eq!(
                (cpu.features, cpu.line_size),
                expected(r.name),
                "{}",
                r.name
            );
        }
    }

    #[test]
    fn linux_hwcaps_agree_with_the_id_register() {
        for r in &RECORDED {
            let (hwcap, hwcap2) = r.hwcaps;
            assert_eq!(
                isar1_from_linux_hwcaps(hwcap, hwcap2),
                dpb(r.regs.id_aa64isar1_el1),
                "{}",
                r.name
            );
        }
    }

    #[test]
    fn dpb_field_absent_known_and_future_values() {
        use Features as F;
        let with = |isar1: u64| {
            decode(&Registers {
                id_aa64isar1_el1: isar1,
                ctr_el0: 0x8444_c004,
            })
            .features
        };
        assert_eq!(with(0), F::DC_CVAC, "absent: only DC CVAC");
        assert_eq!(with(1), F::DC_CVAC | F::DC_CVAP);
        assert_eq!(with(2), F::DC_CVAC | F::DC_CVAP | F::DC_CVADP);
        // Unknown future values of an unsigned ID field are supersets of the known ones.
        for dpb in 3..=15 {
            assert_eq!(
                with(dpb),
                F::DC_CVAC | F::DC_CVAP | F::DC_CVADP,
                "DPB {dpb}"
            );
        }
        // Only bits [3:0] are DPB: every other field may hold anything.
        assert_eq!(with(!0xf), F::DC_CVAC);
        assert_eq!(with(0xffff_ffff_ffff_fff1), F::DC_CVAC | F::DC_CVAP);
    }

    #[test]
    fn dmin_line_every_value() {
        for field in 0..16u64 {
            let cpu = decode(&Registers {
                id_aa64isar1_el1: 0,
                ctr_el0: 0x8000_0000 | field << 16,
            });
            assert_eq!(cpu.line_size, 4 << field, "DminLine {field}");
            // What a selection steps by: never more than the line, never below 16 or above 2048.
            let used = match field {
                0..=2 => 16,
                3..=9 => 4 << field,
                _ => 2048,
            };
            assert_eq!(cpu.usable_line_size(), used, "DminLine {field}");
        }
        // Only bits [19:16] count: IminLine, L1Ip, ERG, CWG, IDC, DIC do not change the step.
        let noisy = decode(&Registers {
            id_aa64isar1_el1: 0,
            ctr_el0: 0xbfff_ffff & !(0xf << 16) | 4 << 16,
        });
        assert_eq!(noisy.line_size, 64);
    }
}
