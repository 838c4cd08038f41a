"""The Python API: Index, cluster, errors, threads, pickling."""

import pickle
import threading
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

import neardup

SEEDS = Path(__file__).resolve().parents[2] / "data" / "seeds"

STORY = (
    "The central bank raised its key rate by half a point on Tuesday, citing inflation "
    "that has stayed above target for a year. Markets had expected a smaller move, and "
    "the currency rose against the dollar after the announcement in the capital."
)
OTHER = "A storm closed the harbour and cancelled every ferry today, the port authority said."


def seeds():
    return [(p.name[:3], p.read_text()) for p in sorted(SEEDS.glob("*.txt"))]


def test_insert_finds_the_copy_and_its_group():
    ix = neardup.Index(threshold=0.5)
    first = ix.insert("a", STORY, date="2026-03-01")
    assert first.group is None and first.canonical == "a" and first.relation is None
    assert not first.is_duplicate
    copy = ix.insert("b", STORY + " Copyright 2026 Daily Ledger.", title="Rates up")
    assert copy.is_duplicate
    assert copy.relation in ("exact", "near_duplicate")
    assert copy.group == "a" and copy.canonical == "a"
    assert [m.id for m in copy.matches] == ["a"]
    assert 0.5 <= copy.similarity <= 1.0
    assert ix.insert("c", OTHER).group is None
    assert len(ix) == ix.len() == 3
    assert "a" in ix and "zz" not in ix


def test_query_does_not_insert_and_remove_works():
    ix = neardup.Index()
    ix.insert("a", STORY)
    matches = ix.query(STORY)
    assert [(m.id, m.relation) for m in matches] == [("a", "exact")]
    assert len(ix) == 1
    assert ix.remove("a") is True
    assert ix.remove("a") is False
    assert ix.query(STORY) == [] and len(ix) == 0
    # Every held copy of a matched body is a match, not only the first one held.
    for i in "xyz":
        ix.insert(i, STORY)
    assert sorted(m.id for m in ix.query(STORY + " One more line.")) == ["x", "y", "z"]


def test_dates_of_every_kind():
    ix = neardup.Index()
    day = 1_772_323_200  # 2026-03-01
    ix.insert("s", STORY, date="2026-03-01")
    ix.insert("i", OTHER, date=day)
    ix.insert("d", OTHER + " Again.", date=date(2026, 3, 1))
    ix.insert("t", OTHER + " Twice.", date=datetime(2026, 3, 1, tzinfo=timezone.utc))
    assert ix.evict_before(day + 1) == 4
    assert len(ix) == 0


def test_parse_date():
    assert neardup.parse_date("2026-03-01") == 1_772_323_200
    assert neardup.parse_date("26-FEB-1987 15:01:01.79") == 541_350_061
    assert neardup.parse_date("someday") is None


def test_settings_and_bad_settings():
    ix = neardup.Index(0.7, "simhash", hamming=6, bands=None)
    s = ix.settings
    assert s["threshold"] == 0.7 and s["method"] == "simhash" and s["hamming"] == 6
    with pytest.raises(neardup.ConfigError, match="threshold must be in"):
        neardup.Index(threshold=1.5)
    with pytest.raises(ValueError, match="method \"lsh\""):
        neardup.Index(method="lsh")
    with pytest.raises(neardup.ConfigError, match="shingle"):
        neardup.Index(shingle="letters")
    compact = neardup.Index(footprint="compact")
    assert compact.settings["footprint"] == "compact"
    with pytest.raises(neardup.ConfigError, match="footprint"):
        neardup.Index(footprint="tiny")
    with pytest.raises(TypeError, match="unknown setting \"treshold\""):
        neardup.Index(treshold=0.5)
    with pytest.raises(neardup.ConfigError, match="bands 64x4 need 256"):
        neardup.cluster([], bands="64x4")


def test_bad_input_raises_with_a_clear_message():
    ix = neardup.Index()
    ix.insert("a", STORY)
    with pytest.raises(neardup.IdExistsError, match='id "a" is already in the index'):
        ix.insert("a", OTHER)
    with pytest.raises(neardup.InvalidInputError, match='date "someday" is not a date'):
        ix.insert("b", OTHER, date="someday")
    with pytest.raises(neardup.InvalidInputError, match="date must be"):
        ix.insert("b", OTHER, date=[2026])
    with pytest.raises(TypeError):
        ix.insert("b", 42)
    with pytest.raises(neardup.InvalidInputError, match='record 1: field "text" is missing'):
        neardup.cluster([{"id": "a", "text": STORY}, {"id": "b"}])
    with pytest.raises(neardup.InvalidInputError, match="record 0 .*text must be a str"):
        neardup.cluster([("a", None)])
    with pytest.raises(neardup.InvalidInputError, match="expected a dict"):
        neardup.cluster(["just text"])
    bad_date = [("a", STORY, None, "31-MAR-1987 605:12:19"), ("b", STORY)]
    with pytest.raises(neardup.InvalidInputError, match='record 0 .*date "31-MAR'):
        neardup.cluster(bad_date)
    assert neardup.cluster(bad_date, on_bad_date="ignore")[1]["group"] is not None
    with pytest.raises(neardup.DuplicateIdError, match='id "a" repeats'):
        neardup.cluster([("a", STORY), ("a", OTHER)])
    # Every one of them is a NeardupError.
    with pytest.raises(neardup.NeardupError):
        neardup.cluster([("a", STORY), ("a", OTHER)])


def test_save_load_and_files(tmp_path):
    ix = neardup.Index()
    ix.insert("a", STORY)
    ix.insert("b", STORY + " More.")
    path = tmp_path / "x.ndx"
    ix.save(path)
    back = neardup.Index.load(str(path))
    assert len(back) == 2 and back.placement("b").group == "a"
    assert back.placement("zz") is None
    with pytest.raises(neardup.NotFoundError, match="no such file"):
        neardup.Index.load(tmp_path / "missing.ndx")
    with pytest.raises(FileNotFoundError):
        neardup.Index.load(tmp_path / "missing.ndx")
    (tmp_path / "junk").write_bytes(b"not an index at all")
    with pytest.raises(neardup.IndexFileError, match="not a neardup index file"):
        neardup.Index.load(tmp_path / "junk")
    with pytest.raises(neardup.IndexFileError):
        neardup.Index.from_bytes(b"NEARDUPX\x01")


def test_pickle_round_trip_keeps_groups_and_settings():
    ix = neardup.Index(threshold=0.6, rewrites=False)
    for i, text in enumerate([STORY, STORY + " More.", OTHER]):
        ix.insert(str(i), text)
    back = pickle.loads(pickle.dumps(ix))
    assert back.settings == ix.settings
    assert len(back) == 3
    for i in "012":
        a, b = ix.placement(i), back.placement(i)
        assert (a.group, a.canonical, a.relation) == (b.group, b.canonical, b.relation)
    assert back.insert("3", STORY).group == "0"


def test_threads_insert_concurrently_and_agree_with_one_thread():
    texts = [f"{STORY} Story {i % 40} of the day, edition {i}." for i in range(400)]
    texts = [t if i % 3 else f"Item {i}: " + OTHER * (1 + i % 5) for i, t in enumerate(texts)]
    ix = neardup.Index(rewrites=False)
    errors = []

    def work(k):
        try:
            for i in range(k, len(texts), 4):
                ix.insert(str(i), texts[i])
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(ix) == len(texts)
    # Copies-only groups are connected components: the same partition at any order.
    one = neardup.Index(rewrites=False)
    for i, t in enumerate(texts):
        one.insert(str(i), t)

    def partition(index):
        groups = {}
        for i in range(len(texts)):
            groups.setdefault(index.placement(str(i)).canonical, set()).add(i)
        return sorted(sorted(g) for g in groups.values())

    assert partition(ix) == partition(one)


def test_insert_many_groups_the_batch_at_once():
    recs = [("a", STORY), {"id": "b", "text": STORY + " More."}, ("c", OTHER, "Title")]
    ix = neardup.Index()
    many = ix.insert_many(recs)
    # The batch is grouped once: every verdict is the document's final placement.
    assert [v.group for v in many] == ["a", "a", None]
    assert [ix.placement(i).group for i in "abc"] == ["a", "a", None]


def test_cluster_on_the_seeds():
    rows = neardup.cluster(seeds())
    by_id = {r["id"]: r for r in rows}
    assert [r["id"] for r in rows] == ["000", "001", "003"]
    assert by_id["000"]["group"] is not None
    assert by_id["000"]["group"] == by_id["001"]["group"]
    assert {by_id["000"]["relation"], by_id["001"]["relation"]} >= {"canonical"}
    assert by_id["003"] == {
        "id": "003", "group": None, "canonical": None, "relation": None, "similarity": None
    }


def test_cluster_accepts_dicts_tuples_and_ints_and_agrees():
    as_tuples = neardup.cluster([(1, STORY), (2, STORY + " More."), (3, OTHER)])
    as_dicts = neardup.cluster(
        {"id": str(i), "text": t} for i, t in [(1, STORY), (2, STORY + " More."), (3, OTHER)]
    )
    assert as_tuples == as_dicts
    assert as_tuples[0]["group"] == as_tuples[1]["group"] is not None
    assert neardup.cluster([]) == []


def test_cluster_pandas_and_arrow():
    pd = pytest.importorskip("pandas")
    pa = pytest.importorskip("pyarrow")
    data = {
        "id": ["a", "b", "c"],
        "text": [STORY, STORY + " More.", OTHER],
        "date": ["2026-03-01", None, "2026-03-02"],
    }
    expected = neardup.cluster(
        [{"id": i, "text": t, "date": d} for i, t, d in zip(*data.values())]
    )
    df = neardup.cluster(pd.DataFrame(data))
    assert list(df.columns) == list(neardup.COLUMNS)
    assert df["group"].tolist()[:2] == [expected[0]["group"]] * 2
    table = neardup.cluster(pa.table(data))
    assert table.column_names == list(neardup.COLUMNS)
    assert table.to_pylist() == expected
    with pytest.raises(neardup.InvalidInputError, match='no "text" column'):
        neardup.cluster(pd.DataFrame({"id": ["a"]}))


def test_the_gil_is_released_while_rust_works():
    # One call that spends its time in Rust: sketching a long text (about 4 MB).
    text = " ".join(f"{STORY} Paragraph {i}." for i in range(15_000))
    ix = neardup.Index()
    done = threading.Event()
    ticks = 0

    def work():
        ix.insert("long", text)
        done.set()

    t = threading.Thread(target=work)
    t.start()
    while not done.is_set():
        ticks += 1
    t.join()
    # Holding the GIL through the Rust call would leave this thread next to no ticks.
    assert ticks > 10_000
