//! How far the online `Index`, fed documents one at a time in a random order, is from the
//! batch run over the same documents: adjusted Rand index of the two partitions.
//!
//! `cargo run --release --example index_vs_batch -- SEED [--diff N] [--compact] FILE.jsonl...`
//! (QUALITY.md reports Reuters + BBC, seeds 1 to 5.) With `--diff N`, also the `N`
//! batch groups the Index splits most and the `N` Index groups that merge most batch
//! groups (by pairs of documents): where to look first, since ARI counts pairs. With
//! `--compact`, the Index runs with `Footprint::Compact` against the batch run's default
//! footprint: its agreement with the exact mode, also as pair precision and recall
//! (pairs of documents grouped together by the Index that the batch run groups
//! together, and the other way round).
#![allow(clippy::print_stdout)]

use std::collections::HashMap;

use neardup::TermStats;
use neardup::io::read::{FieldNames, RecordReader, expand_inputs, parse_record};
use neardup::{Config, Document, Footprint, Index, cluster_documents};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: SEED [--diff N] [--compact] FILE...";
    let seed: u64 = args.next().ok_or(usage)?.parse()?;
    let mut args = args.peekable();
    let diff: usize = if args.next_if(|a| a == "--diff").is_some() {
        args.next().ok_or(usage)?.parse()?
    } else {
        0
    };
    let compact = args.next_if(|a| a == "--compact").is_some();
    let paths: Vec<std::path::PathBuf> = args.map(Into::into).collect();
    let files = expand_inputs(&paths)?;
    let mut reader = RecordReader::new(files.clone());
    let mut docs: Vec<Document> = Vec::new();
    loop {
        let chunk = reader.next_chunk(8 << 20)?;
        if chunk.is_empty() {
            break;
        }
        for raw in &chunk {
            docs.push(parse_record(raw, &files, &FieldNames::default())?.doc);
        }
    }
    let config = Config::default();
    let batch = cluster_documents(&docs, &config)?;
    let batch_labels: Vec<Option<String>> = (0..docs.len() as u32)
        .map(|d| batch.group_of(d).map(|(g, _)| g.id.clone()))
        .collect();
    // A random order (xorshift).
    let mut order: Vec<usize> = (0..docs.len()).collect();
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for i in (1..order.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        order.swap(i, (x % (i as u64 + 1)) as usize);
    }
    let held = if compact {
        Config::builder().footprint(Footprint::Compact).build()?
    } else {
        config.clone()
    };
    for (name, index) in [
        (
            "with_stats",
            Index::with_stats(held.clone(), TermStats::from_documents(&docs, &held))?,
        ),
        ("new", Index::new(held.clone())?),
    ] {
        let start = std::time::Instant::now();
        for &i in &order {
            index.insert(docs[i].clone())?;
        }
        let secs = start.elapsed().as_secs_f64();
        let labels: Vec<Option<String>> = docs
            .iter()
            .map(|d| index.placement(&d.id).and_then(|p| p.group))
            .collect();
        let (p, r) = pair_agreement(&batch_labels, &labels);
        println!(
            "{name}{}: ARI {:.4}, pair precision {p:.4} recall {r:.4} against the batch run ({} documents, {:.1} s of inserts)",
            if compact { " (compact)" } else { "" },
            ari(&batch_labels, &labels),
            docs.len(),
            secs
        );
        if diff > 0 {
            for line in disagreements(&batch_labels, &labels, diff) {
                println!("  {line}");
            }
        }
    }
    Ok(())
}

/// The `n` groups of `a` split most in `b` and the `n` groups of `b` that merge most
/// groups of `a`, with the pairs of documents each costs.
fn disagreements(a: &[Option<String>], b: &[Option<String>], n: usize) -> Vec<String> {
    let pairs = |k: usize| k * k.saturating_sub(1) / 2;
    let worst = |x: &[Option<String>], y: &[Option<String>], what: &str| -> Vec<String> {
        let mut parts: HashMap<&str, HashMap<Option<&str>, Vec<usize>>> = HashMap::new();
        for (d, g) in x.iter().enumerate() {
            if let Some(g) = g {
                parts
                    .entry(g)
                    .or_default()
                    .entry(y[d].as_deref())
                    .or_default()
                    .push(d);
            }
        }
        let mut rows: Vec<(usize, String)> = parts
            .into_iter()
            .filter_map(|(g, split)| {
                let size: usize = split.values().map(Vec::len).sum();
                // Documents alone on the other side count as parts of one.
                let kept: usize = split
                    .iter()
                    .map(|(k, v)| if k.is_some() { pairs(v.len()) } else { 0 })
                    .sum();
                let cost = pairs(size) - kept;
                let mut sizes: Vec<usize> = split
                    .iter()
                    .flat_map(|(k, v)| {
                        if k.is_some() {
                            vec![v.len()]
                        } else {
                            vec![1; v.len()]
                        }
                    })
                    .collect();
                sizes.sort_unstable_by(|p, q| q.cmp(p));
                (cost > 0).then(|| {
                    (
                        cost,
                        format!("{what} {g} ({size}) -> {sizes:?}: {cost} pairs"),
                    )
                })
            })
            .collect();
        rows.sort_by(|p, q| q.0.cmp(&p.0).then_with(|| p.1.cmp(&q.1)));
        rows.into_iter().take(n).map(|r| r.1).collect()
    };
    let mut out = worst(a, b, "batch group split:");
    out.extend(worst(b, a, "index group merging:"));
    out
}

/// Of the pairs of documents `b` groups together, the share `a` groups together too
/// (precision of `b` against `a`), and of those `a` groups, the share `b` groups (recall).
fn pair_agreement(a: &[Option<String>], b: &[Option<String>]) -> (f64, f64) {
    let pairs = |k: usize| (k * k.saturating_sub(1) / 2) as f64;
    let mut both: HashMap<(&str, &str), usize> = HashMap::new();
    let (mut in_a, mut in_b): (HashMap<&str, usize>, HashMap<&str, usize>) =
        (HashMap::new(), HashMap::new());
    for (x, y) in a.iter().zip(b) {
        if let Some(x) = x {
            *in_a.entry(x).or_default() += 1;
        }
        if let Some(y) = y {
            *in_b.entry(y).or_default() += 1;
        }
        if let (Some(x), Some(y)) = (x, y) {
            *both.entry((x, y)).or_default() += 1;
        }
    }
    let shared: f64 = both.values().map(|&k| pairs(k)).sum();
    let total = |m: &HashMap<&str, usize>| m.values().map(|&k| pairs(k)).sum::<f64>();
    let ratio = |n: f64, d: f64| if d > 0.0 { n / d } else { 1.0 };
    (ratio(shared, total(&in_b)), ratio(shared, total(&in_a)))
}

/// Adjusted Rand index of two partitions; `None` is a singleton.
fn ari(a: &[Option<String>], b: &[Option<String>]) -> f64 {
    let label = |v: &[Option<String>]| -> Vec<String> {
        v.iter()
            .enumerate()
            .map(|(i, g)| g.clone().unwrap_or_else(|| format!("\0{i}")))
            .collect()
    };
    let (a, b) = (label(a), label(b));
    let pairs = |n: u64| n * n.saturating_sub(1) / 2;
    let mut both: HashMap<(&str, &str), u64> = HashMap::new();
    let mut ca: HashMap<&str, u64> = HashMap::new();
    let mut cb: HashMap<&str, u64> = HashMap::new();
    for (x, y) in a.iter().zip(&b) {
        *both.entry((x, y)).or_default() += 1;
        *ca.entry(x).or_default() += 1;
        *cb.entry(y).or_default() += 1;
    }
    let tp: u64 = both.values().map(|&c| pairs(c)).sum();
    let ga: u64 = ca.values().map(|&c| pairs(c)).sum();
    let gb: u64 = cb.values().map(|&c| pairs(c)).sum();
    let n = pairs(a.len() as u64) as f64;
    let expected = ga as f64 * gb as f64 / n;
    let mean = (ga + gb) as f64 / 2.0;
    if (mean - expected).abs() < f64::EPSILON {
        1.0
    } else {
        (tp as f64 - expected) / (mean - expected)
    }
}
