//! `phisafe.FieldCipher`: envelope encryption from Python.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use phisafe::audit::{AuditSink, Durability, JsonlSink};
use phisafe::crypto::{
    Context, CryptoError, FieldCipher, FileKeyStore, IndexSpec, KeyAdmin,
    KeyProvider, KeyStore, LocalKek, Normalizer, Policy, Scope, audit_key,
    to_text,
};
use phisafe_sqlx::{SqlAuditSink, SqlKeyStore};
use pyo3::create_exception;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};

use super::{InputError, PatternError, PhisafeError};

create_exception!(
    phisafe,
    DecryptError,
    PhisafeError,
    "A value could not be decrypted: wrong key, scope or row, altered, \
     malformed, or its key version destroyed."
);
create_exception!(
    phisafe,
    PolicyDenied,
    PhisafeError,
    "The access policy refused the call."
);
create_exception!(
    phisafe,
    KeyManagementError,
    PhisafeError,
    "The master key, keyring or key store failed."
);
create_exception!(
    phisafe,
    AuditError,
    PhisafeError,
    "The audit record could not be written, so the call did not happen."
);

pub(crate) fn crypto_error(e: CryptoError) -> PyErr {
    let msg = e.to_string();
    match e {
        CryptoError::Decrypt
        | CryptoError::Malformed(_)
        | CryptoError::UnknownKey { .. }
        | CryptoError::KeyDestroyed { .. } => DecryptError::new_err(msg),
        CryptoError::Denied(_) => PolicyDenied::new_err(msg),
        CryptoError::Audit(_) => AuditError::new_err(msg),
        CryptoError::Key(_) | CryptoError::Random => {
            KeyManagementError::new_err(msg)
        }
        _ => InputError::new_err(msg),
    }
}

/// `file:PATH`, `file://PATH` or `env://VAR`.
fn provider(spec: &str) -> PyResult<Arc<dyn KeyProvider>> {
    let key_err = |e: phisafe::crypto::KeyError| {
        KeyManagementError::new_err(e.to_string())
    };
    if let Some(var) = spec.strip_prefix("env://") {
        return Ok(Arc::new(LocalKek::from_env(var).map_err(key_err)?));
    }
    if let Some(params) = spec.strip_prefix("pkcs11:") {
        return pkcs11(params).map_err(key_err);
    }
    let path = spec
        .strip_prefix("file://")
        .or_else(|| spec.strip_prefix("file:"))
        .unwrap_or(spec);
    Ok(Arc::new(
        LocalKek::from_file(std::path::Path::new(path)).map_err(key_err)?,
    ))
}

/// A master key in an HSM: `module=PATH;token=LABEL;key=LABEL`, the PIN
/// from `PHISAFE_PKCS11_PIN` (never in the spec: specs end up in config
/// files and logs).
fn pkcs11(
    params: &str,
) -> Result<Arc<dyn KeyProvider>, phisafe::crypto::KeyError> {
    let bad = |reason: &str| phisafe::crypto::KeyError::BadKey {
        source: "pkcs11: key spec".into(),
        reason: reason.into(),
    };
    let (mut module, mut token, mut key) = (None, None, None);
    for part in params.split(';').filter(|p| !p.is_empty()) {
        match part.split_once('=') {
            Some(("module", v)) => module = Some(v),
            Some(("token", v)) => token = Some(v),
            Some(("key", v)) => key = Some(v),
            _ => {
                return Err(bad(
                    "expected pkcs11:module=PATH;token=LABEL;key=LABEL",
                ));
            }
        }
    }
    let (Some(module), Some(token), Some(key)) = (module, token, key) else {
        return Err(bad("module, token and key are all needed"));
    };
    let pin =
        zeroize::Zeroizing::new(std::env::var("PHISAFE_PKCS11_PIN").map_err(
            |_| bad("set PHISAFE_PKCS11_PIN to the token's user PIN"),
        )?);
    Ok(Arc::new(phisafe::crypto::Pkcs11Kek::open(
        std::path::Path::new(module),
        token,
        &pin,
        key,
    )?))
}

/// A `postgres://`, `postgresql://` or `sqlite:` URL, as opposed to a
/// file path.
fn database_url(p: &std::path::Path) -> Option<&str> {
    let s = p.to_str()?;
    ["postgres://", "postgresql://", "sqlite:"]
        .iter()
        .any(|scheme| s.starts_with(scheme))
        .then_some(s)
}

/// Migrates phisafe's tables in `url` once per URL per process.
fn migrate_once(url: &str) -> PyResult<()> {
    static DONE: std::sync::Mutex<Vec<String>> =
        std::sync::Mutex::new(Vec::new());
    let mut done = DONE.lock().unwrap_or_else(|p| p.into_inner());
    if !done.iter().any(|u| u == url) {
        phisafe_sqlx::migrate_blocking(url)
            .map_err(|e| KeyManagementError::new_err(e.to_string()))?;
        done.push(url.to_string());
    }
    Ok(())
}

/// Bytes of a `str` (UTF-8) or `bytes` value.
fn value_bytes(obj: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(s.to_str()?.as_bytes().to_vec());
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    Err(InputError::new_err("values must be str or bytes"))
}

/// Who asks, why, and for which field: the keyword arguments every call
/// takes.
struct Who {
    scope: Scope,
    actor: String,
    role: String,
    purpose: String,
    request_id: Option<String>,
}

impl Who {
    fn new(
        scope: &str,
        tenant: Option<&str>,
        actor: &str,
        role: &str,
        purpose: &str,
        request_id: Option<&str>,
    ) -> PyResult<Who> {
        // The audit record says who and why; an empty answer says nothing.
        if actor.trim().is_empty() || purpose.trim().is_empty() {
            return Err(InputError::new_err(
                "actor and purpose must not be empty: the audit record names who asked and why",
            ));
        }
        let scope = match tenant {
            Some(t) => Scope::with_tenant(scope, t),
            None => Scope::new(scope),
        }
        .map_err(crypto_error)?;
        Ok(Who {
            scope,
            actor: actor.to_string(),
            role: role.to_string(),
            purpose: purpose.to_string(),
            request_id: request_id.map(str::to_string),
        })
    }

    fn ctx<'a>(&'a self, row: &'a str) -> Context<'a> {
        let c = Context::new(&self.scope, row)
            .actor(&self.actor)
            .role(&self.role)
            .purpose(&self.purpose);
        match &self.request_id {
            Some(id) => c.request_id(id),
            None => c,
        }
    }
}

/// Envelope encryption of fields, the replacement for SQL
/// `encrypt_phi()` / `decrypt_phi()`: per-scope data keys wrapped by a
/// master key, every call checked against the policy and written to the
/// audit log first. Ciphertexts are interchangeable with the Rust API and
/// the `phisafe` CLI.
#[pyclass(frozen, module = "phisafe", name = "FieldCipher")]
pub struct PyFieldCipher {
    cipher: FieldCipher,
    /// Key management, under the same policy and audit log.
    admin: KeyAdmin,
}

impl std::fmt::Debug for PyFieldCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.cipher.fmt(f)
    }
}

#[pymethods]
impl PyFieldCipher {
    /// `key`: `file:PATH` (a key file from `phisafe keys init`),
    /// `env://VAR`, or `pkcs11:module=PATH;token=LABEL;key=LABEL` for a
    /// master key in an HSM (PIN from `PHISAFE_PKCS11_PIN`). `keyring`: the keyring file, or a database URL
    /// (`postgres://...`, `sqlite:...`) to keep it in phisafe's tables
    /// there. `audit`: this process's audit log (JSONL; one writer per
    /// file), or a database URL for the shared audit table (records are
    /// committed before each call returns). phisafe's tables are created
    /// in a database on first use. `policy`: a TOML policy file; without
    /// one every call is denied, unless `allow_all=True` allows every call
    /// (key rotation included) to whoever holds this object.
    /// `{pid}` in a JSONL audit path becomes the process id, so that each
    /// worker of a multi-process server (`uvicorn --workers N`, gunicorn)
    /// writes its own chain: `audit="audit-{pid}.jsonl"`.
    /// `sync_every_record`: fsync each JSONL audit record instead of group
    /// commit.
    #[new]
    #[pyo3(signature = (key, keyring, audit, policy=None, sync_every_record=false, allow_all=false))]
    #[allow(clippy::too_many_arguments, reason = "Python keyword arguments")]
    fn new(
        py: Python<'_>,
        key: &str,
        keyring: PathBuf,
        audit: PathBuf,
        policy: Option<PathBuf>,
        sync_every_record: bool,
        allow_all: bool,
    ) -> PyResult<PyFieldCipher> {
        let provider = provider(key)?;
        let store: Arc<dyn KeyStore> =
            match database_url(&keyring) {
                Some(url) => {
                    migrate_once(url)?;
                    Arc::new(py.detach(|| SqlKeyStore::connect(url)).map_err(
                        |e| KeyManagementError::new_err(e.to_string()),
                    )?)
                }
                None => Arc::new(FileKeyStore::new(keyring)),
            };
        let policy = match policy {
            None if allow_all => Policy::allow_all(),
            None => Policy::deny_all(),
            Some(_) if allow_all => {
                return Err(PatternError::new_err(
                    "give a policy file or allow_all=True, not both",
                ));
            }
            Some(p) => {
                let text = std::fs::read_to_string(&p).map_err(|e| {
                    PatternError::new_err(format!(
                        "cannot read policy {}: {e}",
                        p.display()
                    ))
                })?;
                Policy::from_toml(&text)
                    .map_err(|e| PatternError::new_err(e.to_string()))?
            }
        };
        let key = audit_key(&*provider, &*store)
            .map_err(|e| KeyManagementError::new_err(e.to_string()))?;
        let durability = if sync_every_record {
            Durability::EveryRecord
        } else {
            Durability::default()
        };
        let sink: Arc<dyn AuditSink> = match database_url(&audit) {
            Some(url) => {
                migrate_once(url)?;
                Arc::new(
                    py.detach(|| SqlAuditSink::connect(url, key))
                        .map_err(|e| AuditError::new_err(e.to_string()))?,
                )
            }
            None => {
                let audit = per_process(&audit);
                Arc::new(JsonlSink::open(&audit, key, durability).map_err(
                    |e| {
                        AuditError::new_err(format!(
                            "{e} (a path with {{pid}} gives each worker its own log)"
                        ))
                    },
                )?)
            }
        };
        let builder = || {
            FieldCipher::builder(Arc::clone(&provider), Arc::clone(&store))
                .policy(policy.clone())
        };
        let cipher =
            builder().build(Arc::clone(&sink)).map_err(crypto_error)?;
        let admin = builder().build_admin(sink).map_err(crypto_error)?;
        Ok(PyFieldCipher { cipher, admin })
    }

    /// Encrypts `value` (str or bytes) for one field of one row. Returns
    /// the text form (`psf:...`) or, with `binary=True`, the bytes.
    #[pyo3(signature = (value, *, scope, row, actor, purpose, role="", tenant=None, request_id=None, binary=false))]
    #[allow(clippy::too_many_arguments, reason = "Python keyword arguments")]
    fn encrypt_phi<'py>(
        &self,
        py: Python<'py>,
        value: &Bound<'py, PyAny>,
        scope: &str,
        row: &str,
        actor: &str,
        purpose: &str,
        role: &str,
        tenant: Option<&str>,
        request_id: Option<&str>,
        binary: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let plain = zeroize::Zeroizing::new(value_bytes(value)?);
        let who = Who::new(scope, tenant, actor, role, purpose, request_id)?;
        let sealed = py
            .detach(|| self.cipher.encrypt_phi(&who.ctx(row), &plain))
            .map_err(crypto_error)?;
        Ok(if binary {
            PyBytes::new(py, &sealed).into_any()
        } else {
            PyString::new(py, &to_text(&sealed)).into_any()
        })
    }

    /// Decrypts an envelope (text or binary form). Returns str, or bytes
    /// with `binary=True`.
    #[pyo3(signature = (envelope, *, scope, row, actor, purpose, role="", tenant=None, request_id=None, binary=false))]
    #[allow(clippy::too_many_arguments, reason = "Python keyword arguments")]
    fn decrypt_phi<'py>(
        &self,
        py: Python<'py>,
        envelope: &Bound<'py, PyAny>,
        scope: &str,
        row: &str,
        actor: &str,
        purpose: &str,
        role: &str,
        tenant: Option<&str>,
        request_id: Option<&str>,
        binary: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let sealed = value_bytes(envelope)?;
        let who = Who::new(scope, tenant, actor, role, purpose, request_id)?;
        let plain = py
            .detach(|| self.cipher.decrypt_phi(&who.ctx(row), &sealed))
            .map_err(crypto_error)?;
        plain_object(py, &plain, binary)
    }

    /// Encrypts many `(row, value)` pairs of one scope: one policy check
    /// and one audit record, the GIL released once. Text forms, in order.
    #[pyo3(signature = (items, *, scope, actor, purpose, role="", tenant=None, request_id=None))]
    #[allow(clippy::too_many_arguments, reason = "Python keyword arguments")]
    fn encrypt_many(
        &self,
        py: Python<'_>,
        items: Vec<(String, Bound<'_, PyAny>)>,
        scope: &str,
        actor: &str,
        purpose: &str,
        role: &str,
        tenant: Option<&str>,
        request_id: Option<&str>,
    ) -> PyResult<Vec<String>> {
        let owned: Vec<(String, zeroize::Zeroizing<Vec<u8>>)> = items
            .iter()
            .map(|(r, v)| {
                Ok((r.clone(), zeroize::Zeroizing::new(value_bytes(v)?)))
            })
            .collect::<PyResult<_>>()?;
        let who = Who::new(scope, tenant, actor, role, purpose, request_id)?;
        py.detach(|| {
            let refs: Vec<(&str, &[u8])> = owned
                .iter()
                .map(|(r, v)| (r.as_str(), v.as_slice()))
                .collect();
            self.cipher
                .encrypt_many(&who.ctx(""), &refs)
                .map(|all| all.iter().map(|s| to_text(s)).collect())
        })
        .map_err(crypto_error)
    }

    /// Decrypts many `(row, envelope)` pairs of one scope. Each element of
    /// the result is the plaintext (str) or, for a value that failed, the
    /// `DecryptError` for it: one bad value does not stop the batch.
    #[pyo3(signature = (items, *, scope, actor, purpose, role="", tenant=None, request_id=None))]
    #[allow(clippy::too_many_arguments, reason = "Python keyword arguments")]
    fn decrypt_many<'py>(
        &self,
        py: Python<'py>,
        items: Vec<(String, Bound<'py, PyAny>)>,
        scope: &str,
        actor: &str,
        purpose: &str,
        role: &str,
        tenant: Option<&str>,
        request_id: Option<&str>,
    ) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let owned: Vec<(String, Vec<u8>)> = items
            .iter()
            .map(|(r, v)| Ok((r.clone(), value_bytes(v)?)))
            .collect::<PyResult<_>>()?;
        let who = Who::new(scope, tenant, actor, role, purpose, request_id)?;
        let results = py
            .detach(|| {
                let refs: Vec<(&str, &[u8])> = owned
                    .iter()
                    .map(|(r, v)| (r.as_str(), v.as_slice()))
                    .collect();
                self.cipher.decrypt_many(&who.ctx(""), &refs)
            })
            .map_err(crypto_error)?;
        results
            .into_iter()
            .map(|r| match r {
                Ok(plain) => plain_object(py, &plain, false),
                Err(e) => Ok(crypto_error(e)
                    .into_value(py)
                    .into_bound(py)
                    .into_any()),
            })
            .collect()
    }

    /// The blind index of `value` (hex), for equality search on an
    /// encrypted column. `normalizer`: `exact`, `trim-casefold`, `digits`
    /// or `last4`; `distinct_values` refuses widths that would make nearly
    /// every value unique.
    #[pyo3(signature = (value, *, scope, name, actor, purpose, normalizer="exact", bits=32, distinct_values=None, role="", tenant=None))]
    #[allow(clippy::too_many_arguments, reason = "Python keyword arguments")]
    fn blind_index(
        &self,
        py: Python<'_>,
        value: &str,
        scope: &str,
        name: &str,
        actor: &str,
        purpose: &str,
        normalizer: &str,
        bits: u16,
        distinct_values: Option<u64>,
        role: &str,
        tenant: Option<&str>,
    ) -> PyResult<String> {
        let norm = Normalizer::parse(normalizer).ok_or_else(|| {
            PatternError::new_err(
                "normalizer must be exact, trim-casefold, digits or last4",
            )
        })?;
        let mut spec =
            IndexSpec::new(name, norm, bits).map_err(crypto_error)?;
        if let Some(d) = distinct_values {
            spec = spec.distinct_values(d).map_err(crypto_error)?;
        }
        let who = Who::new(scope, tenant, actor, role, purpose, None)?;
        py.detach(|| self.cipher.blind_index(&who.ctx(""), &spec, value))
            .map(|i| i.to_hex())
            .map_err(crypto_error)
    }

    /// Makes a new data key version active for `scope`; returns it. The
    /// policy must grant `rotate`.
    #[pyo3(signature = (*, scope, actor, purpose="key-rotation", role="", tenant=None))]
    fn rotate(
        &self,
        py: Python<'_>,
        scope: &str,
        actor: &str,
        purpose: &str,
        role: &str,
        tenant: Option<&str>,
    ) -> PyResult<u32> {
        let who = Who::new(scope, tenant, actor, role, purpose, None)?;
        py.detach(|| self.admin.rotate(&who.ctx(""))).map_err(crypto_error)
    }

    /// Moves an envelope to the scope's active key version; None when it
    /// is already there.
    #[pyo3(signature = (envelope, *, scope, row, actor, purpose, role="", tenant=None))]
    #[allow(clippy::too_many_arguments, reason = "Python keyword arguments")]
    fn reencrypt(
        &self,
        py: Python<'_>,
        envelope: &Bound<'_, PyAny>,
        scope: &str,
        row: &str,
        actor: &str,
        purpose: &str,
        role: &str,
        tenant: Option<&str>,
    ) -> PyResult<Option<String>> {
        let mut sealed = value_bytes(envelope)?;
        if sealed.starts_with(phisafe::crypto::TEXT_PREFIX.as_bytes()) {
            let text = String::from_utf8_lossy(&sealed).trim_end().to_string();
            sealed =
                phisafe::crypto::from_text(&text).map_err(crypto_error)?;
        }
        let who = Who::new(scope, tenant, actor, role, purpose, None)?;
        py.detach(|| self.cipher.reencrypt(&who.ctx(row), &sealed))
            .map(|o| o.map(|b| to_text(&b)))
            .map_err(crypto_error)
    }

    /// Writes every buffered audit record to disk now.
    fn flush_audit(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.cipher.flush_audit()).map_err(crypto_error)
    }
}

fn plain_object<'py>(
    py: Python<'py>,
    plain: &[u8],
    binary: bool,
) -> PyResult<Bound<'py, PyAny>> {
    if binary {
        return Ok(PyBytes::new(py, plain).into_any());
    }
    match std::str::from_utf8(plain) {
        Ok(s) => Ok(PyString::new(py, s).into_any()),
        Err(_) => Err(InputError::new_err(
            "the plaintext is not UTF-8; pass binary=True",
        )),
    }
}

/// `path` with every `{pid}` replaced by this process's id: one audit
/// chain per worker process, since a JSONL log has one writer.
fn per_process(path: &Path) -> PathBuf {
    match path.to_str() {
        Some(s) if s.contains("{pid}") => {
            PathBuf::from(s.replace("{pid}", &std::process::id().to_string()))
        }
        _ => path.to_path_buf(),
    }
}

/// Creates a master key file (32 random bytes, mode 0600) at `path` and
/// returns its key id; use it as `FieldCipher(key="file:PATH", ...)`.
/// Refuses to overwrite a file: losing a master key loses every value
/// encrypted under it, so back it up.
#[pyfunction]
pub(crate) fn generate_key(path: PathBuf) -> PyResult<String> {
    LocalKek::create_file(&path)
        .map(|k| k.kek_id().to_string())
        .map_err(|e| KeyManagementError::new_err(e.to_string()))
}

/// Checks a JSONL audit log's MAC chain from its first record, with the
/// audit key from `keyring` under master key `key` (as for
/// `FieldCipher`). Returns `{"intact", "records", "head_seq",
/// "head_mac", "first_bad_line", "reason"}`; keep the head elsewhere to
/// detect records later cut off the end.
///
/// With `checkpoint` (a file from `audit_checkpoint`), the log must still
/// hold the head it saw: records cut off the end, or a log begun again,
/// are reported as the first bad line.
#[pyfunction]
#[pyo3(signature = (path, key, keyring, checkpoint=None))]
pub(crate) fn verify_audit<'py>(
    py: Python<'py>,
    path: PathBuf,
    key: &str,
    keyring: PathBuf,
    checkpoint: Option<PathBuf>,
) -> PyResult<Bound<'py, PyDict>> {
    let audit_key = audit_key_of(key, keyring)?;
    let expect = checkpoint.map(|p| read_checkpoint(&p)).transpose()?;
    let file = open_audit(&path)?;
    let report = py
        .detach(|| {
            phisafe::audit::verify_with(
                &audit_key,
                std::io::BufReader::new(file),
                expect.as_ref(),
            )
        })
        .map_err(|e| AuditError::new_err(e.to_string()))?;
    let out = PyDict::new(py);
    out.set_item("intact", report.first_bad.is_none())?;
    out.set_item("records", report.valid)?;
    out.set_item("head_seq", report.head.as_ref().map(|h| h.0))?;
    out.set_item("head_mac", report.head.as_ref().map(|h| h.1.clone()))?;
    out.set_item("first_bad_line", report.first_bad.as_ref().map(|b| b.line))?;
    out.set_item(
        "reason",
        report.first_bad.as_ref().map(|b| b.reason.clone()),
    )?;
    Ok(out)
}

/// Verifies the JSONL audit log at `path` and writes a checkpoint of its
/// head to `output` (JSON, tagged under the audit key), for
/// `verify_audit(..., checkpoint=output)`. Keep it where whoever can
/// write the log cannot. Returns the head's sequence number.
#[pyfunction]
pub(crate) fn audit_checkpoint(
    py: Python<'_>,
    path: PathBuf,
    key: &str,
    keyring: PathBuf,
    output: PathBuf,
) -> PyResult<u64> {
    let audit_key = audit_key_of(key, keyring)?;
    let file = open_audit(&path)?;
    let report = py
        .detach(|| {
            phisafe::audit::verify(&audit_key, std::io::BufReader::new(file))
        })
        .map_err(|e| AuditError::new_err(e.to_string()))?;
    let cp = phisafe::audit::Checkpoint::of(
        &audit_key,
        &report,
        std::time::SystemTime::now(),
    )
    .ok_or_else(|| {
        AuditError::new_err(format!(
            "{} is empty or its chain is broken: no checkpoint written",
            path.display()
        ))
    })?;
    cp.save(&output).map_err(|e| {
        AuditError::new_err(format!("cannot write {}: {e}", output.display()))
    })?;
    Ok(cp.seq)
}

fn audit_key_of(
    key: &str,
    keyring: PathBuf,
) -> PyResult<phisafe::audit::AuditKey> {
    let provider = provider(key)?;
    let store = FileKeyStore::new(keyring);
    audit_key(&*provider, &store)
        .map_err(|e| KeyManagementError::new_err(e.to_string()))
}

fn open_audit(path: &Path) -> PyResult<std::fs::File> {
    std::fs::File::open(path).map_err(|e| {
        AuditError::new_err(format!("cannot open {}: {e}", path.display()))
    })
}

fn read_checkpoint(path: &Path) -> PyResult<phisafe::audit::Checkpoint> {
    phisafe::audit::Checkpoint::load(path).map_err(|e| {
        AuditError::new_err(format!(
            "cannot read checkpoint {}: {e}",
            path.display()
        ))
    })
}
