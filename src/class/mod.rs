//! Classes: a lab per learner. A class file names the stack and the
//! students; each student's lab is `<class>-<student>`, a lab instance of
//! the stack (see `lab`), published on the engine's host for the learner's
//! browser.
//!
//! ```yaml
//! stack: task1                    # built-in name or path (from the file's folder)
//! students: [alice, bob, carol]   # or  students: 30  (student-01 ...)
//! engines:                        # where labs may run; default: the engine
//!   - unix:///var/run/docker.sock #   the environment names
//!   - tcp://192.0.2.7:2376        # TLS as DOCKER_TLS_VERIFY/DOCKER_CERT_PATH say
//!   - { host: tcp://192.0.2.8:2376, tls: certs/e8, max-labs: 10 }
//!   - { context: school }         # a Docker context
//! max-labs: 200                   # at most this many labs (the default)
//! ```
//!
//! Where each lab goes is decided whole before any starts (`place`).

pub mod place;

use std::path::Path;

use serde::Deserialize;

use crate::driver::docker::endpoint::{Endpoint, Env};
use crate::error::{Error, Result};

/// A class file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClassFile {
    name: Option<String>,
    stack: String,
    students: Students,
    /// Where labs may run; default: the engine the environment names.
    #[serde(default)]
    engines: Vec<EngineEntry>,
    /// At most this many labs (students) in the class.
    #[serde(rename = "max-labs")]
    max_labs: Option<u32>,
}

/// A class's labs at most, unless its file's `max-labs:` says otherwise:
/// a typo (`students: 10000`) is refused before anything starts.
pub const DEFAULT_MAX_LABS: u32 = 200;

/// An engine as a class file lists it: a URL or a context's name, or a
/// mapping that can say more.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum EngineEntry {
    Named(String),
    Full(EngineMap),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct EngineMap {
    host: Option<String>,
    context: Option<String>,
    /// The folder of `ca.pem`, `cert.pem` and `key.pem` (from the class
    /// file's folder).
    tls: Option<std::path::PathBuf>,
    /// At most this many of the class's labs on the engine.
    max_labs: Option<u32>,
}

/// An engine a class's labs may run on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassEngine {
    pub endpoint: Endpoint,
    /// At most this many labs of the class on it (else: as memory allows).
    pub max_labs: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Students {
    Count(u32),
    Names(Vec<String>),
}

/// A class, read and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Class {
    pub name: String,
    /// The stack, as `stack::load` takes it.
    pub stack: String,
    pub students: Vec<String>,
    /// Where its labs may run, in the file's order (never empty).
    pub engines: Vec<ClassEngine>,
    /// At most this many labs (`max-labs:`, else [`DEFAULT_MAX_LABS`]).
    pub max_labs: u32,
}

impl Class {
    /// The lab of `student`.
    pub fn lab(&self, student: &str) -> String {
        format!("{}-{student}", self.name)
    }
}

/// Reads the class file at `path`.
pub fn load(path: &Path) -> Result<Class> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::usage(format!("cannot read class file `{shown}`: {e}")))?;
    let default_name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("class")
        .to_string();
    let dir = path.parent().unwrap_or(Path::new("."));
    parse(&text, &shown, &default_name, dir)
}

/// Reads a class file's text (`shown` names it in errors).
pub fn parse(text: &str, shown: &str, default_name: &str, dir: &Path) -> Result<Class> {
    let file: ClassFile = serde_yaml::from_str(text.trim_start_matches('\u{feff}')).map_err(|e| {
        let at = e
            .location()
            .map(|l| format!("{shown}:{}:{}", l.line(), l.column()))
            .unwrap_or_else(|| shown.to_string());
        Error::usage(format!("{at}: {}", plain(&e.to_string())))
            .with_hint("a class file has `stack:` (a built-in name or a path) and `students:` (names, or how many)")
    })?;
    let name = file.name.unwrap_or_else(|| default_name.to_string());
    let students = match file.students {
        Students::Count(0) => {
            return Err(Error::usage(format!(
                "{shown}: `students: 0`: a class needs a student"
            )))
        }
        Students::Count(n) => {
            let width = n.to_string().len().max(2);
            (1..=n).map(|i| format!("student-{i:0width$}")).collect()
        }
        Students::Names(v) => v,
    };
    let max_labs = file.max_labs.unwrap_or(DEFAULT_MAX_LABS);
    if max_labs == 0 {
        return Err(Error::Stack(vec![at_key(
            text,
            shown,
            "max-labs",
            "`max-labs: 0` leaves the class no lab",
        )
        .hint(format!(
            "leave `max-labs:` out for {DEFAULT_MAX_LABS}, or give the most labs the class may have"
        ))]));
    }
    if students.len() > max_labs as usize {
        let (what, hint) = match file.max_labs {
            None => (
                format!("the class has {} students, more than {DEFAULT_MAX_LABS} (the most labs a class has unless its `max-labs:` says more)", students.len()),
                format!("if the class is meant to be this big, say so: `max-labs: {}`", students.len()),
            ),
            Some(m) => (
                format!("the class has {} students, more than its `max-labs: {m}`", students.len()),
                format!("raise `max-labs:` to {}, or give the class fewer students", students.len()),
            ),
        };
        return Err(Error::Stack(vec![
            at_key(text, shown, "students", &what).hint(hint)
        ]));
    }
    for (i, s) in students.iter().enumerate() {
        if students[..i].contains(s) {
            return Err(Error::usage(format!(
                "{shown}: student `{s}` is listed twice"
            )));
        }
        let lab = format!("{name}-{s}");
        if !crate::stack::valid_name(&lab) {
            return Err(Error::usage(format!(
                "{shown}: student `{s}`: the lab's name `{lab}` must be lowercase letters, digits and `-`, at most {} characters",
                crate::stack::MAX_NAME
            )));
        }
    }
    let engines = engines(file.engines, shown, dir, &Env::read())?;
    // A stack given as a path is found from the class file's folder.
    let stack =
        if Path::new(&file.stack).extension().is_some() && !Path::new(&file.stack).is_absolute() {
            dir.join(&file.stack).display().to_string()
        } else {
            file.stack
        };
    Ok(Class {
        name,
        stack,
        students,
        engines,
        max_labs,
    })
}

/// An error at the class file's top-level `key:` (its line shown with a
/// caret; the file alone when the key is not found).
fn at_key(text: &str, shown: &str, key: &str, message: &str) -> crate::error::Diagnostic {
    use crate::error::{Diagnostic, Location};
    let location = text
        .trim_start_matches('\u{feff}')
        .lines()
        .enumerate()
        .find(|(_, l)| {
            l.strip_prefix(key)
                .is_some_and(|r| r.trim_start().starts_with(':'))
        })
        .map(|(i, l)| Location {
            file: shown.to_string(),
            line: i + 1,
            column: 1,
            text: l.to_string(),
            width: key.len(),
        });
    Diagnostic::new(message).at(location)
}

/// The engines a class file lists (the environment's when none).
fn engines(
    entries: Vec<EngineEntry>,
    shown: &str,
    dir: &Path,
    env: &Env,
) -> Result<Vec<ClassEngine>> {
    let at = |e: Error| Error::usage(format!("{shown}: {}", e.headline()));
    if entries.is_empty() {
        return Ok(vec![ClassEngine {
            endpoint: Endpoint::choose(None, None, env)?,
            max_labs: None,
        }]);
    }
    let mut out: Vec<ClassEngine> = Vec::new();
    for entry in entries {
        let (endpoint, max_labs) = match entry {
            EngineEntry::Named(s) if s.contains("://") => {
                (Endpoint::choose(Some(&s), None, env).map_err(at)?, None)
            }
            EngineEntry::Named(s) => (Endpoint::context(&s, env).map_err(at)?, None),
            EngineEntry::Full(m) => {
                let endpoint = match (&m.host, &m.context, m.tls) {
                    (Some(h), None, Some(tls)) => Endpoint::parse(h, Some(dir.join(tls))),
                    (Some(h), None, None) => Endpoint::choose(Some(h), None, env),
                    (None, Some(c), None) => Endpoint::context(c, env),
                    (None, Some(_), Some(_)) => Err(Error::usage(
                        "an engine's `tls:` goes with `host:` (a context has its own certificates)",
                    )),
                    _ => Err(Error::usage(
                        "an engine has `host:` (a URL) or `context:` (a Docker context), one of them",
                    )),
                }
                .map_err(at)?;
                if m.max_labs == Some(0) {
                    return Err(Error::usage(format!(
                        "{shown}: engine {endpoint}: `max-labs: 0` leaves it no lab; leave the engine out"
                    )));
                }
                (endpoint, m.max_labs)
            }
        };
        if out.iter().any(|e| e.endpoint.same_engine(&endpoint)) {
            return Err(Error::usage(format!(
                "{shown}: engine {endpoint} is listed twice"
            )));
        }
        out.push(ClassEngine { endpoint, max_labs });
    }
    Ok(out)
}

/// serde's message without its Rust words.
fn plain(message: &str) -> String {
    message
        .replace(
            "data did not match any variant of untagged enum Students",
            "`students:` is a list of names or a number",
        )
        .replace("invalid type: ", "")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Result<Class> {
        parse(text, "c.yaml", "c", Path::new("/x"))
    }

    #[test]
    fn students_are_named_or_counted() {
        let c = parse_text("stack: task1\nstudents: [alice, bob]\n").unwrap();
        assert_eq!(c.students, ["alice", "bob"]);
        assert_eq!(c.lab("alice"), "c-alice");
        let c = parse_text("name: lab7\nstack: t.yaml\nstudents: 3\n").unwrap();
        assert_eq!(c.students, ["student-01", "student-02", "student-03"]);
        assert_eq!((c.name.as_str(), c.stack.as_str()), ("lab7", "/x/t.yaml"));
        assert_eq!(
            parse_text("stack: task1\nstudents: 120\n")
                .unwrap()
                .students[0],
            "student-001"
        );
    }

    #[test]
    fn a_bad_class_file_says_where_and_what() {
        let e = |t: &str| parse_text(t).unwrap_err().report();
        assert!(
            e("stack: task1\nstudent: [a]\n").contains("c.yaml:2:1: unknown field `student`"),
            "{}",
            e("stack: task1\nstudent: [a]\n")
        );
        assert!(e("stack: task1\nstudents: [Alice]\n").contains("student `Alice`"));
        assert!(e("stack: task1\nstudents: [a, a]\n").contains("listed twice"));
        assert!(e("stack: task1\nstudents: 0\n").contains("needs a student"));
        assert!(e("stack: task1\nstudents: [a]\nengines: [ftp://x]\n")
            .contains("c.yaml: engine `ftp://x`: `ftp://` is not a way to reach an engine"));
        assert!(
            e("stack: task1\nstudents: [a]\nengines: [tcp://h:1, tcp://h:1]\n")
                .contains("listed twice")
        );
        assert!(
            e("stack: task1\nstudents: [a]\nengines: [{host: tcp://h:1, max-labs: 0}]\n")
                .contains("`max-labs: 0`")
        );
        assert!(e("stack: task1\nstudents: [a]\nengines: [{max-labs: 3}]\n")
            .contains("`host:` (a URL) or `context:`"));
    }

    #[test]
    fn a_class_has_at_most_max_labs_labs() {
        let c = parse_text("stack: task1\nstudents: 200\n").unwrap();
        assert_eq!((c.students.len(), c.max_labs), (200, DEFAULT_MAX_LABS));
        let e = parse_text("stack: task1\nstudents: 10000\n").unwrap_err();
        assert_eq!(e.exit_code(), crate::error::EXIT_INPUT);
        assert_eq!(
            e.report(),
            "error: the class has 10000 students, more than 200 (the most labs a class has unless its `max-labs:` says more)
 --> c.yaml:2:1
  |
2 | students: 10000
  | ^^^^^^^^
  = hint: if the class is meant to be this big, say so: `max-labs: 10000`
"
        );
        let e = parse_text("stack: task1\nmax-labs: 2\nstudents: [a, b, c]\n").unwrap_err();
        assert!(
            e.report().starts_with(
                "error: the class has 3 students, more than its `max-labs: 2`\n --> c.yaml:3:1"
            ),
            "{}",
            e.report()
        );
        assert!(e.report().contains("raise `max-labs:` to 3"));
        let c = parse_text("stack: task1\nmax-labs: 300\nstudents: 250\n").unwrap();
        assert_eq!((c.students.len(), c.max_labs), (250, 300));
        let e = parse_text("stack: task1\nmax-labs: 0\nstudents: 1\n").unwrap_err();
        assert!(e.report().contains("--> c.yaml:2:1"), "{}", e.report());
    }

    #[test]
    fn engines_are_urls_contexts_or_mappings() {
        let c = parse_text(
            "stack: task1\nstudents: [a]\nengines:\n  - unix:///var/run/docker.sock\n  - tcp://192.0.2.7\n  - { host: tcp://192.0.2.8, tls: certs/e8, max-labs: 4 }\n",
        )
        .unwrap();
        let hosts: Vec<&str> = c.engines.iter().map(|e| e.endpoint.host.as_str()).collect();
        assert_eq!(
            hosts,
            [
                "unix:///var/run/docker.sock",
                "tcp://192.0.2.7:2375",
                "tcp://192.0.2.8:2376"
            ]
        );
        assert_eq!(
            c.engines[2].endpoint.tls.as_deref(),
            Some(Path::new("/x/certs/e8"))
        );
        assert_eq!(c.engines[2].max_labs, Some(4));
        // None listed: the one the environment names.
        let c = parse_text("stack: task1\nstudents: [a]\n").unwrap();
        assert_eq!(c.engines.len(), 1);
    }
}
