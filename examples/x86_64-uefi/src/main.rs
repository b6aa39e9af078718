//! pmem-flush at CPL 0 on x86-64: a UEFI application, the way firmware and kernels use it.
//!
//! UEFI runs applications in ring 0, so this is what a boot loader, a firmware driver or an
//! early kernel sees: it prints CPL, CR4 and the raw CPUID values, detects, persists a buffer
//! through every entry point (free functions, function pointers, the detected pair, byte
//! granularity, each concrete write-back type the CPU has, the persistent copies), invalidates
//! it through every entry point (CLFLUSHOPT or CLFLUSH between two MFENCEs), checks the data, and ends QEMU through its `isa-debug-exit` device: status 33 when every check passed,
//! 35 when one failed, 37 on an invalid opcode (#UD).
//!
//! OVMF leaves CR4.OSXSAVE clear (no AVX) and the `x86_64-unknown-uefi` target is soft-float
//! (no SSE in the generated code), so the crate uses general-purpose registers only: the copies
//! use MOVNTI. Firmware that keeps SSE on (UEFI requires CR4.OSFXSR on x64) may build for the
//! same target with SSE, `x86_64-unknown-uefi-sse.json` here (the stock target with its
//! soft-float settings removed): the copies then use MOVNTDQ, and MOVNTI as well.
//!
//! Built with `--features force-clwb`, it executes CLWB before asking CPUID: the negative
//! control, which must raise #UD (reported, never a hang) on a CPU without CLWB.
//!
//!     scripts/cross.sh uefi    # builds both, boots them under OVMF with nine CPU models
//!
//! By hand (`lld-link`: rustup's `rust-lld`, or Debian's `lld`):
//!
//!     RUSTC_BOOTSTRAP=1 RUSTC=/usr/bin/rustc \
//!         CARGO_TARGET_X86_64_UNKNOWN_UEFI_LINKER=$(rustc --print sysroot)/lib/rustlib/x86_64-unknown-linux-gnu/bin/rust-lld \
//!         /usr/bin/cargo build --release -Zbuild-std=core \
//!         -Zbuild-std-features=compiler-builtins-mem --target x86_64-unknown-uefi
//!     mkdir -p esp/EFI/BOOT && cp target/x86_64-unknown-uefi/release/x86_64-uefi.efi esp/EFI/BOOT/BOOTX64.EFI
//!     qemu-system-x86_64 -nodefaults -machine q35 -cpu Skylake-Server -m 256M \
//!         -bios /usr/share/ovmf/OVMF.fd -drive format=raw,file=fat:rw:esp \
//!         -display none -serial stdio -device isa-debug-exit,iobase=0xf4,iosize=0x04

#![no_std]
#![no_main]

use core::arch::{asm, naked_asm};
use core::ffi::c_void;
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicPtr, Ordering};

// --- The few pieces of UEFI this needs (UEFI 2.10, 4.3 "System Table", 12.4 "Simple Text
// Output Protocol"): the system table up to ConOut, and ConOut up to OutputString. -----------

#[repr(C)]
struct TableHeader {
    signature: u64,
    revision: u32,
    header_size: u32,
    crc32: u32,
    reserved: u32,
}

#[repr(C)]
struct SystemTable {
    hdr: TableHeader,
    firmware_vendor: *const u16,
    firmware_revision: u32,
    console_in_handle: *mut c_void,
    con_in: *mut c_void,
    console_out_handle: *mut c_void,
    con_out: *mut TextOutput,
    // ... more fields this application never reads.
}

#[repr(C)]
struct TextOutput {
    reset: *const c_void,
    output_string: unsafe extern "efiapi" fn(this: *mut TextOutput, s: *const u16) -> usize,
    // ... more fields this application never reads.
}

/// ConOut, set once at entry; the console writes through it.
static CON_OUT: AtomicPtr<TextOutput> = AtomicPtr::new(core::ptr::null_mut());

/// Text to ConOut, in UCS-2 chunks, `\n` as `\r\n`.
struct Console;

impl Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let out = CON_OUT.load(Ordering::Relaxed);
        if out.is_null() {
            return Err(fmt::Error);
        }
        let mut buf = [0u16; 129];
        let mut n = 0;
        for c in s.chars() {
            if n + 3 > buf.len() {
                // SAFETY: `out` is the firmware's ConOut; `buf` is NUL-terminated (zeroed past n).
                unsafe { ((*out).output_string)(out, buf.as_ptr()) };
                buf = [0; 129];
                n = 0;
            }
            if c == '\n' {
                buf[n] = u16::from(b'\r');
                n += 1;
            }
            // Characters outside the BMP are not printed by this console.
            let mut units = [0u16; 2];
            if let [unit] = c.encode_utf16(&mut units) {
                buf[n] = *unit;
                n += 1;
            }
        }
        // SAFETY: as above.
        unsafe { ((*out).output_string)(out, buf.as_ptr()) };
        Ok(())
    }
}

macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(Console, $($arg)*);
    }};
}

// --- Ending the run: QEMU's isa-debug-exit device at I/O port 0xf4 exits with 2v+1. -----------

const PASSED: u8 = 0x10; // QEMU exits with status 33
const FAILED: u8 = 0x11; // 35
const INVALID_OPCODE: u8 = 0x12; // 37

fn exit_qemu(code: u8) -> ! {
    // SAFETY: an OUT to QEMU's debug-exit port ends the machine; ring 0 may use any port.
    unsafe { asm!("out dx, al", in("dx") 0xf4u16, in("al") code, options(nomem, nostack)) };
    // Without the device (not under QEMU): stop here.
    loop {
        // SAFETY: halts until the next interrupt; nothing else.
        unsafe { asm!("hlt", options(nomem, nostack)) };
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    say!("PANIC: {info}");
    say!("finished: FAILED (panic)");
    exit_qemu(FAILED)
}

// --- #UD: a missing instruction must be a reported failure, not a hang. ----------------------
// A kernel has its own IDT; this application borrows the firmware's and replaces vector 6
// (invalid opcode) with a handler that prints on COM1 (not ConOut: firmware services are not
// for exception context) and exits QEMU.

/// Vector 6's entry: #UD pushes no error code, so the faulting RIP is at the top of the stack.
#[unsafe(naked)]
extern "sysv64" fn invalid_opcode_entry() -> ! {
    naked_asm!(
        "mov rdi, [rsp]",
        "and rsp, -16",
        "call {report}",
        report = sym invalid_opcode,
    )
}

extern "sysv64" fn invalid_opcode(rip: u64) -> ! {
    let _ = writeln!(
        Com1,
        "\r\nEXCEPTION: #UD (invalid opcode) at RIP {rip:#x}\r\nfinished: FAILED (#UD)\r"
    );
    exit_qemu(INVALID_OPCODE)
}

/// The first serial port, polled: enough for a last message.
struct Com1;

impl Write for Com1 {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for b in s.bytes() {
            // SAFETY: COM1's line status (0x3fd, bit 5: ready) and data (0x3f8) ports, which
            // OVMF has set up; ring 0 may use any port.
            unsafe {
                loop {
                    let lsr: u8;
                    asm!("in al, dx", in("dx") 0x3fdu16, out("al") lsr, options(nomem, nostack));
                    if lsr & 0x20 != 0 {
                        break;
                    }
                }
                asm!("out dx, al", in("dx") 0x3f8u16, in("al") b, options(nomem, nostack));
            }
        }
        Ok(())
    }
}

fn install_invalid_opcode_handler() {
    #[repr(C, packed)]
    struct Idtr {
        limit: u16,
        base: u64,
    }
    let mut idtr = Idtr { limit: 0, base: 0 };
    let cs: u16;
    // SAFETY: SIDT stores the 10-byte IDT register into `idtr`; reading CS has no effect.
    unsafe {
        asm!("sidt [{}]", in(reg) &raw mut idtr, options(nostack, preserves_flags));
        asm!("mov {:x}, cs", out(reg) cs, options(nomem, nostack, preserves_flags));
    }
    let (limit, base) = (idtr.limit, idtr.base);
    assert!(limit >= 7 * 16 - 1, "IDT too short for vector 6");
    // A 64-bit interrupt gate (type 0xE, present, DPL 0) to the handler in this code segment.
    let handler = invalid_opcode_entry as *const () as usize as u64;
    let gate = [
        (handler & 0xffff) | u64::from(cs) << 16 | 0x8e << 40 | (handler >> 16 & 0xffff) << 48,
        handler >> 32,
    ];
    // SAFETY: entry 6 of the IDT the CPU uses, which OVMF keeps in writable memory; a 16-byte
    // write of a valid gate. Interrupts may fire meanwhile, but none uses vector 6.
    unsafe { ((base + 6 * 16) as *mut [u64; 2]).write_volatile(gate) };
}

// --- What this CPU and this ring are. -----------------------------------------------------------

fn cpl() -> u16 {
    let cs: u16;
    // SAFETY: reads CS; its low two bits are the current privilege level.
    unsafe { asm!("mov {:x}, cs", out(reg) cs, options(nomem, nostack, preserves_flags)) };
    cs & 3
}

fn cr4() -> u64 {
    let v: u64;
    // SAFETY: CR4 is readable at CPL 0 (it would be #GP anywhere else).
    unsafe { asm!("mov {}, cr4", out(reg) v, options(nomem, nostack, preserves_flags)) };
    v
}

fn print_cpuid() {
    use core::arch::x86_64::__cpuid_count;
    let leaf = |l, s| {
        // SAFETY: CPUID exists on every x86-64 CPU. (Newer compilers made this safe.)
        #[allow(unused_unsafe)]
        let r = unsafe { __cpuid_count(l, s) };
        [r.eax, r.ebx, r.ecx, r.edx]
    };
    let max = leaf(0, 0)[0];
    say!("CPUID.0:   max leaf {max:#x}");
    say!("CPUID.1:   {:08x?}", leaf(1, 0));
    if max >= 7 {
        say!("CPUID.7.0: {:08x?}", leaf(7, 0));
    }
}

fn pattern(i: usize) -> u8 {
    (i * 31 + 7) as u8
}

/// A line-aligned buffer, as a driver's log area would be.
#[repr(C, align(4096))]
struct Area([u8; 8192]);

static mut AREA: Area = Area([0; 8192]);

/// The entry point the firmware calls, in ring 0, with the image handle and the system table.
#[unsafe(no_mangle)]
extern "efiapi" fn efi_main(_image: *mut c_void, system_table: *const SystemTable) -> usize {
    // SAFETY: the firmware passes a valid system table, which stays valid while boot services
    // run (this application never leaves them).
    CON_OUT.store(unsafe { (*system_table).con_out }, Ordering::Relaxed);
    install_invalid_opcode_handler();

    say!("");
    say!("pmem-flush UEFI example");
    let cr4 = cr4();
    say!(
        "CPL {}; CR4 {cr4:#x} (OSXSAVE {})",
        cpl(),
        if cr4 & (1 << 18) != 0 { "set" } else { "clear" }
    );
    print_cpuid();

    let area = &raw mut AREA;
    // SAFETY: the only reference to AREA, taken once; UEFI applications run on one CPU.
    let buf: &mut [u8; 8192] = unsafe { &mut (*area).0 };
    let mut failures = 0u32;
    let mut check = |what: &str, ok: bool| {
        say!("  {what:<56} {}", if ok { "ok" } else { "FAILED" });
        failures += u32::from(!ok);
    };
    check("running at CPL 0", cpl() == 0);
    exercise_entry_points(buf, &mut check);

    if failures == 0 {
        say!("finished: ok");
        exit_qemu(PASSED)
    }
    say!("finished: {failures} check(s) FAILED");
    exit_qemu(FAILED)
}

/// Every use of pmem-flush's API in this example, in one place: detects, then persists `buf`
/// through each entry point and checks it reads back intact.
fn exercise_entry_points(buf: &mut [u8; 8192], check: &mut dyn FnMut(&str, bool)) {
    use pmem_flush::arch::x86_64::{Clflush, ClflushOpt, Clwb, Mfence, Sfence, mfence};
    use pmem_flush::prelude::*;
    use pmem_flush::{
        Config, Cpu, Features, Flusher, Granularity, MemFlags, NonTemporal, NotDurable,
    };

    for (i, b) in buf.iter_mut().enumerate() {
        *b = pattern(i);
    }
    let intact = |buf: &[u8]| buf.iter().enumerate().all(|(i, b)| *b == pattern(i));

    if cfg!(feature = "force-clwb") {
        say!("negative control: CLWB without asking CPUID");
        // SAFETY: not on a CPU without CLWB: there CLWB raises #UD, which the handler installed
        // at entry reports as a failure. Showing that is the point of this build.
        unsafe { Clwb::new_unchecked(64) }.flush(&buf[..64]);
        say!("CLWB ran: this CPU has it");
    }

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
    check("the detected pair (Flusher, Drainer)", intact(buf));

    let byte = Flusher::new(Config::new().with_granularity(Granularity::Byte))
        .unwrap_or_else(NotDurable::accept);
    byte.persist(buf);
    byte.deep_flush(buf);
    check(
        "byte granularity: persist fences, deep_flush writes back",
        intact(buf),
    );

    // Each write-back this CPU has, as a concrete type (no dispatch at all).
    let mut ran: [Option<&str>; 3] = [None; 3];
    if let Some(f) = Clwb::new() {
        f.flush(buf);
        ran[0] = Some("clwb");
    }
    if let Some(f) = ClflushOpt::new() {
        f.flush(buf);
        ran[1] = Some("clflushopt");
    }
    if let Some(f) = Clflush::new() {
        f.flush(buf);
        ran[2] = Some("clflush");
    }
    Sfence.drain();
    check("concrete types this CPU has", intact(buf));
    for insn in ran.into_iter().flatten() {
        say!("executed: {insn}");
    }
    say!("executed: sfence");

    // Invalidation at CPL 0: what was written just before reads back unchanged after, through
    // the free functions, the flushers (byte granularity evicts too), the pointer, and each
    // evicting type this CPU has between two MFENCEs.
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
    let mut evicted: [Option<&str>; 2] = [None; 2];
    if let Some(e) = ClflushOpt::new() {
        mfence();
        e.evict(buf);
        Mfence.drain();
        evicted[0] = Some("clflushopt");
    }
    if let Some(e) = Clflush::new() {
        mfence();
        e.evict(buf);
        Mfence.drain();
        evicted[1] = Some("clflush");
    }
    check(
        "invalidate: written data reads back unchanged",
        invalidated && intact(buf),
    );
    let evict = pmem_flush::selection().evict_write_back();
    say!("  invalidated with {evict}");
    // Every eviction above ran between two explicit MFENCEs.
    if evicted.iter().any(Option::is_some) {
        say!("executed: mfence");
    }
    for insn in evicted.into_iter().flatten() {
        say!("executed: {insn}");
    }

    // Persistent copies with libpmem's flags, through the free functions and the pointers
    // (the detected stores).
    let (src, dst) = buf.split_at_mut(4096);
    let mut ok = true;
    for flags in [MemFlags::empty(), MemFlags::NONTEMPORAL, MemFlags::TEMPORAL] {
        for (off, len) in [(0, 4000), (3, 3000), (7, 255), (8, 256), (1, 9)] {
            dst.fill(0);
            ok &= pmem_flush::memcpy(&mut dst[off..off + len], &src[..len], flags).is_ok();
            ok &= dst[off..off + len] == src[..len] && dst[..off].iter().all(|&b| b == 0);
        }
    }
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

    // Then each non-temporal path there is here: the detected one, and the general-purpose
    // MOVNTI (the only one in the soft-float build).
    let detected = pmem_flush::flusher();
    let no_vectors = Config::new().disable(Features::SSE2 | Features::AVX | Features::AVX512F);
    let general = Flusher::new(no_vectors).unwrap_or_else(NotDurable::accept);
    for (i, copier) in [detected, general].into_iter().enumerate() {
        let nt = copier.non_temporal();
        if i > 0 && nt == detected.non_temporal() {
            continue;
        }
        let mut ok = true;
        for flags in [MemFlags::empty(), MemFlags::NONTEMPORAL, MemFlags::TEMPORAL] {
            for (off, len) in [(0, 4000), (3, 3000), (7, 255), (8, 256), (1, 9)] {
                dst.fill(0);
                ok &= copier
                    .memcpy(&mut dst[off..off + len], &src[..len], flags)
                    .is_ok();
                ok &= dst[off..off + len] == src[..len] && dst[..off].iter().all(|&b| b == 0);
            }
        }
        say!("  copies with {}", nt.mnemonic());
        check("copies on this non-temporal path", ok);
        let insn = match nt {
            NonTemporal::Movnti => "movnti",
            NonTemporal::Sse2 => "movntdq",
            NonTemporal::Avx => "vmovntdq ymm",
            NonTemporal::Avx512f => "vmovntdq zmm",
            NonTemporal::Movdir64b => "movdir64b",
            _ => "ordinary stores and write-backs",
        };
        if ok {
            say!("executed: {insn}");
        }
    }
}
