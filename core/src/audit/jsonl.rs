//! The JSONL file sink with group commit.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use super::{AuditError, AuditEvent, AuditKey, AuditRecord, AuditSink, Chain};
use crate::fork::ForkCheck;

/// When appended records reach the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Write and fsync every record before `append` returns, one at a
    /// time. Costs one fsync per call.
    EveryRecord,
    /// Group commit, the default: `append` returns once its record is
    /// written and fsynced, and records appended while a batch is being
    /// written go together in the next one, so concurrent callers share
    /// fsyncs. No plaintext leaves a decryption whose record is not on
    /// disk.
    Group {
        /// Most records per write.
        max_records: usize,
    },
    /// Opt-out, for callers who accept the risk: `append` returns at once
    /// and records are written and fsynced together when `max_records`
    /// are waiting or the oldest has waited `max_delay`. A crash loses the
    /// records of that window although their calls returned (a decryption
    /// may have handed out plaintext with no record on disk); a failed
    /// write poisons the sink, so every later call fails (closed).
    Deferred {
        /// Records per write.
        max_records: usize,
        /// Longest a record waits.
        max_delay: Duration,
    },
}

impl Default for Durability {
    /// Group commit of up to 1024 records per write.
    fn default() -> Durability {
        Durability::Group { max_records: 1024 }
    }
}

struct Inner {
    chain: Chain,
    /// Sealed records not yet handed to the writer.
    buf: Vec<u8>,
    /// An empty buffer to swap in, so allocations are reused.
    spare: Vec<u8>,
    pending: usize,
    /// Records sealed since the sink opened, and how many of them are on
    /// disk: a group-commit caller waits for `durable` to pass its own.
    sealed: u64,
    durable: u64,
    oldest: Option<Instant>,
    /// The flusher is writing a batch outside the lock.
    writing: bool,
    flush_now: bool,
    poisoned: bool,
    stop: bool,
}

struct Shared {
    path: PathBuf,
    file: File,
    inner: Mutex<Inner>,
    /// Wakes the flusher.
    wake: Condvar,
    /// Signals that a batch reached the disk (or failed).
    drained: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self, bytes: &[u8]) -> std::io::Result<()> {
        (&self.file).write_all(bytes)?;
        self.file.sync_data()
    }
}

/// Appends the chain to a JSONL file, one record per line.
///
/// One sink per file: it takes an exclusive lock on the file for its
/// lifetime. Opening an existing log continues its chain after checking
/// the last record's MAC; a torn last line (a crash mid-write, never
/// acknowledged) is cut off first.
///
/// With [`Durability::Group`] a background thread writes and syncs each
/// batch while callers seal records into the next one; every caller
/// waits for its own record's sync. With [`Durability::Deferred`] callers
/// wait only when more than eight batches are outstanding; call
/// [`flush`](AuditSink::flush) before exit, since dropping the sink writes
/// what is left but cannot report a failure.
pub struct JsonlSink {
    shared: Arc<Shared>,
    flusher: Option<JoinHandle<()>>,
    durability: Durability,
    /// A forked child has the parent's chain state but not its writer:
    /// appending there would fork the chain or wait forever.
    fork: ForkCheck,
}

impl JsonlSink {
    /// Opens or creates the log at `path`.
    pub fn open(
        path: &Path,
        key: AuditKey,
        durability: Durability,
    ) -> Result<JsonlSink, AuditError> {
        let mut options = OpenOptions::new();
        options.read(true).append(true).create(true);
        // Owner-only, like the keyring: records name actors, scopes and
        // row references.
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(AuditError::Io)?;
        if file.try_lock().is_err() {
            return Err(AuditError::InUse(path.to_path_buf()));
        }
        let chain = match last_record(&mut file)? {
            Some(last) => Chain::resume(key, &last)?,
            None => Chain::new(key)?,
        };
        let shared = Arc::new(Shared {
            path: path.to_path_buf(),
            file,
            inner: Mutex::new(Inner {
                chain,
                buf: Vec::with_capacity(256 << 10),
                spare: Vec::with_capacity(256 << 10),
                pending: 0,
                sealed: 0,
                durable: 0,
                oldest: None,
                writing: false,
                flush_now: false,
                poisoned: false,
                stop: false,
            }),
            wake: Condvar::new(),
            drained: Condvar::new(),
        });
        // Group commit writes as soon as records wait (callers are
        // blocked on them); deferred writes collect up to a delay.
        let batching = match durability {
            Durability::EveryRecord => None,
            Durability::Group { max_records } => {
                Some((max_records, Duration::ZERO))
            }
            Durability::Deferred { max_records, max_delay } => {
                Some((max_records, max_delay))
            }
        };
        let flusher = match batching {
            None => None,
            Some((max_records, max_delay)) => {
                let shared = Arc::clone(&shared);
                let spawned = std::thread::Builder::new()
                    .name("phisafe-audit".into())
                    .spawn(move || {
                        flusher(&shared, max_records.max(1), max_delay)
                    })
                    .map_err(AuditError::Io)?;
                Some(spawned)
            }
        };
        Ok(JsonlSink { shared, flusher, durability, fork: ForkCheck::new() })
    }

    /// The log file.
    pub fn path(&self) -> &Path {
        &self.shared.path
    }
}

fn flusher(shared: &Shared, max_records: usize, max_delay: Duration) {
    let mut inner = shared.lock();
    loop {
        let due = inner.pending >= max_records
            || inner.flush_now
            || inner.stop
            || inner.oldest.is_some_and(|t| t.elapsed() >= max_delay);
        if !due || inner.pending == 0 {
            inner.flush_now = false;
            shared.drained.notify_all();
            if inner.stop {
                return;
            }
            let wait = inner
                .oldest
                .map_or(max_delay, |t| max_delay.saturating_sub(t.elapsed()));
            inner = shared
                .wake
                .wait_timeout(inner, wait)
                .unwrap_or_else(|p| p.into_inner())
                .0;
            continue;
        }
        let spare = std::mem::take(&mut inner.spare);
        let mut batch = std::mem::replace(&mut inner.buf, spare);
        let upto = inner.sealed;
        inner.pending = 0;
        inner.oldest = None;
        inner.writing = true;
        drop(inner);
        let res = shared.write(&batch);
        batch.clear();
        inner = shared.lock();
        inner.writing = false;
        inner.spare = batch;
        if res.is_err() {
            // Every later append and flush fails: nothing after a hole.
            inner.poisoned = true;
        } else {
            inner.durable = upto;
        }
        shared.drained.notify_all();
    }
}

/// Reads the last complete record, truncating a torn tail.
fn last_record(file: &mut File) -> Result<Option<AuditRecord>, AuditError> {
    let len = file.metadata().map_err(AuditError::Io)?.len();
    if len == 0 {
        return Ok(None);
    }
    // A record is well under 64 KiB unless callers pass huge ids; read
    // more if no full line fits.
    let mut window = 64u64 << 10;
    loop {
        let start = len.saturating_sub(window);
        file.seek(SeekFrom::Start(start)).map_err(AuditError::Io)?;
        let mut tail = Vec::with_capacity((len - start) as usize);
        file.read_to_end(&mut tail).map_err(AuditError::Io)?;
        let complete = match tail.iter().rposition(|&b| b == b'\n') {
            Some(i) => i + 1,
            None if start == 0 => 0,
            None => {
                window *= 4;
                continue;
            }
        };
        if complete < tail.len() {
            file.set_len(start + complete as u64).map_err(AuditError::Io)?;
            file.sync_data().map_err(AuditError::Io)?;
        }
        let body = &tail[..complete];
        let body = body.strip_suffix(b"\n").unwrap_or(body);
        let line_start =
            body.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        if line_start == 0 && start > 0 {
            window *= 4;
            continue;
        }
        let line = &body[line_start..];
        if line.is_empty() {
            return Ok(None);
        }
        return serde_json::from_slice(line)
            .map(Some)
            .map_err(|_| AuditError::WrongKey);
    }
}

/// Outstanding batches beyond which appends wait for the writer.
const MAX_BACKLOG_BATCHES: usize = 8;

impl AuditSink for JsonlSink {
    fn append(&self, event: &AuditEvent<'_>) -> Result<(), AuditError> {
        // Before the lock: a lock held by another thread at the fork stays
        // held in the child.
        if self.fork.forked() {
            return Err(AuditError::Forked);
        }
        let mut inner = self.shared.lock();
        if let Durability::Deferred { max_records, .. } = self.durability {
            while inner.pending >= max_records.max(1) * MAX_BACKLOG_BATCHES
                && !inner.poisoned
            {
                self.shared.wake.notify_one();
                inner = self
                    .shared
                    .drained
                    .wait(inner)
                    .unwrap_or_else(|p| p.into_inner());
            }
        }
        if inner.poisoned {
            return Err(AuditError::Poisoned);
        }
        let Inner { chain, buf, .. } = &mut *inner;
        if let Err(e) = chain.seal_json(event, SystemTime::now(), buf) {
            // The chain advanced past a record that is not written.
            inner.poisoned = true;
            return Err(e);
        }
        inner.pending += 1;
        inner.sealed += 1;
        match self.durability {
            Durability::EveryRecord => {
                let res = self.shared.write(&inner.buf);
                inner.buf.clear();
                inner.pending = 0;
                inner.durable = inner.sealed;
                res.map_err(|e| {
                    inner.poisoned = true;
                    AuditError::Io(e)
                })
            }
            Durability::Group { .. } => {
                let mine = inner.sealed;
                if inner.oldest.is_none() {
                    inner.oldest = Some(Instant::now());
                }
                self.shared.wake.notify_one();
                while inner.durable < mine && !inner.poisoned {
                    inner = self
                        .shared
                        .drained
                        .wait(inner)
                        .unwrap_or_else(|p| p.into_inner());
                }
                if inner.durable < mine {
                    return Err(AuditError::Poisoned);
                }
                Ok(())
            }
            Durability::Deferred { max_records, .. } => {
                if inner.oldest.is_none() {
                    inner.oldest = Some(Instant::now());
                    self.shared.wake.notify_one();
                } else if inner.pending == max_records.max(1) {
                    self.shared.wake.notify_one();
                }
                Ok(())
            }
        }
    }

    fn flush(&self) -> Result<(), AuditError> {
        if self.fork.forked() {
            return Err(AuditError::Forked);
        }
        let mut inner = self.shared.lock();
        if self.flusher.is_some() {
            while (inner.pending > 0 || inner.writing) && !inner.poisoned {
                inner.flush_now = true;
                self.shared.wake.notify_one();
                inner = self
                    .shared
                    .drained
                    .wait(inner)
                    .unwrap_or_else(|p| p.into_inner());
            }
        }
        if inner.poisoned { Err(AuditError::Poisoned) } else { Ok(()) }
    }
}

impl Drop for JsonlSink {
    fn drop(&mut self) {
        // In a fork, the writer and the records it owes are the parent's.
        if self.fork.disown(&mut self.flusher) {
            return;
        }
        self.shared.lock().stop = true;
        self.shared.wake.notify_one();
        if let Some(h) = self.flusher.take() {
            let _ = h.join();
        }
    }
}

impl std::fmt::Debug for JsonlSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonlSink")
            .field("path", &self.shared.path)
            .field("durability", &self.durability)
            .finish_non_exhaustive()
    }
}
