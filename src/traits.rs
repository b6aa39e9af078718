//! The traits code is written against: [`Flush`] and [`Drain`], the two primitives, and
//! [`Persist`], everything built from them (persist, the commit word, the persistent copies);
//! and [`Evict`], the write-back that also evicts, which invalidation is built from.
//!
//! The crate's own types implement them ([`Flusher`](crate::Flusher), [`Drainer`](crate::Drainer),
//! the concrete instruction types in [`arch`](crate::arch), pairs `(flush, drain)`), and so can
//! yours: a persistence model for crash testing, a page-flushing wrapper, a recorder. Code written
//! generically over `P: Persist` then runs unchanged on the hardware and under your
//! implementation.

use core::ops::Range;

use crate::mem::{self, CopyError, MemFlags};

/// Writes back the cache lines of a range.
///
/// Implement [`flush_raw`](Flush::flush_raw); the other methods are built on it.
///
/// ```
/// use pmem_flush::prelude::*;
///
/// let flusher = pmem_flush::flusher();
/// let record = [7u8; 100];
/// flusher.flush(&record);
/// flusher.flush_value(&42u64);
/// flusher.drain();
/// ```
pub trait Flush {
    /// Writes back every cache line that overlaps `[addr, addr + len)`. `len == 0` does nothing
    /// and does not touch `addr`. A range that claims to run past the top of the address space
    /// is cut at the top.
    ///
    /// # Safety
    ///
    /// When `len > 0`, every byte of `[addr, addr + len)` must be readable by a byte load (a
    /// write-back of an unmapped line faults like one).
    ///
    /// ```
    /// use pmem_flush::prelude::*;
    /// let flusher = pmem_flush::flusher();
    /// let record = [1u8; 300];
    /// // SAFETY: `record` is readable for its whole length.
    /// unsafe { flusher.flush_raw(record.as_ptr(), record.len()) };
    /// flusher.drain();
    /// ```
    ///
    /// Implementing it is all a type needs to be a [`Flush`]:
    ///
    /// ```
    /// use pmem_flush::prelude::*;
    /// use std::cell::Cell;
    ///
    /// /// Counts what it is asked to write back (a test double).
    /// #[derive(Default)]
    /// struct Counting(Cell<usize>);
    /// impl Flush for Counting {
    ///     unsafe fn flush_raw(&self, _addr: *const u8, len: usize) {
    ///         self.0.set(self.0.get() + len);
    ///     }
    /// }
    /// let counting = Counting::default();
    /// counting.flush(&[0u8; 10]);
    /// counting.flush_value(&7u32);
    /// assert_eq!(counting.0.get(), 14);
    /// ```
    unsafe fn flush_raw(&self, addr: *const u8, len: usize);

    /// Writes back every cache line that overlaps `buf`.
    ///
    /// ```
    /// use pmem_flush::prelude::*;
    /// let flusher = pmem_flush::flusher();
    /// let mut page = [0u8; 4096];
    /// page[..5].copy_from_slice(b"hello");
    /// flusher.flush(&page[..5]); // the line holding the five bytes
    /// flusher.drain();
    /// ```
    #[inline(always)]
    fn flush(&self, buf: &[u8]) {
        // SAFETY: a slice is readable for its whole length.
        unsafe { self.flush_raw(buf.as_ptr(), buf.len()) }
    }

    /// Writes back every cache line that overlaps `value`'s bytes: a header, a commit word, an
    /// array of records. [`InPlace`] keeps out values whose data lives elsewhere (references,
    /// slices held by reference, `Vec`, `Box`, a mapping handle), which would flush the handle
    /// instead of the data.
    ///
    /// ```
    /// use pmem_flush::prelude::*;
    /// use core::sync::atomic::AtomicU64;
    ///
    /// let head = AtomicU64::new(5);
    /// pmem_flush::flusher().flush_value(&head);
    /// ```
    ///
    /// A slice held in a variable must be passed as the slice, not as a reference to it:
    ///
    /// ```compile_fail
    /// use pmem_flush::prelude::*;
    /// let mut buf = [0u8; 64];
    /// let view: &mut [u8] = &mut buf;
    /// pmem_flush::flusher().flush_value(&view); // the 16-byte reference: refused
    /// ```
    #[inline(always)]
    fn flush_value<T: InPlace + ?Sized>(&self, value: &T) {
        // SAFETY: a reference is readable for `size_of_val` bytes.
        unsafe { self.flush_raw((value as *const T).cast(), core::mem::size_of_val(value)) }
    }
}

/// Writes back and evicts the cache lines of a range: what an invalidation executes between its
/// two fences ([`Flusher::invalidate`](crate::Flusher::invalidate),
/// [`pmem_flush::invalidate`](crate::invalidate)), so that later loads read memory that a device
/// or another agent wrote instead of a stale line. Linux's `arch_invalidate_pmem` for kernels and
/// drivers.
///
/// Implement [`evict_raw`](Evict::evict_raw); [`evict`](Evict::evict) is built on it. The
/// crate's types implement it with an instruction that never keeps the line: x86-64 CLFLUSHOPT
/// or CLFLUSH (never CLWB), AArch64 DC CIVAC, POWER `dcbf`, RISC-V `cbo.flush`.
///
/// ```
/// use pmem_flush::prelude::*;
///
/// let flusher = pmem_flush::flusher();
/// let shared = [7u8; 100];
/// // The bare evictions; an invalidation fences before and after them.
/// flusher.evict(&shared);
/// flusher.invalidate(&shared); // the fence, the evictions, the fence
/// assert_eq!(shared, [7u8; 100]); // written back before evicted: nothing is lost
/// ```
pub trait Evict {
    /// Writes back and evicts every cache line that overlaps `[addr, addr + len)`, without any
    /// fence. `len == 0` does nothing and does not touch `addr`. A range that claims to run past
    /// the top of the address space is cut at the top.
    ///
    /// Whole lines are evicted, bytes outside the range included; their modified data is
    /// written back first, so nothing is lost.
    ///
    /// # Safety
    ///
    /// When `len > 0`, every byte of `[addr, addr + len)` must be readable by a byte load (an
    /// eviction of an unmapped line faults like one).
    ///
    /// ```
    /// use pmem_flush::prelude::*;
    /// let flusher = pmem_flush::flusher();
    /// let record = [1u8; 300];
    /// // SAFETY: `record` is readable for its whole length.
    /// unsafe { flusher.evict_raw(record.as_ptr(), record.len()) };
    /// ```
    ///
    /// Implementing it is all a type needs to be an [`Evict`]:
    ///
    /// ```
    /// use pmem_flush::prelude::*;
    /// use std::cell::Cell;
    ///
    /// /// Counts what it is asked to evict (a test double).
    /// #[derive(Default)]
    /// struct Counting(Cell<usize>);
    /// impl Evict for Counting {
    ///     unsafe fn evict_raw(&self, _addr: *const u8, len: usize) {
    ///         self.0.set(self.0.get() + len);
    ///     }
    /// }
    /// let counting = Counting::default();
    /// counting.evict(&[0u8; 10]);
    /// assert_eq!(counting.0.get(), 10);
    /// ```
    unsafe fn evict_raw(&self, addr: *const u8, len: usize);

    /// Writes back and evicts every cache line that overlaps `buf`, without any fence.
    ///
    /// ```
    /// use pmem_flush::prelude::*;
    /// let flusher = pmem_flush::flusher();
    /// let page = [0u8; 4096];
    /// flusher.evict(&page[..5]); // the line holding the five bytes
    /// ```
    #[inline(always)]
    fn evict(&self, buf: &[u8]) {
        // SAFETY: a slice is readable for its whole length.
        unsafe { self.evict_raw(buf.as_ptr(), buf.len()) }
    }
}

/// Waits until earlier write-backs and non-temporal stores are ordered before later stores.
///
/// ```
/// use pmem_flush::prelude::*;
/// pmem_flush::Drainer::new().drain();
/// ```
pub trait Drain {
    /// Drains: orders this CPU's earlier write-backs and non-temporal stores before its later
    /// stores. Says nothing about other CPUs' write-backs.
    ///
    /// ```
    /// use pmem_flush::prelude::*;
    /// let flusher = pmem_flush::flusher();
    /// let (a, b) = ([1u8; 64], [2u8; 64]);
    /// flusher.flush(&a);
    /// flusher.flush(&b);
    /// flusher.drain(); // one drain orders both write-backs
    /// ```
    fn drain(&self);
}

/// Types whose bytes are their whole value, so that flushing `&T` writes back the data itself:
/// integers, floats, `bool`, `char`, atomics, arrays and slices of these, `str`, and the cells
/// and wrappers around them.
///
/// It is not implemented for references, raw pointers, `Vec`, `Box` or other handles, so
/// [`Flush::flush_value`] and the free [`persist_value`](crate::persist_value) refuse to flush
/// a handle where the data it points to was meant. Implement it for your own plain types (a
/// record header in persistent memory, say); doing so is safe, since flushing any readable bytes
/// is sound:
///
/// ```
/// use pmem_flush::{InPlace, prelude::*};
///
/// #[repr(C)]
/// struct Header {
///     len: u64,
///     checksum: u64,
/// }
/// impl InPlace for Header {}
///
/// let header = Header { len: 64, checksum: 0x1234 };
/// pmem_flush::flusher().persist_value(&header);
/// ```
pub trait InPlace {}

macro_rules! in_place {
    ($($t:ty),* $(,)?) => { $(impl InPlace for $t {})* };
}

in_place!(
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    f32,
    f64,
    bool,
    char,
    (),
    str
);

#[cfg(target_has_atomic = "8")]
in_place!(
    core::sync::atomic::AtomicU8,
    core::sync::atomic::AtomicI8,
    core::sync::atomic::AtomicBool
);
#[cfg(target_has_atomic = "16")]
in_place!(core::sync::atomic::AtomicU16, core::sync::atomic::AtomicI16);
#[cfg(target_has_atomic = "32")]
in_place!(core::sync::atomic::AtomicU32, core::sync::atomic::AtomicI32);
#[cfg(target_has_atomic = "64")]
in_place!(core::sync::atomic::AtomicU64, core::sync::atomic::AtomicI64);
#[cfg(target_has_atomic = "ptr")]
in_place!(
    core::sync::atomic::AtomicUsize,
    core::sync::atomic::AtomicIsize
);

impl<T: InPlace, const N: usize> InPlace for [T; N] {}
impl<T: InPlace> InPlace for [T] {}
impl<T: InPlace + ?Sized> InPlace for core::cell::Cell<T> {}
impl<T: InPlace + ?Sized> InPlace for core::cell::UnsafeCell<T> {}
impl<T: InPlace> InPlace for core::mem::MaybeUninit<T> {}
impl<T: InPlace + ?Sized> InPlace for core::mem::ManuallyDrop<T> {}
impl<T: InPlace> InPlace for core::num::Wrapping<T> {}

/// Everything built from [`Flush`] and [`Drain`]: persist, a failure-atomic commit word, and
/// libpmem's persistent copies.
///
/// Every type that flushes and drains can be `Persist` with an empty `impl`; the provided
/// methods then store with ordinary stores, write the range back with one
/// [`flush_raw`](Flush::flush_raw) and drain as libpmem's flags say. [`Flusher`](crate::Flusher)
/// overrides [`memmove_raw`](Persist::memmove_raw) and [`memset_raw`](Persist::memset_raw) with
/// its selection's store paths (non-temporal stores, a write-back per line). Pairs
/// `(flush, drain)` of the concrete instruction types are `Persist` too.
///
/// The pattern for a record and its commit word: store the payload, flush it, drain, then
/// commit (one failure-atomic 8-byte store, its write-back, and a drain). After a crash the
/// commit word is either old or new, and when it is new the payload is complete.
///
/// ```
/// use pmem_flush::prelude::*;
/// use core::sync::atomic::{AtomicU64, Ordering};
///
/// struct Log<'a> {
///     payload: &'a mut [u8],
///     committed_len: &'a AtomicU64,
/// }
///
/// fn append<P: Persist>(p: &P, log: &mut Log<'_>, record: &[u8]) -> Result<(), pmem_flush::CopyError> {
///     let start = log.committed_len.load(Ordering::Relaxed) as usize;
///     let end = start + record.len();
///     let dst = log.payload.get_mut(start..end).ok_or(pmem_flush::CopyError::OutOfBounds)?;
///     p.memcpy_persist(dst, record)?; // payload, flush, drain
///     p.commit(log.committed_len, end as u64); // commit word, flush, drain
///     Ok(())
/// }
///
/// let mut payload = [0u8; 256];
/// let committed_len = AtomicU64::new(0);
/// let mut log = Log { payload: &mut payload, committed_len: &committed_len };
/// append(&pmem_flush::flusher(), &mut log, b"hello").unwrap();
/// append(&pmem_flush::flusher(), &mut log, b" world").unwrap();
/// assert_eq!(&payload[..11], b"hello world");
/// assert_eq!(committed_len.load(Ordering::Relaxed), 11);
/// ```
pub trait Persist: Flush + Drain {
    /// Flushes `[addr, addr + len)`, then drains (libpmem's `pmem_persist`). `len == 0` still
    /// drains.
    ///
    /// # Safety
    ///
    /// As for [`Flush::flush_raw`].
    ///
    /// ```
    /// use pmem_flush::prelude::*;
    /// let record = [1u8; 100];
    /// // SAFETY: `record` is readable for its whole length.
    /// unsafe { pmem_flush::flusher().persist_raw(record.as_ptr(), record.len()) };
    /// ```
    #[inline(always)]
    unsafe fn persist_raw(&self, addr: *const u8, len: usize) {
        // SAFETY: the caller's contract.
        unsafe { self.flush_raw(addr, len) };
        self.drain();
    }

    /// Flushes `buf`, then drains.
    ///
    /// ```
    /// use pmem_flush::prelude::*;
    /// pmem_flush::flusher().persist(&[1u8, 2, 3]);
    /// ```
    #[inline(always)]
    fn persist(&self, buf: &[u8]) {
        // SAFETY: a slice is readable for its whole length.
        unsafe { self.persist_raw(buf.as_ptr(), buf.len()) }
    }

    /// Flushes `value`'s bytes, then drains (see [`Flush::flush_value`]).
    ///
    /// ```
    /// use pmem_flush::prelude::*;
    /// pmem_flush::flusher().persist_value(&[0u64; 4]);
    /// ```
    #[inline(always)]
    fn persist_value<T: InPlace + ?Sized>(&self, value: &T) {
        self.flush_value(value);
        self.drain();
    }

    /// Commits: stores `value` into `word` with one failure-atomic 8-byte store, writes its line
    /// back and drains. After a crash the word holds either its old value or `value`, never a
    /// mix, and once this returns it holds `value` durably.
    ///
    /// Persist what the word commits *before* calling this (flush and drain it, or use a
    /// `_persist` copy): the commit orders nothing that was written back after it. The store is
    /// a `Release` store, so a thread that reads `value` with `Acquire` also sees the payload.
    ///
    /// ```
    /// use pmem_flush::prelude::*;
    /// use core::sync::atomic::{AtomicU64, Ordering};
    ///
    /// let flusher = pmem_flush::flusher();
    /// let mut payload = [0u8; 64];
    /// let valid = AtomicU64::new(0);
    /// flusher.memcpy_persist(&mut payload[..5], b"hello").unwrap();
    /// flusher.commit(&valid, 5);
    /// assert_eq!(valid.load(Ordering::Acquire), 5);
    /// ```
    #[cfg(target_has_atomic = "64")]
    #[inline(always)]
    fn commit(&self, word: &core::sync::atomic::AtomicU64, value: u64) {
        word.store(value, core::sync::atomic::Ordering::Release);
        self.flush_value(word);
        self.drain();
    }

    /// Copies `len` bytes from `src` to `dst`, which may overlap, and makes them persistent as
    /// `flags` say (libpmem's `pmem_memmove`). Returns `dst`.
    ///
    /// The plan follows libpmem ([`choose`](crate::choose)); the provided implementation stores
    /// with ordinary stores, writes the whole range back with one [`flush_raw`](Flush::flush_raw)
    /// (not with `NOFLUSH`) and drains (not with `NODRAIN` or `NOFLUSH`). The drain happens even
    /// for `len == 0` and `dst == src`, as in libpmem, where the copy itself stores nothing.
    ///
    /// On 64-bit targets, wherever `dst` and `len` are multiples of 8, every store is at least
    /// 8 bytes wide, so an aligned 8-byte word in the copy is never torn.
    ///
    /// # Safety
    ///
    /// `src` is readable and `dst` writable for `len` bytes (as for `core::ptr::copy`).
    ///
    /// ```
    /// use pmem_flush::{MemFlags, prelude::*};
    /// let mut buf = *b"abcdefgh";
    /// let base = buf.as_mut_ptr();
    /// // SAFETY: both ranges lie inside `buf` (they overlap, which memmove allows).
    /// let dst = unsafe { pmem_flush::flusher().memmove_raw(base.add(2), base, 4, MemFlags::empty()) };
    /// assert_eq!(dst, base.wrapping_add(2));
    /// assert_eq!(&buf, b"ababcdgh");
    /// ```
    #[inline]
    unsafe fn memmove_raw(
        &self,
        dst: *mut u8,
        src: *const u8,
        len: usize,
        flags: MemFlags,
    ) -> *mut u8 {
        // SAFETY: the caller's contract.
        unsafe { mem::memmove_with_flush(self, dst, src, len, flags) }
    }

    /// Sets `len` bytes at `dst` to `value` and makes them persistent as `flags` say (libpmem's
    /// `pmem_memset`). Returns `dst`. As [`memmove_raw`](Persist::memmove_raw) for the plan, the
    /// drain and the store widths.
    ///
    /// # Safety
    ///
    /// `dst` is writable for `len` bytes.
    ///
    /// ```
    /// use pmem_flush::{MemFlags, prelude::*};
    /// let f = pmem_flush::flusher();
    /// let mut buf = [1u8; 300];
    /// // SAFETY: `buf` is writable for its whole length.
    /// unsafe { f.memset_raw(buf.as_mut_ptr(), 0, buf.len(), MemFlags::NODRAIN) };
    /// f.drain();
    /// assert_eq!(buf, [0; 300]);
    /// ```
    #[inline]
    unsafe fn memset_raw(&self, dst: *mut u8, value: u8, len: usize, flags: MemFlags) -> *mut u8 {
        // SAFETY: the caller's contract.
        unsafe { mem::memset_with_flush(self, dst, value, len, flags) }
    }

    /// Copies `src` into `dst` (same length) as `flags` say (libpmem's `pmem_memcpy`). Nothing
    /// is written, and nothing drained, when the lengths differ.
    ///
    /// ```
    /// use pmem_flush::{MemFlags, prelude::*};
    /// let mut dst = [0u8; 8];
    /// pmem_flush::flusher().memcpy(&mut dst, &[9; 8], MemFlags::NONTEMPORAL).unwrap();
    /// assert_eq!(dst, [9; 8]);
    /// ```
    #[inline]
    fn memcpy(&self, dst: &mut [u8], src: &[u8], flags: MemFlags) -> Result<(), CopyError> {
        mem::check_lengths(dst.len(), src.len())?;
        // SAFETY: both slices are valid for their (equal) length and cannot overlap.
        unsafe { self.memmove_raw(dst.as_mut_ptr(), src.as_ptr(), src.len(), flags) };
        Ok(())
    }

    /// Copies `src` into `dst` and persists (libpmem's `pmem_memcpy_persist`).
    ///
    /// ```
    /// use pmem_flush::prelude::*;
    /// let mut dst = [0u8; 4];
    /// pmem_flush::flusher().memcpy_persist(&mut dst, b"abcd").unwrap();
    /// assert_eq!(&dst, b"abcd");
    /// ```
    #[inline]
    fn memcpy_persist(&self, dst: &mut [u8], src: &[u8]) -> Result<(), CopyError> {
        self.memcpy(dst, src, MemFlags::empty())
    }

    /// Copies `src` into `dst` and writes it back without the final drain (libpmem's
    /// `pmem_memcpy_nodrain`): drain before relying on it.
    ///
    /// ```
    /// use pmem_flush::prelude::*;
    /// let f = pmem_flush::flusher();
    /// let mut dst = [0u8; 4];
    /// f.memcpy_nodrain(&mut dst, b"abcd").unwrap();
    /// f.drain();
    /// ```
    #[inline]
    fn memcpy_nodrain(&self, dst: &mut [u8], src: &[u8]) -> Result<(), CopyError> {
        self.memcpy(dst, src, MemFlags::NODRAIN)
    }

    /// Moves `buf[src]` to `buf[dest..]` (like `slice::copy_within`) as `flags` say (libpmem's
    /// `pmem_memmove`). Nothing is written, and nothing drained, when a range lies outside
    /// `buf` or starts after its end ([`CopyError::OutOfBounds`](crate::CopyError::OutOfBounds)).
    ///
    /// ```
    /// use pmem_flush::{MemFlags, prelude::*};
    /// let mut buf = *b"abcdef";
    /// pmem_flush::flusher().memmove(&mut buf, 0..4, 2, MemFlags::empty()).unwrap();
    /// assert_eq!(&buf, b"ababcd");
    /// ```
    #[inline]
    fn memmove(
        &self,
        buf: &mut [u8],
        src: Range<usize>,
        dest: usize,
        flags: MemFlags,
    ) -> Result<(), CopyError> {
        let (from, to, len) = mem::check_within(buf.len(), src, dest)?;
        let base = buf.as_mut_ptr();
        // SAFETY: both ranges were checked to lie inside `buf`.
        unsafe { self.memmove_raw(base.add(to), base.add(from), len, flags) };
        Ok(())
    }

    /// Moves within `buf` and persists (libpmem's `pmem_memmove_persist`).
    ///
    /// ```
    /// use pmem_flush::prelude::*;
    /// let mut buf = *b"abcdef";
    /// pmem_flush::flusher().memmove_persist(&mut buf, 2..6, 0).unwrap();
    /// assert_eq!(&buf, b"cdefef");
    /// ```
    #[inline]
    fn memmove_persist(
        &self,
        buf: &mut [u8],
        src: Range<usize>,
        dest: usize,
    ) -> Result<(), CopyError> {
        self.memmove(buf, src, dest, MemFlags::empty())
    }

    /// Moves within `buf` without the final drain (libpmem's `pmem_memmove_nodrain`).
    ///
    /// ```
    /// use pmem_flush::prelude::*;
    /// let f = pmem_flush::flusher();
    /// let mut buf = *b"abcdef";
    /// f.memmove_nodrain(&mut buf, 0..2, 4).unwrap();
    /// f.drain();
    /// assert_eq!(&buf, b"abcdab");
    /// ```
    #[inline]
    fn memmove_nodrain(
        &self,
        buf: &mut [u8],
        src: Range<usize>,
        dest: usize,
    ) -> Result<(), CopyError> {
        self.memmove(buf, src, dest, MemFlags::NODRAIN)
    }

    /// Sets every byte of `dst` to `value` as `flags` say (libpmem's `pmem_memset`).
    ///
    /// ```
    /// use pmem_flush::{MemFlags, prelude::*};
    /// let mut buf = [1u8; 100];
    /// pmem_flush::flusher().memset(&mut buf, 0, MemFlags::TEMPORAL);
    /// assert_eq!(buf, [0; 100]);
    /// ```
    #[inline]
    fn memset(&self, dst: &mut [u8], value: u8, flags: MemFlags) {
        // SAFETY: the slice is writable for its length.
        unsafe { self.memset_raw(dst.as_mut_ptr(), value, dst.len(), flags) };
    }

    /// Sets every byte of `dst` and persists (libpmem's `pmem_memset_persist`).
    ///
    /// ```
    /// use pmem_flush::prelude::*;
    /// let mut buf = [1u8; 100];
    /// pmem_flush::flusher().memset_persist(&mut buf, 0xff);
    /// assert_eq!(buf, [0xff; 100]);
    /// ```
    #[inline]
    fn memset_persist(&self, dst: &mut [u8], value: u8) {
        self.memset(dst, value, MemFlags::empty())
    }

    /// Sets every byte of `dst` without the final drain (libpmem's `pmem_memset_nodrain`).
    ///
    /// ```
    /// use pmem_flush::prelude::*;
    /// let f = pmem_flush::flusher();
    /// let mut buf = [1u8; 100];
    /// f.memset_nodrain(&mut buf, 7);
    /// f.drain();
    /// ```
    #[inline]
    fn memset_nodrain(&self, dst: &mut [u8], value: u8) {
        self.memset(dst, value, MemFlags::NODRAIN)
    }
}

// References flush, evict and drain as what they point to.
impl<F: Flush + ?Sized> Flush for &F {
    #[inline(always)]
    unsafe fn flush_raw(&self, addr: *const u8, len: usize) {
        // SAFETY: the caller's contract.
        unsafe { (**self).flush_raw(addr, len) }
    }
}

impl<F: Flush + ?Sized> Flush for &mut F {
    #[inline(always)]
    unsafe fn flush_raw(&self, addr: *const u8, len: usize) {
        // SAFETY: the caller's contract.
        unsafe { (**self).flush_raw(addr, len) }
    }
}

impl<E: Evict + ?Sized> Evict for &E {
    #[inline(always)]
    unsafe fn evict_raw(&self, addr: *const u8, len: usize) {
        // SAFETY: the caller's contract.
        unsafe { (**self).evict_raw(addr, len) }
    }
}

impl<E: Evict + ?Sized> Evict for &mut E {
    #[inline(always)]
    unsafe fn evict_raw(&self, addr: *const u8, len: usize) {
        // SAFETY: the caller's contract.
        unsafe { (**self).evict_raw(addr, len) }
    }
}

impl<D: Drain + ?Sized> Drain for &D {
    #[inline(always)]
    fn drain(&self) {
        (**self).drain()
    }
}

impl<D: Drain + ?Sized> Drain for &mut D {
    #[inline(always)]
    fn drain(&self) {
        (**self).drain()
    }
}

/// Forwards the methods an implementation may override (`memmove_raw`, `memset_raw`, `commit`)
/// to the value behind a pointer type.
macro_rules! forward_persist {
    ($($ptr:ty),*) => {$(
        impl<P: Persist + ?Sized> Persist for $ptr {
            #[inline(always)]
            unsafe fn memmove_raw(
                &self,
                dst: *mut u8,
                src: *const u8,
                len: usize,
                flags: MemFlags,
            ) -> *mut u8 {
                // SAFETY: the caller's contract.
                unsafe { (**self).memmove_raw(dst, src, len, flags) }
            }

            #[inline(always)]
            unsafe fn memset_raw(
                &self,
                dst: *mut u8,
                value: u8,
                len: usize,
                flags: MemFlags,
            ) -> *mut u8 {
                // SAFETY: the caller's contract.
                unsafe { (**self).memset_raw(dst, value, len, flags) }
            }

            #[cfg(target_has_atomic = "64")]
            #[inline(always)]
            fn commit(&self, word: &core::sync::atomic::AtomicU64, value: u64) {
                (**self).commit(word, value)
            }
        }
    )*};
}

forward_persist!(&P, &mut P);

#[cfg(all(feature = "std", not(all(docsrs, target_os = "none"))))]
mod owning_pointers {
    use super::{Drain, Evict, Flush, MemFlags, Persist};
    use std::boxed::Box;
    use std::rc::Rc;
    use std::sync::Arc;

    macro_rules! forward_flush_evict_drain {
        ($($ptr:ident),*) => {$(
            #[cfg_attr(docsrs, doc(cfg(feature = "std")))]
            impl<F: Flush + ?Sized> Flush for $ptr<F> {
                #[inline(always)]
                unsafe fn flush_raw(&self, addr: *const u8, len: usize) {
                    // SAFETY: the caller's contract.
                    unsafe { (**self).flush_raw(addr, len) }
                }
            }

            #[cfg_attr(docsrs, doc(cfg(feature = "std")))]
            impl<E: Evict + ?Sized> Evict for $ptr<E> {
                #[inline(always)]
                unsafe fn evict_raw(&self, addr: *const u8, len: usize) {
                    // SAFETY: the caller's contract.
                    unsafe { (**self).evict_raw(addr, len) }
                }
            }

            #[cfg_attr(docsrs, doc(cfg(feature = "std")))]
            impl<D: Drain + ?Sized> Drain for $ptr<D> {
                #[inline(always)]
                fn drain(&self) {
                    (**self).drain()
                }
            }
        )*};
    }

    forward_flush_evict_drain!(Box, Rc, Arc);
    forward_persist!(Box<P>, Rc<P>, Arc<P>);
}

/// A write-back and a drain of your choice, for example two concrete instruction types:
/// `(Clwb, Sfence)` persists with no dispatch at all.
///
/// ```
/// use pmem_flush::prelude::*;
/// # #[cfg(target_arch = "x86_64")] {
/// use pmem_flush::arch::x86_64::{Clflush, Sfence};
/// if let Some(clflush) = Clflush::new() {
///     let pair = (clflush, Sfence);
///     pair.persist(&[1u8; 256]);
/// }
/// # }
/// ```
impl<F: Flush, D: Drain> Flush for (F, D) {
    #[inline(always)]
    unsafe fn flush_raw(&self, addr: *const u8, len: usize) {
        // SAFETY: the caller's contract.
        unsafe { self.0.flush_raw(addr, len) }
    }
}

impl<F: Flush, D: Drain> Drain for (F, D) {
    #[inline(always)]
    fn drain(&self) {
        self.1.drain()
    }
}

impl<F: Flush, D: Drain> Persist for (F, D) {}
