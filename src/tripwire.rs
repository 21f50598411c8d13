//! A test hook, built only with the `test-hooks` feature (the tests turn
//! it on; a release build has none of it): progress that signals its own
//! process at a chosen event, so that the tests can interrupt `up` at
//! every point of a bring-up and see it resume.

use crate::progress::Progress;

/// The environment variable that arms [`arm`]: `N:SIGNAL`, a signal
/// (`INT`, `TERM` or `KILL`) the process sends itself at its Nth progress
/// event. Tests use it to interrupt `up` at every point of a bring-up.
pub const TRIPWIRE_ENV: &str = "INFRACTL_TEST_SIGNAL_AFTER";

/// `progress`, or, when [`TRIPWIRE_ENV`] is set, `progress` counting its
/// events and signalling the process at the one named.
pub fn arm(progress: std::sync::Arc<dyn Progress>) -> std::sync::Arc<dyn Progress> {
    let Some((after, signal)) = std::env::var(TRIPWIRE_ENV).ok().and_then(|v| {
        let (n, sig) = v.split_once(':')?;
        let signal = match sig {
            "INT" => libc::SIGINT,
            "TERM" => libc::SIGTERM,
            "KILL" => libc::SIGKILL,
            _ => return None,
        };
        Some((n.parse().ok()?, signal))
    }) else {
        return progress;
    };
    std::sync::Arc::new(Tripwire {
        inner: progress,
        after,
        signal,
        seen: std::sync::atomic::AtomicU64::new(0),
    })
}

struct Tripwire {
    inner: std::sync::Arc<dyn Progress>,
    after: u64,
    signal: i32,
    seen: std::sync::atomic::AtomicU64,
}

impl Tripwire {
    fn tick(&self) {
        let n = self.seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        if n == self.after {
            // SAFETY: kill(2) on our own pid has no memory-safety concerns.
            unsafe {
                libc::kill(libc::getpid(), self.signal);
            }
        }
    }
}

impl Progress for Tripwire {
    fn begin(&self, task: &str, total: Option<u64>, message: &str) {
        self.inner.begin(task, total, message);
        self.tick();
    }
    fn update(&self, task: &str, pos: Option<u64>, message: &str) {
        self.inner.update(task, pos, message);
        self.tick();
    }
    fn finish(&self, task: &str, ok: bool, message: &str) {
        self.inner.finish(task, ok, message);
        self.tick();
    }
}
