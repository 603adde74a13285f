//! The JSONL file sink with group commit.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{AuditError, AuditEvent, AuditKey, AuditRecord, AuditSink, Chain};

/// When appended records reach the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Write and fsync every record before `append` returns. Strongest;
    /// costs one fsync per call.
    EveryRecord,
    /// Group commit: records collect in memory and are written and
    /// fsynced together when `max_records` are waiting or the oldest has
    /// waited `max_delay`. A crash loses at most that window; a failed
    /// write poisons the sink, so every later call fails (closed).
    Group {
        /// Records per write.
        max_records: usize,
        /// Longest a record waits.
        max_delay: Duration,
    },
}

impl Default for Durability {
    /// Group commit of up to 1024 records or 50 ms.
    fn default() -> Durability {
        Durability::Group {
            max_records: 1024,
            max_delay: Duration::from_millis(50),
        }
    }
}

struct Inner {
    path: PathBuf,
    file: File,
    chain: Chain,
    buf: Vec<u8>,
    pending: usize,
    oldest: Option<Instant>,
    poisoned: bool,
    stop: bool,
}

impl Inner {
    fn flush(&mut self) -> Result<(), AuditError> {
        if self.poisoned {
            return Err(AuditError::Poisoned);
        }
        if self.buf.is_empty() {
            return Ok(());
        }
        let res = self
            .file
            .write_all(&self.buf)
            .and_then(|()| self.file.sync_data());
        if let Err(e) = res {
            self.poisoned = true;
            return Err(AuditError::Io(e));
        }
        self.buf.clear();
        self.pending = 0;
        self.oldest = None;
        Ok(())
    }
}

struct Shared {
    inner: Mutex<Inner>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Appends the chain to a JSONL file, one record per line.
///
/// One sink per file: it takes an exclusive lock on the file for its
/// lifetime. Opening an existing log continues its chain after checking
/// the last record's MAC; a torn last line (a crash mid-write, never
/// acknowledged) is cut off first.
pub struct JsonlSink {
    shared: Arc<Shared>,
    flusher: Option<JoinHandle<()>>,
    durability: Durability,
}

impl JsonlSink {
    /// Opens or creates the log at `path`.
    pub fn open(
        path: &Path,
        key: AuditKey,
        durability: Durability,
    ) -> Result<JsonlSink, AuditError> {
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(AuditError::Io)?;
        if file.try_lock().is_err() {
            return Err(AuditError::InUse(path.to_path_buf()));
        }
        let chain = match last_record(&mut file)? {
            Some(last) => Chain::resume(key, &last)?,
            None => Chain::new(key),
        };
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner {
                path: path.to_path_buf(),
                file,
                chain,
                buf: Vec::with_capacity(64 << 10),
                pending: 0,
                oldest: None,
                poisoned: false,
                stop: false,
            }),
            wake: Condvar::new(),
        });
        let flusher = match durability {
            Durability::EveryRecord => None,
            Durability::Group { max_delay, .. } => {
                let shared = Arc::clone(&shared);
                let spawned = std::thread::Builder::new()
                    .name("phisafe-audit".into())
                    .spawn(move || flusher(&shared, max_delay))
                    .map_err(AuditError::Io)?;
                Some(spawned)
            }
        };
        Ok(JsonlSink { shared, flusher, durability })
    }

    /// The log file.
    pub fn path(&self) -> PathBuf {
        self.shared.lock().path.clone()
    }
}

fn flusher(shared: &Shared, max_delay: Duration) {
    let mut inner = shared.lock();
    loop {
        if inner.stop {
            let _ = inner.flush();
            return;
        }
        let wait = match inner.oldest {
            Some(t) => max_delay.saturating_sub(t.elapsed()),
            None => max_delay,
        };
        if inner.oldest.is_some() && wait.is_zero() {
            // Failure poisons the sink; callers see it on their next append.
            let _ = inner.flush();
            continue;
        }
        inner = shared
            .wake
            .wait_timeout(inner, wait)
            .unwrap_or_else(|p| p.into_inner())
            .0;
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

impl AuditSink for JsonlSink {
    fn append(&self, event: &AuditEvent) -> Result<(), AuditError> {
        let mut inner = self.shared.lock();
        if inner.poisoned {
            return Err(AuditError::Poisoned);
        }
        let record = inner.chain.seal(event);
        if let Err(e) = serde_json::to_writer(&mut inner.buf, &record) {
            // The chain advanced past a record that is not written.
            inner.poisoned = true;
            return Err(AuditError::Other(format!(
                "cannot encode an audit record: {e}"
            )));
        }
        inner.buf.push(b'\n');
        inner.pending += 1;
        match self.durability {
            Durability::EveryRecord => inner.flush(),
            Durability::Group { max_records, .. } => {
                if inner.pending >= max_records {
                    inner.flush()
                } else {
                    if inner.oldest.is_none() {
                        inner.oldest = Some(Instant::now());
                        self.shared.wake.notify_one();
                    }
                    Ok(())
                }
            }
        }
    }

    fn flush(&self) -> Result<(), AuditError> {
        self.shared.lock().flush()
    }
}

impl Drop for JsonlSink {
    fn drop(&mut self) {
        self.shared.lock().stop = true;
        self.shared.wake.notify_one();
        if let Some(h) = self.flusher.take() {
            let _ = h.join();
        } else {
            let _ = self.shared.lock().flush();
        }
    }
}

impl std::fmt::Debug for JsonlSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonlSink")
            .field("path", &self.path())
            .field("durability", &self.durability)
            .finish_non_exhaustive()
    }
}
