//! x86-64: decode CPUID and XCR0 values into [`Cpu`].
//!
//! Bit positions from the Intel SDM, Vol. 2A, CPUID ("Feature Information" and "Structured
//! Extended Feature Flags" tables) and Vol. 1, 13.3 (XCR0 state components).

use super::{Cpu, Features};

/// Raw register values that decide x86-64 persistence features, as read from a CPU or recorded
/// from one (`cargo run --example detect` prints them in this form).
///
/// The fields are public to read; build a value with [`Registers::new`] (more leaves may be
/// added later).
///
/// ```
/// use pmem_flush::features::x86::{Registers, decode};
/// use pmem_flush::Features;
/// // CPUID.1:EDX bit 19 (CLFLUSH), EBX[15:8] = 8 (64-byte lines); leaf 7 EBX bit 24 (CLWB).
/// let regs = Registers::new(7, [0, 8 << 8, 0, 1 << 19], [0, 1 << 24, 0, 0], 0);
/// let cpu = decode(&regs);
/// assert_eq!(cpu.features, Features::CLFLUSH | Features::CLWB);
/// assert_eq!(cpu.line_size, 64);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub struct Registers {
    /// CPUID.0:EAX, the highest basic leaf. Leaf 7 is ignored when this is below 7.
    pub max_leaf: u32,
    /// CPUID.1: EAX, EBX, ECX, EDX.
    pub leaf1: [u32; 4],
    /// CPUID.(EAX=7,ECX=0): EAX, EBX, ECX, EDX. Whatever a CPU returns for a leaf above its
    /// maximum is meaningless, so recorded values from such CPUs may hold anything here.
    pub leaf7: [u32; 4],
    /// XCR0 as XGETBV(0) returns it; ignored unless CPUID.1:ECX.OSXSAVE\[27\] is set, because
    /// XGETBV faults when the OS has not enabled XSAVE (read it as 0 then).
    pub xcr0: u64,
}

impl Registers {
    /// Register values as read: CPUID.0:EAX, CPUID.1 and CPUID.(EAX=7,ECX=0) as
    /// `[EAX, EBX, ECX, EDX]`, and XCR0 (0 when OSXSAVE is clear).
    ///
    /// ```
    /// let regs = pmem_flush::features::x86::Registers::new(1, [0; 4], [0; 4], 0);
    /// assert_eq!(regs.max_leaf, 1);
    /// ```
    #[inline]
    #[must_use]
    pub const fn new(max_leaf: u32, leaf1: [u32; 4], leaf7: [u32; 4], xcr0: u64) -> Registers {
        Registers {
            max_leaf,
            leaf1,
            leaf7,
            xcr0,
        }
    }
}

const EBX: usize = 1;
const ECX: usize = 2;

const fn bit(reg: u32, n: u32) -> bool {
    reg & (1 << n) != 0
}

/// XCR0 state components the OS must enable before AVX registers may be used: SSE (bit 1) and
/// AVX (bit 2).
pub const XCR0_AVX_STATE: u64 = 0b110;
/// XCR0 state components the OS must enable before AVX-512 registers may be used, on top of
/// [`XCR0_AVX_STATE`]: opmask (bit 5), ZMM_Hi256 (bit 6), Hi16_ZMM (bit 7).
pub const XCR0_AVX512_STATE: u64 = 0b1110_0000;

/// Line size reported when CPUID gives none: every x86-64 CPU has 64-byte lines.
const DEFAULT_LINE: usize = 64;

/// Decodes raw CPUID/XCR0 values.
///
/// - Leaf 7 counts only when `max_leaf >= 7`.
/// - AVX counts only when the OS enabled XSAVE and the SSE and AVX state; AVX-512F only when
///   AVX counts and the OS enabled the three AVX-512 state components (PMDK skipped these
///   checks).
/// - The line size is CPUID.1:EBX\[15:8\] x 8 when CLFLUSH is present and the field is not 0;
///   otherwise 64.
///
/// Whether this build may touch vector registers at all is not decided here
/// ([`Cpu::detect`] applies that): this function describes the CPU and its OS.
///
/// ```
/// use pmem_flush::features::x86::{Registers, XCR0_AVX_STATE, decode};
/// use pmem_flush::Features;
/// // CPUID leaf 1: CLFLUSH (EDX 19), SSE2 (EDX 26), line size 8 x 8 bytes (EBX 15:8),
/// // OSXSAVE (ECX 27), AVX (ECX 28); leaf 7: CLFLUSHOPT (EBX 23), CLWB (EBX 24).
/// let leaf1 = [0, 8 << 8, (1 << 27) | (1 << 28), (1 << 19) | (1 << 26)];
/// let leaf7 = [0, (1 << 23) | (1 << 24), 0, 0];
/// let cpu = decode(&Registers::new(0xd, leaf1, leaf7, XCR0_AVX_STATE | 1));
/// assert!(cpu.features.contains(Features::CLWB | Features::CLFLUSHOPT | Features::AVX));
/// assert_eq!(cpu.line_size, 64);
/// // The same CPU under an OS that did not enable the AVX state: no AVX.
/// assert!(!decode(&Registers::new(0xd, leaf1, leaf7, 0b11)).features.contains(Features::AVX));
/// ```
#[must_use]
pub const fn decode(regs: &Registers) -> Cpu {
    let [_, ebx1, ecx1, edx1] = regs.leaf1;
    let mut f = Features::empty();
    if bit(edx1, 19) {
        f = f.union(Features::CLFLUSH);
    }
    if bit(edx1, 26) {
        f = f.union(Features::SSE2);
    }

    let os_xsave = bit(ecx1, 27);
    let xcr0 = if os_xsave { regs.xcr0 } else { 0 };
    let avx = bit(ecx1, 28) && xcr0 & XCR0_AVX_STATE == XCR0_AVX_STATE;
    if avx {
        f = f.union(Features::AVX);
    }

    if regs.max_leaf >= 7 {
        let ebx7 = regs.leaf7[EBX];
        let ecx7 = regs.leaf7[ECX];
        if bit(ebx7, 23) {
            f = f.union(Features::CLFLUSHOPT);
        }
        if bit(ebx7, 24) {
            f = f.union(Features::CLWB);
        }
        if avx && bit(ebx7, 16) && xcr0 & XCR0_AVX512_STATE == XCR0_AVX512_STATE {
            f = f.union(Features::AVX512F);
        }
        if bit(ecx7, 28) {
            f = f.union(Features::MOVDIR64B);
        }
    }

    let clflush_units = ((ebx1 >> 8) & 0xff) as usize;
    let line_size = if bit(edx1, 19) && clflush_units != 0 {
        clflush_units * 8
    } else {
        DEFAULT_LINE
    };
    Cpu::new(f, line_size)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Recorded on this project's machines (QEMU 7.2 CPU models under `qemu-x86_64-static`, and
    /// the host); the name says where each came from.
    pub(crate) struct Recorded {
        pub name: &'static str,
        pub regs: Registers,
    }

    const fn rec(
        name: &'static str,
        max_leaf: u32,
        leaf1: [u32; 4],
        leaf7: [u32; 4],
        xcr0: u64,
    ) -> Recorded {
        Recorded {
            name,
            regs: Registers {
                max_leaf,
                leaf1,
                leaf7,
                xcr0,
            },
        }
    }

    pub(crate) const RECORDED: [Recorded; 9] = [
        rec(
            "qemu64: CLFLUSH only, OSXSAVE off",
            0xd,
            [0x00060fb1, 0x00000800, 0x80002001, 0x078bfbfd],
            [0, 0, 0, 0],
            0,
        ),
        rec(
            "Nehalem: no leaf-7 features, OSXSAVE off",
            0xb,
            [0x000106a3, 0x00000800, 0x80982201, 0x078bfbfd],
            [0, 0, 0, 0],
            0,
        ),
        rec(
            "Haswell: AVX, no CLFLUSHOPT",
            0xd,
            [0x000306c4, 0x00000800, 0xfed83203, 0x078bfbfd],
            [0x00000000, 0x000003a9, 0x00000000, 0x00000000],
            0x7,
        ),
        rec(
            "EPYC (Zen 1): CLFLUSHOPT without CLWB",
            0xd,
            [0x00800f12, 0x00000800, 0xfed8320b, 0x078bfbfd],
            [0x00000000, 0x009801a9, 0x00000000, 0x00000000],
            0x7,
        ),
        rec(
            "EPYC-Rome (Zen 2): CLWB",
            0xd,
            [0x00830f10, 0x00000800, 0xfed8320b, 0x078bfbfd],
            [0x00000000, 0x019801a9, 0x00000004, 0x00000000],
            0x7,
        ),
        rec(
            "Skylake-Server: CLWB (QEMU hides AVX-512)",
            0xd,
            [0x00050654, 0x00000800, 0xfed83203, 0x078bfbfd],
            [0x00000000, 0x019803a9, 0x00000008, 0x00000000],
            0x207,
        ),
        rec(
            "Skylake-Server,level=6: max leaf below 7, leaf 7 garbage",
            0x6,
            [0x00050654, 0x00000800, 0xfed83203, 0x078bfbfd],
            [0x00000004, 0xffffffff, 0xffffffff, 0x00000000],
            0x207,
        ),
        rec(
            "host Xeon: AVX-512F and MOVDIR64B",
            0x24,
            [0x000a0671, 0x01020800, 0xfffa3203, 0x1f8bfbff],
            [0x00000002, 0xf1bf2ffb, 0x1a415f46, 0x23c14010],
            0x600e7,
        ),
        rec(
            "host Xeon with XCR0 = 0x7: OS left AVX-512 state off",
            0x24,
            [0x000a0671, 0x01020800, 0xfffa3203, 0x1f8bfbff],
            [0x00000002, 0xf1bf2ffb, 0x1a415f46, 0x23c14010],
            0x7,
        ),
    ];

    fn expected(name: &str) -> Features {
        use Features as F;
        let base = F::CLFLUSH | F::SSE2;
        match name.split(':').next().unwrap_or_default() {
            "qemu64" | "Nehalem" => base,
            "Haswell" => base | F::AVX,
            "EPYC (Zen 1)" => base | F::AVX | F::CLFLUSHOPT,
            "EPYC-Rome (Zen 2)" | "Skylake-Server" => base | F::AVX | F::CLFLUSHOPT | F::CLWB,
            "Skylake-Server,level=6" => base | F::AVX,
            "host Xeon" => base | F::AVX | F::CLFLUSHOPT | F::CLWB | F::AVX512F | F::MOVDIR64B,
            "host Xeon with XCR0 = 0x7" => base | F::AVX | F::CLFLUSHOPT | F::CLWB | F::MOVDIR64B,
            other => panic!("no expectation for {other}"),
        }
    }

    #[test]
    fn recorded_cpus_decode_to_expected_features() {
        for r in &RECORDED {
            let cpu = decode(&r.regs);
            assert_eq!(cpu.features, expected(r.name), "{}", r.name);
            assert_eq!(cpu.line_size, 64, "{}", r.name);
        }
    }

    #[test]
    fn leaf7_is_ignored_below_max_leaf_7() {
        let mut regs = RECORDED[7].regs;
        for max_leaf in 0..7 {
            regs.max_leaf = max_leaf;
            let f = decode(&regs).features;
            assert!(!f.intersects(Features::CLWB | Features::CLFLUSHOPT | Features::AVX512F));
            assert!(!f.contains(Features::MOVDIR64B));
        }
        regs.max_leaf = 7;
        assert!(decode(&regs).features.contains(Features::CLWB));
    }

    #[test]
    fn vector_state_needs_osxsave_and_every_xcr0_component() {
        let host = RECORDED[7].regs;
        // OSXSAVE clear: XCR0 must be ignored even if a caller filled it in.
        let mut regs = host;
        regs.leaf1[ECX] &= !(1 << 27);
        assert!(
            !decode(&regs)
                .features
                .intersects(Features::AVX | Features::AVX512F)
        );
        // Each missing XCR0 component removes the features that depend on it.
        for missing in [1, 2] {
            let mut regs = host;
            regs.xcr0 &= !(1 << missing);
            let f = decode(&regs).features;
            assert!(
                !f.intersects(Features::AVX | Features::AVX512F),
                "xcr0 bit {missing}"
            );
        }
        for missing in [5, 6, 7] {
            let mut regs = host;
            regs.xcr0 &= !(1 << missing);
            let f = decode(&regs).features;
            assert!(f.contains(Features::AVX) && !f.contains(Features::AVX512F));
        }
        // AVX-512F needs AVX usable, not only its own state bits.
        let mut regs = host;
        regs.leaf1[ECX] &= !(1 << 28);
        assert!(
            !decode(&regs)
                .features
                .intersects(Features::AVX | Features::AVX512F)
        );
    }

    #[test]
    fn clflush_is_bit_19_not_23() {
        // PMDK once tested EDX bit 23 (MMX) for CLFLUSH.
        let regs = Registers {
            max_leaf: 1,
            leaf1: [0, 0x800, 0, 1 << 23],
            ..Default::default()
        };
        assert!(!decode(&regs).features.contains(Features::CLFLUSH));
        let regs = Registers {
            max_leaf: 1,
            leaf1: [0, 0x800, 0, 1 << 19],
            ..Default::default()
        };
        assert!(decode(&regs).features.contains(Features::CLFLUSH));
    }

    #[test]
    fn line_size_comes_from_leaf1_ebx() {
        let with = |ebx: u32, edx: u32| {
            let regs = Registers {
                max_leaf: 1,
                leaf1: [0, ebx, 0, edx],
                ..Default::default()
            };
            decode(&regs).line_size
        };
        assert_eq!(with(0x0000_1000, 1 << 19), 128);
        assert_eq!(with(0x0000_0400, 1 << 19), 32);
        assert_eq!(with(0xffff_00ff, 1 << 19), 64, "field 0 means unreported");
        assert_eq!(
            with(0x0000_1000, 0),
            64,
            "the field is defined only with CLFLUSH"
        );
    }
}
