//! With the `std` feature: libpmem's environment variables, and a cross-check of this crate's
//! decoding against the standard library's feature detection.

use core::fmt;

use crate::features::{Cpu, Features};
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
            config = config.granularity(Granularity::Byte);
        }
        if is("PMEM_NO_MOVNT", "1") {
            config = config.non_temporal(false);
        }
        if is("PMEM_MOVDIR64B", "1") {
            config = config.movdir64b(true);
        }
        if let Some(threshold) = var("PMEM_MOVNT_THRESHOLD").and_then(|v| v.parse::<usize>().ok()) {
            config = config.nt_threshold(threshold);
        }
        config
    }
}

/// A disagreement between this crate's detection and the standard library's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

/// Compares [`Cpu::detect`] with `std::arch::is_x86_feature_detected!` for the features both
/// know, and returns which ones they were compared on.
///
/// On x86-64 those are SSE2, AVX and AVX-512F: the ones whose detection depends on the OS
/// having enabled register state, where PMDK went wrong. The standard library has no CLWB or
/// CLFLUSHOPT query. Elsewhere nothing is compared yet.
pub fn cross_check() -> Result<Features, FeatureMismatch> {
    let ours = Cpu::detect().features;
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
    (compared, seen)
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
            config_for(&[("PMEM_NO_FLUSH", "1")]).get_granularity(),
            Granularity::Byte
        );
        assert_eq!(
            config_for(&[("PMEM_NO_FLUSH", "0")]).get_granularity(),
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
        assert!(!c.get_non_temporal());
        assert!(config_for(&[("PMEM_NO_MOVNT", "0")]).get_non_temporal());
        assert_eq!(
            config_for(&[("PMEM_MOVNT_THRESHOLD", "0")]).get_nt_threshold(),
            0
        );
        assert_eq!(
            config_for(&[("PMEM_MOVNT_THRESHOLD", "4096")]).get_nt_threshold(),
            4096
        );
        for bad in ["-1", "abc", "", "12k"] {
            assert_eq!(
                config_for(&[("PMEM_MOVNT_THRESHOLD", bad)]).get_nt_threshold(),
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
        assert!(config_for(&[("PMEM_MOVDIR64B", "1")]).get_movdir64b());
        assert!(!config_for(&[("PMEM_MOVDIR64B", "0")]).get_movdir64b());
    }

    #[test]
    fn detection_agrees_with_std() {
        let compared = cross_check().unwrap_or_else(|m| panic!("{m}"));
        if cfg!(target_arch = "x86_64") {
            assert_eq!(compared, Features::SSE2 | Features::AVX | Features::AVX512F);
        }
    }
}
