//! The portal's audit log: one JSON line per action (who, what, which
//! lab, when, whether it worked), appended to `<state>/.portal/audit.jsonl`
//! (0600). It names people by their class and name, never by a token.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Serialize;

use super::auth::Who;
use crate::error::{Context, Result};

/// An action as the log keeps it.
#[derive(Debug, Serialize)]
struct Line<'a> {
    /// Seconds since the epoch.
    time: u64,
    class: &'a str,
    who: &'a str,
    role: crate::class::links::Role,
    action: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    lab: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    server: Option<&'a str>,
    ok: bool,
}

/// The log, opened once for appending.
pub struct Audit {
    pub path: PathBuf,
    file: Mutex<std::fs::File>,
}

impl Audit {
    pub fn open(root: &Path) -> Result<Audit> {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let dir = root.join(".portal");
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot make {} private", dir.display()))?;
        let path = dir.join("audit.jsonl");
        let file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("cannot open the audit log {}", path.display()))?;
        Ok(Audit {
            path,
            file: Mutex::new(file),
        })
    }

    /// Writes one action. A log that cannot be written is said on stderr
    /// once per action, and the action stands.
    pub fn log(&self, who: &Who, action: &str, lab: Option<&str>, server: Option<&str>, ok: bool) {
        let line = Line {
            time: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            class: &who.class,
            who: &who.name,
            role: who.role,
            action,
            lab,
            server,
            ok,
        };
        let mut text = serde_json::to_string(&line).expect("an audit line serialises");
        text.push('\n');
        let mut f = self.file.lock().expect("audit lock");
        if let Err(e) = f.write_all(text.as_bytes()) {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("serve: cannot write the audit log: {e}");
            }
        }
    }
}
