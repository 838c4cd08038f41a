//! `neardup nightly`: cross-night groups, the window, crash safety, reruns and bad
//! states, through the binary.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Output};

use crate::common::{Rng, run, stderr, story};

/// A JSON Lines record.
fn record(id: &str, title: &str, text: &str, date: &str) -> String {
    serde_json::json!({"id": id, "title": title, "text": text, "date": date}).to_string()
}

/// Stories a0..a9 for night 1, and night 2: an exact copy of a1, a copy of a2 under
/// boilerplate, new stories b0..b4 and a copy of b0.
fn two_nights(dir: &Path) {
    let mut rng = Rng::new(41);
    let a: Vec<String> = (0..10).map(|_| story(&mut rng, 7)).collect();
    let b: Vec<String> = (0..5).map(|_| story(&mut rng, 7)).collect();
    let mut n1 = String::new();
    for (i, t) in a.iter().enumerate() {
        writeln!(
            n1,
            "{}",
            record(&format!("a{i}"), &format!("headline a{i}"), t, "2026-11-20")
        )
        .unwrap();
    }
    let mut n2 = String::new();
    writeln!(
        n2,
        "{}",
        record("b-copy1", "headline a1", &a[1], "2026-11-21")
    )
    .unwrap();
    let wrapped = format!("Valley Times staff. {} All rights reserved.", a[2]);
    writeln!(
        n2,
        "{}",
        record("b-wrap2", "headline a2", &wrapped, "2026-11-21")
    )
    .unwrap();
    for (i, t) in b.iter().enumerate() {
        writeln!(
            n2,
            "{}",
            record(&format!("b{i}"), &format!("headline b{i}"), t, "2026-11-21")
        )
        .unwrap();
    }
    writeln!(
        n2,
        "{}",
        record("b0-copy", "headline b0", &b[0], "2026-11-21")
    )
    .unwrap();
    let mut n3 = String::new();
    writeln!(
        n3,
        "{}",
        record("c-copy1", "headline a1", &a[1], "2026-11-30")
    )
    .unwrap();
    writeln!(
        n3,
        "{}",
        record("c-copy0", "headline b0", &b[0], "2026-11-30")
    )
    .unwrap();
    std::fs::write(dir.join("night1.jsonl"), n1).unwrap();
    std::fs::write(dir.join("night2.jsonl"), n2).unwrap();
    std::fs::write(dir.join("night3.jsonl"), n3).unwrap();
}

/// Runs one night; panics with its standard error when it fails.
fn night(dir: &Path, state: &str, out: &str, input: &str, date: &str) {
    night_with(dir, state, out, input, date, &[]);
}

/// [`night`] with more options.
fn night_with(dir: &Path, state: &str, out: &str, input: &str, date: &str, more: &[&str]) {
    let o = night_run(dir, [state, out, input, date], more);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// Runs one night: `[state, out, input, date]` and more options.
fn night_run(dir: &Path, [state, out, input, date]: [&str; 4], more: &[&str]) -> Output {
    let mut args = vec![
        "nightly", "--state", state, "--out", out, "--date", date, "-q", input,
    ];
    args.extend_from_slice(more);
    run(dir, &args)
}

/// With `--method simhash` the state remembers the method: the nights give the groups
/// that `MinHash` gives, and a night with another method is refused.
#[test]
fn simhash_nights_group_like_minhash() {
    let d = tempfile::tempdir().unwrap();
    two_nights(d.path());
    let sim = ["--method", "simhash"];
    for (state, more) in [("s-min", &[][..]), ("s-sim", &sim[..])] {
        night_with(
            d.path(),
            state,
            &format!("{state}-1"),
            "night1.jsonl",
            "2026-11-20",
            more,
        );
        night_with(
            d.path(),
            state,
            &format!("{state}-2"),
            "night2.jsonl",
            "2026-11-21",
            more,
        );
    }
    for n in ["1", "2"] {
        let file = |state: &str| d.path().join(format!("{state}-{n}/groups.jsonl"));
        assert_eq!(read(&file("s-min")), read(&file("s-sim")), "night {n}");
    }
    let two = lines(&d.path().join("s-sim-2/groups.jsonl"));
    assert_eq!(line(&two, "b-wrap2")["canonical"], "a2");
    let night3 = ["s-sim", "s-sim-3", "night3.jsonl", "2026-11-30"];
    let o = night_run(d.path(), night3, &["--force-date"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("simhash"), "{}", stderr(&o));
}

fn lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn line<'a>(lines: &'a [serde_json::Value], id: &str) -> &'a serde_json::Value {
    lines.iter().find(|l| l["id"] == id).unwrap()
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn stories_of_earlier_nights_keep_their_groups() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    two_nights(d);
    night(d, "state", "out1", "night1.jsonl", "2026-11-20");
    night(d, "state", "out2", "night2.jsonl", "2026-11-21");
    let g = lines(&d.join("out2/groups.jsonl"));
    assert_eq!(g.len(), 8);
    let copy = line(&g, "b-copy1");
    assert_eq!(copy["group"], "a1");
    assert_eq!(copy["canonical"], "a1");
    assert_eq!(copy["relation"], "exact");
    assert_eq!(copy["canonical_from_earlier_night"], true);
    let wrap = line(&g, "b-wrap2");
    assert_eq!(
        (&wrap["group"], &wrap["relation"]),
        (&"a2".into(), &"near_duplicate".into())
    );
    assert_eq!(wrap["canonical_from_earlier_night"], true);
    let own = line(&g, "b0-copy");
    assert_eq!(
        (&own["group"], &own["canonical"]),
        (&"b0".into(), &"b0".into())
    );
    assert_eq!(own["canonical_from_earlier_night"], false);
    assert_eq!(line(&g, "b3")["group"], serde_json::Value::Null);
    // Kept: tonight's new stories, records unchanged, in input order.
    let input = std::fs::read_to_string(d.join("night2.jsonl")).unwrap();
    let want: Vec<&str> = input
        .lines()
        .filter(|l| l.contains("\"id\":\"b") && !l.contains("b-") && !l.contains("b0-copy"))
        .collect();
    let kept = std::fs::read_to_string(d.join("out2/kept.jsonl")).unwrap();
    assert_eq!(kept.lines().collect::<Vec<_>>(), want);
    let report = std::fs::read_to_string(d.join("out2/report.txt")).unwrap();
    assert!(
        report.contains("a1") && report.contains("b-copy1"),
        "{report}"
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&read(&d.join("out2/summary.json"))).unwrap();
    assert_eq!(summary["night"], 2);
    assert_eq!(summary["joined_earlier"], 2);
    assert_eq!(summary["held_after"], 18);
    assert!(
        summary["peak_rss_bytes"].as_u64().is_some_and(|b| b > 0) || !cfg!(target_os = "linux")
    );

    // Night 3 is nine days later (a jump past the window, so --force-date): with a
    // 3-day window the earlier nights are gone, so copies of their stories start groups
    // of their own.
    let jump = ["state", "out3", "night3.jsonl", "2026-11-30"];
    let o = night_run(d, jump, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--force-date"), "{}", stderr(&o));
    night_with(
        d,
        "state",
        "out3",
        "night3.jsonl",
        "2026-11-30",
        &["--force-date"],
    );
    let g = lines(&d.join("out3/groups.jsonl"));
    assert_eq!(line(&g, "c-copy1")["group"], serde_json::Value::Null);
    let summary: serde_json::Value =
        serde_json::from_slice(&read(&d.join("out3/summary.json"))).unwrap();
    assert_eq!(summary["evicted"], 18);
    assert_eq!(summary["held_after"], 2);
}

#[test]
fn running_the_last_night_again_gives_the_same_outputs_and_earlier_nights_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    two_nights(d);
    night(d, "state", "out1", "night1.jsonl", "2026-11-20");
    night(d, "state", "out2", "night2.jsonl", "2026-11-21");
    let first: Vec<Vec<u8>> = ["kept.jsonl", "groups.jsonl", "report.txt", "report.html"]
        .iter()
        .map(|f| read(&d.join("out2").join(f)))
        .collect();
    let state = read(&d.join("state/night-000002.ndx"));
    // Again, without the date: the night keeps the one it had.
    let o = run(
        d,
        &[
            "nightly",
            "--state",
            "state",
            "--out",
            "again",
            "-q",
            "night2.jsonl",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    for (f, want) in ["kept.jsonl", "groups.jsonl", "report.txt", "report.html"]
        .iter()
        .zip(&first)
    {
        assert_eq!(&read(&d.join("again").join(f)), want, "{f}");
    }
    assert_eq!(read(&d.join("state/night-000002.ndx")), state);
    let manifest: serde_json::Value =
        serde_json::from_slice(&read(&d.join("state/manifest.json"))).unwrap();
    assert_eq!(manifest["nights"].as_array().unwrap().len(), 2);
    // Night 1's inputs once night 2 has run: refused, state untouched.
    let o = run(
        d,
        &[
            "nightly",
            "--state",
            "state",
            "--out",
            "x",
            "-q",
            "night1.jsonl",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("only the last night"), "{}", stderr(&o));
    assert_eq!(read(&d.join("state/night-000002.ndx")), state);
    // The last night again under another date: refused.
    let o = run(
        d,
        &[
            "nightly",
            "--state",
            "state",
            "--out",
            "x",
            "--date",
            "2026-11-25",
            "-q",
            "night2.jsonl",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn a_failed_state_write_keeps_the_old_state() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    two_nights(d);
    night(d, "clean", "clean1", "night1.jsonl", "2026-11-20");
    night(d, "clean", "clean2", "night2.jsonl", "2026-11-21");

    night(d, "state", "out1", "night1.jsonl", "2026-11-20");
    let manifest = read(&d.join("state/manifest.json"));
    // A directory where night 2's index file must go: saving it fails.
    std::fs::create_dir(d.join("state/night-000002.ndx")).unwrap();
    let o = run(
        d,
        &[
            "nightly",
            "--state",
            "state",
            "--out",
            "out2",
            "--date",
            "2026-11-21",
            "-q",
            "night2.jsonl",
        ],
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("night-000002.ndx"), "{}", stderr(&o));
    assert_eq!(read(&d.join("state/manifest.json")), manifest);
    std::fs::remove_dir(d.join("state/night-000002.ndx")).unwrap();
    night(d, "state", "out2", "night2.jsonl", "2026-11-21");
    for f in ["kept.jsonl", "groups.jsonl", "report.txt"] {
        assert_eq!(
            read(&d.join("out2").join(f)),
            read(&d.join("clean2").join(f)),
            "{f}"
        );
    }
    assert_eq!(
        read(&d.join("state/night-000002.ndx")),
        read(&d.join("clean/night-000002.ndx"))
    );
}

#[test]
fn a_corrupted_state_gives_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    two_nights(d);
    night(d, "state", "out1", "night1.jsonl", "2026-11-20");
    let args = [
        "nightly",
        "--state",
        "state",
        "--out",
        "out2",
        "--date",
        "2026-11-21",
        "-q",
        "night2.jsonl",
    ];
    let index = d.join("state/night-000001.ndx");
    let good = read(&index);
    let mut bad = good.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x40;
    std::fs::write(&index, &bad).unwrap();
    let o = run(d, &args);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("night-000001.ndx") && stderr(&o).contains("checksum"),
        "{}",
        stderr(&o)
    );
    std::fs::write(&index, &good).unwrap();
    let manifest = d.join("state/manifest.json");
    std::fs::write(&manifest, b"{\"format\": 1, \"nights\": [").unwrap();
    let o = run(d, &args);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("corrupted manifest"), "{}", stderr(&o));
    std::fs::remove_file(&index).unwrap();
    std::fs::write(
        &manifest,
        br#"{"format":1,"nights":[{"night":1,"date":"2026-11-20","inputs":"0","documents":10,"index":"night-000001.ndx"}]}"#,
    )
    .unwrap();
    let o = run(d, &args);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("missing"), "{}", stderr(&o));
    // Another configuration than the state's.
    std::fs::write(&index, &good).unwrap();
    let o = run(
        d,
        &[
            "nightly",
            "--state",
            "state",
            "--out",
            "o",
            "--perms",
            "64",
            "--date",
            "2026-11-21",
            "-q",
            "night2.jsonl",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("another configuration"),
        "{}",
        stderr(&o)
    );
}

/// `kill -9` at several moments of a night: the state stays usable, and running the
/// night again gives the outputs and state of a run never interrupted.
#[test]
fn a_killed_night_can_be_run_again() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("night1.jsonl"), crate::common::corpus(3000, 5)).unwrap();
    std::fs::write(d.join("night2.jsonl"), crate::common::corpus(12_000, 6)).unwrap();
    night(d, "clean", "clean1", "night1.jsonl", "2026-11-20");
    night(d, "clean", "clean2", "night2.jsonl", "2026-11-21");
    for (i, delay) in [5u64, 40, 120, 300, 700].into_iter().enumerate() {
        let state = format!("state{i}");
        night(d, &state, "o1", "night1.jsonl", "2026-11-20");
        let mut child = Command::new(env!("CARGO_BIN_EXE_neardup"))
            .current_dir(d)
            .args([
                "nightly",
                "--state",
                &state,
                "--out",
                "o2",
                "--date",
                "2026-11-21",
                "-q",
            ])
            .arg("night2.jsonl")
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        night(d, &state, "o2", "night2.jsonl", "2026-11-21");
        for f in ["kept.jsonl", "groups.jsonl", "report.txt"] {
            assert_eq!(
                read(&d.join("o2").join(f)),
                read(&d.join("clean2").join(f)),
                "{f} after {delay} ms"
            );
        }
        assert_eq!(
            read(&d.join(&state).join("night-000002.ndx")),
            read(&d.join("clean/night-000002.ndx")),
            "state after {delay} ms"
        );
    }
}
