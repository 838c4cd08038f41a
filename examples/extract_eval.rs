//! Extraction on an article-extraction benchmark, through the WARC path: every page is
//! wrapped as a WARC response record (HTTP 200, `text/html` without a charset, so the
//! encoding is found as for a crawled page) and read back with
//! [`neardup::io::warc::parse_page`]. Writes `{"id", "text"}` lines for the benchmark's
//! `score.py`.
//!
//! ```text
//! cargo run --release --example extract_eval -- ../shared/extraction/html > pred.jsonl
//! python3 ../shared/extraction/score.py ../shared/extraction/ground-truth.json pred.jsonl
//! ```

use std::io::{Read, Write};

use rayon::prelude::*;

fn main() -> std::io::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .expect("usage: extract_eval HTML_DIR > pred.jsonl");
    let mut pages: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    pages.retain(|p| {
        let n = p.to_string_lossy();
        n.ends_with(".html") || n.ends_with(".html.gz")
    });
    pages.sort();
    let start = std::time::Instant::now();
    let lines: Vec<std::io::Result<String>> = pages
        .par_iter()
        .map(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            let id = name
                .trim_end_matches(".gz")
                .trim_end_matches(".html")
                .to_owned();
            let mut html = Vec::new();
            let f = std::fs::File::open(p)?;
            if name.ends_with(".gz") {
                flate2::read::GzDecoder::new(f).read_to_end(&mut html)?;
            } else {
                std::io::BufReader::new(f).read_to_end(&mut html)?;
            }
            let mut block = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n",
                html.len()
            )
            .into_bytes();
            block.extend_from_slice(&html);
            let mut record = format!(
                "WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: https://bench.example/{id}\r\nWARC-Date: 2020-01-01T00:00:00Z\r\nContent-Type: application/http; msgtype=response\r\nContent-Length: {}\r\n\r\n",
                block.len()
            )
            .into_bytes();
            record.extend_from_slice(&block);
            let page = neardup::io::warc::parse_page(&record);
            Ok(serde_json::json!({"id": id, "text": page.text}).to_string())
        })
        .collect();
    let mut out = std::io::stdout().lock();
    for l in lines {
        writeln!(out, "{}", l?)?;
    }
    #[allow(clippy::print_stderr)]
    {
        eprintln!(
            "{} pages in {:.2} s",
            pages.len(),
            start.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
