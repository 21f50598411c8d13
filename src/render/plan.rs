//! The plan: pure data saying what every server gets.
//!
//! Per server: its networks and addresses, the packages it needs, the files
//! (path, mode, content and its sha256), the services to run under the
//! supervisor (or systemd), one-shot setup steps, readiness probes, and the
//! checks `infractl validate` runs on the rendered files. Plus the bring-up
//! order. Both drivers consume the same plan; `infractl render` writes it to
//! disk. Content hashes let a re-apply skip what has not changed.

use std::fmt::Write as _;
use std::path::Path;

use serde::{Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::error::{Context, Result};

/// Seconds a server's services get to become ready, unless told otherwise.
pub const READY_SECONDS: u32 = 60;

/// The plan's file in a render directory (`infractl render`).
pub const PLAN_FILE: &str = "plan.json";

#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// The lab's name (the stack's, unless `--lab` gave another).
    pub stack: String,
    /// The stack's own name, for the labels that name it; no part of what
    /// is built.
    #[serde(skip)]
    pub origin: String,
    /// The node image every server runs (Docker driver).
    pub image: String,
    pub domain: String,
    pub networks: Vec<NetworkPlan>,
    pub servers: Vec<ServerPlan>,
    /// Bring-up order: each stage's servers start together, after the
    /// stage before is ready.
    pub order: Vec<Vec<String>>,
    /// Servers an `up` restarts one at a time, each ready before the next:
    /// a cluster that would stop if they all went at once (a Galera
    /// cluster without its quorum).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rolling: Vec<String>,
    /// Hash of everything above.
    pub hash: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct NetworkPlan {
    pub name: String,
    pub subnet: String,
    pub gateway: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServerPlan {
    pub name: String,
    pub roles: Vec<String>,
    pub components: Vec<String>,
    pub networks: Vec<Attachment>,
    /// The lab's DNS servers' addresses as this server reaches them (the
    /// primary first), if it does.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resolvers: Vec<String>,
    /// Linux capabilities the server's programs need in a container.
    pub capabilities: Vec<String>,
    pub packages: Vec<String>,
    pub files: Vec<FileSpec>,
    pub services: Vec<Service>,
    pub setup: Vec<Step>,
    pub probes: Vec<Probe>,
    pub checks: Vec<Check>,
    /// Directories whose contents outlive the server (see [`Keep`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub keeps: Vec<Keep>,
    /// Hash of this server's part of the plan.
    pub hash: String,
}

/// A directory of a server whose contents outlive the server itself: what
/// learners write there (a database, a metrics history) is kept when the
/// server is made again (in a Docker volume of the lab), and goes with the
/// lab. Each component says what it keeps.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Keep {
    /// The directory on the server.
    pub path: String,
    /// A short name for it, unique on the server (`mysql`): the end of its
    /// volume's name.
    pub name: String,
    /// What it holds, for people (`database`, `metrics history`).
    pub what: String,
    /// Whose data it is (`the primary's own writes`, `a copy of
    /// server-01`): what is there is kept only while this stays the same.
    pub holds: String,
    /// The server whose data this is a copy of (a replica's primary): when
    /// that server's starts afresh, so does this.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub follows: Option<String>,
}

impl Keep {
    /// What a primary's own data holds: its writes, which no other
    /// server has.
    pub const PRIMARY_WRITES: &'static str = "the primary's own writes";

    /// What a database's directory is, for people.
    pub const DATABASE: &'static str = "database";

    /// What a copy of `server`'s data holds (a replica's).
    pub fn copy_of(server: &str) -> String {
        format!("a copy of {server}")
    }

    /// Whether data that holds `holds` is a copy of another server's (a
    /// replica's): lost with its server, it is still there.
    pub fn is_copy(holds: &str) -> bool {
        holds.starts_with("a copy of ")
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Attachment {
    pub network: String,
    pub address: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileSpec {
    /// Absolute path on the server.
    pub path: String,
    #[serde(serialize_with = "octal")]
    pub mode: u32,
    /// Owner (`user` or `user:group`), root when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    pub sha256: String,
    /// Holds a password or a private key.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub secret: bool,
    #[serde(skip)]
    pub content: Vec<u8>,
}

fn octal<S: Serializer>(mode: &u32, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{mode:04o}"))
}

/// A long-running service, kept running by the supervisor.
#[derive(Debug, Clone, Serialize)]
pub struct Service {
    pub name: String,
    /// Shell commands run before each start (create run directories, ...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pre: Vec<String>,
    /// The program in the foreground, as argv.
    pub command: Vec<String>,
    /// Run as this user (the program drops privileges itself when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// How to apply a changed configuration without a restart.
    pub reload: Reload,
    /// Files whose change requires a reload of this service.
    pub watches: Vec<String>,
    /// A real host already has it (sshd): only containers need it from us.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub host_provides: bool,
    /// The distribution's systemd units for the same daemon, disabled on a
    /// systemd host while infractl's unit runs (and put back by `down`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub replaces: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Reload {
    /// Send a signal to the main process.
    Signal { signal: String },
    /// Run a command.
    Command { command: String },
    /// Restart the service.
    Restart,
}

/// A one-shot, idempotent setup command.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub name: String,
    /// Before the services start, or once they are ready.
    pub when: When,
    pub run: String,
    /// Files the step reads: on a re-apply it runs again only when one of
    /// them changed.
    pub inputs: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum When {
    BeforeStart,
    AfterReady,
}

/// How to tell a service is ready.
#[derive(Debug, Clone, Serialize)]
pub struct Probe {
    pub service: String,
    /// Shell command that exits 0 once the service is ready.
    pub command: String,
    /// What the probe expects, for error messages.
    pub expect: String,
}

/// A check of rendered files by the program that will read them.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// The program and its check mode, e.g. `nginx -t`.
    pub program: String,
    /// The file checked.
    pub file: String,
    /// Shell command that exits 0 when the file is good.
    pub command: String,
}

/// The paths of `files` by the directory each goes in, directories sorted.
pub fn paths_by_dir(files: &[FileSpec]) -> std::collections::BTreeMap<String, Vec<&str>> {
    let mut out: std::collections::BTreeMap<String, Vec<&str>> = Default::default();
    for f in files {
        let dir = std::path::Path::new(&f.path)
            .parent()
            .map_or_else(|| "/".to_string(), |p| p.display().to_string());
        out.entry(dir).or_default().push(&f.path);
    }
    out
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

impl ServerPlan {
    pub fn new(name: &str) -> Self {
        ServerPlan {
            name: name.to_string(),
            roles: vec![],
            components: vec![],
            networks: vec![],
            resolvers: vec![],
            capabilities: vec![],
            packages: vec![],
            files: vec![],
            services: vec![],
            setup: vec![],
            probes: vec![],
            checks: vec![],
            keeps: vec![],
            hash: String::new(),
        }
    }

    /// Fills in `hash` from everything else (file contents included).
    pub fn seal(&mut self) {
        self.hash = String::new();
        let mut h = Sha256::new();
        h.update(serde_json::to_vec(self).expect("plan serializes"));
        self.hash = hex::encode(h.finalize());
    }

    /// Hash of what a container needs at creation (image, networks,
    /// capabilities, resolvers): when it changes, the container is made anew.
    pub fn structure_hash(&self, image: &str) -> String {
        // One resolver hashes as the lone address it was before a lab
        // could have two: labs of one DNS server are not made anew.
        let resolvers = match self.resolvers.as_slice() {
            [] => serde_json::Value::Null,
            [one] => serde_json::json!(one),
            many => serde_json::json!(many),
        };
        let v = serde_json::json!([image, self.networks, self.capabilities, resolvers]);
        sha256_hex(v.to_string().as_bytes())[..16].to_string()
    }

    /// What the server keeps in `path`, if it keeps it.
    pub fn keep(&self, path: &str) -> Option<&Keep> {
        self.keeps.iter().find(|k| k.path == path)
    }

    pub fn file(&self, path: &str) -> Option<&FileSpec> {
        self.files.iter().find(|f| f.path == path)
    }
}

impl Plan {
    pub fn seal(&mut self) {
        self.hash = String::new();
        self.hash = sha256_hex(&serde_json::to_vec(self).expect("plan serializes"));
    }

    /// The plan for real hosts: without the services such hosts already
    /// have (their own sshd), and their probes.
    pub fn for_real_hosts(mut self) -> Self {
        for s in &mut self.servers {
            let gone: Vec<String> = s
                .services
                .iter()
                .filter(|x| x.host_provides)
                .map(|x| x.name.clone())
                .collect();
            s.services.retain(|x| !x.host_provides);
            s.probes.retain(|p| !gone.contains(&p.service));
            s.seal();
        }
        self.seal();
        self
    }

    pub fn server(&self, name: &str) -> Option<&ServerPlan> {
        self.servers.iter().find(|s| s.name == name)
    }

    /// Writes every server's files under `dir/<server>/<path>` and the plan
    /// as `dir/plan.json`. Secret files are written with mode 0600. Errors
    /// name the file.
    pub fn write_to(&self, dir: &Path) -> Result<Vec<String>> {
        let mut written = Vec::new();
        self.write_files(dir, &mut written)
            .with_context(|| format!("cannot write the render of stack `{}`", self.stack))?;
        Ok(written)
    }

    fn write_files(&self, dir: &Path, written: &mut Vec<String>) -> std::io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        for s in &self.servers {
            for f in &s.files {
                let rel = f.path.trim_start_matches('/');
                let dest = dir.join(&s.name).join(rel);
                let parent = dest.parent().expect("file has a parent");
                fs_err::create_dir_all(parent)?;
                fs_err::write(&dest, &f.content)?;
                let mode = if f.secret { 0o600 } else { f.mode & 0o755 };
                fs_err::set_permissions(&dest, std::fs::Permissions::from_mode(mode))?;
                written.push(format!("{}/{}", s.name, rel));
            }
        }
        let json = serde_json::to_string_pretty(self).expect("plan serializes");
        fs_err::write(dir.join(PLAN_FILE), json + "\n")?;
        written.push(PLAN_FILE.to_string());
        Ok(())
    }

    /// A short human summary: per server, its roles and file count.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        for s in &self.servers {
            let _ = writeln!(
                out,
                "{:<10} {:<34} {:>2} files, services: {}",
                s.name,
                s.roles.join(", "),
                s.files.len(),
                s.services
                    .iter()
                    .map(|x| x.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        out
    }
}
