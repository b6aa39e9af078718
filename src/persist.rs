//! The pair callers keep: [`Flusher`] and [`Drainer`], the traits they share with the concrete
//! instruction types, and pmem2-style plain function pointers.

use core::fmt;

use crate::arch;
use crate::selection::{Config, Fence, Granularity, Selection, WriteBack};

/// Writes back the cache lines of a range.
pub trait Flush {
    /// Writes back every cache line that overlaps `[addr, addr + len)`. `len == 0` does nothing
    /// and does not touch `addr`. A range that claims to run past the top of the address space
    /// is cut at the top.
    ///
    /// # Safety
    ///
    /// When `len > 0`, every byte of `[addr, addr + len)` must be readable by a byte load (a
    /// write-back of an unmapped line faults like one).
    unsafe fn flush_raw(&self, addr: *const u8, len: usize);

    /// Writes back every cache line that overlaps `buf`.
    #[inline(always)]
    fn flush(&self, buf: &[u8]) {
        // SAFETY: a slice is readable for its whole length.
        unsafe { self.flush_raw(buf.as_ptr(), buf.len()) }
    }
}

/// Waits until earlier write-backs and non-temporal stores are ordered before later stores.
pub trait Drain {
    /// Drains: orders this CPU's earlier write-backs and non-temporal stores before its later
    /// stores. Says nothing about other CPUs' write-backs.
    fn drain(&self);
}

/// A caller-supplied persistence step for page granularity (libpmem2's `msync` case): called
/// with the range for `flush`, `persist` and `deep_flush`. It receives the same guarantee as
/// [`Flush::flush_raw`]: when `len > 0` the range is readable.
pub type PageHook = unsafe fn(addr: *const u8, len: usize);

/// libpmem2's `pmem2_flush_fn`: writes back a range. Call with the contract of
/// [`Flush::flush_raw`].
pub type FlushFn = unsafe fn(addr: *const u8, len: usize);
/// libpmem2's `pmem2_persist_fn`: flush, then drain. Call with the contract of
/// [`Flush::flush_raw`].
pub type PersistFn = unsafe fn(addr: *const u8, len: usize);
/// libpmem2's `pmem2_drain_fn`.
pub type DrainFn = fn();

/// The flush half of the pair: a chosen write-back instruction and line size, or a page hook.
///
/// `Copy`, two words, no allocation; calling it costs a predictable branch or two over the bare
/// instruction loop. Build one with [`Flusher::new`] (detects the CPU), [`Flusher::page`], or
/// [`Flusher::new_unchecked`] from a [`Selection`] you vouch for.
#[derive(Clone, Copy)]
pub struct Flusher {
    page_hook: Option<PageHook>,
    flush: WriteBack,
    deep: WriteBack,
    line_shift: u8,
    granularity: Granularity,
}

static_assertions::assert_impl_all!(Flusher: Copy, Send, Sync);
static_assertions::const_assert!(
    core::mem::size_of::<Flusher>() <= 2 * core::mem::size_of::<usize>()
);

impl Flusher {
    /// Detects the CPU this code runs on and chooses for `config`. Never fails: a CPU without
    /// any usable write-back gets a flusher that says so in its `Display` and does nothing.
    pub fn new(config: Config) -> Flusher {
        let selection = Selection::detect(config);
        // SAFETY: the selection comes from this CPU's own detection, for this target.
        unsafe { Flusher::new_unchecked(&selection) }
    }

    /// The flusher for `selection`.
    ///
    /// # Safety
    ///
    /// `selection` must be for [`Arch::HOST`](crate::Arch::HOST), and every CPU that runs the
    /// flusher must support its write-back instructions and have lines no smaller than its
    /// line size. (A selection from another architecture flushes nothing.)
    #[inline]
    pub const unsafe fn new_unchecked(selection: &Selection) -> Flusher {
        Flusher {
            page_hook: None,
            flush: selection.flush(),
            deep: selection.deep_flush(),
            line_shift: selection.line_shift(),
            granularity: selection.config().get_granularity(),
        }
    }

    /// A page-granularity flusher: `flush`, `persist` and `deep_flush` call `hook` with the
    /// range; its [`drainer`](Self::drainer) does nothing (libpmem2's PAGE granularity).
    #[inline]
    pub const fn page(hook: PageHook) -> Flusher {
        Flusher {
            page_hook: Some(hook),
            flush: WriteBack::None,
            deep: WriteBack::None,
            line_shift: 6,
            granularity: Granularity::CacheLine,
        }
    }

    /// The drain that goes with this flusher: this target's fence, or nothing for a page
    /// flusher.
    #[inline]
    pub const fn drainer(&self) -> Drainer {
        match self.page_hook {
            Some(_) => Drainer { fence: Fence::None },
            None => Drainer::new(),
        }
    }

    /// The instruction `flush` executes per line ([`WriteBack::None`] at byte or page
    /// granularity).
    #[inline]
    pub const fn write_back(&self) -> WriteBack {
        self.flush
    }

    /// The instruction `deep_flush` executes per line ([`WriteBack::None`] for a page flusher).
    #[inline]
    pub const fn deep_write_back(&self) -> WriteBack {
        self.deep
    }

    /// The bytes each write-back covers.
    #[inline]
    pub const fn line_size(&self) -> usize {
        1 << self.line_shift
    }

    /// The granularity: `None` for a page flusher.
    #[inline]
    pub const fn granularity(&self) -> Option<Granularity> {
        match self.page_hook {
            Some(_) => None,
            None => Some(self.granularity),
        }
    }

    /// Flushes then drains the range (libpmem's `pmem_persist`).
    ///
    /// # Safety
    ///
    /// As for [`Flush::flush_raw`].
    #[inline]
    pub unsafe fn persist_raw(&self, addr: *const u8, len: usize) {
        // SAFETY: the caller's contract.
        unsafe { self.hook_or_write_back(self.flush, true, addr, len) }
    }

    /// Flushes then drains `buf`.
    #[inline]
    pub fn persist(&self, buf: &[u8]) {
        // SAFETY: a slice is readable for its whole length.
        unsafe { self.persist_raw(buf.as_ptr(), buf.len()) }
    }

    /// Writes the range back with the deepest write-back there is, whatever the granularity
    /// (even at byte granularity), then drains; a page flusher calls its hook.
    ///
    /// # Safety
    ///
    /// As for [`Flush::flush_raw`].
    #[inline]
    pub unsafe fn deep_flush_raw(&self, addr: *const u8, len: usize) {
        // SAFETY: the caller's contract.
        unsafe { self.hook_or_write_back(self.deep, true, addr, len) }
    }

    /// The page hook if there is one; else `kind` on every line, then the drain if `drain`.
    ///
    /// # Safety
    ///
    /// As for [`Flush::flush_raw`].
    #[inline(always)]
    unsafe fn hook_or_write_back(&self, kind: WriteBack, drain: bool, addr: *const u8, len: usize) {
        if let Some(hook) = self.page_hook {
            // SAFETY: the caller's contract is the hook's contract.
            return unsafe { hook(addr, len) };
        }
        // SAFETY: the constructor's contract (instruction supported) and the caller's (mapped).
        unsafe { arch::write_back_range(kind, addr, len, self.line_shift) };
        if drain {
            arch::fence(arch::DRAIN);
        }
    }

    /// Deep-flushes `buf` (see [`deep_flush_raw`](Self::deep_flush_raw)).
    #[inline]
    pub fn deep_flush(&self, buf: &[u8]) {
        // SAFETY: a slice is readable for its whole length.
        unsafe { self.deep_flush_raw(buf.as_ptr(), buf.len()) }
    }

    /// A plain function that does what [`Flush::flush_raw`] does on this flusher
    /// (libpmem2's `pmem2_get_flush_fn`). The same flusher always gives the same pointer.
    pub fn flush_fn(&self) -> FlushFn {
        match self.page_hook {
            Some(hook) => hook,
            None => fns::lines(self.flush, self.line_shift),
        }
    }

    /// A plain function that does what [`persist_raw`](Self::persist_raw) does on this flusher
    /// (libpmem2's `pmem2_get_persist_fn`).
    pub fn persist_fn(&self) -> PersistFn {
        match self.page_hook {
            Some(hook) => hook,
            None => fns::lines_then_drain(self.flush, self.line_shift),
        }
    }

    /// A plain function that does what [`deep_flush_raw`](Self::deep_flush_raw) does on this
    /// flusher.
    pub fn deep_flush_fn(&self) -> PersistFn {
        match self.page_hook {
            Some(hook) => hook,
            None => fns::lines_then_drain(self.deep, self.line_shift),
        }
    }
}

impl Flush for Flusher {
    #[inline]
    unsafe fn flush_raw(&self, addr: *const u8, len: usize) {
        // SAFETY: the caller's contract.
        unsafe { self.hook_or_write_back(self.flush, false, addr, len) }
    }
}

impl fmt::Debug for Flusher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Flusher")
            .field("page_hook", &self.page_hook.map(|h| h as *const ()))
            .field("flush", &self.flush)
            .field("deep", &self.deep)
            .field("line_size", &self.line_size())
            .finish()
    }
}

impl fmt::Display for Flusher {
    /// One line: what `flush` and `deep_flush` execute.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(hook) = self.page_hook {
            return write!(
                f,
                "page granularity: flush calls the hook at {:p}",
                hook as *const ()
            );
        }
        match self.flush {
            WriteBack::None => f.write_str("flush: nothing")?,
            wb => write!(f, "flush: {wb} per {}-byte line", self.line_size())?,
        }
        write!(f, "; deep flush: {}", self.deep)
    }
}

/// The drain half of the pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Drainer {
    fence: Fence,
}

static_assertions::assert_impl_all!(Drainer: Copy, Send, Sync);
static_assertions::const_assert!(
    core::mem::size_of::<Drainer>() <= 2 * core::mem::size_of::<usize>()
);

impl Drainer {
    /// This target's drain: SFENCE on x86-64 (also after CLFLUSH; libpmem2 does the same),
    /// `DSB SY` on AArch64, `phwsync` on 64-bit POWER, `fence iorw,iorw` on RISC-V, a
    /// sequentially consistent atomic fence elsewhere.
    #[inline]
    pub const fn new() -> Drainer {
        Drainer { fence: arch::DRAIN }
    }

    /// The fence `drain` executes.
    #[inline]
    pub const fn fence(&self) -> Fence {
        self.fence
    }

    /// A plain function that does what [`Drain::drain`] does on this drainer (libpmem2's
    /// `pmem2_get_drain_fn`). The same drainer always gives the same pointer.
    pub fn drain_fn(&self) -> DrainFn {
        match self.fence {
            Fence::None => fns::nothing_to_drain,
            _ => fns::drain,
        }
    }
}

impl Default for Drainer {
    fn default() -> Self {
        Drainer::new()
    }
}

impl Drain for Drainer {
    #[inline]
    fn drain(&self) {
        arch::fence(self.fence);
    }
}

impl fmt::Display for Drainer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "drain: {}", self.fence)
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
        arch::fence(arch::DRAIN);
    }

    unsafe fn nothing(_addr: *const u8, _len: usize) {}

    unsafe fn drain_only(_addr: *const u8, _len: usize) {
        arch::fence(arch::DRAIN);
    }

    pub(super) fn drain() {
        arch::fence(arch::DRAIN);
    }

    pub(super) fn nothing_to_drain() {}

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
    use std::cell::Cell as StdCell;
    use std::vec;
    use std::vec::Vec;

    std::thread_local! {
        static HOOK_CALLS: StdCell<(usize, usize)> = const { StdCell::new((0, 0)) };
    }

    /// Counts calls and remembers the last length.
    unsafe fn counting_hook(_addr: *const u8, len: usize) {
        HOOK_CALLS.with(|c| c.set((c.get().0 + 1, len)));
    }

    fn hook_calls(f: impl FnOnce()) -> (Vec<Step>, usize) {
        HOOK_CALLS.with(|c| c.set((0, 0)));
        let steps = record(f);
        (steps, HOOK_CALLS.with(|c| c.get().0))
    }

    /// The four operations through the methods and through the plain function pointers;
    /// both must execute the same steps.
    fn operations(f: Flusher, buf: &[u8]) -> [[(Vec<Step>, usize); 2]; 4] {
        let d = f.drainer();
        let call = |g: FlushFn| {
            move || {
                // SAFETY: `buf` is readable for its whole length.
                unsafe { g(buf.as_ptr(), buf.len()) }
            }
        };
        [
            [
                hook_calls(|| f.persist(buf)),
                hook_calls(call(f.persist_fn())),
            ],
            [hook_calls(|| f.flush(buf)), hook_calls(call(f.flush_fn()))],
            [hook_calls(|| d.drain()), hook_calls(|| d.drain_fn()())],
            [
                hook_calls(|| f.deep_flush(buf)),
                hook_calls(call(f.deep_flush_fn())),
            ],
        ]
    }

    #[test]
    fn counts_per_granularity() {
        let buf = vec![0u8; 1000];
        let cpu = Cpu::detect();
        let probe = Selection::new(&cpu, Config::new());
        let (wb, deep, fence) = (
            probe.write_back(),
            probe.deep_flush(),
            Flusher::new(Config::new()).drainer().fence(),
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

        // (flusher, expected [persist, flush, drain, deep_flush] as (steps, hook calls)).
        let cases = [
            (
                "page",
                Flusher::page(counting_hook),
                [(vec![], 1), (vec![], 1), (vec![], 0), (vec![], 1)],
            ),
            (
                "cache line",
                Flusher::new(Config::new()),
                [
                    (then_fence(w(wb)), 0),
                    (w(wb), 0),
                    (vec![Step::Fence(fence)], 0),
                    (then_fence(w(deep)), 0),
                ],
            ),
            (
                "byte",
                Flusher::new(Config::new().granularity(Granularity::Byte)),
                [
                    (vec![Step::Fence(fence)], 0),
                    (vec![], 0),
                    (vec![Step::Fence(fence)], 0),
                    (then_fence(w(deep)), 0),
                ],
            ),
        ];
        let names = ["persist", "flush", "drain", "deep_flush"];
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
        // The hook gets the caller's range unchanged.
        HOOK_CALLS.with(|c| c.set((0, 0)));
        Flusher::page(counting_hook).flush(&buf[3..10]);
        assert_eq!(HOOK_CALLS.with(|c| c.get()), (1, 7));
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
                    &Cpu {
                        features: detected.features,
                        line_size: 128,
                    },
                    Config::new().granularity(granularity),
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
                let mut want_persist = walk(sel.flush());
                want_persist.push(Step::Fence(fence));
                let mut want_deep = walk(sel.deep_flush());
                want_deep.push(Step::Fence(fence));
                assert_eq!(flushed, walk(sel.flush()), "{granularity:?} at {offset}");
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
        let f = Flusher::new(Config::new());
        let fence = f.drainer().fence();
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
        type Method = unsafe fn(&Flusher, *const u8, usize);
        let methods: [(Method, usize); 3] = [
            (<Flusher as Flush>::flush_raw, 0),
            (Flusher::persist_raw, 1),
            (Flusher::deep_flush_raw, 1),
        ];
        for (method, fences) in methods {
            // SAFETY: len == 0, so no byte needs to be readable.
            let steps = record(|| unsafe { method(&f, p, 0) });
            assert_eq!(steps, std::vec![Step::Fence(fence); fences]);
        }
    }

    #[test]
    fn function_pointers_are_stable_and_specific() {
        let a = Flusher::new(Config::new());
        let b = Flusher::new(Config::new());
        assert_eq!(a.flush_fn() as usize, b.flush_fn() as usize);
        assert_eq!(a.persist_fn() as usize, b.persist_fn() as usize);
        assert_eq!(
            a.drainer().drain_fn() as usize,
            b.drainer().drain_fn() as usize
        );
        // Different choices give different functions where they do different work.
        let byte = Flusher::new(Config::new().granularity(Granularity::Byte));
        if a.write_back() != WriteBack::None {
            assert_ne!(a.flush_fn() as usize, byte.flush_fn() as usize);
            assert_ne!(a.persist_fn() as usize, byte.persist_fn() as usize);
        }
        // A page flusher hands out the hook itself.
        let page = Flusher::page(counting_hook);
        assert_eq!(page.flush_fn() as usize, counting_hook as PageHook as usize);
    }

    #[test]
    fn every_line_size_pointer_walks_its_own_line_size() {
        let buf = vec![0u8; 4096 + 7];
        let best = Selection::new(&Cpu::detect(), Config::new()).write_back();
        for shift in 4..=11u8 {
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
    fn pair_is_small_and_displays_its_choice() {
        assert!(core::mem::size_of::<Flusher>() <= 2 * core::mem::size_of::<usize>());
        let f = Flusher::new(Config::new());
        let text = std::format!("{f}");
        assert!(text.contains(f.write_back().mnemonic()), "{text}");
        assert!(std::format!("{}", Flusher::page(counting_hook)).starts_with("page granularity"));
    }
}
