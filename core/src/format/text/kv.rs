//! Keys in text: `patient_mrn=61038852`, `"dob": "1957-03-14"`,
//! `'ssn' => '219099999'`, `Date of Birth: 03/14/1957`, `MRN ....... K2091`.
//!
//! Logs, transcripts and notes carry structured data as text. At every
//! assignment operator (`=`, `=>`, `:`, a dot leader, a ` - ` after a
//! line-opening label) the key before it is read with the same phrase
//! dictionary as JSON keys and CSV headers (`hints.rs`), and the value
//! after it is:
//!
//! - reported as the key's entity when the key names one, even where no
//!   pattern matches the value alone (`dev=QK20931175`);
//! - marked as holding no PHI when the key says so (`"timestamp": ...`,
//!   `created_at=...`): the dates in it are event times.
//!
//! A key in text must end with its phrase (`Pt called from cell:` is a
//! phone label, `the patient reports the following:` is not), perhaps
//! followed by `number`, `no`, `id` or `#`. Every decision reads at most
//! [`REACH_BEHIND`] bytes before a value and [`MAX_VALUE`] after its start,
//! so streaming stays exact.

use std::ops::Range;

use crate::scan::hints::{
    FieldHint, Fields, WordBuf, is_generic, is_label_key,
};

/// The longest key read, in bytes.
const MAX_KEY: usize = 48;

/// The longest dot leader between a key and its value.
const MAX_LEADER: usize = 64;

/// The longest value reported, in bytes.
pub(crate) const MAX_VALUE: usize = 256;

/// How far before a value's first byte its key may start.
pub(crate) const REACH_BEHIND: usize = MAX_KEY + MAX_LEADER + 16;

/// How far before a bound parameter (`parameters: $1 = '...'`) the
/// statement naming its column (`SET mrn = $1`) is looked for.
pub(crate) const BIND_REACH: usize = 1536;

/// A key and its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct KeyValue {
    pub(crate) hint: FieldHint,
    pub(crate) value: Range<usize>,
    /// Read as a label (`Key: value` to the end of the line) rather than
    /// an assignment: prose is near, so values need more shape.
    pub(crate) label: bool,
}

/// Buffers for reading keys, and whether keys holding no PHI matter here.
struct Reader {
    words: WordBuf,
    none: bool,
}

/// How the key meets its value, which says where an unquoted value ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Style {
    /// `key=value`, `"key":"value"`, `Key:value`: up to whitespace or a
    /// separator.
    Assign,
    /// `Key: value`, `Key - value`, `Key ..... value`: up to the end of the
    /// line, a tab, two spaces or a `|`.
    Label,
}

fn key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(b, b'_' | b'-' | b'.' | b'#')
        || b >= 0x80
}

/// Calls `f` for every pair whose key names an entity and whose operator
/// is in `from..limit`. Keys that hold no PHI are not read here: see
/// [`not_phi_at`].
pub(crate) fn pairs(
    fields: &Fields,
    hay: &[u8],
    from: usize,
    limit: usize,
    mut f: impl FnMut(KeyValue),
) {
    let buf = &mut Reader { words: WordBuf::default(), none: false };
    for op in memchr::memchr2_iter(b'=', b':', &hay[from..limit]) {
        let op = from + op;
        let found = match hay[op] {
            b'=' if op > 0
                && hay[op - 1] == b')'
                && hay.get(op + 1) == Some(&b'(') =>
            {
                parens(fields, buf, hay, op, &mut f);
                None
            }
            b'=' if bound_parameter(hay, op).is_some() => {
                parameter(fields, buf, hay, op)
            }
            b'=' => assign(fields, buf, hay, op),
            _ => colon(fields, buf, hay, op),
        };
        if let Some(kv) = found {
            f(kv);
        }
    }
    // Dot leaders (` ...`) and ` - ` after a label opening a line are
    // rarer: found on their own.
    let mut skip_to = from;
    for i in memchr::memmem::find_iter(&hay[from..limit], b" ...") {
        let op = from + i + 1;
        if op < skip_to {
            continue;
        }
        let mut end = op;
        if let Some(kv) = leader(fields, buf, hay, op, &mut end) {
            f(kv);
        }
        skip_to = end;
    }
    for i in memchr::memmem::find_iter(&hay[from..limit], b" - ") {
        let op = from + i;
        if let Some(kv) = dash(fields, buf, hay, op) {
            f(kv);
        }
    }
    // `Date of Birth\t03/14/1957`: a form's fields a line each, as a
    // spreadsheet or a two-column export pastes them.
    for i in memchr::memchr_iter(b'\t', &hay[from..limit]) {
        let op = from + i;
        if let Some(kv) = tab(fields, buf, hay, op) {
            f(kv);
        }
    }
}

/// Whether `hay[span]` lies in the value of a key that holds no PHI
/// (`"timestamp": "2026-12-03T07:30:00Z"`, `created_at=...`): the nearest
/// operators before it on its line are read as they are in [`pairs`].
pub(crate) fn not_phi_at(
    fields: &Fields,
    hay: &[u8],
    span: Range<usize>,
) -> bool {
    let buf = &mut Reader { words: WordBuf::default(), none: true };
    let low = span.start.saturating_sub(MAX_VALUE.min(96));
    let mut end = span.start;
    for _ in 0..4 {
        let Some(i) = hay[low..end].iter().rposition(|&b| {
            matches!(b, b'=' | b':' | b'\n' | b'.' | b'-' | b'\t')
        }) else {
            return false;
        };
        let op = low + i;
        end = op;
        let pair = match hay[op] {
            b'\n' => return false,
            b'\t' => tab(fields, buf, hay, op),
            b'=' => assign(fields, buf, hay, op),
            b':' => colon(fields, buf, hay, op),
            b'.' => {
                // The first dot of a leader.
                let first = hay[low..=op]
                    .iter()
                    .rposition(|&b| b != b'.')
                    .map_or(low, |j| low + j + 1);
                end = first;
                leader(fields, buf, hay, first, &mut 0)
            }
            _ if op >= 1 && hay.get(op - 1..op + 2) == Some(b" - ") => {
                dash(fields, buf, hay, op - 1)
            }
            _ => None,
        };
        if let Some(kv) = pair {
            return kv.hint == FieldHint::NotPhi
                && kv.value.start <= span.start
                && span.end <= kv.value.end;
        }
    }
    false
}

/// `key=value` and `key => value`.
fn assign(
    fields: &Fields,
    buf: &mut Reader,
    hay: &[u8],
    op: usize,
) -> Option<KeyValue> {
    if hay.get(op + 1) == Some(&b'=')
        || (op > 0 && matches!(hay[op - 1], b'=' | b'!' | b'<' | b'>'))
    {
        // `==`, `!=`, `<=`, `>=`: comparisons.
        return None;
    }
    let (key_end, arrow) =
        if hay.get(op + 1) == Some(&b'>') { (op, true) } else { (op, false) };
    let after = if arrow { op + 2 } else { op + 1 };
    let key = key_before(hay, trim_back(hay, key_end), false)?;
    // A label before a generic key outranks the key (`id` holds no PHI,
    // but `type=passport id=...` does).
    let hint = match key_hint(fields, buf, hay, key.clone()) {
        Some(FieldHint::Entity(p)) => FieldHint::Entity(p),
        other => labelled(fields, hay, key, op).or(other)?,
    };
    value_after(hay, after, Style::Assign, hint)
}

/// `Key (patient_name)=(Yevgeny Cowden) already exists.` and `Key (last,
/// dob)=(Quixote, 1957-03-14)`: PostgreSQL names the columns of a
/// violated constraint and their values. The values end at the line's
/// last `)`; several columns take their values by position when the
/// count agrees (a value holding `, ` makes it disagree: then only a
/// single column is read).
fn parens(
    fields: &Fields,
    buf: &mut Reader,
    hay: &[u8],
    op: usize,
    f: &mut impl FnMut(KeyValue),
) {
    let low = op.saturating_sub(REACH_BEHIND);
    let Some(open) = hay[low..op - 1]
        .iter()
        .rposition(|&b| matches!(b, b'(' | b'\n' | b')'))
        .map(|i| low + i)
        .filter(|&i| hay[i] == b'(')
    else {
        return;
    };
    let from = op + 2;
    let limit = hay.len().min(from + MAX_VALUE);
    let line = hay[from..limit]
        .iter()
        .position(|&b| matches!(b, b'\n' | b'\r'))
        .map_or(limit, |i| from + i);
    let Some(close) = hay[from..line].iter().rposition(|&b| b == b')') else {
        return;
    };
    let close = from + close;
    let keys = split_list(hay, open + 1..op - 1, b", ");
    let values = split_list(hay, from..close, b", ");
    let mut values = values;
    if keys.len() == 1 {
        values = std::iter::once(from..close).collect();
    } else if keys.len() != values.len() {
        return;
    }
    for (key, value) in keys.into_iter().zip(values) {
        if value.is_empty() {
            continue;
        }
        if let Some(hint) = key_hint(fields, buf, hay, key) {
            f(KeyValue { hint, value, label: false });
        }
    }
}

/// The items of a `sep`-separated list in `hay[span]`, trimmed.
fn split_list(
    hay: &[u8],
    span: Range<usize>,
    sep: &[u8],
) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = span.start;
    let mut push = |s: usize, e: usize| {
        let t = &hay[s..e];
        let lead = t.len() - t.trim_ascii_start().len();
        let trail = t.len() - t.trim_ascii_end().len();
        out.push(s + lead..(e - trail).max(s + lead));
    };
    for i in memchr::memmem::find_iter(&hay[span.clone()], sep) {
        push(start, span.start + i);
        start = span.start + i + sep.len();
    }
    push(start, span.end);
    out
}

/// The placeholder `$N` before the `=` at `op`, as PostgreSQL logs the
/// parameters of a statement (`DETAIL:  parameters: $1 = '219099999'`):
/// its number's bytes.
fn bound_parameter(hay: &[u8], op: usize) -> Option<Range<usize>> {
    let end = trim_back(hay, op);
    let digits = hay[..end].iter().rev().take_while(|b| b.is_ascii_digit());
    let start = end - digits.count();
    (start < end && start > 0 && hay[start - 1] == b'$').then_some(start..end)
}

/// `$1 = 'value'` after a statement that names the column `$1` is bound
/// to: `UPDATE patients SET mrn = $1`, `WHERE ssn = $2`, `INSERT INTO t
/// (mrn, dob) VALUES ($1, $2)`. The statement is the nearest placeholder
/// of that number within [`BIND_REACH`] before the parameter's line that
/// is not itself a logged parameter.
fn parameter(
    fields: &Fields,
    buf: &mut Reader,
    hay: &[u8],
    op: usize,
) -> Option<KeyValue> {
    let number = bound_parameter(hay, op)?;
    let n = &hay[number.clone()];
    let low = number.start.saturating_sub(BIND_REACH);
    let mut end = number.start - 1;
    let at = loop {
        let i = low + memchr::memmem::rfind(&hay[low..end], n)?;
        end = i;
        let after = &hay[i + n.len()..];
        if i == 0
            || hay[i - 1] != b'$'
            || after.first().is_some_and(u8::is_ascii_digit)
        {
            continue;
        }
        // `$1 = '...'`: a parameter logged before, not a placeholder.
        let rest = after.trim_ascii_start();
        if rest.starts_with(b"= '") || rest.starts_with(b"= NULL") {
            continue;
        }
        break i - 1;
    };
    let key = placeholder_column(hay, at)?;
    let hint = key_hint(fields, buf, hay, key)?;
    value_after(hay, op + 1, Style::Assign, hint)
}

/// The column a placeholder at `at` (its `$`) stands for: the operand of
/// a comparison or assignment before it, or the column in the same place
/// of an INSERT's column list.
fn placeholder_column(hay: &[u8], at: usize) -> Option<Range<usize>> {
    let low = at.saturating_sub(MAX_VALUE);
    let before = trim_back(hay, at);
    match hay[..before].last()? {
        b'=' | b'<' | b'>' => {
            let mut op = before - 1;
            while op > low && matches!(hay[op - 1], b'<' | b'>' | b'!') {
                op -= 1;
            }
            let end = trim_back(hay, op);
            let end = if hay[..end].ends_with(b"\"") { end - 1 } else { end };
            let key = key_before(hay, end, false)?;
            // `p.mrn`: the column, not its table.
            let dot = hay[key.clone()].iter().rposition(|&b| b == b'.');
            Some(dot.map_or(key.clone(), |d| key.start + d + 1..key.end))
        }
        b'(' | b',' => {
            // Which item of the VALUES tuple, and that item of the column
            // list before it.
            let open = hay[low..before]
                .iter()
                .rposition(|&b| matches!(b, b'(' | b')'))
                .map(|i| low + i)
                .filter(|&i| hay[i] == b'(')?;
            let index = hay[open..at].iter().filter(|&&b| b == b',').count();
            let head = trim_back(hay, open);
            if !hay[..head].to_ascii_uppercase().ends_with(b"VALUES") {
                return None;
            }
            let close = trim_back(hay, head - 6);
            if close == 0 || hay[close - 1] != b')' {
                return None;
            }
            let cols_low = close.saturating_sub(MAX_VALUE);
            let cols_open = cols_low
                + hay[cols_low..close - 1].iter().rposition(|&b| b == b'(')?;
            let col = split_list(hay, cols_open + 1..close - 1, b",")
                .into_iter()
                .nth(index)?;
            // `"mrn"`: the name inside its quotes.
            let quoted = col.len() >= 2
                && hay[col.start] == b'"'
                && hay[col.end - 1] == b'"';
            Some(if quoted { col.start + 1..col.end - 1 } else { col })
        }
        _ => None,
    }
}

/// `type=DL state=OH number=TR558102`: a generic key (`number`, `id`,
/// `value`) is read as the label ([`is_label_key`]) earlier on its line
/// says, as a JSON `value` is read with its sibling `type`. Reads no
/// further back than [`REACH_BEHIND`] before the operator, within the
/// scanner's lookbehind.
fn labelled(
    fields: &Fields,
    hay: &[u8],
    key: Range<usize>,
    op: usize,
) -> Option<FieldHint> {
    if !is_generic(&hay[key.clone()]) {
        return None;
    }
    // A key read through a long leader may start before the reach.
    let low = (op + 1).saturating_sub(REACH_BEHIND).min(key.start);
    let line = hay[low..key.start]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(low, |i| low + i + 1);
    let before = &hay[line..key.start];
    for i in memchr::memrchr2_iter(b'=', b':', before) {
        let at = line + i;
        let Some(label) = key_before(hay, trim_back(hay, at), false) else {
            continue;
        };
        if !is_label_key(&hay[label]) {
            continue;
        }
        let value = &hay[at + 1..key.start];
        let end = value
            .iter()
            .position(|&b| b.is_ascii_whitespace() || b",;|&".contains(&b))
            .unwrap_or(value.len());
        let value = value[..end].trim_ascii_start();
        let value = value
            .strip_prefix(b"\"")
            .and_then(|v| v.strip_suffix(b"\""))
            .unwrap_or(value);
        let hint = std::str::from_utf8(value)
            .map_or(FieldHint::Unknown, |v| fields.label_hint(v));
        return matches!(hint, FieldHint::Entity(_)).then_some(hint);
    }
    None
}

/// `"key": "value"`, `key: value`, `Key:value`, `Label: value`.
fn colon(
    fields: &Fields,
    buf: &mut Reader,
    hay: &[u8],
    op: usize,
) -> Option<KeyValue> {
    let next = hay.get(op + 1).copied();
    let prev = op.checked_sub(1).map(|p| hay[p]);
    if next == Some(b'/') || next == Some(b':') || prev == Some(b':') {
        // `https://`, `::1`, `a::b`.
        return None;
    }
    if prev.is_some_and(|b| b.is_ascii_digit())
        && next.is_some_and(|b| b.is_ascii_digit())
    {
        // `10:22:31`, `host:8080` after a digit.
        return None;
    }
    let spaced = matches!(next, Some(b' ' | b'\t'));
    let end = trim_back(hay, op);
    let quoted = end > 0 && matches!(hay[end - 1], b'"' | b'\'');
    let key = key_before(hay, end, spaced && !quoted)?;
    // `Key:value` unquoted and unspaced is a field only where a field can
    // start (`&{Name:Jo Mrn:123}`); `key=session:7f3a` is a value.
    let opens = key.start == 0
        || matches!(
            hay[key.start - 1],
            b' ' | b'\t'
                | b'\n'
                | b'{'
                | b'('
                | b','
                | b'&'
                | b'|'
                | b';'
                | b'['
        );
    if !spaced && !quoted && !opens {
        return None;
    }
    let hint = key_hint(fields, buf, hay, key)?;
    let style = if spaced && !quoted { Style::Label } else { Style::Assign };
    value_after(hay, op + 1, style, hint)
}

/// `MRN ........ K2091`: a run of three or more dots between spaces.
fn leader(
    fields: &Fields,
    buf: &mut Reader,
    hay: &[u8],
    op: usize,
    at: &mut usize,
) -> Option<KeyValue> {
    let run = hay[op..]
        .iter()
        .take(MAX_LEADER + 1)
        .take_while(|&&b| b == b'.')
        .count();
    *at = op + run;
    if !(3..=MAX_LEADER).contains(&run) || op == 0 || hay[op - 1] != b' ' {
        return None;
    }
    if hay.get(op + run) != Some(&b' ') {
        return None;
    }
    let key = key_before(hay, trim_back(hay, op), true)?;
    let hint = key_hint(fields, buf, hay, key)?;
    value_after(hay, op + run, Style::Label, hint)
}

/// `Discharged - 06/04/2021`: a label opening its line.
fn dash(
    fields: &Fields,
    buf: &mut Reader,
    hay: &[u8],
    op: usize,
) -> Option<KeyValue> {
    let key = key_before(hay, op, true)?;
    let line_start = key.start == 0 || hay[key.start - 1] == b'\n';
    if !line_start {
        return None;
    }
    let hint = key_hint(fields, buf, hay, key)?;
    value_after(hay, op + 3, Style::Label, hint)
}

/// `MRN\t518830`: a label opening its line, a tab, its value.
fn tab(
    fields: &Fields,
    buf: &mut Reader,
    hay: &[u8],
    op: usize,
) -> Option<KeyValue> {
    let key = key_before(hay, op, true)?;
    if key.start != 0 && hay[key.start - 1] != b'\n' {
        return None;
    }
    let hint = key_hint(fields, buf, hay, key)?;
    value_after(hay, op + 1, Style::Label, hint)
}

/// `end` moved back over spaces and tabs.
fn trim_back(hay: &[u8], mut end: usize) -> usize {
    while end > 0 && matches!(hay[end - 1], b' ' | b'\t') {
        end -= 1;
    }
    end
}

/// The key ending at `end`: quoted, or a run of key bytes (with single
/// spaces between words for a label).
fn key_before(hay: &[u8], end: usize, label: bool) -> Option<Range<usize>> {
    if end == 0 {
        return None;
    }
    let low = end.saturating_sub(MAX_KEY + 2);
    if let q @ (b'"' | b'\'') = hay[end - 1] {
        let open = hay[low..end - 1].iter().rposition(|&b| b == q)? + low;
        let key = open + 1..end - 1;
        return (!key.is_empty()
            && hay[key.clone()].iter().all(|&b| b != b'\n'))
        .then_some(key);
    }
    let mut start = end;
    while start > low {
        let b = hay[start - 1];
        // A label's words are separated by single spaces.
        let label_space = label
            && b == b' '
            && start - 1 > low
            && key_byte(hay[start - 2])
            && start < end;
        if key_byte(b) || label_space {
            start -= 1;
        } else {
            break;
        }
    }
    if start == low && low > 0 {
        // Longer than a key: prose, or a value run into.
        return None;
    }
    while start < end && !hay[start].is_ascii_alphanumeric() {
        start += 1;
    }
    (start < end && hay[start..end].iter().any(u8::is_ascii_alphabetic))
        .then_some(start..end)
}

/// What the key says, if anything worth reporting.
fn key_hint(
    fields: &Fields,
    buf: &mut Reader,
    hay: &[u8],
    key: Range<usize>,
) -> Option<FieldHint> {
    match fields.hint_key(&hay[key], &mut buf.words, buf.none) {
        FieldHint::Unknown => None,
        FieldHint::NotPhi if !buf.none => None,
        h => Some(h),
    }
}

/// The value after `from` (an operator's end).
fn value_after(
    hay: &[u8],
    from: usize,
    style: Style,
    hint: FieldHint,
) -> Option<KeyValue> {
    let mut s = from;
    while s < hay.len() && s < from + 8 && matches!(hay[s], b' ' | b'\t') {
        s += 1;
    }
    let limit = hay.len().min(s + MAX_VALUE);
    let (s, e) = match hay.get(s) {
        Some(&q @ (b'"' | b'\'' | b'`')) => {
            let body = s + 1;
            // A quote after a backslash is part of the value (`"a\"b"`,
            // as JSON and most languages write it).
            let mut escaped = false;
            let close = hay[body..limit].iter().position(|&b| {
                let end = (b == q && !escaped) || b == b'\n';
                escaped = b == b'\\' && !escaped;
                end
            })?;
            if hay[body + close] != q {
                return None;
            }
            (body, body + close)
        }
        Some(b'{' | b'[' | b'\n' | b'\r') | None => return None,
        Some(_) => {
            let rest = &hay[s..limit];
            let stop = match style {
                Style::Assign => rest.iter().position(|&b| {
                    b.is_ascii_whitespace() || b"&,;|)}]\"'<>".contains(&b)
                }),
                Style::Label => rest
                    .windows(2)
                    .position(|w| {
                        matches!(w[0], b'\n' | b'\r' | b'\t' | b'|' | b';')
                            || w == b"  "
                    })
                    .or_else(|| {
                        rest.last()
                            .is_some_and(|b| {
                                matches!(
                                    b,
                                    b'\n' | b'\r' | b'\t' | b'|' | b';'
                                )
                            })
                            .then(|| rest.len() - 1)
                    }),
            };
            let mut e = s + stop.unwrap_or(rest.len());
            // A written-out escape (`\n`, `\"`: a log line inside a JSON
            // string) ends the value.
            if let Some(i) = hay[s..e].windows(2).position(|w| {
                w[0] == b'\\' && matches!(w[1], b'n' | b'r' | b't' | b'"')
            }) {
                e = s + i;
            }
            // A sentence's own punctuation is not part of the value.
            while e > s
                && matches!(hay[e - 1], b'.' | b',' | b';' | b':' | b' ')
            {
                e -= 1;
            }
            (s, e)
        }
    };
    // `datetime.date(1921, 3, 14)`: the arguments are the date.
    let (s, e) = match hay[s..e].strip_prefix(b"datetime.date") {
        Some(_) => datetime_args(hay, s, limit).unwrap_or((s, e)),
        None => (s, e),
    };
    (e > s).then_some(KeyValue {
        hint,
        value: s..e,
        label: style == Style::Label,
    })
}

/// The arguments of a Python `datetime.date(...)`/`datetime.datetime(...)`
/// starting at `s`.
fn datetime_args(
    hay: &[u8],
    s: usize,
    limit: usize,
) -> Option<(usize, usize)> {
    let open = s + hay[s..limit].iter().position(|&b| b == b'(')? + 1;
    let close = open + hay[open..limit].iter().position(|&b| b == b')')?;
    (close > open).then_some((open, close))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dict() -> Fields {
        let mut f = Fields::default();
        f.add_class(0, &["mrn".into(), "patient id".into()]);
        f.add_class(1, &["dob".into(), "date of birth".into()]);
        f.add_class(
            2,
            &["first name".into(), "last name".into(), "name".into()],
        );
        f.add_class(
            3,
            &["dev".into(), "device serial".into(), "number".into()],
        );
        f.add_class(4, &["cell".into()]);
        f.add_class(5, &["session".into()]);
        f.add_none(&["timestamp".into(), "created at".into()]);
        f
    }

    fn found(text: &str) -> Vec<(FieldHint, &str)> {
        let mut out = Vec::new();
        let f = dict();
        pairs(&f, text.as_bytes(), 0, text.len(), |kv| {
            out.push((kv.hint, &text[kv.value]));
        });
        out
    }

    #[test]
    fn a_generic_key_takes_the_label_before_it() {
        use FieldHint::Entity as E;
        assert_eq!(
            found("WARN type=mrn state=OH id=K2091 verified"),
            [(E(0), "K2091")]
        );
        assert_eq!(found("id_type=\"mrn\" value=K2091"), [(E(0), "K2091")]);
        // A label that names nothing, or on another line, says nothing.
        assert_eq!(found("type=order id=4471"), []);
        assert_eq!(found("type=mrn\nid=4471"), []);
        // A key that is not generic keeps its own meaning.
        assert_eq!(found("type=mrn amount=12"), []);
    }

    #[test]
    fn the_shapes_logs_write() {
        use FieldHint::Entity as E;
        assert_eq!(
            found("user=x|patient_mrn=61038852|ok"),
            [(E(0), "61038852")]
        );
        assert_eq!(
            found(r#"{"mrn": "5180337", "x": 1}"#),
            [(E(0), "5180337")]
        );
        assert_eq!(found("{'mrn': '5180337'}"), [(E(0), "5180337")]);
        assert_eq!(found(r#""first_name"=>"Gianluca""#), [(E(2), "Gianluca")]);
        assert_eq!(
            found("dob = datetime.date(1921, 3, 14)"),
            [(E(1), "1921, 3, 14")]
        );
        assert_eq!(
            found("MRN ................... K209114857\n"),
            [(E(0), "K209114857")]
        );
        assert_eq!(
            found("?mrn=123456&dob=1957-03-14 "),
            [(E(0), "123456"), (E(1), "1957-03-14")]
        );
        assert_eq!(found("dev=QK20931175 ok"), [(E(3), "QK20931175")]);
        assert_eq!(
            found("Date of Birth: 03/14/1957.\n"),
            [(E(1), "03/14/1957")]
        );
        assert_eq!(
            found("Patient ID:\t0048213  DOB: 1/2/57\n"),
            [(E(0), "0048213"), (E(1), "1/2/57")]
        );
        assert_eq!(
            found("Pt called from cell: 312-555-0187\n"),
            [(E(4), "312-555-0187")]
        );
        assert_eq!(found("DOB - 03/14/1957\n"), [(E(1), "03/14/1957")]);
        assert_eq!(
            found("Patient ID\t0048213\nDate of Birth\t1/2/57\nx\tMRN\t5\n"),
            [(E(0), "0048213"), (E(1), "1/2/57")]
        );
        // A log line inside a JSON string: escapes end the value.
        assert_eq!(
            found(r#""msg": "Patient ID: 0048213\nDOB: 1/2/57\"""#),
            [(E(0), "0048213"), (E(1), "1/2/57")]
        );
        // Keys that hold no PHI are read from the findings' side.
        assert!(found(r#""timestamp":"2026-12-03T07:30:00Z""#).is_empty());
        let text = r#"{"ts": 1, "timestamp":"2026-12-03T07:30:00Z", "dob": "2026-12-03"}"#;
        let at = |s: &str| {
            let i = text.find(s).unwrap();
            not_phi_at(&dict(), text.as_bytes(), i..i + 10)
        };
        assert!(at("2026-12-03T"));
        assert!(!at("2026-12-03\""));
        assert!(not_phi_at(&dict(), b"created_at=2026-12-03T07:30", 11..21));
        assert!(not_phi_at(
            &dict(),
            b"Created At\t2026-12-03 07:30\n",
            11..21
        ));
    }

    #[test]
    fn postgres_names_the_columns_of_a_violated_key() {
        use FieldHint::Entity as E;
        assert_eq!(
            found("DETAIL:  Key (last_name)=(Cowden Smith) already exists."),
            [(E(2), "Cowden Smith")]
        );
        assert_eq!(
            found(
                "DETAIL:  Key (mrn, dob)=(K2091, 1957-03-14) already exists.\nx=(1)"
            ),
            [(E(0), "K2091"), (E(1), "1957-03-14")]
        );
        // A value holding `, ` leaves positions unknown.
        assert_eq!(found("Key (mrn, dob)=(a, b, c) already exists."), []);
        // Keys that say nothing, and no keys at all.
        assert_eq!(found("Key (order_id)=(4471) is not present"), []);
        assert_eq!(found("f(x)=(y)"), []);
    }

    #[test]
    fn logged_parameters_take_the_column_of_their_placeholder() {
        use FieldHint::Entity as E;
        let log = "\
2024-04-11 11:37:15 UTC [1] app@ehr LOG:  execute <unnamed>: UPDATE patients SET mrn = $1 WHERE id = $2
2024-04-11 11:37:15 UTC [1] app@ehr DETAIL:  parameters: $1 = 'K2091', $2 = '9529'
2024-04-11 11:37:16 UTC [2] app@ehr LOG:  execute <unnamed>: INSERT INTO patients (id, \"dob\", cell) VALUES ($1, $2, $3)
2024-04-11 11:37:16 UTC [2] app@ehr DETAIL:  parameters: $1 = '7', $2 = '1957-03-14', $3 = NULL
2024-04-11 11:37:17 UTC [3] app@ehr LOG:  execute <unnamed>: SELECT * FROM patients p WHERE p.first_name=$1 AND age >= $2
2024-04-11 11:37:17 UTC [3] app@ehr DETAIL:  parameters: $1 = 'Gianluca', $2 = '40'
";
        // The statement's own `mrn = $1` is a pair too; the scanner drops
        // placeholders (`$1`, `NULL`) as values.
        let values: Vec<_> = found(log)
            .into_iter()
            .filter(|(_, v)| !crate::format::json::placeholder(v.as_bytes()))
            .collect();
        assert_eq!(
            values,
            [(E(0), "K2091"), (E(1), "1957-03-14"), (E(2), "Gianluca")]
        );
        // A parameter with no statement before it says nothing.
        assert_eq!(found("DETAIL:  parameters: $1 = 'K2091'"), []);
        assert_eq!(found("x $1 = 'K2091'\nparameters: $1 = 'K2091'"), []);
    }

    #[test]
    fn an_escaped_quote_does_not_end_a_quoted_value() {
        use FieldHint::Entity as E;
        // Found by the structure_covers_text fuzz target: the value ended
        // at the escaped quote, and the text reading kept a piece of it
        // that the JSON reading never saw.
        assert_eq!(found(r#"{"mrn":"K20\"91"}"#), [(E(0), r#"K20\"91"#)]);
        assert_eq!(found(r#"mrn="K20\\" id=1"#), [(E(0), r"K20\\")]);
    }

    #[test]
    fn what_is_not_a_pair() {
        assert!(found("https://example.org/x").is_empty());
        assert!(found("at 10:22:31 ok").is_empty());
        assert!(found("if mrn == 5 then").is_empty());
        assert!(found("the patient reports the following: pain").is_empty());
        assert!(found(r#""patient": {"first": 1}"#).is_empty());
        assert!(found("Serial number: ").is_empty());
        assert!(found("We went on and on ... and on").is_empty());
        assert!(found("cache key=session:7f3a dev").is_empty());
    }
}
