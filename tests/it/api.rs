//! The library API: in-memory clustering, relations, canonical choice.

use neardup::{Config, Document, Relation, Role, cluster_documents};

use crate::common::{Rng, story};

#[test]
fn copies_truncations_and_strangers() {
    let mut rng = Rng::new(11);
    let base = story(&mut rng, 12);
    let half: String = base.split(". ").take(8).collect::<Vec<_>>().join(". ");
    let docs = vec![
        Document::new("orig", base.clone()).with_timestamp(100),
        Document::new("copy", base.clone()).with_timestamp(200),
        Document::new("cut", half).with_timestamp(150),
        Document::new("other", story(&mut rng, 12)),
    ];
    let r = cluster_documents(&docs, &Config::default()).unwrap();
    assert_eq!(r.groups.len(), 1);
    let (g, _) = r.group_of(0).unwrap();
    assert_eq!(
        r.docs[g.canonical as usize].id, "orig",
        "earliest is canonical"
    );
    let rel = |i: u32| r.group_of(i).unwrap().1.relation;
    assert_eq!(rel(0), Role::Canonical);
    assert_eq!(rel(1), Role::Member(Relation::Exact));
    assert_eq!(rel(2), Role::Member(Relation::NearDuplicate));
    assert!(r.group_of(3).is_none());
}

#[test]
fn most_related_wins_without_dates_then_smallest_id() {
    let mut rng = Rng::new(12);
    let base = story(&mut rng, 10);
    let longer = format!("{base} Extra closing line from another outlet.");
    let docs = [
        Document::new("b", base.clone()),
        Document::new("c", longer),
        Document::new("a", base),
    ];
    // "a" and "b" are exact copies (equally related: a copy counts what its text
    // counts), each more related than the longer "c": the smaller id wins, in any order.
    for order in [[0, 1, 2], [2, 1, 0], [1, 2, 0]] {
        let docs: Vec<Document> = order.iter().map(|&i| docs[i].clone()).collect();
        let r = cluster_documents(&docs, &Config::default()).unwrap();
        let (g, _) = r.group_of(0).unwrap();
        assert_eq!(r.docs[g.canonical as usize].id, "a");
        assert_eq!(g.id, "a", "a group is named after its canonical member");
    }
}

#[test]
fn no_rewrites_finds_only_copies() {
    let seeds = [
        include_str!("../../data/seeds/000_674dd88529f57a27.txt"),
        include_str!("../../data/seeds/001_e8efe33f63bedb2f.txt"),
    ];
    let docs: Vec<Document> = seeds
        .iter()
        .enumerate()
        .map(|(i, t)| Document::new(i.to_string(), *t))
        .collect();
    let with = cluster_documents(&docs, &Config::default()).unwrap();
    assert_eq!(with.groups.len(), 1);
    assert_eq!(
        with.group_of(1).unwrap().1.relation,
        Role::Member(Relation::Rewrite)
    );
    let without =
        cluster_documents(&docs, &Config::builder().rewrites(false).build().unwrap()).unwrap();
    assert!(without.groups.is_empty());
}

#[test]
fn duplicate_ids_are_rejected() {
    let docs = vec![Document::new("x", "a b c"), Document::new("x", "d e f")];
    let e = cluster_documents(&docs, &Config::default()).unwrap_err();
    assert!(matches!(e, neardup::Error::DuplicateId { .. }), "{e}");
}

#[test]
fn different_headlines_over_one_template_are_different_stories() {
    // Two notices from one template: same body words but for the figures, headlines
    // naming different companies. In a corpus where the template is common, they must
    // not be grouped.
    let mut docs = Vec::new();
    let mut rng = Rng::new(13);
    for i in 0..40 {
        let a = 10 + rng.below(40);
        let b = 1 + rng.below(27);
        // A distinct made-up company name per notice.
        let syl = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo"];
        let name = format!(
            "{}{}{}",
            syl[i / 8],
            syl[i % 8],
            crate::common::word(&mut rng)
        );
        docs.push(
            Document::new(
                format!("n{i}"),
                format!("Qtly div {a} cts vs {a} cts prior Pay April {b} Record March {b}"),
            )
            .with_title(format!("{name} corp sets regular quarterly cash dividend")),
        );
    }
    let r = cluster_documents(&docs, &Config::default()).unwrap();
    for g in &r.groups {
        // Every member but the canonical one (relation None) must be an exact copy.
        for m in g.members.iter().skip(1) {
            assert_eq!(
                m.relation,
                Role::Member(Relation::Exact),
                "only identical bodies may group here: {:?}",
                g.members
                    .iter()
                    .map(|m| &r.docs[m.doc as usize])
                    .collect::<Vec<_>>()
            );
        }
    }
}
