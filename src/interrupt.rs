//! Ctrl-C. Every command stops on it, exit 130 as a shell says of a
//! program a signal stopped (143 for SIGTERM): the binary drops the
//! command's work and says `error: interrupted`. A command with something
//! to do first — `up` says how to resume, `logs -f` stops its `tail` on the
//! server — takes the signal itself while it holds a [`Handled`], and
//! returns [`Error::Interrupted`](crate::Error::Interrupted).

use std::sync::atomic::{AtomicUsize, Ordering};

/// How many commands (or parts of one) take Ctrl-C themselves now.
static HANDLED: AtomicUsize = AtomicUsize::new(0);

/// While held, Ctrl-C is the command's to act on: the binary waits for it
/// to stop (a second Ctrl-C does not wait).
#[must_use = "Ctrl-C is handled only while the guard lives"]
pub struct Handled(());

impl Drop for Handled {
    fn drop(&mut self) {
        HANDLED.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Takes Ctrl-C for the caller until the guard drops.
pub fn handle() -> Handled {
    HANDLED.fetch_add(1, Ordering::SeqCst);
    Handled(())
}

/// Whether a command takes Ctrl-C itself now.
pub fn handled() -> bool {
    HANDLED.load(Ordering::SeqCst) > 0
}

/// Ctrl-C (SIGINT), or SIGTERM (a terminal closed, a CI job cancelled,
/// `kill`): the signal's number, once one comes.
pub async fn signalled() -> i32 {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => libc::SIGINT,
                _ = term.recv() => libc::SIGTERM,
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            libc::SIGINT
        }
    }
}
