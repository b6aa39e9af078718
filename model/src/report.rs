//! What exploration reports: where it stopped ([`Point`]), which crash image
//! ([`ImageChoice`]), why ([`Failure`]), and how much it tried ([`Stats`]).

use alloc::vec::Vec;
use core::fmt;
use core::ops::Range;

/// A moment of the operation at which the explorer crashed it: a step of the model and what
/// the step was.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Point {
    /// The model's step counter when the point was taken: every store, write-back and drain
    /// through the model is one step (step 0 is the start).
    pub step: u64,
    /// What the step was.
    pub kind: PointKind,
}

/// What a crash point follows. Offsets are from the start of the registered region; `offset`
/// is `None` when the range starts outside it (its address is in `addr`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PointKind {
    /// Before the operation: the initial image.
    Start,
    /// After the `nth` store through the model (a copy's stores, a commit word), taken only
    /// with [`Options::with_evictions`](crate::Options::with_evictions).
    Store {
        /// 1-based count of stores.
        nth: u64,
        /// The store's address.
        addr: usize,
        /// Its offset in the region.
        offset: Option<usize>,
        /// Its length in bytes.
        len: usize,
    },
    /// After the `nth` write-back (`flush_raw`, whatever called it).
    WriteBack {
        /// 1-based count of write-backs.
        nth: u64,
        /// The range's address.
        addr: usize,
        /// Its offset in the region.
        offset: Option<usize>,
        /// Its length in bytes.
        len: usize,
    },
    /// After the `nth` copy that used non-temporal stores: its lines are written back, not yet
    /// drained.
    NonTemporal {
        /// 1-based count of non-temporal copies.
        nth: u64,
        /// The destination's address.
        addr: usize,
        /// Its offset in the region.
        offset: Option<usize>,
        /// Its length in bytes.
        len: usize,
    },
    /// Just before the `nth` drain completes: everything written back may or may not have
    /// reached memory yet.
    Drain {
        /// 1-based count of drains.
        nth: u64,
    },
    /// After the operation returned.
    End,
}

fn range_words(
    f: &mut fmt::Formatter<'_>,
    what: &str,
    addr: usize,
    offset: Option<usize>,
    len: usize,
) -> fmt::Result {
    match offset {
        Some(o) => write!(f, "{what} of {len} bytes at offset {o}"),
        None => write!(
            f,
            "{what} of {len} bytes at address {addr:#x}, outside the region"
        ),
    }
}

impl fmt::Display for PointKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            PointKind::Start => f.write_str("the start"),
            PointKind::Store {
                nth,
                addr,
                offset,
                len,
            } => {
                write!(f, "store #{nth} (")?;
                range_words(f, "store", addr, offset, len)?;
                f.write_str(")")
            }
            PointKind::WriteBack {
                nth,
                addr,
                offset,
                len,
            } => {
                write!(f, "write-back #{nth} (")?;
                range_words(f, "flush_raw", addr, offset, len)?;
                f.write_str(")")
            }
            PointKind::NonTemporal {
                nth,
                addr,
                offset,
                len,
            } => {
                write!(f, "non-temporal copy #{nth} (")?;
                range_words(f, "copy", addr, offset, len)?;
                f.write_str(")")
            }
            PointKind::Drain { nth } => write!(f, "drain #{nth}"),
            PointKind::End => f.write_str("the end of the operation"),
        }
    }
}

impl fmt::Display for Point {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (step {})", self.kind, self.step)
    }
}

/// A store or write-back through the model that reached outside the registered region: a flush
/// of a stack copy instead of the persistent data, a range one line too far. The model cannot
/// see what it was meant to persist, so exploration stops there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Problem {
    /// Where it happened (the store, write-back or copy).
    pub point: Point,
    /// The range's address.
    pub addr: usize,
    /// Its length in bytes.
    pub len: usize,
    /// The registered region's address.
    pub region_addr: usize,
    /// The registered region's length.
    pub region_len: usize,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: [{:#x}, +{}) is not inside the registered region [{:#x}, +{})",
            self.point, self.addr, self.len, self.region_addr, self.region_len
        )
    }
}

/// Where the bytes of a part of a crash image came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Source {
    /// The `nth` of `of` write-backs of this line since the last drain (a non-temporal copy
    /// counts as one).
    WriteBack {
        /// 1-based.
        nth: usize,
        /// The write-backs of the line since the last drain.
        of: usize,
    },
    /// An eviction of the line with its current contents
    /// ([`Options::with_evictions`](crate::Options::with_evictions)).
    Eviction,
}

/// A part of the region (a line, or an aligned 8-byte word with torn lines) that reached
/// memory in a crash image.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Reached {
    /// Offsets in the region.
    pub range: Range<usize>,
    /// Which of its contents.
    pub source: Source,
}

/// Which crash image of a point: what reached memory beyond the durable image, and what did
/// not.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ImageChoice {
    /// 0-based index among the point's images.
    pub index: u64,
    /// How many images the point had (enumerated), or tried (sampled).
    pub count: u64,
    /// Whether the point was sampled rather than enumerated.
    pub sampled: bool,
    /// The parts that reached memory, in offset order.
    pub reached: Vec<Reached>,
    /// The parts written back (or evictable) that did not, in offset order.
    pub not_reached: Vec<Range<usize>>,
}

const SHOWN: usize = 8;

impl fmt::Display for ImageChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "image {} of {} ({})",
            self.index + 1,
            self.count,
            if self.sampled {
                "sampled"
            } else {
                "enumerated"
            }
        )?;
        f.write_str(": reached memory: ")?;
        if self.reached.is_empty() {
            f.write_str("nothing")?;
        }
        for (i, r) in self.reached.iter().take(SHOWN).enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "[{}..{})", r.range.start, r.range.end)?;
            match r.source {
                Source::WriteBack { of: 1, .. } => {}
                Source::WriteBack { nth, of } => write!(f, " (write-back {nth} of {of})")?,
                Source::Eviction => f.write_str(" (evicted)")?,
            }
        }
        if self.reached.len() > SHOWN {
            write!(f, " and {} more", self.reached.len() - SHOWN)?;
        }
        f.write_str("; did not: ")?;
        if self.not_reached.is_empty() {
            f.write_str("nothing")?;
        }
        for (i, r) in self.not_reached.iter().take(SHOWN).enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "[{}..{})", r.start, r.end)?;
        }
        if self.not_reached.len() > SHOWN {
            write!(f, " and {} more", self.not_reached.len() - SHOWN)?;
        }
        Ok(())
    }
}

/// How much the model saw and the explorer tried.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Stats {
    /// Crash points explored.
    pub points: u64,
    /// Crash images handed to the check.
    pub images: u64,
    /// Points with too many images to enumerate, sampled instead.
    pub sampled_points: u64,
    /// The most images one point had (enumerated) or would have had (sampled; `u64::MAX` when
    /// the count overflows).
    pub largest_point: u64,
    /// Steps of the model: stores, write-backs and drains.
    pub steps: u64,
    /// Stores through the model (each copy's stores count once, and so does a commit word).
    pub stores: u64,
    /// Write-backs (`flush_raw` with a non-empty range).
    pub write_backs: u64,
    /// Copies that used non-temporal stores.
    pub non_temporal: u64,
    /// Drains.
    pub drains: u64,
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} crash images at {} crash points ({} sampled, largest {}); {} steps: {} stores, \
             {} write-backs, {} non-temporal copies, {} drains",
            self.images,
            self.points,
            self.sampled_points,
            self.largest_point,
            self.steps,
            self.stores,
            self.write_backs,
            self.non_temporal,
            self.drains
        )
    }
}

/// Why exploration stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failure<E> {
    /// The check rejected a crash image: the recovery broke an invariant.
    Invariant(E),
    /// A store or write-back reached outside the registered region.
    OutsideRegion(Problem),
}

impl<E: fmt::Display> fmt::Display for Failure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Invariant(e) => write!(f, "the check failed: {e}"),
            Failure::OutsideRegion(p) => write!(f, "outside the region: {p}"),
        }
    }
}

/// The first crash image whose check failed (or the first access outside the region), with
/// the point that produced it.
///
/// Its `Display` is the report to print (here, from the crash log's test of a flush one byte
/// short):
///
/// ```text
/// crash at write-back #11 (flush_raw of 8 bytes at offset 24) (step 38), image 2 of 2 (enumerated): reached memory: [0..64); did not: nothing
/// the check failed: record #3 is torn: byte 168 of 169 is 0x00, 0xd4 was appended
/// (explored: 113 crash images at 22 crash points (0 sampled, largest 32); 20035 steps: 8010 stores, 6047 write-backs, 0 non-temporal copies, 5978 drains)
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CrashReport<E> {
    /// The crash point.
    pub point: Point,
    /// The image at that point (`None` for [`Failure::OutsideRegion`]).
    pub image: Option<ImageChoice>,
    /// What went wrong.
    pub failure: Failure<E>,
    /// The crash points and images explored up to the failure (the failing image included);
    /// the counts of steps cover the whole operation, which runs to its end (exploration
    /// cannot stop it, it only stops checking).
    pub stats: Stats,
}

impl<E> CrashReport<E> {
    /// The check's error, if it was the check that failed.
    pub fn error(&self) -> Option<&E> {
        match &self.failure {
            Failure::Invariant(e) => Some(e),
            Failure::OutsideRegion(_) => None,
        }
    }
}

impl<E: fmt::Display> fmt::Display for CrashReport<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "crash at {}", self.point)?;
        if let Some(image) = &self.image {
            write!(f, ", {image}")?;
        }
        write!(f, "\n{}\n(explored: {})", self.failure, self.stats)
    }
}

impl<E: fmt::Debug + fmt::Display> core::error::Error for CrashReport<E> {}
