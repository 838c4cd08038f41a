//! Issue 18, "nothing lost, whatever the environment does": one regression test per
//! reproduction of the hostile-environment probe (outputs, links, changed inputs, state
//! faults, panics, leftovers, unclear errors).

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::common::{Rng, corpus, run, stderr, stdout, story};

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap()
}

fn json_lines(p: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn record(id: &str, text: &str, date: &str) -> String {
    serde_json::json!({"id": id, "text": text, "date": date}).to_string()
}

/// Runs the binary and checks that it fails with `code`, saying `needle`; returns its
/// standard error.
fn fails(dir: &Path, args: &[&str], code: i32, needle: &str) -> String {
    let o = run(dir, args);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(code), "{args:?}: {e}");
    assert!(e.contains(needle), "{args:?}: {e}");
    e
}

/// `cluster s.jsonl --format jsonl -o OUT FLAG`, which must succeed.
fn cluster_jsonl_to(dir: &Path, out: &str, flag: &str) {
    let args = [
        "cluster", "s.jsonl", "-q", "--format", "jsonl", "-o", out, flag,
    ];
    let o = run(dir, &args);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
}

// ---- outputs ----

#[cfg(unix)]
#[test]
fn output_device_fifo_link_and_input_are_refused_and_left_alone() {
    use std::os::unix::fs::FileTypeExt;
    let d = tmp();
    let p = d.path();
    std::fs::write(p.join("s.jsonl"), corpus(20, 1)).unwrap();
    let input = read(&p.join("s.jsonl"));
    std::os::unix::fs::symlink("target.txt", p.join("link")).unwrap();
    std::fs::write(p.join("target.txt"), "old").unwrap();
    std::fs::create_dir(p.join("dir")).unwrap();
    let fifo = Command::new("mkfifo").arg(p.join("fifo")).status();
    // A null device of our own (as root): replacing it would replace only this one.
    let node = Command::new("mknod")
        .args([p.join("null").to_str().unwrap(), "c", "1", "3"])
        .stderr(Stdio::null())
        .status();
    let mut outs = vec!["s.jsonl", "link", "dir"];
    if fifo.is_ok_and(|s| s.success()) {
        outs.push("fifo");
    }
    let have_node = node.is_ok_and(|s| s.success());
    if have_node {
        outs.push("null");
    }
    for out in &outs {
        let cluster = ["cluster", "s.jsonl", "-q", "-o", out];
        let dedup = ["dedup", "s.jsonl", "-q", "-o", out];
        let groups = ["dedup", "s.jsonl", "-q", "-o", "k.jsonl", "--groups", out];
        for args in [&cluster[..], &dedup[..], &groups[..]] {
            fails(p, args, 2, &format!("neardup: {out}: "));
        }
    }
    assert_eq!(read(&p.join("s.jsonl")), input, "the input is untouched");
    assert!(
        std::fs::symlink_metadata(p.join("link"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(read(&p.join("target.txt")), b"old");
    if have_node {
        let ft = std::fs::symlink_metadata(p.join("null"))
            .unwrap()
            .file_type();
        assert!(ft.is_char_device());
        // Asked for: written straight into the device, which stays one.
        let o = run(
            p,
            &["cluster", "s.jsonl", "-q", "-o", "null", "--direct-output"],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let ft = std::fs::symlink_metadata(p.join("null"))
            .unwrap()
            .file_type();
        assert!(ft.is_char_device());
    }
    // Through the link when asked: the link stays, its target gets the output.
    cluster_jsonl_to(p, "link", "--follow-output-links");
    assert!(
        std::fs::symlink_metadata(p.join("link"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        std::fs::read_to_string(p.join("target.txt"))
            .unwrap()
            .lines()
            .count(),
        stdout(&run(p, &["cluster", "s.jsonl", "-q", "--format", "jsonl"]))
            .lines()
            .count()
    );
    // The same file twice as an output.
    let o = run(
        p,
        &[
            "dedup",
            "s.jsonl",
            "-q",
            "-o",
            "x.jsonl",
            "--groups",
            "./x.jsonl",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[cfg(unix)]
#[test]
fn a_fifo_reader_gets_the_output_with_direct_output() {
    let d = tmp();
    let p = d.path();
    std::fs::write(p.join("s.jsonl"), corpus(10, 2)).unwrap();
    if !Command::new("mkfifo")
        .arg(p.join("fifo"))
        .status()
        .is_ok_and(|s| s.success())
    {
        return;
    }
    let fifo = p.join("fifo");
    let reader = std::thread::spawn(move || std::fs::read(fifo).unwrap());
    cluster_jsonl_to(p, "fifo", "--direct-output");
    let got = reader.join().unwrap();
    let want = stdout(&run(p, &["cluster", "s.jsonl", "-q", "--format", "jsonl"]));
    assert_eq!(String::from_utf8(got).unwrap(), want);
}

#[test]
fn an_unusable_output_directory_fails_before_the_work() {
    let d = tmp();
    let p = d.path();
    std::fs::write(p.join("s.jsonl"), corpus(10, 3)).unwrap();
    let o = run(p, &["cluster", "s.jsonl", "-o", "missing/out.txt"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("missing/out.txt") && e.contains("directory"),
        "{e}"
    );
    // Nothing was computed: no summary line of a finished run.
    assert!(!e.contains("documents,"), "{e}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let ro = p.join("ro");
        std::fs::create_dir(&ro).unwrap();
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
        // Root writes anyway: then there is nothing to test.
        if std::fs::write(ro.join("probe"), "x").is_err() {
            let o = run(p, &["cluster", "s.jsonl", "-o", "ro/out.txt"]);
            assert_eq!(o.status.code(), Some(2));
            assert!(!stderr(&o).contains("documents,"), "{}", stderr(&o));
        }
    }
}

#[cfg(unix)]
#[test]
fn sigterm_removes_the_temporary_files() {
    let d = tmp();
    let p = d.path();
    // dedup spools standard input to a temporary file: kill it while it waits for more.
    std::fs::create_dir(p.join("spool")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_neardup"))
        .current_dir(p)
        .env("TMPDIR", p.join("spool"))
        .args(["dedup", "-", "-o", "kept.jsonl", "-q"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(corpus(5, 4).as_bytes()).unwrap();
    stdin.flush().unwrap();
    let temp = || {
        std::fs::read_dir(p.join("spool"))
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(".neardup-tmp-"))
            .count()
    };
    let start = std::time::Instant::now();
    while temp() == 0 && start.elapsed().as_secs() < 20 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(temp(), 1, "the spool file is there");
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let o = child.wait_with_output().unwrap();
    drop(stdin);
    assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
    assert_eq!(temp(), 0, "the spool file is gone");
    assert!(!p.join("kept.jsonl").exists());
}

#[test]
fn stale_temporary_files_are_removed_at_start() {
    let d = tmp();
    let p = d.path();
    std::fs::write(p.join("n1.jsonl"), corpus(5, 5)).unwrap();
    std::fs::create_dir_all(p.join("state")).unwrap();
    std::fs::create_dir_all(p.join("out")).unwrap();
    // Left by runs killed with -9: a pid that runs nowhere, and an older version's name.
    let dead = ".neardup-tmp-99999999-AbCdEf";
    std::fs::write(p.join("state").join(dead), "x").unwrap();
    std::fs::write(p.join("state/.tmpAbC123"), "x").unwrap();
    std::fs::write(p.join("out").join(dead), "x").unwrap();
    std::fs::write(p.join(dead), "x").unwrap();
    let o = run(
        p,
        &[
            "nightly",
            "--state",
            "state",
            "--out",
            "out",
            "--date",
            "2026-11-20",
            "-q",
            "n1.jsonl",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    if Path::new("/proc/self").exists() {
        assert!(!p.join("state").join(dead).exists());
        assert!(!p.join("out").join(dead).exists());
    }
    assert!(!p.join("state/.tmpAbC123").exists());
    let o = run(p, &["cluster", "n1.jsonl", "-q", "-o", "report.txt"]);
    assert!(o.status.success(), "{}", stderr(&o));
    if Path::new("/proc/self").exists() {
        assert!(!p.join(dead).exists());
    }
}

// ---- inputs ----

#[cfg(unix)]
#[test]
fn symlink_loops_are_walked_once() {
    let d = tmp();
    let p = d.path();
    std::fs::create_dir_all(p.join("d/loop")).unwrap();
    std::fs::write(p.join("d/a.txt"), "story").unwrap();
    std::os::unix::fs::symlink("..", p.join("d/loop/up")).unwrap();
    std::os::unix::fs::symlink(".", p.join("d/loop/self")).unwrap();
    for more in [&[][..], &["--follow-links"][..]] {
        let mut args = vec!["cluster", "d", "-q", "--format", "jsonl"];
        args.extend_from_slice(more);
        let o = run(p, &args);
        assert!(o.status.success(), "{more:?}: {}", stderr(&o));
        assert_eq!(stdout(&o).lines().count(), 1, "{more:?}: {}", stdout(&o));
    }
    // A linked file is read only when asked.
    std::fs::create_dir(p.join("e")).unwrap();
    std::os::unix::fs::symlink("../d/a.txt", p.join("e/b.txt")).unwrap();
    std::fs::write(p.join("e/c.txt"), "other story").unwrap();
    let o = run(p, &["cluster", "e", "-q", "--format", "jsonl"]);
    assert_eq!(stdout(&o).lines().count(), 1);
    let o = run(
        p,
        &["cluster", "e", "-q", "--format", "jsonl", "--follow-links"],
    );
    assert_eq!(stdout(&o).lines().count(), 2);
}

#[test]
fn bom_json_and_extensions_in_any_case_are_records() {
    let d = tmp();
    let p = d.path();
    let mut rng = Rng::new(6);
    let (a, b, c) = (story(&mut rng, 4), story(&mut rng, 4), story(&mut rng, 4));
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(format!("{}\n", record("bom1", &a, "2026-11-20")).as_bytes());
    std::fs::write(p.join("bom.JSONL"), &bom).unwrap();
    // A pretty-printed array.
    let arr = serde_json::to_string_pretty(&serde_json::json!([
        {"id": "arr1", "text": b},
        {"id": "arr2", "text": c},
    ]))
    .unwrap();
    std::fs::write(p.join("arr.json"), &arr).unwrap();
    std::fs::write(
        p.join("one.JSON.GZ"),
        gzip(record("one", &a, "2026-11-20").as_bytes()),
    )
    .unwrap();
    std::fs::write(
        p.join("more.JSONL.GZ"),
        gzip(format!("{}\n", record("gz1", &b, "2026-11-20")).as_bytes()),
    )
    .unwrap();
    let o = run(p, &["cluster", ".", "-q", "--format", "jsonl"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut ids: Vec<String> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].to_string())
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        ["\"arr1\"", "\"arr2\"", "\"bom1\"", "\"gz1\"", "\"one\""]
    );
    // dedup writes a .json record as one line of JSON Lines.
    let o = run(p, &["dedup", "arr.json", "-q", "-o", "k.jsonl"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let kept = json_lines(&p.join("k.jsonl"));
    assert_eq!(kept.len(), 2);
    assert_eq!(kept[0]["id"], "arr1");
    // A .json file that is not JSON names its line.
    std::fs::write(p.join("bad.json"), "[\n{\"id\": 1,\n oops}\n]").unwrap();
    fails(
        p,
        &["cluster", "bad.json", "-q"],
        2,
        "bad.json:3: invalid JSON",
    );
}

#[test]
fn a_truncated_gzip_exits_2_once_or_is_salvaged() {
    let d = tmp();
    let p = d.path();
    let text = corpus(60, 7);
    let gz = gzip(text.as_bytes());
    std::fs::write(p.join("cut.jsonl.gz"), &gz[..gz.len() * 2 / 3]).unwrap();
    let e = fails(p, &["cluster", "cut.jsonl.gz", "-q"], 2, "cut.jsonl.gz:");
    assert_eq!(e.lines().count(), 1, "{e}");
    assert_eq!(e.matches("ends early").count(), 1, "said once: {e}");
    assert!(e.contains("cut.jsonl.gz:"), "{e}");
    // The line named is the first one not read whole.
    let line: u64 = e
        .split("cut.jsonl.gz:")
        .nth(1)
        .and_then(|r| r.split(':').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(line > 1 && line <= text.lines().count() as u64, "{e}");

    let o = run(
        p,
        &[
            "dedup",
            "cut.jsonl.gz",
            "--skip-invalid",
            "-o",
            "k.jsonl",
            "--groups",
            "g.jsonl",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("skipped 1 invalid")
            && stderr(&o).contains(&format!("cut.jsonl.gz:{line}")),
        "{}",
        stderr(&o)
    );
    // Every record before the damage was read, and the kept ones are copied intact.
    let groups = json_lines(&p.join("g.jsonl"));
    assert_eq!(groups.len() as u64, line - 1);
    let kept = String::from_utf8(read(&p.join("k.jsonl"))).unwrap();
    assert!(!kept.is_empty());
    for l in kept.lines() {
        assert!(text.lines().any(|t| t == l), "{l} is a record of the input");
    }
}

#[test]
fn a_record_over_the_limit_is_a_clear_error() {
    let d = tmp();
    let p = d.path();
    let long = format!(
        "{}\n",
        record("big", &"word ".repeat(400_000), "2026-11-20")
    );
    let small = format!("{}\n", record("small", "a few words", "2026-11-20"));
    std::fs::write(
        p.join("big.jsonl.gz"),
        gzip(format!("{small}{long}").as_bytes()),
    )
    .unwrap();
    fails(
        p,
        &["cluster", "big.jsonl.gz", "-q", "--max-record-bytes", "1M"],
        2,
        "big.jsonl.gz:2: record longer than 1048576 bytes",
    );
    let o = run(
        p,
        &["cluster", "big.jsonl.gz", "-q", "--max-record-bytes", "4M"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::write(p.join("t.txt"), "x".repeat(5000)).unwrap();
    fails(
        p,
        &["cluster", "t.txt", "-q", "--max-record-bytes", "4K"],
        2,
        "t.txt:1: record longer",
    );
}

#[test]
fn dedup_keeps_crlf_byte_for_byte() {
    let d = tmp();
    let p = d.path();
    let c = corpus(12, 8);
    let crlf = c.replace('\n', "\r\n");
    std::fs::write(p.join("w.jsonl"), &crlf).unwrap();
    let o = run(p, &["dedup", "w.jsonl", "-q", "-o", "k.jsonl"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let kept = String::from_utf8(read(&p.join("k.jsonl"))).unwrap();
    assert!(kept.ends_with("\r\n"));
    assert_eq!(kept.matches("\r\n").count(), kept.matches('\n').count());
    for line in kept.split_inclusive("\r\n") {
        assert!(crlf.contains(line), "{line:?} is a line of the input");
    }
    // The same records as from the LF input, with their CRLF.
    std::fs::write(p.join("u.jsonl"), &c).unwrap();
    let o = run(p, &["dedup", "u.jsonl", "-q", "-o", "u-k.jsonl"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let unix = String::from_utf8(read(&p.join("u-k.jsonl"))).unwrap();
    assert!(
        unix.lines().count() < c.lines().count(),
        "some copies are dropped"
    );
    assert_eq!(kept, unix.replace('\n', "\r\n"));
}

#[test]
fn a_changed_input_is_an_error_not_a_wrong_kept_file() {
    use neardup::io::read::expand_inputs;
    let d = tmp();
    let path = d.path().join("in.jsonl");
    std::fs::write(&path, corpus(10, 9)).unwrap();
    let files = expand_inputs(std::slice::from_ref(&path)).unwrap();
    let kept = crate::common::every_record(&files);
    let (n, out) = crate::common::copy_kept(&files, &kept).unwrap();
    assert_eq!(n as usize, kept.len());
    assert_eq!(out, read(&path));
    // Rewritten between the analysis and the copy: a record differs.
    std::fs::write(&path, corpus(10, 10)).unwrap();
    let e = crate::common::copy_kept(&files, &kept).unwrap_err();
    assert!(matches!(e, neardup::Error::InputChanged { .. }), "{e}");
    assert!(
        e.to_string().starts_with(&format!("{}:1:", path.display())),
        "{e}"
    );
    // Shortened: a record is gone.
    let first: String = corpus(10, 9).split_inclusive('\n').take(3).collect();
    std::fs::write(&path, first).unwrap();
    let e = crate::common::copy_kept(&files, &kept).unwrap_err();
    assert!(e.to_string().contains("gone or changed"), "{e}");
}

// ---- nightly state ----

fn night_args<'a>(out: &'a str, input: &'a str, date: &'a str, more: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "nightly", "--state", "state", "--out", out, "--date", date, "-q", input,
    ];
    args.extend_from_slice(more);
    args
}

fn nightly(p: &Path, out: &str, input: &str, date: &str, more: &[&str]) -> std::process::Output {
    run(p, &night_args(out, input, date, more))
}

#[test]
fn a_missing_manifest_is_an_error_not_a_fresh_start() {
    let d = tmp();
    let p = d.path();
    std::fs::write(p.join("n1.jsonl"), corpus(6, 11)).unwrap();
    std::fs::write(p.join("n2.jsonl"), corpus(6, 12)).unwrap();
    assert!(
        nightly(p, "o1", "n1.jsonl", "2026-11-20", &[])
            .status
            .success()
    );
    assert!(
        nightly(p, "o2", "n2.jsonl", "2026-11-21", &[])
            .status
            .success()
    );
    let before: Vec<_> = ["night-000001.ndx", "night-000002.ndx"]
        .iter()
        .map(|f| read(&p.join("state").join(f)))
        .collect();
    std::fs::remove_file(p.join("state/manifest.json")).unwrap();
    std::fs::write(p.join("n3.jsonl"), corpus(6, 13)).unwrap();
    let e = fails(
        p,
        &night_args("o3", "n3.jsonl", "2026-11-22", &[]),
        2,
        "restore",
    );
    assert!(e.contains("manifest.json"), "{e}");
    for (f, b) in ["night-000001.ndx", "night-000002.ndx"].iter().zip(before) {
        assert_eq!(read(&p.join("state").join(f)), b, "{f} untouched");
    }
}

#[test]
fn a_first_night_killed_before_its_commit_can_be_run_again() {
    let d = tmp();
    let p = d.path();
    std::fs::write(p.join("n1.jsonl"), corpus(6, 20)).unwrap();
    let o = run(
        p,
        &[
            "nightly",
            "--state",
            "clean",
            "--out",
            "c1",
            "--date",
            "2026-11-20",
            "-q",
            "n1.jsonl",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    // As a kill between the index file and the commit leaves it: the empty manifest a
    // new state starts with, and the night's index file.
    std::fs::create_dir(p.join("state")).unwrap();
    std::fs::write(
        p.join("state/manifest.json"),
        "{\"format\": 1, \"nights\": []}\n",
    )
    .unwrap();
    std::fs::copy(
        p.join("clean/night-000001.ndx"),
        p.join("state/night-000001.ndx"),
    )
    .unwrap();
    let o = nightly(p, "o1", "n1.jsonl", "2026-11-20", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    for f in ["kept.jsonl", "groups.jsonl", "report.txt"] {
        assert_eq!(
            read(&p.join("o1").join(f)),
            read(&p.join("c1").join(f)),
            "{f}"
        );
    }
}

#[test]
fn a_night_output_that_is_an_input_is_refused() {
    let d = tmp();
    let p = d.path();
    std::fs::create_dir(p.join("out")).unwrap();
    std::fs::write(p.join("out/kept.jsonl"), corpus(6, 21)).unwrap();
    let before = read(&p.join("out/kept.jsonl"));
    let args = night_args("out", "out/kept.jsonl", "2026-11-20", &[]);
    fails(p, &args, 2, "is also an input");
    assert_eq!(read(&p.join("out/kept.jsonl")), before);
}

#[test]
fn implausible_dates_and_window_are_refused() {
    let d = tmp();
    let p = d.path();
    std::fs::write(p.join("n1.jsonl"), corpus(6, 14)).unwrap();
    std::fs::write(p.join("n2.jsonl"), corpus(6, 15)).unwrap();
    let zero = night_args("o1", "n1.jsonl", "2026-11-20", &["--window-days", "0"]);
    fails(p, &zero, 2, "--window-days 0");
    assert!(
        nightly(p, "o1", "n1.jsonl", "2026-11-20", &[])
            .status
            .success()
    );
    let manifest = read(&p.join("state/manifest.json"));
    for date in ["2026-11-19", "2062-01-04", "2026-11-24"] {
        fails(
            p,
            &night_args("o2", "n2.jsonl", date, &[]),
            2,
            "--force-date",
        );
        assert_eq!(read(&p.join("state/manifest.json")), manifest);
    }
    // Within the window: fine.
    let o = nightly(p, "o2", "n2.jsonl", "2026-11-23", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn future_dates_leave_with_the_window() {
    let d = tmp();
    let p = d.path();
    let mut rng = Rng::new(16);
    std::fs::write(
        p.join("n1.jsonl"),
        format!(
            "{}\n{}\n",
            record("far", &story(&mut rng, 4), "9999-12-31"),
            record("now", &story(&mut rng, 4), "2026-11-20")
        ),
    )
    .unwrap();
    std::fs::write(
        p.join("n2.jsonl"),
        format!("{}\n", record("n2", &story(&mut rng, 4), "2026-11-21")),
    )
    .unwrap();
    std::fs::write(
        p.join("n3.jsonl"),
        format!("{}\n", record("n3", &story(&mut rng, 4), "2026-11-22")),
    )
    .unwrap();
    let w = ["--window-days", "1"];
    assert!(
        nightly(p, "o1", "n1.jsonl", "2026-11-20", &w)
            .status
            .success()
    );
    let s1: serde_json::Value = serde_json::from_slice(&read(&p.join("o1/summary.json"))).unwrap();
    assert_eq!(s1["future_dates_clamped"], 1);
    assert!(
        nightly(p, "o2", "n2.jsonl", "2026-11-21", &w)
            .status
            .success()
    );
    assert!(
        nightly(p, "o3", "n3.jsonl", "2026-11-22", &w)
            .status
            .success()
    );
    let s3: serde_json::Value = serde_json::from_slice(&read(&p.join("o3/summary.json"))).unwrap();
    // Both night-1 documents are gone: the far-future one with the night it came.
    assert_eq!(s3["evicted"], 2, "{s3}");
    assert_eq!(s3["held_after"], 2, "{s3}");
}

#[test]
fn a_repeated_id_is_reported_and_kept_when_its_text_changed() {
    let d = tmp();
    let p = d.path();
    let mut rng = Rng::new(17);
    let (a, b, c) = (story(&mut rng, 5), story(&mut rng, 5), story(&mut rng, 5));
    std::fs::write(
        p.join("n1.jsonl"),
        format!("{}\n", record("x", &a, "2026-11-20")),
    )
    .unwrap();
    std::fs::write(
        p.join("n2.jsonl"),
        format!(
            "{}\n{}\n{}\n",
            record("x", &b, "2026-11-21"),
            record("y", &c, "2026-11-21"),
            record("x", &a, "2026-11-21")
        ),
    )
    .unwrap();
    assert!(
        nightly(p, "o1", "n1.jsonl", "2026-11-20", &[])
            .status
            .success()
    );
    let o = run(
        p,
        &[
            "nightly",
            "--state",
            "state",
            "--out",
            "o2",
            "--date",
            "2026-11-21",
            "n2.jsonl",
            "-q",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("2 records repeat an id") && e.contains("\"x\""),
        "{e}"
    );
    let s: serde_json::Value = serde_json::from_slice(&read(&p.join("o2/summary.json"))).unwrap();
    assert_eq!(s["repeated_ids"], 2);
    assert_eq!(s["repeated_ids_changed"], 1);
    // The new text under the old id is kept; the exact resend is not.
    let kept = json_lines(&p.join("o2/kept.jsonl"));
    let texts: Vec<&str> = kept.iter().map(|k| k["text"].as_str().unwrap()).collect();
    assert_eq!(texts, [b.as_str(), c.as_str()]);
}

// ---- no panics ----

#[test]
fn a_very_long_id_does_not_panic_any_report() {
    let d = tmp();
    let p = d.path();
    let mut rng = Rng::new(18);
    let text = story(&mut rng, 5);
    let long = "i".repeat(70_000);
    std::fs::write(
        p.join("l.jsonl"),
        format!(
            "{}\n{}\n",
            record(&long, &text, "2026-11-20"),
            record("short", &text, "2026-11-20")
        ),
    )
    .unwrap();
    for format in ["text", "json", "jsonl", "csv"] {
        let o = run(p, &["cluster", "l.jsonl", "-q", "--format", format]);
        assert!(o.status.success(), "{format}: {}", stderr(&o));
        assert!(stdout(&o).contains(&long), "{format}");
    }
    let o = nightly(p, "o", "l.jsonl", "2026-11-20", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(p.join("state/manifest.json").exists());
}

#[test]
fn too_many_threads_are_capped_with_a_warning() {
    let d = tmp();
    let p = d.path();
    std::fs::write(p.join("s.jsonl"), corpus(10, 19)).unwrap();
    let start = std::time::Instant::now();
    let o = run(p, &["cluster", "s.jsonl", "-q", "--threads", "2000"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("--threads 2000"), "{}", stderr(&o));
    assert!(start.elapsed().as_secs() < 20);
}

#[cfg(target_os = "linux")]
#[test]
fn an_os_error_is_said_once() {
    let d = tmp();
    // Reading this file fails with EIO, which used to print twice.
    let o = run(d.path(), &["cluster", "/proc/self/mem", "-q"]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert_eq!(e.matches("os error").count(), 1, "{e}");
    assert!(e.starts_with("neardup: /proc/self/mem: "), "{e}");
}
