//! How the index holds one document ([`Slot`]): its sets and keys in one array, so that a
//! document costs three allocations (the slot's `Arc`, its id, its array) instead of one
//! per set. Saved exactly as the earlier layout was (a slot with its features, keys and
//! flags; see [`Slot`]'s serde impls), so the file format does not change with it.

use crate::features::{FeatureRef, Features};

/// No time (the packed form of `None`: no parsed date is this far back).
const NO_TIME: i64 = i64::MIN;

fn pack(t: Option<i64>) -> i64 {
    t.unwrap_or(NO_TIME)
}

fn unpack(t: i64) -> Option<i64> {
    (t != NO_TIME).then_some(t)
}

/// Where each part of a slot's array starts: shingles, body words, headline words,
/// figures, LSH bucket keys, keywords.
#[derive(Clone, Copy)]
#[repr(usize)]
enum Part {
    Shingles,
    Terms,
    Title,
    Numbers,
    Bands,
    Keywords,
}

/// One document held by the index: what verification, grouping and the tables need,
/// and nothing derivable.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Slot {
    pub(crate) id: Box<str>,
    /// Of its features (without term frequencies, used only to pick keywords at
    /// insertion): the shingle, body word, headline word and figure sets as
    /// verification reads them (a sample: [`crate::config::Footprint`]); then its LSH
    /// bucket keys, one per band (32 bits: a rare false bucket-mate costs one
    /// verification), and the keywords it is listed under. The keys are held by the
    /// first copy of a body (its representative in the tables); later copies have none
    /// and inherit them when the representative leaves.
    data: Box<[u32]>,
    /// Where each part of `data` but the first starts (see [`Part`]).
    starts: [u32; 5],
    /// The exact-body hash ([`Features::exact`]).
    pub(crate) exact: u64,
    /// Length of the text in bytes.
    pub(crate) len: u64,
    /// Publication time and when it was last seen (the nightly job's crawl night, if
    /// the inserter says), packed ([`NO_TIME`] for none).
    timestamp: i64,
    seen: i64,
    /// [`Features::words`].
    words: u32,
    /// Whether it has a body (words and shingles); bodiless documents are in no table.
    pub(crate) listed: bool,
}

impl Slot {
    /// A slot of these features (their term frequencies dropped) and keys.
    #[allow(clippy::too_many_arguments)] // the fields of a slot, named at each call
    pub(crate) fn new(
        id: Box<str>,
        timestamp: Option<i64>,
        seen: Option<i64>,
        len: u64,
        features: FeatureRef<'_>,
        bands: &[u32],
        keywords: &[u32],
        listed: bool,
    ) -> Slot {
        let parts = [
            features.shingles,
            features.terms,
            features.title,
            features.numbers,
            bands,
        ];
        let (data, starts) = pack_parts(&parts, keywords);
        Slot {
            id,
            data,
            starts,
            exact: features.exact,
            len,
            timestamp: pack(timestamp),
            seen: pack(seen),
            words: features.words,
            listed,
        }
    }

    fn part(&self, p: Part) -> &[u32] {
        let i = p as usize;
        let start = if i == 0 {
            0
        } else {
            self.starts[i - 1] as usize
        };
        let end = self.starts.get(i).map_or(self.data.len(), |&e| e as usize);
        &self.data[start..end]
    }

    /// Its features as verification reads them.
    pub(crate) fn features(&self) -> FeatureRef<'_> {
        FeatureRef {
            exact: self.exact,
            words: self.words,
            shingles: self.part(Part::Shingles),
            terms: self.part(Part::Terms),
            title: self.part(Part::Title),
            numbers: self.part(Part::Numbers),
        }
    }

    /// Its LSH bucket keys (none for a later copy of a body).
    pub(crate) fn bands(&self) -> &[u32] {
        self.part(Part::Bands)
    }

    /// The keywords it is listed under (none for a later copy of a body).
    pub(crate) fn keywords(&self) -> &[u32] {
        self.part(Part::Keywords)
    }

    pub(crate) fn timestamp(&self) -> Option<i64> {
        unpack(self.timestamp)
    }

    pub(crate) fn seen(&self) -> Option<i64> {
        unpack(self.seen)
    }

    pub(crate) fn set_seen(&mut self, time: Option<i64>) {
        self.seen = pack(time);
    }

    /// Gives its keys (bands, keywords) a new value: a later copy drops them, the copy
    /// taking a leaving representative's place takes its keys.
    pub(crate) fn set_keys(&mut self, bands: &[u32], keywords: &[u32]) {
        let f = self.features();
        let parts = [f.shingles, f.terms, f.title, f.numbers, bands];
        let (data, starts) = pack_parts(&parts, keywords);
        self.data = data;
        self.starts = starts;
    }

    /// Heap bytes by part, allocation headers apart: (shingles, body words, headline
    /// words and figures, keys).
    pub(crate) fn part_bytes(&self) -> (usize, usize, usize, usize) {
        let n = |p| self.part(p).len() * 4;
        (
            n(Part::Shingles),
            n(Part::Terms),
            n(Part::Title) + n(Part::Numbers),
            n(Part::Bands) + n(Part::Keywords),
        )
    }
}

/// One array holding `parts` then `last`, and where each part after the first starts.
fn pack_parts(parts: &[&[u32]; 5], last: &[u32]) -> (Box<[u32]>, [u32; 5]) {
    let total = parts.iter().map(|p| p.len()).sum::<usize>() + last.len();
    let mut data = Vec::with_capacity(total);
    let mut starts = [0u32; 5];
    for (start, part) in starts.iter_mut().zip(parts) {
        data.extend_from_slice(part);
        // A slot holds samples of a few thousand hashes at most, far below 2^32.
        *start = u32::try_from(data.len()).expect("a slot's sets fit 32-bit offsets");
    }
    data.extend_from_slice(last);
    (data.into_boxed_slice(), starts)
}

/// The saved form of a slot (format versions 2 to 5), written from a slot's parts.
#[derive(serde::Serialize)]
struct SlotOut<'a> {
    id: &'a str,
    timestamp: Option<i64>,
    seen: Option<i64>,
    len: u64,
    features: FeaturesOut<'a>,
    bands: &'a [u32],
    keywords: &'a [u32],
    listed: bool,
}

/// [`Features`] as saved, written from borrowed sets (no term frequencies).
#[derive(serde::Serialize)]
struct FeaturesOut<'a> {
    exact: u64,
    words: u32,
    shingles: &'a [u32],
    terms: &'a [u32],
    tf: &'a [u16],
    title: &'a [u32],
    numbers: &'a [u32],
}

/// The saved form of a slot, read.
#[derive(serde::Deserialize)]
struct SlotIn {
    id: Box<str>,
    timestamp: Option<i64>,
    seen: Option<i64>,
    len: u64,
    features: Features,
    bands: Box<[u32]>,
    keywords: Box<[u32]>,
    listed: bool,
}

impl serde::Serialize for Slot {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let f = self.features();
        SlotOut {
            id: &self.id,
            timestamp: self.timestamp(),
            seen: self.seen(),
            len: self.len,
            features: FeaturesOut {
                exact: f.exact,
                words: f.words,
                shingles: f.shingles,
                terms: f.terms,
                tf: &[],
                title: f.title,
                numbers: f.numbers,
            },
            bands: self.bands(),
            keywords: self.keywords(),
            listed: self.listed,
        }
        .serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for Slot {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = SlotIn::deserialize(d)?;
        Ok(Slot::new(
            s.id,
            s.timestamp,
            s.seen,
            s.len,
            s.features.view(),
            &s.bands,
            &s.keywords,
            s.listed,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn features() -> Features {
        Features {
            exact: 7,
            words: 12,
            shingles: vec![1, 5, 9],
            terms: vec![2, 4],
            tf: vec![1, 3],
            title: vec![],
            numbers: vec![4],
        }
    }

    #[test]
    fn parts_come_back_as_given() {
        let f = features();
        let mut s = Slot::new(
            "a".into(),
            Some(-3),
            None,
            99,
            f.view(),
            &[11, 12],
            &[13],
            true,
        );
        assert_eq!(s.features(), f.view());
        assert_eq!((s.bands(), s.keywords()), (&[11, 12][..], &[13][..]));
        assert_eq!((s.timestamp(), s.seen()), (Some(-3), None));
        s.set_keys(&[], &[]);
        assert_eq!(s.features(), f.view());
        assert!(s.bands().is_empty() && s.keywords().is_empty());
        s.set_keys(&[1], &[2, 3]);
        assert_eq!((s.bands(), s.keywords()), (&[1][..], &[2, 3][..]));
        s.set_seen(Some(5));
        assert_eq!(s.seen(), Some(5));
    }

    /// A slot is saved byte for byte as the layout before it (format 5's slot: the
    /// features whole, term frequencies empty), so the format is unchanged.
    #[test]
    fn saved_as_the_earlier_layout() {
        #[derive(serde::Serialize)]
        struct Earlier {
            id: Box<str>,
            timestamp: Option<i64>,
            seen: Option<i64>,
            len: u64,
            features: Features,
            bands: Box<[u32]>,
            keywords: Box<[u32]>,
            listed: bool,
        }
        let mut f = features();
        f.tf = Vec::new();
        let earlier = Earlier {
            id: "doc-1".into(),
            timestamp: None,
            seen: Some(1_700_000_000),
            len: 4_321,
            features: f.clone(),
            bands: vec![3, 1, 2].into(),
            keywords: vec![8].into(),
            listed: true,
        };
        let slot = Slot::new(
            "doc-1".into(),
            None,
            Some(1_700_000_000),
            4_321,
            f.view(),
            &[3, 1, 2],
            &[8],
            true,
        );
        let bytes = postcard::to_allocvec(&earlier).expect("encodes");
        assert_eq!(postcard::to_allocvec(&slot).expect("encodes"), bytes);
        let back: Slot = postcard::from_bytes(&bytes).expect("decodes");
        assert_eq!(back, slot);
    }
}
