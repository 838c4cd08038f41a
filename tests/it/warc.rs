//! WARC input on the fixtures of `tests/data/warc` (made by its `make_fixtures.py`), the
//! byte-for-byte round trip of `dedup -o kept.warc.gz`, and every record of the real
//! samples in `../shared/warc` accounted for (ignored without `../shared`).

use std::path::{Path, PathBuf};

use neardup::NoProgress;
use neardup::io::read::expand_inputs;
use neardup::{Clustering, ReadOptions};
use neardup::{Config, cluster_files};

use crate::common::{run, stderr};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/warc")
        .join(name)
}

fn cluster(paths: &[PathBuf]) -> Clustering {
    let files = expand_inputs(paths).unwrap();
    cluster_files(
        files,
        &Config::default(),
        &ReadOptions::default(),
        &NoProgress,
    )
    .unwrap()
}

/// The gzip members of a file: (offset, bytes).
fn members(data: &[u8]) -> Vec<(usize, Vec<u8>)> {
    use std::io::Read;
    let mut rest = data;
    let mut out = Vec::new();
    while !rest.is_empty() {
        let at = data.len() - rest.len();
        let mut sink = Vec::new();
        flate2::bufread::GzDecoder::new(&mut rest)
            .read_to_end(&mut sink)
            .unwrap();
        out.push((at, data[at..data.len() - rest.len()].to_vec()));
    }
    out
}

#[test]
fn plain_and_gzip_read_alike() {
    let plain = cluster(&[fixture("small.warc")]);
    let gz = cluster(&[fixture("small.warc.gz")]);
    for r in [&plain, &gz] {
        let w = &r.stats.warc;
        assert_eq!(w.records, 14);
        assert_eq!(w.pages, 3);
        assert_eq!((w.request, w.metadata, w.revisit, w.warcinfo), (3, 3, 1, 1));
        assert_eq!((w.redirect, w.non_200, w.non_html, w.broken), (1, 1, 1, 0));
        let ids: Vec<&str> = r.docs.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "https://daily.example/news/bridge",
                "https://petit.example/cafes",
                "https://weekly.example/2026/bridge"
            ]
        );
        // The copy of the story on another site is grouped with the first.
        assert_eq!(r.groups.len(), 1);
        assert_eq!(r.groups[0].members.len(), 2);
    }
    let ids = |r: &Clustering| -> Vec<(String, Option<String>, Option<i64>)> {
        r.docs
            .iter()
            .map(|d| (d.id.clone(), d.title.clone(), d.timestamp))
            .collect()
    };
    assert_eq!(ids(&plain), ids(&gz));
    let d = &gz.docs;
    // og:site_name is cut from <title>; article:published_time, JSON-LD datePublished,
    // and else the WARC-Date.
    assert_eq!(
        d[0].title.as_deref(),
        Some("Council votes to rebuild the harbour bridge")
    );
    assert_eq!(d[0].timestamp, neardup::parse_date("2026-03-01T08:00:00Z"));
    assert_eq!(
        d[1].title.as_deref(),
        Some("Café owners protest parking rules")
    );
    assert_eq!(d[1].timestamp, neardup::parse_date("2026-02-27"));
    assert_eq!(d[2].timestamp, neardup::parse_date("2026-03-02T10:02:00Z"));
}

#[test]
fn windows_1252_page_is_decoded_and_boilerplate_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        dir.path(),
        &[
            "cluster",
            fixture("small.warc.gz").to_str().unwrap(),
            "--format",
            "jsonl",
            "-q",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let rows: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 3);
    let cafe = &rows[1];
    assert_eq!(cafe["url"], "https://petit.example/cafes");
    let text = cafe["text"].as_str().unwrap();
    assert!(text.contains("Café owners in the old town"), "{text}");
    assert!(text.contains("naïve comparisons"), "{text}");
    for row in &rows {
        let text = row["text"].as_str().unwrap();
        for furniture in ["We use cookies", "All rights reserved", "Another story"] {
            assert!(!text.contains(furniture), "{furniture:?} in {text}");
        }
    }
    assert_eq!(rows[2]["group"], "https://daily.example/news/bridge");
    assert_eq!(rows[2]["relation"], "exact");
}

#[test]
fn broken_records_are_reported_and_skipped() {
    let r = cluster(&[fixture("truncated.warc.gz")]);
    let w = &r.stats.warc;
    assert_eq!((w.records, w.pages, w.broken), (5, 1, 1));
    assert!(
        w.broken_examples[0].contains("truncated.warc.gz: byte ")
            && w.broken_examples[0].contains("cut short"),
        "{:?}",
        w.broken_examples
    );
    let r = cluster(&[fixture("bad-header.warc.gz")]);
    let w = &r.stats.warc;
    assert_eq!((w.records, w.broken, w.warcinfo, w.request), (3, 1, 1, 1));
    assert!(
        w.broken_examples[0].contains("byte 0: not a WARC record"),
        "{:?}",
        w.broken_examples
    );
    // The report names them too.
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        dir.path(),
        &[
            "cluster",
            fixture("truncated.warc.gz").to_str().unwrap(),
            "-q",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let report = String::from_utf8(out.stdout).unwrap();
    assert!(report.contains("1 broken"), "{report}");
}

#[test]
fn wet_conversion_records_are_documents() {
    let r = cluster(&[fixture("small.warc.wet")]);
    assert_eq!(r.stats.warc.pages, 2);
    assert_eq!(r.groups.len(), 1);
}

#[test]
fn dedup_to_warc_round_trips_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let input = fixture("small.warc.gz");
    let kept = dir.path().join("kept.warc.gz");
    let out = run(
        dir.path(),
        &[
            "dedup",
            input.to_str().unwrap(),
            "-o",
            kept.to_str().unwrap(),
            "-q",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let original = members(&std::fs::read(&input).unwrap());
    let written = members(&std::fs::read(&kept).unwrap());
    // warcinfo, then request/response/metadata of the two kept pages; the copy on the
    // other site (fetch 3) and the records that are not pages are left out.
    let want: Vec<Vec<u8>> = [0, 1, 2, 3, 4, 5, 6]
        .iter()
        .map(|&i| original[i].1.clone())
        .collect();
    let got: Vec<Vec<u8>> = written.into_iter().map(|(_, m)| m).collect();
    assert_eq!(got.len(), want.len());
    assert!(got == want, "the kept members differ from the input's");
    // The kept file parses: two pages, nothing broken.
    let r = cluster(&[kept]);
    assert_eq!((r.stats.warc.pages, r.stats.warc.broken), (2, 0));
    assert_eq!(
        (
            r.stats.warc.request,
            r.stats.warc.metadata,
            r.stats.warc.warcinfo
        ),
        (2, 2, 1)
    );

    // Plain WARC too, and --format jsonl gives the extracted fields of kept pages.
    let kept = dir.path().join("kept.warc");
    let out = run(
        dir.path(),
        &[
            "dedup",
            fixture("small.warc").to_str().unwrap(),
            "-o",
            kept.to_str().unwrap(),
            "-q",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let r = cluster(&[kept]);
    assert_eq!(r.stats.warc.pages, 2);
    let rows = dir.path().join("kept.jsonl");
    let out = run(
        dir.path(),
        &[
            "dedup",
            input.to_str().unwrap(),
            "-o",
            rows.to_str().unwrap(),
            "--format",
            "jsonl",
            "-q",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&rows).unwrap();
    let rows: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    for key in ["url", "title", "date", "text", "group"] {
        assert!(rows[0].get(key).is_some(), "{key} missing: {}", rows[0]);
    }
}

#[test]
fn input_format_overrides_the_name() {
    let dir = tempfile::tempdir().unwrap();
    let renamed = dir.path().join("crawl.dat");
    std::fs::copy(fixture("small.warc.gz"), &renamed).unwrap();
    let out = run(
        dir.path(),
        &[
            "cluster",
            "crawl.dat",
            "--input-format",
            "warc",
            "--format",
            "json",
            "-q",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["summary"]["documents"], 3);
    assert_eq!(v["summary"]["warc"]["pages"], 3);
}

#[test]
fn nightly_reads_warc_and_keeps_warc() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        dir.path(),
        &[
            "nightly",
            "--state",
            "state",
            "--out",
            "night",
            "--date",
            "2026-03-02",
            fixture("small.warc.gz").to_str().unwrap(),
            "-q",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let kept = dir.path().join("night/kept.warc.gz");
    assert!(!dir.path().join("night/kept.jsonl").exists());
    let r = cluster(&[kept]);
    assert_eq!((r.stats.warc.pages, r.stats.warc.broken), (2, 0));
}

#[test]
fn warc_on_standard_input() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let kept = dir.path().join("kept.warc.gz");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_neardup"))
        .current_dir(dir.path())
        .args([
            "dedup",
            "-",
            "--input-format",
            "warc",
            "-o",
            "kept.warc.gz",
            "-q",
        ])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let input = std::fs::read(fixture("small.warc.gz")).unwrap();
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let r = cluster(&[kept]);
    assert_eq!((r.stats.warc.pages, r.stats.warc.broken), (2, 0));
}

/// The outputs on the fixtures, run from their directory so that paths are relative.
fn in_fixtures(args: &[&str]) -> String {
    let o = run(&fixture(""), args);
    assert!(o.status.success(), "{}", stderr(&o));
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn snapshot_text_report_counts_skipped_records() {
    let report = in_fixtures(&[
        "cluster",
        "small.warc.gz",
        "truncated.warc.gz",
        "bad-header.warc.gz",
        "-q",
    ]);
    insta::assert_snapshot!(crate::snapshots::mask_times(&report));
}

#[test]
fn snapshot_jsonl_rows_with_extracted_fields() {
    insta::assert_snapshot!(in_fixtures(&[
        "cluster",
        "small.warc",
        "--format",
        "jsonl",
        "-q"
    ]));
}

#[test]
#[ignore = "needs ../shared"]
fn shared_warc_samples_every_record_accounted_for() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/warc");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".warc.gz"))
        .collect();
    paths.sort();
    assert_eq!(paths.len(), 11);
    let mut records = 0;
    for p in &paths {
        let r = cluster(std::slice::from_ref(p));
        let w = &r.stats.warc;
        let skipped: u64 = w.skipped().iter().map(|(_, n)| n).sum();
        assert_eq!(w.records, w.pages + skipped, "{}: {w:?}", p.display());
        assert_eq!(r.stats.documents, w.pages, "{}", p.display());
        records += w.records;
    }
    // The kept file of each parses whole: as many pages as documents kept, none broken.
    let tmp = tempfile::tempdir().unwrap();
    for p in &paths {
        let kept = tmp.path().join(p.file_name().unwrap());
        let out = run(
            tmp.path(),
            &["dedup", p.to_str().unwrap(), "-o", kept.to_str().unwrap()],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        let said = stderr(&out);
        let n: u64 = said
            .split("kept ")
            .nth(1)
            .and_then(|s| s.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no kept count in {said}"));
        let r = cluster(&[kept]);
        assert_eq!(r.stats.warc.pages, n, "{}", p.display());
        assert_eq!(r.stats.warc.broken, 0, "{}", p.display());
    }
    // PROVENANCE.md: 955 records in the eleven files.
    assert_eq!(records, 955);
    // All at once: the same, and a run over the whole directory does not stop.
    let r = cluster(&[dir]);
    assert_eq!(r.stats.warc.records, 955);
}

/// The copy of kept WARC records checks them against the digests of the analysis, like
/// JSON lines, and a WARC file beside a JSON Lines file keeps the input order.
#[test]
fn kept_warc_records_are_checked_against_their_digests() {
    let d = tempfile::tempdir().unwrap();
    let warc = d.path().join("a.warc.gz");
    std::fs::copy(fixture("small.warc.gz"), &warc).unwrap();
    let lines = d.path().join("b.jsonl");
    std::fs::write(&lines, "{\"id\": \"x\", \"text\": \"one line\"}\r\n").unwrap();
    let files = expand_inputs(&[warc.clone(), lines.clone()]).unwrap();
    let mut kept = crate::common::every_record(&files);
    assert!(kept.keys().filter(|k| k.0 == 0).count() > 1, "pages read");
    let (n, out) = crate::common::copy_kept(&files, &kept).unwrap();
    assert_eq!(n as usize, kept.len());
    assert!(out.ends_with(b"\"one line\"}\r\n"));
    // A page that is not the one analysed is not copied: an error, not a wrong file.
    let page = *kept.keys().find(|k| k.0 == 0).unwrap();
    *kept.get_mut(&page).unwrap() ^= 1;
    let e = crate::common::copy_kept(&files, &kept).unwrap_err();
    assert!(matches!(e, neardup::Error::InputChanged { .. }), "{e}");
    assert!(e.to_string().contains("gone or changed"), "{e}");
}
