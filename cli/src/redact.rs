//! Redacting JSON lines.

use std::io::{self, BufRead, Read, Write};

use phisafe::Redactor;

/// Redacts each line as JSON; a line that is not valid JSON is redacted as
/// text rather than dropped or passed through, and counted.
pub(crate) fn jsonl(
    redactor: &Redactor,
    input: impl Read,
    w: &mut dyn Write,
) -> io::Result<u64> {
    let mut rdr = io::BufReader::new(input);
    let mut line = Vec::new();
    let mut bad = 0;
    loop {
        line.clear();
        if rdr.read_until(b'\n', &mut line)? == 0 {
            return Ok(bad);
        }
        let body = line.strip_suffix(b"\n").unwrap_or(&line);
        let newline = body.len() < line.len();
        if body.trim_ascii().is_empty() {
            w.write_all(&line)?;
            continue;
        }
        match redactor.redact_json(body) {
            Ok(out) => w.write_all(&out)?,
            Err(_) => {
                bad += 1;
                w.write_all(&redactor.redact(body))?;
            }
        }
        if newline {
            w.write_all(b"\n")?;
        }
    }
}
