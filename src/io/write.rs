//! Writers: the text report for a person, and JSON, JSON Lines and CSV for programs.

use std::io::{self, Write};

use rayon::prelude::*;
use serde::Serialize;

use crate::pipeline::{Clustering, Member};

/// Output formats of a clustering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// The report for a person: a summary, then the groups, largest first.
    #[default]
    Text,
    /// One JSON document: summary and groups with their members.
    Json,
    /// One line per input document, in input order.
    Jsonl,
    /// The columns of `Jsonl` as CSV with a header.
    Csv,
}

/// One line of the per-document outputs (`jsonl`, `csv`, `dedup --groups`).
#[derive(Debug, Serialize)]
pub struct DocLine<'a> {
    /// Document id.
    pub id: &'a str,
    /// Group id, or `None` when the document is alone.
    pub group: Option<&'a str>,
    /// Id of the group's canonical member.
    pub canonical: Option<&'a str>,
    /// `canonical` for the canonical member, else the relation to it.
    pub relation: Option<&'a str>,
    /// Similarity to the canonical member, rounded to 4 decimals.
    pub similarity: Option<f64>,
}

fn round4(x: f32) -> f64 {
    (f64::from(x) * 10_000.0).round() / 10_000.0
}

fn relation_name(m: &Member) -> &'static str {
    m.relation.as_str()
}

impl Clustering {
    /// The per-document line of document `doc`.
    #[must_use]
    pub fn doc_line(&self, doc: u32) -> DocLine<'_> {
        let id = self.docs[doc as usize].id.as_str();
        match self.group_of(doc) {
            Some((g, m)) => DocLine {
                id,
                group: Some(&g.id),
                canonical: Some(&self.docs[g.canonical as usize].id),
                relation: Some(relation_name(m)),
                similarity: Some(round4(m.similarity)),
            },
            None => DocLine {
                id,
                group: None,
                canonical: None,
                relation: None,
                similarity: None,
            },
        }
    }

    /// Writes the clustering in `format`.
    ///
    /// # Errors
    /// Whatever writing to `out` returns.
    pub fn write(&self, format: Format, out: &mut dyn Write) -> io::Result<()> {
        match format {
            Format::Text => self.write_text(out),
            Format::Json => self.write_json(out),
            Format::Jsonl => self.write_jsonl(out),
            Format::Csv => self.write_csv(out),
        }
    }

    /// One JSON line per document, in input order.
    ///
    /// # Errors
    /// Whatever writing to `out` returns.
    pub fn write_jsonl(&self, out: &mut dyn Write) -> io::Result<()> {
        self.write_lines(out, |buf, l| {
            serde_json::to_writer(&mut *buf, l)?;
            buf.push(b'\n');
            Ok(())
        })
    }

    fn write_csv(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "id,group,canonical,relation,similarity")?;
        self.write_lines(out, |buf, l| {
            writeln!(
                buf,
                "{},{},{},{},{}",
                csv_field(l.id),
                csv_field(l.group.unwrap_or("")),
                csv_field(l.canonical.unwrap_or("")),
                l.relation.unwrap_or(""),
                l.similarity.map(|s| s.to_string()).unwrap_or_default()
            )
        })
    }

    /// Writes one line per document, in input order, formatting blocks of documents in
    /// parallel (a bounded number at a time) and writing them in order.
    fn write_lines(
        &self,
        out: &mut dyn Write,
        line: impl Fn(&mut Vec<u8>, &DocLine<'_>) -> io::Result<()> + Sync,
    ) -> io::Result<()> {
        const BLOCK: usize = 4096;
        let n = self.docs.len();
        let starts: Vec<usize> = (0..n).step_by(BLOCK).collect();
        for batch in starts.chunks(4 * rayon::current_num_threads().max(1)) {
            let bufs: Vec<io::Result<Vec<u8>>> = batch
                .par_iter()
                .map(|&lo| {
                    let mut buf = Vec::with_capacity(BLOCK * 64);
                    for d in lo..(lo + BLOCK).min(n) {
                        line(&mut buf, &self.doc_line(d as u32))?;
                    }
                    Ok(buf)
                })
                .collect();
            for buf in bufs {
                out.write_all(&buf?)?;
            }
        }
        Ok(())
    }

    fn write_json(&self, out: &mut dyn Write) -> io::Result<()> {
        #[derive(Serialize)]
        struct JMember<'a> {
            id: &'a str,
            title: Option<&'a str>,
            relation: &'a str,
            similarity: f64,
        }
        #[derive(Serialize)]
        struct JGroup<'a> {
            id: &'a str,
            canonical: &'a str,
            size: usize,
            members: Vec<JMember<'a>>,
        }
        #[derive(Serialize)]
        struct Top<'a> {
            summary: &'a crate::pipeline::RunStats,
            groups: Vec<JGroup<'a>>,
        }
        let groups = self
            .groups
            .iter()
            .map(|g| JGroup {
                id: &g.id,
                canonical: &self.docs[g.canonical as usize].id,
                size: g.members.len(),
                members: g
                    .members
                    .iter()
                    .map(|m| {
                        let d = &self.docs[m.doc as usize];
                        JMember {
                            id: &d.id,
                            title: d.title.as_deref(),
                            relation: relation_name(m),
                            similarity: round4(m.similarity),
                        }
                    })
                    .collect(),
            })
            .collect();
        serde_json::to_writer_pretty(
            &mut *out,
            &Top {
                summary: &self.stats,
                groups,
            },
        )?;
        out.write_all(b"\n")
    }

    /// The summary lines of the text report.
    ///
    /// # Errors
    /// Whatever writing to `out` returns.
    pub fn write_summary(&self, out: &mut dyn Write) -> io::Result<()> {
        let s = &self.stats;
        let copies = s.docs_in_groups - s.groups;
        let share = if s.documents > 0 {
            100.0 * copies as f64 / s.documents as f64
        } else {
            0.0
        };
        let rate = if s.elapsed > 0.0 {
            s.documents as f64 / s.elapsed
        } else {
            0.0
        };
        writeln!(out, "documents        {}", s.documents)?;
        writeln!(
            out,
            "groups           {} ({} documents in groups)",
            s.groups, s.docs_in_groups
        )?;
        writeln!(
            out,
            "duplicate share  {share:.1}% ({copies} {} not canonical)",
            if copies == 1 {
                "document is"
            } else {
                "documents are"
            }
        )?;
        if s.empty > 0 {
            writeln!(out, "empty texts      {} (each alone)", s.empty)?;
        }
        if s.skipped_invalid > 0 {
            writeln!(out, "skipped invalid  {}", s.skipped_invalid)?;
            for e in &s.invalid_examples {
                writeln!(out, "  {e}")?;
            }
        }
        if s.lossy_utf8 > 0 {
            writeln!(
                out,
                "lossy UTF-8      {} (invalid bytes replaced)",
                s.lossy_utf8
            )?;
        }
        if s.bad_dates > 0 {
            writeln!(out, "unknown dates    {} (treated as undated)", s.bad_dates)?;
        }
        if !s.warc.is_empty() {
            let w = &s.warc;
            writeln!(
                out,
                "WARC records     {} ({} pages read)",
                w.records, w.pages
            )?;
            let skipped: Vec<String> = w
                .skipped()
                .iter()
                .map(|(k, n)| format!("{n} {k}"))
                .collect();
            if !skipped.is_empty() {
                writeln!(out, "WARC skipped     {}", skipped.join(", "))?;
            }
            for e in &w.broken_examples {
                writeln!(out, "  {e}")?;
            }
        }
        // A report without timings (the nightly job's, which two runs of one night must
        // give byte for byte) has no elapsed time.
        if s.elapsed > 0.0 {
            let stages: Vec<String> = s
                .seconds
                .iter()
                .map(|(stage, secs)| format!("{stage} {secs:.2}"))
                .collect();
            writeln!(
                out,
                "elapsed          {:.2} s ({rate:.0} documents/s; {})",
                s.elapsed,
                stages.join(", ")
            )?;
            if let (Some(peak), Some(per_doc)) = (s.peak_rss_bytes, s.bytes_per_doc) {
                writeln!(
                    out,
                    "memory           {:.0} MB peak, {per_doc:.0} bytes/document",
                    peak as f64 / 1e6
                )?;
            }
        }
        Ok(())
    }

    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        self.write_summary(out)?;
        let width = self
            .groups
            .iter()
            .flat_map(|g| &g.members)
            .map(|m| self.docs[m.doc as usize].id.chars().count())
            .max()
            .unwrap_or(0)
            // Ids are aligned up to a sensible width; a longer one just runs over (and
            // a width over 65,535 would panic in `fmt`).
            .min(MAX_ID_WIDTH);
        for (i, g) in self.groups.iter().enumerate() {
            let c = &self.docs[g.canonical as usize];
            writeln!(out)?;
            writeln!(
                out,
                "group {} · {} documents · {}",
                i + 1,
                g.members.len(),
                g.id
            )?;
            if let Some(t) = &c.title {
                writeln!(out, "  {}", one_line(t, 96))?;
            }
            for m in &g.members {
                let d = &self.docs[m.doc as usize];
                writeln!(
                    out,
                    "  {:<width$}  {:<14}  {:.3}",
                    d.id,
                    relation_name(m),
                    m.similarity
                )?;
            }
        }
        Ok(())
    }
}

/// The widest column of ids in the text report.
const MAX_ID_WIDTH: usize = 60;

/// A title on one line, cut to `max` characters.
fn one_line(s: &str, max: usize) -> String {
    let flat: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        flat
    } else {
        let cut: String = flat.chars().take(max - 1).collect();
        format!("{cut}…")
    }
}

/// Quotes a CSV field when it holds a comma, quote or line break.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}
