//! `neardup::shard`: its stages, chained in memory as a distributed engine chains them
//! (buckets and keyword runs as groupings by key, components by union-find), give the
//! batch run's rows exactly.

use std::collections::{BTreeMap, HashMap};

use neardup::shard::{
    self, ComponentDoc, PairVerdict, Side, Sketcher, bucket_pairs, keyword_run_pairs, keywords_of,
};
use neardup::{Config, Document, cluster_documents};

use crate::common::corpus;

/// One output row: id, group, canonical, relation, similarity (rounded as the JSONL).
type Row = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<f64>,
);

fn round4(x: f32) -> f64 {
    (f64::from(x) * 10_000.0).round() / 10_000.0
}

fn find(parent: &mut [usize], mut x: usize) -> usize {
    while parent[x] != x {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    x
}

/// The stages chained in memory, documents numbered as the batch numbers them (by id
/// hash, then id); rows in input order.
fn distributed(input: &[Document], config: &Config) -> Vec<Row> {
    let mut order: Vec<usize> = (0..input.len()).collect();
    order.sort_by(|&x, &y| {
        (shard::id_hash(&input[x].id), &input[x].id)
            .cmp(&(shard::id_hash(&input[y].id), &input[y].id))
    });
    let docs: Vec<Document> = order.iter().map(|&i| input[i].clone()).collect();
    let docs = &docs[..];
    let mut sketcher = Sketcher::new(config).unwrap();
    let sk: Vec<shard::Sketch> = docs.iter().map(|d| sketcher.sketch(d)).collect();
    let stats = {
        let mut df: HashMap<u32, u32> = HashMap::new();
        if config.rewrites {
            for s in &sk {
                for t in shard::distinct_terms(&s.features) {
                    *df.entry(t).or_default() += 1;
                }
            }
        }
        shard::stats_from_counts(docs.len() as u32, df)
    };
    let mut first: HashMap<u64, u64> = HashMap::new();
    let mut edges: Vec<(u64, u64)> = Vec::new();
    let mut reps = Vec::new();
    for (p, s) in sk.iter().enumerate() {
        let p = p as u64;
        if s.features.exact == 0 {
            continue;
        }
        if let Some(&r) = first.get(&s.features.exact) {
            edges.push((r, p));
        } else {
            first.insert(s.features.exact, p);
            reps.push(p);
        }
    }
    let mut buckets: BTreeMap<(usize, u32), Vec<u64>> = BTreeMap::new();
    let mut runs: BTreeMap<u32, Vec<(u64, i32)>> = BTreeMap::new();
    for &p in &reps {
        let s = &sk[p as usize];
        for (band, &key) in s.keys.iter().enumerate() {
            buckets.entry((band, key)).or_default().push(p);
        }
        if config.rewrites {
            let slice = shard::keyword_slice(config, docs[p as usize].timestamp);
            for t in keywords_of(&s.features, &stats) {
                runs.entry(t).or_default().push((p, slice));
            }
        }
    }
    let mut pairs: Vec<(u64, u64)> = buckets.values().flat_map(|b| bucket_pairs(b)).collect();
    let mut shared: HashMap<(u64, u64), usize> = HashMap::new();
    for run in runs.values() {
        for pair in keyword_run_pairs(run) {
            *shared.entry(pair).or_default() += 1;
        }
    }
    // Each later document keeps the earlier ones sharing the most keywords.
    let mut partners: BTreeMap<u64, Vec<(usize, u64)>> = BTreeMap::new();
    for ((a, b), n) in shared {
        if n >= shard::min_shared_keywords() {
            partners.entry(b).or_default().push((n, a));
        }
    }
    for (b, mut ps) in partners {
        ps.sort_by(|x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)));
        ps.truncate(shard::max_keyword_partners().unwrap_or(usize::MAX));
        pairs.extend(ps.into_iter().map(|(_, a)| (a, b)));
    }
    pairs.sort_unstable();
    pairs.dedup();
    let side = |p: u64| Side {
        features: &sk[p as usize].features,
        timestamp: docs[p as usize].timestamp,
    };
    // Edges, and pairs refused as different stories: no edges, but grouping keeps them
    // apart.
    let judge = |list: &[(u64, u64)]| {
        let (mut edges, mut apart) = (Vec::new(), Vec::new());
        for &(a, b) in list {
            match shard::judge_pair(config, &stats, side(a), side(b)) {
                PairVerdict::Edge(..) => edges.push((a, b)),
                PairVerdict::Apart => apart.push((a, b)),
                PairVerdict::Unrelated => {}
            }
        }
        (edges, apart)
    };
    let (verified, mut apart) = judge(&pairs);
    if config.rewrites {
        // Closing: neighbours of a document with few neighbours, when no candidates.
        let mut nb: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
        for &(a, b) in &verified {
            nb.entry(a).or_default().push(b);
            nb.entry(b).or_default().push(a);
        }
        let mut more: Vec<(u64, u64)> = nb
            .values()
            .filter(|v| v.len() <= neardup::shard::MAX_DEGREE)
            .flat_map(|v| {
                v.iter()
                    .flat_map(|&x| v.iter().filter(move |&&y| x < y).map(move |&y| (x, y)))
                    .collect::<Vec<_>>()
            })
            .filter(|p| pairs.binary_search(p).is_err())
            .collect();
        more.sort_unstable();
        more.dedup();
        let (more_edges, more_apart) = judge(&more);
        edges.extend(more_edges);
        apart.extend(more_apart);
    }
    edges.extend(verified);

    let mut parent: Vec<usize> = (0..docs.len()).collect();
    for &(a, b) in &edges {
        let (ra, rb) = (find(&mut parent, a as usize), find(&mut parent, b as usize));
        parent[ra.max(rb)] = ra.min(rb);
    }
    let mut comps: BTreeMap<usize, Vec<u64>> = BTreeMap::new();
    for p in 0..docs.len() {
        let root = find(&mut parent, p);
        comps.entry(root).or_default().push(p as u64);
    }
    let mut rows: Vec<Row> = docs
        .iter()
        .map(|d| (d.id.clone(), None, None, None, None))
        .collect();
    for members in comps.values().filter(|m| m.len() > 1) {
        let comp_docs: Vec<ComponentDoc> = members
            .iter()
            .map(|&p| ComponentDoc {
                pos: p,
                id: docs[p as usize].id.clone(),
                timestamp: docs[p as usize].timestamp,
                len: docs[p as usize].text.len() as u64,
                features: sk[p as usize].features.clone(),
            })
            .collect();
        let comp_edges: Vec<(u64, u64)> = edges
            .iter()
            .chain(apart.iter().filter(|p| members.binary_search(&p.1).is_ok()))
            .copied()
            .filter(|&(a, _)| members.binary_search(&a).is_ok())
            .collect();
        let placed = shard::group_component(config, &stats, &comp_docs, &comp_edges).unwrap();
        for (d, p) in comp_docs.iter().zip(placed) {
            if let Some(p) = p {
                rows[d.pos as usize] = (
                    d.id.clone(),
                    Some(p.group),
                    Some(p.canonical),
                    Some(p.relation.as_str().to_owned()),
                    Some(round4(p.similarity)),
                );
            }
        }
    }
    let mut out = vec![None; rows.len()];
    for (row, &i) in rows.into_iter().zip(&order) {
        out[i] = Some(row);
    }
    out.into_iter().map(Option::unwrap).collect()
}

fn batch(docs: &[Document], config: &Config) -> Vec<Row> {
    let c = cluster_documents(docs, config).unwrap();
    (0..docs.len() as u32)
        .map(|d| {
            let l = c.doc_line(d);
            (
                l.id.to_owned(),
                l.group.map(str::to_owned),
                l.canonical.map(str::to_owned),
                l.relation.map(str::to_owned),
                l.similarity,
            )
        })
        .collect()
}

fn documents(jsonl: &str) -> Vec<Document> {
    jsonl
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let mut d = Document::new(v["id"].as_str().unwrap(), v["text"].as_str().unwrap());
            if let Some(t) = v["title"].as_str() {
                d = d.with_title(t);
            }
            if let Some(t) = v["date"].as_str().and_then(neardup::parse_date) {
                d = d.with_timestamp(t);
            }
            d
        })
        .collect()
}

fn check(docs: &[Document]) {
    for rewrites in [false, true] {
        let config = Config::builder().rewrites(rewrites).build().unwrap();
        let want = batch(docs, &config);
        assert!(want.iter().filter(|r| r.1.is_some()).count() >= 2);
        assert_eq!(distributed(docs, &config), want, "rewrites {rewrites}");
    }
}

#[test]
fn stages_chained_give_the_batch_rows() {
    let mut docs = documents(&corpus(60, 7));
    docs.push(Document::new("empty", ""));
    check(&docs);
}

#[test]
fn simhash_is_refused() {
    let config = Config::builder()
        .method(neardup::Method::SimHash)
        .build()
        .unwrap();
    let e = Sketcher::new(&config).unwrap_err();
    assert!(e.to_string().contains("minhash only"), "{e}");
}

#[test]
fn buckets_and_keyword_runs_are_capped() {
    let run: Vec<u64> = (0..300).collect();
    let pairs = bucket_pairs(&run);
    assert!(
        pairs
            .iter()
            .all(|&(a, b)| a < b && b - a <= shard::MAX_BUCKET as u64)
    );
    assert_eq!(
        pairs.iter().filter(|p| p.1 == 299).count(),
        shard::MAX_BUCKET
    );
    // A keyword listed by more than 200 earlier documents links no later one.
    let undated: Vec<(u64, i32)> = run.iter().map(|&p| (p, shard::UNDATED_SLICE)).collect();
    let kw = keyword_run_pairs(&undated);
    assert_eq!(kw.iter().filter(|p| p.1 == 200).count(), 200);
    assert_eq!(kw.iter().filter(|p| p.1 == 201).count(), 0);
    // Dated, only the earlier documents of the time neighbourhood count: slices 0 to
    // 9, 30 documents each, so 299 (slice 9) sees the 59 of slices 8 and 9 before it.
    let dated: Vec<(u64, i32)> = run.iter().map(|&p| (p, (p / 30) as i32)).collect();
    let kw = keyword_run_pairs(&dated);
    assert_eq!(kw.iter().filter(|p| p.1 == 299).count(), 59);
    assert!(kw.iter().all(|&(a, b)| b / 30 - a / 30 <= 1));
}

#[test]
#[ignore = "needs ../shared (run by .ci/run)"]
fn reuters_sample_stages_give_the_batch_rows() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/corpora/reuters21578.jsonl");
    let text = std::fs::read_to_string(path).unwrap();
    let sample: Vec<&str> = text.lines().take(4000).collect();
    check(&documents(&sample.join("\n")));
}
