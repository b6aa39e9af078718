//! Crash images: the parts of the region that may or may not have reached memory at a crash
//! point ("units"), and the walk over their combinations.

use alloc::collections::BTreeSet;
use alloc::vec;
use alloc::vec::Vec;
use core::ops::Range;

use crate::model::{Geometry, State};
use crate::options::Options;
use crate::report::{ImageChoice, Reached, Source};

/// A part of the region (a line, or an aligned word with torn lines) that holds its durable
/// bytes or one of its candidates in a crash image.
pub(crate) struct Unit {
    pub(crate) range: Range<usize>,
    pub(crate) original: Vec<u8>,
    /// Distinct contents, each different from `original`, with where they came from.
    pub(crate) candidates: Vec<(Vec<u8>, Source)>,
}

/// The units of the model's state now: every pending line (and every line stored to since its
/// last write-back, with evictions), whole or cut into words.
pub(crate) fn units(st: &State, geometry: &Geometry, options: &Options) -> Vec<Unit> {
    let mut lines: BTreeSet<usize> = st.pending.keys().copied().collect();
    if options.evictions() {
        lines.extend(st.dirty.iter().copied());
    }
    let mut units = Vec::new();
    for l in lines {
        let line = geometry.line_range(l);
        let mut contents: Vec<(&[u8], Source)> = Vec::new();
        if let Some(snapshots) = st.pending.get(&l) {
            let of = snapshots.len();
            for (i, s) in snapshots.iter().enumerate() {
                contents.push((s, Source::WriteBack { nth: i + 1, of }));
            }
        }
        if options.evictions() && st.dirty.contains(&l) {
            contents.push((&st.live[line.clone()], Source::Eviction));
        }
        if options.torn_lines() {
            for word in geometry.words(line.clone()) {
                let inner = word.start - line.start..word.end - line.start;
                let parts = contents.iter().map(|&(c, s)| (&c[inner.clone()], s));
                push_unit(&mut units, word.clone(), &st.durable[word], parts);
            }
        } else {
            let parts = contents.iter().copied();
            push_unit(&mut units, line.clone(), &st.durable[line], parts);
        }
    }
    units
}

fn push_unit<'a>(
    units: &mut Vec<Unit>,
    range: Range<usize>,
    original: &[u8],
    contents: impl Iterator<Item = (&'a [u8], Source)>,
) {
    let mut candidates: Vec<(Vec<u8>, Source)> = Vec::new();
    for (c, source) in contents {
        if c != original && !candidates.iter().any(|(d, _)| d == c) {
            candidates.push((c.to_vec(), source));
        }
    }
    if !candidates.is_empty() {
        units.push(Unit {
            range,
            original: original.to_vec(),
            candidates,
        });
    }
}

/// What a walk over a point's images did.
pub(crate) struct Run {
    /// Images handed to the check.
    pub(crate) images: u64,
    /// Images the point has (`u64::MAX` when that overflows).
    pub(crate) total: u64,
    pub(crate) sampled: bool,
    /// The image the check rejected.
    pub(crate) failed: Option<ImageChoice>,
}

/// SplitMix64: a small, good-enough generator for sampling, no dependency.
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Hands `check` each crash image of `units` over `image` (the durable image, restored after
/// each), until it returns `false`. Enumerates when there are at most
/// `options.max_enumerated()` images, else tries the two extremes and `options.samples()`
/// random ones.
pub(crate) fn run(
    units: &[Unit],
    image: &mut [u8],
    options: &Options,
    rng: &mut u64,
    mut check: impl FnMut(&[u8]) -> bool,
) -> Run {
    let total = units
        .iter()
        .try_fold(1u64, |n, u| n.checked_mul(u.candidates.len() as u64 + 1));
    let enumerate = matches!(total, Some(t) if t <= options.max_enumerated().max(1));
    let count = match total {
        Some(t) if enumerate => t,
        _ => options.samples().saturating_add(2),
    };
    let mut choice = vec![0usize; units.len()];
    for index in 0..count {
        if enumerate {
            let mut rest = index;
            for (c, u) in choice.iter_mut().zip(units) {
                let radix = u.candidates.len() as u64 + 1;
                *c = (rest % radix) as usize;
                rest /= radix;
            }
        } else {
            for (c, u) in choice.iter_mut().zip(units) {
                *c = match index {
                    0 => 0,
                    1 => u.candidates.len(),
                    _ => (next(rng) % (u.candidates.len() as u64 + 1)) as usize,
                };
            }
        }
        for (&c, u) in choice.iter().zip(units) {
            if c > 0 {
                image[u.range.clone()].copy_from_slice(&u.candidates[c - 1].0);
            }
        }
        let ok = check(image);
        for (&c, u) in choice.iter().zip(units) {
            if c > 0 {
                image[u.range.clone()].copy_from_slice(&u.original);
            }
        }
        if !ok {
            return Run {
                images: index + 1,
                total: total.unwrap_or(u64::MAX),
                sampled: !enumerate,
                failed: Some(describe(units, &choice, index, count, !enumerate)),
            };
        }
    }
    Run {
        images: count,
        total: total.unwrap_or(u64::MAX),
        sampled: !enumerate,
        failed: None,
    }
}

fn describe(
    units: &[Unit],
    choice: &[usize],
    index: u64,
    count: u64,
    sampled: bool,
) -> ImageChoice {
    let mut reached = Vec::new();
    let mut not_reached = Vec::new();
    for (&c, u) in choice.iter().zip(units) {
        if c > 0 {
            reached.push(Reached {
                range: u.range.clone(),
                source: u.candidates[c - 1].1,
            });
        } else {
            not_reached.push(u.range.clone());
        }
    }
    ImageChoice {
        index,
        count,
        sampled,
        reached,
        not_reached,
    }
}
