//! Each thread's recently used data keys, for single-value calls.
//!
//! Reaching a key through the cipher's shared cache takes a read lock and
//! a reference count: four atomic writes to cache lines every thread
//! shares, which cost as much as the rest of the lookup for a short
//! value. So each thread keeps the last few keys it used, each with its
//! derived XAES-256-GCM keys for sealing and opening (docs/FORMAT.md),
//! and checks them against the shared cache's *generation*: one atomic
//! read of a word that only changes with the cache. Every change to the
//! shared cache (a rotation, a destruction, a keyring refresh) takes a
//! new generation, so entries from before stop matching at once.
//!
//! Holding a few keys also lets a thread that encrypts several columns of
//! a row keep one derived key per column instead of deriving again each
//! time it switches.
//!
//! A retired copy stays in the thread (zeroized when dropped) until the
//! thread's next miss on that cipher, or until [`purge`] drops it from
//! every thread at once: a key destroyed, or its cipher dropped, must not
//! linger in threads that never call that cipher again. So each thread's
//! keys sit behind a mutex only that thread takes on its calls
//! (uncontended: one compare-and-swap) and [`purge`] takes from outside.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError, Weak};

use super::rng::Draw;
use super::xaes::{PrefixKey, Xaes};

/// Keys a thread keeps: the encrypted columns of a table or two.
const SLOTS: usize = 8;

/// Messages sealed under one cached nonce prefix before a new one is
/// drawn. The last 12 nonce bytes stay random, so this bounds one derived
/// AES-GCM key to 2^20 random 96-bit nonces (collision chance 2^-57).
const PREFIX_USES: u32 = 1 << 20;

static NEXT: AtomicU64 = AtomicU64::new(1);

/// A number no other cipher or cache state in this process has or will
/// have: the id of a cipher's cache, or a generation of it.
pub(crate) fn unique() -> u64 {
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The state of the shared cache a key was read in.
#[derive(Clone, Copy)]
pub(crate) struct Stamp {
    /// The cache's generation.
    pub(crate) generation: u64,
    /// When the keyring was read.
    pub(crate) loaded: coarsetime::Instant,
    /// The process's keyring change count before it was read.
    pub(crate) epoch: u64,
}

/// Which key a call wants.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Want {
    /// The scope's active key, to seal.
    Active,
    /// One version, to open.
    Version(u32),
}

/// One data key of one scope, with its derived keys.
pub(crate) struct Entry {
    /// The id of the cipher cache it came from.
    owner: u64,
    stamp: Stamp,
    scope: Box<str>,
    /// Whether it was the scope's active key (then it also seals).
    active: bool,
    version: u32,
    xaes: Arc<Xaes>,
    seal: Sealer,
    open: Option<PrefixKey>,
}

impl Entry {
    fn new(
        owner: u64,
        scope: &str,
        want: Want,
        (stamp, version, xaes): (Stamp, u32, Arc<Xaes>),
    ) -> Entry {
        Entry {
            owner,
            stamp,
            scope: scope.into(),
            active: want == Want::Active,
            version,
            xaes,
            seal: Sealer::new(),
            open: None,
        }
    }

    fn is(&self, owner: u64, scope: &str, want: Want) -> bool {
        self.owner == owner
            && match want {
                Want::Active => self.active,
                Want::Version(v) => self.version == v,
            }
            && *self.scope == *scope
    }

    /// The key version.
    pub(crate) fn version(&self) -> u32 {
        self.version
    }

    /// The derived key to seal with; see [`Sealer::key`].
    pub(crate) fn seal_key(&mut self, draw: &mut Draw<'_>) -> &PrefixKey {
        self.seal.drawn_key(&self.xaes, draw)
    }

    /// The derived key for opening values sealed under `prefix`: values
    /// sealed by one writer share it.
    pub(crate) fn open_key(&mut self, prefix: &[u8; 12]) -> &PrefixKey {
        if !matches!(&self.open, Some(k) if k.prefix() == prefix) {
            self.open = Some(self.xaes.prefix_key(prefix));
        }
        match &self.open {
            Some(key) => key,
            None => unreachable!("just filled"),
        }
    }
}

/// The derived key for sealing a run of values under one data key, with
/// its use count.
pub(crate) struct Sealer(Option<(u32, PrefixKey)>);

impl Sealer {
    pub(crate) fn new() -> Sealer {
        Sealer(None)
    }

    /// The derived key for the next value, under a nonce prefix from
    /// `prefix` when there is none yet or it has been used
    /// [`PREFIX_USES`] times. The caller draws the last 12 nonce bytes
    /// fresh for every value.
    pub(crate) fn key<E>(
        &mut self,
        xaes: &Xaes,
        prefix: impl FnOnce() -> Result<[u8; 12], E>,
    ) -> Result<&PrefixKey, E> {
        if !matches!(&self.0, Some((uses, _)) if *uses < PREFIX_USES) {
            self.0 = Some((0, xaes.prefix_key(&prefix()?)));
        }
        match &mut self.0 {
            Some((uses, key)) => {
                *uses += 1;
                Ok(key)
            }
            None => unreachable!("just filled"),
        }
    }

    /// [`key`](Self::key), with a prefix from `draw`.
    pub(crate) fn drawn_key(
        &mut self,
        xaes: &Xaes,
        draw: &mut Draw<'_>,
    ) -> &PrefixKey {
        let prefix = || {
            let mut prefix = [0u8; 12];
            draw.fill(&mut prefix);
            Ok::<_, std::convert::Infallible>(prefix)
        };
        self.key(xaes, prefix).unwrap_or_else(|never| match never {})
    }
}

struct Hot {
    entries: [Option<Entry>; SLOTS],
    /// The slot the next new entry replaces (round robin).
    next: usize,
}

/// Every thread's keys, for [`purge`]; a thread's entry dies with it.
static THREADS: Mutex<Vec<Weak<Mutex<Hot>>>> = Mutex::new(Vec::new());

thread_local! {
    static HOT: Arc<Mutex<Hot>> = register();
}

fn register() -> Arc<Mutex<Hot>> {
    let hot = Arc::new(Mutex::new(Hot {
        entries: [const { None }; SLOTS],
        next: 0,
    }));
    let mut threads = THREADS.lock().unwrap_or_else(|p| p.into_inner());
    threads.retain(|t| t.strong_count() > 0);
    threads.push(Arc::downgrade(&hot));
    hot
}

/// This thread's keys, unless they are in use: by this thread further up
/// the stack (a call back from inside `f`), or by [`purge`] right now.
fn try_lock(hot: &Mutex<Hot>) -> Option<MutexGuard<'_, Hot>> {
    match hot.try_lock() {
        Ok(guard) => Some(guard),
        // Entries are only ever replaced whole: a panic cannot leave one
        // half written.
        Err(TryLockError::Poisoned(p)) => Some(p.into_inner()),
        Err(TryLockError::WouldBlock) => None,
    }
}

/// Which keys [`purge`] drops.
#[derive(Clone, Copy)]
pub(crate) enum Purge<'a> {
    /// Those of one cipher cache.
    Owner(u64),
    /// Versions of a scope, in every cipher.
    Versions(&'a str, &'a [u32]),
}

impl Purge<'_> {
    fn matches(self, e: &Entry) -> bool {
        match self {
            Purge::Owner(owner) => e.owner == owner,
            Purge::Versions(scope, versions) => {
                *e.scope == *scope && versions.contains(&e.version)
            }
        }
    }
}

/// The key caches of the threads alive now.
fn live() -> Vec<Arc<Mutex<Hot>>> {
    THREADS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .filter_map(Weak::upgrade)
        .collect()
}

/// Drops the keys `which` from every thread of the process (they are
/// zeroized).
pub(crate) fn purge(which: Purge<'_>) {
    let live = live();
    let mine = HOT.try_with(Arc::clone).ok();
    for hot in &live {
        // This thread may be inside `with_key` already: never wait on
        // itself. Other threads hold their lock only for one call.
        let own = mine.as_ref().is_some_and(|m| Arc::ptr_eq(m, hot));
        let guard = if own {
            try_lock(hot)
        } else {
            Some(hot.lock().unwrap_or_else(|p| p.into_inner()))
        };
        let Some(mut guard) = guard else { continue };
        for slot in &mut guard.entries {
            if slot.as_ref().is_some_and(|e| which.matches(e)) {
                *slot = None;
            }
        }
    }
}

/// Runs `f` with this thread's entry for `want` of `scope` in the cipher
/// cache `owner`, if `current` accepts its stamp; otherwise with a new
/// entry from `load`, which returns the stamp it read under, the version
/// and the key. `load` runs with this thread's entries released, so it may
/// call back into the cipher (an audit sink recording a key's creation
/// could).
pub(crate) fn with_key<R, E>(
    owner: u64,
    scope: &str,
    want: Want,
    current: impl Fn(&Stamp) -> bool,
    load: impl FnOnce() -> Result<(Stamp, u32, Arc<Xaes>), E>,
    f: impl FnOnce(&mut Entry) -> R,
) -> Result<R, E> {
    let mut f = Some(f);
    let hit = HOT
        .try_with(|cell| {
            let mut hot = try_lock(cell)?;
            if let Some(entry) = hot
                .entries
                .iter_mut()
                .flatten()
                .find(|e| e.is(owner, scope, want) && current(&e.stamp))
            {
                return f.take().map(|f| f(entry));
            }
            // A miss: drop this cipher's keys of retired generations now
            // (they are zeroized), even if `load` fails, rather than when
            // their slot comes round again.
            for slot in &mut hot.entries {
                let retired =
                    |e: &Entry| e.owner == owner && !current(&e.stamp);
                if slot.as_ref().is_some_and(retired) {
                    *slot = None;
                }
            }
            None
        })
        .ok()
        .flatten();
    if let Some(r) = hit {
        return Ok(r);
    }
    let mut entry = Some(Entry::new(owner, scope, want, load()?));
    let kept = HOT
        .try_with(|cell| {
            let mut hot = try_lock(cell)?;
            let hot = &mut *hot;
            // Replace the same key's entry (a key opened first, then
            // sealed with), else a free slot, else the next in turn.
            let version = entry.as_ref().map_or(0, |e| e.version);
            let same = hot.entries.iter().position(|e| {
                e.as_ref().is_some_and(|e| {
                    e.is(owner, scope, Want::Version(version))
                })
            });
            let free = || hot.entries.iter().position(Option::is_none);
            let i = same.or_else(free).unwrap_or(hot.next);
            hot.next = (i + 1) % SLOTS;
            let (f, entry) = (f.take()?, entry.take()?);
            Some(f(hot.entries[i].insert(entry)))
        })
        .ok()
        .flatten();
    Ok(match (kept, f, entry) {
        (Some(r), _, _) => r,
        // Called back from inside `f`, or while the thread exits: use the
        // entry once.
        (None, Some(f), Some(mut entry)) => f(&mut entry),
        (None, _, _) => unreachable!("f runs at most once"),
    })
}

/// How many keys of the cipher cache `owner` the threads of the process
/// hold.
#[cfg(test)]
pub(crate) fn held(owner: u64) -> usize {
    live()
        .iter()
        .map(|hot| {
            let hot = hot.lock().unwrap_or_else(|p| p.into_inner());
            hot.entries.iter().flatten().filter(|e| e.owner == owner).count()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealer_draws_a_new_prefix_after_its_quota() {
        let xaes = Xaes::new(&[1; 32]);
        let mut sealer = Sealer::new();
        let mut draws = 0u8;
        let mut next = || {
            draws += 1;
            Ok::<_, ()>([draws; 12])
        };
        let mut prefixes = Vec::new();
        for _ in 0..PREFIX_USES + 1 {
            let key = sealer.key(&xaes, &mut next).unwrap();
            if prefixes.last() != Some(key.prefix()) {
                prefixes.push(*key.prefix());
            }
        }
        assert_eq!(prefixes, [[1; 12], [2; 12]]);
        // A failed draw is passed on, and the next call draws again.
        let mut fresh = Sealer::new();
        assert!(fresh.key(&xaes, || Err("no entropy")).is_err());
        assert_eq!(
            fresh.key(&xaes, || Ok::<_, ()>([9; 12])).unwrap().prefix(),
            &[9; 12]
        );
    }
}
