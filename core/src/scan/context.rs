//! Context words: whole words, case-insensitive, in a window around a match.

use aho_corasick::{AhoCorasick, MatchKind};

/// One automaton over every context and negative-context word of every
/// pattern; patterns keep the sorted ids of their own words.
#[derive(Debug)]
pub(crate) struct ContextWords {
    ac: Option<AhoCorasick>,
}

/// Which of a pattern's word lists matched in its windows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Hits {
    pub(crate) positive: bool,
    pub(crate) negative: bool,
}

impl ContextWords {
    pub(crate) fn new(words: &[String]) -> ContextWords {
        if words.is_empty() {
            return ContextWords { ac: None };
        }
        // A full DFA: windows are short and many, and it is the fastest
        // kind per byte.
        let ac = AhoCorasick::builder()
            .kind(Some(aho_corasick::AhoCorasickKind::DFA))
            .match_kind(MatchKind::Standard)
            .ascii_case_insensitive(true)
            .build(words)
            .expect("context words are short ASCII strings");
        ContextWords { ac: Some(ac) }
    }

    /// Looks for the pattern's words in `hay[window]`, where each word must
    /// stand alone: no ASCII letter or digit right before or after it.
    pub(crate) fn hits(
        &self,
        hay: &[u8],
        windows: [std::ops::Range<usize>; 2],
        positive: &[u32],
        negative: &[u32],
    ) -> Hits {
        let mut hits = Hits::default();
        let Some(ac) = &self.ac else { return hits };
        // The candidate lies between the two windows.
        let (cand_start, cand_end) = (windows[0].end, windows[1].start);
        for w in windows {
            let input = aho_corasick::Input::new(hay).span(w);
            for m in ac.find_overlapping_iter(input) {
                let alnum = |i: usize| hay[i].is_ascii_alphanumeric();
                if (m.start() > 0 && alnum(m.start() - 1))
                    || (m.end() < hay.len() && alnum(m.end()))
                    || is_tag(hay, m.start(), m.end())
                {
                    continue;
                }
                let id = m.pattern().as_u32();
                hits.positive |= positive.binary_search(&id).is_ok();
                if negative.binary_search(&id).is_ok() {
                    // A word that vetoes ("order") only speaks for its own
                    // line; a label on the line above ("DOB:") still helps.
                    let gap = if m.end() <= cand_start {
                        &hay[m.end()..cand_start]
                    } else {
                        &hay[cand_end..m.start()]
                    };
                    if memchr::memchr(b'\n', gap).is_none() {
                        hits.negative = true;
                        return hits;
                    }
                }
            }
        }
        hits
    }
}

/// Whether `hay[start..end]` is the name inside a redaction tag
/// (`[DATE]`, `[SSN:9f86d081]`): a value phisafe replaced is no cue for
/// its neighbours, or redacting text twice would find more.
fn is_tag(hay: &[u8], start: usize, end: usize) -> bool {
    start > 0
        && hay[start - 1] == b'['
        && matches!(hay.get(end), Some(b']' | b':'))
        && std::str::from_utf8(&hay[start..end])
            .ok()
            .and_then(|w| w.parse::<crate::Entity>().ok())
            .is_some_and(|e| e.as_str().as_bytes() == &hay[start..end])
}

/// The byte offset `chars` characters before `at` (UTF-8 aware; any other
/// byte counts as one character).
pub(crate) fn back_chars(hay: &[u8], at: usize, chars: usize) -> usize {
    let mut i = at;
    let mut n = 0;
    while i > 0 && n < chars {
        i -= 1;
        if hay[i] & 0xC0 != 0x80 {
            n += 1;
        }
    }
    i
}

/// The byte offset `chars` characters after `at`.
pub(crate) fn forward_chars(hay: &[u8], at: usize, chars: usize) -> usize {
    let mut i = at;
    let mut n = 0;
    while i < hay.len() && n < chars {
        i += 1;
        while i < hay.len() && hay[i] & 0xC0 == 0x80 {
            i += 1;
        }
        n += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(words: &[&str], hay: &str, pos: &[u32]) -> bool {
        let words: Vec<String> = words.iter().map(|s| s.to_string()).collect();
        let cw = ContextWords::new(&words);
        let h = hay.as_bytes();
        cw.hits(h, [0..h.len(), h.len()..h.len()], pos, &[]).positive
    }

    #[test]
    fn whole_words_only() {
        assert!(ids(&["lic"], "DL lic: X", &[0]));
        assert!(!ids(&["lic"], "duplicate order", &[0]));
        assert!(ids(&["ssn"], "the SSN is", &[0]));
        assert!(ids(&["date of birth"], "Date of Birth:", &[0]));
        // A word of another pattern does not count.
        assert!(!ids(&["ssn", "mrn"], "mrn", &[0]));
    }

    #[test]
    fn char_windows() {
        let s = "é1234".as_bytes();
        assert_eq!(back_chars(s, 2, 1), 0);
        assert_eq!(forward_chars(s, 0, 1), 2);
        assert_eq!(forward_chars(s, 0, 100), s.len());
    }
}
