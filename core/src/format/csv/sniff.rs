//! Guessing a delimited file's dialect from a sample: the delimiter, the
//! preamble before the table, and whether the first row is a header.
//!
//! Exports come in every dialect: Excel in much of Europe writes `;`,
//! database tools write tabs or `|`, report generators put a title and a
//! date above the header, and some tools write no header at all. Reading
//! such a file with the wrong dialect splits it into garbage, and the
//! column names that carry most of a table's evidence are lost.

use super::{CsvOptions, Field, split, trim_terminator};
use crate::scan::engine::Scanner;
use crate::scan::hints::FieldHint;

/// Delimiters tried, after the caller's default.
const CANDIDATES: [u8; 4] = [b',', b'\t', b';', b'|'];

/// Records of the sample looked at.
const SAMPLE_RECORDS: usize = 200;

/// Data rows compared with a candidate header.
const HEADER_ROWS: usize = 20;

/// Records a one-column file's preamble may take, its blank line included.
const PREAMBLE_RECORDS: usize = 10;

/// A record of the sample: its body (no terminator) and fields.
struct Record<'a> {
    body: &'a [u8],
    fields: Vec<Field>,
}

impl Record<'_> {
    fn blank(&self) -> bool {
        self.body.trim_ascii().is_empty()
    }

    fn cell(&self, i: usize) -> String {
        self.fields.get(i).map_or_else(String::new, |f| {
            String::from_utf8_lossy(&f.value(self.body).0).trim().to_string()
        })
    }
}

impl Scanner {
    /// Guesses how the delimited text that `sample` starts is laid out:
    /// its delimiter (`default`, `,`, tab, `;` or `|`: the one that splits
    /// the most records into the same number of fields, two or more), how
    /// many preamble records come before the table (titles, notes, blank
    /// lines: [`CsvOptions::skip`]), and whether the table's first row is
    /// a header. A header's cells are names (letters, no values this
    /// scanner would report), differ in kind from the values under them,
    /// or are field names it knows.
    ///
    /// ```
    /// use phisafe::Scanner;
    ///
    /// let export = "Report: Admissions\nGenerated 2024-02-08 by etl_user\n\n\
    ///               MRN;Name;Admitted\n00482913;Quixote, Zed;14.03.2024\n\
    ///               00519204;Lim, Francesco;15.03.2024\n";
    /// let opts = Scanner::new().sniff_csv(export.as_bytes(), b',');
    /// assert_eq!(opts.delimiter_byte(), b';');
    /// assert_eq!(opts.skipped(), 3);
    /// assert!(opts.has_headers());
    /// ```
    pub fn sniff_csv(&self, sample: &[u8], default: u8) -> CsvOptions {
        let sample = sample.strip_prefix(b"\xef\xbb\xbf").unwrap_or(sample);
        let mut best: Option<(u32, usize, u8, Vec<Record<'_>>)> = None;
        let others = CANDIDATES.iter().filter(|&&d| d != default);
        for &delim in std::iter::once(&default).chain(others) {
            let records = records(sample, delim);
            let Some((mode, share)) = mode(&records) else { continue };
            // Shares a few records apart are a tie, which more fields win.
            let share = (share * 20.0).round() as u32;
            if best.as_ref().is_none_or(|b| (share, mode) > (b.0, b.1)) {
                best = Some((share, mode, delim, records));
            }
        }
        let Some((_, mode, delim, records)) = best else {
            // One column, or not delimited at all.
            let records = records(sample, default);
            let mut skip = records.iter().take_while(|r| r.blank()).count();
            let mut headers = records.get(skip).is_some_and(|first| {
                self.is_header(first, &records[skip + 1..])
            });
            // A preamble set off by a blank line (`Report for ...`, blank,
            // `npi`, values): the column's name is under it.
            if !headers
                && let Some(gap) = records
                    .iter()
                    .take(PREAMBLE_RECORDS)
                    .skip(skip)
                    .position(Record::blank)
            {
                let after = skip + gap + 1;
                let table =
                    records[after..].iter().take_while(|r| r.blank()).count();
                let at = after + table;
                if records.get(at).is_some_and(|first| {
                    self.is_header(first, &records[at + 1..])
                }) {
                    (skip, headers) = (at, true);
                }
            }
            return CsvOptions::new()
                .delimiter(default)
                .skip(skip)
                .headers(headers);
        };
        let skip = preamble(&records, mode);
        let headers = records
            .get(skip)
            .is_some_and(|first| self.is_header(first, &records[skip + 1..]));
        CsvOptions::new().delimiter(delim).skip(skip).headers(headers)
    }

    /// Whether `first` names the columns of the rows after it.
    fn is_header(&self, first: &Record<'_>, rest: &[Record<'_>]) -> bool {
        let rest: Vec<&Record<'_>> =
            rest.iter().filter(|r| !r.blank()).take(HEADER_ROWS).collect();
        let cells: Vec<String> =
            (0..first.fields.len()).map(|i| first.cell(i)).collect();
        // Names: short, with a letter, nothing to report in them; an
        // unnamed first column (a row index) is allowed.
        for (i, c) in cells.iter().enumerate() {
            let named = c.len() <= 64 && c.chars().any(char::is_alphabetic);
            if !(named || (i == 0 && c.is_empty())) {
                return false;
            }
        }
        // Field names the dictionary knows in half the cells make a header
        // even where a pattern fires on the row ("State Code,Patient MRN"
        // reads as a name before a record number); otherwise a finding
        // says the row is data.
        let hinted: Vec<bool> = cells
            .iter()
            .map(|c| !c.is_empty() && self.field_hint(c) != FieldHint::Unknown)
            .collect();
        let known = hinted.iter().filter(|&&h| h).count();
        let named = cells.iter().filter(|c| !c.is_empty()).count();
        let by_names = known >= 2 && known * 2 >= named;
        if !by_names && !self.scan(first.body).is_empty() {
            return false;
        }
        let mut votes = 0i32;
        for (i, h) in cells.iter().enumerate() {
            if h.is_empty() {
                continue;
            }
            if hinted[i] {
                votes += 2;
            }
            let values: Vec<String> = rest
                .iter()
                .map(|r| r.cell(i))
                .filter(|v| !v.is_empty())
                .collect();
            if values.is_empty() {
                continue;
            }
            if values.iter().any(|v| v == h) {
                votes -= 2;
                continue;
            }
            let numeric = |v: &str| {
                v.chars().any(|c| c.is_ascii_digit())
                    && v.chars().all(|c| {
                        c.is_ascii_digit() || " .,:/+-()$%".contains(c)
                    })
            };
            if values.iter().all(|v| numeric(v)) {
                votes += 1;
            } else if values.iter().all(|v| v.len() == values[0].len()) {
                votes += if h.len() == values[0].len() { -1 } else { 1 };
            } else if looks_like_identifier(h) {
                votes += 1;
            }
        }
        votes > 0
    }
}

/// The delimiter of the table `sample` holds, if it is one: after any
/// preamble, a row of names then at least [`TABLE_ROWS`] rows, nine in ten
/// of all of them with the same number of fields (three or more), or,
/// split by tabs, twice as many rows all of one width. Logs with `|` or
/// `,` in their lines fail this: their first line is not a row of names,
/// or their widths vary.
pub(crate) fn table_delimiter(sample: &[u8]) -> Option<u8> {
    let sample = sample.strip_prefix(b"\xef\xbb\xbf").unwrap_or(sample);
    [b'\t', b',', b';', b'|'].into_iter().find(|&delim| {
        let records = records(sample, delim);
        let Some((mode, _)) = mode(&records) else { return false };
        let skip = preamble(&records, mode);
        let table: Vec<&Record<'_>> =
            records[skip..].iter().filter(|r| !r.blank()).collect();
        let wide = table.iter().filter(|r| r.fields.len() == mode).count();
        let even = mode >= 3
            && table.len() > TABLE_ROWS
            && wide * 10 >= table.len() * 9
            && table[0].fields.len() == mode;
        // Without a header, rows enough of one width say a table: every
        // row but perhaps a trailer (`Total rows: 20`). Tabs are rare in
        // prose and logs; other delimiters need wider rows.
        let trailer =
            usize::from(table.last().is_some_and(|r| r.fields.len() != mode));
        let uniform = wide + trailer == table.len()
            && wide >= 2 * TABLE_ROWS
            && (delim == b'\t' || mode >= 5);
        even && (is_names(table[0]) || uniform)
    })
}

/// Data rows a table needs to be told by its content.
const TABLE_ROWS: usize = 3;

/// A row of names: short cells with letters, no `key: value`, few digits.
fn is_names(r: &Record<'_>) -> bool {
    (0..r.fields.len()).all(|i| {
        let c = r.cell(i);
        c.len() <= 40
            && c.chars().any(char::is_alphabetic)
            && !c.contains(':')
            && c.chars().filter(char::is_ascii_digit).count() <= 2
    })
}

/// `snake_case`, `camelCase`, `ALL_CAPS` or `dotted.name`: how programs,
/// not people, write.
fn looks_like_identifier(s: &str) -> bool {
    let b = s.as_bytes();
    s.contains(['_', '.'])
        || b.windows(2)
            .any(|w| w[0].is_ascii_lowercase() && w[1].is_ascii_uppercase())
}

/// The records of `sample` read with `delim`, up to [`SAMPLE_RECORDS`];
/// a last line cut off by the sample's end is left out.
fn records(sample: &[u8], delim: u8) -> Vec<Record<'_>> {
    let mut out = Vec::new();
    let (mut start, mut end) = (0, 0);
    while end < sample.len() && out.len() < SAMPLE_RECORDS {
        end = match memchr::memchr(b'\n', &sample[end..]) {
            Some(i) => end + i + 1,
            None if out.is_empty() && start == 0 => sample.len(),
            None => break,
        };
        let body = trim_terminator(&sample[start..end]);
        if let Some(fields) = split(body, delim) {
            out.push(Record { body, fields });
            start = end;
        }
    }
    out
}

/// The most common field count of the non-blank records (the larger on a
/// tie) and the share of records that have it; `None` under two fields.
fn mode(records: &[Record<'_>]) -> Option<(usize, f64)> {
    let counts: Vec<usize> = records
        .iter()
        .filter(|r| !r.blank())
        .map(|r| r.fields.len())
        .collect();
    let mut best = (0, 0);
    for &c in &counts {
        let n = counts.iter().filter(|&&x| x == c).count();
        if (n, c) > (best.1, best.0) {
            best = (c, n);
        }
    }
    (best.0 >= 2).then(|| (best.0, best.1 as f64 / counts.len() as f64))
}

/// How many records come before the table: blank ones, comments, and
/// narrower ones that are not a row of names (a header may lack a
/// trailing column its rows have), as long as the table follows.
fn preamble(records: &[Record<'_>], mode: usize) -> usize {
    let names = is_names;
    let before = records
        .iter()
        .take_while(|r| {
            r.blank()
                || r.body.starts_with(b"#")
                || r.fields.len() == 1
                || (r.fields.len() < mode && !names(r))
        })
        .count();
    match records.get(before) {
        Some(_) => before,
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sniff(text: &str) -> (u8, usize, bool) {
        let o = Scanner::new().sniff_csv(text.as_bytes(), b',');
        (o.delimiter_byte(), o.skipped(), o.has_headers())
    }

    #[test]
    fn delimiters_are_told_by_consistent_widths() {
        assert_eq!(
            sniff("id;name;city\n1;Lim, Francesco;Salem\n2;Xu, Sheree;Bend\n"),
            (b';', 0, true)
        );
        assert_eq!(
            sniff(
                "id|patient|dob\n7|Demark, Chin|1957-03-14\n8|Crass, Magda|1960-01-02\n"
            ),
            (b'|', 0, true)
        );
        assert_eq!(
            sniff("MRN\tNAME\n0482913\tZed Quixote\n0519204\tAl Lim\n"),
            (b'\t', 0, true)
        );
        // Commas inside quotes do not count.
        assert_eq!(sniff("a,b\n\"x; y; z\",1\n\"p; q\",2\n"), (b',', 0, true));
    }

    #[test]
    fn a_one_column_table_under_a_preamble_keeps_its_name() {
        // Found by the structure_covers_text fuzz target: the column's name
        // was read as data, and its NPIs lost the word a text scan saw.
        let export = "Report for 4410 Elm Street\nGenerated by etl\n\nnpi\n\
                      1234567893\n1234567893\n219-09-9999\n";
        assert_eq!(sniff(export), (b',', 3, true));
        // Without a blank line, or with values under it, nothing moves.
        assert_eq!(sniff("npi\n1234567893\n1234567893\n"), (b',', 0, true));
        assert!(!sniff("alpha\nbeta\n\n1234567893\n1234567893\n").2);
    }

    #[test]
    fn preambles_are_skipped_and_headers_told_from_data() {
        let export = "Report: Admissions\r\nGenerated 2024-02-08 by etl_user, site 4\r\n\r\n\
                      patient_id,ssn,admitted\r\n1,219-09-9999,2024-03-14\r\n2,536-22-1837,2024-03-15\r\n";
        assert_eq!(sniff(export), (b',', 3, true));
        // No header: the first row is data like the rest.
        assert_eq!(
            sniff(
                "1,0862914,fe:11:2b:bf:0b:0b,2024-01-26\n2,0862915,fe:11:2b:bf:0b:0c,2024-01-27\n"
            ),
            (b',', 0, false)
        );
        assert_eq!(
            sniff("Nguyen,Salem,active\nLim,Bend,closed\nXu,Ames,active\n"),
            (b',', 0, false)
        );
        // Field names the dictionary knows make a header even over text.
        assert_eq!(
            sniff(
                "Last Name,City,Status\nNguyen,Salem,active\nLim,Bend,closed\n"
            ),
            (b',', 0, true)
        );
        // ... and over a row a pattern fires on.
        assert_eq!(
            sniff(
                "ID,State Code,Patient MRN,Email\n1,A,Z2308272,a@b.org\n2,I,0404692,c@d.org\n"
            ),
            (b',', 0, true)
        );
    }

    #[test]
    fn odd_samples_never_panic() {
        for text in [
            "",
            "\n",
            "\"",
            "a",
            "a\nb\n",
            "\u{feff}x,y\n1,2",
            ",,,\n,,,\n",
            "\"a\nb",
        ] {
            let _ = sniff(text);
        }
    }
}
