//! Encrypted columns: [`Encrypted`] values and [`SqlCipher`], which seals
//! and opens them with the audit record written through sqlx.

use std::sync::Arc;

use phisafe::audit::AuditKey;
use phisafe::crypto::{
    BlindIndex, Context, FieldCipher, FieldCipherBuilder, IndexSpec,
};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Connection as _, Database, Decode, Encode, Pool, Type};
use zeroize::Zeroizing;

use crate::Error;
use crate::audit::Capture;
use crate::backend::Backend;

/// A sealed field value as stored: a phisafe envelope, bound and read as
/// `BYTEA` (PostgreSQL) or `BLOB` (SQLite).
///
/// Reading one from a row decodes bytes only; opening it needs the cipher
/// and the row it belongs to, so it is an explicit [`SqlCipher::decrypt`]
/// call, never a side effect of `Decode`. For `TEXT` columns bind
/// [`Encrypted::to_text`] and read with [`Encrypted::from_text`].
#[derive(Clone, PartialEq, Eq)]
pub struct Encrypted(Vec<u8>);

impl Encrypted {
    /// Wraps envelope bytes read some other way.
    pub fn from_bytes(bytes: Vec<u8>) -> Encrypted {
        Encrypted(bytes)
    }

    /// Parses the text form (`psf:` and base64url).
    pub fn from_text(text: &str) -> Result<Encrypted, Error> {
        Ok(Encrypted(phisafe::crypto::from_text(text)?))
    }

    /// The envelope bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The text form, for `TEXT` columns.
    pub fn to_text(&self) -> String {
        phisafe::crypto::to_text(&self.0)
    }
}

impl std::fmt::Debug for Encrypted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Encrypted({} bytes)", self.0.len())
    }
}

impl<DB: Database> Type<DB> for Encrypted
where
    Vec<u8>: Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <Vec<u8> as Type<DB>>::type_info()
    }

    fn compatible(ty: &DB::TypeInfo) -> bool {
        <Vec<u8> as Type<DB>>::compatible(ty)
    }
}

impl<'q, DB: Database> Encode<'q, DB> for Encrypted
where
    Vec<u8>: Encode<'q, DB>,
{
    fn encode_by_ref(
        &self,
        buf: &mut <DB as Database>::ArgumentBuffer,
    ) -> Result<IsNull, BoxDynError> {
        self.0.encode_by_ref(buf)
    }
}

impl<'r, DB: Database> Decode<'r, DB> for Encrypted
where
    Vec<u8>: Decode<'r, DB>,
{
    fn decode(value: DB::ValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(Encrypted(<Vec<u8> as Decode<'r, DB>>::decode(value)?))
    }
}

/// [`FieldCipher`] for async sqlx code: the same keys, policy and
/// envelopes, with each call's audit records written to phisafe's audit
/// table through sqlx instead of a synchronous sink.
///
/// - Writes ([`encrypt`](SqlCipher::encrypt),
///   [`encrypt_many`](SqlCipher::encrypt_many)) record into the
///   connection you pass, inside a savepoint: pass your transaction and
///   the record commits or rolls back with the values it describes.
/// - Reads ([`decrypt`](SqlCipher::decrypt),
///   [`decrypt_many`](SqlCipher::decrypt_many),
///   [`blind_index`](SqlCipher::blind_index)) record in a transaction of
///   their own on a pool connection, committed before any plaintext is
///   returned: a disclosure stays on record even if your transaction
///   later rolls back, and if the record cannot be written the call fails
///   and returns no plaintext.
#[derive(Clone)]
pub struct SqlCipher {
    cipher: FieldCipher,
    key: AuditKey,
}

impl std::fmt::Debug for SqlCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlCipher")
            .field("cipher", &self.cipher)
            .finish_non_exhaustive()
    }
}

impl SqlCipher {
    /// Builds the cipher from `builder` (master key, keyring, policy) with
    /// its audit records going through sqlx into phisafe's audit table,
    /// chained under `key` (from [`phisafe::crypto::audit_key`]). The
    /// cipher is never handed out, so no call can escape the record.
    pub fn new(
        builder: FieldCipherBuilder,
        key: AuditKey,
    ) -> Result<SqlCipher, Error> {
        let cipher = builder.build(Arc::new(Capture))?;
        Ok(SqlCipher { cipher, key })
    }

    /// The audit chain key, for [`crate::audit::verify`].
    pub fn audit_key(&self) -> &AuditKey {
        &self.key
    }

    /// Runs `op` on the cipher with its audit events captured.
    pub(crate) fn captured<T>(
        &self,
        op: impl FnOnce(&FieldCipher) -> T,
    ) -> (T, Vec<crate::audit::OwnedEvent>) {
        Capture::run(|| op(&self.cipher))
    }

    /// Appends `events` in a savepoint (or transaction) on `conn`.
    pub(crate) async fn record<DB: Backend>(
        &self,
        conn: &mut DB::Connection,
        events: &[crate::audit::OwnedEvent],
    ) -> Result<(), Error> {
        if events.is_empty() {
            return Ok(());
        }
        let mut tx = conn.begin().await?;
        DB::append_audit(&mut tx, &self.key, events).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Appends `events` in a transaction of their own.
    async fn record_now<DB: Backend>(
        &self,
        pool: &Pool<DB>,
        events: &[crate::audit::OwnedEvent],
    ) -> Result<(), Error> {
        if events.is_empty() {
            return Ok(());
        }
        let mut conn = pool.acquire().await?;
        self.record::<DB>(&mut conn, events).await
    }

    /// Seals one value for the row `ctx` names; the record goes into
    /// `conn` (your transaction, if it is one).
    pub async fn encrypt<DB: Backend>(
        &self,
        conn: &mut DB::Connection,
        ctx: &Context<'_>,
        plaintext: &[u8],
    ) -> Result<Encrypted, Error> {
        let (sealed, events) =
            self.captured(|c| c.encrypt_phi(ctx, plaintext));
        self.record::<DB>(conn, &events).await?;
        Ok(Encrypted(sealed?))
    }

    /// Seals many values of one scope, `(row reference, plaintext)` each,
    /// with one audit record.
    pub async fn encrypt_many<DB: Backend>(
        &self,
        conn: &mut DB::Connection,
        ctx: &Context<'_>,
        items: &[(&str, &[u8])],
    ) -> Result<Vec<Encrypted>, Error> {
        let (sealed, events) = self.captured(|c| c.encrypt_many(ctx, items));
        self.record::<DB>(conn, &events).await?;
        Ok(sealed?.into_iter().map(Encrypted).collect())
    }

    /// Opens one value of the row `ctx` names. The audit record is
    /// committed on a connection from `pool` first.
    pub async fn decrypt<DB: Backend>(
        &self,
        pool: &Pool<DB>,
        ctx: &Context<'_>,
        value: &Encrypted,
    ) -> Result<Zeroizing<Vec<u8>>, Error> {
        let (plain, events) = self.captured(|c| c.decrypt_phi(ctx, &value.0));
        self.record_now(pool, &events).await?;
        Ok(plain?)
    }

    /// Opens many values of one scope, `(row reference, value)` each, with
    /// one audit record; each item gets its own result.
    pub async fn decrypt_many<DB: Backend>(
        &self,
        pool: &Pool<DB>,
        ctx: &Context<'_>,
        items: &[(&str, &[u8])],
    ) -> Result<Vec<Result<Zeroizing<Vec<u8>>, Error>>, Error> {
        let (opened, events) = self.captured(|c| c.decrypt_many(ctx, items));
        self.record_now(pool, &events).await?;
        Ok(opened?.into_iter().map(|r| r.map_err(Error::from)).collect())
    }

    /// The blind index of `value` for a `WHERE idx = $1` lookup, audited
    /// as a search.
    pub async fn blind_index<DB: Backend>(
        &self,
        pool: &Pool<DB>,
        ctx: &Context<'_>,
        spec: &IndexSpec,
        value: &str,
    ) -> Result<BlindIndex, Error> {
        let (index, events) =
            self.captured(|c| c.blind_index(ctx, spec, value));
        self.record_now(pool, &events).await?;
        Ok(index?)
    }
}
