#!/usr/bin/env python3
"""Writes the small WARC fixtures of tests/it/warc.rs (deterministic; run from this directory).

small.warc / small.warc.gz  the same 13 records, plain and one gzip member per record:
  warcinfo; for three article pages request + response + metadata (Common Crawl's layout,
  linked by WARC-Concurrent-To): a UTF-8 page, a windows-1252 page (charset only in <meta>)
  and a copy of the first story on another site; a 301 redirect; a revisit; a PNG; a 404.
truncated.warc.gz           the first four members of small.warc.gz, then half of the fifth.
bad-header.warc.gz          a member that is not a WARC record, then two good ones.
small.warc.wet              a WET file: warcinfo and two conversion records.
"""
import gzip

STORY = [
    "The city council voted on Tuesday to rebuild the old harbour bridge, ending a debate that "
    "has divided the town for more than a decade and cost two mayors their jobs.",
    "Engineers said the new crossing would carry trams as well as cars and bicycles, and that "
    "work could begin next spring if the regional government agrees to share the cost.",
    "Shop owners near the waterfront welcomed the decision, saying that the closure of the old "
    "bridge had cut the number of visitors to the market by almost a third since last summer.",
    "Opponents argued that the money would be better spent on schools and on the hospital, and "
    "promised to collect signatures for a referendum before the end of the year.",
    "The mayor said she expected the first trams to cross the river within four years.",
]
OTHER = [
    "Caf\u00e9 owners in the old town say the new parking rules have emptied their terraces, "
    "and they want the council to try a different scheme before the tourist season begins.",
    "A survey by the traders' association found that nine in ten businesses saw fewer "
    "customers in the first month, although the council disputes how the survey was done.",
    "The deputy mayor promised a review in June and said that na\u00efve comparisons with last "
    "year ignored the weather, which was unusually wet in the spring.",
    "Residents of the narrow streets, on the other hand, said the quieter evenings were the "
    "best thing to happen to the neighbourhood in years.",
]


def page(title, site, paras, date_meta=None, charset_meta=None, jsonld=None):
    head = []
    if charset_meta:
        head.append(f'<meta charset="{charset_meta}">')
    head.append(f"<title>{title} | {site}</title>")
    head.append(f'<meta property="og:site_name" content="{site}">')
    if date_meta:
        head.append(f'<meta property="article:published_time" content="{date_meta}">')
    if jsonld:
        head.append(f'<script type="application/ld+json">{{"@type":"NewsArticle","datePublished":"{jsonld}"}}</script>')
    body = "".join(f"<p>{p}</p>\n" for p in paras)
    return (
        "<!DOCTYPE html><html><head>" + "".join(head) + "</head><body>"
        f'<nav><a href="/">Home</a> <a href="/news">News</a> <a href="/sport">Sport</a></nav>'
        f'<div class="cookie-banner">We use cookies. <button>Accept</button></div>'
        f"<article><h1>{title}</h1>\n{body}</article>"
        f'<aside class="related"><h2>Related</h2><ul><li><a href="/a">Another story</a></li></ul></aside>'
        f"<footer>&copy; 2026 {site}. All rights reserved.</footer></body></html>"
    )


def record(ty, uri, block, rid, date="2026-03-02T10:00:00Z", extra=()):
    head = ["WARC/1.0", f"WARC-Type: {ty}", f"WARC-Date: {date}", f"WARC-Record-ID: <urn:uuid:{rid}>"]
    if uri:
        head.append(f"WARC-Target-URI: {uri}")
    head += list(extra)
    head.append(f"Content-Length: {len(block)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + block + b"\r\n\r\n"


def http(status, ctype, body, extra=""):
    reason = {200: "OK", 301: "Moved Permanently", 404: "Not Found"}[status]
    head = f"HTTP/1.1 {status} {reason}\r\n"
    if ctype:
        head += f"Content-Type: {ctype}\r\n"
    head += extra + f"Content-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


def fetch(n, uri, resp_block, date):
    req = record("request", uri, f"GET / HTTP/1.1\r\nHost: x\r\n\r\n".encode(), f"req-{n}", date)
    resp = record("response", uri, resp_block, f"resp-{n}", date, [f"WARC-Concurrent-To: <urn:uuid:req-{n}>"])
    meta = record("metadata", uri, b"fetchTimeMs: 12\r\n", f"meta-{n}", date,
                  [f"WARC-Concurrent-To: <urn:uuid:resp-{n}>"])
    return [req, resp, meta]


def main():
    recs = [record("warcinfo", None, b"software: make_fixtures.py\r\n", "info")]
    a = page("Council votes to rebuild the harbour bridge", "The Daily Example", STORY,
             date_meta="2026-03-01T08:00:00Z")
    recs += fetch(1, "https://daily.example/news/bridge", http(200, "text/html; charset=utf-8", a.encode()),
                  "2026-03-02T10:00:00Z")
    b = page("Caf\u00e9 owners protest parking rules", "Le Petit Exemple", OTHER,
             charset_meta="windows-1252", jsonld="2026-02-27")
    recs += fetch(2, "https://petit.example/cafes", http(200, "text/html", b.encode("cp1252")),
                  "2026-03-02T10:01:00Z")
    c = page("Council votes to rebuild the harbour bridge", "Weekly Sample", STORY)
    recs += fetch(3, "https://weekly.example/2026/bridge", http(200, "text/html; charset=utf-8", c.encode()),
                  "2026-03-02T10:02:00Z")
    recs.append(record("response", "http://daily.example/news/bridge",
                       http(301, "text/html", b"", "Location: https://daily.example/news/bridge\r\n"), "redir"))
    recs.append(record("revisit", "https://daily.example/news/bridge", http(200, "text/html", b"")[:-0 or None],
                       "revisit", extra=["WARC-Profile: http://netpreserve.org/warc/1.0/revisit/identical-payload-digest",
                                         "WARC-Refers-To: <urn:uuid:resp-1>"]))
    recs.append(record("response", "https://daily.example/logo.png",
                       http(200, "image/png", b"\x89PNG\r\n\x1a\n" + bytes(range(32))), "png"))
    recs.append(record("response", "https://daily.example/gone", http(404, "text/html", b"<p>gone</p>"), "gone"))

    with open("small.warc", "wb") as f:
        f.write(b"".join(recs))
    members = [gzip.compress(r, mtime=0) for r in recs]
    with open("small.warc.gz", "wb") as f:
        f.write(b"".join(members))
    with open("truncated.warc.gz", "wb") as f:
        f.write(b"".join(members[:4]) + members[4][: len(members[4]) // 2])
    with open("bad-header.warc.gz", "wb") as f:
        f.write(gzip.compress(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc", mtime=0)
                + b"".join(members[:2]))

    wet = [record("warcinfo", None, b"software: make_fixtures.py\r\n", "winfo")]
    wet.append(record("conversion", "https://daily.example/news/bridge", "\n".join(STORY).encode(), "c1",
                      extra=["Content-Type: text/plain"]))
    wet.append(record("conversion", "https://weekly.example/2026/bridge", "\n".join(STORY).encode(), "c2",
                      extra=["Content-Type: text/plain"]))
    with open("small.warc.wet", "wb") as f:
        f.write(b"".join(wet))


if __name__ == "__main__":
    main()
