//! Delimited-text syntax: the fields of a record (RFC 4180 quoting) and
//! the bytes around records.

use std::ops::Range;

/// One field of a record: its raw span (quotes included) in the record.
#[derive(Clone, Debug)]
pub(crate) struct Field {
    pub(crate) raw: Range<usize>,
    pub(crate) quoted: bool,
}

/// Where each byte of a quoted field's value lies in its record.
#[derive(Clone, Debug)]
pub(crate) struct Map {
    /// Raw offset of value byte `k`.
    starts: Vec<usize>,
    /// Raw offset just past value byte `k - 1`; `ends[0]` is where the
    /// value begins.
    ends: Vec<usize>,
}

impl Map {
    /// The raw span of value bytes `start..end`.
    pub(crate) fn span(&self, start: usize, end: usize) -> (usize, usize) {
        let s = self.starts.get(start).copied().unwrap_or(self.ends[end]);
        (s, self.ends[end])
    }
}

impl Field {
    /// The field's value, with where its bytes lie in the record for a
    /// quoted field (unquoted fields need no map). Lenient as the reader
    /// is: text after the closing quote belongs to the value, and an
    /// unclosed quote runs to the end of the field.
    pub(crate) fn value<'r>(
        &self,
        rec: &'r [u8],
    ) -> (std::borrow::Cow<'r, [u8]>, Option<Map>) {
        if !self.quoted {
            return (rec[self.raw.clone()].into(), None);
        }
        let end = self.raw.end;
        let mut out = Vec::with_capacity(end - self.raw.start);
        let mut map = Map {
            starts: Vec::with_capacity(out.capacity()),
            ends: Vec::with_capacity(out.capacity() + 1),
        };
        let mut i = self.raw.start + 1;
        map.ends.push(i);
        let mut push = |out: &mut Vec<u8>, byte, from, to| {
            out.push(byte);
            map.starts.push(from);
            map.ends.push(to);
        };
        let mut open = true;
        while i < end {
            match rec[i] {
                b'"' if open
                    && rec.get(i + 1) == Some(&b'"')
                    && i + 1 < end =>
                {
                    push(&mut out, b'"', i, i + 2);
                    i += 2;
                }
                b'"' if open => {
                    open = false;
                    i += 1;
                }
                b => {
                    push(&mut out, b, i, i + 1);
                    i += 1;
                }
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Each field's value, and the raw text of each value byte's span.
    fn values(rec: &str) -> Vec<(String, Vec<String>)> {
        let rec = rec.as_bytes();
        fields(rec, b',')
            .iter()
            .map(|f| {
                let (v, map) = f.value(rec);
                let spans = (0..v.len())
                    .map(|k| {
                        let (s, e) = match &map {
                            Some(m) => m.span(k, k + 1),
                            None => (f.raw.start + k, f.raw.start + k + 1),
                        };
                        String::from_utf8_lossy(&rec[s..e]).into_owned()
                    })
                    .collect();
                (String::from_utf8_lossy(&v).into_owned(), spans)
            })
            .collect()
    }

    #[test]
    fn quoted_values_keep_every_byte_and_where_it_lies() {
        let v = values(r#"a,"b""c","",plain"#);
        assert_eq!(v[1].0, r#"b"c"#);
        assert_eq!(v[1].1, ["b", "\"\"", "c"]);
        assert_eq!(v[2].0, "");
        assert_eq!(v[3].0, "plain");
        // Found by the structure_covers_text fuzz target: text after a
        // closing quote lost a byte after every quote and its last byte,
        // so an SSN there was never seen by the field's scan.
        let v = values(r#""Ys",219-09-9999"#);
        assert_eq!(v[0].0, "Ys");
        let v = fields(br#""Ys"219-09-9999"#, b'|');
        let (value, map) = v[0].value(br#""Ys"219-09-9999"#);
        assert_eq!(&value[..], b"Ys219-09-9999");
        // The tail's span leaves the closing quote out.
        assert_eq!(map.unwrap().span(2, 13), (4, 15));
        // A record whose quote never closes is read as one plain field.
        let v = values(r#""abc"#);
        assert_eq!(v[0].0, r#""abc"#);
    }
}
