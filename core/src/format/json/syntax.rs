//! JSON syntax: an iterative parser over a byte slice that hands each
//! scalar to a visitor with its path, and JSON Pointers for those paths.

use std::ops::Range;

use crate::format::{Format, InputError, InputErrorKind};
use crate::scan::hints::{is_label_key, type_label};

/// One step of a path: an object key or an array index.
#[derive(Clone, Debug)]
pub(crate) enum Segment {
    Key(String),
    Index(usize),
}

/// A scalar value found by the walker.
pub(crate) enum Scalar {
    /// A string: the span between its quotes, and, when it has escapes, the
    /// decoded bytes with the raw offset of each decoded byte (plus one for
    /// the end).
    Str { raw: Range<usize>, decoded: Option<(Vec<u8>, Vec<usize>)> },
    /// A number's text.
    Number { raw: Range<usize> },
}

struct Cursor<'a> {
    src: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn error(
        &self,
        at: usize,
        kind: InputErrorKind,
        what: &'static str,
    ) -> InputError {
        let at = at.min(self.src.len());
        let before = &self.src[..at];
        let line = memchr::memchr_iter(b'\n', before).count() as u64 + 1;
        let line_start = memchr::memrchr(b'\n', before).map_or(0, |i| i + 1);
        let column = Some((at - line_start) as u64 + 1);
        InputError::new(Format::Json, kind, line, column, what)
    }

    fn syntax(&self, what: &'static str) -> InputError {
        self.error(self.pos, InputErrorKind::Syntax, what)
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.src.get(self.pos) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    fn expect(&mut self, b: u8, what: &'static str) -> Result<(), InputError> {
        self.skip_ws();
        if self.peek() == Some(b) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.syntax(what))
        }
    }

    /// A string starting at the opening quote.
    fn string(&mut self) -> Result<Scalar, InputError> {
        self.pos += 1;
        let start = self.pos;
        // Fast path: no escape before the closing quote.
        loop {
            match self.peek() {
                None => return Err(self.syntax("unterminated string")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(Scalar::Str {
                        raw: start..self.pos - 1,
                        decoded: None,
                    });
                }
                Some(b'\\') => break,
                Some(0..=0x1F) => {
                    return Err(self.syntax("control character in a string"));
                }
                Some(_) => self.pos += 1,
            }
        }
        let mut out = self.src[start..self.pos].to_vec();
        let mut map: Vec<usize> = (start..self.pos).collect();
        loop {
            let at = self.pos;
            match self.peek() {
                None => return Err(self.syntax("unterminated string")),
                Some(b'"') => {
                    self.pos += 1;
                    map.push(at);
                    return Ok(Scalar::Str {
                        raw: start..at,
                        decoded: Some((out, map)),
                    });
                }
                Some(b'\\') => {
                    let esc = self.src.get(at + 1).copied();
                    self.pos += 2;
                    let ch = match esc {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => self.unicode_escape()?,
                        _ => {
                            self.pos = at;
                            return Err(
                                self.syntax("invalid escape in a string")
                            );
                        }
                    };
                    let mut buf = [0; 4];
                    for &b in ch.encode_utf8(&mut buf).as_bytes() {
                        out.push(b);
                        map.push(at);
                    }
                }
                Some(0..=0x1F) => {
                    return Err(self.syntax("control character in a string"));
                }
                Some(b) => {
                    out.push(b);
                    map.push(at);
                    self.pos += 1;
                }
            }
        }
    }

    /// After `\u`: four hex digits, and a low surrogate if the first is a
    /// high one. Unpaired surrogates decode to U+FFFD.
    fn unicode_escape(&mut self) -> Result<char, InputError> {
        let hex4 = |c: &mut Self| -> Result<u32, InputError> {
            let digits = c
                .src
                .get(c.pos..c.pos + 4)
                .ok_or_else(|| c.syntax("short \\u escape"))?;
            let mut v = 0;
            for &d in digits {
                let x = (d as char)
                    .to_digit(16)
                    .ok_or_else(|| c.syntax("invalid \\u escape"))?;
                v = v * 16 + x;
            }
            c.pos += 4;
            Ok(v)
        };
        let hi = hex4(self)?;
        if (0xD800..0xDC00).contains(&hi)
            && self.src.get(self.pos..self.pos + 2) == Some(b"\\u")
        {
            let save = self.pos;
            self.pos += 2;
            let lo = hex4(self)?;
            if (0xDC00..0xE000).contains(&lo) {
                let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                return Ok(char::from_u32(c).unwrap_or('\u{FFFD}'));
            }
            self.pos = save;
        }
        Ok(char::from_u32(hi).unwrap_or('\u{FFFD}'))
    }

    fn number(&mut self) -> Result<Range<usize>, InputError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        let digits = |c: &mut Self| {
            let from = c.pos;
            while c.peek().is_some_and(|b| b.is_ascii_digit()) {
                c.pos += 1;
            }
            c.pos > from
        };
        if !digits(self) {
            return Err(self.syntax("invalid number"));
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if !digits(self) {
                return Err(self.syntax("invalid number"));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if !digits(self) {
                return Err(self.syntax("invalid number"));
            }
        }
        Ok(start..self.pos)
    }

    /// An object key followed by its colon.
    fn key(&mut self) -> Result<String, InputError> {
        self.skip_ws();
        if self.peek() != Some(b'"') {
            return Err(self.syntax("expected a string key"));
        }
        let key = match self.string()? {
            Scalar::Str { raw, decoded: None } => {
                String::from_utf8_lossy(&self.src[raw]).into_owned()
            }
            Scalar::Str { decoded: Some((bytes, _)), .. } => {
                String::from_utf8_lossy(&bytes).into_owned()
            }
            Scalar::Number { .. } => unreachable!("string() returns strings"),
        };
        self.expect(b':', "expected ':' after a key")?;
        Ok(key)
    }
}

/// Decodes the JSON string that opens `src` (at its quote) as the walker
/// decodes keys; errors are located within `src`.
pub(crate) fn decode_key(src: &[u8]) -> Result<String, InputError> {
    let mut c = Cursor { src, pos: 0 };
    Ok(match c.string()? {
        Scalar::Str { raw, decoded: None } => {
            String::from_utf8_lossy(&src[raw]).into_owned()
        }
        Scalar::Str { decoded: Some((bytes, _)), .. } => {
            String::from_utf8_lossy(&bytes).into_owned()
        }
        Scalar::Number { .. } => unreachable!("string() returns strings"),
    })
}

/// The label an object's members have been given so far: a sibling's
/// text (`"system": ".../us-ssn"`), or what a FHIR identifier's `type`
/// says (`"type": {"coding": [{"code": "MR"}]}`), which a later sibling
/// naming nothing (`"system": "urn:oid:1.2.36..."`) does not replace.
struct Label {
    text: String,
    typed: bool,
}

impl Label {
    fn text(l: &Option<Label>) -> Option<&str> {
        l.as_ref().map(|l| l.text.as_str())
    }
}

/// Walks one JSON document, calling `visit` for every string and number
/// with its path and the label a sibling gave it
/// ([`is_label_key`](crate::scan::hints::is_label_key));
/// for a value that sits at `prefix` inside a larger document (streaming),
/// paths start with `prefix`, and its containers count toward `max_depth`
/// (the limit of the whole document).
pub(crate) fn walk_in(
    src: &[u8],
    prefix: &[Segment],
    max_depth: usize,
    mut visit: impl FnMut(&[Segment], Option<&str>, Scalar),
) -> Result<(), InputError> {
    let mut c = Cursor { src, pos: 0 };
    let mut path: Vec<Segment> = prefix.to_vec();
    // b'{' or b'[' for each open container, and the label its members
    // have been given so far.
    let mut open: Vec<u8> = Vec::new();
    let mut labels: Vec<Option<Label>> = Vec::new();
    'value: loop {
        c.skip_ws();
        match c.peek() {
            None => {
                return Err(
                    c.syntax("unexpected end of input; expected a value")
                );
            }
            Some(b @ (b'{' | b'[')) => {
                if open.len() + prefix.len() >= max_depth {
                    return Err(c.error(
                        c.pos,
                        InputErrorKind::TooDeep(max_depth),
                        "",
                    ));
                }
                c.pos += 1;
                c.skip_ws();
                let close = if b == b'{' { b'}' } else { b']' };
                if c.peek() == Some(close) {
                    c.pos += 1;
                } else {
                    open.push(b);
                    labels.push(None);
                    if b == b'{' {
                        let key = c.key()?;
                        path.push(Segment::Key(key));
                    } else {
                        path.push(Segment::Index(0));
                    }
                    continue 'value;
                }
            }
            Some(b'"') => {
                let s = c.string()?;
                let label = labels.last().and_then(Label::text);
                let labelled = match path.last() {
                    Some(Segment::Key(k)) => is_label_key(k.as_bytes()),
                    _ => false,
                };
                let typed = type_label(&path);
                let text = (labelled || typed.is_some())
                    .then(|| scalar_text(src, &s));
                visit(&path, label, s);
                match (typed, text) {
                    (Some((up, read)), Some(text)) => {
                        if let Some(i) = labels.len().checked_sub(up)
                            && let Some(text) = read(&text)
                        {
                            labels[i] = Some(Label { text, typed: true });
                        }
                    }
                    (None, Some(text)) => {
                        if let Some(slot) = labels.last_mut()
                            && !slot.as_ref().is_some_and(|l| l.typed)
                        {
                            *slot = Some(Label { text, typed: false });
                        }
                    }
                    _ => {}
                }
            }
            Some(b'-' | b'0'..=b'9') => {
                let raw = c.number()?;
                let label = labels.last().and_then(Label::text);
                visit(&path, label, Scalar::Number { raw });
            }
            Some(b't' | b'f' | b'n') => {
                let word: &[u8] = match c.peek() {
                    Some(b't') => b"true",
                    Some(b'f') => b"false",
                    _ => b"null",
                };
                if !src[c.pos..].starts_with(word) {
                    return Err(c.syntax("invalid literal"));
                }
                c.pos += word.len();
            }
            Some(_) => {
                return Err(c.syntax("unexpected character; expected a value"));
            }
        }
        // A value ended: move to the next element or close containers.
        loop {
            let Some(&top) = open.last() else {
                c.skip_ws();
                if c.pos != src.len() {
                    return Err(c.syntax("unexpected data after the document"));
                }
                return Ok(());
            };
            c.skip_ws();
            let next = c.peek();
            c.pos += 1;
            match (top, next) {
                (b'{', Some(b',')) => {
                    path.pop();
                    let key = c.key()?;
                    path.push(Segment::Key(key));
                    continue 'value;
                }
                (b'[', Some(b',')) => {
                    if let Some(Segment::Index(i)) = path.last_mut() {
                        *i += 1;
                    }
                    continue 'value;
                }
                (b'{', Some(b'}')) | (b'[', Some(b']')) => {
                    path.pop();
                    open.pop();
                    labels.pop();
                }
                (b'{', _) => {
                    c.pos -= 1;
                    return Err(c.syntax("expected ',' or '}'"));
                }
                _ => {
                    c.pos -= 1;
                    return Err(c.syntax("expected ',' or ']'"));
                }
            }
        }
    }
}

/// A string's decoded text, for a label.
fn scalar_text(src: &[u8], s: &Scalar) -> String {
    let bytes = match s {
        Scalar::Str { decoded: Some((bytes, _)), .. } => &bytes[..],
        Scalar::Str { raw, decoded: None } | Scalar::Number { raw } => {
            &src[raw.clone()]
        }
    };
    String::from_utf8_lossy(&bytes[..bytes.len().min(256)]).into_owned()
}

/// RFC 6901: `~` becomes `~0` and `/` becomes `~1`.
pub(super) fn pointer(path: &[Segment]) -> String {
    write_pointer(path, false)
}

/// [`pointer`] with array indices as `*`: one column for every element.
/// Built from the path, not the string, so an object key made of digits
/// (`{"2024": ...}`) is never mistaken for an index.
pub(super) fn folded_pointer(path: &[Segment]) -> String {
    write_pointer(path, true)
}

fn write_pointer(path: &[Segment], fold: bool) -> String {
    let mut out = String::new();
    for seg in path {
        out.push('/');
        match seg {
            Segment::Key(k) => {
                for ch in k.chars() {
                    match ch {
                        '~' => out.push_str("~0"),
                        '/' => out.push_str("~1"),
                        c => out.push(c),
                    }
                }
            }
            Segment::Index(_) if fold => out.push('*'),
            Segment::Index(i) => out.push_str(&i.to_string()),
        }
    }
    out
}
