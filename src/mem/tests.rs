//! Copy tests: the choice table, every store path against `core::ptr::copy` / `fill`, fence
//! placement, and the 8-byte store promise.

use super::*;
use crate::Config;
use crate::Selection;
use crate::arch::trace::{Step, record};
use crate::features::{Cpu, Features};
use crate::selection::Fence;
use std::vec::Vec;
use std::{format, println, vec};

const T: Stores = Stores::TemporalWriteBack;
const NOFL: Stores = Stores::Temporal;

fn nt(p: NonTemporal) -> Stores {
    Stores::NonTemporal(p)
}

/// The table from libpmem's documentation (t = temporal, nt = non-temporal), threshold 256:
/// rows of flags, columns BYTE 128 B, BYTE 1024 B, CACHE_LINE 128 B, CACHE_LINE 1024 B.
#[test]
fn libpmem_choice_table() {
    use MemFlags as F;
    let p = NonTemporal::Avx;
    let (t_eadr, nt_) = (NOFL, nt(p));
    let rows: [(MemFlags, [Stores; 4]); 8] = [
        (F::empty(), [t_eadr, t_eadr, T, nt_]),
        (F::NONTEMPORAL, [nt_, nt_, nt_, nt_]),
        (F::TEMPORAL, [t_eadr, t_eadr, T, T]),
        (F::NONTEMPORAL | F::TEMPORAL, [nt_, nt_, nt_, nt_]),
        (F::WC, [t_eadr, t_eadr, nt_, nt_]),
        (F::WB, [t_eadr, t_eadr, T, T]),
        (F::NOFLUSH, [NOFL, NOFL, NOFL, NOFL]),
        (F::all(), [NOFL, NOFL, NOFL, NOFL]),
    ];
    let columns = [
        (Granularity::Byte, 128),
        (Granularity::Byte, 1024),
        (Granularity::CacheLine, 128),
        (Granularity::CacheLine, 1024),
    ];
    for (flags, expected) in rows {
        for ((granularity, len), want) in columns.into_iter().zip(expected) {
            let plan = choose(flags, len, granularity, 256, p);
            assert_eq!(plan.stores, want, "{flags:?} {granularity:?} {len}");
        }
    }
}

/// Bits outside libpmem's six flags (from `MemFlags::from_bits_retain`) change nothing: the
/// plan is the one of the known bits alone, as libpmem's release builds ignore them too.
#[test]
fn unknown_flag_bits_are_ignored() {
    for bits in 0..64u32 {
        let known = MemFlags::from_bits_truncate(bits);
        for extra in [1 << 6, 1 << 20, 1 << 31, !63] {
            let flags = MemFlags::from_bits_retain(bits | extra);
            assert_ne!(flags.bits(), known.bits());
            for granularity in [Granularity::Byte, Granularity::CacheLine] {
                for nt in [NonTemporal::None, NonTemporal::Sse2] {
                    for len in [0, 8, 255, 256, 4096] {
                        assert_eq!(
                            choose(flags, len, granularity, 256, nt),
                            choose(known, len, granularity, 256, nt),
                            "{flags:?} {granularity:?} {nt:?} {len}"
                        );
                    }
                }
            }
        }
    }
}

/// The rule, restated as a decision table over the flags that matter, for every one of the 64
/// flag combinations, below / at / above the threshold, thresholds 0, 256 and never, both
/// granularities, with and without non-temporal stores available.
#[test]
fn all_flag_combinations() {
    let mut cases = 0;
    for bits in 0..64u32 {
        let flags = MemFlags::from_bits_truncate(bits);
        let noflush = bits & 32 != 0;
        let wants_nt = bits & (2 | 8) != 0;
        let wants_t = bits & (4 | 16) != 0;
        for threshold in [0usize, 256, usize::MAX] {
            for len in [
                threshold.saturating_sub(1).max(1),
                threshold.max(1),
                threshold.saturating_add(1),
            ] {
                for granularity in [Granularity::CacheLine, Granularity::Byte] {
                    for p in [NonTemporal::Avx512f, NonTemporal::None] {
                        let plan = choose(flags, len, granularity, threshold, p);
                        let by_size = len >= threshold;
                        let want_nt = match granularity {
                            Granularity::CacheLine => {
                                !noflush && (wants_nt || (!wants_t && by_size))
                            }
                            Granularity::Byte => !noflush && bits & 2 != 0,
                        };
                        let want = match (want_nt, p, granularity, noflush) {
                            (true, NonTemporal::None, Granularity::CacheLine, _) => T,
                            (true, NonTemporal::None, Granularity::Byte, _) => NOFL,
                            (true, p, _, _) => nt(p),
                            (false, _, Granularity::Byte, _) | (false, _, _, true) => NOFL,
                            (false, _, Granularity::CacheLine, false) => T,
                        };
                        assert_eq!(
                            plan.stores, want,
                            "{flags:?} len {len} thr {threshold} {granularity:?} {p:?}"
                        );
                        assert_eq!(plan.drain, bits & (1 | 32) == 0, "{flags:?}");
                        cases += 1;
                    }
                }
            }
        }
    }
    println!("choice cases: {cases}");
    assert_eq!(cases, 64 * 3 * 3 * 2 * 2);
}

#[test]
fn threshold_edges() {
    let at = |len, threshold| {
        choose(
            MemFlags::empty(),
            len,
            Granularity::CacheLine,
            threshold,
            NonTemporal::Sse2,
        )
        .stores
    };
    assert_eq!(
        at(1, 0),
        nt(NonTemporal::Sse2),
        "threshold 0: always non-temporal"
    );
    assert_eq!(at(usize::MAX - 1, usize::MAX), T, "threshold never");
    assert_eq!(
        at(256, 256),
        nt(NonTemporal::Sse2),
        "len == threshold is non-temporal"
    );
    assert_eq!(at(255, 256), T);
}

/// The non-temporal paths this CPU can run, plus "none".
fn host_paths() -> Vec<NonTemporal> {
    let f = Cpu::detect().features;
    let mut paths = vec![NonTemporal::None, NonTemporal::Movnti];
    if cfg!(target_arch = "x86_64") {
        for (feature, path) in [
            (Features::SSE2, NonTemporal::Sse2),
            (Features::AVX, NonTemporal::Avx),
            (Features::AVX512F, NonTemporal::Avx512f),
            (Features::MOVDIR64B, NonTemporal::Movdir64b),
        ] {
            if f.contains(feature) {
                paths.push(path);
            }
        }
    } else {
        paths.retain(|p| *p == NonTemporal::None);
    }
    paths
}

/// A flusher's copy settings, spelled out so that tests can force each one (the fields of the
/// `Copier` type these tests were written for, since folded into `Flusher`).
#[derive(Clone, Copy)]
struct CopyPaths {
    threshold: usize,
    write_back: WriteBack,
    nt: NonTemporal,
    line_shift: u8,
    granularity: Granularity,
}

impl CopyPaths {
    fn new(config: Config) -> CopyPaths {
        let sel = Selection::detect(config);
        CopyPaths {
            threshold: config.nt_threshold(),
            write_back: sel.flush_write_back(),
            nt: sel.non_temporal(),
            line_shift: sel.line_shift(),
            granularity: config.granularity(),
        }
    }

    /// The flusher with exactly these settings.
    fn flusher(&self) -> Flusher {
        Flusher::from_parts(
            self.write_back,
            self.line_shift,
            self.granularity,
            self.nt,
            self.threshold,
        )
    }

    unsafe fn memmove_raw(&self, dst: *mut u8, src: *const u8, len: usize, f: MemFlags) -> *mut u8 {
        // SAFETY: the caller's contract.
        unsafe { self.flusher().memmove_raw(dst, src, len, f) }
    }

    unsafe fn memcpy_raw(&self, dst: *mut u8, src: *const u8, len: usize, f: MemFlags) -> *mut u8 {
        // SAFETY: the caller's contract.
        unsafe { self.flusher().memmove_raw(dst, src, len, f) }
    }

    unsafe fn memset_raw(&self, dst: *mut u8, value: u8, len: usize, f: MemFlags) -> *mut u8 {
        // SAFETY: the caller's contract.
        unsafe { self.flusher().memset_raw(dst, value, len, f) }
    }

    fn memcpy(&self, dst: &mut [u8], src: &[u8], f: MemFlags) -> Result<(), CopyError> {
        self.flusher().memcpy(dst, src, f)
    }

    fn memmove_within(
        &self,
        buf: &mut [u8],
        src: core::ops::Range<usize>,
        dest: usize,
        f: MemFlags,
    ) -> Result<(), CopyError> {
        self.flusher().memmove(buf, src, dest, f)
    }

    fn memset(&self, dst: &mut [u8], value: u8, f: MemFlags) {
        self.flusher().memset(dst, value, f)
    }
}

/// The detected copier with its non-temporal path forced to `p` and threshold 0 (so every
/// unflagged copy takes the non-temporal path).
fn copier_with(p: NonTemporal) -> CopyPaths {
    CopyPaths {
        nt: p,
        threshold: 0,
        ..CopyPaths::new(Config::new())
    }
}

/// Flag sets that reach every store path.
const FLAG_SETS: [MemFlags; 5] = [
    MemFlags::empty(),
    MemFlags::NONTEMPORAL,
    MemFlags::TEMPORAL,
    MemFlags::NOFLUSH,
    MemFlags::NODRAIN,
];

/// Lines a recorded trace wrote back, with any write-back instruction.
fn lines_written_back(steps: &[Step]) -> usize {
    steps
        .iter()
        .map(|s| if let Step::WriteBack(_, n) = s { *n } else { 0 })
        .sum()
}

/// Bytes that differ at every offset of a 16 MiB stretch, so a copy off by a multiple of 64 KiB
/// is caught too.
fn pattern(n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| (i * 7 + 3) as u8 ^ (i >> 8) as u8 ^ (i >> 16) as u8)
        .collect()
}

/// Moves `len` bytes from offset `src` to offset `dst` of one buffer and checks every byte of
/// it against `copy_within`; returns the address the destination had.
fn check_move(c: &CopyPaths, flags: MemFlags, src: usize, dst: usize, len: usize) -> usize {
    let size = src.max(dst) + len + 80;
    let mut buf = pattern(size);
    let mut want = buf.clone();
    want.copy_within(src..src + len, dst);
    let base = buf.as_mut_ptr();
    // SAFETY: both ranges lie inside `buf`.
    let ret = unsafe { c.memmove_raw(base.add(dst), base.add(src), len, flags) };
    assert_eq!(ret, base.wrapping_add(dst));
    if buf != want {
        let first = buf.iter().zip(&want).position(|(a, b)| a != b);
        panic!(
            "{:?} {flags:?}: move src {src} dst {dst} len {len}: first difference at {first:?}",
            c.nt
        );
    }
    base.addr() + dst
}

fn check_set(c: &CopyPaths, flags: MemFlags, dst: usize, len: usize, value: u8) {
    let mut buf = pattern(dst + len + 80);
    let mut want = buf.clone();
    want[dst..dst + len].fill(value);
    // SAFETY: the range lies inside `buf`.
    unsafe { c.memset_raw(buf.as_mut_ptr().add(dst), value, len, flags) };
    assert!(buf == want, "{:?} {flags:?}: set dst {dst} len {len}", c.nt);
}

const OFFSETS: [usize; 16] = [0, 1, 2, 4, 7, 8, 9, 15, 16, 31, 32, 33, 63, 64, 65, 100];
const LENGTHS: [usize; 24] = [
    0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 256, 257, 1000,
    4096,
];

#[test]
fn overlap_matrix_against_core_copy_on_every_path() {
    let mut cases = 0;
    let paths = host_paths();
    for &p in &paths {
        let c = copier_with(p);
        for flags in FLAG_SETS {
            for src in OFFSETS {
                for dst in OFFSETS {
                    for len in LENGTHS {
                        check_move(&c, flags, src, dst, len);
                        cases += 1;
                    }
                }
            }
            // The triples libpmem's tests single out.
            for (src, dst, len) in [(4, 63, 64), (63, 4, 64), (1, 2, 8), (2, 1, 8), (0, 0, 100)] {
                check_move(&c, flags, src, dst, len);
                cases += 1;
            }
        }
    }
    println!("overlap matrix: paths {paths:?}, {cases} cases");
}

#[test]
fn memcpy_offsets_and_memset_cases() {
    let mut cases = 0;
    for p in host_paths() {
        let c = copier_with(p);
        for flags in FLAG_SETS {
            for (dst, src) in [(0, 0), (7, 0), (7, 9), (0, 9)] {
                // Separate buffers, as for memcpy.
                let from = pattern(4096 + 16);
                let mut to = vec![0xeeu8; 4096 + 16];
                let mut want = to.clone();
                want[dst..dst + 4096].copy_from_slice(&from[src..src + 4096]);
                // SAFETY: both ranges lie inside their buffers.
                unsafe {
                    c.memcpy_raw(
                        to.as_mut_ptr().add(dst),
                        from.as_ptr().add(src),
                        4096,
                        flags,
                    )
                };
                assert!(to == want, "{p:?} {flags:?} memcpy {dst}/{src}");
                cases += 1;
            }
            check_set(&c, flags, 0, 8, 0x5a);
            check_set(&c, flags, 13, 4096, 0xa5);
            cases += 2;
        }
    }
    println!("memcpy/memset cases: {cases}");
}

#[test]
fn power_of_two_sizes_leave_the_next_byte_alone() {
    let mut cases = 0;
    for p in host_paths() {
        let c = copier_with(p);
        for flags in FLAG_SETS {
            for shift in 0..=12 {
                let len = 1usize << shift;
                for off in [0, 1, 8, 63] {
                    check_move(&c, flags, off + len + 1, off, len);
                    check_set(&c, flags, off, len, 0x11);
                    // And the byte just past the end, explicitly.
                    let mut buf = vec![0x77u8; off + len + 1];
                    let src = pattern(len);
                    // SAFETY: `len` bytes fit at `off` in `buf`; `src` has `len` bytes.
                    unsafe { c.memcpy_raw(buf.as_mut_ptr().add(off), src.as_ptr(), len, flags) };
                    assert_eq!(buf[off + len], 0x77, "{p:?} {flags:?} len {len}");
                    cases += 3;
                }
            }
        }
    }
    println!("power-of-two cases: {cases}");
}

/// A small xorshift generator: reproducible from its seed, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn random_offsets_lengths_flags_and_paths() {
    let paths = host_paths();
    let seed = 0x9e37_79b9_7f4a_7c15;
    let mut rng = Rng(seed);
    let cases = 20_000;
    for _ in 0..cases {
        let p = paths[rng.below(paths.len())];
        let threshold = [0, 64, 256, 1000, usize::MAX][rng.below(5)];
        let granularity = if rng.below(4) == 0 {
            Granularity::Byte
        } else {
            Granularity::CacheLine
        };
        let c = CopyPaths {
            threshold,
            granularity,
            ..copier_with(p)
        };
        let flags = MemFlags::from_bits_truncate(rng.below(64) as u32);
        let len = match rng.below(3) {
            0 => rng.below(70),
            1 => rng.below(600),
            _ => rng.below(5000),
        };
        let (src, dst) = (rng.below(200), rng.below(200));
        if rng.below(3) == 0 {
            check_set(&c, flags, dst, len, rng.next() as u8);
        } else {
            check_move(&c, flags, src, dst, len);
        }
    }
    println!("random: seed {seed:#x}, {cases} cases over {paths:?}");
}

/// The write-back kinds for flushing this CPU has (not the evictions, which copies never use).
fn host_write_backs() -> Vec<WriteBack> {
    let f = Cpu::detect().features;
    WriteBack::ALL
        .into_iter()
        .filter(|wb| {
            *wb != WriteBack::None
                && f.contains(wb.feature())
                && crate::selection::Arch::HOST.deep_write_backs().contains(wb)
        })
        .collect()
}

#[test]
fn fence_after_the_last_non_temporal_store_for_every_write_back() {
    let fence = crate::arch::DRAIN;
    let mut cases = 0;
    for wb in host_write_backs() {
        for p in host_paths().into_iter().filter(|p| *p != NonTemporal::None) {
            let c = CopyPaths {
                write_back: wb,
                ..copier_with(p)
            };
            let src = pattern(1100);
            let mut dst = vec![0u8; 1100];
            for (op, flags) in [
                ("memmove", MemFlags::empty()),
                ("memset", MemFlags::empty()),
                ("memmove", MemFlags::NODRAIN),
            ] {
                // Unaligned start and an odd length: a written-back head, whole non-temporal
                // lines, a written-back tail.
                let steps = record(|| {
                    // SAFETY: 1001 bytes from offset 3 fit in both 1100-byte buffers.
                    unsafe {
                        if op == "memmove" {
                            c.memmove_raw(
                                dst.as_mut_ptr().add(3),
                                src.as_ptr().add(5),
                                1001,
                                flags,
                            );
                        } else {
                            c.memset_raw(dst.as_mut_ptr().add(3), 9, 1001, flags);
                        }
                    }
                });
                let what = format!("{wb:?} x {p:?} {op} {flags:?}: {steps:?}");
                let last_nt = steps
                    .iter()
                    .rposition(|s| matches!(s, Step::NonTemporal(..)));
                assert!(last_nt.is_some(), "no non-temporal store: {what}");
                assert!(
                    steps
                        .iter()
                        .any(|s| matches!(s, Step::WriteBack(k, _) if *k == wb)),
                    "head and tail are written back with the selected instruction: {what}"
                );
                let fences: Vec<usize> = steps
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| **s == Step::Fence(fence))
                    .map(|(i, _)| i)
                    .collect();
                if flags.contains(MemFlags::NODRAIN) {
                    // The caller's drain (an SFENCE on x86-64, whatever the write-back) orders them.
                    assert!(fences.is_empty(), "{what}");
                } else {
                    assert_eq!(fences, [steps.len() - 1], "exactly one fence, last: {what}");
                }
                cases += 1;
            }
        }
    }
    println!("fence placement cases: {cases}");
    if cfg!(target_arch = "x86_64") {
        assert_eq!(fence, Fence::Sfence);
        assert!(cases > 0);
    }
}

#[test]
fn temporal_paths_write_back_every_line_and_byte_granularity_none() {
    let wb = Selection::detect(Config::new()).best_write_back();
    let c = CopyPaths {
        write_back: wb,
        ..copier_with(NonTemporal::None)
    };
    let mut buf = vec![0u8; 5000];
    let steps = record(|| c.memset(&mut buf[1..4500], 3, MemFlags::empty()));
    let lines = lines_written_back(&steps);
    let expected = crate::lines::line_count(buf.as_ptr().addr() + 1, 4499, c.line_shift as u32);
    if wb != WriteBack::None {
        assert_eq!(lines, expected, "every line written back, once");
    }
    assert_eq!(steps.last(), Some(&Step::Fence(crate::arch::DRAIN)));

    let byte = CopyPaths {
        granularity: Granularity::Byte,
        write_back: WriteBack::None,
        ..c
    };
    let steps = record(|| byte.memset(&mut buf[1..4500], 4, MemFlags::empty()));
    assert_eq!(
        steps,
        [Step::Fence(crate::arch::DRAIN)],
        "byte granularity: stores, then the fence"
    );
    let steps = record(|| byte.memset(&mut buf[1..4500], 4, MemFlags::NOFLUSH));
    assert!(steps.is_empty(), "NOFLUSH: no write-back, no drain");
}

/// For a destination and length that are multiples of 8, on every path and flag set: no
/// ordinary store is made by the overlapping-store path (so none can be narrower than 8 bytes,
/// nor split by the compiler on targets without unaligned access); every ordinary store goes
/// through the aligned word loops (`words`), whose emitted instructions
/// `scripts/check-store-widths.sh` and `tests/disasm.rs` check; on the general-purpose paths
/// the word loops store every byte of the copy. Unaligned blocks do use the overlapping stores
/// (the counters can fail).
#[test]
fn eight_byte_aligned_copies_store_through_the_aligned_word_loops() {
    use super::small::count::during;
    let mut cases = 0;
    for p in host_paths() {
        let c = copier_with(p);
        // The temporal path of this copier stores whole lines from general-purpose registers
        // (every byte through the word loops) unless it has vector registers.
        let gp_temporal = temporal::Vectors::allowed_by(p) == temporal::Vectors::None;
        for flags in FLAG_SETS {
            let temporal =
                flags.intersects(MemFlags::TEMPORAL | MemFlags::NOFLUSH) || p == NonTemporal::None;
            for dst in (0..=128).step_by(8) {
                for len in (0..=1024).step_by(8) {
                    let what = format!("{p:?} {flags:?} dst {dst} len {len}");
                    let all_words = (temporal && (gp_temporal || len <= 64)).then_some(len);
                    for src in [0, 3, 8] {
                        let n = during(|| _ = check_move(&c, flags, src, dst, len));
                        assert_eq!(n.overlapping, 0, "move {what} src {src}: {n:?}");
                        assert_eq!(n.narrow, 0, "move {what} src {src}: {n:?}");
                        if let Some(all) = all_words {
                            // (src == dst: nothing is stored at all, as in libpmem.)
                            let all = if src == dst { 0 } else { all };
                            assert_eq!(n.word_bytes, all, "move {what} src {src}: {n:?}");
                        }
                    }
                    let n = during(|| check_set(&c, flags, dst, len, 0x42));
                    assert_eq!((n.overlapping, n.narrow), (0, 0), "set {what}: {n:?}");
                    if let Some(all) = all_words {
                        assert_eq!(n.word_bytes, all, "set {what}: {n:?}");
                    }
                    cases += 4;
                }
            }
        }
        // The counters do see the overlapping stores where the promise does not apply.
        let n = during(|| _ = check_move(&c, MemFlags::empty(), 0, 1, 5));
        assert!(
            n.narrow > 0 && n.overlapping > 0 && n.word_bytes == 0,
            "{n:?}"
        );
        let n = during(|| check_set(&c, MemFlags::TEMPORAL, 4, 24, 1));
        assert!(n.narrow == 0 && n.overlapping > 0, "{n:?}");
    }
    println!("8-byte store cases: {cases}");
}

#[test]
fn slice_forms_check_lengths_and_bounds_and_write_nothing_otherwise() {
    let c = CopyPaths::new(Config::new());
    let mut dst = [0u8; 10];
    assert_eq!(
        c.memcpy(&mut dst, &[1; 9], MemFlags::empty()),
        Err(CopyError::LengthMismatch { dst: 10, src: 9 })
    );
    assert_eq!(dst, [0; 10]);
    assert_eq!(c.memcpy(&mut dst, &[2; 10], MemFlags::empty()), Ok(()));
    assert_eq!(dst, [2; 10]);
    let mut buf: Vec<u8> = (0..20).collect();
    let before = buf.clone();
    for (src, dest) in [
        (0..21, 0),
        (5..25, 0),
        (0..10, 11),
        (usize::MAX - 1..usize::MAX, 0),
        (0..1, usize::MAX),
    ] {
        assert_eq!(
            c.memmove_within(&mut buf, src, dest, MemFlags::empty()),
            Err(CopyError::OutOfBounds)
        );
    }
    #[allow(clippy::reversed_empty_ranges)]
    let backwards = 5..4;
    assert_eq!(
        c.memmove_within(&mut buf, backwards, 0, MemFlags::empty()),
        Err(CopyError::OutOfBounds)
    );
    assert_eq!(buf, before);
    assert_eq!(
        c.memmove_within(&mut buf, 0..10, 10, MemFlags::empty()),
        Ok(())
    );
    assert_eq!(&buf[10..], &before[..10]);
}

#[test]
fn zero_length_and_same_address_store_nothing_but_drain_as_libpmem() {
    let c = copier_with(host_paths()[host_paths().len() - 1]);
    let dangling = core::ptr::without_provenance_mut::<u8>(0x40);
    let fence = Step::Fence(crate::arch::DRAIN);
    for flags in FLAG_SETS {
        let drains = !flags.intersects(MemFlags::NODRAIN | MemFlags::NOFLUSH);
        let want: Vec<Step> = if drains { vec![fence] } else { vec![] };
        // SAFETY: len == 0 touches nothing.
        let steps = record(|| unsafe {
            c.memmove_raw(dangling, dangling.wrapping_add(64), 0, flags);
        });
        assert_eq!(steps, want, "memmove of 0 bytes, {flags:?}");
        // SAFETY: len == 0 touches nothing.
        let steps = record(|| unsafe {
            c.memset_raw(dangling, 1, 0, flags);
        });
        assert_eq!(steps, want, "memset of 0 bytes, {flags:?}");
        let mut buf = pattern(300);
        let p = buf.as_mut_ptr();
        // SAFETY: `buf` holds 300 bytes.
        let steps = record(|| unsafe {
            c.memmove_raw(p, p, 300, flags);
        });
        assert_eq!(steps, want, "memmove onto itself, {flags:?}");
        assert_eq!(buf, pattern(300));
    }
    // The free functions and the generic path over any flush and drain do the same.
    let steps = record(|| {
        crate::memcpy_persist(&mut [], &[]).unwrap();
        crate::memset_persist(&mut [], 0);
        crate::memmove_persist(&mut [0u8; 8], 0..8, 0).unwrap();
        let pair = (crate::arch::trace::RecordingFlush, crate::Drainer::new());
        pair.memcpy_persist(&mut [], &[]).unwrap();
        pair.memset_nodrain(&mut [], 0);
    });
    assert_eq!(steps, [fence; 4]);
}

/// The temporal path's vector stores: in every x86-64 build with SSE, SSE2 below
/// `WIDE_FROM` bytes and the selection's own set (AVX, AVX-512F) from there, unless the
/// selection's non-temporal stores are MOVNTI (the one it makes when SSE2 is missing or
/// disabled); none in builds without SSE and on other architectures, whatever the selection.
#[test]
fn temporal_vector_stores_follow_the_build_the_selection_and_the_length() {
    use temporal::{Vectors, WIDE_FROM};
    let sse_build = cfg!(all(target_arch = "x86_64", target_feature = "sse2"));
    for (nt, long) in [
        (NonTemporal::None, Vectors::Sse2),
        (NonTemporal::Movnti, Vectors::None),
        (NonTemporal::Sse2, Vectors::Sse2),
        (NonTemporal::Avx, Vectors::Avx),
        (NonTemporal::Avx512f, Vectors::Avx512f),
        (NonTemporal::Movdir64b, Vectors::Sse2),
    ] {
        let (short, long) = match (sse_build, long) {
            (false, _) | (true, Vectors::None) => (Vectors::None, Vectors::None),
            (true, long) => (Vectors::Sse2, long),
        };
        let v = Vectors::allowed_by(nt);
        for len in [0, 65, 4096, WIDE_FROM - 1] {
            assert_eq!(v.for_len(len), short, "{nt:?} {len}");
        }
        for len in [WIDE_FROM, WIDE_FROM + 1, usize::MAX] {
            assert_eq!(v.for_len(len), long, "{nt:?} {len}");
        }
    }
}

/// The general-purpose temporal path (every architecture but x86-64 with SSE, and x86-64 with
/// MOVNTI) writes each line back exactly once whatever the line size, 16 bytes to 2 KiB: its
/// 1 KiB blocks start on 64-byte boundaries, so with POWER's 128-byte or A64FX's 256-byte
/// lines a block used to end inside a line and that line was written back twice.
#[test]
fn general_purpose_temporal_path_writes_each_line_back_once_at_every_line_size() {
    let wb = Selection::detect(Config::new()).best_write_back();
    if wb == WriteBack::None {
        return;
    }
    let mut cases = 0;
    for shift in 4..=11u8 {
        let c = CopyPaths {
            write_back: wb,
            line_shift: shift,
            ..copier_with(NonTemporal::Movnti)
        };
        for len in [65, 1000, 5000, 70_001] {
            for (src, dst) in [(0, len + 100), (64, 3), (3, 64), (200, 0), (0, 200)] {
                let mut at = 0;
                let steps = record(|| at = check_move(&c, MemFlags::TEMPORAL, src, dst, len));
                let lines = lines_written_back(&steps);
                let expected = crate::lines::line_count(at, len, shift as u32);
                assert_eq!(
                    lines, expected,
                    "shift {shift} move {src} -> {dst}, {len} bytes"
                );
                cases += 1;
            }
            let mut buf = pattern(len + 300);
            for off in [0, 5, 64, 130] {
                let steps = record(|| c.memset(&mut buf[off..off + len], 9, MemFlags::TEMPORAL));
                let lines = lines_written_back(&steps);
                let at = buf.as_ptr().addr() + off;
                let expected = crate::lines::line_count(at, len, shift as u32);
                assert_eq!(lines, expected, "shift {shift} set at {off}, {len} bytes");
                cases += 1;
            }
        }
    }
    println!("line-size cases: {cases}");
}

/// Temporal copies on both sides of `WIDE_FROM`, on every path this CPU has (so with AVX and
/// AVX-512F stores where it has them): the bytes against `copy_within`/`fill`, nothing outside
/// the range touched, overlapping moves in both directions at distances shorter than a line,
/// unaligned ends, every line written back, and the register set the whole lines were stored
/// with; at byte granularity the same sets and no write-back.
#[test]
fn long_temporal_copies_store_with_the_selections_set_and_write_back_every_line() {
    use temporal::{Vectors, WIDE_FROM};
    let wb = Selection::detect(Config::new()).best_write_back();
    let mut sets_seen = Vec::new();
    for p in host_paths() {
        let c = CopyPaths {
            write_back: wb,
            ..copier_with(p)
        };
        let byte = CopyPaths {
            granularity: Granularity::Byte,
            write_back: WriteBack::None,
            ..c
        };
        let allowed = Vectors::allowed_by(p);
        for len in [WIDE_FROM - 64, WIDE_FROM, WIDE_FROM + 129] {
            let want_sets = [allowed.for_len(len)];
            sets_seen.push(allowed.for_len(len));
            // (src, dst): disjoint; overlapping with dst above src (a backward copy) and below
            // (forward), by more and by less than a line.
            for (src, dst) in [
                (0, len + 200),
                (3, 103),
                (161, 5),
                (0, 1),
                (1, 0),
                (33, 0),
                (0, 63),
            ] {
                let mut at = 0;
                let mut steps = Vec::new();
                let sets = temporal::count::during(|| {
                    steps = record(|| at = check_move(&c, MemFlags::TEMPORAL, src, dst, len));
                });
                let what = format!("{p:?} move {src} -> {dst}, {len} bytes");
                assert_eq!(sets, want_sets, "{what}");
                if wb != WriteBack::None {
                    let expected = crate::lines::line_count(at, len, c.line_shift as u32);
                    assert_eq!(
                        lines_written_back(&steps),
                        expected,
                        "{what}: lines written back"
                    );
                }
                assert_eq!(
                    steps.last(),
                    Some(&Step::Fence(crate::arch::DRAIN)),
                    "{what}"
                );
                // Byte granularity, default flags: the same stores, nothing written back.
                let sets = temporal::count::during(|| {
                    steps = record(|| _ = check_move(&byte, MemFlags::empty(), src, dst, len));
                });
                assert_eq!(sets, want_sets, "byte granularity: {what}");
                assert_eq!(steps, [Step::Fence(crate::arch::DRAIN)], "byte: {what}");
            }
            let mut buf = pattern(len + 200);
            let mut want = buf.clone();
            want[7..7 + len].fill(0xc3);
            let mut steps = Vec::new();
            let sets = temporal::count::during(|| {
                steps = record(|| c.memset(&mut buf[7..7 + len], 0xc3, MemFlags::TEMPORAL));
            });
            assert!(buf == want, "{p:?} set {len}");
            assert_eq!(sets, want_sets, "{p:?} set {len}");
            if wb != WriteBack::None {
                let expected =
                    crate::lines::line_count(buf.as_ptr().addr() + 7, len, c.line_shift as u32);
                assert_eq!(
                    lines_written_back(&steps),
                    expected,
                    "{p:?} set {len}: lines written back"
                );
            }
            assert_eq!(steps.last(), Some(&Step::Fence(crate::arch::DRAIN)));
        }
    }
    // On a CPU with AVX-512F (or AVX), an x86-64 build with SSE reaches that set.
    let f = Cpu::detect().features;
    if cfg!(all(target_arch = "x86_64", target_feature = "sse2")) {
        if f.contains(Features::AVX512F) {
            assert!(sets_seen.contains(&Vectors::Avx512f), "{sets_seen:?}");
        }
        if f.contains(Features::AVX) {
            assert!(sets_seen.contains(&Vectors::Avx), "{sets_seen:?}");
        }
    }
}
