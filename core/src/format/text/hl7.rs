//! HL7 v2 segments in text, read field by field.
//!
//! Interface engines log whole messages, and a field's position says what
//! it holds (PID-5 the patient's name, PID-7 the birth date): no pattern
//! finds `MORALES^DIANA^K` or `19580913` as PHI, the position does. The
//! rules are data (`[[hl7]]` in `patterns/hl7.toml`): which fields, what
//! entity, how to read the field (see [`FieldKind`]).
//!
//! A segment is its three-letter name and a `|` after a segment break: the
//! start of the text, a byte that is not a letter or digit (a line end,
//! `msg=`, a quote), or a carriage return written out as `\r` or `\x0d`.
//! It runs to the next line end or written-out carriage return, at most
//! [`MAX_SEGMENT`] bytes.

use std::collections::HashMap;
use std::ops::Range;

/// The longest segment read, in bytes; a finding starts at most this far
/// after its segment's name.
pub(crate) const MAX_SEGMENT: usize = 2048;

/// How a rule reads its fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FieldKind {
    /// The whole field, each repetition.
    Value,
    /// A person's name (XPN): the whole field.
    Name,
    /// An identifier (CX): component 1, by type code (component 5).
    Id,
    /// A clinician's id (XCN component 1), when it is an NPI.
    XcnId,
    /// A clinician's name (XCN components 2 to 6).
    XcnName,
    /// An address's street, other designation and city (XAD 1 to 3).
    Address,
    /// An address's ZIP (XAD 5).
    Zip,
    /// A phone number (XTN 1, or 6 and 7).
    Phone,
    /// The e-mail of a phone field (XTN 4).
    Email,
    /// A date or date-time (the first component of 8 digits or more).
    Date,
}

impl FieldKind {
    /// The names used in pattern files.
    pub(crate) const NAMES: &'static [(&'static str, FieldKind)] = &[
        ("value", FieldKind::Value),
        ("name", FieldKind::Name),
        ("id", FieldKind::Id),
        ("xcn-id", FieldKind::XcnId),
        ("xcn-name", FieldKind::XcnName),
        ("address", FieldKind::Address),
        ("zip", FieldKind::Zip),
        ("phone", FieldKind::Phone),
        ("email", FieldKind::Email),
        ("date", FieldKind::Date),
    ];

    pub(crate) fn from_name(name: &str) -> Option<FieldKind> {
        FieldKind::NAMES.iter().find(|(n, _)| *n == name).map(|&(_, k)| k)
    }
}

/// One rule on one field.
#[derive(Clone, Debug)]
struct Rule {
    pattern: usize,
    kind: FieldKind,
    /// Type codes claimed (kind `Id`); empty: the codes no other rule of
    /// the field claims.
    codes: Vec<Vec<u8>>,
}

/// The HL7 rules of a scanner, by segment and field.
#[derive(Debug, Default)]
pub(crate) struct Hl7 {
    fields: HashMap<([u8; 3], u16), Vec<Rule>>,
    /// The segments with rules.
    segments: Vec<[u8; 3]>,
}

impl Hl7 {
    /// Adds rule `pattern`.
    pub(crate) fn add(
        &mut self,
        pattern: usize,
        spec: &crate::scan::pattern::Hl7Spec,
    ) {
        let codes: Vec<Vec<u8>> = spec
            .codes
            .iter()
            .map(|c| c.as_bytes().to_ascii_uppercase())
            .collect();
        for &(seg, n) in &spec.fields {
            if !self.segments.contains(&seg) {
                self.segments.push(seg);
            }
            self.fields.entry((seg, n)).or_default().push(Rule {
                pattern,
                kind: spec.kind,
                codes: codes.clone(),
            });
        }
    }

    /// Calls `emit(pattern, span)` for every rule's finding in segments
    /// that start in `from..limit`.
    pub(crate) fn findings(
        &self,
        hay: &[u8],
        from: usize,
        limit: usize,
        mut emit: impl FnMut(usize, Range<usize>),
    ) {
        if self.fields.is_empty() {
            return;
        }
        let low = from.saturating_sub(3);
        let stop = limit.min(hay.len());
        // Segment starts first: a segment also ends where the next one
        // starts (`PID|...| PD1|...` written on one line).
        let starts =
            memchr::memchr_iter(b'|', &hay[low..stop]).filter_map(|bar| {
                let bar = low + bar;
                let start = bar.checked_sub(3)?;
                let name: [u8; 3] = hay[start..bar].try_into().ok()?;
                (start >= from
                    && self.segments.contains(&name)
                    && breaks_before(hay, start))
                .then_some((start, name))
            });
        let mut starts = starts.peekable();
        while let Some((start, name)) = starts.next() {
            let mut end = segment_end(hay, start + 4);
            // The byte that lets the next segment start (`| PD1|`) is
            // not part of this one: redacting it with a field's value
            // would join the two segments on a second reading.
            if let Some(&(next, _)) = starts.peek() {
                end = end.min(next - 1);
            }
            self.segment(name, hay, start + 4, end.max(start + 4), &mut emit);
        }
    }

    /// Reads the fields of one segment, `hay[from..end]` after `NAME|`.
    fn segment(
        &self,
        name: [u8; 3],
        hay: &[u8],
        from: usize,
        end: usize,
        emit: &mut impl FnMut(usize, Range<usize>),
    ) {
        let mut n: u16 = 1;
        let mut at = from;
        loop {
            let stop =
                memchr::memchr(b'|', &hay[at..end]).map_or(end, |i| at + i);
            if let Some(rules) = self.fields.get(&(name, n)) {
                for rep in split(hay, at..stop, b'~') {
                    self.field(rules, hay, rep, emit);
                }
            }
            if stop >= end {
                break;
            }
            at = stop + 1;
            n = n.saturating_add(1);
        }
    }

    /// Applies the rules of one field to one repetition.
    fn field(
        &self,
        rules: &[Rule],
        hay: &[u8],
        rep: Range<usize>,
        emit: &mut impl FnMut(usize, Range<usize>),
    ) {
        if rep.is_empty() {
            return;
        }
        let comps: Vec<Range<usize>> = split(hay, rep.clone(), b'^').collect();
        let comp = |i: usize| comps.get(i).cloned().filter(|c| !c.is_empty());
        let letters = |r: &Range<usize>| {
            hay[r.clone()]
                .iter()
                .any(|b| b.is_ascii_alphabetic() || *b >= 0x80)
        };
        let digits =
            |r: &Range<usize>| hay[r.clone()].iter().any(u8::is_ascii_digit);
        // The type code of an identifier, and whether some rule claims it.
        let code = comp(4).map(|c| hay[c].to_ascii_uppercase());
        let claimed = |code: &Option<Vec<u8>>| {
            code.as_ref().is_some_and(|c| {
                rules.iter().any(|r| r.codes.iter().any(|x| x == c))
            })
        };
        for rule in rules {
            let p = rule.pattern;
            match rule.kind {
                FieldKind::Value => {
                    let v = trim(hay, rep.clone());
                    if !v.is_empty() && (digits(&v) || letters(&v)) {
                        emit(p, v);
                    }
                }
                FieldKind::Name => {
                    // Up to the last name component with letters.
                    let last = comps.iter().take(6).rposition(&letters);
                    if let Some(last) = last {
                        emit(p, rep.start..comps[last].end);
                    }
                }
                FieldKind::Id => {
                    let mine = if rule.codes.is_empty() {
                        !claimed(&code)
                    } else {
                        code.as_ref()
                            .is_some_and(|c| rule.codes.iter().any(|x| x == c))
                    };
                    if let Some(id) = comp(0).filter(|c| mine && digits(c)) {
                        emit(p, id);
                    }
                }
                FieldKind::XcnId => {
                    if let Some(id) = comp(0)
                        && crate::scan::validate::Validator::Npi.check(
                            hay,
                            id.clone(),
                            crate::scan::names::Names::default_pack(),
                        )
                    {
                        emit(p, id);
                    }
                }
                FieldKind::XcnName => {
                    let names: Vec<&Range<usize>> = comps
                        .iter()
                        .skip(1)
                        .take(5)
                        .filter(|c| letters(c))
                        .collect();
                    if let (Some(first), Some(last)) =
                        (names.first(), names.last())
                    {
                        emit(p, first.start..last.end);
                    }
                }
                FieldKind::Address => {
                    match (comp(0), comp(1)) {
                        (Some(a), Some(b)) => emit(p, a.start..b.end),
                        (Some(a), None) => emit(p, a),
                        (None, Some(b)) => emit(p, b),
                        (None, None) => {}
                    }
                    if let Some(city) = comp(2).filter(|c| letters(c)) {
                        emit(p, city);
                    }
                }
                FieldKind::Zip => {
                    if let Some(zip) = comp(4).filter(|c| digits(c)) {
                        emit(p, zip);
                    }
                }
                FieldKind::Phone => {
                    if let Some(num) = comp(0).filter(|c| digits(c)) {
                        emit(p, num);
                    } else if let Some(local) = comp(6).filter(|c| digits(c)) {
                        let from =
                            comp(5).map_or(local.start, |area| area.start);
                        emit(p, from..local.end);
                    }
                }
                FieldKind::Email => {
                    if let Some(mail) =
                        comp(3).filter(|c| hay[c.clone()].contains(&b'@'))
                    {
                        emit(p, mail);
                    }
                }
                FieldKind::Date => {
                    let ts = comps.iter().find(|c| {
                        let v = &hay[(*c).clone()];
                        v.len() >= 8
                            && v[..8].iter().all(u8::is_ascii_digit)
                            && plausible(&v[..8])
                    });
                    if let Some(ts) = ts {
                        emit(p, ts.clone());
                    }
                }
            }
        }
    }
}

/// Whether `YYYYMMDD` is a date that could be in a message.
fn plausible(d: &[u8]) -> bool {
    let num = |r: Range<usize>| {
        d[r].iter().fold(0u32, |n, b| n * 10 + u32::from(b - b'0'))
    };
    let (y, m, day) = (num(0..4), num(4..6), num(6..8));
    (1800..=2200).contains(&y)
        && (1..=12).contains(&m)
        && (1..=31).contains(&day)
}

/// Whether a segment may start at `at`: the text's start, after a line
/// end, a space, a quote or a value's opening (`=`, `:`, `[` ...), or
/// after a written-out carriage return. Not after `|` or `^`: inside a
/// pipe-separated line, `PID|` is a value.
fn breaks_before(hay: &[u8], at: usize) -> bool {
    at == 0
        || matches!(
            hay[at - 1],
            b'\n'
                | b'\r'
                | b' '
                | b'\t'
                | b'"'
                | b'\''
                | b'='
                | b':'
                | b'>'
                | b'['
                | b'('
                | b'{'
                | b','
                | b';'
        )
        || hay[..at].ends_with(b"\\r")
        || hay[..at].ends_with(b"\\x0d")
        || hay[..at].ends_with(b"\\x0D")
}

/// Where a segment whose fields start at `from` ends.
fn segment_end(hay: &[u8], from: usize) -> usize {
    let limit = hay.len().min(from + MAX_SEGMENT);
    let rest = &hay[from..limit];
    let mut end = rest.len();
    if let Some(i) = memchr::memchr2(b'\n', b'\r', rest) {
        end = i;
    }
    for brk in [&b"\\r"[..], b"\\x0d", b"\\x0D", b"<CR>"] {
        if let Some(i) = memchr::memmem::find(&rest[..end], brk) {
            end = i;
        }
    }
    // A JSON string ends at an unescaped quote.
    if let Some(i) = memchr::memchr(b'"', &rest[..end])
        && (i == 0 || rest[i - 1] != b'\\')
    {
        end = i;
    }
    from + end
}

/// The pieces of `hay[r]` between `sep`s.
fn split(
    hay: &[u8],
    r: Range<usize>,
    sep: u8,
) -> impl Iterator<Item = Range<usize>> + '_ {
    let mut at = Some(r.start);
    std::iter::from_fn(move || {
        let s = at?;
        match memchr::memchr(sep, &hay[s..r.end]) {
            Some(i) => {
                at = Some(s + i + 1);
                Some(s..s + i)
            }
            None => {
                at = None;
                Some(s..r.end)
            }
        }
    })
}

/// `r` without surrounding spaces.
fn trim(hay: &[u8], mut r: Range<usize>) -> Range<usize> {
    while r.start < r.end && hay[r.start] == b' ' {
        r.start += 1;
    }
    while r.end > r.start && hay[r.end - 1] == b' ' {
        r.end -= 1;
    }
    r
}
