//! The value callers keep: [`Flusher`] (flush, drain, persist and copy with one detected
//! selection), the drain alone ([`Drainer`]), and pmem2-style plain function pointers.

use core::fmt;

use crate::arch;
use crate::mem::{self, MemFlags, NonTemporal, Plan, choose};
use crate::selection::{Config, Fence, Granularity, Selection, WriteBack};
use crate::traits::{Drain, Evict, Flush, Persist};

/// libpmem2's `pmem2_flush_fn`: writes back a range. Call with the contract of
/// [`Flush::flush_raw`].
///
/// ```
/// use pmem_flush::FlushFn;
/// // Chosen once, called many times: the instruction and line size are fixed in the function.
/// let flush: FlushFn = pmem_flush::get_flush_fn();
/// let record = [3u8; 200];
/// // SAFETY: `record` is readable for its whole length.
/// unsafe { flush(record.as_ptr(), record.len()) };
/// pmem_flush::get_drain_fn()();
/// ```
pub type FlushFn = unsafe fn(addr: *const u8, len: usize);
/// libpmem2's `pmem2_persist_fn`: flush, then drain. Call with the contract of
/// [`Flush::flush_raw`].
///
/// Also the type of the other whole operations over a range handed out as function pointers:
/// deep flush ([`get_deep_flush_fn`](crate::get_deep_flush_fn)) and invalidate
/// ([`get_invalidate_fn`](crate::get_invalidate_fn)). It is the same type as [`FlushFn`]; the
/// two names say what the pointer does, not what the compiler checks.
///
/// ```
/// use pmem_flush::PersistFn;
/// let persist: PersistFn = pmem_flush::flusher().persist_fn();
/// let record = [3u8; 200];
/// // SAFETY: `record` is readable for its whole length.
/// unsafe { persist(record.as_ptr(), record.len()) };
/// ```
pub type PersistFn = unsafe fn(addr: *const u8, len: usize);
/// libpmem2's `pmem2_drain_fn`.
///
/// ```
/// use pmem_flush::DrainFn;
/// let drain: DrainFn = pmem_flush::get_drain_fn();
/// pmem_flush::flush(&[0u8; 64]);
/// drain();
/// ```
pub type DrainFn = fn();

/// One selection, ready to use: flush, drain, persist, deep flush, libpmem's persistent
/// copies and invalidation, all from one detection.
///
/// `Copy`, twelve bytes, no allocation: keep it in a struct, pass it by value, share it between
/// threads. Build one with [`Flusher::new`] (detects this CPU; refuses a selection that would
/// not make data durable unless you accept it), take the one the free functions use with
/// [`pmem_flush::flusher`](crate::flusher), or build one from a [`Selection`] you vouch for
/// with [`Flusher::new_unchecked`].
///
/// Its methods come from the traits in [`prelude`](crate::prelude): [`Flush`], [`Drain`],
/// [`Persist`] and [`Evict`]; the copies ([`Persist::memcpy_persist`] and the rest) use the selection's
/// stores: non-temporal where libpmem would, else ordinary stores with a write-back per line.
///
/// ```
/// use pmem_flush::{Config, Flusher, NotDurable, prelude::*};
///
/// let flusher = match Flusher::new(Config::new()) {
///     Ok(flusher) => flusher,
///     Err(refused) => {
///         eprintln!("{refused}"); // e.g. RISC-V without the platform's Zicbom facts
///         refused.accept()
///     }
/// };
/// let mut log = [0u8; 4096];
/// flusher.memcpy_persist(&mut log[..5], b"hello").unwrap();
/// flusher.flush(&log[..64]);
/// flusher.drain();
/// println!("{flusher}");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Flusher {
    flush_kind: WriteBack,
    deep_kind: WriteBack,
    evict_kind: WriteBack,
    line_shift: u8,
    granularity: Granularity,
    nt: NonTemporal,
    nt_threshold: u32,
    /// [`Selection::is_durable`] of the selection it was made from.
    durable: bool,
}

static_assertions::assert_impl_all!(Flusher: Copy, Send, Sync);
// Twelve bytes on every target: two words on 64-bit targets, three on 32-bit ones.
static_assertions::const_assert!(core::mem::size_of::<Flusher>() <= 12);

/// `Flusher` keeps the threshold in 32 bits, as the detection cell does: `u32::MAX` is
/// "never" ([`Config::with_nt_threshold`] stores every value from there up as `usize::MAX`).
const fn threshold_u32(bytes: usize) -> u32 {
    if bytes >= u32::MAX as usize {
        u32::MAX
    } else {
        bytes as u32
    }
}

const fn threshold_usize(t: u32) -> usize {
    match t {
        u32::MAX => usize::MAX,
        t => t as usize,
    }
}

impl Flusher {
    /// Detects the CPU this code runs on and chooses for `config`.
    ///
    /// Refuses a selection that would not make data durable ([`Selection::is_durable`]): at
    /// cache-line granularity with no write-back instruction to use, persist would only fence.
    /// That happens when the configuration disables every write-back the CPU has, on RISC-V
    /// (no register reports Zicbom: build the selection from the platform's facts and use
    /// [`Flusher::new_unchecked`]) and on targets without a backend. To go on anyway, accept
    /// the error: `Flusher::new(config).unwrap_or_else(NotDurable::accept)`.
    ///
    /// The environment overrides of libpmem (`PMEM_NO_CLWB` and friends) are not read here:
    /// pass `Config::from_env()` (feature `std`), or take the free
    /// functions' flusher with [`pmem_flush::flusher`](crate::flusher), which has read them.
    ///
    /// ```
    /// use pmem_flush::{Config, Features, Flusher, NotDurable, Selection};
    ///
    /// let flusher = Flusher::new(Config::new());
    /// // Refused exactly where persist would not make data durable.
    /// assert_eq!(flusher.is_ok(), Selection::detect(Config::new()).is_durable());
    /// # #[cfg(any(target_arch = "x86_64", target_arch = "powerpc64"))]
    /// assert!(flusher.is_ok());
    ///
    /// // Every write-back disabled: refused, unless accepted.
    /// let fence_only = Config::new().disable(Features::all());
    /// let err = Flusher::new(fence_only).unwrap_err();
    /// println!("{err}");
    /// let flusher = Flusher::new(fence_only).unwrap_or_else(NotDurable::accept);
    /// assert!(!flusher.is_durable());
    /// ```
    pub fn new(config: Config) -> Result<Flusher, NotDurable> {
        let selection = Selection::detect(config);
        // SAFETY: the selection comes from this CPU's own detection, for this target.
        let flusher = unsafe { Flusher::new_unchecked(&selection) };
        if selection.is_durable() {
            Ok(flusher)
        } else {
            Err(NotDurable { flusher, selection })
        }
    }

    /// The flusher for `selection`, without asking the CPU and without refusing a non-durable
    /// selection.
    ///
    /// # Safety
    ///
    /// `selection` must be for [`Arch::HOST`](crate::Arch::HOST), and every CPU that runs the
    /// flusher must support its write-back instructions and non-temporal stores and have lines
    /// no smaller than its line size. (A selection from another architecture flushes nothing.)
    ///
    /// ```
    /// use pmem_flush::{Config, Cpu, Flusher, Selection};
    /// # #[cfg(target_arch = "riscv64")] {
    /// // A RISC-V kernel that read `riscv,cbom-block-size = <64>` from its device tree:
    /// let cpu = pmem_flush::features::riscv64::zicbom(Some(64));
    /// let selection = Selection::new(&cpu, Config::new());
    /// // SAFETY: the device tree says every hart has Zicbom with 64-byte blocks.
    /// let flusher = unsafe { Flusher::new_unchecked(&selection) };
    /// assert!(flusher.is_durable());
    /// # }
    /// // Anywhere: the CPU's own detection, which is what `Flusher::new` does safely.
    /// let selection = Selection::detect(Config::new());
    /// // SAFETY: detected on this CPU.
    /// let flusher = unsafe { Flusher::new_unchecked(&selection) };
    /// assert_eq!(flusher.flush_write_back(), selection.flush_write_back());
    /// ```
    #[inline]
    #[must_use]
    pub const unsafe fn new_unchecked(selection: &Selection) -> Flusher {
        Flusher {
            flush_kind: selection.flush_write_back(),
            deep_kind: selection.deep_flush_write_back(),
            evict_kind: selection.evict_write_back(),
            line_shift: selection.line_shift(),
            granularity: selection.config().granularity(),
            nt: selection.non_temporal(),
            nt_threshold: threshold_u32(selection.config().nt_threshold()),
            durable: selection.is_durable(),
        }
    }

    /// The flusher of the global selection, from its packed word.
    #[inline(always)]
    pub(crate) const fn from_word(word: crate::cell::Word) -> Flusher {
        Flusher {
            flush_kind: word.flush(),
            deep_kind: word.deep(),
            evict_kind: word.evict(),
            line_shift: word.shift(),
            granularity: word.granularity(),
            nt: word.non_temporal(),
            nt_threshold: word.nt_threshold_u32(),
            durable: word.is_durable(),
        }
    }

    /// A flusher from its parts, for tests that force one store path or write-back.
    #[cfg(test)]
    pub(crate) const fn from_parts(
        flush_kind: WriteBack,
        line_shift: u8,
        granularity: Granularity,
        nt: NonTemporal,
        nt_threshold: usize,
    ) -> Flusher {
        Flusher {
            flush_kind,
            deep_kind: flush_kind,
            evict_kind: WriteBack::None,
            line_shift,
            granularity,
            nt,
            nt_threshold: threshold_u32(nt_threshold),
            durable: !matches!(flush_kind, WriteBack::None)
                || matches!(granularity, Granularity::Byte),
        }
    }

    /// log2 of the line size.
    #[inline(always)]
    pub(crate) const fn line_shift(&self) -> u8 {
        self.line_shift
    }

    /// The drain that goes with this flusher: this target's fence ([`Drainer`] is the same for
    /// every flusher; this is for code written in libpmem2's pair style).
    ///
    /// ```
    /// use pmem_flush::prelude::*;
    /// let drainer = pmem_flush::flusher().drainer();
    /// drainer.drain();
    /// ```
    #[inline]
    #[must_use]
    pub const fn drainer(&self) -> Drainer {
        Drainer::new()
    }

    /// The instruction `flush` executes per line ([`WriteBack::None`] at byte granularity, or
    /// when nothing is available).
    ///
    /// ```
    /// use pmem_flush::{Config, Flusher, Granularity, NotDurable, WriteBack};
    /// let eadr = Flusher::new(Config::new().with_granularity(Granularity::Byte))
    ///     .unwrap_or_else(NotDurable::accept);
    /// assert_eq!(eadr.flush_write_back(), WriteBack::None);
    /// ```
    #[inline]
    #[must_use]
    pub const fn flush_write_back(&self) -> WriteBack {
        self.flush_kind
    }

    /// The instruction `deep_flush` executes per line, at every granularity.
    ///
    /// ```
    /// let f = pmem_flush::flusher();
    /// # #[cfg(target_arch = "x86_64")]
    /// assert_eq!(f.deep_flush_write_back(), f.flush_write_back());
    /// ```
    #[inline]
    #[must_use]
    pub const fn deep_flush_write_back(&self) -> WriteBack {
        self.deep_kind
    }

    /// The instruction `invalidate` and [`Evict::evict`] execute per line, at every granularity
    /// (see [`Selection::evict_write_back`]): x86 CLFLUSHOPT or CLFLUSH, never CLWB.
    ///
    /// ```
    /// use pmem_flush::{Config, Flusher, Granularity, NotDurable, WriteBack};
    /// let f = pmem_flush::flusher();
    /// assert_ne!(f.evict_write_back(), WriteBack::Clwb);
    /// // The CPU caches are persistent, but a stale line is stale all the same.
    /// let eadr = Flusher::new(Config::new().with_granularity(Granularity::Byte))
    ///     .unwrap_or_else(NotDurable::accept);
    /// assert_eq!(eadr.evict_write_back(), f.evict_write_back());
    /// ```
    #[inline]
    #[must_use]
    pub const fn evict_write_back(&self) -> WriteBack {
        self.evict_kind
    }

    /// The bytes each write-back covers.
    ///
    /// ```
    /// assert!(pmem_flush::flusher().line_size() >= 16);
    /// ```
    #[inline]
    #[must_use]
    pub const fn line_size(&self) -> usize {
        1 << self.line_shift
    }

    /// The granularity it was chosen for.
    ///
    /// ```
    /// use pmem_flush::{Config, Flusher, Granularity, NotDurable};
    /// let f = Flusher::new(Config::new()).unwrap_or_else(NotDurable::accept);
    /// assert_eq!(f.granularity(), Granularity::CacheLine);
    /// ```
    #[inline]
    #[must_use]
    pub const fn granularity(&self) -> Granularity {
        self.granularity
    }

    /// Whether persisting through this flusher makes data durable (see
    /// [`Selection::is_durable`]): byte granularity, or a write-back instruction to use.
    ///
    /// ```
    /// let f = pmem_flush::flusher();
    /// println!("durable: {}", f.is_durable());
    /// ```
    #[inline]
    #[must_use]
    pub const fn is_durable(&self) -> bool {
        self.durable
    }

    /// The non-temporal stores its copies use ([`NonTemporal::None`]: ordinary stores only).
    ///
    /// ```
    /// use pmem_flush::{Config, Flusher, NonTemporal, NotDurable};
    /// let f = Flusher::new(Config::new().with_non_temporal(false)).unwrap_or_else(NotDurable::accept);
    /// assert_eq!(f.non_temporal(), NonTemporal::None);
    /// ```
    #[inline]
    #[must_use]
    pub const fn non_temporal(&self) -> NonTemporal {
        self.nt
    }

    /// Copies from this many bytes up use non-temporal stores by default (`usize::MAX`:
    /// never).
    ///
    /// ```
    /// assert_eq!(pmem_flush::Flusher::new(pmem_flush::Config::new())
    ///     .unwrap_or_else(pmem_flush::NotDurable::accept).nt_threshold(), 256);
    /// ```
    #[inline]
    #[must_use]
    pub const fn nt_threshold(&self) -> usize {
        threshold_usize(self.nt_threshold)
    }

    /// Its plan for a copy of `len` bytes with `flags`: what [`Persist::memmove_raw`] and the
    /// other copies on this flusher do ([`choose`] with its granularity, threshold and stores).
    ///
    /// ```
    /// use pmem_flush::{MemFlags, Stores};
    /// let plan = pmem_flush::flusher().plan(MemFlags::TEMPORAL, 4096);
    /// assert_eq!(plan.stores(), Stores::TemporalWriteBack);
    /// assert!(plan.drains());
    /// ```
    #[inline]
    #[must_use]
    pub const fn plan(&self, flags: MemFlags, len: usize) -> Plan {
        choose(flags, len, self.granularity, self.nt_threshold(), self.nt)
    }

    /// Writes the range back with the deepest write-back there is, whatever the granularity
    /// (even at byte granularity), then drains (libpmem2's `pmem2_deep_flush` for the CPU
    /// caches).
    ///
    /// # Safety
    ///
    /// As for [`Flush::flush_raw`].
    ///
    /// ```
    /// use pmem_flush::{Config, Flusher, Granularity};
    /// // Even where flush does nothing (the CPU caches are persistent), deep flush writes back.
    /// let eadr = Flusher::new(Config::new().with_granularity(Granularity::Byte)).unwrap();
    /// let record = [5u8; 128];
    /// // SAFETY: `record` is readable for its whole length.
    /// unsafe { eadr.deep_flush_raw(record.as_ptr(), record.len()) };
    /// ```
    #[inline]
    pub unsafe fn deep_flush_raw(&self, addr: *const u8, len: usize) {
        // SAFETY: the constructor's contract (instruction supported) and the caller's (mapped).
        unsafe { arch::write_back_range(self.deep_kind, addr, len, self.line_shift) };
        arch::drain();
    }

    /// Deep-flushes `buf` (see [`deep_flush_raw`](Self::deep_flush_raw)).
    ///
    /// ```
    /// pmem_flush::flusher().deep_flush(&[0u8; 256]);
    /// ```
    #[inline]
    pub fn deep_flush(&self, buf: &[u8]) {
        // SAFETY: a slice is readable for its whole length.
        unsafe { self.deep_flush_raw(buf.as_ptr(), buf.len()) }
    }

    /// Invalidates the range, so that later loads read memory rather than stale cache lines
    /// (Linux's `arch_invalidate_pmem`): the invalidation fence, every line that overlaps the
    /// range written back and evicted ([`Evict::evict_raw`]), the fence again. For memory a
    /// device or another agent wrote behind the caches (DMA, poison clearing, memory handed over
    /// between domains): call it once those writes are complete.
    ///
    /// - The fence is MFENCE on x86-64 (SFENCE, the drain, does not order later loads), `DSB SY`
    ///   on AArch64, `phwsync` on 64-bit POWER, `FENCE iorw,iorw` on RISC-V
    ///   ([`Selection::invalidate_fence`]). The one before orders the evictions after earlier
    ///   accesses (the load of a completion flag, say); the one after orders later loads after
    ///   the evictions. The instruction modules in [`arch`](crate::arch) give each
    ///   architecture's rules and manuals.
    /// - Dirty lines are written back before they are evicted: data this CPU wrote is never
    ///   lost, and reads back unchanged. (Whether it is durable is flush's business: on POWER10
    ///   the eviction's write-back stops at memory.)
    /// - Byte granularity evicts too: invalidation is about stale lines, not durability.
    /// - `len == 0` evicts nothing but still executes both fences, as persist still drains.
    /// - Without an instruction that evicts ([`evict_write_back`](Self::evict_write_back) is
    ///   [`WriteBack::None`]) it only fences; `Display` says so.
    ///
    /// # Safety
    ///
    /// As for [`Flush::flush_raw`].
    ///
    /// ```
    /// let f = pmem_flush::flusher();
    /// let dma_buffer = [0u8; 512]; // written by a device, say
    /// // SAFETY: `dma_buffer` is readable for its whole length.
    /// unsafe { f.invalidate_raw(dma_buffer.as_ptr(), dma_buffer.len()) };
    /// // Loads of `dma_buffer` now read memory, not stale lines.
    /// ```
    #[inline]
    pub unsafe fn invalidate_raw(&self, addr: *const u8, len: usize) {
        // SAFETY: the constructor's contract (instruction supported) and the caller's (mapped).
        unsafe { arch::invalidate_range(self.evict_kind, addr, len, self.line_shift) }
    }

    /// Invalidates `buf` (see [`invalidate_raw`](Self::invalidate_raw)).
    ///
    /// ```
    /// let shared = [3u8; 256];
    /// pmem_flush::flusher().invalidate(&shared);
    /// assert_eq!(shared, [3u8; 256]);
    /// ```
    #[inline]
    pub fn invalidate(&self, buf: &[u8]) {
        // SAFETY: a slice is readable for its whole length.
        unsafe { self.invalidate_raw(buf.as_ptr(), buf.len()) }
    }

    /// A plain function that does what [`invalidate_raw`](Self::invalidate_raw) does on this
    /// flusher, with the instruction and line size fixed in it, as
    /// [`flush_fn`](Self::flush_fn).
    ///
    /// ```
    /// let invalidate = pmem_flush::flusher().invalidate_fn();
    /// let data = [1u8; 64];
    /// // SAFETY: `data` is readable for its whole length.
    /// unsafe { invalidate(data.as_ptr(), data.len()) };
    /// ```
    #[must_use]
    pub fn invalidate_fn(&self) -> PersistFn {
        fns::invalidate(self.evict_kind, self.line_shift)
    }

    /// A plain function that does what [`Flush::flush_raw`] does on this flusher
    /// (libpmem2's `pmem2_get_flush_fn`), with the instruction and line size fixed in it: no
    /// dispatch is left. Flushers that flush alike hand out the same function.
    ///
    /// ```
    /// let flush = pmem_flush::flusher().flush_fn();
    /// let data = [1u8; 64];
    /// // SAFETY: `data` is readable for its whole length.
    /// unsafe { flush(data.as_ptr(), data.len()) };
    /// ```
    #[must_use]
    pub fn flush_fn(&self) -> FlushFn {
        fns::lines(self.flush_kind, self.line_shift)
    }

    /// A plain function that does what [`Persist::persist_raw`] does on this flusher
    /// (libpmem2's `pmem2_get_persist_fn`).
    ///
    /// ```
    /// let persist = pmem_flush::flusher().persist_fn();
    /// let data = [1u8; 64];
    /// // SAFETY: `data` is readable for its whole length.
    /// unsafe { persist(data.as_ptr(), data.len()) };
    /// ```
    #[must_use]
    pub fn persist_fn(&self) -> PersistFn {
        fns::lines_then_drain(self.flush_kind, self.line_shift)
    }

    /// A plain function that does what [`deep_flush_raw`](Self::deep_flush_raw) does on this
    /// flusher.
    ///
    /// ```
    /// let deep = pmem_flush::flusher().deep_flush_fn();
    /// let data = [1u8; 64];
    /// // SAFETY: `data` is readable for its whole length.
    /// unsafe { deep(data.as_ptr(), data.len()) };
    /// ```
    #[must_use]
    pub fn deep_flush_fn(&self) -> PersistFn {
        fns::lines_then_drain(self.deep_kind, self.line_shift)
    }
}

impl Flush for Flusher {
    #[inline]
    unsafe fn flush_raw(&self, addr: *const u8, len: usize) {
        // SAFETY: the constructor's contract (instruction supported) and the caller's (mapped).
        unsafe { arch::write_back_range(self.flush_kind, addr, len, self.line_shift) }
    }
}

impl Evict for Flusher {
    #[inline]
    unsafe fn evict_raw(&self, addr: *const u8, len: usize) {
        // SAFETY: the constructor's contract (instruction supported) and the caller's (mapped).
        unsafe { arch::evict_range(self.evict_kind, addr, len, self.line_shift) }
    }
}

impl Drain for Flusher {
    #[inline(always)]
    fn drain(&self) {
        arch::drain();
    }
}

impl Persist for Flusher {
    #[inline]
    unsafe fn memmove_raw(
        &self,
        dst: *mut u8,
        src: *const u8,
        len: usize,
        flags: MemFlags,
    ) -> *mut u8 {
        // SAFETY: the caller's contract for the ranges; the constructor's for the instructions.
        unsafe { mem::memmove_selected(self, dst, src, len, flags) }
    }

    #[inline]
    unsafe fn memset_raw(&self, dst: *mut u8, value: u8, len: usize, flags: MemFlags) -> *mut u8 {
        // SAFETY: the caller's contract for the range; the constructor's for the instructions.
        unsafe { mem::memset_selected(self, dst, value, len, flags) }
    }
}

impl fmt::Display for Flusher {
    /// One line: what `flush`, `deep_flush`, `invalidate` and `drain` execute.
    ///
    /// ```
    /// let text = pmem_flush::flusher().to_string();
    /// assert!(text.starts_with("flush: "));
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.flush_kind, self.granularity) {
            (WriteBack::None, Granularity::Byte) => {
                f.write_str("flush: nothing (byte granularity)")?
            }
            (WriteBack::None, _) => f.write_str("flush: nothing (NOT DURABLE)")?,
            (wb, _) if !self.durable => write!(
                f,
                "flush: {wb} per {}-byte line (NOT DURABLE: a better write-back could not be \
                 asked for)",
                self.line_size()
            )?,
            (wb, _) => write!(f, "flush: {wb} per {}-byte line", self.line_size())?,
        }
        match self.deep_kind {
            WriteBack::None => f.write_str("; deep flush: nothing")?,
            wb => write!(f, "; deep flush: {wb}")?,
        }
        f.write_str("; invalidate: ")?;
        match self.evict_kind {
            WriteBack::None => write!(f, "{} only (NOTHING IS EVICTED)", arch::INVALIDATE)?,
            wb => write!(f, "{0}, {wb}, {0}", arch::INVALIDATE)?,
        }
        write!(f, "; drain: {}", arch::DRAIN)
    }
}

/// [`Flusher::new`]'s refusal of a selection that would not make data durable: at cache-line
/// granularity with no write-back instruction to use, persist would only fence.
///
/// [`accept`](NotDurable::accept) takes the flusher anyway; `Display` says why it was
/// refused.
///
/// ```
/// use pmem_flush::{Config, Features, Flusher};
/// let err = Flusher::new(Config::new().disable(Features::all())).unwrap_err();
/// assert!(!err.selection().is_durable());
/// assert!(err.to_string().contains("not durable"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotDurable {
    flusher: Flusher,
    selection: Selection,
}

impl NotDurable {
    /// The flusher that was refused: it fences, and flushes nothing.
    ///
    /// ```
    /// use pmem_flush::{Config, Features, Flusher, NotDurable};
    /// let f = Flusher::new(Config::new().disable(Features::all())).unwrap_or_else(NotDurable::accept);
    /// assert!(!f.is_durable());
    /// ```
    #[must_use]
    pub const fn accept(self) -> Flusher {
        self.flusher
    }

    /// The selection it was built from; its `Display` explains every choice.
    ///
    /// ```
    /// use pmem_flush::{Config, Features, Flusher};
    /// let err = Flusher::new(Config::new().disable(Features::all())).unwrap_err();
    /// println!("{}", err.selection());
    /// ```
    #[must_use]
    pub const fn selection(&self) -> &Selection {
        &self.selection
    }
}

impl fmt::Display for NotDurable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sel = &self.selection;
        if !matches!(sel.flush_write_back(), WriteBack::None) {
            return write!(
                f,
                "not durable at cache-line granularity: flush would use {}, but this build \
                 could not ask the CPU for {:?}, which persistence may need (enable the `std` \
                 feature, or pass the CPU's features with `Cpu::new`)",
                sel.flush_write_back(),
                sel.cpu().unasked()
            );
        }
        let reason = if sel.write_backs_disabled() {
            "every write-back instruction this CPU has is disabled by configuration"
        } else {
            "no write-back instruction is known to this crate here (on RISC-V: build the \
             selection from the platform's Zicbom facts, `Selection::new(&features::riscv64::\
             zicbom(block_size), config)`, and pass it to `Flusher::new_unchecked`)"
        };
        write!(
            f,
            "not durable at cache-line granularity: {reason}; persist would only fence"
        )
    }
}

impl core::error::Error for NotDurable {}

/// The drain alone: this target's fence (SFENCE, DSB SY, phwsync, FENCE iorw,iorw; a
/// sequentially consistent atomic fence elsewhere), with nothing to decide at run time.
///
/// ```
/// use pmem_flush::{Drainer, prelude::*};
/// let drainer = Drainer::new();
/// drainer.drain();
/// let drain = drainer.drain_fn();
/// drain();
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Drainer {
    _private: (),
}

static_assertions::assert_impl_all!(Drainer: Copy, Send, Sync);
static_assertions::assert_eq_size!(Drainer, ());

impl Drainer {
    /// This target's drain: SFENCE on x86-64 (also after CLFLUSH; libpmem2 does the same),
    /// `DSB SY` on AArch64, `phwsync` on 64-bit POWER, `fence iorw,iorw` on RISC-V, a
    /// sequentially consistent atomic fence elsewhere.
    ///
    /// ```
    /// let d = pmem_flush::Drainer::new();
    /// assert_eq!(d, pmem_flush::Drainer::default());
    /// ```
    #[inline]
    #[must_use]
    pub const fn new() -> Drainer {
        Drainer { _private: () }
    }

    /// The fence `drain` executes.
    ///
    /// ```
    /// # #[cfg(target_arch = "x86_64")]
    /// assert_eq!(pmem_flush::Drainer::new().fence(), pmem_flush::Fence::Sfence);
    /// ```
    #[inline]
    #[must_use]
    pub const fn fence(&self) -> Fence {
        arch::DRAIN
    }

    /// A plain function that does what [`Drain::drain`] does (libpmem2's
    /// `pmem2_get_drain_fn`).
    ///
    /// ```
    /// pmem_flush::Drainer::new().drain_fn()();
    /// ```
    #[must_use]
    pub fn drain_fn(&self) -> DrainFn {
        fns::drain
    }
}

impl Drain for Drainer {
    #[inline(always)]
    fn drain(&self) {
        arch::drain();
    }
}

impl fmt::Display for Drainer {
    /// ```
    /// assert!(pmem_flush::Drainer::new().to_string().starts_with("drain: "));
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "drain: {}", arch::DRAIN)
    }
}

/// Monomorphic functions for the pointer getters: one per (write-back, line size) this target
/// can select, so a returned pointer does no dispatch.
mod fns {
    use super::{FlushFn, PersistFn};
    use crate::arch;
    use crate::selection::WriteBack;

    /// Writes back with instruction `KIND` in lines of `1 << SHIFT` bytes.
    unsafe fn lines_fixed<const KIND: u8, const SHIFT: u8>(addr: *const u8, len: usize) {
        // SAFETY: only handed out for a selection of this target; callers keep the
        // `Flush::flush_raw` contract.
        unsafe { arch::write_back_range(WriteBack::from_u8(KIND), addr, len, SHIFT) }
    }

    /// As [`lines_fixed`], then this target's drain.
    unsafe fn lines_then_drain_fixed<const KIND: u8, const SHIFT: u8>(addr: *const u8, len: usize) {
        // SAFETY: as for `lines_fixed`.
        unsafe { arch::write_back_range(WriteBack::from_u8(KIND), addr, len, SHIFT) };
        arch::drain();
    }

    /// The invalidation fence, `KIND` on lines of `1 << SHIFT` bytes, the fence again.
    unsafe fn fenced_lines_fixed<const KIND: u8, const SHIFT: u8>(addr: *const u8, len: usize) {
        // SAFETY: as for `lines_fixed`; `KIND` evicts.
        unsafe { arch::invalidate_range(WriteBack::from_u8(KIND), addr, len, SHIFT) }
    }

    unsafe fn nothing(_addr: *const u8, _len: usize) {}

    unsafe fn drain_only(_addr: *const u8, _len: usize) {
        arch::drain();
    }

    pub(super) fn drain() {
        arch::drain();
    }

    /// Expands to a match on `$shift` over every line size (16..=2048 bytes) for `$kind`.
    macro_rules! by_shift {
        ($f:ident, $kind:expr, $shift:expr) => {{
            const K: u8 = $kind as u8;
            match $shift {
                4 => $f::<K, 4> as unsafe fn(*const u8, usize),
                5 => $f::<K, 5>,
                6 => $f::<K, 6>,
                7 => $f::<K, 7>,
                8 => $f::<K, 8>,
                9 => $f::<K, 9>,
                10 => $f::<K, 10>,
                // 11, and anything larger (never produced): 2048-byte steps.
                _ => $f::<K, 11>,
            }
        }};
    }

    pub(super) fn lines(kind: WriteBack, shift: u8) -> FlushFn {
        match kind {
            #[cfg(target_arch = "x86_64")]
            WriteBack::Clwb => by_shift!(lines_fixed, WriteBack::Clwb, shift),
            #[cfg(target_arch = "x86_64")]
            WriteBack::ClflushOpt => by_shift!(lines_fixed, WriteBack::ClflushOpt, shift),
            #[cfg(target_arch = "x86_64")]
            WriteBack::Clflush => by_shift!(lines_fixed, WriteBack::Clflush, shift),
            #[cfg(target_arch = "aarch64")]
            WriteBack::DcCvap => by_shift!(lines_fixed, WriteBack::DcCvap, shift),
            #[cfg(target_arch = "aarch64")]
            WriteBack::DcCvadp => by_shift!(lines_fixed, WriteBack::DcCvadp, shift),
            #[cfg(target_arch = "aarch64")]
            WriteBack::DcCvac => by_shift!(lines_fixed, WriteBack::DcCvac, shift),
            #[cfg(target_arch = "powerpc64")]
            WriteBack::Dcbstps => by_shift!(lines_fixed, WriteBack::Dcbstps, shift),
            #[cfg(target_arch = "riscv64")]
            WriteBack::CboClean => by_shift!(lines_fixed, WriteBack::CboClean, shift),
            _ => nothing,
        }
    }

    pub(super) fn invalidate(kind: WriteBack, shift: u8) -> PersistFn {
        match kind {
            #[cfg(target_arch = "x86_64")]
            WriteBack::ClflushOpt => by_shift!(fenced_lines_fixed, WriteBack::ClflushOpt, shift),
            #[cfg(target_arch = "x86_64")]
            WriteBack::Clflush => by_shift!(fenced_lines_fixed, WriteBack::Clflush, shift),
            #[cfg(target_arch = "aarch64")]
            WriteBack::DcCivac => by_shift!(fenced_lines_fixed, WriteBack::DcCivac, shift),
            #[cfg(target_arch = "powerpc64")]
            WriteBack::Dcbf => by_shift!(fenced_lines_fixed, WriteBack::Dcbf, shift),
            #[cfg(target_arch = "riscv64")]
            WriteBack::CboFlush => by_shift!(fenced_lines_fixed, WriteBack::CboFlush, shift),
            // Nothing to evict with: the two fences (the line size plays no part).
            _ => fenced_lines_fixed::<{ WriteBack::None as u8 }, 6>,
        }
    }

    pub(super) fn lines_then_drain(kind: WriteBack, shift: u8) -> PersistFn {
        match kind {
            #[cfg(target_arch = "x86_64")]
            WriteBack::Clwb => by_shift!(lines_then_drain_fixed, WriteBack::Clwb, shift),
            #[cfg(target_arch = "x86_64")]
            WriteBack::ClflushOpt => {
                by_shift!(lines_then_drain_fixed, WriteBack::ClflushOpt, shift)
            }
            #[cfg(target_arch = "x86_64")]
            WriteBack::Clflush => by_shift!(lines_then_drain_fixed, WriteBack::Clflush, shift),
            #[cfg(target_arch = "aarch64")]
            WriteBack::DcCvap => by_shift!(lines_then_drain_fixed, WriteBack::DcCvap, shift),
            #[cfg(target_arch = "aarch64")]
            WriteBack::DcCvadp => by_shift!(lines_then_drain_fixed, WriteBack::DcCvadp, shift),
            #[cfg(target_arch = "aarch64")]
            WriteBack::DcCvac => by_shift!(lines_then_drain_fixed, WriteBack::DcCvac, shift),
            #[cfg(target_arch = "powerpc64")]
            WriteBack::Dcbstps => by_shift!(lines_then_drain_fixed, WriteBack::Dcbstps, shift),
            #[cfg(target_arch = "riscv64")]
            WriteBack::CboClean => by_shift!(lines_then_drain_fixed, WriteBack::CboClean, shift),
            _ => drain_only,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::trace::{Step, record};
    use crate::features::Cpu;
    use std::vec;
    use std::vec::Vec;

    /// A flusher for this CPU that is never refused (byte granularity or nothing to use are
    /// what some tests want).
    fn flusher(config: Config) -> Flusher {
        Flusher::new(config).unwrap_or_else(NotDurable::accept)
    }

    /// The five operations through the methods and through the plain function pointers;
    /// both must execute the same steps.
    fn operations(f: Flusher, buf: &[u8]) -> [[Vec<Step>; 2]; 5] {
        let d = f.drainer();
        let call = |g: FlushFn| {
            move || {
                // SAFETY: `buf` is readable for its whole length.
                unsafe { g(buf.as_ptr(), buf.len()) }
            }
        };
        [
            [record(|| f.persist(buf)), record(call(f.persist_fn()))],
            [record(|| f.flush(buf)), record(call(f.flush_fn()))],
            [record(|| d.drain()), record(|| d.drain_fn()())],
            [
                record(|| f.deep_flush(buf)),
                record(call(f.deep_flush_fn())),
            ],
            [
                record(|| f.invalidate(buf)),
                record(call(f.invalidate_fn())),
            ],
        ]
    }

    /// What an invalidation of `lines` lines with `kind` must execute: the invalidation fence,
    /// the evictions, the fence.
    fn fenced(kind: WriteBack, lines: usize) -> Vec<Step> {
        let fence = Step::Fence(crate::arch::INVALIDATE);
        match kind {
            WriteBack::None => vec![fence, fence],
            kind => vec![fence, Step::WriteBack(kind, lines), fence],
        }
    }

    #[test]
    fn counts_per_granularity() {
        let buf = vec![0u8; 1000];
        let cpu = Cpu::detect();
        let probe = Selection::new(&cpu, Config::new());
        let (wb, deep, evict, fence) = (
            probe.best_write_back(),
            probe.deep_flush_write_back(),
            probe.evict_write_back(),
            Drainer::new().fence(),
        );
        let lines =
            crate::lines::line_count(buf.as_ptr().addr(), buf.len(), probe.line_shift() as u32);
        let w = |kind| {
            if kind == WriteBack::None {
                vec![]
            } else {
                vec![Step::WriteBack(kind, lines)]
            }
        };
        let then_fence = |mut v: Vec<Step>| {
            v.push(Step::Fence(fence));
            v
        };

        // (flusher, expected [persist, flush, drain, deep_flush, invalidate]): byte granularity
        // flushes nothing but still evicts.
        let cases = [
            (
                "cache line",
                flusher(Config::new()),
                [
                    then_fence(w(wb)),
                    w(wb),
                    vec![Step::Fence(fence)],
                    then_fence(w(deep)),
                    fenced(evict, lines),
                ],
            ),
            (
                "byte",
                flusher(Config::new().with_granularity(Granularity::Byte)),
                [
                    vec![Step::Fence(fence)],
                    vec![],
                    vec![Step::Fence(fence)],
                    then_fence(w(deep)),
                    fenced(evict, lines),
                ],
            ),
        ];
        let names = ["persist", "flush", "drain", "deep_flush", "invalidate"];
        for (granularity, flusher, expected) in cases {
            for ((name, [method, pointer]), want) in
                names.iter().zip(operations(flusher, &buf)).zip(expected)
            {
                assert_eq!(method, want, "{granularity} {name}");
                assert_eq!(
                    pointer, want,
                    "{granularity} {name} through the function pointer"
                );
            }
        }
    }

    #[test]
    fn counts_per_granularity_with_128_byte_blocks() {
        // POWER's block size, on whatever CPU runs the tests: same walks, half the steps of 64.
        let buf = vec![0u8; 1000];
        let detected = Cpu::detect();
        let fence = Drainer::new().fence();
        for offset in [0usize, 1, 127, 128, 129] {
            let range = &buf[offset..];
            let lines = crate::lines::line_count(range.as_ptr().addr(), range.len(), 7);
            for granularity in [Granularity::CacheLine, Granularity::Byte] {
                let sel = Selection::new(
                    &Cpu::new(detected.features, 128),
                    Config::new().with_granularity(granularity),
                );
                // SAFETY: this CPU's own instructions on mapped memory. A 128-byte step may skip
                // lines of a CPU with smaller ones, which weakens durability only; this test
                // counts steps.
                let f = unsafe { Flusher::new_unchecked(&sel) };
                assert_eq!(f.line_size(), 128);
                let walk = |kind| match kind {
                    WriteBack::None => vec![],
                    kind => vec![Step::WriteBack(kind, lines)],
                };
                let flushed = record(|| f.flush(range));
                let persisted = record(|| f.persist(range));
                let deep = record(|| f.deep_flush(range));
                let invalidated = record(|| f.invalidate(range));
                let evicted = record(|| f.evict(range));
                assert_eq!(invalidated, fenced(sel.evict_write_back(), lines));
                assert_eq!(evicted, walk(sel.evict_write_back()), "no fence in evict");
                let mut want_persist = walk(sel.flush_write_back());
                want_persist.push(Step::Fence(fence));
                let mut want_deep = walk(sel.deep_flush_write_back());
                want_deep.push(Step::Fence(fence));
                assert_eq!(
                    flushed,
                    walk(sel.flush_write_back()),
                    "{granularity:?} at {offset}"
                );
                assert_eq!(persisted, want_persist, "{granularity:?} at {offset}");
                assert_eq!(deep, want_deep, "{granularity:?} at {offset}");
                if granularity == Granularity::Byte {
                    assert!(flushed.is_empty());
                }
            }
        }
    }

    #[test]
    fn zero_length_touches_nothing_but_persist_still_drains() {
        let f = flusher(Config::new());
        let fence = Drainer::new().fence();
        // A dangling, unmapped address: nothing may dereference or write it back.
        let p = core::ptr::without_provenance::<u8>(0x10);
        let zero_length = |g: FlushFn| {
            record(|| {
                // SAFETY: len == 0, so no byte needs to be readable.
                unsafe { g(p, 0) }
            })
        };
        assert_eq!(zero_length(f.flush_fn()), []);
        assert_eq!(zero_length(f.persist_fn()), [Step::Fence(fence)]);
        assert_eq!(zero_length(f.deep_flush_fn()), [Step::Fence(fence)]);
        // An empty invalidate evicts nothing and still fences, on both sides.
        let inval = crate::arch::INVALIDATE;
        assert_eq!(zero_length(f.invalidate_fn()), [Step::Fence(inval); 2]);
        type Method = unsafe fn(&Flusher, *const u8, usize);
        let methods: [(Method, Vec<Step>); 5] = [
            (<Flusher as Flush>::flush_raw, vec![]),
            (<Flusher as Persist>::persist_raw, vec![Step::Fence(fence)]),
            (Flusher::deep_flush_raw, vec![Step::Fence(fence)]),
            (<Flusher as Evict>::evict_raw, vec![]),
            (Flusher::invalidate_raw, vec![Step::Fence(inval); 2]),
        ];
        for (method, want) in methods {
            // SAFETY: len == 0, so no byte needs to be readable.
            let steps = record(|| unsafe { method(&f, p, 0) });
            assert_eq!(steps, want);
        }
    }

    /// What a function pointer does to `buf`, recorded.
    fn effect(g: FlushFn, buf: &[u8]) -> Vec<Step> {
        // SAFETY: `buf` is readable for its whole length.
        record(|| unsafe { g(buf.as_ptr(), buf.len()) })
    }

    #[test]
    fn function_pointers_do_what_their_flusher_does() {
        // Rust does not promise that two pointers to one function compare equal (nor that
        // pointers to different functions differ), so this compares what they do.
        let buf = vec![0u8; 300];
        let a = flusher(Config::new());
        let b = flusher(Config::new());
        for (g, h) in [
            (a.flush_fn(), b.flush_fn()),
            (a.persist_fn(), b.persist_fn()),
            (a.deep_flush_fn(), b.deep_flush_fn()),
            (a.invalidate_fn(), b.invalidate_fn()),
        ] {
            assert_eq!(effect(g, &buf), effect(h, &buf));
        }
        assert_eq!(effect(a.flush_fn(), &buf), record(|| a.flush(&buf)));
        assert_eq!(effect(a.persist_fn(), &buf), record(|| a.persist(&buf)));
        assert_eq!(
            effect(a.invalidate_fn(), &buf),
            record(|| a.invalidate(&buf))
        );
        assert_eq!(
            record(|| a.drainer().drain_fn()()),
            [Step::Fence(Drainer::new().fence())]
        );
        // Different choices give functions that do different work.
        let byte = flusher(Config::new().with_granularity(Granularity::Byte));
        if a.flush_write_back() != WriteBack::None {
            assert_ne!(effect(a.flush_fn(), &buf), effect(byte.flush_fn(), &buf));
            assert_ne!(
                effect(a.persist_fn(), &buf),
                effect(byte.persist_fn(), &buf)
            );
        }
    }

    /// The free functions invalidate with the global selection, as its flusher does, and the
    /// eviction they derive from the cell's word is the selection's.
    #[test]
    fn free_invalidate_executes_the_global_selections_eviction_between_fences() {
        let buf = vec![5u8; 700];
        let range = &buf[3..];
        let sel = crate::selection();
        let lines =
            crate::lines::line_count(range.as_ptr().addr(), range.len(), sel.line_shift() as u32);
        let want = fenced(sel.evict_write_back(), lines);
        assert_eq!(record(|| crate::invalidate(range)), want);
        assert_eq!(record(|| crate::flusher().invalidate(range)), want);
        assert_eq!(effect(crate::get_invalidate_fn(), range), want);
        let word: &[u64] = &[7, 8];
        let value_lines =
            crate::lines::line_count(word.as_ptr().addr(), 16, sel.line_shift() as u32);
        assert_eq!(
            record(|| crate::invalidate_value(word)),
            fenced(sel.evict_write_back(), value_lines)
        );
        let p = core::ptr::without_provenance::<u8>(0x10);
        // SAFETY: len == 0, so no byte needs to be readable.
        let empty = record(|| unsafe { crate::invalidate_raw(p, 0) });
        assert_eq!(empty, [Step::Fence(crate::arch::INVALIDATE); 2]);
        assert!(buf.iter().all(|&b| b == 5), "data reads back unchanged");
    }

    #[test]
    fn every_line_size_pointer_walks_its_own_line_size() {
        let buf = vec![0u8; 4096 + 7];
        let sel = Selection::new(&Cpu::detect(), Config::new());
        let (best, evict) = (sel.best_write_back(), sel.evict_write_back());
        for shift in 4..=11u8 {
            let lines = crate::lines::line_count(buf.as_ptr().addr() + 3, 4096, shift as u32);
            let g = fns::invalidate(evict, shift);
            // SAFETY: `buf` is readable; the host's own eviction.
            let steps = record(|| unsafe { g(buf.as_ptr().wrapping_add(3), 4096) });
            assert_eq!(
                steps,
                fenced(evict, lines),
                "invalidate, line size {}",
                1 << shift
            );
            let f = fns::lines(best, shift);
            // SAFETY: `buf` is readable; the host's own best write-back.
            let steps = record(|| unsafe { f(buf.as_ptr().wrapping_add(3), 4096) });
            let lines = crate::lines::line_count(buf.as_ptr().addr() + 3, 4096, shift as u32);
            let want = if best == WriteBack::None {
                vec![]
            } else {
                vec![Step::WriteBack(best, lines)]
            };
            assert_eq!(steps, want, "line size {}", 1 << shift);
        }
    }

    #[test]
    fn flusher_is_small_and_displays_its_choice() {
        assert!(core::mem::size_of::<Flusher>() <= 12);
        assert_eq!(core::mem::size_of::<Drainer>(), 0);
        let f = flusher(Config::new());
        let text = std::format!("{f}");
        let flush = match f.flush_write_back() {
            WriteBack::None => "flush: nothing",
            wb => wb.mnemonic(),
        };
        assert!(text.contains(flush), "{text}");
        let invalidate = std::format!(
            "; invalidate: {1}, {0}, {1};",
            f.evict_write_back(),
            crate::arch::INVALIDATE
        );
        if f.evict_write_back() != WriteBack::None {
            assert!(text.contains(&invalidate), "{text}");
        }
        // SAFETY: a selection for this target with nothing to execute.
        let none = unsafe { Flusher::new_unchecked(&Selection::new(&Cpu::NONE, Config::new())) };
        assert!(
            std::format!("{none}").contains("only (NOTHING IS EVICTED)"),
            "{none}"
        );
    }

    #[test]
    fn not_durable_says_why() {
        let refused = |cpu: Cpu, config: Config| {
            let selection = Selection::for_arch(crate::Arch::AArch64, &cpu, config);
            assert!(!selection.is_durable());
            // SAFETY: only displayed, never run.
            let flusher = unsafe { Flusher::new_unchecked(&selection) };
            std::format!("{}", NotDurable { flusher, selection })
        };
        let unasked =
            Cpu::new(Features::DC_CVAC, 64).with_unasked(Features::DC_CVAP | Features::DC_CVADP);
        let text = refused(unasked, Config::new());
        assert!(text.contains("flush would use dc cvac"), "{text}");
        assert!(text.contains("could not ask the CPU for"), "{text}");
        let text = refused(
            Cpu::new(Features::DC_CVAC, 64),
            Config::new().disable(Features::DC_CVAC),
        );
        assert!(text.contains("disabled by configuration"), "{text}");
        let text = refused(Cpu::NONE, Config::new().disable(Features::DC_CVAP));
        assert!(
            text.contains("no write-back instruction is known"),
            "{text}"
        );
    }

    #[test]
    fn new_refuses_exactly_the_non_durable_selections() {
        let cpu = Cpu::detect();
        for disabled in [Features::empty(), Features::all(), cpu.features] {
            for granularity in [Granularity::CacheLine, Granularity::Byte] {
                let config = Config::new()
                    .disable(disabled)
                    .with_granularity(granularity);
                let sel = Selection::detect(config);
                match Flusher::new(config) {
                    Ok(f) => {
                        assert!(sel.is_durable() && f.is_durable(), "{sel}");
                    }
                    Err(e) => {
                        assert!(!sel.is_durable(), "{sel}");
                        assert_eq!(*e.selection(), sel);
                        assert!(std::format!("{e}").contains("not durable"));
                        assert!(std::format!("{sel}").starts_with("NOT DURABLE"));
                        let f = e.accept();
                        assert!(!f.is_durable());
                        let steps = record(|| f.persist(&[0u8; 64]));
                        if sel.flush_write_back() == WriteBack::None {
                            // It fences and writes nothing back.
                            assert_eq!(steps, [Step::Fence(Drainer::new().fence())]);
                        } else {
                            // AArch64 user space without `std`: DC CVAC, but DC CVAP unasked.
                            assert!(!sel.cpu().unasked().is_empty(), "{sel}");
                            assert_eq!(steps.last(), Some(&Step::Fence(Drainer::new().fence())));
                        }
                    }
                }
            }
        }
    }

    use crate::features::Features;
}
