//! Runs the Rust main-text extractors of crates.io on the article-extraction benchmark's
//! pages: `extractors HTML_DIR GROUND_TRUTH.json OUT_DIR [TOOL...]` writes
//! `OUT_DIR/<tool>.jsonl` (`{"id", "text"}`) for `score.py`, and the time per tool.
use std::io::{Read, Write};
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = &args[1];
    let out = &args[3];
    let mut tools: Vec<&str> = args[4..].iter().map(|s| s.as_str()).collect();
    if tools.is_empty() {
        tools = vec!["rs_trafilatura", "rs_url", "rs_article", "rs_tables", "trafilatura", "trafilatura_fb", "trafilatura_rec", "dom_smoothie"];
    }
    let truth: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&args[2]).unwrap()).unwrap();
    let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    for &tool in &tools {
        let mut w = std::fs::File::create(format!("{out}/{tool}.jsonl")).unwrap();
        let t0 = std::time::Instant::now();
        for p in &files {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            let id = name.trim_end_matches(".html.gz");
            let url = truth[id]["url"].as_str().map(str::to_owned);
            let mut s = String::new();
            flate2::read::GzDecoder::new(std::fs::File::open(p).unwrap()).read_to_string(&mut s).unwrap();
            let text = match tool {
                "rs_trafilatura" => rs_trafilatura::extract(&s).map(|r| r.content_text).unwrap_or_default(),
                "rs_url" => rs_trafilatura::extract_with_options(&s, &rs_trafilatura::Options{url: url.clone(), ..Default::default()}).map(|r| r.content_text).unwrap_or_default(),
                "rs_article" => rs_trafilatura::extract_with_options(&s, &rs_trafilatura::Options{url: url.clone(), page_type: Some(rs_trafilatura::page_type::PageType::Article), ..Default::default()}).map(|r| r.content_text).unwrap_or_default(),
                "rs_tables" => rs_trafilatura::extract_with_options(&s, &rs_trafilatura::Options{url: url.clone(), include_tables: false, ..Default::default()}).map(|r| r.content_text).unwrap_or_default(),
                "trafilatura" => trafilatura::extract(&s, &trafilatura::Options::default()).map(|r| r.content_text).unwrap_or_default(),
                "trafilatura_fb" => trafilatura::extract(&s, &trafilatura::Options::default().with_fallback(true)).map(|r| r.content_text).unwrap_or_default(),
                "trafilatura_rec" => trafilatura::extract(&s, &trafilatura::Options::default().with_fallback(true).with_focus(trafilatura::ExtractionFocus::FavorRecall)).map(|r| r.content_text).unwrap_or_default(),
                _ => dom_smoothie::Readability::new(s.as_str(), None, None).ok().and_then(|mut r| r.parse().ok()).map(|a| a.text_content.to_string()).unwrap_or_default(),
            };
            writeln!(w, "{}", serde_json::json!({"id": id, "text": text})).unwrap();
        }
        eprintln!("{tool}: {:?}", t0.elapsed());
    }
}
