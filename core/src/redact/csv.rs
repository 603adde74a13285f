//! CSV redaction that keeps valid CSV: same records, same fields; a field
//! is quoted in the output when it was quoted in the input or when its
//! redaction needs it.

use std::io::{self, BufRead, Write};

use crate::Redactor;
use crate::scan::CsvOptions;

impl Redactor {
    /// Redacts a delimited stream record by record, in bounded memory, and
    /// returns the number of findings redacted. Fields without findings are
    /// copied byte for byte, and so are record terminators.
    ///
    /// ```
    /// use phisafe::{Redactor, Scanner};
    /// use phisafe::scan::CsvOptions;
    ///
    /// let csv = "id,last_name,ssn\n1,Quixote,219099999\n";
    /// let mut out = Vec::new();
    /// Redactor::new(Scanner::new()).redact_csv(csv.as_bytes(), &mut out, CsvOptions::new())?;
    /// assert_eq!(out, b"id,last_name,ssn\n1,[PERSON],[SSN]\n");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn redact_csv<R: BufRead, W: Write>(
        &self,
        rdr: R,
        mut wtr: W,
        opts: CsvOptions,
    ) -> io::Result<u64> {
        let delim = opts.delimiter_byte();
        let mut records = self.scanner().scan_csv(rdr, opts);
        let mut out = Vec::new();
        let mut count = 0;
        while let Some(r) = records.next_raw() {
            let (header, _, _) = r?;
            let raw = records.raw();
            if header {
                wtr.write_all(raw)?;
                continue;
            }
            out.clear();
            let mut at = 0;
            let mut plain = Vec::new();
            records.for_each_field(|_, field, value, _, found, _| {
                if found.is_empty() {
                    return;
                }
                count += found.len() as u64;
                plain.clear();
                self.apply(value, 0, &found, &mut plain);
                out.extend_from_slice(&raw[at..field.raw.start]);
                let quote = field.quoted
                    || plain.iter().any(|&b| {
                        b == delim || b == b'"' || b == b'\n' || b == b'\r'
                    });
                if quote {
                    out.push(b'"');
                    for &b in &plain {
                        if b == b'"' {
                            out.push(b'"');
                        }
                        out.push(b);
                    }
                    out.push(b'"');
                } else {
                    out.extend_from_slice(&plain);
                }
                at = field.raw.end;
            });
            out.extend_from_slice(&raw[at..]);
            wtr.write_all(&out)?;
        }
        wtr.flush()?;
        Ok(count)
    }
}
