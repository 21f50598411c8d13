//! Stack sources: reading YAML files, following `extends`, and remembering
//! where every key and value came from so that errors found later (by serde
//! or by validation) can point at the file, line and column.
//!
//! serde_yaml gives positions for syntax errors only, so a second pass over
//! the same text with yaml-rust2's marked events records the position of
//! every node under its path (`servers.web-01.components[2]`). Duplicate keys
//! are caught in that pass too.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde_yaml::{Mapping, Value};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

use crate::error::{Diagnostic, Error, Location, Result};

/// A stack source text and the name it is shown under in errors.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub text: String,
    /// Directory that relative `extends` paths are resolved from (none for
    /// built-in stacks).
    pub dir: Option<PathBuf>,
}

/// Where a node is: which source, 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pos {
    source: usize,
    line: usize,
    column: usize,
}

/// Positions of every key and value of a (possibly merged) stack document.
#[derive(Debug, Default, Clone)]
pub struct Locator {
    sources: Vec<Source>,
    keys: HashMap<String, Pos>,
    values: HashMap<String, Pos>,
}

impl Locator {
    /// Location of the value at `path`, falling back to its key, then to the
    /// nearest ancestor that has a position.
    pub fn value(&self, path: &str) -> Option<Location> {
        self.find(path, true)
    }

    /// Location of the key at `path` (where `servers.web-01` is written).
    pub fn key(&self, path: &str) -> Option<Location> {
        self.find(path, false)
    }

    fn find(&self, path: &str, value_first: bool) -> Option<Location> {
        let mut p = path.to_string();
        loop {
            let hit = if value_first {
                self.values.get(&p).or_else(|| self.keys.get(&p))
            } else {
                self.keys.get(&p).or_else(|| self.values.get(&p))
            };
            if let Some(pos) = hit {
                return Some(self.location(*pos));
            }
            p = parent_path(&p)?;
        }
    }

    fn location(&self, pos: Pos) -> Location {
        let src = &self.sources[pos.source];
        Location {
            file: src.name.clone(),
            line: pos.line,
            column: pos.column,
            text: src
                .text
                .lines()
                .nth(pos.line.saturating_sub(1))
                .unwrap_or("")
                .to_string(),
        }
    }

    /// The source the top-level document was read from (the last layer).
    pub fn main_source(&self) -> Option<&Source> {
        self.sources.last()
    }
}

/// `a.b[2].c` -> `a.b[2]` -> `a.b` -> `a` -> `` -> None.
fn parent_path(p: &str) -> Option<String> {
    if p.is_empty() {
        return None;
    }
    let cut = p.rfind(['.', '[']).unwrap_or(0);
    Some(p[..cut].to_string())
}

pub fn join_key(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

pub fn join_index(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

enum Frame {
    Map {
        path: String,
        pending_key: Option<String>,
        seen: HashSet<String>,
    },
    Seq {
        path: String,
        next: usize,
    },
}

/// Walks yaml-rust2 events, recording positions and duplicate keys.
struct Recorder {
    source: usize,
    frames: Vec<Frame>,
    keys: HashMap<String, Pos>,
    values: HashMap<String, Pos>,
    duplicates: Vec<(String, Pos)>,
}

impl Recorder {
    fn pos(&self, m: Marker) -> Pos {
        Pos {
            source: self.source,
            line: m.line(),
            column: m.col() + 1,
        }
    }

    /// Path of the node that starts now, or None when it is a mapping key
    /// (which is recorded as such).
    fn node_path(&mut self, ev: &Event, pos: Pos) -> Option<String> {
        match self.frames.last_mut() {
            None => Some(String::new()),
            Some(Frame::Seq { path, next }) => {
                let p = join_index(path, *next);
                *next += 1;
                Some(p)
            }
            Some(Frame::Map {
                path,
                pending_key,
                seen,
            }) => match pending_key.take() {
                Some(key) => Some(join_key(path, &key)),
                None => {
                    let key = match ev {
                        Event::Scalar(s, ..) => s.clone(),
                        _ => "?".to_string(),
                    };
                    let full = join_key(path, &key);
                    if !seen.insert(key.clone()) {
                        self.duplicates.push((full.clone(), pos));
                    }
                    self.keys.insert(full, pos);
                    *pending_key = Some(key);
                    None
                }
            },
        }
    }
}

impl MarkedEventReceiver for Recorder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let pos = self.pos(mark);
        match ev {
            Event::Scalar(..) | Event::Alias(..) => {
                if let Some(p) = self.node_path(&ev, pos) {
                    self.values.insert(p, pos);
                }
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                let p = self.node_path(&ev, pos).unwrap_or_default();
                self.values.insert(p.clone(), pos);
                self.frames.push(if matches!(ev, Event::MappingStart(..)) {
                    Frame::Map {
                        path: p,
                        pending_key: None,
                        seen: HashSet::new(),
                    }
                } else {
                    Frame::Seq { path: p, next: 0 }
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.frames.pop();
            }
            _ => {}
        }
    }
}

/// A stack document after following `extends`, with the positions of all
/// its nodes.
pub struct Document {
    pub value: Value,
    pub locator: Locator,
}

/// Resolves a stack reference (built-in name or path) to its source.
pub trait Resolver {
    fn resolve(&self, reference: &str, from_dir: Option<&Path>) -> Result<Source>;
}

/// Reads `source`, follows its `extends` chain and merges the layers.
pub fn read(source: Source, resolver: &dyn Resolver) -> Result<Document> {
    let mut layers: Vec<(Source, Value)> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    let mut next = Some(source);
    while let Some(src) = next.take() {
        if seen.contains(&src.name) {
            seen.push(src.name.clone());
            return Err(Error::Stack(vec![Diagnostic::new(format!(
                "`extends` forms a cycle: {}",
                seen.join(" -> ")
            ))]));
        }
        seen.push(src.name.clone());
        let value = parse(&src)?;
        if let Some(parent) = value.get("extends") {
            let Some(parent) = parent.as_str() else {
                let loc = locate_alone(&src, "extends");
                return Err(Error::Stack(vec![Diagnostic::new(
                    "`extends` must be the name or path of another stack",
                )
                .at(loc)]));
            };
            let parent_src = resolver.resolve(parent, src.dir.as_deref()).map_err(|e| {
                let loc = locate_alone(&src, "extends");
                match e {
                    Error::Usage { message, hint } => {
                        let mut d = Diagnostic::new(message).at(loc);
                        d.hint = hint;
                        Error::Stack(vec![d])
                    }
                    other => other,
                }
            })?;
            next = Some(parent_src);
        }
        layers.push((src, value));
    }

    // Merge from the root ancestor down to the file asked for.
    let mut locator = Locator::default();
    let mut merged: Option<Value> = None;
    for (src, value) in layers.into_iter().rev() {
        let idx = locator.sources.len();
        let rec = record(&src, idx)?;
        locator.sources.push(src);
        for (k, v) in rec.keys {
            locator.keys.insert(k, v);
        }
        for (k, v) in rec.values {
            locator.values.insert(k, v);
        }
        merged = Some(match merged {
            None => value,
            Some(mut base) => {
                if let Value::Mapping(m) = &mut base {
                    // What a stack says of itself is not inherited.
                    for own in ["name", "description", "extends"] {
                        m.remove(own);
                    }
                }
                merge(base, value)
            }
        });
    }
    Ok(Document {
        value: merged.unwrap_or(Value::Null),
        locator,
    })
}

/// Parses one source into a YAML value, reporting syntax errors and
/// duplicate keys with their position.
fn parse(src: &Source) -> Result<Value> {
    let rec = record(src, 0)?;
    if let Some((path, pos)) = rec.duplicates.first() {
        let loc = Locator {
            sources: vec![src.clone()],
            ..Default::default()
        }
        .location(*pos);
        let what = match path.strip_prefix("servers.") {
            Some(name) if !name.contains(['.', '[']) => format!("duplicate server name `{name}`"),
            _ => format!("duplicate key `{path}`"),
        };
        return Err(Error::Stack(vec![Diagnostic::new(what)
            .at(Some(loc))
            .hint(
                "each key may appear once in a mapping; rename or merge the two entries",
            )]));
    }
    let value: Value = serde_yaml::from_str(&src.text).map_err(|e| {
        let loc = e.location().map(|l| Location {
            file: src.name.clone(),
            line: l.line(),
            column: l.column(),
            text: src
                .text
                .lines()
                .nth(l.line().saturating_sub(1))
                .unwrap_or("")
                .to_string(),
        });
        let msg = e.to_string();
        // serde_yaml appends " at line X column Y"; the location says it.
        let msg = match msg.find(" at line ") {
            Some(i) => msg[..i].to_string(),
            None => msg,
        };
        Error::Stack(vec![Diagnostic::new(format!("invalid YAML: {msg}")).at(loc)])
    })?;
    if !value.is_mapping() {
        return Err(Error::Stack(vec![Diagnostic::new(
            "a stack file is a mapping with `domain`, `networks` and `servers`",
        )
        .at(Some(Location {
            file: src.name.clone(),
            line: 1,
            column: 1,
            text: src.text.lines().next().unwrap_or("").to_string(),
        }))]));
    }
    Ok(value)
}

fn record(src: &Source, idx: usize) -> Result<Recorder> {
    let mut rec = Recorder {
        source: idx,
        frames: Vec::new(),
        keys: HashMap::new(),
        values: HashMap::new(),
        duplicates: Vec::new(),
    };
    let mut parser = Parser::new_from_str(&src.text);
    parser.load(&mut rec, false).map_err(|e| {
        Error::Stack(vec![Diagnostic::new(format!("invalid YAML: {}", e.info()))
            .at(Some(Location {
                file: src.name.clone(),
                line: e.marker().line(),
                column: e.marker().col() + 1,
                text: src
                    .text
                    .lines()
                    .nth(e.marker().line().saturating_sub(1))
                    .unwrap_or("")
                    .to_string(),
            }))])
    })?;
    Ok(rec)
}

fn locate_alone(src: &Source, path: &str) -> Option<Location> {
    let rec = record(src, 0).ok()?;
    let loc = Locator {
        sources: vec![src.clone()],
        keys: rec.keys,
        values: rec.values,
    };
    loc.value(path)
}

/// Deep merge: mappings merge key by key, anything else in `over` replaces
/// `base`, and a null in `over` removes the key.
pub fn merge(base: Value, over: Value) -> Value {
    match (base, over) {
        (Value::Mapping(mut b), Value::Mapping(o)) => {
            for (k, v) in o {
                if v.is_null() {
                    b.remove(&k);
                    continue;
                }
                // In place, so inherited keys keep their order.
                match b.get_mut(&k) {
                    Some(old) => {
                        let prev = std::mem::replace(old, Value::Null);
                        *old = merge(prev, v);
                    }
                    None => {
                        b.insert(k, v);
                    }
                }
            }
            Value::Mapping(b)
        }
        (_, over) => over,
    }
}

/// An empty mapping, for callers that need one.
pub fn empty() -> Value {
    Value::Mapping(Mapping::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(text: &str) -> Source {
        Source {
            name: "t.yaml".into(),
            text: text.into(),
            dir: None,
        }
    }

    #[test]
    fn records_positions_of_keys_and_values() {
        let rec = record(
            &src("domain: foobar.com\nservers:\n  web-01:\n    components:\n      - nginx\n      - app\n"),
            0,
        )
        .unwrap();
        let at = |p: &str| rec.values.get(p).map(|p| (p.line, p.column));
        assert_eq!(at("domain"), Some((1, 9)));
        assert_eq!(at("servers.web-01.components[1]"), Some((6, 9)));
        let key = rec.keys.get("servers.web-01").map(|p| (p.line, p.column));
        assert_eq!(key, Some((3, 3)));
    }

    #[test]
    fn parent_paths_walk_up() {
        assert_eq!(parent_path("a.b[2].c").as_deref(), Some("a.b[2]"));
        assert_eq!(parent_path("a.b[2]").as_deref(), Some("a.b"));
        assert_eq!(parent_path("a").as_deref(), Some(""));
        assert_eq!(parent_path(""), None);
    }

    #[test]
    fn merge_overrides_removes_and_replaces_lists() {
        let base: Value = serde_yaml::from_str("a: {x: 1, y: 2}\nl: [1, 2]\nk: 3\n").unwrap();
        let over: Value = serde_yaml::from_str("a: {y: 5}\nl: [9]\nk: ~\n").unwrap();
        let m = merge(base, over);
        let want: Value = serde_yaml::from_str("a: {x: 1, y: 5}\nl: [9]\n").unwrap();
        assert_eq!(m, want);
    }

    #[test]
    fn duplicate_server_is_reported_with_position() {
        let err = parse(&src("servers:\n  web-01: {}\n  web-01: {}\n")).unwrap_err();
        let Error::Stack(d) = err else { panic!() };
        assert_eq!(d[0].message, "duplicate server name `web-01`");
        let loc = d[0].location.as_ref().unwrap();
        assert_eq!((loc.line, loc.column), (3, 3));
    }
}
