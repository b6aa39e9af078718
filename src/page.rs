//! Page granularity (libpmem2's `PMEM2_GRANULARITY_PAGE`): persistence is a step the platform
//! performs on whole pages, such as `msync` on a memory-mapped file or a kernel's page
//! write-back, supplied by the caller as a [`PageHook`].

use core::convert::Infallible;

use crate::traits::{Drain, Flush, Persist};

/// A caller-supplied persistence step for page granularity: makes a range durable by whatever
/// the platform offers (an `msync` over a mapping, a kernel's write-back of the pages). It can
/// carry context (the mapping, a file, a device) and report failure through
/// [`Error`](PageHook::Error).
///
/// Implementing it is safe: [`write_back_pages`](PageHook::write_back_pages) is an `unsafe fn`
/// whose contract the crate guarantees to your implementation, never the other way round.
///
/// ```
/// use pmem_flush::{PageFlusher, PageHook};
/// use std::cell::Cell;
///
/// /// Counts the bytes it was asked to write back (a stand-in for `msync`).
/// #[derive(Default)]
/// struct Counting(Cell<usize>);
///
/// impl PageHook for Counting {
///     type Error = core::convert::Infallible;
///     unsafe fn write_back_pages(&self, _addr: *const u8, len: usize) -> Result<(), Self::Error> {
///         self.0.set(self.0.get() + len);
///         Ok(())
///     }
/// }
///
/// let pages = PageFlusher::new(Counting::default());
/// pages.try_flush(&[0u8; 100]).unwrap();
/// pages.try_flush(&[]).unwrap(); // empty: the hook is not called
/// assert_eq!(pages.hook().0.get(), 100);
/// ```
pub trait PageHook {
    /// What a failed write-back reports: [`Infallible`] for a hook that cannot fail (such a
    /// [`PageFlusher`] implements [`Flush`], [`Drain`] and [`Persist`]), `std::io::Error` for
    /// an `msync`.
    type Error;

    /// Makes `[addr, addr + len)` durable, rounding out to whole pages as the platform needs.
    /// When it returns `Ok`, the range is persistent: no drain follows.
    ///
    /// # Safety
    ///
    /// What the caller (this crate) guarantees: `len > 0`, and every byte of
    /// `[addr, addr + len)` is readable. Nothing else: in particular the range need not be
    /// page-aligned, and it is not writable through `addr`.
    ///
    /// ```
    /// use pmem_flush::PageHook;
    ///
    /// /// `msync` over a memory-mapped file, rounded out to whole pages.
    /// struct Msync;
    /// impl PageHook for Msync {
    ///     type Error = std::io::Error;
    ///     unsafe fn write_back_pages(&self, addr: *const u8, len: usize) -> Result<(), Self::Error> {
    ///         let page = 4096; // sysconf(_SC_PAGESIZE) in real code
    ///         let start = addr as usize & !(page - 1);
    ///         let len = len + (addr as usize - start);
    ///         // libc::msync(start as *mut _, len, libc::MS_SYNC) in real code.
    ///         let _ = (start, len);
    ///         Ok(())
    ///     }
    /// }
    /// let buf = [0u8; 100];
    /// // SAFETY: `len > 0` and `buf` is readable: the contract the crate gives every hook.
    /// unsafe { Msync.write_back_pages(buf.as_ptr(), buf.len()) }.unwrap();
    /// ```
    unsafe fn write_back_pages(&self, addr: *const u8, len: usize) -> Result<(), Self::Error>;
}

impl<H: PageHook + ?Sized> PageHook for &H {
    type Error = H::Error;

    #[inline(always)]
    unsafe fn write_back_pages(&self, addr: *const u8, len: usize) -> Result<(), H::Error> {
        // SAFETY: the caller's contract, passed on unchanged.
        unsafe { (**self).write_back_pages(addr, len) }
    }
}

/// A flusher for page granularity: flush and persist call the [`PageHook`] with the range
/// (never with an empty one); drain does nothing, since the hook's write-back is complete when
/// it returns (libpmem2's page granularity).
///
/// The `try_` methods report the hook's errors. A hook that cannot fail
/// (`Error = Infallible`) makes the flusher a [`Flush`], [`Drain`] and [`Persist`], so generic
/// code runs on it unchanged; its copies store with ordinary stores and call the hook once for
/// the whole range. With a hook that can fail (an `msync` of a file mapping),
/// [`try_flush`](PageFlusher::try_flush) is the whole persist, since drain has nothing to do,
/// and a persistent copy is an ordinary copy followed by `try_flush` of the destination.
///
/// ```
/// use pmem_flush::{PageFlusher, PageHook, prelude::*};
///
/// /// A kernel's page write-back, allocation-free: the context is the hook itself.
/// struct WritebackPages;
/// impl PageHook for WritebackPages {
///     type Error = core::convert::Infallible;
///     unsafe fn write_back_pages(&self, addr: *const u8, len: usize) -> Result<(), Self::Error> {
///         // A real kernel would write back the pages of [addr, addr + len) here.
///         let _ = (addr, len);
///         Ok(())
///     }
/// }
///
/// let pages = PageFlusher::new(WritebackPages);
/// let mut buf = [0u8; 4096];
/// pages.memcpy_persist(&mut buf[..5], b"hello").unwrap();
/// pages.persist(&buf);
/// ```
///
/// An `unsafe fn` with a contract of its own cannot be slipped in as a hook: only a type that
/// implements [`PageHook`] (and so states what it relies on) can.
///
/// ```compile_fail
/// unsafe fn write_through(p: *const u8, len: usize) {
///     // SAFETY: none: it relies on `p` being writable, which a flush never promises.
///     unsafe { p.cast_mut().write_bytes(0, len) }
/// }
/// let pages = pmem_flush::PageFlusher::new(write_through);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PageFlusher<H> {
    hook: H,
}

impl<H: PageHook> PageFlusher<H> {
    /// A page flusher that persists with `hook`.
    ///
    /// ```
    /// # use pmem_flush::{PageFlusher, PageHook};
    /// # struct Nop;
    /// # impl PageHook for Nop {
    /// #     type Error = core::convert::Infallible;
    /// #     unsafe fn write_back_pages(&self, _: *const u8, _: usize) -> Result<(), Self::Error> { Ok(()) }
    /// # }
    /// let pages = PageFlusher::new(Nop);
    /// pages.try_flush(b"abc").unwrap();
    /// ```
    #[inline]
    #[must_use]
    pub const fn new(hook: H) -> PageFlusher<H> {
        PageFlusher { hook }
    }

    /// The hook.
    ///
    /// ```
    /// # use pmem_flush::{PageFlusher, PageHook};
    /// # #[derive(Debug, PartialEq)]
    /// # struct Nop;
    /// # impl PageHook for Nop {
    /// #     type Error = core::convert::Infallible;
    /// #     unsafe fn write_back_pages(&self, _: *const u8, _: usize) -> Result<(), Self::Error> { Ok(()) }
    /// # }
    /// assert_eq!(PageFlusher::new(Nop).hook(), &Nop);
    /// ```
    #[inline]
    #[must_use]
    pub const fn hook(&self) -> &H {
        &self.hook
    }

    /// Makes `[addr, addr + len)` durable with the hook; `len == 0` does nothing and returns
    /// `Ok`.
    ///
    /// # Safety
    ///
    /// As for [`Flush::flush_raw`]: when `len > 0`, every byte of the range is readable.
    ///
    /// ```
    /// # use pmem_flush::{PageFlusher, PageHook};
    /// # struct Nop;
    /// # impl PageHook for Nop {
    /// #     type Error = core::convert::Infallible;
    /// #     unsafe fn write_back_pages(&self, _: *const u8, _: usize) -> Result<(), Self::Error> { Ok(()) }
    /// # }
    /// let pages = PageFlusher::new(Nop);
    /// let record = [1u8; 100];
    /// // SAFETY: `record` is readable for its whole length.
    /// unsafe { pages.try_flush_raw(record.as_ptr(), record.len()) }.unwrap();
    /// ```
    #[inline]
    pub unsafe fn try_flush_raw(&self, addr: *const u8, len: usize) -> Result<(), H::Error> {
        if len == 0 {
            return Ok(());
        }
        // SAFETY: `len > 0` and the caller guarantees the range is readable: the hook's
        // contract.
        unsafe { self.hook.write_back_pages(addr, len) }
    }

    /// Makes `buf` durable with the hook; an empty `buf` does nothing and returns `Ok`.
    ///
    /// ```
    /// # use pmem_flush::{PageFlusher, PageHook};
    /// struct Failing;
    /// impl PageHook for Failing {
    ///     type Error = &'static str;
    ///     unsafe fn write_back_pages(&self, _: *const u8, _: usize) -> Result<(), Self::Error> {
    ///         Err("I/O error")
    ///     }
    /// }
    /// let pages = PageFlusher::new(Failing);
    /// assert_eq!(pages.try_flush(&[1, 2, 3]), Err("I/O error"));
    /// assert_eq!(pages.try_flush(&[]), Ok(()));
    /// ```
    #[inline]
    pub fn try_flush(&self, buf: &[u8]) -> Result<(), H::Error> {
        // SAFETY: a slice is readable for its whole length.
        unsafe { self.try_flush_raw(buf.as_ptr(), buf.len()) }
    }
}

impl<H: PageHook<Error = Infallible>> Flush for PageFlusher<H> {
    #[inline]
    unsafe fn flush_raw(&self, addr: *const u8, len: usize) {
        // SAFETY: the caller's contract.
        match unsafe { self.try_flush_raw(addr, len) } {
            Ok(()) => {}
            Err(never) => match never {},
        }
    }
}

impl<H: PageHook> Drain for PageFlusher<H> {
    /// Nothing: each write-back through the hook was complete when it returned.
    #[inline(always)]
    fn drain(&self) {}
}

impl<H: PageHook<Error = Infallible>> Persist for PageFlusher<H> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::trace::record;
    use crate::mem::MemFlags;
    use std::cell::RefCell;
    use std::vec;
    use std::vec::Vec;

    /// Records every range it is asked to write back; fails when `fail` is set.
    #[derive(Default)]
    struct Recorder {
        calls: RefCell<Vec<(usize, usize)>>,
        fail: bool,
    }

    impl PageHook for Recorder {
        type Error = usize;
        unsafe fn write_back_pages(&self, addr: *const u8, len: usize) -> Result<(), usize> {
            self.calls.borrow_mut().push((addr.addr(), len));
            if self.fail { Err(len) } else { Ok(()) }
        }
    }

    /// The same, infallible, so that the flusher is a `Persist`.
    #[derive(Default)]
    struct Infallible(Recorder);

    impl PageHook for Infallible {
        type Error = core::convert::Infallible;
        unsafe fn write_back_pages(&self, addr: *const u8, len: usize) -> Result<(), Self::Error> {
            // SAFETY: the caller's contract, passed on.
            let _ = unsafe { self.0.write_back_pages(addr, len) };
            Ok(())
        }
    }

    #[test]
    fn empty_ranges_never_reach_the_hook() {
        let pages = PageFlusher::new(Infallible::default());
        let dangling = core::ptr::without_provenance::<u8>(0x1);
        // SAFETY: len == 0.
        unsafe {
            pages.flush_raw(dangling, 0);
            pages.persist_raw(dangling, 0);
            pages.try_flush_raw(dangling, 0).unwrap();
        }
        pages.flush(&[]);
        pages.persist(&[]);
        pages.memcpy_persist(&mut [], &[]).unwrap();
        pages.memset_persist(&mut [], 1);
        assert!(pages.hook().0.calls.borrow().is_empty());
    }

    #[test]
    fn each_operation_calls_the_hook_once_with_the_range_and_never_fences() {
        let pages = PageFlusher::new(Infallible::default());
        let mut buf = vec![0u8; 5000];
        let range = |b: &[u8]| (b.as_ptr().addr(), b.len());
        let steps = record(|| {
            pages.flush(&buf[3..10]);
            pages.persist(&buf[100..]);
            pages.drain();
        });
        assert!(
            steps.is_empty(),
            "page granularity drains nothing: {steps:?}"
        );
        let want = vec![range(&buf[3..10]), range(&buf[100..])];
        assert_eq!(*pages.hook().0.calls.borrow(), want);

        // Copies: ordinary stores, then one hook call for the whole range (none with NOFLUSH).
        pages.hook().0.calls.borrow_mut().clear();
        let src: Vec<u8> = (0..4000).map(|i| i as u8).collect();
        pages.memcpy_persist(&mut buf[7..4007], &src).unwrap();
        assert_eq!(&buf[7..4007], &src[..]);
        pages.memset(&mut buf[..64], 9, MemFlags::NOFLUSH);
        pages.memmove_persist(&mut buf, 0..100, 200).unwrap();
        let calls = pages.hook().0.calls.borrow().clone();
        assert_eq!(calls, [range(&buf[7..4007]), range(&buf[200..300])]);
    }

    #[test]
    fn failures_reach_the_caller() {
        let failing = PageFlusher::new(Recorder {
            fail: true,
            ..Recorder::default()
        });
        assert_eq!(failing.try_flush(&[1, 2, 3]), Err(3));
        assert_eq!(failing.try_flush(&[]), Ok(()));
        assert_eq!(failing.hook().calls.borrow().len(), 1);
        let fine = PageFlusher::new(Recorder::default());
        assert_eq!(fine.try_flush(&[1, 2, 3]), Ok(()));
        // Through a reference to the hook too.
        let by_ref = PageFlusher::new(failing.hook());
        assert_eq!(by_ref.try_flush(&[0; 10]), Err(10));
    }
}
