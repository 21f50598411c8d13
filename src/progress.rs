//! Progress reporting: the library emits events (and status notes)
//! through [`Progress`]; the binary draws them (indicatif bars and lines on
//! stderr). Nothing in the library prints.

/// Receives progress of long work. `task` names one line of progress (a
/// server, the image build); calls may come from several threads.
pub trait Progress: Send + Sync {
    /// A task starts; `total` steps when known.
    fn begin(&self, task: &str, total: Option<u64>, message: &str);
    /// The task moved on; `pos` steps done when counted.
    fn update(&self, task: &str, pos: Option<u64>, message: &str);
    /// The task ended.
    fn finish(&self, task: &str, ok: bool, message: &str);
    /// A status line for the person at the terminal (what was written
    /// where, what to try next): not a result, so the binary puts it on
    /// stderr, and `--quiet` drops it.
    fn note(&self, _message: &str) {}
}

/// Reports nothing (`--quiet`, `--json`, tests).
pub struct Silent;

impl Progress for Silent {
    fn begin(&self, _: &str, _: Option<u64>, _: &str) {}
    fn update(&self, _: &str, _: Option<u64>, _: &str) {}
    fn finish(&self, _: &str, _: bool, _: &str) {}
}

/// The environment variable that arms [`tripwire`]: `N:SIGNAL`, a signal
/// (`INT`, `TERM` or `KILL`) the process sends itself at its Nth progress
/// event. Tests use it to interrupt `up` at every point of a bring-up.
pub const TRIPWIRE_ENV: &str = "INFRACTL_TEST_SIGNAL_AFTER";

/// `progress`, or, when [`TRIPWIRE_ENV`] is set, `progress` counting its
/// events and signalling the process at the one named.
pub fn tripwire(progress: std::sync::Arc<dyn Progress>) -> std::sync::Arc<dyn Progress> {
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
