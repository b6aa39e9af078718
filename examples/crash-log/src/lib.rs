//! A crash-consistent ring log of variable-length records on persistent memory, written as a
//! user of `pmem-flush` would: generic over [`Persist`], so the same code runs on a
//! memory-mapped file with the real flusher and under `pmem-flush-model` in tests, and with no
//! `unsafe` (the crate forbids it; the only `unsafe` of the example is creating the mapping).
//!
//! Every append follows the pattern persistent data structures are built on:
//!
//! 1. **payload**: store the record past the committed tail, where recovery never looks;
//! 2. **flush**: write back every line it touches;
//! 3. **drain**: now the record is durable, before anything stored after this;
//! 4. **commit**: store the new tail, one failure-atomic aligned 8-byte word;
//! 5. **persist** the commit word.
//!
//! After a crash the tail word is old or new, never torn, and when it is new the record behind
//! it is complete: recovery reads the header and scans the records from head to tail. Dropping
//! the oldest record ([`Log::pop`]) is the same with the head word, and the space is reused only
//! once the new head is durable.
//!
//! ```
//! use crash_log::{Log, recover};
//!
//! let mut buf = vec![0u8; 8192 + 8];
//! let at = buf.as_ptr().align_offset(8); // the region must be 8-byte aligned (a mapping is)
//! let region = &mut buf[at..at + 8192];
//! let mut log = Log::format(pmem_flush::flusher(), &mut *region).unwrap();
//! log.append(b"hello").unwrap();
//! log.append(b"world").unwrap();
//! let records: Vec<Vec<u8>> = recover(region).unwrap().records().map(|r| r.bytes().collect()).collect();
//! assert_eq!(records, [b"hello".to_vec(), b"world".to_vec()]);
//! ```
//!
//! # Layout
//!
//! | offset | what |
//! | --- | --- |
//! | 0 | magic, `b"RINGLOG1"`: the format's commit word, stored last |
//! | 8 | capacity of the data area in bytes (a multiple of 8) |
//! | 16 | head: the position of the oldest record (the commit word of [`Log::pop`]) |
//! | 24 | tail: the position after the newest record (the commit word of [`Log::append`]) |
//! | 64 | the data area, a ring of `capacity` bytes |
//!
//! Positions count bytes since the log was formatted and never wrap; position `p` is at offset
//! `64 + p % capacity`. A record is its length (a little-endian `u64`), its bytes and padding
//! to 8; its bytes may wrap around the end of the data area, its length word never does. The
//! region must be 8-byte aligned (a mapping is page-aligned).
//!
//! # The commit word
//!
//! The tail and head are committed with an aligned 8-byte copy
//! (`memcpy(.., MemFlags::NOFLUSH)`, then `persist`): `pmem-flush` promises that a copy to an
//! 8-byte-aligned destination of a multiple of 8 bytes stores at least 8 bytes at a time on
//! every path, so the word is never torn. [`Persist::commit`] does the same with an
//! `&AtomicU64`, but getting one out of a `&mut [u8]` mapping takes `unsafe` (or a crate such as
//! zerocopy), which this example avoids.
//!
//! # Tests
//!
//! `tests/model.rs` explores 2000 appends (with the ring wrapping many times) under
//! `pmem-flush-model` and checks that every crash image recovers a contiguous run of the
//! appended records, in order, none torn, none lost once its append returned; it catches each
//! variant in [`broken`]. `tests/mapped.rs` and `examples/mapped.rs` run the log on a
//! memory-mapped file with the real flusher.

#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations, rust_2018_idioms)]

use core::fmt;
use core::ops::Range;

use pmem_flush::{CopyError, MemFlags, Persist};

pub mod broken;

/// The format's commit word: `b"RINGLOG1"` as a little-endian `u64`.
pub const MAGIC: u64 = u64::from_le_bytes(*b"RINGLOG1");
/// Where the data area starts: the header words have a line of their own.
pub const DATA: usize = 64;

const MAGIC_AT: usize = 0;
const CAPACITY_AT: usize = 8;
const HEAD_AT: usize = 16;
const TAIL_AT: usize = 24;

/// Why the log refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The region is not 8-byte aligned.
    Misaligned,
    /// The region has no room for the header and one record.
    TooSmall {
        /// The region's length.
        len: usize,
    },
    /// No magic: never formatted, or formatting did not complete.
    NotFormatted,
    /// The header or a record length is impossible.
    Corrupt {
        /// What is wrong.
        what: &'static str,
        /// The position (or value) concerned.
        at: u64,
    },
    /// The record can never fit.
    TooLong {
        /// The record's length.
        len: usize,
        /// The data area's.
        capacity: u64,
    },
    /// Not enough free space now: [`Log::pop`] the oldest records first.
    Full {
        /// Bytes the record needs (length word and padding included).
        need: u64,
        /// Bytes free.
        free: u64,
    },
    /// A copy refused (never happens: the lengths always match).
    Copy(CopyError),
}

impl From<CopyError> for Error {
    fn from(e: CopyError) -> Error {
        Error::Copy(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::Misaligned => f.write_str("the region is not 8-byte aligned"),
            Error::TooSmall { len } => write!(f, "a region of {len} bytes is too small"),
            Error::NotFormatted => f.write_str("not a formatted log (no magic)"),
            Error::Corrupt { what, at } => write!(f, "corrupt log: {what} ({at})"),
            Error::TooLong { len, capacity } => {
                write!(f, "a record of {len} bytes never fits in {capacity}")
            }
            Error::Full { need, free } => write!(f, "log full: {need} bytes needed, {free} free"),
            Error::Copy(e) => write!(f, "copy refused: {e}"),
        }
    }
}

impl core::error::Error for Error {}

/// The bytes a record of `len` bytes takes: its length word, its bytes, padding to 8.
fn record_size(len: u64) -> Option<u64> {
    len.checked_add(7)?
        .checked_div(8)?
        .checked_mul(8)?
        .checked_add(8)
}

/// The offsets of `len` bytes at position `pos` of a ring of `capacity` bytes: up to the end
/// of the data area, and the rest from its start.
fn pieces(capacity: u64, pos: u64, len: usize) -> (Range<usize>, Range<usize>) {
    let start = (pos % capacity) as usize;
    let first = len.min(capacity as usize - start);
    (DATA + start..DATA + start + first, DATA..DATA + len - first)
}

fn word(bytes: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(w)
}

/// A ring log over `region`, persisting through `P`.
pub struct Log<'a, P> {
    p: P,
    region: &'a mut [u8],
    capacity: u64,
    head: u64,
    tail: u64,
}

impl<P> fmt::Debug for Log<'_, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Log")
            .field("capacity", &self.capacity)
            .field("head", &self.head)
            .field("tail", &self.tail)
            .finish_non_exhaustive()
    }
}

impl<'a, P: Persist> Log<'a, P> {
    /// Formats `region` as an empty log: the magic is withdrawn first (so a crash cannot leave
    /// an old log's magic over new fields), then the fields are persisted, then the magic.
    pub fn format(p: P, region: &'a mut [u8]) -> Result<Self, Error> {
        if region.as_ptr().align_offset(8) != 0 {
            return Err(Error::Misaligned);
        }
        if region.len() < DATA + 16 {
            return Err(Error::TooSmall { len: region.len() });
        }
        let capacity = ((region.len() - DATA) / 8 * 8) as u64;
        let mut log = Log {
            p,
            region,
            capacity,
            head: 0,
            tail: 0,
        };
        log.store_word(MAGIC_AT, 0)?;
        log.persist_word(MAGIC_AT);
        log.store_word(CAPACITY_AT, capacity)?;
        log.store_word(HEAD_AT, 0)?;
        log.store_word(TAIL_AT, 0)?;
        log.p.persist(&log.region[CAPACITY_AT..TAIL_AT + 8]);
        log.store_word(MAGIC_AT, MAGIC)?;
        log.persist_word(MAGIC_AT);
        Ok(log)
    }

    /// Opens the log in `region` after a crash or a clean stop: [`recover`] checks it.
    pub fn open(p: P, region: &'a mut [u8]) -> Result<Self, Error> {
        if region.as_ptr().align_offset(8) != 0 {
            return Err(Error::Misaligned);
        }
        let recovered = recover(region)?;
        let (capacity, head, tail) = (recovered.capacity, recovered.head, recovered.tail);
        Ok(Log {
            p,
            region,
            capacity,
            head,
            tail,
        })
    }

    /// Appends `record`, durably: when this returns, recovery finds it (until it is popped).
    /// [`Error::Full`] when the free space is too small: pop the oldest records first.
    pub fn append(&mut self, record: &[u8]) -> Result<(), Error> {
        let (at, end) = self.reserve(record.len())?;
        // 1. Payload: the length and the bytes, past the committed tail.
        self.store(at, &(record.len() as u64).to_le_bytes())?;
        self.store(at + 8, record)?;
        // 2. Flush: write back every line the record touches.
        self.flush(at, 8 + record.len());
        // 3. Drain: the record is durable before the commit can be.
        self.p.drain();
        // 4. Commit: the new tail, one failure-atomic aligned 8-byte store.
        self.store_word(TAIL_AT, end)?;
        // 5. Persist the commit word.
        self.persist_word(TAIL_AT);
        self.tail = end;
        Ok(())
    }

    /// Drops the oldest record, durably; `false` when the log is empty. Its space is reused
    /// only after the new head is persisted.
    pub fn pop(&mut self) -> Result<bool, Error> {
        if self.head == self.tail {
            return Ok(false);
        }
        let len = word(self.region, DATA + (self.head % self.capacity) as usize);
        let size = record_size(len).ok_or(Error::Corrupt {
            what: "record length",
            at: self.head,
        })?;
        let next = self.head + size;
        // Commit the new head, and persist it.
        self.store_word(HEAD_AT, next)?;
        self.persist_word(HEAD_AT);
        self.head = next;
        Ok(true)
    }

    /// Whether a record of `len` bytes fits now.
    pub fn fits(&self, len: usize) -> bool {
        self.reserve(len).is_ok()
    }

    /// The records, oldest first.
    pub fn records(&self) -> Records<'_> {
        Records {
            image: self.region,
            capacity: self.capacity,
            pos: self.head,
            tail: self.tail,
        }
    }

    /// Bytes of the data area.
    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    /// The position of the oldest record.
    pub fn head(&self) -> u64 {
        self.head
    }

    /// The position after the newest record.
    pub fn tail(&self) -> u64 {
        self.tail
    }

    /// The position and end of a record of `len` bytes appended now.
    pub(crate) fn reserve(&self, len: usize) -> Result<(u64, u64), Error> {
        let size = record_size(len as u64)
            .filter(|&s| s <= self.capacity)
            .ok_or(Error::TooLong {
                len,
                capacity: self.capacity,
            })?;
        let free = self.head + self.capacity - self.tail;
        if size > free {
            return Err(Error::Full { need: size, free });
        }
        Ok((self.tail, self.tail + size))
    }

    /// Stores `bytes` at position `pos` (in two pieces where the ring wraps), without writing
    /// them back.
    pub(crate) fn store(&mut self, pos: u64, bytes: &[u8]) -> Result<(), Error> {
        let (first, second) = pieces(self.capacity, pos, bytes.len());
        let (a, b) = bytes.split_at(first.len());
        self.p
            .memcpy(&mut self.region[first], a, MemFlags::NOFLUSH)?;
        self.p
            .memcpy(&mut self.region[second], b, MemFlags::NOFLUSH)?;
        Ok(())
    }

    /// Writes back the lines of `len` bytes at position `pos`.
    pub(crate) fn flush(&self, pos: u64, len: usize) {
        let (first, second) = pieces(self.capacity, pos, len);
        self.p.flush(&self.region[first]);
        self.p.flush(&self.region[second]);
    }

    /// Stores a header word (aligned, 8 bytes: one store), without writing it back.
    pub(crate) fn store_word(&mut self, at: usize, value: u64) -> Result<(), Error> {
        let word = &mut self.region[at..at + 8];
        self.p
            .memcpy(word, &value.to_le_bytes(), MemFlags::NOFLUSH)?;
        Ok(())
    }

    /// Writes back a header word and drains.
    pub(crate) fn persist_word(&self, at: usize) {
        self.p.persist(&self.region[at..at + 8]);
    }
}

/// Reads the log in `image` (a region, or a crash image of one) without changing it: checks
/// the header, then scans the records from head to tail, each length leading to the next.
pub fn recover(image: &[u8]) -> Result<Recovered<'_>, Error> {
    if image.len() < DATA + 16 {
        return Err(Error::TooSmall { len: image.len() });
    }
    if word(image, MAGIC_AT) != MAGIC {
        return Err(Error::NotFormatted);
    }
    let capacity = word(image, CAPACITY_AT);
    let (head, tail) = (word(image, HEAD_AT), word(image, TAIL_AT));
    if capacity == 0 || !capacity.is_multiple_of(8) || capacity > (image.len() - DATA) as u64 {
        return Err(Error::Corrupt {
            what: "capacity",
            at: capacity,
        });
    }
    if !head.is_multiple_of(8) || !tail.is_multiple_of(8) || tail < head || tail - head > capacity {
        return Err(Error::Corrupt {
            what: "head and tail",
            at: tail,
        });
    }
    let mut pos = head;
    while pos < tail {
        let len = word(image, DATA + (pos % capacity) as usize);
        match record_size(len) {
            Some(size) if size <= tail - pos => pos += size,
            _ => {
                return Err(Error::Corrupt {
                    what: "a record runs past the tail",
                    at: pos,
                });
            }
        }
    }
    Ok(Recovered {
        image,
        capacity,
        head,
        tail,
    })
}

/// A log read by [`recover`].
#[derive(Clone, Copy, Debug)]
pub struct Recovered<'a> {
    image: &'a [u8],
    capacity: u64,
    head: u64,
    tail: u64,
}

impl<'a> Recovered<'a> {
    /// The records, oldest first.
    pub fn records(&self) -> Records<'a> {
        Records {
            image: self.image,
            capacity: self.capacity,
            pos: self.head,
            tail: self.tail,
        }
    }

    /// The position of the oldest record.
    pub fn head(&self) -> u64 {
        self.head
    }

    /// The position after the newest record.
    pub fn tail(&self) -> u64 {
        self.tail
    }

    /// Bytes of the data area.
    pub fn capacity(&self) -> u64 {
        self.capacity
    }
}

/// The records of a log, oldest first.
#[derive(Clone, Debug)]
pub struct Records<'a> {
    image: &'a [u8],
    capacity: u64,
    pos: u64,
    tail: u64,
}

impl<'a> Iterator for Records<'a> {
    type Item = Record<'a>;

    fn next(&mut self) -> Option<Record<'a>> {
        if self.pos >= self.tail {
            return None;
        }
        let len = word(self.image, DATA + (self.pos % self.capacity) as usize);
        // Checked by `recover` (or kept by `Log`); stop rather than panic on anything else.
        let Some(size) = record_size(len).filter(|&s| s <= self.tail - self.pos) else {
            self.pos = self.tail;
            return None;
        };
        let (first, second) = pieces(self.capacity, self.pos + 8, len as usize);
        let record = Record {
            pos: self.pos,
            first: &self.image[first],
            second: &self.image[second],
        };
        self.pos += size;
        Some(record)
    }
}

/// One record, in one or two pieces (where it wraps around the end of the data area).
#[derive(Clone, Copy, Debug)]
pub struct Record<'a> {
    pos: u64,
    first: &'a [u8],
    second: &'a [u8],
}

impl<'a> Record<'a> {
    /// Its position.
    pub fn pos(&self) -> u64 {
        self.pos
    }

    /// Its length in bytes.
    pub fn len(&self) -> usize {
        self.first.len() + self.second.len()
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Its bytes, in order.
    pub fn bytes(&self) -> impl Iterator<Item = u8> + 'a {
        self.first.iter().chain(self.second).copied()
    }

    /// Its two pieces: up to the end of the data area, and the rest.
    pub fn parts(&self) -> (&'a [u8], &'a [u8]) {
        (self.first, self.second)
    }
}

impl PartialEq<[u8]> for Record<'_> {
    fn eq(&self, other: &[u8]) -> bool {
        other.len() == self.len()
            && other[..self.first.len()] == *self.first
            && other[self.first.len()..] == *self.second
    }
}
