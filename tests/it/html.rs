//! The HTML report: its structure on the seeds (a normalised skeleton, snapshot), that it
//! is self-contained, and that a large run stays within its bounds.

use neardup::io::html::{HtmlOptions, write_html};
use neardup::io::read::FieldNames;
use neardup::{Clustering, Group, Member, Relation, Role};
use neardup::{DocInfo, RunStats};

use crate::common::{run, seeds_dir, stderr, stdout};

fn seeds_html() -> String {
    let d = tempfile::tempdir().unwrap();
    let seeds = seeds_dir();
    let o = run(
        d.path(),
        &["cluster", seeds.to_str().unwrap(), "--format", "html", "-q"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o)
}

/// The page as a tree of elements, one per line, indented by depth: tag, id, class and
/// data attributes, and the start of each text. Style and script bodies and the run's
/// time and memory (which vary) are left out.
fn skeleton(html: &str) -> String {
    const VOID: [&str; 3] = ["meta", "input", "br"];
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut rest = html;
    let mut skip_text = false;
    let mut masked = false;
    while !rest.is_empty() {
        if let Some(tag) = rest.strip_prefix('<') {
            let end = tag.find('>').unwrap();
            let inner = &tag[..end];
            rest = &tag[end + 1..];
            if let Some(name) = inner.strip_prefix('/') {
                depth = depth.saturating_sub(1);
                skip_text = false;
                let _ = name;
                continue;
            }
            let name = inner.split_whitespace().next().unwrap_or("").to_lowercase();
            if name.starts_with('!') {
                continue;
            }
            let mut line = format!("{}<{name}", "  ".repeat(depth));
            for attr in [
                "id",
                "class",
                "data-groups",
                "data-rank",
                "data-size",
                "data-key",
            ] {
                let pat = format!(" {attr}=\"");
                if let Some(i) = inner.find(&pat) {
                    let v = &inner[i + pat.len()..];
                    let _ = std::fmt::Write::write_fmt(
                        &mut line,
                        format_args!(" {attr}={}", &v[..v.find('"').unwrap()]),
                    );
                }
            }
            line.push('>');
            out.push(line);
            skip_text = matches!(name.as_str(), "style" | "script");
            if !VOID.contains(&name.as_str()) && !inner.ends_with('/') {
                depth += 1;
            }
        } else {
            let end = rest.find('<').unwrap_or(rest.len());
            let text = rest[..end].trim();
            rest = &rest[end..];
            if text.is_empty() || skip_text {
                continue;
            }
            if masked {
                masked = false;
                out.push(format!("{}[varies]", "  ".repeat(depth)));
                continue;
            }
            masked = text == "time" || text == "memory";
            let short: String = text.chars().take(60).collect();
            out.push(format!("{}{short}", "  ".repeat(depth)));
        }
    }
    out.join("\n")
}

#[test]
fn seeds_page_structure() {
    insta::assert_snapshot!(skeleton(&seeds_html()));
}

#[test]
fn page_is_self_contained() {
    let html = seeds_html();
    assert!(html.starts_with("<!doctype html>"));
    for outside in ["http:", "https:", "<link", " src=", "@import", "url("] {
        assert!(!html.contains(outside), "{outside}");
    }
    // The member is shown beside the canonical with the passages they share.
    assert!(html.contains("001_e8efe33f63bedb2f beside the canonical"));
    assert!(html.contains(
        r#"<mark class="p0" title="shared passage 1"><sup>1</sup>interview with TASS</mark>"#
    ));
}

/// A night of a million documents in 200,000 groups of five, headlines of 200
/// characters: the page lists the largest groups and stays under 25 MB.
#[test]
fn a_million_documents_stay_under_25_mb() {
    let n = 1_000_000u32;
    let head = "Headline words & <markup> ".repeat(8);
    let docs: Vec<DocInfo> = (0..n)
        .map(|i| DocInfo {
            id: format!("https://example.org/news/2026/12/03/story-{i:08}"),
            title: Some(format!("{head}{i}")),
            timestamp: Some(1_796_000_000 + i64::from(i)),
            len: 2000,
            file: u32::MAX,
            line: u64::from(i) + 1,
            digest: 0,
        })
        .collect();
    let groups: Vec<Group> = (0..n / 5)
        .map(|g| Group {
            id: format!("g{g}"),
            canonical: g * 5,
            members: (0..5)
                .map(|k| Member {
                    doc: g * 5 + k,
                    relation: if k > 0 {
                        Role::Member(Relation::NearDuplicate)
                    } else {
                        Role::Canonical
                    },
                    similarity: 0.9,
                })
                .collect(),
        })
        .collect();
    let c = Clustering {
        placement: vec![None; n as usize],
        stats: RunStats {
            documents: u64::from(n),
            groups: groups.len() as u64,
            docs_in_groups: u64::from(n),
            ..RunStats::default()
        },
        docs,
        groups,
        edges: Vec::new(),
    };
    let mut page = Vec::new();
    let opts = HtmlOptions::default();
    write_html(
        &c,
        &[],
        &FieldNames::default(),
        &opts,
        &mut page,
        "x".as_ref(),
    )
    .unwrap();
    let page = String::from_utf8(page).unwrap();
    // Texts (none here) add at most 30 groups x 9 texts x 3,000 characters, a few
    // bytes each once encoded, escaped and marked.
    let texts = opts.text_groups * (opts.texts_per_group + 1) * opts.text_chars * 4;
    assert!(page.len() + texts < 25_000_000, "{} bytes", page.len());
    assert_eq!(page.matches("<tr data-rank=").count(), opts.table_groups);
    assert!(page.contains("And 190000 smaller groups"));
    let listed = page.matches(r#"<td class="rel-"#).count();
    assert_eq!(listed, opts.listed_members);
}
