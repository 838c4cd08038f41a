//! The LSH bucket chains: per band, each document's next older member of its bucket,
//! held only where there is one.
//!
//! A chain link per document and band (26 bands: 104 bytes a document) held mostly
//! nothing: with 1,000,000 synthetic news articles held, 82% of the links were none,
//! since most buckets hold one document and a later copy of a body is in no bucket at
//! all. So a document's links are a record of the bands that have one, a bitmap, and
//! those links in band order; a document without any has no record. Reading a link costs
//! one more read than an array of all of them (the record's start, then the record), and
//! the bitmap's population count gives the link's place.
//!
//! Records are appended and never moved but when a document gains a link it did not
//! have (only a copy of a body taking a leaving representative's place, inserted in
//! the middle of chains, does that to a neighbour): the record is then written again at
//! the end, with the link added. A link that comes to be none stays in its record as
//! [`NIL`]. The space of records left behind is freed when the tables are built again
//! (on loading and after [`crate::Index::compact`]), as an array of all links held the
//! links of removed documents until then too.

use super::NIL;
use super::paged::Paged;

/// The bucket chains of a banding (see the module docs).
#[derive(Debug, Clone, Default)]
pub(crate) struct Chains {
    /// Bitmap words per record (bits for the bands, 32 to a word).
    bitmap: usize,
    /// Per document, where its record starts in `records`, or [`NIL`] for none.
    at: Paged,
    /// The records, one after the other: `bitmap` words whose bit `i` says whether
    /// band `i` has a link, then those links in band order.
    records: Paged,
}

impl Chains {
    /// Chains of `bands` bands for `docs` documents, none linked.
    pub fn new(bands: usize, docs: usize) -> Self {
        Chains {
            bitmap: bands.div_ceil(32),
            at: Paged::filled(docs, NIL),
            records: Paged::default(),
        }
    }

    /// Room for `docs` documents (the new ones unlinked).
    pub fn resize(&mut self, docs: usize) {
        self.at.resize(docs, NIL);
    }

    /// Where band `band`'s link of the record at `start` is, if it has one.
    #[inline]
    fn find(&self, start: usize, band: usize) -> Option<usize> {
        let (word, bit) = (band / 32, band % 32);
        let bits = self.records[start + word];
        if bits >> bit & 1 == 0 {
            return None;
        }
        let before: u32 = (0..word)
            .map(|w| self.records[start + w].count_ones())
            .sum::<u32>()
            + (bits & ((1u32 << bit) - 1)).count_ones();
        Some(start + self.bitmap + before as usize)
    }

    /// Document `d`'s next older bucket member in band `band` ([`NIL`] for none).
    #[inline]
    pub fn get(&self, d: u32, band: usize) -> u32 {
        let start = self.at[d as usize];
        if start == NIL {
            return NIL;
        }
        match self.find(start as usize, band) {
            Some(at) => self.records[at],
            None => NIL,
        }
    }

    /// Appends a record of `links` (one per band, [`NIL`] for none) and returns where
    /// it starts, or [`NIL`] when every link is none.
    fn append(&mut self, links: &[u32]) -> u32 {
        let set = links.iter().filter(|&&l| l != NIL).count();
        if set == 0 {
            return NIL;
        }
        let start = self.records.len();
        let end = start + self.bitmap + set;
        assert!(end < NIL as usize, "bucket chains past 2^32 words");
        self.records.resize(end, 0);
        let set = links.iter().enumerate().filter(|(_, l)| **l != NIL);
        for (k, (band, &link)) in (start + self.bitmap..).zip(set) {
            self.records[start + band / 32] |= 1 << (band % 32);
            self.records[k] = link;
        }
        start as u32
    }

    /// Sets all of document `d`'s links (`links[band]`, [`NIL`] for none): a document
    /// entering the tables.
    pub fn set_all(&mut self, d: u32, links: &[u32]) {
        let start = self.append(links);
        self.at[d as usize] = start;
    }

    /// Sets document `d`'s link in band `band` to `link` (which may be [`NIL`]).
    pub fn set(&mut self, d: u32, band: usize, link: u32) {
        let start = self.at[d as usize];
        if start != NIL
            && let Some(at) = self.find(start as usize, band)
        {
            self.records[at] = link;
            return;
        }
        if link == NIL {
            return;
        }
        // A link the record has no place for: the record again, with it.
        let mut links: Vec<u32> = (0..self.bitmap * 32).map(|b| self.get(d, b)).collect();
        links[band] = link;
        self.at[d as usize] = self.append(&links);
    }

    /// Unlinks document `d` in every band (it left the tables).
    pub fn clear(&mut self, d: u32) {
        self.at[d as usize] = NIL;
    }

    /// Heap bytes: the record starts and the records' pages.
    pub fn heap_bytes(&self) -> usize {
        (self.at.capacity() + self.records.capacity()) * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Chains against an array of every link, through sets, clears and records written
    /// again, for bandings of one to three bitmap words.
    #[test]
    fn chains_hold_what_an_array_of_every_link_holds() {
        let mut rand = crate::index::test_rand(0x2545_f491_4f6c_dd1du64);
        for bands in [1, 9, 26, 32, 33, 70] {
            let docs = 300;
            let mut all = vec![NIL; docs * bands];
            let mut chains = Chains::new(bands, docs / 2);
            chains.resize(docs);
            for d in 0..docs as u32 {
                // Most links none, as in an index.
                let links: Vec<u32> = (0..bands)
                    .map(|_| if rand(5) == 0 { rand(1000) as u32 } else { NIL })
                    .collect();
                all[d as usize * bands..][..bands].copy_from_slice(&links);
                chains.set_all(d, &links);
            }
            for _ in 0..2000 {
                let (d, band) = (rand(docs as u64) as u32, rand(bands as u64) as usize);
                match rand(10) {
                    0 => {
                        chains.clear(d);
                        all[d as usize * bands..][..bands].fill(NIL);
                    }
                    1..=4 => {
                        chains.set(d, band, NIL);
                        all[d as usize * bands + band] = NIL;
                    }
                    _ => {
                        let link = rand(1000) as u32;
                        chains.set(d, band, link);
                        all[d as usize * bands + band] = link;
                    }
                }
            }
            for d in 0..docs as u32 {
                for band in 0..bands {
                    assert_eq!(chains.get(d, band), all[d as usize * bands + band]);
                }
            }
        }
    }

    #[test]
    fn a_document_without_links_has_no_record() {
        let mut chains = Chains::new(26, 4);
        chains.set_all(0, &[NIL; 26]);
        chains.set(1, 3, NIL);
        assert_eq!(chains.records.len(), 0);
        let mut links = [NIL; 26];
        links[25] = 7;
        chains.set_all(2, &links);
        // One bitmap word and one link.
        assert_eq!(chains.records.len(), 2);
        assert_eq!(
            (chains.get(2, 25), chains.get(2, 24), chains.get(0, 25)),
            (7, NIL, NIL)
        );
    }
}
