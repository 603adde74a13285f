//! Nonces and keys from a user-space CSPRNG.
//!
//! An OS random call costs more than sealing a short value, so each thread
//! keeps a ChaCha20 generator seeded from the OS. It is reseeded every
//! `RESEED_EVERY` draws and after every fork: a forked child (gunicorn and
//! uwsgi fork workers after import) must never replay its parent's stream,
//! or two processes would draw the same nonces.
//!
//! Forks are noticed through a `pthread_atfork` child handler that bumps a
//! counter (`forkguard`), so the check is one atomic load. Asking for the
//! process id instead is a system call, about a third of sealing a short
//! value; it remains the fallback if the handler cannot be registered.

use std::cell::RefCell;

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use zeroize::Zeroizing;

use crate::fork::ForkCheck;

const RESEED_EVERY: u32 = 1 << 16;

struct State {
    fork: ForkCheck,
    draws: u32,
    rng: ChaCha20Rng,
}

thread_local! {
    static RNG: RefCell<Option<State>> = const { RefCell::new(None) };
}

/// The operating system's random source failed.
#[derive(Debug)]
pub(crate) struct RandomError;

fn seed() -> Result<ChaCha20Rng, RandomError> {
    let mut seed = Zeroizing::new([0u8; 32]);
    getrandom::fill(&mut seed[..]).map_err(|_| RandomError)?;
    Ok(ChaCha20Rng::from_seed(*seed))
}

/// Draws from this thread's generator; see [`with`].
pub(crate) struct Draw<'a>(&'a mut State);

impl Draw<'_> {
    /// Fills `buf` with cryptographically secure random bytes.
    pub(crate) fn fill(&mut self, buf: &mut [u8]) {
        self.0.draws = self.0.draws.saturating_add(1);
        self.0.rng.fill_bytes(buf);
    }
}

/// Runs `f` with this thread's generator, after checking (once) that the
/// process has not forked and the generator is due no reseed. A batch
/// pays for that check once, not per value. `f` must not call back into
/// this module.
pub(crate) fn with<R>(
    f: impl FnOnce(&mut Draw<'_>) -> R,
) -> Result<R, RandomError> {
    RNG.with(|cell| {
        let mut slot = cell.try_borrow_mut().map_err(|_| RandomError)?;
        let fresh = match &*slot {
            Some(s) => s.fork.forked() || s.draws >= RESEED_EVERY,
            None => true,
        };
        if fresh {
            // The check is made before seeding: a fork between the two
            // shows up at the next call.
            let fork = ForkCheck::new();
            *slot = Some(State { fork, draws: 0, rng: seed()? });
        }
        let state = slot.as_mut().ok_or(RandomError)?;
        Ok(f(&mut Draw(state)))
    })
}

/// Fills `buf` with cryptographically secure random bytes.
pub(crate) fn fill(buf: &mut [u8]) -> Result<(), RandomError> {
    with(|d| d.fill(buf))
}

/// Fills `buf` straight from the operating system: for long-lived keys,
/// and for the part of every nonce that must differ between clones of a
/// VM snapshot, which copy this module's user-space state.
pub(crate) fn fill_os(buf: &mut [u8]) -> Result<(), RandomError> {
    getrandom::fill(buf).map_err(|_| RandomError)
}

/// This thread's generator as a VM snapshot would copy it, and the way
/// back to it: for tests of what a restored clone draws.
#[cfg(test)]
pub(crate) fn snapshot() -> Option<ChaCha20Rng> {
    RNG.with(|cell| cell.borrow().as_ref().map(|s| s.rng.clone()))
}

/// Puts back a generator [`snapshot`] copied, as a restored clone has it.
#[cfg(test)]
pub(crate) fn restore(rng: ChaCha20Rng) {
    RNG.with(|cell| {
        if let Some(s) = cell.borrow_mut().as_mut() {
            s.rng = rng;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_differ_and_reseed_keeps_working() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..(RESEED_EVERY as usize + 10) {
            let mut n = [0u8; 24];
            fill(&mut n).unwrap();
            assert!(seen.insert(n), "a 192-bit draw repeated");
        }
    }

    #[test]
    fn threads_draw_independently() {
        let a = std::thread::spawn(|| {
            let mut n = [0u8; 24];
            fill(&mut n).unwrap();
            n
        });
        let mut b = [0u8; 24];
        fill(&mut b).unwrap();
        assert_ne!(a.join().unwrap(), b);
    }
}
