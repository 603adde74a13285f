//! SQL dumps: PostgreSQL plain format (`pg_dump`, COPY blocks or INSERTs)
//! and `mysqldump` INSERTs, read row by row without executing anything.
//!
//! Column names come from the COPY or INSERT column list, or else from the
//! `CREATE TABLE` earlier in the dump, and act as hints like JSON keys.
//! psql meta-commands (`\connect`, `\restrict`, ...) are skipped, never run.
//! bytea values in hex form are decoded and scanned; findings in them point
//! at their hex digits.
//!
//! No byte goes unscanned: everything that is not a value (comments, DDL,
//! `UPDATE`, `DELETE` and `SELECT` statements, psql prompts and output, an
//! INSERT's `ON CONFLICT` clause) is scanned as text, and its findings come
//! as a [`DumpRow`] of no values and no table. Files named `.sql` are often
//! psql sessions or hand-written statements, not dumps.

use std::sync::Arc;

use crate::scan::engine::Finding;

mod redact;
mod scan;
mod syntax;

pub use scan::DumpScan;
pub(crate) use scan::text_findings;
pub use syntax::DumpReader;
pub(crate) use syntax::{ColumnType, Columns, OwnedUnit};

/// Which dump syntax to expect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DumpDialect {
    /// `pg_dump` plain format: COPY blocks, `--inserts`, `--column-inserts`.
    Postgres,
    /// `mysqldump`: backtick identifiers, backslash escapes, extended
    /// inserts, with or without `--complete-insert`.
    Mysql,
}

/// A finding in one value of a dump.
#[derive(Clone, Debug, PartialEq)]
pub struct DumpFinding {
    finding: Finding,
    table: Arc<str>,
    column: Option<Arc<str>>,
    position: usize,
    row: u64,
}

impl DumpFinding {
    /// The finding; offsets are bytes from the start of the dump.
    pub fn finding(&self) -> &Finding {
        &self.finding
    }

    /// The table, as written in the dump (`public.patients`).
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The column, when the dump names it.
    pub fn column(&self) -> Option<&str> {
        self.column.as_deref()
    }

    /// 0-based position of the value in its row, which identifies the
    /// column when the dump does not name it.
    pub fn position(&self) -> usize {
        self.position
    }

    /// 1-based row within the table.
    pub fn row(&self) -> u64 {
        self.row
    }
}

/// One row of a dump, or a piece of text between rows; see
/// [`DumpScan::next_row`].
///
/// Text between rows (comments, DDL, other statements, psql output, the
/// syntax of an INSERT around its values) comes as a row of no values, no
/// table and row number 0, whose findings are those of scanning it as
/// text. Its `Debug` leaves out the bytes.
pub struct DumpRow<'a> {
    /// The table.
    pub table: &'a str,
    /// The column names, when known.
    pub columns: &'a [Arc<str>],
    /// 1-based row within the table.
    pub row: u64,
    /// 1-based line where the row's statement or COPY line starts.
    pub line: u64,
    /// Offset of `bytes[0]` from the start of the dump.
    pub offset: usize,
    /// The statement or COPY line holding the row (an INSERT may hold
    /// several rows).
    pub bytes: &'a [u8],
    /// How many values the row has.
    pub values: usize,
    /// Findings in the row's values.
    pub findings: Vec<DumpFinding>,
}

/// One row's decoded values; see [`DumpReader::next_values`]. Its
/// `Debug` shows how many values there are, not what they hold.
pub struct DumpValues<'a> {
    /// The table.
    pub table: &'a str,
    /// The column names, when known.
    pub columns: &'a [Arc<str>],
    /// 1-based row within the table.
    pub row: u64,
    /// The values, decoded; `None` for NULL.
    pub values: Vec<Option<Vec<u8>>>,
}

// Rows hold PHI: their `Debug` says where they are, not what they say.
impl std::fmt::Debug for DumpRow<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DumpRow")
            .field("table", &self.table)
            .field("row", &self.row)
            .field("line", &self.line)
            .field("offset", &self.offset)
            .field("values", &self.values)
            .field("findings", &self.findings)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for DumpValues<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DumpValues")
            .field("table", &self.table)
            .field("row", &self.row)
            .field("values", &self.values.len())
            .finish_non_exhaustive()
    }
}
