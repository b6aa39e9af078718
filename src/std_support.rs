//! With the `std` feature: libpmem's environment variables, and a cross-check of this crate's
//! decoding against the standard library's feature detection.

use core::fmt;

use crate::features::Features;
use crate::selection::{Config, Granularity};

impl Config {
    /// libpmem's environment overrides, read now:
    ///
    /// - `PMEM_NO_CLWB=1` disables CLWB; `PMEM_NO_CLFLUSHOPT=1` disables CLFLUSHOPT;
    /// - `PMEM_NO_FLUSH=1` chooses byte granularity (no flush), `PMEM_NO_FLUSH=0` cache-line
    ///   granularity (the default here, since eADR cannot be detected without the OS);
    /// - `PMEM_NO_MOVNT=1` forbids non-temporal stores in copies;
    /// - `PMEM_MOVNT_THRESHOLD=N` sets the non-temporal threshold to N bytes;
    /// - `PMEM_AVX=0` and `PMEM_AVX512F=0` disable AVX and AVX-512F copies;
    ///   `PMEM_MOVDIR64B=1` opts in to MOVDIR64B copies.
    ///
    /// As in libpmem, only the exact values `1` and `0` count; anything else is ignored. The
    /// threshold must be a plain decimal number (libpmem's `atoll` would read `abc` as 0; this
    /// ignores it).
    ///
    /// ```
    /// use pmem_flush::{Config, Flusher, Granularity};
    /// // PMEM_NO_FLUSH=1 in the environment means byte granularity, as in libpmem.
    /// let config = Config::from_env();
    /// let flusher = Flusher::new(config).unwrap_or_else(|refused| refused.accept());
    /// if std::env::var("PMEM_NO_FLUSH").as_deref() == Ok("1") {
    ///     assert_eq!(flusher.granularity(), Granularity::Byte);
    /// }
    /// ```
    #[must_use]
    pub fn from_env() -> Config {
        Config::from_vars(|name| std::env::var(name).ok())
    }

    /// [`from_env`](Self::from_env) over any source of variables, for tests.
    pub(crate) fn from_vars(var: impl Fn(&str) -> Option<std::string::String>) -> Config {
        let is = |name: &str, value: &str| var(name).is_some_and(|v| v == value);
        let mut config = Config::new();
        for (name, value, feature) in [
            ("PMEM_NO_CLWB", "1", Features::CLWB),
            ("PMEM_NO_CLFLUSHOPT", "1", Features::CLFLUSHOPT),
            ("PMEM_AVX", "0", Features::AVX),
            ("PMEM_AVX512F", "0", Features::AVX512F),
        ] {
            if is(name, value) {
                config = config.disable(feature);
            }
        }
        if is("PMEM_NO_FLUSH", "1") {
            config = config.with_granularity(Granularity::Byte);
        }
        if is("PMEM_NO_MOVNT", "1") {
            config = config.with_non_temporal(false);
        }
        if is("PMEM_MOVDIR64B", "1") {
            config = config.with_movdir64b(true);
        }
        if let Some(threshold) = var("PMEM_MOVNT_THRESHOLD").and_then(|v| v.parse::<usize>().ok()) {
            config = config.with_nt_threshold(threshold);
        }
        config
    }
}

/// A disagreement between this crate's detection and the standard library's.
///
/// Only this crate builds it (more fields may come, the register values behind a disagreement
/// say), so it is `#[non_exhaustive]`: read the fields, match with `..`.
///
/// ```
/// match pmem_flush::cross_check() {
///     Ok(compared) => println!("agrees with std on {compared:?}"),
///     Err(mismatch) => {
///         eprintln!("{mismatch}");
///         eprintln!("only here: {:?}, only std: {:?}", mismatch.only_ours, mismatch.only_std);
///     }
/// }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FeatureMismatch {
    /// Features this crate reports and the standard library does not.
    pub only_ours: Features,
    /// Features the standard library reports and this crate does not.
    pub only_std: Features,
}

impl fmt::Display for FeatureMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "only this crate: {:?}; only std: {:?}",
            self.only_ours, self.only_std
        )
    }
}

impl std::error::Error for FeatureMismatch {}

/// Compares this crate's own reading of the hardware with the standard library's feature
/// detection for the features both know, and returns which ones they were compared on.
///
/// - x86-64: [`Cpu::detect`](crate::Cpu::detect) against `is_x86_feature_detected!` on SSE2, AVX and AVX-512F: the
///   ones whose detection depends on the OS having enabled register state, where PMDK went
///   wrong. The standard library has no CLWB or CLFLUSHOPT query.
/// - AArch64 Linux: ID_AA64ISAR1_EL1 read directly (Linux emulates the EL0 read) and decoded,
///   against `is_aarch64_feature_detected!("dpb")` and `("dpb2")` (the kernel's hardware
///   capabilities) on DC CVAP and DC CVADP. ([`Cpu::detect`](crate::Cpu::detect) itself uses the standard
///   library's view in `std` builds, so comparing it would prove nothing.)
/// - Elsewhere nothing is compared.
///
/// ```
/// // What `cargo run --example detect --features std` does: a check worth running once on a new
/// // machine or emulator.
/// let compared = pmem_flush::cross_check().expect("detection disagrees with the standard library");
/// # #[cfg(target_arch = "x86_64")]
/// assert!(compared.contains(pmem_flush::Features::SSE2));
/// ```
pub fn cross_check() -> Result<Features, FeatureMismatch> {
    let ours = own_reading();
    let (compared, std_view) = std_view();
    let ours = ours.intersection(compared);
    if ours == std_view {
        Ok(compared)
    } else {
        Err(FeatureMismatch {
            only_ours: ours.difference(std_view),
            only_std: std_view.difference(ours),
        })
    }
}

/// This crate's reading of the hardware, independent of the standard library's.
fn own_reading() -> Features {
    #[cfg(all(
        target_arch = "aarch64",
        any(target_os = "linux", target_os = "android")
    ))]
    {
        // SAFETY: Linux emulates EL0 reads of the ID registers and sets SCTLR_EL1.UCT.
        let regs = unsafe { crate::arch::aarch64::read_registers() };
        crate::features::aarch64::decode(&regs).features
    }
    #[cfg(not(all(
        target_arch = "aarch64",
        any(target_os = "linux", target_os = "android")
    )))]
    {
        crate::Cpu::detect().features
    }
}

/// The features the standard library can report here, and which of them it reports.
fn std_view() -> (Features, Features) {
    #[allow(unused_mut)]
    let (mut compared, mut seen) = (Features::empty(), Features::empty());
    #[cfg(target_arch = "x86_64")]
    {
        let pairs = [
            (Features::SSE2, std::arch::is_x86_feature_detected!("sse2")),
            (Features::AVX, std::arch::is_x86_feature_detected!("avx")),
            (
                Features::AVX512F,
                std::arch::is_x86_feature_detected!("avx512f"),
            ),
        ];
        for (feature, detected) in pairs {
            compared |= feature;
            if detected {
                seen |= feature;
            }
        }
    }
    #[cfg(all(
        target_arch = "aarch64",
        any(target_os = "linux", target_os = "android")
    ))]
    {
        let pairs = [
            (
                Features::DC_CVAP,
                std::arch::is_aarch64_feature_detected!("dpb"),
            ),
            (
                Features::DC_CVADP,
                std::arch::is_aarch64_feature_detected!("dpb2"),
            ),
        ];
        for (feature, detected) in pairs {
            compared |= feature;
            if detected {
                seen |= feature;
            }
        }
    }
    (compared, seen)
}

/// Linux's auxiliary-vector entry types this crate reads.
const AT_DCACHEBSIZE: u64 = 19;
const AT_HWCAP2: u64 = 26;

/// The value of entry `key` in an auxiliary vector as `/proc/self/auxv` holds it: pairs of
/// native-endian words (type, value), ended by type 0.
fn auxv_entry(auxv: &[u8], key: u64) -> Option<u64> {
    const W: usize = core::mem::size_of::<usize>();
    let word = |chunk: &[u8]| {
        let mut b = [0u8; W];
        b.copy_from_slice(chunk);
        usize::from_ne_bytes(b) as u64
    };
    for pair in auxv.chunks_exact(2 * W) {
        let (k, v) = (word(&pair[..W]), word(&pair[W..]));
        if k == 0 {
            break;
        }
        if k == key {
            return Some(v);
        }
    }
    None
}

/// `AT_HWCAP2` and `AT_DCACHEBSIZE` from `/proc/self/auxv`, or `None` when it cannot be read.
#[allow(dead_code)]
pub(crate) fn auxv_power() -> Option<(Option<u64>, Option<u64>)> {
    let auxv = std::fs::read("/proc/self/auxv").ok()?;
    Some((
        auxv_entry(&auxv, AT_HWCAP2),
        auxv_entry(&auxv, AT_DCACHEBSIZE),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    fn config_for(vars: &[(&str, &str)]) -> Config {
        Config::from_vars(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn env_overrides_use_libpmem_spelling() {
        assert_eq!(config_for(&[]), Config::new());
        assert_eq!(
            config_for(&[("PMEM_NO_CLWB", "1")]).disabled(),
            Features::CLWB
        );
        assert_eq!(
            config_for(&[("PMEM_NO_CLFLUSHOPT", "1")]).disabled(),
            Features::CLFLUSHOPT
        );
        assert_eq!(
            config_for(&[("PMEM_NO_CLWB", "1"), ("PMEM_NO_CLFLUSHOPT", "1")]).disabled(),
            Features::CLWB | Features::CLFLUSHOPT
        );
        assert_eq!(
            config_for(&[("PMEM_NO_FLUSH", "1")]).granularity(),
            Granularity::Byte
        );
        assert_eq!(
            config_for(&[("PMEM_NO_FLUSH", "0")]).granularity(),
            Granularity::CacheLine
        );
        // Only the exact value counts, as in libpmem.
        for value in ["", "0", "yes", "true", " 1", "11"] {
            assert_eq!(
                config_for(&[("PMEM_NO_CLWB", value)]),
                Config::new(),
                "{value:?}"
            );
        }
    }

    #[test]
    fn copy_overrides_use_libpmem_spelling() {
        let c = config_for(&[("PMEM_NO_MOVNT", "1")]);
        assert!(!c.non_temporal());
        assert!(config_for(&[("PMEM_NO_MOVNT", "0")]).non_temporal());
        assert_eq!(
            config_for(&[("PMEM_MOVNT_THRESHOLD", "0")]).nt_threshold(),
            0
        );
        assert_eq!(
            config_for(&[("PMEM_MOVNT_THRESHOLD", "4096")]).nt_threshold(),
            4096
        );
        for bad in ["-1", "abc", "", "12k"] {
            assert_eq!(
                config_for(&[("PMEM_MOVNT_THRESHOLD", bad)]).nt_threshold(),
                256,
                "{bad:?}"
            );
        }
        assert_eq!(config_for(&[("PMEM_AVX", "0")]).disabled(), Features::AVX);
        assert_eq!(
            config_for(&[("PMEM_AVX512F", "0")]).disabled(),
            Features::AVX512F
        );
        assert_eq!(
            config_for(&[("PMEM_AVX", "1")]).disabled(),
            Features::empty()
        );
        assert!(config_for(&[("PMEM_MOVDIR64B", "1")]).movdir64b());
        assert!(!config_for(&[("PMEM_MOVDIR64B", "0")]).movdir64b());
    }

    #[test]
    fn detection_agrees_with_std() {
        let compared = cross_check().unwrap_or_else(|m| panic!("{m}"));
        if cfg!(target_arch = "x86_64") {
            assert_eq!(compared, Features::SSE2 | Features::AVX | Features::AVX512F);
        }
        if cfg!(all(target_arch = "aarch64", target_os = "linux")) {
            assert_eq!(compared, Features::DC_CVAP | Features::DC_CVADP);
        }
    }

    #[test]
    fn auxv_entries_are_found_by_type() {
        let mut auxv = std::vec::Vec::new();
        for (k, v) in [
            (6u64, 4096u64),
            (AT_HWCAP2, 0x8ee6_0000),
            (AT_DCACHEBSIZE, 128),
            (0, 0),
        ] {
            auxv.extend_from_slice(&(k as usize).to_ne_bytes());
            auxv.extend_from_slice(&(v as usize).to_ne_bytes());
        }
        // Entries after the terminator are not read.
        auxv.extend_from_slice(&(33usize).to_ne_bytes());
        auxv.extend_from_slice(&(1usize).to_ne_bytes());
        assert_eq!(auxv_entry(&auxv, AT_HWCAP2), Some(0x8ee6_0000));
        assert_eq!(auxv_entry(&auxv, AT_DCACHEBSIZE), Some(128));
        assert_eq!(auxv_entry(&auxv, 33), None);
        assert_eq!(
            auxv_entry(&auxv[..7], 6),
            None,
            "a cut vector yields nothing"
        );
        if cfg!(all(target_arch = "powerpc64", target_os = "linux")) {
            let (hwcap2, _) = auxv_power().expect("/proc/self/auxv");
            assert!(hwcap2.is_some(), "Linux on POWER always passes AT_HWCAP2");
        }
    }
}
