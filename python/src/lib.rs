//! `phisafe._native`: the Rust engine behind the `phisafe` Python package.
//!
//! Offsets given to Python are string indices (code points), not UTF-8
//! bytes. Every scan and redaction releases the interpreter while Rust
//! works, so threads scan in parallel.

mod cipher;
mod classify;
mod dump;

use std::collections::HashMap;
use std::path::PathBuf;

use phisafe::format::json::JsonFinding;
use phisafe::{Entity, HashKey, Operator, Redactor};
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyDict, PyFloat, PyInt, PyList, PyModule, PyString, PyTuple,
};
use rayon::prelude::*;
use serde_json::Value;

create_exception!(
    phisafe,
    PhisafeError,
    PyException,
    "Base class of every phisafe error. Messages never contain input data."
);
create_exception!(
    phisafe,
    PatternError,
    PhisafeError,
    "A pattern file, entity name, operator or option is invalid."
);
create_exception!(
    phisafe,
    InputError,
    PhisafeError,
    "The input cannot be read: malformed JSON, nesting too deep, a value \
     of an unsupported type."
);

/// Deepest Python object `scan_json` / `redact_json` walk.
const MAX_DEPTH: usize = 128;

/// Byte offsets to string indices: the index of byte `b` is the number of
/// bytes before it that start a character. `offsets` must be ascending.
fn to_chars(text: &[u8], offsets: &mut [usize]) {
    if text.is_ascii() {
        return;
    }
    let (mut at, mut chars) = (0, 0);
    for off in offsets.iter_mut() {
        let end = (*off).min(text.len());
        if end > at {
            chars +=
                text[at..end].iter().filter(|&&b| b & 0xC0 != 0x80).count();
            at = end;
        }
        *off = chars;
    }
}

/// Strings from any iterable (a list, a tuple, a generator, a pandas
/// Series): what the batch calls take.
pub(crate) struct Texts<'py>(pub(crate) Vec<Bound<'py, PyString>>);

impl<'a, 'py> FromPyObject<'a, 'py> for Texts<'py> {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Texts<'py>> {
        if obj.is_instance_of::<PyString>() {
            // A str is an iterable of characters: surely a mistake.
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "expected an iterable of str, not one str; wrap it in a list",
            ));
        }
        obj.try_iter()?
            .map(|t| {
                t?.cast_into::<PyString>().map_err(|e| {
                    pyo3::exceptions::PyTypeError::new_err(format!(
                        "expected str items, got {}",
                        e.into_inner()
                            .get_type()
                            .name()
                            .map_or("?".to_string(), |n| n.to_string())
                    ))
                })
            })
            .collect::<PyResult<_>>()
            .map(Texts)
    }
}

/// String indices to byte offsets, in one pass over `text` (the reverse of
/// [`to_chars`]); `None` if one lies beyond its end.
fn to_bytes(text: &str, indices: &[usize]) -> Option<Vec<usize>> {
    if text.is_ascii() {
        return indices
            .iter()
            .all(|&i| i <= text.len())
            .then(|| indices.to_vec());
    }
    let mut order: Vec<usize> = (0..indices.len()).collect();
    order.sort_unstable_by_key(|&k| indices[k]);
    let mut out = vec![0; indices.len()];
    let mut bytes = text.char_indices().map(|(b, _)| b).chain([text.len()]);
    let (mut at, mut byte) = (0, bytes.next()?);
    for k in order {
        while at < indices[k] {
            byte = bytes.next()?;
            at += 1;
        }
        out[k] = byte;
    }
    Some(out)
}

/// One finding. Offsets are string indices into the scanned text (or into
/// the string value that `path` names); `repr` never shows the value.
#[pyclass(frozen, eq, module = "phisafe", name = "Finding")]
#[derive(Clone, PartialEq, Debug)]
pub struct PyFinding {
    /// Canonical entity name (`SSN`, `EMAIL`...).
    #[pyo3(get)]
    entity: String,
    /// Start index (inclusive).
    #[pyo3(get)]
    start: usize,
    /// End index (exclusive).
    #[pyo3(get)]
    end: usize,
    /// Confidence, 0 to 1.
    #[pyo3(get)]
    score: f32,
    /// Id of the pattern that matched.
    #[pyo3(get)]
    pattern_id: String,
    /// JSON Pointer of the value, for `scan_json`.
    #[pyo3(get)]
    path: Option<String>,
}

#[pymethods]
impl PyFinding {
    /// A finding made by the caller, to add to a scan's findings before
    /// `Scanner.redact(text, findings=...)`. The entity must be known.
    #[new]
    #[pyo3(signature = (entity, start, end, score=1.0, pattern_id=None, path=None))]
    fn new(
        entity: &str,
        start: usize,
        end: usize,
        score: f32,
        pattern_id: Option<String>,
        path: Option<String>,
    ) -> PyResult<PyFinding> {
        let pattern_id = pattern_id.unwrap_or_else(|| "custom".to_string());
        if start > end {
            return Err(InputError::new_err(format!(
                "a finding cannot end ({end}) before it starts ({start})"
            )));
        }
        Ok(PyFinding {
            entity: self::entity(entity)?.as_str().to_string(),
            start,
            end,
            score,
            pattern_id,
            path,
        })
    }

    fn __repr__(&self) -> String {
        format!(
            "Finding(entity={:?}, start={}, end={}, score={:.2}, pattern_id={:?}, path={})",
            self.entity,
            self.start,
            self.end,
            self.score,
            self.pattern_id,
            self.path
                .as_deref()
                .map_or("None".to_string(), |p| format!("{p:?}")),
        )
    }
}

/// Findings of `text`, with offsets converted to string indices.
fn findings(
    scanner: &phisafe::Scanner,
    text: &[u8],
    found: &[phisafe::Finding],
    path: Option<&str>,
) -> Vec<PyFinding> {
    let mut offsets: Vec<usize> =
        found.iter().flat_map(|f| [f.start(), f.end()]).collect();
    let mut order: Vec<usize> = (0..offsets.len()).collect();
    order.sort_by_key(|&i| offsets[i]);
    let mut sorted: Vec<usize> = order.iter().map(|&i| offsets[i]).collect();
    to_chars(text, &mut sorted);
    for (&i, &c) in order.iter().zip(&sorted) {
        offsets[i] = c;
    }
    found
        .iter()
        .enumerate()
        .map(|(i, f)| PyFinding {
            entity: f.entity().as_str().to_string(),
            start: offsets[2 * i],
            end: offsets[2 * i + 1],
            score: f.score(),
            pattern_id: scanner.pattern(f.pattern()).id().to_string(),
            path: path.map(str::to_string),
        })
        .collect()
}

fn pattern_error(e: impl std::fmt::Display) -> PyErr {
    PatternError::new_err(e.to_string())
}

fn entity(name: &str) -> PyResult<Entity> {
    name.parse::<Entity>().map_err(pattern_error)
}

/// A compiled pattern pack: build once (it is immutable and thread-safe),
/// then scan and redact from any thread.
#[pyclass(frozen, module = "phisafe", name = "Scanner")]
pub struct PyScanner {
    scanner: phisafe::Scanner,
    redactor: Redactor,
}

impl std::fmt::Debug for PyScanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scanner").finish_non_exhaustive()
    }
}

impl PyScanner {
    /// The findings of each text, scanned in parallel with the interpreter
    /// released; with `field`, the texts are values of that field.
    fn scan_texts(
        &self,
        py: Python<'_>,
        texts: &[Bound<'_, PyString>],
        field: Option<&str>,
    ) -> PyResult<Vec<Vec<PyFinding>>> {
        self.scan_each(py, texts, field, |t, found| {
            findings(&self.scanner, t, found, None)
        })
    }

    /// Each text's `(entity, score)` pairs: what classifying a column
    /// needs, without building `Finding` objects.
    pub(crate) fn scan_pairs(
        &self,
        py: Python<'_>,
        texts: &[Bound<'_, PyString>],
        field: Option<&str>,
    ) -> PyResult<Vec<Vec<(phisafe::Entity, f32)>>> {
        self.scan_each(py, texts, field, |_, found| {
            found.iter().map(|f| (f.entity(), f.score())).collect()
        })
    }

    /// Scans `texts` in parallel with the interpreter released (as values
    /// of `field` when given) and maps each text and its findings by `f`.
    fn scan_each<T: Send>(
        &self,
        py: Python<'_>,
        texts: &[Bound<'_, PyString>],
        field: Option<&str>,
        f: impl Fn(&[u8], &[phisafe::Finding]) -> T + Sync,
    ) -> PyResult<Vec<T>> {
        let borrowed = borrowed(texts)?;
        let scan = |t: &[u8]| match field {
            Some(name) => self.scanner.scan_field(name, t),
            None => self.scanner.scan(t),
        };
        parallel(py, || {
            borrowed
                .par_iter()
                .map(|t| {
                    let t = t.as_bytes();
                    f(t, &scan(t))
                })
                .collect()
        })
    }

    fn redactor_for(
        &self,
        operators: Option<HashMap<String, String>>,
        hash_key: Option<Vec<u8>>,
    ) -> PyResult<Option<Redactor>> {
        if operators.is_none() && hash_key.is_none() {
            return Ok(None);
        }
        let mut b = Redactor::builder(self.scanner.clone());
        for (name, op) in operators.unwrap_or_default() {
            let op: Operator = op.parse().map_err(pattern_error)?;
            b = if name == "*" {
                b.default_operator(op)
            } else {
                b.operator(entity(&name)?, op)
            };
        }
        if let Some(key) = hash_key {
            b = b.hash_key(HashKey::new(&key).map_err(pattern_error)?);
        }
        b.build().map(Some).map_err(pattern_error)
    }
}

#[pymethods]
impl PyScanner {
    /// Builds a scanner from the default pattern pack.
    ///
    /// `entities` keeps only those entity types; `min_score` drops weaker
    /// findings; `extra_patterns` are pattern files (TOML); `allow` values
    /// are never reported; `deny` maps an entity to terms always reported
    /// as that entity.
    #[new]
    #[pyo3(signature = (entities=None, min_score=None, extra_patterns=None, allow=None, deny=None, log_timestamps=false))]
    fn new(
        entities: Option<Vec<String>>,
        min_score: Option<f32>,
        extra_patterns: Option<Vec<PathBuf>>,
        allow: Option<Vec<String>>,
        deny: Option<HashMap<String, Vec<String>>>,
        log_timestamps: bool,
    ) -> PyResult<PyScanner> {
        let mut b = phisafe::Scanner::builder();
        if let Some(names) = entities {
            let list = names
                .iter()
                .map(|n| entity(n))
                .collect::<PyResult<Vec<_>>>()?;
            b.entities(list);
        }
        if let Some(score) = min_score {
            if !(0.0..=1.0).contains(&score) {
                return Err(PatternError::new_err(
                    "min_score must be between 0 and 1",
                ));
            }
            b.min_score(score);
        }
        for path in extra_patterns.unwrap_or_default() {
            b.pattern_file(&path).map_err(pattern_error)?;
        }
        for value in allow.unwrap_or_default() {
            b.allow(value);
        }
        for (name, terms) in deny.unwrap_or_default() {
            let e = entity(&name)?;
            for t in terms {
                b.deny(e, &t);
            }
        }
        b.log_timestamps(log_timestamps);
        let scanner = b.build().map_err(pattern_error)?;
        let redactor = Redactor::new(scanner.clone());
        Ok(PyScanner { scanner, redactor })
    }

    /// The findings in `text`, in order.
    fn scan(&self, py: Python<'_>, text: &str) -> Vec<PyFinding> {
        py.detach(|| {
            findings(
                &self.scanner,
                text.as_bytes(),
                &self.scanner.scan(text.as_bytes()),
                None,
            )
        })
    }

    /// `text` with every finding replaced (`[SSN]` by default; `operators`
    /// maps entity names, or `*` for every other entity, to `mask`, `tag`,
    /// `partial`, `hash` or `remove`, in any case; `hash` needs
    /// `hash_key`, 16 bytes or more). With `findings` (from `scan` of this
    /// text, filtered or added to), those are redacted instead of the
    /// scanner's own: a two-stage pipeline.
    #[pyo3(signature = (text, operators=None, hash_key=None, findings=None))]
    fn redact(
        &self,
        py: Python<'_>,
        text: &str,
        operators: Option<HashMap<String, String>>,
        hash_key: Option<Vec<u8>>,
        findings: Option<Vec<PyRef<'_, PyFinding>>>,
    ) -> PyResult<String> {
        let custom = self.redactor_for(operators, hash_key)?;
        let r = custom.as_ref().unwrap_or(&self.redactor);
        let Some(findings) = findings else {
            return Ok(py.detach(|| r.redact_str(text)));
        };
        let indices: Vec<usize> =
            findings.iter().flat_map(|f| [f.start, f.end]).collect();
        let Some(offsets) = to_bytes(text, &indices) else {
            return Err(InputError::new_err(format!(
                "a finding lies beyond the text ({} characters); give \
                 findings of this text",
                text.chars().count()
            )));
        };
        let spans = findings
            .iter()
            .zip(offsets.chunks(2))
            .map(|(f, o)| Ok((o[0]..o[1], entity(&f.entity)?)))
            .collect::<PyResult<Vec<_>>>()?;
        py.detach(|| r.redact_spans(text, &spans))
            .map_err(|e| InputError::new_err(e.to_string()))
    }

    /// Scans many texts in parallel, with the interpreter released once.
    /// With `field`, the texts are values of a field (column) of that
    /// name, which counts as context as CSV headers and JSON keys do.
    #[pyo3(signature = (texts, field=None))]
    fn scan_many<'py>(
        &self,
        py: Python<'py>,
        texts: Texts<'py>,
        field: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let texts = texts.0;
        let found = self.scan_texts(py, &texts, field)?;
        // One list per input: many containers that cannot form cycles, and
        // a collection every 700 of them was a tenth of the batch's cost.
        let _pause = GcPause::new(py, found.len())?;
        found.into_pyobject(py)
    }

    /// `scan_many` as a table: one row per finding, as six parallel
    /// lists `(text_index, entity, start, end, score, pattern_id)`. No
    /// `Finding` object is made, so this is the cheap way to feed findings
    /// into columnar data (Arrow, DataFrames).
    #[pyo3(signature = (texts, field=None))]
    #[allow(clippy::type_complexity, reason = "six columns, by design")]
    fn scan_many_columns(
        &self,
        py: Python<'_>,
        texts: Texts<'_>,
        field: Option<&str>,
    ) -> PyResult<(
        Vec<usize>,
        Vec<String>,
        Vec<usize>,
        Vec<usize>,
        Vec<f32>,
        Vec<String>,
    )> {
        let texts = texts.0;
        let per_text = self.scan_texts(py, &texts, field)?;
        let n: usize = per_text.iter().map(Vec::len).sum();
        let mut cols = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        for (i, found) in per_text.into_iter().enumerate() {
            for f in found {
                cols.0.push(i);
                cols.1.push(f.entity);
                cols.2.push(f.start);
                cols.3.push(f.end);
                cols.4.push(f.score);
                cols.5.push(f.pattern_id);
            }
        }
        Ok(cols)
    }

    /// Redacts many texts in parallel, with the interpreter released once.
    /// `field` as for `scan_many`.
    #[pyo3(signature = (texts, operators=None, hash_key=None, field=None))]
    fn redact_many(
        &self,
        py: Python<'_>,
        texts: Texts<'_>,
        operators: Option<HashMap<String, String>>,
        hash_key: Option<Vec<u8>>,
        field: Option<&str>,
    ) -> PyResult<Vec<String>> {
        let texts = texts.0;
        let texts = borrowed(&texts)?;
        let custom = self.redactor_for(operators, hash_key)?;
        let r = custom.as_ref().unwrap_or(&self.redactor);
        parallel(py, || {
            texts
                .par_iter()
                .map(|t| match field {
                    Some(name) => r.redact_field(name, t),
                    None => r.redact_str(t),
                })
                .collect()
        })
    }

    /// Scans JSON: text (offsets index the text) or a parsed object
    /// (offsets index the string value at `path`). Keys such as `ssn` or
    /// `last_name` mark their values.
    fn scan_json(
        &self,
        py: Python<'_>,
        obj: &Bound<'_, PyAny>,
    ) -> PyResult<Vec<PyFinding>> {
        if let Ok(s) = obj.cast::<PyString>() {
            let text = s.to_str()?;
            let found = py
                .detach(|| self.scanner.scan_json(text.as_bytes()))
                .map_err(|e| InputError::new_err(e.to_string()))?;
            return Ok(found
                .iter()
                .flat_map(|jf| {
                    findings(
                        &self.scanner,
                        text.as_bytes(),
                        std::slice::from_ref(jf.finding()),
                        Some(jf.pointer()),
                    )
                })
                .collect());
        }
        let value = to_json(obj, 0)?;
        let found: Vec<JsonFinding> =
            py.detach(|| self.scanner.scan_json_value(&value));
        Ok(found
            .iter()
            .flat_map(|jf| {
                let text = match value.pointer(jf.pointer()) {
                    Some(Value::String(s)) => s.as_bytes(),
                    _ => &[],
                };
                findings(
                    &self.scanner,
                    text,
                    std::slice::from_ref(jf.finding()),
                    Some(jf.pointer()),
                )
            })
            .collect())
    }

    /// A redacted copy of a parsed JSON object: same keys in the same
    /// order, same list lengths; values nothing was found in come back as
    /// they went in (NaN, big integers, tuples included), a redacted number
    /// becomes a string.
    #[pyo3(signature = (obj, operators=None, hash_key=None))]
    fn redact_json<'py>(
        &self,
        py: Python<'py>,
        obj: &Bound<'py, PyAny>,
        operators: Option<HashMap<String, String>>,
        hash_key: Option<Vec<u8>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let custom = self.redactor_for(operators, hash_key)?;
        let r = custom.as_ref().unwrap_or(&self.redactor);
        let value = to_json(obj, 0)?;
        let out = py.detach(|| r.redact_json_value(&value));
        keep_unchanged(py, obj, &value, &out)
    }

    fn __repr__(&self) -> String {
        format!("Scanner(patterns={})", self.scanner.patterns().len())
    }

    /// Benchmark helper: scans `texts` as `scan_many` does but returns only
    /// the number of findings, so Python can time the Rust core alone on
    /// the same input (python/bench/bench.py).
    fn _core_scan_count(
        &self,
        py: Python<'_>,
        texts: Texts<'_>,
    ) -> PyResult<usize> {
        let texts = texts.0;
        let texts = borrowed(&texts)?;
        parallel(py, || {
            texts
                .par_iter()
                .map(|t| self.scanner.scan(t.as_bytes()).len())
                .sum()
        })
    }
}

/// Runs `f` with the interpreter released on this process's thread pool.
///
/// rayon's global pool is made once per address space: a process forked
/// after using it (gunicorn `--preload`, `multiprocessing`) inherits the
/// pool's bookkeeping but not its threads, and a parallel call there
/// waits forever. So each process makes its own pool, and a child leaves
/// its parent's untouched (dropping it would signal threads that are not
/// there).
fn parallel<R: Send>(
    py: Python<'_>,
    f: impl FnOnce() -> R + Send,
) -> PyResult<R> {
    use std::sync::{Arc, Mutex};
    type Pool = (phisafe::fork::ForkCheck, Arc<rayon::ThreadPool>);
    static POOL: Mutex<Option<Pool>> = Mutex::new(None);
    py.detach(|| {
        let pool = {
            let mut slot = POOL.lock().unwrap_or_else(|p| p.into_inner());
            match &*slot {
                Some((check, pool)) if !check.forked() => Arc::clone(pool),
                _ => {
                    std::mem::forget(slot.take());
                    let pool = rayon::ThreadPoolBuilder::new()
                        .thread_name(|i| format!("phisafe-{i}"))
                        .build()
                        .map(Arc::new)
                        .map_err(|e| {
                            pyo3::exceptions::PyRuntimeError::new_err(format!(
                                "cannot start phisafe's worker threads: {e}"
                            ))
                        })?;
                    let check = phisafe::fork::ForkCheck::new();
                    *slot = Some((check, Arc::clone(&pool)));
                    pool
                }
            }
        };
        Ok(pool.install(f))
    })
}

/// Pauses Python's cyclic garbage collector while a large result made of
/// acyclic containers is built; restores it when dropped.
struct GcPause<'py> {
    gc: Option<Bound<'py, PyModule>>,
}

impl<'py> GcPause<'py> {
    /// Only for results of more than a few hundred containers: below the
    /// collector's threshold pausing it saves nothing.
    fn new(py: Python<'py>, containers: usize) -> PyResult<GcPause<'py>> {
        if containers < 700 {
            return Ok(GcPause { gc: None });
        }
        let gc = py.import("gc")?;
        if !gc.call_method0("isenabled")?.is_truthy()? {
            return Ok(GcPause { gc: None });
        }
        gc.call_method0("disable")?;
        Ok(GcPause { gc: Some(gc) })
    }
}

impl Drop for GcPause<'_> {
    fn drop(&mut self) {
        if let Some(gc) = &self.gc {
            // Enabling cannot fail short of interpreter shutdown.
            let _ = gc.call_method0("enable");
        }
    }
}

/// The UTF-8 text of Python strings, borrowed: no copy, and the strings
/// (immutable, kept alive by `texts`) can be read with the GIL released.
fn borrowed<'a>(texts: &'a [Bound<'_, PyString>]) -> PyResult<Vec<&'a str>> {
    texts.iter().map(|t| t.to_str()).collect()
}

/// A Python object as JSON: dicts with string keys, lists and tuples,
/// strings, ints, floats, bools and None.
fn to_json(obj: &Bound<'_, PyAny>, depth: usize) -> PyResult<Value> {
    if depth > MAX_DEPTH {
        return Err(InputError::new_err(format!(
            "nesting deeper than {MAX_DEPTH} levels"
        )));
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(s.to_str()?.to_string()));
    }
    if let Ok(i) = obj.cast::<PyInt>() {
        if let Ok(n) = i.extract::<i64>() {
            return Ok(Value::from(n));
        }
        if let Ok(n) = i.extract::<u64>() {
            return Ok(Value::from(n));
        }
        // Beyond 64 bits: keep the digits, as JSON text would.
        return Ok(Value::String(i.str()?.to_str()?.to_string()));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Ok(serde_json::Number::from_f64(f.value())
            .map_or(Value::Null, Value::Number));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut map = serde_json::Map::new();
        for (k, v) in d.iter() {
            let key = k
                .cast::<PyString>()
                .map_err(|_| InputError::new_err("dict keys must be strings"))?
                .to_str()?
                .to_string();
            map.insert(key, to_json(&v, depth + 1)?);
        }
        return Ok(Value::Object(map));
    }
    if let Ok(l) = obj.cast::<PyList>() {
        return l
            .iter()
            .map(|v| to_json(&v, depth + 1))
            .collect::<PyResult<_>>()
            .map(Value::Array);
    }
    if let Ok(t) = obj.cast::<PyTuple>() {
        return t
            .iter()
            .map(|v| to_json(&v, depth + 1))
            .collect::<PyResult<_>>()
            .map(Value::Array);
    }
    Err(InputError::new_err(format!(
        "cannot scan a value of type {} as JSON",
        obj.get_type().name()?
    )))
}

/// The redacted value `after` as Python objects, reusing `orig` wherever
/// redaction changed nothing: what JSON cannot hold (NaN, infinities,
/// integers beyond 64 bits, tuples) comes back as it went in.
fn keep_unchanged<'py>(
    py: Python<'py>,
    orig: &Bound<'py, PyAny>,
    before: &Value,
    after: &Value,
) -> PyResult<Bound<'py, PyAny>> {
    match (before, after) {
        (Value::Object(b), Value::Object(a)) => {
            let Ok(d) = orig.cast::<PyDict>() else {
                return from_json(py, after);
            };
            let dict = PyDict::new(py);
            for (k, v) in d.iter() {
                let key = k.cast::<PyString>()?.to_str()?;
                let item = match (b.get(key), a.get(key)) {
                    (Some(b), Some(a)) => keep_unchanged(py, &v, b, a)?,
                    _ => v,
                };
                dict.set_item(k, item)?;
            }
            Ok(dict.into_any())
        }
        (Value::Array(b), Value::Array(a)) if b.len() == a.len() => {
            let items = orig
                .try_iter()?
                .zip(b.iter().zip(a))
                .map(|(v, (b, a))| keep_unchanged(py, &v?, b, a))
                .collect::<PyResult<Vec<_>>>()?;
            if orig.is_instance_of::<PyTuple>() {
                Ok(PyTuple::new(py, items)?.into_any())
            } else {
                Ok(PyList::new(py, items)?.into_any())
            }
        }
        _ if before == after => Ok(orig.clone()),
        _ => from_json(py, after),
    }
}

fn from_json<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.into_pyobject(py)?.into_any(),
            (None, Some(u), _) => u.into_pyobject(py)?.into_any(),
            (None, None, Some(f)) => f.into_pyobject(py)?.into_any(),
            _ => py.None().into_bound(py),
        },
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(from_json(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, item) in map {
                dict.set_item(k, from_json(py, item)?)?;
            }
            dict.into_any()
        }
    })
}

/// Runs the `phisafe` command line on `argv` (the program name first) and
/// returns its exit code: the body of the `phisafe` console script, so
/// Python users get the same CLI as the binary. The interpreter is
/// released while it runs.
#[pyfunction]
fn cli_main(py: Python<'_>, argv: Vec<std::ffi::OsString>) -> u8 {
    py.detach(|| phisafe_cli::run(argv)).code()
}

/// The native module; the `phisafe` package re-exports it.
#[pymodule]
mod _native {
    #[pymodule_export]
    use super::cipher::{
        AuditError, DecryptError, KeyManagementError, PolicyDenied,
        PyFieldCipher, audit_checkpoint, generate_key, verify_audit,
    };
    #[pymodule_export]
    use super::classify::PyClassifier;
    #[pymodule_export]
    use super::dump::PyDumpReader;
    #[pymodule_export]
    use super::{
        InputError, PatternError, PhisafeError, PyFinding, PyScanner, cli_main,
    };
}

#[cfg(test)]
mod tests {
    use super::{to_bytes, to_chars};

    #[test]
    fn string_indices_become_byte_offsets() {
        let text = "é 中 😀 x";
        let got = to_bytes(text, &[7, 0, 3, 2, 4, 5]).unwrap();
        assert_eq!(got, [13, 0, 6, 3, 7, 11]);
        assert_eq!(to_bytes(text, &[8]), None);
        assert_eq!(to_bytes("abc", &[3, 1]), Some(vec![3, 1]));
        assert_eq!(to_bytes("abc", &[4]), None);
    }

    #[test]
    fn byte_offsets_become_string_indices() {
        let text = "é 中 😀 x".as_bytes();
        let mut offs = [0, 2, 3, 6, 7, 11, 12, 13];
        to_chars(text, &mut offs);
        assert_eq!(offs, [0, 1, 2, 3, 4, 5, 6, 7]);
    }
}
