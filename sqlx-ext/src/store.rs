//! [`SqlKeyStore`]: the keyring in phisafe's `keyring` table.

use std::sync::mpsc;

use phisafe::crypto::{KeyError, KeyStore, Keyring};
use sqlx::Any;

use crate::Error;
use crate::backend::Backend;
use crate::bridge::Bridge;

/// A [`KeyStore`] in the database: one row per wrapped data key version.
///
/// Updates run in a transaction that holds the keyring's write lock
/// (`LOCK TABLE ... IN EXCLUSIVE MODE` in PostgreSQL, the write lock in
/// SQLite), so concurrent rotations from several processes are
/// serialized and a failed change writes nothing. Wrapped keys are
/// useless without the master key, which never enters the database.
pub struct SqlKeyStore {
    bridge: Bridge,
}

impl std::fmt::Debug for SqlKeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlKeyStore").finish_non_exhaustive()
    }
}

impl SqlKeyStore {
    /// Connects to `url`. phisafe's tables must exist: see
    /// [`crate::migrate`].
    pub fn connect(url: &str) -> Result<SqlKeyStore, Error> {
        Ok(SqlKeyStore { bridge: Bridge::connect(url)? })
    }
}

fn store_err(e: Error) -> KeyError {
    KeyError::Store(e.to_string())
}

enum Msg {
    Ring(Keyring),
    Done(Result<(), Error>),
}

impl KeyStore for SqlKeyStore {
    fn load(&self) -> Result<Keyring, KeyError> {
        self.bridge
            .call(|pool| async move {
                let mut conn = pool.acquire().await?;
                <Any as Backend>::load_keyring(&mut conn).await
            })
            .and_then(|r| r)
            .map_err(store_err)
    }

    fn update(
        &self,
        change: &mut dyn FnMut(&mut Keyring) -> Result<(), KeyError>,
    ) -> Result<Keyring, KeyError> {
        // The transaction stays open on the database thread while
        // `change`, which need not be Send, runs here.
        let (to_caller, from_db) = mpsc::sync_channel::<Msg>(2);
        let (to_db, from_caller) =
            tokio::sync::oneshot::channel::<Option<Keyring>>();
        self.bridge
            .spawn(move |pool| async move {
                let ring_tx = to_caller.clone();
                let res = async move {
                    let mut tx = pool.begin().await?;
                    <Any as Backend>::lock_keyring(&mut tx).await?;
                    let ring = <Any as Backend>::load_keyring(&mut tx).await?;
                    if ring_tx.send(Msg::Ring(ring)).is_err() {
                        return Ok(());
                    }
                    match from_caller.await {
                        Ok(Some(new)) => {
                            <Any as Backend>::store_keyring(&mut tx, &new)
                                .await?;
                            tx.commit().await?;
                        }
                        _ => tx.rollback().await?,
                    }
                    Ok(())
                }
                .await;
                let _ = to_caller.send(Msg::Done(res));
            })
            .map_err(store_err)?;
        let stopped = || KeyError::Store("the database thread stopped".into());
        let mut ring = match from_db.recv().map_err(|_| stopped())? {
            Msg::Ring(r) => r,
            Msg::Done(Err(e)) => return Err(store_err(e)),
            Msg::Done(Ok(())) => return Err(stopped()),
        };
        if let Err(e) = change(&mut ring) {
            let _ = to_db.send(None);
            let _ = from_db.recv();
            return Err(e);
        }
        let _ = to_db.send(Some(ring.clone()));
        match from_db.recv().map_err(|_| stopped())? {
            Msg::Done(Ok(())) => Ok(ring),
            Msg::Done(Err(e)) => Err(store_err(e)),
            Msg::Ring(_) => Err(stopped()),
        }
    }
}
