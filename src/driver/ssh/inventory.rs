//! Inventories: which real host each server of a stack is, for the SSH
//! driver.
//!
//! ```yaml
//! defaults: { user: root, port: 22, key: ~/.ssh/id_ed25519 }
//! hosts:
//!   lb-01: { host: 192.0.2.10 }
//!   web-01: { host: 192.0.2.11, user: admin, agent: true }
//!   lb-02: { host: 192.0.2.12, vip-interface: ens4 }
//! ```
//!
//! Every server of the stack needs a host, and every host a server: a
//! missing or extra one is an input error naming it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::Deserialize;

use crate::error::{Diagnostic, Error, Result};
use crate::stack::source::{self, Source};
use crate::topology::Topology;

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct HostSpec {
    /// Address or name to connect to.
    pub host: Option<String>,
    /// SSH port (22).
    pub port: Option<u16>,
    /// User to log in as; sudo is used when it is not root.
    pub user: Option<String>,
    /// Private key file.
    pub key: Option<String>,
    /// Authenticate with the SSH agent instead of a key file.
    pub agent: Option<bool>,
    /// Network interface that carries the virtual IP, when it should not be
    /// found from the server's address.
    pub vip_interface: Option<String>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct InventoryFile {
    /// Settings every host takes unless it says otherwise.
    #[serde(default)]
    pub defaults: HostSpec,
    /// One entry per server of the stack.
    pub hosts: BTreeMap<String, HostSpec>,
}

/// A host ready to connect to.
#[derive(Debug, Clone)]
pub struct Host {
    pub server: String,
    pub host: String,
    pub port: u16,
    pub user: String,
    pub auth: Auth,
    pub vip_interface: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Auth {
    Key(PathBuf),
    Agent,
}

fn expand(p: &str, base: &Path) -> PathBuf {
    if let Some(rest) = p.strip_prefix("~/") {
        if let Some(home) = std::env::var_os("HOME") {
            return PathBuf::from(home).join(rest);
        }
    }
    let p = PathBuf::from(p);
    if p.is_relative() {
        base.join(p)
    } else {
        p
    }
}

/// Reads an inventory and matches it against the stack's servers.
pub fn load(path: &Path, topo: &Topology) -> Result<Vec<Host>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::usage(format!("cannot read inventory `{}`: {e}", path.display())))?;
    let src = Source {
        name: path.display().to_string(),
        text,
        dir: path.parent().map(Path::to_path_buf),
    };
    let doc = source::read(src, &NoExtends)?;
    let file: InventoryFile = serde_path_to_error::deserialize(doc.value).map_err(|e| {
        let p = e.path().to_string();
        Error::Stack(vec![Diagnostic::new(format!(
            "inventory: {p}: {}",
            e.inner()
        ))
        .at(doc.locator.value(&p))])
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut diags = coverage(&file, topo, &doc.locator);
    let mut hosts = Vec::new();
    for s in &topo.stack.servers {
        let Some(h) = file.hosts.get(&s.name) else {
            continue;
        };
        match host_of(&s.name, h, &file.defaults, base) {
            Ok(host) => hosts.push(host),
            Err(message) => diags
                .push(Diagnostic::new(message).at(doc.locator.key(&format!("hosts.{}", s.name)))),
        }
    }
    if !diags.is_empty() {
        return Err(Error::Stack(diags));
    }
    Ok(hosts)
}

/// A host for every server of the stack, and no host for anything else.
fn coverage(file: &InventoryFile, topo: &Topology, locator: &source::Locator) -> Vec<Diagnostic> {
    let stack = &topo.stack;
    let mut diags = Vec::new();
    for s in stack
        .servers
        .iter()
        .filter(|s| !file.hosts.contains_key(&s.name))
    {
        diags.push(
            Diagnostic::new(format!(
                "inventory: no host for server `{}` of stack `{}`",
                s.name, stack.name
            ))
            .at(locator.value("hosts"))
            .hint(format!(
                "add `{}: {{ host: ADDRESS }}` under `hosts:`",
                s.name
            )),
        );
    }
    let names: Vec<&str> = stack.servers.iter().map(|s| s.name.as_str()).collect();
    for name in file.hosts.keys().filter(|n| stack.server(n).is_none()) {
        diags.push(
            Diagnostic::new(format!(
                "inventory: `{name}` is not a server of stack `{}`",
                stack.name
            ))
            .at(locator.key(&format!("hosts.{name}")))
            .hint(format!("servers: {}", names.join(", "))),
        );
    }
    diags
}

/// Server `server`'s host from its entry and the defaults; what is missing
/// when it cannot be reached.
fn host_of(
    server: &str,
    h: &HostSpec,
    d: &HostSpec,
    base: &Path,
) -> std::result::Result<Host, String> {
    let host = h
        .host
        .clone()
        .or(d.host.clone())
        .ok_or_else(|| format!("inventory: host `{server}` has no `host:` address"))?;
    let auth = if h.agent.or(d.agent).unwrap_or(false) {
        Auth::Agent
    } else {
        let key = h.key.clone().or(d.key.clone()).ok_or_else(|| {
            format!("inventory: host `{server}` has neither `key:` nor `agent: true`")
        })?;
        Auth::Key(expand(&key, base))
    };
    Ok(Host {
        server: server.to_string(),
        host,
        port: h.port.or(d.port).unwrap_or(22),
        user: h
            .user
            .clone()
            .or(d.user.clone())
            .unwrap_or_else(|| "root".into()),
        auth,
        vip_interface: h.vip_interface.clone(),
    })
}

struct NoExtends;

impl source::Resolver for NoExtends {
    fn resolve(&self, reference: &str, _: Option<&Path>) -> Result<Source> {
        Err(Error::usage(format!(
            "an inventory cannot extend `{reference}`"
        )))
    }
}
