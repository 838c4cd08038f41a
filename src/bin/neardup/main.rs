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
use neardup::io::read::{InputFile, copy_records, expand_inputs};
use neardup::pipeline::{ReadOptions, cluster_files};

use args::{Cli, ClusterArgs, Command, Common, DedupArgs, NightlyArgs};

fn main() -> ExitCode {
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
            eprintln!("neardup: {e:#}");
            let usage = e.chain().any(|c| {
                c.downcast_ref::<neardup::Error>().is_some_and(|e| {
                    e.is_bad_input()
                        || matches!(
                            e,
                            neardup::Error::NotFound { .. }
                                | neardup::Error::Config(_)
                                | neardup::Error::State { .. }
                                | neardup::Error::IndexFile { .. }
                        )
                })
            });
            ExitCode::from(if usage { 2 } else { 1 })
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

pub(crate) fn set_threads(run: &args::RunOpts) -> Result<()> {
    if let Some(n) = run.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .context("could not start the thread pool")?;
    }
    Ok(())
}

/// Reads, sketches, verifies and groups the inputs of `common`.
fn run_pipeline(common: &Common) -> Result<(Clustering, Vec<InputFile>)> {
    set_threads(&common.run)?;
    let config = common.sim.config()?;
    let files = expand_inputs(&common.inputs)?;
    let opts = ReadOptions {
        fields: common.input.fields(),
        skip_invalid: common.input.skip_invalid,
    };
    let bars = progress::Bars::new(!common.run.quiet);
    let result = cluster_files(files.clone(), &config, &opts, &bars)?;
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
        if s.skipped_invalid > 0 {
            eprintln!("neardup: skipped {} invalid records", s.skipped_invalid);
        }
    }
    Ok((result, files))
}

/// Writes through `write` to `path` atomically (temporary file, then rename), or to
/// standard output when `path` is `None`.
pub(crate) fn write_output(
    path: Option<&Path>,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<()> {
    match path {
        None => {
            let stdout = io::stdout();
            let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
            write(&mut out)?;
            out.flush()?;
        }
        Some(p) => {
            let dir = match p.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => Path::new("."),
            };
            let tmp = tempfile::NamedTempFile::new_in(dir).with_context(|| {
                format!("{}: cannot create a file in this directory", p.display())
            })?;
            // An output file, readable like any other (temporary files are private).
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                tmp.as_file()
                    .set_permissions(std::fs::Permissions::from_mode(0o644))
                    .with_context(|| format!("{}: cannot set permissions", p.display()))?;
            }
            let mut out = BufWriter::with_capacity(1 << 16, tmp);
            write(&mut out).with_context(|| format!("{}: write failed", p.display()))?;
            let tmp = out
                .into_inner()
                .map_err(std::io::IntoInnerError::into_error)
                .with_context(|| format!("{}: write failed", p.display()))?;
            tmp.as_file()
                .sync_all()
                .with_context(|| format!("{}: sync failed", p.display()))?;
            tmp.persist(p).with_context(|| {
                format!("{}: cannot move the finished file into place", p.display())
            })?;
        }
    }
    Ok(())
}

fn run_cluster(a: &ClusterArgs) -> Result<()> {
    let (result, files) = run_pipeline(&a.common)?;
    if let Some(format) = a.format.library() {
        write_output(a.output.as_deref(), |out| result.write(format, out))?;
    } else {
        let fields = a.common.input.fields();
        let name = a.output.clone().unwrap_or_else(|| "<stdout>".into());
        let opts = neardup::io::html::HtmlOptions::default();
        write_output(a.output.as_deref(), |out| {
            neardup::io::html::write_html(&result, &files, &fields, &opts, out, &name)
                .map_err(io::Error::other)
        })?;
    }
    // The process ends now: freeing a large clustering piece by piece would only delay it.
    std::mem::forget(result);
    Ok(())
}

fn run_dedup(a: &DedupArgs) -> Result<()> {
    // Standard input cannot be read twice: keep a copy for the second pass.
    let mut common_inputs = a.common.inputs.clone();
    let _spool = if common_inputs.iter().any(|p| p.as_os_str() == "-") {
        let mut tmp = tempfile::Builder::new()
            .suffix(".jsonl")
            .tempfile()
            .context("cannot spool standard input")?;
        io::copy(&mut io::stdin().lock(), &mut tmp).context("cannot read standard input")?;
        let path: PathBuf = tmp.path().to_path_buf();
        for p in &mut common_inputs {
            if p.as_os_str() == "-" {
                p.clone_from(&path);
            }
        }
        Some(tmp)
    } else {
        None
    };
    let common = Common {
        inputs: common_inputs,
        ..a.common.clone()
    };
    let (result, files) = run_pipeline(&common)?;

    // Records to drop: non-canonical members at least as close as --min-relation.
    let mut drop: HashSet<(u32, u64)> = HashSet::new();
    for g in &result.groups {
        for m in &g.members {
            if m.relation.is_some_and(|r| r <= a.min_relation) {
                let d = &result.docs[m.doc as usize];
                drop.insert((d.file, d.line));
            }
        }
    }
    let kept: HashSet<(u32, u64)> = result
        .docs
        .iter()
        .map(|d| (d.file, d.line))
        .filter(|k| !drop.contains(k))
        .collect();

    write_output(Some(&a.output), |out| {
        copy_records(&files, |f, l| kept.contains(&(f, l)), out, &a.output)
            .map_err(io::Error::other)
    })?;
    if let Some(g) = &a.groups {
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
    set_threads(&a.common.run)?;
    let config = a.common.sim.config()?;
    let opts = neardup::nightly::NightOptions {
        state: a.state.clone(),
        out: a.out.clone(),
        window_days: a.window_days,
        date: a.date,
        min_relation: a.min_relation,
        read: ReadOptions {
            fields: a.common.input.fields(),
            skip_invalid: a.common.input.skip_invalid,
        },
    };
    let bars = progress::Bars::new(!a.common.run.quiet);
    let s = neardup::nightly::run_night(&a.common.inputs, &config, &opts, &bars)?;
    if !a.common.run.quiet {
        eprintln!(
            "neardup: night {} ({}){}: {} documents, {} kept, {} in groups ({} joined earlier nights' stories), {} held ({} evicted) in {:.1} s, {:.0} docs/s",
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
            s.docs_per_second
        );
    }
    Ok(())
}
