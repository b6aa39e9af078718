//! The report: `results.csv` in, SVG plots and a Markdown page out. Reads nothing but the CSV
//! (and the hand-written findings file, if there is one), so a committed CSV regenerates it.

use std::fmt::Write as _;
use std::path::Path;

/// One row of `results.csv`: the one definition of its columns, written and read by name
/// (serde), so the writer, the reader and the header cannot disagree.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Record {
    pub group: String,
    pub mode: String,
    pub size: usize,
    pub count: usize,
    pub rounds: usize,
    pub contender: String,
    pub kind: String,
    pub label: String,
    pub median_ns: f64,
    pub q1_ns: f64,
    pub q3_ns: f64,
    pub min_ns: f64,
    pub vs_libpmem: f64,
    pub vs_libpmem_q1: f64,
    pub vs_libpmem_q3: f64,
    pub vs_floor: f64,
    pub vs_floor_q1: f64,
    pub vs_floor_q3: f64,
    /// The contenders `vs_floor` divides by, `|`-separated (the faster one in each round when
    /// there are several); empty in results written before the column existed.
    #[serde(default)]
    pub floor: String,
    pub vs_concrete: f64,
    pub vs_concrete_q1: f64,
    pub vs_concrete_q3: f64,
}

/// The CSV text: the metadata as `# key: value` lines, then the records with a header.
pub fn to_csv(meta: &[(String, String)], records: &[Record]) -> String {
    let mut out = String::new();
    for (k, v) in meta {
        let _ = writeln!(out, "# {k}: {v}");
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in records {
        w.serialize(r).expect("serializing a record");
    }
    let body = w.into_inner().expect("flushing the CSV writer");
    out.push_str(&String::from_utf8(body).expect("CSV is UTF-8"));
    out
}

/// The hand-written findings appended to the report, relative to the working directory.
const NOTES: &str = "bench/NOTES.md";

/// One CSV row, as the report uses it.
#[derive(Clone, Debug)]
struct Row {
    group: String,
    mode: String,
    size: usize,
    count: usize,
    rounds: usize,
    id: String,
    label: String,
    median: f64,
    /// (median, q1, q3) of the per-round ratios.
    vs_libpmem: [f64; 3],
    vs_floor: [f64; 3],
    /// What `vs_floor` divides by (see [`Record::floor`]).
    floor: String,
    vs_concrete: [f64; 3],
}

impl From<Record> for Row {
    fn from(r: Record) -> Row {
        Row {
            group: r.group,
            mode: r.mode,
            size: r.size,
            count: r.count,
            rounds: r.rounds,
            id: r.contender,
            label: r.label,
            median: r.median_ns,
            vs_libpmem: [r.vs_libpmem, r.vs_libpmem_q1, r.vs_libpmem_q3],
            vs_floor: [r.vs_floor, r.vs_floor_q1, r.vs_floor_q3],
            floor: r.floor,
            vs_concrete: [r.vs_concrete, r.vs_concrete_q1, r.vs_concrete_q3],
        }
    }
}

struct Data {
    meta: Vec<(String, String)>,
    rows: Vec<Row>,
}

impl Data {
    fn parse(text: &str) -> Data {
        let meta = text
            .lines()
            .filter_map(|l| l.strip_prefix("# ")?.split_once(": "))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let rows = csv::ReaderBuilder::new()
            .comment(Some(b'#'))
            .from_reader(text.as_bytes())
            .deserialize::<Record>()
            .map(|r| Row::from(r.expect("a results.csv record")))
            .collect();
        Data { meta, rows }
    }

    fn meta(&self, key: &str) -> &str {
        self.meta
            .iter()
            .find(|(k, _)| k == key)
            .map_or("?", |(_, v)| v.as_str())
    }

    fn get(&self, group: &str, mode: &str, size: usize, id: &str) -> Option<&Row> {
        self.rows
            .iter()
            .find(|r| r.group == group && r.mode == mode && r.size == size && r.id == id)
    }

    /// Sizes of a (group, mode), in order.
    fn sizes(&self, group: &str, mode: &str) -> Vec<usize> {
        let mut s: Vec<usize> = self
            .rows
            .iter()
            .filter(|r| r.group == group && r.mode == mode)
            .map(|r| r.size)
            .collect();
        s.sort_unstable();
        s.dedup();
        s
    }

    /// Contender ids of a (group, mode), in CSV order.
    fn ids(&self, group: &str, mode: &str) -> Vec<String> {
        let mut ids: Vec<String> = Vec::new();
        for r in self
            .rows
            .iter()
            .filter(|r| r.group == group && r.mode == mode)
        {
            if !ids.contains(&r.id) {
                ids.push(r.id.clone());
            }
        }
        ids
    }

    /// Modes of a group, in CSV order.
    fn modes(&self, group: &str) -> Vec<String> {
        let mut modes: Vec<String> = Vec::new();
        for r in self.rows.iter().filter(|r| r.group == group) {
            if !modes.contains(&r.mode) {
                modes.push(r.mode.clone());
            }
        }
        modes
    }
}

/// `64 B`, `4 KiB`, `16 MiB`, `255 B`.
pub fn fmt_size(size: usize) -> String {
    if size >= 1 << 20 && size.is_multiple_of(1 << 20) {
        format!("{} MiB", size >> 20)
    } else if size >= 1 << 10 && size.is_multiple_of(1 << 10) {
        format!("{} KiB", size >> 10)
    } else {
        format!("{size} B")
    }
}

fn fmt_ns(ns: f64) -> String {
    if !ns.is_finite() {
        "–".into()
    } else if ns < 10.0 {
        format!("{ns:.2}")
    } else if ns < 1000.0 {
        format!("{ns:.1}")
    } else {
        format!("{ns:.0}")
    }
}

fn fmt_ratio(r: f64) -> String {
    if r.is_finite() {
        format!("{r:.3}")
    } else {
        "–".into()
    }
}

/// A ratio with its interquartile range over rounds.
fn fmt_ratio_iqr(r: [f64; 3]) -> String {
    if r[0].is_finite() {
        format!("{:.3} ({:.3}–{:.3})", r[0], r[1], r[2])
    } else {
        "–".into()
    }
}

// ---------------------------------------------------------------------------------------------
// Plots.

struct Series {
    label: String,
    color: &'static str,
    dashed: bool,
    /// (size, ratio)
    points: Vec<(usize, f64)>,
}

struct Panel {
    title: String,
    series: Vec<Series>,
    /// Horizontal reference lines: (value, label).
    refs: Vec<(f64, String)>,
}

fn color(id: &str) -> &'static str {
    match id {
        "ours.free" => "#1f77b4",
        "ours.fn" => "#17becf",
        "ours.pair" => "#2ca02c",
        "ours.concrete" => "#9467bd",
        "libpmem" => "#d62728",
        "libpmem.split" => "#ff7f0e",
        "floor.nt" => "#7f7f7f",
        "floor.t" => "#bcbd22",
        _ => "#444444",
    }
}

const PANEL_W: f64 = 470.0;
const PANEL_H: f64 = 300.0;
/// Values above this are drawn at the top edge (the tables have the numbers).
const Y_CAP: f64 = 2.0;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// An SVG with `panels` laid out `cols` per row, sharing a legend per panel.
fn svg(title: &str, panels: &[Panel], cols: usize) -> String {
    let rows = panels.len().div_ceil(cols);
    let (w, h) = (PANEL_W * cols as f64, PANEL_H * rows as f64 + 30.0);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(
        s,
        r#"<rect width="100%" height="100%" fill="white"/><text x="{}" y="20" text-anchor="middle" font-size="14" font-weight="bold">{}</text>"#,
        w / 2.0,
        esc(title)
    );
    for (i, p) in panels.iter().enumerate() {
        let (ox, oy) = (
            PANEL_W * (i % cols) as f64,
            30.0 + PANEL_H * (i / cols) as f64,
        );
        panel(&mut s, p, ox, oy);
    }
    s.push_str("</svg>\n");
    s
}

fn panel(s: &mut String, p: &Panel, ox: f64, oy: f64) {
    let (l, r, t, b) = (
        ox + 50.0,
        ox + PANEL_W - 130.0,
        oy + 22.0,
        oy + PANEL_H - 55.0,
    );
    let mut sizes: Vec<usize> = p
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .collect();
    sizes.sort_unstable();
    sizes.dedup();
    let values = p
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .filter(|v| v.is_finite())
        .chain(p.refs.iter().map(|r| r.0));
    let (mut lo, mut hi) = values.fold((1.0f64, 1.0f64), |(a, b), v| (a.min(v), b.max(v)));
    hi = hi.min(Y_CAP);
    let span = (hi - lo).max(0.1);
    lo = ((lo - span * 0.08) * 20.0).floor() / 20.0;
    hi = ((hi + span * 0.08) * 20.0).ceil() / 20.0;
    lo = lo.max(0.0);
    let x_of = |size: usize| {
        let (a, z) = (
            (*sizes.first().unwrap_or(&1) as f64).max(1.0).log2(),
            (*sizes.last().unwrap_or(&2) as f64).max(1.0).log2(),
        );
        let v = (size as f64).max(1.0).log2();
        if z > a {
            l + (v - a) / (z - a) * (r - l)
        } else {
            (l + r) / 2.0
        }
    };
    let y_of = |v: f64| b - (v.min(hi) - lo) / (hi - lo) * (b - t);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle" font-size="12" font-weight="bold">{}</text>"#,
        (l + r) / 2.0,
        oy + 14.0,
        esc(&p.title)
    );
    // Grid and y labels.
    let step = [0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1.0]
        .into_iter()
        .find(|st| (hi - lo) / st <= 8.0)
        .unwrap_or(1.0);
    let mut v = (lo / step).ceil() * step;
    while v <= hi + 1e-9 {
        let y = y_of(v);
        let _ = writeln!(
            s,
            r##"<line x1="{l}" x2="{r}" y1="{y:.1}" y2="{y:.1}" stroke="#e0e0e0"/><text x="{}" y="{:.1}" text-anchor="end">{v:.2}</text>"##,
            l - 4.0,
            y + 4.0
        );
        v += step;
    }
    let mut last_label = f64::NEG_INFINITY;
    for &size in &sizes {
        let x = x_of(size);
        // Sizes closer than a label's height (the threshold's edges) share one label.
        let label = if x - last_label >= 11.0 {
            last_label = x;
            fmt_size(size)
        } else {
            String::new()
        };
        let _ = writeln!(
            s,
            r##"<line x1="{x:.1}" x2="{x:.1}" y1="{t}" y2="{b}" stroke="#f0f0f0"/><text transform="translate({x:.1},{:.1}) rotate(-45)" text-anchor="end" font-size="9">{}</text>"##,
            b + 12.0,
            label
        );
    }
    let _ = writeln!(
        s,
        r##"<rect x="{l}" y="{t}" width="{}" height="{}" fill="none" stroke="#888"/>"##,
        r - l,
        b - t
    );
    for (value, label) in &p.refs {
        let y = y_of(*value);
        let _ = writeln!(
            s,
            r##"<line x1="{l}" x2="{r}" y1="{y:.1}" y2="{y:.1}" stroke="#000" stroke-dasharray="2,3"/><text x="{}" y="{:.1}" font-size="9">{}</text>"##,
            l + 3.0,
            y - 3.0,
            esc(label)
        );
    }
    for (k, ser) in p.series.iter().enumerate() {
        let pts: Vec<String> = ser
            .points
            .iter()
            .filter(|(_, v)| v.is_finite())
            .map(|&(size, v)| format!("{:.1},{:.1}", x_of(size), y_of(v)))
            .collect();
        let dash = if ser.dashed {
            r#" stroke-dasharray="6,3""#
        } else {
            ""
        };
        let _ = writeln!(
            s,
            r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="1.8"{dash}/>"#,
            pts.join(" "),
            ser.color
        );
        for pt in &pts {
            let (x, y) = pt.split_once(',').unwrap_or(("0", "0"));
            let _ = writeln!(
                s,
                r#"<circle cx="{x}" cy="{y}" r="2.5" fill="{}"/>"#,
                ser.color
            );
        }
        let ly = t + 10.0 + 16.0 * k as f64;
        let _ = writeln!(
            s,
            r#"<line x1="{}" x2="{}" y1="{ly:.1}" y2="{ly:.1}" stroke="{}" stroke-width="2"{dash}/><text x="{}" y="{:.1}" font-size="10">{}</text>"#,
            r + 8.0,
            r + 24.0,
            ser.color,
            r + 28.0,
            ly + 3.5,
            esc(&ser.label)
        );
    }
    let _ = writeln!(
        s,
        r##"<text x="{}" y="{}" font-size="9" fill="#666">ratio of medians per round; values above {Y_CAP} drawn at the top</text>"##,
        l,
        oy + PANEL_H - 6.0
    );
}

/// A panel of one ratio (`which`: 0 to libpmem, 1 to the floor) for `ids` of a (group, mode).
fn ratio_panel(data: &Data, group: &str, mode: &str, which: usize, ids: &[&str]) -> Panel {
    let sizes = data.sizes(group, mode);
    let series = ids
        .iter()
        .filter_map(|id| {
            let points: Vec<(usize, f64)> = sizes
                .iter()
                .filter_map(|&size| {
                    let row = data.get(group, mode, size, id)?;
                    let r = if which == 0 {
                        row.vs_libpmem[0]
                    } else {
                        row.vs_floor[0]
                    };
                    Some((size, r))
                })
                .collect();
            if points.is_empty() {
                return None;
            }
            let label = data
                .get(group, mode, sizes[0], id)
                .map_or(id.to_string(), |r| {
                    if r.label.len() > 16 {
                        r.id.clone()
                    } else {
                        r.label.clone()
                    }
                });
            Some(Series {
                label,
                color: color(id),
                dashed: !id.starts_with("ours"),
                points,
            })
        })
        .collect();
    let title = if which == 0 {
        format!("{mode}: time / libpmem")
    } else {
        // The floor the rows were divided by, as recorded; results from before the column
        // existed ran only the mode's own floors, so the ones present are those.
        let recorded = ids
            .iter()
            .find_map(|id| data.get(group, mode, sizes[0], id))
            .map(|r| r.floor.replace('|', " or "))
            .filter(|f| !f.is_empty());
        let floors = recorded.unwrap_or_else(|| {
            ["floor", "floor.nt", "floor.t"]
                .into_iter()
                .filter(|id| data.get(group, mode, sizes[0], id).is_some())
                .collect::<Vec<_>>()
                .join(" or ")
        });
        format!("{mode}: time / floor ({floors})")
    };
    Panel {
        title,
        series,
        refs: vec![(1.0, "1.00".into())],
    }
}

// ---------------------------------------------------------------------------------------------
// Targets.

/// One target of issue 5 and how the run measured it.
struct Target {
    what: String,
    measured: String,
    verdict: String,
}

/// "met" if the median is at or under `limit`, "within noise" if only the first quartile is,
/// "not met" otherwise.
fn verdict(r: [f64; 3], limit: f64) -> String {
    if !r[0].is_finite() {
        "pending".into()
    } else if r[0] <= limit {
        "met".into()
    } else if r[1] <= limit {
        "within noise (median over, first quartile under)".into()
    } else {
        "not met".into()
    }
}

/// The worst (largest median) ratio among `rows`, with the size it was at.
fn worst<'a>(
    rows: impl Iterator<Item = &'a Row>,
    pick: impl Fn(&Row) -> [f64; 3],
) -> Option<(&'a Row, [f64; 3])> {
    rows.map(|r| (r, pick(r)))
        .filter(|(_, v)| v[0].is_finite())
        .max_by(|a, b| a.1[0].total_cmp(&b.1[0]))
}

fn targets(data: &Data) -> Vec<Target> {
    let mut out = Vec::new();
    let ours = |pred: &dyn Fn(&Row) -> bool| -> Vec<&Row> {
        data.rows
            .iter()
            .filter(|r| r.id == "ours.free" && pred(r))
            .collect()
    };
    let add_worst = |out: &mut Vec<Target>,
                     what: &str,
                     it: Vec<&Row>,
                     pick: &dyn Fn(&Row) -> [f64; 3],
                     limit: f64| {
        out.push(match worst(it.into_iter(), pick) {
            Some((row, r)) => Target {
                what: what.into(),
                measured: format!(
                    "worst {} ({} {} {}; interquartile {:.3}–{:.3})",
                    fmt_ratio(r[0]),
                    row.group,
                    row.mode,
                    fmt_size(row.size),
                    r[1],
                    r[2]
                ),
                verdict: verdict(r, limit),
            },
            None => Target {
                what: what.into(),
                measured: "no data".into(),
                verdict: "pending".into(),
            },
        })
    };

    // Every row against libpmem: first quartile <= 1.00 and median <= 1.02.
    let all = ours(&|r| r.vs_libpmem[0].is_finite());
    let failing: Vec<&&Row> = all
        .iter()
        .filter(|r| r.vs_libpmem[1] > 1.00 || r.vs_libpmem[0] > 1.02)
        .collect();
    let worst_row = all
        .iter()
        .max_by(|a, b| a.vs_libpmem[0].total_cmp(&b.vs_libpmem[0]));
    out.push(Target {
        what: "every (group, mode, size): ours.free / libpmem ≤ 1.00 at the first quartile and \
               ≤ 1.02 at the median"
            .into(),
        measured: match worst_row {
            None => "no data".into(),
            Some(w) => format!(
                "{} of {} rows miss; worst median {} ({} {} {}, first quartile {:.3}){}",
                failing.len(),
                all.len(),
                fmt_ratio(w.vs_libpmem[0]),
                w.group,
                w.mode,
                fmt_size(w.size),
                w.vs_libpmem[1],
                if failing.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; missing: {}",
                        failing
                            .iter()
                            .map(|r| format!(
                                "{} {} {} ({:.3}, q1 {:.3})",
                                r.group,
                                r.mode,
                                fmt_size(r.size),
                                r.vs_libpmem[0],
                                r.vs_libpmem[1]
                            ))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            ),
        },
        verdict: if all.is_empty() {
            "pending".into()
        } else if failing.is_empty() {
            "met".into()
        } else {
            "not met".into()
        },
    });
    add_worst(
        &mut out,
        "hardware-bound: persist of fresh data, every size: ours / floor ≤ 1.03",
        ours(&|r| r.group == "persist"),
        &|r| r.vs_floor,
        1.03,
    );
    add_worst(
        &mut out,
        "hardware-bound: copies from 64 KiB, every mode: ours / floor ≤ 1.03",
        ours(&|r| (r.group == "memcpy" || r.group == "memset") && r.size >= 64 << 10),
        &|r| r.vs_floor,
        1.03,
    );
    add_worst(
        &mut out,
        "forced-temporal copies from 1 KiB: ours / floor ≤ 1.03",
        ours(&|r| {
            (r.group == "memcpy" || r.group == "memset") && r.mode == "temporal" && r.size >= 1024
        }),
        &|r| r.vs_floor,
        1.03,
    );
    add_worst(
        &mut out,
        "free-function flush of a clean line: ours / floor ≤ 1.5",
        ours(&|r| r.group == "overhead" && r.mode == "flush of a clean line"),
        &|r| r.vs_floor,
        1.5,
    );
    let pair: Vec<&Row> = data
        .rows
        .iter()
        .filter(|r| r.id == "ours.pair")
        .filter(|r| r.group != "overhead" || r.mode == "flush of a clean line")
        .collect();
    add_worst(
        &mut out,
        "detected pair / concrete type where the call does work (persist, flush, flush of a \
         clean line) ≤ 1.05",
        pair,
        &|r| r.vs_concrete,
        1.05,
    );
    out.push(Target {
        what: "detection after the first call: a single load on the hot path".into(),
        measured: "disassembly (tests/disasm.rs), see the findings".into(),
        verdict: "see findings".into(),
    });
    out
}

// ---------------------------------------------------------------------------------------------
// Markdown.

/// The path of `file` as seen from the directory holding `markdown`.
fn relative(file: &Path, markdown: &Path) -> String {
    let base = markdown.parent().map(Path::to_path_buf).unwrap_or_default();
    let abs = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let (f, b) = (
        abs(file),
        abs(if base.as_os_str().is_empty() {
            Path::new(".")
        } else {
            &base
        }),
    );
    f.strip_prefix(&b)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| f.display().to_string())
}

fn table_header(cols: &[String]) -> String {
    format!(
        "| {} |\n|{}\n",
        cols.join(" | "),
        cols.iter().map(|_| " ---: |").collect::<String>()
    )
}

/// The part of the page that says what a sample is.
const WHAT_IS_TIMED: &str = concat!(
    "## What is timed\n\n",
    "- **One sample** = untimed preparation, TSC read (after LFENCE), one batch of calls, \
         [MFENCE,] TSC read (RDTSCP, LFENCE); the cost of an empty sample is subtracted and the \
         rest divided by the calls in the batch. Preparation and timing are identical for every \
         contender of a case; the contenders take turns within each round, in an order drawn \
         anew every round (a seeded permutation: each follows each other about equally often); \
         the first round is a warm-up (and checks copy results) and is not kept.\n\
         - **persist (fresh)**: the preparation writes every byte of the batch's regions with \
         ordinary stores (so every line is dirty in the cache), then MFENCE. The batch persists \
         each region once (regions of one batch cover 16 KiB, each starts on a line boundary); \
         the timing ends with MFENCE, so it includes the write-backs' completion.\n\
         - **flush (fresh)**: as persist, without the drain and without the completing MFENCE \
         (the cost to the caller of issuing the write-backs); an untimed SFENCE follows.\n\
         - **overhead**: 1000 calls per sample: a flush of one 64-byte line that is already \
         clean (1000 different lines, read and written back before the sample: repeated CLWBs \
         of one line wait for each other, which would hide the call), a persist of length 0, \
         a drain alone.\n\
         - **memcpy / memset**: the preparation writes the source regions (hot in the cache as \
         far as they fit) and writes back and invalidates every destination line (CLFLUSH + \
         MFENCE: the destination is not cached, as new pmem usually is). Destinations start on \
         64-byte boundaries, regions of a batch cover 16 KiB; the timing ends with MFENCE. \
         Modes: libpmem's default choice (`pmem_memcpy_persist`), forced temporal \
         (`PMEM_F_MEM_TEMPORAL`) and forced non-temporal (`PMEM_F_MEM_NONTEMPORAL`). Both \
         floors run in every mode, so the modes' rounds have the same company and a default \
         copy can be compared with a forced one; the floor of the default mode is the faster \
         of the two in each round, a forced mode's is its own kind.\n\
         - **Contenders**: ours through the free functions (`ours.free`), the pmem2-style \
         function pointers (`ours.fn`), the detected `Flusher`/`Drainer` pair (`ours.pair`) and \
         the concrete `Clwb`/`Sfence` types (`ours.concrete`); libpmem (`libpmem`, and \
         `libpmem.split` = `pmem_flush` + `pmem_drain`); the floor.\n\n"
);

/// The results of every CPU under `root`: each subdirectory with a `results.csv`, by name.
pub fn cpu_dirs(root: &Path) -> Vec<std::path::PathBuf> {
    let mut dirs: Vec<_> = std::fs::read_dir(root)
        .map(|it| {
            it.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.join("results.csv").is_file())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs
}

/// Writes each CPU's plots into its directory under `root` and the page for all of them to
/// `markdown`: the CPUs' target verdicts and ratios side by side, then each CPU's tables.
pub fn generate_all(root: &Path, markdown: &Path) -> std::io::Result<()> {
    let cpus: Vec<(String, Data, std::path::PathBuf)> = cpu_dirs(root)
        .into_iter()
        .map(|d| {
            let text = std::fs::read_to_string(d.join("results.csv"))?;
            let name = d
                .file_name()
                .map_or("?".into(), |n| n.to_string_lossy().into_owned());
            Ok((name, Data::parse(&text), d))
        })
        .collect::<std::io::Result<_>>()?;
    let mut md = String::new();
    md.push_str("# Benchmarks\n\n");
    md.push_str(
        "<!-- Generated by `pmem-flush-bench report` from the CSVs under bench/results/<cpu>/; \
         edit bench/NOTES.md (the findings) or bench/src/report.rs, not this file. -->\n\n",
    );
    md.push_str(
        "pmem-flush side by side with PMDK's libpmem 1.12.1 (through FFI, in the same process) \
         and with the hardware floor (hard-coded instruction loops, no dispatch), on every CPU \
         it was run on: each CPU's results live in `bench/results/<vendor>-<family>-<model>/` \
         and are shown side by side here. Every contender runs interleaved with the others on \
         the same buffers; medians over rounds.\n\n\
         **Reproduce**: `bash scripts/bench.sh` at the repository root on the CPU to measure \
         (installs libpmem-dev when missing, pins itself to one CPU, takes a few minutes, \
         rewrites that CPU's directory under `bench/results/` and this page, keeping the other \
         CPUs' results); `bash scripts/bench.sh --quick` is the smoke test CI runs. \
         `cargo run --release -p pmem-flush-bench -- report` regenerates this page from the \
         CSVs.\n\n",
    );
    md.push_str(
        "## CPUs\n\n| results | cpu | date | run | commit |\n| --- | --- | --- | --- | --- |\n",
    );
    for (name, data, _) in &cpus {
        let _ = writeln!(
            md,
            "| [{name}](#{}) | {} | {} | {} | {} |",
            name.to_lowercase(),
            esc(data.meta("cpu")),
            data.meta("date"),
            data.meta("run"),
            data.meta("commit")
        );
    }
    md.push_str("\n## Targets (issue 10), per CPU\n\n");
    md.push_str(
        "Ratios are medians of per-round ratios (a contender and its baseline measured in the \
         same round); \"within noise\" means the median misses the target but the first \
         quartile meets it.\n\n",
    );
    let mut cols = vec!["target".to_string()];
    cols.extend(cpus.iter().map(|(n, _, _)| n.clone()));
    md.push_str(&format!(
        "| {} |\n|{}\n",
        cols.join(" | "),
        cols.iter().map(|_| " --- |").collect::<String>()
    ));
    let per_cpu: Vec<Vec<Target>> = cpus.iter().map(|(_, d, _)| targets(d)).collect();
    if let Some(first) = per_cpu.first() {
        for (i, t) in first.iter().enumerate() {
            let mut line = format!("| {} |", t.what);
            for ts in &per_cpu {
                let _ = write!(line, " **{}**: {} |", ts[i].verdict, ts[i].measured);
            }
            md.push_str(&line);
            md.push('\n');
        }
    }
    md.push_str("\n## Side by side: ours.free against libpmem and the floor\n\n");
    md.push_str(
        "Per CPU, the median per-round ratio of `ours.free` to libpmem and to the floor (first \
         quartile in parentheses for libpmem).\n\n",
    );
    let mut keys: Vec<(String, String, usize)> = Vec::new();
    for (_, data, _) in &cpus {
        for r in data.rows.iter().filter(|r| r.id == "ours.free") {
            let k = (r.group.clone(), r.mode.clone(), r.size);
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
    }
    let mut cols = vec!["group".to_string(), "mode".to_string(), "size".to_string()];
    for (n, _, _) in &cpus {
        cols.push(format!("{n}: / libpmem"));
        cols.push(format!("{n}: / floor"));
    }
    md.push_str(&table_header(&cols));
    for (group, mode, size) in &keys {
        let mut line = format!("| {group} | {mode} | {} |", fmt_size(*size));
        for (_, data, _) in &cpus {
            match data.get(group, mode, *size, "ours.free") {
                Some(r) if r.vs_libpmem[0].is_finite() => {
                    let _ = write!(
                        line,
                        " {} ({:.3}) | {} |",
                        fmt_ratio(r.vs_libpmem[0]),
                        r.vs_libpmem[1],
                        fmt_ratio(r.vs_floor[0])
                    );
                }
                Some(r) => {
                    let _ = write!(line, " – | {} |", fmt_ratio(r.vs_floor[0]));
                }
                None => line.push_str(" – | – |"),
            }
        }
        md.push_str(&line);
        md.push('\n');
    }
    md.push('\n');
    md.push_str(WHAT_IS_TIMED);
    for (name, data, dir) in &cpus {
        let section = cpu_section(name, data, dir, markdown)?;
        // One level down: each CPU's page is a section of this one.
        for line in section.lines() {
            if line.starts_with('#') {
                md.push('#');
            }
            md.push_str(line);
            md.push('\n');
        }
    }
    if let Ok(notes) = std::fs::read_to_string(NOTES) {
        md.push_str(notes.trim_end());
        md.push('\n');
    }
    std::fs::write(markdown, md)
}

/// One CPU's section: its facts, its targets, its tables and plots (written into `out`).
fn cpu_section(name: &str, data: &Data, out: &Path, markdown: &Path) -> std::io::Result<String> {
    std::fs::create_dir_all(out)?;
    let mut md = String::new();
    let quick = data.meta("run").starts_with("quick");
    let _ = writeln!(md, "# {name}\n");
    if quick {
        md.push_str(
            "**Quick run (smoke test): too few rounds for the numbers to mean anything.**\n\n",
        );
    }
    md.push_str("| | |\n| --- | --- |\n");
    for key in [
        "date",
        "cpu",
        "kernel",
        "load average at start",
        "commit",
        "rustc",
        "ours",
        "libpmem",
        "floor",
        "timer",
        "run",
        "duration",
    ] {
        let _ = writeln!(md, "| {key} | {} |", esc(data.meta(key)));
    }
    md.push('\n');
    // Persist and flush.
    for (group, title) in [
        ("persist", "Persist of freshly written data"),
        ("flush", "Flush alone (freshly written data, no drain)"),
    ] {
        if data.sizes(group, "fresh").is_empty() {
            continue;
        }
        let ids = data.ids(group, "fresh");
        let ours: Vec<&str> = ids
            .iter()
            .map(String::as_str)
            .filter(|i| i.starts_with("ours"))
            .collect();
        let mut vs_lib = ours.clone();
        vs_lib.extend(
            ids.iter()
                .map(String::as_str)
                .filter(|i| *i == "libpmem.split"),
        );
        let mut vs_floor = ours.clone();
        vs_floor.extend(
            ids.iter()
                .map(String::as_str)
                .filter(|i| i.starts_with("libpmem")),
        );
        let plot = svg(
            title,
            &[
                ratio_panel(data, group, "fresh", 0, &vs_lib),
                ratio_panel(data, group, "fresh", 1, &vs_floor),
            ],
            2,
        );
        let file = out.join(format!("{group}.svg"));
        std::fs::write(&file, plot)?;
        let _ = writeln!(
            md,
            "## {title}\n\n![{title}]({})\n",
            relative(&file, markdown)
        );
        md.push_str("Median nanoseconds per call:\n\n");
        let mut cols = vec!["size".to_string(), "calls × rounds".to_string()];
        cols.extend(ids.iter().cloned());
        cols.extend([
            "ours.free / libpmem".into(),
            "ours.free / floor".into(),
            "libpmem / floor".into(),
        ]);
        md.push_str(&table_header(&cols));
        for size in data.sizes(group, "fresh") {
            let r = |id: &str| data.get(group, "fresh", size, id);
            let first = r(&ids[0]).expect("row");
            let mut line = format!(
                "| {} | {} × {} |",
                fmt_size(size),
                first.count,
                first.rounds
            );
            for id in &ids {
                let _ = write!(
                    line,
                    " {} |",
                    r(id).map_or("–".into(), |x| fmt_ns(x.median))
                );
            }
            let free = r("ours.free");
            let _ = write!(
                line,
                " {} | {} | {} |",
                free.map_or("–".into(), |x| fmt_ratio_iqr(x.vs_libpmem)),
                free.map_or("–".into(), |x| fmt_ratio_iqr(x.vs_floor)),
                r("libpmem").map_or("–".into(), |x| fmt_ratio(x.vs_floor[0])),
            );
            md.push_str(&line);
            md.push('\n');
        }
        md.push_str("\nContenders: ");
        let labels: Vec<String> = ids
            .iter()
            .filter_map(|id| {
                data.get(group, "fresh", data.sizes(group, "fresh")[0], id)
                    .map(|r| format!("`{id}` = {}", r.label))
            })
            .collect();
        md.push_str(&labels.join("; "));
        md.push_str(".\n\n");
    }

    // Overhead.
    let modes = data.modes("overhead");
    if !modes.is_empty() {
        md.push_str("## Call overhead\n\nMedian nanoseconds per call (1000 calls per sample), ratios in parentheses are interquartile ranges over rounds:\n\n");
        let cols: Vec<String> = [
            "case",
            "ours.free",
            "ours.fn",
            "ours.pair",
            "ours.concrete",
            "libpmem",
            "libpmem.split",
            "floor",
            "ours.free / libpmem",
            "ours.free / floor",
            "ours.pair / ours.concrete",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        md.push_str(&table_header(&cols));
        for mode in &modes {
            let size = data.sizes("overhead", mode)[0];
            let r = |id: &str| data.get("overhead", mode, size, id);
            let mut line = format!("| {mode} |");
            for id in &cols[1..8] {
                let _ = write!(
                    line,
                    " {} |",
                    r(id).map_or("–".into(), |x| fmt_ns(x.median))
                );
            }
            let free = r("ours.free");
            let _ = writeln!(
                line,
                " {} | {} | {} |",
                free.map_or("–".into(), |x| fmt_ratio_iqr(x.vs_libpmem)),
                free.map_or("–".into(), |x| fmt_ratio_iqr(x.vs_floor)),
                r("ours.pair").map_or("–".into(), |x| fmt_ratio_iqr(x.vs_concrete)),
            );
            md.push_str(&line);
        }
        md.push_str(
            "\nLabels: flush rows call `pmem_flush::flush_raw`, `get_flush_fn()`, \
             `Flusher::flush_raw`, `Clwb::flush_raw`, `pmem_flush`, a bare CLWB; persist rows the \
             persist forms; drain rows `pmem_flush::drain`, `get_drain_fn()`, `Drainer::drain`, \
             `Sfence::drain`, `pmem_drain`, a bare SFENCE.\n\n",
        );
    }

    // Copies.
    for group in ["memcpy", "memset"] {
        let modes = data.modes(group);
        if modes.is_empty() {
            continue;
        }
        let mut panels = Vec::new();
        for mode in &modes {
            let ids = data.ids(group, mode);
            let mut vs_lib: Vec<&str> = ids
                .iter()
                .map(String::as_str)
                .filter(|i| *i != "libpmem")
                .collect();
            vs_lib.sort_by_key(|i| !i.starts_with("ours"));
            let vs_floor: Vec<&str> = ids
                .iter()
                .map(String::as_str)
                .filter(|i| !i.starts_with("floor"))
                .collect();
            panels.push(ratio_panel(data, group, mode, 0, &vs_lib));
            panels.push(ratio_panel(data, group, mode, 1, &vs_floor));
        }
        let title = format!("{group} to persistent memory");
        let file = out.join(format!("{group}.svg"));
        std::fs::write(&file, svg(&title, &panels, 2))?;
        let _ = writeln!(
            md,
            "## {group}\n\n![{title}]({})\n",
            relative(&file, markdown)
        );
        let has_ours = data
            .rows
            .iter()
            .any(|r| r.group == group && r.id == "ours.free");
        if !has_ours {
            md.push_str(
                "Our copy contenders are not in this run (the `ours-copy` feature of the \
                 benchmark is off until `memcpy_persist` / `memset_persist` land, issue 4): \
                 the tables show libpmem against the floor.\n\n",
            );
        }
        for mode in &modes {
            let ids = data.ids(group, mode);
            let _ = writeln!(md, "### {group}, {mode}\n\nMedian nanoseconds per call:\n");
            let mut cols = vec!["size".to_string(), "calls × rounds".to_string()];
            cols.extend(ids.iter().cloned());
            if has_ours {
                cols.extend(["ours.free / libpmem".into(), "ours.free / floor".into()]);
            }
            cols.push("libpmem / floor".into());
            md.push_str(&table_header(&cols));
            for size in data.sizes(group, mode) {
                let r = |id: &str| data.get(group, mode, size, id);
                let first = r(&ids[0]).expect("row");
                let mut line = format!(
                    "| {} | {} × {} |",
                    fmt_size(size),
                    first.count,
                    first.rounds
                );
                for id in &ids {
                    let _ = write!(
                        line,
                        " {} |",
                        r(id).map_or("–".into(), |x| fmt_ns(x.median))
                    );
                }
                if has_ours {
                    let free = r("ours.free");
                    let _ = write!(
                        line,
                        " {} | {} |",
                        free.map_or("–".into(), |x| fmt_ratio_iqr(x.vs_libpmem)),
                        free.map_or("–".into(), |x| fmt_ratio_iqr(x.vs_floor)),
                    );
                }
                let _ = writeln!(
                    line,
                    " {} |",
                    r("libpmem").map_or("–".into(), |x| fmt_ratio_iqr(x.vs_floor))
                );
                md.push_str(&line);
            }
            let labels: Vec<String> = ids
                .iter()
                .filter_map(|id| {
                    data.get(group, mode, data.sizes(group, mode)[0], id)
                        .map(|r| format!("`{id}` = {}", r.label))
                })
                .collect();
            let _ = writeln!(md, "\nContenders: {}.\n", labels.join("; "));
        }
    }

    let _ = markdown;
    Ok(md)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_format() {
        assert_eq!(fmt_size(64), "64 B");
        assert_eq!(fmt_size(255), "255 B");
        assert_eq!(fmt_size(4096), "4 KiB");
        assert_eq!(fmt_size(64 << 20), "64 MiB");
    }

    fn record(size: usize, median: f64) -> Record {
        Record {
            group: "memcpy".into(),
            mode: "default".into(),
            size,
            count: 4,
            rounds: 15,
            contender: "ours.free".into(),
            kind: "ours".into(),
            label: "pmem_flush::memcpy_persist_raw, with a comma".into(),
            median_ns: median,
            q1_ns: 1.0,
            q3_ns: 2.0,
            min_ns: 0.5,
            vs_libpmem: 0.99,
            vs_libpmem_q1: 0.98,
            vs_libpmem_q3: 1.01,
            vs_floor: f64::NAN,
            vs_floor_q1: f64::NAN,
            vs_floor_q3: f64::NAN,
            floor: String::new(),
            vs_concrete: 1.0,
            vs_concrete_q1: 1.0,
            vs_concrete_q3: 1.0,
        }
    }

    #[test]
    fn csv_round_trip_by_column_name() {
        let meta = vec![("cpu".to_owned(), "Some CPU: with a colon".to_owned())];
        let text = to_csv(&meta, &[record(4096, 373.1), record(64, 207.5)]);
        let data = Data::parse(&text);
        assert_eq!(data.meta("cpu"), "Some CPU: with a colon");
        assert_eq!(data.rows.len(), 2);
        let r = data
            .get("memcpy", "default", 4096, "ours.free")
            .expect("row");
        assert_eq!(r.median, 373.1);
        assert_eq!(r.label, "pmem_flush::memcpy_persist_raw, with a comma");
        assert_eq!(r.vs_libpmem, [0.99, 0.98, 1.01]);
        assert!(r.vs_floor[0].is_nan());
    }

    #[test]
    fn the_floor_column_is_kept_and_may_be_missing() {
        let mut with = record(1024, 300.0);
        with.floor = "floor.nt|floor.t".into();
        let data = Data::parse(&to_csv(&[], &[with]));
        let r = data
            .get("memcpy", "default", 1024, "ours.free")
            .expect("row");
        assert_eq!(r.floor, "floor.nt|floor.t");
        // Results written before the column existed (the committed runs) still parse.
        let text = to_csv(&[], &[record(1024, 300.0)]);
        let mut rdr = csv::Reader::from_reader(text.as_bytes());
        let header = rdr.headers().expect("header").clone();
        let keep: Vec<usize> = (0..header.len())
            .filter(|&i| &header[i] != "floor")
            .collect();
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(keep.iter().map(|&i| &header[i])).unwrap();
        for rec in rdr.records() {
            let rec = rec.expect("valid");
            w.write_record(keep.iter().map(|&i| &rec[i])).unwrap();
        }
        let old = String::from_utf8(w.into_inner().unwrap()).unwrap();
        let old_header = old.lines().next().unwrap();
        assert!(!old_header.split(',').any(|c| c == "floor"), "{old}");
        let data = Data::parse(&old);
        let r = data
            .get("memcpy", "default", 1024, "ours.free")
            .expect("row");
        assert_eq!((r.median, r.floor.as_str()), (300.0, ""));
    }

    #[test]
    fn columns_are_found_by_name_in_any_order() {
        // The same record with the columns reversed and one unknown column: read by name.
        let text = to_csv(&[], &[record(256, 207.0)]);
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().expect("header").split(',').collect();
        let values: Vec<String> = {
            let mut rdr = csv::Reader::from_reader(text.as_bytes());
            let rec = rdr.records().next().expect("a record").expect("valid");
            rec.iter().map(str::to_owned).collect()
        };
        let mut w = csv::Writer::from_writer(Vec::new());
        let mut h: Vec<&str> = header.iter().rev().copied().collect();
        h.push("extra");
        w.write_record(&h).unwrap();
        let mut v: Vec<&str> = values.iter().rev().map(String::as_str).collect();
        v.push("ignored");
        w.write_record(&v).unwrap();
        let data = Data::parse(&String::from_utf8(w.into_inner().unwrap()).unwrap());
        let r = data
            .get("memcpy", "default", 256, "ours.free")
            .expect("row");
        assert_eq!((r.median, r.count, r.rounds), (207.0, 4, 15));
        assert_eq!(r.vs_concrete, [1.0, 1.0, 1.0]);
    }

    #[test]
    fn the_committed_results_parse() {
        for dir in cpu_dirs(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/results"))) {
            let text = std::fs::read_to_string(dir.join("results.csv")).unwrap();
            let data = Data::parse(&text);
            assert!(!data.rows.is_empty(), "{}", dir.display());
            assert_ne!(data.meta("cpu"), "?", "{}", dir.display());
        }
    }

    #[test]
    fn verdicts() {
        assert_eq!(verdict([0.99, 0.98, 1.0], 1.0), "met");
        assert!(verdict([1.01, 0.99, 1.02], 1.0).starts_with("within noise"));
        assert_eq!(verdict([1.10, 1.05, 1.2], 1.0), "not met");
        assert_eq!(verdict([f64::NAN; 3], 1.0), "pending");
    }
}
