//! Golden snapshots of every output format on the bundled seeds.

use crate::common::{run, seeds_dir, stderr, stdout};

/// Masks the figures that change from run to run (elapsed time).
pub fn mask_times(s: &str) -> String {
    s.lines()
        // Peak memory varies too.
        .filter(|l| !l.starts_with("memory"))
        .map(|l| {
            if l.starts_with("elapsed") {
                "elapsed          [time]".to_owned()
            } else if l.trim_start().starts_with("\"elapsed\"") {
                "  \"elapsed\": [time],".to_owned()
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn seeds(format: &str) -> String {
    let d = tempfile::tempdir().unwrap();
    let seeds = seeds_dir();
    let o = run(
        d.path(),
        &["cluster", seeds.to_str().unwrap(), "--format", format, "-q"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o)
}

#[test]
fn text_report() {
    insta::assert_snapshot!(mask_times(&seeds("text")));
}

#[test]
fn jsonl_lines() {
    insta::assert_snapshot!(seeds("jsonl"));
}

#[test]
fn csv_rows() {
    insta::assert_snapshot!(seeds("csv"));
}

#[test]
fn json_groups() {
    let mut v: serde_json::Value = serde_json::from_str(&seeds("json")).unwrap();
    // Timings vary between runs; everything else is fixed.
    v["summary"]["seconds"] = serde_json::Value::Null;
    v["summary"]["elapsed"] = serde_json::Value::Null;
    v["summary"]["peak_rss_bytes"] = serde_json::Value::Null;
    v["summary"]["bytes_per_doc"] = serde_json::Value::Null;
    insta::assert_snapshot!(serde_json::to_string_pretty(&v).unwrap());
}
