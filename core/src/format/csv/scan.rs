//! Scanning delimited text record by record, with columns classified by
//! their names and values.

use std::io::{self, BufRead};
use std::ops::Range;
use std::sync::Arc;

use super::syntax::{fields, strip_bom, trim_terminator};
use super::{CsvFinding, CsvOptions};
use crate::scan::engine::{Finding, Scanner};
use crate::scan::hints::FieldHint;

/// The longest record read; a longer one is scanned as text.
const MAX_RECORD: usize = 64 << 20;

/// Rows read ahead to classify columns by their values, and the most bytes
/// they may hold.
const CLASSIFY_ROWS: usize = 1000;
const CLASSIFY_BYTES: usize = 4 << 20;

/// The share of a column's sampled values that must be findings of one
/// entity (each covering most of its value) for the column to take that
/// entity's class.
const CLASSIFY_SHARE: f64 = 0.5;

/// The share that suffices for an entity whose values no other entity
/// contests (a quarter as many values or fewer): an address column whose
/// other values are in forms no pattern knows. Names need the full share:
/// a column of towns has many that are also names.
const CLASSIFY_SHARE_ALONE: f64 = 0.3;

/// Fewer non-empty sampled values than this are no evidence.
const CLASSIFY_MIN_VALUES: usize = 3;

/// The shapes of one headerless column's sampled values.
#[derive(Clone, Debug, Default)]
struct Shapes {
    values: usize,
    ids: usize,
    zips: usize,
    /// One to four capitalized words of letters: the shape of a name.
    names: usize,
    /// Whole numbers up to 120, and their sum.
    ages: usize,
    age_sum: u64,
    /// Hashes of the distinct values seen.
    distinct: std::collections::HashSet<u64>,
}

impl Shapes {
    fn add(&mut self, value: &[u8]) {
        let v = value.trim_ascii();
        self.values += 1;
        if is_name_shaped(v) {
            self.names += 1;
        } else if is_zip_shaped(v) {
            self.zips += 1;
        } else if is_id_shaped(v) {
            self.ids += 1;
        } else if (1..=3).contains(&v.len())
            && v.iter().all(u8::is_ascii_digit)
        {
            let n = v.iter().fold(0, |n, b| n * 10 + u64::from(b - b'0'));
            if n <= 120 {
                self.ages += 1;
                self.age_sum += n;
            }
        }
        let hash = std::hash::BuildHasher::hash_one(
            &foldhash::fast::FixedState::default(),
            v,
        );
        self.distinct.insert(hash);
    }

    /// The entity the column's values show by shape alone: most of them
    /// identifier-shaped (or ZIPs), and nearly all distinct (codes and
    /// statuses repeat; identifiers of people do not); or whole numbers
    /// that read as adults' ages.
    fn class(&self) -> Option<crate::Entity> {
        if self.values < CLASSIFY_MIN_VALUES {
            return None;
        }
        // Ages repeat, and average as adults do (counts and scores
        // rarely stay under 120 with such a mean); only those over 89
        // are reported.
        let mean = self.age_sum / self.ages.max(1) as u64;
        if self.ages * 10 >= self.values * 9 && (25..=95).contains(&mean) {
            return Some(crate::Entity::Age);
        }
        if self.distinct.len() * 10 < self.values * 9 {
            return None;
        }
        if self.zips * 10 >= self.values * 8 {
            Some(crate::Entity::ZipCode)
        } else if (self.ids + self.zips) * 10 >= self.values * 8 {
            Some(crate::Entity::Mrn)
        } else {
            None
        }
    }
}

/// `Era Øvrebø`, `GARGANO,YEVGENY`, `Kuznetsova, Loraine`, `Ann M. Lee`:
/// one to four words of letters, each capitalized.
fn is_name_shaped(v: &[u8]) -> bool {
    let words = || {
        v.split(|b| b.is_ascii_whitespace() || *b == b',')
            .filter(|w| !w.is_empty())
    };
    let n = words().count();
    (1..=4).contains(&n)
        && v.len() <= 64
        && words().all(|w| {
            let first = w[0];
            (first.is_ascii_uppercase() || first >= 0xC3)
                && w.iter().all(|&b| {
                    b.is_ascii_alphabetic() || b >= 0x80 || b"'-.".contains(&b)
                })
        })
}

/// `12345` or `12345-6789`.
fn is_zip_shaped(v: &[u8]) -> bool {
    match v.len() {
        5 => v.iter().all(u8::is_ascii_digit),
        10 => {
            v[5] == b'-'
                && v[..5].iter().chain(&v[6..]).all(u8::is_ascii_digit)
        }
        _ => false,
    }
}

/// A value that reads as an identifier: 5 to 64 letters, digits, `-`,
/// `_`, `/`, `+`, `=`, parentheses (GS1 UDIs) or a few spaces, with at
/// least five digits, or a mix of letters and digits of 16 or more (a
/// token); not a number with a fraction, a date or a drug code.
fn is_id_shaped(v: &[u8]) -> bool {
    if !(5..=64).contains(&v.len())
        || !v.iter().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'-' | b'_'
                        | b'/'
                        | b'+'
                        | b'='
                        | b' '
                        | b'.'
                        | b'('
                        | b')'
                )
        })
    {
        return false;
    }
    let digits = v.iter().filter(|b| b.is_ascii_digit()).count();
    let letters = v.iter().filter(|b| b.is_ascii_alphabetic()).count();
    let token = v.len() >= 16 && digits > 0 && letters > 0;
    // A decimal number, a dotted date or version, or prose.
    if v.contains(&b'.') && !token
        || v.iter().filter(|&&b| b == b' ').count() > 2
    {
        return false;
    }
    // Dates: 2024-01-26, 1960/12/15, 20160503 are not identifiers here
    // (a date column has its own class).
    let date = || {
        let mut d = v.iter().copied().filter(u8::is_ascii_digit);
        let d: [u8; 8] = std::array::from_fn(|_| d.next().unwrap_or(0));
        digits == 8
            && v.len() <= 10
            && (d.starts_with(b"19") || d.starts_with(b"20"))
            && (b"01"..=b"12").contains(&&[d[4], d[5]])
            && (b"01"..=b"31").contains(&&[d[6], d[7]])
    };
    // National Drug Codes (4-4-2, 5-3-2, 5-4-1, 5-4-2) name products.
    let ndc = || {
        let mut groups = v.split(|&b| b == b'-').map(<[u8]>::len);
        let groups: [usize; 3] =
            std::array::from_fn(|_| groups.next().unwrap_or(0));
        digits + 2 == v.len()
            && matches!(groups, [4, 4, 2] | [5, 3, 2] | [5, 4, 1] | [5, 4, 2])
    };
    (digits >= 5 || token) && !date() && !ndc()
}

/// A raw record's kind, stream offset, line and row.
pub(crate) type Raw = (Kind, usize, u64, u64);

/// A record read ahead, with its bytes.
struct Ahead {
    raw: Raw,
    bytes: Vec<u8>,
}

/// What a raw record is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The header row: names, and text.
    Header,
    /// A data row of the expected width (or blank).
    Data,
    /// A data row of another width: fields and text.
    Ragged,
    /// Not a row: a preamble record, or one too long to be a record.
    Text,
}

/// One record of a delimited stream; see [`CsvScan::next_record`].
pub struct CsvRecord<'a> {
    /// 1-based data row; 0 for the header row and preamble text.
    pub row: u64,
    /// 1-based line where the record starts.
    pub line: u64,
    /// Offset of the record's first byte from the start of the stream.
    pub offset: usize,
    /// The record's raw bytes, terminator included.
    pub bytes: &'a [u8],
    /// How many fields the record has (0 for preamble text).
    pub fields: usize,
    /// The header names (empty without a header row).
    pub headers: &'a [Arc<str>],
    /// Findings in the record: in its fields, and in its text where the
    /// record is not a row of the expected shape.
    pub findings: Vec<CsvFinding>,
}

/// Shows the record's place, shape and findings, never its bytes.
impl std::fmt::Debug for CsvRecord<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvRecord")
            .field("row", &self.row)
            .field("line", &self.line)
            .field("offset", &self.offset)
            .field("bytes", &format_args!("{} bytes", self.bytes.len()))
            .field("fields", &self.fields)
            .field("headers", &self.headers)
            .field("findings", &self.findings)
            .finish()
    }
}

/// The records of a delimited stream and their findings; see
/// [`Scanner::scan_csv`].
pub struct CsvScan<'s, R> {
    scanner: &'s Scanner,
    rdr: R,
    opts: CsvOptions,
    /// Finds where a record ends, across lines, in one pass.
    csv: csv_core::Reader,
    headers: Option<Vec<Arc<str>>>,
    /// Each column's hint: from its name, else from its values.
    hints: Vec<FieldHint>,
    /// Fields a row is expected to have: the header's, else the first
    /// data row's.
    width: Option<usize>,
    /// Whether the columns have been classified by their values.
    classified: bool,
    /// Records read ahead to classify the columns, to be returned first.
    ahead: std::collections::VecDeque<Ahead>,
    /// Records read so far, blank ones included.
    records: usize,
    /// A read error met while reading ahead, returned after the rows
    /// read before it.
    pending_error: Option<io::Error>,
    buf: Vec<u8>,
    offset: usize,
    line: u64,
    row: u64,
    done: bool,
    /// The current record's findings not yet returned, last first.
    pending: Vec<CsvFinding>,
}

impl Scanner {
    /// Scans a delimited stream record by record, in bounded memory.
    ///
    /// ```
    /// use phisafe::{Entity, Scanner};
    /// use phisafe::format::csv::CsvOptions;
    ///
    /// let csv = "id,last_name,note\n1,Quixote,\"SSN 219-09-9999, \"\"old\"\"\"\n";
    /// let scanner = Scanner::new();
    /// let found: Vec<_> = scanner
    ///     .scan_csv(csv.as_bytes(), CsvOptions::new())
    ///     .collect::<Result<_, _>>()?;
    /// let got: Vec<_> = found
    ///     .iter()
    ///     .map(|f| (f.row(), f.header(), f.finding().entity(), &csv[f.finding().range()]))
    ///     .collect();
    /// assert_eq!(got, [
    ///     (1, Some("last_name"), Entity::Person, "Quixote"),
    ///     (1, Some("note"), Entity::Ssn, "219-09-9999"),
    /// ]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn scan_csv<R: BufRead>(
        &self,
        rdr: R,
        opts: CsvOptions,
    ) -> CsvScan<'_, R> {
        CsvScan {
            scanner: self,
            rdr,
            opts,
            csv: csv_core::ReaderBuilder::new()
                .delimiter(opts.delimiter)
                .terminator(csv_core::Terminator::Any(b'\n'))
                .build(),
            headers: None,
            hints: Vec::new(),
            width: None,
            classified: false,
            ahead: std::collections::VecDeque::new(),
            records: 0,
            pending_error: None,
            buf: Vec::new(),
            offset: 0,
            line: 1,
            row: 0,
            done: false,
            pending: Vec::new(),
        }
    }
}

/// Shows the position and the columns, never the buffered bytes.
impl<R> std::fmt::Debug for CsvScan<'_, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvScan")
            .field("opts", &self.opts)
            .field("headers", &self.headers)
            .field("hints", &self.hints)
            .field("line", &self.line)
            .field("row", &self.row)
            .field("offset", &self.offset)
            .finish_non_exhaustive()
    }
}

impl<R: BufRead> CsvScan<'_, R> {
    /// Reads one whole record (possibly several lines) into `buf`; returns
    /// its length with terminator (0 at the end), and whether it grew past
    /// [`MAX_RECORD`] (an open quote that never closes), in which case it
    /// is to be read as text and the next record starts afresh.
    fn read_record(&mut self) -> io::Result<(usize, bool)> {
        self.buf.clear();
        let mut scratch = [0u8; 4096];
        let mut ends = [0usize; 64];
        loop {
            let before = self.buf.len();
            let n = self.rdr.read_until(b'\n', &mut self.buf)?;
            if n == 0 {
                // The end: an open quote closes here.
                self.csv.reset();
                return Ok((self.buf.len(), false));
            }
            if before == 0 && trim_terminator(&self.buf).is_empty() {
                return Ok((self.buf.len(), false));
            }
            if self.buf.len() > MAX_RECORD {
                self.csv.reset();
                return Ok((self.buf.len(), true));
            }
            let mut input = &self.buf[before..];
            loop {
                let (res, nin, _, _) =
                    self.csv.read_record(input, &mut scratch, &mut ends);
                input = &input[nin..];
                match res {
                    csv_core::ReadRecordResult::Record => {
                        return Ok((self.buf.len(), false));
                    }
                    csv_core::ReadRecordResult::OutputFull
                    | csv_core::ReadRecordResult::OutputEndsFull => {}
                    // The record goes on past this line.
                    csv_core::ReadRecordResult::InputEmpty
                    | csv_core::ReadRecordResult::End => break,
                }
            }
        }
    }

    /// The next record's kind, stream offset, line and row; its raw bytes
    /// (terminator included) are [`raw`](Self::raw). Blank records are
    /// returned too, as data. The first data row reads up to
    /// [`CLASSIFY_ROWS`] ahead to classify the columns by their values.
    pub(crate) fn next_raw(&mut self) -> Option<io::Result<Raw>> {
        if let Some(a) = self.ahead.pop_front() {
            self.buf = a.bytes;
            return Some(Ok(a.raw));
        }
        let raw = match self.read_raw()? {
            Ok(raw) => raw,
            Err(e) => return Some(Err(e)),
        };
        if self.classified || !is_row(raw.0) {
            return Some(Ok(raw));
        }
        self.classified = true;
        let mut bytes = self.buf.len();
        let first = std::mem::take(&mut self.buf);
        self.ahead.push_back(Ahead { raw, bytes: first });
        while self.ahead.len() < CLASSIFY_ROWS && bytes < CLASSIFY_BYTES {
            match self.read_raw() {
                Some(Ok(raw)) => {
                    bytes += self.buf.len();
                    let bytes = std::mem::take(&mut self.buf);
                    self.ahead.push_back(Ahead { raw, bytes });
                }
                Some(Err(e)) => {
                    // Delivered after the rows read before it.
                    self.pending_error = Some(e);
                    self.done = false;
                    break;
                }
                None => break,
            }
        }
        self.classify();
        let a = self.ahead.pop_front()?;
        self.buf = a.bytes;
        Some(Ok(a.raw))
    }

    /// Gives columns whose name says nothing the class their sampled
    /// values show: when at least [`CLASSIFY_SHARE`] of a column's values
    /// (or [`CLASSIFY_SHARE_ALONE`], uncontested) are each mostly one
    /// finding of one entity that has a key class,
    /// every value in it is read as that key (`key.person`, `key.mrn`
    /// ...), which reports values no pattern matches on its own.
    fn classify(&mut self) {
        let width = self.width.unwrap_or(0);
        if self.hints.len() < width {
            self.hints.resize(width, FieldHint::Unknown);
        }
        let delim = self.opts.delimiter;
        // Per column: non-empty values, and how many show each entity.
        // Each row is split once.
        type Tally = (usize, Vec<(crate::Entity, usize)>);
        let mut tallies: Vec<Tally> = vec![(0, Vec::new()); self.hints.len()];
        // Without a header, what values look like is the only evidence
        // left: per column, values shaped like an identifier or a ZIP.
        let headerless = self.headers.is_none();
        let mut shapes: Vec<Shapes> =
            vec![Shapes::default(); self.hints.len()];
        // Per column: non-empty values, and how many are field names.
        let mut labels = vec![(0usize, 0usize); self.hints.len()];
        for a in self.ahead.iter().filter(|a| a.raw.0 == Kind::Data) {
            let body = trim_terminator(&a.bytes);
            for (column, field) in fields(body, delim).into_iter().enumerate()
            {
                let (value, _) = field.value(body);
                if !value
                    .iter()
                    .any(|b| b.is_ascii_alphanumeric() || *b >= 0x80)
                {
                    continue;
                }
                // A field name (`Last Name`, `DOB`) labels the next field,
                // as a record exported a field per row writes it: it is
                // not a value of its own column.
                let label =
                    self.scanner.label_cell_hint(&value) != FieldHint::Unknown;
                if let Some(l) = labels.get_mut(column) {
                    l.0 += 1;
                    l.1 += usize::from(label);
                }
                if label || self.hints.get(column) != Some(&FieldHint::Unknown)
                {
                    continue;
                }
                let (values, counts) = &mut tallies[column];
                *values += 1;
                if headerless {
                    shapes[column].add(&value);
                }
                if let Some(e) = self.scanner.value_entity(&value) {
                    match counts.iter_mut().find(|c| c.0 == e) {
                        Some(c) => c.1 += 1,
                        None => counts.push((e, 1)),
                    }
                }
            }
        }
        for (column, (values, counts)) in tallies.into_iter().enumerate() {
            let Some(&(entity, n)) = counts.iter().max_by_key(|c| c.1) else {
                continue;
            };
            let contested =
                counts.iter().any(|c| c.0 != entity && c.1 * 4 > n);
            // Without a header, a column of name-shaped values needs
            // fewer of them in the census lists (names from elsewhere are
            // not).
            let named = headerless
                && entity == crate::Entity::Person
                && shapes[column].names * 10 >= values * 9;
            let share = if (entity == crate::Entity::Person && !named)
                || contested
                || n < CLASSIFY_MIN_VALUES
            {
                CLASSIFY_SHARE
            } else {
                CLASSIFY_SHARE_ALONE
            };
            if values >= CLASSIFY_MIN_VALUES
                && n as f64 >= share * values as f64
                && let Some(class) = self.scanner.key_class(entity)
            {
                self.hints[column] = FieldHint::Entity(class);
            }
        }
        // A column of field names (`Name,Value` over `MRN,518830`) holds
        // labels, whatever its header says: its fields are read as such
        // ([`cell_hint`]), not as names.
        for (column, &(values, n)) in labels.iter().enumerate() {
            if values >= CLASSIFY_MIN_VALUES && n * 10 >= values * 6 {
                self.hints[column] = FieldHint::Unknown;
            }
        }
        // A headerless export whose values show PHI in some column: its
        // other columns of distinct identifier-shaped values (MRNs,
        // member and account numbers, license numbers, tokens) are read
        // as identifiers too. Redacting an order number is a nuisance;
        // leaving an MRN is a leak.
        let phi = self.hints.iter().any(|h| matches!(h, FieldHint::Entity(_)));
        if headerless && phi {
            for (column, shape) in shapes.iter().enumerate() {
                if self.hints[column] != FieldHint::Unknown {
                    continue;
                }
                let class = match shape.class() {
                    Some(e) => self.scanner.key_class(e),
                    None => None,
                };
                if let Some(class) = class {
                    self.hints[column] = FieldHint::Entity(class);
                }
            }
        }
    }

    /// Reads the next record; see [`next_raw`](Self::next_raw).
    fn read_raw(&mut self) -> Option<io::Result<Raw>> {
        if let Some(e) = self.pending_error.take() {
            self.done = true;
            return Some(Err(e));
        }
        if self.done {
            return None;
        }
        let (n, too_long) = match self.read_record() {
            Ok(r) => r,
            Err(e) => {
                self.done = true;
                return Some(Err(e));
            }
        };
        if n == 0 {
            self.done = true;
            return None;
        }
        let offset = self.offset;
        let line = self.line;
        self.offset += n;
        self.line += memchr::memchr_iter(b'\n', &self.buf).count() as u64;
        self.records += 1;
        if too_long || self.records <= self.opts.skip {
            return Some(Ok((Kind::Text, offset, line, 0)));
        }
        let body = trim_terminator(&self.buf);
        if body.is_empty() {
            return Some(Ok((Kind::Data, offset, line, self.row)));
        }
        let body = if offset == 0 { strip_bom(body) } else { body };
        let fields = fields(body, self.opts.delimiter);
        if self.opts.headers && self.headers.is_none() {
            let names: Vec<Arc<str>> = fields
                .iter()
                .map(|f| {
                    String::from_utf8_lossy(&f.value(body).0).trim().into()
                })
                .collect();
            self.hints =
                names.iter().map(|h| self.scanner.field_hint(h)).collect();
            self.width = Some(names.len());
            self.headers = Some(names);
            return Some(Ok((Kind::Header, offset, line, 0)));
        }
        self.row += 1;
        let width = *self.width.get_or_insert(fields.len());
        let kind =
            if fields.len() == width { Kind::Data } else { Kind::Ragged };
        Some(Ok((kind, offset, line, self.row)))
    }

    /// The bytes of the record `next_raw` returned last.
    pub(crate) fn raw(&self) -> &[u8] {
        &self.buf
    }

    /// The header names, once the header row has been read.
    pub fn headers(&self) -> Option<&[Arc<str>]> {
        self.headers.as_deref()
    }

    /// The key hint of each column, once the header row has been read.
    pub(crate) fn hints(&self) -> &[FieldHint] {
        &self.hints
    }

    /// The next record with findings to report or fields to count: data
    /// rows, and text (header, preamble) that holds findings. `None` at
    /// the end.
    pub fn next_record(&mut self) -> Option<io::Result<CsvRecord<'_>>> {
        loop {
            let (kind, offset, line, row) = match self.next_raw()? {
                Ok(r) => r,
                Err(e) => return Some(Err(e)),
            };
            let body = trim_terminator(&self.buf);
            if body.is_empty() {
                continue;
            }
            let (fields, mut findings) = scan_record(
                self.scanner,
                kind,
                &self.buf,
                offset,
                row,
                &self.hints,
                self.opts.delimiter,
            );
            if !is_row(kind) && findings.is_empty() {
                continue;
            }
            let headers = self.headers.as_deref().unwrap_or_default();
            name_columns(&mut findings, headers);
            return Some(Ok(CsvRecord {
                row,
                line,
                offset,
                bytes: &self.buf,
                fields,
                headers,
                findings,
            }));
        }
    }
}

/// Whether a table's columns are named by nothing the dictionary knows
/// (no header, or names such as `a,b,c`). Its rows have only their
/// neighbours as evidence, which a field read alone loses (`Zed
/// Quixote\tMRN 00482913`), so they are read as text too: structure never
/// hides what text finds.
pub(crate) fn unnamed(hints: &[FieldHint]) -> bool {
    hints.iter().all(|h| *h == FieldHint::Unknown)
}

/// The hint a field is read with: its column's, or where the column says
/// nothing, what the field before it says as a label (`MRN\t518830`,
/// `Date of Birth,03/14/1957`: a record exported a field per row).
pub(crate) fn cell_hint(
    scanner: &Scanner,
    hints: &[FieldHint],
    column: usize,
    before: Option<&[u8]>,
) -> FieldHint {
    match hints.get(column).copied().unwrap_or(FieldHint::Unknown) {
        FieldHint::Unknown => {
            before.map_or(FieldHint::Unknown, |b| scanner.label_cell_hint(b))
        }
        hint => hint,
    }
}

/// Whether records of this kind are data rows.
fn is_row(kind: Kind) -> bool {
    matches!(kind, Kind::Data | Kind::Ragged)
}

/// Scans one record (`raw`, terminator included, starting at stream
/// offset `offset`) as its kind says; returns its field count and
/// findings, whose headers [`name_columns`] fills in.
pub(crate) fn scan_record(
    scanner: &Scanner,
    kind: Kind,
    raw: &[u8],
    offset: usize,
    row: u64,
    hints: &[FieldHint],
    delimiter: u8,
) -> (usize, Vec<CsvFinding>) {
    let body = trim_terminator(raw);
    let text = |findings: &mut Vec<CsvFinding>| {
        for f in text_findings(scanner, body, offset, findings) {
            findings.push(CsvFinding {
                finding: f.offset_by(offset),
                row,
                column: None,
                header: None,
            });
        }
        findings.sort_by_key(|f| (f.finding.start, f.finding.end));
    };
    if kind == Kind::Text {
        let mut findings = Vec::new();
        text(&mut findings);
        return (0, findings);
    }
    let fields = fields(body, delimiter);
    let mut findings = Vec::new();
    if kind != Kind::Header {
        let mut before: Option<std::borrow::Cow<'_, [u8]>> = None;
        for (column, field) in fields.iter().enumerate() {
            let hint = cell_hint(scanner, hints, column, before.as_deref());
            let (value, map) = field.value(body);
            for f in scanner.scan_hinted(hint, &value) {
                let (start, end) = match &map {
                    Some(map) => map.span(f.start(), f.end()),
                    None => (
                        field.raw.start + f.start(),
                        field.raw.start + f.end(),
                    ),
                };
                findings.push(CsvFinding {
                    finding: Finding {
                        start: offset + start,
                        end: offset + end,
                        ..f
                    },
                    row,
                    column: Some(column),
                    header: None,
                });
            }
            before = Some(value);
        }
    }
    if kind != Kind::Data || unnamed(hints) {
        text(&mut findings);
    }
    (fields.len(), findings)
}

/// The findings of `body` (at stream offset `offset`) read as text,
/// offsets in `body`, that overlap none of `fields`' findings.
fn text_findings(
    scanner: &Scanner,
    body: &[u8],
    offset: usize,
    fields: &[CsvFinding],
) -> Vec<Finding> {
    let mut found = scanner.scan(body);
    found.retain(|t| {
        !fields.iter().any(|g| {
            t.start + offset < g.finding.end
                && g.finding.start < t.end + offset
        })
    });
    found
}

/// Names the column of each finding. Done by the thread that delivers
/// the record: cloning the shared header `Arc`s on every worker made the
/// cores fight over their counts.
fn name_columns(findings: &mut [CsvFinding], headers: &[Arc<str>]) {
    for f in findings {
        f.header = f.column.and_then(|c| headers.get(c).cloned());
    }
}

impl Scanner {
    /// Scans a delimited stream on the rayon pool: records are found in
    /// order (as [`CsvScan::next_record`] finds them), gathered in batches
    /// of about a megabyte, scanned in parallel, and handed to `each` in
    /// order. The records and findings are exactly the sequential ones.
    pub fn scan_csv_parallel<R: BufRead>(
        &self,
        rdr: R,
        opts: CsvOptions,
        mut each: impl FnMut(CsvRecord<'_>) -> io::Result<()>,
    ) -> io::Result<()> {
        use rayon::prelude::*;
        const BATCH: usize = 1 << 20;
        let mut scan = self.scan_csv(rdr, opts);
        let mut batch: Vec<u8> = Vec::new();
        // Per record: its kind, span in `batch`, stream offset, line, row.
        let mut records: Vec<(Kind, Range<usize>, usize, u64, u64)> =
            Vec::new();
        loop {
            batch.clear();
            records.clear();
            let mut ended = false;
            while batch.len() < BATCH {
                let Some(raw) = scan.next_raw() else {
                    ended = true;
                    break;
                };
                let (kind, offset, line, row) = raw?;
                if trim_terminator(&scan.buf).is_empty() {
                    continue;
                }
                let start = batch.len();
                batch.extend_from_slice(&scan.buf);
                records.push((kind, start..batch.len(), offset, line, row));
            }
            let headers = scan.headers.as_deref().unwrap_or_default();
            let scanned: Vec<Vec<(usize, Vec<CsvFinding>)>> = records
                .par_chunks(256)
                .map(|chunk| {
                    chunk
                        .iter()
                        .map(|(kind, span, offset, _, row)| {
                            let raw = &batch[span.clone()];
                            scan_record(
                                self,
                                *kind,
                                raw,
                                *offset,
                                *row,
                                &scan.hints,
                                opts.delimiter,
                            )
                        })
                        .collect()
                })
                .collect();
            for ((kind, span, offset, line, row), (fields, mut findings)) in
                records.iter().zip(scanned.into_iter().flatten())
            {
                if !is_row(*kind) && findings.is_empty() {
                    continue;
                }
                name_columns(&mut findings, headers);
                each(CsvRecord {
                    row: *row,
                    line: *line,
                    offset: *offset,
                    bytes: &batch[span.clone()],
                    fields,
                    headers,
                    findings,
                })?;
            }
            if ended {
                return Ok(());
            }
        }
    }
}

impl<R: BufRead> Iterator for CsvScan<'_, R> {
    type Item = io::Result<CsvFinding>;

    fn next(&mut self) -> Option<io::Result<CsvFinding>> {
        // Findings come record by record; hold the current record's.
        loop {
            if let Some(f) = self.pending.pop() {
                return Some(Ok(f));
            }
            match self.next_record()? {
                Ok(rec) => {
                    let mut found = rec.findings;
                    found.reverse();
                    self.pending = found;
                }
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Entity;

    /// Row, column, header, entity and value of a finding.
    type Located = (u64, Option<usize>, Option<String>, Entity, String);

    fn scan(text: &str, opts: CsvOptions) -> Vec<Located> {
        Scanner::new()
            .scan_csv(text.as_bytes(), opts)
            .map(|f| {
                let f = f.unwrap();
                let value = text[f.finding().range()].to_string();
                (
                    f.row(),
                    f.column(),
                    f.header().map(str::to_string),
                    f.finding().entity(),
                    value,
                )
            })
            .collect()
    }

    #[test]
    fn a_record_exported_a_field_per_row_is_read_by_its_labels() {
        // The label is the field before the value: names, MRNs and dates
        // that no pattern finds alone are found, and a column of labels is
        // not a column of names even under a `Name` header.
        let rows = "Chart Number,M27776804\nSurname,Quixote\nFirst Name,Zed\nDate of Birth,17-MAY-2021\nStatus,closed\n";
        for (text, headers) in
            [(rows.to_string(), false), (format!("Name,Value\n{rows}"), true)]
        {
            let opts = CsvOptions::new().delimiter(b',').headers(headers);
            let found: Vec<_> =
                scan(&text, opts).into_iter().map(|f| (f.3, f.4)).collect();
            assert_eq!(
                found,
                [
                    (Entity::Mrn, "M27776804".to_string()),
                    (Entity::Person, "Quixote".to_string()),
                    (Entity::Person, "Zed".to_string()),
                    (Entity::Date, "17-MAY-2021".to_string()),
                ],
                "{text}"
            );
            let redactor = crate::Redactor::new(Scanner::new());
            let mut out = Vec::new();
            redactor.redact_csv(text.as_bytes(), &mut out, opts).unwrap();
            let out = String::from_utf8(out).unwrap();
            for gone in ["M27776804", "Quixote", "Zed", "17-MAY"] {
                assert!(!out.contains(gone), "{gone} in {out}");
            }
            assert!(out.contains("Surname,") && out.contains("Status,closed"));
        }
    }

    #[test]
    fn rows_of_unnamed_columns_are_read_as_text_too() {
        // Found by the coverage property test: the cue for the name is in
        // the next field, which a field read alone never sees.
        let text = "Zed Quixote\tMRN 00482913\t219-09-9999\n";
        let opts = CsvOptions::new().delimiter(b'\t').headers(false);
        let found = scan(text, opts);
        assert!(
            found
                .iter()
                .any(|f| f.3 == Entity::Person && f.4 == "Zed Quixote"),
            "{found:?}"
        );
        let scanner = Scanner::new();
        let redactor = crate::Redactor::new(scanner);
        let mut out = Vec::new();
        redactor.redact_csv(text.as_bytes(), &mut out, opts).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(!out.contains("Quixote") && !out.contains("219-09"), "{out}");
        assert_eq!(out.matches('\t').count(), 2, "{out}");
        // Named columns keep their own reading: a `status` column's word
        // is not read against its neighbours.
        let named = "name\tstatus\nZed Quixote\tpending\n";
        let found = scan(named, CsvOptions::new().delimiter(b'\t'));
        assert!(found.iter().all(|f| f.1.is_some()), "{found:?}");
    }

    #[test]
    fn headers_are_hints_and_findings_are_located() {
        let text = "id,patientName,dob,notes\r\n\
                    1,Zed Quixote,1957-03-14,\"call (415) 555-2671,\nthen \"\"fax\"\"\"\r\n\
                    2,,N/A,\"SSN 219\"\"09\"\"9999\"\r\n\
                    3,,,\"\"\"quoted\"\" 536-22-1837\"\n";
        let got = scan(text, CsvOptions::new());
        let name = Some("patientName".to_string());
        assert_eq!(
            got,
            [
                (1, Some(1), name, Entity::Person, "Zed Quixote".into()),
                (
                    1,
                    Some(2),
                    Some("dob".into()),
                    Entity::Date,
                    "1957-03-14".into()
                ),
                (
                    1,
                    Some(3),
                    Some("notes".into()),
                    Entity::Phone,
                    "(415) 555-2671".into()
                ),
                (
                    3,
                    Some(3),
                    Some("notes".into()),
                    Entity::Ssn,
                    "536-22-1837".into()
                ),
            ]
        );
    }

    #[test]
    fn delimiters_ragged_rows_and_no_headers() {
        let text = "ssn\tlast_name\n219099999\tZed Quixote\textra jo@clinic.example\n536221837\n";
        let got = scan(text, CsvOptions::new().delimiter(b'\t'));
        assert_eq!(got.len(), 4, "{got:?}");
        assert_eq!(got[2].1, Some(2));
        assert_eq!(got[2].2, None);
        assert_eq!(got[2].3, Entity::Email);
        assert_eq!(
            (got[3].0, got[3].3, got[3].4.as_str()),
            (2, Entity::Ssn, "536221837")
        );
        let got = scan(
            "a;SSN 219-09-9999\n",
            CsvOptions::new().delimiter(b';').headers(false),
        );
        assert_eq!(got.len(), 1);
        assert_eq!((got[0].0, got[0].1), (1, Some(1)));
    }

    #[test]
    fn redacted_csv_is_csv_of_the_same_shape() {
        use crate::Redactor;
        let text = "id,last_name,notes\r\n1,Quixote,\"call (415) 555-2671,\nthen \"\"fax\"\"\"\r\n2,,plain\r\n";
        let mut out = Vec::new();
        let n = Redactor::new(Scanner::new())
            .redact_csv(text.as_bytes(), &mut out, CsvOptions::new())
            .unwrap();
        assert_eq!(n, 2);
        let out = String::from_utf8(out).unwrap();
        assert_eq!(
            out,
            "id,last_name,notes\r\n1,[PERSON],\"call [PHONE],\nthen \"\"fax\"\"\"\r\n2,,plain\r\n"
        );
        // Same rows and fields when read back, and nothing left to find.
        let shape = |t: &str| -> Vec<usize> {
            let scanner = Scanner::new();
            let mut scan = scanner.scan_csv(t.as_bytes(), CsvOptions::new());
            let mut widths = Vec::new();
            while let Some(r) = scan.next_raw() {
                r.unwrap();
                let body = trim_terminator(scan.raw());
                widths.push(fields(body, b',').len());
            }
            widths
        };
        assert_eq!(shape(text), shape(&out));
        assert_eq!(scan(&out, CsvOptions::new()), []);
    }

    #[test]
    fn columns_take_the_class_their_values_show() {
        // No header: NPIs and DEA numbers validate without context, names
        // are in the census lists; every value of such a column is then
        // reported, those no pattern finds alone included.
        let text = "1;1234567893;AB1234563;Choi\n\
                    2;1245319599;FB1974314;Gieseke\n\
                    3;1679576722;MA4485068;Zhao\n\
                    4;1003000126;BJ6125341;Øvrebø Kvist\n\
                    5;n/a;;Garibay\n";
        let opts = CsvOptions::new().delimiter(b';').headers(false);
        let got = scan(text, opts);
        let of = |column: usize| -> Vec<(Entity, String)> {
            got.iter()
                .filter(|f| f.1 == Some(column))
                .map(|f| (f.3, f.4.clone()))
                .collect()
        };
        assert_eq!(of(0), []);
        assert_eq!(of(1).len(), 4, "{got:?}");
        assert!(of(1).iter().all(|f| f.0 == Entity::Npi));
        assert!(
            of(2).len() >= 3 && of(2).iter().all(|f| f.0 == Entity::DeaNumber),
            "{got:?}"
        );
        let names: Vec<String> = of(3).into_iter().map(|f| f.1).collect();
        assert_eq!(
            names,
            ["Choi", "Gieseke", "Zhao", "Øvrebø Kvist", "Garibay"]
        );
        // Uncontested evidence in a third of the values suffices; in a
        // fifth it does not.
        let rows = |n: usize, of: usize| -> String {
            (0..of)
                .map(|i| match i < n {
                    true => format!("{i},{} Elm Street\n", 100 + i),
                    false => format!("{i},Unit {i} rear lot\n"),
                })
                .collect()
        };
        let opts = CsvOptions::new().headers(false);
        assert_eq!(scan(&rows(4, 10), opts).len(), 10);
        assert_eq!(scan(&rows(2, 10), opts).len(), 2);
        // Compact dates need a context word in text; a column is one.
        let dates = "1,19570314\n2,19610702\n3,20240229\n4,19880101\n";
        let got = scan(dates, opts);
        assert_eq!(got.len(), 4, "{got:?}");
        assert!(got.iter().all(|f| f.3 == Entity::Date));
        // A column of counts stays clean whatever its name says nothing of.
        let counts = "a,1,7\nb,2,9\nc,3,12\nd,4,30\n";
        assert_eq!(scan(counts, CsvOptions::new().headers(false)), []);
    }

    #[test]
    fn headerless_identifier_columns_are_read_by_shape() {
        // PHI in the names column; MRNs, member ids and ZIPs no pattern
        // finds alone; drug codes, CPT codes that repeat, statuses and
        // amounts stay.
        let text = "1,Choi,0862914,MBR816099064,54771,93849-417-69,99215,active,12.50,61,3\n\
                    2,Gieseke,21766703,H971766021,07576-1234,9304-5708-13,93000,closed,8.00,94,12\n\
                    3,Zhao,047648,U7725660202,90002,66693-935-94,99215,active,3.10,47,4\n\
                    4,Okafor,0948229,A3113296702,31480,71179-9883-10,93000,active,4.75,101,7\n";
        let got = scan(text, CsvOptions::new().headers(false));
        let of = |column: usize| -> Vec<Entity> {
            got.iter().filter(|f| f.1 == Some(column)).map(|f| f.3).collect()
        };
        assert_eq!(of(2), [Entity::Mrn; 4], "{got:?}");
        assert_eq!(of(3).len(), 4, "{got:?}");
        assert_eq!(of(4), [Entity::ZipCode; 4], "{got:?}");
        // Ages: only those over 89; small counts are not ages.
        assert_eq!(of(9), [Entity::Age; 2], "{got:?}");
        for clean in [0, 5, 6, 7, 8, 10] {
            assert_eq!(of(clean), [], "column {clean}: {got:?}");
        }
        // Shape alone is no evidence in a file whose values show no PHI,
        // nor under a header (the names decide there).
        let plain = "1,0862914,active\n2,21766703,closed\n3,047648,active\n";
        assert_eq!(scan(plain, CsvOptions::new().headers(false)), []);
        let named =
            format!("n,name,ref,plan,zip,ndc,cpt,status,amount,x,y\n{text}");
        let got = scan(&named, CsvOptions::new());
        assert!(!got.iter().any(|f| f.1 == Some(2)), "{got:?}");
    }

    #[test]
    fn headerless_name_columns_need_fewer_census_names() {
        // Three of seven names are in the census lists: not half, but
        // the column's values are all name-shaped.
        let text = "1;Era Øvrebø;219-09-9999\n\
                    2;GARGANO,YEVGENY;078-05-1120\n\
                    3;Kuznetsova, Loraine;123-45-6789\n\
                    4;Maria Lopez;219-09-9998\n\
                    5;John Smith;219-09-9997\n\
                    6;Ann Lee;219-09-9996\n\
                    7;ZBIGNIEW ŁĘCKI;219-09-9995\n";
        let opts = CsvOptions::new().delimiter(b';').headers(false);
        let got = scan(text, opts);
        let names: Vec<&str> = got
            .iter()
            .filter(|f| f.1 == Some(1))
            .map(|f| {
                assert_eq!(f.3, Entity::Person);
                f.4.as_str()
            })
            .collect();
        assert_eq!(names.len(), 7, "{got:?}");
        // A column of words that are not name-shaped keeps the stricter
        // share.
        let notes = "1;Maria Lopez called;x\n2;John Smith ok;y\n3;pending review;z\n\
                     4;sent to lab;w\n5;no show;v\n";
        let got = scan(notes, opts);
        assert!(got.iter().all(|f| f.4 != "pending review"), "{got:?}");
    }

    #[test]
    fn quotes_never_panic() {
        for text in [
            "\"",
            "a,\"b",
            "\"\"\"",
            "x\n\"unterminated\nSSN 219-09-9999",
            "\"a\"b,c\n",
        ] {
            let _ = scan(text, CsvOptions::new());
            let _ = scan(text, CsvOptions::new().headers(false));
        }
        let got = scan("h\n\"open SSN 219-09-9999\n", CsvOptions::new());
        assert_eq!(got.len(), 1);
    }
}
