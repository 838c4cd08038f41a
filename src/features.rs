//! Per-document features: everything later stages need, computed once from the text,
//! after which the text itself can be dropped.

use crate::config::{Config, Method};
use crate::document::Document;
use crate::normalize::{is_number, normalize_into, words};
use crate::shingle::{ShingleKind, char_shingles, hash_word, word_shingles};
use crate::sketch::minhash::MinHasher;
use crate::sketch::simhash::{SimHasher, to_words};

/// Compact features of one document.
///
/// Without the rewrite tier (`Config::rewrites` off) only `exact`, `words` and
/// `shingles` are computed; `terms`, `tf`, `title` and `numbers` are left empty, since
/// verification then decides by the exact-body hash and shingle Jaccard alone.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Features {
    /// Hash of the normalised body (its words in order); equal for exact copies.
    pub exact: u64,
    /// Number of words in the body.
    pub words: u32,
    /// Distinct shingles of the body, as sorted 18-bit hashes ([`SHINGLE_BITS`]; for
    /// exact Jaccard and containment in verification).
    pub shingles: Vec<u32>,
    /// Distinct body words, as sorted 24-bit hashes ([`TERM_BITS`]).
    pub terms: Vec<u32>,
    /// How often each of `terms` occurs in the body.
    pub tf: Vec<u16>,
    /// Distinct headline words (sorted 24-bit hashes, as `terms`): the title's, else those
    /// of a first line that reads as a headline; empty without either. At most
    /// [`MAX_SMALL_SET`].
    pub title: Vec<u32>,
    /// Distinct numbers of the body (sorted 24-bit hashes; a subset of `terms`). At most
    /// [`MAX_SMALL_SET`].
    pub numbers: Vec<u32>,
}

/// Bits of a shingle hash in [`Features::shingles`]: the top 18 bits of the shingle's
/// seeded 64-bit hash. Shingle hashes are only ever compared within a pair of
/// documents (candidates come from the 64-bit hashes' `MinHash`), so what a narrow hash
/// costs is the chance that two texts share one: about `n·m / 2^18` for texts of `n`
/// and `m` distinct shingles, 0.24 for two 250-shingle news articles and 4 for two at
/// the 1,024 a slot keeps, each moving their Jaccard similarity by one part in their
/// union (0.0005 and under, 0.002 at 1,024) and their containment by one part in the
/// shorter. An index then holds about 12 bits per shingle hash (`Elias–Fano`:
/// `src/index/packed.rs`), 27 with 32-bit hashes (QUALITY.md, "18-bit shingle hashes").
pub const SHINGLE_BITS: u32 = 18;

/// Most headline words ([`Features::title`]) and figures ([`Features::numbers`]) a
/// document's features keep: beyond it, the smallest hashes (a uniform sample). Only a
/// headline or a table of tens of thousands of distinct words or figures reaches it; the
/// cap lets an index hold each set's length in 16 bits (the shingle and word samples of
/// [`crate::config::Footprint`] are smaller).
pub const MAX_SMALL_SET: usize = u16::MAX as usize;

/// Bits of a word hash in [`Features::terms`], [`Features::title`] and
/// [`Features::numbers`]: the top 24 bits of the word's seeded 64-bit hash. Word hashes
/// also key the word statistics, where two words of one hash count as one: a word
/// shares its hash with one of `V` other words with probability `V / 2^24`, 0.6% with
/// the 100,000 distinct words of 25,000 news articles, 6% with a million. Such pairs
/// are almost always two rare words (most words of a vocabulary are), whose merged
/// count stays rare; a rare word sharing the hash of one of the 10,000 common ones
/// (0.06%) loses its weight. Two 180-word articles share 0.002 hashes by chance. An
/// index holds 18 bits per word hash instead of 26.
pub const TERM_BITS: u32 = 24;

/// The shingle hash of a shingle's 64-bit hash (see [`SHINGLE_BITS`]).
#[inline]
pub(crate) fn shingle_key(h: u64) -> u32 {
    (h >> (64 - SHINGLE_BITS)) as u32
}

/// The `SimHash` fingerprint of a shingle set as verification reads it (its first
/// [`crate::config::Sample::shingles`] hashes): an index holds no more, and recomputes
/// fingerprints from what it holds.
pub(crate) fn fingerprint(hasher: SimHasher, shingles: &[u32], config: &Config) -> u64 {
    let read = shingles.len().min(config.footprint.sample().shingles);
    hasher.shingle_fingerprint(&shingles[..read])
}

/// Reusable buffers, so that featurising a document allocates only its results.
#[derive(Debug, Default)]
pub struct Scratch {
    norm: String,
    word_hashes: Vec<u64>,
    shingles: Vec<u64>,
    chars: String,
    bytes: Vec<u8>,
    sort: Vec<u32>,
}

impl Scratch {
    /// Buffers larger than this (bytes, all together) are let go after a document rather
    /// than kept for the thread's next: one very long text must not pin its buffers.
    const KEEP: usize = 1 << 20;

    /// Runs `f` with this thread's buffers: for callers that featurise one document at a
    /// time (`Index::insert`, `Index::query`), whose fresh buffers would otherwise grow
    /// from empty for every document.
    pub(crate) fn with_local<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
        thread_local! {
            static LOCAL: std::cell::RefCell<Scratch> = std::cell::RefCell::default();
        }
        LOCAL.with(|local| match local.try_borrow_mut() {
            Ok(mut scratch) => {
                let out = f(&mut scratch);
                if scratch.capacity() > Self::KEEP {
                    *scratch = Scratch::default();
                }
                out
            }
            // Featurising inside `f` (never done today) gets buffers of its own.
            Err(_) => f(&mut Scratch::default()),
        })
    }

    /// Bytes the buffers hold.
    fn capacity(&self) -> usize {
        self.norm.capacity()
            + self.chars.capacity()
            + self.bytes.capacity()
            + 8 * (self.word_hashes.capacity() + self.shingles.capacity())
            + 4 * self.sort.capacity()
    }
}

/// Computes [`Features`] and signatures (`MinHash` values or a `SimHash` fingerprint,
/// as the configuration's method says) under one configuration.
#[derive(Debug, Clone)]
pub struct Featurizer {
    config: Config,
    minhash: MinHasher,
    simhash: SimHasher,
}

/// Sorts `v` ascending: LSD radix sort (byte passes) for long inputs, else the
/// standard sort. The order of `u32`s is unique, so results equal `sort_unstable`. A
/// byte that every value shares needs no pass: the top byte of the 18- and 24-bit keys
/// sorted here ([`SHINGLE_BITS`], [`TERM_BITS`]) is always zero.
fn sort_u32(v: &mut Vec<u32>, tmp: &mut Vec<u32>) {
    let n = v.len();
    if n < 128 {
        v.sort_unstable();
        return;
    }
    let mut counts = [[0u32; 256]; 4];
    for &x in v.iter() {
        for (d, c) in counts.iter_mut().enumerate() {
            c[((x >> (8 * d)) & 0xff) as usize] += 1;
        }
    }
    // Every position is written by each pass: only a longer input needs the room made.
    tmp.truncate(n);
    tmp.resize(n, 0);
    let mut swapped = false;
    for (d, c) in counts.iter_mut().enumerate() {
        if c.contains(&(n as u32)) {
            continue;
        }
        let mut sum = 0;
        for k in c.iter_mut() {
            let here = *k;
            *k = sum;
            sum += here;
        }
        for &x in v.iter() {
            let slot = &mut c[((x >> (8 * d)) & 0xff) as usize];
            tmp[*slot as usize] = x;
            *slot += 1;
        }
        std::mem::swap(v, tmp);
        swapped = !swapped;
    }
    // `v` keeps its own allocation (the scratch's may be far larger: a long text's).
    if swapped {
        std::mem::swap(v, tmp);
        v.copy_from_slice(tmp);
    }
}

/// The first line of a text when it reads as a headline: short (at most 12 words), not
/// a sentence (no final period), and followed by more text.
fn headline_line(text: &str) -> Option<&str> {
    let text = text.trim_start();
    let (first, rest) = text.split_once('\n')?;
    let first = first.trim();
    let words = first.split_whitespace().count();
    (words > 0 && words <= 12 && !first.ends_with('.') && !rest.trim().is_empty()).then_some(first)
}

/// The word hash of a word's 64-bit hash (see [`TERM_BITS`]).
#[inline]
pub(crate) fn term_key(h: u64) -> u32 {
    (h >> (64 - TERM_BITS)) as u32
}

impl Featurizer {
    /// A featurizer for `config`.
    #[must_use]
    pub fn new(config: &Config) -> Self {
        Featurizer {
            config: config.clone(),
            minhash: MinHasher::new(config.perms, config.seed),
            simhash: SimHasher::new(config.seed),
        }
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The `SimHash` fingerprint of a document from its features (its distinct
    /// shingles, each of weight 1; see QUALITY.md for why not rarity weights): what
    /// [`Featurizer::featurize`] writes with [`Method::SimHash`], recomputable from
    /// stored features.
    #[must_use]
    pub fn fingerprint(&self, features: &Features) -> u64 {
        fingerprint(self.simhash, &features.shingles, &self.config)
    }

    /// Features of `doc`, and its signature written into `sig`
    /// ([`Config::signature_len`] long): the `MinHash` values, or with
    /// [`Method::SimHash`] the fingerprint as two words
    /// ([`crate::sketch::simhash::to_words`]).
    pub fn featurize(&self, doc: &Document, scratch: &mut Scratch, sig: &mut [u32]) -> Features {
        self.featurize_text(&doc.text, doc.title.as_deref(), scratch, sig)
    }

    /// [`Featurizer::featurize`] of a document given by its body and headline, for
    /// callers that hold the text without a [`Document`].
    ///
    /// Without the rewrite tier (`rewrites` off), `terms`, `tf`, `numbers` and `title`
    /// are left empty: verification then reads only `exact` and `shingles`.
    pub fn featurize_text(
        &self,
        text: &str,
        title: Option<&str>,
        scratch: &mut Scratch,
        sig: &mut [u32],
    ) -> Features {
        let seed = self.config.seed;
        let rewrites = self.config.rewrites;
        normalize_into(text, &mut scratch.norm);
        scratch.word_hashes.clear();
        scratch.bytes.clear();
        let mut numbers: Vec<u32> = Vec::new();
        for w in words(&scratch.norm) {
            let h = hash_word(w, seed);
            scratch.word_hashes.push(h);
            scratch.bytes.extend_from_slice(&h.to_le_bytes());
            if rewrites && is_number(w) {
                numbers.push(term_key(h));
            }
        }
        let wh = &scratch.word_hashes;

        let exact = if wh.is_empty() {
            0
        } else {
            let mut hasher = xxhash_rust::xxh3::Xxh3::with_seed(seed ^ 0x5eed);
            hasher.update(&scratch.bytes);
            // Never 0: 0 marks a document without words.
            hasher.digest() | 1
        };

        scratch.shingles.clear();
        match self.config.shingle.kind {
            ShingleKind::Word => {
                word_shingles(wh, self.config.shingle.k, seed, &mut scratch.shingles);
            }
            ShingleKind::Char => char_shingles(
                words(&scratch.norm),
                self.config.shingle.k,
                seed,
                &mut scratch.chars,
                &mut scratch.shingles,
            ),
        }
        if self.config.method == Method::MinHash {
            self.minhash.sketch_into(&scratch.shingles, sig);
        }
        let mut shingles: Vec<u32> = scratch.shingles.iter().map(|&h| shingle_key(h)).collect();
        sort_u32(&mut shingles, &mut scratch.sort);
        shingles.dedup();
        if self.config.method == Method::SimHash {
            let fp = fingerprint(self.simhash, &shingles, &self.config);
            sig.copy_from_slice(&to_words(fp));
        }

        let word_count = u32::try_from(wh.len()).unwrap_or(u32::MAX);
        if !rewrites {
            return Features {
                exact,
                words: word_count,
                shingles,
                ..Features::default()
            };
        }

        numbers.sort_unstable();
        numbers.dedup();
        numbers.truncate(MAX_SMALL_SET);
        let mut keys: Vec<u32> = wh.iter().map(|&h| term_key(h)).collect();
        sort_u32(&mut keys, &mut scratch.sort);
        let mut terms = Vec::with_capacity(keys.len() / 2);
        let mut tf: Vec<u16> = Vec::with_capacity(keys.len() / 2);
        for k in keys {
            match tf.last_mut() {
                Some(last) if terms.last() == Some(&k) => *last = last.saturating_add(1),
                _ => {
                    terms.push(k);
                    tf.push(1);
                }
            }
        }

        let mut title_words: Vec<u32> = Vec::new();
        // Without a headline field, a first line that reads as one serves the headline
        // gate (wire tables and syndicated copies often start with their headline).
        let head = title.or_else(|| headline_line(text));
        if let Some(t) = head {
            normalize_into(t, &mut scratch.norm);
            title_words.extend(words(&scratch.norm).map(|w| term_key(hash_word(w, seed))));
            title_words.sort_unstable();
            title_words.dedup();
            title_words.truncate(MAX_SMALL_SET);
        }

        Features {
            exact,
            words: word_count,
            shingles,
            terms,
            tf,
            title: title_words,
            numbers,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Featurizer, MAX_SMALL_SET, Scratch, headline_line, sort_u32};
    use crate::config::Config;

    #[test]
    fn figures_past_the_cap_are_their_smallest_hashes() {
        let config = Config::default();
        // Every word a figure: the figures are the body's words, capped.
        let mut text = String::new();
        for n in 0..MAX_SMALL_SET + 2_000 {
            text.push_str(&n.to_string());
            text.push(' ');
        }
        let mut sig = vec![0; config.signature_len()];
        let f =
            Featurizer::new(&config).featurize_text(&text, None, &mut Scratch::default(), &mut sig);
        assert!(f.terms.len() > MAX_SMALL_SET, "{}", f.terms.len());
        assert_eq!(f.numbers, &f.terms[..MAX_SMALL_SET]);
    }

    #[test]
    fn a_threads_buffers_give_what_fresh_ones_give_and_a_long_text_lets_them_go() {
        let config = Config::default();
        let featurizer = Featurizer::new(&config);
        let mut sig = vec![0; config.signature_len()];
        let fresh = |text: &str, sig: &mut Vec<u32>| {
            featurizer.featurize_text(text, Some("A headline"), &mut Scratch::default(), sig)
        };
        let mut long = String::new();
        for n in 0..200_000 {
            long.push_str(&(n % 50_000).to_string());
            long.push_str("w ");
        }
        let texts = [
            "Shares rose on Monday after the company said profits doubled.",
            long.as_str(),
            "Prices fell.",
            "Shares rose on Monday after the company said profits doubled.",
        ];
        for text in texts {
            let mut local_sig = vec![0; config.signature_len()];
            let local = Scratch::with_local(|scratch| {
                let f =
                    featurizer.featurize_text(text, Some("A headline"), scratch, &mut local_sig);
                (f, scratch.capacity())
            });
            assert_eq!(local.0, fresh(text, &mut sig));
            assert_eq!(local_sig, sig);
            if text.len() > Scratch::KEEP {
                assert!(local.1 > Scratch::KEEP);
                // Let go once the document is done.
                assert_eq!(Scratch::with_local(|scratch| scratch.capacity()), 0);
            }
        }
    }

    /// Oracle: the standard sort, on values whose bytes vary in every combination
    /// (constant bytes skip their pass), with repeats, after a longer input left the
    /// scratch larger.
    #[test]
    fn radix_sort_equals_the_standard_sort() {
        let mut x = 11u64;
        let mut next = || {
            x = crate::sketch::minhash::mix64(x);
            x as u32
        };
        let mut tmp = vec![7; 50_000];
        for round in 0..300u32 {
            let n = [0, 1, 127, 128, 129, 1_000, 5_000][round as usize % 7];
            // Which bytes vary: all sixteen combinations.
            let mask = (0..4).fold(0u32, |m, b| {
                m | if round >> (b + 3) & 1 == 1 {
                    0xff << (8 * b)
                } else {
                    0
                }
            });
            let fixed = next() & !mask;
            let mut v: Vec<u32> = (0..n).map(|_| fixed | (next() & mask)).collect();
            if n > 10 {
                v[n / 2] = v[1];
            }
            let mut expected = v.clone();
            expected.sort_unstable();
            let capacity = v.capacity();
            sort_u32(&mut v, &mut tmp);
            assert_eq!(v, expected, "round {round}, mask {mask:x}");
            assert_eq!(v.capacity(), capacity, "round {round}: its own allocation");
        }
    }

    #[test]
    fn first_line_as_headline() {
        assert_eq!(
            headline_line("LME SILVER 1ST RING\n cash 1 2\n"),
            Some("LME SILVER 1ST RING")
        );
        assert_eq!(
            headline_line("Russia signals talks\n\nBody text."),
            Some("Russia signals talks")
        );
        // A sentence, a lone line, or a long first line is not a headline.
        assert_eq!(headline_line("It rained today.\nMore."), None);
        assert_eq!(headline_line("Only one line"), None);
        let long = "one two three four five six seven eight nine ten eleven twelve thirteen\nx";
        assert_eq!(headline_line(long), None);
    }
}
