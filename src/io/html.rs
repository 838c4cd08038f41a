//! The HTML report: one self-contained page (no network, no external file) with the
//! run's summary, histograms as inline SVG, a searchable and sortable table of groups
//! that open to their members, and the largest groups' members beside their canonical
//! with the passages they share highlighted (as `neardup compare` shows them).
//!
//! The page stays usable on large runs: the table lists the largest groups
//! ([`HtmlOptions::table_groups`]) and their members up to a budget
//! ([`HtmlOptions::listed_members`]), texts are shown for the largest few groups only,
//! clipped, and the rest is summarised by size. The summary, the table and the groups
//! work without JavaScript; the script adds search and sorting.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write;

use crate::compare::{Span, align};
use crate::document::format_date;
use crate::error::{Error, Result};
use crate::io::read::{FieldNames, InputFile, InputKind, RecordReader, parse_raw};
use crate::pipeline::{Clustering, Group};

/// What the page holds, bounded so that a large run gives a page a browser opens.
#[derive(Debug, Clone)]
pub struct HtmlOptions {
    /// The page's title.
    pub title: String,
    /// Groups listed in the table, largest first; the rest are summarised by size.
    pub table_groups: usize,
    /// Members listed over all the table's groups; past it, groups show their size only.
    pub listed_members: usize,
    /// Members listed per group.
    pub members_per_group: usize,
    /// Groups, largest first, whose members are shown beside the canonical with texts.
    pub text_groups: usize,
    /// Members shown beside the canonical per such group.
    pub texts_per_group: usize,
    /// Characters of each text shown (the start of the text).
    pub text_chars: usize,
    /// Length of the passages highlighted, in words (see [`crate::compare::align`]).
    pub passage_words: usize,
}

impl Default for HtmlOptions {
    fn default() -> Self {
        HtmlOptions {
            title: "neardup report".to_owned(),
            table_groups: 10_000,
            listed_members: 30_000,
            members_per_group: 25,
            text_groups: 30,
            texts_per_group: 8,
            text_chars: 3_000,
            passage_words: 3,
        }
    }
}

/// `s` with the HTML special characters escaped.
fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

/// At most `max` characters of `s`, cut at a character boundary.
fn clip(s: &str, max: usize) -> &str {
    s.char_indices().nth(max).map_or(s, |(i, _)| &s[..i])
}

/// Reads the texts of documents `wanted` (document index by (file, line)) back from the
/// inputs, clipped to `max_chars`: only the files that hold them are read, and reading
/// stops once all are found.
///
/// # Errors
/// Reading errors, and malformed records among those wanted.
pub fn read_texts<S: std::hash::BuildHasher>(
    files: &[InputFile],
    fields: &FieldNames,
    wanted: &HashMap<(u32, u64), u32, S>,
    max_chars: usize,
) -> Result<HashMap<u32, String>> {
    let mut needed: Vec<u32> = wanted
        .keys()
        .map(|k| k.0)
        // Standard input was read once, by the run: its texts are not at hand.
        .filter(|&f| {
            files
                .get(f as usize)
                .is_some_and(|f| f.kind != InputKind::Stdin)
        })
        .collect();
    needed.sort_unstable();
    needed.dedup();
    let list: Vec<InputFile> = needed.iter().map(|&f| files[f as usize].clone()).collect();
    let mut reader = RecordReader::new(list.clone());
    let mut texts = HashMap::new();
    let mut buf = String::new();
    while texts.len() < wanted.len() {
        let chunk = reader.next_block(8 << 20)?;
        if chunk.is_empty() {
            break;
        }
        for raw in chunk.iter() {
            let Some(&doc) = wanted.get(&(needed[raw.file as usize], raw.line)) else {
                continue;
            };
            let p = parse_raw(raw, &list, fields, &mut buf)?;
            texts.insert(doc, clip(p.text, max_chars).to_owned());
        }
    }
    Ok(texts)
}

/// Writes the HTML report of `c`, reading the texts it shows from `files` (those the
/// run read, with the same field names). Documents of no input file (an earlier night's
/// canonical member in the nightly report) are shown without text.
///
/// # Errors
/// Reading the texts back, or writing to `out` (as [`Error::Io`] naming `out_name`).
pub fn write_html(
    c: &Clustering,
    files: &[InputFile],
    fields: &FieldNames,
    opts: &HtmlOptions,
    out: &mut dyn Write,
    out_name: &std::path::Path,
) -> Result<()> {
    let mut wanted = HashMap::new();
    for g in c.groups.iter().take(opts.text_groups) {
        for m in g.members.iter().take(opts.texts_per_group + 1) {
            let d = &c.docs[m.doc as usize];
            wanted.insert((d.file, d.line), m.doc);
        }
    }
    let texts = read_texts(files, fields, &wanted, opts.text_chars)?;
    let page = render(c, &texts, opts);
    out.write_all(page.as_bytes())
        .map_err(|e| Error::io(out_name, e))
}

const STYLE: &str = r#"
:root{--fg:#1d232b;--muted:#5b6570;--bg:#fff;--line:#d9dee4;--accent:#0b5cad;--m0:#ffe58a;--m1:#b8e3ff;--m2:#c9f2c0;--m3:#ffd0e0;--m4:#e3d4ff;--m5:#ffd8b0}
*{box-sizing:border-box}body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg);margin:0}
header,main{max-width:1200px;margin:0 auto;padding:0 1rem}header h1{margin:.8rem 0 .2rem;font-size:1.5rem}
h2{font-size:1.15rem;border-bottom:1px solid var(--line);padding-bottom:.2rem;margin-top:1.6rem}
.muted{color:var(--muted)}dl.summary{display:grid;grid-template-columns:max-content 1fr;gap:.15rem 1rem;margin:0}
dl.summary dt{font-weight:600}dl.summary dd{margin:0}
.charts{display:flex;flex-wrap:wrap;gap:1.5rem}figure{margin:0}figcaption{font-size:.85rem;color:var(--muted)}
svg text{font:11px system-ui,sans-serif;fill:var(--fg)}
.controls{display:flex;gap:.8rem;align-items:center;margin:.5rem 0}input[type=search]{font:inherit;padding:.3rem .5rem;width:22rem;max-width:100%}
table{border-collapse:collapse;width:100%}th{white-space:nowrap}th,td{text-align:left;vertical-align:top;padding:.3rem .45rem;border-bottom:1px solid var(--line)}
th button{font:inherit;font-weight:600;background:none;border:0;padding:0;cursor:pointer;color:var(--fg)}
th[aria-sort=ascending] button::after{content:" \25B2"}th[aria-sort=descending] button::after{content:" \25BC"}
td.num,th.num{text-align:right}details>summary{cursor:pointer}summary:focus-visible,button:focus-visible,a:focus-visible,input:focus-visible{outline:2px solid var(--accent);outline-offset:2px}
table.members{margin:.4rem 0;font-size:.9rem}table.members td,table.members th{padding:.15rem .4rem}
.rel-exact{color:#7a1f1f}.rel-near_duplicate{color:#8a5a00}.rel-rewrite{color:#0b5cad}
.pair{margin:.4rem 0 .8rem}.pair-grid{display:grid;grid-template-columns:1fr 1fr;gap:1rem}
.pair-grid article{border:1px solid var(--line);border-radius:4px;padding:.5rem .7rem;white-space:pre-wrap;font-size:.9rem;max-height:32rem;overflow:auto}
.pair-grid h4{margin:0 0 .3rem;font-size:.9rem;white-space:normal}
mark{border-radius:2px;padding:0 1px}mark.p0{background:var(--m0)}mark.p1{background:var(--m1)}mark.p2{background:var(--m2)}mark.p3{background:var(--m3)}mark.p4{background:var(--m4)}mark.p5{background:var(--m5)}
mark sup{font-size:.65em;color:var(--muted);margin-right:1px}
"#;

const SCRIPT: &str = r"
(function(){
  var table=document.getElementById('groups-table');
  if(!table){return;}
  var body=table.tBodies[0];
  var rows=Array.prototype.slice.call(body.rows);
  var q=document.getElementById('search');
  var count=document.getElementById('shown');
  function filter(){
    var terms=q.value.toLowerCase().split(/\s+/).filter(Boolean);
    var n=0;
    rows.forEach(function(r){
      var hay=r.getAttribute('data-search');
      var ok=terms.every(function(t){return hay.indexOf(t)>=0;});
      r.hidden=!ok; if(ok){n++;}
    });
    count.textContent=n+' of '+rows.length+' groups shown';
  }
  q.addEventListener('input',filter);
  document.addEventListener('keydown',function(e){
    if(e.key==='/'&&document.activeElement!==q){e.preventDefault();q.focus();}
  });
  var heads=table.tHead.rows[0].cells;
  Array.prototype.forEach.call(heads,function(th){
    var b=th.querySelector('button'); if(!b){return;}
    b.addEventListener('click',function(){
      var key=th.getAttribute('data-key'), num=th.hasAttribute('data-num');
      var dir=th.getAttribute('aria-sort')==='ascending'?'descending':'ascending';
      Array.prototype.forEach.call(heads,function(h){h.removeAttribute('aria-sort');});
      th.setAttribute('aria-sort',dir);
      var sign=dir==='ascending'?1:-1;
      rows.sort(function(a,b){
        var x=a.getAttribute('data-'+key), y=b.getAttribute('data-'+key);
        var c=num?(parseFloat(x)-parseFloat(y)):x.localeCompare(y);
        return sign*(c||(parseFloat(a.getAttribute('data-rank'))-parseFloat(b.getAttribute('data-rank'))));
      });
      rows.forEach(function(r){body.appendChild(r);});
    });
  });
  filter();
})();
";

/// The histogram of `bars` (label, count) as an inline SVG bar chart.
fn svg_bars(title: &str, bars: &[(String, u64)], colour: &str) -> String {
    let (w, h, pad, base) = (520.0, 170.0, 28.0, 30.0);
    let max = bars.iter().map(|b| b.1).max().unwrap_or(0).max(1) as f64;
    let slot = (w - 2.0 * pad) / bars.len().max(1) as f64;
    let mut s = format!(
        r#"<svg role="img" aria-labelledby="svg-{id}" width="{w}" height="{h}" viewBox="0 0 {w} {h}"><title id="svg-{id}">{t}</title>"#,
        id = esc(&title.replace(' ', "-")),
        t = esc(title)
    );
    let _ = write!(
        s,
        r##"<line x1="{pad}" y1="{y}" x2="{x2}" y2="{y}" stroke="#888"/>"##,
        y = h - base,
        x2 = w - pad
    );
    for (i, (label, n)) in bars.iter().enumerate() {
        let bh = (h - base - 18.0) * (*n as f64) / max;
        let x = pad + slot * i as f64 + 2.0;
        let y = h - base - bh;
        let _ = write!(
            s,
            r#"<rect x="{x:.1}" y="{y:.1}" width="{bw:.1}" height="{bh:.1}" fill="{colour}"><title>{l}: {n}</title></rect><text x="{cx:.1}" y="{ty:.1}" text-anchor="middle">{n}</text><text x="{cx:.1}" y="{ly:.1}" text-anchor="middle">{l}</text>"#,
            bw = (slot - 4.0).max(1.0),
            l = esc(label),
            cx = x + (slot - 4.0) / 2.0,
            ty = y - 3.0,
            ly = h - base + 14.0,
        );
    }
    s.push_str("</svg>");
    s
}

/// Text with highlighted spans: `<mark>` elements numbered by passage.
fn marked(text: &str, spans: &[Span]) -> String {
    let mut o = String::with_capacity(text.len() + spans.len() * 40);
    let mut at = 0;
    for s in spans {
        o.push_str(&esc(&text[at..s.start]));
        let _ = write!(
            o,
            r#"<mark class="p{}" title="shared passage {n}"><sup>{n}</sup>{}</mark>"#,
            s.passage % 6,
            esc(&text[s.start..s.end]),
            n = s.passage + 1
        );
        at = s.end;
    }
    o.push_str(&esc(&text[at..]));
    o
}

fn group_dates(c: &Clustering, g: &Group) -> (Option<i64>, Option<i64>) {
    let ts = g
        .members
        .iter()
        .filter_map(|m| c.docs[m.doc as usize].timestamp);
    (ts.clone().min(), ts.max())
}

/// Renders the page.
fn render(c: &Clustering, texts: &HashMap<u32, String>, opts: &HtmlOptions) -> String {
    let s = &c.stats;
    let mut o = String::with_capacity(1 << 20);
    let _ = write!(
        o,
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>{t}</title><style>{STYLE}</style></head><body><header><h1>{t}</h1><p class="muted">Syndication groups: copies and rewrites of one story, each with a canonical member. Press <kbd>/</kbd> to search.</p></header><main>"#,
        t = esc(&opts.title)
    );

    // Summary.
    let copies = s.docs_in_groups.saturating_sub(s.groups);
    let share = if s.documents > 0 {
        100.0 * copies as f64 / s.documents as f64
    } else {
        0.0
    };
    let mut by_relation = [0u64; 3];
    for g in &c.groups {
        for m in &g.members {
            if let Some(r) = m.relation.relation() {
                by_relation[r as usize] += 1;
            }
        }
    }
    o.push_str(r#"<section id="summary" aria-labelledby="h-summary"><h2 id="h-summary">Summary</h2><dl class="summary">"#);
    let mut item = |k: &str, v: String| {
        let _ = write!(o, "<dt>{}</dt><dd>{v}</dd>", esc(k));
    };
    item("documents", s.documents.to_string());
    item(
        "groups",
        format!("{} ({} documents in groups)", s.groups, s.docs_in_groups),
    );
    item(
        "duplicate share",
        format!(
            "{share:.1}% ({copies} {} not canonical)",
            if copies == 1 {
                "document is"
            } else {
                "documents are"
            }
        ),
    );
    item(
        "relations to the canonical",
        format!(
            "{} exact, {} near-duplicate, {} rewrite",
            by_relation[0], by_relation[1], by_relation[2]
        ),
    );
    if s.skipped_invalid > 0 {
        item("skipped invalid", s.skipped_invalid.to_string());
    }
    if s.elapsed > 0.0 {
        let stages: Vec<String> = s
            .seconds
            .iter()
            .map(|(n, t)| format!("{} {t:.2} s", esc(n)))
            .collect();
        item(
            "time",
            format!(
                "{:.2} s ({:.0} documents/s): {}",
                s.elapsed,
                s.documents as f64 / s.elapsed,
                stages.join(", ")
            ),
        );
        if let (Some(peak), Some(per)) = (s.peak_rss_bytes, s.bytes_per_doc) {
            item(
                "memory",
                format!("{:.0} MB peak, {per:.0} bytes/document", peak as f64 / 1e6),
            );
        }
    }
    o.push_str("</dl></section>");

    // Histograms.
    let size_bins: [(usize, usize, &str); 8] = [
        (2, 2, "2"),
        (3, 3, "3"),
        (4, 4, "4"),
        (5, 5, "5"),
        (6, 10, "6–10"),
        (11, 20, "11–20"),
        (21, 50, "21–50"),
        (51, usize::MAX, "51+"),
    ];
    let sizes: Vec<(String, u64)> = size_bins
        .iter()
        .map(|&(lo, hi, l)| {
            let n = c
                .groups
                .iter()
                .filter(|g| (lo..=hi).contains(&g.members.len()))
                .count();
            (l.to_owned(), n as u64)
        })
        .collect();
    let mut sims = vec![0u64; 10];
    for g in &c.groups {
        for m in g.members.iter().filter(|m| m.relation.relation().is_some()) {
            let b = ((m.similarity.clamp(0.0, 1.0) * 10.0) as usize).min(9);
            sims[b] += 1;
        }
    }
    let sims: Vec<(String, u64)> = sims
        .into_iter()
        .enumerate()
        .map(|(i, n)| (format!("{:.1}", i as f64 / 10.0), n))
        .collect();
    let _ = write!(
        o,
        r#"<section id="charts" aria-labelledby="h-charts"><h2 id="h-charts">Distributions</h2><div class="charts"><figure>{}<figcaption>Groups by size (documents)</figcaption></figure><figure>{}<figcaption>Members by similarity to their canonical (from the bin's lower bound)</figcaption></figure></div></section>"#,
        svg_bars("group sizes", &sizes, "#4a7fb5"),
        svg_bars("similarities", &sims, "#c07a2c"),
    );

    // The table of groups.
    let listed = c.groups.len().min(opts.table_groups);
    let _ = write!(
        o,
        r#"<section id="groups" aria-labelledby="h-groups"><h2 id="h-groups">Groups</h2><div class="controls"><label for="search">Search</label><input id="search" type="search" placeholder="words of a headline, or an id" autocomplete="off"><span id="shown" class="muted" aria-live="polite">{listed} groups listed</span></div><table id="groups-table" data-groups="{listed}"><caption class="muted" style="text-align:left">The {listed} largest of {} groups; open one for its members.</caption><thead><tr><th class="num" data-key="rank" data-num aria-sort="ascending"><button type="button">#</button></th><th data-key="search"><button type="button">Headline and members</button></th><th class="num" data-key="size" data-num><button type="button">Size</button></th><th data-key="relations"><button type="button">Relations</button></th><th data-key="dates"><button type="button">Dates</button></th></tr></thead><tbody>"#,
        c.groups.len()
    );
    let mut budget = opts.listed_members;
    for (i, g) in c.groups.iter().take(listed).enumerate() {
        let canon = &c.docs[g.canonical as usize];
        let head = canon.title.as_deref().unwrap_or(&canon.id);
        let mut counts = [0usize; 3];
        for m in &g.members {
            if let Some(r) = m.relation.relation() {
                counts[r as usize] += 1;
            }
        }
        let rels: Vec<String> = [
            ("exact", counts[0]),
            ("near-dup", counts[1]),
            ("rewrite", counts[2]),
        ]
        .iter()
        .filter(|x| x.1 > 0)
        .map(|(n, k)| format!("{k} {n}"))
        .collect();
        let (first, last) = group_dates(c, g);
        let dates = match (first, last) {
            (Some(a), Some(b)) if a == b || format_date(a) == format_date(b) => format_date(a),
            (Some(a), Some(b)) => format!("{} – {}", format_date(a), format_date(b)),
            _ => String::new(),
        };
        // Searched and sorted on: the headline (as shown), then the group's id.
        let search = format!("{} {}", clip(head, 120), clip(&g.id, 60)).to_lowercase();
        let _ = write!(
            o,
            r#"<tr data-rank="{r}" data-size="{n}" data-relations="{rl}" data-dates="{d}" data-search="{sr}"><td class="num">{r}</td><td><details id="g{r}"><summary>{hv}</summary>"#,
            r = i + 1,
            n = g.members.len(),
            rl = esc(&rels.join(", ")),
            d = esc(&dates),
            sr = esc(&search),
            hv = esc(clip(head, 120)),
        );
        if budget == 0 {
            o.push_str(r#"<p class="muted">Members not listed (a large run: see the JSON or JSONL output).</p>"#);
        } else {
            o.push_str(r#"<table class="members"><thead><tr><th>id</th><th>relation</th><th class="num">similarity</th><th>date</th><th>headline</th></tr></thead><tbody>"#);
            let shown = g.members.len().min(opts.members_per_group).min(budget);
            budget -= shown;
            for m in g.members.iter().take(shown) {
                let d = &c.docs[m.doc as usize];
                let rel = m.relation.as_str();
                let _ = write!(
                    o,
                    r#"<tr><td>{}</td><td class="rel-{rel}">{rel}</td><td class="num">{:.3}</td><td>{}</td><td>{}</td></tr>"#,
                    esc(&d.id),
                    m.similarity,
                    d.timestamp.map(format_date).unwrap_or_default(),
                    esc(clip(d.title.as_deref().unwrap_or(""), 100)),
                );
            }
            o.push_str("</tbody></table>");
            if g.members.len() > shown {
                let _ = write!(
                    o,
                    r#"<p class="muted">and {} more members.</p>"#,
                    g.members.len() - shown
                );
            }
        }
        if i < opts.text_groups {
            write_pairs(&mut o, c, g, texts, opts);
        }
        let _ = write!(
            o,
            r#"</details></td><td class="num">{}</td><td>{}</td><td>{}</td></tr>"#,
            g.members.len(),
            esc(&rels.join(", ")),
            esc(&dates)
        );
    }
    o.push_str("</tbody></table>");
    if c.groups.len() > listed {
        let rest = &c.groups[listed..];
        let docs: usize = rest.iter().map(|g| g.members.len()).sum();
        let _ = write!(
            o,
            r#"<p id="rest">And {} smaller groups ({docs} documents, {} to {} documents each) not listed here: see the JSON or JSONL output.</p>"#,
            rest.len(),
            rest.iter().map(|g| g.members.len()).min().unwrap_or(0),
            rest.iter().map(|g| g.members.len()).max().unwrap_or(0),
        );
    }
    o.push_str("</section>");
    let _ = writeln!(o, "</main><script>{SCRIPT}</script></body></html>");
    o
}

/// The members of a group beside its canonical, shared passages highlighted.
fn write_pairs(
    o: &mut String,
    c: &Clustering,
    g: &Group,
    texts: &HashMap<u32, String>,
    opts: &HtmlOptions,
) {
    let canon = &c.docs[g.canonical as usize];
    let Some(ct) = texts.get(&g.canonical) else {
        o.push_str(r#"<p class="muted">The canonical's text is not at hand (an earlier night's document, or read from standard input).</p>"#);
        return;
    };
    for m in g.members.iter().skip(1).take(opts.texts_per_group) {
        let d = &c.docs[m.doc as usize];
        let Some(mt) = texts.get(&m.doc) else {
            continue;
        };
        let al = align(ct, mt, opts.passage_words);
        let shared: usize = al.passages.iter().map(|p| p.words).sum();
        let rel = m.relation.as_str();
        let _ = write!(
            o,
            r#"<details class="pair"><summary>{id} beside the canonical: <span class="rel-{rel}">{rel}</span> {sim:.3}, {np} shared passages ({shared} words)</summary><div class="pair-grid"><article><h4>canonical · {cid}</h4>{ctext}</article><article><h4>{rel} · {id}</h4>{mtext}</article></div></details>"#,
            id = esc(&d.id),
            sim = m.similarity,
            np = al.passages.len(),
            cid = esc(&canon.id),
            ctext = marked(ct, &al.a),
            mtext = marked(mt, &al.b),
        );
    }
}
