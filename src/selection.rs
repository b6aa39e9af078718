//! Which instructions to use: a pure function of a [`Cpu`] and a [`Config`].

use core::fmt;

use crate::features::{Cpu, Features};
use crate::mem::{MemFlags, NonTemporal, Plan, Stores, choose};

/// An instruction set this crate knows how to flush on.
///
/// ```
/// use pmem_flush::{Arch, Fence, Features};
/// // The architecture this crate was compiled for, and what it means there.
/// let host = Arch::HOST;
/// assert!(matches!(host, Arch::X86_64 | Arch::AArch64 | Arch::PowerPc64 | Arch::RiscV64 | Arch::Other));
/// assert_eq!(Arch::X86_64.drain_fence(), Fence::Sfence);
/// assert!(Arch::AArch64.features().contains(Features::DC_CVAP));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Arch {
    /// x86-64: CLWB, CLFLUSHOPT, CLFLUSH; SFENCE; invalidation with CLFLUSHOPT or CLFLUSH
    /// between MFENCEs.
    X86_64,
    /// AArch64: DC CVAP, DC CVADP, DC CVAC; DSB; invalidation with DC CIVAC.
    AArch64,
    /// 64-bit POWER, either endianness: dcbstps (dcbf L=6); phwsync; invalidation with dcbf
    /// (L=0).
    PowerPc64,
    /// 64-bit RISC-V: cbo.clean (Zicbom); FENCE; invalidation with cbo.flush.
    RiscV64,
    /// Any other target: no write-back instruction is known.
    Other,
}

impl Arch {
    /// The architecture this crate was compiled for.
    pub const HOST: Arch = {
        if cfg!(target_arch = "x86_64") {
            Arch::X86_64
        } else if cfg!(target_arch = "aarch64") {
            Arch::AArch64
        } else if cfg!(target_arch = "powerpc64") {
            Arch::PowerPc64
        } else if cfg!(target_arch = "riscv64") {
            Arch::RiscV64
        } else {
            Arch::Other
        }
    };

    /// The [`Features`] that have a meaning on this architecture.
    ///
    /// ```
    /// use pmem_flush::{Arch, Features};
    /// assert_eq!(Arch::PowerPc64.features(), Features::DCBF | Features::POWER_ISA_3_1);
    /// assert!(!Arch::RiscV64.features().contains(Features::CLWB));
    /// ```
    #[inline]
    #[must_use]
    pub const fn features(self) -> Features {
        match self {
            Arch::X86_64 => Features::CLFLUSH
                .union(Features::CLFLUSHOPT)
                .union(Features::CLWB)
                .union(Features::SSE2)
                .union(Features::AVX)
                .union(Features::AVX512F)
                .union(Features::MOVDIR64B),
            Arch::AArch64 => Features::DC_CVAC
                .union(Features::DC_CVAP)
                .union(Features::DC_CVADP),
            Arch::PowerPc64 => Features::DCBF.union(Features::POWER_ISA_3_1),
            Arch::RiscV64 => Features::ZICBOM,
            Arch::Other => Features::empty(),
        }
    }

    /// Where this architecture's features start in [`Features`]: each architecture's flags fit
    /// in the 8 bits from here, which lets the detection cell pack them small.
    pub(crate) const fn feature_shift(self) -> u32 {
        match self {
            Arch::X86_64 | Arch::Other => 0,
            Arch::AArch64 => 8,
            Arch::PowerPc64 => 12,
            Arch::RiscV64 => 14,
        }
    }

    /// The fence that drains on this architecture.
    ///
    /// ```
    /// use pmem_flush::{Arch, Fence};
    /// assert_eq!(Arch::AArch64.drain_fence(), Fence::Dsb);
    /// assert_eq!(Arch::RiscV64.drain_fence().mnemonic(), "fence iorw,iorw");
    /// ```
    #[inline]
    #[must_use]
    pub const fn drain_fence(self) -> Fence {
        match self {
            Arch::X86_64 => Fence::Sfence,
            Arch::AArch64 => Fence::Dsb,
            Arch::PowerPc64 => Fence::Phwsync,
            Arch::RiscV64 => Fence::Fence,
            Arch::Other => Fence::SeqCst,
        }
    }

    /// The fence on both sides of an invalidation's evictions ([`Selection::invalidate_fence`]):
    /// it must also order later *loads*, so on x86-64 it is MFENCE, not the drain's SFENCE;
    /// elsewhere the drain's fence already orders loads.
    #[inline]
    pub(crate) const fn invalidate_fence(self) -> Fence {
        match self {
            Arch::X86_64 => Fence::Mfence,
            other => other.drain_fence(),
        }
    }

    /// Instructions that write a line back and evict it, for `invalidate`, best first. Never
    /// CLWB, which may keep the line cached.
    #[inline]
    pub(crate) const fn evict_write_backs(self) -> &'static [WriteBack] {
        match self {
            Arch::X86_64 => &[WriteBack::ClflushOpt, WriteBack::Clflush],
            Arch::AArch64 => &[WriteBack::DcCivac],
            Arch::PowerPc64 => &[WriteBack::Dcbf],
            Arch::RiscV64 => &[WriteBack::CboFlush],
            Arch::Other => &[],
        }
    }

    /// What `invalidate` evicts with, given the features usable (present and not disabled).
    #[inline]
    pub(crate) const fn evict_write_back(self, usable: Features) -> WriteBack {
        first_usable(self.evict_write_backs(), usable)
    }

    /// What `flush` writes back with at cache-line granularity, given the features usable.
    #[inline]
    pub(crate) const fn flush_write_back(self, usable: Features) -> WriteBack {
        first_usable(self.write_backs(), usable)
    }

    /// Write-back instructions for `flush`, best first.
    #[inline]
    const fn write_backs(self) -> &'static [WriteBack] {
        match self {
            Arch::X86_64 => &[WriteBack::Clwb, WriteBack::ClflushOpt, WriteBack::Clflush],
            Arch::AArch64 => &[WriteBack::DcCvap, WriteBack::DcCvac],
            Arch::PowerPc64 => &[WriteBack::Dcbstps],
            Arch::RiscV64 => &[WriteBack::CboClean],
            Arch::Other => &[],
        }
    }

    /// Write-back instructions for `deep_flush`, deepest first (with those of `flush`: every
    /// write-back the flush paths execute).
    #[inline]
    pub(crate) const fn deep_write_backs(self) -> &'static [WriteBack] {
        match self {
            Arch::AArch64 => &[WriteBack::DcCvadp, WriteBack::DcCvap, WriteBack::DcCvac],
            other => other.write_backs(),
        }
    }
}

/// One instruction that writes a cache line back toward memory.
///
/// ```
/// use pmem_flush::{WriteBack, prelude::*};
/// // What the crate's own selection uses here, printed the way an assembler spells it.
/// let write_back: WriteBack = pmem_flush::flusher().flush_write_back();
/// println!("flush uses {write_back}");
/// assert_eq!(WriteBack::Clwb.to_string(), "clwb");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
#[non_exhaustive]
pub enum WriteBack {
    /// No write-back: nothing to do, or nothing available.
    None = 0,
    /// x86 `CLFLUSH`: write back and invalidate; ordered with other writes and CLFLUSHes.
    Clflush = 1,
    /// x86 `CLFLUSHOPT`: write back and invalidate; ordered only by fences.
    ClflushOpt = 2,
    /// x86 `CLWB`: write back, the line may stay cached; ordered only by fences.
    Clwb = 3,
    /// AArch64 `DC CVAC`: clean to the Point of Coherency (may stop short of persistence).
    DcCvac = 4,
    /// AArch64 `DC CVAP`: clean to the Point of Persistence.
    DcCvap = 5,
    /// AArch64 `DC CVADP`: clean to the Point of Deep Persistence.
    DcCvadp = 6,
    /// POWER `dcbstps` (`dcbf` with L = 6): `dcbf` on POWER8/9.
    Dcbstps = 7,
    /// RISC-V Zicbom `cbo.clean`.
    CboClean = 8,
    /// AArch64 `DC CIVAC`: clean and invalidate to the Point of Coherency (invalidation only).
    DcCivac = 9,
    /// POWER `dcbf` with L = 0: write back and invalidate (invalidation only; on POWER10 it
    /// does not reach the persistence domain, so flush never uses it).
    Dcbf = 10,
    /// RISC-V Zicbom `cbo.flush`: write back and invalidate (invalidation only).
    CboFlush = 11,
}

impl WriteBack {
    /// Every variant, in discriminant order.
    #[cfg(test)]
    pub(crate) const ALL: [WriteBack; 12] = [
        WriteBack::None,
        WriteBack::Clflush,
        WriteBack::ClflushOpt,
        WriteBack::Clwb,
        WriteBack::DcCvac,
        WriteBack::DcCvap,
        WriteBack::DcCvadp,
        WriteBack::Dcbstps,
        WriteBack::CboClean,
        WriteBack::DcCivac,
        WriteBack::Dcbf,
        WriteBack::CboFlush,
    ];

    /// The inverse of `as u8`; unknown values give `None`. A plain match, so that a `match` on
    /// the result folds into one switch on the byte.
    #[inline(always)]
    pub(crate) const fn from_u8(v: u8) -> WriteBack {
        match v {
            1 => WriteBack::Clflush,
            2 => WriteBack::ClflushOpt,
            3 => WriteBack::Clwb,
            4 => WriteBack::DcCvac,
            5 => WriteBack::DcCvap,
            6 => WriteBack::DcCvadp,
            7 => WriteBack::Dcbstps,
            8 => WriteBack::CboClean,
            9 => WriteBack::DcCivac,
            10 => WriteBack::Dcbf,
            11 => WriteBack::CboFlush,
            _ => WriteBack::None,
        }
    }

    /// The assembler mnemonic.
    ///
    /// ```
    /// use pmem_flush::WriteBack;
    /// assert_eq!(WriteBack::DcCvap.mnemonic(), "dc cvap");
    /// assert_eq!(WriteBack::None.mnemonic(), "none");
    /// ```
    #[inline]
    #[must_use]
    pub const fn mnemonic(self) -> &'static str {
        match self {
            WriteBack::None => "none",
            WriteBack::Clflush => "clflush",
            WriteBack::ClflushOpt => "clflushopt",
            WriteBack::Clwb => "clwb",
            WriteBack::DcCvac => "dc cvac",
            WriteBack::DcCvap => "dc cvap",
            WriteBack::DcCvadp => "dc cvadp",
            WriteBack::Dcbstps => "dcbstps",
            WriteBack::CboClean => "cbo.clean",
            WriteBack::DcCivac => "dc civac",
            WriteBack::Dcbf => "dcbf",
            WriteBack::CboFlush => "cbo.flush",
        }
    }

    /// The feature flag that says a CPU has this instruction. DC CIVAC exists wherever DC CVAC
    /// does (every ARMv8 CPU; at EL0 where the OS allows cache maintenance), POWER `dcbf`
    /// wherever [`Features::DCBF`] says, `cbo.flush` wherever Zicbom is.
    ///
    /// ```
    /// use pmem_flush::{Features, WriteBack};
    /// assert_eq!(WriteBack::Clwb.feature(), Features::CLWB);
    /// assert_eq!(WriteBack::Dcbstps.feature(), Features::DCBF);
    /// assert_eq!(WriteBack::DcCivac.feature(), Features::DC_CVAC);
    /// assert!(WriteBack::None.feature().is_empty());
    /// ```
    #[inline]
    #[must_use]
    pub const fn feature(self) -> Features {
        match self {
            WriteBack::None => Features::empty(),
            WriteBack::Clflush => Features::CLFLUSH,
            WriteBack::ClflushOpt => Features::CLFLUSHOPT,
            WriteBack::Clwb => Features::CLWB,
            WriteBack::DcCvac => Features::DC_CVAC,
            WriteBack::DcCvap => Features::DC_CVAP,
            WriteBack::DcCvadp => Features::DC_CVADP,
            WriteBack::Dcbstps => Features::DCBF,
            WriteBack::CboClean => Features::ZICBOM,
            WriteBack::DcCivac => Features::DC_CVAC,
            WriteBack::Dcbf => Features::DCBF,
            WriteBack::CboFlush => Features::ZICBOM,
        }
    }

    /// Where the presence of this instruction is read from.
    #[inline]
    const fn detected_by(self) -> &'static str {
        match self {
            WriteBack::None => "",
            WriteBack::Clflush => "CPUID.1:EDX[19]",
            WriteBack::ClflushOpt => "CPUID.(EAX=7,ECX=0):EBX[23]",
            WriteBack::Clwb => "CPUID.(EAX=7,ECX=0):EBX[24]",
            WriteBack::DcCvac => "every ARMv8 CPU",
            WriteBack::DcCvap => "ID_AA64ISAR1_EL1.DPB >= 1",
            WriteBack::DcCvadp => "ID_AA64ISAR1_EL1.DPB >= 2",
            WriteBack::Dcbstps => "POWER8 or later; dcbf on POWER8 and POWER9",
            WriteBack::CboClean => "Zicbom, as the embedder says",
            WriteBack::DcCivac => "every ARMv8 CPU, as DC CVAC",
            WriteBack::Dcbf => "every 64-bit POWER CPU",
            WriteBack::CboFlush => "Zicbom, as the embedder says",
        }
    }
}

impl fmt::Display for WriteBack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.mnemonic())
    }
}

/// One fence instruction: the drain (orders earlier write-backs and non-temporal stores before
/// later stores), or the invalidation fence on both sides of an invalidation's evictions
/// ([`Selection::invalidate_fence`]).
///
/// ```
/// use pmem_flush::{Fence, Arch};
/// let fence: Fence = pmem_flush::selection().drain_fence();
/// assert_eq!(fence, Arch::HOST.drain_fence()); // the same on every CPU of an architecture
/// println!("drain executes {fence}");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
#[non_exhaustive]
pub enum Fence {
    /// x86 `SFENCE`.
    Sfence = 1,
    /// AArch64 `DSB SY`: waits for earlier cache maintenance to complete.
    Dsb = 2,
    /// POWER `phwsync` (`sync 4`; executes as `hwsync` on POWER8 and POWER9).
    Phwsync = 3,
    /// RISC-V `FENCE iorw,iorw`: cbo.clean counts as W or O (by the block's physical memory
    /// attributes), so both must be in the predecessor set.
    Fence = 4,
    /// Any other target: `core::sync::atomic::fence(SeqCst)`, which orders stores but knows
    /// nothing of persistence.
    SeqCst = 5,
    /// x86 `MFENCE`: the invalidation fence, which also orders later loads after the evictions
    /// (SFENCE does not).
    Mfence = 6,
}

impl Fence {
    /// The assembler mnemonic (or a description for [`Fence::SeqCst`]).
    ///
    /// ```
    /// use pmem_flush::Fence;
    /// assert_eq!(Fence::Sfence.mnemonic(), "sfence");
    /// assert_eq!(Fence::Phwsync.to_string(), "phwsync"); // Display is the mnemonic
    /// ```
    #[inline]
    #[must_use]
    pub const fn mnemonic(self) -> &'static str {
        match self {
            Fence::Sfence => "sfence",
            Fence::Dsb => "dsb sy",
            Fence::Phwsync => "phwsync",
            Fence::Fence => "fence iorw,iorw",
            Fence::SeqCst => "atomic fence (SeqCst)",
            Fence::Mfence => "mfence",
        }
    }
}

impl fmt::Display for Fence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.mnemonic())
    }
}

/// How far a store must be pushed before it is persistent: libpmem2's granularity, minus the
/// page kind, which needs a caller hook (see [`PageFlusher`](crate::PageFlusher)).
///
/// ```
/// use pmem_flush::{Config, Flusher, Granularity, WriteBack};
/// // An eADR platform: the CPU caches are in the persistence domain.
/// let eadr = Flusher::new(Config::new().with_granularity(Granularity::Byte)).unwrap();
/// assert_eq!(eadr.granularity(), Granularity::Byte);
/// assert_eq!(eadr.flush_write_back(), WriteBack::None); // flush: nothing; drain: still a fence
/// assert_eq!(Granularity::default(), Granularity::CacheLine);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Granularity {
    /// CPU caches are not persistent (ADR): `flush` writes back every line of the range.
    #[default]
    CacheLine,
    /// CPU caches are persistent (eADR, or the platform flushes them on power loss): `flush` does
    /// nothing, `drain` still fences, `deep_flush` still writes back.
    Byte,
}

/// Choices that are the caller's to make: granularity, instructions to avoid, and how the
/// persistent copies use non-temporal stores.
///
/// `Config::new()` is libpmem's default: cache-line granularity, every instruction allowed
/// except the opt-in MOVDIR64B, non-temporal stores from 256 bytes. Builder methods take and
/// return the value (`with_*`, [`disable`](Config::disable)); getters carry the plain name.
///
/// ```
/// use pmem_flush::{Config, Features, Granularity};
///
/// // libpmem's PMEM_NO_CLWB=1 PMEM_MOVNT_THRESHOLD=1024 on an eADR platform:
/// let config = Config::new()
///     .disable(Features::CLWB)
///     .with_nt_threshold(1024)
///     .with_granularity(Granularity::Byte);
/// assert_eq!(config.granularity(), Granularity::Byte);
/// assert_eq!(config.nt_threshold(), 1024);
/// assert!(config.disabled().contains(Features::CLWB));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Config {
    disabled: Features,
    granularity: Granularity,
    non_temporal: bool,
    movdir64b: bool,
    nt_threshold: usize,
}

/// libpmem's default non-temporal threshold (`PMEM_MOVNT_THRESHOLD`): copies of at least this
/// many bytes use non-temporal stores.
pub const DEFAULT_NT_THRESHOLD: usize = 256;

/// Thresholds from this value up mean "never": the detection cell keeps 32 bits of threshold,
/// and every configuration reads back the same wherever it is stored.
const NT_THRESHOLD_NEVER_FROM: usize = u32::MAX as usize;

impl Config {
    /// Cache-line granularity, nothing disabled, non-temporal stores from 256 bytes, no
    /// MOVDIR64B.
    ///
    /// ```
    /// let config = pmem_flush::Config::new();
    /// assert_eq!(config, pmem_flush::Config::default());
    /// assert_eq!(config.nt_threshold(), pmem_flush::DEFAULT_NT_THRESHOLD);
    /// ```
    #[inline]
    #[must_use]
    pub const fn new() -> Config {
        Config {
            disabled: Features::empty(),
            granularity: Granularity::CacheLine,
            non_temporal: true,
            movdir64b: false,
            nt_threshold: DEFAULT_NT_THRESHOLD,
        }
    }

    /// Never use these features, even where the CPU has them. `Features::CLWB` is libpmem's
    /// `PMEM_NO_CLWB=1`, `Features::CLFLUSHOPT` its `PMEM_NO_CLFLUSHOPT=1`, `Features::AVX`
    /// its `PMEM_AVX=0`, `Features::AVX512F` its `PMEM_AVX512F=0`. Calls accumulate.
    ///
    /// ```
    /// use pmem_flush::{Config, Features};
    /// let config = Config::new().disable(Features::CLWB).disable(Features::CLFLUSHOPT);
    /// assert_eq!(config.disabled(), Features::CLWB | Features::CLFLUSHOPT);
    /// ```
    #[must_use]
    #[inline]
    pub const fn disable(self, features: Features) -> Config {
        Config {
            disabled: self.disabled.union(features),
            ..self
        }
    }

    /// Sets the granularity. `Granularity::Byte` is libpmem's `PMEM_NO_FLUSH=1`.
    ///
    /// ```
    /// use pmem_flush::{Config, Granularity};
    /// let eadr = Config::new().with_granularity(Granularity::Byte);
    /// assert_eq!(eadr.granularity(), Granularity::Byte);
    /// ```
    #[must_use]
    #[inline]
    pub const fn with_granularity(self, granularity: Granularity) -> Config {
        Config {
            granularity,
            ..self
        }
    }

    /// Allows (`true`, the default) or forbids non-temporal stores in the persistent copies.
    /// `false` is libpmem's `PMEM_NO_MOVNT=1`: every copy uses ordinary stores and writes the
    /// lines back.
    ///
    /// ```
    /// let config = pmem_flush::Config::new().with_non_temporal(false);
    /// assert!(!config.non_temporal());
    /// ```
    #[must_use]
    #[inline]
    pub const fn with_non_temporal(self, allowed: bool) -> Config {
        Config {
            non_temporal: allowed,
            ..self
        }
    }

    /// Opts in to MOVDIR64B for non-temporal copies where the CPU has it (libpmem's
    /// `PMEM_MOVDIR64B=1`). Off by default: it is slower than AVX-512 stores on some parts.
    ///
    /// ```
    /// let config = pmem_flush::Config::new().with_movdir64b(true);
    /// assert!(config.movdir64b());
    /// ```
    #[must_use]
    #[inline]
    pub const fn with_movdir64b(self, allowed: bool) -> Config {
        Config {
            movdir64b: allowed,
            ..self
        }
    }

    /// Copies of at least `bytes` use non-temporal stores unless their flags say otherwise
    /// (libpmem's `PMEM_MOVNT_THRESHOLD`). 0 means always, `usize::MAX` never.
    ///
    /// Values of `u32::MAX` (4 GiB - 1) and more are stored as `usize::MAX` ("never"): the
    /// global selection keeps its threshold in 32 bits, and a configuration reads back the same
    /// whether it was kept there or in a value of your own. Copies of 4 GiB and more are then
    /// ordinary unless `NONTEMPORAL` (or `WC`) asks otherwise.
    ///
    /// ```
    /// use pmem_flush::Config;
    /// assert_eq!(Config::new().with_nt_threshold(4096).nt_threshold(), 4096);
    /// # #[cfg(target_pointer_width = "64")]
    /// assert_eq!(Config::new().with_nt_threshold(5 << 30).nt_threshold(), usize::MAX);
    /// ```
    #[must_use]
    #[inline]
    pub const fn with_nt_threshold(self, bytes: usize) -> Config {
        let nt_threshold = if bytes >= NT_THRESHOLD_NEVER_FROM {
            usize::MAX
        } else {
            bytes
        };
        Config {
            nt_threshold,
            ..self
        }
    }

    /// The features this configuration forbids.
    ///
    /// ```
    /// use pmem_flush::{Config, Features};
    /// assert!(Config::new().disabled().is_empty());
    /// ```
    #[inline]
    #[must_use]
    pub const fn disabled(&self) -> Features {
        self.disabled
    }

    /// The configured granularity.
    ///
    /// ```
    /// use pmem_flush::{Config, Granularity};
    /// assert_eq!(Config::new().granularity(), Granularity::CacheLine);
    /// ```
    #[inline]
    #[must_use]
    pub const fn granularity(&self) -> Granularity {
        self.granularity
    }

    /// Whether non-temporal stores are allowed.
    ///
    /// ```
    /// assert!(pmem_flush::Config::new().non_temporal());
    /// ```
    #[inline]
    #[must_use]
    pub const fn non_temporal(&self) -> bool {
        self.non_temporal
    }

    /// Whether MOVDIR64B is opted in.
    ///
    /// ```
    /// assert!(!pmem_flush::Config::new().movdir64b());
    /// ```
    #[inline]
    #[must_use]
    pub const fn movdir64b(&self) -> bool {
        self.movdir64b
    }

    /// The non-temporal threshold in bytes (`usize::MAX`: never).
    ///
    /// ```
    /// assert_eq!(pmem_flush::Config::new().nt_threshold(), 256);
    /// ```
    #[inline]
    #[must_use]
    pub const fn nt_threshold(&self) -> usize {
        self.nt_threshold
    }
}

impl Default for Config {
    fn default() -> Config {
        Config::new()
    }
}

/// The instructions chosen for one CPU and configuration, and the facts they were chosen from.
///
/// Pure data: building one executes nothing. `Display` explains every choice. To act on it, see
/// [`Flusher::new_unchecked`](crate::Flusher::new_unchecked); the safe way is
/// [`Flusher::new`](crate::Flusher::new) or the crate's free functions.
///
/// ```
/// use pmem_flush::{Arch, Config, Cpu, Features, Selection, WriteBack};
/// // What this machine gets, and why.
/// let here = Selection::detect(Config::new());
/// println!("{here}");
/// // What a Skylake server would get, from any host: a pure function.
/// let skylake = Cpu::new(Features::CLFLUSH | Features::CLFLUSHOPT | Features::CLWB, 64);
/// let sel = Selection::for_arch(Arch::X86_64, &skylake, Config::new());
/// assert_eq!(sel.flush_write_back(), WriteBack::Clwb);
/// assert!(sel.is_durable());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Selection {
    arch: Arch,
    cpu: Cpu,
    config: Config,
    best: WriteBack,
    deep: WriteBack,
    evict: WriteBack,
    nt: NonTemporal,
}

impl Selection {
    /// Chooses for the architecture this crate was compiled for. Features of other
    /// architectures in `cpu` are ignored, and so are vector features when this build may not
    /// touch vector registers (x86-64 kernel targets with SSE off).
    ///
    /// ```
    /// use pmem_flush::{Config, Cpu, Features, Selection, WriteBack};
    /// // Facts the platform gave (a device tree, say), for the architecture compiled for.
    /// let cpu = Cpu::new(Features::CLFLUSH | Features::DC_CVAC | Features::DCBF, 64);
    /// let sel = Selection::new(&cpu, Config::new());
    /// # #[cfg(target_arch = "x86_64")]
    /// assert_eq!(sel.flush_write_back(), WriteBack::Clflush);
    /// # #[cfg(target_arch = "aarch64")]
    /// assert_eq!(sel.flush_write_back(), WriteBack::DcCvac);
    /// # #[cfg(target_arch = "powerpc64")]
    /// assert_eq!(sel.flush_write_back(), WriteBack::Dcbstps);
    /// ```
    #[inline]
    #[must_use]
    pub const fn new(cpu: &Cpu, config: Config) -> Selection {
        let cpu = Cpu {
            features: crate::features::usable_in_this_build(cpu.features),
            ..*cpu
        };
        Selection::for_arch(Arch::HOST, &cpu, config)
    }

    /// Chooses for the CPU this code runs on ([`Cpu::detect`]).
    ///
    /// ```
    /// use pmem_flush::{Config, Cpu, Selection};
    /// let sel = Selection::detect(Config::new());
    /// assert_eq!(sel, Selection::new(&Cpu::detect(), Config::new()));
    /// ```
    #[must_use]
    pub fn detect(config: Config) -> Selection {
        Selection::new(&Cpu::detect(), config)
    }

    /// Chooses for any architecture (for tools and tests: only a selection for
    /// [`Arch::HOST`] can be acted on).
    ///
    /// The write-back is the first usable one of: x86 CLWB, CLFLUSHOPT, CLFLUSH; AArch64
    /// DC CVAP, DC CVAC; POWER dcbstps; RISC-V cbo.clean. The deep write-back prefers
    /// AArch64 DC CVADP, and is otherwise the same. The eviction (for invalidate) is the first
    /// usable one of: x86 CLFLUSHOPT, CLFLUSH (never CLWB); AArch64 DC CIVAC; POWER dcbf;
    /// RISC-V cbo.flush. Usable means the CPU has it, it belongs to `arch`, and the
    /// configuration does not disable it.
    ///
    /// ```
    /// use pmem_flush::{Arch, Config, Cpu, Features, Selection, WriteBack};
    /// let cpu = Cpu::new(Features::CLWB | Features::CLFLUSHOPT | Features::CLFLUSH, 64);
    /// // libpmem's PMEM_NO_CLWB=1
    /// let sel = Selection::for_arch(Arch::X86_64, &cpu, Config::new().disable(Features::CLWB));
    /// assert_eq!(sel.flush_write_back(), WriteBack::ClflushOpt);
    /// ```
    #[inline]
    #[must_use]
    pub const fn for_arch(arch: Arch, cpu: &Cpu, config: Config) -> Selection {
        let features = cpu.features.intersection(arch.features());
        let cpu = Cpu::new(features, cpu.usable_line_size())
            .with_unasked(cpu.unasked().intersection(arch.features()));
        let config = Config {
            disabled: config.disabled.intersection(arch.features()),
            ..config
        };
        let usable = features.difference(config.disabled);
        Selection {
            arch,
            cpu,
            config,
            best: arch.flush_write_back(usable),
            deep: first_usable(arch.deep_write_backs(), usable),
            evict: arch.evict_write_back(usable),
            nt: non_temporal_stores(arch, usable, &config),
        }
    }

    /// The architecture this selection is for.
    ///
    /// ```
    /// use pmem_flush::{Arch, Config};
    /// assert_eq!(pmem_flush::selection().arch(), Arch::HOST);
    /// ```
    #[inline]
    #[must_use]
    pub const fn arch(&self) -> Arch {
        self.arch
    }

    /// The CPU it was chosen from, reduced to the features of its architecture and with the
    /// line size it uses.
    ///
    /// ```
    /// use pmem_flush::{Arch, Config, Cpu, Features, Selection};
    /// let cpu = Cpu::new(Features::CLWB | Features::DC_CVAP, 96);
    /// let sel = Selection::for_arch(Arch::X86_64, &cpu, Config::new());
    /// assert_eq!(sel.cpu().features, Features::CLWB); // DC CVAP means nothing on x86-64
    /// assert_eq!(sel.cpu().line_size, 64); // rounded down to a power of two
    /// ```
    #[inline]
    #[must_use]
    pub const fn cpu(&self) -> &Cpu {
        &self.cpu
    }

    /// The configuration it was chosen with, its disabled features reduced to those of its
    /// architecture.
    ///
    /// ```
    /// use pmem_flush::{Arch, Config, Cpu, Features, Granularity, Selection};
    /// let config = Config::new().with_granularity(Granularity::Byte).disable(Features::CLWB);
    /// let sel = Selection::for_arch(Arch::AArch64, &Cpu::NONE, config);
    /// assert_eq!(sel.config().granularity(), Granularity::Byte);
    /// assert!(sel.config().disabled().is_empty()); // CLWB is no AArch64 feature
    /// ```
    #[inline]
    #[must_use]
    pub const fn config(&self) -> &Config {
        &self.config
    }

    /// What `flush` executes on each line ([`WriteBack::None`] at byte granularity, or when
    /// nothing is available: see [`is_durable`](Self::is_durable)).
    ///
    /// ```
    /// use pmem_flush::{Config, Cpu, Features, Granularity, Selection, WriteBack};
    /// # #[cfg(target_arch = "x86_64")] {
    /// let cpu = Cpu::new(Features::CLWB | Features::CLFLUSH, 64);
    /// assert_eq!(Selection::new(&cpu, Config::new()).flush_write_back(), WriteBack::Clwb);
    /// let eadr = Config::new().with_granularity(Granularity::Byte);
    /// assert_eq!(Selection::new(&cpu, eadr).flush_write_back(), WriteBack::None);
    /// # }
    /// ```
    #[inline]
    #[must_use]
    pub const fn flush_write_back(&self) -> WriteBack {
        match self.config.granularity {
            Granularity::CacheLine => self.best,
            Granularity::Byte => WriteBack::None,
        }
    }

    /// What `deep_flush` executes on each line, at every granularity.
    ///
    /// ```
    /// use pmem_flush::{Arch, Config, Cpu, Features, Selection, WriteBack};
    /// let cpu = Cpu::new(Features::DC_CVAC | Features::DC_CVAP | Features::DC_CVADP, 64);
    /// let sel = Selection::for_arch(Arch::AArch64, &cpu, Config::new());
    /// assert_eq!(sel.flush_write_back(), WriteBack::DcCvap);
    /// assert_eq!(sel.deep_flush_write_back(), WriteBack::DcCvadp);
    /// ```
    #[inline]
    #[must_use]
    pub const fn deep_flush_write_back(&self) -> WriteBack {
        self.deep
    }

    /// What `invalidate` executes on each line: an instruction that writes the line back and
    /// evicts it from every cache (x86 CLFLUSHOPT, else CLFLUSH, never CLWB, which may keep the
    /// line; AArch64 DC CIVAC; POWER dcbf; RISC-V cbo.flush), at every granularity: invalidation
    /// is about stale lines, not durability, so byte granularity evicts too.
    /// [`WriteBack::None`] when the CPU has none or the configuration disables them; then
    /// invalidate only fences, and `Display` says so.
    ///
    /// ```
    /// use pmem_flush::{Arch, Config, Cpu, Features, Granularity, Selection, WriteBack};
    /// let cpu = Cpu::new(Features::CLWB | Features::CLFLUSHOPT | Features::CLFLUSH, 64);
    /// let sel = Selection::for_arch(Arch::X86_64, &cpu, Config::new());
    /// assert_eq!(sel.flush_write_back(), WriteBack::Clwb);
    /// assert_eq!(sel.evict_write_back(), WriteBack::ClflushOpt);
    /// let eadr = Config::new().with_granularity(Granularity::Byte);
    /// let sel = Selection::for_arch(Arch::X86_64, &cpu, eadr.disable(Features::CLFLUSHOPT));
    /// assert_eq!(sel.evict_write_back(), WriteBack::Clflush);
    /// ```
    #[inline]
    #[must_use]
    pub const fn evict_write_back(&self) -> WriteBack {
        self.evict
    }

    /// The fence `invalidate` executes before and after its evictions: x86 MFENCE (SFENCE does
    /// not order later loads), AArch64 DSB SY, POWER phwsync, RISC-V FENCE iorw,iorw; a
    /// sequentially consistent atomic fence elsewhere. The same on every CPU of an
    /// architecture.
    ///
    /// ```
    /// use pmem_flush::{Arch, Config, Cpu, Fence, Selection};
    /// let sel = Selection::for_arch(Arch::X86_64, &Cpu::NONE, Config::new());
    /// assert_eq!(sel.invalidate_fence(), Fence::Mfence);
    /// assert_eq!(sel.drain_fence(), Fence::Sfence);
    /// ```
    #[inline]
    #[must_use]
    pub const fn invalidate_fence(&self) -> Fence {
        self.arch.invalidate_fence()
    }

    /// The best write-back instruction allowed, whether or not the granularity needs it.
    ///
    /// ```
    /// use pmem_flush::{Arch, Config, Cpu, Features, Granularity, Selection, WriteBack};
    /// let cpu = Cpu::new(Features::CLFLUSH | Features::CLFLUSHOPT, 64);
    /// let eadr = Config::new().with_granularity(Granularity::Byte);
    /// let sel = Selection::for_arch(Arch::X86_64, &cpu, eadr);
    /// assert_eq!(sel.best_write_back(), WriteBack::ClflushOpt);
    /// assert_eq!(sel.flush_write_back(), WriteBack::None);
    /// ```
    #[inline]
    #[must_use]
    pub const fn best_write_back(&self) -> WriteBack {
        self.best
    }

    /// Whether persisting with this selection makes data durable as the configuration
    /// describes the platform: at byte granularity (the CPU caches are persistent) always; at
    /// cache-line granularity only when there is a write-back instruction to use.
    ///
    /// `false` means `flush` writes nothing back: persist only fences, and data reaches
    /// persistence only if the platform writes its caches back on power loss. That happens when
    /// every write-back is disabled by configuration, on RISC-V without the embedder's Zicbom
    /// facts, and on targets without a backend. [`Flusher::new`](crate::Flusher::new) refuses
    /// such a selection unless you accept it.
    ///
    /// ```
    /// use pmem_flush::{Arch, Config, Cpu, Features, Granularity, Selection};
    /// let cpu = Cpu::new(Features::CLFLUSH, 64);
    /// assert!(Selection::for_arch(Arch::X86_64, &cpu, Config::new()).is_durable());
    /// let none = Config::new().disable(Features::CLFLUSH);
    /// assert!(!Selection::for_arch(Arch::X86_64, &cpu, none).is_durable());
    /// let eadr = none.with_granularity(Granularity::Byte);
    /// assert!(Selection::for_arch(Arch::X86_64, &cpu, eadr).is_durable());
    /// ```
    #[inline]
    #[must_use]
    pub const fn is_durable(&self) -> bool {
        match self.config.granularity {
            Granularity::CacheLine => {
                !matches!(self.best, WriteBack::None) && !self.unasked_would_outrank()
            }
            Granularity::Byte => true,
        }
    }

    /// Whether the CPU has a write-back instruction for `flush` that the configuration
    /// disables (vector and other features do not count).
    #[inline]
    pub(crate) const fn write_backs_disabled(&self) -> bool {
        let present = self.cpu.features.intersection(self.config.disabled);
        !matches!(self.arch.flush_write_back(present), WriteBack::None)
    }

    /// Whether a write-back that detection could not ask about ([`Cpu::unasked`]) would have
    /// been chosen over the one chosen, had the CPU been asked and said yes.
    #[inline]
    const fn unasked_would_outrank(&self) -> bool {
        let usable = self.cpu.features.difference(self.config.disabled);
        let unasked = self.cpu.unasked.difference(self.config.disabled);
        let maybe = self.arch.flush_write_back(usable.union(unasked));
        maybe as u8 != self.best as u8
    }

    /// The non-temporal stores the persistent copies use ([`NonTemporal::None`] when none
    /// are available or allowed: copies then use ordinary stores and write the lines back).
    ///
    /// ```
    /// use pmem_flush::{Arch, Config, Cpu, Features, NonTemporal, Selection};
    /// let cpu = Cpu::new(Features::CLWB | Features::SSE2 | Features::AVX, 64);
    /// let sel = Selection::for_arch(Arch::X86_64, &cpu, Config::new());
    /// assert_eq!(sel.non_temporal(), NonTemporal::Avx);
    /// let off = Config::new().with_non_temporal(false);
    /// assert_eq!(Selection::for_arch(Arch::X86_64, &cpu, off).non_temporal(), NonTemporal::None);
    /// ```
    #[inline]
    #[must_use]
    pub const fn non_temporal(&self) -> NonTemporal {
        self.nt
    }

    /// How a copy of `len` bytes with `flags` stores and whether it drains: [`choose`] with
    /// this selection's granularity, threshold and non-temporal stores. The copies run exactly
    /// this plan, and `Display` explains the copies from it.
    ///
    /// ```
    /// use pmem_flush::{Arch, Config, Cpu, Features, MemFlags, NonTemporal, Selection, Stores};
    /// let cpu = Cpu::new(Features::CLWB | Features::SSE2, 64);
    /// let sel = Selection::for_arch(Arch::X86_64, &cpu, Config::new());
    /// assert_eq!(sel.plan(MemFlags::empty(), 64).stores(), Stores::TemporalWriteBack);
    /// assert_eq!(sel.plan(MemFlags::empty(), 4096).stores(), Stores::NonTemporal(NonTemporal::Sse2));
    /// assert!(!sel.plan(MemFlags::NODRAIN, 4096).drains());
    /// ```
    #[inline]
    #[must_use]
    pub const fn plan(&self, flags: MemFlags, len: usize) -> Plan {
        choose(
            flags,
            len,
            self.config.granularity,
            self.config.nt_threshold,
            self.nt,
        )
    }

    /// What `drain` executes.
    ///
    /// ```
    /// use pmem_flush::{Arch, Config, Cpu, Fence, Selection};
    /// let sel = Selection::for_arch(Arch::AArch64, &Cpu::NONE, Config::new());
    /// assert_eq!(sel.drain_fence(), Fence::Dsb);
    /// ```
    #[inline]
    #[must_use]
    pub const fn drain_fence(&self) -> Fence {
        self.arch.drain_fence()
    }

    /// The bytes each write-back covers.
    ///
    /// ```
    /// use pmem_flush::{Arch, Config, Cpu, Features, Selection};
    /// let cpu = Cpu::new(Features::DCBF, 128);
    /// assert_eq!(Selection::for_arch(Arch::PowerPc64, &cpu, Config::new()).line_size(), 128);
    /// ```
    #[inline]
    #[must_use]
    pub const fn line_size(&self) -> usize {
        self.cpu.line_size
    }

    #[inline]
    pub(crate) const fn line_shift(&self) -> u8 {
        self.cpu.line_shift()
    }
}

/// The widest non-temporal stores `arch` can use with these features: MOVDIR64B only when
/// opted in, then AVX-512F, AVX, SSE2, and MOVNTI (general-purpose registers, every x86-64 CPU).
const fn non_temporal_stores(arch: Arch, usable: Features, config: &Config) -> NonTemporal {
    if !config.non_temporal || !matches!(arch, Arch::X86_64) {
        NonTemporal::None
    } else if config.movdir64b && usable.contains(Features::MOVDIR64B) {
        NonTemporal::Movdir64b
    } else if usable.contains(Features::AVX512F) {
        NonTemporal::Avx512f
    } else if usable.contains(Features::AVX) {
        NonTemporal::Avx
    } else if usable.contains(Features::SSE2) {
        NonTemporal::Sse2
    } else {
        NonTemporal::Movnti
    }
}

const fn first_usable(candidates: &[WriteBack], usable: Features) -> WriteBack {
    let mut i = 0;
    while i < candidates.len() {
        if usable.contains(candidates[i].feature()) {
            return candidates[i];
        }
        i += 1;
    }
    WriteBack::None
}

impl Selection {
    /// The `invalidate:` line of `Display`: the fence, the eviction per line, the fence; or
    /// why nothing is evicted.
    fn describe_invalidate(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fence = self.invalidate_fence();
        match self.evict {
            WriteBack::None => {
                let why = if self
                    .arch
                    .evict_write_backs()
                    .iter()
                    .any(|wb| self.cpu.features.contains(wb.feature()))
                {
                    "every instruction this CPU has to write back and evict is disabled by \
                     configuration"
                } else {
                    "no instruction to write back and evict is available to this crate here"
                };
                writeln!(f, "invalidate: {fence} only, NOTHING IS EVICTED: {why}")
            }
            wb => writeln!(
                f,
                "invalidate: {fence}, {wb} per {}-byte line, {fence}",
                self.line_size()
            ),
        }
    }

    /// The `copies:` line of `Display`, worded from [`plan`](Self::plan) itself: what an
    /// unflagged copy below and at the threshold does, and what `NONTEMPORAL` asks for.
    fn describe_copies(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let threshold = self.config.nt_threshold;
        let short = self.plan(MemFlags::empty(), 0).stores;
        // `usize::MAX` means never: no copy is that long.
        let long = match threshold {
            usize::MAX => short,
            t => self.plan(MemFlags::empty(), t).stores,
        };
        let forced = self.plan(MemFlags::NONTEMPORAL, threshold.min(1)).stores;
        f.write_str("copies:     ")?;
        if long == short {
            self.describe_stores(f, short)?;
        } else if threshold == 0 {
            self.describe_stores(f, long)?;
        } else {
            self.describe_stores(f, long)?;
            write!(f, " from {threshold} bytes, else ")?;
            self.describe_stores(f, short)?;
        }
        if forced != long {
            f.write_str("; NONTEMPORAL: ")?;
            self.describe_stores(f, forced)?;
        }
        writeln!(f)
    }

    fn describe_stores(&self, f: &mut fmt::Formatter<'_>, stores: Stores) -> fmt::Result {
        match stores {
            Stores::NonTemporal(nt) => f.write_str(nt.mnemonic()),
            Stores::TemporalWriteBack => match self.flush_write_back() {
                WriteBack::None => f.write_str("ordinary stores, no write-back"),
                wb => write!(f, "ordinary stores, then {wb}"),
            },
            Stores::Temporal => f.write_str("ordinary stores, no write-back"),
        }
    }
}

impl fmt::Display for Selection {
    /// Several lines: the chosen flush, deep flush, invalidate and drain, and every candidate
    /// write-back with its state (chosen, available, disabled by configuration, absent) and
    /// where it was detected.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.is_durable() {
            if matches!(self.best, WriteBack::None) {
                writeln!(
                    f,
                    "NOT DURABLE: flush writes nothing back and persist only fences; data \
                     reaches persistence only if the platform writes CPU caches back on power \
                     loss"
                )?;
            } else {
                let maybe = self.arch.flush_write_back(self.cpu.unasked);
                writeln!(
                    f,
                    "NOT DURABLE: flush uses {}, but this build could not ask the CPU whether \
                     it has {maybe}, which persistence may need (enable the `std` feature, or \
                     pass the CPU's features with `Cpu::new`)",
                    self.best
                )?;
            }
        }
        match self.flush_write_back() {
            WriteBack::None if self.config.granularity == Granularity::Byte => writeln!(
                f,
                "flush:      nothing (byte granularity: CPU caches are persistent)"
            )?,
            WriteBack::None if self.write_backs_disabled() => writeln!(
                f,
                "flush:      nothing: every write-back this CPU has is disabled by configuration"
            )?,
            WriteBack::None => writeln!(
                f,
                "flush:      nothing: no write-back instruction is available to this crate here"
            )?,
            wb => writeln!(f, "flush:      {wb} per {}-byte line", self.line_size())?,
        }
        match self.deep {
            WriteBack::None => writeln!(f, "deep flush: {}", self.drain_fence())?,
            wb => writeln!(
                f,
                "deep flush: {wb} per {}-byte line, then {}",
                self.line_size(),
                self.drain_fence()
            )?,
        }
        self.describe_invalidate(f)?;
        writeln!(f, "drain:      {}", self.drain_fence())?;
        self.describe_copies(f)?;
        write!(f, "candidates ({:?}):", self.arch)?;
        let cpu = self.cpu.features;
        let mut any = false;
        let evict_only = self
            .arch
            .evict_write_backs()
            .iter()
            .filter(|wb| !self.arch.deep_write_backs().contains(wb));
        for &wb in self.arch.deep_write_backs().iter().chain(evict_only) {
            // At byte granularity flush executes nothing: the best instruction is then only
            // deep flush's.
            let state = if wb == self.flush_write_back() {
                "chosen"
            } else if wb == self.deep {
                "chosen for deep flush"
            } else if wb == self.evict {
                "chosen for invalidate"
            } else if !cpu.contains(wb.feature()) && self.cpu.unasked.contains(wb.feature()) {
                "not asked by this build"
            } else if !cpu.contains(wb.feature()) {
                "absent"
            } else if self.config.disabled.contains(wb.feature()) {
                "disabled by configuration"
            } else {
                "available"
            };
            write!(
                f,
                "\n  {:<11} {:<26} ({})",
                wb.mnemonic(),
                state,
                wb.detected_by()
            )?;
            any = true;
        }
        if !any {
            f.write_str(" none known for this architecture")?;
        }
        if self.best == WriteBack::DcCvac {
            f.write_str("\nnote: DC CVAC cleans to the Point of Coherency, which may stop short of persistence")?;
        }
        if self.arch == Arch::PowerPc64
            && self.best == WriteBack::Dcbstps
            && !cpu.contains(Features::POWER_ISA_3_1)
        {
            f.write_str("\nnote: POWER8 and POWER9 execute dcbstps as dcbf (write back and invalidate) and phwsync as hwsync; what processors before POWER8 do with these ISA 3.1 encodings is not documented, so use this selection only on POWER8 or later")?;
        }
        if self.arch == Arch::RiscV64 && !cpu.contains(Features::ZICBOM) {
            f.write_str("\nnote: no register reports Zicbom or the block size: without the embedder's word there is no write-back instruction, and flush does nothing")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::x86::{Registers, decode};
    use std::borrow::ToOwned;
    use std::format;
    use std::string::ToString;

    fn x86(features: Features) -> Cpu {
        Cpu::new(features, 64)
    }

    #[test]
    fn x86_ladder_and_every_mask_combination() {
        use Features as F;
        let all = F::CLWB | F::CLFLUSHOPT | F::CLFLUSH;
        // (features the CPU has, what each of the four mask combinations must pick):
        // masks in order: none, no CLWB, no CLFLUSHOPT, neither.
        let table: [(Features, [WriteBack; 4]); 4] = [
            (F::CLFLUSH, [WriteBack::Clflush; 4]),
            (
                F::CLFLUSH | F::CLFLUSHOPT,
                [
                    WriteBack::ClflushOpt,
                    WriteBack::ClflushOpt,
                    WriteBack::Clflush,
                    WriteBack::Clflush,
                ],
            ),
            (
                all,
                [
                    WriteBack::Clwb,
                    WriteBack::ClflushOpt,
                    WriteBack::Clwb,
                    WriteBack::Clflush,
                ],
            ),
            (
                F::CLFLUSH | F::CLWB,
                [
                    WriteBack::Clwb,
                    WriteBack::Clflush,
                    WriteBack::Clwb,
                    WriteBack::Clflush,
                ],
            ),
        ];
        let masks = [F::empty(), F::CLWB, F::CLFLUSHOPT, F::CLWB | F::CLFLUSHOPT];
        for (features, picks) in table {
            for (mask, pick) in masks.into_iter().zip(picks) {
                let sel =
                    Selection::for_arch(Arch::X86_64, &x86(features), Config::new().disable(mask));
                assert_eq!(sel.flush_write_back(), pick, "{features:?} minus {mask:?}");
                assert_eq!(
                    sel.deep_flush_write_back(),
                    pick,
                    "x86 deep flush uses the same instruction"
                );
                assert_eq!(sel.drain_fence(), Fence::Sfence);
            }
        }
        // Masking CLFLUSH too leaves nothing: said, not pretended.
        let sel = Selection::for_arch(Arch::X86_64, &x86(all), Config::new().disable(all));
        assert_eq!(sel.flush_write_back(), WriteBack::None);
    }

    #[test]
    fn recorded_cpus_select_expected_instruction() {
        use crate::features::x86::tests::RECORDED;
        for r in &RECORDED {
            let sel = Selection::for_arch(Arch::X86_64, &decode(&r.regs), Config::new());
            let want = match r.name.split(':').next().unwrap_or_default() {
                "qemu64" | "Nehalem" | "Haswell" | "Skylake-Server,level=6" => WriteBack::Clflush,
                "EPYC (Zen 1)" => WriteBack::ClflushOpt,
                _ => WriteBack::Clwb,
            };
            assert_eq!(sel.flush_write_back(), want, "{}", r.name);
            assert_eq!(sel.line_size(), 64);
        }
    }

    #[test]
    fn byte_granularity_flushes_nothing_but_deep_flush_writes_back() {
        let sel = Selection::for_arch(
            Arch::X86_64,
            &x86(Features::CLWB | Features::CLFLUSH),
            Config::new().with_granularity(Granularity::Byte),
        );
        assert_eq!(sel.flush_write_back(), WriteBack::None);
        assert_eq!(sel.deep_flush_write_back(), WriteBack::Clwb);
        assert_eq!(sel.best_write_back(), WriteBack::Clwb);
        assert_eq!(sel.drain_fence(), Fence::Sfence);
    }

    #[test]
    fn foreign_features_are_ignored() {
        let cpu = Cpu::new(Features::DC_CVAP | Features::ZICBOM, 64);
        let sel = Selection::for_arch(Arch::X86_64, &cpu, Config::new());
        assert_eq!(sel.flush_write_back(), WriteBack::None);
        assert!(sel.cpu().features.is_empty());
        let other = Selection::for_arch(Arch::Other, &x86(Features::all()), Config::new());
        assert_eq!(
            (other.flush_write_back(), other.drain_fence()),
            (WriteBack::None, Fence::SeqCst)
        );
    }

    /// AArch64 user space without `std` cannot ask for FEAT_DPB: DC CVAC is chosen, and the
    /// selection says it may not be durable, instead of calling DC CVAP absent.
    #[test]
    fn unasked_write_backs_make_a_lesser_choice_not_durable() {
        let unasked = Features::DC_CVAP | Features::DC_CVADP;
        let seen = Cpu::new(Features::DC_CVAC, 64).with_unasked(unasked);
        let sel = Selection::for_arch(Arch::AArch64, &seen, Config::new());
        assert_eq!(sel.flush_write_back(), WriteBack::DcCvac);
        assert!(!sel.is_durable());
        let text = format!("{sel}");
        assert!(
            text.starts_with(
                "NOT DURABLE: flush uses dc cvac, but this build could not ask the CPU whether \
                 it has dc cvap"
            ),
            "{text}"
        );
        assert!(
            text.contains("dc cvap     not asked by this build"),
            "{text}"
        );
        assert!(
            text.contains("dc cvadp    not asked by this build"),
            "{text}"
        );
        // SAFETY: only displayed, never run (it is for another architecture on most hosts).
        let flusher = unsafe { crate::Flusher::new_unchecked(&sel) };
        assert!(!flusher.is_durable());
        assert!(format!("{flusher}").contains("NOT DURABLE"), "{flusher}");

        // The caller's own facts: DC CVAC is what this CPU has, and durable.
        let stated = Selection::for_arch(
            Arch::AArch64,
            &Cpu::new(Features::DC_CVAC, 64),
            Config::new(),
        );
        assert!(stated.is_durable());
        assert!(
            format!("{stated}").contains("dc cvap     absent"),
            "{stated}"
        );
        // Asked and present, or disabled by the caller: nothing better is left unasked.
        let asked =
            Cpu::new(Features::DC_CVAC | Features::DC_CVAP, 64).with_unasked(Features::DC_CVADP);
        assert!(Selection::for_arch(Arch::AArch64, &asked, Config::new()).is_durable());
        let declined = Config::new().disable(Features::DC_CVAP);
        assert!(Selection::for_arch(Arch::AArch64, &seen, declined).is_durable());
        // Byte granularity never needs the write-back.
        let eadr = Config::new().with_granularity(Granularity::Byte);
        assert!(Selection::for_arch(Arch::AArch64, &seen, eadr).is_durable());
    }

    /// The configuration is blamed only when it disables a write-back the CPU has, not when
    /// it disables some other feature of a CPU without one.
    #[test]
    fn display_blames_the_configuration_only_for_write_backs() {
        let cpu = Cpu::new(Features::SSE2 | Features::AVX, 64);
        let sel = Selection::for_arch(Arch::X86_64, &cpu, Config::new().disable(Features::AVX));
        let text = format!("{sel}");
        assert!(
            text.contains("flush:      nothing: no write-back instruction is available"),
            "{text}"
        );
        let off = Config::new().disable(Features::CLFLUSH);
        let sel = Selection::for_arch(Arch::X86_64, &Cpu::new(Features::CLFLUSH, 64), off);
        assert!(
            format!("{sel}").contains("disabled by configuration"),
            "{sel}"
        );
    }

    #[test]
    fn display_explains_the_choice() {
        let regs = Registers {
            max_leaf: 7,
            leaf1: [0, 0x800, 0, 1 << 19],
            leaf7: [0, (1 << 23) | (1 << 24), 0, 0],
            xcr0: 0,
        };
        let cpu = decode(&regs);
        let sel = Selection::for_arch(Arch::X86_64, &cpu, Config::new().disable(Features::CLWB));
        let text = format!("{sel}");
        assert!(
            text.contains("flush:      clflushopt per 64-byte line"),
            "{text}"
        );
        assert!(
            text.contains("clwb        disabled by configuration"),
            "{text}"
        );
        assert!(text.contains("clflushopt  chosen"), "{text}");
        assert!(text.contains("clflush     available"), "{text}");
        assert!(text.contains("drain:      sfence"), "{text}");

        let byte = Selection::for_arch(
            Arch::X86_64,
            &cpu,
            Config::new().with_granularity(Granularity::Byte),
        );
        let text = format!("{byte}");
        assert!(
            text.contains("flush:      nothing (byte granularity"),
            "{text}"
        );
        assert!(
            text.contains("deep flush: clwb per 64-byte line, then sfence"),
            "{text}"
        );
        // Flush executes nothing here, so the best instruction is only deep flush's.
        assert!(text.contains("clwb        chosen for deep flush"), "{text}");

        let none = Selection::for_arch(Arch::Other, &cpu, Config::new());
        assert!(format!("{none}").contains("none known for this architecture"));
    }

    fn cpu(features: Features, line_size: usize) -> Cpu {
        Cpu::new(features, line_size)
    }

    #[test]
    fn aarch64_dpb_levels_and_every_mask() {
        use Features as F;
        use WriteBack::{DcCvac as Cvac, DcCvadp as Cvadp, DcCvap as Cvap, None as No};
        let dpb0 = F::DC_CVAC;
        let dpb1 = dpb0 | F::DC_CVAP;
        let dpb2 = dpb1 | F::DC_CVADP;
        let masks = [
            F::empty(),
            F::DC_CVADP,
            F::DC_CVAP,
            F::DC_CVAP | F::DC_CVADP,
            F::DC_CVAC,
            dpb2,
        ];
        // (features, (flush, deep flush) under each mask above)
        let table = [
            (
                dpb0,
                [
                    (Cvac, Cvac),
                    (Cvac, Cvac),
                    (Cvac, Cvac),
                    (Cvac, Cvac),
                    (No, No),
                    (No, No),
                ],
            ),
            (
                dpb1,
                [
                    (Cvap, Cvap),
                    (Cvap, Cvap),
                    (Cvac, Cvac),
                    (Cvac, Cvac),
                    (Cvap, Cvap),
                    (No, No),
                ],
            ),
            (
                dpb2,
                [
                    (Cvap, Cvadp),
                    (Cvap, Cvap),
                    (Cvac, Cvadp),
                    (Cvac, Cvac),
                    (Cvap, Cvadp),
                    (No, No),
                ],
            ),
        ];
        for (features, picks) in table {
            for (mask, (flush, deep)) in masks.into_iter().zip(picks) {
                let config = Config::new().disable(mask);
                let sel = Selection::for_arch(Arch::AArch64, &cpu(features, 64), config);
                assert_eq!(
                    (sel.flush_write_back(), sel.deep_flush_write_back()),
                    (flush, deep),
                    "{features:?} - {mask:?}"
                );
                assert_eq!(sel.drain_fence(), Fence::Dsb);
                let text = format!("{sel}");
                assert_eq!(
                    text.contains("DC CVAC cleans to the Point of Coherency"),
                    flush == Cvac,
                    "{text}"
                );
                // Byte granularity: nothing to flush, deep flush unchanged, still a DSB.
                let byte = Selection::for_arch(
                    Arch::AArch64,
                    &cpu(features, 64),
                    config.with_granularity(Granularity::Byte),
                );
                assert_eq!(
                    (byte.flush_write_back(), byte.deep_flush_write_back()),
                    (No, deep)
                );
                assert_eq!(byte.drain_fence(), Fence::Dsb);
            }
        }
    }

    #[test]
    fn aarch64_recorded_cpus_select_expected_instructions() {
        use crate::features::aarch64::{decode, tests::RECORDED};
        for r in &RECORDED {
            let sel = Selection::for_arch(Arch::AArch64, &decode(&r.regs), Config::new());
            let dpb = r.regs.id_aa64isar1_el1 & 0xf;
            let want = match dpb {
                0 => (WriteBack::DcCvac, WriteBack::DcCvac),
                1 => (WriteBack::DcCvap, WriteBack::DcCvap),
                _ => (WriteBack::DcCvap, WriteBack::DcCvadp),
            };
            assert_eq!(
                (sel.flush_write_back(), sel.deep_flush_write_back()),
                want,
                "{}",
                r.name
            );
            assert_eq!(
                sel.line_size(),
                4 << ((r.regs.ctr_el0 >> 16) & 0xf),
                "{}",
                r.name
            );
        }
        // The three models the bare-metal example runs, as its output must read.
        let text = |isar1| {
            let regs = crate::features::aarch64::Registers {
                id_aa64isar1_el1: isar1,
                ctr_el0: 0x8444_c004,
            };
            format!(
                "{}",
                Selection::for_arch(Arch::AArch64, &decode(&regs), Config::new())
            )
        };
        let max = text(0x0011_1111_0121_1012);
        assert!(
            max.contains("flush:      dc cvap per 64-byte line"),
            "{max}"
        );
        assert!(
            max.contains("deep flush: dc cvadp per 64-byte line, then dsb sy"),
            "{max}"
        );
        let a57 = text(0);
        assert!(
            a57.contains("flush:      dc cvac per 64-byte line"),
            "{a57}"
        );
        assert!(a57.contains("may stop short of persistence"), "{a57}");
    }

    #[test]
    fn power_table() {
        use Features as F;
        let cases = [
            (F::empty(), F::empty(), WriteBack::None, false),
            (F::DCBF, F::empty(), WriteBack::Dcbstps, true),
            (
                F::DCBF | F::POWER_ISA_3_1,
                F::empty(),
                WriteBack::Dcbstps,
                false,
            ),
            (F::DCBF | F::POWER_ISA_3_1, F::DCBF, WriteBack::None, false),
            (F::DCBF, F::POWER_ISA_3_1, WriteBack::Dcbstps, true),
        ];
        for (features, mask, want, pre_power10_note) in cases {
            let sel = Selection::for_arch(
                Arch::PowerPc64,
                &cpu(features, 128),
                Config::new().disable(mask),
            );
            assert_eq!(
                (sel.flush_write_back(), sel.deep_flush_write_back()),
                (want, want),
                "{features:?} - {mask:?}"
            );
            assert_eq!(sel.drain_fence(), Fence::Phwsync);
            assert_eq!(sel.line_size(), 128);
            let text = format!("{sel}");
            assert_eq!(
                text.contains("note: POWER8 and POWER9 execute dcbstps as dcbf"),
                pre_power10_note,
                "{text}"
            );
            if want == WriteBack::Dcbstps {
                assert!(
                    text.contains("flush:      dcbstps per 128-byte line"),
                    "{text}"
                );
            }
        }
        // The default assumption: dcbstps per 128-byte block, phwsync.
        let sel = Selection::for_arch(
            Arch::PowerPc64,
            &crate::features::powerpc64::ASSUMED,
            Config::new().with_granularity(Granularity::Byte),
        );
        assert_eq!(
            (sel.flush_write_back(), sel.deep_flush_write_back()),
            (WriteBack::None, WriteBack::Dcbstps)
        );
        assert_eq!(Fence::Phwsync.mnemonic(), "phwsync");
    }

    #[test]
    fn riscv_needs_the_embedders_word() {
        use crate::features::riscv64::zicbom;
        // Nothing said: no write-back, and the selection says so plainly.
        let none = Selection::for_arch(Arch::RiscV64, &Cpu::NONE, Config::new());
        assert_eq!(
            (none.flush_write_back(), none.deep_flush_write_back()),
            (WriteBack::None, WriteBack::None)
        );
        assert_eq!(none.drain_fence(), Fence::Fence);
        let text = format!("{none}");
        assert!(
            text.contains("flush:      nothing: no write-back instruction is available"),
            "{text}"
        );
        assert!(text.contains("cbo.clean   absent"), "{text}");
        assert!(text.contains("no register reports Zicbom"), "{text}");
        assert!(text.contains("drain:      fence iorw,iorw"), "{text}");
        // Zicbom with the block size the platform reports.
        for block in [32, 64, 128] {
            let sel = Selection::for_arch(Arch::RiscV64, &zicbom(Some(block)), Config::new());
            assert_eq!(
                (sel.flush_write_back(), sel.deep_flush_write_back()),
                (WriteBack::CboClean, WriteBack::CboClean)
            );
            assert_eq!(sel.line_size(), block);
            assert!(!format!("{sel}").contains("note:"));
        }
        // Masked, or byte granularity.
        let masked = Selection::for_arch(
            Arch::RiscV64,
            &zicbom(Some(64)),
            Config::new().disable(Features::ZICBOM),
        );
        assert_eq!(masked.flush_write_back(), WriteBack::None);
        let byte = Selection::for_arch(
            Arch::RiscV64,
            &zicbom(Some(64)),
            Config::new().with_granularity(Granularity::Byte),
        );
        assert_eq!(
            (byte.flush_write_back(), byte.deep_flush_write_back()),
            (WriteBack::None, WriteBack::CboClean)
        );
    }

    #[test]
    fn caller_supplied_features_of_another_architecture_do_nothing() {
        use Features as F;
        let everything = cpu(F::all(), 64);
        let picks = [
            (
                Arch::AArch64,
                WriteBack::DcCvap,
                WriteBack::DcCvadp,
                WriteBack::DcCivac,
            ),
            (
                Arch::PowerPc64,
                WriteBack::Dcbstps,
                WriteBack::Dcbstps,
                WriteBack::Dcbf,
            ),
            (
                Arch::RiscV64,
                WriteBack::CboClean,
                WriteBack::CboClean,
                WriteBack::CboFlush,
            ),
            (
                Arch::X86_64,
                WriteBack::Clwb,
                WriteBack::Clwb,
                WriteBack::ClflushOpt,
            ),
        ];
        for (arch, flush, deep, evict) in picks {
            let sel = Selection::for_arch(arch, &everything, Config::new());
            assert_eq!(
                (
                    sel.flush_write_back(),
                    sel.deep_flush_write_back(),
                    sel.evict_write_back()
                ),
                (flush, deep, evict),
                "{arch:?}"
            );
            assert_eq!(sel.cpu().features, arch.features(), "{arch:?}");
            // Only this architecture's own features help it.
            let foreign = cpu(F::all().difference(arch.features()), 64);
            let sel = Selection::for_arch(arch, &foreign, Config::new());
            assert_eq!(sel.flush_write_back(), WriteBack::None, "{arch:?}");
            assert_eq!(sel.evict_write_back(), WriteBack::None, "{arch:?}");
            assert!(sel.cpu().features.is_empty());
        }
    }

    /// What invalidate evicts with, per architecture, feature set and mask: x86 CLFLUSHOPT, else
    /// CLFLUSH, never CLWB; AArch64 DC CIVAC wherever DC CVAC is; POWER dcbf; RISC-V cbo.flush.
    /// The same at byte granularity, and the invalidation fence is the same on every CPU.
    #[test]
    fn evict_table_per_architecture_feature_set_and_mask() {
        use Features as F;
        use WriteBack::{CboFlush, Clflush, ClflushOpt, DcCivac, Dcbf, None as No};
        let x86_all = F::CLWB | F::CLFLUSHOPT | F::CLFLUSH;
        let x86_masks = [
            F::empty(),
            F::CLWB,
            F::CLFLUSHOPT,
            F::CLWB | F::CLFLUSHOPT,
            F::CLFLUSH,
            x86_all,
        ];
        let arm_masks = [F::empty(), F::DC_CVAP | F::DC_CVADP, F::DC_CVAC];
        // (arch, features, masks, the eviction under each mask)
        let table: [(Arch, Features, &[Features], &[WriteBack]); 10] = [
            (
                Arch::X86_64,
                F::CLFLUSH,
                &x86_masks,
                &[Clflush, Clflush, Clflush, Clflush, No, No],
            ),
            (
                Arch::X86_64,
                F::CLFLUSH | F::CLFLUSHOPT,
                &x86_masks,
                &[ClflushOpt, ClflushOpt, Clflush, Clflush, ClflushOpt, No],
            ),
            (
                Arch::X86_64,
                x86_all,
                &x86_masks,
                &[ClflushOpt, ClflushOpt, Clflush, Clflush, ClflushOpt, No],
            ),
            // CLWB without CLFLUSHOPT (Skylake-Server-v2 in QEMU): CLFLUSH, never CLWB.
            (
                Arch::X86_64,
                F::CLFLUSH | F::CLWB,
                &x86_masks,
                &[Clflush, Clflush, Clflush, Clflush, No, No],
            ),
            (Arch::X86_64, F::CLWB, &x86_masks, &[No, No, No, No, No, No]),
            (
                Arch::AArch64,
                F::DC_CVAC,
                &arm_masks,
                &[DcCivac, DcCivac, No],
            ),
            (
                Arch::AArch64,
                F::DC_CVAC | F::DC_CVAP | F::DC_CVADP,
                &arm_masks,
                &[DcCivac, DcCivac, No],
            ),
            (
                Arch::PowerPc64,
                F::DCBF | F::POWER_ISA_3_1,
                &[F::empty(), F::POWER_ISA_3_1, F::DCBF],
                &[Dcbf, Dcbf, No],
            ),
            (
                Arch::RiscV64,
                F::ZICBOM,
                &[F::empty(), F::ZICBOM],
                &[CboFlush, No],
            ),
            (Arch::RiscV64, F::empty(), &[F::empty()], &[No]),
        ];
        let mut checked = 0;
        for (arch, features, masks, evictions) in table {
            assert_eq!(masks.len(), evictions.len());
            for (&mask, &want) in masks.iter().zip(evictions) {
                for granularity in [Granularity::CacheLine, Granularity::Byte] {
                    let config = Config::new().disable(mask).with_granularity(granularity);
                    let sel = Selection::for_arch(arch, &cpu(features, 64), config);
                    assert_eq!(
                        sel.evict_write_back(),
                        want,
                        "{arch:?} {features:?} - {mask:?} at {granularity:?}"
                    );
                    assert_ne!(sel.evict_write_back(), WriteBack::Clwb);
                    let fence = if arch == Arch::X86_64 {
                        Fence::Mfence
                    } else {
                        arch.drain_fence()
                    };
                    assert_eq!(sel.invalidate_fence(), fence);
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 2 * (6 * 5 + 3 * 2 + 3 + 2 + 1));
        assert_eq!(
            Selection::for_arch(Arch::Other, &cpu(F::all(), 64), Config::new()).evict_write_back(),
            No
        );
        assert_eq!(Arch::Other.invalidate_fence(), Fence::SeqCst);
    }

    /// The `invalidate:` line and the candidates, in the words the scripts look for.
    #[test]
    fn display_explains_the_invalidation() {
        use Features as F;
        let line = |sel: &Selection| {
            let text = sel.to_string();
            text.lines()
                .find(|l| l.starts_with("invalidate: "))
                .unwrap_or_else(|| panic!("no invalidate line: {text}"))
                .to_owned()
        };
        let x86 = cpu(F::CLWB | F::CLFLUSHOPT | F::CLFLUSH, 64);
        let sel = Selection::for_arch(Arch::X86_64, &x86, Config::new());
        assert_eq!(
            line(&sel),
            "invalidate: mfence, clflushopt per 64-byte line, mfence"
        );
        let text = sel.to_string();
        assert!(text.contains("clwb        chosen "), "{text}");
        assert!(text.contains("clflushopt  chosen for invalidate"), "{text}");
        assert!(text.contains("clflush     available"), "{text}");
        // Byte granularity evicts all the same.
        let byte = Selection::for_arch(
            Arch::X86_64,
            &x86,
            Config::new().with_granularity(Granularity::Byte),
        );
        assert_eq!(
            line(&byte),
            "invalidate: mfence, clflushopt per 64-byte line, mfence"
        );
        let no_opt = Selection::for_arch(Arch::X86_64, &x86, Config::new().disable(F::CLFLUSHOPT));
        assert_eq!(
            line(&no_opt),
            "invalidate: mfence, clflush per 64-byte line, mfence"
        );
        let masked = Selection::for_arch(
            Arch::X86_64,
            &x86,
            Config::new().disable(F::CLFLUSHOPT | F::CLFLUSH),
        );
        assert_eq!(
            line(&masked),
            "invalidate: mfence only, NOTHING IS EVICTED: every instruction this CPU has to \
             write back and evict is disabled by configuration"
        );
        let arm = Selection::for_arch(
            Arch::AArch64,
            &cpu(F::DC_CVAC | F::DC_CVAP, 64),
            Config::new(),
        );
        assert_eq!(
            line(&arm),
            "invalidate: dsb sy, dc civac per 64-byte line, dsb sy"
        );
        let text = arm.to_string();
        assert!(
            text.contains("dc civac    chosen for invalidate      (every ARMv8 CPU, as DC CVAC)"),
            "{text}"
        );
        let power = Selection::for_arch(
            Arch::PowerPc64,
            &crate::features::powerpc64::ASSUMED,
            Config::new(),
        );
        assert_eq!(
            line(&power),
            "invalidate: phwsync, dcbf per 128-byte line, phwsync"
        );
        let riscv = Selection::for_arch(
            Arch::RiscV64,
            &crate::features::riscv64::zicbom(Some(64)),
            Config::new(),
        );
        assert_eq!(
            line(&riscv),
            "invalidate: fence iorw,iorw, cbo.flush per 64-byte line, fence iorw,iorw"
        );
        assert!(
            riscv
                .to_string()
                .contains("cbo.flush   chosen for invalidate")
        );
        let none = Selection::for_arch(Arch::RiscV64, &Cpu::NONE, Config::new());
        assert_eq!(
            line(&none),
            "invalidate: fence iorw,iorw only, NOTHING IS EVICTED: no instruction to write back \
             and evict is available to this crate here"
        );
        assert!(none.to_string().contains("cbo.flush   absent"));
    }

    #[test]
    fn write_back_round_trips_through_u8() {
        for wb in WriteBack::ALL {
            assert_eq!(WriteBack::from_u8(wb as u8), wb);
        }
        assert_eq!(WriteBack::from_u8(200), WriteBack::None);
    }

    /// The `copies:` line of `Display` against hand-written expectations. At byte granularity
    /// the old text claimed non-temporal stores from the threshold, which `choose` never does
    /// there.
    #[test]
    fn display_explains_copies_from_the_plan() {
        let cpu = Cpu::new(
            Features::CLWB | Features::CLFLUSH | Features::SSE2 | Features::AVX | Features::AVX512F,
            64,
        );
        let nt = "vmovntdq (AVX-512F, 64 bytes)";
        let cases = [
            (
                Config::new(),
                format!("copies:     {nt} from 256 bytes, else ordinary stores, then clwb"),
            ),
            (
                Config::new().with_granularity(Granularity::Byte),
                format!("copies:     ordinary stores, no write-back; NONTEMPORAL: {nt}"),
            ),
            (
                Config::new().with_nt_threshold(0),
                format!("copies:     {nt}"),
            ),
            (
                Config::new().with_nt_threshold(usize::MAX),
                format!("copies:     ordinary stores, then clwb; NONTEMPORAL: {nt}"),
            ),
            (
                Config::new().with_non_temporal(false),
                "copies:     ordinary stores, then clwb".to_owned(),
            ),
            (
                Config::new()
                    .with_non_temporal(false)
                    .with_granularity(Granularity::Byte),
                "copies:     ordinary stores, no write-back".to_owned(),
            ),
        ];
        for (config, want) in cases {
            let sel = Selection::for_arch(Arch::X86_64, &cpu, config);
            let text = sel.to_string();
            let line = text.lines().find(|l| l.starts_with("copies:")).unwrap();
            assert_eq!(line, want, "{config:?}");
        }
    }

    /// Thresholds from 4 GiB - 1 up read back as "never" wherever the configuration is kept:
    /// in the value, in a selection, and in the global cell's 32 bits.
    #[test]
    fn huge_thresholds_read_back_as_never_everywhere() {
        for t in [
            u32::MAX as usize - 1,
            u32::MAX as usize,
            usize::MAX / 2,
            usize::MAX,
        ] {
            let config = Config::new().with_nt_threshold(t);
            let want = if t < u32::MAX as usize { t } else { usize::MAX };
            assert_eq!(config.nt_threshold(), want, "{t}");
            let sel = Selection::detect(config);
            assert_eq!(sel.config().nt_threshold(), want);
            let cell = crate::cell::Cell::new();
            cell.store(&sel);
            assert_eq!(cell.selection(), sel, "{t}");
            // SAFETY: detected on this CPU.
            let f = unsafe { crate::Flusher::new_unchecked(&sel) };
            assert_eq!(f.nt_threshold(), want);
        }
    }

    #[test]
    fn non_durable_selections_say_so_first() {
        let cpu = Cpu::new(Features::CLFLUSH, 64);
        let none =
            Selection::for_arch(Arch::X86_64, &cpu, Config::new().disable(Features::CLFLUSH));
        assert!(!none.is_durable());
        let text = none.to_string();
        assert!(text.starts_with("NOT DURABLE"), "{text}");
        assert!(text.contains("disabled by configuration"), "{text}");
        let riscv = Selection::for_arch(Arch::RiscV64, &Cpu::NONE, Config::new());
        assert!(!riscv.is_durable());
        assert!(riscv.to_string().starts_with("NOT DURABLE"));
        let eadr = Selection::for_arch(
            Arch::RiscV64,
            &Cpu::NONE,
            Config::new().with_granularity(Granularity::Byte),
        );
        assert!(eadr.is_durable());
        assert!(!eadr.to_string().contains("NOT DURABLE"));
    }
}
