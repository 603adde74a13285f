//! The batch pipeline of the parallel redactors.

use std::io;

/// How reading a batch ended.
pub(crate) enum End {
    /// There is more to read.
    More,
    /// The input ended with this batch.
    Done,
    /// Reading failed after this batch: the error is reported once the
    /// batch is written, as a sequential redactor would.
    Failed(io::Error),
}

/// Runs batches through three stages at once: while batch N is processed
/// by `work` (which parallelizes on the rayon pool), batch N+1 is read by
/// `read`, and `write` gets batch N-1 with its result on the calling
/// thread, so a writer need not be `Send`. Batches are written in order;
/// the output is the sequential one.
pub(crate) fn run<B: Send + Sync, T: Send>(
    mut read: impl FnMut() -> (B, End) + Send,
    work: impl Fn(&B) -> T + Sync,
    mut write: impl FnMut(B, T) -> io::Result<()>,
) -> io::Result<()> {
    let mut next = read();
    let mut pending: Option<(B, T)> = None;
    loop {
        let (batch, end) = next;
        let mut done = None;
        let mut read_next = None;
        let mut written = Ok(());
        rayon::in_place_scope(|s| {
            s.spawn(|_| {
                let (d, r) = rayon::join(
                    || work(&batch),
                    || matches!(end, End::More).then(&mut read),
                );
                (done, read_next) = (Some(d), r);
            });
            if let Some((batch, result)) = pending.take() {
                written = write(batch, result);
            }
        });
        written?;
        // The scope waited for the spawned stage; it panics if that did.
        let Some(done) = done else { unreachable!("the stage ran") };
        match (end, read_next) {
            (End::More, Some(after)) => {
                pending = Some((batch, done));
                next = after;
            }
            (end, _) => {
                write(batch, done)?;
                return match end {
                    End::Failed(e) => Err(e),
                    _ => Ok(()),
                };
            }
        }
    }
}
