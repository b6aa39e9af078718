//! What a CPU can do: [`Features`], the line size, and pure decoders from raw register values.
//!
//! Everything here is plain data and pure functions, compiled on every target, so the decoding
//! of every architecture is tested on any host from recorded register values. The thin reads
//! that feed the decoders live in `crate::arch`.

pub mod aarch64;
pub mod powerpc64;
pub mod riscv64;
pub mod x86;

use bitflags::bitflags;

bitflags! {
    /// Capabilities that matter for making stores durable, with the same meaning on every
    /// architecture: each flag names one instruction (or one usable register width).
    ///
    /// A value of this type is a claim about a CPU. Values from [`Cpu::detect`] are true for the
    /// CPU the program runs on; values you build yourself are only data until you hand them to
    /// an `unsafe` constructor such as [`Flusher::new_unchecked`](crate::Flusher::new_unchecked).
    ///
    /// ```
    /// use pmem_flush::{Cpu, Features};
    /// let cpu = Cpu::detect();
    /// if cpu.features.contains(Features::CLWB) {
    ///     println!("CLWB here");
    /// }
    /// // Facts from elsewhere, as data: nothing acts on them until an `unsafe` constructor.
    /// let skylake = Features::CLFLUSH | Features::CLFLUSHOPT | Features::CLWB | Features::AVX512F;
    /// assert!(skylake.intersects(Features::CLWB | Features::CLFLUSHOPT));
    /// assert_eq!(skylake - Features::AVX512F, Features::CLFLUSH | Features::CLFLUSHOPT | Features::CLWB);
    /// ```
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct Features: u32 {
        /// x86 `CLFLUSH`: write back and invalidate one line (CPUID.1:EDX\[19\]).
        const CLFLUSH = 1 << 0;
        /// x86 `CLFLUSHOPT`: like `CLFLUSH` but ordered only by fences
        /// (CPUID.(EAX=7,ECX=0):EBX\[23\]).
        const CLFLUSHOPT = 1 << 1;
        /// x86 `CLWB`: write back one line, which may stay cached
        /// (CPUID.(EAX=7,ECX=0):EBX\[24\]).
        const CLWB = 1 << 2;
        /// x86 SSE2 stores from XMM registers are usable (CPUID.1:EDX\[26\] and the build lets
        /// this crate touch vector registers).
        const SSE2 = 1 << 3;
        /// x86 AVX stores from YMM registers are usable: CPUID.1:ECX\[28\], the OS enabled XSAVE
        /// (CPUID.1:ECX\[27\]) and XCR0 bits 1 and 2 are set.
        const AVX = 1 << 4;
        /// x86 AVX-512F stores from ZMM registers are usable: CPUID.(EAX=7,ECX=0):EBX\[16\], AVX
        /// usable, and XCR0 bits 5, 6 and 7 are set.
        const AVX512F = 1 << 5;
        /// x86 `MOVDIR64B`: one 64-byte non-temporal store (CPUID.(EAX=7,ECX=0):ECX\[28\]).
        const MOVDIR64B = 1 << 6;

        /// AArch64 `DC CVAC`: clean to the Point of Coherency (every ARMv8 CPU). It may stop
        /// short of the Point of Persistence.
        const DC_CVAC = 1 << 8;
        /// AArch64 `DC CVAP`: clean to the Point of Persistence (FEAT_DPB,
        /// ID_AA64ISAR1_EL1.DPB >= 1).
        const DC_CVAP = 1 << 9;
        /// AArch64 `DC CVADP`: clean to the Point of Deep Persistence (FEAT_DPB2,
        /// ID_AA64ISAR1_EL1.DPB >= 2).
        const DC_CVADP = 1 << 10;

        /// 64-bit POWER: the `dcbstps` encoding (`dcbf` with L = 6) is available. It executes as
        /// `dcbstps` on POWER10 and as `dcbf` (write back and invalidate) on POWER8 and POWER9.
        const DCBF = 1 << 12;
        /// 64-bit POWER: ISA 3.1 (POWER10), where `dcbstps` and `phwsync` execute natively.
        const POWER_ISA_3_1 = 1 << 13;

        /// RISC-V Zicbom: `cbo.clean` writes a block back, `cbo.flush` writes it back and
        /// invalidates it. No register reports it: the embedder passes it in (device tree, ACPI
        /// RHCT or Linux `riscv_hwprobe`).
        const ZICBOM = 1 << 14;
    }
}

/// What one CPU offers: its [`Features`] and the size of the line (cache block) that each
/// write-back instruction covers.
///
/// This is inert data: building one makes no claim the crate acts on until it is passed to an
/// `unsafe` constructor, so tests and tools may describe any CPU. Build one with [`Cpu::new`]
/// (the fields are public to read; more may be added, so the struct cannot be built literally
/// outside this crate).
///
/// ```
/// use pmem_flush::{Cpu, Features};
/// let cpu = Cpu::new(Features::CLWB | Features::CLFLUSH, 64);
/// assert_eq!(cpu.line_size, 64);
/// assert!(cpu.features.contains(Features::CLWB));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Cpu {
    /// The capabilities this CPU has.
    pub features: Features,
    /// Bytes covered by one write-back instruction: the smallest data-cache line of any CPU in
    /// the system. Selections round it down to a power of two and keep it within
    /// [`MIN_LINE_SIZE`, `MAX_LINE_SIZE`]: a smaller step than the real line only repeats work,
    /// a larger one would skip lines, which is what a line under [`MIN_LINE_SIZE`] bytes gets
    /// (no CPU known to this crate has one).
    pub line_size: usize,
    /// Write-back features detection could not ask about: see [`Cpu::unasked`].
    pub(crate) unasked: Features,
}

/// The smallest line size a selection uses. A CPU reporting less is stepped at this size, which
/// would skip some of its lines: no CPU known to this crate reports less (x86-64 reports 64
/// bytes, AArch64 cores 32 or more, POWER 128, RISC-V's `riscv,cbom-block-size` 64), and a
/// platform that does must not rely on this crate's write-backs.
pub const MIN_LINE_SIZE: usize = 16;
/// The largest line size a selection uses (a CPU reporting more is stepped at this size, which
/// is safe: it only writes some lines back twice).
pub const MAX_LINE_SIZE: usize = 2048;

/// `features` without the vector features when this build may not touch vector registers
/// (x86-64 targets compiled with SSE off, as kernels are).
#[inline]
pub(crate) const fn usable_in_this_build(features: Features) -> Features {
    if cfg!(all(target_arch = "x86_64", not(target_feature = "sse2"))) {
        features.difference(Features::SSE2.union(Features::AVX).union(Features::AVX512F))
    } else {
        features
    }
}

impl Cpu {
    /// A CPU with no write-back instruction and 64-byte lines.
    ///
    /// ```
    /// assert!(pmem_flush::Cpu::NONE.features.is_empty());
    /// ```
    pub const NONE: Cpu = Cpu::new(Features::empty(), 64);

    /// A CPU with these features and this line size (bytes covered by one write-back: the
    /// smallest data-cache line of any CPU that will run the code).
    ///
    /// ```
    /// use pmem_flush::{Cpu, Features};
    /// let power10 = Cpu::new(Features::DCBF | Features::POWER_ISA_3_1, 128);
    /// assert_eq!(power10.usable_line_size(), 128);
    /// ```
    #[inline]
    #[must_use]
    pub const fn new(features: Features, line_size: usize) -> Cpu {
        Cpu {
            features,
            line_size,
            unasked: Features::empty(),
        }
    }

    /// Write-back features that detection could not ask the CPU about in this build, so the CPU
    /// may have them although [`features`](Cpu::features) does not say so. Empty for a `Cpu`
    /// built with [`Cpu::new`] (the caller states the facts) and wherever detection can ask.
    ///
    /// The one case today: AArch64 user space on Linux, Android or FreeBSD without the `std`
    /// feature, where `ID_AA64ISAR1_EL1` is not read (the read traps on kernels that do not
    /// emulate it) and the OS's view needs `std`. There DC CVAP and DC CVADP are unasked:
    /// detection reports DC CVAC only, and a selection that chose DC CVAC is not durable
    /// ([`Selection::is_durable`](crate::Selection::is_durable)), because on a CPU with
    /// FEAT_DPB the Point of Persistence may lie beyond the Point of Coherency that DC CVAC
    /// reaches. Enable `std`, or pass the CPU's features with [`Cpu::new`].
    ///
    /// ```
    /// use pmem_flush::{Cpu, Features};
    /// assert!(Cpu::new(Features::DC_CVAC, 64).unasked().is_empty());
    /// # #[cfg(not(target_arch = "aarch64"))]
    /// assert!(Cpu::detect().unasked().is_empty());
    /// ```
    #[inline]
    #[must_use]
    pub const fn unasked(&self) -> Features {
        self.unasked
    }

    /// This CPU, with `unasked` as the features detection could not ask about.
    #[inline]
    #[must_use]
    pub(crate) const fn with_unasked(self, unasked: Features) -> Cpu {
        Cpu { unasked, ..self }
    }

    /// Reads the CPU this code runs on, where the hardware can be asked without trapping.
    ///
    /// - x86-64: CPUID and, when the OS enabled XSAVE, XGETBV. Vector features are reported
    ///   only when this build may use vector registers (kernel targets with SSE off get none).
    /// - AArch64: CTR_EL0 for the line size. ID_AA64ISAR1_EL1 (FEAT_DPB, FEAT_DPB2) only in
    ///   bare-metal and kernel builds (`target_os = "none"` or `"uefi"`, which run at EL1 or
    ///   above, unless built with `--cfg pmem_flush_el0`); with the `std` feature, the OS's view
    ///   (`is_aarch64_feature_detected!("dpb")`, `("dpb2")`); otherwise DC CVAC only, with
    ///   DC CVAP and DC CVADP [unasked](Cpu::unasked) (a selection of DC CVAC is then not
    ///   durable), and the caller may pass more (see [`aarch64`]). User space reads CTR_EL0 only on systems known
    ///   to allow it and DC CVAC at EL0 (Linux, Android, FreeBSD); elsewhere it reports
    ///   no write-back.
    /// - 64-bit POWER: `dcbstps` with 128-byte blocks ([`powerpc64::ASSUMED`]); with the `std`
    ///   feature on Linux, the auxiliary vector's `AT_HWCAP2` and `AT_DCACHEBSIZE`.
    /// - RISC-V: nothing can be asked, so no write-back ([`Cpu::NONE`]); the embedder passes
    ///   Zicbom and the block size in ([`riscv64::zicbom`]).
    /// - Other targets: no write-back instruction ([`Cpu::NONE`]).
    ///
    /// This reads registers every call; the crate's free functions cache their selection.
    ///
    /// ```
    /// let cpu = pmem_flush::Cpu::detect();
    /// assert!(cpu.usable_line_size() >= 16);
    /// ```
    #[must_use]
    pub fn detect() -> Cpu {
        crate::arch::detect()
    }

    /// The line size a selection uses for this CPU: `line_size` rounded down to a power of two
    /// and kept within [`MIN_LINE_SIZE`, `MAX_LINE_SIZE`].
    ///
    /// ```
    /// use pmem_flush::{Cpu, Features};
    /// assert_eq!(Cpu::new(Features::empty(), 96).usable_line_size(), 64);
    /// assert_eq!(Cpu::new(Features::empty(), 4).usable_line_size(), 16);
    /// ```
    #[inline]
    #[must_use]
    pub const fn usable_line_size(&self) -> usize {
        1 << self.line_shift()
    }

    /// log2 of [`usable_line_size`](Self::usable_line_size).
    #[inline]
    pub(crate) const fn line_shift(&self) -> u8 {
        let min = MIN_LINE_SIZE.trailing_zeros();
        let max = MAX_LINE_SIZE.trailing_zeros();
        if self.line_size < MIN_LINE_SIZE {
            return min as u8;
        }
        let floor_log2 = usize::BITS - 1 - self.line_size.leading_zeros();
        if floor_log2 > max {
            max as u8
        } else {
            floor_log2 as u8
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usable_line_size_rounds_down_and_clamps() {
        let cases = [
            (0, 16),
            (1, 16),
            (15, 16),
            (16, 16),
            (63, 32),
            (64, 64),
            (96, 64),
            (128, 128),
            (2048, 2048),
            (4096, 2048),
            (usize::MAX, 2048),
        ];
        for (reported, used) in cases {
            let cpu = Cpu::new(Features::empty(), reported);
            assert_eq!(cpu.usable_line_size(), used, "reported {reported}");
        }
    }
}
