//! Stacks: loading a stack (built-in by name, or a YAML file by path),
//! following `extends`, deserializing it and validating it into a [`Stack`]
//! that the rest of infractl can trust.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use include_dir::{include_dir, Dir};

use crate::components::{Component, ComponentSpec};
use crate::error::{Diagnostic, Error, Result};

mod checker;
pub mod de;
pub(crate) use references::primaries;
mod names;
pub mod net;
pub mod port;
pub mod raw;
mod references;
pub mod relocate;
pub mod source;
mod validate;
mod zone;

pub use names::{valid_name, MAX_NAME};
pub use net::Subnet;
pub use source::Kind;
use source::{Locator, Resolver, Source};

static BUILTIN: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/stacks");

/// A validated stack.
#[derive(Debug, Clone)]
pub struct Stack {
    /// The lab's name: the stack's own, or the one a lab instance was
    /// given (`--lab`). It prefixes every container and network.
    pub name: String,
    /// The stack's own name (`name:`, or its file's), whatever the lab's.
    pub origin: String,
    pub description: String,
    pub domain: String,
    pub networks: Vec<Network>,
    pub servers: Vec<Server>,
    pub dns: raw::Dns,
    pub tls: Option<raw::Tls>,
    pub firewall: raw::Firewall,
}

#[derive(Debug, Clone)]
pub struct Network {
    pub name: String,
    pub subnet: Subnet,
    /// Users reach the site from this network.
    pub public: bool,
}

#[derive(Debug, Clone)]
pub struct Server {
    pub name: String,
    pub description: Option<String>,
    /// (network name, address), in the order written.
    pub addrs: Vec<(String, Ipv4Addr)>,
    /// The address users reach it at: on a public network if it has one,
    /// else its first.
    pub public_addr: Ipv4Addr,
    pub components: Vec<ComponentSpec>,
}

impl Stack {
    pub fn server(&self, name: &str) -> Option<&Server> {
        self.servers.iter().find(|s| s.name == name)
    }

    /// The memory a running lab of the stack holds, in MB: each server's
    /// base (runit, sshd) and what each of its components' kinds holds.
    pub fn memory_mb(&self) -> u64 {
        /// A container with nothing but its supervisor and sshd, as the
        /// engine counts it (their pages and the page cache of what they
        /// read: each container has its own copy on fuse-overlayfs).
        const SERVER_MB: u64 = 9;
        self.servers
            .iter()
            .map(|s| {
                SERVER_MB
                    + s.components
                        .iter()
                        .map(|c| u64::from(c.kind().memory_mb))
                        .sum::<u64>()
            })
            .sum()
    }

    pub fn network(&self, name: &str) -> Option<&Network> {
        self.networks.iter().find(|n| n.name == name)
    }

    /// Names of the servers running the kind named `kind`, in stack order.
    pub fn with(&self, kind: &str) -> Vec<String> {
        self.servers
            .iter()
            .filter(|s| s.has(kind))
            .map(|s| s.name.clone())
            .collect()
    }
}

impl Server {
    /// Whether the server runs the kind named `kind`.
    pub fn has(&self, kind: &str) -> bool {
        debug_assert!(
            crate::components::KINDS.iter().any(|k| k.name == kind),
            "`{kind}` is not a kind"
        );
        self.components.iter().any(|c| c.name() == kind)
    }

    /// The options of its component of kind `T`, if it runs one
    /// (`server.get::<nginx::Options>()`).
    pub fn get<T: Component>(&self) -> Option<&T> {
        self.components.iter().find_map(|c| c.options::<T>())
    }

    /// The address its DNS name points at (see `public_addr`).
    pub fn primary_addr(&self) -> Ipv4Addr {
        self.public_addr
    }

    pub fn addr_on(&self, network: &str) -> Option<Ipv4Addr> {
        self.addrs
            .iter()
            .find(|(n, _)| n == network)
            .map(|(_, a)| *a)
    }
}

/// A built-in stack: its name and one-line description.
pub struct Builtin {
    pub name: String,
    pub description: String,
}

/// The stacks shipped inside the binary, sorted by name.
pub fn builtins() -> Vec<Builtin> {
    let mut out: Vec<Builtin> = BUILTIN
        .files()
        .filter_map(|f| {
            let name = f.path().file_stem()?.to_str()?.to_string();
            let text = f.contents_utf8()?;
            let v: serde_yaml::Value = serde_yaml::from_str(text).ok()?;
            let description = v.get("description")?.as_str()?.to_string();
            Some(Builtin { name, description })
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

fn builtin_source(name: &str) -> Option<Source> {
    let file = BUILTIN.get_file(format!("{name}.yaml"))?;
    Some(Source {
        name: format!("stacks/{name}.yaml"),
        text: file.contents_utf8()?.to_string(),
        dir: None,
    })
}

struct FsResolver;

impl Resolver for FsResolver {
    fn resolve(&self, reference: &str, from_dir: Option<&Path>) -> Result<Source> {
        let looks_like_path =
            reference.contains('/') || reference.ends_with(".yaml") || reference.ends_with(".yml");
        if !looks_like_path {
            if let Some(src) = builtin_source(reference) {
                return Ok(src);
            }
        }
        let path = match from_dir {
            Some(dir) if Path::new(reference).is_relative() => dir.join(reference),
            _ => PathBuf::from(reference),
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Source {
                name: path.display().to_string(),
                text,
                dir: Some(path.parent().map(Path::to_path_buf).unwrap_or_default()),
            }),
            Err(e) => {
                let names: Vec<String> = builtins().into_iter().map(|b| b.name).collect();
                let msg = if looks_like_path {
                    format!("cannot read stack file `{}`: {e}", path.display())
                } else {
                    format!(
                        "no stack named `{reference}`, and no file `{}`",
                        path.display()
                    )
                };
                let hint =
                    match crate::error::did_you_mean(reference, names.iter().map(String::as_str)) {
                        Some(s) => {
                            format!("did you mean `{s}`? built-in stacks: {}", names.join(", "))
                        }
                        None => format!(
                        "built-in stacks: {} (see `infractl list`); or give a path to a YAML file",
                        names.join(", ")
                    ),
                    };
                Err(Error::usage(msg).with_hint(hint))
            }
        }
    }
}

/// Loads a stack by built-in name or path, follows `extends` and validates
/// it: everything that can be wrong with a stack is found here, at its line.
pub fn load(reference: &str) -> Result<Stack> {
    let src = FsResolver.resolve(reference, None)?;
    load_source(src)
}

/// Loads a stack from source text (used by `load` and by tests).
pub fn load_source(src: Source) -> Result<Stack> {
    load_source_as(src, &Instance::default())
}

/// A lab instance of a stack: its own name, and the subnets it moved to
/// where the stack's own were taken.
#[derive(Debug, Clone, Default)]
pub struct Instance {
    /// The lab's name; the stack's own when none.
    pub lab: Option<String>,
    pub moves: Vec<relocate::Move>,
}

/// Loads a stack (see `load`) as the lab instance `instance`.
pub fn load_as(reference: &str, instance: &Instance) -> Result<Stack> {
    let src = FsResolver.resolve(reference, None)?;
    load_source_as(src, instance)
}

fn load_source_as(src: Source, instance: &Instance) -> Result<Stack> {
    let default_name = Path::new(&src.name)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("stack")
        .to_string();
    let mut doc = source::read(src, &FsResolver)?;
    relocate::relocate(&mut doc.value, &instance.moves);
    let raw: raw::StackFile = deserialize(doc.value, &doc.locator)?;
    let mut stack = validate::validate(raw, default_name, &doc.locator)?;
    if let Some(lab) = &instance.lab {
        if let Some(p) = names::lab_name_problem(lab) {
            return Err(Error::usage(format!("lab name `{lab}` {p}"))
                .with_hint("it prefixes the names of the lab's containers and networks"));
        }
        stack.name = lab.clone();
    }
    Ok(stack)
}

/// Keys a stack may carry for its own use and infractl ignores: top-level
/// keys starting with `x-`, as in Compose files, hold anchors for merge keys
/// (`x-web: &web { ... }`, then `<<: *web`).
pub const EXTENSION_PREFIX: &str = "x-";

fn drop_extensions(value: &mut serde_yaml::Value) {
    if let serde_yaml::Value::Mapping(m) = value {
        m.retain(|k, _| !k.as_str().is_some_and(|k| k.starts_with(EXTENSION_PREFIX)));
    }
}

/// A hint for a key written from another tool's habits, by where it is.
fn habit_hint(parent: &str, key: &str) -> Option<&'static str> {
    let server = parent.starts_with("servers.") && !parent[8..].contains(['.', '[']);
    Some(match key {
        "role" | "roles" if server => "a server's roles come from its components: `nginx` makes a web server, `mariadb: { role: primary }` a database primary",
        "ip" | "address" | "addresses" | "ipv4_address" if server => "a server's addresses go under `networks:`, e.g. `networks: { public: 10 }`",
        "image" | "ports" | "environment" | "depends_on" | "build" if server => "infractl builds each server from its `components:`; their ports are options of each component",
        "services" | "hosts" if parent.is_empty() => "a stack lists its `servers:`, each with its `components:`",
        "version" if parent.is_empty() => "a stack has no version; `infractl schema` describes the format",
        _ => return None,
    })
}

/// The hint for an unknown `key` in the mapping at `parent`, serde's
/// message `inner` listing the keys allowed there.
fn unknown_key_hint(parent: &str, key: &str, inner: &str) -> Option<String> {
    if let Some(h) = habit_hint(parent, key) {
        return Some(h.to_string());
    }
    let allowed = allowed_keys(inner);
    let close = crate::error::did_you_mean(key, allowed).map(|k| format!("did you mean `{k}`?"));
    let free = parent
        .is_empty()
        .then_some("keys starting with `x-` are free for your own use (anchors, as in Compose)");
    match (close, free) {
        (Some(c), Some(f)) => Some(format!("{c} {f}")),
        (c, f) => c.or(f.map(str::to_string)),
    }
}

/// Deserializes the merged document, turning serde's error into a
/// diagnostic at the right line, in the stack's words.
fn deserialize(mut value: serde_yaml::Value, locator: &Locator) -> Result<raw::StackFile> {
    drop_extensions(&mut value);
    located(
        value,
        locator,
        &Words {
            unknown_key: unknown_key_hint,
            missing: "a stack has `domain`, `networks` and `servers`, or `extends` another stack that has them",
        },
    )
}

/// What a file's errors say beyond serde's: the hint for an unknown key
/// (from the path of its mapping, the key, and serde's message naming the
/// keys allowed), and the one for a key missing at the top.
pub struct Words {
    pub unknown_key: fn(&str, &str, &str) -> Option<String>,
    pub missing: &'static str,
}

/// The keys serde's message for an unknown key names as allowed.
pub fn allowed_keys(inner: &str) -> Vec<&str> {
    inner
        .split_once("expected")
        .map(|(_, list)| list.split('`').skip(1).step_by(2).collect())
        .unwrap_or_default()
}

/// A file of one document of `kind` (a class, an exercise, answers: no
/// `extends`) read into `T`, every error at its place; with the
/// positions, for the checks that follow.
pub fn read_located<T: serde::de::DeserializeOwned>(
    src: Source,
    kind: Kind,
    words: &Words,
) -> Result<(T, Locator)> {
    let doc = source::read_one(src, kind)?;
    let value = located(doc.value, &doc.locator, words)?;
    Ok((value, doc.locator))
}

/// Deserializes a document read with positions (a stack, a class file),
/// turning serde's error into a diagnostic at its line, in people's words.
pub fn located<T: serde::de::DeserializeOwned>(
    value: serde_yaml::Value,
    locator: &Locator,
    words: &Words,
) -> Result<T> {
    let first_key = value
        .as_mapping()
        .and_then(|m| m.keys().next())
        .and_then(|k| k.as_str())
        .unwrap_or_default()
        .to_string();
    serde_path_to_error::deserialize(value).map_err(|e| {
        let mut path = String::new();
        for seg in e.path().iter() {
            use serde_path_to_error::Segment;
            match seg {
                Segment::Seq { index } => path = source::join_index(&path, *index),
                Segment::Map { key } => path = source::join_key(&path, key),
                Segment::Enum { .. } | Segment::Unknown => {}
            }
        }
        let inner = e.into_inner().to_string();
        let message = de::humanize(&inner);
        let mut hint = None;
        // An unknown key's path ends with it: point at the key, and name
        // the mapping it is in.
        let location = if message.starts_with("unknown key") {
            let location = locator.key(&path);
            if inner.starts_with("unknown field `") {
                let (parent, key) = source::split_last(&path);
                hint = (words.unknown_key)(parent, key, &inner);
                path = parent.to_string();
            }
            location
        } else if message.ends_with("is missing") {
            // At the key of the mapping that lacks it (the first key, at the top).
            if path.is_empty() {
                hint = Some(words.missing.into());
                locator.key(&first_key)
            } else {
                locator.key(&path)
            }
        } else {
            locator.value(&path)
        };
        let message = if path.is_empty() {
            message
        } else {
            format!("{path}: {message}")
        };
        let mut d = Diagnostic::new(message).at(location);
        d.hint = hint;
        Error::Stack(vec![d])
    })
}

#[cfg(test)]
mod tests;
