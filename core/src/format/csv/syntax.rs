//! Delimited-text syntax: the fields of a record (RFC 4180 quoting) and
//! the bytes around records.

use std::ops::Range;

/// One field of a record: its raw span (quotes included) in the record.
#[derive(Clone, Debug)]
pub(crate) struct Field {
    pub(crate) raw: Range<usize>,
    pub(crate) quoted: bool,
}

impl Field {
    /// The field's value, with its raw offset for each value byte (plus
    /// one for the end). Unquoted fields need no map.
    pub(crate) fn value<'r>(
        &self,
        rec: &'r [u8],
    ) -> (std::borrow::Cow<'r, [u8]>, Option<Vec<usize>>) {
        if !self.quoted {
            return (rec[self.raw.clone()].into(), None);
        }
        let inner = self.raw.start + 1
            ..self.raw.end.saturating_sub(1).max(self.raw.start + 1);
        let body = &rec[inner.clone()];
        if !body.contains(&b'"') {
            let map = (inner.start..=inner.end).collect();
            return (body.into(), Some(map));
        }
        let mut out = Vec::with_capacity(body.len());
        let mut map = Vec::with_capacity(body.len() + 1);
        let mut i = inner.start;
        while i < inner.end {
            out.push(rec[i]);
            map.push(i);
            i += if rec[i] == b'"' { 2 } else { 1 };
        }
        map.push(inner.end);
        (out.into(), Some(map))
    }
}

/// The fields of a complete record (terminator removed); an unterminated
/// quote at the end of input closes there.
pub(crate) fn fields(body: &[u8], delim: u8) -> Vec<Field> {
    split(body, delim)
        .unwrap_or_else(|| vec![Field { raw: 0..body.len(), quoted: false }])
}

/// Splits a complete record (terminator removed) into fields, or `None` if
/// a quoted field is still open (the record continues on the next line).
pub(crate) fn split(rec: &[u8], delim: u8) -> Option<Vec<Field>> {
    let mut fields = Vec::new();
    let mut i = 0;
    loop {
        let start = i;
        if rec.get(i) == Some(&b'"') {
            i += 1;
            loop {
                match rec.get(i) {
                    None => return None,
                    Some(b'"') if rec.get(i + 1) == Some(&b'"') => i += 2,
                    Some(b'"') => {
                        i += 1;
                        break;
                    }
                    Some(_) => i += 1,
                }
            }
            // Lenient: text after the closing quote belongs to the field.
            while i < rec.len() && rec[i] != delim {
                i += 1;
            }
            fields.push(Field { raw: start..i, quoted: true });
        } else {
            i += memchr::memchr(delim, &rec[i..]).unwrap_or(rec.len() - i);
            fields.push(Field { raw: start..i, quoted: false });
        }
        if i >= rec.len() {
            return Some(fields);
        }
        i += 1;
    }
}

/// A record without its UTF-8 byte order mark.
pub(crate) fn strip_bom(body: &[u8]) -> &[u8] {
    body.strip_prefix(b"\xef\xbb\xbf").unwrap_or(body)
}

/// A record without its line terminator.
pub(crate) fn trim_terminator(buf: &[u8]) -> &[u8] {
    let b = buf.strip_suffix(b"\n").unwrap_or(buf);
    b.strip_suffix(b"\r").unwrap_or(b)
}
