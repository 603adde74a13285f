//! Noticing that the process forked.
//!
//! A forked child inherits its parent's memory but not its threads: a
//! random generator would replay the parent's stream, and a sink whose
//! writer thread stayed in the parent would wait for it forever. State
//! that must not cross a fork keeps a [`ForkCheck`] and asks it.

use std::thread::JoinHandle;

/// Made in one process; [`forked`](ForkCheck::forked) is true in any
/// process forked from it since.
///
/// Forks are counted by a `pthread_atfork` child handler (the `forkguard`
/// crate), so a check is one atomic load, cheap enough for every call.
/// Where the handler cannot be registered, the check compares process
/// ids, a system call each time. A child made by a raw `clone` system
/// call, bypassing the C library's `fork`, runs no handler; every
/// common runtime (Python's `os.fork`, gunicorn, uwsgi, `multiprocessing`)
/// forks through it.
///
/// ```
/// let check = phisafe::fork::ForkCheck::new();
/// assert!(!check.forked());
/// ```
#[derive(Clone, Debug)]
pub struct ForkCheck(How);

#[derive(Clone, Debug)]
enum How {
    #[cfg(unix)]
    Atfork(forkguard::atfork::Guard),
    Pid(u32),
}

impl Default for ForkCheck {
    fn default() -> ForkCheck {
        ForkCheck::new()
    }
}

impl ForkCheck {
    /// A check made now, in this process.
    pub fn new() -> ForkCheck {
        #[cfg(unix)]
        if let Ok(guard) = forkguard::atfork::Guard::try_new() {
            return ForkCheck(How::Atfork(guard));
        }
        ForkCheck(How::Pid(std::process::id()))
    }

    /// Whether this process is a fork of (or a fork's descendant of) the
    /// one that made the check. Stays true: make a new check to reset.
    pub fn forked(&self) -> bool {
        match &self.0 {
            // `detected_fork` records what it saw; a clone keeps the
            // original snapshot, so the answer does not reset.
            #[cfg(unix)]
            How::Atfork(guard) => guard.clone().detected_fork(),
            How::Pid(pid) => *pid != std::process::id(),
        }
    }

    /// In a forked child, forgets `thread` and returns true: the thread
    /// runs in the parent only, so joining it would wait forever and even
    /// detaching it would name a thread this process does not have.
    pub fn disown<T>(&self, thread: &mut Option<JoinHandle<T>>) -> bool {
        if !self.forked() {
            return false;
        }
        if let Some(h) = thread.take() {
            std::mem::forget(h);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_a_fork_a_thread_is_not_disowned() {
        let check = ForkCheck::new();
        let mut thread = Some(std::thread::spawn(|| 7));
        assert!(!check.disown(&mut thread));
        assert_eq!(thread.take().map(|t| t.join().ok()), Some(Some(7)));
    }
}
