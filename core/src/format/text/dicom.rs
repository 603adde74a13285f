//! DICOM elements in text, as dcmdump, pydicom and the DICOM JSON model
//! print them.
//!
//! A tag names what a value is: `(0010,0010)` is the patient's name and
//! `PN` values are always person names, whatever the tag. The rules are
//! data (`[[dicom]]` in `patterns/hl7.toml`):
//!
//! ```text
//! (0010,0010) PN [PARK^HELEN]                #  10, 1 PatientName
//! (0010, 0010) Patient's Name          PN: 'PARK^HELEN'
//! "00100010":{"vr":"PN","Value":[{"Alphabetic":"PARK^HELEN"}]}
//! ```

use std::collections::HashMap;
use std::ops::Range;

/// The furthest a value starts and ends after its tag, in bytes.
pub(crate) const MAX_ELEMENT: usize = 512;

/// What a rule reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ValueKind {
    /// The value.
    Value,
    /// The years of an age string (`094Y`), when over 89.
    Age,
}

/// What a `[[dicom]]` rule reads: tags (`00100010`) and value
/// representations (`PN`).
#[derive(Clone, Debug)]
pub(crate) struct DicomSpec {
    pub(crate) tags: Vec<[u8; 8]>,
    pub(crate) vrs: Vec<[u8; 2]>,
    pub(crate) kind: ValueKind,
}

impl DicomSpec {
    /// Parses tags written `gggg,eeee` and value representations.
    pub(crate) fn parse(
        tags: &[String],
        vrs: &[String],
        kind: &str,
    ) -> Result<DicomSpec, String> {
        let kind = match kind {
            "value" => ValueKind::Value,
            "age" => ValueKind::Age,
            other => {
                return Err(format!(
                    "unknown type {other:?}; known: value, age"
                ));
            }
        };
        let mut out = DicomSpec { tags: Vec::new(), vrs: Vec::new(), kind };
        for t in tags {
            let hex: Vec<u8> = t
                .bytes()
                .filter(|b| *b != b',')
                .map(|b| b.to_ascii_uppercase())
                .collect();
            let tag: [u8; 8] = hex
                .as_slice()
                .try_into()
                .ok()
                .filter(|h: &[u8; 8]| h.iter().all(u8::is_ascii_hexdigit))
                .ok_or_else(|| format!("tag {t:?} is not gggg,eeee"))?;
            out.tags.push(tag);
        }
        for v in vrs {
            let vr: [u8; 2] = v
                .as_bytes()
                .try_into()
                .ok()
                .filter(|v: &[u8; 2]| v.iter().all(u8::is_ascii_uppercase))
                .ok_or_else(|| {
                    format!("value representation {v:?} is not two capitals")
                })?;
            out.vrs.push(vr);
        }
        if out.tags.is_empty() && out.vrs.is_empty() {
            return Err("a rule needs tags or vr".into());
        }
        Ok(out)
    }
}

/// The DICOM rules of a scanner.
#[derive(Debug, Default)]
pub(crate) struct Dicom {
    by_tag: HashMap<[u8; 8], Vec<(usize, ValueKind)>>,
    by_vr: HashMap<[u8; 2], Vec<(usize, ValueKind)>>,
}

impl Dicom {
    /// Adds rule `pattern`.
    pub(crate) fn add(&mut self, pattern: usize, spec: &DicomSpec) {
        for t in &spec.tags {
            self.by_tag.entry(*t).or_default().push((pattern, spec.kind));
        }
        for v in &spec.vrs {
            self.by_vr.entry(*v).or_default().push((pattern, spec.kind));
        }
    }

    /// The rule that reads the value of tag `tag` (`00100010`, any case)
    /// whole, if any: for DICOM JSON read as JSON, where the tag is a key.
    /// `person` says the value sits under a person name's component
    /// (`Alphabetic`), which only value representation PN has.
    pub(crate) fn tag_rule(&self, tag: &[u8], person: bool) -> Option<usize> {
        let tag: [u8; 8] = tag.try_into().ok()?;
        if !tag.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        let value = |rules: &Vec<(usize, ValueKind)>| {
            rules.iter().find(|r| r.1 == ValueKind::Value).map(|r| r.0)
        };
        let by_tag = self.by_tag.get(&tag.map(|b| b.to_ascii_uppercase()));
        by_tag.and_then(value).or_else(|| {
            person.then(|| self.by_vr.get(b"PN").and_then(value)).flatten()
        })
    }

    /// Calls `emit(pattern, span)` for the values of elements whose tag
    /// starts in `from..limit`.
    pub(crate) fn findings(
        &self,
        hay: &[u8],
        from: usize,
        limit: usize,
        mut emit: impl FnMut(usize, Range<usize>),
    ) {
        if self.by_tag.is_empty() && self.by_vr.is_empty() {
            return;
        }
        let stop = limit.min(hay.len());
        for i in memchr::memchr2_iter(b'(', b'"', &hay[from..stop]) {
            let at = from + i;
            let element = match hay[at] {
                b'(' => paren(hay, at),
                _ => json(hay, at),
            };
            // An empty value (`PN []`) holds nothing to find.
            let Some((tag, vr, value)) =
                element.filter(|(_, _, v)| !v.is_empty())
            else {
                continue;
            };
            let rules = self
                .by_tag
                .get(&tag)
                .into_iter()
                .chain(vr.and_then(|v| self.by_vr.get(&v)));
            for &(p, kind) in rules.flatten() {
                match kind {
                    ValueKind::Value => emit(p, value.clone()),
                    ValueKind::Age => {
                        let digits = hay[value.clone()]
                            .iter()
                            .take_while(|b| b.is_ascii_digit())
                            .count();
                        let years = hay[value.start..value.start + digits]
                            .iter()
                            .fold(0u32, |n, b| {
                                n.saturating_mul(10)
                                    .saturating_add(u32::from(b - b'0'))
                            });
                        let unit_years = hay
                            .get(value.start + digits)
                            .is_none_or(|&u| u == b'Y');
                        if digits > 0
                            && years > 89
                            && years < 200
                            && unit_years
                        {
                            emit(p, value.start..value.start + digits);
                        }
                    }
                }
            }
        }
    }
}

/// An element: its tag, its value representation when printed, and where
/// its value is.
type Element = ([u8; 8], Option<[u8; 2]>, Range<usize>);

fn hex4(b: &[u8]) -> Option<[u8; 4]> {
    let h: [u8; 4] = b.get(..4)?.try_into().ok()?;
    h.iter()
        .all(u8::is_ascii_hexdigit)
        .then(|| h.map(|c| c.to_ascii_uppercase()))
}

/// `(gggg,eeee) VR [value]` or `(gggg, eeee) Description  VR: 'value'`.
fn paren(hay: &[u8], at: usize) -> Option<Element> {
    let g = hex4(&hay[at + 1..])?;
    let mut i = at + 5;
    if hay.get(i) != Some(&b',') {
        return None;
    }
    i += 1;
    if hay.get(i) == Some(&b' ') {
        i += 1;
    }
    let e = hex4(&hay[i..])?;
    i += 4;
    if hay.get(i) != Some(&b')') {
        return None;
    }
    let mut tag = [0u8; 8];
    tag[..4].copy_from_slice(&g);
    tag[4..].copy_from_slice(&e);
    let line_end = hay[i..hay.len().min(i + MAX_ELEMENT)]
        .iter()
        .position(|&b| b == b'\n' || b == b'\r')
        .map_or(hay.len().min(i + MAX_ELEMENT), |k| i + k);
    let rest = &hay[i + 1..line_end];
    let trimmed = rest.iter().position(|&b| b != b' ')?;
    // dcmdump: `VR [value]`.
    if rest.len() > trimmed + 3
        && rest[trimmed..trimmed + 2].iter().all(u8::is_ascii_uppercase)
    {
        let vr = [rest[trimmed], rest[trimmed + 1]];
        let after = &rest[trimmed + 2..];
        let sp = after.iter().position(|&b| b != b' ')?;
        if after.get(sp) == Some(&b'[') {
            let open = i + 1 + trimmed + 2 + sp + 1;
            let close =
                open + hay[open..line_end].iter().position(|&b| b == b']')?;
            return Some((tag, Some(vr), open..close));
        }
    }
    // pydicom: `... VR: value`, quoted or not.
    let colon = memchr::memmem::find(rest, b": ")?;
    let vr = (colon >= 2
        && rest[colon - 2..colon].iter().all(u8::is_ascii_uppercase))
    .then(|| [rest[colon - 2], rest[colon - 1]]);
    let mut s = i + 1 + colon + 2;
    let mut e = line_end;
    // The line may be cut at MAX_ELEMENT: a quote past it is not ours.
    if let Some(&q @ (b'\'' | b'"')) = hay[..line_end].get(s) {
        s += 1;
        e = s + hay[s..line_end].iter().position(|&b| b == q)?;
    }
    while e > s && hay[e - 1] == b' ' {
        e -= 1;
    }
    (e > s).then_some((tag, vr, s..e))
}

/// `"ggggeeee":{"vr":"XX","Value":["value"]}` (PN values as
/// `{"Alphabetic":"..."}`).
fn json(hay: &[u8], at: usize) -> Option<Element> {
    let g = hex4(&hay[at + 1..])?;
    let e = hex4(&hay[at + 5..])?;
    if hay.get(at + 9..at + 11) != Some(b"\":") {
        return None;
    }
    let mut tag = [0u8; 8];
    tag[..4].copy_from_slice(&g);
    tag[4..].copy_from_slice(&e);
    let end = hay.len().min(at + MAX_ELEMENT);
    let body = &hay[at + 11..end];
    let vr = memchr::memmem::find(body, b"\"vr\":\"").and_then(|k| {
        let v = body.get(k + 6..k + 8)?;
        v.iter().all(u8::is_ascii_uppercase).then(|| [v[0], v[1]])
    });
    let values = memchr::memmem::find(body, b"\"Value\":[")? + 9;
    let mut s = at + 11 + values;
    // Another element's values are not this one's.
    if memchr::memmem::find(&body[..values], b"}").is_some() {
        return None;
    }
    if hay[s..end].starts_with(b"{\"Alphabetic\":") {
        s += 14;
    }
    if hay.get(s) != Some(&b'"') {
        return None;
    }
    s += 1;
    let close = s + hay[s..end].iter().position(|&b| b == b'"')?;
    (close > s).then_some((tag, vr, s..close))
}
