//! Normalisation: Unicode NFKC, case folding, Arabic-script folding, word segmentation.
//!
//! Two texts that differ only in Unicode form, letter case, punctuation, white space,
//! Arabic-script letter variants or diacritics normalise to the same words.

use unicode_normalization::UnicodeNormalization;
use unicode_segmentation::UnicodeSegmentation;

/// Writes the normalised form of `text` into `out` (cleared first): NFKC, lower case,
/// Arabic-script letter variants unified, diacritics, tatweel and zero-width marks removed.
///
/// Word boundaries are not applied here; see [`words`].
pub fn normalize_into(text: &str, out: &mut String) {
    out.clear();
    out.reserve(text.len());
    if text.is_ascii() {
        // ASCII is already NFKC; lower-casing is all there is to do.
        out.extend(text.bytes().map(|b| char::from(b.to_ascii_lowercase())));
        return;
    }
    for c in text.nfkc() {
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
pub fn words(normalized: &str) -> impl Iterator<Item = &str> {
    normalized.unicode_words()
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

    #[test]
    fn numbers() {
        assert!(is_number("1,000"));
        assert!(is_number("3.5"));
        assert!(!is_number("u.s"));
        assert!(!is_number("2nd"));
    }
}
