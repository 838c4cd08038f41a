//! A crawler's view of neardup: several fetcher threads insert articles (with their
//! headline and date) into one shared index as they arrive and read each verdict, a
//! checkpoint thread saves the index every few hundred articles while the fetchers go on
//! inserting (a save takes a snapshot and writes it without holding the index), a restart loads it (checking it was built
//! with the configuration expected) and goes on where it left off, old articles are
//! evicted, and a query asks where a new article would go without inserting it.
//!
//! Run: `cargo run --release --example crawler`
//!
//! The "crawl" is made from the bundled seeds (`data/seeds`): each article arrives as
//! published, copied by other outlets under their boilerplate, or cut short, mixed with
//! unrelated filler stories.

#![allow(clippy::print_stdout)] // an example reports to its user

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use neardup::{Config, Document, Index, QueryOptions, Relation, Role};

// With `--features mimalloc`: inserts from several threads may run faster with mimalloc
// than with glibc's allocator (README, "Allocator"); the library never chooses.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The articles a crawl would fetch, in arrival order.
fn crawl() -> Vec<Document> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/seeds");
    let mut seeds: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("data/seeds exists")
        .map(|e| {
            let p = e.expect("readable directory").path();
            let id = p.file_stem().unwrap().to_string_lossy().into_owned();
            (id, std::fs::read_to_string(&p).expect("readable seed"))
        })
        .collect();
    seeds.sort();
    let outlets = ["Valley Times", "Harbor Post", "Coast Gazette"];
    let mut docs = Vec::new();
    for round in 0..200 {
        for (id, text) in &seeds {
            let t = 1_750_000_000 + i64::from(round) * 3600;
            let doc = match round % 4 {
                0 => Document::new(format!("{id}-r{round}"), text.clone()),
                1 => {
                    let o = outlets[round as usize % outlets.len()];
                    Document::new(
                        format!("{id}-r{round}"),
                        format!("{o} staff. {text} (c) {o}."),
                    )
                }
                2 => {
                    let cut: String = text.chars().take(text.len() * 2 / 3).collect();
                    Document::new(format!("{id}-r{round}"), cut)
                }
                _ => Document::new(
                    format!("filler-{round}-{id}"),
                    format!(
                        "Filler story number {round} about {id}: the council met and nothing changed."
                    ),
                ),
            };
            // The headline a feed gives beside the body: the seed's first words here.
            let title: String = text
                .split_whitespace()
                .take(8)
                .collect::<Vec<_>>()
                .join(" ");
            docs.push(doc.with_title(title).with_timestamp(t));
        }
    }
    docs
}

/// Saves the index where a crawler checkpoints: atomically (a crash leaves the old file
/// or the new one), from a snapshot, so inserts from other threads go on meanwhile.
fn checkpoint(index: &Index, path: &Path) {
    index.save(path).expect("index saved");
}

fn run(index: &Index, docs: &[Document], path: &Path, threads: usize) -> usize {
    let done = AtomicUsize::new(0);
    let copies = AtomicUsize::new(0);
    std::thread::scope(|s| {
        // The checkpoint thread: a save each time 250 more articles are in, while the
        // fetchers keep inserting.
        let done = &done;
        s.spawn(move || {
            let mut next = 250;
            while next <= docs.len() {
                if done.load(Ordering::Relaxed) >= next {
                    checkpoint(index, path);
                    next += 250;
                } else {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
            }
        });
        for part in docs.chunks(docs.len().div_ceil(threads)) {
            let copies = &copies;
            s.spawn(move || {
                for d in part {
                    let verdict = index.insert(d.clone()).expect("unique ids");
                    // The verdict: its group and canonical member, its relation to it,
                    // and every verified match. A copy need not be stored again.
                    if matches!(
                        verdict.relation,
                        Role::Member(Relation::Exact | Relation::NearDuplicate)
                    ) {
                        copies.fetch_add(1, Ordering::Relaxed);
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    copies.into_inner()
}

fn main() -> Result<(), neardup::Error> {
    let dir = tempfile::tempdir().map_err(|e| neardup::Error::io(".", e))?;
    let path = dir.path().join("crawl.ndx");
    let docs = crawl();
    let (first, second) = docs.split_at(docs.len() / 2);

    let config = Config::default();
    let index = Index::new(config.clone())?;
    let copies = run(&index, first, &path, 4);
    index.save(&path)?;
    println!(
        "first run: {} articles held, {copies} copies of earlier articles, saved to {}",
        index.len(),
        path.display()
    );
    drop(index);

    // Restart: load (refused, naming the setting, if built with another configuration)
    // and go on; keep a rolling window of the last 100 hours.
    let index = Index::load_with(&path, &config)?;
    let copies = run(&index, second, &path, 4);
    let newest = second.iter().filter_map(|d| d.timestamp).max().unwrap_or(0);
    let evicted = index.evict_before(newest - 100 * 3600);
    println!(
        "after restart: {copies} more copies; evicted {evicted} older articles; {} held",
        index.len()
    );

    // A query: where would a new copy of an article go, and what does it match?
    let probe = &second[0];
    let answer = index.query_with(
        &Document::new("probe", probe.text.clone()),
        QueryOptions { limit: Some(3) },
    );
    println!(
        "a new copy of {} would join group {:?} (canonical {}, {} at {:.2}); it matches {} \
         held articles, the strongest {:?}",
        probe.id,
        answer.group,
        answer.canonical,
        answer.relation,
        answer.similarity,
        answer.total_matches,
        answer.matches.iter().map(|m| &m.id).collect::<Vec<_>>()
    );
    if let Some(group) = answer.group
        && let Some(members) = index.members(&group)
    {
        println!("group {group} holds {} articles:", members.len());
        for m in members.iter().take(4) {
            println!("  {} ({} {:.2})", m.id, m.relation, m.similarity);
        }
    }
    let id = &second[4].id;
    if let Some(p) = index.placement(id) {
        println!(
            "{id} is in group {:?}, canonical {} ({})",
            p.group, p.canonical, p.relation
        );
    }
    let oldest = &first[0].id;
    println!(
        "{oldest} still held after eviction: {}",
        index.contains(oldest)
    );
    Ok(())
}
