//! Input formats: what an input is, and how each format is read, scanned
//! and redacted.
//!
//! One folder per format, each holding its syntax (reading and writing),
//! its scan and its redaction:
//!
//! - [`json`]: JSON documents and JSON lines, whole or streamed;
//! - [`csv`]: delimited tables, with dialect sniffing;
//! - [`dump`]: SQL scripts (`pg_dump`, `mysqldump`, hand-written);
//! - `text`: the structure found inside free text (HL7 v2 segments, DICOM
//!   dumps, `key=value` pairs), used by every text scan.
//!
//! Column semantics shared by all of them live in `scan::hints`; per-column
//! classes in [`crate::classify`].
//!
//! Detection never refuses: whatever does not look like a structured
//! format is [`Format::Text`], which is scanned byte for byte. A name
//! decides first (`.json`, `.csv`, `.sql`, ...; a compression extension is
//! looked through), then the content.

use std::path::Path;

pub(crate) mod batch;
pub mod csv;
pub mod dump;
mod error;
pub mod json;
pub(crate) mod text;

use dump::DumpDialect;
pub use error::{InputError, InputErrorKind};

/// How an input is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// Free text: logs, notes, HL7, anything else.
    Text,
    /// One JSON document.
    Json,
    /// JSON lines: one document per line.
    JsonLines,
    /// Comma-separated values.
    Csv,
    /// Tab-separated values.
    Tsv,
    /// A SQL script: `pg_dump`, `mysqldump`, hand-written statements.
    Dump(DumpDialect),
}

/// How many bytes of an input [`Format::detect`] looks at.
pub const DETECT_BYTES: usize = 64 << 10;

impl Format {
    /// The format a file name says, looking through `.gz`, `.zst` and
    /// `.zstd`; `None` when the name says nothing (`.log`, `.txt`, no
    /// extension). A `.sql` file is a Postgres script until its content
    /// says otherwise (see [`Format::dump_dialect`]).
    ///
    /// ```
    /// use phisafe::format::Format;
    /// use std::path::Path;
    ///
    /// assert_eq!(Format::from_path(Path::new("events.jsonl.gz")), Some(Format::JsonLines));
    /// assert_eq!(Format::from_path(Path::new("app.log")), None);
    /// ```
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext_of = |p: &Path| {
            p.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase)
        };
        let mut ext = ext_of(path);
        if matches!(ext.as_deref(), Some("gz" | "zst" | "zstd")) {
            ext = path.file_stem().and_then(|s| ext_of(Path::new(s)));
        }
        Some(match ext.as_deref()? {
            "json" => Format::Json,
            "jsonl" | "ndjson" => Format::JsonLines,
            "csv" => Format::Csv,
            "tsv" | "tab" => Format::Tsv,
            "sql" | "dump" => Format::Dump(DumpDialect::Postgres),
            _ => return None,
        })
    }

    /// The format of an input from its first bytes (up to
    /// [`DETECT_BYTES`] are looked at). Dumps announce themselves in a
    /// comment; JSON must parse as far as `head` goes, so a log whose lines
    /// open with `[` or `{` but are not JSON is text. A table (a `.txt`
    /// export) is a row of column names, after any title lines, over rows
    /// of as many fields, split by tab, `,`, `;` or `|`; without names,
    /// only tab-separated rows (eight or more, all of one width) are.
    ///
    /// ```
    /// use phisafe::format::Format;
    ///
    /// assert_eq!(Format::detect(b"{\"a\": 1}\n{\"a\": 2}\n"), Format::JsonLines);
    /// assert_eq!(Format::detect(b"[{\"a\": 1},\n {\"a\": 2}]"), Format::Json);
    /// assert_eq!(Format::detect(b"[2024-08-30 11:02:44,918: INFO] MRN 123"), Format::Text);
    /// ```
    pub fn detect(head: &[u8]) -> Format {
        let head = &head[..head.len().min(DETECT_BYTES)];
        let has = |needle: &[u8]| memchr::memmem::find(head, needle).is_some();
        if head.starts_with(b"PGDMP") || has(b"PostgreSQL database dump") {
            return Format::Dump(DumpDialect::Postgres);
        }
        if has(b"MySQL dump") || has(b"MariaDB dump") {
            return Format::Dump(DumpDialect::Mysql);
        }
        let body = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
        let body = body.trim_ascii_start();
        if !matches!(body.first(), Some(b'{' | b'[')) {
            return match crate::format::csv::sniff::table_delimiter(head) {
                Some(b'\t') => Format::Tsv,
                Some(_) => Format::Csv,
                None => Format::Text,
            };
        }
        let first_line = match memchr::memchr(b'\n', body) {
            Some(i) => &body[..i],
            None => body,
        };
        match json_prefix(first_line) {
            // The first line is a whole document: JSON lines if anything
            // follows it.
            Prefix::Whole if first_line.len() < body.len() => {
                if body[first_line.len()..].trim_ascii().is_empty() {
                    Format::Json
                } else {
                    Format::JsonLines
                }
            }
            Prefix::Whole => Format::Json,
            Prefix::Invalid => Format::Text,
            Prefix::Open => match json_prefix(body) {
                Prefix::Invalid => Format::Text,
                Prefix::Whole | Prefix::Open => Format::Json,
            },
        }
    }

    /// The dialect of a SQL script from its first bytes: `mysqldump` and
    /// MariaDB say who made them; anything else is read as Postgres.
    pub fn dump_dialect(head: &[u8]) -> DumpDialect {
        let head = &head[..head.len().min(DETECT_BYTES)];
        let has = |needle: &[u8]| memchr::memmem::find(head, needle).is_some();
        if has(b"MySQL dump") || has(b"MariaDB dump") {
            DumpDialect::Mysql
        } else {
            DumpDialect::Postgres
        }
    }
}

/// How much of a JSON document some bytes are.
enum Prefix {
    /// One whole document (and maybe blanks).
    Whole,
    /// The start of a document, cut off.
    Open,
    /// Not JSON, or a document followed by more.
    Invalid,
}

fn json_prefix(bytes: &[u8]) -> Prefix {
    match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
        Ok(_) => Prefix::Whole,
        Err(e) if e.is_eof() => Prefix::Open,
        Err(_) => Prefix::Invalid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_that_open_with_brackets_are_text() {
        for log in [
            "[2024-08-30 11:02:44,918: INFO/MainProcess] Task ok\n",
            "[Mon Mar 04 10:22:31.123 2024] [php:error] [pid 1] MRN 123\n",
            "[2024-01-02T03:04:05.678Z] INFO  ssn=219-09-9999\n",
            "{\"ts\": \"2024-01-02\", \"msg\": \"a\"} trailing words\n",
            "[INFO] started\n[WARN] slow\n",
            "{level=info msg=started}\n",
        ] {
            assert_eq!(Format::detect(log.as_bytes()), Format::Text, "{log}");
        }
    }

    #[test]
    fn tables_are_told_by_a_header_over_even_rows() {
        let tsv = "Patient Roster Export\r\nGenerated 2023-05-15 by etl_user\r\n\r\n\
                   ID\tMRN_NO\tLAST_NAME\tADMIT_DATE\r\n\
                   1\t359104\tErtle\t6/26/2024\r\n2\t0672215\tL\u{e9}vesque\t11/15/2022\r\n\
                   3\t0111709\tFung\t5/13/2025\r\n4\t0571844\tGerhard\t8/9/2016\r\n";
        assert_eq!(Format::detect(tsv.as_bytes()), Format::Tsv);
        let semi = "mrn;name;dob\n1;Quixote, Zed;1957\n2;Lim;1961\n3;Ono;1970\n4;Ito;1980\n";
        assert_eq!(Format::detect(semi.as_bytes()), Format::Csv);
        // Without names, tab-separated rows enough of one width.
        let rows = "1\t0862914\tMia\n2\t047648\tAnastasia\n".repeat(4);
        assert_eq!(Format::detect(rows.as_bytes()), Format::Tsv);
        assert_eq!(
            Format::detect(rows.replace('\t', ",").as_bytes()),
            Format::Text
        );
        // ... and a trailer after them; other delimiters need five fields.
        let trailed = format!("{rows}{rows}Total rows: 16\n");
        assert_eq!(Format::detect(trailed.as_bytes()), Format::Tsv);
        let wide = "1,0862914,Mia,Ito,1957-03-14\n".repeat(8);
        assert_eq!(Format::detect(wide.as_bytes()), Format::Csv);
        for text in [
            // Logs with pipes or commas: no row of names opens them.
            "2024-07-23 10:55:44 | INFO | user=a | ok\n2024-07-23 10:55:45 | INFO | user=b | ok\n\
             2024-07-23 10:55:46 | WARN | user=c | slow\n2024-07-23 10:55:47 | INFO | user=d | ok\n",
            // Prose with commas.
            "Seen today, with her daughter, for follow-up.\nBP stable, HR 72, afebrile.\n\
             Plan: continue, recheck, call.\nSigned, J. Ono, MD, 3 pm.\nDone, filed, sent.\n",
            // A header and too few rows to tell.
            "a,b,c\n1,2,3\n",
        ] {
            assert_eq!(
                Format::detect(text.as_bytes()),
                Format::Text,
                "{text}"
            );
        }
    }

    #[test]
    fn json_is_recognized_even_when_cut_off() {
        let doc =
            "{\n  \"patient\": {\n    \"name\": \"Zed Quixote\",\n    \"ssn\"";
        assert_eq!(Format::detect(doc.as_bytes()), Format::Json);
        assert_eq!(Format::detect(b"\xef\xbb\xbf[1, 2]"), Format::Json);
        assert_eq!(
            Format::detect(b"{\"a\":1}\r\n{\"a\":2}"),
            Format::JsonLines
        );
        assert_eq!(Format::detect(b"  {\"a\":1}\n\n"), Format::Json);
    }

    #[test]
    fn dumps_announce_themselves() {
        assert_eq!(
            Format::detect(b"--\n-- PostgreSQL database dump\n--\n"),
            Format::Dump(DumpDialect::Postgres)
        );
        assert_eq!(
            Format::detect(b"-- MySQL dump 10.13  Distrib 8.0.36\n"),
            Format::Dump(DumpDialect::Mysql)
        );
        assert_eq!(
            Format::dump_dialect(b"INSERT INTO t VALUES (1);"),
            DumpDialect::Postgres
        );
    }

    #[test]
    fn names_decide_through_compression() {
        let of = |p: &str| Format::from_path(Path::new(p));
        assert_eq!(of("a.CSV"), Some(Format::Csv));
        assert_eq!(of("a.tsv.zst"), Some(Format::Tsv));
        assert_eq!(
            of("dump.sql.gz"),
            Some(Format::Dump(DumpDialect::Postgres))
        );
        assert_eq!(of("a.gz"), None);
        assert_eq!(of("notes"), None);
    }
}
