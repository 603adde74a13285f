//! What a field's name says about its values.
//!
//! JSON keys, CSV headers, SQL columns and the keys of `key=value` text are
//! read the same way. A name is split into lower-case words (camelCase,
//! PascalCase, snake_case, kebab-case, spaces, dots, letters and digits:
//! `attendingNpi`, `PRESCRIBER_NPI` and `Provider NPI` all hold the word
//! `npi`), and the words are matched against the phrases of the pattern
//! pack: each `[[key]]` class lists the phrases of its entity (`npi`,
//! `date of birth`, `secret access key`), and `[fields] none` lists fields
//! that hold no PHI (`timestamp`, `created at`, `order id`).
//!
//! The phrase that ends last decides, the longest of those ending there:
//! the head of an English compound comes last (`patient_language` is a
//! language, `product_name` a product's name, `secret_access_key` a
//! secret). Words before the phrase say whose value it is (`patient`,
//! `provider`, `owner`) and change nothing; an `[fields] about` word after
//! it says the field is about the value, not the value (`ssn_verified`,
//! `email_status`, `phone_type`).
//!
//! Databases fold unquoted names to lower case (`MedicaidId` becomes
//! `medicaidid`), so a name whose words match no phrase is read once more
//! as one run of letters: the longest phrase it ends with decides
//! (`certifiernpi`, `servicedate`), after dropping a trailing `id`, `no`,
//! `num` or `number` if need be (`mrnno`). Short phrases that end ordinary
//! words (`tel` in `hotel`, `ip` in `ship`) do not count there.

use std::collections::{HashMap, HashSet};

use crate::Entity;
use crate::format::json::Segment;

type Map<K, V> = HashMap<K, V, foldhash::fast::FixedState>;
type Set<K> = HashSet<K, foldhash::fast::FixedState>;

/// Under a field that holds no PHI (`[fields] none`), findings below this
/// score are not reported: a bare-number reading of an order id is not
/// evidence enough against its name.
pub(crate) const NOT_PHI_KEEPS: f32 = 0.9;

/// Whether a finding of `entity` with `score` over `text` gives way to a
/// field that holds no PHI: a date there is an event's time, and a bare
/// number read as an SSN or a phone by a context word is the field's own
/// id. Shaped values (`219-09-9999`, a MAC, an e-mail) stand.
pub(crate) fn gives_way(entity: Entity, score: f32, text: &[u8]) -> bool {
    entity == Entity::Date
        || (score < NOT_PHI_KEEPS && text.iter().all(u8::is_ascii_digit))
}

/// What a field name says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FieldHint {
    /// Values are this key class's entity: the pattern index of the class.
    Entity(usize),
    /// Values are not PHI (event times, ids of things, amounts, codes).
    NotPhi,
    /// The name says nothing.
    Unknown,
}

#[derive(Clone, Copy, Debug)]
enum Meaning {
    Entity(usize),
    NotPhi,
}

/// The phrase dictionary of one scanner.
#[derive(Debug, Default)]
pub(crate) struct Fields {
    /// Phrases, words joined by single spaces.
    phrases: Map<Box<str>, Meaning>,
    /// The most words in one phrase.
    longest: usize,
    about: Set<Box<str>>,
    /// Phrases with the spaces removed, for names in one run of letters.
    runs: Map<Box<str>, Meaning>,
    /// The last three letters of every run: a quick no.
    run_ends: Set<[u8; 3]>,
    /// Bloom bits of `heads` and the tails, of `none_heads`, and of the
    /// last three letters of runs: most keys in text are turned away by a
    /// hash and a bit.
    quick_heads: Bloom,
    quick_none: Bloom,
    quick_runs: Bloom,
    /// The last word of every entity phrase: what a key in text naming an
    /// entity ends with (or a tail after it).
    heads: Set<Box<str>>,
    /// The last word of every phrase of `[fields] none`.
    none_heads: Set<Box<str>>,
}

/// A 4096-bit Bloom filter with one hash: a cheap "certainly not".
#[derive(Debug)]
struct Bloom([u64; 64]);

impl Default for Bloom {
    fn default() -> Bloom {
        Bloom([0; 64])
    }
}

impl Bloom {
    fn hash(word: &[u8]) -> usize {
        let mut h: u32 = 2166136261;
        for &b in word {
            h = (h ^ u32::from(b)).wrapping_mul(16777619);
        }
        (h >> 20) as usize
    }

    fn insert(&mut self, word: &[u8]) {
        let h = Bloom::hash(word);
        self.0[h / 64] |= 1 << (h % 64);
    }

    fn may_hold(&self, word: &[u8]) -> bool {
        let h = Bloom::hash(word);
        self.0[h / 64] & (1 << (h % 64)) != 0
    }
}

/// Reusable buffers for reading names.
#[derive(Debug, Default)]
pub(crate) struct WordBuf {
    text: String,
    spans: Vec<(usize, usize)>,
}

/// Three-letter phrases distinctive enough to be read at the end of a run
/// of letters (`certifiernpi`); shorter phrases and other three-letter ones
/// end ordinary words too often (`hotel`, `ship`, `page`).
const RUN_SHORT: &[&str] =
    &["mrn", "npi", "ssn", "dob", "dea", "vin", "udi", "mbi", "dod"];

/// Endings that add nothing to what a run of letters names (`mrnno`).
const RUN_TAILS: &[&str] = &["number", "num", "nbr", "no", "id"];

/// Keys that say nothing of their value but that it is one (`value`,
/// `number`, `id`): their parent or a sibling's label says what it is.
const GENERIC_KEYS: &[&str] = &[
    "value", "text", "val", "display", "string", "v", "number", "num", "nbr",
    "no", "id",
];

/// Whether `name` is one of [`GENERIC_KEYS`], in any case.
pub(crate) fn is_generic(name: &[u8]) -> bool {
    GENERIC_KEYS.iter().any(|g| g.as_bytes().eq_ignore_ascii_case(name))
}

/// Keys whose value says what a generic sibling holds, in JSON
/// (`{"system": ".../us-ssn", "value": "..."}`, `{"type": "phone",
/// "value": ...}`, `{"reference": "Practitioner/1985", "display": ...}`)
/// and in text (`type=DL state=OH number=TR558102`); any key ending in
/// `type` too (`id_type`, `documentType`).
const LABEL_KEYS: &[&str] = &[
    "system",
    "type",
    "code",
    "use",
    "name",
    "key",
    "label",
    "kind",
    "field",
    "reference",
];

/// Whether a key's value labels its generic siblings ([`LABEL_KEYS`]).
pub(crate) fn is_label_key(name: &[u8]) -> bool {
    LABEL_KEYS.iter().any(|l| l.as_bytes().eq_ignore_ascii_case(name))
        || name
            .len()
            .checked_sub(4)
            .is_some_and(|i| name[i..].eq_ignore_ascii_case(b"type"))
}

/// The field name for an identifier system given as an HL7 OID
/// (`urn:oid:2.16.840.1.113883.4.1` is the SSN), as FHIR and CDA write
/// them: the arcs under `2.16.840.1.113883.4` that name people.
fn identifier_oid(label: &str) -> Option<&'static str> {
    let oid = label.strip_prefix("urn:oid:").unwrap_or(label);
    let rest = oid.strip_prefix("2.16.840.1.113883.4.")?;
    let (arc, _) = rest.split_once(['.', '|']).unwrap_or((rest, ""));
    Some(match arc {
        "1" => "ssn",
        "3" => "drivers_license", // .4.3.<state FIPS>
        "6" => "npi",
        "330" => "passport",         // .4.330.<country>
        "572" | "927" => "medicare", // HICN, MBI
        _ => return None,
    })
}

/// Where a FHIR identifier's `type` names what its `value` holds: for
/// a string at `path`, how many containers up the identifier is, and how
/// the string reads as a label. `type.coding[].code` is an HL7 v2 table
/// 0203 code (`MR`, `SS`, `DL`); `type.text` is read as a field name.
#[allow(clippy::type_complexity, reason = "a small lookup result")]
pub(crate) fn type_label(
    path: &[Segment],
) -> Option<(usize, fn(&str) -> Option<String>)> {
    let key = |i: usize| match path.len().checked_sub(i).map(|i| &path[i]) {
        Some(Segment::Key(k)) => Some(k.as_str()),
        _ => None,
    };
    match (key(1)?, key(2), key(3), key(4)) {
        ("text", Some("type"), _, _) => Some((2, |t| Some(t.to_string()))),
        ("code", None, Some("coding"), Some("type")) => {
            Some((4, |code| identifier_type(code).map(str::to_string)))
        }
        _ => None,
    }
}

/// The field name for an HL7 v2 identifier type code (table 0203), as
/// FHIR's `Identifier.type` carries it: the codes that name people.
pub(crate) fn identifier_type(code: &str) -> Option<&'static str> {
    Some(match code.trim() {
        "MR" | "MRT" | "PI" | "PT" => "mrn",
        "SS" => "ssn",
        "DL" => "drivers_license",
        "PPN" => "passport",
        "MB" | "SN" => "member_id",
        "MA" => "medicaid_id",
        "MC" => "medicare",
        "NPI" => "npi",
        "DEA" => "dea",
        "AN" => "account_number",
        "UDI" => "udi",
        _ => return None,
    })
}

/// Words a two-letter abbreviation glued to its end (`ownerdl`) must
/// follow to be read: short phrases are too common inside other words.
const GLUED_ROLES: &[&str] = &[
    "owner",
    "patient",
    "driver",
    "holder",
    "member",
    "customer",
    "subscriber",
    "insured",
    "guarantor",
    "provider",
    "applicant",
    "client",
    "user",
];

/// Two-letter phrases read at the end of a glued name after a role word.
const GLUED_SHORT: &[&str] = &["dl"];

/// Splits `name` into lower-case words, joined by single spaces in `out`;
/// returns where each word starts and ends in `out`.
pub(crate) fn words(name: &[u8], out: &mut String) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    words_into(name, out, &mut spans);
    spans
}

/// [`words`] into buffers the caller reuses.
pub(crate) fn words_into(
    name: &[u8],
    out: &mut String,
    spans: &mut Vec<(usize, usize)>,
) {
    #[derive(Clone, Copy, PartialEq)]
    enum C {
        Lower,
        Upper,
        Digit,
        Other,
    }
    let class = |b: u8| match b {
        b'a'..=b'z' | 0x80..=0xFF => C::Lower,
        b'A'..=b'Z' => C::Upper,
        b'0'..=b'9' => C::Digit,
        _ => C::Other,
    };
    out.clear();
    spans.clear();
    let mut start: Option<usize> = None;
    let mut close = |out: &mut String, start: &mut Option<usize>| {
        if let Some(s) = start.take() {
            spans.push((s, out.len()));
        }
    };
    for (i, &b) in name.iter().enumerate() {
        let c = class(b);
        if c == C::Other {
            close(out, &mut start);
            continue;
        }
        let prev = i.checked_sub(1).map(|p| class(name[p]));
        let next = name.get(i + 1).map(|&n| class(n));
        let boundary = match (prev, c) {
            (None | Some(C::Other), _) => true,
            (Some(C::Lower), C::Upper) => true,
            (Some(C::Digit), C::Lower | C::Upper)
            | (Some(C::Lower | C::Upper), C::Digit) => true,
            // The last capital of a run opens the next word: HTTPRequest.
            (Some(C::Upper), C::Upper) => next == Some(C::Lower),
            _ => false,
        };
        if boundary {
            close(out, &mut start);
            if !out.is_empty() {
                out.push(' ');
            }
            start = Some(out.len());
        }
        // Non-ASCII bytes are kept whole; only ASCII letters fold.
        let lower = b.to_ascii_lowercase();
        if lower.is_ascii() {
            out.push(char::from(lower));
        } else {
            // A byte of a multi-byte character: keep the word, not the
            // byte (phrases are ASCII, so such words never match).
            out.push('\u{FFFD}');
        }
    }
    close(out, &mut start);
}

impl Fields {
    /// Adds the phrases of key class `pattern` (names in any spelling).
    pub(crate) fn add_class(&mut self, pattern: usize, names: &[String]) {
        for n in names {
            self.add(n, Meaning::Entity(pattern));
        }
    }

    /// Adds names of fields that hold no PHI.
    pub(crate) fn add_none(&mut self, names: &[String]) {
        for n in names {
            self.add(n, Meaning::NotPhi);
        }
    }

    /// Adds words that make a field about its value.
    pub(crate) fn add_about(&mut self, words: &[String]) {
        let mut buf = String::new();
        for w in words {
            words_of(w, &mut buf);
            self.about.insert(buf.as_str().into());
        }
    }

    fn add(&mut self, name: &str, meaning: Meaning) {
        let mut buf = String::new();
        let n = words_of(name, &mut buf);
        if n == 0 {
            return;
        }
        self.longest = self.longest.max(n);
        // The first class to claim a phrase keeps it.
        self.phrases.entry(buf.as_str().into()).or_insert(meaning);
        let run: String = buf.chars().filter(|c| *c != ' ').collect();
        if run.len() >= 4 || RUN_SHORT.contains(&run.as_str()) {
            let b = run.as_bytes();
            self.run_ends.insert([
                b[b.len() - 3],
                b[b.len() - 2],
                b[b.len() - 1],
            ]);
            self.quick_runs.insert(&b[b.len() - 3..]);
            self.runs.entry(run.into()).or_insert(meaning);
        }
        if let Some(last) = buf.rsplit(' ').next() {
            match meaning {
                Meaning::Entity(_) => {
                    self.quick_heads.insert(last.as_bytes());
                    self.heads.insert(last.into())
                }
                Meaning::NotPhi => {
                    self.quick_none.insert(last.as_bytes());
                    self.none_heads.insert(last.into())
                }
            };
        }
    }

    /// What the field called `name` holds.
    pub(crate) fn hint(&self, name: &[u8]) -> FieldHint {
        if self.phrases.is_empty() {
            return FieldHint::Unknown;
        }
        let mut buf = String::new();
        let spans = words(name, &mut buf);
        match self.head(&buf, &spans) {
            None => self.run_hint(&buf),
            Some((start, len, m)) => {
                self.verdict(&buf, &spans[start + len..], m)
            }
        }
    }

    /// What a label ([`is_label_key`]) says its generic sibling holds:
    /// its last part with letters (`.../us-ssn`, `urn:oid:...|mrn`; a
    /// reference's type, not its id: `Practitioner/1985`) read as a field
    /// name, else an HL7 identifier OID.
    pub(crate) fn label_hint(&self, label: &str) -> FieldHint {
        let label = label.trim();
        let tail = label
            .rsplit(['/', ':', '#', '|'])
            .find(|t| t.chars().any(char::is_alphabetic))
            .unwrap_or(label);
        match self.hint(tail.trim().as_bytes()) {
            FieldHint::Unknown => identifier_oid(label)
                .map_or(FieldHint::Unknown, |key| self.hint(key.as_bytes())),
            hint => hint,
        }
    }

    /// What the key of a `key=value` or `Key: value` in text holds. Prose
    /// runs into such keys (`the patient reports the following:`), so the
    /// deciding phrase must end the key, perhaps followed by `number`,
    /// `no`, `id` or `#`.
    ///
    /// With `none` false, keys that can only hold no PHI are not read
    /// (their answer would not be used).
    pub(crate) fn hint_key(
        &self,
        name: &[u8],
        buf: &mut WordBuf,
        none: bool,
    ) -> FieldHint {
        if self.phrases.is_empty() {
            return FieldHint::Unknown;
        }
        // Most keys in text name nothing: decide on the last word before
        // splitting the whole key.
        let mut low = [0u8; 32];
        let Some(last) = last_word(name, &mut low) else {
            return FieldHint::Unknown;
        };
        let b = last.as_bytes();
        let maybe = GLUED_SHORT.iter().any(|t| b.ends_with(t.as_bytes()))
            || self.quick_heads.may_hold(b)
            || (none && self.quick_none.may_hold(b))
            || (b.len() >= 5 && self.quick_runs.may_hold(&b[b.len() - 3..]))
            || (b.len() >= 5
                && RUN_TAILS.iter().any(|t| {
                    b.strip_suffix(t.as_bytes()).is_some_and(|r| {
                        r.len() >= 3
                            && self.quick_runs.may_hold(&r[r.len() - 3..])
                    })
                }));
        if !maybe && !RUN_TAILS.contains(&last) {
            return FieldHint::Unknown;
        }
        let tail = RUN_TAILS.contains(&last);
        let known = tail
            || self.heads.contains(last)
            || (none && self.none_heads.contains(last));
        if !known {
            if last.len() < 5 {
                return FieldHint::Unknown;
            }
            return match self.run_hint(last) {
                FieldHint::NotPhi if !none => FieldHint::Unknown,
                h => h,
            };
        }
        words_into(name, &mut buf.text, &mut buf.spans);
        let (text, spans) = (&buf.text, &buf.spans);
        let n = spans.len();
        let ends = [Some(n), (tail && n > 1).then(|| n - 1)];
        for end in ends.into_iter().flatten() {
            for len in (1..=self.longest.min(end)).rev() {
                let phrase = &text[spans[end - len].0..spans[end - 1].1];
                if let Some(&m) = self.phrases.get(phrase) {
                    return self.verdict(text, &[], m);
                }
            }
        }
        FieldHint::Unknown
    }

    /// What a name holds read as one run of letters: the longest phrase it
    /// ends with, a trailing `id`/`no`/`number` dropped if need be.
    fn run_hint(&self, words: &str) -> FieldHint {
        let run: std::borrow::Cow<'_, str> = if words.contains(' ') {
            words.chars().filter(|c| *c != ' ').collect::<String>().into()
        } else {
            words.into()
        };
        let end = |r: &str| {
            let b = r.as_bytes();
            b.len() >= 3
                && self.run_ends.contains(&[
                    b[b.len() - 3],
                    b[b.len() - 2],
                    b[b.len() - 1],
                ])
        };
        let untailed = || RUN_TAILS.iter().filter_map(|t| run.strip_suffix(t));
        // `ownerdl`, `patientdlno`: a short phrase after a role word.
        let glued = std::iter::once(&*run).chain(untailed()).find_map(|r| {
            GLUED_SHORT.iter().find_map(|t| {
                let role = r.strip_suffix(t)?;
                GLUED_ROLES.iter().any(|w| role.ends_with(w)).then_some(*t)
            })
        });
        if let Some(&Meaning::Entity(p)) =
            glued.and_then(|t| self.phrases.get(t))
        {
            return FieldHint::Entity(p);
        }
        if !end(&run) && !untailed().any(end) {
            return FieldHint::Unknown;
        }
        let ends_with = |run: &str| {
            (0..run.len().saturating_sub(2))
                .filter(|&i| run.is_char_boundary(i))
                .find_map(|i| self.runs.get(&run[i..]).copied())
        };
        let found = ends_with(&run).or_else(|| {
            untailed().filter(|r| !r.is_empty()).find_map(ends_with)
        });
        match found {
            None => FieldHint::Unknown,
            Some(Meaning::NotPhi) => FieldHint::NotPhi,
            Some(Meaning::Entity(p)) => FieldHint::Entity(p),
        }
    }

    /// The deciding phrase of the words `spans` of `text`: the one that
    /// ends last, the longest of those (start word, word count, meaning).
    fn head(
        &self,
        text: &str,
        spans: &[(usize, usize)],
    ) -> Option<(usize, usize, Meaning)> {
        for end in (1..=spans.len()).rev() {
            for len in (1..=self.longest.min(end)).rev() {
                let start = end - len;
                let phrase = &text[spans[start].0..spans[end - 1].1];
                if let Some(&m) = self.phrases.get(phrase) {
                    return Some((start, len, m));
                }
            }
        }
        None
    }

    /// The hint of a deciding phrase, with the words after it.
    fn verdict(
        &self,
        text: &str,
        after: &[(usize, usize)],
        m: Meaning,
    ) -> FieldHint {
        match m {
            Meaning::NotPhi => FieldHint::NotPhi,
            Meaning::Entity(p) => {
                if after.iter().any(|&(s, e)| self.about.contains(&text[s..e]))
                {
                    FieldHint::Unknown
                } else {
                    FieldHint::Entity(p)
                }
            }
        }
    }

    /// What a field holds, read with its parent's name:
    /// `{"patient": {"name": ...}}` reads as `patient name`, and
    /// `{"product": {"name": ...}}` as `product name`. A phrase of the
    /// parent alone decides only for a generic child (`value`, `text`):
    /// `{"ssn": {"value": ...}}`.
    pub(crate) fn hint_path(
        &self,
        parent: Option<&[u8]>,
        name: &[u8],
    ) -> FieldHint {
        let Some(parent) = parent else { return self.hint(name) };
        if self.phrases.is_empty() {
            return FieldHint::Unknown;
        }
        let mut joined = Vec::with_capacity(parent.len() + name.len() + 1);
        joined.extend_from_slice(parent);
        joined.push(b' ');
        let split_at = joined.len();
        joined.extend_from_slice(name);
        let mut text = String::new();
        let spans = words(&joined, &mut text);
        let mut near_text = String::new();
        let near = words(&joined[split_at..], &mut near_text);
        let first_near = spans.len() - near.len();
        match self.head(&text, &spans) {
            None => self.run_hint(&near_text),
            Some((start, len, m)) if start + len > first_near => {
                self.verdict(&text, &spans[start + len..], m)
            }
            Some((start, len, m)) => {
                if is_generic(near_text.as_bytes()) {
                    self.verdict(&text, &spans[start + len..first_near], m)
                } else {
                    FieldHint::Unknown
                }
            }
        }
    }
}

/// The last word of `name` as [`words`] would split it, lower-cased into
/// `buf`; `None` if there is none or it does not fit.
fn last_word<'b>(name: &[u8], buf: &'b mut [u8; 32]) -> Option<&'b str> {
    let end = name.iter().rposition(u8::is_ascii_alphanumeric)? + 1;
    let mut start = end;
    if name[end - 1].is_ascii_digit() {
        while start > 0 && name[start - 1].is_ascii_digit() {
            start -= 1;
        }
    } else if name[end - 1].is_ascii_uppercase() {
        // An all-capitals word (`SSN`), or the capital run before it.
        while start > 0 && name[start - 1].is_ascii_uppercase() {
            start -= 1;
        }
    } else {
        while start > 0 && name[start - 1].is_ascii_lowercase() {
            start -= 1;
        }
        // `patientMrn`: the capital opening the word belongs to it.
        if start > 0 && name[start - 1].is_ascii_uppercase() {
            start -= 1;
        }
    }
    if start > 0 && name[start - 1] >= 0x80 {
        return None;
    }
    let word = &name[start..end];
    let out = buf.get_mut(..word.len())?;
    out.copy_from_slice(word);
    out.make_ascii_lowercase();
    std::str::from_utf8(out).ok()
}

/// `words` of `name` into `buf`; returns how many.
fn words_of(name: &str, buf: &mut String) -> usize {
    words(name.as_bytes(), buf).len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(name: &str) -> String {
        let mut buf = String::new();
        words(name.as_bytes(), &mut buf);
        buf
    }

    #[test]
    fn names_split_into_words() {
        assert_eq!(split("attendingNpi"), "attending npi");
        assert_eq!(split("PRESCRIBER_NPI"), "prescriber npi");
        assert_eq!(split("Provider NPI"), "provider npi");
        assert_eq!(split("secretAccessKey"), "secret access key");
        assert_eq!(split("patient-mrn"), "patient mrn");
        assert_eq!(split("HTTPRequestId"), "http request id");
        assert_eq!(split("address_line1"), "address line 1");
        assert_eq!(split("icd10Code"), "icd 10 code");
        assert_eq!(split("x.forwarded.for"), "x forwarded for");
        assert_eq!(split("__"), "");
    }

    fn dict() -> Fields {
        let mut f = Fields::default();
        f.add_class(0, &["npi".into(), "national provider id".into()]);
        f.add_class(1, &["dob".into(), "date of birth".into()]);
        f.add_class(2, &["name".into(), "first name".into()]);
        f.add_none(&[
            "timestamp".into(),
            "created at".into(),
            "file name".into(),
        ]);
        f.add_about(&["status".into(), "verified".into()]);
        f
    }

    #[test]
    fn phrases_decide() {
        let f = dict();
        assert_eq!(f.hint(b"provider_npi"), FieldHint::Entity(0));
        assert_eq!(f.hint(b"certifierNpi"), FieldHint::Entity(0));
        assert_eq!(f.hint(b"DateOfBirth"), FieldHint::Entity(1));
        assert_eq!(f.hint(b"created_at"), FieldHint::NotPhi);
        assert_eq!(f.hint(b"file_name"), FieldHint::NotPhi);
        assert_eq!(f.hint(b"npi_status"), FieldHint::Unknown);
        assert_eq!(f.hint(b"amount"), FieldHint::Unknown);
        // The phrase that ends last decides, the longest of those.
        assert_eq!(f.hint(b"dob_timestamp"), FieldHint::NotPhi);
        assert_eq!(f.hint(b"timestamp_dob"), FieldHint::Entity(1));
        assert_eq!(f.hint(b"patient_first_name"), FieldHint::Entity(2));
    }

    #[test]
    fn names_folded_to_lower_case_are_read_as_runs() {
        let f = dict();
        assert_eq!(f.hint(b"certifiernpi"), FieldHint::Entity(0));
        assert_eq!(f.hint(b"dateofbirth"), FieldHint::Entity(1));
        assert_eq!(f.hint(b"npino"), FieldHint::Entity(0));
        assert_eq!(f.hint(b"createdat"), FieldHint::NotPhi);
        assert_eq!(f.hint(b"patientfirstname"), FieldHint::Entity(2));
        assert_eq!(f.hint(b"hotel"), FieldHint::Unknown);
    }

    #[test]
    fn parents_help_only_when_the_name_is_silent() {
        let f = dict();
        assert_eq!(
            f.hint_path(Some(b"provider"), b"npi"),
            FieldHint::Entity(0)
        );
        assert_eq!(
            f.hint_path(Some(b"date of"), b"birth"),
            FieldHint::Entity(1)
        );
        assert_eq!(f.hint_path(Some(b"file"), b"name"), FieldHint::NotPhi);
        assert_eq!(f.hint_path(Some(b"npi"), b"value"), FieldHint::Entity(0));
        assert_eq!(f.hint_path(Some(b"npi"), b"notes"), FieldHint::Unknown);
        assert_eq!(
            f.hint_path(Some(b"timestamp"), b"value"),
            FieldHint::NotPhi
        );
        assert_eq!(f.hint_path(None, b"value"), FieldHint::Unknown);
    }
}
