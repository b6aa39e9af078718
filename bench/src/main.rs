//! pmem-flush side by side with PMDK's libpmem and with the hardware floor.
//!
//! ```text
//! pmem-flush-bench run [--quick] [--out DIR] [--markdown FILE] [--only GROUP]...
//! pmem-flush-bench report [--out DIR] [--markdown FILE]
//! ```
//!
//! `run` measures every case (groups: persist, flush, overhead, memcpy, memset), writes
//! `DIR/<cpu>/results.csv` (`<cpu>` = vendor-family-model from /proc/cpuinfo, e.g.
//! `GenuineIntel-6-167`), then does what `report` does: writes each CPU's plots
//! `DIR/<cpu>/*.svg` and one Markdown report for every CPU under `DIR` from the CSVs alone, so
//! a report can be regenerated from committed data.
//! `scripts/bench.sh` is the one command that installs what is needed and runs both.

#[cfg(not(target_arch = "x86_64"))]
compile_error!("the benchmark compares x86-64 instruction loops; build it on x86-64");

mod contenders;
mod floor;
mod harness;
mod libpmem;
mod ours_copy;
mod report;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use harness::{Arena, Budget, Summary, Timer};

struct Args {
    command: String,
    quick: bool,
    out: PathBuf,
    markdown: Option<PathBuf>,
    only: Vec<String>,
    mode: Option<String>,
    size: Option<usize>,
}

fn usage() -> ! {
    eprintln!(
        "usage: pmem-flush-bench run [--quick] [--out DIR] [--markdown FILE] [--only GROUP]...\n\
         \x20      pmem-flush-bench report [--out DIR] [--markdown FILE]\n\
         \x20      pmem-flush-bench count --only GROUP [--mode MODE] [--size BYTES]\n\
         groups: persist flush overhead memcpy memset"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut args = std::env::args().skip(1);
    let command = args.next().unwrap_or_else(|| usage());
    if command != "run" && command != "report" && command != "count" {
        usage();
    }
    let mut parsed = Args {
        command,
        quick: false,
        out: PathBuf::from("bench/results"),
        markdown: None,
        only: Vec::new(),
        mode: None,
        size: None,
    };
    while let Some(a) = args.next() {
        match a.as_str() {
            "--quick" => parsed.quick = true,
            "--out" => parsed.out = args.next().unwrap_or_else(|| usage()).into(),
            "--markdown" => parsed.markdown = Some(args.next().unwrap_or_else(|| usage()).into()),
            "--only" => parsed.only.push(args.next().unwrap_or_else(|| usage())),
            "--mode" => parsed.mode = Some(args.next().unwrap_or_else(|| usage())),
            "--size" => {
                let n = args.next().unwrap_or_else(|| usage());
                parsed.size = Some(n.parse().unwrap_or_else(|_| usage()));
            }
            _ => usage(),
        }
    }
    parsed
}

fn main() {
    let args = parse_args();
    let markdown = args
        .markdown
        .clone()
        .unwrap_or_else(|| args.out.join("BENCHMARKS.md"));
    if args.command == "count" {
        return count(&args);
    }
    if args.command == "run" {
        run(&args);
    }
    report::generate_all(&args.out, &markdown).expect("writing the report");
    println!(
        "wrote {} from the results of {} CPU(s) under {}",
        markdown.display(),
        report::cpu_dirs(&args.out).len(),
        args.out.display()
    );
}

/// The directory name of this CPU's results: `vendor-family-model` from /proc/cpuinfo
/// (`GenuineIntel-6-167`, `AuthenticAMD-25-17`).
fn cpu_id() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let field = |name: &str| {
        cpuinfo
            .lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim() == name)
            .map_or("unknown".to_owned(), |(_, v)| {
                v.trim().replace(['/', ' '], "_")
            })
    };
    format!(
        "{}-{}-{}",
        field("vendor_id"),
        field("cpu family"),
        field("model")
    )
}

/// Runs the cases of `--only GROUP` (and `--mode MODE`, `--size N` to narrow them) untimed,
/// for instruction counts under callgrind (`scripts/callgrind.sh`).
fn count(args: &Args) {
    let floor = floor::CopyFloor::detect();
    let has_clwb = pmem_flush::arch::x86_64::Clwb::new().is_some();
    // SAFETY: contenders that execute CLWB themselves are skipped below when it is missing.
    let env = unsafe { contenders::Env::new_for_counting(floor) };
    let cases: Vec<_> = contenders::cases(&args.only)
        .into_iter()
        .filter(|c| args.mode.as_deref().is_none_or(|m| c.mode == m))
        .filter(|c| args.size.is_none_or(|s| c.size == s))
        .collect();
    let biggest = cases
        .iter()
        .map(|c| (c.count.max(1) - 1) * c.stride + c.size)
        .max()
        .unwrap_or(0);
    let (dst, src) = (Arena::new(biggest), Arena::new(biggest));
    let skip = |c: &harness::Contender<contenders::Env>| {
        !has_clwb && (c.id == "ours.concrete" || c.kind == harness::Kind::Floor)
    };
    for case in &cases {
        harness::repeat_case(&env, case, &dst, &src, COUNT_REPS, &skip);
        println!(
            "{} / {} / {} bytes: {} calls per contender",
            case.group,
            case.mode,
            case.size,
            COUNT_REPS * case.count
        );
    }
}

/// Batches per contender in `count`.
const COUNT_REPS: usize = 10;

/// Measures every case and writes `results.csv`.
fn run(args: &Args) {
    let floor = floor::CopyFloor::detect();
    let Some(env) = contenders::Env::new(floor) else {
        eprintln!("this benchmark needs a CPU with CLWB (the floor and the concrete type use it)");
        std::process::exit(1);
    };
    let budget = if args.quick {
        Budget {
            per_case: Duration::from_millis(15),
            min_rounds: 3,
            max_rounds: 25,
        }
    } else {
        Budget {
            per_case: Duration::from_millis(1000),
            min_rounds: 15,
            max_rounds: 1001,
        }
    };
    let timer = Timer::calibrate(if args.quick { 20 } else { 200 });
    let meta = metadata(args, &timer, &floor);
    for (k, v) in &meta {
        println!("{k}: {v}");
    }

    let cases: Vec<_> = contenders::cases(&args.only)
        .into_iter()
        .filter(|c| args.mode.as_deref().is_none_or(|m| c.mode == m))
        .filter(|c| args.size.is_none_or(|s| c.size == s))
        .collect();
    let biggest = cases
        .iter()
        .map(|c| (c.count.max(1) - 1) * c.stride + c.size)
        .max()
        .unwrap_or(0);
    let dst = Arena::new(biggest);
    let src = Arena::new(biggest);
    let started = Instant::now();
    let mut all: Vec<Summary> = Vec::new();
    for case in &cases {
        let t = Instant::now();
        let rows = harness::run_case(&env, case, &dst, &src, &timer, &budget);
        let line = rows
            .iter()
            .map(|r| format!("{} {}", r.id, fmt_ns(r.median)))
            .collect::<Vec<_>>()
            .join(", ");
        println!(
            "{:>8} {:>12} {:>9} x{:<4} {:>3} rounds {:>5.1}s | {line}",
            case.group,
            case.mode,
            report::fmt_size(case.size),
            case.count,
            rows[0].rounds,
            t.elapsed().as_secs_f64()
        );
        all.extend(rows);
    }
    let mut meta = meta;
    meta.push((
        "duration".into(),
        format!("{:.0} s", started.elapsed().as_secs_f64()),
    ));
    let dir = args.out.join(cpu_id());
    std::fs::create_dir_all(&dir).expect("creating the output directory");
    let path = dir.join("results.csv");
    std::fs::write(&path, to_csv(&meta, &all)).expect("writing results.csv");
    println!("wrote {}", path.display());
}

fn fmt_ns(ns: f64) -> String {
    if ns < 100.0 {
        format!("{ns:.2}ns")
    } else if ns < 100_000.0 {
        format!("{ns:.0}ns")
    } else {
        format!("{:.1}us", ns / 1000.0)
    }
}

/// The facts the report prints above its tables.
fn metadata(args: &Args, timer: &Timer, floor: &floor::CopyFloor) -> Vec<(String, String)> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let field = |name: &str| {
        cpuinfo
            .lines()
            .find(|l| l.split(':').next().map(str::trim) == Some(name))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_else(|| "?".into())
    };
    let flags = field("flags");
    let has: Vec<&str> = [
        "clflushopt",
        "clwb",
        "avx2",
        "avx512f",
        "movdir64b",
        "constant_tsc",
        "hypervisor",
    ]
    .into_iter()
    .filter(|f| flags.split_whitespace().any(|x| x == *f))
    .collect();
    let cmd = |program: &str, a: &[&str]| {
        Command::new(program)
            .args(a)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_else(|| "unknown".into())
    };
    let dirty = cmd("git", &["status", "--porcelain", "--untracked-files=no"]);
    let commit = format!(
        "{}{}",
        cmd("git", &["rev-parse", "--short=12", "HEAD"]),
        if dirty.is_empty() || dirty == "unknown" {
            ""
        } else {
            " (with uncommitted changes)"
        }
    );
    let selection = pmem_flush::selection().to_string();
    let mut sel = String::new();
    for l in selection.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if !sel.is_empty() {
            sel.push_str("; ");
        }
        let _ = write!(
            sel,
            "{}",
            l.split_whitespace().collect::<Vec<_>>().join(" ")
        );
    }
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .unwrap_or_default()
            .trim()
            .to_owned()
    };
    let cpus = cpuinfo
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    vec![
        ("date".into(), utc_now()),
        (
            "cpu".into(),
            format!(
                "{} (family {} model {} stepping {}), {} logical CPUs, flags: {}",
                field("model name"),
                field("cpu family"),
                field("model"),
                field("stepping"),
                cpus,
                has.join(" ")
            ),
        ),
        ("kernel".into(), read("/proc/sys/kernel/osrelease")),
        (
            "load average at start".into(),
            read("/proc/loadavg")
                .split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" "),
        ),
        ("commit".into(), commit),
        ("rustc".into(), cmd("rustc", &["--version"])),
        ("ours".into(), sel),
        ("libpmem".into(), libpmem::describe()),
        (
            "floor".into(),
            format!(
                "CLWB per 64-byte line + SFENCE; copies with {} non-temporal stores",
                floor.isa
            ),
        ),
        (
            "timer".into(),
            format!(
                "TSC at {:.3} GHz; empty sample {} ticks, {} with the completing MFENCE \
                 (subtracted)",
                timer.ghz, timer.empty[0], timer.empty[1]
            ),
        ),
        (
            "run".into(),
            if args.quick {
                "quick (smoke test: few rounds, numbers not meaningful)".into()
            } else {
                "full".into()
            },
        ),
    ]
}

/// The current date and time in UTC, `YYYY-MM-DD HH:MM UTC`.
fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// The results as CSV records, with the metadata as `# key: value` lines first.
fn to_csv(meta: &[(String, String)], rows: &[Summary]) -> String {
    let records: Vec<report::Record> = rows
        .iter()
        .map(|r| report::Record {
            group: r.group.clone(),
            mode: r.mode.clone(),
            size: r.size,
            count: r.count,
            rounds: r.rounds,
            contender: r.id.clone(),
            kind: r.kind.clone(),
            label: r.label.clone(),
            median_ns: r.median,
            q1_ns: r.q1,
            q3_ns: r.q3,
            min_ns: r.min,
            vs_libpmem: r.vs_libpmem.median,
            vs_libpmem_q1: r.vs_libpmem.q1,
            vs_libpmem_q3: r.vs_libpmem.q3,
            vs_floor: r.vs_floor.median,
            vs_floor_q1: r.vs_floor.q1,
            vs_floor_q3: r.vs_floor.q3,
            floor: r.floor.join("|"),
            vs_concrete: r.vs_concrete.median,
            vs_concrete_q1: r.vs_concrete.q1,
            vs_concrete_q3: r.vs_concrete.q3,
        })
        .collect();
    report::to_csv(meta, &records)
}
