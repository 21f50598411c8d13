//! Stack sources: reading YAML files, following `extends`, and remembering
//! where every key and value came from so that errors found later (by serde
//! or by validation) can point at the file, line and column.
//!
//! serde_yaml gives positions for syntax errors only, so a second pass over
//! the same text with yaml-rust2's marked events records the position and
//! width of every node under its path (`servers.web-01.components[2]`).
//! Duplicate keys, and integers too large for any reader, are caught in that
//! pass too. What is merged in with a YAML merge key (`<<: *defaults`) or
//! repeated with an alias is located where its anchor wrote it.
//!
//! Text is read as people save it: a UTF-8 byte order mark is dropped, and
//! CRLF line endings read as LF ones.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde_yaml::{Mapping, Value};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

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

/// Where a node is: which source, 1-based line and column, and how many
/// characters it spans on that line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pos {
    source: usize,
    line: usize,
    column: usize,
    width: usize,
}

/// What kind of file a source is, as its errors say it.
#[derive(Debug, Clone, Copy)]
pub struct Kind {
    /// `a stack file`.
    pub file: &'static str,
    /// The keys it has, for a file that is not a mapping: `` `stack` and `students` ``.
    pub keys: &'static str,
}

/// A stack file.
pub const STACK: Kind = Kind {
    file: "a stack file",
    keys: "`domain`, `networks` and `servers`",
};

/// Positions of every key and value of a (possibly merged) stack document.
#[derive(Debug, Default, Clone)]
pub struct Locator {
    sources: Vec<Source>,
    keys: HashMap<String, Pos>,
    values: HashMap<String, Pos>,
}

impl Locator {
    /// One problem of the file at `path` (its value, or its key when
    /// `key`), as an error.
    pub fn problem(&self, path: &str, key: bool, message: String, hint: Option<String>) -> Error {
        let at = if key {
            self.key(path)
        } else {
            self.value(path)
        };
        let mut d = Diagnostic::new(message).at(at);
        d.hint = hint;
        Error::Stack(vec![d])
    }

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
            text: line_of(&src.text, pos.line).to_string(),
            width: pos.width,
        }
    }

    /// The source the top-level document was read from (the last layer).
    pub fn main_source(&self) -> Option<&Source> {
        self.sources.last()
    }
}

/// (`a.b[2]`, `c`) of `a.b[2].c`; (``, `a`) of `a`.
pub fn split_last(p: &str) -> (&str, &str) {
    match p.rfind(['.', '[']) {
        Some(i) => (&p[..i], p[i..].trim_start_matches('.')),
        None => ("", p),
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

/// `path` moved from under `from` to under `to` (`a.x.b`, `a.x`, `c` ->
/// `c.b`); None when `path` is not strictly under `from`.
fn rebase(path: &str, from: &str, to: &str) -> Option<String> {
    let rest = if from.is_empty() {
        path
    } else {
        path.strip_prefix(from)?
    };
    if rest.is_empty() {
        return None;
    }
    let rest = match rest.strip_prefix('.') {
        Some(r) => r,
        None if rest.starts_with('[') => rest,
        None if from.is_empty() => rest,
        None => return None,
    };
    Some(if rest.starts_with('[') {
        format!("{to}{rest}")
    } else {
        join_key(to, rest)
    })
}

/// Line `n` (1-based) of `text`, without its line ending.
fn line_of(text: &str, n: usize) -> &str {
    text.lines().nth(n.saturating_sub(1)).unwrap_or("")
}

/// How many characters the node starting at `col` (0-based) of `line`
/// spans: a quoted scalar to its closing quote, a plain one its value
/// (when it is written on that line), an alias its name, anything else one.
fn width_at(line: &str, col: usize, ev: &Event) -> usize {
    let rest: Vec<char> = line.chars().skip(col).collect();
    match ev {
        Event::Scalar(v, TScalarStyle::Plain, ..) => {
            let n = v.chars().count();
            if rest.iter().take(n).copied().eq(v.chars()) {
                n
            } else {
                1
            }
        }
        Event::Scalar(_, TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted, ..) => {
            let Some(&quote) = rest.first() else {
                return 1;
            };
            let mut i = 1;
            while i < rest.len() {
                match rest[i] {
                    '\\' if quote == '"' => i += 1,
                    '\'' if quote == '\'' && rest.get(i + 1) == Some(&'\'') => i += 1,
                    c if c == quote => return i + 1,
                    _ => {}
                }
                i += 1;
            }
            rest.len().max(1)
        }
        Event::Alias(_) => rest
            .iter()
            .take_while(|c| !c.is_whitespace() && !matches!(c, ',' | ']' | '}'))
            .count()
            .max(1),
        _ => 1,
    }
}

/// A plain scalar that YAML reads as an integer, and that no integer type
/// holds (serde_yaml refuses the whole file for it).
fn overflows(v: &str) -> bool {
    let digits = v.strip_prefix(['-', '+']).unwrap_or(v);
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && v.parse::<i64>().is_err()
        && v.parse::<u64>().is_err()
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

/// Walks yaml-rust2 events, recording positions, anchors, duplicate keys
/// and integers too large to read.
struct Recorder<'a> {
    source: usize,
    text: &'a str,
    frames: Vec<Frame>,
    keys: HashMap<String, Pos>,
    values: HashMap<String, Pos>,
    /// Anchor id -> path of the node that carries it.
    anchors: HashMap<usize, String>,
    duplicates: Vec<(String, Pos)>,
    overflows: Vec<(String, Pos, String)>,
}

/// The key of a YAML merge.
const MERGE: &str = "<<";

impl<'a> Recorder<'a> {
    fn new(src: &'a Source, source: usize) -> Self {
        Recorder {
            source,
            text: &src.text,
            frames: Vec::new(),
            keys: HashMap::new(),
            values: HashMap::new(),
            anchors: HashMap::new(),
            duplicates: Vec::new(),
            overflows: Vec::new(),
        }
    }

    fn pos(&self, m: Marker, ev: &Event) -> Pos {
        Pos {
            source: self.source,
            line: m.line(),
            column: m.col() + 1,
            width: width_at(line_of(self.text, m.line()), m.col(), ev),
        }
    }

    /// The mapping a merge key's value merges into, when the node starting
    /// now is that value (or an item of its list).
    fn merge_target(&self) -> Option<String> {
        let n = self.frames.len();
        match self.frames.last()? {
            Frame::Map {
                path, pending_key, ..
            } if pending_key.as_deref() == Some(MERGE) => Some(path.clone()),
            Frame::Seq { path, .. } if n >= 2 => match &self.frames[n - 2] {
                Frame::Map {
                    path: parent,
                    pending_key,
                    ..
                } if pending_key.as_deref() == Some(MERGE) && *path == join_key(parent, MERGE) => {
                    Some(parent.clone())
                }
                _ => None,
            },
            _ => None,
        }
    }

    /// Positions under the anchor's node, copied under `to`; with `keep`,
    /// what `to` already has stays (a merge does not override the keys the
    /// mapping sets itself).
    fn copy_anchor(&mut self, id: usize, to: &str, keep: bool) {
        let Some(from) = self.anchors.get(&id).cloned() else {
            return;
        };
        for map in [&mut self.keys, &mut self.values] {
            let moved: Vec<(String, Pos)> = map
                .iter()
                .filter_map(|(p, pos)| Some((rebase(p, &from, to)?, *pos)))
                .collect();
            for (p, pos) in moved {
                if keep {
                    map.entry(p).or_insert(pos);
                } else {
                    map.insert(p, pos);
                }
            }
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

impl MarkedEventReceiver for Recorder<'_> {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let pos = self.pos(mark, &ev);
        let merge_into = self.merge_target();
        match ev {
            Event::Scalar(ref v, style, anchor, _) => {
                if let Some(p) = self.node_path(&ev, pos) {
                    if style == TScalarStyle::Plain && overflows(v) {
                        self.overflows.push((p.clone(), pos, v.clone()));
                    }
                    if anchor != 0 {
                        self.anchors.insert(anchor, p.clone());
                    }
                    self.values.insert(p, pos);
                }
            }
            Event::Alias(id) => {
                if let Some(p) = self.node_path(&ev, pos) {
                    match merge_into {
                        Some(target) => self.copy_anchor(id, &target, true),
                        None => self.copy_anchor(id, &p, false),
                    }
                    self.values.insert(p, pos);
                }
            }
            Event::MappingStart(anchor, _) | Event::SequenceStart(anchor, _) => {
                let p = self.node_path(&ev, pos).unwrap_or_default();
                if anchor != 0 {
                    self.anchors.insert(anchor, p.clone());
                }
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

/// Reads one file of another `kind` than a stack (no `extends`), with the
/// positions of its nodes.
pub fn read_one(mut src: Source, kind: Kind) -> Result<Document> {
    normalize(&mut src);
    let value = parse(&src, kind)?;
    let rec = record(&src, 0)?;
    let locator = Locator {
        keys: rec.keys,
        values: rec.values,
        sources: vec![src],
    };
    Ok(Document { value, locator })
}

/// Reads `source`, follows its `extends` chain and merges the layers.
pub fn read(source: Source, resolver: &dyn Resolver) -> Result<Document> {
    let mut layers: Vec<(Source, Value)> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    let mut next = Some(source);
    while let Some(mut src) = next.take() {
        if seen.contains(&src.name) {
            seen.push(src.name.clone());
            return Err(Error::Stack(vec![Diagnostic::new(format!(
                "`extends` forms a cycle: {}",
                seen.join(" -> ")
            ))]));
        }
        seen.push(src.name.clone());
        normalize(&mut src);
        let value = parse(&src, STACK)?;
        if let Some(parent) = value.get("extends") {
            next = Some(parent_of(&src, parent, resolver)?);
        }
        layers.push((src, value));
    }

    // Merge from the root ancestor down to the file asked for.
    let mut locator = Locator::default();
    let mut merged: Option<Value> = None;
    for (src, value) in layers.into_iter().rev() {
        let idx = locator.sources.len();
        let rec = record(&src, idx)?;
        locator.keys.extend(rec.keys);
        locator.values.extend(rec.values);
        locator.sources.push(src);
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

/// Text as editors save it: a UTF-8 byte order mark is no content.
fn normalize(src: &mut Source) {
    if let Some(rest) = src.text.strip_prefix('\u{feff}') {
        src.text = rest.to_string();
    }
}

/// The source `extends: parent` names, resolved from `src`'s directory.
fn parent_of(src: &Source, parent: &Value, resolver: &dyn Resolver) -> Result<Source> {
    let loc = || locate_alone(src, "extends");
    let Some(parent) = parent.as_str() else {
        return Err(Error::Stack(vec![Diagnostic::new(
            "`extends` must be the name or path of another stack",
        )
        .at(loc())]));
    };
    resolver
        .resolve(parent, src.dir.as_deref())
        .map_err(|e| match e {
            Error::Usage { message, hint } => {
                let mut d = Diagnostic::new(message).at(loc());
                d.hint = hint;
                Error::Stack(vec![d])
            }
            other => other,
        })
}

/// One diagnostic at `pos` of `src`.
fn error_at(src: &Source, pos: Pos, message: String, hint: Option<&str>) -> Error {
    let loc = Locator {
        sources: vec![src.clone()],
        ..Default::default()
    }
    .location(pos);
    let mut d = Diagnostic::new(message).at(Some(loc));
    d.hint = hint.map(str::to_string);
    Error::Stack(vec![d])
}

/// Parses one source into a YAML value, reporting syntax errors, duplicate
/// keys and unreadable numbers with their position, and applying merge keys.
fn parse(src: &Source, kind: Kind) -> Result<Value> {
    let rec = record(src, 0)?;
    if let Some((path, pos)) = rec.duplicates.first() {
        let what = match path.strip_prefix("servers.") {
            Some(name) if !name.contains(['.', '[']) => format!("duplicate server name `{name}`"),
            _ => format!("duplicate key `{path}`"),
        };
        let hint = "each key may appear once in a mapping; rename or merge the two entries";
        return Err(error_at(src, *pos, what, Some(hint)));
    }
    if let Some((path, pos, text)) = rec.overflows.first() {
        let message = match super::de::range_at(path) {
            Some(r) => format!("{path}: `{text}` is out of range: {}", r.allowed()),
            None => format!("{path}: `{text}` is too large a number"),
        };
        return Err(error_at(src, *pos, message, None));
    }
    let mut value: Value =
        serde_yaml::from_str(&src.text).map_err(|e| syntax_error(src, &e, kind))?;
    if !value.is_mapping() {
        let pos = Pos {
            source: 0,
            line: 1,
            column: 1,
            width: 1,
        };
        let message = format!("{} is a mapping with {}", kind.file, kind.keys);
        return Err(error_at(src, pos, message, None));
    }
    if let Err(path) = apply_merges(&mut value, "") {
        let loc = Locator {
            sources: vec![src.clone()],
            keys: rec.keys,
            values: rec.values,
        }
        .key(&join_key(&path, MERGE));
        return Err(Error::Stack(vec![Diagnostic::new(
            "`<<` merges a mapping into this one: `<<: *name` (an anchored mapping) or a list of them",
        )
        .at(loc)]));
    }
    Ok(value)
}

/// A line with YAML content (not blank, not a comment, not a directive).
fn content(line: &str) -> bool {
    let t = line.trim_start();
    !(t.is_empty() || t.starts_with('#') || t.starts_with('%') || t.starts_with("---"))
}

/// serde_yaml's syntax error at its place, without its own " at line X".
fn syntax_error(src: &Source, e: &serde_yaml::Error, kind: Kind) -> Error {
    let loc = e.location().map(|l| Location {
        file: src.name.clone(),
        line: l.line(),
        column: l.column(),
        text: line_of(&src.text, l.line()).to_string(),
        width: 1,
    });
    let msg = e.to_string();
    let msg = match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg,
    };
    if msg.contains("more than one document") {
        // serde_yaml gives no place: the second document's `---` is it.
        let msg = format!(
            "invalid YAML: {} is one YAML document, and this one has another after `---`",
            kind.file
        );
        let second = src
            .text
            .lines()
            .enumerate()
            .filter(|(_, l)| l.starts_with("---"))
            .map(|(i, _)| i + 1)
            .find(|&n| src.text.lines().take(n - 1).any(content));
        let loc = second.map(|line| Location {
            file: src.name.clone(),
            line,
            column: 1,
            text: line_of(&src.text, line).to_string(),
            width: 3,
        });
        return Error::Stack(vec![Diagnostic::new(msg).at(loc)]);
    }
    Error::Stack(vec![Diagnostic::new(format!("invalid YAML: {msg}")).at(loc)])
}

/// Applies YAML merge keys (`<<: *defaults`), innermost first: the merged
/// mappings' keys are added where the mapping does not set them itself,
/// the first mapping of a list winning. Err: the path of a `<<` that does
/// not name mappings.
fn apply_merges(v: &mut Value, path: &str) -> Result<(), String> {
    match v {
        Value::Mapping(m) => {
            for (k, child) in m.iter_mut() {
                let key = k.as_str().unwrap_or("?");
                apply_merges(child, &join_key(path, key))?;
            }
            let Some(merged) = m.remove(MERGE) else {
                return Ok(());
            };
            let sources = match merged {
                Value::Mapping(one) => vec![one],
                Value::Sequence(list) => list
                    .into_iter()
                    .map(|x| match x {
                        Value::Mapping(one) => Ok(one),
                        _ => Err(path.to_string()),
                    })
                    .collect::<Result<_, _>>()?,
                _ => return Err(path.to_string()),
            };
            for source in sources {
                for (k, x) in source {
                    m.entry(k).or_insert(x);
                }
            }
            Ok(())
        }
        Value::Sequence(list) => list
            .iter_mut()
            .enumerate()
            .try_for_each(|(i, x)| apply_merges(x, &join_index(path, i))),
        _ => Ok(()),
    }
}

fn record(src: &Source, idx: usize) -> Result<Recorder<'_>> {
    let mut rec = Recorder::new(src, idx);
    let mut parser = Parser::new_from_str(&src.text);
    parser.load(&mut rec, false).map_err(|e| {
        Error::Stack(vec![Diagnostic::new(format!("invalid YAML: {}", e.info()))
            .at(Some(Location {
                file: src.name.clone(),
                line: e.marker().line(),
                column: e.marker().col() + 1,
                text: line_of(&src.text, e.marker().line()).to_string(),
                width: 1,
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
        let s = src(
            "domain: foobar.com\nservers:\n  web-01:\n    components:\n      - nginx\n      - app\n",
        );
        let rec = record(&s, 0).unwrap();
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
        let err = parse(&src("servers:\n  web-01: {}\n  web-01: {}\n"), STACK).unwrap_err();
        let Error::Stack(d) = err else { panic!() };
        assert_eq!(d[0].message, "duplicate server name `web-01`");
        let loc = d[0].location.as_ref().unwrap();
        assert_eq!((loc.line, loc.column), (3, 3));
    }
}
