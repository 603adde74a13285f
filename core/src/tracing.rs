//! A `tracing-subscriber` writer that redacts every formatted event.
//!
//! A `tracing` layer only sees events, not what the `fmt` layer prints,
//! so redaction happens in the writer: each formatted line is scanned and
//! redacted before it reaches the real output.
//!
//! ```
//! use phisafe::{Redactor, Scanner};
//! use phisafe::tracing::RedactingMakeWriter;
//! use std::sync::{Arc, Mutex};
//!
//! # #[derive(Clone, Default)]
//! # struct Buf(Arc<Mutex<Vec<u8>>>);
//! # impl std::io::Write for Buf {
//! #     fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
//! #         self.0.lock().unwrap().write(b)
//! #     }
//! #     fn flush(&mut self) -> std::io::Result<()> { Ok(()) }
//! # }
//! # let buf = Buf::default();
//! # let out = buf.clone();
//! # let stderr = move || buf.clone();
//! // In a service: `let stderr = std::io::stderr;`
//! let redactor = Redactor::new(Scanner::new());
//! let subscriber = tracing_subscriber::fmt()
//!     .with_writer(RedactingMakeWriter::new(redactor, stderr))
//!     .with_ansi(false)
//!     .finish();
//! tracing::subscriber::with_default(subscriber, || {
//!     tracing::info!(ssn = "219-09-9999", "lookup for jo@clinic.example");
//! });
//! # let printed = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
//! # assert!(printed.contains("lookup for [EMAIL] ssn=\"[SSN]\""), "{printed}");
//! # assert!(!printed.contains("9999"));
//! ```

use std::io::{self, Write};

use tracing_subscriber::fmt::MakeWriter;

use crate::Redactor;

/// Makes [`RedactingWriter`]s around the writers of another `MakeWriter`.
#[derive(Debug, Clone)]
pub struct RedactingMakeWriter<M> {
    redactor: Redactor,
    inner: M,
}

impl<M> RedactingMakeWriter<M> {
    /// Redacts with `redactor` whatever `inner`'s writers would receive.
    pub fn new(redactor: Redactor, inner: M) -> RedactingMakeWriter<M> {
        RedactingMakeWriter { redactor, inner }
    }
}

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for RedactingMakeWriter<M> {
    type Writer = RedactingWriter<'a, M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter {
            redactor: &self.redactor,
            inner: self.inner.make_writer(),
            buf: Vec::new(),
        }
    }
}

/// Buffers one event's output and writes it redacted, line by line.
pub struct RedactingWriter<'a, W: Write> {
    redactor: &'a Redactor,
    inner: W,
    buf: Vec<u8>,
}

/// Shows how much is buffered, never the buffered text.
impl<W: Write> std::fmt::Debug for RedactingWriter<'_, W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedactingWriter")
            .field("buffered", &self.buf.len())
            .finish_non_exhaustive()
    }
}

impl<W: Write> RedactingWriter<'_, W> {
    fn emit(&mut self, upto: usize) -> io::Result<()> {
        let out = self.redactor.redact(&self.buf[..upto]);
        self.buf.drain(..upto);
        self.inner.write_all(&out)
    }
}

impl<W: Write> Write for RedactingWriter<'_, W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if let Some(nl) = memchr::memrchr(b'\n', &self.buf) {
            self.emit(nl + 1)?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            self.emit(self.buf.len())?;
        }
        self.inner.flush()
    }
}

impl<W: Write> Drop for RedactingWriter<'_, W> {
    fn drop(&mut self) {
        // Drop cannot report errors; a failed log write is not worth a
        // panic, and the unredacted bytes are never written.
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffered_text_is_redacted_and_never_shown() {
        let redactor = Redactor::new(crate::Scanner::new());
        let mut out = Vec::new();
        let mut w = RedactingWriter {
            redactor: &redactor,
            inner: &mut out,
            buf: Vec::new(),
        };
        w.write_all(b"ssn 219-09-9999 then").unwrap();
        let shown = format!("{w:?}");
        assert!(shown.contains("buffered: 20"), "{shown}");
        assert!(
            !shown.contains("219") && !shown.contains("50, 49"),
            "{shown}"
        );
        w.write_all(b" more\n").unwrap();
        drop(w);
        let out = String::from_utf8(out).unwrap();
        assert!(
            out.ends_with(" then more\n") && !out.contains("219"),
            "{out}"
        );
    }
}
