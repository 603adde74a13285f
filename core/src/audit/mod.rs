//! A tamper-evident audit trail of every access to encrypted fields.
//!
//! Each [`AuditRecord`] carries a sequence number, the previous record's
//! MAC and its own MAC: HMAC-SHA256, under a key from the keyring, over a
//! length-prefixed encoding of all its fields and that previous MAC. So
//! editing, deleting, inserting or reordering records breaks the chain at
//! the first record touched, and [`verify`] names it. Cutting records off
//! the end leaves a shorter valid chain: compare the reported head with
//! one kept elsewhere to catch that.
//!
//! Records hold who, why, what, where and the outcome; never plaintext,
//! never key material. Row references are the caller's row keys: keep
//! PHI out of them.

mod jsonl;

use std::fmt;
use std::io::BufRead;
use std::sync::Mutex;
use std::time::SystemTime;

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub use jsonl::{Durability, JsonlSink};

use crate::crypto::DataKey;
use crate::crypto::KeyError;

/// What was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuditAction {
    /// Values sealed.
    Encrypt,
    /// Values opened.
    Decrypt,
    /// Blind index computed for a lookup.
    Search,
    /// Values moved to the active key version.
    Reencrypt,
    /// A data key version created.
    KeyCreate,
    /// A new data key version made active.
    KeyRotate,
    /// Data keys rewrapped under a new master key.
    KeyRewrap,
    /// A data key version destroyed.
    KeyDestroy,
}

impl AuditAction {
    /// Lower-case name, as written.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Encrypt => "encrypt",
            AuditAction::Decrypt => "decrypt",
            AuditAction::Search => "search",
            AuditAction::Reencrypt => "reencrypt",
            AuditAction::KeyCreate => "key_create",
            AuditAction::KeyRotate => "key_rotate",
            AuditAction::KeyRewrap => "key_rewrap",
            AuditAction::KeyDestroy => "key_destroy",
        }
    }
}

/// How it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Done.
    Ok,
    /// Refused by policy.
    Denied,
    /// Attempted and failed (see the record's `error`).
    Failed,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Denied => "denied",
            Outcome::Failed => "failed",
        }
    }
}

/// The rows a call touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rows<'a> {
    /// Not about rows (key management).
    None,
    /// One row reference.
    One(&'a str),
    /// A batch: how many, and the SHA-256 of their length-prefixed row
    /// references, so a batch record stays small yet checkable.
    Batch {
        /// Number of values.
        count: u64,
        /// Digest of the row references.
        digest: [u8; 32],
    },
}

impl Rows<'_> {
    /// The batch form of some row references.
    pub fn batch<'r>(
        rows: impl IntoIterator<Item = &'r str>,
    ) -> Rows<'static> {
        let mut h = Sha256::new();
        let mut count = 0u64;
        for r in rows {
            h.update((r.len() as u32).to_be_bytes());
            h.update(r.as_bytes());
            count += 1;
        }
        Rows::Batch { count, digest: h.finalize().into() }
    }
}

/// One event to record, borrowed from the caller: building one costs no
/// allocation. The sink adds the time, the sequence number and the MACs:
/// stamped as it is chained, times follow the chain's order.
#[derive(Debug, Clone, Copy)]
pub struct AuditEvent<'a> {
    /// Who (service or user id).
    pub actor: &'a str,
    /// In which role (what the policy checked).
    pub role: &'a str,
    /// Why (treatment, billing, migration...).
    pub purpose: &'a str,
    /// What.
    pub action: AuditAction,
    /// Canonical scope.
    pub scope: &'a str,
    /// Which rows.
    pub rows: Rows<'a>,
    /// Key version used or changed.
    pub key_version: Option<u32>,
    /// How it ended.
    pub outcome: Outcome,
    /// Short error code when failed or denied (`decrypt`, `malformed`,
    /// `unknown_key`, `key_destroyed`, `policy`...); never data.
    pub error: Option<&'static str>,
    /// The caller's request id, for joining with application logs.
    pub request_id: Option<&'a str>,
}

/// One record of the chain, as stored (one JSON line in [`JsonlSink`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditRecord {
    /// Position in the chain, from 0.
    pub seq: u64,
    /// The chain's id (32 lowercase hex digits, random), the same in every
    /// record of a chain; absent in chains begun before ids existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain: Option<String>,
    /// RFC 3339 UTC time with microseconds.
    pub ts: String,
    /// Who.
    pub actor: String,
    /// Role.
    pub role: String,
    /// Why.
    pub purpose: String,
    /// What (`encrypt`, `decrypt`, `key_rotate`...).
    pub action: String,
    /// Canonical scope.
    pub scope: String,
    /// Row reference of a single-value call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row: Option<String>,
    /// Number of values of a batch call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    /// Hex SHA-256 of a batch call's row references.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows_sha256: Option<String>,
    /// Key version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_version: Option<u32>,
    /// `ok`, `denied` or `failed`.
    pub outcome: String,
    /// Error code when not ok.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Caller's request id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Hex MAC of the previous record (zeros for the first).
    pub prev: String,
    /// Hex MAC of this record.
    pub mac: String,
}

/// A record's fields, borrowed: what is MACed and what is written.
struct Fields<'a> {
    seq: u64,
    chain: Option<&'a str>,
    ts: &'a str,
    actor: &'a str,
    role: &'a str,
    purpose: &'a str,
    action: &'a str,
    scope: &'a str,
    row: Option<&'a str>,
    rows: Option<u64>,
    rows_sha256: Option<&'a str>,
    key_version: Option<u32>,
    outcome: &'a str,
    error: Option<&'a str>,
    request_id: Option<&'a str>,
    prev: &'a str,
    mac: &'a str,
}

impl AuditRecord {
    fn fields(&self) -> Fields<'_> {
        Fields {
            seq: self.seq,
            chain: self.chain.as_deref(),
            ts: &self.ts,
            actor: &self.actor,
            role: &self.role,
            purpose: &self.purpose,
            action: &self.action,
            scope: &self.scope,
            row: self.row.as_deref(),
            rows: self.rows,
            rows_sha256: self.rows_sha256.as_deref(),
            key_version: self.key_version,
            outcome: &self.outcome,
            error: self.error.as_deref(),
            request_id: self.request_id.as_deref(),
            prev: &self.prev,
            mac: &self.mac,
        }
    }
}

/// The HMAC key of an audit chain. Zeroized on drop; never printed.
#[derive(Clone)]
pub struct AuditKey {
    mac: Hmac<Sha256>,
}

impl AuditKey {
    /// A key from a data key of purpose `audit`.
    pub fn new(key: &DataKey) -> AuditKey {
        let mac =
            <Hmac<Sha256> as KeyInit>::new_from_slice(key.expose_secret())
                .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        AuditKey { mac }
    }

    fn mac(&self, r: &Fields<'_>, prev: &[u8; 32]) -> [u8; 32] {
        let mut m = self.mac.clone();
        // Version 2 binds the chain id: a record copied into another
        // chain, or a chain relabelled as another, does not verify.
        match r.chain {
            Some(id) => {
                m.update(b"phisafe-audit-v2");
                m.update(&(id.len() as u32).to_be_bytes());
                m.update(id.as_bytes());
            }
            None => m.update(b"phisafe-audit-v1"),
        }
        m.update(&r.seq.to_be_bytes());
        let mut field = |f: Option<&[u8]>| match f {
            Some(s) => {
                m.update(&(s.len() as u32).to_be_bytes());
                m.update(s);
            }
            None => m.update(&u32::MAX.to_be_bytes()),
        };
        let mut num = itoa_buf();
        let mut num2 = itoa_buf();
        field(Some(r.ts.as_bytes()));
        field(Some(r.actor.as_bytes()));
        field(Some(r.role.as_bytes()));
        field(Some(r.purpose.as_bytes()));
        field(Some(r.action.as_bytes()));
        field(Some(r.scope.as_bytes()));
        field(r.row.map(str::as_bytes));
        field(r.rows.map(|n| decimal(&mut num, n)));
        field(r.rows_sha256.map(str::as_bytes));
        field(r.key_version.map(|n| decimal(&mut num2, u64::from(n))));
        field(Some(r.outcome.as_bytes()));
        field(r.error.map(str::as_bytes));
        field(r.request_id.map(str::as_bytes));
        m.update(prev);
        m.finalize().into_bytes().into()
    }
}

fn itoa_buf() -> [u8; 20] {
    [0; 20]
}

/// `n` in decimal, written into `buf`.
fn decimal(buf: &mut [u8; 20], mut n: u64) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

/// Lowercase hex of a MAC, in constant time, without allocating.
fn hex32(bytes: &[u8; 32]) -> [u8; 64] {
    let mut out = [0u8; 64];
    base16ct::lower::encode(bytes, &mut out).expect("64 bytes hold 32 in hex");
    out
}

fn as_str(hex: &[u8]) -> &str {
    // Only ASCII hex digits are ever written into these buffers.
    std::str::from_utf8(hex).unwrap_or("")
}

impl fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuditKey(..)")
    }
}

/// The writing end of a chain: its id, next sequence number and previous
/// MAC.
#[derive(Debug, Clone)]
pub struct Chain {
    key: AuditKey,
    /// `None` for a chain begun before ids existed (version 1 records).
    id: Option<String>,
    next_seq: u64,
    prev: [u8; 32],
}

impl Chain {
    /// A new chain with a random id.
    pub fn new(key: AuditKey) -> Result<Chain, AuditError> {
        let mut id = [0u8; 16];
        crate::crypto::rng::fill_os(&mut id).map_err(|_| {
            AuditError::Other(
                "the operating system's random source failed".into(),
            )
        })?;
        Chain::with_id(key, &crate::crypto::hex(&id))
    }

    /// A new chain with the id `id` (32 lowercase hex digits): for a chain
    /// whose id was drawn elsewhere, and for tests.
    pub fn with_id(key: AuditKey, id: &str) -> Result<Chain, AuditError> {
        check_id(id)?;
        Ok(Chain { key, id: Some(id.to_string()), next_seq: 0, prev: [0; 32] })
    }

    /// Continues after `last`, after checking its MAC, with its chain id.
    pub fn resume(
        key: AuditKey,
        last: &AuditRecord,
    ) -> Result<Chain, AuditError> {
        let (prev, mac) = decode_macs(last).ok_or(AuditError::WrongKey)?;
        let want = key.mac(&last.fields(), &prev);
        if !bool::from(want.ct_eq(&mac)) {
            return Err(AuditError::WrongKey);
        }
        Ok(Chain {
            key,
            id: last.chain.clone(),
            next_seq: last.seq + 1,
            prev: mac,
        })
    }

    /// Continues from a head kept in a database row: the chain id, the
    /// next sequence number, the hex MAC of the record before it as
    /// records store it (zeros for an empty chain), and the head's tag
    /// ([`Chain::head_tag`]). A head with an id must carry its tag, which
    /// is checked: a head row moved back (to hide records cut off the
    /// end) or given another id does not verify. A head without an id
    /// (a chain begun before ids existed) has no tag.
    pub fn from_head(
        key: AuditKey,
        id: Option<&str>,
        next_seq: u64,
        prev: &str,
        tag: Option<&str>,
    ) -> Result<Chain, AuditError> {
        let altered = || {
            AuditError::Other(
                "the audit chain's head row does not verify: it was altered, or the audit key \
                 is wrong (run `phisafe audit verify`)"
                    .into(),
            )
        };
        let prev = crate::crypto::unhex(prev)
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or_else(altered)?;
        if let Some(id) = id {
            check_id(id)?;
        }
        let chain = Chain { key, id: id.map(str::to_string), next_seq, prev };
        let ok = match (chain.head_tag_bytes(), tag) {
            (None, None) => true,
            (Some(want), Some(tag)) => crate::crypto::unhex(tag)
                .is_some_and(|tag| bool::from(tag.as_slice().ct_eq(&want))),
            _ => false,
        };
        if ok { Ok(chain) } else { Err(altered()) }
    }

    /// The chain's id (`None` for a chain begun before ids existed).
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The next sequence number and the hex MAC of the last sealed record:
    /// what to store as the head after sealing.
    pub fn head(&self) -> (u64, String) {
        (self.next_seq, as_str(&hex32(&self.prev)).to_string())
    }

    /// The tag of the head (hex HMAC of the chain id, next sequence number
    /// and last MAC), stored beside it so that it cannot be changed
    /// unseen; `None` for a chain without an id.
    pub fn head_tag(&self) -> Option<String> {
        self.head_tag_bytes().map(|t| as_str(&hex32(&t)).to_string())
    }

    fn head_tag_bytes(&self) -> Option<[u8; 32]> {
        let id = self.id.as_deref()?;
        let mut m = self.key.mac.clone();
        m.update(b"phisafe-audit-head-v1");
        m.update(&(id.len() as u32).to_be_bytes());
        m.update(id.as_bytes());
        m.update(&self.next_seq.to_be_bytes());
        m.update(&self.prev);
        Some(m.finalize().into_bytes().into())
    }

    /// Seals `e`, which happened at `time`, as the next record and hands
    /// its fields to `out`.
    fn seal_with<T>(
        &mut self,
        e: &AuditEvent<'_>,
        time: SystemTime,
        out: impl FnOnce(&Fields<'_>) -> T,
    ) -> T {
        let ts = humantime::format_rfc3339_micros(time).to_string();
        let (row, rows, digest) = match e.rows {
            Rows::None => (None, None, None),
            Rows::One(r) => (Some(r), None, None),
            Rows::Batch { count, digest } => {
                (None, Some(count), Some(hex32(&digest)))
            }
        };
        let prev_hex = hex32(&self.prev);
        let mut fields = Fields {
            seq: self.next_seq,
            chain: self.id.as_deref(),
            ts: &ts,
            actor: e.actor,
            role: e.role,
            purpose: e.purpose,
            action: e.action.as_str(),
            scope: e.scope,
            row,
            rows,
            rows_sha256: digest.as_ref().map(|d| as_str(d)),
            key_version: e.key_version,
            outcome: e.outcome.as_str(),
            error: e.error,
            request_id: e.request_id,
            prev: as_str(&prev_hex),
            mac: "",
        };
        let mac = self.key.mac(&fields, &self.prev);
        let mac_hex = hex32(&mac);
        fields.mac = as_str(&mac_hex);
        self.prev = mac;
        self.next_seq += 1;
        out(&fields)
    }

    /// Turns an event that happened at `time` into the next record of the
    /// chain.
    pub fn seal(
        &mut self,
        e: &AuditEvent<'_>,
        time: SystemTime,
    ) -> AuditRecord {
        self.seal_with(e, time, |f| AuditRecord {
            seq: f.seq,
            chain: f.chain.map(str::to_string),
            ts: f.ts.to_string(),
            actor: f.actor.to_string(),
            role: f.role.to_string(),
            purpose: f.purpose.to_string(),
            action: f.action.to_string(),
            scope: f.scope.to_string(),
            row: f.row.map(str::to_string),
            rows: f.rows,
            rows_sha256: f.rows_sha256.map(str::to_string),
            key_version: f.key_version,
            outcome: f.outcome.to_string(),
            error: f.error.map(str::to_string),
            request_id: f.request_id.map(str::to_string),
            prev: f.prev.to_string(),
            mac: f.mac.to_string(),
        })
    }

    /// Appends the next record, for an event at `time`, to `buf` as one
    /// JSON line, without building an [`AuditRecord`].
    pub fn seal_json(
        &mut self,
        e: &AuditEvent<'_>,
        time: SystemTime,
        buf: &mut Vec<u8>,
    ) -> Result<(), AuditError> {
        self.seal_with(e, time, |f| write_json(buf, f)).map_err(|e| {
            AuditError::Other(format!("cannot encode an audit record: {e}"))
        })?;
        buf.push(b'\n');
        Ok(())
    }
}

/// Writes `f` as the JSON object [`AuditRecord`] reads. Only strings the
/// caller chose go through JSON escaping; the rest (hex, numbers, codes,
/// timestamps, validated scopes) are ASCII that needs none, and escaping
/// them was most of the cost of a record.
fn write_json(buf: &mut Vec<u8>, f: &Fields<'_>) -> serde_json::Result<()> {
    let mut num = itoa_buf();
    let raw = |buf: &mut Vec<u8>, name: &str, v: &[u8], quoted: bool| {
        buf.extend_from_slice(b",\"");
        buf.extend_from_slice(name.as_bytes());
        buf.extend_from_slice(if quoted { b"\":\"" } else { b"\":" });
        buf.extend_from_slice(v);
        if quoted {
            buf.push(b'"');
        }
    };
    buf.extend_from_slice(b"{\"seq\":");
    buf.extend_from_slice(decimal(&mut num, f.seq));
    if let Some(id) = f.chain {
        raw(buf, "chain", id.as_bytes(), true);
    }
    raw(buf, "ts", f.ts.as_bytes(), true);
    for (name, v) in
        [("actor", f.actor), ("role", f.role), ("purpose", f.purpose)]
    {
        buf.extend_from_slice(b",\"");
        buf.extend_from_slice(name.as_bytes());
        buf.extend_from_slice(b"\":");
        serde_json::to_writer(&mut *buf, v)?;
    }
    raw(buf, "action", f.action.as_bytes(), true);
    buf.extend_from_slice(b",\"scope\":");
    serde_json::to_writer(&mut *buf, f.scope)?;
    if let Some(row) = f.row {
        buf.extend_from_slice(b",\"row\":");
        serde_json::to_writer(&mut *buf, row)?;
    }
    if let Some(n) = f.rows {
        raw(buf, "rows", decimal(&mut num, n), false);
    }
    if let Some(d) = f.rows_sha256 {
        raw(buf, "rows_sha256", d.as_bytes(), true);
    }
    if let Some(v) = f.key_version {
        raw(buf, "key_version", decimal(&mut num, u64::from(v)), false);
    }
    raw(buf, "outcome", f.outcome.as_bytes(), true);
    if let Some(e) = f.error {
        buf.extend_from_slice(b",\"error\":");
        serde_json::to_writer(&mut *buf, e)?;
    }
    if let Some(id) = f.request_id {
        buf.extend_from_slice(b",\"request_id\":");
        serde_json::to_writer(&mut *buf, id)?;
    }
    raw(buf, "prev", f.prev.as_bytes(), true);
    raw(buf, "mac", f.mac.as_bytes(), true);
    buf.push(b'}');
    Ok(())
}

/// A chain id is 32 lowercase hex digits.
fn check_id(id: &str) -> Result<(), AuditError> {
    let ok = id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if ok {
        Ok(())
    } else {
        Err(AuditError::Other(
            "an audit chain id is 32 lowercase hex digits".into(),
        ))
    }
}

fn decode_macs(r: &AuditRecord) -> Option<([u8; 32], [u8; 32])> {
    // `unhex` reads only the lowercase hex the chain writes: a record whose
    // bytes changed does not verify, even where the value is the same.
    let prev = crate::crypto::unhex(&r.prev)?.try_into().ok()?;
    let mac = crate::crypto::unhex(&r.mac)?.try_into().ok()?;
    Some((prev, mac))
}

/// Where audit records go. Implementations keep one chain and append
/// atomically with respect to it, stamping each record with the time it
/// is chained; `append` returns only once the record is as durable as the
/// sink promises, and an error means the caller must not go on (fail
/// closed).
pub trait AuditSink: Send + Sync {
    /// Records one event.
    fn append(&self, event: &AuditEvent<'_>) -> Result<(), AuditError>;

    /// Makes every appended record durable now.
    fn flush(&self) -> Result<(), AuditError> {
        Ok(())
    }
}

/// Keeps the chain in memory: for tests and examples.
#[derive(Debug)]
pub struct MemorySink {
    state: Mutex<(Chain, Vec<AuditRecord>)>,
}

impl MemorySink {
    /// A sink with a random chain key.
    ///
    /// # Panics
    ///
    /// If the operating system's random source fails: a known key would
    /// let anyone forge the chain, so there is no fallback.
    pub fn new() -> MemorySink {
        let key = DataKey::generate()
            .expect("the operating system's random source failed");
        MemorySink::with_key(AuditKey::new(&key))
    }

    /// A sink with a given chain key.
    ///
    /// # Panics
    ///
    /// If the operating system's random source fails (for the chain id).
    pub fn with_key(key: AuditKey) -> MemorySink {
        let chain = Chain::new(key)
            .expect("the operating system's random source failed");
        MemorySink { state: Mutex::new((chain, Vec::new())) }
    }

    /// The records so far.
    pub fn records(&self) -> Vec<AuditRecord> {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).1.clone()
    }
}

impl Default for MemorySink {
    fn default() -> MemorySink {
        MemorySink::new()
    }
}

impl AuditSink for MemorySink {
    fn append(&self, event: &AuditEvent<'_>) -> Result<(), AuditError> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let r = s.0.seal(event, SystemTime::now());
        s.1.push(r);
        Ok(())
    }
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Records that verified, from the start up to the first bad one.
    pub valid: u64,
    /// The chain's id, as its first record gives it (`None` for an empty
    /// chain or one begun before ids existed).
    pub chain: Option<String>,
    /// Sequence number and MAC of the last valid record: keep it elsewhere
    /// to detect records cut off the end later.
    pub head: Option<(u64, String)>,
    /// The first record that breaks the chain, if any.
    pub first_bad: Option<BadRecord>,
}

/// A record that breaks the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRecord {
    /// 1-based line number.
    pub line: u64,
    /// Why.
    pub reason: String,
}

/// Checks a chain record by record, from its first record: for chains
/// not kept as JSONL (database tables).
#[derive(Debug)]
pub struct Verifier<'k> {
    key: &'k AuditKey,
    /// The id of the first record, once read.
    chain: Option<Option<String>>,
    prev: [u8; 32],
    valid: u64,
    head: Option<(u64, String)>,
    expect: Option<&'k Checkpoint>,
}

impl<'k> Verifier<'k> {
    /// Starts at sequence number 0.
    pub fn new(key: &'k AuditKey) -> Verifier<'k> {
        Verifier {
            key,
            chain: None,
            prev: [0; 32],
            valid: 0,
            head: None,
            expect: None,
        }
    }

    /// Also holds the chain to `checkpoint`, taken of it earlier and kept
    /// elsewhere: the record at its sequence number must be the one it saw
    /// ([`push`](Self::push) says so), and the chain must reach it
    /// ([`finish`](Self::finish)). An error if its tag does not verify
    /// under the key.
    pub fn expecting(
        mut self,
        checkpoint: &'k Checkpoint,
    ) -> Result<Verifier<'k>, AuditError> {
        checkpoint.check(self.key)?;
        self.expect = Some(checkpoint);
        Ok(self)
    }

    /// Checks the end of the chain: with a checkpoint, `Err` says that
    /// records it saw were cut off the end (or the chain is empty).
    pub fn finish(&self) -> Result<(), String> {
        let Some(cp) = self.expect else { return Ok(()) };
        let ends = match &self.head {
            Some((seq, _)) if *seq >= cp.seq => return Ok(()),
            Some((seq, _)) => format!("ends at record {seq}"),
            None => "is empty".to_string(),
        };
        Err(format!(
            "the log {ends} but the checkpoint of {} saw record {}: records were cut off the end",
            cp.taken, cp.seq
        ))
    }

    /// Checks the next record. `Err` says why it breaks the chain; every
    /// later record is then unverifiable.
    pub fn push(&mut self, record: &AuditRecord) -> Result<(), String> {
        if record.seq != self.valid {
            return Err(format!(
                "sequence number {} where {} was expected: records were deleted, inserted or reordered",
                record.seq, self.valid
            ));
        }
        let Some((rec_prev, mac)) = decode_macs(record) else {
            return Err("prev or mac is not 64 lowercase hex digits".into());
        };
        if !bool::from(rec_prev.ct_eq(&self.prev)) {
            return Err("prev does not match the previous record's mac".into());
        }
        match &self.chain {
            Some(id) if *id != record.chain => {
                return Err(
                    "chain id differs from the first record's: records of two chains were mixed"
                        .into(),
                );
            }
            None => {
                if let Some(cp) = self.expect
                    && cp.chain.is_some()
                    && cp.chain != record.chain
                {
                    return Err(format!(
                        "this chain is not the one the checkpoint of {} saw: the log was replaced \
                         or begun again",
                        cp.taken
                    ));
                }
            }
            Some(_) => {}
        }
        if !bool::from(self.key.mac(&record.fields(), &self.prev).ct_eq(&mac))
        {
            return Err("mac does not match: the record was altered (or the audit key is wrong)".into());
        }
        if let Some(cp) = self.expect
            && record.seq == cp.seq
            && !bool::from(record.mac.as_bytes().ct_eq(cp.mac.as_bytes()))
        {
            return Err(format!(
                "record {} is not the one the checkpoint of {} saw: the log was rewritten or begun again",
                record.seq, cp.taken
            ));
        }
        self.prev = mac;
        self.valid += 1;
        self.head = Some((record.seq, record.mac.clone()));
        if self.chain.is_none() {
            self.chain = Some(record.chain.clone());
        }
        Ok(())
    }

    /// The chain id of the records verified so far (`None` before the
    /// first, or for a chain begun before ids existed).
    pub fn chain(&self) -> Option<&str> {
        self.chain.as_ref().and_then(|c| c.as_deref())
    }

    /// How many records verified so far.
    pub fn valid(&self) -> u64 {
        self.valid
    }

    /// Sequence number and MAC of the last verified record.
    pub fn head(&self) -> Option<&(u64, String)> {
        self.head.as_ref()
    }
}

/// Checks a JSONL chain from its first record.
///
/// I/O errors are errors; a broken chain is a report with `first_bad`.
/// A chain verifies from its own records alone, so records cut off its
/// end, or a log deleted and begun again, go unseen; a [`Checkpoint`]
/// kept elsewhere catches them ([`verify_with`]).
pub fn verify(
    key: &AuditKey,
    input: impl BufRead,
) -> Result<VerifyReport, AuditError> {
    verify_with(key, input, None)
}

/// [`verify`], and then the chain must still hold the head `expect` saw:
/// the record of its sequence number, with its MAC. A log that ends
/// before it (records cut off) or holds another record there (rewritten
/// or begun again) is reported in `first_bad`. A checkpoint whose tag
/// does not verify under `key` is an error.
pub fn verify_with(
    key: &AuditKey,
    input: impl BufRead,
    expect: Option<&Checkpoint>,
) -> Result<VerifyReport, AuditError> {
    let mut v = Verifier::new(key);
    if let Some(cp) = expect {
        v = v.expecting(cp)?;
    }
    let mut first_bad = None;
    let mut lines = 0;
    for (i, line) in input.split(b'\n').enumerate() {
        let line = line.map_err(AuditError::Io)?;
        lines = i as u64 + 1;
        if line.is_empty() {
            continue;
        }
        let checked = serde_json::from_slice::<AuditRecord>(&line)
            .map_err(|e| format!("not a valid record: {e}"))
            .and_then(|r| v.push(&r));
        if let Err(reason) = checked {
            first_bad = Some(BadRecord { line: i as u64 + 1, reason });
            break;
        }
    }
    if first_bad.is_none()
        && let Err(reason) = v.finish()
    {
        first_bad = Some(BadRecord { line: lines + 1, reason });
    }
    let chain = v.chain().map(str::to_string);
    Ok(VerifyReport { valid: v.valid, chain, head: v.head, first_bad })
}

/// A chain's head written down outside the log, for [`verify_with`]: the
/// last record's sequence number and MAC, when it was taken, and a tag
/// (HMAC under the audit key) so that the checkpoint cannot be altered
/// unseen where it is kept. Keep checkpoints where whoever can write the
/// log cannot (another host, write-once storage, a ticket).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// Format version, 1.
    pub v: u32,
    /// The chain's id, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain: Option<String>,
    /// Sequence number of the head record.
    pub seq: u64,
    /// MAC of the head record, hex.
    pub mac: String,
    /// When the checkpoint was taken (RFC 3339).
    pub taken: String,
    /// HMAC-SHA256 of the fields above under the audit key, hex.
    pub tag: String,
}

impl Checkpoint {
    /// A checkpoint of a verified chain's head, or `None` for a chain
    /// that is empty or broken (a checkpoint vouches for what verified).
    pub fn of(
        key: &AuditKey,
        report: &VerifyReport,
        now: SystemTime,
    ) -> Option<Checkpoint> {
        let (seq, mac) = report.head.clone()?;
        if report.first_bad.is_some() {
            return None;
        }
        let taken = humantime::format_rfc3339_seconds(now).to_string();
        let chain = report.chain.clone();
        let tag = checkpoint_tag(key, chain.as_deref(), seq, &mac, &taken);
        let tag = as_str(&hex32(&tag)).to_string();
        Some(Checkpoint { v: 1, chain, seq, mac, taken, tag })
    }

    /// Reads a checkpoint file (JSON, as [`Checkpoint::save`] writes it).
    /// Its tag is checked when it is used ([`verify_with`]).
    pub fn load(path: &std::path::Path) -> Result<Checkpoint, AuditError> {
        load_json(path)
    }

    /// Writes the checkpoint to `path` as JSON, atomically (a crash leaves
    /// the old file or the new one).
    pub fn save(&self, path: &std::path::Path) -> Result<(), AuditError> {
        save_json(self, path)
    }

    /// Whether the tag verifies under `key`.
    pub fn check(&self, key: &AuditKey) -> Result<(), AuditError> {
        let want = checkpoint_tag(
            key,
            self.chain.as_deref(),
            self.seq,
            &self.mac,
            &self.taken,
        );
        let ok = self.v == 1
            && crate::crypto::unhex(&self.tag)
                .is_some_and(|tag| bool::from(tag.as_slice().ct_eq(&want)));
        if ok {
            Ok(())
        } else {
            Err(AuditError::Other(
                "the checkpoint does not verify under this audit key: it was altered, or \
                 belongs to another keyring"
                    .into(),
            ))
        }
    }
}

/// Checkpoints of several chains by chain id, kept in one file: a
/// database's audit tables hold a chain per concurrent writer (see
/// `phisafe-sqlx`), each checked against its own.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoints {
    /// Format version, 1.
    pub v: u32,
    /// Each chain's checkpoint.
    pub chains: std::collections::BTreeMap<i64, Checkpoint>,
}

impl Checkpoints {
    /// Reads a file that [`Checkpoints::save`] wrote. Tags are checked
    /// when the checkpoints are used.
    pub fn load(path: &std::path::Path) -> Result<Checkpoints, AuditError> {
        load_json(path)
    }

    /// Writes the checkpoints to `path` as JSON, atomically.
    pub fn save(&self, path: &std::path::Path) -> Result<(), AuditError> {
        save_json(self, path)
    }
}

fn load_json<T: serde::de::DeserializeOwned>(
    path: &std::path::Path,
) -> Result<T, AuditError> {
    let text = std::fs::read(path).map_err(AuditError::Io)?;
    serde_json::from_slice(&text).map_err(|_| {
        AuditError::Other(format!(
            "{} is not a phisafe audit checkpoint file",
            path.display()
        ))
    })
}

fn save_json<T: Serialize>(
    value: &T,
    path: &std::path::Path,
) -> Result<(), AuditError> {
    let mut json = serde_json::to_vec_pretty(value)
        .map_err(|e| AuditError::Other(e.to_string()))?;
    json.push(b'\n');
    crate::crypto::keys::replace_file(path, ".phisafe-checkpoint", &json)
        .map_err(|(_, e)| AuditError::Io(e))
}

fn checkpoint_tag(
    key: &AuditKey,
    chain: Option<&str>,
    seq: u64,
    mac: &str,
    taken: &str,
) -> [u8; 32] {
    let mut m = key.mac.clone();
    match chain {
        Some(id) => {
            m.update(b"phisafe-audit-checkpoint-v2");
            m.update(&(id.len() as u32).to_be_bytes());
            m.update(id.as_bytes());
        }
        None => m.update(b"phisafe-audit-checkpoint-v1"),
    }
    m.update(&seq.to_be_bytes());
    for field in [mac.as_bytes(), taken.as_bytes()] {
        m.update(&(field.len() as u32).to_be_bytes());
        m.update(field);
    }
    m.finalize().into_bytes().into()
}

/// An audit failure. The operation that needed the record did not happen.
#[derive(Debug)]
#[non_exhaustive]
pub enum AuditError {
    /// Writing or syncing the log failed.
    Io(std::io::Error),
    /// An earlier write failed; the sink refuses everything after it so
    /// the chain never has a hole.
    Poisoned,
    /// The existing log's last record does not verify under this key.
    WrongKey,
    /// Another process holds the log.
    InUse(std::path::PathBuf),
    /// The audit key could not be loaded.
    Key(KeyError),
    /// The sink was opened before this process forked; its writer
    /// belongs to the parent.
    Forked,
    /// The sink is not usable (implementation-specific).
    Other(String),
}

impl fmt::Display for AuditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuditError::Io(e) => write!(f, "cannot write the audit log: {e}"),
            AuditError::Poisoned => f.write_str(
                "an earlier audit write failed; reopen the audit sink after fixing the cause",
            ),
            AuditError::WrongKey => f.write_str(
                "the audit log's last record does not verify with this audit key: wrong keyring, \
                 or the log was altered (run `phisafe audit verify`)",
            ),
            AuditError::InUse(p) => write!(
                f,
                "audit log {} is held by another process; give each process its own log file",
                p.display()
            ),
            AuditError::Key(e) => write!(f, "audit key: {e}"),
            AuditError::Forked => f.write_str(
                "the audit sink was opened before this process forked and cannot be used in the \
                 child; open it (and the FieldCipher) in each worker after the fork, for example \
                 in gunicorn's post_fork hook or the app's startup (lifespan) handler",
            ),
            AuditError::Other(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for AuditError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AuditError::Io(e) => Some(e),
            AuditError::Key(e) => Some(e),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
