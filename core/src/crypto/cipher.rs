//! [`FieldCipher`]: policy, keys, envelope and audit put together.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak};
use std::time::{Duration, SystemTime};

use hmac::{Hmac, KeyInit};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::format::{
    self, Aad, Envelope, HEADER_LEN, MAX_PLAINTEXT, OVERHEAD,
};
use super::hot::{self, Sealer, Stamp, Want};
use super::store::{
    KeyPurpose, KeyRecord, KeyState, KeyStore, Keyring, wrap_aad,
};
use super::xaes::{NONCE_LEN, PrefixKey, Xaes, split_nonce};
use super::{
    Action, BlindIndex, CryptoError, DataKey, IndexSpec, KeyError,
    KeyProvider, MAX_ROW_REF, Policy, Scope, rng,
};
use crate::audit::{
    AuditAction, AuditEvent, AuditKey, AuditSink, Outcome, Rows,
};

/// Scope of the audit chain key in the keyring.
const AUDIT_SCOPE: &str = "phisafe.audit";

/// Counts the keyring changes made by [`KeyAdmin`]s of this process. A
/// cached keyring view read before the latest change is stale at once, so
/// a rotation or destruction reaches every cipher of the process on its
/// next call instead of after its refresh interval.
static CHANGES: AtomicU64 = AtomicU64::new(0);

/// The change count, read before a keyring is loaded: a change that lands
/// during the load leaves the view stale, never falsely current.
fn changes() -> u64 {
    CHANGES.load(Ordering::Acquire)
}

/// Every live cipher cache of the process, so that a destroyed key leaves
/// the memory of all of them at once, not at each one's next call.
static CIPHERS: Mutex<Vec<Weak<Inner>>> = Mutex::new(Vec::new());

/// Drops the encryption keys `versions` of `scope`, and its index key if
/// `index`, unwrapped and derived, from every cipher and thread of the
/// process (they are zeroized). A cipher of another keyring with the same
/// scope and version only unwraps its key again.
fn forget_keys(scope: &str, versions: &[u32], index: bool) {
    let live: Vec<Arc<Inner>> = CIPHERS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .filter_map(Weak::upgrade)
        .collect();
    for inner in &live {
        let mut cache = inner.write();
        if let Some(keys) = cache.scopes.get_mut(scope) {
            for v in versions {
                keys.enc.remove(v);
            }
            if index {
                keys.index = None;
            }
        }
        cache.generation = hot::unique();
        inner.generation.store(cache.generation, Ordering::Release);
    }
    hot::purge(hot::Purge::Versions(scope, versions));
}

/// Who is asking, why, and for which field of which row.
///
/// Cheap to copy; build one per request and change the row with
/// [`Context::with_row`].
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    scope: &'a Scope,
    row: &'a str,
    actor: &'a str,
    role: &'a str,
    purpose: &'a str,
    request_id: Option<&'a str>,
}

impl<'a> Context<'a> {
    /// A context for `row` (the caller's row key, not PHI) of `scope`.
    pub fn new(scope: &'a Scope, row: &'a str) -> Context<'a> {
        Context {
            scope,
            row,
            actor: "",
            role: "",
            purpose: "",
            request_id: None,
        }
    }

    /// Who: a user or service id, for the audit trail.
    pub fn actor(mut self, actor: &'a str) -> Context<'a> {
        self.actor = actor;
        self
    }

    /// The role the policy checks.
    pub fn role(mut self, role: &'a str) -> Context<'a> {
        self.role = role;
        self
    }

    /// Why (treatment, billing, migration...): checked by the policy.
    pub fn purpose(mut self, purpose: &'a str) -> Context<'a> {
        self.purpose = purpose;
        self
    }

    /// The caller's request id, copied into audit records.
    pub fn request_id(mut self, id: &'a str) -> Context<'a> {
        self.request_id = Some(id);
        self
    }

    /// The same context for another row.
    pub fn with_row(mut self, row: &'a str) -> Context<'a> {
        self.row = row;
        self
    }

    /// The scope.
    pub fn scope(&self) -> &Scope {
        self.scope
    }

    /// The row reference.
    pub fn row(&self) -> &str {
        self.row
    }
}

/// Builds a [`FieldCipher`].
pub struct FieldCipherBuilder {
    provider: Arc<dyn KeyProvider>,
    store: Arc<dyn KeyStore>,
    policy: Policy,
    refresh: Duration,
}

impl FieldCipherBuilder {
    /// The access policy. Without one, everything is denied.
    pub fn policy(mut self, policy: Policy) -> FieldCipherBuilder {
        self.policy = policy;
        self
    }

    /// How long the cached view of the keyring is trusted before it is
    /// read again, so rotations and destructions made by other processes
    /// take effect (default 60 s).
    pub fn refresh_interval(mut self, every: Duration) -> FieldCipherBuilder {
        self.refresh = every;
        self
    }

    /// Builds the cipher, recording into `audit` (a
    /// [`JsonlSink`](crate::audit::JsonlSink), or a
    /// [`MemorySink`](crate::audit::MemorySink) in tests), and reads the
    /// keyring once. The sink is fixed for the cipher's life: no call can
    /// divert its records, and a cipher without one does not compile:
    ///
    /// ```compile_fail
    /// use std::sync::Arc;
    /// use phisafe::crypto::{FieldCipher, LocalKek, MemoryKeyStore};
    ///
    /// let kek = Arc::new(LocalKek::from_bytes([7; 32]));
    /// let _ = FieldCipher::builder(kek, Arc::new(MemoryKeyStore::new())).build();
    /// ```
    pub fn build(
        self,
        audit: Arc<dyn AuditSink>,
    ) -> Result<FieldCipher, CryptoError> {
        let epoch = changes();
        let ring = self.store.load()?;
        let cache = Cache::new(ring, epoch);
        let inner = Arc::new(Inner {
            provider: self.provider,
            store: self.store,
            policy: self.policy,
            refresh: self.refresh.into(),
            generation: AtomicU64::new(cache.generation),
            id: hot::unique(),
            cache: RwLock::new(cache),
        });
        let mut ciphers = CIPHERS.lock().unwrap_or_else(|p| p.into_inner());
        ciphers.retain(|c| c.strong_count() > 0);
        ciphers.push(Arc::downgrade(&inner));
        drop(ciphers);
        Ok(FieldCipher { inner, audit })
    }

    /// Builds the key-management handle: rotation, destruction and master
    /// key rewrapping, each checked against the policy's key-management
    /// actions and recorded in `audit`, allowed or denied.
    pub fn build_admin(
        self,
        audit: Arc<dyn AuditSink>,
    ) -> Result<KeyAdmin, CryptoError> {
        Ok(KeyAdmin { cipher: self.build(audit)? })
    }
}

impl fmt::Debug for FieldCipherBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FieldCipherBuilder")
            .field("kek_id", &self.provider.kek_id())
            .finish_non_exhaustive()
    }
}

/// Encrypts, decrypts and indexes PHI fields: the replacement for SQL
/// `encrypt_phi()` / `decrypt_phi()`.
///
/// Every call is checked against the [`Policy`] and recorded in the audit
/// sink; a decryption whose record cannot be written returns an error and
/// no plaintext. Data keys are created on first use for a scope, and
/// cached unwrapped (zeroized when dropped) so the KEK is not asked per
/// value. `Send + Sync` and cheap to clone.
#[derive(Clone)]
pub struct FieldCipher {
    inner: Arc<Inner>,
    audit: Arc<dyn AuditSink>,
}

struct Inner {
    provider: Arc<dyn KeyProvider>,
    store: Arc<dyn KeyStore>,
    policy: Policy,
    /// The refresh interval on the coarse clock.
    refresh: coarsetime::Duration,
    cache: RwLock<Cache>,
    /// The cache's generation, readable without its lock: threads' own
    /// key caches (`hot`) compare against it.
    generation: AtomicU64,
    /// Tells this cache's keys from other ciphers' in threads' caches.
    id: u64,
}

#[cfg(test)]
impl FieldCipher {
    /// The id its keys carry in threads' caches.
    pub(crate) fn cache_id(&self) -> u64 {
        self.inner.id
    }

    /// Unwrapped keys of `scope` in its shared cache: encryption keys,
    /// and whether it holds the index key.
    pub(crate) fn cached_keys(&self, scope: &str) -> (usize, bool) {
        let cache = self.inner.read();
        cache
            .scopes
            .get(scope)
            .map_or((0, false), |k| (k.enc.len(), k.index.is_some()))
    }
}

impl Drop for Inner {
    /// Threads keep this cipher's keys until their next miss on it, which
    /// never comes now: drop them everywhere.
    fn drop(&mut self) {
        hot::purge(hot::Purge::Owner(self.id));
    }
}

impl Inner {
    fn read(&self) -> RwLockReadGuard<'_, Cache> {
        self.cache.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Cache> {
        self.cache.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Installs a newer keyring view in the locked `cache` and retires
    /// every thread's keys from before it.
    fn install(&self, cache: &mut Cache, ring: Keyring, epoch: u64) {
        cache.replace(ring, epoch);
        self.generation.store(cache.generation, Ordering::Release);
    }
}

struct Cache {
    /// When the keyring was read, on the kernel's coarse monotonic clock:
    /// freshness is checked on every call, and a precise clock read is a
    /// tenth of sealing a short value. A tick (1 to 4 ms) is nothing
    /// against a refresh interval.
    loaded: coarsetime::Instant,
    /// Changes with every new keyring view (`hot::unique`).
    generation: u64,
    /// [`CHANGES`] before the keyring was read.
    epoch: u64,
    ring: Keyring,
    /// foldhash rather than SipHash: scope names come from the
    /// application, and the lookup is on every call (5% of sealing a
    /// short value with SipHash).
    scopes: HashMap<String, ScopeKeys, foldhash::fast::RandomState>,
}

#[derive(Default)]
struct ScopeKeys {
    active: Option<u32>,
    enc: HashMap<u32, Arc<Xaes>, foldhash::fast::RandomState>,
    index: Option<Arc<Hmac<Sha256>>>,
}

impl Cache {
    fn new(ring: Keyring, epoch: u64) -> Cache {
        let mut c = Cache {
            loaded: coarse_now(),
            generation: 0,
            epoch,
            ring: Keyring::default(),
            scopes: HashMap::default(),
        };
        c.replace(ring, epoch);
        c
    }

    /// Installs a newer keyring, keeping unwrapped keys that are still
    /// usable and dropping destroyed ones.
    fn replace(&mut self, ring: Keyring, epoch: u64) {
        for keys in self.scopes.values_mut() {
            keys.active = None;
        }
        for r in &ring.keys {
            let keys = self.scopes.entry(r.scope.clone()).or_default();
            match (r.purpose, r.state) {
                (KeyPurpose::Encrypt, KeyState::Destroyed) => {
                    keys.enc.remove(&r.version);
                }
                (KeyPurpose::Encrypt, KeyState::Active) => {
                    keys.active = Some(r.version)
                }
                (KeyPurpose::Index, KeyState::Destroyed) => keys.index = None,
                _ => {}
            }
        }
        self.ring = ring;
        self.loaded = coarse_now();
        self.epoch = epoch;
        self.generation = hot::unique();
    }

    fn stamp(&self) -> Stamp {
        Stamp {
            generation: self.generation,
            loaded: self.loaded,
            epoch: self.epoch,
        }
    }
}

/// The coarse monotonic clock, without `coarsetime`'s process-wide cache
/// update (a shared write on every call).
fn coarse_now() -> coarsetime::Instant {
    coarsetime::Instant::now_without_cache_update()
}

fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

fn unwrap_record(
    provider: &dyn KeyProvider,
    r: &KeyRecord,
) -> Result<DataKey, KeyError> {
    provider.unwrap(&r.kek_id, &r.wrapped, &r.wrap_aad()).or_else(|e| {
        // Entries wrapped before the state was bound open only under the
        // old associated data; key management rewraps them (`rotate`
        // those it retires, `rewrap` those it moves to a new KEK).
        provider
            .unwrap(&r.kek_id, &r.wrapped, &r.legacy_wrap_aad())
            .map_err(|_| e)
    })
}

/// Sets `r`'s state, wrapping its key again (the state is bound into
/// the wrap) with `provider`'s current KEK.
fn set_state(
    provider: &dyn KeyProvider,
    r: &mut KeyRecord,
    state: KeyState,
) -> Result<(), KeyError> {
    let key = unwrap_record(provider, r)?;
    r.state = state;
    r.wrapped = provider.wrap(&key, &r.wrap_aad())?;
    r.kek_id = provider.kek_id().to_string();
    Ok(())
}

fn new_record(
    provider: &dyn KeyProvider,
    scope: &str,
    purpose: KeyPurpose,
    version: u32,
) -> Result<(KeyRecord, DataKey), KeyError> {
    let key = DataKey::generate()?;
    let aad = wrap_aad(scope, purpose, version, KeyState::Active);
    let wrapped = provider.wrap(&key, &aad)?;
    let record = KeyRecord {
        scope: scope.to_string(),
        purpose,
        version,
        state: KeyState::Active,
        kek_id: provider.kek_id().to_string(),
        wrapped,
        created: now_rfc3339(),
    };
    Ok((record, key))
}

/// The active key of `scope` and `purpose`, created if there is none.
/// Returns the record, the unwrapped key and whether it was created now.
fn get_or_create(
    provider: &dyn KeyProvider,
    store: &dyn KeyStore,
    scope: &str,
    purpose: KeyPurpose,
) -> Result<(Keyring, KeyRecord, DataKey, bool), KeyError> {
    let ring = store.load()?;
    if let Some(r) = ring.active(scope, purpose) {
        let key = unwrap_record(provider, r)?;
        let r = r.clone();
        return Ok((ring, r, key, false));
    }
    let mut made: Option<(KeyRecord, DataKey)> = None;
    let ring = store.update(&mut |ring| {
        made = None;
        if ring.active(scope, purpose).is_some() {
            return Ok(()); // another process was first
        }
        let version = ring.next_version(scope, purpose);
        let (record, key) = new_record(provider, scope, purpose, version)?;
        ring.keys.push(record.clone());
        made = Some((record, key));
        Ok(())
    })?;
    match made {
        Some((record, key)) => Ok((ring, record, key, true)),
        None => {
            let r = ring.active(scope, purpose).cloned().ok_or(
                KeyError::NotFound { scope: scope.to_string(), version: 0 },
            )?;
            let key = unwrap_record(provider, &r)?;
            Ok((ring, r, key, false))
        }
    }
}

/// The audit chain key from the keyring, created on first use.
///
/// ```
/// use phisafe::crypto::{audit_key, LocalKek, MemoryKeyStore};
///
/// let (kek, store) = (LocalKek::from_bytes([1; 32]), MemoryKeyStore::new());
/// let key = audit_key(&kek, &store)?;
/// # let _ = key;
/// # Ok::<(), phisafe::crypto::KeyError>(())
/// ```
pub fn audit_key(
    provider: &dyn KeyProvider,
    store: &dyn KeyStore,
) -> Result<AuditKey, KeyError> {
    let (_, _, key, _) =
        get_or_create(provider, store, AUDIT_SCOPE, KeyPurpose::Audit)?;
    Ok(AuditKey::new(&key))
}

/// One call being audited: by whom, doing what. The sink adds when.
#[derive(Clone, Copy)]
struct Op<'a, 'c> {
    ctx: &'c Context<'a>,
    action: AuditAction,
}

enum Failure {
    Denied,
    Code(&'static str),
}

impl FieldCipher {
    /// Starts a builder: the master key provider and the keyring store.
    pub fn builder(
        provider: Arc<dyn KeyProvider>,
        store: Arc<dyn KeyStore>,
    ) -> FieldCipherBuilder {
        FieldCipherBuilder {
            provider,
            store,
            policy: Policy::deny_all(),
            refresh: Duration::from_secs(60),
        }
    }

    fn event<'a>(
        &self,
        op: Op<'a, '_>,
        rows: Rows<'a>,
        key_version: Option<u32>,
        outcome: Outcome,
        error: Option<&'static str>,
    ) -> AuditEvent<'a> {
        let Op { ctx, action } = op;
        AuditEvent {
            actor: ctx.actor,
            role: ctx.role,
            purpose: ctx.purpose,
            action,
            scope: ctx.scope.as_str(),
            rows,
            key_version,
            outcome,
            error,
            request_id: ctx.request_id,
        }
    }

    /// Whether a keyring view loaded at `loaded`, with [`CHANGES`] at
    /// `epoch`, may still be used.
    fn fresh(&self, loaded: coarsetime::Instant, epoch: u64) -> bool {
        epoch == changes()
            && coarse_now().duration_since(loaded) < self.inner.refresh
    }

    fn audit(&self, event: &AuditEvent<'_>) -> Result<(), CryptoError> {
        self.audit.append(event).map_err(CryptoError::Audit)
    }

    /// Records a refused or failed call, then returns its error. If even
    /// that record fails, the audit error wins: it is the one to fix.
    fn fail<'a, T>(
        &self,
        op: Op<'a, '_>,
        rows: Rows<'a>,
        key_version: Option<u32>,
        why: Failure,
        err: CryptoError,
    ) -> Result<T, CryptoError> {
        let (outcome, code) = match why {
            Failure::Denied => (Outcome::Denied, "policy"),
            Failure::Code(c) => (Outcome::Failed, c),
        };
        self.audit(&self.event(op, rows, key_version, outcome, Some(code)))?;
        Err(err)
    }

    /// Checks the policy; a denial is audited (with the rows `rows`
    /// gives, built only then) and returned as the error.
    fn allow<'a>(
        &self,
        op: Op<'a, '_>,
        action: Action,
        rows: impl FnOnce() -> Rows<'a>,
        key_version: Option<u32>,
    ) -> Result<(), CryptoError> {
        match self.check(op.ctx, action) {
            Ok(()) => Ok(()),
            Err(e) => self.fail(
                op,
                rows(),
                key_version,
                Failure::Denied,
                CryptoError::Denied(e),
            ),
        }
    }

    fn check(
        &self,
        ctx: &Context<'_>,
        action: Action,
    ) -> Result<(), super::PolicyError> {
        self.inner.policy.check(
            ctx.role,
            action,
            ctx.scope.as_str(),
            ctx.purpose,
        )
    }

    fn check_row(row: &str) -> Result<(), CryptoError> {
        if row.len() > MAX_ROW_REF {
            return Err(CryptoError::RowTooLong(row.len()));
        }
        Ok(())
    }

    /// A value's row reference: bounded, and not empty, since an empty
    /// one binds the value to no row (it would open anywhere).
    fn check_bound_row(row: &str) -> Result<(), CryptoError> {
        if row.is_empty() {
            return Err(CryptoError::RowMissing);
        }
        Self::check_row(row)
    }

    /// The active encryption key of a scope, creating it on first use.
    fn enc_key(
        &self,
        ctx: &Context<'_>,
    ) -> Result<(Stamp, u32, Arc<Xaes>), CryptoError> {
        let scope = ctx.scope.as_str();
        {
            let cache = self.inner.read();
            if self.fresh(cache.loaded, cache.epoch)
                && let Some(keys) = cache.scopes.get(scope)
                && let Some(v) = keys.active
                && let Some(k) = keys.enc.get(&v)
            {
                return Ok((cache.stamp(), v, Arc::clone(k)));
            }
        }
        let mut cache = self.inner.write();
        let epoch = changes();
        let (ring, record, key, created) = get_or_create(
            &*self.inner.provider,
            &*self.inner.store,
            scope,
            KeyPurpose::Encrypt,
        )?;
        self.inner.install(&mut cache, ring, epoch);
        let xaes = Arc::new(Xaes::new(key.expose_secret()));
        let keys = cache.scopes.entry(scope.to_string()).or_default();
        keys.enc.insert(record.version, Arc::clone(&xaes));
        keys.active = Some(record.version);
        let stamp = cache.stamp();
        drop(cache);
        if created {
            self.audit(&self.event(
                Op { ctx, action: AuditAction::KeyCreate },
                Rows::None,
                Some(record.version),
                Outcome::Ok,
                None,
            ))?;
        }
        Ok((stamp, record.version, xaes))
    }

    /// A key version for decryption, strictly by the version in the header.
    fn dec_key(
        &self,
        scope: &str,
        version: u32,
    ) -> Result<(Stamp, Arc<Xaes>), CryptoError> {
        {
            let cache = self.inner.read();
            if self.fresh(cache.loaded, cache.epoch)
                && let Some(k) =
                    cache.scopes.get(scope).and_then(|s| s.enc.get(&version))
            {
                return Ok((cache.stamp(), Arc::clone(k)));
            }
        }
        let mut cache = self.inner.write();
        // Re-read when stale, or when the version may be newer than our view.
        if !self.fresh(cache.loaded, cache.epoch)
            || cache.ring.get(scope, KeyPurpose::Encrypt, version).is_none()
        {
            let epoch = changes();
            let ring = self.inner.store.load()?;
            self.inner.install(&mut cache, ring, epoch);
        }
        let record = cache
            .ring
            .get(scope, KeyPurpose::Encrypt, version)
            .ok_or_else(|| CryptoError::UnknownKey {
                scope: scope.to_string(),
                version,
            })?;
        if record.state == KeyState::Destroyed {
            return Err(CryptoError::KeyDestroyed {
                scope: scope.to_string(),
                version,
            });
        }
        if let Some(k) =
            cache.scopes.get(scope).and_then(|s| s.enc.get(&version))
        {
            return Ok((cache.stamp(), Arc::clone(k)));
        }
        let key = unwrap_record(&*self.inner.provider, record)?;
        let xaes = Arc::new(Xaes::new(key.expose_secret()));
        cache
            .scopes
            .entry(scope.to_string())
            .or_default()
            .enc
            .insert(version, Arc::clone(&xaes));
        Ok((cache.stamp(), xaes))
    }

    fn index_key(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Arc<Hmac<Sha256>>, CryptoError> {
        let scope = ctx.scope.as_str();
        {
            let cache = self.inner.read();
            // Fresh only: a destroyed index key must stop working here as
            // an encryption key does.
            if self.fresh(cache.loaded, cache.epoch)
                && let Some(k) =
                    cache.scopes.get(scope).and_then(|s| s.index.as_ref())
            {
                return Ok(Arc::clone(k));
            }
        }
        let mut cache = self.inner.write();
        let epoch = changes();
        let (ring, record, key, created) = get_or_create(
            &*self.inner.provider,
            &*self.inner.store,
            scope,
            KeyPurpose::Index,
        )?;
        self.inner.install(&mut cache, ring, epoch);
        let mac =
            <Hmac<Sha256> as KeyInit>::new_from_slice(key.expose_secret())
                .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        let mac = Arc::new(mac);
        cache.scopes.entry(scope.to_string()).or_default().index =
            Some(Arc::clone(&mac));
        drop(cache);
        if created {
            self.audit(&self.event(
                Op { ctx, action: AuditAction::KeyCreate },
                Rows::None,
                Some(record.version),
                Outcome::Ok,
                None,
            ))?;
        }
        Ok(mac)
    }

    /// Whether a thread's key read under `stamp` may still be used.
    fn current(&self, stamp: &Stamp) -> bool {
        stamp.generation == self.inner.generation.load(Ordering::Acquire)
            && self.fresh(stamp.loaded, stamp.epoch)
    }

    /// Seals one value for `row` under the scope's active key, found
    /// through this thread's key cache. Returns the key version too.
    fn seal_hot(
        &self,
        ctx: &Context<'_>,
        row: &str,
        plaintext: &[u8],
        aad: &mut Aad,
    ) -> Result<(u32, Vec<u8>), CryptoError> {
        hot::with_key(
            self.inner.id,
            ctx.scope.as_str(),
            Want::Active,
            |s| self.current(s),
            || self.enc_key(ctx),
            |entry| {
                let version = entry.version();
                // The nonce's last 12 bytes come from the kernel for every
                // value, never from state a VM snapshot could clone.
                let mut rest = [0u8; 12];
                rng::fill_os(&mut rest)?;
                let key = rng::with(|draw| entry.seal_key(draw))?;
                seal_with_nonce(
                    key, version, ctx.scope, row, plaintext, &rest, aad,
                )
                .map(|out| (version, out))
            },
        )?
    }

    /// Seals one value for `ctx`'s scope and row. Returns the binary
    /// envelope (for BYTEA/BLOB columns); [`to_text`](super::to_text)
    /// gives the text form.
    pub fn encrypt_phi(
        &self,
        ctx: &Context<'_>,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        Self::check_bound_row(ctx.row)?;
        if plaintext.len() > MAX_PLAINTEXT {
            return Err(CryptoError::TooLarge { len: plaintext.len() });
        }
        let rows = || Rows::One(ctx.row);
        self.allow(
            Op { ctx, action: AuditAction::Encrypt },
            Action::Encrypt,
            rows,
            None,
        )?;
        let mut aad = Aad::new();
        let (version, out) =
            self.seal_hot(ctx, ctx.row, plaintext, &mut aad)?;
        self.audit(&self.event(
            Op { ctx, action: AuditAction::Encrypt },
            rows(),
            Some(version),
            Outcome::Ok,
            None,
        ))?;
        Ok(out)
    }

    /// Seals one value and returns the text form (`psf:...`).
    pub fn encrypt_phi_text(
        &self,
        ctx: &Context<'_>,
        plaintext: &[u8],
    ) -> Result<String, CryptoError> {
        self.encrypt_phi(ctx, plaintext).map(|b| format::to_text(&b))
    }

    /// Opens one value sealed for `ctx`'s scope and row. Accepts the
    /// binary or the text form. The plaintext is zeroized when dropped.
    pub fn decrypt_phi(
        &self,
        ctx: &Context<'_>,
        envelope: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        Self::check_bound_row(ctx.row)?;
        let rows = || Rows::One(ctx.row);
        let text =
            envelope.starts_with(format::TEXT_PREFIX.as_bytes()).then(|| {
                std::str::from_utf8(envelope)
                    .map_err(|_| {
                        CryptoError::Malformed(super::Malformed::BadText)
                    })
                    .and_then(format::from_text)
            });
        let parsed = match text {
            None => Envelope::parse(envelope),
            Some(Ok(ref bytes)) => Envelope::parse(bytes),
            Some(Err(e)) => Err(e),
        };
        // The policy first: a caller who may not decrypt gets a denial,
        // whatever the bytes, and learns nothing about them.
        let version = parsed.as_ref().ok().map(Envelope::key_version);
        self.allow(
            Op { ctx, action: AuditAction::Decrypt },
            Action::Decrypt,
            rows,
            version,
        )?;
        let env = match parsed {
            Ok(env) => env,
            Err(e) => {
                return self.fail(
                    Op { ctx, action: AuditAction::Decrypt },
                    rows(),
                    None,
                    Failure::Code("malformed"),
                    e,
                );
            }
        };
        let mut aad = Aad::new();
        match self.open_hot(&env, ctx.scope, ctx.row, &mut aad) {
            Ok(plain) => {
                self.audit(&self.event(
                    Op { ctx, action: AuditAction::Decrypt },
                    rows(),
                    version,
                    Outcome::Ok,
                    None,
                ))?;
                Ok(plain)
            }
            Err(e) => {
                let code = failure_code(&e);
                self.fail(
                    Op { ctx, action: AuditAction::Decrypt },
                    rows(),
                    version,
                    Failure::Code(code),
                    e,
                )
            }
        }
    }

    /// Opens one value through this thread's key cache.
    fn open_hot(
        &self,
        env: &Envelope<'_>,
        scope: &Scope,
        row: &str,
        aad: &mut Aad,
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let version = env.key_version();
        let load = || {
            let (stamp, xaes) = self.dec_key(scope.as_str(), version)?;
            Ok::<_, CryptoError>((stamp, version, xaes))
        };
        hot::with_key(
            self.inner.id,
            scope.as_str(),
            Want::Version(version),
            |s| self.current(s),
            load,
            |entry| {
                let key = entry.open_key(split_nonce(env.nonce()).0);
                open_with(key, env, scope, row, aad)
            },
        )?
    }

    /// Seals many values of one scope for one caller: one policy check,
    /// one audit record (with the count and a digest of the row
    /// references). Items are `(row, plaintext)`; `ctx`'s own row is not
    /// used. All or nothing: an oversized value fails the whole batch.
    pub fn encrypt_many(
        &self,
        ctx: &Context<'_>,
        items: &[(&str, &[u8])],
    ) -> Result<Vec<Vec<u8>>, CryptoError> {
        for (row, plain) in items {
            Self::check_bound_row(row)?;
            if plain.len() > MAX_PLAINTEXT {
                return Err(CryptoError::TooLarge { len: plain.len() });
            }
        }
        let rows = || Rows::batch(items.iter().map(|(r, _)| *r));
        self.allow(
            Op { ctx, action: AuditAction::Encrypt },
            Action::Encrypt,
            rows,
            None,
        )?;
        let (_, version, xaes) = self.enc_key(ctx)?;
        let mut aad = Aad::new();
        // One derived key per batch (a new one every 2^20 values), random
        // last 12 nonce bytes per value (docs/FORMAT.md).
        let mut sealer = Sealer::new();
        // Every value's last 12 nonce bytes from the kernel, in one call
        // (snapshot safety, docs/FORMAT.md).
        let mut rests = vec![[0u8; 12]; items.len()];
        rng::fill_os(rests.as_flattened_mut())?;
        let out = rng::with(|draw| {
            items
                .iter()
                .zip(&rests)
                .map(|((row, plain), rest)| {
                    let key = sealer.drawn_key(&xaes, draw);
                    seal_with_nonce(
                        key, version, ctx.scope, row, plain, rest, &mut aad,
                    )
                })
                .collect::<Result<Vec<_>, _>>()
        })??;
        self.audit(&self.event(
            Op { ctx, action: AuditAction::Encrypt },
            rows(),
            Some(version),
            Outcome::Ok,
            None,
        ))?;
        Ok(out)
    }

    /// Opens many values of one scope for one caller, with one policy
    /// check and one audit record. Each item gets its own result: a bad
    /// value does not stop the others (the record then says `partial`).
    #[allow(
        clippy::type_complexity,
        reason = "one result per item is the point"
    )]
    pub fn decrypt_many(
        &self,
        ctx: &Context<'_>,
        items: &[(&str, &[u8])],
    ) -> Result<Vec<Result<Zeroizing<Vec<u8>>, CryptoError>>, CryptoError>
    {
        for (row, _) in items {
            Self::check_bound_row(row)?;
        }
        let rows = || Rows::batch(items.iter().map(|(r, _)| *r));
        self.allow(
            Op { ctx, action: AuditAction::Decrypt },
            Action::Decrypt,
            rows,
            None,
        )?;
        let mut aad = Aad::new();
        // The key version of each item, for the records below.
        let mut versions: Vec<Option<u32>> = Vec::with_capacity(items.len());
        // Values sealed in one batch share a nonce prefix: derive its key
        // once.
        let mut last: Option<(u32, PrefixKey)> = None;
        let out: Vec<_> = items
            .iter()
            .map(|(row, bytes)| {
                versions.push(None);
                let owned;
                let bytes = if bytes
                    .starts_with(format::TEXT_PREFIX.as_bytes())
                {
                    owned = std::str::from_utf8(bytes)
                        .map_err(|_| {
                            CryptoError::Malformed(super::Malformed::BadText)
                        })
                        .and_then(format::from_text)?;
                    &owned[..]
                } else {
                    bytes
                };
                let env = Envelope::parse(bytes)?;
                let v = env.key_version();
                if let Some(last) = versions.last_mut() {
                    *last = Some(v);
                }
                let prefix = split_nonce(env.nonce()).0;
                match &last {
                    Some((lv, key)) if *lv == v && key.prefix() == prefix => {}
                    _ => {
                        let (_, xaes) = self.dec_key(ctx.scope.as_str(), v)?;
                        last = Some((v, xaes.prefix_key(prefix)));
                    }
                }
                let Some((_, key)) = &last else {
                    return Err(CryptoError::Decrypt);
                };
                open_with(key, &env, ctx.scope, row, &mut aad)
            })
            .collect();
        // One record per key version (malformed items under none), each
        // with its own rows, so a batch over a rotation says which rows
        // each version opened. All are written before any plaintext goes.
        let mut seen: Vec<Option<u32>> = Vec::new();
        if items.is_empty() {
            self.audit(&self.event(
                Op { ctx, action: AuditAction::Decrypt },
                rows(),
                None,
                Outcome::Ok,
                None,
            ))?;
        }
        for v in &versions {
            if !seen.contains(v) {
                seen.push(*v);
            }
        }
        for v in seen {
            let group = || {
                items
                    .iter()
                    .zip(&versions)
                    .filter(move |(_, w)| **w == v)
                    .map(|((r, _), _)| *r)
            };
            let failed =
                out.iter().zip(&versions).any(|(o, w)| *w == v && o.is_err());
            let (outcome, code) = match (v, failed) {
                (None, _) => (Outcome::Failed, Some("malformed")),
                (Some(_), true) => (Outcome::Failed, Some("partial")),
                (Some(_), false) => (Outcome::Ok, None),
            };
            self.audit(&self.event(
                Op { ctx, action: AuditAction::Decrypt },
                Rows::batch(group()),
                v,
                outcome,
                code,
            ))?;
        }
        Ok(out)
    }

    /// Moves a value to the scope's active key version (after a rotation).
    /// Returns `None` when it already uses the active version.
    pub fn reencrypt(
        &self,
        ctx: &Context<'_>,
        envelope: &[u8],
    ) -> Result<Option<Vec<u8>>, CryptoError> {
        Self::check_bound_row(ctx.row)?;
        let rows = || Rows::One(ctx.row);
        let env = match Envelope::parse(envelope) {
            Ok(env) => env,
            Err(e) => {
                return self.fail(
                    Op { ctx, action: AuditAction::Reencrypt },
                    rows(),
                    None,
                    Failure::Code("malformed"),
                    e,
                );
            }
        };
        for action in [Action::Decrypt, Action::Encrypt] {
            self.allow(
                Op { ctx, action: AuditAction::Reencrypt },
                action,
                rows,
                None,
            )?;
        }
        let (_, active, _) = self.enc_key(ctx)?;
        if env.key_version() == active {
            return Ok(None);
        }
        let mut aad = Aad::new();
        let plain = match self.open_hot(&env, ctx.scope, ctx.row, &mut aad) {
            Ok(p) => p,
            Err(e) => {
                let code = failure_code(&e);
                return self.fail(
                    Op { ctx, action: AuditAction::Reencrypt },
                    rows(),
                    Some(env.key_version()),
                    Failure::Code(code),
                    e,
                );
            }
        };
        let (active, out) = self.seal_hot(ctx, ctx.row, &plain, &mut aad)?;
        self.audit(&self.event(
            Op { ctx, action: AuditAction::Reencrypt },
            rows(),
            Some(active),
            Outcome::Ok,
            None,
        ))?;
        Ok(Some(out))
    }

    /// Creates `ctx`'s scope's encryption key (and its blind-index key
    /// when `index`) now if they do not exist yet, so that later calls
    /// write nothing to the keyring. Call it before work inside a database
    /// transaction that holds the lock a keyring write would wait for
    /// (SQLite has one writer). Checked by policy as `encrypt`.
    pub fn prepare(
        &self,
        ctx: &Context<'_>,
        index: bool,
    ) -> Result<(), CryptoError> {
        let op = Op { ctx, action: AuditAction::KeyCreate };
        self.allow(op, Action::Encrypt, || Rows::None, None)?;
        self.enc_key(ctx)?;
        if index {
            self.index_key(ctx)?;
        }
        Ok(())
    }

    /// Moves many values of one scope to the active key version, with one
    /// policy check and one audit record (`partial` if some failed). Each
    /// item gets its own result: `None` when it already uses the active
    /// version.
    #[allow(
        clippy::type_complexity,
        reason = "one result per item is the point"
    )]
    pub fn reencrypt_many(
        &self,
        ctx: &Context<'_>,
        items: &[(&str, &[u8])],
    ) -> Result<Vec<Result<Option<Vec<u8>>, CryptoError>>, CryptoError> {
        for (row, _) in items {
            Self::check_bound_row(row)?;
        }
        let rows = || Rows::batch(items.iter().map(|(r, _)| *r));
        let op = Op { ctx, action: AuditAction::Reencrypt };
        for action in [Action::Decrypt, Action::Encrypt] {
            self.allow(op, action, rows, None)?;
        }
        let (_, active, xaes) = self.enc_key(ctx)?;
        // One derived key per batch, as in `encrypt_many`.
        let mut sealer = Sealer::new();
        let mut aad = Aad::new();
        // Last nonce halves from the kernel in one call, as in
        // `encrypt_many` (a value already current leaves its unused).
        let mut rests = vec![[0u8; 12]; items.len()];
        rng::fill_os(rests.as_flattened_mut())?;
        let out: Vec<_> = items
            .iter()
            .zip(&rests)
            .map(|((row, bytes), rest)| {
                let env = Envelope::parse(bytes)?;
                if env.key_version() == active {
                    return Ok(None);
                }
                let plain = self.open_hot(&env, ctx.scope, row, &mut aad)?;
                let key = sealer.key(&xaes, || {
                    let mut prefix = [0u8; 12];
                    rng::fill(&mut prefix).map(|()| prefix)
                })?;
                let out = seal_with_nonce(
                    key, active, ctx.scope, row, &plain, rest, &mut aad,
                )?;
                Ok(Some(out))
            })
            .collect();
        let (outcome, code) = if out.iter().any(Result::is_err) {
            (Outcome::Failed, Some("partial"))
        } else {
            (Outcome::Ok, None)
        };
        self.audit(&self.event(op, rows(), Some(active), outcome, code))?;
        Ok(out)
    }

    /// Blind indexes of many values of one scope, `(row, value)` each, to
    /// store next to their ciphertexts: one policy check (`search`, since
    /// whoever computes indexes can test guesses) and one audit record.
    pub fn blind_index_many(
        &self,
        ctx: &Context<'_>,
        spec: &IndexSpec,
        items: &[(&str, &str)],
    ) -> Result<Vec<BlindIndex>, CryptoError> {
        for (row, _) in items {
            Self::check_row(row)?;
        }
        let rows = || Rows::batch(items.iter().map(|(r, _)| *r));
        let op = Op { ctx, action: AuditAction::Search };
        self.allow(op, Action::Search, rows, None)?;
        let key = self.index_key(ctx)?;
        let out = items.iter().map(|(_, v)| spec.compute(&key, v)).collect();
        self.audit(&self.event(op, rows(), None, Outcome::Ok, None))?;
        Ok(out)
    }

    /// The blind index of `value` for `ctx`'s scope (policy action
    /// `search`). Index keys are separate from encryption keys and are not
    /// rotated: rotating one would orphan every stored index.
    pub fn blind_index(
        &self,
        ctx: &Context<'_>,
        spec: &IndexSpec,
        value: &str,
    ) -> Result<BlindIndex, CryptoError> {
        let rows = || Rows::One(ctx.row);
        Self::check_row(ctx.row)?;
        self.allow(
            Op { ctx, action: AuditAction::Search },
            Action::Search,
            rows,
            None,
        )?;
        let key = self.index_key(ctx)?;
        let index = spec.compute(&key, value);
        self.audit(&self.event(
            Op { ctx, action: AuditAction::Search },
            rows(),
            None,
            Outcome::Ok,
            None,
        ))?;
        Ok(index)
    }

    /// A keyring change made for an admin call: applied atomically by the
    /// store and installed in the cache; a failure is audited. The caller
    /// audits the success, with what the change produced.
    fn admin(
        &self,
        op: Op<'_, '_>,
        version: Option<u32>,
        change: &mut dyn FnMut(&mut Keyring) -> Result<(), KeyError>,
    ) -> Result<(), CryptoError> {
        let result = self.inner.store.update(change);
        // Every cipher of the process reloads before its next use, even
        // after a failed update (it may have reached the store).
        CHANGES.fetch_add(1, Ordering::AcqRel);
        match result {
            Ok(ring) => {
                self.inner.install(&mut self.inner.write(), ring, changes());
                Ok(())
            }
            Err(e) => self.fail(
                op,
                Rows::None,
                version,
                Failure::Code("key"),
                e.into(),
            ),
        }
    }

    /// The keyring as the store has it now.
    pub fn keyring(&self) -> Result<Keyring, CryptoError> {
        Ok(self.inner.store.load()?)
    }

    /// Re-reads the keyring now instead of waiting for the refresh interval.
    pub fn refresh(&self) -> Result<(), CryptoError> {
        let epoch = changes();
        let ring = self.inner.store.load()?;
        self.inner.install(&mut self.inner.write(), ring, epoch);
        Ok(())
    }

    /// Flushes the audit sink (group commit) now.
    pub fn flush_audit(&self) -> Result<(), CryptoError> {
        self.audit.flush().map_err(CryptoError::Audit)
    }
}

/// Key management: rotation, destruction and master-key rewrapping.
///
/// Built with [`FieldCipherBuilder::build_admin`], never from a
/// [`FieldCipher`], so code that handles values cannot manage keys. Each
/// call is checked against the policy's key-management actions
/// ([`Action::Rotate`], [`Action::Destroy`], [`Action::Rewrap`]) and
/// recorded in the audit sink whether it is allowed, denied or fails.
///
/// ```
/// use std::sync::Arc;
/// use phisafe::audit::MemorySink;
/// use phisafe::crypto::{Context, FieldCipher, LocalKek, MemoryKeyStore, Policy, Scope};
///
/// let kek = Arc::new(LocalKek::from_bytes([7; 32]));
/// let store = Arc::new(MemoryKeyStore::new());
/// let sink = Arc::new(MemorySink::new());
/// let officer = Policy::from_toml(
///     "[[allow]]\nroles = [\"key-officer\"]\nscopes = [\"*\"]\nactions = [\"rotate\"]\npurposes = [\"*\"]",
/// )?;
/// let admin = FieldCipher::builder(kek, store).policy(officer).build_admin(sink)?;
///
/// let scope = Scope::new("patients.ssn")?;
/// let ctx = Context::new(&scope, "").actor("ana").role("key-officer");
/// assert_eq!(admin.rotate(&ctx)?, 1);
/// // Rotation was granted, destruction was not.
/// assert!(admin.destroy(&ctx, 1, "destroy patients.ssn v1").is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct KeyAdmin {
    cipher: FieldCipher,
}

impl KeyAdmin {
    /// Makes a new encryption key version active for `ctx`'s scope; the
    /// old one stays for decryption. Returns the new version.
    pub fn rotate(&self, ctx: &Context<'_>) -> Result<u32, CryptoError> {
        let op = Op { ctx, action: AuditAction::KeyRotate };
        self.cipher.allow(op, Action::Rotate, || Rows::None, None)?;
        let scope = ctx.scope.as_str();
        let provider = &*self.cipher.inner.provider;
        let mut new_version = 0;
        self.cipher.admin(op, None, &mut |ring| {
            for k in ring.keys.iter_mut() {
                if k.scope == scope
                    && k.purpose == KeyPurpose::Encrypt
                    && k.state == KeyState::Active
                {
                    set_state(provider, k, KeyState::DecryptOnly)?;
                }
            }
            new_version = ring.next_version(scope, KeyPurpose::Encrypt);
            let (record, _) =
                new_record(provider, scope, KeyPurpose::Encrypt, new_version)?;
            ring.keys.push(record);
            Ok(())
        })?;
        self.cipher.audit(&self.cipher.event(
            op,
            Rows::None,
            Some(new_version),
            Outcome::Ok,
            None,
        ))?;
        Ok(new_version)
    }

    /// Destroys one encryption key version (crypto-shredding): its wrapped
    /// key is erased from the keyring and every value sealed with it is
    /// unrecoverable. `confirm` must be exactly `destroy <scope> v<version>`.
    /// Destroying the scope's last live version destroys its blind-index
    /// key too: indexes stored before can no longer be recomputed, and a
    /// later index call starts a new key.
    ///
    /// Copies of the keyring (backups) still hold the wrapped key; erase
    /// them too for the erasure to be complete. In this process the key
    /// is unusable at once; a thread that had used it keeps its unwrapped
    /// copy in memory, unused, until its next call to this cipher or its
    /// exit, and other processes stop using it within their refresh
    /// interval.
    pub fn destroy(
        &self,
        ctx: &Context<'_>,
        version: u32,
        confirm: &str,
    ) -> Result<(), CryptoError> {
        let op = Op { ctx, action: AuditAction::KeyDestroy };
        self.cipher.allow(
            op,
            Action::Destroy,
            || Rows::None,
            Some(version),
        )?;
        let scope = ctx.scope.as_str();
        let expected = format!("destroy {scope} v{version}");
        if confirm != expected {
            return self.cipher.fail(
                op,
                Rows::None,
                Some(version),
                Failure::Code("not_confirmed"),
                KeyError::NotConfirmed { expected }.into(),
            );
        }
        let mut shredded = false;
        self.cipher.admin(op, Some(version), &mut |ring| {
            let k = ring
                .get_mut(scope, KeyPurpose::Encrypt, version)
                .ok_or_else(|| KeyError::NotFound {
                    scope: scope.to_string(),
                    version,
                })?;
            k.state = KeyState::Destroyed;
            k.wrapped.clear();
            // The last encryption key of the scope gone, the scope is
            // shredded: its blind-index key goes too, or stored indexes
            // could still be tested against guessed values.
            let live = ring.keys.iter().any(|k| {
                k.scope == scope
                    && k.purpose == KeyPurpose::Encrypt
                    && k.state != KeyState::Destroyed
            });
            shredded = !live;
            if shredded {
                for k in ring.keys.iter_mut().filter(|k| {
                    k.scope == scope && k.purpose == KeyPurpose::Index
                }) {
                    k.state = KeyState::Destroyed;
                    k.wrapped.clear();
                }
            }
            Ok(())
        })?;
        // Out of every cipher's and thread's memory now, not at their
        // next call.
        forget_keys(scope, &[version], shredded);
        self.cipher.audit(&self.cipher.event(
            op,
            Rows::None,
            Some(version),
            Outcome::Ok,
            None,
        ))
    }

    /// Rewraps every data key under `new` (KEK rotation) without touching
    /// any data. Entries already wrapped by `new` are skipped, so a rewrap
    /// that was interrupted can simply be run again. Returns how many were
    /// rewrapped. Afterwards, build ciphers with `new`.
    pub fn rewrap(
        &self,
        ctx: &Context<'_>,
        new: &dyn KeyProvider,
    ) -> Result<usize, CryptoError> {
        let op = Op { ctx, action: AuditAction::KeyRewrap };
        // Every scope's keys pass through: the grant must be for all.
        if let Err(e) = self.cipher.inner.policy.check(
            ctx.role,
            Action::Rewrap,
            "*",
            ctx.purpose,
        ) {
            return self.cipher.fail(
                op,
                Rows::None,
                None,
                Failure::Denied,
                CryptoError::Denied(e),
            );
        }
        let old = &*self.cipher.inner.provider;
        let mut count = 0;
        self.cipher.admin(op, None, &mut |ring| {
            count = 0;
            for k in ring.keys.iter_mut() {
                if k.state == KeyState::Destroyed || k.kek_id == new.kek_id() {
                    continue;
                }
                let key = unwrap_record(old, k)?;
                let aad = k.wrap_aad();
                let wrapped = new.wrap(&key, &aad)?;
                // The new master key must give the key back before the
                // keyring trusts it: a provider that wraps but cannot
                // unwrap (wrong slot, broken HSM) would shred every scope.
                let back = new.unwrap(new.kek_id(), &wrapped, &aad)?;
                if !bool::from(back.expose_secret().ct_eq(key.expose_secret()))
                {
                    return Err(KeyError::Provider(
                        "the new master key does not unwrap what it wrapped; keyring unchanged"
                            .into(),
                    ));
                }
                k.wrapped = wrapped;
                k.kek_id = new.kek_id().to_string();
                count += 1;
            }
            Ok(())
        })?;
        self.cipher.audit(&self.cipher.event(
            op,
            Rows::None,
            None,
            Outcome::Ok,
            None,
        ))?;
        Ok(count)
    }

    /// The keyring as the store has it now.
    pub fn keyring(&self) -> Result<Keyring, CryptoError> {
        self.cipher.keyring()
    }

    /// Flushes the audit sink now.
    pub fn flush_audit(&self) -> Result<(), CryptoError> {
        self.cipher.flush_audit()
    }
}

impl fmt::Debug for KeyAdmin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyAdmin")
            .field("kek_id", &self.cipher.inner.provider.kek_id())
            .field("policy", &self.cipher.inner.policy)
            .finish_non_exhaustive()
    }
}

fn failure_code(e: &CryptoError) -> &'static str {
    match e {
        CryptoError::Decrypt => "decrypt",
        CryptoError::Malformed(_) => "malformed",
        CryptoError::UnknownKey { .. } => "unknown_key",
        CryptoError::KeyDestroyed { .. } => "key_destroyed",
        CryptoError::Key(_) => "key",
        _ => "other",
    }
}

/// Seals under a derived key with the nonce `key.prefix() || rest`: the
/// envelope layout in one place, and the way golden vectors are made.
pub(crate) fn seal_with_nonce(
    key: &PrefixKey,
    version: u32,
    scope: &Scope,
    row: &str,
    plaintext: &[u8],
    rest: &[u8; 12],
    aad: &mut Aad,
) -> Result<Vec<u8>, CryptoError> {
    let header = format::header(version);
    aad.set(&header, scope, row);
    let mut out = Vec::with_capacity(OVERHEAD + plaintext.len());
    out.extend_from_slice(&header);
    out.extend_from_slice(key.prefix());
    out.extend_from_slice(rest);
    out.extend_from_slice(plaintext);
    let body = HEADER_LEN + NONCE_LEN;
    // Plaintext is bounded by MAX_PLAINTEXT, far below GCM's 64 GiB limit;
    // if sealing failed all the same, no plaintext may leave in `out`.
    let Some(tag) = key.seal(rest, aad.as_slice(), &mut out[body..]) else {
        zeroize::Zeroize::zeroize(&mut out);
        return Err(CryptoError::TooLarge { len: plaintext.len() });
    };
    out.extend_from_slice(&tag);
    Ok(out)
}

fn open_with(
    key: &PrefixKey,
    env: &Envelope<'_>,
    scope: &Scope,
    row: &str,
    aad: &mut Aad,
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    aad.set(env.header(), scope, row);
    let mut buf = Zeroizing::new(env.ciphertext().to_vec());
    key.open(split_nonce(env.nonce()).1, aad.as_slice(), &mut buf, env.tag())
        .map_err(|_| CryptoError::Decrypt)?;
    Ok(buf)
}

impl fmt::Debug for FieldCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FieldCipher")
            .field("kek_id", &self.inner.provider.kek_id())
            .field("policy", &self.inner.policy)
            .finish_non_exhaustive()
    }
}
