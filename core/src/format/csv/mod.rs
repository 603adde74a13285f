//! CSV and other delimited text, read record by record.
//!
//! The header row names the columns, and a column name is a hint like a
//! JSON key (`patterns/keys.toml`): a value under `last_name` is a PERSON
//! even though no pattern matches a bare surname. Fields are RFC 4180:
//! quoted fields may hold delimiters, doubled quotes and line breaks; a
//! quote inside an unquoted field is literal; rows may have any number of
//! fields. Findings carry their row and column and byte offsets into the
//! raw stream.
//!
//! No byte goes unscanned: the header row, preamble records before it
//! ([`CsvOptions::skip`]) and a record too long to be one are scanned as
//! text; a ragged row (more or fewer fields than the header) is scanned
//! both field by field and as text. [`Scanner::sniff_csv`](crate::Scanner::sniff_csv) guesses the
//! delimiter, the preamble and whether there is a header from a sample.

use std::sync::Arc;

use crate::scan::engine::Finding;

mod redact;
mod scan;
pub(crate) mod sniff;
mod syntax;

pub use scan::{CsvRecord, CsvScan};
pub(crate) use scan::{Kind, cell_hint, scan_record, unnamed};
pub(crate) use syntax::{Field, split, trim_terminator};

/// How a delimited file is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CsvOptions {
    delimiter: u8,
    headers: bool,
    skip: usize,
}

impl Default for CsvOptions {
    fn default() -> CsvOptions {
        CsvOptions { delimiter: b',', headers: true, skip: 0 }
    }
}

impl CsvOptions {
    /// Comma-delimited with a header row and no preamble.
    pub fn new() -> CsvOptions {
        CsvOptions::default()
    }

    /// The field delimiter (`b','`, `b'\t'`, `b';'` ...).
    pub fn delimiter(mut self, delimiter: u8) -> CsvOptions {
        self.delimiter = delimiter;
        self
    }

    /// Whether the first record (after [`skip`](Self::skip)) names the
    /// columns (default true).
    pub fn headers(mut self, yes: bool) -> CsvOptions {
        self.headers = yes;
        self
    }

    /// How many records come before the header or the first data row: a
    /// report's title, who exported it and when, blank lines. They are
    /// scanned as text (default 0).
    pub fn skip(mut self, records: usize) -> CsvOptions {
        self.skip = records;
        self
    }

    /// The field delimiter.
    pub fn delimiter_byte(self) -> u8 {
        self.delimiter
    }

    /// Whether there is a header row.
    pub fn has_headers(self) -> bool {
        self.headers
    }

    /// How many preamble records there are.
    pub fn skipped(self) -> usize {
        self.skip
    }
}

/// A finding in one field of a delimited file.
#[derive(Clone, Debug, PartialEq)]
pub struct CsvFinding {
    finding: Finding,
    row: u64,
    column: Option<usize>,
    header: Option<Arc<str>>,
}

impl CsvFinding {
    /// The finding; offsets are bytes from the start of the stream.
    pub fn finding(&self) -> &Finding {
        &self.finding
    }

    /// 1-based data row (the header row is not counted); 0 in the header
    /// row and in preamble text.
    pub fn row(&self) -> u64 {
        self.row
    }

    /// 0-based column index; `None` for a finding in text: the header row,
    /// a preamble record, or a ragged row read as text.
    pub fn column(&self) -> Option<usize> {
        self.column
    }

    /// The column's name from the header row, if there is one.
    pub fn header(&self) -> Option<&str> {
        self.header.as_deref()
    }
}
