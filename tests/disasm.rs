//! Disassembly tests: the built code executes the instruction its type names, with nothing
//! left un-inlined on the flush path.
//!
//! Each probe below is a real function of this test binary; the test disassembles the binary
//! itself (`objdump`, or `$PMEM_FLUSH_OBJDUMP`) and inspects the probe's instructions. The test
//! profile is optimized (see Cargo.toml), as the code users ship is.

#![cfg(target_arch = "x86_64")]

use std::collections::HashMap;
use std::io::Write as _;
use std::process::Command;
use std::sync::OnceLock;

use pmem_flush::arch::x86_64::{Clflush, ClflushOpt, Clwb, Mfence, Sfence};
use pmem_flush::{Drain, Drainer, Evict, Flush, Flusher};

/// # Safety
/// The CPU has CLWB and the range is mapped.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe fn probe_clwb(p: *const u8, len: usize) {
    // SAFETY: the caller's contract.
    unsafe { Clwb::new_unchecked(64).flush_raw(p, len) }
}

/// # Safety
/// The CPU has CLFLUSHOPT and the range is mapped.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe fn probe_clflushopt(p: *const u8, len: usize) {
    // SAFETY: the caller's contract.
    unsafe { ClflushOpt::new_unchecked(64).flush_raw(p, len) }
}

/// # Safety
/// The range is mapped.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe fn probe_clflush(p: *const u8, len: usize) {
    // SAFETY: the caller's contract.
    unsafe { Clflush::new_unchecked(64).flush_raw(p, len) }
}

#[unsafe(no_mangle)]
#[inline(never)]
pub fn probe_sfence() {
    Sfence.drain()
}

#[unsafe(no_mangle)]
#[inline(never)]
pub fn probe_drainer(d: &Drainer) {
    d.drain()
}

/// # Safety
/// The range is mapped.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe fn probe_flusher(f: &Flusher, p: *const u8, len: usize) {
    // SAFETY: the caller's contract.
    unsafe { f.flush_raw(p, len) }
}

/// # Safety
/// The range is mapped.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe fn probe_free_flush(p: *const u8, len: usize) {
    // SAFETY: the caller's contract.
    unsafe { pmem_flush::flush_raw(p, len) }
}

/// # Safety
/// The range is mapped.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe fn probe_free_persist(p: *const u8, len: usize) {
    // SAFETY: the caller's contract.
    unsafe { pmem_flush::persist_raw(p, len) }
}

#[unsafe(no_mangle)]
#[inline(never)]
pub fn probe_free_drain() {
    pmem_flush::drain()
}

/// # Safety
/// The CPU has CLFLUSHOPT and the range is mapped.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe fn probe_evict_clflushopt(p: *const u8, len: usize) {
    // SAFETY: the caller's contract.
    unsafe { ClflushOpt::new_unchecked(64).evict_raw(p, len) }
}

/// # Safety
/// The range is mapped.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe fn probe_evict_clflush(p: *const u8, len: usize) {
    // SAFETY: the caller's contract.
    unsafe { Clflush::new_unchecked(64).evict_raw(p, len) }
}

#[unsafe(no_mangle)]
#[inline(never)]
pub fn probe_mfence() {
    Mfence.drain()
}

/// # Safety
/// The range is mapped.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe fn probe_flusher_invalidate(f: &Flusher, p: *const u8, len: usize) {
    // SAFETY: the caller's contract.
    unsafe { f.invalidate_raw(p, len) }
}

/// # Safety
/// The range is mapped.
#[unsafe(no_mangle)]
#[inline(never)]
pub unsafe fn probe_free_invalidate(p: *const u8, len: usize) {
    // SAFETY: the caller's contract.
    unsafe { pmem_flush::invalidate_raw(p, len) }
}

/// Keeps every probe in the binary and returns their run-time addresses by name.
fn probe_addresses() -> [(&'static str, usize); 14] {
    [
        ("probe_clwb", probe_clwb as unsafe fn(_, _) as usize),
        (
            "probe_clflushopt",
            probe_clflushopt as unsafe fn(_, _) as usize,
        ),
        ("probe_clflush", probe_clflush as unsafe fn(_, _) as usize),
        ("probe_sfence", probe_sfence as fn() as usize),
        ("probe_drainer", probe_drainer as fn(_) as usize),
        (
            "probe_flusher",
            probe_flusher as unsafe fn(_, _, _) as usize,
        ),
        (
            "probe_free_flush",
            probe_free_flush as unsafe fn(_, _) as usize,
        ),
        (
            "probe_free_persist",
            probe_free_persist as unsafe fn(_, _) as usize,
        ),
        ("probe_free_drain", probe_free_drain as fn() as usize),
        (
            "probe_evict_clflushopt",
            probe_evict_clflushopt as unsafe fn(_, _) as usize,
        ),
        (
            "probe_evict_clflush",
            probe_evict_clflush as unsafe fn(_, _) as usize,
        ),
        ("probe_mfence", probe_mfence as fn() as usize),
        (
            "probe_flusher_invalidate",
            probe_flusher_invalidate as unsafe fn(_, _, _) as usize,
        ),
        (
            "probe_free_invalidate",
            probe_free_invalidate as unsafe fn(_, _) as usize,
        ),
    ]
}

/// One disassembled function: its instructions as (mnemonic, operands).
#[derive(Debug, Default)]
struct Function {
    instructions: Vec<(String, String)>,
}

/// What the test binary holds: functions by start address, symbol addresses by name, and the
/// targets of GOT slots (calls from position-independent code go through them).
struct Binary {
    functions: HashMap<u64, Function>,
    names: HashMap<String, u64>,
    got: HashMap<u64, u64>,
}

impl Function {
    fn mnemonics(&self) -> Vec<&str> {
        self.instructions.iter().map(|(m, _)| m.as_str()).collect()
    }

    fn has(&self, mnemonic: &str) -> bool {
        self.instructions.iter().any(|(m, _)| m == mnemonic)
    }

    /// Names of the functions called or tail-called directly, or through a GOT slot. Calls
    /// through a register (the page hook) are not listed.
    fn direct_calls(&self) -> Vec<String> {
        let bin = binary();
        let mut calls = Vec::new();
        for (m, ops) in &self.instructions {
            if m != "call" && m != "jmp" {
                continue;
            }
            // "call 3a380 <pmem_flush::flush_raw>", "call QWORD PTR [rip+0x..] # dc6b8 <...>"
            // (a GOT slot: named when it holds an imported symbol such as memcpy@GLIBC)
            let target = if let Some((_, slot)) = ops.split_once("# ") {
                if let Some((_, name)) = slot.split_once('<')
                    && !name.starts_with("_DYNAMIC")
                    && !name.starts_with("_GLOBAL_OFFSET_TABLE_")
                {
                    calls.push(name.trim_end_matches('>').to_owned());
                    continue;
                }
                let slot = slot.split_whitespace().next().unwrap_or("");
                u64::from_str_radix(slot, 16)
                    .ok()
                    .and_then(|s| bin.got.get(&s).copied())
            } else if m == "call" || ops.ends_with('>') && !ops.contains('+') {
                ops.split_whitespace()
                    .next()
                    .and_then(|a| u64::from_str_radix(a, 16).ok())
            } else {
                None
            };
            if let Some(t) = target {
                calls.push(bin.name_at(t));
            }
        }
        calls
    }
}

impl Binary {
    fn name_at(&self, addr: u64) -> String {
        let mut names: Vec<&String> = self
            .names
            .iter()
            .filter(|(_, a)| **a == addr)
            .map(|(n, _)| n)
            .collect();
        names.sort();
        names
            .first()
            .map_or_else(|| format!("{addr:#x}"), |n| n.to_string())
    }
}

fn objdump() -> String {
    std::env::var("PMEM_FLUSH_OBJDUMP").unwrap_or_else(|_| "objdump".to_owned())
}

/// Whether `objdump` can be run. Without it these tests skip with a message, unless CI (or
/// `PMEM_FLUSH_REQUIRE_OBJDUMP=1`) requires them, where its absence fails the test.
fn objdump_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        let found = Command::new(objdump()).arg("--version").output().is_ok();
        let required = std::env::var_os("CI").is_some()
            || std::env::var("PMEM_FLUSH_REQUIRE_OBJDUMP").is_ok_and(|v| v == "1");
        assert!(
            found || !required,
            "{} not found: the disassembly tests need it (Debian package binutils)",
            objdump()
        );
        if !found {
            // Straight to the process's stderr: the test harness captures `eprintln!` of a
            // passing test, and this must be seen.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: {} not found, so the disassembly tests check nothing here \
                 (install binutils; CI=true or PMEM_FLUSH_REQUIRE_OBJDUMP=1 makes this a failure)",
                objdump()
            );
        }
        found
    })
}

/// Returns from the test (with the message above) when objdump cannot be run.
macro_rules! needs_objdump {
    () => {
        if !objdump_available() {
            return;
        }
    };
}

fn run_objdump(args: &[&str]) -> String {
    let exe = std::env::current_exe().expect("current_exe");
    let out = Command::new(objdump())
        .args(args)
        .arg(&exe)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e} (install binutils)", objdump()));
    assert!(
        out.status.success(),
        "objdump failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn binary() -> &'static Binary {
    static BINARY: OnceLock<Binary> = OnceLock::new();
    BINARY.get_or_init(|| {
        let mut names = HashMap::new();
        // "0000000000012340 g     F .text  0000000000000084 name"
        for line in run_objdump(&["-t", "-C"]).lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() >= 6
                && fields.contains(&"F")
                && let Ok(addr) = u64::from_str_radix(fields[0], 16)
            {
                let name = line.split_once(fields[4]).map_or("", |(_, n)| n).trim();
                // Local functions of other codegen units: "... .hidden name".
                let name = name.strip_prefix(".hidden ").unwrap_or(name);
                names.insert(name.to_owned(), addr);
            }
        }
        let mut got = HashMap::new();
        // "00000000000dc6b8 R_X86_64_RELATIVE  *ABS*+0x00000000000cb3d3"
        for line in run_objdump(&["-R"]).lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if let [slot, _, target] = fields[..] {
                let target = target.rsplit_once("+0x").map_or(target, |(_, t)| t);
                if let (Ok(s), Ok(t)) = (
                    u64::from_str_radix(slot, 16),
                    u64::from_str_radix(target, 16),
                ) {
                    got.insert(s, t);
                }
            }
        }
        let functions = parse(&run_objdump(&[
            "-d",
            "--no-show-raw-insn",
            "-M",
            "intel",
            "-C",
        ]));
        Binary {
            functions,
            names,
            got,
        }
    })
}

fn parse(text: &str) -> HashMap<u64, Function> {
    let mut all = HashMap::new();
    let mut current: Option<(u64, Function)> = None;
    for line in text.lines() {
        // "0000000000012340 <name>:" starts a function.
        if let Some((addr, _)) = line.strip_suffix(">:").and_then(|h| h.split_once(" <")) {
            if let Some((a, f)) = current.take() {
                all.insert(a, f);
            }
            current = u64::from_str_radix(addr.trim(), 16)
                .ok()
                .map(|a| (a, Function::default()));
            continue;
        }
        // "   12345:\tmnemonic operands" is one instruction.
        if let (Some((_, f)), Some((_, insn))) = (current.as_mut(), line.split_once(":\t")) {
            let insn = insn.trim();
            let (m, ops) = insn.split_once(' ').unwrap_or((insn, ""));
            f.instructions.push((m.to_owned(), ops.trim().to_owned()));
        }
    }
    if let Some((a, f)) = current {
        all.insert(a, f);
    }
    all
}

fn function(name: &str) -> &'static Function {
    let bin = binary();
    let addr = bin
        .names
        .get(name)
        .unwrap_or_else(|| panic!("no symbol {name}"));
    bin.functions
        .get(addr)
        .unwrap_or_else(|| panic!("{name} not in the disassembly"))
}

/// The function whose code starts at run-time address `addr`, found through the load offset
/// of a known probe (the binary is position independent).
fn function_at(addr: usize) -> (String, &'static Function) {
    let bin = binary();
    let (name, runtime) = probe_addresses()[0];
    let bias = runtime as u64 - bin.names[name];
    let file_addr = addr as u64 - bias;
    let f = bin
        .functions
        .get(&file_addr)
        .unwrap_or_else(|| panic!("no function at {addr:#x}"));
    (bin.name_at(file_addr), f)
}

#[test]
fn concrete_flushers_emit_their_instruction_and_nothing_else() {
    needs_objdump!();
    std::hint::black_box(probe_addresses());
    for (probe, insn, others) in [
        ("probe_clwb", "clwb", ["clflushopt", "clflush"]),
        ("probe_clflushopt", "clflushopt", ["clwb", "clflush"]),
        ("probe_clflush", "clflush", ["clwb", "clflushopt"]),
        // The same types as evictions: the same bare loop, no fence of either kind.
        ("probe_evict_clflushopt", "clflushopt", ["clwb", "clflush"]),
        ("probe_evict_clflush", "clflush", ["clwb", "clflushopt"]),
    ] {
        let f = function(probe);
        assert!(f.has(insn), "{probe} lacks {insn}: {:?}", f.mnemonics());
        for other in others {
            assert!(!f.has(other), "{probe} has {other}: {:?}", f.mnemonics());
        }
        assert!(
            !f.has("sfence") && !f.has("mfence"),
            "a flush or an eviction does not fence: {:?}",
            f.mnemonics()
        );
        assert!(
            f.direct_calls().is_empty(),
            "{probe} calls {:?}",
            f.direct_calls()
        );
        assert!(!f.has("call"), "{probe}: {:?}", f.mnemonics());
    }
}

/// Whether an instruction orders memory the way a fence does: the fences themselves,
/// `lock`-prefixed read-modify-writes, `xchg` with a memory operand (implicitly locked), and the
/// serialising instructions (Intel SDM Vol. 3A, 10.3 "Serializing Instructions").
fn is_fence_like(mnemonic: &str, operands: &str) -> bool {
    const SERIALISING: [&str; 17] = [
        "cpuid",
        "serialize",
        "iret",
        "iretd",
        "iretq",
        "rsm",
        "wrmsr",
        "invd",
        "wbinvd",
        "wbnoinvd",
        "lgdt",
        "lidt",
        "lldt",
        "ltr",
        "invlpg",
        "invpcid",
        "hreset",
    ];
    matches!(mnemonic, "mfence" | "lfence" | "sfence")
        || mnemonic == "lock"
        || mnemonic.starts_with("lock ")
        || (mnemonic == "xchg" && operands.contains('['))
        || SERIALISING.contains(&mnemonic)
        // Moves to control and debug registers serialise too.
        || (mnemonic == "mov" && (operands.starts_with("cr") || operands.starts_with("dr")))
}

#[test]
fn fence_recognition_covers_every_form() {
    for (m, ops) in [
        ("mfence", ""),
        ("lfence", ""),
        ("sfence", ""),
        ("lock", "or DWORD PTR [rsp],0x0"),
        ("xchg", "QWORD PTR [rip+0x10],rax"),
        ("cpuid", ""),
        ("serialize", ""),
        ("mov", "cr3,rax"),
    ] {
        assert!(is_fence_like(m, ops), "{m} {ops}");
    }
    for (m, ops) in [
        ("mov", "rax,QWORD PTR [rdi]"),
        ("xchg", "rax,rdx"),
        ("ret", ""),
    ] {
        assert!(!is_fence_like(m, ops), "{m} {ops}");
    }
}

/// Checks that `probe` is one bare fence: exactly one fence-like instruction, `fence`, and
/// nothing else but the return and padding (no compare, no branch, no call).
fn assert_bare_fence(probe: &str, fence: &str) {
    let f = function(probe);
    let fences: Vec<&(String, String)> = f
        .instructions
        .iter()
        .filter(|(m, ops)| is_fence_like(m, ops))
        .collect();
    assert_eq!(fences.len(), 1, "{probe}: {:?}", f.instructions);
    assert_eq!(fences[0].0, fence, "{probe}: {:?}", f.instructions);
    assert!(
        f.instructions.iter().all(|(m, ops)| m == fence
            || matches!(m.as_str(), "ret" | "endbr64")
            || is_padding(m, ops)),
        "{probe}: {:?}",
        f.instructions
    );
}

#[test]
fn drains_are_one_sfence() {
    needs_objdump!();
    std::hint::black_box(probe_addresses());
    for probe in ["probe_sfence", "probe_drainer", "probe_free_drain"] {
        assert_bare_fence(probe, "sfence");
    }
}

#[test]
fn mfence_type_is_one_mfence() {
    needs_objdump!();
    std::hint::black_box(probe_addresses());
    assert_bare_fence("probe_mfence", "mfence");
}

/// Alignment padding after a function's last instruction, as assemblers emit it: `nop` in its
/// forms (objdump's Intel syntax shows the prefixed ones as `cs nop ...` or `data16 ...`),
/// `xchg ax,ax` (the 2-byte `66 90`) and `int3`.
fn is_padding(mnemonic: &str, operands: &str) -> bool {
    match mnemonic {
        "nop" | "int3" => true,
        "cs" | "ds" | "data16" => operands.contains("nop") || operands.starts_with("cs"),
        "xchg" => operands.replace(' ', "") == "ax,ax",
        _ => false,
    }
}

#[test]
fn padding_is_recognised_and_nothing_else() {
    for (m, ops) in [
        ("nop", ""),
        ("nop", "DWORD PTR [rax+0x0]"),
        ("cs", "nop WORD PTR [rax+rax*1+0x0]"),
        ("data16", "cs nop WORD PTR [rax+rax*1+0x0]"),
        ("xchg", "ax,ax"),
        ("int3", ""),
    ] {
        assert!(is_padding(m, ops), "{m} {ops}");
    }
    for (m, ops) in [
        ("xchg", "rax,rdx"),
        ("xchg", "QWORD PTR [rip+0x10],rax"),
        ("cs", "mov rax,QWORD PTR [rip+0x10]"),
        ("cmp", "eax,0x1"),
        ("lock", "or DWORD PTR [rsp-0x40],0x0"),
    ] {
        assert!(!is_padding(m, ops), "{m} {ops}");
    }
}

/// The fence-like instructions of `instructions` and the write-backs, in order, by mnemonic:
/// the shape of an invalidation ("mfence", the evictions, "mfence").
fn fences_and_write_backs(instructions: &[(String, String)]) -> Vec<&str> {
    instructions
        .iter()
        .filter(|(m, ops)| {
            is_fence_like(m, ops) || matches!(m.as_str(), "clwb" | "clflushopt" | "clflush")
        })
        .map(|(m, _)| m.as_str())
        .collect()
}

/// Checks an invalidation path: it evicts with CLFLUSHOPT and CLFLUSH (dispatched), never CLWB;
/// its only fences are MFENCEs, one before every eviction and one after (the last fence before
/// every return is an MFENCE, and so is the first fence); nothing drains with SFENCE.
fn assert_invalidation(name: &str, instructions: &[(String, String)]) {
    let m: Vec<&str> = instructions.iter().map(|(m, _)| m.as_str()).collect();
    for insn in ["clflushopt", "clflush"] {
        assert!(m.contains(&insn), "{name} lacks {insn}: {m:?}");
    }
    assert!(!m.contains(&"clwb"), "{name} may keep the line: {m:?}");
    assert!(!m.contains(&"sfence"), "{name}: {m:?}");
    let shape = fences_and_write_backs(instructions);
    let fences: Vec<&&str> = shape
        .iter()
        .filter(|m| !matches!(**m, "clflushopt" | "clflush"))
        .collect();
    assert!(
        fences.iter().all(|f| **f == "mfence"),
        "{name}: only MFENCE orders an invalidation: {shape:?}"
    );
    assert_eq!(shape.first(), Some(&"mfence"), "{name}: {shape:?}");
    assert_eq!(shape.last(), Some(&"mfence"), "{name}: {shape:?}");
    // Every return is reached through an MFENCE after the last eviction.
    for (i, _) in m.iter().enumerate().filter(|(_, x)| **x == "ret") {
        let before = fences_and_write_backs(&instructions[..i]);
        assert_eq!(before.last(), Some(&"mfence"), "{name}: {m:?}");
    }
}

#[test]
fn invalidation_paths_evict_between_mfences_and_never_use_clwb() {
    needs_objdump!();
    std::hint::black_box(probe_addresses());
    let f = function("probe_flusher_invalidate");
    assert_invalidation("probe_flusher_invalidate", &f.instructions);
    assert!(f.direct_calls().is_empty(), "{:?}", f.direct_calls());

    // The free function: the cell's word, the dispatch inlined, only the cold first-use
    // detection called.
    let (_, calls) = with_entry_points("probe_free_invalidate");
    let free = function("pmem_flush::invalidate_raw");
    assert_invalidation("pmem_flush::invalidate_raw", &free.instructions);
    assert!(
        calls.iter().all(|c| c.contains("detect_and_store")),
        "invalidate calls more than the cold first-use detection: {calls:?}"
    );
}

#[test]
fn detected_flusher_dispatches_to_all_three_inline() {
    needs_objdump!();
    std::hint::black_box(probe_addresses());
    let f = function("probe_flusher");
    for insn in ["clwb", "clflushopt", "clflush"] {
        assert!(
            f.has(insn),
            "probe_flusher lacks {insn}: {:?}",
            f.mnemonics()
        );
    }
    // Only the page hook may be called, and only through a register or memory operand.
    assert!(f.direct_calls().is_empty(), "{:?}", f.direct_calls());
}

/// The instructions of `name` and of the crate's entry points it calls directly (the compiler
/// may keep `#[inline]` entry points such as `flush_raw` out of line); and the direct calls
/// left after following those.
fn with_entry_points(name: &str) -> (Vec<String>, Vec<String>) {
    let mut mnemonics = Vec::new();
    let mut calls = Vec::new();
    let mut pending = vec![name.to_owned()];
    while let Some(n) = pending.pop() {
        let f = function(&n);
        mnemonics.extend(f.mnemonics().into_iter().map(str::to_owned));
        for target in f.direct_calls() {
            let public_entry =
                target.starts_with("pmem_flush::") && target.matches("::").count() == 1;
            if public_entry && target != n {
                pending.push(target);
            } else {
                calls.push(target);
            }
        }
    }
    (mnemonics, calls)
}

#[test]
fn free_functions_inline_the_loops_and_call_only_the_cold_detection() {
    needs_objdump!();
    std::hint::black_box(probe_addresses());
    for probe in ["probe_free_flush", "probe_free_persist"] {
        let (mnemonics, calls) = with_entry_points(probe);
        for insn in ["clwb", "clflushopt", "clflush"] {
            assert!(
                mnemonics.iter().any(|m| m == insn),
                "{probe} lacks {insn}: {mnemonics:?}"
            );
        }
        assert!(
            calls.iter().all(|c| c.contains("detect_and_store")),
            "{probe} calls more than the cold first-use detection: {calls:?}"
        );
        assert_eq!(calls.len(), 1, "{calls:?}");
        let fences = mnemonics.iter().filter(|m| *m == "sfence").count();
        assert_eq!(
            fences,
            usize::from(probe == "probe_free_persist"),
            "{probe}: {mnemonics:?}"
        );
    }
}

#[test]
fn function_pointers_are_specialised_to_the_detected_instruction() {
    needs_objdump!();
    std::hint::black_box(probe_addresses());
    let sel = pmem_flush::selection();
    let chosen = sel.flush_write_back().mnemonic();
    let (name, flush) = function_at(pmem_flush::get_flush_fn() as usize);
    assert!(
        flush.has(chosen),
        "{name} lacks {chosen}: {:?}",
        flush.mnemonics()
    );
    assert!(!flush.has("sfence"), "{name}: {:?}", flush.mnemonics());
    for other in ["clwb", "clflushopt", "clflush"]
        .into_iter()
        .filter(|m| *m != chosen)
    {
        assert!(
            !flush.has(other),
            "{name} still dispatches: {:?}",
            flush.mnemonics()
        );
    }
    assert!(
        flush.direct_calls().is_empty(),
        "{name}: {:?}",
        flush.direct_calls()
    );

    let (name, persist) = function_at(pmem_flush::get_persist_fn() as usize);
    assert!(
        persist.has(chosen) && persist.has("sfence"),
        "{name}: {:?}",
        persist.mnemonics()
    );
    assert!(
        persist.direct_calls().is_empty(),
        "{name}: {:?}",
        persist.direct_calls()
    );

    let evict = sel.evict_write_back().mnemonic();
    let (name, invalidate) = function_at(pmem_flush::get_invalidate_fn() as usize);
    assert!(
        invalidate.has(evict),
        "{name} lacks {evict}: {:?}",
        invalidate.mnemonics()
    );
    assert_eq!(
        fences_and_write_backs(&invalidate.instructions)
            .into_iter()
            .filter(|m| *m != evict)
            .collect::<Vec<_>>(),
        ["mfence", "mfence"],
        "{name}: {:?}",
        invalidate.mnemonics()
    );
    for other in ["clwb", "clflushopt", "clflush", "sfence"]
        .into_iter()
        .filter(|m| *m != evict)
    {
        assert!(
            !invalidate.has(other),
            "{name} has {other}: {:?}",
            invalidate.mnemonics()
        );
    }
    assert!(
        invalidate.direct_calls().is_empty(),
        "{name}: {:?}",
        invalidate.direct_calls()
    );

    let (name, drain) = function_at(pmem_flush::get_drain_fn() as usize);
    assert!(
        drain.has("sfence") && !drain.has("call"),
        "{name}: {:?}",
        drain.mnemonics()
    );
}

/// The copy paths' entry points, by symbol.
const COPY_PATHS: [(&str, &str); 10] = [
    ("pmem_flush::mem::x86_64::memmove_movnti", "movnti"),
    ("pmem_flush::mem::x86_64::memset_movnti", "movnti"),
    ("pmem_flush::mem::x86_64::memmove_sse2", "movntdq"),
    ("pmem_flush::mem::x86_64::memset_sse2", "movntdq"),
    ("pmem_flush::mem::x86_64::memmove_avx", "vmovntdq"),
    ("pmem_flush::mem::x86_64::memset_avx", "vmovntdq"),
    ("pmem_flush::mem::x86_64::memmove_avx512f", "vmovntdq"),
    ("pmem_flush::mem::x86_64::memset_avx512f", "vmovntdq"),
    ("pmem_flush::mem::x86_64::memmove_movdir64b", "movdir64b"),
    ("pmem_flush::mem::x86_64::memset_movdir64b", "movdir64b"),
];

/// Keeps every copy path in the binary: the free functions with flags reach all of them.
fn keep_copy_code() {
    std::hint::black_box(pmem_flush::get_memmove_fn());
    std::hint::black_box(pmem_flush::memmove_raw as unsafe fn(_, _, _, _) -> _);
    std::hint::black_box(pmem_flush::memset_raw as unsafe fn(_, _, _, _) -> _);
}

/// Whether any operand names a register of this width ("ymm", "zmm", "xmm").
fn uses_registers(f: &Function, class: &str) -> bool {
    f.instructions.iter().any(|(_, ops)| ops.contains(class))
}

#[test]
fn copy_paths_use_their_stores_and_call_no_libc_copy() {
    needs_objdump!();
    keep_copy_code();
    let mut buf = [0u8; 256];
    pmem_flush::memset_persist(&mut buf, 1);
    for (name, store) in COPY_PATHS {
        let f = function(name);
        assert!(f.has(store), "{name} lacks {store}: {:?}", f.mnemonics());
        // Nothing but the crate's own code (no libc memcpy, no core helper left out of line);
        // only overflow-check panics, which a correct copy never reaches, are allowed.
        for call in f.direct_calls() {
            assert!(
                call.contains("panic") || call.starts_with("pmem_flush::mem::words::"),
                "{name} calls {call}"
            );
        }
    }
}

/// The temporal paths' whole-line vector stores (x86-64 builds with SSE), by symbol, with the
/// width their stores name.
const TEMPORAL_PATHS: [(&str, &str); 6] = [
    (
        "pmem_flush::mem::x86_64::memmove_temporal_sse2",
        "XMMWORD PTR",
    ),
    (
        "pmem_flush::mem::x86_64::memset_temporal_sse2",
        "XMMWORD PTR",
    ),
    (
        "pmem_flush::mem::x86_64::memmove_temporal_avx",
        "YMMWORD PTR",
    ),
    (
        "pmem_flush::mem::x86_64::memset_temporal_avx",
        "YMMWORD PTR",
    ),
    (
        "pmem_flush::mem::x86_64::memmove_temporal_avx512f",
        "ZMMWORD PTR",
    ),
    (
        "pmem_flush::mem::x86_64::memset_temporal_avx512f",
        "ZMMWORD PTR",
    ),
];

/// The aligned word loops (src/mem/words.rs): every ordinary store of an 8-byte-aligned copy
/// of a multiple of 8 bytes on the general-purpose paths.
const WORD_LOOPS: [&str; 3] = [
    "pmem_flush::mem::words::copy_forward",
    "pmem_flush::mem::words::copy_backward",
    "pmem_flush::mem::words::fill",
];

/// The function named `name`, or a copy of it with a suffix the compiler added
/// (`name.llvm.123`).
fn function_like(name: &str) -> (&'static str, &'static Function) {
    let bin = binary();
    let mut found: Vec<&String> = bin
        .names
        .keys()
        .filter(|n| *n == name || n.starts_with(&format!("{name}.")))
        .collect();
    found.sort();
    let n = found
        .first()
        .unwrap_or_else(|| panic!("no symbol {name} (or {name}.*)"));
    (n.as_str(), function(n))
}

/// Whether an instruction (Intel syntax) stores fewer than 8 bytes: a memory destination of 1,
/// 2 or 4 bytes, for any instruction that writes its first operand (reads such as `cmp` and
/// `test`, the cache-line instructions and padding `nop`s do not store).
fn narrow_store(m: &str, ops: &str) -> bool {
    let reads_only = matches!(m, "cmp" | "test" | "bt" | "clwb" | "clflush" | "clflushopt")
        || m.starts_with("prefetch")
        || m.contains("nop");
    !reads_only
        && ["BYTE PTR", "WORD PTR", "DWORD PTR"]
            .iter()
            .any(|w| ops.starts_with(w))
}

/// Whether an instruction stores 8 bytes or more to memory.
fn wide_store(m: &str, ops: &str) -> bool {
    (m.starts_with("mov") || m.starts_with("vmov"))
        && ["QWORD PTR", "XMMWORD PTR", "YMMWORD PTR", "ZMMWORD PTR"]
            .iter()
            .any(|w| ops.starts_with(w))
}

#[test]
fn aligned_word_loops_store_8_bytes_or_more_and_the_copies_call_them() {
    needs_objdump!();
    keep_copy_code();
    let mut buf = [0u8; 256];
    pmem_flush::memset_persist(&mut buf, 1);
    for name in WORD_LOOPS {
        let (symbol, f) = function_like(name);
        let narrow: Vec<&(String, String)> = f
            .instructions
            .iter()
            .filter(|(m, ops)| narrow_store(m, ops))
            .collect();
        assert!(
            narrow.is_empty(),
            "{symbol} stores fewer than 8 bytes: {narrow:?}"
        );
        assert!(
            f.instructions
                .iter()
                .any(|(m, ops)| wide_store(m, ops) && ops.starts_with("QWORD PTR [")),
            "{symbol} makes no 8-byte store: {:?}",
            f.instructions
        );
        // No memset / memcpy, no helper: the loop itself.
        assert!(
            f.direct_calls().is_empty(),
            "{symbol} calls {:?}",
            f.direct_calls()
        );
        for width in ["xmm", "ymm", "zmm"] {
            assert!(
                !uses_registers(f, width),
                "{symbol} uses {width}: {:?}",
                f.instructions
            );
        }
    }
    // The copy paths reach them: their partial lines go through the word loops.
    let movnti = [
        "pmem_flush::mem::x86_64::memmove_movnti",
        "pmem_flush::mem::x86_64::memset_movnti",
    ];
    for path in movnti
        .into_iter()
        .chain(TEMPORAL_PATHS.map(|(name, _)| name))
    {
        let calls = function(path).direct_calls();
        assert!(
            calls
                .iter()
                .any(|c| c.starts_with("pmem_flush::mem::words::")),
            "{path} calls no word loop: {calls:?}"
        );
    }
}

/// The temporal paths of builds with SSE store whole lines with their vector set's ordinary
/// (not non-temporal) stores and write them back with the selected instruction.
#[test]
fn temporal_vector_paths_use_their_stores_and_write_back() {
    needs_objdump!();
    keep_copy_code();
    for (name, width) in TEMPORAL_PATHS {
        let f = function(name);
        assert!(
            f.instructions
                .iter()
                .any(|(m, ops)| m.contains("mov") && ops.starts_with(width)),
            "{name} stores no {width}: {:?}",
            f.mnemonics()
        );
        assert!(
            !f.has("movntdq") && !f.has("vmovntdq") && !f.has("movnti"),
            "{name}"
        );
        for insn in ["clwb", "clflushopt", "clflush"] {
            assert!(f.has(insn), "{name} lacks {insn}: {:?}", f.mnemonics());
        }
        for call in f.direct_calls() {
            assert!(
                call.contains("panic") || call.starts_with("pmem_flush::mem::words::"),
                "{name} calls {call}"
            );
        }
    }
}

#[test]
fn avx_code_ends_in_vzeroupper() {
    needs_objdump!();
    keep_copy_code();
    for name in COPY_PATHS
        .iter()
        .chain(TEMPORAL_PATHS.iter())
        .map(|(n, _)| *n)
        .filter(|n| n.contains("avx"))
    {
        let f = function(name);
        let m = f.mnemonics();
        let width = if name.contains("avx512f") {
            "zmm"
        } else {
            "ymm"
        };
        assert!(uses_registers(f, width), "{name} should use {width}: {m:?}");
        // Every return is preceded by a vzeroupper (ignoring stack-restoring pops).
        for (i, _) in m.iter().enumerate().filter(|(_, x)| **x == "ret") {
            let before = m[..i]
                .iter()
                .rev()
                .find(|x| !matches!(**x, "pop" | "add" | "mov" | "lea"));
            assert_eq!(before, Some(&"vzeroupper"), "{name}: {m:?}");
        }
    }
}

/// The MOVNTI and MOVDIR64B paths keep to general-purpose registers in every build, this one
/// (with SSE) included: no xmm, ymm or zmm register in them or in the word loops they call.
#[test]
fn movdir64b_and_movnti_paths_touch_no_vector_registers() {
    needs_objdump!();
    keep_copy_code();
    for name in COPY_PATHS
        .iter()
        .map(|(n, _)| *n)
        .filter(|n| n.contains("movdir64b") || n.contains("movnti"))
    {
        let f = function(name);
        let mut checked = vec![(name.to_owned(), f)];
        for call in f.direct_calls() {
            if call.starts_with("pmem_flush::") {
                checked.push((call.clone(), function(&call)));
            }
        }
        for (n, g) in checked {
            for width in ["xmm", "ymm", "zmm"] {
                assert!(
                    !uses_registers(g, width),
                    "{n} (from {name}) uses {width}: {:?}",
                    g.instructions
                );
            }
            assert!(!g.has("vzeroupper"), "{n}");
        }
    }
}

/// After the first use, the free functions read their selection with one load: a RIP-relative
/// load of the cell itself (no GOT slot to load first), then straight to the write-back loop.
#[test]
fn free_functions_read_the_cell_with_one_load() {
    needs_objdump!();
    std::hint::black_box(probe_addresses());
    for name in ["pmem_flush::flush_raw", "pmem_flush::persist_raw"] {
        let f = function(name);
        let hot: Vec<&(String, String)> = f
            .instructions
            .iter()
            .take_while(|(m, _)| {
                !matches!(m.as_str(), "clwb" | "clflushopt" | "clflush" | "sfence")
            })
            .collect();
        let loads: Vec<&&(String, String)> = hot
            .iter()
            .filter(|(m, ops)| {
                ops.contains("PTR [") && !matches!(m.as_str(), "lea" | "nop" | "data16" | "cs")
            })
            .collect();
        assert_eq!(
            loads.len(),
            1,
            "{name} before its first write-back: {hot:?}"
        );
        assert!(
            loads[0].1.contains("<pmem_flush::cell::GLOBAL>"),
            "{name} loads {:?}, not the cell directly",
            loads[0]
        );
        // The invalidation added nothing to the flush paths.
        assert!(!f.has("mfence"), "{name}: {:?}", f.mnemonics());
    }
}
