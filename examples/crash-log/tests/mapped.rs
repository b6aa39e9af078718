//! The `mapped` example's run, as a test: the log on a memory-mapped temporary file with the
//! real flusher.

#[path = "../examples/mapped.rs"]
mod mapped;

#[test]
fn the_log_on_a_mapped_file() {
    let path = std::env::temp_dir().join(format!("crash-log-test-{}.ring", std::process::id()));
    let result = mapped::run(&path);
    let _ = std::fs::remove_file(&path);
    let summary = result.unwrap_or_else(|e| panic!("{e}"));
    assert!(summary.contains("2000 records appended"), "{summary}");
    eprintln!("{summary}");
}
