//! Name dictionaries for PERSON detection.
//!
//! Regexes find name-shaped text (capitalized tokens, titles, labels); these
//! dictionaries decide whether the tokens are names. Lookups are exact-token
//! and ASCII case-insensitive (hash sets of lower-case words), with Latin-1
//! accents folded first so "José" finds "Jose".

use std::sync::OnceLock;

use std::collections::HashSet;

const FIRST: &str = include_str!("../../patterns/names/first.txt");
const LAST: &str = include_str!("../../patterns/names/last.txt");
const COMMON: &str = include_str!("../../patterns/names/common-words.txt");

/// A set of words with exact, case-insensitive membership.
#[derive(Debug)]
struct WordSet(HashSet<Box<[u8]>, foldhash::fast::FixedState>);

impl WordSet {
    fn new(list: &str) -> WordSet {
        let words = list
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|w| w.as_bytes().to_ascii_lowercase().into_boxed_slice());
        let mut set =
            HashSet::with_hasher(foldhash::fast::FixedState::default());
        set.extend(words);
        WordSet(set)
    }

    /// Whether `word` (ASCII, as `fold` leaves it) is in the set.
    fn contains(&self, word: &[u8]) -> bool {
        let mut buf = [0u8; 32];
        let Some(lower) = buf.get_mut(..word.len()) else { return false };
        lower.copy_from_slice(word);
        lower.make_ascii_lowercase();
        self.0.contains(&*lower)
    }
}

/// The dictionaries used by the PERSON validators.
#[derive(Debug)]
pub(crate) struct Names {
    first: WordSet,
    last: WordSet,
    common: WordSet,
}

/// Folds a token to ASCII (Latin-1 accents dropped) into `buf`; `None` if
/// it has other bytes or does not fit.
fn fold<'b>(tok: &[u8], buf: &'b mut [u8; 32]) -> Option<&'b [u8]> {
    // U+00C0..=U+00FF to their base letters; '*' for the two symbols.
    const LATIN1: &[u8; 64] =
        b"AAAAAAACEEEEIIIIDNOOOOO*OUUUUYTsaaaaaaaceeeeiiiidnooooo*ouuuuyty";
    // U+0100..=U+017F (Latin Extended-A: Polish, Czech, Turkish,
    // Hungarian, Baltic letters) to their base letters; '*' for ligatures.
    const EXT_A: &[u8; 128] = b"AaAaAaCcCcCcCcDdDdEeEeEeEeEeGgGgGgGgHhHhIiIiIiIiIi**JjKkkLlLlLlLlLlNnNnNnnNnOoOoOo**RrRrRrSsSsSsSsTtTtTtUuUuUuUuUuUuWwYyYZzZzZzs";
    // U+1EA0..=U+1EF9 (Vietnamese letters with two marks) to their base
    // letters: Nguyễn, Trần, Phạm fold to the census spellings.
    const VIET: &[u8; 90] = b"AaAaAaAaAaAaAaAaAaAaAaAaEeEeEeEeEeEeEeEeIiIiOoOoOoOoOoOoOoOoOoOoOoOoUuUuUuUuUuUuUuYyYyYyYy";
    let mut n = 0;
    let mut i = 0;
    while i < tok.len() {
        let b = tok[i];
        let out = if b.is_ascii_alphabetic() || b == b'\'' || b == b'-' {
            i += 1;
            b
        } else if (0xC3..=0xC6).contains(&b) && i + 1 < tok.len() {
            let c = tok[i + 1];
            i += 2;
            match (b, c) {
                (0xC3, 0x80..=0xBF) => LATIN1[usize::from(c - 0x80)],
                (0xC4, 0x80..=0xBF) => EXT_A[usize::from(c - 0x80)],
                (0xC5, 0x80..=0xBF) => EXT_A[64 + usize::from(c - 0x80)],
                // Horned O and U (Vietnamese).
                (0xC6, 0xA0) => b'O',
                (0xC6, 0xA1) => b'o',
                (0xC6, 0xAF) => b'U',
                (0xC6, 0xB0) => b'u',
                _ => return None,
            }
        } else if b == 0xE1 && i + 2 < tok.len() {
            let (c, d) = (tok[i + 1], tok[i + 2]);
            i += 3;
            let at = match (c, d) {
                (0xBA, 0xA0..=0xBF) => usize::from(d - 0xA0),
                (0xBB, 0x80..=0xB9) => 32 + usize::from(d - 0x80),
                _ => return None,
            };
            VIET[at]
        } else {
            return None;
        };
        if n == buf.len() || out == b'*' {
            return None;
        }
        buf[n] = out;
        n += 1;
    }
    Some(&buf[..n])
}

/// Splits a name candidate into its word tokens (initials dropped).
fn tokens(m: &[u8]) -> impl Iterator<Item = &[u8]> {
    m.split(|b| b.is_ascii_whitespace() || *b == b',')
        .map(|t| t.strip_suffix(b".").unwrap_or(t))
        .filter(|t| t.len() > 1)
}

fn capitalized(tok: &[u8]) -> bool {
    tok.first().is_some_and(|b| b.is_ascii_uppercase() || *b >= 0xC3)
}

impl Names {
    /// The dictionaries vendored under `patterns/names/`, built once.
    pub(crate) fn default_pack() -> &'static Names {
        static NAMES: OnceLock<Names> = OnceLock::new();
        NAMES.get_or_init(|| Names {
            first: WordSet::new(FIRST),
            last: WordSet::new(LAST),
            common: WordSet::new(COMMON),
        })
    }

    fn is(&self, set: &WordSet, tok: &[u8]) -> bool {
        let mut buf = [0; 32];
        fold(tok, &mut buf).is_some_and(|t| set.contains(t))
    }

    /// "First Last", "First M. Last" or "Last, First": both ends in the
    /// census lists, neither a common word.
    pub(crate) fn is_full_name(&self, m: &[u8]) -> bool {
        let toks: Vec<&[u8]> = tokens(m).collect();
        let (Some(&a), Some(&b)) = (toks.first(), toks.last()) else {
            return false;
        };
        if toks.len() < 2
            || !toks.iter().all(|t| capitalized(t))
            || self.is(&self.common, a)
            || self.is(&self.common, b)
        {
            return false;
        }
        if m.contains(&b',') {
            self.is(&self.last, a) && self.is(&self.first, b)
        } else {
            self.is(&self.first, a) && self.is(&self.last, b)
        }
    }

    /// The value of a name field: letters, and the first word not a common
    /// word ("Stable", "Pending") unless a capitalized name ("Will"); any case, since fields hold `QUIXOTE`
    /// and `quixote` alike. The field's name is the evidence.
    pub(crate) fn is_name_value(&self, m: &[u8]) -> bool {
        // A query string's value: `Kavitha%20Pavlovich`, `Jo+Ruiz`.
        if memchr::memmem::find(m, b"%20").is_some() {
            let spaced: Vec<u8> = m
                .split(|&b| b == b'%')
                .enumerate()
                .flat_map(|(i, part)| match part.strip_prefix(b"20") {
                    Some(rest) if i > 0 => [&b" "[..], rest].concat(),
                    _ if i > 0 => [&b"%"[..], part].concat(),
                    _ => part.to_vec(),
                })
                .collect();
            return self.is_name_value(&spaced);
        }
        let split = |b: &u8| {
            b.is_ascii_whitespace() || matches!(b, b',' | b'^' | b'/' | b'+')
        };
        // A title before the name is the name's, not a word of its own.
        let title = |t: &[u8]| {
            let t = t.strip_suffix(b".").unwrap_or(t);
            [&b"dr"[..], b"mr", b"mrs", b"ms", b"mx", b"miss", b"prof"]
                .iter()
                .any(|w| t.eq_ignore_ascii_case(w))
        };
        let Some(first) = m.split(split).find(|t| !t.is_empty() && !title(t))
        else {
            return false;
        };
        let first = first.strip_suffix(b".").unwrap_or(first);
        // An identifier (`E12345`, `EXCLUDED.last_name`, `api/handler.go:61`)
        // is not a name.
        if first.iter().any(|b| b.is_ascii_digit() || *b == b'_')
            || (!m.iter().any(u8::is_ascii_whitespace)
                && m.iter().any(u8::is_ascii_digit))
        {
            return false;
        }
        // "Will", "June", "Grant": common words, and names when written
        // as names in a name field.
        let named = capitalized(first)
            && (self.is(&self.first, first) || self.is(&self.last, first));
        m.iter().any(|b| b.is_ascii_alphabetic() || *b >= 0x80)
            && (named || !self.is(&self.common, first))
    }

    /// A column value that reads as a name on its own: one to four words
    /// of letters, each a census first or last name, the first not a
    /// common word. Evidence for a column, not for a finding in text.
    pub(crate) fn is_known_name(&self, m: &[u8]) -> bool {
        let m = m.trim_ascii();
        if m.is_empty() || m.iter().any(u8::is_ascii_digit) {
            return false;
        }
        let toks: Vec<&[u8]> = tokens(m).collect();
        let Some(&first) = toks.first() else { return false };
        (1..=4).contains(&toks.len())
            && !self.is(&self.common, first)
            && toks
                .iter()
                .all(|t| self.is(&self.first, t) || self.is(&self.last, t))
    }

    /// A name after a cue ("Dr.", "Patient:"): capitalized tokens, the
    /// first and last not common words unless given names too ("Dr May
    /// Craney", "Dear Summer,", "Goslin, May"). One token is enough, and names outside
    /// the dictionaries count: the cue is the evidence.
    pub(crate) fn is_cued_name(&self, m: &[u8]) -> bool {
        let mut toks = tokens(m).peekable();
        let Some(first) = toks.peek().copied() else { return false };
        let last = tokens(m).last().unwrap_or(first);
        capitalized(first)
            && (!self.is(&self.common, first) || self.is_given_word(first))
            && (!self.is(&self.common, last) || self.is_given_word(last))
            && tokens(m).all(capitalized)
    }

    /// The end of the longest run of `m`'s first tokens that is a cued
    /// name, when `m` as a whole is not: a name pattern reads greedily
    /// across the two spaces between fields (`Dr Siobhan Balogun  Reason:
    /// new AF`), and the cue is still the evidence for the name before
    /// them. Cut only at whitespace.
    pub(crate) fn cued_name_end(&self, m: &[u8]) -> Option<usize> {
        let mut cut = m.len();
        loop {
            let end = m[..cut].trim_ascii_end().len();
            let at = m[..end].iter().rposition(u8::is_ascii_whitespace)?;
            cut = m[..at].trim_ascii_end().len();
            let head = m[..cut].strip_suffix(b",").unwrap_or(&m[..cut]);
            if !head.is_empty() && self.is_cued_name(head) {
                return Some(head.len());
            }
        }
    }

    /// A common word that is a given name too (June, Hope, Will), but not
    /// a word that opens prose after a cue ("Patient In ...", "See").
    fn is_given_word(&self, tok: &[u8]) -> bool {
        const PROSE: [&[u8]; 5] = [b"an", b"in", b"so", b"see", b"miss"];
        self.is(&self.first, tok)
            && !PROSE.iter().any(|w| tok.eq_ignore_ascii_case(w))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn membership_is_exact_and_case_insensitive() {
        let n = Names::default_pack();
        assert!(n.is(&n.first, b"Mary"));
        assert!(n.is(&n.first, b"MARY"));
        // Diacritics fold to their base letters for lookup.
        assert!(n.is(&n.last, "Garc\u{ed}a".as_bytes()));
        assert!(
            n.is(&n.last, "\u{15e}ahin".as_bytes()) == n.is(&n.last, b"Sahin")
        );
        assert!(
            n.is(&n.first, "\u{141}ukasz".as_bytes())
                == n.is(&n.first, b"Lukasz")
        );
        assert!(!n.is(&n.first, b"Mar"));
        assert!(!n.is(&n.first, b"Maryx"));
        assert!(n.is(&n.last, b"Garcia"));
        // Accents fold to the census spelling.
        assert!(n.is(&n.first, "José".as_bytes()));
        assert!(n.is(&n.last, "García".as_bytes()));
        // Vietnamese letters with two marks, and the horned vowels.
        assert!(n.is(&n.last, "Nguy\u{1ec5}n".as_bytes()));
        assert!(n.is(&n.last, "Tr\u{1ea7}n".as_bytes()));
        assert!(
            n.is(&n.last, "HU\u{1ef2}NH".as_bytes())
                == n.is(&n.last, b"Huynh")
        );
        assert!(
            n.is(&n.first, "H\u{1b0}\u{1a1}ng".as_bytes())
                == n.is(&n.first, b"Huong")
        );
        // A truncated sequence is not a letter.
        assert!(!n.is(&n.last, b"Nguy\xe1\xbb"));
    }

    #[test]
    fn a_cued_name_ends_before_the_next_field() {
        let n = Names::default_pack();
        let end = |m: &str| n.cued_name_end(m.as_bytes());
        assert_eq!(end("Siobhan Balogun  Reason"), Some(15));
        assert_eq!(end("Nakita O'Sullivan  Reason"), Some(17));
        assert_eq!(end("Balogun, Reason"), Some(7));
        // Nothing before the common word, or nothing to cut.
        assert_eq!(end("Pending Review"), None);
        assert_eq!(end("Stable"), None);
    }

    #[test]
    fn full_names() {
        let n = Names::default_pack();
        assert!(n.is_full_name(b"John Smith"));
        assert!(n.is_full_name(b"Mary J. Garcia"));
        assert!(n.is_full_name(b"Smith, John"));
        assert!(n.is_full_name("José García".as_bytes()));
        assert!(!n.is_full_name(b"Blood Pressure"));
        assert!(!n.is_full_name(b"May Smith"));
        assert!(!n.is_full_name(b"John"));
        assert!(!n.is_full_name(b"John smith"));
    }

    #[test]
    fn name_values() {
        let n = Names::default_pack();
        assert!(n.is_name_value(b"QUIXOTE"));
        // Query strings encode the space.
        assert!(n.is_name_value(b"Kavitha%20Pavlovich"));
        assert!(n.is_name_value(b"Jayme+Smith"));
        assert!(!n.is_name_value(b"E12345%20x"));
        assert!(!n.is_name_value(b"Pending%20review"));
        assert!(n.is_name_value(b"maria lopez"));
        assert!(n.is_name_value("Łęcki".as_bytes()));
        assert!(!n.is_name_value(b"Stable"));
        assert!(!n.is_name_value(b"PENDING"));
        // Common words that are names too, written as names.
        assert!(n.is_name_value(b"Will"));
        assert!(n.is_name_value(b"June Okafor"));
        assert!(!n.is_name_value(b"will"));
        assert!(n.is_name_value(b"Dr. Joy Arno"));
        assert!(!n.is_name_value(b"Dr."));
        assert!(!n.is_name_value(b"12345"));
        assert!(!n.is_name_value(b"E12345"));
        assert!(!n.is_name_value(b"u_3391 Smith"));
        assert!(!n.is_name_value(b"api/handler.go:61"));
        assert!(!n.is_name_value(b"EXCLUDED.last_name"));
    }

    #[test]
    fn cued_names() {
        let n = Names::default_pack();
        assert!(n.is_cued_name(b"Okonkwo"));
        assert!(n.is_cued_name(b"Xu Li"));
        assert!(!n.is_cued_name(b"Note"));
        assert!(!n.is_cued_name(b"okonkwo"));
        // Common words that are given names, but not words of prose.
        assert!(n.is_cued_name(b"Summer Huang"));
        assert!(n.is_cued_name(b"June"));
        assert!(!n.is_cued_name(b"In"));
        assert!(!n.is_cued_name(b"Stable"));
        assert!(n.is_cued_name(b"Goslin, May"));
        assert!(!n.is_cued_name(b"Code,Patient"));
    }
}
