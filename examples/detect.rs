//! Shows what pmem-flush selected on this machine and why, then proves the selection works:
//! every entry point runs on real memory and the data reads back intact.
//!
//!     cargo run --release --example detect
//!     cargo run --release --example detect --features std   # also cross-checks with std
//!
//! Exits with status 1 if any check fails. After an instruction has run it prints
//! `executed: <mnemonic>`: the scripts build their table of what executed where from those
//! lines.

use pmem_flush::prelude::*;
use pmem_flush::{
    Config, Cpu, Features, Flusher, Granularity, MemFlags, NonTemporal, NotDurable, WriteBack,
};

fn main() {
    let mut failures = 0;
    println!(
        "pmem-flush {} on {}",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::ARCH
    );
    #[cfg(target_arch = "x86_64")]
    println!(
        "registers: {:x?}",
        pmem_flush::arch::x86_64::read_registers()
    );
    #[cfg(all(
        target_arch = "aarch64",
        any(target_os = "linux", target_os = "android")
    ))]
    println!(
        "registers (MRS at EL0, emulated by Linux): {:x?}",
        // SAFETY: Linux emulates EL0 reads of the ID registers and sets SCTLR_EL1.UCT.
        unsafe { pmem_flush::arch::aarch64::read_registers() }
    );
    let cpu = Cpu::detect();
    println!("features:  {:?}", cpu.features);
    println!("line size: {} bytes", cpu.line_size);
    println!();
    let selection = pmem_flush::init();
    println!("{selection}");
    println!();
    if !selection.is_durable() {
        println!("WARNING: this selection does not make data durable (see above)");
        println!();
    }

    #[cfg(feature = "std")]
    match pmem_flush::cross_check() {
        Ok(compared) if compared.is_empty() => {
            println!("cross-check with std: the standard library reports nothing to compare here")
        }
        Ok(compared) => println!(
            "cross-check with std: agrees on {compared:?} (both see {:?})",
            Cpu::detect().features.intersection(compared)
        ),
        Err(mismatch) => {
            println!("cross-check with std: DISAGREES: {mismatch}");
            failures += 1;
        }
    }
    #[cfg(not(feature = "std"))]
    println!("cross-check with std: not built (add --features std)");

    let mut check = |what: &str, ok: bool| {
        println!("  {what:<60} {}", if ok { "ok" } else { "FAILED" });
        failures += usize::from(!ok);
    };
    println!("self-check:");
    let pattern = |i: usize| (i * 31 + 7) as u8;
    let mut buf: Vec<u8> = (0..8192).map(pattern).collect();
    let intact = |buf: &[u8]| buf.iter().enumerate().all(|(i, b)| *b == pattern(i));

    for offset in 0..64 {
        pmem_flush::persist(&buf[offset..offset + 4096]);
    }
    check("persist at offsets 0..64, 4096 bytes each", intact(&buf));

    pmem_flush::flush(&buf[1..]);
    pmem_flush::drain();
    pmem_flush::deep_flush(&buf[..100]);
    check("flush + drain, deep_flush", intact(&buf));

    // SAFETY: `buf` is readable for its whole length; len == 0 needs nothing.
    unsafe {
        pmem_flush::get_persist_fn()(buf.as_ptr(), buf.len());
        pmem_flush::get_flush_fn()(buf.as_ptr().add(5), 0);
        pmem_flush::get_deep_flush_fn()(buf.as_ptr(), 100);
    }
    pmem_flush::get_drain_fn()();
    println!("executed: {}", pmem_flush::drainer().fence());
    check("function pointers", intact(&buf));

    // The value callers keep: the free functions' own flusher (environment overrides included)
    // and a freshly detected one, alone and as a pair with the drainer.
    let kept = pmem_flush::flusher();
    let fresh = Flusher::new(Config::new()).unwrap_or_else(NotDurable::accept);
    let drainer = fresh.drainer();
    for chunk in buf.chunks(1000) {
        fresh.flush(chunk);
    }
    drainer.drain();
    kept.persist(&buf);
    kept.persist_value(&[1u64, 2, 3]);
    let commit_word = std::sync::atomic::AtomicU64::new(0);
    kept.commit(&commit_word, 42);
    println!("  kept flusher: {kept}");
    check(
        "kept flusher: flush, drain, persist, persist_value, commit",
        intact(&buf) && commit_word.into_inner() == 42,
    );

    let byte = Flusher::new(Config::new().with_granularity(Granularity::Byte))
        .unwrap_or_else(NotDurable::accept);
    byte.persist(&buf);
    byte.deep_flush(&buf);
    check(
        "byte granularity: persist fences, deep_flush writes back",
        intact(&buf),
    );

    // Invalidation: what was written just before reads back unchanged after, through the free
    // functions, the kept and fresh flushers, the pointer, and at byte granularity (which
    // evicts too); then the concrete evicting type of this architecture between its fences.
    for (offset, len) in [(0, 8192), (1, 63), (63, 2), (100, 1), (4000, 159)] {
        buf[offset..offset + len]
            .iter_mut()
            .for_each(|b| *b = b.wrapping_add(1));
        pmem_flush::invalidate(&buf[offset..offset + len]);
        let ok = buf[offset..offset + len]
            .iter()
            .enumerate()
            .all(|(i, b)| *b == pattern(offset + i).wrapping_add(1));
        buf[offset..offset + len]
            .iter_mut()
            .for_each(|b| *b = b.wrapping_sub(1));
        check(
            &format!("invalidate {len} bytes at {offset}: written data intact"),
            ok,
        );
    }
    kept.invalidate(&buf);
    fresh.invalidate(&buf[5..]);
    byte.invalidate(&buf);
    pmem_flush::invalidate_value(&buf[..]);
    // SAFETY: `buf` is readable for its whole length; len == 0 needs nothing.
    unsafe {
        pmem_flush::get_invalidate_fn()(buf.as_ptr(), buf.len());
        pmem_flush::invalidate_raw(buf.as_ptr().add(9), 0);
    }
    check(
        &format!(
            "invalidate: {1}, {0}, {1}",
            selection.evict_write_back(),
            selection.invalidate_fence()
        ),
        intact(&buf),
    );
    if selection.evict_write_back() != WriteBack::None {
        println!("executed: {}", selection.evict_write_back());
    }
    println!("executed: {}", selection.invalidate_fence());

    #[cfg(target_arch = "x86_64")]
    {
        use pmem_flush::arch::x86_64::{Clflush, ClflushOpt, Clwb};
        let mut ran = Vec::new();
        if let Some(f) = Clwb::new() {
            f.flush(&buf);
            ran.push("clwb");
        }
        if let Some(f) = ClflushOpt::new() {
            f.flush(&buf);
            ran.push("clflushopt");
        }
        if let Some(f) = Clflush::new() {
            f.flush(&buf);
            ran.push("clflush");
        }
        pmem_flush::drain();
        check(
            &format!("concrete types this CPU has: {}", ran.join(", ")),
            intact(&buf),
        );
        for insn in ran {
            println!("executed: {insn}");
        }

        use pmem_flush::arch::x86_64::mfence;
        let mut evicted = Vec::new();
        if let Some(e) = ClflushOpt::new() {
            mfence();
            e.evict(&buf);
            mfence();
            evicted.push("clflushopt");
        }
        if let Some(e) = Clflush::new() {
            mfence();
            e.evict(&buf);
            mfence();
            evicted.push("clflush");
        }
        check(
            &format!("evicting types between MFENCEs: {}", evicted.join(", ")),
            intact(&buf),
        );
        // Every eviction above ran between two explicit `mfence()` calls.
        if !evicted.is_empty() {
            println!("executed: mfence");
        }
        for insn in evicted {
            println!("executed: {insn}");
        }
    }

    #[cfg(target_arch = "aarch64")]
    {
        use pmem_flush::arch::aarch64::{DcCvac, DcCvadp, DcCvap};
        let mut ran = Vec::new();
        if let Some(f) = DcCvadp::new() {
            f.flush(&buf);
            ran.push("dc cvadp");
        }
        if let Some(f) = DcCvap::new() {
            f.flush(&buf);
            ran.push("dc cvap");
        }
        if let Some(f) = DcCvac::new() {
            f.flush(&buf);
            ran.push("dc cvac");
        }
        if let Some(e) = pmem_flush::arch::aarch64::DcCivac::new() {
            pmem_flush::arch::aarch64::dsb_sy();
            e.evict(&buf);
            ran.push("dc civac");
        }
        pmem_flush::drain();
        check(
            &format!("concrete types this CPU has: {}", ran.join(", ")),
            intact(&buf),
        );
        for insn in ran {
            println!("executed: {insn}");
        }
    }

    #[cfg(target_arch = "powerpc64")]
    if let Some(e) = pmem_flush::arch::powerpc64::Dcbf::new() {
        use pmem_flush::arch::powerpc64::phwsync;
        phwsync();
        e.evict(&buf);
        phwsync();
        check("concrete type: dcbf between two phwsync", intact(&buf));
        println!("executed: dcbf");
    }

    #[cfg(target_arch = "powerpc64")]
    if let Some(f) = pmem_flush::arch::powerpc64::Dcbstps::new() {
        f.flush(&buf);
        pmem_flush::drain();
        check("concrete type: dcbstps", intact(&buf));
        // Builds for emulators (--cfg pmem_flush_pre_isa31_encodings) emit dcbf in its place.
        if cfg!(pmem_flush_pre_isa31_encodings) {
            println!("executed: dcbf");
        } else {
            println!("executed: dcbstps");
        }
    }

    // Persistent copies on every store path this CPU has: forced non-temporal, forced
    // ordinary, and the default choice by size; then the same with each narrower non-temporal
    // path the CPU also has (MOVDIR64B opted in, AVX-512F, AVX, SSE2, MOVNTI); and through a pair
    // of the kept flusher's halves (ordinary stores and one write-back per copy).
    let src: Vec<u8> = (0..5000).map(|i| pattern(i) ^ 0x5a).collect();
    let mut dst = vec![0u8; 5000];
    let mut copies_ok = true;
    let wide = Features::AVX512F | Features::AVX | Features::SSE2;
    let flusher_for = |config| Flusher::new(config).unwrap_or_else(NotDurable::accept);
    let mut paths = vec![flusher_for(Config::new().with_movdir64b(true))];
    for config in [
        Config::new(),
        Config::new().disable(Features::AVX512F),
        Config::new().disable(Features::AVX512F | Features::AVX),
        Config::new().disable(wide),
    ] {
        let c = flusher_for(config);
        if paths.iter().all(|p| p.non_temporal() != c.non_temporal()) {
            paths.push(c);
        }
    }
    for copier in paths {
        let mut ok_here = true;
        for flags in [MemFlags::empty(), MemFlags::NONTEMPORAL, MemFlags::TEMPORAL] {
            for (off, len) in [(0, 5000), (3, 4000), (7, 255), (8, 256), (1, 9)] {
                dst.fill(0);
                let ok = copier
                    .memcpy(&mut dst[off..off + len], &src[..len], flags)
                    .is_ok();
                ok_here &=
                    ok && dst[off..off + len] == src[..len] && dst[..off].iter().all(|&b| b == 0);
            }
        }
        let nt = copier.non_temporal();
        println!(
            "  copies with {:<48} {}",
            nt.mnemonic(),
            if ok_here { "ok" } else { "FAILED" }
        );
        copies_ok &= ok_here;
        let marker = match nt {
            NonTemporal::Movnti => "movnti",
            NonTemporal::Sse2 => "movntdq",
            NonTemporal::Avx => "vmovntdq ymm",
            NonTemporal::Avx512f => "vmovntdq zmm",
            NonTemporal::Movdir64b => "movdir64b",
            _ => "ordinary stores and write-backs",
        };
        println!("executed: {marker}");
    }
    let pair = (kept, kept.drainer());
    for flags in [MemFlags::empty(), MemFlags::NONTEMPORAL, MemFlags::TEMPORAL] {
        dst.fill(0);
        let ok = pair.memcpy(&mut dst[3..4003], &src[..4000], flags).is_ok();
        copies_ok &= ok && dst[3..4003] == src[..4000] && dst[..3].iter().all(|&b| b == 0);
    }
    pmem_flush::memset_persist(&mut dst[5..4005], 0xab);
    copies_ok &= dst[5..4005].iter().all(|&b| b == 0xab);
    let mut moved = dst.clone();
    moved.copy_within(0..4000, 3);
    pmem_flush::memmove_persist(&mut dst, 0..4000, 3).expect("in bounds");
    copies_ok &= dst == moved;
    check(
        &format!(
            "memcpy / memmove / memset ({})",
            kept.non_temporal().mnemonic()
        ),
        copies_ok,
    );

    buf[100] ^= 0xff;
    pmem_flush::persist(&buf[100..101]);
    check(
        "a changed byte persists and reads back changed",
        buf[100] == pattern(100) ^ 0xff,
    );

    if failures == 0 {
        println!("ok");
    } else {
        println!("{failures} check(s) FAILED");
        std::process::exit(1);
    }
}
