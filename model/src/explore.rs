//! Crash-point exploration: run an operation under the model and check every crash image.

use alloc::boxed::Box;
use alloc::vec;

use crate::model::Model;
use crate::options::Options;
use crate::report::{CrashReport, Failure, PointKind, Stats};

/// Runs `op` on a copy of `initial` under a [`Model`] with [`Options::new`], and hands every
/// crash image of every crash point to `check`: the start, after every write-back and
/// non-temporal copy, just before every drain completes, and the end. Returns what it explored,
/// or the first image `check` rejected (or the first store or write-back outside the region)
/// with the point that produced it (boxed: a report is a few hundred bytes).
///
/// `op` gets the region (a copy of `initial`, aligned to the line size) and the model, which
/// is the `Flush + Drain + Persist` value to pass to the code under test. `check` gets each
/// crash image, read-only: run your recovery on it and return `Err` when an invariant breaks.
/// `check` runs *during* `op`, at each crash point, so state shared through a `Cell` (how many
/// operations had completed, say) tells it what must have survived.
///
/// ```
/// use core::cell::Cell;
/// use pmem_flush::prelude::*;
///
/// // A counter that must never go backwards after a crash.
/// fn bump<P: Persist>(p: &P, region: &mut [u8]) {
///     let n = u64::from_le_bytes(region[..8].try_into().unwrap());
///     p.memcpy_persist(&mut region[..8], &(n + 1).to_le_bytes()).unwrap();
/// }
///
/// let done = Cell::new(0u64);
/// let stats = pmem_flush_model::explore(
///     &[0u8; 64],
///     |region, model| {
///         for _ in 0..5 {
///             bump(model, region);
///             done.set(done.get() + 1);
///         }
///     },
///     |image| {
///         let n = u64::from_le_bytes(image[..8].try_into().unwrap());
///         if n >= done.get() { Ok(()) } else { Err(format!("{n} < {}", done.get())) }
///     },
/// )
/// .unwrap();
/// assert_eq!(stats.drains, 5);
/// ```
pub fn explore<E>(
    initial: &[u8],
    op: impl FnOnce(&mut [u8], &Model<'_>),
    check: impl FnMut(&[u8]) -> Result<(), E>,
) -> Result<Stats, Box<CrashReport<E>>> {
    Options::new().explore(initial, op, check)
}

impl Options {
    /// [`explore`] with these options.
    ///
    /// ```
    /// use pmem_flush::prelude::*;
    /// use pmem_flush_model::Options;
    ///
    /// let stats = Options::new()
    ///     .with_torn_lines(true)
    ///     .explore(
    ///         &[0u8; 128],
    ///         |region, model| model.memset_persist(region, 0xff),
    ///         |image| if image.iter().all(|&b| b == 0 || b == 0xff) { Ok(()) } else { Err(()) },
    ///     )
    ///     .unwrap();
    /// // 16 words written back by one write-back: 2^16 images, sampled.
    /// assert_eq!(stats.sampled_points, 2);
    /// ```
    pub fn explore<E>(
        self,
        initial: &[u8],
        op: impl FnOnce(&mut [u8], &Model<'_>),
        mut check: impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<Stats, Box<CrashReport<E>>> {
        // The region starts on a line boundary, so offsets and addresses agree on lines.
        let align = self.line_size();
        let mut buf = vec![0u8; initial.len() + align];
        let skip = match buf.as_ptr().align_offset(align) {
            s if s < align => s,
            _ => 0,
        };
        let region = &mut buf[skip..skip + initial.len()];
        region.copy_from_slice(initial);

        let mut error = None;
        let mut checked = |image: &[u8]| match check(image) {
            Ok(()) => true,
            Err(e) => {
                error = Some(e);
                false
            }
        };
        let model = Model::observed(region, self, &mut checked);
        model.point(PointKind::Start);
        op(region, &model);
        model.point(PointKind::End);
        let (stats, failed) = model.finish();

        let Some(failed) = failed else {
            return Ok(stats);
        };
        let failure = match (failed.problem, error) {
            (Some(problem), _) => Failure::OutsideRegion(problem),
            (None, Some(e)) => Failure::Invariant(e),
            (None, None) => unreachable!("a failed check always leaves its error"),
        };
        Err(Box::new(CrashReport {
            point: failed.point,
            image: failed.image,
            failure,
            stats,
        }))
    }
}
