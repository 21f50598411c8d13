//! The portal's audit log: one JSON line per action (who, what, which
//! lab, when, whether it worked), appended to `<state>/.portal/audit.jsonl`
//! (0600). It names people by their class and name, never by a token.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

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

/// Seconds since the epoch (as links' ends are kept).
pub use crate::class::links::now;

/// The log, opened once for appending, and what it says of each
/// learner's last action (read from the log at start).
pub struct Audit {
    pub path: PathBuf,
    file: Mutex<std::fs::File>,
    active: Mutex<HashMap<String, u64>>,
}

/// What the log's lines say of activity: the last time of each lab's
/// learner.
fn activity(text: &str) -> HashMap<String, u64> {
    #[derive(Deserialize)]
    struct Seen {
        time: u64,
        role: crate::class::links::Role,
        lab: Option<String>,
    }
    let mut active = HashMap::new();
    for line in text.lines() {
        if let Ok(Seen {
            time,
            role: crate::class::links::Role::Learner,
            lab: Some(lab),
        }) = serde_json::from_str(line)
        {
            active.insert(lab, time);
        }
    }
    active
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
        let active = activity(&std::fs::read_to_string(&path).unwrap_or_default());
        Ok(Audit {
            path,
            file: Mutex::new(file),
            active: Mutex::new(active),
        })
    }

    /// Writes one action. A log that cannot be written is said on stderr
    /// once per action, and the action stands.
    pub fn log(&self, who: &Who, action: &str, lab: Option<&str>, server: Option<&str>, ok: bool) {
        let time = now();
        if let (crate::class::links::Role::Learner, Some(lab)) = (who.role, lab) {
            self.active
                .lock()
                .expect("audit lock")
                .insert(lab.to_string(), time);
        }
        let line = Line {
            time,
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

    /// When the learner of `lab` last did something on the portal.
    pub fn last_activity(&self, lab: &str) -> Option<u64> {
        self.active.lock().expect("audit lock").get(lab).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_learners_last_action_is_read_back_from_the_log() {
        let root = tempfile::tempdir().expect("tmp");
        let ann = Who {
            class: "c".into(),
            name: "ann".into(),
            role: crate::class::links::Role::Learner,
            lab: Some("c-ann".into()),
            reaches: vec!["c-ann".into()],
        };
        let teacher = Who {
            class: "c".into(),
            name: "instructor".into(),
            role: crate::class::links::Role::Instructor,
            lab: None,
            reaches: vec!["c-ann".into(), "c-ben".into()],
        };
        {
            let audit = Audit::open(root.path()).expect("open");
            audit.log(&ann, "stop", Some("c-ann"), Some("web-01"), true);
            audit.log(&teacher, "reset", Some("c-ben"), None, true);
            assert!(audit.last_activity("c-ann").is_some());
            assert_eq!(
                audit.last_activity("c-ben"),
                None,
                "the instructor's actions are not the learner's"
            );
        }
        let again = Audit::open(root.path()).expect("reopen");
        assert!(
            again.last_activity("c-ann").is_some(),
            "read back after a restart"
        );
        let text = std::fs::read_to_string(&again.path).expect("read");
        let first: serde_json::Value =
            serde_json::from_str(text.lines().next().expect("a line")).expect("json");
        assert_eq!(first["who"], "ann");
        assert_eq!(first["action"], "stop");
        assert_eq!(first["server"], "web-01");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&again.path)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
