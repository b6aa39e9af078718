//! The detection cell: the selection the free functions use, packed into two atomic words.
//!
//! First use detects and stores; every later use is one relaxed load of the `hot` word. Two CPUs
//! racing the first use compute the same value and store it twice, which is harmless, so there is
//! no compare-and-swap and no lock: an interrupt handler can never wait on it, and targets with
//! only atomic loads and stores (no read-modify-write) can use it.
//!
//! `hot` holds what the flush paths need; `info` holds the facts behind the choice, read only to
//! explain it. A zero `hot` word means "not yet detected": every stored word has a line shift of
//! at least 4.

use core::sync::atomic::{AtomicU32, Ordering};

use crate::features::{Cpu, Features};
use crate::selection::{Config, Granularity, Selection, WriteBack};

// `info` packs the CPU's features and the disabled ones as 16 bits each.
static_assertions::const_assert!(Features::all().bits() <= 0xffff);

/// The unpacked `hot` word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Hot(u32);

impl Hot {
    const FLUSH: u32 = 0;
    const DEEP: u32 = 4;
    const BEST: u32 = 8;
    const SHIFT: u32 = 12;
    const BYTE_GRANULARITY: u32 = 1 << 16;

    const fn pack(sel: &Selection) -> Hot {
        let mut w = (sel.flush() as u32) << Self::FLUSH
            | (sel.deep_flush() as u32) << Self::DEEP
            | (sel.write_back() as u32) << Self::BEST
            | (sel.line_shift() as u32) << Self::SHIFT;
        if matches!(sel.config().get_granularity(), Granularity::Byte) {
            w |= Self::BYTE_GRANULARITY;
        }
        Hot(w)
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

    /// log2 of the line size.
    #[inline(always)]
    pub(crate) const fn shift(self) -> u8 {
        (self.0 >> Self::SHIFT) as u8 & 0xf
    }

    const fn best(self) -> WriteBack {
        WriteBack::from_u8((self.0 >> Self::BEST) as u8 & 0xf)
    }

    const fn granularity(self) -> Granularity {
        if self.0 & Self::BYTE_GRANULARITY != 0 {
            Granularity::Byte
        } else {
            Granularity::CacheLine
        }
    }
}

const fn pack_info(sel: &Selection) -> u32 {
    sel.cpu().features.bits() | sel.config().disabled().bits() << 16
}

/// The two words. `const`-constructible so that it can live in a `static`.
pub(crate) struct Cell {
    hot: AtomicU32,
    info: AtomicU32,
}

impl Cell {
    /// An empty cell: the first use detects.
    pub(crate) const fn new() -> Cell {
        Cell {
            hot: AtomicU32::new(0),
            info: AtomicU32::new(0),
        }
    }

    /// The flush-path word: one relaxed load once detected.
    #[inline(always)]
    pub(crate) fn hot(&self) -> Hot {
        let w = self.hot.load(Ordering::Relaxed);
        if w != 0 {
            Hot(w)
        } else {
            self.detect_and_store()
        }
    }

    #[cold]
    #[inline(never)]
    fn detect_and_store(&self) -> Hot {
        self.store(&Selection::detect(default_config()))
    }

    /// Replaces the cached selection.
    pub(crate) fn store(&self, sel: &Selection) -> Hot {
        let hot = Hot::pack(sel);
        self.info.store(pack_info(sel), Ordering::Relaxed);
        // Release: a reader that sees this `hot` with Acquire also sees the `info` above.
        self.hot.store(hot.0, Ordering::Release);
        hot
    }

    /// The whole cached selection, detecting first if needed.
    pub(crate) fn selection(&self) -> Selection {
        let mut w = self.hot.load(Ordering::Acquire);
        if w == 0 {
            w = self.detect_and_store().0;
        }
        let hot = Hot(w);
        let info = self.info.load(Ordering::Relaxed);
        let cpu = Cpu {
            features: Features::from_bits_truncate(info & 0xffff),
            line_size: 1 << hot.shift(),
        };
        let config = Config::new()
            .disable(Features::from_bits_truncate(info >> 16))
            .granularity(hot.granularity());
        Selection::from_parts(cpu, config, hot.best(), hot.deep())
    }
}

/// The configuration the first use detects with: libpmem's environment variables with the
/// `std` feature, libpmem's defaults without.
fn default_config() -> Config {
    #[cfg(feature = "std")]
    {
        Config::from_env()
    }
    #[cfg(not(feature = "std"))]
    {
        Config::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::selection::Arch;
    use std::sync::Barrier;
    use std::vec::Vec;

    #[test]
    fn packing_round_trips_every_host_selection() {
        let features = Arch::HOST.features();
        // Every subset of the host's features, both granularities, a few disable masks and
        // line sizes.
        let mut subsets = Vec::new();
        let bits: Vec<u32> = features.iter().map(|f| f.bits()).collect();
        for m in 0..(1u32 << bits.len()) {
            let mut f = Features::empty();
            for (i, b) in bits.iter().enumerate() {
                if m & (1 << i) != 0 {
                    f |= Features::from_bits_truncate(*b);
                }
            }
            subsets.push(f);
        }
        for &f in &subsets {
            for disabled in [Features::empty(), Features::CLWB, features] {
                for gran in [Granularity::CacheLine, Granularity::Byte] {
                    for line_size in [16, 64, 128, 2048] {
                        let cpu = Cpu {
                            features: f,
                            line_size,
                        };
                        let sel =
                            Selection::new(&cpu, Config::new().disable(disabled).granularity(gran));
                        let cell = Cell::new();
                        cell.store(&sel);
                        assert_eq!(cell.selection(), sel);
                        assert_ne!(cell.hot().0, 0);
                    }
                }
            }
        }
    }

    #[test]
    fn racing_first_uses_agree() {
        static CELL: Cell = Cell::new();
        let threads = 8;
        let barrier = Barrier::new(threads);
        let seen: Vec<(Hot, Selection)> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    s.spawn(|| {
                        barrier.wait();
                        (CELL.hot(), CELL.selection())
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let expected = Selection::detect(default_config());
        for (hot, sel) in seen {
            assert_eq!(hot, Hot::pack(&expected));
            assert_eq!(sel, expected);
        }
    }
}
