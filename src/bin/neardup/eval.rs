//! `neardup eval`: the pipeline on a gold file's documents, scored, optionally across a
//! sweep of one setting.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use neardup::Config;
use neardup::NoProgress;
use neardup::cluster_files;
use neardup::eval::{EvalScores, Gold};

use crate::args::{EvalArgs, EvalFormat};

/// The settings a sweep can vary.
const KNOBS: [&str; 6] = [
    "threshold",
    "rewrite-threshold",
    "containment",
    "rewrite-window",
    "perms",
    "hamming",
];

/// Parses `KNOB=START:END:STEP` into the knob and its values (END included).
fn parse_sweep(spec: &str) -> Result<(String, Vec<f64>)> {
    let usage = || {
        format!(
            "--sweep {spec:?}: expected KNOB=START:END:STEP, KNOB one of {}",
            KNOBS.join(", ")
        )
    };
    let (knob, range) = spec.split_once('=').with_context(usage)?;
    if !KNOBS.contains(&knob) {
        bail!(usage());
    }
    let parts: Vec<f64> = range
        .split(':')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .with_context(usage)?;
    let [start, end, step] = parts[..] else {
        bail!(usage());
    };
    if step <= 0.0 || end < start || (end - start) / step > 1000.0 {
        bail!(
            "{}: STEP must be positive, END ≥ START, at most 1000 steps",
            usage()
        );
    }
    let n = ((end - start) / step + 1e-9).floor() as usize;
    let values = (0..=n)
        .map(|i| ((start + i as f64 * step) * 1e6).round() / 1e6)
        .collect();
    Ok((knob.to_owned(), values))
}

/// The configuration with one knob set.
fn with_knob(mut c: Config, knob: &str, v: f64) -> Result<Config> {
    match knob {
        "threshold" => c.threshold = v,
        "rewrite-threshold" => c.rewrite_threshold = v,
        "containment" => c.containment = v,
        "rewrite-window" => c.rewrite_window_days = v as u32,
        "perms" => c.perms = v as usize,
        "hamming" => c.hamming = v as u32,
        _ => unreachable!("checked by parse_sweep"),
    }
    c.validate()?;
    Ok(c)
}

pub fn run(a: &EvalArgs) -> Result<()> {
    crate::set_threads(&a.run)?;
    let gold = Gold::read(&a.gold)?;
    let corpus: PathBuf = a.corpus.clone().unwrap_or_else(|| a.gold.clone());
    let files = a.input.expand(std::slice::from_ref(&corpus))?;
    let opts = a.input.read_options();
    let base = a.sim.config()?;
    let score = |config: &Config| -> Result<EvalScores> {
        let result = cluster_files(files.clone(), config, &opts, &NoProgress)?;
        Ok(gold.score(&result.predictions()))
    };
    let mut out = String::new();
    match &a.sweep {
        None => {
            let s = score(&base)?;
            match a.format {
                EvalFormat::Json => out = serde_json::to_string(&s)? + "\n",
                EvalFormat::Text => write_single(&mut out, &a.gold, &s),
            }
        }
        Some(spec) => {
            let (knob, values) = parse_sweep(spec)?;
            if knob == "hamming" && base.method != neardup::Method::SimHash {
                bail!(
                    "--sweep hamming=...: the Hamming distance is used only with --method simhash"
                );
            }
            let mut rows = Vec::new();
            for v in values {
                let s = score(&with_knob(base.clone(), &knob, v)?)?;
                if !a.run.quiet {
                    eprintln!("neardup eval: {knob}={v} f1 {}", s.f1);
                }
                rows.push((v, s));
            }
            match a.format {
                EvalFormat::Json => {
                    let rows: Vec<serde_json::Value> = rows
                        .iter()
                        .map(|(v, s)| serde_json::json!({ knob.as_str(): v, "scores": s }))
                        .collect();
                    out = serde_json::to_string(&rows)? + "\n";
                }
                EvalFormat::Text => write_sweep(&mut out, &knob, &rows),
            }
        }
    }
    crate::write_output(None, |w| w.write_all(out.as_bytes()))
}

fn write_single(out: &mut String, gold: &std::path::Path, s: &EvalScores) {
    let _ = writeln!(out, "gold       {} ({} documents)", gold.display(), s.docs);
    let _ = writeln!(
        out,
        "pairs      gold {}, predicted {}, both {}",
        s.gold_pairs, s.pred_pairs, s.true_pairs
    );
    let _ = writeln!(
        out,
        "pairwise   precision {:.4}  recall {:.4}  F1 {:.4}",
        s.precision, s.recall, s.f1
    );
    let _ = writeln!(
        out,
        "clusters   ARI {:.4}  B-cubed F1 {:.4}",
        s.ari, s.bcubed_f1
    );
    if !s.labelled_pairs.is_empty() {
        let _ = writeln!(out, "\nlabel                 pairs  merged");
        for (label, r) in &s.labelled_pairs {
            let _ = writeln!(out, "{label:<20} {:>6}  {:.4}", r.pairs, r.merged);
        }
    }
}

fn write_sweep(out: &mut String, knob: &str, rows: &[(f64, EvalScores)]) {
    let labels: Vec<&String> = rows
        .first()
        .map(|(_, s)| s.labelled_pairs.keys().collect())
        .unwrap_or_default();
    let _ = write!(out, "{knob:>17}  precision  recall      F1     ARI   B3-F1");
    for l in &labels {
        let _ = write!(out, "  {l:>8}");
    }
    out.push('\n');
    let width = |l: &str| l.len().max(8);
    for (v, s) in rows {
        let _ = write!(
            out,
            "{v:>17}  {:>9.4}  {:>6.4}  {:>6.4}  {:>6.4}  {:>6.4}",
            s.precision, s.recall, s.f1, s.ari, s.bcubed_f1
        );
        for l in &labels {
            let _ = write!(out, "  {:>w$.4}", s.labelled_pairs[*l].merged, w = width(l));
        }
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweep_values() {
        let (k, v) = parse_sweep("threshold=0.05:0.2:0.05").unwrap();
        assert_eq!(k, "threshold");
        assert_eq!(v, vec![0.05, 0.1, 0.15, 0.2]);
        assert!(parse_sweep("speed=1:2:1").is_err());
        assert!(parse_sweep("threshold=0.5:0.1:0.1").is_err());
        assert!(parse_sweep("threshold=0.1:0.5").is_err());
        let (k, v) = parse_sweep("hamming=7:9:1").unwrap();
        assert_eq!((k.as_str(), v), ("hamming", vec![7.0, 8.0, 9.0]));
        let c = with_knob(Config::default(), "hamming", 8.0).unwrap();
        assert_eq!(c.hamming, 8);
        assert!(with_knob(Config::default(), "hamming", 17.0).is_err());
    }
}
