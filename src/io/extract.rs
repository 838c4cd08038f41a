//! HTML pages: the charset found and the bytes decoded, the headline and publication
//! date read from the markup, the main text extracted.
//!
//! The main-text extractor is the `trafilatura` crate (a port of go-trafilatura) with
//! its fallback extractors on: of the Rust extractors on crates.io it scored best on the
//! article-extraction benchmark in `../shared/extraction` (QUALITY.md gives the table
//! and the command).

use encoding_rs::Encoding;

/// What is read from one HTML page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extracted {
    /// The main text (as the extractor joins it); empty when none was found.
    pub text: String,
    /// `og:title`, else `<title>` without the site name.
    pub title: Option<String>,
    /// The publication date as written: `article:published_time` (or
    /// `itemprop=datePublished`), JSON-LD `datePublished`, then `<time datetime>`.
    pub date: Option<String>,
    /// The name of the character encoding the page was decoded from.
    pub encoding: &'static str,
}

/// Decodes and extracts an HTML page. `http_charset` is the `charset` of the HTTP
/// `Content-Type`, if any; `url` the page's address (its top-level domain helps guess
/// an undeclared encoding).
#[must_use]
pub fn extract(bytes: &[u8], http_charset: Option<&str>, url: &str) -> Extracted {
    let (html, encoding) = decode(bytes, http_charset, url);
    let meta = Meta::scan(&html);
    let opts = trafilatura::Options::default().with_fallback(true);
    let mut text = trafilatura::extract(&html, &opts)
        .map(|r| r.content_text)
        .unwrap_or_default();
    let title = meta.title();
    // The headline opens the extracted text on most pages; it is kept apart as the title.
    let h1 = first_h1(&html);
    for t in [title.as_deref(), meta.title.as_deref(), h1.as_deref()]
        .into_iter()
        .flatten()
    {
        if let Some(rest) = text.strip_prefix(t) {
            let cut = text.len() - rest.trim_start().len();
            text.drain(..cut);
            break;
        }
    }
    Extracted {
        text,
        title,
        date: meta.date(),
        encoding: encoding.name(),
    }
}

/// Decodes an HTML page: a byte-order mark, else the HTTP charset, else a `<meta>`
/// charset in the head, else the encoding `chardetng` guesses from the bytes.
#[must_use]
pub fn decode(bytes: &[u8], http_charset: Option<&str>, url: &str) -> (String, &'static Encoding) {
    let declared = Encoding::for_bom(bytes)
        .map(|(e, _)| e)
        .or_else(|| http_charset.and_then(|c| Encoding::for_label(c.trim().as_bytes())))
        .or_else(|| meta_charset(bytes));
    let encoding = declared.unwrap_or_else(|| {
        let mut det = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
        det.feed(&bytes[..bytes.len().min(64 << 10)], bytes.len() <= 64 << 10);
        det.guess(tld(url), chardetng::Utf8Detection::Allow)
    });
    // A page cannot declare itself UTF-16 in ASCII (the HTML standard's rule).
    let encoding = if declared.is_some()
        && Encoding::for_bom(bytes).is_none()
        && (encoding == encoding_rs::UTF_16LE || encoding == encoding_rs::UTF_16BE)
    {
        encoding_rs::UTF_8
    } else {
        encoding
    };
    let (text, used, _) = encoding.decode(bytes);
    (text.into_owned(), used)
}

/// The top-level domain of a URL's host, for `chardetng`.
fn tld(url: &str) -> Option<&[u8]> {
    let host = url.split("://").nth(1)?.split(['/', '?', '#']).next()?;
    let host = host.rsplit('@').next()?.split(':').next()?;
    let last = host.rsplit('.').next()?;
    (!last.is_empty() && last.bytes().all(|b| b.is_ascii_alphabetic())).then_some(last.as_bytes())
}

/// The charset of a `<meta charset>` or `<meta http-equiv=Content-Type>` tag in the
/// first 16 KB.
fn meta_charset(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(16 << 10)]);
    for (name, rest) in tags(&head) {
        if name != "meta" {
            continue;
        }
        let a = attrs(rest);
        let label = attr(&a, "charset").map(str::to_owned).or_else(|| {
            let equiv = attr(&a, "http-equiv")?;
            equiv.eq_ignore_ascii_case("content-type").then_some(())?;
            let content = attr(&a, "content")?;
            let lower = content.to_ascii_lowercase();
            let at = lower.find("charset=")? + "charset=".len();
            Some(
                content[at..]
                    .trim_matches(['"', '\'', ' '])
                    .split([';', ' ', '"', '\''])
                    .next()?
                    .to_owned(),
            )
        });
        if let Some(e) = label.and_then(|l| Encoding::for_label(l.trim().as_bytes())) {
            return Some(e);
        }
    }
    None
}

/// Start tags: the lowercased name and the text up to `>`, in document order. Comments
/// are skipped; the content of `<script>` and `<style>` is not searched for tags.
fn tags(html: &str) -> impl Iterator<Item = (String, &str)> {
    let b = html.as_bytes();
    let mut at = 0;
    std::iter::from_fn(move || {
        loop {
            let lt = at + html[at..].find('<')?;
            at = lt + 1;
            if html[at..].starts_with("!--") {
                at = html[at..].find("-->").map_or(html.len(), |p| at + p + 3);
                continue;
            }
            let name_len = b[at..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == b':')
                .count();
            if name_len == 0 {
                continue;
            }
            let name = html[at..at + name_len].to_ascii_lowercase();
            let rest_start = at + name_len;
            let end = tag_end(&html[rest_start..]).map_or(html.len(), |p| rest_start + p);
            let rest = &html[rest_start..end];
            at = (end + 1).min(html.len());
            if name != "script" && name != "style" && name != "title" {
                return Some((name, rest));
            }
            // Raw text runs to the closing tag; it is handed back after the attributes
            // and their `>`.
            let close = format!("</{name}");
            let content_end = find_ci(&html[at..], &close).map_or(html.len(), |p| at + p);
            at = content_end;
            return Some((name, &html[rest_start..content_end]));
        }
    })
}

/// The end of a tag's attributes: the first `>` outside quotes.
fn tag_end(s: &str) -> Option<usize> {
    let mut quote = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return Some(i),
            _ => {}
        }
    }
    None
}

fn find_ci(hay: &str, needle: &str) -> Option<usize> {
    let n = needle.len();
    hay.as_bytes()
        .windows(n)
        .position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// The attributes of a tag (lowercased names, unescaped values).
fn attrs(s: &str) -> Vec<(String, String)> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
            i += 1;
        }
        let start = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && !matches!(b[i], b'=' | b'/') {
            i += 1;
        }
        if start == i {
            i += 1;
            continue;
        }
        let name = s[start..i].to_ascii_lowercase();
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if i < b.len() && b[i] == b'=' {
            i += 1;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            if i < b.len() && matches!(b[i], b'"' | b'\'') {
                let q = b[i];
                let vs = i + 1;
                i = vs;
                while i < b.len() && b[i] != q {
                    i += 1;
                }
                value = unescape(&s[vs..i.min(b.len())]);
                i += 1;
            } else {
                let vs = i;
                while i < b.len() && !b[i].is_ascii_whitespace() {
                    i += 1;
                }
                value = unescape(&s[vs..i]);
            }
        }
        out.push((name, value));
    }
    out
}

fn attr<'a>(attrs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Unescapes the character references common in titles and attributes.
fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(p) = rest.find('&') {
        out.push_str(&rest[..p]);
        rest = &rest[p..];
        let end = rest[1..].find(';').map(|e| e + 1).filter(|&e| e <= 10);
        let decoded = end.and_then(|e| {
            let name = &rest[1..e];
            let c = if let Some(num) = name.strip_prefix('#') {
                let n = match num.strip_prefix(['x', 'X']) {
                    Some(h) => u32::from_str_radix(h, 16).ok()?,
                    None => num.parse().ok()?,
                };
                char::from_u32(n)?
            } else {
                match name {
                    "amp" => '&',
                    "lt" => '<',
                    "gt" => '>',
                    "quot" => '"',
                    "apos" => '\'',
                    "nbsp" => ' ',
                    "rsquo" => '\u{2019}',
                    "lsquo" => '\u{2018}',
                    "rdquo" => '\u{201d}',
                    "ldquo" => '\u{201c}',
                    "ndash" => '\u{2013}',
                    "mdash" => '\u{2014}',
                    "hellip" => '\u{2026}',
                    "middot" => '\u{b7}',
                    "raquo" => '\u{bb}',
                    "laquo" => '\u{ab}',
                    _ => return None,
                }
            };
            Some((c, e))
        });
        if let Some((c, e)) = decoded {
            out.push(c);
            rest = &rest[e + 1..];
        } else {
            out.push('&');
            rest = &rest[1..];
        }
    }
    out.push_str(rest);
    out
}

/// The text of the first `<h1>`, tags removed.
fn first_h1(html: &str) -> Option<String> {
    let open = find_ci(html, "<h1")?;
    let body = open + tag_end(&html[open..])? + 1;
    let close = body + find_ci(&html[body..], "</h1")?;
    let mut text = String::new();
    let mut in_tag = false;
    for c in html[body..close].chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    let t = squash(&unescape(&text));
    (!t.is_empty()).then_some(t)
}

/// Collapses runs of white space.
fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What the markup says of the page.
#[derive(Debug, Default)]
struct Meta {
    og_title: Option<String>,
    title: Option<String>,
    site_name: Option<String>,
    published: Option<String>,
    json_ld: Option<String>,
    time: Option<String>,
}

impl Meta {
    fn scan(html: &str) -> Meta {
        let mut m = Meta::default();
        for (name, rest) in tags(html) {
            match name.as_str() {
                "meta" => {
                    let a = attrs(rest);
                    let key = attr(&a, "property")
                        .or_else(|| attr(&a, "name"))
                        .or_else(|| attr(&a, "itemprop"))
                        .unwrap_or("")
                        .to_ascii_lowercase();
                    let Some(content) = attr(&a, "content").map(str::trim) else {
                        continue;
                    };
                    if content.is_empty() {
                        continue;
                    }
                    let slot = match key.as_str() {
                        "og:title" => &mut m.og_title,
                        "og:site_name" => &mut m.site_name,
                        "article:published_time" | "datepublished" => &mut m.published,
                        _ => continue,
                    };
                    slot.get_or_insert_with(|| squash(content));
                }
                "title" if m.title.is_none() => {
                    let content = rest.split_once('>').map_or("", |(_, c)| c);
                    let t = squash(&unescape(content));
                    if !t.is_empty() {
                        m.title = Some(t);
                    }
                }
                "script" if m.json_ld.is_none() => {
                    let (open, content) = rest.split_once('>').unwrap_or((rest, ""));
                    let a = attrs(open);
                    if attr(&a, "type")
                        .is_some_and(|t| t.eq_ignore_ascii_case("application/ld+json"))
                    {
                        m.json_ld = json_ld_date(content);
                    }
                }
                "time" if m.time.is_none() => {
                    let a = attrs(rest);
                    if let Some(d) = attr(&a, "datetime")
                        .map(str::trim)
                        .filter(|d| !d.is_empty())
                    {
                        m.time = Some(d.to_owned());
                    }
                }
                _ => {}
            }
        }
        m
    }

    /// `og:title`, else `<title>` without the site name.
    fn title(&self) -> Option<String> {
        if let Some(t) = &self.og_title {
            return Some(t.clone());
        }
        self.title
            .as_deref()
            .map(|t| strip_site_name(t, self.site_name.as_deref()))
    }

    fn date(&self) -> Option<String> {
        self.published
            .clone()
            .or_else(|| self.json_ld.clone())
            .or_else(|| self.time.clone())
    }
}

/// The `datePublished` string of a JSON-LD block.
fn json_ld_date(json: &str) -> Option<String> {
    let at = json.find("\"datePublished\"")? + "\"datePublished\"".len();
    let rest = json[at..].trim_start().strip_prefix(':')?.trim_start();
    let rest = rest.strip_prefix('"')?;
    let end = rest.find('"')?;
    let d = rest[..end].trim();
    (!d.is_empty()).then(|| d.to_owned())
}

/// A `<title>` without the site's name: the named site (`og:site_name`) where it opens
/// or ends the title, else the shorter side of the last ` | `, ` - `, ` – `, ` — ` or
/// ` :: ` when that side has fewer words than the other.
fn strip_site_name(title: &str, site: Option<&str>) -> String {
    const SEPS: [&str; 6] = [" | ", " - ", " – ", " — ", " :: ", " · "];
    if let Some(site) = site.filter(|s| !s.is_empty()) {
        for sep in SEPS {
            if let Some(t) = title.strip_suffix(site).and_then(|t| t.strip_suffix(sep)) {
                return t.trim().to_owned();
            }
            if let Some(t) = title.strip_prefix(site).and_then(|t| t.strip_prefix(sep)) {
                return t.trim().to_owned();
            }
        }
    }
    for sep in SEPS {
        if let Some((a, b)) = title.rsplit_once(sep) {
            let (wa, wb) = (a.split_whitespace().count(), b.split_whitespace().count());
            if wb < wa && wb <= 4 {
                return a.trim().to_owned();
            }
        }
        if let Some((a, b)) = title.split_once(sep) {
            let (wa, wb) = (a.split_whitespace().count(), b.split_whitespace().count());
            if wa < wb && wa <= 3 {
                return b.trim().to_owned();
            }
        }
    }
    title.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charset_from_http_then_meta_then_bytes() {
        let cafe = b"<html><head><meta charset=\"windows-1252\"></head><body>caf\xe9</body></html>";
        let (s, e) = decode(cafe, None, "http://a.example/");
        assert_eq!(e, encoding_rs::WINDOWS_1252);
        assert!(s.contains("café"));
        // The HTTP header wins over the meta tag.
        let (_, e) = decode(cafe, Some("utf-8"), "http://a.example/");
        assert_eq!(e, encoding_rs::UTF_8);
        let (s, _) = decode(
            "<p>déjà vu, naïve café</p>".as_bytes(),
            None,
            "http://a.example/",
        );
        assert!(s.contains("déjà"));
        let (_, e) = decode(
            b"<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=EUC-JP\"></head>",
            None,
            "",
        );
        assert_eq!(e, encoding_rs::EUC_JP);
    }

    #[test]
    fn title_and_date() {
        let html = r#"<html><head><title>Rates rise again &amp; again | The Daily Example</title>
            <meta property="og:site_name" content="The Daily Example">
            <script type="application/ld+json">{"@type":"NewsArticle","datePublished": "2026-03-01T10:00:00Z"}</script>
            </head><body><time datetime="2026-02-01">x</time></body></html>"#;
        let m = Meta::scan(html);
        assert_eq!(m.title().as_deref(), Some("Rates rise again & again"));
        assert_eq!(m.date().as_deref(), Some("2026-03-01T10:00:00Z"));
        let html = r#"<meta property="og:title" content="The &quot;real&quot; one">
            <meta property="article:published_time" content="2026-01-05">
            <title>Other - Site</title><time datetime="2026-02-01">"#;
        let m = Meta::scan(html);
        assert_eq!(m.title().as_deref(), Some("The \"real\" one"));
        assert_eq!(m.date().as_deref(), Some("2026-01-05"));
        let m = Meta::scan(
            "<title>Site News: a long story about things - Site</title><time datetime='2026-02-01'>",
        );
        assert_eq!(
            m.title().as_deref(),
            Some("Site News: a long story about things")
        );
        assert_eq!(m.date().as_deref(), Some("2026-02-01"));
    }

    #[test]
    fn unescapes() {
        assert_eq!(
            unescape("a &amp; b &#233; &#x41; &bogus; &"),
            "a & b é A &bogus; &"
        );
    }
}
