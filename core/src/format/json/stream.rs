//! One JSON document of any size in bounded memory: it is cut into its
//! elements, and each element is walked on its own with its place in the
//! document as the start of its paths. Objects are opened down to any
//! depth (their scalar members are elements), and so are arrays that are
//! object members or the document itself: their items are the elements,
//! the "rows" of a per-column summary, so `{"export": {"patients": [...]}}`
//! is read one patient at a time. Memory is bounded by the largest element,
//! and findings, pointers and errors are those of reading the whole
//! document.

use std::io::{self, Read};

use super::{JsonFinding, Segment, decode_key};
use crate::Scanner;
use crate::format::{Format, InputError, InputErrorKind};

/// One element of a streamed JSON document; see
/// [`Scanner::scan_json_stream`].
pub struct JsonElement<'a> {
    /// 1-based line where the element starts.
    pub line: u64,
    /// Offset of `bytes[0]` from the start of the stream.
    pub offset: usize,
    /// The element's bytes.
    pub bytes: &'a [u8],
    /// Its findings (offsets from the start of the stream; pointers from
    /// the document's root).
    pub findings: Vec<JsonFinding>,
    /// The folded pointer of every string and number in the element, each
    /// once: the columns a per-column summary counts, the element being
    /// one row.
    pub paths: Vec<String>,
}

/// Shows the findings and the element's length, never its bytes.
impl std::fmt::Debug for JsonElement<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonElement")
            .field("line", &self.line)
            .field("offset", &self.offset)
            .field("bytes", &format_args!("{} bytes", self.bytes.len()))
            .field("findings", &self.findings)
            .field("paths", &self.paths.len())
            .finish()
    }
}

/// What the splitter hands out: structural bytes (brackets, commas, keys,
/// whitespace) to copy as they are, then an element, or the end.
pub(crate) struct Piece<'a> {
    pub(crate) gap: &'a [u8],
    pub(crate) element: Option<Element<'a>>,
}

pub(crate) struct Element<'a> {
    pub(crate) prefix: Vec<Segment>,
    pub(crate) offset: usize,
    pub(crate) line: u64,
    pub(crate) column: u64,
    pub(crate) bytes: &'a [u8],
}

/// An open container the splitter is inside.
#[derive(Clone, Copy)]
enum Frame {
    /// An array whose items are elements; `next` is the next item's index.
    Array {
        first: bool,
        next: usize,
    },
    Object {
        first: bool,
    },
}

impl Frame {
    fn open(bracket: u8) -> Frame {
        if bracket == b'[' {
            Frame::Array { first: true, next: 0 }
        } else {
            Frame::Object { first: true }
        }
    }
}

/// Cuts a JSON document into elements, reading as it goes.
pub(crate) struct Splitter<R> {
    rdr: R,
    buf: Vec<u8>,
    /// Stream offset of `buf[0]`.
    base: usize,
    /// Next byte to look at, in `buf`.
    pos: usize,
    /// Bytes before this (in `buf`) were handed out already.
    keep: usize,
    eof: bool,
    /// Line of `buf[pos]`, and the stream offset where that line starts.
    line: u64,
    line_start: usize,
    /// The document's nesting limit: containers are opened only while
    /// the walk of an element could still report the limit where reading
    /// the whole document would.
    max_depth: usize,
    started: bool,
    done: bool,
    /// The containers the splitter is in, outermost first.
    frames: Vec<Frame>,
    /// The path to the innermost frame (one segment per frame but the
    /// root).
    path: Vec<Segment>,
}

const READ: usize = 64 << 10;

impl<R: Read> Splitter<R> {
    pub(crate) fn new(rdr: R, max_depth: usize) -> Splitter<R> {
        Splitter {
            rdr,
            buf: Vec::new(),
            base: 0,
            pos: 0,
            keep: 0,
            eof: false,
            line: 1,
            line_start: 0,
            max_depth,
            started: false,
            done: false,
            frames: Vec::new(),
            path: Vec::new(),
        }
    }

    /// Makes `buf[pos + n - 1]` available if the input has it.
    fn fill(&mut self, n: usize) -> io::Result<bool> {
        while self.buf.len() < self.pos + n && !self.eof {
            let old = self.buf.len();
            self.buf.resize(old + READ, 0);
            let got = loop {
                match self.rdr.read(&mut self.buf[old..]) {
                    Ok(k) => break k,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        self.buf.truncate(old);
                        return Err(e);
                    }
                }
            };
            self.buf.truncate(old + got);
            self.eof = got == 0;
        }
        Ok(self.buf.len() >= self.pos + n)
    }

    fn peek(&mut self) -> io::Result<Option<u8>> {
        Ok(if self.fill(1)? { Some(self.buf[self.pos]) } else { None })
    }

    fn bump(&mut self) {
        if self.buf[self.pos] == b'\n' {
            self.line += 1;
            self.line_start = self.base + self.pos + 1;
        }
        self.pos += 1;
    }

    /// Moves to `buf[to]`, counting the lines passed over.
    fn advance_to(&mut self, to: usize) {
        let passed = &self.buf[self.pos..to];
        if let Some(last) = memchr::memrchr(b'\n', passed) {
            self.line += memchr::memchr_iter(b'\n', passed).count() as u64;
            self.line_start = self.base + self.pos + last + 1;
        }
        self.pos = to;
    }

    /// Moves to the next byte `find` locates in what is buffered, reading
    /// as needed; `false` at the end of the input. Skipping values a buffer
    /// at a time, not a byte at a time, is most of the splitter's speed.
    fn advance_until(
        &mut self,
        find: impl Fn(&[u8]) -> Option<usize>,
    ) -> io::Result<bool> {
        loop {
            if !self.fill(1)? {
                return Ok(false);
            }
            match find(&self.buf[self.pos..]) {
                Some(i) => {
                    self.advance_to(self.pos + i);
                    return Ok(true);
                }
                None => self.advance_to(self.buf.len()),
            }
        }
    }

    fn skip_ws(&mut self) -> io::Result<()> {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek()? {
            self.bump();
        }
        Ok(())
    }

    fn error(&self, what: &'static str) -> io::Error {
        let column = (self.base + self.pos - self.line_start) as u64 + 1;
        InputError::new(
            Format::Json,
            InputErrorKind::Syntax,
            self.line,
            Some(column),
            what,
        )
        .into_io()
    }

    fn expect(&mut self, b: u8, what: &'static str) -> io::Result<()> {
        self.skip_ws()?;
        if self.peek()? == Some(b) {
            self.bump();
            Ok(())
        } else {
            Err(self.error(what))
        }
    }

    /// Advances over one whole value, by its brackets and quotes only:
    /// the walk of its bytes checks the rest.
    fn skip_value(&mut self) -> io::Result<()> {
        let Some(first) = self.peek()? else {
            return Err(
                self.error("unexpected end of input; expected a value")
            );
        };
        match first {
            b'"' => {
                self.bump();
                self.skip_string_rest()
            }
            b'{' | b'[' => {
                let mut depth = 0usize;
                let bracket_or_quote = |rest: &[u8]| {
                    rest.iter().position(|b| {
                        matches!(b, b'"' | b'{' | b'[' | b'}' | b']')
                    })
                };
                loop {
                    if !self.advance_until(bracket_or_quote)? {
                        return Ok(()); // the walk reports the missing end
                    }
                    match self.buf[self.pos] {
                        b'"' => {
                            self.bump();
                            self.skip_string_rest()?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth = depth.saturating_sub(1);
                            if depth == 0 {
                                self.bump();
                                return Ok(());
                            }
                        }
                        _ => {}
                    }
                    self.bump();
                }
            }
            _ => {
                // A number or literal: up to the next delimiter.
                while let Some(b) = self.peek()? {
                    if matches!(
                        b,
                        b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r'
                    ) {
                        break;
                    }
                    self.bump();
                }
                Ok(())
            }
        }
    }

    /// After an opening quote: up to and past the closing one.
    fn skip_string_rest(&mut self) -> io::Result<()> {
        loop {
            let quote_or_escape =
                |rest: &[u8]| memchr::memchr2(b'"', b'\\', rest);
            if !self.advance_until(quote_or_escape)? {
                return Ok(()); // the walk reports it
            }
            let quote = self.buf[self.pos] == b'"';
            self.bump();
            if quote {
                return Ok(());
            }
            if self.peek()?.is_some() {
                self.bump();
            }
        }
    }

    /// An object key and its colon; the key decoded.
    fn key(&mut self) -> io::Result<String> {
        self.skip_ws()?;
        if self.peek()? != Some(b'"') {
            return Err(self.error("expected a string key"));
        }
        let start = self.pos;
        let (line, column) =
            (self.line, (self.base + start - self.line_start) as u64 + 1);
        self.bump();
        self.skip_string_rest()?;
        // Decoded as the walker decodes keys, errors and all.
        let key = decode_key(&self.buf[start..self.pos]).map_err(|e| {
            let at = Element {
                prefix: Vec::new(),
                offset: 0,
                line,
                column,
                bytes: &[],
            };
            relocate(e, &at)
        })?;
        self.expect(b':', "expected ':' after a key")?;
        Ok(key)
    }

    /// The next piece: structure up to an element and the element, or the
    /// last structure and `None` at the end of the document.
    pub(crate) fn next(&mut self) -> io::Result<Option<Piece<'_>>> {
        // What was handed out is dropped, a block at a time: moving the
        // rest down after every small element would cost more than the
        // scan.
        if self.keep >= READ {
            self.buf.drain(..self.keep);
            self.base += self.keep;
            self.pos -= self.keep;
            self.keep = 0;
        }
        loop {
            if self.done {
                return Ok(None);
            }
            if !self.started {
                self.started = true;
                self.skip_ws()?;
                match self.peek()? {
                    Some(b @ (b'[' | b'{')) if self.max_depth > 0 => {
                        self.bump();
                        self.frames.push(Frame::open(b));
                        continue;
                    }
                    _ => return self.emit(Vec::new()),
                }
            }
            let Some(&frame) = self.frames.last() else {
                // After the document: only whitespace.
                self.skip_ws()?;
                if self.peek()?.is_some() {
                    return Err(
                        self.error("unexpected data after the document")
                    );
                }
                self.done = true;
                let from = self.keep;
                self.keep = self.pos;
                return Ok(Some(Piece {
                    gap: &self.buf[from..self.pos],
                    element: None,
                }));
            };
            self.skip_ws()?;
            match frame {
                Frame::Array { first, next } => {
                    if self.peek()? == Some(b']') {
                        self.bump();
                        self.close();
                        continue;
                    }
                    if !first {
                        self.expect(b',', "expected ',' or ']'")?;
                    }
                    self.set_top(Frame::Array {
                        first: false,
                        next: next + 1,
                    });
                    let mut prefix = self.path.clone();
                    prefix.push(Segment::Index(next));
                    return self.emit(prefix);
                }
                Frame::Object { first } => {
                    if self.peek()? == Some(b'}') {
                        self.bump();
                        self.close();
                        continue;
                    }
                    if !first {
                        self.expect(b',', "expected ',' or '}'")?;
                    }
                    self.set_top(Frame::Object { first: false });
                    let key = self.key()?;
                    self.skip_ws()?;
                    if let Some(b @ (b'[' | b'{')) = self.peek()?
                        && self.frames.len() < self.max_depth
                    {
                        self.bump();
                        self.path.push(Segment::Key(key));
                        self.frames.push(Frame::open(b));
                        continue;
                    }
                    let mut prefix = self.path.clone();
                    prefix.push(Segment::Key(key));
                    return self.emit(prefix);
                }
            }
        }
    }

    fn set_top(&mut self, frame: Frame) {
        if let Some(top) = self.frames.last_mut() {
            *top = frame;
        }
    }

    /// Leaves the innermost container.
    fn close(&mut self) {
        self.frames.pop();
        if !self.frames.is_empty() {
            self.path.pop();
        }
    }

    /// Cuts the next element: the bytes of one whole value.
    fn emit(&mut self, prefix: Vec<Segment>) -> io::Result<Option<Piece<'_>>> {
        self.skip_ws()?;
        let (from, start) = (self.keep, self.pos);
        let (line, column) =
            (self.line, (self.base + start - self.line_start) as u64 + 1);
        self.skip_value()?;
        let end = self.pos;
        self.keep = end;
        Ok(Some(Piece {
            gap: &self.buf[from..start],
            element: Some(Element {
                prefix,
                offset: self.base + start,
                line,
                column,
                bytes: &self.buf[start..end],
            }),
        }))
    }
}

/// An element's error, moved from its own coordinates to the stream's.
pub(crate) fn relocate(e: InputError, element: &Element<'_>) -> io::Error {
    let column = match e.column {
        Some(c) if e.line == 1 => Some(element.column + c - 1),
        c => c,
    };
    InputError { line: element.line + e.line - 1, column, ..e }.into_io()
}

impl Scanner {
    /// Scans one JSON document of any size in bounded memory: objects are
    /// opened at any depth and the items of arrays reached through them
    /// (or of a top-level array) are read and walked one at a time, as are
    /// scalar members; `each` gets every element in order with its
    /// findings. Findings, pointers and error positions are those of
    /// [`Scanner::scan_json`] on the whole text; memory is bounded by the
    /// largest element. A syntax error ends the scan with an error of
    /// kind `InvalidData` holding a [`InputError`](crate::format::InputError), after
    /// the elements before it were handed out.
    ///
    /// ```
    /// use phisafe::Scanner;
    ///
    /// let doc = br#"{"export": "2024", "records": [{"ssn": "219-09-9999"}, {"ssn": null}]}"#;
    /// let mut seen = Vec::new();
    /// Scanner::new().scan_json_stream(&doc[..], |e| {
    ///     for f in &e.findings {
    ///         seen.push((f.pointer().to_string(), &doc[f.finding().range()]));
    ///     }
    ///     Ok(())
    /// })?;
    /// assert_eq!(seen, [("/records/0/ssn".to_string(), &b"219-09-9999"[..])]);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn scan_json_stream<R: Read>(
        &self,
        rdr: R,
        mut each: impl FnMut(JsonElement<'_>) -> io::Result<()>,
    ) -> io::Result<()> {
        let mut split = Splitter::new(rdr, self.inner.json_max_depth);
        while let Some(piece) = split.next()? {
            let Some(element) = piece.element else { break };
            let mut paths = Vec::new();
            let findings = self
                .scan_json_in(
                    element.bytes,
                    &element.prefix,
                    element.offset,
                    Some(&mut paths),
                )
                .map_err(|e| relocate(e, &element))?;
            paths.sort_unstable();
            paths.dedup();
            each(JsonElement {
                line: element.line,
                offset: element.offset,
                bytes: element.bytes,
                findings,
                paths,
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use proptest::prelude::*;

    use super::*;
    use crate::Redactor;

    /// Hands out its bytes a few at a time, to cut every token somewhere.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            self.step = self.step % 7 + 1;
            Ok(n)
        }
    }

    type Seen = Vec<(std::ops::Range<usize>, String, String)>;

    /// One scanner and redactor for every case: building one is the slow
    /// part of a case.
    fn redactor() -> &'static Redactor {
        static R: std::sync::OnceLock<Redactor> = std::sync::OnceLock::new();
        R.get_or_init(|| Redactor::new(Scanner::new()))
    }

    fn whole(text: &[u8]) -> Result<Seen, String> {
        redactor()
            .scanner()
            .scan_json(text)
            .map(|found| {
                found
                    .iter()
                    .map(|f| {
                        (
                            f.finding().range(),
                            f.pointer().to_string(),
                            f.finding().entity().to_string(),
                        )
                    })
                    .collect()
            })
            .map_err(|e| e.to_string())
    }

    fn streamed(text: &[u8], step: usize) -> Result<Seen, String> {
        let mut seen = Vec::new();
        redactor()
            .scanner()
            .scan_json_stream(Trickle { data: text, step }, |e| {
                assert_eq!(&text[e.offset..e.offset + e.bytes.len()], e.bytes);
                for f in e.findings {
                    seen.push((
                        f.finding().range(),
                        f.pointer().to_string(),
                        f.finding().entity().to_string(),
                    ));
                }
                Ok(())
            })
            .map(|()| seen)
            .map_err(|e| e.to_string())
    }

    fn redacted(text: &[u8], step: usize) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        redactor()
            .redact_json_stream(Trickle { data: text, step }, &mut out)
            .map(|_| out)
            .map_err(|e| e.to_string())
    }

    const DOCS: &[&str] = &[
        r#"[{"ssn": "219-09-9999", "n": 1}, {"email": "jo@clinic.example"}, 3, "x", null]"#,
        r#"{"export": {"by": "Dr. Maria Lopez"}, "records": [{"last_name": "Quixote"}, []], "n": 219099999}"#,
        "  \"call 415-555-2671\"  ",
        "[]",
        "{}",
        "{\"a\": [], \"b\": [1, [2, {\"ssn\": \"536-22-1837\"}]]}\n",
        "[\n  {\"note\": \"line\\nSSN 219-09-9999\\u00e9\"},\n  {\"k\\\"ey\": \"a\\\\b\"}\n]\n",
        r#"{"export": {"by": {"name": "Dr. Maria Lopez"}, "empty": {}, "patients": [{"ssn": "219-09-9999"}, {"x": [{"email": "a@b.example"}]}]}, "n": 1}"#,
        r#"{"a": {"b": {"c": {"d": [[1, "415-555-2671"], {"e": {}}]}}}, "f": []}"#,
    ];

    #[test]
    fn same_findings_and_redaction_as_the_whole_document() {
        for doc in DOCS {
            for step in [1, 3, 64 << 10] {
                let text = doc.as_bytes();
                assert_eq!(streamed(text, step), whole(text), "{doc}");
                let want =
                    redactor().redact_json(text).map_err(|e| e.to_string());
                assert_eq!(redacted(text, step), want, "{doc}");
            }
        }
        assert!(!whole(DOCS[0].as_bytes()).unwrap().is_empty());
    }

    #[test]
    fn errors_are_located_in_the_whole_document() {
        for bad in [
            "[1 2]",
            "[{\"a\": 1},\n {\"b\": }]",
            "{\"a\" 1}",
            "{\"a\": [1, 2}",
            "[1, 2] x",
            "[\"unterminated",
            "",
            "{\"records\": [\n{\"x\": tru}]}",
            // Lines counted inside skipped elements and strings.
            "[{\"a\":\n 1,\n \"s\": \"x\\\"y\"},\n {\"b\": }]",
            "[\"a\\\\\",\n[1,\n2],\n{\"k\": [\"}\", \"]\"],\n\"v\": tru}]",
            "{\"p\": [{\"n\": \"line\nbreak\"}, 1 2]}",
        ] {
            let w = whole(bad.as_bytes());
            assert!(w.is_err(), "{bad}");
            assert_eq!(streamed(bad.as_bytes(), 2), w, "{bad}");
        }
    }

    #[test]
    fn nesting_limits_are_reported_where_the_whole_document_would() {
        let limit = super::super::DEFAULT_MAX_DEPTH;
        for depth in [limit - 1, limit, limit + 1, 3 * limit] {
            for (open, close) in [("{\"k\": ", "}"), ("[", "]")] {
                for inner in ["\"219-09-9999\"", "[1]", "{\"ssn\": 1}"] {
                    let doc = format!(
                        "{}{inner}{}",
                        open.repeat(depth),
                        close.repeat(depth)
                    );
                    assert_eq!(
                        streamed(doc.as_bytes(), 5),
                        whole(doc.as_bytes()),
                        "{depth} {open} {inner}"
                    );
                }
            }
        }
        let deep = "{\"k\": ".repeat(3 * limit) + "1" + &"}".repeat(3 * limit);
        assert!(
            whole(deep.as_bytes()).unwrap_err().contains("json_max_depth")
        );
    }

    #[test]
    fn arrays_below_nested_objects_are_read_item_by_item() {
        // {"meta": {...}, "data": {"patients": [200,000 records]}}
        let mut doc =
            String::from(r#"{"meta": {"v": 1}, "data": {"patients": ["#);
        for i in 0..200_000 {
            if i > 0 {
                doc.push(',');
            }
            doc.push_str(&format!(r#"{{"id": {i}, "ssn": "219-09-9999"}}"#));
        }
        doc.push_str("]}}");
        let mut split = Splitter::new(doc.as_bytes(), 128);
        let (mut count, mut largest) = (0, 0);
        while let Some(p) = split.next().unwrap() {
            if let Some(e) = p.element {
                count += 1;
                largest = largest.max(e.bytes.len());
            }
            largest = largest.max(split.buf.capacity());
        }
        assert_eq!(count, 200_001); // meta.v and the records
        assert!(largest <= 4 * READ, "buffer grew to {largest}");
    }

    #[test]
    fn memory_follows_the_largest_element_not_the_document() {
        // 200,000 records, read 64 KiB at a time: the buffer never holds
        // more than a couple of reads.
        struct Records {
            next: usize,
            pending: Vec<u8>,
        }
        impl Read for Records {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                while self.pending.len() < buf.len() && self.next <= 200_000 {
                    let sep = match self.next {
                        0 => "[",
                        200_000 => "]",
                        _ => ",",
                    };
                    self.pending.extend_from_slice(sep.as_bytes());
                    if self.next < 200_000 {
                        self.pending.extend_from_slice(
                            format!(
                                r#"{{"id": {}, "ssn": "219-09-9999"}}"#,
                                self.next
                            )
                            .as_bytes(),
                        );
                    }
                    self.next += 1;
                }
                let n = buf.len().min(self.pending.len());
                buf[..n].copy_from_slice(&self.pending[..n]);
                self.pending.drain(..n);
                Ok(n)
            }
        }
        let mut count = 0;
        let mut split =
            Splitter::new(Records { next: 0, pending: Vec::new() }, 128);
        let mut largest = 0;
        while let Some(p) = split.next().unwrap() {
            if p.element.is_some() {
                count += 1;
            }
            largest = largest.max(split.buf.capacity());
        }
        assert_eq!(count, 200_000);
        assert!(largest <= 4 * READ, "buffer grew to {largest}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn random_documents_match(
            items in proptest::collection::vec(
                prop_oneof![
                    Just("\"219-09-9999\"".to_string()),
                    Just("{\"email\": \"a@b.example\", \"x\": [1, \"415-555-2671\"]}".to_string()),
                    Just("null".to_string()),
                    Just("-12.5e3".to_string()),
                    "[a-z \\\\\"]{0,12}".prop_map(|s| serde_json::to_string(&s).unwrap()),
                ],
                0..12,
            ),
            as_object in any::<bool>(),
            ws in "[ \n]{0,2}",
            cut in any::<proptest::sample::Index>(),
            step in 1usize..9,
        ) {
            let body: Vec<String> = if as_object {
                items.iter().enumerate().map(|(i, v)| format!("{ws}\"k{i}\":{ws}{v}")).collect()
            } else {
                items.clone()
            };
            let doc = if as_object {
                format!("{{{}}}", body.join(","))
            } else {
                format!("[{}]", body.join(&format!(",{ws}")))
            };
            prop_assert_eq!(streamed(doc.as_bytes(), step), whole(doc.as_bytes()));
            let want = redactor().redact_json(doc.as_bytes()).map_err(|e| e.to_string());
            prop_assert_eq!(redacted(doc.as_bytes(), step), want);
            // Cut anywhere: the same error, at the same place, or both fine.
            let at = cut.index(doc.len() + 1);
            let part = &doc.as_bytes()[..at];
            prop_assert_eq!(streamed(part, step), whole(part));
        }
    }
}
