//! Crash-consistency testing for code built on [`pmem_flush`], in ordinary unit tests, on any
//! architecture: a persistence model behind the [`Flush`](pmem_flush::Flush),
//! [`Drain`](pmem_flush::Drain) and [`Persist`](pmem_flush::Persist) traits, and an explorer
//! that crashes your operation at every write-back and drain and runs your recovery on every
//! crash image.
//!
//! Write the persistent code generically (`p: &impl Persist`), as you would for the hardware;
//! in tests, hand it a [`Model`] through [`explore`], with a check that runs your recovery:
//!
//! ```
//! use pmem_flush::prelude::*;
//!
//! /// Appends `record` behind a committed length at offset 0: payload, then commit word.
//! fn append<P: Persist>(p: &P, region: &mut [u8], record: &[u8]) {
//!     let len = u64::from_le_bytes(region[..8].try_into().unwrap()) as usize;
//!     let end = 8 + len + record.len();
//!     p.memcpy_persist(&mut region[8 + len..end], record).unwrap(); // payload, flush, drain
//!     p.memcpy_persist(&mut region[..8], &(end as u64 - 8).to_le_bytes()).unwrap(); // commit
//! }
//!
//! /// Recovery's invariant: the committed length covers whole records, none torn.
//! fn check(image: &[u8]) -> Result<(), String> {
//!     let len = u64::from_le_bytes(image[..8].try_into().unwrap()) as usize;
//!     let records = image.get(8..8 + len).ok_or("length past the end")?;
//!     match len % 6 == 0 && records.chunks(6).all(|r| r == b"record") {
//!         true => Ok(()),
//!         false => Err(format!("torn: {len} bytes committed over {records:?}")),
//!     }
//! }
//!
//! let stats = pmem_flush_model::explore(
//!     &[0u8; 256],
//!     |region, model| (0..4).for_each(|_| append(model, region, b"record")),
//!     check,
//! )
//! .unwrap();
//! println!("{stats}"); // crash images, crash points, stores, write-backs, drains
//! ```
//!
//! Commit before the payload and the explorer finds the crash image that shows it, with the
//! crash point, which lines reached memory, and your error:
//!
//! ```
//! # use pmem_flush::prelude::*;
//! # fn check(image: &[u8]) -> Result<(), String> {
//! #     let len = u64::from_le_bytes(image[..8].try_into().unwrap()) as usize;
//! #     let records = image.get(8..8 + len).ok_or("length past the end")?;
//! #     match len % 6 == 0 && records.chunks(6).all(|r| r == b"record") {
//! #         true => Ok(()),
//! #         false => Err(format!("torn: {len} bytes committed over {records:?}")),
//! #     }
//! # }
//! fn append_commit_first<P: Persist>(p: &P, region: &mut [u8], record: &[u8]) {
//!     let len = u64::from_le_bytes(region[..8].try_into().unwrap()) as usize;
//!     let end = 8 + len + record.len();
//!     p.memcpy_persist(&mut region[..8], &(end as u64 - 8).to_le_bytes()).unwrap();
//!     p.memcpy_persist(&mut region[8 + len..end], record).unwrap();
//! }
//!
//! let report = pmem_flush_model::explore(
//!     &[0u8; 256],
//!     |region, model| (0..4).for_each(|_| append_commit_first(model, region, b"record")),
//!     check,
//! )
//! .unwrap_err();
//! assert_eq!(
//!     report.to_string().lines().take(2).collect::<Vec<_>>(),
//!     [
//!         "crash at write-back #1 (flush_raw of 8 bytes at offset 0) (step 2), image 2 of 2 \
//!          (enumerated): reached memory: [0..64); did not: nothing",
//!         "the check failed: torn: 6 bytes committed over [0, 0, 0, 0, 0, 0]",
//!     ]
//! );
//! ```
//!
//! # What it does
//!
//! A [`Model`] tracks one registered region. Its copies (every form of
//! [`Persist::memcpy`](pmem_flush::Persist::memcpy), `memmove`, `memset`) and
//! [`commit`](pmem_flush::Persist::commit) store into your memory through the pointers they
//! are given, exactly as on hardware, and record the bytes in the model's *live* image. A
//! write-back ([`flush_raw`](pmem_flush::Flush::flush_raw) and everything built on it) copies
//! the lines it covers from the live image into the *pending* set (written back, not drained);
//! a drain makes them *durable*. At any moment [`Model::crash_images`] lists what memory may
//! hold after a crash: the durable image, with each pending line either reached or not.
//!
//! [`explore`] (or [`Options::explore`]) runs an operation on a copy of an initial image under
//! a model and, at every crash point, hands each crash image to your check. Crash points: the
//! start; after every write-back and every non-temporal copy; just before every drain
//! completes; the end (and, with evictions, after every store). Points with up to
//! [`Options::with_max_enumerated`] images (1024: ten lines) are enumerated; larger ones are
//! sampled with a seed, always including "nothing reached memory" and "everything did". The
//! first failure is returned with the point, the image and your error; a store or write-back
//! outside the region is a failure too ([`Failure::OutsideRegion`]: the flush of a stack copy
//! instead of the persistent data).
//!
//! # Assumptions
//!
//! - **Lines.** A write-back covers whole lines of [`Options::line_size`] bytes (64 by default;
//!   128 for POWER), aligned in the address space. A line written back carries all of its
//!   bytes as the live image has them at that moment, whatever range the flush named.
//! - **Reordering until a drain.** Lines written back since the last drain reach memory
//!   independently and in any order; a drain makes every one of them durable. A line written
//!   back twice before a drain holds, after a crash, its durable contents or either write-back.
//! - **Failure atomicity.** By default a pending line reaches memory whole or not at all. The
//!   hardware promises less: only aligned 8-byte stores never tear. With
//!   [`Options::with_torn_lines`] a pending line may reach memory in part, any subset of its
//!   aligned 8-byte words; run your tests both ways. An aligned 8-byte word is never torn in
//!   either mode, so a commit word (`commit`, or an aligned 8-byte copy) is failure-atomic.
//! - **Stores not written back are lost** in every crash image, by default. Real caches may
//!   evict a dirty line at any moment; with
//!   [`Options::with_evictions`] every line stored to since its last write-back may also reach
//!   memory, with its current contents, at every crash point (and the explorer stops after
//!   every store), which catches a commit word stored too early even when it is flushed late.
//! - **Non-temporal stores.** A copy whose plan ([`pmem_flush::choose`] at cache-line
//!   granularity with the model's threshold, 256 bytes by default, as libpmem) is non-temporal
//!   makes its lines pending at once, without a write-back, and durable at the next drain; a
//!   temporal copy writes back as its plan says; `NOFLUSH` only stores; flags drain as
//!   libpmem's do, zero length included. [`Options::with_non_temporal`]`(false)` is a target
//!   without non-temporal stores.
//! - **Cache-line granularity (ADR).** Byte granularity (eADR), where every store is durable
//!   once visible, is not modelled: code correct under the model is correct there too.
//! - **One thread.** A model is not `Sync`; the region is written by the operation's thread.
//!
//! # What it cannot see
//!
//! Only what goes through the model's trait methods. A plain store (`slice[i] = x`, a
//! `ptr::write`, an atomic stored directly, a `Vec` of records) never reaches the model's live
//! image, so it is lost in every crash image, except the bytes of such stores that a write-back
//! through the model names: the model reads the flushed range through the pointer the flush is
//! given and takes those bytes as stored just before the write-back (it never reads the region
//! otherwise; it keeps only its address). A flush through anything else (the free functions,
//! another [`Flusher`](pmem_flush::Flusher)) and stores outside the region are invisible, except
//! that the model reports its own copies and write-backs that reach outside the region. So
//! route every persistent store of the code under test through the traits: copies for data,
//! `commit` or an aligned 8-byte copy for commit words.
//!
//! # How a crate author uses it
//!
//! 1. Take `pmem-flush-model` as a dev-dependency; keep the persistent code generic over
//!    `P: Persist` (or `Flush + Drain`) and store through the copies.
//! 2. In a test, call [`explore`] with an initial image, the operation (a few thousand
//!    appends, a transaction, an allocation), and a check that runs your recovery on the crash
//!    image and compares it with what the operation had completed, told through a `Cell` that
//!    the operation updates.
//! 3. On failure, print the [`CrashReport`]: the step and kind of the crash point, which lines
//!    reached memory, and your error.
//! 4. Run it again with [`Options::with_torn_lines`] and [`Options::with_evictions`].
//!
//! The workspace's `examples/crash-log` (a crash-consistent ring log over a memory-mapped file)
//! is the worked example: its tests explore 2000 appends and catch each of its broken variants
//! (a missing drain, a commit before the payload's flush, a flush one byte short, and, with
//! evictions, a commit word stored too early).
//!
//! # Why a separate crate
//!
//! The model allocates (shadow images, pending lines, reports); `pmem-flush` promises never to.
//! So the model is this `no_std` + `alloc` crate, taken as a dev-dependency, and `pmem-flush`
//! keeps no feature for it.

#![no_std]
#![deny(
    unsafe_op_in_unsafe_fn,
    missing_docs,
    clippy::undocumented_unsafe_blocks,
    clippy::missing_safety_doc
)]
#![warn(missing_debug_implementations, rust_2018_idioms)]

extern crate alloc;

mod explore;
mod images;
mod model;
mod options;
mod report;

pub use explore::explore;
pub use model::Model;
pub use options::Options;
pub use report::{
    CrashReport, Failure, ImageChoice, Point, PointKind, Problem, Reached, Source, Stats,
};
