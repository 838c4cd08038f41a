//! The command line: every bad-input case, the output formats, dedup, determinism.

use std::io::Read;
use std::process::{Command, Stdio};

use crate::common::{corpus, run, seeds_dir, stderr, stdout};

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn seeds_rewrites_grouped_other_story_alone() {
    let d = tmp();
    let seeds = seeds_dir();
    let o = run(
        d.path(),
        &[
            "cluster",
            seeds.to_str().unwrap(),
            "--format",
            "jsonl",
            "-q",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    let group = |i: usize| lines[i]["group"].clone();
    assert!(!group(0).is_null());
    assert_eq!(group(0), group(1), "000 and 001 are one story");
    assert!(group(2).is_null(), "003 is a different story");
}

#[test]
fn malformed_json_names_file_and_line() {
    let d = tmp();
    std::fs::write(
        d.path().join("in.jsonl"),
        "{\"id\":\"a\",\"text\":\"x\"}\n{oops\n",
    )
    .unwrap();
    let o = run(d.path(), &["cluster", "in.jsonl", "-q"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("in.jsonl:2: invalid JSON"), "{e}");
}

#[test]
fn skip_invalid_counts_and_reports() {
    let d = tmp();
    std::fs::write(
        d.path().join("in.jsonl"),
        "{\"id\":\"a\",\"text\":\"x y z\"}\n{oops\n{\"id\":\"b\"}\n{\"id\":\"c\",\"text\":\"q\"}\n",
    )
    .unwrap();
    let o = run(d.path(), &["cluster", "in.jsonl", "-q", "--skip-invalid"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("documents        2"), "{out}");
    assert!(out.contains("skipped invalid  2"), "{out}");
    assert!(out.contains("in.jsonl:2: invalid JSON"), "{out}");
    assert!(
        out.contains("in.jsonl:3: field \"text\" is missing"),
        "{out}"
    );
}

#[test]
fn missing_text_field_is_invalid() {
    let d = tmp();
    std::fs::write(d.path().join("in.jsonl"), "{\"id\":\"a\",\"body\":\"x\"}\n").unwrap();
    let o = run(d.path(), &["cluster", "in.jsonl", "-q"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("in.jsonl:1: field \"text\" is missing"),
        "{}",
        stderr(&o)
    );
    // ... unless the text lives under another name.
    let o = run(
        d.path(),
        &["cluster", "in.jsonl", "-q", "--text-field", "body"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn invalid_utf8_text_file_is_decoded_lossily_and_counted() {
    let d = tmp();
    std::fs::create_dir(d.path().join("docs")).unwrap();
    std::fs::write(d.path().join("docs/bad.txt"), b"caf\xe9 au lait\n").unwrap();
    std::fs::write(d.path().join("docs/good.txt"), "tea\n").unwrap();
    let o = run(d.path(), &["cluster", "docs", "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("lossy UTF-8      1"), "{}", stdout(&o));
}

#[test]
fn empty_text_is_a_counted_singleton() {
    let d = tmp();
    std::fs::write(
        d.path().join("in.jsonl"),
        "{\"id\":\"a\",\"text\":\"\"}\n{\"id\":\"b\",\"text\":\"  ...  \"}\n",
    )
    .unwrap();
    let o = run(d.path(), &["cluster", "in.jsonl", "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("empty texts      2"), "{out}");
    assert!(out.contains("groups           0"), "{out}");
}

#[test]
fn repeated_id_names_both_lines() {
    let d = tmp();
    std::fs::write(
        d.path().join("in.jsonl"),
        "{\"id\":\"a\",\"text\":\"x\"}\n{\"id\":\"b\",\"text\":\"y\"}\n{\"id\":\"a\",\"text\":\"z\"}\n",
    )
    .unwrap();
    let o = run(d.path(), &["cluster", "in.jsonl", "-q"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("in.jsonl:3") && e.contains("in.jsonl:1") && e.contains("\"a\""),
        "{e}"
    );
}

#[test]
fn missing_path_is_named() {
    let d = tmp();
    let o = run(d.path(), &["cluster", "nope.jsonl", "-q"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("nope.jsonl: no such file or directory"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn gzip_and_stdin_inputs() {
    use std::io::Write;
    let d = tmp();
    let text = corpus(6, 1);
    let gz = std::fs::File::create(d.path().join("c.jsonl.gz")).unwrap();
    let mut enc = flate2::write::GzEncoder::new(gz, flate2::Compression::fast());
    enc.write_all(text.as_bytes()).unwrap();
    enc.finish().unwrap();
    std::fs::write(d.path().join("c.jsonl"), &text).unwrap();
    let a = run(
        d.path(),
        &["cluster", "c.jsonl.gz", "--format", "jsonl", "-q"],
    );
    let b = run(d.path(), &["cluster", "c.jsonl", "--format", "jsonl", "-q"]);
    assert!(a.status.success(), "{}", stderr(&a));
    assert_eq!(stdout(&a), stdout(&b));
    let mut child = Command::new(env!("CARGO_BIN_EXE_neardup"))
        .args(["cluster", "-", "--format", "jsonl", "-q"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), stdout(&b));
}

#[test]
fn formats_agree() {
    let d = tmp();
    std::fs::write(d.path().join("c.jsonl"), corpus(9, 2)).unwrap();
    let jsonl = stdout(&run(
        d.path(),
        &["cluster", "c.jsonl", "--format", "jsonl", "-q"],
    ));
    let csv = stdout(&run(
        d.path(),
        &["cluster", "c.jsonl", "--format", "csv", "-q"],
    ));
    let json = stdout(&run(
        d.path(),
        &["cluster", "c.jsonl", "--format", "json", "-q"],
    ));
    assert_eq!(csv.lines().count(), jsonl.lines().count() + 1);
    assert!(csv.starts_with("id,group,canonical,relation,similarity\n"));
    let j: serde_json::Value = serde_json::from_str(&json).unwrap();
    // 3 of the 9 stories have two copies each.
    assert_eq!(j["groups"].as_array().unwrap().len(), 3);
    for g in j["groups"].as_array().unwrap() {
        assert_eq!(g["size"], 3);
    }
    // -o writes the same bytes as standard output.
    let o = run(
        d.path(),
        &[
            "cluster", "c.jsonl", "--format", "jsonl", "-q", "-o", "p.jsonl",
        ],
    );
    assert!(o.status.success());
    assert_eq!(
        std::fs::read_to_string(d.path().join("p.jsonl")).unwrap(),
        jsonl
    );
}

#[test]
fn same_output_at_any_thread_count() {
    let d = tmp();
    std::fs::write(d.path().join("c.jsonl"), corpus(300, 3)).unwrap();
    let one = run(
        d.path(),
        &[
            "cluster",
            "c.jsonl",
            "--format",
            "jsonl",
            "-q",
            "--threads",
            "1",
        ],
    );
    let two = run(
        d.path(),
        &[
            "cluster",
            "c.jsonl",
            "--format",
            "jsonl",
            "-q",
            "--threads",
            "2",
        ],
    );
    let four = run(
        d.path(),
        &[
            "cluster",
            "c.jsonl",
            "--format",
            "jsonl",
            "-q",
            "--threads",
            "4",
        ],
    );
    assert!(one.status.success());
    assert_eq!(one.stdout, two.stdout);
    assert_eq!(one.stdout, four.stdout);
}

#[test]
fn dedup_keeps_canonicals_byte_for_byte() {
    let d = tmp();
    // Extra fields and odd spacing must survive unchanged.
    let input = "{\"id\":\"a\",  \"text\":\"one two three four five six seven eight nine ten\", \"x\": [1]}\n\
                 {\"id\":\"b\",\"text\":\"one two three four five six seven eight nine ten\"}\n\
                 {\"id\":\"c\",\"text\":\"something else entirely here\"}\n";
    std::fs::write(d.path().join("in.jsonl"), input).unwrap();
    let o = run(
        d.path(),
        &[
            "dedup",
            "in.jsonl",
            "-o",
            "kept.jsonl",
            "--groups",
            "g.jsonl",
            "-q",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let kept = std::fs::read_to_string(d.path().join("kept.jsonl")).unwrap();
    let lines: Vec<&str> = input.lines().collect();
    assert_eq!(kept, format!("{}\n{}\n", lines[0], lines[2]));
    let groups = std::fs::read_to_string(d.path().join("g.jsonl")).unwrap();
    assert_eq!(groups.lines().count(), 3);
    assert!(
        groups
            .lines()
            .nth(1)
            .unwrap()
            .contains("\"relation\":\"exact\"")
    );
}

#[test]
fn dedup_min_relation_is_relative_to_the_canonical() {
    let d = tmp();
    std::fs::write(d.path().join("c.jsonl"), corpus(9, 4)).unwrap();
    let kept = |rel: &str| {
        let o = run(
            d.path(),
            &[
                "dedup",
                "c.jsonl",
                "-o",
                "k.jsonl",
                "--min-relation",
                rel,
                "-q",
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        std::fs::read_to_string(d.path().join("k.jsonl")).unwrap()
    };
    // Each duplicated story's canonical is its original (as related to the others as its
    // exact copy, and first by id): the copy is exact, the wrapped one a near-duplicate.
    let near = kept("near_duplicate");
    assert_eq!(near.lines().count(), 9);
    assert!(!near.contains("-copy\"") && !near.contains("-wrap\""));
    // `exact` drops the three exact copies only.
    let exact = kept("exact");
    assert_eq!(exact.lines().count(), 12);
    assert!(!exact.contains("-copy\"") && exact.contains("s0-wrap"));
    assert_eq!(kept("rewrite"), near);
}

#[test]
fn dedup_leaves_no_output_on_error() {
    let d = tmp();
    std::fs::write(
        d.path().join("in.jsonl"),
        "{\"id\":\"a\",\"text\":\"x\"}\nnot json\n",
    )
    .unwrap();
    std::fs::write(d.path().join("kept.jsonl"), "previous\n").unwrap();
    let o = run(d.path(), &["dedup", "in.jsonl", "-o", "kept.jsonl", "-q"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        std::fs::read_to_string(d.path().join("kept.jsonl")).unwrap(),
        "previous\n"
    );
    let o = run(d.path(), &["dedup", "in.jsonl", "-o", "new.jsonl", "-q"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!d.path().join("new.jsonl").exists());
    let leftovers = std::fs::read_dir(d.path()).unwrap().count();
    assert_eq!(leftovers, 2, "no temporary file left behind");
}

#[test]
fn broken_pipe_exits_quietly() {
    let d = tmp();
    std::fs::write(d.path().join("c.jsonl"), corpus(3000, 5)).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_neardup"))
        .current_dir(d.path())
        .args(["cluster", "c.jsonl", "--format", "jsonl", "-q"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{:?}", out.status);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn bad_options_are_usage_errors() {
    let d = tmp();
    let seeds = seeds_dir();
    let s = seeds.to_str().unwrap();
    for args in [
        vec!["cluster", s, "--threshold", "1.5"],
        vec!["cluster", s, "--shingle", "word:0"],
        vec!["cluster", s, "--bands", "64x4"],
    ] {
        let o = run(d.path(), &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).is_empty());
    }
}

#[test]
fn eval_scores_a_gold_file() {
    let d = tmp();
    // Gold: every copy belongs with its story.
    let gold: String = corpus(9, 6)
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            let id = v["id"].as_str().unwrap().to_owned();
            let story = id.split('-').next().unwrap().to_owned();
            let copied = id.contains('-');
            v["cluster"] = if copied || corpus(9, 6).contains(&format!("\"{story}-copy\"")) {
                serde_json::json!(story)
            } else {
                serde_json::Value::Null
            };
            if copied {
                v["pair_of"] = serde_json::json!(story);
                v["label"] = serde_json::json!(if id.ends_with("-copy") {
                    "exact"
                } else {
                    "wrapped"
                });
            }
            v.to_string() + "\n"
        })
        .collect();
    std::fs::write(d.path().join("gold.jsonl"), gold).unwrap();
    let o = run(
        d.path(),
        &["eval", "--gold", "gold.jsonl", "--format", "json", "-q"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let s: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(s["precision"], 1.0);
    assert_eq!(s["recall"], 1.0);
    assert_eq!(s["labelled_pairs"]["exact"]["merged"], 1.0);
    assert_eq!(s["labelled_pairs"]["wrapped"]["pairs"], 3);
    // A sweep prints one row per value.
    let o = run(
        d.path(),
        &[
            "eval",
            "--gold",
            "gold.jsonl",
            "--sweep",
            "threshold=0.3:0.9:0.3",
            "-q",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().count(), 4);
}
