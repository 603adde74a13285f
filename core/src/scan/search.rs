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
    /// What each of those reads before the position it is verified at.
    leads: Vec<Option<Lead>>,
    /// Local patterns `..ignores` are ignores.
    ignores: usize,
}

/// The bytes a pattern reads before its name, date or number:
/// `(?:^|[^A-Za-z])Name` consumes the byte in front of the name to see
/// that a word starts there. Verified from that byte, such a pattern
/// would be tried at every space, colon and quote of the text; so it is
/// verified without its lead, where the name starts, and the lead is
/// checked backwards from there.
#[derive(Clone, Debug)]
struct Lead {
    /// Each way the lead can match, as the byte sets it reads in order
    /// (empty: a zero-width `^` or `(?m:^)`).
    ways: Vec<LeadWay>,
}

#[derive(Clone, Debug)]
enum LeadWay {
    /// `^`: the start of the text.
    Start,
    /// `(?m:^)`: the start of the text or of a line.
    LineStart,
    /// One byte set per byte read.
    Bytes(Vec<[bool; 256]>),
}

/// The longest lead in bytes.
const MAX_LEAD: usize = 2;

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

/// `h` without its lead, and the lead, when `h` opens with one worth
/// moving: a zero-width start or a wide byte set (a literal first byte,
/// such as the `+` of a phone number, already narrows the search).
fn strip_lead(h: &Hir) -> Option<(Hir, Lead)> {
    let HirKind::Concat(subs) = h.kind() else { return None };
    let (first, rest) = subs.split_first()?;
    let branches = match first.kind() {
        HirKind::Alternation(b) => b.as_slice(),
        _ => std::slice::from_ref(first),
    };
    let mut ways = Vec::new();
    let mut wide = false;
    for b in branches {
        let way = match b.kind() {
            HirKind::Look(hir::Look::Start) => LeadWay::Start,
            HirKind::Look(hir::Look::StartLF) => LeadWay::LineStart,
            _ => {
                let sets = byte_sets(b)?;
                if sets.is_empty() || sets.len() > MAX_LEAD {
                    return None;
                }
                wide |= sets
                    .iter()
                    .any(|s| s.iter().filter(|&&x| x).count() >= 64);
                LeadWay::Bytes(sets)
            }
        };
        wide |= matches!(way, LeadWay::Start | LeadWay::LineStart);
        ways.push(way);
    }
    let rest = Hir::concat(rest.to_vec());
    if !wide || rest.properties().minimum_len().unwrap_or(0) == 0 {
        return None;
    }
    Some((rest, Lead { ways }))
}

/// The byte sets of a fixed sequence of literals and classes.
fn byte_sets(h: &Hir) -> Option<Vec<[bool; 256]>> {
    match h.kind() {
        HirKind::Literal(hir::Literal(bytes)) => Some(
            bytes
                .iter()
                .map(|&b| {
                    let mut set = [false; 256];
                    set[usize::from(b)] = true;
                    set
                })
                .collect(),
        ),
        HirKind::Class(hir::Class::Bytes(c)) => {
            let mut set = [false; 256];
            for r in c.iter() {
                for b in r.start()..=r.end() {
                    set[usize::from(b)] = true;
                }
            }
            Some(vec![set])
        }
        HirKind::Concat(subs) => {
            let mut sets = Vec::new();
            for sub in subs {
                sets.extend(byte_sets(sub)?);
            }
            Some(sets)
        }
        _ => None,
    }
}

impl Lead {
    /// Calls `f` with each start at or before `q` (where the rest of
    /// the pattern matched) that the lead can take, each once.
    fn starts(&self, hay: &[u8], q: usize, mut f: impl FnMut(usize)) {
        let mut taken = [false; MAX_LEAD + 1];
        for way in &self.ways {
            let back = match way {
                LeadWay::Start => (q == 0).then_some(0),
                LeadWay::LineStart => {
                    (q == 0 || hay[q - 1] == b'\n').then_some(0)
                }
                LeadWay::Bytes(sets) => q
                    .checked_sub(sets.len())
                    .filter(|&s| {
                        sets.iter()
                            .zip(&hay[s..q])
                            .all(|(set, &b)| set[usize::from(b)])
                    })
                    .map(|_| sets.len()),
            };
            if let Some(back) = back
                && !std::mem::replace(&mut taken[back], true)
            {
                f(q - back);
            }
        }
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
    leads: &[Option<Lead>],
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
        verifiers.push(Verifier::new(patterns, leads, &ign, mine)?);
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
        whole: &[Hir],
        ignores: &[Hir],
    ) -> Result<Searcher, SearchBuildError> {
        // Patterns are verified without their leads, where the rest
        // starts, and the lead is checked backwards from there.
        let (bodies, leads): (Vec<Hir>, Vec<Option<Lead>>) = whole
            .iter()
            .map(|h| match strip_lead(h) {
                Some((rest, lead)) => (rest, Some(lead)),
                None => (h.clone(), None),
            })
            .unzip();
        let patterns = &bodies[..];
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
        // The finder keeps the leads, which narrow its regions; a region
        // is verified `MAX_LEAD` bytes past its end, where the rest of a
        // match starting in it may start.
        let all: Vec<Hir> = ignores.iter().chain(whole).map(relax).collect();
        let finder = build_finder(&all).map_err(|mut e| {
            e.pattern = e.pattern.and_then(|p| p.checked_sub(ignores.len()));
            e
        })?;
        let (general, group_of) = groups(patterns, &leads, ignores, &general)?;
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
            others.push((f, Verifier::new(patterns, &leads, &[], ids)?));
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
        let mut sc = Scratch { from, limit, spans, ends, seen, span_at: 0 };
        let reach = (limit + MAX_LEAD).min(hay.len()).max(limit);
        let mut pos = from;
        // Positions before this one are verified.
        let mut done = from;
        while pos < reach {
            if mode.dense {
                pos = pos.max(done);
                let end = (pos + DECIDE_EVERY).min(reach);
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
                        f, oc, &mut sc, hay, pos, end, reach, &mut emit,
                    );
                }
                mode.matches += found;
                mode.bytes += end - pos;
                pos = end;
                done = end;
            } else {
                let input = Input::new(hay).span(pos..hay.len());
                let m = match self.finder.search_with(finder, &input) {
                    Some(m) if m.start() < reach => m,
                    _ => {
                        mode.bytes += reach - pos;
                        mode.decide();
                        break;
                    }
                };
                let end = m.end().max(m.start() + 1);
                let to = (end + MAX_LEAD).min(reach);
                for q in m.start().max(done)..to {
                    mode.matches += self.verify_all(
                        general, others, &mut sc, hay, q, &mut emit,
                    );
                }
                done = done.max(to);
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
    /// Where this call's candidates start; positions up to `MAX_LEAD`
    /// past `limit` are verified for the leads that end there.
    from: usize,
    limit: usize,
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

    /// Whether `q` lies inside an ignored span, in any order.
    fn ignored_at(&self, q: usize) -> bool {
        let i = self.spans.partition_point(|&(_, end)| end <= q);
        self.spans.get(i).is_some_and(|&(start, _)| start <= q)
    }

    /// Goes back to position `q`.
    fn rewind(&mut self, q: usize) {
        self.span_at = self.spans.partition_point(|&(_, end)| end <= q);
    }
}

/// The first two bytes a match can begin with, after each byte before
/// it: most positions fail this test, and it costs three table reads where
/// a verification walks the DFA.
#[derive(Debug)]
struct Starts {
    /// Index of the rows for each byte before a position (256: the start
    /// of the text).
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
    /// The starts of `dfa`, which runs every pattern of a verifier.
    /// Patterns with a lead (`leads`) can only start after a byte one of
    /// them reads; `plain` runs the others, or is `None` when there are
    /// no others.
    fn new(dfa: &DFA, plain: Option<&DFA>, leads: &[&Lead]) -> Starts {
        let mut lead_after = [leads.is_empty(); 257];
        for way in leads.iter().flat_map(|l| &l.ways) {
            match way {
                LeadWay::Start => lead_after[256] = true,
                LeadWay::LineStart => {
                    lead_after[256] = true;
                    lead_after[usize::from(b'\n')] = true;
                }
                LeadWay::Bytes(sets) => {
                    let last = sets.last().expect("leads read a byte");
                    for (after, &set) in lead_after.iter_mut().zip(last) {
                        *after |= set;
                    }
                }
            }
        }
        // Without leads every pattern is plain and runs in `dfa`.
        let plain = if leads.is_empty() { None } else { plain };
        let mut caches = (dfa.create_cache(), plain.map(DFA::create_cache));
        // The DFA of a subset of the patterns splits bytes into classes
        // no finer than the DFA of all of them: one byte stands for each.
        let bc = dfa.byte_classes();
        // The last class is the end of input, never read from the text.
        let classes = bc.alphabet_len() - 1;
        let mut class_of = [0u8; 256];
        let mut rep = vec![0u8; classes];
        for b in 0..=255u8 {
            class_of[usize::from(b)] = bc.get(b);
            rep[usize::from(bc.get(b))] = b;
        }
        let start = |dfa: &DFA, cache: &mut hybrid::Cache, slot: usize| {
            let config = start::Config::new()
                .anchored(Anchored::Yes)
                .look_behind(u8::try_from(slot).ok());
            dfa.start_state(cache, &config)
                .expect("anchored starts exist and nothing quits")
        };
        // A row set per distinct (all, plain, lead) start.
        type Key = (Option<LazyStateID>, Option<LazyStateID>);
        let mut keys: Vec<Key> = Vec::new();
        let mut start_of = [0u8; 257];
        for (slot, index) in start_of.iter_mut().enumerate() {
            let all =
                lead_after[slot].then(|| start(dfa, &mut caches.0, slot));
            let plain =
                plain.zip(caches.1.as_mut()).map(|(p, c)| start(p, c, slot));
            let key = (all, plain);
            let i = keys.iter().position(|&k| k == key).unwrap_or_else(|| {
                keys.push(key);
                keys.len() - 1
            });
            *index = u8::try_from(i).expect("a DFA has a few start states");
        }
        // Whether a match survives the bytes `b0`, `b1` from `sid`. A
        // one-byte match shows in the next state, which is then a match
        // state and not dead.
        let alive = |dfa: &DFA, cache: &mut hybrid::Cache, sid, b0, b1| {
            let next = |cache: &mut hybrid::Cache, sid, b| {
                dfa.next_state(cache, sid, b)
                    .expect("the lazy DFA never gives up")
            };
            let s1 = next(cache, sid, b0);
            !s1.is_dead() && !next(cache, s1, b1).is_dead()
        };
        let stride = classes.div_ceil(64);
        let mut pairs = vec![0u64; keys.len() * classes * stride];
        for (si, &(all, plain_sid)) in keys.iter().enumerate() {
            for c0 in 0..classes {
                let row = (si * classes + c0) * stride;
                for c1 in 0..classes {
                    let (b0, b1) = (rep[c0], rep[c1]);
                    let some = all.is_some_and(|sid| {
                        alive(dfa, &mut caches.0, sid, b0, b1)
                    }) || plain
                        .zip(caches.1.as_mut())
                        .zip(plain_sid)
                        .is_some_and(|((p, c), sid)| alive(p, c, sid, b0, b1));
                    if some {
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

/// The match-all lazy DFA of a verifier.
fn anchored_dfa(hirs: &[&Hir]) -> Result<DFA, SearchBuildError> {
    let err = |e: String| SearchBuildError { pattern: None, message: e };
    let nfa = thompson::Compiler::new()
        .syntax(syntax_config())
        .configure(
            thompson::Config::new()
                .which_captures(WhichCaptures::None)
                .nfa_size_limit(Some(64 << 20)),
        )
        .build_many_from_hir(hirs)
        .map_err(|e| err(e.to_string()))?;
    DFA::builder()
        .configure(
            DFA::config()
                .match_kind(MatchKind::All)
                .cache_capacity(8 << 20)
                .minimum_cache_clear_count(None)
                .skip_cache_capacity_check(true),
        )
        .build_from_nfa(nfa)
        .map_err(|e| err(e.to_string()))
}

impl Verifier {
    /// A verifier for `ignores` (local patterns first) and the patterns
    /// `ids` of `patterns`, whose leads are `leads`.
    fn new(
        patterns: &[Hir],
        leads: &[Option<Lead>],
        ignores: &[Hir],
        ids: Vec<u32>,
    ) -> Result<Verifier, SearchBuildError> {
        let exact: Vec<&Hir> = ignores
            .iter()
            .chain(ids.iter().map(|&i| &patterns[i as usize]))
            .collect();
        let dfa = anchored_dfa(&exact)?;
        let leads: Vec<Option<Lead>> =
            ids.iter().map(|&i| leads[i as usize].clone()).collect();
        let led: Vec<&Lead> = leads.iter().flatten().collect();
        // Ignores and patterns without a lead, whose starts need no lead.
        let plain: Vec<&Hir> = ignores
            .iter()
            .chain(
                ids.iter()
                    .zip(&leads)
                    .filter(|(_, l)| l.is_none())
                    .map(|(&i, _)| &patterns[i as usize]),
            )
            .collect();
        let plain = if led.is_empty() || plain.is_empty() {
            None
        } else {
            Some(anchored_dfa(&plain)?)
        };
        let starts = Starts::new(&dfa, plain.as_ref(), &led);
        Ok(Verifier {
            dfa,
            starts,
            patterns: ids,
            leads,
            ignores: ignores.len(),
        })
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
        let inside = sc.ignored(q);
        let ignore_end = sc.seen[..]
            .iter()
            .filter(|&&l| (l as usize) < self.ignores)
            .map(|&l| sc.ends[l as usize])
            .max();
        let mine = !inside && q < sc.limit;
        if mine && let Some(end) = ignore_end {
            sc.spans.push((q, end));
        }
        let plain = mine && ignore_end.is_none();
        let mut n = 0;
        let seen = std::mem::take(sc.seen);
        for &local in &seen {
            let local = local as usize;
            let end = std::mem::replace(&mut sc.ends[local], usize::MAX);
            let Some(i) = local.checked_sub(self.ignores) else { continue };
            let pattern = self.patterns[i] as usize;
            match &self.leads[i] {
                None if plain => {
                    emit(pattern, q, end);
                    n += 1;
                }
                None => {}
                Some(lead) => lead.starts(hay, q, |start| {
                    if (sc.from..sc.limit).contains(&start)
                        && !sc.ignored_at(start)
                    {
                        emit(pattern, start, end);
                        n += 1;
                    }
                }),
            }
        }
        *sc.seen = seen;
        sc.seen.clear();
        n
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

#[cfg(test)]
mod tests {
    use super::*;
    use regex_automata::util::syntax::parse_with;

    /// Patterns with leads of every kind, patterns without, an ignore.
    const PATTERNS: &[&str] = &[
        r"(?:^|[^A-Za-z])([A-Z][a-z]{1,8} [A-Z][a-z]{1,8}),? DOB",
        r"(?:(?m:^)|[^/\w.\n-])(\d{1,2}/\d{1,2}/\d{2,4})",
        r"(?:^|\n)[ \t]{0,3}Dr\. ([A-Z][a-z]{1,8})",
        r"(?:[^\n\w\[(]|[^\n][\[(])((?:19|20)\d{2}-\d{2}-\d{2})",
        r"\b\d{3}-\d{2}-\d{4}\b",
        r"\+1\d{10}\b",
    ];
    const IGNORES: &[&str] = &[r"\b0\d/0\d/2000\b"];

    fn hirs(res: &[&str]) -> Vec<Hir> {
        res.iter().map(|r| parse_with(r, &syntax_config()).unwrap()).collect()
    }

    /// Each pattern's longest match at each start in `from..limit`, found
    /// one start at a time, and the ignored spans taken out as the
    /// searcher does.
    fn reference(
        hay: &[u8],
        from: usize,
        limit: usize,
    ) -> Vec<(usize, usize, usize)> {
        static ONES: std::sync::LazyLock<[Vec<meta::Regex>; 2]> =
            std::sync::LazyLock::new(|| {
                let one = |re: &&str| {
                    meta::Builder::new()
                        .syntax(syntax_config())
                        .configure(
                            meta::Config::new().match_kind(MatchKind::All),
                        )
                        .build(re)
                        .unwrap()
                };
                [
                    IGNORES.iter().map(one).collect(),
                    PATTERNS.iter().map(one).collect(),
                ]
            });
        let longest = |re: &meta::Regex, s: usize| {
            let input = Input::new(hay).range(s..).anchored(Anchored::Yes);
            re.search(&input).map(|m| m.end())
        };
        let [ignores, patterns] = &*ONES;
        let mut out = Vec::new();
        let mut skip_to = 0;
        for s in 0..limit {
            if s < skip_to {
                continue;
            }
            if let Some(end) =
                ignores.iter().filter_map(|r| longest(r, s)).max()
            {
                skip_to = end;
                continue;
            }
            if s < from {
                continue;
            }
            for (p, re) in patterns.iter().enumerate() {
                if let Some(end) = longest(re, s) {
                    out.push((p, s, end));
                }
            }
        }
        out.sort();
        out
    }

    fn search(
        hay: &[u8],
        windows: &[usize],
        dense: Option<bool>,
    ) -> Vec<(usize, usize, usize)> {
        static SEARCHER: std::sync::LazyLock<Searcher> =
            std::sync::LazyLock::new(|| {
                Searcher::new(&hirs(PATTERNS), &hirs(IGNORES)).unwrap()
            });
        let s = &*SEARCHER;
        let mut cache = s.create_cache();
        FORCE_DENSE.set(dense);
        let mut out = Vec::new();
        let mut from = 0;
        for &limit in windows.iter().chain(Some(&hay.len())) {
            let limit = limit.clamp(from, hay.len());
            from = s.candidates(&mut cache, hay, from, limit, |p, a, b| {
                out.push((p, a, b))
            });
        }
        FORCE_DENSE.set(None);
        out.sort();
        out
    }

    #[test]
    fn leads_are_recognised_where_they_narrow_the_search() {
        let h = hirs(PATTERNS);
        let leads: Vec<bool> =
            h.iter().map(|h| strip_lead(h).is_some()).collect();
        assert_eq!(leads, [true, true, true, true, false, false]);
    }

    #[test]
    fn leads_match_where_the_whole_pattern_does() {
        let hay = b"Ana Ruiz DOB 3/4/1950\nDr. Hale saw xAna Ruiz DOB and \
            (2021-03-04) [2021-03-04 \n[2021-03-04 1/2/2020 a1/2/2020 \
            04/05/2000 219-09-9999 +13125550187 Ana Ruiz, DOB";
        let want = reference(hay, 0, hay.len());
        assert!(want.len() >= 9, "{want:?}");
        for dense in [Some(false), Some(true), None] {
            assert_eq!(search(hay, &[], dense), want, "{dense:?}");
        }
    }

    proptest::proptest! {
        // The reference runs every pattern from every position.
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        #[test]
        fn leads_across_windows_and_modes(
            picks in proptest::collection::vec(0..10usize, 0..40),
            cuts in proptest::collection::vec(0..400usize, 0..6),
        ) {
            const PIECES: &[&str] = &[
                "Ana Ruiz DOB ", "x", "\n", " 3/4/1950 ", "(2021-03-04)",
                "\nDr. Hale ", "[", "04/05/2000", "219-09-9999 ", "1/2/20",
            ];
            let hay: Vec<u8> =
                picks.iter().flat_map(|&i| PIECES[i].bytes()).collect();
            let mut cuts = cuts;
            cuts.sort();
            let want = reference(&hay, 0, hay.len());
            for dense in [Some(false), Some(true)] {
                proptest::prop_assert_eq!(&search(&hay, &cuts, dense), &want);
            }
        }
    }
}
