//! The ring log under the persistence model: every crash image of thousands of appends (the
//! ring wrapping many times) recovers a contiguous run of the appended records, in order,
//! none torn, none lost once its append returned; each broken variant is caught with a report
//! that names the step and the record.
//!
//! Run with `--nocapture` to see the images explored and the time each run took.

// The closures around the broken appends are not redundant: a generic `fn` item fixes the
// model's lifetimes, a closure stays general over them.
#![allow(clippy::redundant_closure)]

use std::cell::Cell;
use std::time::Instant;

use crash_log::{DATA, Error, Log, Record, broken, recover};
use pmem_flush_model::{CrashReport, Model, Options, PointKind, Stats};

/// A 4 KiB ring after the header line.
const REGION: usize = DATA + 4096;
const LINE: u64 = 64;

/// The records to append, and the position of each (plus the position after the last).
struct Workload {
    records: Vec<Vec<u8>>,
    positions: Vec<u64>,
}

fn padded(len: usize) -> u64 {
    8 + (len as u64).div_ceil(8) * 8
}

/// `n` records of 0 to 300 bytes; every 7th ends one byte past a line boundary (so that a flush
/// one byte short misses a line), every 50th is empty. Bytes are never zero and differ from
/// record to record, so a lost or stale byte always shows.
fn workload(n: usize) -> Workload {
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let (mut records, mut positions, mut pos) = (Vec::new(), Vec::new(), 0u64);
    for k in 0..n {
        let len = if k % 50 == 49 {
            0
        } else if k % 7 == 3 {
            // DATA and the capacity are multiples of the line, so offsets agree with positions
            // modulo the line: the record ends at pos + 8 + len, which must be 1 past a line.
            ((LINE + 1 - (pos + 8) % LINE) % LINE + LINE * (next() % 3)) as usize
        } else {
            1 + (next() % 300) as usize
        };
        let salt = next();
        let bytes = (0..len)
            .map(|i| (((salt >> (i % 56)) as usize + i * 7 + k) % 255 + 1) as u8)
            .collect();
        records.push(bytes);
        positions.push(pos);
        pos += padded(len);
    }
    positions.push(pos);
    Workload { records, positions }
}

impl Workload {
    /// Whether record `k` ends one byte past a line boundary.
    fn ends_one_past_a_line(&self, k: usize) -> bool {
        (self.positions[k] + 8 + self.records[k].len() as u64) % LINE == 1
    }
}

/// What the operation had done when the crash point was taken.
#[derive(Default)]
struct Progress {
    formatted: Cell<bool>,
    appending: Cell<usize>,
    appended: Cell<usize>,
    popping: Cell<usize>,
    popped: Cell<usize>,
}

fn torn(k: usize, r: &Record<'_>, want: &[u8]) -> String {
    if r.len() != want.len() {
        return format!(
            "record #{k} has {} bytes, {} were appended",
            r.len(),
            want.len()
        );
    }
    let (i, (got, exp)) = r
        .bytes()
        .zip(want.iter().copied())
        .enumerate()
        .find(|(_, (a, b))| a != b)
        .unwrap();
    format!(
        "record #{k} is torn: byte {i} of {} is {got:#04x}, {exp:#04x} was appended",
        want.len()
    )
}

/// The invariant: the log recovers records `first..next` of the workload, in order and whole,
/// where `first` is between the pops that had returned and those begun, and `next` between the
/// appends that had returned and those begun.
fn check(image: &[u8], w: &Workload, p: &Progress) -> Result<(), String> {
    let log = match recover(image) {
        Err(Error::NotFormatted) if !p.formatted.get() => return Ok(()),
        Err(e) => return Err(format!("recovery failed: {e}")),
        Ok(log) => log,
    };
    let first = w
        .positions
        .binary_search(&log.head())
        .map_err(|_| format!("the head, {}, is no record's position", log.head()))?;
    let (popped, popping) = (p.popped.get(), p.popping.get());
    if first < popped || first > popping {
        return Err(format!(
            "the oldest record is #{first}, but {popped} pops had returned and {popping} begun"
        ));
    }
    let mut next = first;
    for r in log.records() {
        let want = w
            .records
            .get(next)
            .ok_or_else(|| format!("record #{next} was never appended"))?;
        if r.pos() != w.positions[next] {
            return Err(format!(
                "record #{next} is at {}, not {}",
                r.pos(),
                w.positions[next]
            ));
        }
        if r != want[..] {
            return Err(torn(next, &r, want));
        }
        next += 1;
    }
    let (appended, appending) = (p.appended.get(), p.appending.get());
    if next < appended || next > appending {
        return Err(format!(
            "records #{first}..#{next} recovered, but {appended} appends had returned and \
             {appending} begun"
        ));
    }
    Ok(())
}

/// Explores `n` appends with `append`, popping the oldest records whenever the next does not fit.
fn explore_log(
    options: Options,
    n: usize,
    append: impl Fn(&mut Log<'_, &Model<'_>>, &[u8]) -> Result<(), Error>,
) -> (Result<Stats, Box<CrashReport<String>>>, Workload) {
    let w = workload(n);
    let p = Progress::default();
    let started = Instant::now();
    let result = options.explore(
        &[0u8; REGION],
        |region, m| {
            let mut log = Log::format(m, region).unwrap();
            p.formatted.set(true);
            for (k, r) in w.records.iter().enumerate() {
                while !log.fits(r.len()) {
                    p.popping.set(p.popping.get() + 1);
                    assert!(log.pop().unwrap());
                    p.popped.set(p.popped.get() + 1);
                }
                p.appending.set(k + 1);
                append(&mut log, r).unwrap();
                p.appended.set(k + 1);
            }
        },
        |image| check(image, &w, &p),
    );
    let elapsed = started.elapsed();
    match &result {
        Ok(stats) => eprintln!(
            "{n} appends, {} pops, in {elapsed:.2?}: {stats}",
            p.popped.get()
        ),
        Err(report) => eprintln!("{n} appends, in {elapsed:.2?}: {report}"),
    }
    (result, w)
}

fn correct(log: &mut Log<'_, &Model<'_>>, r: &[u8]) -> Result<(), Error> {
    log.append(r)
}

#[test]
fn every_crash_image_of_2000_appends_recovers_the_appended_records() {
    let (result, w) = explore_log(Options::new(), 2000, correct);
    let stats = result.unwrap_or_else(|r| panic!("{r}"));
    // The ring wrapped many times, and the workload has what the broken variants need.
    assert!(w.positions[2000] > 50 * 4096);
    eprintln!("the ring wrapped {} times", w.positions[2000] / 4096);
    assert!((0..2000).filter(|&k| w.ends_one_past_a_line(k)).count() >= 250);
    assert!(w.records.iter().any(|r| r.len() >= 256));
    // Format: three drains; each append two.
    assert!(stats.drains >= 3 + 2 * 2000, "{stats}");
    assert!(stats.images > 20_000, "{stats}");
}

#[test]
fn without_wrapping_every_crash_image_recovers_a_prefix() {
    // A log large enough for all 300 records: nothing is popped, so each recovered log is a
    // prefix of the appended records.
    let w = workload(300);
    let p = Progress::default();
    let stats = Options::new()
        .explore(
            &vec![0u8; DATA + w.positions[300] as usize],
            |region, m| {
                let mut log = Log::format(m, region).unwrap();
                p.formatted.set(true);
                for (k, r) in w.records.iter().enumerate() {
                    p.appending.set(k + 1);
                    log.append(r).unwrap();
                    p.appended.set(k + 1);
                }
            },
            |image| check(image, &w, &p),
        )
        .unwrap_or_else(|r| panic!("{r}"));
    assert_eq!(p.popping.get(), 0);
    eprintln!("300 appends, no wrap: {stats}");
}

#[test]
fn torn_lines_and_evictions_change_nothing_for_the_correct_log() {
    let options = Options::new().with_torn_lines(true).with_evictions(true);
    let (result, _) = explore_log(options, 500, correct);
    let stats = result.unwrap_or_else(|r| panic!("{r}"));
    assert!(stats.sampled_points > 0, "{stats}");
}

/// The report of a broken variant's exploration.
fn caught(
    options: Options,
    append: impl Fn(&mut Log<'_, &Model<'_>>, &[u8]) -> Result<(), Error>,
) -> (Box<CrashReport<String>>, Workload) {
    let (result, w) = explore_log(options, 2000, append);
    match result {
        Ok(stats) => panic!("not caught: {stats}"),
        Err(report) => (report, w),
    }
}

/// The tail word is at offset 24: its write-back is the commit's.
fn is_commit_write_back(kind: PointKind) -> bool {
    matches!(
        kind,
        PointKind::WriteBack {
            offset: Some(24),
            len: 8,
            ..
        }
    )
}

#[test]
fn a_missing_drain_is_caught() {
    let (report, w) = caught(Options::new(), |log, r| {
        broken::append_without_drain(log, r)
    });
    assert!(is_commit_write_back(report.point.kind), "{report}");
    // The first append already breaks: the commit line reached memory, the payload did not.
    let error = report.error().unwrap();
    let want = format!(
        "record #0 has 0 bytes, {} were appended",
        w.records[0].len()
    );
    assert_eq!(error, &want, "{report}");
    let image = report.image.as_ref().unwrap();
    assert_eq!(image.reached.len(), 1);
    assert_eq!(image.reached[0].range, 0..64);
    assert!(!image.not_reached.is_empty());
}

#[test]
fn a_commit_before_the_payload_is_flushed_is_caught() {
    let (report, _) = caught(Options::new(), |log, r| {
        broken::append_commit_before_flush(log, r)
    });
    assert!(is_commit_write_back(report.point.kind), "{report}");
    assert!(
        report.error().unwrap().starts_with("record #0 has 0 bytes"),
        "{report}"
    );
    // Only the commit line was written back: the payload was only stored.
    let image = report.image.as_ref().unwrap();
    assert_eq!((image.index, image.count), (1, 2));
}

#[test]
fn a_flush_one_byte_short_is_caught() {
    let (report, w) = caught(Options::new(), |log, r| {
        broken::append_flush_one_byte_short(log, r)
    });
    assert!(is_commit_write_back(report.point.kind), "{report}");
    // The first record whose last byte starts a line loses that byte.
    let k = (0..2000).find(|&k| w.ends_one_past_a_line(k)).unwrap();
    let len = w.records[k].len();
    let want = format!(
        "record #{k} is torn: byte {} of {len} is 0x00, {:#04x} was appended",
        len - 1,
        w.records[k][len - 1]
    );
    assert_eq!(report.error().unwrap(), &want, "{report}");
}

#[test]
fn a_commit_word_stored_early_is_caught_only_with_evictions() {
    let early =
        |log: &mut Log<'_, &Model<'_>>, r: &[u8]| broken::append_commit_stored_early(log, r);
    let (result, _) = explore_log(Options::new(), 300, early);
    result.expect("without evictions the early store stays in the cache");
    let (report, _) = caught(Options::new().with_evictions(true), early);
    assert!(
        matches!(
            report.point.kind,
            PointKind::Store {
                offset: Some(24),
                len: 8,
                ..
            }
        ),
        "{report}"
    );
    assert!(
        report.error().unwrap().starts_with("record #0 has 0 bytes"),
        "{report}"
    );
}
