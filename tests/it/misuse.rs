//! Every misuse of issue 14 gets a typed error or a documented answer, and what a crawler
//! asks the index (query, placement, contains, members) answers with every copy.
// The similarity of an exact copy, and of the canonical member to itself, is exactly 1.
#![allow(clippy::float_cmp)]

use neardup::{
    Config, Document, Error, FORMAT_VERSION, Index, Method, Placement, QueryOptions, Relation,
    Role, parse_date,
};

use crate::common::{Rng, story};

/// A held index of `a`, `b`, `c` (one text: exact copies), `d` (another story).
fn copies_index() -> (Index, String) {
    let mut rng = Rng::new(14);
    let text = story(&mut rng, 10);
    let index = Index::new(Config::default()).unwrap();
    for id in ["a", "b", "c"] {
        index.insert(Document::new(id, text.clone())).unwrap();
    }
    index
        .insert(Document::new("d", story(&mut rng, 10)))
        .unwrap();
    (index, text)
}

#[test]
fn empty_id_is_a_typed_error() {
    let index = Index::new(Config::default()).unwrap();
    let e = index.insert(Document::new("", "some text")).unwrap_err();
    assert!(matches!(e, Error::EmptyId), "{e:?}");
    assert!(e.is_bad_input());
    assert!(index.is_empty() && !index.contains(""));
    // In a batch, the one document is refused, the others go in.
    let out = index.insert_batch(vec![
        Document::new("x", "one text of a few words"),
        Document::new("", "another text of a few words"),
    ]);
    assert!(out[0].is_ok() && matches!(out[1], Err(Error::EmptyId)));
    assert_eq!(index.len(), 1);
}

#[test]
fn invalid_calendar_dates_are_refused() {
    assert_eq!(parse_date("2026-02-30"), None);
    assert_eq!(parse_date("2025-02-29"), None);
    assert_eq!(parse_date("2026-04-31T10:00:00Z"), None);
    assert_eq!(parse_date("30.02.2014"), None);
    assert_eq!(parse_date("2024-02-29"), Some(1_709_164_800));
    assert_eq!(parse_date("2026-03-02"), Some(1_772_409_600));
}

#[test]
fn a_bad_date_in_a_file_leaves_the_record_undated_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jsonl");
    std::fs::write(
        &input,
        "{\"id\":\"a\",\"text\":\"a text\",\"date\":\"2026-02-30\"}\n\
         {\"id\":\"b\",\"text\":\"b text\",\"date\":\"2026-03-02\"}\n",
    )
    .unwrap();
    let files = neardup::io::read::expand_inputs(&[input]).unwrap();
    let result = neardup::cluster_files(
        files,
        &Config::default(),
        &neardup::ReadOptions::default(),
        &neardup::NoProgress,
    )
    .unwrap();
    assert_eq!(result.stats.bad_dates, 1);
    assert_eq!(result.docs[0].timestamp, None);
    assert_eq!(result.docs[1].timestamp, parse_date("2026-03-02"));
}

#[test]
fn load_with_another_config_names_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.ndx");
    let (index, _) = copies_index();
    index.save(&path).unwrap();
    // `load` adopts the stored configuration, whatever the caller's default.
    assert_eq!(Index::load(&path).unwrap().config(), &Config::default());
    assert!(Index::load_with(&path, &Config::default()).is_ok());
    let other = Config::builder().threshold(0.7).build().unwrap();
    match Index::load_with(&path, &other).unwrap_err() {
        Error::ConfigMismatch {
            path: p,
            field,
            stored,
            given,
        } => {
            assert_eq!(p, path);
            assert_eq!(
                (field.as_str(), stored.as_str(), given.as_str()),
                ("threshold", "0.5", "0.7")
            );
        }
        e => panic!("{e:?}"),
    }
    let simhash = Config::builder().method(Method::SimHash).build().unwrap();
    match Index::load_with(&path, &simhash).unwrap_err() {
        Error::ConfigMismatch { field, .. } => assert_eq!(field, "method"),
        e => panic!("{e:?}"),
    }
}

#[test]
fn corrupted_and_future_files_are_told_apart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.ndx");
    copies_index().0.save(&path).unwrap();
    let good = std::fs::read(&path).unwrap();
    let bad = dir.path().join("bad.ndx");
    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x55;
    std::fs::write(&bad, &flipped).unwrap();
    assert!(matches!(Index::load(&bad), Err(Error::IndexFile { ref path, .. }) if *path == bad));
    std::fs::write(&bad, &good[..good.len() - 3]).unwrap();
    assert!(matches!(Index::load(&bad), Err(Error::IndexFile { .. })));
    let mut future = good.clone();
    future[8..12].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
    std::fs::write(&bad, &future).unwrap();
    match Index::load_with(&bad, &Config::default()).unwrap_err() {
        Error::IndexVersion {
            found, supported, ..
        } => assert_eq!((found, supported), (FORMAT_VERSION + 1, FORMAT_VERSION)),
        e => panic!("{e:?}"),
    }
    assert!(matches!(
        Index::load(dir.path().join("missing.ndx")),
        Err(Error::NotFound { .. })
    ));
}

#[test]
fn save_and_load_take_str_paths() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.ndx");
    let path: &str = path.to_str().unwrap();
    let (index, _) = copies_index();
    index.save(path).unwrap();
    index.save(String::from(path)).unwrap();
    let loaded = Index::load(path).unwrap();
    assert_eq!(loaded.len(), 4);
    assert!(Index::load_with(path, &Config::default()).is_ok());
}

#[test]
fn query_returns_every_copy_and_the_placement() {
    let (index, text) = copies_index();
    // An edit of a: near-duplicate of the body a, b and c share.
    let edited = format!("{text} An added closing line from one more outlet.");
    let q = index.query(&Document::new("q", edited));
    let mut ids: Vec<&str> = q.matches.iter().map(|m| m.id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["a", "b", "c"], "{q:?}");
    assert!(
        q.matches
            .iter()
            .all(|m| m.relation == Relation::NearDuplicate)
    );
    assert_eq!(q.total_matches, 3);
    // It would join the group of a, b and c under its canonical, as an insert does.
    let held = index.placement("b").unwrap();
    assert_eq!(q.group, held.group);
    assert_eq!(q.canonical, held.canonical);
    assert_eq!(q.relation, Role::Member(Relation::NearDuplicate));
    // An excerpt's similarity is its containment: all of a's text is in it.
    assert_eq!(q.similarity, q.matches[0].similarity);
    // The limit keeps the strongest; the placement does not change.
    let one = index.query_with(
        &Document::new(
            "q",
            format!("{text} An added closing line from one more outlet."),
        ),
        QueryOptions { limit: Some(1) },
    );
    assert_eq!((one.matches.len(), one.total_matches), (1, 3));
    assert_eq!(one.matches[0], q.matches[0]);
    assert_eq!((&one.group, &one.canonical), (&q.group, &q.canonical));
    // Nothing was inserted, and the prediction holds.
    assert_eq!(index.len(), 4);
    let v = index
        .insert(Document::new(
            "q",
            format!("{text} An added closing line from one more outlet."),
        ))
        .unwrap();
    assert_eq!(
        (v.group, v.canonical, v.relation, v.similarity),
        (q.group, q.canonical, q.relation, q.similarity)
    );
    // An exact copy of the held body matches its copies, and what the body matches.
    let exact = index.query(&Document::new("e", text.clone()));
    let got: Vec<(&str, Relation)> = exact
        .matches
        .iter()
        .map(|m| (m.id.as_str(), m.relation))
        .collect();
    assert_eq!(
        got,
        [
            ("a", Relation::Exact),
            ("b", Relation::Exact),
            ("c", Relation::Exact),
            ("q", Relation::NearDuplicate)
        ]
    );
    // An unrelated text would be alone, its own canonical.
    let alone = index.query(&Document::new(
        "z",
        "Nothing like any story held here at all.",
    ));
    assert_eq!(
        (
            alone.group,
            alone.canonical.as_str(),
            alone.relation,
            alone.similarity
        ),
        (None, "z", Role::Canonical, 1.0)
    );
    assert!(alone.matches.is_empty());
}

#[test]
fn query_predicts_a_new_canonical() {
    // An earlier-dated copy would become the group's canonical member.
    let mut rng = Rng::new(41);
    let text = story(&mut rng, 10);
    let index = Index::new(Config::default()).unwrap();
    for (id, t) in [("late1", 2_000), ("late2", 3_000)] {
        index
            .insert(Document::new(id, text.clone()).with_timestamp(t))
            .unwrap();
    }
    let early = Document::new("early", text.clone()).with_timestamp(1_000);
    let q = index.query(&early);
    assert_eq!(
        (q.group.as_deref(), q.canonical.as_str(), q.relation),
        (Some("late1"), "early", Role::Canonical)
    );
    let v = index.insert(early).unwrap();
    assert_eq!((v.group, v.canonical), (q.group, q.canonical));
    assert_eq!(v.replaced_canonical.as_deref(), Some("late1"));
}

#[test]
fn contains_members_and_placement() {
    let (index, _) = copies_index();
    assert!(index.contains("a") && index.contains("d") && !index.contains("zz"));
    let members = index.members("a").unwrap();
    let ids: Vec<&str> = members.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["a", "b", "c"]);
    assert_eq!(
        members[0],
        Placement {
            id: "a".into(),
            group: Some("a".into()),
            canonical: "a".into(),
            relation: Role::Canonical,
            similarity: 1.0,
        }
    );
    assert!(
        members[1..]
            .iter()
            .all(|m| m.relation == Role::Member(Relation::Exact) && m.similarity == 1.0)
    );
    // A document alone has no group: no members under its id, and a flat placement.
    assert!(index.members("d").is_none());
    assert!(index.members("zz").is_none());
    let d = index.placement("d").unwrap();
    assert_eq!(
        (d.group, d.canonical.as_str(), d.relation),
        (None, "d", Role::Canonical)
    );
    assert!(index.placement("zz").is_none());
    // The group keeps its id when its first document leaves.
    assert!(index.remove("a"));
    assert!(!index.contains("a"));
    let ids: Vec<String> = index
        .members("a")
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(ids, ["b", "c"]);
    // The canonical member is named as the CLI names it, and read back.
    assert_eq!(Role::Canonical.to_string(), "canonical");
    for role in [
        Role::Canonical,
        Role::Member(Relation::Exact),
        Role::Member(Relation::NearDuplicate),
        Role::Member(Relation::Rewrite),
    ] {
        let json = serde_json::to_string(&role).unwrap();
        assert_eq!(json, format!("\"{role}\""));
        assert_eq!(serde_json::from_str::<Role>(&json).unwrap(), role);
    }
    assert_eq!(Role::Member(Relation::Rewrite).as_str(), "rewrite");
    assert_eq!(
        serde_json::to_value(index.placement("b").unwrap()).unwrap()["relation"],
        "canonical"
    );
    assert_eq!(
        serde_json::to_value(index.placement("c").unwrap()).unwrap()["relation"],
        "exact"
    );
}

#[test]
fn timestamps_are_flat() {
    let index = Index::new(Config::default()).unwrap();
    index
        .insert(Document::new("dated", "a dated text").with_timestamp(86_400))
        .unwrap();
    index
        .insert(Document::new("undated", "an undated text"))
        .unwrap();
    assert_eq!(index.timestamp_of("dated"), Some(86_400));
    assert_eq!(index.timestamp_of("undated"), None);
    assert_eq!(index.timestamp_of("absent"), None);
}

/// On real news (Reuters, with its rewrites and repeated bulletins), a query predicts
/// the group, canonical, relation and similarity the insertion then gives: exactly with
/// frozen word statistics; with learnt ones (which an insertion updates first, and a
/// query does not), the group and canonical member but for a few borderline rewrites.
#[test]
#[ignore = "needs ../shared"]
fn query_predicts_the_insertion_on_reuters() {
    let docs = crate::shared::reuters_sample(3000);
    for rewrites in [true, false] {
        let config = Config::builder().rewrites(rewrites).build().unwrap();
        let stats = neardup::TermStats::from_documents(&docs, &config);
        for frozen in [true, false] {
            let index = if frozen {
                Index::with_stats(config.clone(), stats.clone()).unwrap()
            } else {
                Index::new(config.clone()).unwrap()
            };
            let (mut grouped, mut differ) = (0, Vec::new());
            for d in &docs {
                let q = index.query(d);
                let v = index.insert(d.clone()).unwrap();
                grouped += usize::from(v.group.is_some());
                let same = if frozen {
                    (&q.group, &q.canonical, q.relation, q.similarity)
                        == (&v.group, &v.canonical, v.relation, v.similarity)
                } else {
                    (&q.group, &q.canonical) == (&v.group, &v.canonical)
                };
                if !same {
                    differ.push((q, v));
                }
            }
            assert!(grouped > 50, "{grouped}");
            // Learning: borderline rewrites the document's own words tip (6 of 3,000
            // with rewrites on, 2026-12-03).
            let allowed = if frozen { 0 } else { docs.len() / 200 };
            assert!(
                differ.len() <= allowed,
                "rewrites {rewrites}, frozen {frozen}: {} of {} differ: {differ:#?}",
                differ.len(),
                docs.len()
            );
        }
    }
}

/// What the library's answers look like serialised (JSON): the canonical member named
/// `"canonical"` with similarity 1, as the CLI writes it.
#[test]
fn answers_serialise_as_the_cli_names_them() {
    let (index, text) = copies_index();
    let v = index
        .insert(Document::new("e", format!("{text} One more closing line.")).with_timestamp(0))
        .unwrap();
    let q = index.query_with(
        &Document::new("probe", format!("{text} Another closing line.")),
        QueryOptions { limit: Some(2) },
    );
    let members = index.members(v.group.as_deref().unwrap()).unwrap();
    let json = serde_json::json!({ "verdict": v, "query": q, "members": members });
    insta::assert_snapshot!(serde_json::to_string_pretty(&json).unwrap());
}

/// Past the insertion's regrouping limit (a story copied over 20,000 times), a query
/// says what the insertion does: the group of its strongest neighbour.
#[test]
fn query_past_the_regrouping_limit() {
    let mut rng = Rng::new(20_001);
    let text = story(&mut rng, 6);
    let index = Index::new(Config::default()).unwrap();
    let copies: Vec<Document> = (0..20_001)
        .map(|i| Document::new(format!("c{i:05}"), text.clone()).with_timestamp(i))
        .collect();
    assert!(index.insert_batch(copies).into_iter().all(|r| r.is_ok()));
    let edited =
        Document::new("edit", format!("{text} A line one outlet added.")).with_timestamp(-1);
    let q = index.query(&edited);
    assert_eq!(q.total_matches, 20_001);
    let v = index.insert(edited).unwrap();
    // Dated first, it becomes the canonical member of the copies' group.
    assert_eq!(
        (&q.group, &q.canonical, q.relation),
        (&v.group, &v.canonical, v.relation)
    );
    assert_eq!(
        (v.canonical.as_str(), v.relation),
        ("edit", Role::Canonical)
    );
    // Dated last, a further edit is a near-duplicate of that canonical member.
    let late = Document::new("late", format!("{text} Another line.")).with_timestamp(99_999);
    let q = index.query(&late);
    let v = index.insert(late).unwrap();
    assert_eq!(
        (&q.group, &q.canonical, q.relation),
        (&v.group, &v.canonical, v.relation)
    );
    assert_eq!(q.relation, Role::Member(Relation::NearDuplicate));
}
