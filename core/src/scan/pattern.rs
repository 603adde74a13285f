//! Pattern definitions and the TOML pattern-file format.
//!
//! The format is documented once, in `patterns/README.md`.

use serde::Deserialize;

use super::validate::Validator;
use crate::Entity;
use crate::error::{BuildError, BuildErrorKind};

/// The default context window, in characters on each side.
const DEFAULT_WINDOW: usize = 40;
/// The largest context window a pattern may ask for, in characters.
pub(crate) const MAX_WINDOW: usize = 200;

/// The index of a pattern in a [`Scanner`](crate::Scanner).
///
/// Valid only for the scanner that reported it; look the pattern up with
/// [`Scanner::pattern`](crate::Scanner::pattern).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PatternId(pub(crate) u32);

impl PatternId {
    /// The index as a `usize`.
    pub fn as_usize(self) -> usize {
        self.0 as usize
    }
}

/// One detection rule: a regex, an optional validator, context words and
/// scores. Loaded from pattern files; see `patterns/README.md`.
#[derive(Clone, Debug)]
pub struct Pattern {
    pub(crate) id: String,
    pub(crate) entity: Entity,
    pub(crate) description: String,
    pub(crate) regex: String,
    pub(crate) group: usize,
    pub(crate) validator: Option<Validator>,
    pub(crate) score: f32,
    pub(crate) context_score: f32,
    pub(crate) context: Vec<String>,
    pub(crate) negative_context: Vec<String>,
    pub(crate) context_window: usize,
    pub(crate) context_required: bool,
    /// In a column's values, a match that validates is evidence of the
    /// column's class without context words (the column is the context).
    pub(crate) column_evidence: bool,
    /// Matches log timestamps: enabled only while they are reported.
    pub(crate) log_timestamp: bool,
    pub(crate) examples: Vec<String>,
    pub(crate) negatives: Vec<String>,
    /// For key classes: the phrases of field names whose values are this
    /// entity (any spelling, see `hints.rs`); empty for regex patterns.
    pub(crate) keys: Vec<String>,
    /// For key classes: letters and digits a value needs to be reported (a
    /// `patient_id` of 7 is a row key, not a medical record number).
    pub(crate) min_length: usize,
    /// For HL7 rules: the fields they read and how.
    pub(crate) hl7: Option<Hl7Spec>,
    /// For DICOM rules: the tags and value representations they read.
    pub(crate) dicom: Option<crate::format::text::dicom::DicomSpec>,
}

/// What an `[[hl7]]` rule reads: fields (segment name, field number), a
/// type and, for identifiers, the type codes it claims.
#[derive(Clone, Debug)]
pub(crate) struct Hl7Spec {
    pub(crate) fields: Vec<([u8; 3], u16)>,
    pub(crate) kind: crate::format::text::hl7::FieldKind,
    pub(crate) codes: Vec<String>,
}

impl Pattern {
    /// A rule that is not a regex (a key class, an HL7 or DICOM rule, a
    /// deny term): one score, no context words, nothing else set.
    pub(crate) fn rule(
        id: String,
        entity: Entity,
        description: String,
        score: f32,
    ) -> Pattern {
        Pattern {
            id,
            entity,
            description,
            regex: String::new(),
            group: 0,
            validator: None,
            score,
            context_score: score,
            context: Vec::new(),
            negative_context: Vec::new(),
            context_window: 0,
            context_required: false,
            column_evidence: false,
            log_timestamp: false,
            examples: Vec::new(),
            negatives: Vec::new(),
            keys: Vec::new(),
            min_length: 0,
            hl7: None,
            dicom: None,
        }
    }

    /// The stable identifier, such as `ssn.formatted`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The entity type this pattern reports.
    pub fn entity(&self) -> Entity {
        self.entity
    }

    /// What the pattern matches, in a sentence.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The regex source (ASCII mode, matched against bytes).
    pub fn regex(&self) -> &str {
        &self.regex
    }

    /// The score without context words nearby.
    pub fn score(&self) -> f32 {
        self.score
    }

    /// The score with a context word in the window.
    pub fn context_score(&self) -> f32 {
        self.context_score
    }

    /// The validator's name, if the pattern has one.
    pub fn validator(&self) -> Option<&'static str> {
        self.validator.map(Validator::name)
    }

    /// For checksum validators, how often a random string of the right
    /// shape passes (NPI 1/50, Luhn 1/10 ...): the evidence a pass gives.
    pub fn checksum_pass_rate(&self) -> Option<f64> {
        self.validator.and_then(Validator::chance_pass_rate)
    }

    /// Whether a match without context is dropped.
    pub fn context_required(&self) -> bool {
        self.context_required
    }

    /// For a key class (a `[[key]]` table), the phrases of the field names
    /// it matches, as written in the pattern file; empty for a regex
    /// pattern.
    pub fn keys(&self) -> &[String] {
        &self.keys
    }

    /// Positive examples; the expected finding is marked `«like this»`.
    pub fn examples(&self) -> &[String] {
        &self.examples
    }

    /// Texts in which this pattern's entity must not be reported.
    pub fn negatives(&self) -> &[String] {
        &self.negatives
    }
}

/// Text known not to be sensitive (a log line's leading timestamp, a
/// UUID). A match is skipped whole: no finding starts inside it.
#[derive(Clone, Debug)]
pub(crate) struct Ignore {
    pub(crate) id: String,
    pub(crate) regex: String,
    /// Only in force while log timestamps are not reported.
    pub(crate) log_timestamp: bool,
    #[allow(dead_code, reason = "read by the pack tests")]
    pub(crate) examples: Vec<String>,
}

/// The contents of one pattern file.
#[derive(Debug, Default)]
pub(crate) struct PackFile {
    pub(crate) patterns: Vec<Pattern>,
    pub(crate) ignores: Vec<Ignore>,
    /// Key classes, as patterns with `keys` and no regex.
    pub(crate) keys: Vec<Pattern>,
    /// HL7 field and DICOM element rules, as patterns with `hl7` or
    /// `dicom` and no regex.
    pub(crate) hl7: Vec<Pattern>,
    /// Field names whose values hold no PHI (`[fields] none`).
    pub(crate) none: Vec<String>,
    /// Words that make a field about its value (`[fields] about`).
    pub(crate) about: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    pattern: Vec<RawPattern>,
    #[serde(default)]
    ignore: Vec<RawIgnore>,
    #[serde(default)]
    key: Vec<RawKey>,
    #[serde(default)]
    fields: RawFields,
    #[serde(default)]
    hl7: Vec<RawHl7>,
    #[serde(default)]
    dicom: Vec<RawDicom>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDicom {
    id: String,
    entity: String,
    description: String,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    vr: Vec<String>,
    #[serde(rename = "type")]
    kind: String,
    score: f32,
    #[serde(default)]
    examples: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHl7 {
    id: String,
    entity: String,
    description: String,
    fields: Vec<String>,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    codes: Vec<String>,
    score: f32,
    #[serde(default)]
    examples: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawFields {
    #[serde(default)]
    none: Vec<String>,
    #[serde(default)]
    about: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKey {
    id: String,
    entity: String,
    description: String,
    names: Vec<String>,
    score: f32,
    validator: Option<String>,
    #[serde(default = "one")]
    min_length: usize,
    #[serde(default)]
    examples: Vec<String>,
    #[serde(default)]
    #[allow(dead_code, reason = "documentation for readers of the file")]
    since: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIgnore {
    id: String,
    #[allow(dead_code, reason = "documentation for readers of the file")]
    description: String,
    regex: String,
    #[serde(default)]
    log_timestamp: bool,
    #[serde(default)]
    examples: Vec<String>,
    #[serde(default)]
    #[allow(dead_code, reason = "documentation for readers of the file")]
    since: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPattern {
    id: String,
    entity: String,
    description: String,
    regex: String,
    #[serde(default)]
    group: usize,
    validator: Option<String>,
    score: f32,
    context_score: Option<f32>,
    #[serde(default)]
    context: Vec<String>,
    #[serde(default)]
    negative_context: Vec<String>,
    context_window: Option<usize>,
    #[serde(default)]
    context_required: bool,
    #[serde(default)]
    column_evidence: bool,
    #[serde(default)]
    log_timestamp: bool,
    #[serde(default)]
    examples: Vec<String>,
    #[serde(default)]
    negatives: Vec<String>,
    #[serde(default)]
    #[allow(dead_code, reason = "documentation for readers of the file")]
    since: Option<String>,
    #[serde(default)]
    #[allow(dead_code, reason = "documentation for readers of the file")]
    references: Vec<String>,
}

/// Parses one pattern file. `origin` names it in errors.
pub(crate) fn parse_file(
    origin: &str,
    text: &str,
) -> Result<PackFile, BuildError> {
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        BuildError::new(BuildErrorKind::File {
            origin: origin.to_string(),
            message: e.message().to_string(),
            span: e.span(),
        })
    })?;
    let patterns = raw
        .pattern
        .into_iter()
        .map(|p| convert(origin, p))
        .collect::<Result<_, _>>()?;
    let ignores = raw
        .ignore
        .into_iter()
        .map(|i| Ignore {
            id: i.id,
            regex: i.regex,
            log_timestamp: i.log_timestamp,
            examples: i.examples,
        })
        .collect();
    let keys = raw
        .key
        .into_iter()
        .map(|k| convert_key(origin, k))
        .collect::<Result<_, _>>()?;
    let RawFields { none, about } = raw.fields;
    let mut hl7: Vec<Pattern> = raw
        .hl7
        .into_iter()
        .map(|h| convert_hl7(origin, h))
        .collect::<Result<_, _>>()?;
    for d in raw.dicom {
        hl7.push(convert_dicom(origin, d)?);
    }
    Ok(PackFile { patterns, ignores, keys, hl7, none, about })
}

fn one() -> usize {
    1
}

fn convert_dicom(origin: &str, d: RawDicom) -> Result<Pattern, BuildError> {
    let invalid = |what: String| {
        BuildError::new(BuildErrorKind::InvalidPattern {
            origin: origin.to_string(),
            id: d.id.clone(),
            what,
        })
    };
    let entity =
        d.entity.parse::<Entity>().map_err(|e| invalid(e.to_string()))?;
    if !(0.0..=1.0).contains(&d.score) {
        return Err(invalid("scores must be between 0 and 1".into()));
    }
    let spec =
        crate::format::text::dicom::DicomSpec::parse(&d.tags, &d.vr, &d.kind)
            .map_err(invalid)?;
    Ok(Pattern {
        examples: d.examples,
        dicom: Some(spec),
        ..Pattern::rule(d.id, entity, d.description, d.score)
    })
}

fn convert_hl7(origin: &str, h: RawHl7) -> Result<Pattern, BuildError> {
    let invalid = |what: String| {
        BuildError::new(BuildErrorKind::InvalidPattern {
            origin: origin.to_string(),
            id: h.id.clone(),
            what,
        })
    };
    let entity =
        h.entity.parse::<Entity>().map_err(|e| invalid(e.to_string()))?;
    if !(0.0..=1.0).contains(&h.score) {
        return Err(invalid("scores must be between 0 and 1".into()));
    }
    let kind = crate::format::text::hl7::FieldKind::from_name(&h.kind)
        .ok_or_else(|| {
            invalid(format!(
                "unknown type {:?}; known: {}",
                h.kind,
                crate::format::text::hl7::FieldKind::NAMES
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
    let mut fields = Vec::with_capacity(h.fields.len());
    for f in &h.fields {
        let parsed = f.split_once('-').and_then(|(seg, n)| {
            let seg: [u8; 3] = seg.as_bytes().try_into().ok()?;
            let ok = seg[0].is_ascii_uppercase()
                && seg[1..]
                    .iter()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
            let n: u16 = n.parse().ok().filter(|&n| n >= 1)?;
            ok.then_some((seg, n))
        });
        fields.push(parsed.ok_or_else(|| {
            invalid(format!("field {f:?} is not SEG-n (PID-5)"))
        })?);
    }
    if fields.is_empty() {
        return Err(invalid("fields must not be empty".into()));
    }
    Ok(Pattern {
        examples: h.examples,
        hl7: Some(Hl7Spec { fields, kind, codes: h.codes }),
        ..Pattern::rule(h.id, entity, h.description, h.score)
    })
}

fn convert_key(origin: &str, k: RawKey) -> Result<Pattern, BuildError> {
    let invalid = |what: String| {
        BuildError::new(BuildErrorKind::InvalidPattern {
            origin: origin.to_string(),
            id: k.id.clone(),
            what,
        })
    };
    let entity =
        k.entity.parse::<Entity>().map_err(|e| invalid(e.to_string()))?;
    if !(0.0..=1.0).contains(&k.score) {
        return Err(invalid("scores must be between 0 and 1".into()));
    }
    let mut buf = String::new();
    if k.names.is_empty()
        || k.names
            .iter()
            .any(|n| super::hints::words(n.as_bytes(), &mut buf).is_empty())
    {
        return Err(invalid(
            "names must be non-empty and contain letters or digits".into(),
        ));
    }
    let validator = match &k.validator {
        None => None,
        Some(name) => {
            Some(Validator::from_name(name).ok_or_else(|| {
                invalid(format!("unknown validator {name:?}"))
            })?)
        }
    };
    Ok(Pattern {
        validator,
        examples: k.examples,
        keys: k.names,
        min_length: k.min_length,
        ..Pattern::rule(k.id, entity, k.description, k.score)
    })
}

fn convert(origin: &str, p: RawPattern) -> Result<Pattern, BuildError> {
    let invalid = |what: String| {
        BuildError::new(BuildErrorKind::InvalidPattern {
            origin: origin.to_string(),
            id: p.id.clone(),
            what,
        })
    };
    if p.id.is_empty()
        || !p.id.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b)
        })
    {
        return Err(invalid(
            "id must be non-empty lower-case ASCII, digits, '.', '_' or '-'"
                .into(),
        ));
    }
    let entity =
        p.entity.parse::<Entity>().map_err(|e| invalid(e.to_string()))?;
    let validator = match &p.validator {
        None => None,
        Some(name) => Some(Validator::from_name(name).ok_or_else(|| {
            let known: Vec<&str> =
                Validator::NAMES.iter().map(|(n, _)| *n).collect();
            invalid(format!(
                "unknown validator {name:?}; known: {}",
                known.join(", ")
            ))
        })?),
    };
    let context_score = p.context_score.unwrap_or(p.score);
    for s in [p.score, context_score] {
        if !(0.0..=1.0).contains(&s) {
            return Err(invalid("scores must be between 0 and 1".into()));
        }
    }
    if p.context_required && p.context.is_empty() {
        return Err(invalid(
            "context_required needs at least one context word".into(),
        ));
    }
    let window = p.context_window.unwrap_or(DEFAULT_WINDOW);
    if window > MAX_WINDOW {
        return Err(invalid(format!(
            "context_window is at most {MAX_WINDOW} characters"
        )));
    }
    let words = p.context.iter().chain(&p.negative_context);
    if words.clone().any(|w| w.trim().is_empty() || !w.is_ascii()) {
        return Err(invalid("context words must be non-empty ASCII".into()));
    }
    Ok(Pattern {
        id: p.id,
        entity,
        description: p.description,
        regex: p.regex,
        group: p.group,
        validator,
        score: p.score,
        context_score,
        context: p.context,
        negative_context: p.negative_context,
        context_window: window,
        context_required: p.context_required,
        column_evidence: p.column_evidence,
        log_timestamp: p.log_timestamp,
        examples: p.examples,
        negatives: p.negatives,
        keys: Vec::new(),
        min_length: 0,
        hl7: None,
        dicom: None,
    })
}

/// The default pack, embedded at compile time.
pub(crate) const DEFAULT_PACK: &[(&str, &str)] = &[
    ("age.toml", include_str!("../../patterns/age.toml")),
    ("contact.toml", include_str!("../../patterns/contact.toml")),
    ("date.toml", include_str!("../../patterns/date.toml")),
    ("financial.toml", include_str!("../../patterns/financial.toml")),
    ("government.toml", include_str!("../../patterns/government.toml")),
    ("health.toml", include_str!("../../patterns/health.toml")),
    ("hl7.toml", include_str!("../../patterns/hl7.toml")),
    ("ignore.toml", include_str!("../../patterns/ignore.toml")),
    ("keys.toml", include_str!("../../patterns/keys.toml")),
    ("location.toml", include_str!("../../patterns/location.toml")),
    ("network.toml", include_str!("../../patterns/network.toml")),
    ("person.toml", include_str!("../../patterns/person.toml")),
    ("secret.toml", include_str!("../../patterns/secret.toml")),
    (
        "vehicle-device.toml",
        include_str!("../../patterns/vehicle-device.toml"),
    ),
];

/// The default pack, parsed.
pub(crate) fn default_pack() -> PackFile {
    let mut pack = PackFile::default();
    for (name, text) in DEFAULT_PACK {
        let file = parse_file(name, text).expect("the default pack parses");
        pack.patterns.extend(file.patterns);
        pack.ignores.extend(file.ignores);
        pack.keys.extend(file.keys);
        pack.hl7.extend(file.hl7);
        pack.none.extend(file.none);
        pack.about.extend(file.about);
    }
    pack
}

/// Every pattern of the default pack.
#[cfg(test)]
pub(crate) fn default_patterns() -> Vec<Pattern> {
    default_pack().patterns
}
