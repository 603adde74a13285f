//! Where patterns match: candidate starts and their ends.
//!
//! One leftmost-first union of every pattern, restarted after each
//! candidate, does not survive dense, varied text: its lazy DFA tracks the
//! threads of every pattern started at every recent position, the states
//! multiply with each counted repetition (`{0,63}`), and the cache is
//! cleared again and again, so the search runs at NFA speed. An anchored
//! search does not have that problem: started at one position, a DFA over
//! all patterns follows one thread per pattern and needs a few thousand
//! states.
//!
//! So every candidate is found by a *verifier*: an anchored match-all lazy
//! DFA run from a position, which records each pattern's longest match
//! there. The question is which positions to verify:
//!
//! - In **sparse** text, the regions found by a *finder*: a leftmost-first
//!   union of relaxed copies of every pattern (long counted repetitions
//!   made unbounded, which matches a superset and keeps the DFA small).
//!   Every position inside a region is verified. A relaxed pattern matches
//!   wherever its exact one does, and leftmost-first regions leave no match
//!   start uncovered, so no match is missed.
//! - In **dense** text, where the finder would stop every few bytes and its
//!   DFA would grow, every position whose first two bytes can open a match
//!   of a *general* pattern (three table reads decide). Patterns that open
//!   with a literal of three bytes or more (`ghp_`, `-----BEGIN `) or hold
//!   a rare one (the `@` of an address, the `://` of a URL) have finders of
//!   their own there, which skip ahead with those literals.
//!
//! A searcher switches between the two as the text changes, counting the
//! matches it verifies. Both visit every position where a pattern matches,
//! so results never depend on the mode.
//!
//! Ignores (text known not to be sensitive) are verified with the general
//! patterns, first at each position: an ignore matching at a position
//! claims its longest match, no candidate starts there or inside it, and a
//! position inside it cannot start another ignore.

use regex_automata::hybrid::LazyStateID;
use regex_automata::hybrid::dfa::{self as hybrid, DFA};
use regex_automata::meta;
use regex_automata::nfa::thompson::{self, WhichCaptures};
use regex_automata::util::{start, syntax};
use regex_automata::{Anchored, Input, MatchKind};
use regex_syntax::hir::{self, Hir, HirKind, literal};

/// Counted repetitions up to this bound stay exact in finders; longer ones
/// become unbounded (their states are what multiply).
const RELAX_AT: u32 = 8;

/// Bytes passed between decisions about the mode, and the size of a
/// dense block.
const DECIDE_EVERY: usize = 16 << 10;

/// Sparse mode turns dense at one verified match per this many bytes: the
/// finder stops about that often and its lazy DFA grows with candidates.
const DENSE_MATCH_GAP: usize = 160;

/// Dense mode turns sparse below one verified match per this many bytes.
const SPARSE_MATCH_GAP: usize = 400;

#[cfg(test)]
thread_local! {
    /// Holds this thread's searches in one mode, for tests that compare.
    pub(crate) static FORCE_DENSE: std::cell::Cell<Option<bool>> =
        const { std::cell::Cell::new(None) };
}

/// Which way a group of patterns is best found in dense text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Prefixed,
    Inner,
    General,
}

/// An error building the searcher: which pattern (global index, if known).
#[derive(Debug)]
pub(crate) struct SearchBuildError {
    pub(crate) pattern: Option<usize>,
    pub(crate) message: String,
}

/// The candidate search of a scanner.
#[derive(Debug)]
pub(crate) struct Searcher {
    /// Relaxed union of the ignores and every pattern: regions of sparse
    /// text.
    finder: meta::Regex,
    /// The general patterns, after the ignores, split by the class of the
    /// first byte: a DFA for the patterns that can open with a digit stays
    /// small, and its states stay in the CPU cache.
    general: Vec<Verifier>,
    /// The group in `general` for each first byte.
    group_of: [u8; 256],
    /// Prefixed and inner-literal patterns, with finders for dense text.
    others: Vec<(meta::Regex, Verifier)>,
}

/// An anchored match-all DFA over some patterns.
#[derive(Debug)]
struct Verifier {
    dfa: DFA,
    starts: Starts,
    /// Global pattern index of each local one after the ignores.
    patterns: Vec<u32>,
    /// Local patterns `..ignores` are ignores.
    ignores: usize,
}

/// Per-thread search state of one [`Searcher`].
#[derive(Debug)]
pub(crate) struct SearchCache {
    finder: meta::Cache,
    general: Vec<VerifierCache>,
    others: Vec<OtherCache>,
    mode: Mode,
    /// Ignored spans of the current call, in order.
    spans: Vec<(usize, usize)>,
    /// Longest end of each local pattern in the current verification.
    ends: Vec<usize>,
    /// Local patterns with an entry in `ends`.
    seen: Vec<u32>,
}

/// Sparse or dense, and what the next decision weighs.
#[derive(Debug, Default)]
struct Mode {
    dense: bool,
    /// Since the last decision: bytes passed, verified matches.
    bytes: usize,
    matches: usize,
}

#[derive(Debug)]
struct VerifierCache {
    dfa: hybrid::Cache,
    /// Anchored start state after each byte, and at the start of the text
    /// (index 256); valid while `clears` is current.
    starts: Box<[LazyStateID; 257]>,
    clears: usize,
}

#[derive(Debug)]
struct OtherCache {
    finder: meta::Cache,
    verifier: VerifierCache,
    /// The finder's next region at or after the current position in this
    /// call (`usize::MAX` when there is none).
    pending: Option<(usize, usize)>,
}

fn syntax_config() -> syntax::Config {
    syntax::Config::new().unicode(false).utf8(false)
}

/// A copy of `h` that matches wherever `h` does, with long counted
/// repetitions unbounded and captures dropped.
fn relax(h: &Hir) -> Hir {
    match h.kind() {
        HirKind::Repetition(r) => {
            let max = match r.max {
                Some(m) if m >= RELAX_AT && m > r.min => None,
                other => other,
            };
            Hir::repetition(hir::Repetition {
                min: r.min,
                max,
                greedy: r.greedy,
                sub: Box::new(relax(&r.sub)),
            })
        }
        HirKind::Concat(subs) => Hir::concat(subs.iter().map(relax).collect()),
        HirKind::Alternation(subs) => {
            Hir::alternation(subs.iter().map(relax).collect())
        }
        HirKind::Capture(c) => relax(&c.sub),
        _ => h.clone(),
    }
}

fn prefixes(h: &Hir) -> literal::Seq {
    let mut ex = literal::Extractor::new();
    ex.kind(literal::ExtractKind::Prefix);
    let mut seq = ex.extract(h);
    seq.optimize_for_prefix_by_preference();
    seq
}

/// How a pattern's positions are best found in dense text.
fn kind(h: &Hir) -> Kind {
    let seq = prefixes(h);
    // Digits (`19`, `20` opening a year) are everywhere, and so are
    // case-insensitive keywords (`(?i)mrn` comes as every spelling, and
    // matches inside ordinary words).
    let wordy = |l: &literal::Literal| {
        l.as_bytes().iter().any(|b| !b.is_ascii_digit() && *b != b' ')
    };
    let folded = |lits: &[literal::Literal]| {
        let mut lower: Vec<Vec<u8>> =
            lits.iter().map(|l| l.as_bytes().to_ascii_lowercase()).collect();
        lower.sort();
        lower.dedup();
        lower.len() < lits.len()
    };
    if let Some(lits) = seq.literals()
        && !lits.is_empty()
        && lits.len() <= 64
        && seq.min_literal_len().is_some_and(|n| n >= 3)
        && lits.iter().all(wordy)
        && !folded(lits)
    {
        return Kind::Prefixed;
    }
    // A literal after the first element that is rare in text.
    if let HirKind::Concat(subs) = h.kind() {
        for k in 1..subs.len() {
            let seq = prefixes(&Hir::concat(subs[k..].to_vec()));
            let Some(lits) = seq.literals() else { continue };
            let rare = |l: &literal::Literal| {
                let b = l.as_bytes();
                b.contains(&b'@') || b.windows(3).any(|w| w == b"://")
            };
            if !lits.is_empty() && lits.len() <= 16 && lits.iter().all(rare) {
                return Kind::Inner;
            }
        }
    }
    Kind::General
}

/// The bytes a match of `h` can open with (all of them when unknown).
fn first_bytes(h: &Hir) -> [bool; 256] {
    let mut ex = literal::Extractor::new();
    ex.kind(literal::ExtractKind::Prefix)
        .limit_class(256)
        .limit_literal_len(1)
        .limit_total(4096);
    let mut set = [false; 256];
    match ex.extract(h).literals() {
        Some(lits) if lits.iter().all(|l| !l.is_empty()) => {
            for l in lits {
                set[usize::from(l.as_bytes()[0])] = true;
            }
        }
        _ => set = [true; 256],
    }
    set
}

/// The first-byte groups of the general patterns: digits, upper case (and
/// UTF-8 lead bytes, which open accented names), lower case, the rest.
fn groups(
    patterns: &[Hir],
    ignores: &[Hir],
    ids: &[u32],
) -> Result<(Vec<Verifier>, [u8; 256]), SearchBuildError> {
    let group = |b: u8| -> u8 {
        match b {
            b'0'..=b'9' => 0,
            b'A'..=b'Z' | 0xC0..=0xFF => 1,
            b'a'..=b'z' => 2,
            _ => 3,
        }
    };
    let mut group_of = [0u8; 256];
    for b in 0..=255u8 {
        group_of[usize::from(b)] = group(b);
    }
    let opens = |h: &Hir, g: u8| {
        let set = first_bytes(h);
        (0..=255u8).any(|b| set[usize::from(b)] && group(b) == g)
    };
    let mut verifiers = Vec::with_capacity(4);
    for g in 0..4 {
        let ign: Vec<Hir> =
            ignores.iter().filter(|h| opens(h, g)).cloned().collect();
        let mine: Vec<u32> = ids
            .iter()
            .copied()
            .filter(|&i| opens(&patterns[i as usize], g))
            .collect();
        verifiers.push(Verifier::new(patterns, &ign, mine)?);
    }
    Ok((verifiers, group_of))
}

fn build_finder(hirs: &[Hir]) -> Result<meta::Regex, SearchBuildError> {
    meta::Builder::new()
        .configure(
            meta::Config::new()
                .match_kind(MatchKind::LeftmostFirst)
                .utf8_empty(false)
                .which_captures(WhichCaptures::Implicit)
                .nfa_size_limit(Some(64 << 20))
                .hybrid_cache_capacity(16 << 20),
        )
        .build_many_from_hir(hirs)
        .map_err(|e| SearchBuildError {
            pattern: e.pattern().map(|p| p.as_usize()),
            message: e.to_string(),
        })
}

impl Searcher {
    /// Builds the search for `patterns` (global index order) and
    /// `ignores`. Errors name a pattern by its global index.
    pub(crate) fn new(
        patterns: &[Hir],
        ignores: &[Hir],
    ) -> Result<Searcher, SearchBuildError> {
        let mut general = Vec::new();
        let mut prefixed = Vec::new();
        let mut inner = Vec::new();
        for (i, h) in patterns.iter().enumerate() {
            match kind(h) {
                Kind::Prefixed => prefixed.push(i as u32),
                Kind::Inner => inner.push(vec![i as u32]),
                Kind::General => general.push(i as u32),
            }
        }
        let all: Vec<Hir> =
            ignores.iter().chain(patterns).map(relax).collect();
        let finder = build_finder(&all).map_err(|mut e| {
            e.pattern = e.pattern.and_then(|p| p.checked_sub(ignores.len()));
            e
        })?;
        let (general, group_of) = groups(patterns, ignores, &general)?;
        let mut others = Vec::new();
        for ids in inner.into_iter().chain(Some(prefixed)) {
            if ids.is_empty() {
                continue;
            }
            let relaxed: Vec<Hir> =
                ids.iter().map(|&i| relax(&patterns[i as usize])).collect();
            let f = build_finder(&relaxed).map_err(|mut e| {
                e.pattern = e.pattern.map(|l| ids[l] as usize);
                e
            })?;
            others.push((f, Verifier::new(patterns, &[], ids)?));
        }
        Ok(Searcher { finder, general, group_of, others })
    }

    /// Fresh per-thread state.
    pub(crate) fn create_cache(&self) -> SearchCache {
        let verifiers =
            self.general.iter().chain(self.others.iter().map(|o| &o.1));
        let widest = verifiers.map(|v| v.ignores + v.patterns.len()).max();
        SearchCache {
            finder: self.finder.create_cache(),
            general: self.general.iter().map(Verifier::create_cache).collect(),
            others: self
                .others
                .iter()
                .map(|(f, v)| OtherCache {
                    finder: f.create_cache(),
                    verifier: v.create_cache(),
                    pending: None,
                })
                .collect(),
            mode: Mode::default(),
            spans: Vec::new(),
            ends: vec![usize::MAX; widest.unwrap_or(0)],
            seen: Vec::new(),
        }
    }

    /// Calls `emit(pattern, start, end)` for every pattern matching at a
    /// start in `from..limit` (its longest match there), in no particular
    /// order, and returns where the next call should start: `limit`, or
    /// later when an ignored span crosses it.
    ///
    /// Reads `hay` around the candidates as far as the patterns need; the
    /// end of `hay` counts as the end of the text.
    pub(crate) fn candidates(
        &self,
        cache: &mut SearchCache,
        hay: &[u8],
        from: usize,
        limit: usize,
        mut emit: impl FnMut(usize, usize, usize),
    ) -> usize {
        let SearchCache { finder, general, others, mode, spans, ends, seen } =
            cache;
        #[cfg(test)]
        if let Some(dense) = FORCE_DENSE.get() {
            mode.dense = dense;
        }
        spans.clear();
        for o in others.iter_mut() {
            o.pending = None;
        }
        let mut sc = Scratch { spans, ends, seen, span_at: 0 };
        let mut pos = from;
        while pos < limit {
            if mode.dense {
                let end = (pos + DECIDE_EVERY).min(limit);
                let mut found = 0;
                for q in pos..end {
                    let g = usize::from(self.group_of[usize::from(hay[q])]);
                    let v = &self.general[g];
                    if v.starts.may_start(hay, q) {
                        found += v.verify(
                            &mut general[g],
                            &mut sc,
                            hay,
                            q,
                            &mut emit,
                        );
                    }
                }
                for ((f, v), oc) in self.others.iter().zip(others.iter_mut()) {
                    sc.rewind(pos);
                    found += v.regions(
                        f, oc, &mut sc, hay, pos, end, limit, &mut emit,
                    );
                }
                mode.matches += found;
                mode.bytes += end - pos;
                pos = end;
            } else {
                let input = Input::new(hay).span(pos..hay.len());
                let m = match self.finder.search_with(finder, &input) {
                    Some(m) if m.start() < limit => m,
                    _ => {
                        mode.bytes += limit - pos;
                        mode.decide();
                        break;
                    }
                };
                let end = m.end().max(m.start() + 1);
                for q in m.start()..end.min(limit) {
                    mode.matches += self.verify_all(
                        general, others, &mut sc, hay, q, &mut emit,
                    );
                }
                mode.bytes += end - pos;
                pos = end;
            }
            mode.decide();
        }
        sc.spans.last().map_or(limit, |&(_, end)| end.max(limit))
    }

    /// Verifies every group at `q`, the ignores first.
    fn verify_all(
        &self,
        general: &mut [VerifierCache],
        others: &mut [OtherCache],
        sc: &mut Scratch<'_>,
        hay: &[u8],
        q: usize,
        emit: &mut impl FnMut(usize, usize, usize),
    ) -> usize {
        let mut n = 0;
        let g = usize::from(self.group_of[usize::from(hay[q])]);
        let v = &self.general[g];
        if v.starts.may_start(hay, q) {
            n += v.verify(&mut general[g], sc, hay, q, emit);
        }
        for ((_, v), oc) in self.others.iter().zip(others.iter_mut()) {
            if v.starts.may_start(hay, q) {
                n += v.verify(&mut oc.verifier, sc, hay, q, emit);
            }
        }
        n
    }
}

/// What a thread's search state for one scanner has done, for benchmarks
/// and tuning; see [`Scanner::search_stats`](crate::Scanner::search_stats).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SearchStats {
    /// How often the verifiers' lazy DFA caches were cleared because they
    /// were full: in a steady state this stays at zero.
    pub cache_clears: usize,
    /// Bytes held by this thread's caches (lazy DFA states, finders).
    pub cache_bytes: usize,
    /// Whether the last text looked dense (every position a candidate)
    /// rather than sparse (positions found by the finder).
    pub dense: bool,
}

impl SearchCache {
    /// Counters of this cache.
    pub(crate) fn stats(&self) -> SearchStats {
        let verifiers =
            self.general.iter().chain(self.others.iter().map(|o| &o.verifier));
        let (mut clears, mut bytes) = (0, self.finder.memory_usage());
        for v in verifiers {
            clears += v.dfa.clear_count();
            bytes += v.dfa.memory_usage();
        }
        for o in &self.others {
            bytes += o.finder.memory_usage();
        }
        SearchStats {
            cache_clears: clears,
            cache_bytes: bytes,
            dense: self.mode.dense,
        }
    }
}

impl Mode {
    /// Switches between sparse and dense mode once enough text passed.
    fn decide(&mut self) {
        if self.bytes < DECIDE_EVERY {
            return;
        }
        let gap = if self.dense { SPARSE_MATCH_GAP } else { DENSE_MATCH_GAP };
        self.dense = self.matches * gap >= self.bytes;
        #[cfg(test)]
        if let Some(dense) = FORCE_DENSE.get() {
            self.dense = dense;
        }
        self.bytes = 0;
        self.matches = 0;
    }
}

/// Per-call scratch shared by the verifiers.
struct Scratch<'c> {
    spans: &'c mut Vec<(usize, usize)>,
    ends: &'c mut [usize],
    seen: &'c mut Vec<u32>,
    /// First span that may hold a later position.
    span_at: usize,
}

impl Scratch<'_> {
    /// Whether `q` lies inside an ignored span. Positions only grow
    /// between calls to [`Scratch::rewind`].
    fn ignored(&mut self, q: usize) -> bool {
        while let Some(&(start, end)) = self.spans.get(self.span_at) {
            if end <= q {
                self.span_at += 1;
            } else {
                return start <= q;
            }
        }
        false
    }

    /// Goes back to position `q`.
    fn rewind(&mut self, q: usize) {
        self.span_at = self.spans.partition_point(|&(_, end)| end <= q);
    }
}

/// The first two bytes a match can begin with, after each look-behind:
/// most positions fail this test, and it costs three table reads where a
/// verification walks the DFA.
#[derive(Debug)]
struct Starts {
    /// Distinct anchored start state after each byte (256: the start of
    /// the text).
    start_of: [u8; 257],
    /// Byte classes of the verifier.
    class_of: [u8; 256],
    classes: usize,
    /// Words per row of `pairs`.
    stride: usize,
    /// Bit `c1` of row `(start * classes + c0)`: some pattern survives
    /// bytes of classes `c0`, `c1` after that start.
    pairs: Vec<u64>,
}

impl Starts {
    fn new(dfa: &DFA) -> Starts {
        let mut cache = dfa.create_cache();
        let bc = dfa.byte_classes();
        // The last class is the end of input, never read from the text.
        let classes = bc.alphabet_len() - 1;
        let mut class_of = [0u8; 256];
        let mut rep = vec![0u8; classes];
        for b in 0..=255u8 {
            class_of[usize::from(b)] = bc.get(b);
            rep[usize::from(bc.get(b))] = b;
        }
        let mut ids: Vec<LazyStateID> = Vec::new();
        let mut start_of = [0u8; 257];
        for (slot, index) in start_of.iter_mut().enumerate() {
            let config = start::Config::new()
                .anchored(Anchored::Yes)
                .look_behind(u8::try_from(slot).ok());
            let sid = dfa
                .start_state(&mut cache, &config)
                .expect("anchored starts exist and nothing quits");
            let i = ids.iter().position(|&x| x == sid).unwrap_or_else(|| {
                ids.push(sid);
                ids.len() - 1
            });
            *index = u8::try_from(i).expect("a DFA has a few start states");
        }
        let next = |cache: &mut hybrid::Cache, sid, b| {
            dfa.next_state(cache, sid, b).expect("the lazy DFA never gives up")
        };
        let stride = classes.div_ceil(64);
        let mut pairs = vec![0u64; ids.len() * classes * stride];
        for (si, &sid) in ids.iter().enumerate() {
            for c0 in 0..classes {
                let s1 = next(&mut cache, sid, rep[c0]);
                if s1.is_dead() {
                    continue;
                }
                let row = (si * classes + c0) * stride;
                for c1 in 0..classes {
                    // A one-byte match shows in the next state, which is
                    // then a match state and not dead.
                    let s2 = next(&mut cache, s1, rep[c1]);
                    if !s2.is_dead() {
                        pairs[row + c1 / 64] |= 1 << (c1 % 64);
                    }
                }
            }
        }
        Starts { start_of, class_of, classes, stride, pairs }
    }

    /// Whether a match may start at `q`.
    #[inline]
    fn may_start(&self, hay: &[u8], q: usize) -> bool {
        let slot = if q == 0 { 256 } else { usize::from(hay[q - 1]) };
        let si = usize::from(self.start_of[slot]);
        let c0 = usize::from(self.class_of[usize::from(hay[q])]);
        let Some(&b1) = hay.get(q + 1) else { return true };
        let c1 = usize::from(self.class_of[usize::from(b1)]);
        let row = (si * self.classes + c0) * self.stride;
        self.pairs[row + c1 / 64] & (1 << (c1 % 64)) != 0
    }
}

impl Verifier {
    /// A verifier for `ignores` (local patterns first) and the patterns
    /// `ids` of `patterns`.
    fn new(
        patterns: &[Hir],
        ignores: &[Hir],
        ids: Vec<u32>,
    ) -> Result<Verifier, SearchBuildError> {
        let exact: Vec<&Hir> = ignores
            .iter()
            .chain(ids.iter().map(|&i| &patterns[i as usize]))
            .collect();
        let err = |e: String| SearchBuildError { pattern: None, message: e };
        let nfa = thompson::Compiler::new()
            .syntax(syntax_config())
            .configure(
                thompson::Config::new()
                    .which_captures(WhichCaptures::None)
                    .nfa_size_limit(Some(64 << 20)),
            )
            .build_many_from_hir(&exact)
            .map_err(|e| err(e.to_string()))?;
        let dfa = DFA::builder()
            .configure(
                DFA::config()
                    .match_kind(MatchKind::All)
                    .cache_capacity(8 << 20)
                    .minimum_cache_clear_count(None)
                    .skip_cache_capacity_check(true),
            )
            .build_from_nfa(nfa)
            .map_err(|e| err(e.to_string()))?;
        let starts = Starts::new(&dfa);
        Ok(Verifier { dfa, starts, patterns: ids, ignores: ignores.len() })
    }

    fn create_cache(&self) -> VerifierCache {
        let mut vc = VerifierCache {
            dfa: self.dfa.create_cache(),
            starts: Box::new([LazyStateID::default(); 257]),
            clears: usize::MAX,
        };
        vc.refresh(&self.dfa);
        vc
    }

    /// Verifies the positions of the finder's regions that start in
    /// `pos..end`, the regions cut at `limit`; a region crossing `end`
    /// is continued by the next block.
    #[allow(clippy::too_many_arguments)]
    fn regions(
        &self,
        finder: &meta::Regex,
        oc: &mut OtherCache,
        sc: &mut Scratch<'_>,
        hay: &[u8],
        pos: usize,
        end: usize,
        limit: usize,
        emit: &mut impl FnMut(usize, usize, usize),
    ) -> usize {
        let mut n = 0;
        let mut at = pos;
        loop {
            // A region found earlier in this call still holds until its
            // end; a search from `at` covers every start after it.
            let (s, e) = match oc.pending {
                Some((s, e)) if e > at => (s.max(at), e),
                _ => {
                    let input = Input::new(hay).span(at..hay.len());
                    match finder.search_with(&mut oc.finder, &input) {
                        Some(m) => (m.start(), m.end().max(m.start() + 1)),
                        None => (usize::MAX, usize::MAX),
                    }
                }
            };
            if s >= end {
                oc.pending = Some((s, e));
                return n;
            }
            for q in s..e.min(end).min(limit) {
                if self.starts.may_start(hay, q) {
                    n += self.verify(&mut oc.verifier, sc, hay, q, emit);
                }
            }
            if e > end {
                oc.pending = Some((end, e));
                return n;
            }
            oc.pending = None;
            at = e;
        }
    }

    /// Runs the DFA anchored at `q`; emits each pattern's longest match
    /// and returns how many patterns matched.
    #[inline]
    fn verify(
        &self,
        vc: &mut VerifierCache,
        sc: &mut Scratch<'_>,
        hay: &[u8],
        q: usize,
        emit: &mut impl FnMut(usize, usize, usize),
    ) -> usize {
        let dfa = &self.dfa;
        let start = vc.start(dfa, hay, q);
        let cache = &mut vc.dfa;
        let next = |cache: &mut hybrid::Cache, sid, b| {
            dfa.next_state(cache, sid, b)
                .expect("the lazy DFA never gives up (no minimum clear count)")
        };
        let mut sid = next(cache, start, hay[q]);
        let mut at = q + 1;
        loop {
            // The common step: an untagged state and a known transition.
            while !sid.is_tagged() && at < hay.len() {
                let n = dfa.next_state_untagged(cache, sid, hay[at]);
                if n.is_unknown() {
                    break;
                }
                sid = n;
                at += 1;
            }
            if sid.is_tagged() {
                if sid.is_dead() {
                    break;
                }
                if sid.is_match() {
                    record(dfa, cache, sc, sid, at - 1);
                }
            }
            if at == hay.len() {
                sid = dfa
                    .next_eoi_state(cache, sid)
                    .expect("the lazy DFA never gives up");
                if sid.is_match() {
                    record(dfa, cache, sc, sid, at);
                }
                break;
            }
            sid = next(cache, sid, hay[at]);
            at += 1;
        }
        if sc.seen.is_empty() {
            return 0;
        }
        // Checked late: most positions have no match at all.
        let mut keep = !sc.ignored(q);
        if keep && self.ignores > 0 {
            let ignore_end = sc
                .seen
                .iter()
                .filter(|&&l| (l as usize) < self.ignores)
                .map(|&l| sc.ends[l as usize])
                .max();
            if let Some(end) = ignore_end {
                sc.spans.push((q, end));
                keep = false;
            }
        }
        let n = sc.seen.len();
        for &local in sc.seen.iter() {
            let local = local as usize;
            let end = std::mem::replace(&mut sc.ends[local], usize::MAX);
            if keep {
                emit(self.patterns[local - self.ignores] as usize, q, end);
            }
        }
        sc.seen.clear();
        if keep { n } else { 0 }
    }
}

impl VerifierCache {
    /// Recomputes the start states after the cache was cleared (their ids
    /// are gone with it).
    #[cold]
    fn refresh(&mut self, dfa: &DFA) {
        loop {
            self.clears = self.dfa.clear_count();
            for (slot, sid) in self.starts.iter_mut().enumerate() {
                let config = start::Config::new()
                    .anchored(Anchored::Yes)
                    .look_behind(u8::try_from(slot).ok());
                *sid = dfa
                    .start_state(&mut self.dfa, &config)
                    .expect("anchored starts exist and nothing quits");
            }
            // Computing them may itself have cleared the cache.
            if self.dfa.clear_count() == self.clears {
                return;
            }
        }
    }

    /// The anchored start state at `q`.
    #[inline]
    fn start(&mut self, dfa: &DFA, hay: &[u8], q: usize) -> LazyStateID {
        if self.dfa.clear_count() != self.clears {
            self.refresh(dfa);
        }
        let slot = if q == 0 { 256 } else { usize::from(hay[q - 1]) };
        self.starts[slot]
    }
}

/// Notes the patterns of match state `sid`, whose matches end at `end`.
#[inline]
fn record(
    dfa: &DFA,
    cache: &hybrid::Cache,
    sc: &mut Scratch<'_>,
    sid: LazyStateID,
    end: usize,
) {
    for i in 0..dfa.match_len(cache, sid) {
        let local = dfa.match_pattern(cache, sid, i).as_usize();
        if sc.ends[local] == usize::MAX {
            sc.seen.push(local as u32);
        }
        sc.ends[local] = end;
    }
}
