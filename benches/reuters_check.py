#!/usr/bin/env python3
"""Checks neardup's groups on Reuters-21578 against what the corpus tells us.

usage: benches/reuters_check.py REUTERS.jsonl GROUPS.json [--largest 20] [--mixed 30]

GROUPS.json is `neardup cluster REUTERS.jsonl --format json`. Prints:
- whether every set of byte-identical bodies (field exact_dup_group) is in one group;
- groups whose members carry different tickers in their headlines (<ABC>, suffixes such
  as .O dropped) and different bodies: a proxy for "different companies' items in one
  group" (it also flags real two-company stories and one company under two tickers);
- the largest groups with a few headlines each.
Tickers are used only here, to evaluate; neardup never reads them.
"""
import argparse
import collections
import json
import re


def tickers(title):
    return {t.split(".")[0] for t in re.findall(r"<([^>]+)>", title or "")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("groups")
    ap.add_argument("--largest", type=int, default=20)
    ap.add_argument("--mixed", type=int, default=30)
    a = ap.parse_args()
    docs = {}
    with open(a.corpus, encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            docs[str(d["id"])] = d
    out = json.load(open(a.groups, encoding="utf-8"))
    group_of = {m["id"]: g["id"] for g in out["groups"] for m in g["members"]}

    exact = collections.defaultdict(set)
    for i, d in docs.items():
        if d.get("exact_dup_group"):
            exact[d["exact_dup_group"]].add(group_of.get(i))
    split = [k for k, v in exact.items() if len(v) != 1 or None in v]
    s = out["summary"]
    print(f"documents {s['documents']}, groups {s['groups']}, documents in groups {s['docs_in_groups']}")
    print(f"byte-identical body sets: {len(exact)}, not in one group: {len(split)}")

    mixed = []
    for g in out["groups"]:
        ms = [docs[m["id"]] for m in g["members"]]
        tagged = [(tickers(m.get("title")), m) for m in ms]
        tagged = [t for t in tagged if t[0]]
        clash = [
            (x[1], y[1])
            for i, x in enumerate(tagged)
            for y in tagged[i + 1:]
            if not (x[0] & y[0]) and (x[1]["text"] or "").strip() != (y[1]["text"] or "").strip()
        ]
        if clash:
            mixed.append((g, clash[0]))
    print(f"groups with different tickers over different bodies: {len(mixed)}")
    for g, (x, y) in mixed[: a.mixed]:
        print(f"  {g['size']:>3}  {x.get('title')}  |  {y.get('title')}")

    print(f"\n{a.largest} largest groups:")
    for i, g in enumerate(out["groups"][: a.largest]):
        rel = collections.Counter(m["relation"] for m in g["members"][1:])
        titles = []
        for m in g["members"]:
            t = (m.get("title") or "").strip()[:60]
            if t not in titles:
                titles.append(t)
        rels = ", ".join(f"{v} {k}" for k, v in sorted(rel.items()))
        print(f"{i + 1:>2}. {g['size']} docs ({rels}): " + " | ".join(titles[:3]))


if __name__ == "__main__":
    main()
