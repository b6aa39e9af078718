//! The ring log on a real memory-mapped file with the real flusher (`pmem_flush::flusher()`):
//! format, append 2000 records (popping the oldest whenever the ring is full), unmap; map the
//! file again, recover, compare with what was appended, reopen and append once more.
//!
//! ```sh
//! cargo run -p pmem-flush-log-example --example mapped [PATH]
//! ```
//!
//! Without `PATH` the file is created in the temporary directory and removed at the end.
//!
//! The file is usually on an ordinary file system, where CPU write-backs make nothing durable
//! by themselves, so the example ends each run with an `msync` (`MmapMut::flush`). On
//! persistent memory mapped from a DAX file system (`MAP_SYNC`), the log's own flushes and
//! drains are what make each record durable, as they are under the persistence model in the
//! tests.
//!
//! The one `unsafe` block is creating the mapping, in `map`; the log has none.

use std::error::Error;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use crash_log::{Log, recover};
use memmap2::MmapMut;

/// 64 KiB: a 64 KiB - 64 byte ring, which 2000 records wrap several times.
const LEN: u64 = 64 * 1024;
const RECORDS: usize = 2000;

/// Record `k`: 0 to 400 bytes.
fn record(k: usize) -> Vec<u8> {
    let len = (k * 37) % 401;
    (0..len).map(|i| (k * 13 + i) as u8).collect()
}

/// Maps all of `file`, writable.
fn map(file: &File) -> std::io::Result<MmapMut> {
    // SAFETY: `run` created (truncated) the file and is the only one to map, resize or write it
    // while a mapping lives; a mapping is dropped before the next is made.
    unsafe { MmapMut::map_mut(file) }
}

/// The whole run on the file at `path`; returns what it did, in words.
pub fn run(path: &Path) -> Result<String, Box<dyn Error>> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)?;
    file.set_len(LEN)?;
    let flusher = pmem_flush::flusher();

    // Format and append, popping the oldest records to make room.
    let mut popped = 0;
    {
        let mut mapping = map(&file)?;
        let mut log = Log::format(flusher, &mut mapping[..])?;
        for k in 0..RECORDS {
            let r = record(k);
            while !log.fits(r.len()) {
                log.pop()?;
                popped += 1;
            }
            log.append(&r)?;
        }
        mapping.flush()?;
    }

    // Map again: recover, compare, then reopen and append one more.
    let mut mapping = map(&file)?;
    let got: Vec<Vec<u8>> = recover(&mapping)?
        .records()
        .map(|r| r.bytes().collect())
        .collect();
    let want: Vec<Vec<u8>> = (popped..RECORDS).map(record).collect();
    if got != want {
        return Err(format!(
            "recovered {} records, but records {popped}..{RECORDS} were left",
            got.len()
        )
        .into());
    }
    let mut log = Log::open(flusher, &mut mapping[..])?;
    while !log.fits(5) {
        log.pop()?;
    }
    log.append(b"again")?;
    let last = log.records().last().map(|r| r.bytes().collect::<Vec<u8>>());
    if last.as_deref() != Some(&b"again"[..]) {
        return Err("the record appended after reopening is not the last".into());
    }
    mapping.flush()?;
    Ok(format!(
        "{RECORDS} records appended to {} ({popped} popped to make room), {} recovered from \
         a new mapping exactly as appended, one more appended after reopening\nflusher: {flusher}",
        path.display(),
        got.len()
    ))
}

#[allow(dead_code)] // the test includes this file for `run`
fn main() -> Result<(), Box<dyn Error>> {
    let (path, temporary) = match std::env::args_os().nth(1) {
        Some(p) => (PathBuf::from(p), false),
        None => (
            std::env::temp_dir().join(format!("crash-log-{}.ring", std::process::id())),
            true,
        ),
    };
    let result = run(&path);
    if temporary {
        let _ = std::fs::remove_file(&path);
    }
    println!("{}\nok", result?);
    Ok(())
}
