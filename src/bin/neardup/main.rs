//! The `neardup` command: argument parsing, progress, output files and exit codes.
//!
//! Exit codes: 0 success; 1 a system error (I/O); 2 bad input or usage (malformed
//! records, missing paths, invalid options).
#![allow(clippy::print_stderr)]

mod args;
mod compare;
mod eval;
mod progress;

use std::collections::HashSet;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;
use neardup::Clustering;
use neardup::cluster_files;
use neardup::io::atomic::{
    OutputPolicy, OutputTarget, TempFile, check_output, clean_stale_temp_files,
};
use neardup::io::read::{InputFile, InputKind, KeptRecords, copy_records};
use neardup::io::warc::write_page_rows;

use args::{Cli, ClusterArgs, Command, Common, DedupArgs, NightlyArgs};

fn main() -> ExitCode {
    // On SIGINT/SIGTERM, the temporary files being written go too (the state and the
    // outputs are as before the run).
    let _ = ctrlc::set_handler(|| {
        neardup::io::atomic::remove_live_temp_files();
        eprintln!("neardup: interrupted; nothing was replaced");
        std::process::exit(130);
    });
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Cluster(a) => run_cluster(a),
        Command::Dedup(a) => run_dedup(a),
        Command::Eval(a) => eval::run(a),
        Command::Nightly(a) => run_nightly(a),
        Command::Compare(a) => compare::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            eprintln!("neardup: {}", message(&e));
            ExitCode::from(exit_code(&e))
        }
    }
}

/// The error and its causes, each said once: a cause already in the message (an OS
/// error the library names with its path) is not repeated.
fn message(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for c in e.chain() {
        let s = c.to_string();
        if !out.contains(&s) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&s);
        }
    }
    out
}

/// 2 for bad input or usage (the run cannot succeed as asked), 1 for the system.
fn exit_code(e: &anyhow::Error) -> u8 {
    let usage = e.chain().any(|c| {
        c.downcast_ref::<neardup::Error>().is_some_and(|e| {
            e.is_bad_input()
                || matches!(
                    e,
                    neardup::Error::NotFound { .. }
                        | neardup::Error::Config(_)
                        | neardup::Error::State { .. }
                        | neardup::Error::IndexFile { .. }
                        | neardup::Error::IndexVersion { .. }
                        | neardup::Error::ConfigMismatch { .. }
                        | neardup::Error::Output { .. }
                )
        })
    });
    if usage { 2 } else { 1 }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// The most worker threads accepted, per core: more only adds contention (2,000 threads
/// on 2 cores made a 0.11 s run take 47 s).
const MAX_THREADS_PER_CORE: usize = 4;

pub(crate) fn set_threads(run: &args::RunOpts) -> Result<()> {
    if let Some(n) = run.threads {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        let max = MAX_THREADS_PER_CORE * cores;
        let n = if n > max {
            eprintln!(
                "neardup: warning: --threads {n} is more than {MAX_THREADS_PER_CORE} per core; \
                 using {max} ({cores} cores)"
            );
            max
        } else {
            n
        };
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .context("could not start the thread pool")?;
    }
    Ok(())
}

/// Expands the inputs of `common`, following links only if asked, read as
/// `--input-format` says.
fn inputs(common: &Common) -> Result<Vec<InputFile>> {
    Ok(common.input.expand(&common.inputs)?)
}

/// Checks the outputs before any work: none may destroy a device, a link, a directory
/// or an input (see `neardup::io::atomic`). Stale temporary files of killed runs beside
/// them are removed.
fn check_outputs(
    outputs: &[&Path],
    files: &[InputFile],
    policy: OutputPolicy,
) -> Result<Vec<OutputTarget>> {
    let inputs: Vec<PathBuf> = files.iter().map(|f| f.path.clone()).collect();
    let mut checked: Vec<OutputTarget> = Vec::new();
    for p in outputs {
        let t = check_output(p, &inputs, &checked, policy)?;
        if !t.direct {
            let dir = match t.target.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => Path::new("."),
            };
            clean_stale_temp_files(dir, false);
        }
        checked.push(t);
    }
    Ok(checked)
}

/// Reads, sketches, verifies and groups `files`.
fn run_pipeline(common: &Common, files: &[InputFile]) -> Result<Clustering> {
    set_threads(&common.run)?;
    let config = common.sim.config()?;
    let opts = common.input.read_options();
    let bars = progress::Bars::new(!common.run.quiet);
    let result = cluster_files(files.to_vec(), &config, &opts, &bars)?;
    if !common.run.quiet {
        let s = &result.stats;
        let rate = if s.elapsed > 0.0 {
            s.documents as f64 / s.elapsed
        } else {
            0.0
        };
        eprintln!(
            "neardup: {} documents, {} groups ({} documents in groups) in {:.2} s, {:.0} docs/s",
            s.documents, s.groups, s.docs_in_groups, s.elapsed, rate
        );
        report_skipped(s.skipped_invalid, &s.invalid_examples);
    }
    Ok(result)
}

/// Says on stderr how many records were skipped, with the first few (file and line).
fn report_skipped(skipped: u64, examples: &[String]) {
    if skipped > 0 {
        eprintln!("neardup: skipped {skipped} invalid records");
        for e in examples {
            eprintln!("neardup:   {e}");
        }
    }
}

/// Writes through `write` to a checked output (whole or not at all), or to standard
/// output when `out` is `None`.
pub(crate) fn write_output(
    out: Option<&OutputTarget>,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<()> {
    match out {
        None => {
            let stdout = io::stdout();
            let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
            write(&mut out)?;
            out.flush()?;
        }
        Some(t) => neardup::io::atomic::write_output(t, |w| {
            write(w).map_err(|e| neardup::Error::io(&t.path, e))
        })?,
    }
    Ok(())
}

fn run_cluster(a: &ClusterArgs) -> Result<()> {
    let files = inputs(&a.common)?;
    let out = match &a.output {
        Some(p) => check_outputs(&[p.as_path()], &files, a.out.policy())?.pop(),
        None => None,
    };
    let result = run_pipeline(&a.common, &files)?;
    let pages = files
        .iter()
        .any(|f| matches!(f.kind, InputKind::Warc | InputKind::Wet));
    if pages && a.format == args::FormatArg::Jsonl {
        // WARC pages: the extracted fields beside the group columns.
        let name = a.output.clone().unwrap_or_else(|| "<stdout>".into());
        write_output(out.as_ref(), |w| {
            write_page_rows(&result, &files, &|_| true, w, &name).map_err(io::Error::other)
        })?;
    } else if let Some(format) = a.format.library() {
        write_output(out.as_ref(), |w| result.write(format, w))?;
    } else {
        let fields = a.common.input.fields();
        let name = a.output.clone().unwrap_or_else(|| "<stdout>".into());
        let opts = neardup::io::html::HtmlOptions::default();
        write_output(out.as_ref(), |w| {
            neardup::io::html::write_html(&result, &files, &fields, &opts, w, &name)
                .map_err(io::Error::other)
        })?;
    }
    // The process ends now: freeing a large clustering piece by piece would only delay it.
    std::mem::forget(result);
    Ok(())
}

fn run_dedup(a: &DedupArgs) -> Result<()> {
    let mut files = inputs(&a.common)?;
    let mut outputs = vec![a.output.as_path()];
    outputs.extend(a.groups.as_deref());
    let checked = check_outputs(&outputs, &files, a.out.policy())?;
    // Standard input cannot be read twice: keep a copy for the second pass (removed on
    // a signal like the outputs' temporary files).
    let mut spool = None;
    for f in &mut files {
        if f.path.as_os_str() == "-" {
            let tmp = spool.get_or_insert_with(|| -> Result<TempFile> {
                let mut tmp = TempFile::new_in(&std::env::temp_dir())?;
                io::copy(&mut io::stdin().lock(), tmp.as_file_mut())
                    .context("cannot read standard input")?;
                Ok(tmp)
            });
            let tmp = tmp
                .as_ref()
                .map_err(|e| anyhow::anyhow!("cannot spool standard input: {e}"))?;
            tmp.path().clone_into(&mut f.path);
            // Standard input read as WARC or WET (`--input-format`) stays so.
            if f.kind == InputKind::Stdin {
                f.kind = InputKind::Jsonl;
            }
        }
    }
    let _spool = spool.transpose()?;
    let result = run_pipeline(&a.common, &files)?;

    // Records to drop: non-canonical members at least as close as --min-relation.
    let mut drop: HashSet<(u32, u64)> = HashSet::new();
    for g in &result.groups {
        for m in &g.members {
            if m.relation.relation().is_some_and(|r| r <= a.min_relation) {
                let d = &result.docs[m.doc as usize];
                drop.insert((d.file, d.line));
            }
        }
    }
    let kept: KeptRecords = result
        .docs
        .iter()
        .filter(|d| !drop.contains(&(d.file, d.line)))
        .map(|d| ((d.file, d.line), d.digest))
        .collect();

    neardup::io::atomic::write_output(&checked[0], |out| match a.format {
        args::KeptFormat::Same => {
            let reader = a.common.input.read_options().reader(files.clone());
            copy_records(reader, &kept, out, &a.output).map(|_| ())
        }
        args::KeptFormat::Jsonl => {
            let keep = |d: u32| {
                let d = &result.docs[d as usize];
                kept.contains_key(&(d.file, d.line))
            };
            write_page_rows(&result, &files, &keep, out, &a.output)
        }
    })?;
    if let Some(g) = checked.get(1) {
        write_output(Some(g), |out| result.write_jsonl(out))?;
    }
    if !a.common.run.quiet {
        eprintln!(
            "neardup: kept {} of {} documents in {}",
            kept.len(),
            result.docs.len(),
            a.output.display()
        );
    }
    Ok(())
}

fn run_nightly(a: &NightlyArgs) -> Result<()> {
    if a.common.input.input_format.is_some() {
        // The nightly job expands its inputs itself, by name.
        return Err(neardup::Error::Config(
            "nightly reads WARC and WET by file name (*.warc, *.warc.gz, *.warc.wet.gz); \
             --input-format is for cluster, dedup and eval"
                .into(),
        )
        .into());
    }
    set_threads(&a.common.run)?;
    let config = a.common.sim.config()?;
    let opts = neardup::nightly::NightOptions {
        state: a.state.clone(),
        out: a.out.clone(),
        window_days: a.window_days,
        date: a.date,
        min_relation: a.min_relation,
        read: a.common.input.read_options(),
        force_date: a.force_date,
    };
    let bars = progress::Bars::new(!a.common.run.quiet);
    let s = neardup::nightly::run_night(&a.common.inputs, &config, &opts, &bars)?;
    if !a.common.run.quiet {
        eprintln!(
            "neardup: night {} ({}){}: {} documents, {} kept, {} in groups ({} joined earlier nights' stories), {} held ({} evicted) in {:.1} s, {:.0} docs/s, peak {}; {}",
            s.night,
            s.date,
            if s.rerun { ", run again" } else { "" },
            s.documents,
            s.kept,
            s.in_groups,
            s.joined_earlier,
            s.held_after,
            s.evicted,
            s.elapsed,
            s.docs_per_second,
            s.peak_rss_bytes.map_or_else(
                || "memory unknown".to_owned(),
                |b| format!("{:.0} MB", b as f64 / 1e6)
            ),
            s.stages
                .iter()
                .map(|t| format!("{} {:.1} s", t.stage, t.seconds))
                .collect::<Vec<_>>()
                .join(", ")
        );
        report_skipped(s.skipped_invalid, &s.invalid_examples);
        if s.future_dates_clamped > 0 {
            eprintln!(
                "neardup: {} documents dated after the night are held as of the night's date",
                s.future_dates_clamped
            );
        }
    }
    // Said even with --quiet: a repeated id is a problem of the feed to look into.
    if s.repeated_ids > 0 {
        eprintln!(
            "neardup: {} records repeat an id already held ({} with another text, kept in kept.jsonl; the others left out as resends):",
            s.repeated_ids, s.repeated_ids_changed
        );
        for e in &s.repeated_examples {
            eprintln!("neardup:   {e}");
        }
    }
    Ok(())
}
