//! pmem-flush in M-mode on bare-metal RISC-V, used the way a kernel uses it: no OS, no
//! allocator, no SBI; Zicbom and its block size learnt from the device tree.
//!
//! RISC-V has no register that says whether Zicbom is there or how large a cache block is, so
//! the crate's own detection reports no write-back. A kernel reads the device tree its firmware
//! hands over (`riscv,isa-extensions` lists `zicbom`, `riscv,cbom-block-size` gives the block)
//! and passes those facts in: that is what this image does. Then it persists a buffer through
//! every entry point (free functions, function pointers, the pair, byte granularity, the
//! concrete `CboClean`, the persistent copies), invalidates it through every entry point
//! (`cbo.flush` between two `fence iorw,iorw`), checks the data, and exits through QEMU's test
//! device: status 0 when every check passed, 1 when one failed, 3 on a trap (an illegal
//! `cbo.clean` on a hart without Zicbom, for instance).
//!
//! The command line (`/chosen/bootargs`) may say `pmem-flush.cbom-block-size=N` to use Zicbom
//! whatever the device tree says: the negative control, which must trap on a hart without it.
//! With `pmem-flush.invalidate-first` as well, the first Zicbom instruction is an
//! invalidation's `cbo.flush` instead of a `cbo.clean`, so that control covers it too.
//!
//!     scripts/cross.sh riscv    # builds it and runs it under qemu-system-riscv64 -machine virt
//!
//! By hand (QEMU 10, e.g. from scripts/qemu-new.sh):
//!
//!     RUSTC_BOOTSTRAP=1 RUSTC=/usr/bin/rustc /usr/bin/cargo build --release \
//!         -Zbuild-std=core -Zbuild-std-features=compiler-builtins-mem \
//!         --target riscv64gc-unknown-none-elf
//!     qemu-system-riscv64 -machine virt -cpu rv64,zicbom=true -bios none -nographic \
//!         -kernel target/riscv64gc-unknown-none-elf/release/riscv-bare

#![no_std]
#![no_main]

use core::arch::{asm, global_asm};
use core::fmt::{self, Write};

// Start-up, on the boot hart (QEMU starts one hart with -smp 1; others would need parking):
// a stack; the trap vector; the FPU on (mstatus.FS = Initial: the target may use FP registers);
// .bss zeroed; then `kmain(hart id, device tree)` with a0 and a1 as QEMU (or OpenSBI, U-Boot)
// passes them.
global_asm!(
    r#"
    .section .text.boot, "ax"
    .global _start
_start:
    la      sp, __stack_top
    la      t0, trap_entry
    csrw    mtvec, t0
    li      t0, (1 << 13)
    csrs    mstatus, t0
    la      t0, __bss_start
    la      t1, __bss_end
1:  bgeu    t0, t1, 2f
    sd      zero, 0(t0)
    addi    t0, t0, 8
    j       1b
2:  call    kmain
3:  wfi
    j       3b

    .balign 4
trap_entry:
    csrr    a0, mcause
    csrr    a1, mepc
    csrr    a2, mtval
    call    trap
"#
);

// QEMU `virt` devices at their fixed addresses (a kernel finds them in the device tree:
// /chosen/stdout-path and the "sifive,test0" node).
const UART: usize = 0x1000_0000;
const TEST_DEVICE: usize = 0x10_0000;

fn putc(b: u8) {
    let uart = UART as *mut u8;
    // SAFETY: the 16550 UART of QEMU's virt machine: LSR at +5 (bit 5: transmitter empty), THR
    // at +0. Device memory, accessed only here, by one hart.
    unsafe {
        while uart.add(5).read_volatile() & 0x20 == 0 {}
        uart.write_volatile(b);
    }
}

/// Ends QEMU through the SiFive test device: 0x5555 is "pass" (status 0), `code << 16 | 0x3333`
/// is "fail" (status `code`).
fn exit(code: u32) -> ! {
    let value = if code == 0 {
        0x5555
    } else {
        (code << 16) | 0x3333
    };
    // SAFETY: the test device's register; writing it stops the machine.
    unsafe { (TEST_DEVICE as *mut u32).write_volatile(value) };
    loop {
        // SAFETY: waits for an interrupt; nothing else.
        unsafe { asm!("wfi", options(nomem, nostack)) };
    }
}

struct Console;

impl Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        s.bytes().for_each(putc);
        Ok(())
    }
}

macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(Console, $($arg)*);
    }};
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    say!("PANIC: {info}");
    say!("finished: FAILED (panic)");
    exit(1)
}

/// Every exception lands here (nothing enables interrupts): report it and stop with status 3,
/// so that a missing instruction is a failure with a message, not a hang.
#[unsafe(no_mangle)]
extern "C" fn trap(mcause: u64, mepc: u64, mtval: u64) -> ! {
    let what = match mcause {
        2 => "illegal instruction",
        5 => "load access fault",
        7 => "store access fault",
        _ => "exception",
    };
    // cbo.clean is 0x0010200f and cbo.flush 0x0020200f, with rs1 in bits 19:15.
    let insn = match mtval & 0xfff0_7fff {
        0x0010_200f if mcause == 2 => " (cbo.clean)",
        0x0020_200f if mcause == 2 => " (cbo.flush)",
        _ => "",
    };
    say!("TRAP: mcause {mcause} ({what}) at mepc {mepc:#x}, mtval {mtval:#x}{insn}");
    say!("finished: FAILED (trap)");
    exit(3)
}

fn misa() -> u64 {
    let v: u64;
    // SAFETY: misa is readable in M-mode, where this runs.
    unsafe { asm!("csrr {}, misa", out(reg) v, options(nomem, nostack)) };
    v
}

fn pattern(i: usize) -> u8 {
    (i * 31 + 7) as u8
}

/// A block-aligned buffer, as a kernel's log area would be.
#[repr(C, align(4096))]
struct Area([u8; 8192]);

static mut AREA: Area = Area([0; 8192]);

/// What the device tree says about Zicbom on the first hart: its block size when
/// `riscv,isa-extensions` (or the older `riscv,isa` string) lists `zicbom` and
/// `riscv,cbom-block-size` is there; a block size forced on the command line; and whether the
/// command line asks to invalidate first.
fn zicbom_from_device_tree(dtb: *const u8) -> (Option<usize>, Option<usize>, bool) {
    // SAFETY: QEMU (like OpenSBI and U-Boot) passes a valid flattened device tree in a1.
    let fdt = match unsafe { fdt::Fdt::from_ptr(dtb) } {
        Ok(fdt) => fdt,
        Err(e) => {
            say!("no device tree at {dtb:p}: {e:?}");
            say!("finished: FAILED (no device tree)");
            exit(1)
        }
    };
    let Some(cpu) = fdt.cpus().next() else {
        say!("device tree: no /cpus node");
        return (None, None, false);
    };
    let listed = match cpu.property("riscv,isa-extensions") {
        Some(p) => p.value.split(|&b| b == 0).any(|e| e == b"zicbom"),
        None => cpu
            .property("riscv,isa")
            .and_then(|p| p.as_str())
            .is_some_and(|isa| isa.split('_').any(|e| e == "zicbom")),
    };
    let block = cpu
        .property("riscv,cbom-block-size")
        .and_then(|p| p.as_usize());
    say!("device tree: zicbom listed: {listed}; riscv,cbom-block-size: {block:?}");
    let args = fdt.chosen().bootargs().unwrap_or("");
    let forced = args
        .split_whitespace()
        .find_map(|w| w.strip_prefix("pmem-flush.cbom-block-size="))
        .and_then(|v| v.parse().ok());
    let invalidate_first = args
        .split_whitespace()
        .any(|w| w == "pmem-flush.invalidate-first");
    (block.filter(|_| listed), forced, invalidate_first)
}

#[unsafe(no_mangle)]
extern "C" fn kmain(hartid: usize, dtb: *const u8) -> ! {
    say!("pmem-flush bare-metal RISC-V example (M-mode)");
    say!("hart {hartid}; misa {:#x}; device tree at {dtb:p}", misa());
    let (block, forced, invalidate_first) = zicbom_from_device_tree(dtb);
    if let Some(size) = forced {
        say!("command line: pmem-flush.cbom-block-size={size}: Zicbom forced");
    }
    if invalidate_first {
        say!("command line: pmem-flush.invalidate-first: an invalidation comes first");
    }

    let area = &raw mut AREA;
    // SAFETY: the only reference to AREA, taken once on this single hart.
    let buf: &mut [u8; 8192] = unsafe { &mut (*area).0 };
    let mut failures = 0u32;
    let mut check = |what: &str, ok: bool| {
        say!("  {what:<56} {}", if ok { "ok" } else { "FAILED" });
        failures += u32::from(!ok);
    };
    let zicbom = exercise_entry_points(forced.or(block), invalidate_first, buf, &mut check);

    if failures > 0 {
        say!("finished: {failures} check(s) FAILED");
        exit(1)
    }
    if zicbom {
        say!("finished: ok");
    } else {
        say!("finished: ok (no Zicbom: nothing was written back, as the selection says)");
    }
    exit(0)
}

/// Every use of pmem-flush's API in this example, in one place: configures the crate with what
/// the platform said (the Zicbom block size, or `None` without Zicbom), then persists `buf`
/// through each entry point and invalidates it through each (first, if `invalidate_first`),
/// and checks it reads back intact. Returns whether cbo.clean was in use.
fn exercise_entry_points(
    cbom_block_size: Option<usize>,
    invalidate_first: bool,
    buf: &mut [u8; 8192],
    check: &mut dyn FnMut(&str, bool),
) -> bool {
    use pmem_flush::arch::riscv64::{CboClean, CboFlush, FenceIorw, fence_iorw};
    use pmem_flush::prelude::*;
    use pmem_flush::{Config, Flusher, Granularity, MemFlags, Selection, WriteBack};

    let cpu = &pmem_flush::features::riscv64::zicbom(cbom_block_size);
    let selection = Selection::new(cpu, Config::new());
    say!("");
    say!("{selection}");
    say!("");
    // SAFETY: `cpu` is what the device tree (or the command line) says about every hart, and
    // M-mode may always execute cbo.clean when the hart has Zicbom.
    unsafe { pmem_flush::configure_unchecked(&selection) };
    let zicbom = selection.flush_write_back() == WriteBack::CboClean;

    for (i, b) in buf.iter_mut().enumerate() {
        *b = pattern(i);
    }
    let intact = |buf: &[u8]| buf.iter().enumerate().all(|(i, b)| *b == pattern(i));

    say!("self-check:");
    if invalidate_first {
        pmem_flush::invalidate(&buf[..64]);
    }
    for offset in 0..64 {
        pmem_flush::persist(&buf[offset..offset + 4096]);
    }
    check("persist at offsets 0..64, 4096 bytes each", intact(buf));
    pmem_flush::flush(&buf[1..]);
    pmem_flush::drain();
    pmem_flush::deep_flush(&buf[..100]);
    pmem_flush::persist_value(&buf[4000]);
    check("flush + drain, deep_flush, persist_value", intact(buf));
    say!("executed: {}", pmem_flush::drainer().fence());

    // SAFETY: `buf` is readable for its whole length; len == 0 needs nothing.
    unsafe {
        pmem_flush::get_persist_fn()(buf.as_ptr(), buf.len());
        pmem_flush::get_deep_flush_fn()(buf.as_ptr(), buf.len());
        pmem_flush::get_flush_fn()(buf.as_ptr().add(5), 0);
    }
    pmem_flush::get_drain_fn()();
    check("function pointers", intact(buf));

    // SAFETY: as for `configure_unchecked` above.
    let flusher = unsafe { Flusher::new_unchecked(&selection) };
    let drainer = flusher.drainer();
    for chunk in buf.chunks(1000) {
        flusher.flush(chunk);
    }
    drainer.drain();
    say!("  pair: {flusher}; {drainer}");
    check("the pair (Flusher, Drainer)", intact(buf));

    // SAFETY: as above.
    let byte = unsafe {
        Flusher::new_unchecked(&Selection::new(
            cpu,
            Config::new().with_granularity(Granularity::Byte),
        ))
    };
    byte.persist(buf);
    byte.deep_flush(buf);
    check(
        "byte granularity: persist fences, deep_flush writes back",
        intact(buf),
    );

    if zicbom {
        // SAFETY: the hart has Zicbom with blocks of at least this size (the device tree says
        // so, or the command line insists).
        let clean = unsafe { CboClean::new_unchecked(cpu.line_size) };
        clean.flush(&buf[3..]);
        FenceIorw.drain();
        check("concrete type: CboClean, then FenceIorw", intact(buf));
        say!("executed: cbo.clean");
    }

    // Invalidation: what was written just before reads back unchanged after, through the free
    // functions, the flusher (byte granularity evicts too), the pointer and the concrete
    // CboFlush between its two fences.
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
    if zicbom {
        // SAFETY: as for `CboClean` above.
        let flush = unsafe { CboFlush::new_unchecked(cpu.line_size) };
        fence_iorw();
        flush.evict(buf);
        fence_iorw();
    }
    check(
        if zicbom {
            "invalidate (cbo.flush): written data reads back unchanged"
        } else {
            "invalidate (fences only, no Zicbom): data unchanged"
        },
        invalidated && intact(buf),
    );
    if zicbom {
        say!("executed: cbo.flush");
    }

    // Persistent copies: ordinary stores, each block cleaned (RISC-V has no non-temporal
    // stores), with libpmem's flags.
    let (src, dst) = buf.split_at_mut(4096);
    let mut ok = true;
    for flags in [MemFlags::empty(), MemFlags::NONTEMPORAL, MemFlags::NODRAIN] {
        for (off, len) in [(0, 4000), (3, 3000), (7, 255), (8, 256), (1, 9)] {
            dst.fill(0);
            ok &= pmem_flush::memcpy(&mut dst[off..off + len], &src[..len], flags).is_ok();
            ok &= dst[off..off + len] == src[..len] && dst[..off].iter().all(|&b| b == 0);
        }
    }
    pmem_flush::drain();
    ok &= pmem_flush::memcpy_persist(&mut dst[..100], &src[..100]).is_ok();
    pmem_flush::memset_persist(&mut dst[100..3100], 0xab);
    ok &= dst[100..3100].iter().all(|&b| b == 0xab);
    ok &= pmem_flush::memmove_persist(dst, 0..3000, 7).is_ok();
    ok &= dst[7..107] == src[..100] && dst[107..3007].iter().all(|&b| b == 0xab);
    // SAFETY: `dst` is writable and `src` readable for 64 bytes; they do not overlap.
    unsafe {
        pmem_flush::get_memcpy_fn()(dst.as_mut_ptr(), src.as_ptr(), 64, MemFlags::empty());
        pmem_flush::get_memset_fn()(dst.as_mut_ptr().add(64), 0x5a, 64, MemFlags::empty());
    }
    ok &= dst[..64] == src[..64] && dst[64..128].iter().all(|&b| b == 0x5a);
    check("memcpy / memmove / memset, flags, function pointers", ok);
    zicbom
}
