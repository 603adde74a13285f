//! SQL dump syntax: statements, COPY lines, prompts and result tables,
//! and the values of rows with their raw spans.

use std::collections::HashMap;
use std::io::{self, BufRead};
use std::ops::Range;
use std::sync::Arc;

use super::{DumpDialect, DumpValues};
use crate::format::{Format, InputError, InputErrorKind};
use crate::scan::engine::{Finding, Scanner};
use crate::scan::hints::FieldHint;

/// The longest statement or COPY line read.
const MAX_STATEMENT: usize = 256 << 20;

/// What redaction may write into a column and still restore.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ColumnType {
    /// Holds text: a redaction can be written as it is.
    pub(crate) textual: bool,
    pub(crate) not_null: bool,
    /// A neutral value of the type, for NOT NULL columns that are not text.
    pub(crate) neutral: Option<&'static str>,
}

impl ColumnType {
    /// From a column definition after its name: `date NOT NULL`.
    fn parse(declared: &str) -> ColumnType {
        let d = declared.to_ascii_lowercase();
        let d = d.trim_start_matches('`');
        let starts = |p: &[&str]| p.iter().any(|p| d.starts_with(p));
        let textual = starts(&[
            "text",
            "character",
            "char",
            "varchar",
            "nvarchar",
            "nchar",
            "citext",
            "name",
            "tinytext",
            "mediumtext",
            "longtext",
            "enum",
        ]) && !d.starts_with("character varying[]");
        let neutral = if textual {
            None
        } else if starts(&["timestamp", "datetime"]) {
            Some("1900-01-01 00:00:00")
        } else if starts(&["date"]) {
            Some("1900-01-01")
        } else if starts(&["time"]) {
            Some("00:00:00")
        } else if starts(&[
            "int",
            "bigint",
            "smallint",
            "tinyint",
            "mediumint",
            "numeric",
            "decimal",
            "real",
            "double",
            "float",
            "serial",
            "bigserial",
            "money",
        ]) {
            Some("0")
        } else if starts(&["bool"]) {
            Some("false")
        } else if starts(&["uuid"]) {
            Some("00000000-0000-0000-0000-000000000000")
        } else if starts(&["inet", "cidr"]) {
            Some("0.0.0.0")
        } else {
            None
        };
        ColumnType { textual, not_null: d.contains("not null"), neutral }
    }
}

/// One unit of a dump as read: a line or statement that holds no rows, a
/// COPY data line, or an INSERT statement.
pub(crate) enum Unit {
    Other,
    CopyRow(Vec<Value>),
    Insert(Vec<Vec<Value>>),
}

/// A unit read for redaction ([`DumpScan::read_owned`]).
pub(crate) struct OwnedUnit {
    pub(crate) bytes: Vec<u8>,
    /// Its rows' values; none for a unit without rows.
    pub(crate) tuples: Vec<Vec<Value>>,
    /// A COPY data line (else an INSERT, or no rows).
    pub(crate) copy: bool,
    pub(crate) columns: Arc<Columns>,
    /// Its text: what is not a value, to scan as text.
    pub(crate) text: Vec<Range<usize>>,
}

impl OwnedUnit {
    /// The findings of value `v`, the `i`th of its row, with offsets into
    /// its decoded bytes, which are returned too, and whether it was
    /// bytea; `None` for NULL.
    #[allow(clippy::type_complexity, reason = "crate-private plumbing")]
    pub(crate) fn value_findings(
        &self,
        scanner: &Scanner,
        i: usize,
        v: &Value,
    ) -> Option<(Vec<u8>, Vec<Finding>, bool)> {
        let hint =
            self.columns.hints.get(i).copied().unwrap_or(FieldHint::Unknown);
        let (bytes, _) =
            decode(&self.bytes[v.raw.clone()], v.raw.start, v.kind)?;
        if let Some((inner, _)) = bytea_hex(&bytes) {
            let found = scanner.scan_hinted(hint, &inner);
            return Some((bytes, found, true));
        }
        let found = scanner.scan_hinted(hint, &bytes);
        Some((bytes, found, false))
    }
}

/// One value's raw span in the statement or line, and how to decode it.
#[derive(Clone, Debug)]
pub(crate) struct Value {
    pub(crate) raw: Range<usize>,
    pub(super) kind: ValueKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ValueKind {
    /// A COPY text-format field: backslash escapes.
    Copy,
    /// A quoted SQL string; `backslash` for E'' strings and MySQL.
    Quoted { backslash: bool },
    /// A bare token: number, NULL, function call.
    Bare,
}

/// A dump's rows, decoded but not scanned: the parser on its own, for
/// loading a dump's tables elsewhere (a DataFrame, a database). See
/// [`DumpReader::next_values`]; [`Scanner::scan_dump`] scans with it.
pub struct DumpReader<R> {
    rdr: R,
    dialect: DumpDialect,
    pub(super) buf: Vec<u8>,
    /// Stream offset and line of `buf[0]`.
    pub(super) offset: usize,
    pub(super) line: u64,
    next_offset: usize,
    next_line: u64,
    /// Columns from CREATE TABLE, by table name.
    schemas: HashMap<String, Vec<Arc<str>>>,
    /// Column types from CREATE TABLE, by table and column name.
    pub(super) types: HashMap<String, HashMap<String, ColumnType>>,

    pub(super) rows: HashMap<Arc<str>, u64>,
    /// The table and columns of the current COPY block or INSERT.
    pub(super) table: Arc<str>,
    pub(super) columns: Vec<Arc<str>>,
    /// Counts changes of `columns`, so that a scan looks their hints up
    /// once per table, not per row.
    pub(super) columns_version: u64,
    in_copy: bool,
    /// Rows and text of the current INSERT not yet returned, in input
    /// order.
    pending: std::vec::IntoIter<Next>,
    /// The table of text between rows: none.
    pub(super) no_table: Arc<str>,
    started: bool,
    /// The last line of text, which may name the columns of a client's
    /// result table that a separator line then opens.
    last_text: Vec<u8>,
    /// The table the last SELECT read from: a result table's name.
    selected: Option<String>,
    /// Inside a psql or mysql client result table: its shape.
    result: Option<ResultTable>,
}

/// Shows where the reader is, never the dump's bytes (they hold PHI).
impl<R> std::fmt::Debug for DumpReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DumpReader")
            .field("dialect", &self.dialect)
            .field("line", &self.line)
            .field("offset", &self.offset)
            .finish_non_exhaustive()
    }
}

/// A result table that `psql` or the `mysql` client printed: column names,
/// a rule line, then rows of cells split by `|`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ResultTable {
    cells: usize,
    /// mysql's box: `| a | b |`, with a border at both ends.
    boxed: bool,
}

/// What [`DumpReader::advance`] found next.
pub(super) enum Next {
    Row(Vec<Value>),
    Text(Vec<Range<usize>>),
}

/// An INSERT's tuples and the text around them in input order, so that
/// findings come in input order: each tuple after the text before it.
pub(super) fn in_order(
    tuples: Vec<Vec<Value>>,
    text: Vec<Range<usize>>,
) -> Vec<Next> {
    let mut text = text.into_iter().peekable();
    let mut out = Vec::with_capacity(tuples.len() + 1);
    for tuple in tuples {
        // An empty tuple has no findings to order text against.
        let at = tuple.first().map_or(0, |v| v.raw.start);
        let before: Vec<_> =
            std::iter::from_fn(|| text.next_if(|r| r.start < at)).collect();
        if !before.is_empty() {
            out.push(Next::Text(before));
        }
        out.push(Next::Row(tuple));
    }
    let rest: Vec<_> = text.collect();
    if !rest.is_empty() {
        out.push(Next::Text(rest));
    }
    out
}

/// The parts of `unit` that are not values of `tuples` and hold something
/// besides SQL punctuation: the text of a unit.
pub(super) fn text_ranges(
    unit: &[u8],
    tuples: &[Vec<Value>],
) -> Vec<Range<usize>> {
    let worth = |r: &Range<usize>| {
        unit[r.clone()].iter().any(u8::is_ascii_alphanumeric)
    };
    let mut out = Vec::new();
    let mut at = 0;
    for v in tuples.iter().flatten() {
        let gap = at..v.raw.start.max(at);
        if worth(&gap) {
            out.push(gap);
        }
        at = at.max(v.raw.end);
    }
    let tail = at..unit.len();
    if worth(&tail) {
        out.push(tail);
    }
    out
}

impl<R: BufRead> DumpReader<R> {
    /// A reader of the dump `rdr`, in bounded memory (one statement or
    /// COPY line at a time). A custom-format `pg_dump` archive is an error
    /// that says how to convert it.
    pub fn new(rdr: R, dialect: DumpDialect) -> DumpReader<R> {
        DumpReader {
            rdr,
            dialect,
            buf: Vec::new(),
            offset: 0,
            line: 1,
            next_offset: 0,
            next_line: 1,
            schemas: HashMap::new(),
            types: HashMap::new(),
            rows: HashMap::new(),
            table: Arc::from(""),
            columns: Vec::new(),
            columns_version: 0,
            in_copy: false,
            pending: Vec::new().into_iter(),
            no_table: Arc::from(""),
            started: false,
            last_text: Vec::new(),
            selected: None,
            result: None,
        }
    }
}

/// The longest identifier part read, in bytes (PostgreSQL allows 63,
/// MySQL 64).
const MAX_IDENT: usize = 64;

/// One identifier at the start of `s`: `"quoted"`, `` `quoted` `` or bare
/// (letters, digits, `_`, `$`, not all digits), and the rest of `s`.
/// Names reach reports, so anything else (a line of output, a value) is
/// not a name.
fn ident(s: &str) -> Option<(String, &str)> {
    let (name, rest) = match s.as_bytes().first()? {
        &q @ (b'"' | b'`') => {
            let close = s[1..].find(char::from(q))? + 1;
            (&s[1..close], &s[close + 1..])
        }
        _ => {
            let end = s
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
                .unwrap_or(s.len());
            let name = &s[..end];
            if name.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            (name, &s[end..])
        }
    };
    let fits = !name.is_empty() && name.len() <= MAX_IDENT;
    (fits && !name.contains(['\n', '\r'])).then(|| (name.to_string(), rest))
}

/// A possibly qualified name at the start of `s` (after spaces), without
/// quotes (`public."Patients"` becomes `public.Patients`), and the rest.
fn qualified_name(s: &str) -> Option<(String, &str)> {
    let (mut name, mut rest) = ident(s.trim_start())?;
    while let Some(after) = rest.strip_prefix('.') {
        let (part, r) = ident(after)?;
        name.push('.');
        name.push_str(&part);
        rest = r;
    }
    Some((name, rest))
}

/// `s` as exactly one identifier, spaces around it allowed.
fn whole_ident(s: &str) -> Option<String> {
    ident(s.trim()).filter(|(_, rest)| rest.is_empty()).map(|(n, _)| n)
}

/// `(a, "b", c)` into names; `None` unless every item is an identifier.
fn column_list(s: &str) -> Option<Vec<Arc<str>>> {
    let inner = s.trim().strip_prefix('(')?.strip_suffix(')')?;
    if inner.trim().is_empty() {
        return Some(Vec::new());
    }
    inner.split(',').map(|c| whole_ident(c).map(Arc::from)).collect()
}

/// Words a SQL statement starts with, upper case.
const STATEMENT_WORDS: &[&[u8]] = &[
    b"ABORT",
    b"ALTER",
    b"ANALYZE",
    b"BEGIN",
    b"CALL",
    b"CHECKPOINT",
    b"CLOSE",
    b"CLUSTER",
    b"COMMENT",
    b"COMMIT",
    b"COPY",
    b"CREATE",
    b"DEALLOCATE",
    b"DECLARE",
    b"DELETE",
    b"DELIMITER",
    b"DESC",
    b"DESCRIBE",
    b"DISCARD",
    b"DO",
    b"DROP",
    b"END",
    b"EXECUTE",
    b"EXPLAIN",
    b"FETCH",
    b"FLUSH",
    b"GRANT",
    b"IMPORT",
    b"INSERT",
    b"LISTEN",
    b"LOAD",
    b"LOCK",
    b"MERGE",
    b"NOTIFY",
    b"OPTIMIZE",
    b"PREPARE",
    b"REFRESH",
    b"REINDEX",
    b"RELEASE",
    b"RENAME",
    b"REPLACE",
    b"RESET",
    b"REVOKE",
    b"ROLLBACK",
    b"SAVEPOINT",
    b"SECURITY",
    b"SELECT",
    b"SET",
    b"SHOW",
    b"START",
    b"TABLE",
    b"TRUNCATE",
    b"UNLOCK",
    b"UPDATE",
    b"USE",
    b"VACUUM",
    b"VALUES",
    b"WITH",
];

/// Where the SQL statement a line opens starts, past blanks and a psql
/// or mysql prompt (`clinic=> `, `clinic=# `, `mysql> `); `None` when
/// the line does not open a statement.
fn statement_start(line: &[u8]) -> Option<usize> {
    let at = prompt_end(line)
        .unwrap_or_else(|| line.len() - line.trim_ascii_start().len());
    let word =
        line[at..].iter().take_while(|b| b.is_ascii_alphabetic()).count();
    let w = &line[at..at + word];
    // psql's command tags (`DELETE 6`, `INSERT 0 1`) report a statement.
    let rest = line[at + word..].trim_ascii();
    let tag = !rest.is_empty()
        && rest.iter().all(|b| b.is_ascii_digit() || *b == b' ');
    (!tag && STATEMENT_WORDS.iter().any(|k| k.eq_ignore_ascii_case(w)))
        .then_some(at)
}

/// Where the text after a client prompt opening `line` starts (`clinic=> `,
/// `clinic-> `, `clinic'> `, `mysql> `, `    -> `), past its blanks;
/// `None` when no prompt opens it.
fn prompt_end(line: &[u8]) -> Option<usize> {
    let lead = line.len() - line.trim_ascii_start().len();
    let ident = line[lead..]
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
        .count();
    let mut p = lead + ident;
    if matches!(line.get(p), Some(b'=' | b'-' | b'(' | b'\'' | b'"')) {
        p += 1;
    }
    let prompt = p > lead
        && matches!(line.get(p), Some(b'>' | b'#'))
        && matches!(line.get(p + 1), None | Some(b' ' | b'\n' | b'\r'));
    prompt.then(|| {
        let rest = &line[p + 1..];
        p + 1 + rest.len() - rest.trim_ascii_start().len()
    })
}

/// The cells of a result table's line (trimmed, offsets into `line`), if
/// it has the table's shape.
fn result_cells(line: &[u8], table: ResultTable) -> Option<Vec<Range<usize>>> {
    let body = trim_eol(line);
    let (mut from, mut to) = (0, body.len());
    if table.boxed {
        let lead = body.len() - body.trim_ascii_start().len();
        let tail = body.trim_ascii_end().len();
        if body.get(lead) != Some(&b'|')
            || tail <= lead + 1
            || body[tail - 1] != b'|'
        {
            return None;
        }
        (from, to) = (lead + 1, tail - 1);
    }
    let mut cells = Vec::with_capacity(table.cells);
    let mut start = from;
    for i in from..=to {
        if i == to || body[i] == b'|' {
            let cell = &body[start..i];
            let lead = cell.len() - cell.trim_ascii_start().len();
            let len = cell.trim_ascii().len();
            cells.push(start + lead..start + lead + len);
            start = i + 1;
        }
    }
    (cells.len() == table.cells).then_some(cells)
}

/// The shape of the result table a rule line opens: psql's `----+----`,
/// mysql's `+----+----+`.
fn result_rule(line: &[u8]) -> Option<ResultTable> {
    let rule = trim_eol(line).trim_ascii();
    if rule.len() < 3 || !rule.iter().all(|b| matches!(b, b'-' | b'+')) {
        return None;
    }
    let boxed = rule.starts_with(b"+") && rule.ends_with(b"+");
    let plus = rule.iter().filter(|&&b| b == b'+').count();
    let cells = if boxed { plus.checked_sub(1)? } else { plus + 1 };
    (cells >= 1 && !rule.windows(2).any(|w| w == b"++"))
        .then_some(ResultTable { cells, boxed })
}

/// Whether a statement has ended: a `;` outside quotes at the end.
fn statement_done(stmt: &[u8], backslash: bool) -> bool {
    let mut in_quote = false;
    let mut i = 0;
    let mut last_semicolon = false;
    while i < stmt.len() {
        let b = stmt[i];
        if in_quote {
            if b == b'\\' && backslash {
                i += 1;
            } else if b == b'\'' {
                if stmt.get(i + 1) == Some(&b'\'') {
                    i += 1;
                } else {
                    in_quote = false;
                }
            }
        } else if b == b'\'' {
            in_quote = true;
            last_semicolon = false;
        } else if b == b';' {
            last_semicolon = true;
        } else if !b.is_ascii_whitespace() {
            last_semicolon = false;
        }
        i += 1;
    }
    !in_quote && last_semicolon
}

/// The tuples of `VALUES (...), (...);` starting at `at`.
fn parse_tuples(
    stmt: &[u8],
    mut at: usize,
    mysql: bool,
) -> Option<Vec<Vec<Value>>> {
    let mut tuples = Vec::new();
    let skip_ws = |at: &mut usize| {
        while *at < stmt.len() && stmt[*at].is_ascii_whitespace() {
            *at += 1;
        }
    };
    loop {
        skip_ws(&mut at);
        if stmt.get(at) != Some(&b'(') {
            return None;
        }
        at += 1;
        let mut values = Vec::new();
        loop {
            skip_ws(&mut at);
            let start = at;
            let kind;
            let e_string = matches!(stmt.get(at), Some(b'E' | b'e'))
                && stmt.get(at + 1) == Some(&b'\'');
            if stmt.get(at) == Some(&b'\'') || e_string {
                let backslash = mysql || e_string;
                at += if e_string { 2 } else { 1 };
                loop {
                    match stmt.get(at)? {
                        b'\\' if backslash => at += 2,
                        b'\'' if stmt.get(at + 1) == Some(&b'\'') => at += 2,
                        b'\'' => {
                            at += 1;
                            break;
                        }
                        _ => at += 1,
                    }
                }
                kind = ValueKind::Quoted { backslash };
                values.push(Value { raw: start..at, kind });
            } else {
                // A bare token, possibly a call like decode('..', 'hex'):
                // up to the next comma or close paren at depth 0.
                let mut depth = 0;
                let mut quoted = false;
                while let Some(&b) = stmt.get(at) {
                    match b {
                        b'\'' => quoted = !quoted,
                        b'(' if !quoted => depth += 1,
                        b')' if !quoted && depth == 0 => break,
                        b')' if !quoted => depth -= 1,
                        b',' if !quoted && depth == 0 => break,
                        _ => {}
                    }
                    at += 1;
                }
                let mut end = at;
                while end > start && stmt[end - 1].is_ascii_whitespace() {
                    end -= 1;
                }
                values.push(Value { raw: start..end, kind: ValueKind::Bare });
            }
            skip_ws(&mut at);
            match stmt.get(at)? {
                b',' => at += 1,
                b')' => {
                    at += 1;
                    break;
                }
                _ => return None,
            }
        }
        tuples.push(values);
        skip_ws(&mut at);
        match stmt.get(at) {
            Some(b',') => at += 1,
            // `ON CONFLICT ...`, `RETURNING ...`: text, scanned as such.
            _ => return Some(tuples),
        }
    }
}

/// Decodes a value into bytes, with the raw offset of each decoded byte
/// (plus one for the end). `None` for SQL NULL.
pub(super) fn decode(
    raw: &[u8],
    base: usize,
    kind: ValueKind,
) -> Option<(Vec<u8>, Vec<usize>)> {
    let mut out = Vec::with_capacity(raw.len());
    let mut map = Vec::with_capacity(raw.len() + 1);
    let (body, start, backslash, quote) = match kind {
        ValueKind::Copy => {
            if raw == b"\\N" {
                return None;
            }
            (raw, 0, true, false)
        }
        ValueKind::Quoted { backslash } => {
            let skip = if raw.first() == Some(&b'\'') { 1 } else { 2 };
            let end = raw.len().saturating_sub(1).max(skip);
            (&raw[skip..end], skip, backslash, true)
        }
        ValueKind::Bare => {
            if raw.eq_ignore_ascii_case(b"null") {
                return None;
            }
            let map = (base..=base + raw.len()).collect();
            return Some((raw.to_vec(), map));
        }
    };
    let mut i = 0;
    while i < body.len() {
        let at = base + start + i;
        let b = body[i];
        if quote && b == b'\'' {
            out.push(b'\'');
            map.push(at);
            i += 2;
        } else if backslash && b == b'\\' && i + 1 < body.len() {
            let c = body[i + 1];
            let (v, used) = match c {
                b'n' => (b'\n', 2),
                b't' => (b'\t', 2),
                b'r' => (b'\r', 2),
                b'b' => (8, 2),
                b'f' => (12, 2),
                b'v' => (11, 2),
                b'0'..=b'7' => {
                    let n = body[i + 1..]
                        .iter()
                        .take(3)
                        .take_while(|d| (b'0'..=b'7').contains(d))
                        .count();
                    let v = body[i + 1..i + 1 + n]
                        .iter()
                        .fold(0u32, |a, d| a * 8 + u32::from(d - b'0'));
                    ((v & 0xFF) as u8, 1 + n)
                }
                other => (other, 2),
            };
            out.push(v);
            map.push(at);
            i += used;
        } else {
            out.push(b);
            map.push(at);
            i += 1;
        }
    }
    map.push(base + start + body.len());
    Some((out, map))
}

/// bytea in hex form (`\x4142`): the bytes, and for each byte the index of
/// its first hex digit in `text`.
pub(super) fn bytea_hex(text: &[u8]) -> Option<(Vec<u8>, Vec<usize>)> {
    let hex = text.strip_prefix(b"\\x")?;
    if hex.len() % 2 != 0 || !hex.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let val = |d: u8| (d as char).to_digit(16).unwrap_or(0) as u8;
    let bytes = hex.chunks(2).map(|p| val(p[0]) << 4 | val(p[1])).collect();
    let map = (0..=hex.len() / 2).map(|i| 2 + 2 * i).collect();
    Some((bytes, map))
}

impl<R: BufRead> DumpReader<R> {
    fn error(
        &self,
        kind: InputErrorKind,
        line: u64,
        what: &'static str,
    ) -> io::Error {
        let format = Format::Dump(self.dialect);
        InputError::new(format, kind, line, None, what).into_io()
    }

    /// Appends one line to `buf`; false at the end of input.
    fn read_line(&mut self) -> io::Result<bool> {
        let n = self.rdr.read_until(b'\n', &mut self.buf)?;
        if self.buf.len() > MAX_STATEMENT {
            return Err(self.error(
                InputErrorKind::TooLong(MAX_STATEMENT),
                self.line,
                "a statement is too long",
            ));
        }
        self.next_offset += n;
        self.next_line += u64::from(self.buf.ends_with(b"\n"));
        Ok(n > 0)
    }

    /// Whether the next line opens with a client prompt (`name=> `,
    /// `name-> `, `mysql> `, `    -> `); looks at buffered bytes only.
    fn next_line_prompted(&mut self) -> io::Result<bool> {
        let head = self.rdr.fill_buf()?;
        let end = memchr::memchr(b'\n', head).unwrap_or(head.len());
        Ok(prompt_end(&head[..end]).is_some())
    }

    /// Starts a new statement or line at the current position.
    fn begin(&mut self) {
        self.buf.clear();
        self.offset = self.next_offset;
        self.line = self.next_line;
    }

    /// The next row's values, decoded (COPY escapes and SQL string
    /// literals undone; `None` for NULL), without scanning them: for
    /// loading a dump's tables elsewhere (a DataFrame, a database) with
    /// this parser. Text between rows is skipped.
    ///
    /// ```
    /// use phisafe::format::dump::{DumpDialect, DumpReader};
    ///
    /// let dump = "COPY public.patients (id, note) FROM stdin;\n1\tline\\none\n2\t\\N\n\\.\n";
    /// let mut rows = DumpReader::new(dump.as_bytes(), DumpDialect::Postgres);
    /// let first = rows.next_values().unwrap()?;
    /// assert_eq!((first.table, first.row), ("public.patients", 1));
    /// assert_eq!(first.values, [Some(b"1".to_vec()), Some(b"line\none".to_vec())]);
    /// assert_eq!(rows.next_values().unwrap()?.values[1], None);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn next_values(&mut self) -> Option<io::Result<DumpValues<'_>>> {
        let values = match self.advance(false) {
            Ok(Some(Next::Row(values))) => values,
            Ok(Some(Next::Text(_))) => unreachable!("text is not asked for"),
            Ok(None) => return None,
            Err(e) => return Some(Err(e)),
        };
        let row = self.count_row();
        let decoded = values
            .iter()
            .map(|v| {
                decode(&self.buf[v.raw.clone()], v.raw.start, v.kind)
                    .map(|(bytes, _)| bytes)
            })
            .collect();
        Some(Ok(DumpValues {
            table: &self.table,
            columns: &self.columns,
            row,
            values: decoded,
        }))
    }

    /// Reads until a row (or, with `text`, text) is available.
    pub(super) fn advance(&mut self, text: bool) -> io::Result<Option<Next>> {
        loop {
            for next in self.pending.by_ref() {
                if text || matches!(next, Next::Row(_)) {
                    return Ok(Some(next));
                }
            }
            match self.read_unit()? {
                None => return Ok(None),
                Some(Unit::Other) => {
                    let ranges = text_ranges(&self.buf, &[]);
                    if text && !ranges.is_empty() {
                        return Ok(Some(Next::Text(ranges)));
                    }
                }
                Some(Unit::CopyRow(values)) => {
                    return Ok(Some(Next::Row(values)));
                }
                Some(Unit::Insert(tuples)) => {
                    let ranges = if text {
                        text_ranges(&self.buf, &tuples)
                    } else {
                        Vec::new()
                    };
                    self.pending = in_order(tuples, ranges).into_iter();
                }
            }
        }
    }

    /// Reads the next line or statement into `buf` and says what it holds.
    pub(crate) fn read_unit(&mut self) -> io::Result<Option<Unit>> {
        self.begin();
        if !self.read_line()? {
            return Ok(None);
        }
        if !self.started {
            self.started = true;
            if self.buf.starts_with(b"PGDMP") {
                return Err(self.error(
                    InputErrorKind::Unsupported,
                    1,
                    "this is a pg_dump custom-format archive, not a SQL \
                     script; convert it with `pg_restore -f - DUMP` and \
                     scan the output",
                ));
            }
        }
        if self.in_copy {
            let line = trim_eol(&self.buf);
            if line == b"\\." {
                self.in_copy = false;
                return Ok(Some(Unit::Other));
            }
            let mut values = Vec::new();
            let mut start = 0;
            for (i, &b) in line.iter().enumerate() {
                if b == b'\t' {
                    values
                        .push(Value { raw: start..i, kind: ValueKind::Copy });
                    start = i + 1;
                }
            }
            values
                .push(Value { raw: start..line.len(), kind: ValueKind::Copy });
            return Ok(Some(Unit::CopyRow(values)));
        }
        let first = self.buf.trim_ascii_start();
        if first.starts_with(b"--") && result_rule(first).is_some() {
            return Ok(Some(self.client_output()));
        }
        if first.is_empty()
            || first.starts_with(b"--")
            || first.starts_with(b"\\")
            || first.starts_with(b"/*")
        {
            // Comments, and psql meta-commands (never executed).
            return Ok(Some(Unit::Other));
        }
        if statement_start(&self.buf).is_none() {
            // Not SQL (a psql transcript's output, a log line): a line of
            // text on its own, so that it cannot swallow the statement
            // after it; the rows of a client's result table are rows of
            // its columns.
            return Ok(Some(self.client_output()));
        }
        self.result = None;
        let mysql = self.dialect == DumpDialect::Mysql;
        // Typed at a prompt, a statement goes on only on lines that carry
        // the continuation prompt (`clinic-> `, `clinic'> `): one with a
        // stray quote ends at its line, not at the next quote in the file.
        let prompted = prompt_end(&self.buf).is_some();
        while !statement_done(&self.buf, mysql) {
            if prompted && !self.next_line_prompted()? {
                break;
            }
            if !self.read_line()? {
                break;
            }
        }
        Ok(Some(match self.statement(mysql)? {
            Some(tuples) => Unit::Insert(tuples),
            None => Unit::Other,
        }))
    }

    /// Reads a line of client output in `buf`: a row of the result table
    /// it is in, the rule line that opens one under a line of names, or
    /// text.
    fn client_output(&mut self) -> Unit {
        if let Some(table) = self.result {
            match result_cells(&self.buf, table) {
                Some(cells) => {
                    let values = cells
                        .into_iter()
                        .map(|raw| Value { raw, kind: ValueKind::Copy })
                        .collect();
                    return Unit::CopyRow(values);
                }
                // mysql's closing border, `(3 rows)`, a prompt: the end.
                None => self.result = None,
            }
        }
        if let Some(table) = result_rule(&self.buf)
            && let Some(names) = result_cells(&self.last_text, table)
        {
            let header = &self.last_text;
            let columns: Vec<Arc<str>> = names
                .iter()
                .map(|r| {
                    Arc::from(
                        String::from_utf8_lossy(&header[r.clone()]).as_ref(),
                    )
                })
                .collect();
            if columns.iter().all(|c| {
                !c.is_empty()
                    && c.len() <= 64
                    && c.chars().any(char::is_alphabetic)
            }) {
                let name = self.selected.clone().unwrap_or_default();
                self.table = Arc::from(name);
                self.set_columns(columns);
                self.result = Some(table);
                return Unit::Other;
            }
        }
        self.last_text.clear();
        if self.buf.len() <= 4096 {
            self.last_text.extend_from_slice(&self.buf);
        }
        Unit::Other
    }

    /// Interprets a complete statement in `buf`; an INSERT's tuples.
    fn statement(
        &mut self,
        mysql: bool,
    ) -> io::Result<Option<Vec<Vec<Value>>>> {
        let text = String::from_utf8_lossy(&self.buf).into_owned();
        let Some(start) = statement_start(text.as_bytes()) else {
            return Ok(None);
        };
        let t = &text[start..];
        let upper: String =
            t.chars().take(40).collect::<String>().to_ascii_uppercase();
        if upper.starts_with("SELECT") {
            let upper_all = t.to_ascii_uppercase();
            self.selected = upper_all
                .find(" FROM ")
                .and_then(|i| qualified_name(&t[i + " FROM ".len()..]))
                .map(|(name, _)| name);
        }
        if upper.starts_with("CREATE TABLE") {
            let Some(open) = t.find('(') else { return Ok(None) };
            let head = &t["CREATE TABLE".len()..open];
            let head = head.trim().trim_start_matches("IF NOT EXISTS").trim();
            let Some(name) = qualified_name(head)
                .filter(|(_, rest)| rest.trim().is_empty())
                .map(|(name, _)| name)
            else {
                return Ok(None);
            };
            // The last `)` closes the column list, unless a malformed
            // statement has none after the first `(`.
            let close = t.rfind(')').filter(|&c| c > open).unwrap_or(t.len());
            let body = &t[open + 1..close];
            let mut cols = Vec::new();
            let mut types = HashMap::new();
            for part in split_top_level(body) {
                let p = part.trim();
                let word = p.split_whitespace().next().unwrap_or("");
                let w = word.to_ascii_uppercase();
                if matches!(
                    w.as_str(),
                    "" | "CONSTRAINT"
                        | "PRIMARY"
                        | "KEY"
                        | "UNIQUE"
                        | "INDEX"
                        | "FOREIGN"
                        | "CHECK"
                        | "FULLTEXT"
                        | "SPATIAL"
                        | "EXCLUDE"
                        | "LIKE"
                ) {
                    continue;
                }
                // A column: its name (a quoted one may hold spaces), then
                // its type; else not a table this reader follows.
                let Some((col, declared)) = ident(p) else {
                    return Ok(None);
                };
                types.insert(col.clone(), ColumnType::parse(declared.trim()));
                cols.push(Arc::from(col));
            }
            self.types.insert(name.clone(), types);
            self.schemas.insert(name, cols);
        } else if upper.starts_with("COPY ") {
            let Some((name, after)) = qualified_name(&t[5..]) else {
                return Ok(None);
            };
            let columns =
                match (after.trim_start().starts_with('('), after.find(')')) {
                    (true, Some(close)) => {
                        let Some(cols) = column_list(&after[..=close]) else {
                            return Ok(None);
                        };
                        cols
                    }
                    _ => self.schemas.get(&name).cloned().unwrap_or_default(),
                };
            self.table = Arc::from(name);
            self.set_columns(columns);
            self.in_copy = upper.contains("FROM STDIN")
                || text.to_ascii_uppercase().contains("FROM STDIN");
        } else if upper.starts_with("INSERT INTO") {
            let rest = &t["INSERT INTO".len()..];
            let rest_start = text.len() - rest.len();
            let upper_rest = rest.to_ascii_uppercase();
            let Some(values_at) = upper_rest.find("VALUES") else {
                return Ok(None);
            };
            // A name and an optional column list, or a statement this
            // reader does not follow (scanned as text).
            let Some((name, after)) = qualified_name(&rest[..values_at])
            else {
                return Ok(None);
            };
            let cols = if after.trim().is_empty() {
                self.schemas.get(&name).cloned().unwrap_or_default()
            } else {
                match column_list(after) {
                    Some(cols) => cols,
                    None => return Ok(None),
                }
            };
            let at = rest_start + values_at + "VALUES".len();
            // An INSERT this reader cannot follow is scanned as text.
            let Some(tuples) = parse_tuples(&self.buf, at, mysql) else {
                return Ok(None);
            };
            self.table = Arc::from(name);
            self.set_columns(cols);
            return Ok(Some(tuples));
        }
        Ok(None)
    }

    /// Sets the current columns.
    fn set_columns(&mut self, columns: Vec<Arc<str>>) {
        if columns != self.columns {
            self.columns = columns;
            self.columns_version += 1;
        }
    }

    /// Counts a row of the current table and returns its 1-based number.
    pub(super) fn count_row(&mut self) -> u64 {
        let counter = self.rows.entry(self.table.clone()).or_insert(0);
        *counter += 1;
        *counter
    }
}

/// The table and columns of the rows being read, with their key hints
/// and their types where CREATE TABLE gave them: shared by the units read
/// while they stay the same.
#[derive(Default)]
pub(crate) struct Columns {
    pub(super) table: Arc<str>,
    pub(super) names: Vec<Arc<str>>,
    pub(super) hints: Vec<FieldHint>,
    /// Per column.
    pub(crate) types: Vec<Option<ColumnType>>,
}

/// Splits a CREATE TABLE body at top-level commas.
fn split_top_level(body: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    let mut quoted = false;
    for (i, c) in body.char_indices() {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                parts.push(&body[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&body[start..]);
    parts
}

fn trim_eol(buf: &[u8]) -> &[u8] {
    let b = buf.strip_suffix(b"\n").unwrap_or(buf);
    b.strip_suffix(b"\r").unwrap_or(b)
}
