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
