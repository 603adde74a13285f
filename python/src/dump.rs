//! `phisafe.DumpReader`: a plain-SQL dump's rows, decoded by the core
//! parser, for loading its tables elsewhere (Spark DataFrames).

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use phisafe::Scanner;
use phisafe::format::dump::{DumpDialect, DumpScan};
use pyo3::exceptions::PyStopIteration;
use pyo3::prelude::*;

use super::InputError;

/// The parser borrows a scanner; reading values never scans, so one
/// default scanner serves every reader.
fn scanner() -> &'static Scanner {
    static SCANNER: OnceLock<Scanner> = OnceLock::new();
    SCANNER.get_or_init(Scanner::new)
}

/// One table row, as `next` returns it: table, column names, 1-based row
/// within the table, and the values (text; None for NULL).
type Row = (String, Vec<String>, u64, Vec<Option<String>>);

/// Iterates over the rows of a `pg_dump` or `mysqldump` plain-SQL file
/// (COPY blocks and INSERTs), decoded by phisafe's dump parser, in
/// bounded memory; gzip and zstd files are decompressed on the fly.
/// Values are text (bytea stays in its `\x...` form; bytes that are not
/// UTF-8 become U+FFFD).
#[pyclass(frozen, module = "phisafe", name = "DumpReader")]
pub struct PyDumpReader {
    rows: Mutex<DumpScan<'static, BufReader<Box<dyn Read + Send>>>>,
}

impl std::fmt::Debug for PyDumpReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DumpReader").finish_non_exhaustive()
    }
}

#[pymethods]
impl PyDumpReader {
    /// Opens `path`; `dialect` is `postgres` or `mysql`.
    #[new]
    #[pyo3(signature = (path, dialect="postgres"))]
    fn new(path: PathBuf, dialect: &str) -> PyResult<PyDumpReader> {
        let dialect = match dialect {
            "postgres" => DumpDialect::Postgres,
            "mysql" => DumpDialect::Mysql,
            other => {
                return Err(InputError::new_err(format!(
                    "unknown dump dialect {other:?}: use postgres or mysql"
                )));
            }
        };
        let file = File::open(&path).map_err(|e| {
            InputError::new_err(format!("cannot open {}: {e}", path.display()))
        })?;
        let input = phisafe::compress::decompressed(file).map_err(|e| {
            InputError::new_err(format!("cannot read {}: {e}", path.display()))
        })?;
        let rows = scanner()
            .scan_dump(BufReader::with_capacity(256 << 10, input), dialect);
        Ok(PyDumpReader { rows: Mutex::new(rows) })
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Row> {
        py.detach(|| {
            let mut rows = self.rows.lock().unwrap_or_else(|p| p.into_inner());
            match rows.next_values() {
                None => Err(PyStopIteration::new_err(())),
                Some(Err(e)) => Err(InputError::new_err(e.to_string())),
                Some(Ok(r)) => Ok((
                    r.table.to_string(),
                    r.columns.iter().map(|c| c.to_string()).collect(),
                    r.row,
                    r.values
                        .into_iter()
                        .map(|v| {
                            v.map(|b| String::from_utf8_lossy(&b).into_owned())
                        })
                        .collect(),
                )),
            }
        })
    }
}
