//! [`Model`]: the shadow images and the trait implementations that keep them.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::fmt;
use core::ops::Range;

use pmem_flush::{Drain, Flush, Granularity, MemFlags, NonTemporal, Persist, Plan, Stores, choose};

use crate::images;
use crate::options::Options;
use crate::report::{ImageChoice, Point, PointKind, Problem, Stats};

/// Where the region lies and how it is cut into lines and words. Lines and words are aligned
/// in the address space, as the hardware aligns them, so a region that starts in the middle of
/// a line has a partial first line.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Geometry {
    pub(crate) base: usize,
    pub(crate) len: usize,
    pub(crate) line: usize,
}

impl Geometry {
    fn line_of(&self, offset: usize) -> usize {
        (offset + (self.base & (self.line - 1))) / self.line
    }

    /// The offsets line `l` covers inside the region.
    pub(crate) fn line_range(&self, l: usize) -> Range<usize> {
        let misalign = self.base & (self.line - 1);
        let start = (l * self.line).saturating_sub(misalign);
        let end = ((l + 1) * self.line - misalign).min(self.len);
        start..end
    }

    /// The lines that overlap the offsets `r`.
    pub(crate) fn lines(&self, r: &Range<usize>) -> Range<usize> {
        if r.is_empty() {
            0..0
        } else {
            self.line_of(r.start)..self.line_of(r.end - 1) + 1
        }
    }

    /// The aligned 8-byte words (by address) that make up the offsets `r`, each cut to `r`.
    pub(crate) fn words(&self, r: Range<usize>) -> impl Iterator<Item = Range<usize>> {
        let misalign = self.base & 7;
        let mut at = r.start;
        core::iter::from_fn(move || {
            if at >= r.end {
                return None;
            }
            let next = ((at + misalign) / 8 + 1) * 8 - misalign;
            let word = at..next.min(r.end);
            at = word.end;
            Some(word)
        })
    }

    /// The offset of `addr` when it lies in the region.
    pub(crate) fn offset(&self, addr: usize) -> Option<usize> {
        addr.checked_sub(self.base).filter(|&o| o < self.len)
    }

    /// The offsets of the part of `[addr, addr + len)` inside the region (cut at the top of the
    /// address space, as a flush is), and whether all of it is inside.
    pub(crate) fn clip(&self, addr: usize, len: usize) -> (Range<usize>, bool) {
        let end = addr.saturating_add(len);
        let region_end = self.base + self.len;
        let inside = addr >= self.base && end <= region_end;
        let (start, stop) = (addr.max(self.base), end.min(region_end));
        if start < stop {
            (start - self.base..stop - self.base, inside)
        } else {
            (0..0, inside)
        }
    }
}

/// The three images and the bookkeeping.
pub(crate) struct State {
    /// What was stored through the model (and adopted from flushed ranges).
    pub(crate) live: Vec<u8>,
    /// What survives any crash.
    pub(crate) durable: Vec<u8>,
    /// Lines written back since the last drain: each write-back's contents, oldest first.
    pub(crate) pending: BTreeMap<usize, Vec<Vec<u8>>>,
    /// Lines stored to since their last write-back.
    pub(crate) dirty: BTreeSet<usize>,
    /// The counts (`steps`, `stores`, ...); the observer keeps the exploration's.
    pub(crate) counts: Stats,
    pub(crate) problems: Vec<Problem>,
    pub(crate) rng: u64,
}

/// The first failure an observed model saw.
pub(crate) struct Failed {
    pub(crate) point: Point,
    pub(crate) image: Option<ImageChoice>,
    pub(crate) problem: Option<Problem>,
}

/// The explorer's side of an observed model: the check, and what it found.
pub(crate) struct Observer<'c> {
    check: &'c mut dyn FnMut(&[u8]) -> bool,
    failed: Option<Failed>,
    stats: Stats,
}

/// A persistence model of one region: it implements [`Flush`], [`Drain`] and [`Persist`], so
/// code written against the traits runs on it unchanged, and it keeps three images of the
/// region: what was stored (live), what was written back but not drained (pending lines), and
/// what is durable.
///
/// Copies ([`Persist::memcpy_persist`] and every other form) and [`Persist::commit`] store
/// into the region through the pointers they are given, as on hardware, and record the bytes
/// in the model's live image. [`Flush::flush_raw`] writes lines of the live image back (pending
/// until the next drain), [`Drain::drain`] makes them durable. [`crash_images`](Model::crash_images)
/// lists what memory may hold after a crash now. The crate documentation lists the assumptions.
///
/// The model keeps only the region's address, never a reference to it: it reads user memory
/// only through the pointers a copy or a flush hands it.
///
/// ```
/// use pmem_flush::prelude::*;
/// use pmem_flush_model::Model;
///
/// let mut region = [0u8; 128];
/// let model = Model::new(&region);
/// model.memcpy(&mut region[..4], b"abcd", pmem_flush::MemFlags::NOFLUSH).unwrap();
/// model.memcpy(&mut region[64..68], b"wxyz", pmem_flush::MemFlags::NOFLUSH).unwrap();
/// model.flush(&region[..4]); // the first line is written back, the second is not
/// let images = model.crash_images();
/// assert_eq!(images.len(), 2); // the first line reached memory, or it did not
/// assert!(images.iter().all(|i| i[64..68] == [0; 4])); // never written back: lost
/// model.drain();
/// assert_eq!(&model.durable()[..4], b"abcd");
/// ```
pub struct Model<'c> {
    options: Options,
    geometry: Geometry,
    state: RefCell<State>,
    observer: Option<RefCell<Observer<'c>>>,
}

impl fmt::Debug for Model<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.state.borrow();
        f.debug_struct("Model")
            .field("options", &self.options)
            .field("region_addr", &self.geometry.base)
            .field("region_len", &self.geometry.len)
            .field("pending_lines", &st.pending.len())
            .field("counts", &st.counts)
            .field("observed", &self.observer.is_some())
            .finish()
    }
}

impl Model<'static> {
    /// A model of `region` with [`Options::new`]: its bytes now are the initial live and
    /// durable images. Only the region's address is kept.
    #[must_use]
    pub fn new(region: &[u8]) -> Model<'static> {
        Model::with_options(region, Options::new())
    }

    /// A model of `region` with `options`.
    #[must_use]
    pub fn with_options(region: &[u8], options: Options) -> Model<'static> {
        Model::build(region, options, None)
    }
}

impl<'c> Model<'c> {
    fn build(region: &[u8], options: Options, observer: Option<Observer<'c>>) -> Model<'c> {
        Model {
            options,
            geometry: Geometry {
                base: region.as_ptr() as usize,
                len: region.len(),
                line: options.line_size(),
            },
            state: RefCell::new(State {
                live: region.to_vec(),
                durable: region.to_vec(),
                pending: BTreeMap::new(),
                dirty: BTreeSet::new(),
                counts: Stats::default(),
                problems: Vec::new(),
                rng: options.seed(),
            }),
            observer: observer.map(RefCell::new),
        }
    }

    /// A model that hands every crash image to `check` at every crash point, until it fails.
    pub(crate) fn observed(
        region: &[u8],
        options: Options,
        check: &'c mut dyn FnMut(&[u8]) -> bool,
    ) -> Model<'c> {
        let observer = Observer {
            check,
            failed: None,
            stats: Stats::default(),
        };
        Model::build(region, options, Some(observer))
    }

    /// The statistics and the first failure of an observed model.
    pub(crate) fn finish(self) -> (Stats, Option<Failed>) {
        let counts = self.state.into_inner().counts;
        match self.observer {
            Some(o) => {
                let o = o.into_inner();
                let stats = Stats {
                    points: o.stats.points,
                    images: o.stats.images,
                    sampled_points: o.stats.sampled_points,
                    largest_point: o.stats.largest_point,
                    ..counts
                };
                (stats, o.failed)
            }
            None => (counts, None),
        }
    }

    /// The options it was built with.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// The durable image: what memory holds after a crash now if nothing pending reached it.
    #[must_use]
    pub fn durable(&self) -> Vec<u8> {
        self.state.borrow().durable.clone()
    }

    /// The live image: the initial bytes and everything stored through the model since (plus
    /// plain stores that a flush through the model covered).
    #[must_use]
    pub fn live(&self) -> Vec<u8> {
        self.state.borrow().live.clone()
    }

    /// The lines written back and not yet drained, as offset ranges in the region.
    #[must_use]
    pub fn pending(&self) -> Vec<Range<usize>> {
        let st = self.state.borrow();
        st.pending
            .keys()
            .map(|&l| self.geometry.line_range(l))
            .collect()
    }

    /// The lines stored to through the model since their last write-back, as offset ranges:
    /// lost in every crash image, unless evictions are modelled.
    #[must_use]
    pub fn unflushed(&self) -> Vec<Range<usize>> {
        let st = self.state.borrow();
        st.dirty
            .iter()
            .map(|&l| self.geometry.line_range(l))
            .collect()
    }

    /// Every image memory may hold after a crash now: the durable image with each pending line
    /// (or word, with torn lines; or evictable line) either reached or not. Enumerated, the
    /// first image is the durable one and the last has everything reached; sampled (more
    /// images than [`Options::with_max_enumerated`]), those two come first.
    #[must_use]
    pub fn crash_images(&self) -> Vec<Vec<u8>> {
        let st = self.state.borrow();
        let units = images::units(&st, &self.geometry, &self.options);
        let mut image = st.durable.clone();
        let mut rng = st.rng;
        let mut out = Vec::new();
        images::run(&units, &mut image, &self.options, &mut rng, |img| {
            out.push(img.to_vec());
            true
        });
        out
    }

    /// Stores and write-backs so far that reached outside the region.
    #[must_use]
    pub fn problems(&self) -> Vec<Problem> {
        self.state.borrow().problems.clone()
    }

    /// The counts so far: steps, stores, write-backs, non-temporal copies, drains.
    #[must_use]
    pub fn counts(&self) -> Stats {
        self.state.borrow().counts
    }

    /// The plan of a copy under this model: [`choose`] at cache-line granularity with the
    /// model's threshold, non-temporal stores where the options allow them.
    #[must_use]
    pub fn plan(&self, flags: MemFlags, len: usize) -> Plan {
        let nt = if self.options.non_temporal() {
            NonTemporal::Sse2
        } else {
            NonTemporal::None
        };
        choose(
            flags,
            len,
            Granularity::CacheLine,
            self.options.nt_threshold(),
            nt,
        )
    }

    /// Records that `bytes` were stored at `addr`.
    fn store(&self, addr: usize, bytes: &[u8]) {
        let (kind, outside) = {
            let mut st = self.state.borrow_mut();
            st.counts.steps += 1;
            st.counts.stores += 1;
            let (r, inside) = self.geometry.clip(addr, bytes.len());
            if !r.is_empty() {
                let from = self.geometry.base + r.start - addr;
                st.live[r.clone()].copy_from_slice(&bytes[from..from + r.len()]);
                let lines = self.geometry.lines(&r);
                st.dirty.extend(lines);
            }
            let kind = PointKind::Store {
                nth: st.counts.stores,
                addr,
                offset: self.geometry.offset(addr),
                len: bytes.len(),
            };
            (kind, !inside)
        };
        if outside {
            self.problem(kind, addr, bytes.len());
        }
        if self.options.evictions() {
            self.point(kind);
        }
    }

    /// Writes back the lines over `[addr, addr + len)` (a flush, or a non-temporal copy),
    /// adopting first the bytes of the range from memory when `adopt` says where to read them.
    ///
    /// # Safety
    ///
    /// When `adopt` is `Some(p)`, `p as usize == addr` and `[p, p + len)` is readable.
    unsafe fn write_back(
        &self,
        addr: usize,
        len: usize,
        adopt: Option<*const u8>,
        non_temporal: bool,
    ) {
        let (kind, outside) = {
            let mut st = self.state.borrow_mut();
            let st = &mut *st;
            st.counts.steps += 1;
            let nth = if non_temporal {
                st.counts.non_temporal += 1;
                st.counts.non_temporal
            } else {
                st.counts.write_backs += 1;
                st.counts.write_backs
            };
            let (r, inside) = self.geometry.clip(addr, len);
            if let (Some(p), false) = (adopt, r.is_empty()) {
                let skip = self.geometry.base + r.start - addr;
                // SAFETY: `[p, p + len)` is readable (this function's contract) and
                // `[skip, skip + r.len())` lies inside it; `live[r]` is our own buffer.
                unsafe {
                    core::ptr::copy_nonoverlapping(
                        p.add(skip),
                        st.live[r.clone()].as_mut_ptr(),
                        r.len(),
                    );
                }
            }
            for l in self.geometry.lines(&r) {
                let snapshot = &st.live[self.geometry.line_range(l)];
                let snapshots = st.pending.entry(l).or_default();
                if snapshots.last().map(Vec::as_slice) != Some(snapshot) {
                    snapshots.push(snapshot.to_vec());
                }
                st.dirty.remove(&l);
            }
            let offset = self.geometry.offset(addr);
            let kind = if non_temporal {
                PointKind::NonTemporal {
                    nth,
                    addr,
                    offset,
                    len,
                }
            } else {
                PointKind::WriteBack {
                    nth,
                    addr,
                    offset,
                    len,
                }
            };
            (kind, !inside)
        };
        // A non-temporal copy outside the region was reported at its store.
        if outside && !non_temporal {
            self.problem(kind, addr, len);
        }
        self.point(kind);
    }

    /// A copy's stores are done: write back as its plan says.
    fn stored(&self, dst: *mut u8, len: usize, plan: Plan) {
        match plan.stores() {
            // SAFETY: no adoption, so nothing is read.
            Stores::NonTemporal(_) => unsafe { self.write_back(dst as usize, len, None, true) },
            // The model's live image already holds exactly what the copy stored, so the
            // write-back reads nothing from `dst`.
            // SAFETY: no adoption, so nothing is read.
            Stores::TemporalWriteBack => unsafe { self.write_back(dst as usize, len, None, false) },
            _ => {}
        }
    }

    fn problem(&self, kind: PointKind, addr: usize, len: usize) {
        let problem = {
            let mut st = self.state.borrow_mut();
            let problem = Problem {
                point: Point {
                    step: st.counts.steps,
                    kind,
                },
                addr,
                len,
                region_addr: self.geometry.base,
                region_len: self.geometry.len,
            };
            st.problems.push(problem);
            problem
        };
        if let Some(observer) = &self.observer {
            let mut o = observer.borrow_mut();
            if o.failed.is_none() {
                o.failed = Some(Failed {
                    point: problem.point,
                    image: None,
                    problem: Some(problem),
                });
            }
        }
    }

    /// A crash point: hands every crash image to the observer's check (observed models only,
    /// and only until the first failure).
    pub(crate) fn point(&self, kind: PointKind) {
        let Some(observer) = &self.observer else {
            return;
        };
        let mut o = observer.borrow_mut();
        let o = &mut *o;
        if o.failed.is_some() {
            return;
        }
        let mut st = self.state.borrow_mut();
        let point = Point {
            step: st.counts.steps,
            kind,
        };
        let units = images::units(&st, &self.geometry, &self.options);
        let st = &mut *st;
        let check = &mut o.check;
        let run = images::run(&units, &mut st.durable, &self.options, &mut st.rng, |img| {
            check(img)
        });
        o.stats.points += 1;
        o.stats.images += run.images;
        o.stats.sampled_points += u64::from(run.sampled);
        o.stats.largest_point = o.stats.largest_point.max(run.total);
        if let Some(image) = run.failed {
            o.failed = Some(Failed {
                point,
                image: Some(image),
                problem: None,
            });
        }
    }
}

impl Flush for Model<'_> {
    /// Writes back (into the model's pending set) every line that overlaps the range, with the
    /// live image's contents; the bytes of the range itself are first read from memory through
    /// `addr`, so plain stores a flush covers are seen. A range (or part of one) outside the
    /// region is recorded as a [`Problem`]. Never writes through `addr`.
    unsafe fn flush_raw(&self, addr: *const u8, len: usize) {
        if len == 0 {
            return;
        }
        // SAFETY: the caller's contract: `[addr, addr + len)` is readable.
        unsafe { self.write_back(addr as usize, len, Some(addr), false) }
    }
}

impl Drain for Model<'_> {
    /// A crash point with everything pending, then every pending line becomes durable (its
    /// latest write-back).
    fn drain(&self) {
        let nth = {
            let mut st = self.state.borrow_mut();
            st.counts.steps += 1;
            st.counts.drains += 1;
            st.counts.drains
        };
        self.point(PointKind::Drain { nth });
        let mut st = self.state.borrow_mut();
        let st = &mut *st;
        for (l, snapshots) in core::mem::take(&mut st.pending) {
            if let Some(latest) = snapshots.last() {
                st.durable[self.geometry.line_range(l)].copy_from_slice(latest);
            }
        }
    }
}

impl Persist for Model<'_> {
    /// Stores through `dst` as on hardware and records the bytes; then, as [`Model::plan`]
    /// says: non-temporal stores make the lines pending at once, ordinary stores are written
    /// back with one write-back of the range (not with `NOFLUSH`); a drain follows unless
    /// `NODRAIN` or `NOFLUSH`, even for `len == 0` or `dst == src`.
    unsafe fn memmove_raw(
        &self,
        dst: *mut u8,
        src: *const u8,
        len: usize,
        flags: MemFlags,
    ) -> *mut u8 {
        let plan = self.plan(flags, len);
        if len != 0 && dst.cast_const() != src {
            let mut bytes = vec![0u8; len];
            // SAFETY: `src` is readable for `len` bytes (the caller's contract); `bytes` is
            // ours, `len` bytes long.
            unsafe { core::ptr::copy_nonoverlapping(src, bytes.as_mut_ptr(), len) };
            // SAFETY: `dst` is writable for `len` bytes (the caller's contract); `bytes` is
            // ours, so the two cannot overlap.
            unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), dst, len) };
            self.store(dst as usize, &bytes);
            self.stored(dst, len, plan);
        }
        if plan.drains() {
            self.drain();
        }
        dst
    }

    /// As [`memmove_raw`](Model::memmove_raw), for a fill.
    unsafe fn memset_raw(&self, dst: *mut u8, value: u8, len: usize, flags: MemFlags) -> *mut u8 {
        let plan = self.plan(flags, len);
        if len != 0 {
            let bytes = vec![value; len];
            // SAFETY: `dst` is writable for `len` bytes (the caller's contract); `bytes` is
            // ours.
            unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), dst, len) };
            self.store(dst as usize, &bytes);
            self.stored(dst, len, plan);
        }
        if plan.drains() {
            self.drain();
        }
        dst
    }

    /// Stores `value` into `word` (one store, which the model never tears), records it, then
    /// writes the word's line back and drains.
    #[cfg(target_has_atomic = "64")]
    fn commit(&self, word: &core::sync::atomic::AtomicU64, value: u64) {
        word.store(value, core::sync::atomic::Ordering::Release);
        self.store(word.as_ptr() as usize, &value.to_ne_bytes());
        self.flush_value(word);
        self.drain();
    }
}
