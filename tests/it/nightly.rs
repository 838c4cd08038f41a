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

/// Nights `2026-12-01` … of one crawl: night 1 holds stories s0..s4 published a year
/// earlier; each later night has a filler story of its own plus what `extra` gives it.
fn crawl(dir: &Path, nights: usize, extra: impl Fn(usize, &[String]) -> Vec<String>) {
    let mut rng = Rng::new(53);
    let s: Vec<String> = (0..5).map(|_| story(&mut rng, 7)).collect();
    for k in 1..=nights {
        let mut n = String::new();
        if k == 1 {
            for (i, t) in s.iter().enumerate() {
                writeln!(
                    n,
                    "{}",
                    record(&format!("s{i}"), &format!("old s{i}"), t, "2025-11-15")
                )
                .unwrap();
            }
        }
        writeln!(
            n,
            "{}",
            record(
                &format!("f{k}"),
                &format!("filler {k}"),
                &story(&mut rng, 7),
                &format!("2026-12-{k:02}")
            )
        )
        .unwrap();
        for l in extra(k, &s) {
            writeln!(n, "{l}").unwrap();
        }
        std::fs::write(dir.join(format!("night{k}.jsonl")), n).unwrap();
    }
    for k in 1..=nights {
        night(
            dir,
            "state",
            &format!("out{k}"),
            &format!("night{k}.jsonl"),
            &format!("2026-12-{k:02}"),
        );
    }
}

/// A light copy: every 30th word dropped.
fn light_copy(text: &str) -> String {
    text.split(' ')
        .enumerate()
        .filter(|(i, _)| i % 30 != 29)
        .map(|(_, w)| w)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The window follows crawl nights, not publication dates: copies of last night's
/// articles are matched however old their publication date.
#[test]
fn old_dated_copies_of_last_nights_articles_are_matched() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    crawl(d, 2, |k, s| {
        if k == 2 {
            (0..5)
                .map(|i| {
                    record(
                        &format!("copy{i}"),
                        &format!("old s{i}"),
                        &light_copy(&s[i]),
                        "2025-11-15",
                    )
                })
                .collect()
        } else {
            Vec::new()
        }
    });
    let g = lines(&d.join("out2/groups.jsonl"));
    for i in 0..5 {
        let l = line(&g, &format!("copy{i}"));
        assert_eq!(l["group"], format!("s{i}"), "{l}");
    }
    let summary: serde_json::Value =
        serde_json::from_slice(&read(&d.join("out2/summary.json"))).unwrap();
    assert_eq!(summary["evicted"], 0);
    assert_eq!(summary["held_after"], 12);
}

/// A document stays `--window-days` (3) nights after the night it was seen: a copy on
/// night 4 is matched, one on night 5 starts a group of its own; a repeat sighting of
/// the id on night 3 keeps s1 in the state until night 6.
#[test]
fn the_window_counts_nights_since_a_document_was_last_seen() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let resend = |s: &[String]| record("s1", "old s1", &s[1], "2025-11-15");
    crawl(d, 6, |k, s| match k {
        3 => vec![resend(s)],
        4 => vec![record("late0", "old s0", &light_copy(&s[0]), "2025-11-15")],
        5 => vec![
            record("later0", "old s0", &light_copy(&s[0]), "2025-11-15"),
            record("later1", "old s1", &light_copy(&s[1]), "2025-11-15"),
        ],
        6 => vec![record(
            "latest1",
            "old s1",
            &light_copy(&s[1]),
            "2025-11-15",
        )],
        _ => Vec::new(),
    });
    let g3 = lines(&d.join("out3/groups.jsonl"));
    assert_eq!(line(&g3, "s1")["repeated_id"], true);
    let g4 = lines(&d.join("out4/groups.jsonl"));
    assert_eq!(line(&g4, "late0")["group"], "s0");
    let g5 = lines(&d.join("out5/groups.jsonl"));
    // s0 was last seen on night 1: gone before night 5 (the summary's count below).
    // `late0` (night 4) is held, so the group goes on under its id.
    let later0 = line(&g5, "later0");
    assert_eq!(later0["group"], "s0", "{later0}");
    assert_ne!(later0["canonical"], "s0", "{later0}");
    // s1 was seen again on night 3: still held on nights 5 and 6 (nothing else of its
    // story was inserted before night 5).
    assert_eq!(line(&g5, "later1")["group"], "s1");
    let g6 = lines(&d.join("out6/groups.jsonl"));
    assert_eq!(line(&g6, "latest1")["group"], "s1");
    let summary: serde_json::Value =
        serde_json::from_slice(&read(&d.join("out5/summary.json"))).unwrap();
    // Before night 5: night 1's documents but the resent s1 (s0, s2, s3, s4, f1).
    assert_eq!(summary["evicted"], 5);
}

/// A copy arriving after the window has passed is not matched.
#[test]
fn a_copy_after_the_window_is_not_matched() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    crawl(d, 5, |k, s| {
        if k == 5 {
            vec![record("gone2", "old s2", &light_copy(&s[2]), "2025-11-15")]
        } else {
            Vec::new()
        }
    });
    let g = lines(&d.join("out5/groups.jsonl"));
    assert_eq!(line(&g, "gone2")["group"], serde_json::Value::Null);
}

/// A state directory written before the window followed crawl nights (index format 3,
/// `tests/data/state-v3`: the documents of `index::docs(8, 26)`, published 2023-11-14 to
/// 18, as night 1 on 2023-11-16) goes on: its documents count as seen on their
/// publication date until seen again, and the next night's state is written in the
/// current format.
#[test]
fn a_state_of_the_previous_format_loads() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/state-v3");
    std::fs::create_dir(d.join("state")).unwrap();
    for f in ["manifest.json", "night-000001.ndx"] {
        std::fs::copy(golden.join(f), d.join("state").join(f)).unwrap();
    }
    let held = crate::index::docs(8, 26);
    let s1 = held.iter().find(|x| x.id == "s1").unwrap();
    let mut n = String::new();
    writeln!(
        n,
        "{}",
        record("s1-light", "", &light_copy(&s1.text), "2023-11-17")
    )
    .unwrap();
    std::fs::write(d.join("night2.jsonl"), n).unwrap();
    night(d, "state", "out2", "night2.jsonl", "2023-11-17");
    let summary: serde_json::Value =
        serde_json::from_slice(&read(&d.join("out2/summary.json"))).unwrap();
    assert_eq!(summary["night"], 2);
    assert_eq!(summary["held_before"], 14, "{summary}");
    let g = lines(&d.join("out2/groups.jsonl"));
    assert_eq!(line(&g, "s1-light")["group"], "s1");
    let manifest: serde_json::Value =
        serde_json::from_slice(&read(&d.join("state/manifest.json"))).unwrap();
    let file = d
        .join("state")
        .join(manifest["nights"][1]["index"].as_str().unwrap());
    let bytes = read(&file);
    assert_eq!(&bytes[8..12], &neardup::index::FORMAT_VERSION.to_le_bytes());
}

/// An earlier-published version arriving on a later night becomes its group's canonical
/// member; the group keeps its id, and groups.jsonl and the report say so.
#[test]
fn an_earlier_original_arriving_later_replaces_the_canonical() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut rng = Rng::new(67);
    let text = story(&mut rng, 8);
    let n1 = format!(
        "{}\n{}\n",
        record("outlet-a", "the story", &light_copy(&text), "2026-12-01"),
        record(
            "outlet-b",
            "the story",
            &format!("Valley Times. {text}"),
            "2026-12-01"
        ),
    );
    let n2 = format!("{}\n", record("wire", "the story", &text, "2026-11-28"));
    std::fs::write(d.join("night1.jsonl"), n1).unwrap();
    std::fs::write(d.join("night2.jsonl"), n2).unwrap();
    night(d, "state", "out1", "night1.jsonl", "2026-12-01");
    night(d, "state", "out2", "night2.jsonl", "2026-12-02");
    let g1 = lines(&d.join("out1/groups.jsonl"));
    let group = g1[0]["group"].as_str().unwrap().to_owned();
    let before = g1[0]["canonical"].as_str().unwrap().to_owned();
    assert!(before.starts_with("outlet-"), "{before}");
    let g2 = lines(&d.join("out2/groups.jsonl"));
    let wire = line(&g2, "wire");
    assert_eq!(wire["group"], group.as_str(), "{wire}");
    assert_eq!(wire["relation"], "canonical");
    assert_eq!(wire["replaced_canonical"], before.as_str());
    let report = std::fs::read_to_string(d.join("out2/report.txt")).unwrap();
    assert!(
        report.contains(&format!("group {group}: {before} -> wire")),
        "{report}"
    );
}
