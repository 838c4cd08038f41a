#!/usr/bin/env python3
"""The HTML report in a real browser (headless Chromium through Selenium).

Checks, on the report of the bundled seeds and of a made-up corpus of copies (and of
Reuters when given): the page loads with no console error, the table lists as many
groups as `cluster --format json` finds, the search filters it, a group opens to its
members, a member opens beside its canonical with shared passages marked, sorting by
size works, and the keyboard reaches the search (/) and opens a group (Enter).
With --screenshots DIR it writes PNG screenshots of the reports.

Needs Debian's chromium, chromium-driver and python3-selenium (.ci/run installs them).

    python3 benches/report_browser.py --binary target/release/neardup \
        [--reuters ../shared/corpora/reuters21578.jsonl] [--screenshots docs/]
"""

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

passed = 0
failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok    {name}")
    else:
        failed += 1
        print(f"FAIL  {name} {detail}")


def browser(width=1280, height=1000):
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for flag in [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--window-size={width},{height}",
        f"--user-data-dir={tempfile.mkdtemp(prefix='chromium-')}",
    ]:
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)


def report(binary, inputs, out, extra=()):
    """Writes the HTML report of `inputs` to `out`; returns the groups of the JSON output."""
    subprocess.run(
        [binary, "cluster", *inputs, "-q", "--format", "html", "-o", out, *extra], check=True
    )
    js = subprocess.run(
        [binary, "cluster", *inputs, "-q", "--format", "json", *extra],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(js)["groups"]


def visible_rows(d):
    return d.execute_script(
        "return Array.prototype.filter.call(document.querySelectorAll('#groups-table > tbody > tr'),"
        " function(r){return !r.hidden;}).length"
    )


def console_errors(d):
    return [e for e in d.get_log("browser") if e.get("level") == "SEVERE"]


def test_page(d, name, path, groups):
    d.get("file://" + os.path.abspath(path))
    check(f"{name}: no console errors", not console_errors(d), console_errors(d))
    table = d.find_element(By.ID, "groups-table")
    listed = int(table.get_attribute("data-groups"))
    rows = d.find_elements(By.CSS_SELECTOR, "#groups-table > tbody > tr")
    want = min(len(groups), 10_000)
    check(f"{name}: table lists {want} groups", len(rows) == want == listed, (len(rows), listed))
    check(
        f"{name}: summary names the groups",
        f"{len(groups)} (" in d.find_element(By.ID, "summary").text,
    )
    if not groups:
        return
    # Search: a word of the first group's headline keeps that group; nonsense keeps none.
    head = (groups[0]["members"][0]["title"] or groups[0]["id"]).lower()
    word = max((w.strip(".,:;!?()'\"") for w in head.split()), key=len)
    q = d.find_element(By.ID, "search")
    q.clear()
    q.send_keys(word)
    n = visible_rows(d)
    first_visible = d.execute_script(
        "var r=Array.prototype.find.call(document.querySelectorAll('#groups-table > tbody > tr'),"
        " function(r){return !r.hidden;}); return r && r.getAttribute('data-rank');"
    )
    check(
        f"{name}: search {word!r} filters to the groups that name it",
        0 < n <= len(rows) and first_visible == "1",
        (n, first_visible),
    )
    q.clear()
    q.send_keys("zzqxnotaword")
    check(f"{name}: search for nonsense shows no group", visible_rows(d) == 0)
    q.clear()
    q.send_keys(" ")
    check(f"{name}: clearing the search shows all again", visible_rows(d) == len(rows))
    # A group opens to its members.
    g1 = d.find_element(By.ID, "g1")
    g1.find_element(By.TAG_NAME, "summary").click()
    members = g1.find_elements(By.CSS_SELECTOR, "table.members > tbody > tr")
    want_members = min(len(groups[0]["members"]), 25)
    check(
        f"{name}: group 1 opens to its {want_members} members",
        g1.get_attribute("open") is not None
        and len(members) == want_members
        and all(m.is_displayed() for m in members),
        (len(members), want_members),
    )
    ids = [m.find_elements(By.TAG_NAME, "td")[0].text for m in members]
    check(
        f"{name}: members in the order of the JSON output",
        ids == [m["id"] for m in groups[0]["members"][:want_members]],
        ids,
    )
    # A member beside the canonical, with passages marked on both sides.
    pairs = g1.find_elements(By.CSS_SELECTOR, "details.pair")
    if pairs:
        pairs[0].find_element(By.TAG_NAME, "summary").click()
        arts = pairs[0].find_elements(By.TAG_NAME, "article")
        marks = [len(a.find_elements(By.TAG_NAME, "mark")) for a in arts]
        check(
            f"{name}: a member opens beside its canonical, shared passages marked",
            len(arts) == 2 and all(arts[i].is_displayed() for i in range(2)) and min(marks) > 0,
            marks,
        )
    # Sorting by size, ascending then descending.
    size_button = d.find_element(By.CSS_SELECTOR, "th[data-key=size] button")
    size_button.click()
    sizes = d.execute_script(
        "return Array.prototype.map.call(document.querySelectorAll('#groups-table > tbody > tr'),"
        " function(r){return +r.getAttribute('data-size');})"
    )
    check(f"{name}: sorting by size", sizes == sorted(sizes))
    size_button.click()
    sizes = d.execute_script(
        "return Array.prototype.map.call(document.querySelectorAll('#groups-table > tbody > tr'),"
        " function(r){return +r.getAttribute('data-size');})"
    )
    check(f"{name}: sorting by size, descending", sizes == sorted(sizes, reverse=True))
    # Keyboard: / focuses the search; Tab then Enter opens a group's summary.
    d.get("file://" + os.path.abspath(path))
    d.find_element(By.TAG_NAME, "body").send_keys("/")
    focused = d.switch_to.active_element.get_attribute("id")
    check(f"{name}: / focuses the search", focused == "search", focused)
    summary = d.find_element(By.CSS_SELECTOR, "#g1 > summary")
    d.execute_script("arguments[0].focus()", summary)
    d.switch_to.active_element.send_keys(Keys.ENTER)
    check(
        f"{name}: Enter on a focused group opens it",
        d.find_element(By.ID, "g1").get_attribute("open") is not None,
    )
    check(f"{name}: still no console errors", not console_errors(d), console_errors(d))


def screenshot(d, path, out):
    """Group 1 open, its first member beside the canonical."""
    d.get("file://" + os.path.abspath(path))
    g1 = d.find_element(By.ID, "g1")
    g1.find_element(By.TAG_NAME, "summary").click()
    pairs = g1.find_elements(By.CSS_SELECTOR, "details.pair")
    if pairs:
        pairs[0].find_element(By.TAG_NAME, "summary").click()
    d.execute_script("document.getElementById('groups').scrollIntoView()")
    d.save_screenshot(out)
    print(f"wrote {out}")


def made_up_corpus(path, stories=40, seed=7):
    """Stories of made-up words, some copied with boilerplate or cut short."""
    rng = random.Random(seed)
    syl = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ba", "de", "fi", "go"]

    def word():
        return "".join(rng.choice(syl) for _ in range(rng.randint(2, 4)))

    with open(path, "w") as f:
        for i in range(stories):
            text = " ".join(
                " ".join(word() for _ in range(rng.randint(8, 16))) + "." for _ in range(8)
            )
            title = " ".join(word() for _ in range(6))
            rec = lambda id, t: json.dumps({"id": id, "title": title, "text": t})
            f.write(rec(f"s{i}", text) + "\n")
            for k in range(i % 4):
                f.write(rec(f"s{i}-copy{k}", f"Wire staff {k}. {text} All rights reserved.") + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", default=os.path.join(ROOT, "target/release/neardup"))
    ap.add_argument("--reuters", help="also test (and screenshot) the report of this corpus")
    ap.add_argument("--screenshots", help="write PNG screenshots into this directory")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="report-browser-")
    pages = []
    seeds = os.path.join(tmp, "seeds.html")
    pages.append(("seeds", seeds, report(a.binary, [os.path.join(ROOT, "data/seeds")], seeds)))
    corpus = os.path.join(tmp, "made-up.jsonl")
    made_up_corpus(corpus)
    made = os.path.join(tmp, "made-up.html")
    pages.append(("made-up corpus", made, report(a.binary, [corpus], made)))
    if a.reuters:
        reuters = os.path.join(tmp, "reuters.html")
        pages.append(("reuters", reuters, report(a.binary, [a.reuters], reuters)))
    d = browser()
    try:
        for name, path, groups in pages:
            test_page(d, name, path, groups)
        if a.screenshots:
            os.makedirs(a.screenshots, exist_ok=True)
            screenshot(d, seeds, os.path.join(a.screenshots, "report-seeds.png"))
            if a.reuters:
                # Headlines only: the groups table, no article text.
                d.set_window_size(1280, 900)
                d.get("file://" + os.path.abspath(os.path.join(tmp, "reuters.html")))
                d.execute_script("document.getElementById('groups').scrollIntoView()")
                out = os.path.join(a.screenshots, "report-reuters.png")
                d.save_screenshot(out)
                print(f"wrote {out}")
    finally:
        d.quit()
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
