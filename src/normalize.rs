//! Normalisation: Unicode NFKC, case folding, Arabic-script folding, word segmentation.
//!
//! Two texts that differ only in Unicode form, letter case, punctuation, white space,
//! Arabic-script letter variants or diacritics normalise to the same words.

use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};
use unicode_segmentation::UnicodeSegmentation;

/// Writes the normalised form of `text` into `out` (cleared first): NFKC, lower case,
/// Arabic-script letter variants unified, diacritics, tatweel and zero-width marks removed.
///
/// Word boundaries are not applied here; see [`words`].
pub fn normalize_into(text: &str, out: &mut String) {
    out.clear();
    out.reserve(text.len());
    if text.is_ascii() {
        // ASCII is already NFKC; lower-casing is all there is to do (in place, which
        // vectorises, rather than pushing one char at a time).
        out.push_str(text);
        out.make_ascii_lowercase();
        return;
    }
    if is_nfkc_already(text) {
        push_folded(text.chars(), out);
    } else {
        push_folded(text.nfkc(), out);
    }
}

/// Whether `text`, mostly ASCII, is in NFKC already, so the normaliser's decomposition
/// and recomposition of every character can be skipped (the same result). Most web news
/// is: ASCII with typographic quotes, dashes and some accented letters. The quick check
/// (UAX #15) says "yes" only when `nfkc()` would give the text back, but it looks up
/// every other character; where most are (Arabic script, say), it costs more than it
/// saves (`cargo bench --bench pipeline -- normalize_words`), so such text goes to the
/// normaliser straight away.
fn is_nfkc_already(text: &str) -> bool {
    mostly_ascii(text) && is_nfkc_quick(text.chars()) == IsNormalized::Yes
}

/// Whether at most a quarter of the bytes of `text` are outside ASCII: text where the
/// ASCII fast paths pay for looking at each character twice.
fn mostly_ascii(text: &str) -> bool {
    // Counted in blocks, so that text of another script stops at its first block.
    let (limit, mut other) = (text.len() / 4, 0);
    for block in text.as_bytes().chunks(64) {
        other += block.iter().map(|&b| usize::from(b >> 7)).sum::<usize>();
        if other > limit {
            return false;
        }
    }
    true
}

/// Appends the NFKC characters `chars` to `out`, folded and lower-cased.
fn push_folded(chars: impl Iterator<Item = char>, out: &mut String) {
    for c in chars {
        if let Some(c) = fold_char(c) {
            if c.is_ascii() {
                out.push(c.to_ascii_lowercase());
            } else {
                out.extend(c.to_lowercase());
            }
        }
    }
}

/// The normalised form of `text` (see [`normalize_into`]).
#[must_use]
pub fn normalize(text: &str) -> String {
    let mut s = String::new();
    normalize_into(text, &mut s);
    s
}

/// Arabic-script folding: one letter for the variants that Urdu, Persian and Arabic
/// writers (and their keyboards) use interchangeably; `None` for marks that carry no
/// word identity.
fn fold_char(c: char) -> Option<char> {
    match c {
        // Harakat, superscript alef, tatweel, zero-width space/joiners, direction marks.
        '\u{064B}'..='\u{065F}' | '\u{0670}' | '\u{0640}' | '\u{200B}'..='\u{200F}' => None,
        // Arabic yeh and alef maksura -> Farsi/Urdu yeh; Arabic kaf -> keheh.
        '\u{064A}' | '\u{0649}' | '\u{0626}' => Some('\u{06CC}'),
        '\u{0643}' => Some('\u{06A9}'),
        // Arabic heh and heh goal are one letter in running text; keep one form.
        '\u{06C1}' | '\u{06C2}' => Some('\u{0647}'),
        // Hamza-carrying forms reduce to their carrier.
        '\u{0623}' | '\u{0625}' | '\u{0622}' => Some('\u{0627}'),
        // Urdu/Persian/Arabic-Indic digits -> ASCII, so numbers match across scripts.
        '\u{0660}'..='\u{0669}' => char::from_u32(u32::from(c) - 0x0660 + u32::from('0')),
        '\u{06F0}'..='\u{06F9}' => char::from_u32(u32::from(c) - 0x06F0 + u32::from('0')),
        _ => Some(c),
    }
}

/// The words of an already normalised text, by Unicode word boundaries (UAX #29):
/// punctuation and white space are dropped; `u.s`, `3.5` and `1,000` stay one word.
///
/// Exactly the words of [`UnicodeSegmentation::unicode_words`]; ASCII text takes a
/// faster byte scanner that implements the same rules (see [`AsciiWords`]), and so do
/// the ASCII stretches of mostly ASCII text (see [`MixedWords`]).
#[must_use]
pub fn words(normalized: &str) -> Words<'_> {
    if normalized.is_ascii() {
        Words::Ascii(AsciiWords::new(normalized))
    } else if mostly_ascii(normalized) {
        Words::Mixed(MixedWords {
            rest: normalized,
            ascii: AsciiWords::new(""),
            unicode: None,
        })
    } else {
        Words::Unicode(normalized.unicode_words())
    }
}

/// Iterator over the [`words`] of a normalised text.
#[derive(Debug)]
pub enum Words<'a> {
    /// Pure ASCII text: the byte scanner.
    Ascii(AsciiWords<'a>),
    /// Mostly ASCII text: the byte scanner, and the full segmenter where it must.
    Mixed(MixedWords<'a>),
    /// Anything else: the full UAX #29 segmenter.
    Unicode(unicode_segmentation::UnicodeWords<'a>),
}

impl<'a> Iterator for Words<'a> {
    type Item = &'a str;

    #[inline]
    fn next(&mut self) -> Option<&'a str> {
        match self {
            Words::Ascii(w) => w.next(),
            Words::Mixed(w) => w.next(),
            Words::Unicode(w) => unicode_next(w),
        }
    }
}

/// The [`words`] of mostly ASCII text: its stretches of ASCII words by the byte scanner,
/// the words holding other characters by the full segmenter.
///
/// The text is cut at ASCII spaces. No word holds a space, and where words start after a
/// space never depends on what comes before it: UAX #29 breaks on both sides of a space,
/// but between two spaces (`WB3d`) and before the marks that attach to it (`WB4`), and
/// neither makes a word. So the words of the pieces are the words of the text
/// (test `mixed_text_has_the_segmenters_words`).
#[derive(Debug)]
pub struct MixedWords<'a> {
    /// The text not yet cut into pieces.
    rest: &'a str,
    /// The words of the current ASCII piece.
    ascii: AsciiWords<'a>,
    /// The words of the current piece that holds other characters.
    unicode: Option<unicode_segmentation::UnicodeWords<'a>>,
}

impl<'a> Iterator for MixedWords<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        loop {
            if let Some(w) = self.ascii.next() {
                return Some(w);
            }
            if let Some(w) = self.unicode.as_mut().and_then(unicode_next) {
                return Some(w);
            }
            if self.rest.is_empty() {
                return None;
            }
            // The ASCII words before the first other character, up to the space before
            // its word; then that word, up to the next space.
            let rest = self.rest;
            let Some(other) = rest.bytes().position(|b| !b.is_ascii()) else {
                self.ascii = AsciiWords::new(rest);
                self.rest = "";
                continue;
            };
            if let Some(space) = rest[..other].rfind(' ') {
                self.ascii = AsciiWords::new(&rest[..space]);
                self.rest = &rest[space + 1..];
            } else {
                let end = rest[other..].find(' ').map_or(rest.len(), |e| other + e);
                self.unicode = Some(rest[..end].unicode_words());
                self.rest = rest.get(end + 1..).unwrap_or("");
            }
        }
    }
}

/// The next word from the full segmenter, kept out of line so that the ASCII scanner
/// inlines into its callers' loops.
#[inline(never)]
fn unicode_next<'a>(w: &mut unicode_segmentation::UnicodeWords<'a>) -> Option<&'a str> {
    w.next()
}

/// Byte class of an ASCII letter (UAX #29 `ALetter`).
const LETTER: u8 = 1;
/// Byte class of an ASCII digit (`Numeric`).
const DIGIT: u8 = 2;
/// Byte class of `_` (`ExtendNumLet`).
const UNDERSCORE: u8 = 4;
/// `'`, `.` (`Single_Quote`, `MidNumLet`): join letters (WB6/7) and digits (WB11/12).
const MID_BOTH: u8 = 8;
/// `:` (`MidLetter`): joins letters only (WB6/7).
const MID_LETTER: u8 = 16;
/// `,`, `;` (`MidNum`): join digits only (WB11/12).
const MID_NUM: u8 = 32;
/// Letters, digits and `_`: the bytes that make up a word.
const CORE: u8 = LETTER | DIGIT | UNDERSCORE;

/// UAX #29 word-break classes of the ASCII bytes that matter for words (0 for the rest:
/// white space, line breaks and other punctuation never join anything to a word).
/// Indexed by any byte (non-ASCII bytes are class 0; they never reach the scanner).
static ASCII_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = match b as u8 {
            b'a'..=b'z' | b'A'..=b'Z' => LETTER,
            b'0'..=b'9' => DIGIT,
            b'_' => UNDERSCORE,
            b'\'' | b'.' => MID_BOTH,
            b':' => MID_LETTER,
            b',' | b';' => MID_NUM,
            _ => 0,
        };
        b += 1;
    }
    t
};

/// The [`words`] of ASCII text, found by scanning bytes.
///
/// On ASCII input, UAX #29 (as `unicode-segmentation` implements it) reduces to: a word
/// is a maximal run of letters, digits and `_`, extended across a single `'`, `.` or `:`
/// between two letters (WB6/WB7) and across a single `'`, `.`, `,` or `;` between two
/// digits (WB11/WB12); every other byte is a segment of its own (or part of a run of
/// spaces or a CR LF) and is dropped, as are runs made only of `_`. Letters and digits
/// join directly (WB9/WB10) and `_` joins anything word-like (WB13a/b), so only the
/// middle punctuation needs both neighbours.
#[derive(Debug, Clone)]
pub struct AsciiWords<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> AsciiWords<'a> {
    fn new(text: &'a str) -> Self {
        AsciiWords { text, pos: 0 }
    }
}

impl<'a> Iterator for AsciiWords<'a> {
    type Item = &'a str;

    // Measured: plain `#[inline]` leaves this out of line and costs ~5% of `featurize`.
    #[allow(clippy::inline_always)]
    #[inline(always)]
    fn next(&mut self) -> Option<&'a str> {
        let bytes = self.text.as_bytes();
        let len = bytes.len();
        let class = |i: usize| ASCII_CLASS[usize::from(bytes[i])];
        let mut i = self.pos;
        loop {
            while i < len && class(i) & CORE == 0 {
                i += 1;
            }
            if i >= len {
                self.pos = len;
                return None;
            }
            let start = i;
            i += 1;
            while i < len {
                let c = class(i);
                if c & CORE != 0 {
                    i += 1;
                    continue;
                }
                if c == 0 || i + 1 >= len {
                    break;
                }
                // A middle character joins only like with like on both sides.
                let (prev, next) = (class(i - 1), class(i + 1));
                let joins = (prev == LETTER && next == LETTER && c & (MID_BOTH | MID_LETTER) != 0)
                    || (prev == DIGIT && next == DIGIT && c & (MID_BOTH | MID_NUM) != 0);
                if !joins {
                    break;
                }
                i += 2;
            }
            // Only a run of nothing but `_` lacks a letter or digit.
            if bytes[start] != b'_' || bytes[start..i].iter().any(|&b| b != b'_') {
                self.pos = i;
                return Some(&self.text[start..i]);
            }
        }
    }
}

/// True when a word is a number (all its letters are digits or number punctuation).
#[must_use]
pub fn is_number(word: &str) -> bool {
    word.chars().next().is_some_and(char::is_numeric)
        && word
            .chars()
            .all(|c| c.is_numeric() || matches!(c, '.' | ',' | '/' | '-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(text: &str) -> Vec<String> {
        words(&normalize(text)).map(str::to_owned).collect()
    }

    /// A seeded xorshift generator, for the random strings of the oracle tests.
    fn xorshift() -> impl FnMut() -> u64 {
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        }
    }

    /// The normalised text is the NFKC form folded and lower-cased (the oracle), whether
    /// or not the text skips the normaliser: random strings of letters with and without
    /// combining marks, compatibility characters and Arabic-script letters, half of them
    /// padded with ASCII words.
    #[test]
    fn normalised_is_nfkc_folded() {
        // The first eight are NFKC already; the rest are not, or may not be.
        const PARTS: [&str; 16] = [
            "a",
            "Z ",
            ". ",
            "\u{e9}",
            "\u{201c}",
            "\u{643}",
            "\u{6f3}",
            "\u{3b0}",
            "e\u{301}",
            "\u{301}",
            "\u{fb01}",
            "\u{ff21}",
            "\u{2460}",
            "\u{64e}",
            "\u{1e9b}\u{323}",
            "\u{212b}",
        ];
        let oracle = |t: &str| -> String {
            t.nfkc()
                .filter_map(fold_char)
                .flat_map(char::to_lowercase)
                .collect()
        };
        let mut next = xorshift();
        let (mut skipped, mut not) = (0, 0);
        for _ in 0..20_000 {
            let (from, padded) = (if next() & 1 == 0 { 8 } else { 16 }, next() & 1 == 0);
            let mut t = String::new();
            for _ in 0..8 {
                t.push_str(PARTS[(next() % from) as usize]);
                if padded {
                    t.push_str(" and the words between ");
                }
            }
            if is_nfkc_already(&t) {
                skipped += 1;
            } else {
                not += 1;
            }
            assert_eq!(normalize(&t), oracle(&t), "{t:?}");
        }
        assert!(
            skipped > 1000 && not > 1000,
            "both ways taken: {skipped} / {not}"
        );
    }

    /// The words of mostly ASCII text, cut at its spaces, are the full segmenter's (the
    /// oracle): random strings of ASCII words and punctuation, spaces, line breaks, and
    /// the characters that attach or join across them (combining marks, a format
    /// character, a zero-width joiner, emoji, regional indicators, typographic quotes,
    /// accented, Hebrew and Katakana letters, a no-break space).
    #[test]
    fn mixed_text_has_the_segmenters_words() {
        const PARTS: [&str; 24] = [
            "word",
            "U.S",
            "3.5",
            "1,000",
            "it's",
            "a:b",
            "_",
            " ",
            "  ",
            "\n",
            ". ",
            "9;9",
            "\u{301}",
            "\u{ad}",
            "\u{200d}",
            "\u{1f600}",
            "\u{1f1eb}\u{1f1f7}",
            "\u{2019}",
            "\u{201c}",
            "caf\u{e9}",
            "\u{5d0}\"\u{5d1}",
            "\u{30ab}\u{30bf}",
            "\u{a0}",
            "\u{1f1e9}",
        ];
        let mut next = xorshift();
        let (mut mixed, mut not) = (0, 0);
        for _ in 0..50_000 {
            let mut t = String::new();
            for _ in 0..=next() % 12 {
                t.push_str(PARTS[(next() % 24) as usize]);
                if next().is_multiple_of(3) {
                    t.push_str(" plain words ");
                }
            }
            match words(&t) {
                Words::Mixed(_) => mixed += 1,
                _ => not += 1,
            }
            let oracle: Vec<&str> = t.unicode_words().collect();
            assert_eq!(words(&t).collect::<Vec<_>>(), oracle, "{t:?}");
        }
        assert!(
            mixed > 5000 && not > 5000,
            "both ways taken: {mixed} / {not}"
        );
    }

    #[test]
    fn ascii_folding_and_punctuation() {
        assert_eq!(
            w("The U.S. said: 3.5%, 1,000!"),
            ["the", "u.s", "said", "3.5", "1,000"]
        );
    }

    #[test]
    fn nfkc_and_case() {
        // Full-width letters, the fi ligature, and accented capitals.
        assert_eq!(w("ＡＢＣ ﬁle ÉTÉ"), ["abc", "file", "été"]);
        assert_eq!(w("Сергей Шойгу"), ["сергей", "шойгу"]);
    }

    #[test]
    fn arabic_script_variants() {
        // Arabic kaf/yeh versus Urdu keheh/yeh, with a diacritic and a ZWNJ.
        assert_eq!(w("كي"), w("کی"));
        assert_eq!(w("پاکِستان"), w("پاکستان"));
        assert_eq!(w("می\u{200C}شود"), w("میشود"));
        assert_eq!(w("۲۰۱۴"), ["2014"]);
    }

    /// The words as `unicode-segmentation` finds them, bypassing the ASCII scanner.
    fn reference(text: &str) -> Vec<&str> {
        text.unicode_words().collect()
    }

    /// The full UAX #29 segmenter (no ASCII shortcut in the crate either), keeping the
    /// segments with a letter or digit, as `unicode_words` does.
    fn general(text: &str) -> Vec<&str> {
        text.split_word_bounds()
            .filter(|s| s.chars().any(char::is_alphanumeric))
            .collect()
    }

    #[test]
    fn ascii_words_edge_cases() {
        let cases: &[(&str, &[&str])] = &[
            (
                "2nd a1b2 3.5 u.s. don't a' 'a",
                &["2nd", "a1b2", "3.5", "u.s", "don't", "a", "a"],
            ),
            (
                "1,000,000 1;2 a,b a;b 1:2 a:b",
                &["1,000,000", "1;2", "a", "b", "a", "b", "1", "2", "a:b"],
            ),
            (
                "a_b _ __ _a b_ a__1 _.a a._b",
                &["a_b", "_a", "b_", "a__1", "a", "a", "_b"],
            ),
            (
                "a.1 1.a 1a.b2 a1.2b a..b 1..2 x.",
                &[
                    "a", "1", "1", "a", "1a.b2", "a1.2b", "a", "b", "1", "2", "x",
                ],
            ),
            (
                "e-mail \"quoted\" a\r\nb\tc  d",
                &["e", "mail", "quoted", "a", "b", "c", "d"],
            ),
            ("", &[]),
            (" .,;:'_ ", &[]),
        ];
        for &(text, want) in cases {
            assert_eq!(words(text).collect::<Vec<_>>(), want, "{text:?}");
            assert_eq!(reference(text), want, "{text:?}");
        }
    }

    #[test]
    fn ascii_paragraph() {
        let text = normalize(
            "WASHINGTON, March 3 - The U.S. Treasury said it sold $9.75 billion of \
             3-year notes at an average yield of 6.93 pct, up from 6.62% (on Feb. 2), \
             and would auction 1,000,000 more on Thursday; dealers didn't expect it.\n\
             \"It's a 50/50 call,\" one said: rates_at 10:30 a.m. EST were 7.1-7.2 pct.",
        );
        let got: Vec<&str> = words(&text).collect();
        assert_eq!(got, reference(&text));
        assert_eq!(got, general(&text));
        assert_eq!(
            got[..12],
            [
                "washington",
                "march",
                "3",
                "the",
                "u.s",
                "treasury",
                "said",
                "it",
                "sold",
                "9.75",
                "billion",
                "of"
            ]
        );
        assert!(got.contains(&"1,000,000") && got.contains(&"didn't") && got.contains(&"it's"));
        assert!(got.contains(&"rates_at") && got.contains(&"a.m"));
        assert!(!got.contains(&"10:30") && got.contains(&"30"));
    }

    #[test]
    fn non_ascii_uses_full_segmenter() {
        let text = normalize("Ça coûte 3,5 € — l'État, c'est 1.000 ans");
        assert_eq!(words(&text).collect::<Vec<_>>(), reference(&text));
    }

    proptest::proptest! {
        #[test]
        fn ascii_words_match_unicode_words(
            chars in proptest::collection::vec(
                proptest::sample::select(&[
                    'a', 'b', 'z', 'Q', '0', '1', '9', '.', ',', '\'', ':', ';', '_', '-',
                    ' ', '\n', '\r', '\t', '"', '/', '$',
                ][..]),
                0..64,
            )
        ) {
            let text: String = chars.into_iter().collect();
            let got: Vec<&str> = words(&text).collect();
            proptest::prop_assert_eq!(&got, &reference(&text));
            proptest::prop_assert_eq!(&got, &general(&text));
        }

        #[test]
        fn ascii_words_match_on_any_ascii(text in "[\\x00-\\x7f]{0,48}") {
            proptest::prop_assert_eq!(words(&text).collect::<Vec<_>>(), reference(&text));
        }
    }

    #[test]
    fn numbers() {
        assert!(is_number("1,000"));
        assert!(is_number("3.5"));
        assert!(!is_number("u.s"));
        assert!(!is_number("2nd"));
    }
}
