//! The detection cell: the selection the free functions use, packed into one atomic word.
//!
//! First use detects and stores; every later use is one relaxed load. No lock: an interrupt
//! handler can never wait on it. One word means a reader never sees half of one selection and
//! half of another when [`configure`](crate::configure) runs concurrently.
//!
//! Detection never overwrites a configuration. A first use that loses a race with `configure`
//! must not store its detected word after the configured one (the configured granularity, or
//! the caller's Zicbom facts on RISC-V, would silently be undone). Where the target has
//! compare-and-swap, detection stores only into an empty cell. Where it has atomic loads and
//! stores only, `configure` also records its word in a second slot, and detection, after its
//! store, reads that slot and puts any configuration back, until what it read after its own
//! store is what it stored (see [`Cell::settle_by_loads_and_stores`]).
//!
//! The word holds what the flush paths need (the write-backs and the line shift) next to the facts
//! the selection was made from (this architecture's features, the disabled ones, the
//! granularity), so the whole [`Selection`] can be rebuilt from it. Zero means "not yet
//! detected": every stored word has bit 31 set.

use core::sync::atomic::Ordering;

use crate::features::{Cpu, Features};
use crate::mem::NonTemporal;
use crate::selection::{Arch, Config, Granularity, Selection, WriteBack};

// Each architecture's features fit in 7 bits once shifted down to its base; on every
// architecture but x86-64 they fit in 4, which leaves the field's top 3 bits for the features
// detection could not ask about (`Cpu::unasked`; x86-64 detection asks for everything).
static_assertions::const_assert!(
    Arch::X86_64.features().bits() >> Arch::X86_64.feature_shift() <= 0x7f
        && Arch::AArch64.features().bits() >> Arch::AArch64.feature_shift() <= 0xf
        && Arch::PowerPc64.features().bits() >> Arch::PowerPc64.feature_shift() <= 0xf
        && Arch::RiscV64.features().bits() >> Arch::RiscV64.feature_shift() <= 0xf
);

/// The bits of the packed features field that hold this architecture's features.
const FEATURE_MASK: u32 = if matches!(Arch::HOST, Arch::X86_64) {
    0x7f
} else {
    0xf
};
/// Where the unasked features sit in the packed features field (not on x86-64).
const UNASKED_SHIFT: u32 = 4;

cfg_if::cfg_if! {
    if #[cfg(target_has_atomic = "64")] {
        use core::sync::atomic::AtomicU64 as Atomic;
        type Raw = u64;
    } else {
        // Targets without 64-bit atomics are all `Arch::Other`: no non-temporal stores, so the
        // threshold in the high half has no effect there and is not kept.
        use core::sync::atomic::AtomicU32 as Atomic;
        type Raw = u32;
        static_assertions::const_assert!(matches!(Arch::HOST, Arch::Other));
    }
}

/// One packed selection.
///
/// | bits | field |
/// | --- | --- |
/// | 0..4 | flush write-back |
/// | 4..8 | deep-flush write-back |
/// | 8..11 | line shift - 4 |
/// | 11 | byte granularity |
/// | 12 | non-temporal stores forbidden |
/// | 13 | MOVDIR64B opted in |
/// | 14..17 | non-temporal stores chosen |
/// | 17..24 | this architecture's features (except on x86-64: bits 17..21, and 21..24 the ones detection could not ask about) |
/// | 24..31 | the disabled ones |
/// | 31 | always set: a stored word is never 0 |
/// | 32..64 | non-temporal threshold (`u32::MAX`: never) |
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Word(Raw);

impl Word {
    const FLUSH: u32 = 0;
    const DEEP: u32 = 4;
    const SHIFT: u32 = 8;
    const BYTE_GRANULARITY: Raw = 1 << 11;
    const NO_NON_TEMPORAL: Raw = 1 << 12;
    const MOVDIR64B: Raw = 1 << 13;
    const NON_TEMPORAL: u32 = 14;
    const FEATURES: u32 = 17;
    const DISABLED: u32 = 24;
    const STORED: Raw = 1 << 31;
    #[cfg(target_has_atomic = "64")]
    const THRESHOLD: u32 = 32;

    const fn pack(sel: &Selection) -> Word {
        let base = Arch::HOST.feature_shift();
        let config = sel.config();
        let mut features = (sel.cpu().features.bits() >> base) as Raw & FEATURE_MASK as Raw;
        if !matches!(Arch::HOST, Arch::X86_64) {
            let unasked = (sel.cpu().unasked().bits() >> base) as Raw & 0x7;
            features |= unasked << UNASKED_SHIFT;
        }
        let disabled = (config.disabled().bits() >> base) as Raw & 0x7f;
        let mut w = (sel.flush_write_back() as Raw) << Self::FLUSH
            | (sel.deep_flush_write_back() as Raw) << Self::DEEP
            | (sel.line_shift() as Raw - 4) << Self::SHIFT
            | (sel.non_temporal() as Raw) << Self::NON_TEMPORAL
            | features << Self::FEATURES
            | disabled << Self::DISABLED
            | Self::STORED;
        if matches!(config.granularity(), Granularity::Byte) {
            w |= Self::BYTE_GRANULARITY;
        }
        if !config.non_temporal() {
            w |= Self::NO_NON_TEMPORAL;
        }
        if config.movdir64b() {
            w |= Self::MOVDIR64B;
        }
        #[cfg(target_has_atomic = "64")]
        {
            let t = config.nt_threshold();
            let t = if t >= u32::MAX as usize {
                u32::MAX
            } else {
                t as u32
            };
            w |= (t as Raw) << Self::THRESHOLD;
        }
        Word(w)
    }

    /// What `flush` executes per line.
    #[inline(always)]
    pub(crate) const fn flush(self) -> WriteBack {
        WriteBack::from_u8((self.0 >> Self::FLUSH) as u8 & 0xf)
    }

    /// What `deep_flush` executes per line.
    #[inline(always)]
    pub(crate) const fn deep(self) -> WriteBack {
        WriteBack::from_u8((self.0 >> Self::DEEP) as u8 & 0xf)
    }

    /// What `invalidate` evicts with, per line: not packed (no bits are left below the
    /// threshold, and the flush paths' compare must stay one compare), but derived from this
    /// architecture's features minus the disabled ones, as the selection derives it. Only the
    /// invalidate paths pay for it.
    #[inline(always)]
    pub(crate) const fn evict(self) -> WriteBack {
        let (features, _, disabled) = self.features();
        Arch::HOST.evict_write_back(features.difference(disabled))
    }

    /// The packed CPU features, the ones detection could not ask about, and the disabled ones.
    #[inline(always)]
    const fn features(self) -> (Features, Features, Features) {
        let unasked = if matches!(Arch::HOST, Arch::X86_64) {
            Features::empty()
        } else {
            self.features_at(Self::FEATURES + UNASKED_SHIFT, 0x7)
        };
        (
            self.features_at(Self::FEATURES, FEATURE_MASK),
            unasked,
            self.features_at(Self::DISABLED, 0x7f),
        )
    }

    /// The features packed at bit `shift` under `mask`, moved back to this architecture's base.
    #[inline(always)]
    const fn features_at(self, shift: u32, mask: u32) -> Features {
        let bits = ((self.0 >> shift) as u32) & mask;
        Features::from_bits_truncate(bits << Arch::HOST.feature_shift())
    }

    /// [`Selection::is_durable`] of the packed selection: byte granularity, or a write-back
    /// that none of the features detection could not ask about would outrank.
    #[inline(always)]
    pub(crate) const fn is_durable(self) -> bool {
        if matches!(self.granularity(), Granularity::Byte) {
            return true;
        }
        if matches!(self.flush(), WriteBack::None) {
            return false;
        }
        let (features, unasked, disabled) = self.features();
        let maybe = features.union(unasked).difference(disabled);
        Arch::HOST.flush_write_back(maybe) as u8 == self.flush() as u8
    }

    /// Whether `flush` (`deep`: `deep_flush`) executes `kind` on lines of `1 << shift` bytes:
    /// one masked compare of the word, no decoding.
    #[inline(always)]
    pub(crate) const fn is(self, deep: bool, kind: WriteBack, shift: u8) -> bool {
        let at = if deep { Self::DEEP } else { Self::FLUSH };
        let mask: Raw = (0xf << at) | (0x7 << Self::SHIFT);
        self.0 & mask == ((kind as Raw) << at) | (((shift - 4) as Raw) << Self::SHIFT)
    }

    /// log2 of the line size.
    #[inline(always)]
    pub(crate) const fn shift(self) -> u8 {
        ((self.0 >> Self::SHIFT) as u8 & 0x7) + 4
    }

    /// The granularity.
    #[inline(always)]
    pub(crate) const fn granularity(self) -> Granularity {
        if self.0 & Self::BYTE_GRANULARITY != 0 {
            Granularity::Byte
        } else {
            Granularity::CacheLine
        }
    }

    /// The non-temporal stores copies use.
    #[inline(always)]
    pub(crate) const fn non_temporal(self) -> NonTemporal {
        NonTemporal::from_u8((self.0 >> Self::NON_TEMPORAL) as u8 & 0x7)
    }

    /// The non-temporal threshold in bytes, `u32::MAX` meaning never.
    #[inline(always)]
    pub(crate) const fn nt_threshold_u32(self) -> u32 {
        #[cfg(target_has_atomic = "64")]
        {
            (self.0 >> Self::THRESHOLD) as u32
        }
        #[cfg(not(target_has_atomic = "64"))]
        {
            crate::selection::DEFAULT_NT_THRESHOLD as u32
        }
    }

    /// The non-temporal threshold in bytes (`usize::MAX`: never).
    #[inline(always)]
    pub(crate) const fn nt_threshold(self) -> usize {
        match self.nt_threshold_u32() {
            u32::MAX => usize::MAX,
            t => t as usize,
        }
    }

    /// The whole selection, rebuilt from the facts in the word (`Selection` is a pure function
    /// of them).
    fn unpack(self) -> Selection {
        let (features, unasked, disabled) = self.features();
        let cpu = Cpu::new(features, 1 << self.shift()).with_unasked(unasked);
        let config = Config::new()
            .disable(disabled)
            .with_granularity(self.granularity())
            .with_non_temporal(self.0 & Self::NO_NON_TEMPORAL == 0)
            .with_movdir64b(self.0 & Self::MOVDIR64B != 0)
            .with_nt_threshold(self.nt_threshold());
        Selection::new(&cpu, config)
    }
}

/// The cell. `const`-constructible so that it can live in a `static`.
pub(crate) struct Cell {
    /// The packed selection, 0 until the first use or `configure`.
    word: Atomic,
    /// The last word `configure` stored (0: never configured), for the rule that keeps a
    /// configuration on targets without compare-and-swap.
    configured: Atomic,
}

impl Cell {
    /// An empty cell: the first use detects.
    pub(crate) const fn new() -> Cell {
        Cell {
            word: Atomic::new(0),
            configured: Atomic::new(0),
        }
    }

    /// The packed selection: one relaxed load once detected.
    #[inline(always)]
    pub(crate) fn word(&self) -> Word {
        let w = self.word.load(Ordering::Relaxed);
        if w != 0 {
            Word(w)
        } else {
            self.detect_and_store()
        }
    }

    /// The packed selection if one is cached, without detecting: one relaxed load.
    #[inline(always)]
    pub(crate) fn get(&self) -> Option<Word> {
        match self.word.load(Ordering::Relaxed) {
            0 => None,
            w => Some(Word(w)),
        }
    }

    /// Detects, and keeps the detected word unless a configuration (or another first use) got
    /// there first; returns what the cell holds afterwards.
    #[cold]
    #[inline(never)]
    fn detect_and_store(&self) -> Word {
        let detected = Word::pack(&Selection::detect(default_config()));
        #[cfg(any(target_has_atomic = "64", target_has_atomic = "32"))]
        {
            self.settle_by_compare_and_swap(detected)
        }
        #[cfg(not(any(target_has_atomic = "64", target_has_atomic = "32")))]
        {
            self.settle_by_loads_and_stores(detected)
        }
    }

    /// Stores `detected` only into an empty cell.
    #[cfg(any(target_has_atomic = "64", target_has_atomic = "32"))]
    fn settle_by_compare_and_swap(&self, detected: Word) -> Word {
        match self
            .word
            .compare_exchange(0, detected.0, Ordering::SeqCst, Ordering::SeqCst)
        {
            Ok(_) => detected,
            Err(current) => Word(current),
        }
    }

    /// Stores `detected`, then puts back any configuration that a racing `configure` made.
    ///
    /// Why a configuration always survives (all accesses sequentially consistent): `configure`
    /// stores its word in `configured`, then in `word`. This loop stores into `word`, then
    /// loads `configured`, and ends only when the load returns what it just stored (or no
    /// configuration exists). A `configure` whose store to `word` came before ours has its store
    /// to `configured` before our load, so we see it and store it again; one whose store came
    /// after ours leaves its own word in the cell. A configuration that changes between our load
    /// and our store is seen by the next load. Configurations are rare, so the loop ends.
    #[cfg_attr(
        any(target_has_atomic = "64", target_has_atomic = "32"),
        allow(dead_code)
    )]
    fn settle_by_loads_and_stores(&self, detected: Word) -> Word {
        let mut ours = detected.0;
        loop {
            self.word.store(ours, Ordering::SeqCst);
            match self.configured.load(Ordering::SeqCst) {
                0 => return Word(ours),
                c if c == ours => return Word(ours),
                c => ours = c,
            }
        }
    }

    /// The first use with the load/store-only rule, whatever the target (tests run it on the
    /// host).
    #[cfg(test)]
    fn word_by_loads_and_stores(&self) -> Word {
        match self.get() {
            Some(w) => w,
            None => {
                self.settle_by_loads_and_stores(Word::pack(&Selection::detect(default_config())))
            }
        }
    }

    /// Replaces the cached selection (`configure`): always wins over a racing detection.
    pub(crate) fn store(&self, sel: &Selection) -> Word {
        let word = Word::pack(sel);
        self.configured.store(word.0, Ordering::SeqCst);
        self.word.store(word.0, Ordering::SeqCst);
        word
    }

    /// The whole cached selection, detecting first if needed.
    pub(crate) fn selection(&self) -> Selection {
        self.word().unpack()
    }
}

/// The selection the free functions use.
pub(crate) static GLOBAL: Cell = Cell::new();

/// The configuration the first use detects with: libpmem's environment variables with the
/// `std` feature, libpmem's defaults without.
fn default_config() -> Config {
    #[cfg(all(feature = "std", not(all(docsrs, target_os = "none"))))]
    {
        Config::from_env()
    }
    #[cfg(not(all(feature = "std", not(all(docsrs, target_os = "none")))))]
    {
        Config::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Barrier;
    use std::vec::Vec;

    /// Every subset of `features`.
    fn subsets(features: Features) -> Vec<Features> {
        let flags: Vec<Features> = features.iter().collect();
        (0..1u32 << flags.len())
            .map(|m| {
                let chosen = flags.iter().enumerate().filter(|(i, _)| m & (1 << i) != 0);
                chosen.fold(Features::empty(), |acc, (_, f)| acc | *f)
            })
            .collect()
    }

    #[test]
    fn packing_round_trips_every_host_selection() {
        let host = Arch::HOST.features();
        let mut checked = 0;
        for features in subsets(host) {
            // The last but one masks each architecture's evictions (what `Word::evict` derives).
            let evictions = Features::CLFLUSHOPT | Features::DC_CVAC | Features::DCBF;
            for disabled in [
                Features::empty(),
                Features::CLWB,
                Features::DC_CVAP,
                evictions | Features::ZICBOM,
                host,
            ] {
                for (granularity, nt, threshold) in [
                    (Granularity::CacheLine, true, 256),
                    (Granularity::Byte, false, 0),
                    (Granularity::CacheLine, true, usize::MAX),
                    (Granularity::Byte, true, 4095),
                ] {
                    for (line_size, movdir64b) in
                        [(16, true), (64, false), (128, true), (2048, false)]
                    {
                        // What detection could not ask about travels with the word (never on
                        // x86-64, where detection asks for everything).
                        for unasked in unasked_options(features) {
                            let cpu = Cpu::new(features, line_size).with_unasked(unasked);
                            let config = Config::new()
                                .disable(disabled)
                                .with_granularity(granularity)
                                .with_non_temporal(nt)
                                .with_movdir64b(movdir64b)
                                .with_nt_threshold(threshold);
                            let sel = Selection::new(&cpu, config);
                            let cell = Cell::new();
                            let word = cell.store(&sel);
                            assert_ne!(word.0, 0);
                            assert_eq!(cell.selection(), sel);
                            assert_eq!(
                                (word.flush(), word.deep()),
                                (sel.flush_write_back(), sel.deep_flush_write_back())
                            );
                            assert_eq!(1usize << word.shift(), sel.line_size());
                            assert_eq!(word.evict(), sel.evict_write_back());
                            assert_eq!(word.is_durable(), sel.is_durable(), "{sel}");
                            assert_eq!(
                                crate::Flusher::from_word(word).is_durable(),
                                sel.is_durable()
                            );
                            assert_eq!(word.non_temporal(), sel.non_temporal());
                            assert_eq!(word.nt_threshold(), threshold);
                            // The hot path's one-compare test agrees with the decoded fields.
                            for kind in [
                                WriteBack::None,
                                WriteBack::Clwb,
                                WriteBack::DcCvap,
                                sel.flush_write_back(),
                            ] {
                                for shift in [4, 6, 7, 11] {
                                    let flush =
                                        kind == sel.flush_write_back() && shift == sel.line_shift();
                                    let deep = kind == sel.deep_flush_write_back()
                                        && shift == sel.line_shift();
                                    assert_eq!(word.is(false, kind, shift), flush);
                                    assert_eq!(word.is(true, kind, shift), deep);
                                }
                            }
                            checked += 1;
                        }
                    }
                }
            }
        }
        let per_cpu = if matches!(Arch::HOST, Arch::X86_64) {
            1
        } else {
            2
        };
        assert_eq!(checked, (1 << host.iter().count()) * 80 * per_cpu);
    }

    /// The unasked sets the round trip tries for a CPU with `features`: none, and (except on
    /// x86-64) every other feature of this architecture.
    fn unasked_options(features: Features) -> Vec<Features> {
        if matches!(Arch::HOST, Arch::X86_64) {
            std::vec![Features::empty()]
        } else {
            std::vec![
                Features::empty(),
                Arch::HOST.features().difference(features)
            ]
        }
    }

    #[test]
    fn racing_first_uses_agree() {
        static CELL: Cell = Cell::new();
        let threads = 8;
        let barrier = Barrier::new(threads);
        let seen: Vec<(Word, Selection)> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    s.spawn(|| {
                        barrier.wait();
                        (CELL.word(), CELL.selection())
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let expected = Selection::detect(default_config());
        for (word, sel) in seen {
            assert_eq!(word, Word::pack(&expected));
            assert_eq!(sel, expected);
        }
    }

    /// A first use racing `configure`: the configuration must survive, with either rule. The
    /// old cell (detection stored unconditionally) lost it in 11 of 200 such races.
    #[test]
    fn configure_always_wins_over_a_racing_first_use() {
        let configured = Selection::detect(default_config().with_granularity(Granularity::Byte));
        let detected = Selection::detect(default_config());
        assert_ne!(Word::pack(&configured), Word::pack(&detected));
        type FirstUse = fn(&Cell) -> Word;
        let rules: [(&str, FirstUse); 2] = [
            ("compare-and-swap", Cell::word),
            ("loads and stores", Cell::word_by_loads_and_stores),
        ];
        for (name, first_use) in rules {
            for round in 0..300 {
                let cell = Cell::new();
                let barrier = Barrier::new(2);
                std::thread::scope(|s| {
                    s.spawn(|| {
                        barrier.wait();
                        first_use(&cell);
                    });
                    s.spawn(|| {
                        barrier.wait();
                        // Vary who goes first.
                        for _ in 0..round % 7 * 50 {
                            core::hint::spin_loop();
                        }
                        cell.store(&configured);
                    });
                });
                assert_eq!(cell.selection(), configured, "{name}, round {round}");
            }
        }
    }

    /// Without a configuration, the load/store-only rule keeps what it detected.
    #[test]
    fn loads_and_stores_rule_keeps_detection_when_nothing_is_configured() {
        let cell = Cell::new();
        let w = cell.word_by_loads_and_stores();
        assert_eq!(w, Word::pack(&Selection::detect(default_config())));
        assert_eq!(cell.get(), Some(w));
    }
}
