//! The scanner: every pattern compiled into one multi-pattern regex.

use std::collections::HashSet;
use std::fmt;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use regex_automata::meta::{self, Regex};
use regex_automata::util::captures::Captures;
use regex_automata::util::syntax;
use regex_automata::{Anchored, Input};

use super::context::{self, ContextWords};
use super::hints::{self, FieldHint, Fields};
use super::names::Names;
use super::pattern::{self, MAX_WINDOW, Pattern, PatternId};
use super::resolve;
use super::search::{SearchCache, SearchStats, Searcher};
use super::stream::ReaderScan;
use super::validate::{self, Validator};
use crate::Entity;
use crate::error::{BuildError, BuildErrorKind};
use crate::format::text::dicom::{self, Dicom};
use crate::format::text::hl7::{self, Hl7};
use crate::format::text::kv;

/// The default minimum score for a finding to be reported.
pub const DEFAULT_MIN_SCORE: f32 = 0.5;

/// A piece of sensitive data found in a haystack.
///
/// Offsets are bytes into the scanned input (for a stream, from its first
/// byte). The finding holds no copy of the data: slice the haystack.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Finding {
    pub(crate) entity: Entity,
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) score: f32,
    pub(crate) pattern: PatternId,
}

impl Finding {
    /// The entity type.
    pub fn entity(&self) -> Entity {
        self.entity
    }

    /// The byte offset of the first byte.
    pub fn start(&self) -> usize {
        self.start
    }

    /// The byte offset one past the last byte.
    pub fn end(&self) -> usize {
        self.end
    }

    /// `start..end`.
    pub fn range(&self) -> std::ops::Range<usize> {
        self.start..self.end
    }

    /// Confidence from 0 to 1.
    pub fn score(&self) -> f32 {
        self.score
    }

    /// The pattern that produced the finding.
    pub fn pattern(&self) -> PatternId {
        self.pattern
    }

    /// A copy with offsets moved by `delta` (for findings in a slice of a
    /// larger input).
    pub fn offset_by(mut self, delta: usize) -> Finding {
        self.start += delta;
        self.end += delta;
        self
    }
}

/// Per-pattern data the hot loop needs, apart from the definition.
#[derive(Debug)]
struct Compiled {
    /// Sorted ids into the context automaton.
    positive: Vec<u32>,
    negative: Vec<u32>,
    /// For patterns that report a capture group: the pattern alone, whose
    /// small automaton resolves captures far faster than the union's.
    captures: Option<Regex>,
}

/// Search state of one scanner, kept per thread.
pub(crate) struct Caches {
    search: SearchCache,
    /// Capture slots per pattern, made on first use.
    caps: Vec<Option<Captures>>,
}

/// Ids for scanners, so per-thread caches never mix two of them up.
static NEXT_ID: std::sync::atomic::AtomicU64 =
    std::sync::atomic::AtomicU64::new(0);

pub(crate) struct Inner {
    /// Unique per compiled scanner.
    id: u64,
    patterns: Vec<Pattern>,
    compiled: Vec<Compiled>,
    /// Where the patterns match.
    search: Searcher,
    /// Patterns `..n_regex` have regexes; the rest are key hints.
    pub(crate) n_regex: usize,
    /// What field names say about their values.
    pub(crate) fields: Fields,
    /// HL7 v2 fields by position.
    hl7: Hl7,
    /// DICOM elements by tag and value representation.
    pub(crate) dicom: Dicom,
    pub(crate) json_max_depth: usize,
    context: ContextWords,
    pub(crate) names: &'static Names,
    min_score: f32,
    allow: HashSet<Box<[u8]>>,
    /// Longest possible match of any pattern, in bytes.
    pub(crate) max_match_len: usize,
    /// Bytes before a candidate's start that decisions may read.
    pub(crate) lookbehind: usize,
    /// Bytes after a candidate's end that decisions may read.
    pub(crate) lookahead: usize,
}

/// A compiled, immutable set of detection patterns.
///
/// Build one with [`Scanner::new`] (the default pack) or
/// [`Scanner::builder`], then share it: it is `Send + Sync` and cloning is a
/// reference-count increment.
///
/// ```
/// use phisafe::{Entity, Scanner};
///
/// let scanner = Scanner::new();
/// let text = b"Patient SSN 219-09-9999, call (415) 555-2671.";
/// let found: Vec<Entity> =
///     scanner.scan(text).iter().map(|f| f.entity()).collect();
/// assert_eq!(found, [Entity::Ssn, Entity::Phone]);
/// ```
#[derive(Clone)]
pub struct Scanner {
    pub(crate) inner: Arc<Inner>,
}

impl fmt::Debug for Scanner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scanner")
            .field("patterns", &self.inner.patterns.len())
            .field("min_score", &self.inner.min_score)
            .finish_non_exhaustive()
    }
}

impl Default for Scanner {
    fn default() -> Scanner {
        Scanner::new()
    }
}

impl Scanner {
    /// A scanner with the default pattern pack and settings.
    pub fn new() -> Scanner {
        Scanner::builder().build().expect("the default pack compiles")
    }

    /// A builder for entity filters, extra patterns and thresholds.
    pub fn builder() -> ScannerBuilder {
        ScannerBuilder::new()
    }

    /// The enabled patterns; a [`PatternId`] indexes this slice.
    pub fn patterns(&self) -> &[Pattern] {
        &self.inner.patterns
    }

    /// The pattern behind a finding.
    pub fn pattern(&self, id: PatternId) -> &Pattern {
        &self.inner.patterns[id.as_usize()]
    }

    /// The minimum score a finding needs to be reported.
    pub fn min_score(&self) -> f32 {
        self.inner.min_score
    }

    /// Every finding in `hay`, in order of start offset, overlaps resolved.
    pub fn scan(&self, hay: &[u8]) -> Vec<Finding> {
        let mut raw = Vec::new();
        self.inner.candidates(hay, 0, hay.len(), &mut raw);
        resolved(raw)
    }

    /// The entity `value`, one value of a column, is on its own, as
    /// evidence of the column's class: a regex finding that covers most of
    /// it (one whose validator is a checksum, such as an NPI, DEA number,
    /// card, IBAN or VIN, counts without the context words it needs in
    /// text: the column is its context), else a name from the census
    /// lists.
    pub(crate) fn value_entity(&self, value: &[u8]) -> Option<Entity> {
        let alnum = |v: &[u8]| {
            v.iter()
                .filter(|b| b.is_ascii_alphanumeric() || **b >= 0x80)
                .count()
        };
        let total = alnum(value);
        if total == 0 {
            return None;
        }
        let mut raw = Vec::new();
        let inner = &self.inner;
        inner.with_caches(|caches| {
            let Caches { search, caps } = caches;
            inner.search.candidates(
                search,
                value,
                0,
                value.len(),
                |pid, s, e| {
                    inner.evaluate(value, pid, s, e, caps, true, &mut raw)
                },
            );
        });
        let found = resolved(raw);
        match found.iter().max_by_key(|f| f.end - f.start) {
            Some(f) if alnum(&value[f.range()]) * 10 >= total * 7 => {
                Some(f.entity)
            }
            _ if inner.names.is_known_name(value) => Some(Entity::Person),
            _ => None,
        }
    }

    /// What this thread's search state for this scanner has done so far:
    /// lazy DFA cache clears, memory, mode. For benchmarks and tuning (a
    /// thread that never scanned with this scanner reports a fresh state).
    pub fn search_stats(&self) -> SearchStats {
        self.inner.with_caches(|c| c.search.stats())
    }

    /// Scans a reader of any size in bounded memory.
    ///
    /// The findings are exactly those of [`Scanner::scan`] on the whole
    /// input, with offsets from the start of the stream.
    pub fn scan_reader<R: Read>(&self, rdr: R) -> ReaderScan<'_, R> {
        ReaderScan::new(self, rdr)
    }

    /// Scans many haystacks in parallel on the rayon thread pool; the
    /// result at index `i` is `scan(haystacks[i])`.
    pub fn scan_many<H: AsRef<[u8]> + Sync>(
        &self,
        haystacks: &[H],
    ) -> Vec<Vec<Finding>> {
        use rayon::prelude::*;
        haystacks.par_iter().map(|h| self.scan(h.as_ref())).collect()
    }

    /// Scans one large haystack on the rayon pool, in pieces of about a
    /// megabyte cut after line breaks. Each piece looks for matches that
    /// start inside it but reads the whole haystack around them, so the
    /// result equals [`Scanner::scan`].
    pub fn scan_parallel(&self, hay: &[u8]) -> Vec<Finding> {
        let mut raw = Vec::new();
        self.inner.candidates_parallel(hay, 0, hay.len(), &mut raw);
        resolved(raw)
    }
}

/// The findings of a whole text's candidates, in start order, overlaps
/// resolved.
fn resolved(mut raw: Vec<Finding>) -> Vec<Finding> {
    raw.sort_by_key(|f| f.start);
    let mut out = Vec::with_capacity(raw.len());
    resolve::resolve(&mut raw, usize::MAX, &mut out);
    out
}

impl Inner {
    /// [`Inner::candidates`] on the rayon pool, in pieces of about a
    /// megabyte cut after line breaks: the same findings (in start order
    /// by piece) and the same resume offset.
    pub(crate) fn candidates_parallel(
        &self,
        hay: &[u8],
        from: usize,
        limit: usize,
        out: &mut Vec<Finding>,
    ) -> usize {
        use rayon::prelude::*;
        const PIECE: usize = 1 << 20;
        if limit.saturating_sub(from) <= 2 * PIECE {
            return self.candidates(hay, from, limit, out);
        }
        let mut cuts = vec![from];
        let mut at = from + PIECE;
        while at < limit {
            // Cut after a newline so most pieces end on line boundaries.
            let cut = memchr::memchr(b'\n', &hay[at..limit])
                .map_or(limit, |i| at + i + 1);
            cuts.push(cut);
            at = cut + PIECE;
        }
        if *cuts.last().expect("cuts is not empty") != limit {
            cuts.push(limit);
        }
        let mut pieces: Vec<(Vec<Finding>, usize)> = cuts
            .par_windows(2)
            .map(|w| {
                let mut raw = Vec::new();
                let resume = self.candidates(hay, w[0], w[1], &mut raw);
                (raw, resume)
            })
            .collect();
        // An ignored span crossing a cut moves where the next piece starts;
        // redo that piece from there, as a sequential scan would.
        for k in 1..pieces.len() {
            let resume = pieces[k - 1].1;
            if resume > cuts[k] {
                let mut raw = Vec::new();
                let next = self.candidates(hay, resume, cuts[k + 1], &mut raw);
                pieces[k] = (raw, next.max(resume));
            }
        }
        let resume = pieces.last().map_or(limit, |p| p.1);
        for (raw, _) in pieces {
            out.extend(raw);
        }
        resume
    }

    /// Evaluates every candidate whose match starts in `from..limit`,
    /// pushing findings (unresolved) to `out`. Returns where the search
    /// resumes: `limit`, or later when an ignored span crosses it.
    ///
    /// Every decision about a candidate reads at most `lookbehind` bytes
    /// before its start and `lookahead` after its end, and matches are at
    /// most `max_match_len` long, which is what lets streaming be exact.
    pub(crate) fn candidates(
        &self,
        hay: &[u8],
        from: usize,
        limit: usize,
        out: &mut Vec<Finding>,
    ) -> usize {
        self.with_caches(|caches| {
            self.candidates_with(caches, hay, from, limit, out)
        })
    }

    /// Runs `f` with this thread's search caches for this scanner.
    ///
    /// The regexes' own cache pools are fastest on the thread that first
    /// used them and take a lock elsewhere; structured input makes a
    /// search per value, so rayon workers paid that lock millions of
    /// times. Each thread keeps caches for its last few scanners, keyed by
    /// a unique id (never an address, which a new scanner could reuse).
    fn with_caches<T>(&self, f: impl FnOnce(&mut Caches) -> T) -> T {
        thread_local! {
            static CACHES: std::cell::RefCell<Vec<(u64, Caches)>> =
                const { std::cell::RefCell::new(Vec::new()) };
        }
        CACHES.with(|cell| {
            // A panic inside `f` cannot leave the cell borrowed: `f` only
            // reads the haystack and the immutable scanner.
            let mut caches = cell.borrow_mut();
            let i = match caches.iter().position(|(id, _)| *id == self.id) {
                Some(i) => i,
                None => {
                    if caches.len() >= 4 {
                        caches.remove(0);
                    }
                    let fresh = Caches {
                        search: self.search.create_cache(),
                        caps: Vec::new(),
                    };
                    caches.push((self.id, fresh));
                    caches.len() - 1
                }
            };
            f(&mut caches[i].1)
        })
    }

    fn candidates_with(
        &self,
        caches: &mut Caches,
        hay: &[u8],
        from: usize,
        limit: usize,
        out: &mut Vec<Finding>,
    ) -> usize {
        let Caches { search, caps } = caches;
        let first = out.len();
        let resume =
            self.search.candidates(search, hay, from, limit, |pid, s, e| {
                self.evaluate(hay, pid, s, e, caps, false, out)
            });
        self.key_values(hay, from, limit, out);
        let mut rule = |p: usize, span: std::ops::Range<usize>| {
            let pat = &self.patterns[p];
            if (from..limit).contains(&span.start)
                && pat.score >= self.min_score
            {
                out.push(Finding {
                    entity: pat.entity,
                    start: span.start,
                    end: span.end,
                    score: pat.score,
                    pattern: PatternId(p as u32),
                });
            }
        };
        self.hl7.findings(
            hay,
            from.saturating_sub(hl7::MAX_SEGMENT),
            limit,
            &mut rule,
        );
        self.dicom.findings(
            hay,
            from.saturating_sub(dicom::MAX_ELEMENT),
            limit,
            &mut rule,
        );
        out[first..].sort_by_key(|f| f.start);
        // A value under a key that holds no PHI: dates there are event
        // times, and weak readings are not evidence against the key.
        let mut kept = first;
        for i in first..out.len() {
            let f = out[i];
            let weak = hints::gives_way(f.entity, f.score, &hay[f.range()]);
            if !weak || !kv::not_phi_at(&self.fields, hay, f.range()) {
                out[kept] = f;
                kept += 1;
            }
        }
        out.truncate(kept);
        resume
    }

    /// Findings from keys in text (`patient_mrn=61038852`): a value whose
    /// key names an entity is that entity, for values starting in
    /// `from..limit`.
    fn key_values(
        &self,
        hay: &[u8],
        from: usize,
        limit: usize,
        out: &mut Vec<Finding>,
    ) {
        let back = from.saturating_sub(kv::REACH_BEHIND);
        kv::pairs(&self.fields, hay, back, limit, |pair| {
            if let FieldHint::Entity(p) = pair.hint
                && (from..limit).contains(&pair.value.start)
            {
                // A label's name in text is written capitalized: `Name:
                // patients; Type: TABLE` is a catalog comment.
                let lower = hay[pair.value.start].is_ascii_lowercase();
                if pair.label
                    && lower
                    && self.patterns[p].entity == Entity::Person
                {
                    return;
                }
                out.extend(self.key_finding(hay, p, pair.value));
            }
        });
    }

    /// The finding key class `p` makes of `hay[value]`, if the value is
    /// one: not a placeholder, long enough, valid.
    pub(crate) fn key_finding(
        &self,
        hay: &[u8],
        p: usize,
        value: std::ops::Range<usize>,
    ) -> Option<Finding> {
        let pat = &self.patterns[p];
        let v = &hay[value.clone()];
        let alnum = v
            .iter()
            .filter(|b| b.is_ascii_alphanumeric() || **b >= 0x80)
            .count();
        let valid = pat
            .validator
            .is_none_or(|val| val.check(hay, value.clone(), self.names));
        let ok = valid
            && alnum >= pat.min_length.max(1)
            && !crate::format::json::placeholder(v)
            && pat.score >= self.min_score;
        ok.then_some(Finding {
            entity: pat.entity,
            start: value.start,
            end: value.end,
            score: pat.score,
            pattern: PatternId(p as u32),
        })
    }

    /// Checks one candidate of pattern `pid` at `s..e`. `checked`: a
    /// candidate whose validator is a checksum, or whose rule says it is
    /// column evidence, needs neither its context words nor the threshold
    /// (for value evidence, where the column is the context).
    #[allow(clippy::too_many_arguments, reason = "one hot call site")]
    fn evaluate(
        &self,
        hay: &[u8],
        pid: usize,
        s: usize,
        e: usize,
        caps: &mut Vec<Option<Captures>>,
        checked: bool,
        out: &mut Vec<Finding>,
    ) {
        let p = &self.patterns[pid];
        let c = &self.compiled[pid];
        let span = match &c.captures {
            None => s..e,
            Some(re) => {
                let input = Input::new(hay).span(s..e).anchored(Anchored::Yes);
                if caps.is_empty() {
                    caps.resize(self.n_regex, None);
                }
                let caps =
                    caps[pid].get_or_insert_with(|| re.create_captures());
                re.search_captures(&input, caps);
                match caps.get_group(p.group) {
                    Some(g) if !g.is_empty() => g.range(),
                    _ => return,
                }
            }
        };
        if !self.allow.is_empty() && self.allow.contains(&hay[span.clone()]) {
            return;
        }
        let span = match p.validator {
            Some(v) if !v.check(hay, span.clone(), self.names) => match v {
                Validator::PersonCued => {
                    match self.names.cued_name_end(&hay[span.clone()]) {
                        Some(n) => span.start..span.start + n,
                        None => return,
                    }
                }
                _ => return,
            },
            _ => span,
        };
        let hits = if c.positive.is_empty() && c.negative.is_empty() {
            context::Hits::default()
        } else {
            let w = p.context_window;
            let before = context::back_chars(hay, s, w)..s;
            let after = e..context::forward_chars(hay, e, w);
            self.context.hits(hay, [before, after], &c.positive, &c.negative)
        };
        let checked = checked
            && (p.column_evidence
                || p.validator.is_some_and(|v| v.is_checksum()));
        // Evidence for outweighs evidence against: a date next to `dob`
        // stays a date with `Version=5.2` on the same line.
        if (hits.negative && !hits.positive)
            || (p.context_required && !hits.positive && !checked)
        {
            return;
        }
        let score = if hits.positive { p.context_score } else { p.score };
        if score < self.min_score && !checked {
            return;
        }
        out.push(Finding {
            entity: p.entity,
            start: span.start,
            end: span.end,
            score,
            pattern: PatternId(pid as u32),
        });
    }
}

/// Configures and builds a [`Scanner`].
///
/// ```
/// use phisafe::{Entity, Scanner};
///
/// let scanner = Scanner::builder()
///     .entities([Entity::Email, Entity::Phone])
///     .min_score(0.7)
///     .allow("support@clinic.example")
///     .build()?;
/// let hay = b"mail support@clinic.example or jo@clinic.example";
/// let found = scanner.scan(hay);
/// assert_eq!(found.len(), 1);
/// assert_eq!(&hay[found[0].range()], b"jo@clinic.example");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct ScannerBuilder {
    default_pack: bool,
    extra: Vec<(String, String)>,
    entities: Option<HashSet<Entity>>,
    disabled: HashSet<String>,
    min_score: f32,
    allow: HashSet<Box<[u8]>>,
    deny: Vec<(Entity, String)>,
    log_timestamps: bool,
    json_max_depth: usize,
}

impl Default for ScannerBuilder {
    fn default() -> ScannerBuilder {
        ScannerBuilder::new()
    }
}

impl ScannerBuilder {
    /// A builder with the default pack and settings.
    pub fn new() -> ScannerBuilder {
        ScannerBuilder {
            default_pack: true,
            extra: Vec::new(),
            entities: None,
            disabled: HashSet::new(),
            min_score: DEFAULT_MIN_SCORE,
            allow: HashSet::new(),
            deny: Vec::new(),
            log_timestamps: false,
            json_max_depth: crate::format::json::DEFAULT_MAX_DEPTH,
        }
    }

    /// Whether to include the embedded default pack (default true).
    pub fn default_pack(&mut self, yes: bool) -> &mut ScannerBuilder {
        self.default_pack = yes;
        self
    }

    /// Adds the patterns of a TOML pattern file given as text; `origin`
    /// names it in error messages.
    pub fn patterns_toml(
        &mut self,
        origin: &str,
        toml: &str,
    ) -> &mut ScannerBuilder {
        self.extra.push((origin.to_string(), toml.to_string()));
        self
    }

    /// Adds the patterns of a TOML pattern file.
    pub fn pattern_file<P: AsRef<Path>>(
        &mut self,
        path: P,
    ) -> Result<&mut ScannerBuilder, BuildError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|err| {
            BuildError::new(BuildErrorKind::Io { path: path.into(), err })
        })?;
        Ok(self.patterns_toml(&path.display().to_string(), &text))
    }

    /// Reports only these entity types (default: all).
    pub fn entities<I: IntoIterator<Item = Entity>>(
        &mut self,
        entities: I,
    ) -> &mut ScannerBuilder {
        self.entities = Some(entities.into_iter().collect());
        self
    }

    /// Disables the pattern with this id.
    pub fn disable_pattern(&mut self, id: &str) -> &mut ScannerBuilder {
        self.disabled.insert(id.to_string());
        self
    }

    /// Findings scoring below this are dropped (default
    /// [`DEFAULT_MIN_SCORE`]).
    pub fn min_score(&mut self, score: f32) -> &mut ScannerBuilder {
        self.min_score = score;
        self
    }

    /// Never reports a finding whose bytes equal `value` exactly (a test
    /// account, a support address).
    pub fn allow<V: AsRef<[u8]>>(&mut self, value: V) -> &mut ScannerBuilder {
        self.allow.insert(value.as_ref().into());
        self
    }

    /// Always reports `term` (ASCII case-insensitive, whole word) as
    /// `entity` with score 1: a list of known patient names, say.
    pub fn deny(&mut self, entity: Entity, term: &str) -> &mut ScannerBuilder {
        self.deny.push((entity, term.to_string()));
        self
    }

    /// Whether dates that open a log line followed by a time (log
    /// timestamps) are reported (default false).
    pub fn log_timestamps(&mut self, yes: bool) -> &mut ScannerBuilder {
        self.log_timestamps = yes;
        self
    }

    /// The deepest JSON nesting scanned (default
    /// [`DEFAULT_MAX_DEPTH`](crate::format::json::DEFAULT_MAX_DEPTH)); deeper
    /// documents are an error, never a stack overflow.
    pub fn json_max_depth(&mut self, depth: usize) -> &mut ScannerBuilder {
        self.json_max_depth = depth;
        self
    }

    /// Compiles the scanner.
    pub fn build(&self) -> Result<Scanner, BuildError> {
        let mut pack = if self.default_pack {
            pattern::default_pack()
        } else {
            pattern::PackFile::default()
        };
        for (origin, text) in &self.extra {
            let file = pattern::parse_file(origin, text)?;
            pack.patterns.extend(file.patterns);
            pack.ignores.extend(file.ignores);
            pack.keys.extend(file.keys);
            pack.hl7.extend(file.hl7);
            pack.none.extend(file.none);
            pack.about.extend(file.about);
        }
        for (i, (entity, term)) in self.deny.iter().enumerate() {
            pack.patterns.push(deny_pattern(i, *entity, term));
        }
        let mut seen = HashSet::new();
        let ids = pack
            .patterns
            .iter()
            .chain(&pack.keys)
            .chain(&pack.hl7)
            .map(|p| &p.id);
        for id in ids.chain(pack.ignores.iter().map(|i| &i.id)) {
            if !seen.insert(id.as_str()) {
                return Err(BuildError::new(BuildErrorKind::DuplicateId {
                    id: id.clone(),
                }));
            }
        }
        let ignores: Vec<pattern::Ignore> = pack
            .ignores
            .into_iter()
            .filter(|i| !self.disabled.contains(&i.id))
            .filter(|i| !(i.log_timestamp && self.log_timestamps))
            .collect();
        // Regex patterns first: their index is their regex pattern id. Key
        // classes and HL7 rules follow; they have no regex.
        let patterns: Vec<Pattern> = pack
            .patterns
            .into_iter()
            .chain(pack.keys)
            .chain(pack.hl7)
            .filter(|p| !self.disabled.contains(&p.id))
            .filter(|p| !p.log_timestamp || self.log_timestamps)
            .filter(|p| {
                self.entities.as_ref().is_none_or(|es| es.contains(&p.entity))
            })
            .collect();
        if patterns.iter().all(|p| p.regex.is_empty()) {
            return Err(BuildError::new(BuildErrorKind::NoPatterns));
        }
        let mut fields = Fields::default();
        fields.add_none(&pack.none);
        fields.add_about(&pack.about);
        compile(patterns, ignores, fields, self)
    }
}

fn deny_pattern(i: usize, entity: Entity, term: &str) -> Pattern {
    Pattern {
        regex: format!(r"(?i)\b{}\b", regex_syntax::escape(term)),
        ..Pattern::rule(
            format!("deny.{i}"),
            entity,
            "a term from the deny list".into(),
            1.0,
        )
    }
}

fn compile(
    patterns: Vec<Pattern>,
    ignores: Vec<pattern::Ignore>,
    mut fields: Fields,
    b: &ScannerBuilder,
) -> Result<Scanner, BuildError> {
    // ASCII mode over bytes: Unicode-aware \b, \d and \w cost about 12x in
    // throughput, and dumps are not always valid UTF-8.
    let syntax = syntax::Config::new().unicode(false).utf8(false);
    let mut hirs = Vec::with_capacity(patterns.len());
    let mut ignore_hirs = Vec::with_capacity(ignores.len());
    let mut max_match_len = 0;
    let n_regex = patterns.iter().take_while(|p| !p.regex.is_empty()).count();
    let sources = ignores.iter().map(|i| (&i.id, &i.regex, 0, true)).chain(
        patterns[..n_regex].iter().map(|p| (&p.id, &p.regex, p.group, false)),
    );
    for (id, regex, group, is_ignore) in sources {
        let regex_err = |message: String| {
            BuildError::new(BuildErrorKind::Regex { id: id.clone(), message })
        };
        let hir = syntax::parse_with(regex, &syntax)
            .map_err(|e| regex_err(e.to_string()))?;
        let props = hir.properties();
        if props.minimum_len().unwrap_or(0) == 0 {
            return Err(regex_err("it can match the empty string".into()));
        }
        let Some(max) = props.maximum_len() else {
            return Err(regex_err(
                "it can match text of unbounded length; bound every \
                 repetition (for example {1,256}) so streaming stays exact"
                    .into(),
            ));
        };
        if group > props.explicit_captures_len() {
            return Err(regex_err(format!(
                "group {group} does not exist in the regex"
            )));
        }
        max_match_len = max_match_len.max(max);
        if is_ignore {
            ignore_hirs.push(hir);
        } else {
            hirs.push(hir);
        }
    }
    let search = Searcher::new(&hirs, &ignore_hirs).map_err(|e| {
        let id = e.pattern.map_or("?", |i| patterns[i].id.as_str());
        BuildError::new(BuildErrorKind::Regex {
            id: id.to_string(),
            message: e.message,
        })
    })?;

    let mut words: Vec<String> = Vec::new();
    let mut word_id = |w: &String| -> u32 {
        let w = w.to_ascii_lowercase();
        match words.iter().position(|x| *x == w) {
            Some(i) => i as u32,
            None => {
                words.push(w);
                (words.len() - 1) as u32
            }
        }
    };
    let mut compiled = Vec::with_capacity(patterns.len());
    for (p, hir) in patterns[..n_regex].iter().zip(&hirs) {
        let captures = if p.group == 0 {
            None
        } else {
            // Spans are short and anchored, with their end known: the
            // lazy DFA's forward pass before the capture engine cost more
            // than it saved (dense text 15% faster without it).
            let re = meta::Builder::new()
                .configure(
                    meta::Config::new()
                        .utf8_empty(false)
                        .hybrid(false)
                        .dfa(false),
                )
                .build_from_hir(hir)
                .map_err(|e| {
                    BuildError::new(BuildErrorKind::Regex {
                        id: p.id.clone(),
                        message: e.to_string(),
                    })
                })?;
            Some(re)
        };
        let mut positive: Vec<u32> =
            p.context.iter().map(&mut word_id).collect();
        let mut negative: Vec<u32> =
            p.negative_context.iter().map(&mut word_id).collect();
        positive.sort_unstable();
        negative.sort_unstable();
        compiled.push(Compiled { positive, negative, captures });
    }
    // Context windows are in characters: up to 4 bytes each, plus the byte
    // just outside for the whole-word check and a few for validators.
    let window = patterns.iter().map(|p| p.context_window).max().unwrap_or(0);
    let mut hl7 = Hl7::default();
    let mut dicom = Dicom::default();
    for (i, p) in patterns.iter().enumerate().skip(n_regex) {
        fields.add_class(i, &p.keys);
        if let Some(spec) = &p.hl7 {
            hl7.add(i, spec);
        }
        if let Some(spec) = &p.dicom {
            dicom.add(i, spec);
        }
    }
    debug_assert!(window <= MAX_WINDOW);
    let margin = (4 * window + 8).max(validate::REACH_BEHIND + 8);
    // A key's value starts at most `kv::REACH_BEHIND` after the key, is at
    // most `kv::MAX_VALUE` long, and a value holding no PHI affects the
    // findings inside it.
    // An HL7 field's finding is read from its segment's start, at most
    // `hl7::MAX_SEGMENT` before it, and ends within the segment.
    let max_match_len =
        max_match_len.max(kv::MAX_VALUE + 16).max(hl7::MAX_SEGMENT + 8);
    // A logged parameter's statement is up to `kv::BIND_REACH` before it.
    let behind = margin
        .max(kv::REACH_BEHIND + kv::BIND_REACH + kv::MAX_VALUE + 16)
        .max(hl7::MAX_SEGMENT + 16)
        .max(dicom::MAX_ELEMENT + 16);
    Ok(Scanner {
        inner: Arc::new(Inner {
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            n_regex,
            fields,
            hl7,
            dicom,
            json_max_depth: b.json_max_depth,
            compiled,
            search,
            context: ContextWords::new(&words),
            names: Names::default_pack(),
            min_score: b.min_score,
            allow: b.allow.clone(),
            max_match_len,
            lookbehind: behind,
            lookahead: margin,
            patterns,
        }),
    })
}
