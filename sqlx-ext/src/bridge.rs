//! Runs database work for the synchronous core traits ([`KeyStore`],
//! [`AuditSink`]) on a thread of its own with its own runtime and pool.
//!
//! Blocking on a future from the caller's thread would panic inside a
//! Tokio runtime and deadlock a single-threaded one; a dedicated thread
//! does neither, whatever the caller runs on.
//!
//! [`KeyStore`]: phisafe::crypto::KeyStore
//! [`AuditSink`]: phisafe::audit::AuditSink

use std::future::Future;
use std::pin::Pin;
use std::sync::mpsc;
use std::thread::JoinHandle;

use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;
use tokio::sync::mpsc as tmpsc;

use phisafe::fork::ForkCheck;

use crate::Error;

type Job = Box<
    dyn FnOnce(AnyPool) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send,
>;

/// A background thread owning a connection pool; jobs run one at a time.
pub(crate) struct Bridge {
    jobs: Option<tmpsc::UnboundedSender<Job>>,
    thread: Option<JoinHandle<()>>,
    /// The thread and its connections stay in the process that made them;
    /// a forked child queueing work would wait for it forever.
    fork: ForkCheck,
}

impl Bridge {
    /// Starts the thread and connects; fails if the database cannot be
    /// reached.
    pub(crate) fn connect(url: &str) -> Result<Bridge, Error> {
        crate::install_drivers();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Runtime(e.to_string()))?;
        let (ready_tx, ready_rx) = mpsc::sync_channel(1);
        let (jobs, mut rx) = tmpsc::unbounded_channel::<Job>();
        let url = url.to_string();
        let thread = std::thread::Builder::new()
            .name("phisafe-sqlx".into())
            .spawn(move || {
                rt.block_on(async move {
                    let pool = match AnyPoolOptions::new()
                        .max_connections(2)
                        .acquire_timeout(crate::ACQUIRE_TIMEOUT)
                        .connect(&url)
                        .await
                    {
                        Ok(p) => {
                            let _ = ready_tx.send(Ok(()));
                            p
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(Error::Db(e)));
                            return;
                        }
                    };
                    while let Some(job) = rx.recv().await {
                        job(pool.clone()).await;
                    }
                    pool.close().await;
                });
            })
            .map_err(|e| Error::Runtime(e.to_string()))?;
        let bridge = Bridge {
            jobs: Some(jobs),
            thread: Some(thread),
            fork: ForkCheck::new(),
        };
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(bridge),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(Error::Runtime("the database thread died".into())),
        }
    }

    /// Queues `f` without waiting for it.
    pub(crate) fn spawn<F, Fut>(&self, f: F) -> Result<(), Error>
    where
        F: FnOnce(AnyPool) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        if self.fork.forked() {
            return Err(Error::Forked);
        }
        let job: Job = Box::new(move |pool| Box::pin(f(pool)));
        self.jobs.as_ref().and_then(|j| j.send(job).ok()).ok_or_else(|| {
            Error::Runtime("the database thread stopped".into())
        })
    }

    /// Runs `f` and waits for its result.
    pub(crate) fn call<T, F, Fut>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(AnyPool) -> Fut + Send + 'static,
        Fut: Future<Output = T> + Send + 'static,
    {
        let (tx, rx) = mpsc::sync_channel(1);
        self.spawn(move |pool| async move {
            let _ = tx.send(f(pool).await);
        })?;
        rx.recv()
            .map_err(|_| Error::Runtime("the database thread stopped".into()))
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        if self.fork.disown(&mut self.thread) {
            return;
        }
        // Closing the queue ends the thread after the queued jobs.
        self.jobs = None;
        if let Some(t) = self.thread.take()
            && t.thread().id() != std::thread::current().id()
        {
            let _ = t.join();
        }
    }
}
