//! The measuring machinery: the arena, the TSC timer, cases, contenders, interleaved rounds and
//! the statistics.
//!
//! One sample = prepare the buffers (untimed, the same for every contender), read the TSC, run
//! one batch of calls, (for cases that time completion) MFENCE, read the TSC. A round takes one
//! sample of every contender, in an order drawn anew each round ([`round_order`]); a case runs rounds until its time
//! budget is spent. Medians are over rounds; ratios are medians of the per-round ratios (a
//! contender and its baseline measured in the same round, so load that drifts between rounds
//! cancels).

use core::arch::x86_64::{__rdtscp, _mm_lfence, _mm_mfence, _rdtsc};
use std::alloc::{Layout, alloc_zeroed, dealloc};
use std::time::{Duration, Instant};

use crate::floor;

/// What one timed call works on: `count` regions of `len` bytes, `stride` bytes apart, in the
/// destination arena (and at the same offsets in the source arena).
pub struct Batch {
    dst: *mut u8,
    src: *const u8,
    stride: usize,
    /// Bytes per call.
    pub len: usize,
    /// Calls per sample.
    pub count: usize,
    /// The byte memset stores (and the prepared contents change with it every sample).
    pub value: u8,
}

impl Batch {
    /// Destination of call `i`.
    #[inline(always)]
    pub fn dst(&self, i: usize) -> *mut u8 {
        self.dst.wrapping_add(i * self.stride)
    }

    /// Source of call `i`.
    #[inline(always)]
    pub fn src(&self, i: usize) -> *const u8 {
        self.src.wrapping_add(i * self.stride)
    }

    /// The bytes from the first region's start to the last region's end.
    fn span(&self) -> usize {
        if self.count == 0 {
            0
        } else {
            (self.count - 1) * self.stride + self.len
        }
    }
}

/// A page-aligned, zeroed, pre-faulted buffer.
pub struct Arena {
    ptr: *mut u8,
    layout: Layout,
}

impl Arena {
    /// `size` bytes, every page touched.
    pub fn new(size: usize) -> Arena {
        let layout = Layout::from_size_align(size.max(4096), 2 << 20).expect("arena layout");
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { alloc_zeroed(layout) };
        assert!(!ptr.is_null(), "out of memory for a {size}-byte arena");
        for page in (0..layout.size()).step_by(4096) {
            // SAFETY: in bounds; writing faults the page in now rather than during a sample.
            unsafe { ptr.add(page).write_volatile(1) };
        }
        Arena { ptr, layout }
    }

    pub fn ptr(&self) -> *mut u8 {
        self.ptr
    }

    pub fn len(&self) -> usize {
        self.layout.size()
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { dealloc(self.ptr, self.layout) }
    }
}

/// The time-stamp counter, calibrated against the monotonic clock.
#[derive(Clone, Copy, Debug)]
pub struct Timer {
    /// TSC ticks per nanosecond.
    pub ghz: f64,
    /// Median ticks of an empty sample, without and with the completing MFENCE.
    pub empty: [u64; 2],
}

/// Reads the TSC after every earlier instruction has executed.
#[inline(always)]
fn tsc_start() -> u64 {
    // SAFETY (all three): LFENCE and RDTSC exist on every x86-64 CPU this runs on
    // (constant_tsc is checked in `Timer::calibrate`).
    #[allow(unused_unsafe)]
    unsafe {
        _mm_lfence();
        let t = _rdtsc();
        _mm_lfence();
        t
    }
}

/// Reads the TSC once every earlier instruction has executed (and, with `complete`, once every
/// earlier store, write-back and non-temporal store has completed).
#[inline(always)]
fn tsc_stop(complete: bool) -> u64 {
    let mut aux = 0;
    // SAFETY: MFENCE, RDTSCP and LFENCE exist on every x86-64 CPU with an invariant TSC.
    #[allow(unused_unsafe)]
    unsafe {
        if complete {
            _mm_mfence();
        }
        let t = __rdtscp(&mut aux);
        _mm_lfence();
        t
    }
}

impl Timer {
    /// Measures the TSC frequency over `ms` milliseconds and the cost of an empty sample.
    pub fn calibrate(ms: u64) -> Timer {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        if !cpuinfo.contains("constant_tsc") {
            eprintln!("warning: no constant_tsc in /proc/cpuinfo; TSC timings may be off");
        }
        let mut ghz = Vec::new();
        for _ in 0..3 {
            let (i0, t0) = (Instant::now(), tsc_start());
            while i0.elapsed() < Duration::from_millis(ms) {}
            let (i1, t1) = (Instant::now(), tsc_start());
            ghz.push((t1 - t0) as f64 / (i1 - i0).as_nanos() as f64);
        }
        let ghz = median(&mut ghz);
        let empty = [false, true].map(|complete| {
            let mut v: Vec<f64> = (0..2001)
                .map(|_| {
                    let t0 = tsc_start();
                    let t1 = tsc_stop(complete);
                    (t1 - t0) as f64
                })
                .collect();
            median(&mut v) as u64
        });
        Timer { ghz, empty }
    }
}

/// Who wrote a contender.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Ours,
    Libpmem,
    Floor,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Ours => "ours",
            Kind::Libpmem => "libpmem",
            Kind::Floor => "floor",
        }
    }
}

/// One way of doing a case's work.
pub struct Contender<E> {
    /// Short id, used in the CSV (e.g. `ours.free`).
    pub id: &'static str,
    /// What it calls (e.g. `pmem_flush::persist_raw`).
    pub label: &'static str,
    pub kind: Kind,
    /// Runs one batch.
    pub run: unsafe fn(&E, &Batch),
}

impl<E> Clone for Contender<E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<E> Copy for Contender<E> {}

/// What a sample's untimed preparation does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prep {
    /// Write every byte of every destination region (the data to persist is freshly written).
    DirtyDestination,
    /// Read every line of the batch's regions into the cache, write each back, fence: every
    /// line is cached (unless the CPU's CLWB invalidates) and clean.
    CleanLines,
    /// Nothing.
    Nothing,
    /// Write every source region (hot in cache as far as it fits), write back and invalidate
    /// every destination line (not in cache, as a new pmem destination usually is).
    HotSourceColdDestination,
    /// As above without a source (memset).
    ColdDestination,
}

/// What the sample checks after its first timed run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    Nothing,
    Copied,
    Set,
}

/// One row of the benchmark: a group, a mode, a size, and the contenders that do its work.
pub struct Case<E: 'static> {
    pub group: &'static str,
    pub mode: &'static str,
    /// Bytes per call.
    pub size: usize,
    /// Calls per sample.
    pub count: usize,
    /// Distance between the regions of a batch (0: every call on the same bytes).
    pub stride: usize,
    pub prep: Prep,
    /// Whether the timing waits for the work to complete (MFENCE before the last TSC read).
    pub complete: bool,
    /// SFENCE after the timed part (a flush alone leaves write-backs in flight).
    pub fence_after: bool,
    pub check: Check,
    pub contenders: Vec<Contender<E>>,
    /// The contender ratios "to libpmem" divide by.
    pub libpmem: &'static str,
    /// The contenders ratios "to the floor" divide by: the fastest of them in each round.
    pub floor: Vec<&'static str>,
    /// The concrete-type contender ratios "to concrete" divide by, where there is one.
    pub concrete: Option<&'static str>,
}

/// How long to measure each case.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    pub per_case: Duration,
    pub min_rounds: usize,
    pub max_rounds: usize,
}

/// Summary of one contender in one case.
#[derive(Clone, Debug)]
pub struct Summary {
    pub group: String,
    pub mode: String,
    pub size: usize,
    pub count: usize,
    pub rounds: usize,
    pub id: String,
    pub kind: String,
    pub label: String,
    /// Nanoseconds per call: median, first and third quartiles, minimum.
    pub median: f64,
    pub q1: f64,
    pub q3: f64,
    pub min: f64,
    /// Medians (and quartiles) of the per-round ratios to each baseline.
    pub vs_libpmem: Ratio,
    pub vs_floor: Ratio,
    /// The ids `vs_floor` divides by (the faster one in each round).
    pub floor: Vec<String>,
    pub vs_concrete: Ratio,
}

/// A ratio's median and quartiles over rounds (NaN when there is no baseline).
#[derive(Clone, Copy, Debug)]
pub struct Ratio {
    pub median: f64,
    pub q1: f64,
    pub q3: f64,
}

impl Ratio {
    pub const NONE: Ratio = Ratio {
        median: f64::NAN,
        q1: f64::NAN,
        q3: f64::NAN,
    };

    fn of(mut v: Vec<f64>) -> Ratio {
        v.retain(|x| x.is_finite());
        if v.is_empty() {
            return Ratio::NONE;
        }
        v.sort_by(f64::total_cmp);
        Ratio {
            median: quantile(&v, 0.5),
            q1: quantile(&v, 0.25),
            q3: quantile(&v, 0.75),
        }
    }
}

/// `q`-quantile of sorted values, interpolated.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let at = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (at.floor() as usize, at.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo as f64)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    quantile(v, 0.5)
}

/// Writes `len` bytes with ordinary (cached) stores. Not `write_bytes`: the C library's memset
/// switches to non-temporal stores for large sizes, which would leave nothing dirty in the cache.
///
/// # Safety
///
/// The range is writable.
unsafe fn fill_temporal(p: *mut u8, value: u8, len: usize) {
    let word = u64::from_ne_bytes([value; 8]);
    let mut i = 0;
    while i + 8 <= len {
        // SAFETY: in bounds. Volatile, so it stays a plain store of each word.
        unsafe { p.add(i).cast::<u64>().write_volatile(word) };
        i += 8;
    }
    while i < len {
        // SAFETY: in bounds.
        unsafe { p.add(i).write_volatile(value) };
        i += 1;
    }
}

/// Whether this CPU has CLWB (valgrind's virtual CPU does not).
static HAS_CLWB: std::sync::LazyLock<bool> =
    std::sync::LazyLock::new(|| pmem_flush::arch::x86_64::Clwb::new().is_some());

/// Prepares a sample's buffers.
fn prepare(prep: Prep, batch: &Batch, value: u8) {
    match prep {
        Prep::Nothing => {}
        Prep::DirtyDestination => {
            for i in 0..batch.count {
                // SAFETY: the region lies in the destination arena.
                unsafe { fill_temporal(batch.dst(i), value, batch.len) };
            }
        }
        Prep::CleanLines => {
            for i in 0..batch.count {
                // SAFETY: the region lies in the arena; every x86-64 CPU has CLFLUSH, and the
                // benchmark checked for CLWB before using it.
                unsafe {
                    batch.dst(i).read_volatile();
                    if *HAS_CLWB {
                        floor::clwb(batch.dst(i));
                    } else {
                        core::arch::x86_64::_mm_clflush(batch.dst(i));
                    }
                }
            }
        }
        Prep::HotSourceColdDestination | Prep::ColdDestination => {
            if prep == Prep::HotSourceColdDestination {
                for i in 0..batch.count {
                    // SAFETY: the region lies in the source arena (same layout as the
                    // destination's).
                    unsafe { fill_temporal(batch.src(i).cast_mut(), value, batch.len) };
                }
            }
            let span = batch.span();
            let mut line = 0;
            while line < span {
                // SAFETY: the line lies in the destination arena; every x86-64 CPU has
                // CLFLUSH (ordered with the stores above; MFENCE below completes it).
                unsafe { core::arch::x86_64::_mm_clflush(batch.dst(0).add(line)) };
                line += floor::LINE;
            }
        }
    }
    // SAFETY: MFENCE exists on every x86-64 CPU: the preparation's stores and write-backs are
    // done before the timed part starts.
    #[allow(unused_unsafe)]
    unsafe {
        _mm_mfence()
    };
}

/// Checks that a copy or fill did its work on the first and last region.
fn verify(check: Check, batch: &Batch, value: u8, who: &str) {
    if check == Check::Nothing || batch.count == 0 {
        return;
    }
    for i in [0, batch.count - 1] {
        // SAFETY: the regions lie in the arenas.
        let dst = unsafe { std::slice::from_raw_parts(batch.dst(i), batch.len) };
        let ok = match check {
            // SAFETY: as above.
            Check::Copied => dst == unsafe { std::slice::from_raw_parts(batch.src(i), batch.len) },
            Check::Set => dst.iter().all(|b| *b == value),
            Check::Nothing => true,
        };
        assert!(
            ok,
            "{who} left wrong bytes in region {i} ({} bytes)",
            batch.len
        );
    }
}

/// Runs every contender of `case` (but those `skip` names) `reps` times, untimed: for counting
/// instructions under callgrind, where each driver's inclusive cost divided by
/// `reps * case.count` is the instructions per call.
pub fn repeat_case<E>(
    env: &E,
    case: &Case<E>,
    dst: &Arena,
    src: &Arena,
    reps: usize,
    skip: &dyn Fn(&Contender<E>) -> bool,
) {
    for c in case.contenders.iter().filter(|c| !skip(c)) {
        for r in 0..reps {
            let value = (r as u8) | 1;
            let b = Batch {
                dst: dst.ptr(),
                src: src.ptr(),
                stride: case.stride,
                len: case.size,
                count: case.count,
                value,
            };
            prepare(case.prep, &b, value);
            // SAFETY: as in `run_case`; the caller skips contenders this CPU cannot run.
            unsafe { (c.run)(env, &b) };
        }
    }
}

/// Runs one case: rounds of interleaved samples until the budget is spent.
pub fn run_case<E>(
    env: &E,
    case: &Case<E>,
    dst: &Arena,
    src: &Arena,
    timer: &Timer,
    budget: &Budget,
) -> Vec<Summary> {
    let batch = |value| Batch {
        dst: dst.ptr(),
        src: src.ptr(),
        stride: case.stride,
        len: case.size,
        count: case.count,
        value,
    };
    assert!(batch(0).span() <= dst.len().min(src.len()), "case too big");
    let n = case.contenders.len();
    let empty = timer.empty[usize::from(case.complete)];
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); n];
    let mut value = 0u8;
    let started = Instant::now();
    let mut round = 0usize;
    // Round 0 warms up (faults, caches, lazy binding, our first-use detection) and checks the
    // results; it is not kept.
    loop {
        let order = round_order(round, n);
        for &i in &order {
            let c = &case.contenders[i];
            value = value.wrapping_add(1) | 1;
            let b = batch(value);
            prepare(case.prep, &b, value);
            let t0 = tsc_start();
            // SAFETY: the batch's regions lie in the arenas; every contender was built for
            // this CPU (CLWB checked at startup).
            unsafe { (c.run)(env, &b) };
            let t1 = tsc_stop(case.complete);
            if case.fence_after {
                floor::sfence();
            }
            if round == 0 {
                verify(case.check, &b, value, c.id);
            } else {
                let ticks = (t1 - t0).saturating_sub(empty);
                samples[i].push(ticks as f64 / timer.ghz / case.count as f64);
            }
        }
        round += 1;
        let kept = round - 1;
        let spent = started.elapsed();
        if kept >= budget.max_rounds || (kept >= budget.min_rounds && spent >= budget.per_case) {
            break;
        }
    }
    summarize(case, &samples)
}

/// The order the `n` contenders take their turns in round `round`: a permutation drawn from a
/// fixed-seed generator, so that over the rounds every contender runs at every position and
/// right after every other contender about equally often.
///
/// Not a rotation: with a rotation each contender always follows the same one, and what that
/// one leaves behind (lines it wrote back still draining to memory, say) is then charged to
/// it alone, in every round (bench/NOTES.md, "The default-flags memcpy").
pub fn round_order(round: usize, n: usize) -> Vec<usize> {
    let mut x = (round as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        order.swap(i, (next() % (i as u64 + 1)) as usize);
    }
    order
}

fn summarize<E>(case: &Case<E>, samples: &[Vec<f64>]) -> Vec<Summary> {
    let index = |id: &str| case.contenders.iter().position(|c| c.id == id);
    let rounds = samples[0].len();
    let per_round = |base: &dyn Fn(usize) -> f64, k: usize| -> Ratio {
        Ratio::of((0..rounds).map(|r| samples[k][r] / base(r)).collect())
    };
    let libpmem = index(case.libpmem);
    let floors: Vec<usize> = case.floor.iter().filter_map(|id| index(id)).collect();
    let concrete = case.concrete.and_then(index);
    case.contenders
        .iter()
        .enumerate()
        .map(|(k, c)| {
            let mut sorted = samples[k].clone();
            sorted.sort_by(f64::total_cmp);
            Summary {
                group: case.group.to_owned(),
                mode: case.mode.to_owned(),
                size: case.size,
                count: case.count,
                rounds,
                id: c.id.to_owned(),
                kind: c.kind.name().to_owned(),
                label: c.label.to_owned(),
                median: quantile(&sorted, 0.5),
                q1: quantile(&sorted, 0.25),
                q3: quantile(&sorted, 0.75),
                min: sorted.first().copied().unwrap_or(f64::NAN),
                vs_libpmem: libpmem.map_or(Ratio::NONE, |b| per_round(&|r| samples[b][r], k)),
                vs_floor: if floors.is_empty() {
                    Ratio::NONE
                } else {
                    per_round(
                        &|r| {
                            floors
                                .iter()
                                .map(|&f| samples[f][r])
                                .fold(f64::INFINITY, f64::min)
                        },
                        k,
                    )
                },
                floor: floors
                    .iter()
                    .map(|&f| case.contenders[f].id.to_owned())
                    .collect(),
                vs_concrete: concrete.map_or(Ratio::NONE, |b| per_round(&|r| samples[b][r], k)),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::round_order;

    #[test]
    fn round_orders_are_permutations_that_vary_the_predecessor() {
        let n = 4;
        let rounds = 4000;
        // follows[a][b]: rounds in which `a` ran right after `b`.
        let mut follows = [[0usize; 4]; 4];
        let mut position = [[0usize; 4]; 4];
        for r in 0..rounds {
            let o = round_order(r, n);
            let mut sorted = o.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, [0, 1, 2, 3], "round {r}: {o:?}");
            for (p, &c) in o.iter().enumerate() {
                position[c][p] += 1;
            }
            for w in o.windows(2) {
                follows[w[1]][w[0]] += 1;
            }
        }
        // Each position: rounds / n; each ordered pair: rounds * (n - 1) / (n * (n - 1)).
        let pair = rounds / n;
        for a in 0..n {
            for p in 0..n {
                let got = position[a][p] as f64 / (rounds / n) as f64;
                assert!(
                    (0.85..1.15).contains(&got),
                    "position {a} {p}: {position:?}"
                );
            }
            for b in (0..n).filter(|b| *b != a) {
                let got = follows[a][b] as f64 / pair as f64;
                assert!((0.85..1.15).contains(&got), "{a} after {b}: {follows:?}");
            }
        }
    }
}
