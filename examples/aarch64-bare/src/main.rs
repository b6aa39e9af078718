//! pmem-flush at EL1 on bare-metal AArch64, used the way a kernel uses it: no OS, no
//! allocator, MMU and caches on, output over semihosting.
//!
//! It detects (MRS of ID_AA64ISAR1_EL1 and CTR_EL0 at EL1), prints the raw registers and the
//! selection, persists a buffer through every entry point (free functions, the detected pair,
//! function pointers, the concrete type of each instruction this CPU has, byte granularity),
//! invalidates it through every entry point (DC CIVAC between two DSB SY), checks the data,
//! prints `finished` and exits with status 0 (1 on any failure). After each
//! instruction has run it prints `executed: <mnemonic>`, which the scripts' table is built from.
//!
//!     scripts/cross.sh    # builds it and runs it under qemu-system-aarch64 -machine virt
//!
//! By hand:
//!
//!     RUSTC_BOOTSTRAP=1 RUSTC=/usr/bin/rustc /usr/bin/cargo build --release \
//!         -Zbuild-std=core -Zbuild-std-features=compiler-builtins-mem \
//!         --target aarch64-unknown-none
//!     qemu-system-aarch64 -machine virt -cpu max -nographic -semihosting \
//!         -kernel target/aarch64-unknown-none/release/aarch64-bare

#![no_std]
#![no_main]

use core::arch::{asm, global_asm};
use core::fmt::{self, Write};

use pmem_flush::arch::aarch64::{DcCivac, DcCvac, DcCvadp, DcCvap, Dsb, dsb_sy};
use pmem_flush::prelude::*;
use pmem_flush::{Config, Cpu, Flusher, Granularity, NotDurable};

// Start-up, as a kernel's head.S would do it, on the boot CPU only (QEMU keeps the others
// powered off until PSCI starts them):
// 1. a stack; FP/SIMD enabled at EL1 (CPACR_EL1.FPEN), since the target may use it;
// 2. an identity map with 1 GiB blocks: device memory below 1 GiB, normal write-back cacheable
//    memory (inner shareable) for the RAM from 1 GiB, then the MMU and both caches on;
// 3. .bss zeroed; then `kmain`.
global_asm!(
    r#"
    .section .text.boot, "ax"
    .global _start
_start:
    ldr     x0, =__stack_top
    mov     sp, x0
    mov     x0, #(3 << 20)
    msr     cpacr_el1, x0
    isb

    ldr     x0, =0xff00
    msr     mair_el1, x0
    ldr     x0, =(25 | (1 << 8) | (1 << 10) | (3 << 12) | (1 << 23))
    msr     tcr_el1, x0
    adrp    x0, page_table
    add     x0, x0, :lo12:page_table
    msr     ttbr0_el1, x0
    isb
    tlbi    vmalle1
    dsb     nsh
    isb
    mrs     x0, sctlr_el1
    orr     x0, x0, #(1 << 0)
    orr     x0, x0, #(1 << 2)
    orr     x0, x0, #(1 << 12)
    msr     sctlr_el1, x0
    isb

    ldr     x0, =__bss_start
    ldr     x1, =__bss_end
1:  cmp     x0, x1
    b.hs    2f
    str     xzr, [x0], #8
    b       1b
2:  bl      kmain
3:  wfe
    b       3b

    .section .data.page_table, "aw"
    .balign 4096
page_table:
    .quad   0x00000000 | (1 << 54) | (1 << 53) | (1 << 10) | (0 << 2) | 1
    .quad   0x40000000 | (1 << 10) | (3 << 8) | (1 << 2) | 1
    .fill   510, 8, 0
"#
);

/// Semihosting call: operation in x0, parameter in x1, `HLT #0xF000` (A64).
fn semihost(op: u64, param: u64) -> u64 {
    let ret;
    // SAFETY: QEMU runs with -semihosting; the parameter blocks are valid for the call.
    unsafe { asm!("hlt #0xf000", inout("x0") op => ret, in("x1") param, options(nostack)) };
    ret
}

const SYS_WRITE0: u64 = 0x04;
const SYS_EXIT: u64 = 0x18;
const ADP_STOPPED_APPLICATION_EXIT: u64 = 0x20026;

fn exit(code: u64) -> ! {
    let block = [ADP_STOPPED_APPLICATION_EXIT, code];
    semihost(SYS_EXIT, block.as_ptr() as u64);
    loop {
        // SAFETY: waits for an event; nothing else.
        unsafe { asm!("wfe") };
    }
}

/// The console: text collected in a buffer and written with SYS_WRITE0.
struct Console {
    buf: [u8; 256],
    len: usize,
}

impl Console {
    const fn new() -> Console {
        Console {
            buf: [0; 256],
            len: 0,
        }
    }

    fn flush(&mut self) {
        if self.len > 0 {
            self.buf[self.len] = 0;
            semihost(SYS_WRITE0, self.buf.as_ptr() as u64);
            self.len = 0;
        }
    }
}

impl Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for &b in s.as_bytes() {
            // The byte 0 would end the string early; nothing here prints it.
            if self.len == self.buf.len() - 1 {
                self.flush();
            }
            self.buf[self.len] = b;
            self.len += 1;
        }
        Ok(())
    }
}

macro_rules! say {
    ($($arg:tt)*) => {{
        let mut c = Console::new();
        let _ = writeln!(c, $($arg)*);
        c.flush();
    }};
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    say!("PANIC: {info}");
    exit(1)
}

fn current_el() -> u64 {
    let v: u64;
    // SAFETY: CurrentEL is readable at EL1 and above, where this runs.
    unsafe { asm!("mrs {}, CurrentEL", out(reg) v, options(nomem, nostack)) };
    (v >> 2) & 3
}

fn midr() -> u64 {
    let v: u64;
    // SAFETY: MIDR_EL1 is readable at EL1.
    unsafe { asm!("mrs {}, midr_el1", out(reg) v, options(nomem, nostack)) };
    v
}

fn sctlr() -> u64 {
    let v: u64;
    // SAFETY: SCTLR_EL1 is readable at EL1.
    unsafe { asm!("mrs {}, sctlr_el1", out(reg) v, options(nomem, nostack)) };
    v
}

fn pattern(i: usize) -> u8 {
    (i * 31 + 7) as u8
}

/// A cache-line-aligned buffer, as a kernel's log area would be.
#[repr(C, align(4096))]
struct Area([u8; 8192]);

static mut AREA: Area = Area([0; 8192]);

#[unsafe(no_mangle)]
extern "C" fn kmain() -> ! {
    let mut failures = 0u32;
    let mut check = |what: &str, ok: bool| {
        say!("  {what:<56} {}", if ok { "ok" } else { "FAILED" });
        failures += u32::from(!ok);
    };

    say!("pmem-flush bare-metal AArch64 example");
    let el = current_el();
    say!(
        "CurrentEL: EL{el}; MIDR_EL1: {:#010x}; SCTLR_EL1: {:#x} (M, C, I on: {})",
        midr(),
        sctlr(),
        sctlr() & 0x1005 == 0x1005
    );
    // SAFETY: this runs at EL1, where both registers can be read.
    let regs = unsafe { pmem_flush::arch::aarch64::read_registers() };
    say!("ID_AA64ISAR1_EL1: {:#018x}", regs.id_aa64isar1_el1);
    say!("CTR_EL0: {:#010x}", regs.ctr_el0);
    let cpu = Cpu::detect();
    say!(
        "features: {:?}; line size: {} bytes",
        cpu.features,
        cpu.line_size
    );
    say!("");
    say!("{}", pmem_flush::selection());
    say!("");

    say!("self-check:");
    check("running at EL1", el == 1);
    check(
        "Cpu::detect() decodes the registers read here",
        cpu == pmem_flush::features::aarch64::decode(&regs),
    );
    let area = &raw mut AREA;
    // SAFETY: the only reference to AREA, taken once on this single CPU.
    let buf: &mut [u8; 8192] = unsafe { &mut (*area).0 };
    for (i, b) in buf.iter_mut().enumerate() {
        *b = pattern(i);
    }
    let intact = |buf: &[u8]| buf.iter().enumerate().all(|(i, b)| *b == pattern(i));

    for offset in 0..64 {
        pmem_flush::persist(&buf[offset..offset + 4096]);
    }
    check("persist at offsets 0..64, 4096 bytes each", intact(buf));
    pmem_flush::flush(&buf[1..]);
    pmem_flush::drain();
    pmem_flush::deep_flush(&buf[..100]);
    check("flush + drain, deep_flush", intact(buf));

    // SAFETY: `buf` is readable for its whole length; len == 0 needs nothing.
    unsafe {
        pmem_flush::get_persist_fn()(buf.as_ptr(), buf.len());
        pmem_flush::get_deep_flush_fn()(buf.as_ptr(), buf.len());
        pmem_flush::get_flush_fn()(buf.as_ptr().add(5), 0);
    }
    pmem_flush::get_drain_fn()();
    check("function pointers", intact(buf));

    let flusher = Flusher::new(Config::new()).unwrap_or_else(NotDurable::accept);
    let drainer = flusher.drainer();
    for chunk in buf.chunks(1000) {
        flusher.flush(chunk);
    }
    drainer.drain();
    say!("  pair: {flusher}; {drainer}");
    check("detected pair", intact(buf));

    let byte = Flusher::new(Config::new().with_granularity(Granularity::Byte))
        .unwrap_or_else(NotDurable::accept);
    byte.persist(buf);
    byte.deep_flush(buf);
    check(
        "byte granularity: persist fences, deep_flush writes back",
        intact(buf),
    );

    let mut ran = Console::new();
    let _ = write!(ran, "  concrete types this CPU has:");
    if let Some(f) = DcCvadp::new() {
        f.flush(buf);
        let _ = write!(ran, " dc cvadp");
    }
    if let Some(f) = DcCvap::new() {
        f.flush(buf);
        let _ = write!(ran, " dc cvap");
    }
    if let Some(f) = DcCvac::new() {
        f.flush(buf);
        let _ = write!(ran, " dc cvac");
    }
    Dsb.drain();
    let _ = writeln!(ran);
    ran.flush();
    check("concrete types ran", intact(buf));
    // For the scripts' table of what executed where: printed only after the instruction ran.
    for (has, insn) in [
        (DcCvadp::new().is_some(), "dc cvadp"),
        (DcCvap::new().is_some(), "dc cvap"),
        (DcCvac::new().is_some(), "dc cvac"),
        (true, "dsb sy"),
    ] {
        if has {
            say!("executed: {insn}");
        }
    }

    // Invalidation at EL1: what was written just before reads back unchanged after, through
    // the free functions, the flushers (byte granularity evicts too), the pointer and the
    // concrete DcCivac between its two DSB SY.
    let mut invalidated = true;
    for (offset, len) in [(0, 8192), (1, 63), (63, 2), (100, 1), (4000, 159)] {
        let range = offset..offset + len;
        buf[range.clone()]
            .iter_mut()
            .for_each(|b| *b = b.wrapping_add(1));
        pmem_flush::invalidate(&buf[range.clone()]);
        invalidated &= buf[range.clone()]
            .iter()
            .enumerate()
            .all(|(i, b)| *b == pattern(offset + i).wrapping_add(1));
        buf[range].iter_mut().for_each(|b| *b = b.wrapping_sub(1));
    }
    flusher.invalidate(buf);
    byte.invalidate(buf);
    pmem_flush::invalidate_value(&buf[..]);
    // SAFETY: `buf` is readable for its whole length.
    unsafe { pmem_flush::get_invalidate_fn()(buf.as_ptr(), buf.len()) };
    let civac = DcCivac::new();
    if let Some(e) = civac {
        dsb_sy();
        e.evict(buf);
        dsb_sy();
    }
    check(
        "invalidate: written data reads back unchanged",
        invalidated && intact(buf) && civac.is_some(),
    );
    if civac.is_some() {
        say!("executed: dc civac");
    }

    buf[100] ^= 0xff;
    pmem_flush::persist(&buf[100..101]);
    check(
        "a changed byte persists and reads back changed",
        buf[100] == pattern(100) ^ 0xff,
    );

    if failures == 0 {
        say!("finished: ok");
        exit(0)
    } else {
        say!("finished: {failures} check(s) FAILED");
        exit(1)
    }
}
