//! Redaction: replacing findings with masks, tags, partial masks, keyed
//! pseudonyms, or nothing.
//!
//! Findings that overlap (an SSN inside a URL) are merged first and each
//! merged span is replaced once, with the operator of its widest finding,
//! so redaction never corrupts text by editing the same bytes twice.

use std::fmt;
use std::io::{self, Read, Write};
use std::ops::Range;
use std::str::FromStr;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::scan::{Blocks, DEFAULT_CHUNK};
use crate::{Entity, Finding, Scanner};

/// How a finding is replaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operator {
    /// A fixed `***`, which leaks neither value nor length.
    Mask,
    /// The entity name in brackets: `[SSN]`.
    Tag,
    /// Keep the last four letters or digits, mask the others with `*` and
    /// keep separators: `***-**-9999`.
    Partial,
    /// A keyed HMAC-SHA256 pseudonym, `[SSN:9f86d081884c7d65]`: the same
    /// value under the same key gives the same token in every document, so
    /// joins still work, and without the key it cannot be reversed by
    /// trying every SSN.
    Hash,
    /// Nothing: the value is deleted.
    Remove,
}

impl Operator {
    /// The lower-case name used in flags and configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Mask => "mask",
            Operator::Tag => "tag",
            Operator::Partial => "partial",
            Operator::Hash => "hash",
            Operator::Remove => "remove",
        }
    }
}

impl FromStr for Operator {
    type Err = RedactError;

    /// Names are read without regard to case (`MASK`, `Tag`).
    fn from_str(s: &str) -> Result<Operator, RedactError> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "mask" => Operator::Mask,
            "tag" => Operator::Tag,
            "partial" => Operator::Partial,
            "hash" => Operator::Hash,
            "remove" => Operator::Remove,
            _ => {
                return Err(RedactError::UnknownOperator(s.to_string()));
            }
        })
    }
}

/// An error configuring a [`Redactor`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RedactError {
    /// The `hash` operator is used but no key was given.
    MissingHashKey,
    /// The hash key is shorter than 16 bytes.
    ShortHashKey,
    /// An operator name that is not one of mask, tag, partial, hash, remove.
    UnknownOperator(String),
    /// A span given to [`Redactor::redact_spans`] (start, end) that is
    /// reversed, beyond the text or inside a character.
    BadSpan(usize, usize),
}

impl fmt::Display for RedactError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RedactError::MissingHashKey => f.write_str(
                "the hash operator needs a key; set one with \
                 RedactorBuilder::hash_key (CLI: PHISAFE_HASH_KEY)",
            ),
            RedactError::ShortHashKey => {
                f.write_str("the hash key must be at least 16 bytes")
            }
            RedactError::UnknownOperator(s) => write!(
                f,
                "unknown operator {s:?}; expected mask, tag, partial, hash \
                 or remove"
            ),
            RedactError::BadSpan(start, end) => write!(
                f,
                "span {start}..{end} is reversed, beyond the text or inside \
                 a character; give findings of this text"
            ),
        }
    }
}

impl std::error::Error for RedactError {}

/// A key for the `hash` operator. Zeroized on drop; never printed.
#[derive(Clone)]
pub struct HashKey(Zeroizing<Vec<u8>>);

impl HashKey {
    /// A key from raw bytes (at least 16; 32 random bytes recommended).
    pub fn new(bytes: &[u8]) -> Result<HashKey, RedactError> {
        if bytes.len() < 16 {
            return Err(RedactError::ShortHashKey);
        }
        Ok(HashKey(Zeroizing::new(bytes.to_vec())))
    }
}

impl fmt::Debug for HashKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HashKey").finish_non_exhaustive()
    }
}

/// Replaces what a [`Scanner`] finds.
///
/// ```
/// use phisafe::{Entity, Operator, Redactor, Scanner};
///
/// let redactor = Redactor::builder(Scanner::new())
///     .operator(Entity::Ssn, Operator::Partial)
///     .build()?;
/// let out = redactor.redact_str("SSN 219-09-9999, mail jo@clinic.example");
/// assert_eq!(out, "SSN ***-**-9999, mail [EMAIL]");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Redactor {
    scanner: Scanner,
    default: Operator,
    ops: Vec<(Entity, Operator)>,
    key: Option<HashKey>,
}

/// Configures a [`Redactor`].
#[derive(Clone, Debug)]
pub struct RedactorBuilder {
    r: Redactor,
}

impl RedactorBuilder {
    /// The operator for entities without their own (default `tag`).
    pub fn default_operator(mut self, op: Operator) -> RedactorBuilder {
        self.r.default = op;
        self
    }

    /// The operator for one entity type.
    pub fn operator(
        mut self,
        entity: Entity,
        op: Operator,
    ) -> RedactorBuilder {
        self.r.ops.retain(|(e, _)| *e != entity);
        self.r.ops.push((entity, op));
        self
    }

    /// The key for the `hash` operator.
    pub fn hash_key(mut self, key: HashKey) -> RedactorBuilder {
        self.r.key = Some(key);
        self
    }

    /// Checks the configuration.
    pub fn build(self) -> Result<Redactor, RedactError> {
        let uses_hash = self.r.default == Operator::Hash
            || self.r.ops.iter().any(|(_, op)| *op == Operator::Hash);
        if uses_hash && self.r.key.is_none() {
            return Err(RedactError::MissingHashKey);
        }
        Ok(self.r)
    }
}

/// Counts from a streaming redaction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RedactStats {
    /// Bytes read.
    pub bytes: u64,
    /// Findings redacted.
    pub findings: u64,
}

impl Redactor {
    /// A redactor that tags every finding (`[SSN]`).
    pub fn new(scanner: Scanner) -> Redactor {
        Redactor {
            scanner,
            default: Operator::Tag,
            ops: Vec::new(),
            key: None,
        }
    }

    /// A builder starting from [`Redactor::new`].
    pub fn builder(scanner: Scanner) -> RedactorBuilder {
        RedactorBuilder { r: Redactor::new(scanner) }
    }

    /// The scanner used.
    pub fn scanner(&self) -> &Scanner {
        &self.scanner
    }

    /// The operator applied to `entity`.
    pub fn operator_for(&self, entity: Entity) -> Operator {
        self.ops
            .iter()
            .find(|(e, _)| *e == entity)
            .map_or(self.default, |&(_, op)| op)
    }

    /// `hay` with every finding replaced.
    pub fn redact(&self, hay: &[u8]) -> Vec<u8> {
        let findings = self.scanner.scan(hay);
        let mut out = Vec::with_capacity(hay.len());
        self.apply(hay, 0, &findings, &mut out);
        out
    }

    /// [`Redactor::redact`] for text. Replacements are ASCII and findings
    /// never split a character, so the result is valid UTF-8.
    pub fn redact_str(&self, text: &str) -> String {
        match String::from_utf8(self.redact(text.as_bytes())) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        }
    }

    /// `value` of the field `field` with every finding replaced, the
    /// field's name counting as context ([`Scanner::scan_field`]).
    ///
    /// ```
    /// use phisafe::{Redactor, Scanner};
    ///
    /// let r = Redactor::new(Scanner::new());
    /// assert_eq!(r.redact_field("last_name", "Quixote"), "[PERSON]");
    /// assert_eq!(r.redact_field("note", "SSN 219-09-9999"), "SSN [SSN]");
    /// ```
    pub fn redact_field(&self, field: &str, value: &str) -> String {
        let findings = self.scanner.scan_field(field, value.as_bytes());
        let mut out = Vec::with_capacity(value.len());
        self.apply(value.as_bytes(), 0, &findings, &mut out);
        match String::from_utf8(out) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        }
    }

    /// Redacts `hay` given its findings (from this redactor's scanner),
    /// whose offsets are relative to `offset`, appending to `out`.
    pub fn apply(
        &self,
        hay: &[u8],
        offset: usize,
        findings: &[Finding],
        out: &mut Vec<u8>,
    ) {
        let patterns = self.scanner.patterns();
        let spans = findings.iter().flat_map(|f| {
            // An HL7 field's components are read by position: replacing
            // `MORALES^DIANA^K` whole would move the components after it,
            // and a second reading would take them for others. Each
            // component is replaced on its own and the separators stay.
            let positional = patterns
                .get(f.pattern.as_usize())
                .is_some_and(|p| p.hl7.is_some());
            let sep = move |b: u8| positional && matches!(b, b'^' | b'&');
            pieces(hay, f.start - offset..f.end - offset, sep)
                .map(|r| (r.start, r.end, f.entity))
        });
        self.apply_spans(hay, spans, out);
    }

    /// `text` redacted at the given spans instead of this redactor's own
    /// findings, for two-stage pipelines that filter or add findings:
    /// byte ranges with their entity, in any order; spans that overlap
    /// merge, the widest deciding the operator.
    ///
    /// ```
    /// use phisafe::{Entity, Redactor, Scanner};
    ///
    /// let r = Redactor::new(Scanner::new());
    /// let text = "Zed called from 415-555-2671";
    /// let got = r.redact_spans(text, &[(0..3, Entity::Person)]).unwrap();
    /// assert_eq!(got, "[PERSON] called from 415-555-2671");
    /// ```
    pub fn redact_spans(
        &self,
        text: &str,
        spans: &[(Range<usize>, Entity)],
    ) -> Result<String, RedactError> {
        let mut sorted: Vec<(usize, usize, Entity)> =
            Vec::with_capacity(spans.len());
        for (r, e) in spans {
            if r.start > r.end
                || !text.is_char_boundary(r.start)
                || !text.is_char_boundary(r.end)
            {
                return Err(RedactError::BadSpan(r.start, r.end));
            }
            sorted.push((r.start, r.end, *e));
        }
        sorted.sort_unstable_by_key(|&(start, end, _)| (start, end));
        let mut out = Vec::with_capacity(text.len());
        self.apply_spans(text.as_bytes(), sorted.into_iter(), &mut out);
        Ok(String::from_utf8(out).expect("spans on character boundaries"))
    }

    /// Replaces sorted `(start, end, entity)` spans of `hay`.
    fn apply_spans(
        &self,
        hay: &[u8],
        spans: impl Iterator<Item = (usize, usize, Entity)>,
        out: &mut Vec<u8>,
    ) {
        let mut spans = spans.peekable();
        let mut at = 0;
        while let Some((start, mut end, mut entity)) = spans.next() {
            // Merge spans that overlap into one; the widest decides the
            // operator.
            let mut widest = end - start;
            while let Some(&(s, e, en)) = spans.peek() {
                if s >= end {
                    break;
                }
                if e - s > widest {
                    (widest, entity) = (e - s, en);
                }
                end = end.max(e);
                spans.next();
            }
            let start = start.max(at);
            out.extend_from_slice(&hay[at..start]);
            self.replace(entity, &hay[start..end], out);
            at = end;
        }
        out.extend_from_slice(&hay[at..]);
    }

    fn replace(&self, entity: Entity, value: &[u8], out: &mut Vec<u8>) {
        match self.operator_for(entity) {
            Operator::Mask => out.extend_from_slice(b"***"),
            Operator::Tag => {
                out.push(b'[');
                out.extend_from_slice(entity.as_str().as_bytes());
                out.push(b']');
            }
            Operator::Partial => partial(value, out),
            Operator::Hash => {
                let key = self.key.as_ref().expect("checked by build");
                let mut mac =
                    <Hmac<Sha256> as KeyInit>::new_from_slice(&key.0)
                        .expect("HMAC takes keys of any length");
                mac.update(entity.as_str().as_bytes());
                mac.update(&[0]);
                mac.update(value);
                let tag = mac.finalize().into_bytes();
                out.push(b'[');
                out.extend_from_slice(entity.as_str().as_bytes());
                out.push(b':');
                for b in &tag[..8] {
                    out.extend_from_slice(format!("{b:02x}").as_bytes());
                }
                out.push(b']');
            }
            Operator::Remove => {}
        }
    }

    /// Streams `rdr` to `wtr`, redacted, in bounded memory. The output
    /// equals [`Redactor::redact`] of the whole input.
    pub fn redact_reader<R: Read, W: Write>(
        &self,
        rdr: R,
        mut wtr: W,
    ) -> io::Result<RedactStats> {
        let mut blocks = Blocks::new(&self.scanner, rdr, DEFAULT_CHUNK);
        let mut stats = RedactStats::default();
        let mut out = Vec::new();
        while let Some(b) = blocks.next_block()? {
            out.clear();
            self.apply(b.bytes, b.offset, b.findings, &mut out);
            wtr.write_all(&out)?;
            stats.bytes += b.bytes.len() as u64;
            stats.findings += b.findings.len() as u64;
        }
        wtr.flush()?;
        Ok(stats)
    }
}

/// Masks all but the last four ASCII letters or digits; separators stay.
fn partial(value: &[u8], out: &mut Vec<u8>) {
    let alnum = value.iter().filter(|b| b.is_ascii_alphanumeric()).count();
    let mut masked = 0;
    let mask = alnum.saturating_sub(4);
    for &b in value {
        if b.is_ascii_alphanumeric() {
            if masked < mask {
                out.push(b'*');
                masked += 1;
            } else {
                out.push(b);
            }
        } else if b >= 0x80 {
            // Non-ASCII letters are masked a character at a time.
            if b & 0xC0 != 0x80 {
                out.push(b'*');
            }
        } else {
            out.push(b);
        }
    }
}

/// The non-empty pieces of `hay[span]` between bytes `sep` accepts, for
/// replacing a finding without the bytes that give the text its shape.
pub(crate) fn pieces(
    hay: &[u8],
    span: std::ops::Range<usize>,
    sep: impl Fn(u8) -> bool,
) -> impl Iterator<Item = std::ops::Range<usize>> {
    let mut at = span.start;
    std::iter::from_fn(move || {
        while at < span.end {
            let start = at;
            let len = hay[start..span.end]
                .iter()
                .position(|&b| sep(b))
                .unwrap_or(span.end - start);
            at = start + len + 1;
            if len > 0 {
                return Some(start..start + len);
            }
        }
        None
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> HashKey {
        HashKey::new(b"0123456789abcdef0123456789abcdef").unwrap()
    }

    #[test]
    fn redact_spans_merges_sorts_and_refuses_bad_spans() {
        let r = Redactor::builder(Scanner::new())
            .operator(Entity::Ssn, Operator::Partial)
            .build()
            .unwrap();
        let text = "é 219-09-9999 and Zed";
        let ssn = text.find('2').unwrap();
        // Unsorted; the SSN overlaps a shorter span and decides its
        // operator.
        let got = r
            .redact_spans(
                text,
                &[
                    (text.len() - 3..text.len(), Entity::Person),
                    (ssn..ssn + 3, Entity::Person),
                    (ssn..ssn + 11, Entity::Ssn),
                ],
            )
            .unwrap();
        assert_eq!(got, "é ***-**-9999 and [PERSON]");
        for (start, end) in [(1, 3), (5, 4), (0, 99)] {
            assert_eq!(
                r.redact_spans(text, &[(start..end, Entity::Person)]),
                Err(RedactError::BadSpan(start, end))
            );
        }
        // The scanner's own findings give redact_str's output.
        let r = Redactor::new(Scanner::new());
        let note = "SSN 219-09-9999, mail jo@clinic.example";
        let spans: Vec<_> = r
            .scanner()
            .scan(note.as_bytes())
            .iter()
            .map(|f| (f.start()..f.end(), f.entity()))
            .collect();
        assert_eq!(r.redact_spans(note, &spans).unwrap(), r.redact_str(note));
    }

    #[test]
    fn operators() {
        let s = Scanner::new();
        let text = "SSN 219-09-9999 here";
        let run = |op| {
            Redactor::builder(s.clone())
                .default_operator(op)
                .hash_key(key())
                .build()
                .unwrap()
                .redact_str(text)
        };
        assert_eq!(run(Operator::Mask), "SSN *** here");
        assert_eq!(run(Operator::Tag), "SSN [SSN] here");
        assert_eq!(run(Operator::Partial), "SSN ***-**-9999 here");
        assert_eq!(run(Operator::Remove), "SSN  here");
        let hashed = run(Operator::Hash);
        assert!(hashed.starts_with("SSN [SSN:"), "{hashed}");
        assert!(!hashed.contains("9999"));
    }

    #[test]
    fn hash_is_stable_and_keyed() {
        let s = Scanner::new();
        let r = |k: HashKey| {
            Redactor::builder(s.clone())
                .default_operator(Operator::Hash)
                .hash_key(k)
                .build()
                .unwrap()
        };
        let a = r(key()).redact_str("SSN 219-09-9999");
        let b = r(key()).redact_str("other doc, SSN 219-09-9999");
        assert_eq!(a[4..], b[15..]);
        let other = HashKey::new(b"fedcba9876543210fedcba9876543210").unwrap();
        let c = r(other).redact_str("SSN 219-09-9999");
        assert_ne!(a, c);
        let d = r(key()).redact_str("SSN 219-09-9998");
        assert_ne!(a, d);
    }

    #[test]
    fn hash_without_key_is_an_error() {
        let err = Redactor::builder(Scanner::new())
            .operator(Entity::Ssn, Operator::Hash)
            .build()
            .unwrap_err();
        assert_eq!(err, RedactError::MissingHashKey);
        assert!(HashKey::new(b"short").is_err());
        assert_eq!(format!("{:?}", key()), "HashKey { .. }");
    }

    #[test]
    fn nested_findings_redact_once() {
        let r = Redactor::new(Scanner::new());
        let out = r.redact_str(
            "see https://portal.example.org/lookup?ssn=219-09-9999 now",
        );
        assert_eq!(out, "see [URL] now");
    }

    #[test]
    fn streaming_equals_whole() {
        let r = Redactor::new(Scanner::new());
        let text = "Dr. Alice Moreno saw pt (415) 555-2671 on 03/14/2024.\n"
            .repeat(3000);
        let mut out = Vec::new();
        let stats = r.redact_reader(text.as_bytes(), &mut out).unwrap();
        assert_eq!(out, r.redact(text.as_bytes()));
        assert_eq!(stats.bytes, text.len() as u64);
        assert!(stats.findings >= 6000);
    }
}
