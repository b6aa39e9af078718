//! The instructions, one module per instruction (family) under a directory per target, and the
//! dispatch from a selected [`WriteBack`] / [`Fence`] to them.
//!
//! Each instruction is an `#[inline(always)]` function around `asm!`, documented in a fixed
//! order: what it does, how it is ordered, the manual, and `# Safety`. Write-backs never use
//! the `nomem` option: the compiler must keep them in order with the loads and stores around
//! them.

use crate::features::Cpu;
use crate::lines::for_each_line;
use crate::selection::{Fence, WriteBack};

/// This target's module under `arch::`, as a string literal for [`use_concrete`].
#[cfg(target_arch = "x86_64")]
macro_rules! arch_module {
    () => {
        "x86_64"
    };
}
#[cfg(target_arch = "aarch64")]
macro_rules! arch_module {
    () => {
        "aarch64"
    };
}
#[cfg(target_arch = "powerpc64")]
macro_rules! arch_module {
    () => {
        "powerpc64"
    };
}
#[cfg(target_arch = "riscv64")]
macro_rules! arch_module {
    () => {
        "riscv64"
    };
}

/// The `use` line of a doc example for the concrete type `$name` of this target's `arch::`
/// module (each type exists on its own architecture only, so its examples are compiled there),
/// with the function `$fence` of the same module if given.
#[cfg(any(
    target_arch = "x86_64",
    target_arch = "aarch64",
    target_arch = "powerpc64",
    target_arch = "riscv64"
))]
macro_rules! use_concrete {
    ($name:ident) => {
        concat!(
            "use pmem_flush::arch::",
            arch_module!(),
            "::",
            stringify!($name),
            ";"
        )
    };
    ($name:ident, $fence:ident) => {
        concat!(
            "use pmem_flush::arch::",
            arch_module!(),
            "::{",
            stringify!($name),
            ", ",
            stringify!($fence),
            "};"
        )
    };
}

/// Defines a concrete type for one instruction: no dispatch at all, the line size a field,
/// checked and unchecked constructors in the style of `memchr`. `$use` is the `use` line of the
/// constructors' examples and `$usage` what they do with the value (named `write_back`).
macro_rules! concrete_type {
    ($(#[$doc:meta])* $name:ident, $feature:expr, use: $use:expr, usage: $usage:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub struct $name {
            line_shift: u8,
        }

        impl $name {
            /// Whether the CPU this code runs on has the instruction: [`new`](Self::new) is
            /// `Some` exactly when this is `true`.
            ///
            /// ```
            #[doc = $use]
            #[doc = concat!("assert_eq!(", stringify!($name), "::is_available(), ",
                            stringify!($name), "::new().is_some());")]
            /// ```
            #[must_use]
            pub fn is_available() -> bool {
                $crate::features::Cpu::detect().features.contains($feature)
            }

            /// Returns this type with the detected line size, or `None` when the CPU this code
            /// runs on lacks the instruction.
            ///
            /// ```
            #[doc = $use]
            /// use pmem_flush::prelude::*;
            ///
            #[doc = concat!("if let Some(write_back) = ", stringify!($name), "::new() {")]
            #[doc = concat!("    ", $usage)]
            /// }
            /// ```
            #[must_use]
            pub fn new() -> Option<Self> {
                let cpu = $crate::features::Cpu::detect();
                if cpu.features.contains($feature) {
                    Some(Self { line_shift: cpu.line_shift() })
                } else {
                    None
                }
            }

            /// Returns this type without asking the CPU. `line_size` is rounded down to a
            /// power of two and kept within 16..=2048 bytes.
            ///
            /// # Safety
            ///
            /// Every CPU that runs it must support the instruction, and `line_size` must not
            /// exceed its smallest data-cache line (a larger step skips lines), which must be
            /// at least 16 bytes (the smallest step).
            ///
            /// ```
            #[doc = $use]
            /// use pmem_flush::{Cpu, prelude::*};
            ///
            /// // Where the platform vouches for the instruction and the line size (here the
            /// // CPU itself, so that the example runs).
            #[doc = concat!("if ", stringify!($name), "::is_available() {")]
            ///     let line_size = Cpu::detect().usable_line_size();
            ///     // SAFETY: this CPU has the instruction, and `line_size` is its own.
            #[doc = concat!("    let write_back = unsafe { ", stringify!($name),
                            "::new_unchecked(line_size) };")]
            #[doc = concat!("    ", $usage)]
            /// }
            /// ```
            #[inline]
            #[must_use]
            pub const unsafe fn new_unchecked(line_size: usize) -> Self {
                let cpu = $crate::features::Cpu::new($feature, line_size);
                Self { line_shift: cpu.line_shift() }
            }

            /// The bytes each instruction covers.
            ///
            /// ```
            #[doc = $use]
            #[doc = concat!("if let Some(write_back) = ", stringify!($name), "::new() {")]
            ///     assert!(write_back.line_size().is_power_of_two());
            ///     assert_eq!(write_back.line_size(), pmem_flush::Cpu::detect().usable_line_size());
            /// }
            /// ```
            #[inline]
            #[must_use]
            pub const fn line_size(&self) -> usize {
                1 << self.line_shift
            }
        }
    };
}

/// Defines a concrete flusher type for one write-back instruction (see `concrete_type!`),
/// implementing [`Flush`](crate::Flush).
macro_rules! concrete_flusher {
    ($(#[$doc:meta])* $name:ident, $instruction:path, $feature:expr) => {
        concrete_type!(
            $(#[$doc])*
            ///
            /// Paired with a drain it is a [`Persist`](crate::Persist):
            ///
            /// ```
            #[doc = use_concrete!($name)]
            /// use pmem_flush::prelude::*;
            ///
            /// let record = [7u8; 256];
            #[doc = concat!("match ", stringify!($name), "::new() {")]
            ///     // The bare instruction loop, then the bare fence: no dispatch at all.
            ///     Some(write_back) => (write_back, pmem_flush::drainer()).persist(&record),
            ///     // This CPU lacks it (or it cannot be detected): the detected selection.
            ///     None => pmem_flush::persist(&record),
            /// }
            /// ```
            $name,
            $feature,
            use: use_concrete!($name),
            usage: "write_back.flush(&[0u8; 100]);\n    pmem_flush::drain();"
        );

        impl $crate::Flush for $name {
            #[inline(always)]
            unsafe fn flush_raw(&self, addr: *const u8, len: usize) {
                $crate::lines::for_each_line(addr, len, self.line_shift as u32, |line| {
                    // SAFETY: the constructor's contract says the CPU has the instruction;
                    // this method's contract says the range is mapped, so every line that
                    // overlaps it is too (lines never cross pages).
                    unsafe { $instruction(line) }
                });
            }
        }
    };
}

/// Implements [`Evict`](crate::Evict) for a concrete type whose instruction writes a line back
/// and evicts it.
macro_rules! impl_evict {
    ($name:ident, $instruction:path) => {
        impl $crate::Evict for $name {
            #[inline(always)]
            unsafe fn evict_raw(&self, addr: *const u8, len: usize) {
                $crate::lines::for_each_line(addr, len, self.line_shift as u32, |line| {
                    // SAFETY: the constructor's contract says the CPU has the instruction;
                    // this method's contract says the range is mapped, so every line that
                    // overlaps it is too (lines never cross pages).
                    unsafe { $instruction(line) }
                });
            }
        }
    };
}

/// Defines a concrete type for one instruction that writes a line back and evicts it (see
/// `concrete_type!`), implementing [`Evict`](crate::Evict); `$fence` is this target's
/// invalidation fence function, for the examples. (x86-64 has no such type: its flushers
/// CLFLUSHOPT and CLFLUSH evict too.)
#[cfg_attr(target_arch = "x86_64", allow(unused_macros))]
macro_rules! concrete_evicter {
    ($(#[$doc:meta])* $name:ident, $instruction:path, $feature:expr, $fence:ident) => {
        concrete_type!(
            $(#[$doc])*
            ///
            /// It evicts without fencing ([`Evict`](crate::Evict)); an invalidation is this
            #[doc = concat!("target's invalidation fence ([`", stringify!($fence), "`](super::",
                            stringify!($fence), ")), the")]
            /// evictions, and the fence again:
            ///
            /// ```
            #[doc = use_concrete!($name, $fence)]
            /// use pmem_flush::prelude::*;
            ///
            /// let record = [7u8; 256];
            #[doc = concat!("match ", stringify!($name), "::new() {")]
            ///     // The bare fences around the bare instruction loop: no dispatch at all.
            ///     Some(evict) => {
            #[doc = concat!("        ", stringify!($fence), "();")]
            ///         evict.evict(&record);
            #[doc = concat!("        ", stringify!($fence), "();")]
            ///     }
            ///     // This CPU lacks it (or it cannot be detected): the detected selection.
            ///     None => pmem_flush::invalidate(&record),
            /// }
            /// // Written back before it was evicted: nothing is lost.
            /// assert_eq!(record, [7u8; 256]);
            /// ```
            $name,
            $feature,
            use: use_concrete!($name, $fence),
            usage: concat!(
                stringify!($fence),
                "();\n    write_back.evict(&[0u8; 100]);\n    ",
                stringify!($fence),
                "();"
            )
        );

        impl_evict!($name, $instruction);
    };
}

// Plain `#[cfg]`s (not `cfg_if!`), so that rustdoc badges each module with its architecture.
#[cfg(target_arch = "aarch64")]
pub mod aarch64;
#[cfg(not(any(
    target_arch = "x86_64",
    target_arch = "aarch64",
    target_arch = "powerpc64",
    target_arch = "riscv64"
)))]
mod fallback;
#[cfg(target_arch = "powerpc64")]
pub mod powerpc64;
#[cfg(target_arch = "riscv64")]
pub mod riscv64;
#[cfg(target_arch = "x86_64")]
pub mod x86_64;

cfg_if::cfg_if! {
    if #[cfg(target_arch = "x86_64")] {
        use x86_64 as native;
    } else if #[cfg(target_arch = "aarch64")] {
        use aarch64 as native;
    } else if #[cfg(target_arch = "powerpc64")] {
        use powerpc64 as native;
    } else if #[cfg(target_arch = "riscv64")] {
        use riscv64 as native;
    } else {
        use fallback as native;
    }
}

/// Reads the CPU this code runs on.
pub(crate) fn detect() -> Cpu {
    native::detect()
}

/// The walk of `[addr, addr + len)` in lines of `1 << shift` bytes with one instruction per
/// line, recorded as `kind` in unit tests.
macro_rules! walk {
    ($instruction:path, $kind:expr, $addr:expr, $len:expr, $shift:expr) => {
        for_each_line($addr, $len, $shift as u32, |line| {
            #[cfg(test)]
            trace::line($kind);
            // SAFETY: the caller's contract: the CPU supports the instruction and the range is
            // mapped, so every line overlapping it is too (lines never cross pages).
            unsafe { $instruction(line) }
        })
    };
}

/// Writes back every line of `1 << shift` bytes that overlaps `[addr, addr + len)` with `kind`,
/// a write-back for flush or deep flush. Other kinds (evictions, and those of other targets,
/// never selected for flushing here) do nothing.
///
/// # Safety
///
/// The CPU supports `kind`; `[addr, addr + len)` is mapped (readable) memory when `len > 0`;
/// `shift` is in `4..=11`.
#[inline(always)]
pub(crate) unsafe fn write_back_range(kind: WriteBack, addr: *const u8, len: usize, shift: u8) {
    // Nothing to write back: decided before the dispatch on `kind`, so that an empty persist
    // costs one compare on top of its fence.
    if len == 0 {
        return;
    }
    match kind {
        #[cfg(target_arch = "x86_64")]
        WriteBack::Clwb => walk!(x86_64::clwb, kind, addr, len, shift),
        #[cfg(target_arch = "x86_64")]
        WriteBack::ClflushOpt => walk!(x86_64::clflushopt, kind, addr, len, shift),
        #[cfg(target_arch = "x86_64")]
        WriteBack::Clflush => walk!(x86_64::clflush, kind, addr, len, shift),
        #[cfg(target_arch = "aarch64")]
        WriteBack::DcCvap => walk!(aarch64::dc_cvap, kind, addr, len, shift),
        #[cfg(target_arch = "aarch64")]
        WriteBack::DcCvadp => walk!(aarch64::dc_cvadp, kind, addr, len, shift),
        #[cfg(target_arch = "aarch64")]
        WriteBack::DcCvac => walk!(aarch64::dc_cvac, kind, addr, len, shift),
        #[cfg(target_arch = "powerpc64")]
        WriteBack::Dcbstps => walk!(powerpc64::dcbstps, kind, addr, len, shift),
        #[cfg(target_arch = "riscv64")]
        WriteBack::CboClean => walk!(riscv64::cbo_clean, kind, addr, len, shift),
        _ => {}
    }
}

/// Writes back and evicts every line of `1 << shift` bytes that overlaps `[addr, addr + len)`
/// with `kind`, an eviction (x86 CLFLUSHOPT or CLFLUSH, AArch64 DC CIVAC, POWER dcbf, RISC-V
/// cbo.flush). Other kinds do nothing: no invalidation can execute CLWB, which may keep the
/// line, nor a clean that keeps it.
///
/// # Safety
///
/// As for [`write_back_range`].
#[inline(always)]
pub(crate) unsafe fn evict_range(kind: WriteBack, addr: *const u8, len: usize, shift: u8) {
    if len == 0 {
        return;
    }
    match kind {
        #[cfg(target_arch = "x86_64")]
        WriteBack::ClflushOpt => walk!(x86_64::clflushopt, kind, addr, len, shift),
        #[cfg(target_arch = "x86_64")]
        WriteBack::Clflush => walk!(x86_64::clflush, kind, addr, len, shift),
        #[cfg(target_arch = "aarch64")]
        WriteBack::DcCivac => walk!(aarch64::dc_civac, kind, addr, len, shift),
        #[cfg(target_arch = "powerpc64")]
        WriteBack::Dcbf => walk!(powerpc64::dcbf, kind, addr, len, shift),
        #[cfg(target_arch = "riscv64")]
        WriteBack::CboFlush => walk!(riscv64::cbo_flush, kind, addr, len, shift),
        _ => {}
    }
}

/// The fence that drains on this target.
pub(crate) const DRAIN: Fence = crate::selection::Arch::HOST.drain_fence();

/// Executes this target's drain: the bare fence instruction, nothing decided at run time.
#[inline(always)]
pub(crate) fn drain() {
    #[cfg(test)]
    trace::fence(DRAIN);
    cfg_if::cfg_if! {
        if #[cfg(target_arch = "x86_64")] {
            x86_64::sfence()
        } else if #[cfg(target_arch = "aarch64")] {
            aarch64::dsb_sy()
        } else if #[cfg(target_arch = "powerpc64")] {
            powerpc64::phwsync()
        } else if #[cfg(target_arch = "riscv64")] {
            riscv64::fence_iorw()
        } else {
            core::sync::atomic::fence(core::sync::atomic::Ordering::SeqCst)
        }
    }
}

/// The fence on both sides of an invalidation's evictions on this target.
pub(crate) const INVALIDATE: Fence = crate::selection::Arch::HOST.invalidate_fence();

/// Executes this target's invalidation fence: x86-64 MFENCE, AArch64 DSB SY, POWER phwsync,
/// RISC-V FENCE iorw,iorw (the last three are also the drain); the ordering each gives is
/// documented on the instruction.
#[inline(always)]
pub(crate) fn invalidate_fence() {
    cfg_if::cfg_if! {
        if #[cfg(target_arch = "x86_64")] {
            #[cfg(test)]
            trace::fence(INVALIDATE);
            x86_64::mfence()
        } else {
            // Everywhere else the invalidation fence is the drain's.
            static_assertions::const_assert!(INVALIDATE as u8 == DRAIN as u8);
            drain()
        }
    }
}

/// Invalidates `[addr, addr + len)`: the invalidation fence, `kind` on every line of
/// `1 << shift` bytes that overlaps the range, the fence again. With `len == 0` only the two
/// fences.
///
/// # Safety
///
/// As for [`evict_range`].
#[inline(always)]
pub(crate) unsafe fn invalidate_range(kind: WriteBack, addr: *const u8, len: usize, shift: u8) {
    invalidate_fence();
    // SAFETY: the caller's contract.
    unsafe { evict_range(kind, addr, len, shift) };
    invalidate_fence();
}

/// What the dispatch executed on this thread, for unit tests that count write-backs and fences
/// per granularity. The real instructions still run; this only records them.
#[cfg(test)]
pub(crate) mod trace {
    use super::{Fence, WriteBack};
    use std::cell::RefCell;
    use std::vec::Vec;

    /// One recorded step.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(crate) enum Step {
        /// A run of write-backs of this many lines.
        WriteBack(WriteBack, usize),
        /// A fence.
        Fence(Fence),
        /// A run of this many non-temporal store operations of one kind.
        #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
        NonTemporal(crate::mem::NonTemporal, usize),
        /// One `flush_raw` of this many bytes on a [`RecordingFlush`].
        FlushRaw(usize),
    }

    std::thread_local! {
        static STEPS: RefCell<Vec<Step>> = const { RefCell::new(Vec::new()) };
    }

    /// One line written back with `kind`: extends the current run of `kind` or starts one.
    pub(super) fn line(kind: WriteBack) {
        STEPS.with(|s| {
            let mut steps = s.borrow_mut();
            match steps.last_mut() {
                Some(Step::WriteBack(k, n)) if *k == kind => *n += 1,
                _ => steps.push(Step::WriteBack(kind, 1)),
            }
        });
    }

    /// One non-temporal store operation: extends the current run of `kind` or starts one.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    pub(crate) fn non_temporal(kind: crate::mem::NonTemporal) {
        STEPS.with(|s| {
            let mut steps = s.borrow_mut();
            match steps.last_mut() {
                Some(Step::NonTemporal(k, n)) if *k == kind => *n += 1,
                _ => steps.push(Step::NonTemporal(kind, 1)),
            }
        });
    }

    pub(super) fn fence(kind: Fence) {
        STEPS.with(|s| s.borrow_mut().push(Step::Fence(kind)));
    }

    /// A [`Flush`](crate::Flush) that only records: one [`Step::FlushRaw`] per call.
    pub(crate) struct RecordingFlush;

    impl crate::Flush for RecordingFlush {
        unsafe fn flush_raw(&self, _addr: *const u8, len: usize) {
            STEPS.with(|s| s.borrow_mut().push(Step::FlushRaw(len)));
        }
    }

    /// Runs `f` and returns what it executed.
    pub(crate) fn record(f: impl FnOnce()) -> Vec<Step> {
        STEPS.with(|s| s.borrow_mut().clear());
        f();
        STEPS.with(|s| s.take())
    }
}
