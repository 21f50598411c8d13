//! Classes: a lab per learner. A class file names the stack and the
//! students; each student's lab is `<class>-<student>`, a lab instance of
//! the stack (see `lab`), published on the engine's host for the learner's
//! browser.
//!
//! ```yaml
//! stack: task1                    # built-in name or path (from the file's folder)
//! # or  exercise: task1-backend-out  (an exercise: its stack, each
//! #     learner's draw of its faults injected, graded)
//! students: [alice, bob, carol]   # or  students: 30  (student-01 ...)
//! engines:                        # where labs may run; default: the engine
//!   - unix:///var/run/docker.sock #   the environment names
//!   - tcp://192.0.2.7:2376        # TLS as DOCKER_TLS_VERIFY/DOCKER_CERT_PATH say
//!   - { host: tcp://192.0.2.8:2376, tls: certs/e8, max-labs: 10 }
//!   - { context: school }         # a Docker context
//! max-labs: 200                   # at most this many labs (the default)
//! ```
//!
//! Where each lab goes is decided whole before any starts (`place`). The
//! class's operations, each returning what the command prints: reaching
//! its engines and finding its labs there (`engines`), `up`, `status`,
//! `down`, and `verify` with the graded report (`grade`).

pub mod down;
pub mod engines;
pub mod grade;
pub mod links;
pub mod place;
pub mod status;
pub mod up;
pub mod verify;

use std::path::Path;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_yaml::Value;

use crate::driver::docker::backend::placement_of;
use crate::driver::docker::endpoint::{Endpoint, Env};
use crate::driver::Placement;
use crate::error::{did_you_mean, Diagnostic, Error, Location, Result};
use crate::stack::source::{self, Kind, Locator, Source};

/// A class file, as its errors name it.
const CLASS: Kind = Kind {
    file: "a class file",
    keys: "`stack` (or `exercise`) and `students`",
};

/// A class file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ClassFile {
    name: Option<String>,
    stack: Option<String>,
    /// An exercise instead of a stack: its stack, its faults.
    exercise: Option<String>,
    students: Students,
    /// Where labs may run; default: the engine the environment names.
    #[serde(default)]
    engines: Vec<EngineEntry>,
    /// At most this many labs (students) in the class.
    #[serde(default, deserialize_with = "class_max_labs")]
    max_labs: Option<u32>,
    /// Each lab's site also published on its engine's host (else it is
    /// reached through the portal alone).
    #[serde(default)]
    publish: bool,
}

/// A class's labs at most, unless its file's `max-labs:` says otherwise:
/// a typo (`students: 10000`) is refused before anything starts.
pub const DEFAULT_MAX_LABS: u32 = 200;

/// An engine as a class file lists it: a URL or a context's name, or a
/// mapping that can say more.
#[derive(Debug)]
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
    #[serde(default, deserialize_with = "engine_max_labs")]
    max_labs: Option<u32>,
}

/// An engine a class's labs may run on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassEngine {
    /// Where it is, as a lab's record keeps it.
    pub placement: Placement,
    /// At most this many labs of the class on it (else: as memory allows).
    pub max_labs: Option<u32>,
}

#[derive(Debug)]
enum Students {
    Count(u32),
    Names(Vec<String>),
}

/// What `students:` may be, as its errors say it.
const STUDENTS: &str = "a list of names (`[ann, ben]`) or how many students (`30`)";

impl<'de> Deserialize<'de> for Students {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Either;
        impl<'de> Visitor<'de> for Either {
            type Value = Students;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(STUDENTS)
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Students, E> {
                match u32::try_from(n) {
                    Ok(0) => Err(E::custom(
                        "`0` leaves the class no student: a class needs one",
                    )),
                    Ok(n) => Ok(Students::Count(n)),
                    Err(_) => Err(E::custom(format!("`{n}` is too many students"))),
                }
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Students, E> {
                match u64::try_from(n) {
                    Ok(n) => self.visit_u64(n),
                    Err(_) => Err(E::custom(format!(
                        "`{n}` is not a number of students: `students:` is {STUDENTS}"
                    ))),
                }
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Students, A::Error> {
                let names = Vec::<String>::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
                if names.is_empty() {
                    return Err(de::Error::custom(
                        "an empty list leaves the class no student: a class needs one",
                    ));
                }
                Ok(Students::Names(names))
            }
        }
        d.deserialize_any(Either)
    }
}

/// What an entry of `engines:` may be, as its errors say it.
const ENGINE: &str = "an engine is its URL (`tcp://host:2376`), a Docker context's name, or a mapping with `host:` or `context:`";

impl<'de> Deserialize<'de> for EngineEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Either;
        /// `what` is no engine.
        fn not<E: de::Error>(what: impl std::fmt::Display) -> Result<EngineEntry, E> {
            Err(E::custom(format!("{what} is not an engine: {ENGINE}")))
        }
        impl<'de> Visitor<'de> for Either {
            type Value = EngineEntry;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(ENGINE)
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<EngineEntry, E> {
                Ok(EngineEntry::Named(s.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<EngineEntry, A::Error> {
                EngineMap::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(EngineEntry::Full)
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<EngineEntry, E> {
                not(format_args!("`{n}`"))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<EngineEntry, E> {
                not(format_args!("`{n}`"))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<EngineEntry, E> {
                not(format_args!("`{n}`"))
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<EngineEntry, E> {
                not(format_args!("`{b}`"))
            }
            fn visit_unit<E: de::Error>(self) -> Result<EngineEntry, E> {
                not("an empty value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<EngineEntry, A::Error> {
                not("a list")
            }
        }
        d.deserialize_any(Either)
    }
}

/// A `max-labs:` (`zero` says what 0 would mean), absent or 1 or more.
fn max_labs<'de, D: Deserializer<'de>>(d: D, zero: &str) -> Result<Option<u32>, D::Error> {
    let v = Value::deserialize(d)?;
    let not = || {
        de::Error::custom(format!(
            "{} is not a number of labs: `max-labs:` is a whole number, 1 or more",
            crate::stack::de::shown(&v)
        ))
    };
    match &v {
        Value::Null => Ok(None),
        Value::Number(n) => match n.as_u64() {
            Some(0) => Err(de::Error::custom(format!("`0` {zero}"))),
            Some(m) => u32::try_from(m)
                .map(Some)
                .map_err(|_| de::Error::custom(format!("`{m}` is too many labs"))),
            None => Err(not()),
        },
        _ => Err(not()),
    }
}

fn class_max_labs<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    max_labs(d, "leaves the class no lab: leave `max-labs:` out for 200, or give the most labs the class may have")
}

fn engine_max_labs<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    max_labs(
        d,
        "leaves the engine no lab: leave the engine out of the class, or give it room for one",
    )
}

/// A class, read and checked.
#[derive(Debug, Clone)]
pub struct Class {
    pub name: String,
    /// The stack, as `stack::load` takes it (an exercise's own).
    pub stack: String,
    /// The exercise every lab is set (`exercise:`), each learner drawing
    /// with [`Class::seed`].
    pub exercise: Option<crate::exercise::file::Exercise>,
    pub students: Vec<String>,
    /// Where its labs may run, in the file's order (never empty).
    pub engines: Vec<ClassEngine>,
    /// At most this many labs (`max-labs:`, else [`DEFAULT_MAX_LABS`]).
    pub max_labs: u32,
    /// Each lab's site published on its engine's host too (`publish:
    /// true`): the raw port, reached without the portal's cookie.
    pub publish: bool,
    /// Where the file names its stack (for an error about the stack).
    pub stack_at: Option<Location>,
}

impl Class {
    /// The lab of `student`.
    pub fn lab(&self, student: &str) -> String {
        format!("{}-{student}", self.name)
    }

    /// The seed of `student`'s draw of the exercise: the same on every
    /// `class up`, another for each student.
    pub fn seed(&self, student: &str) -> u64 {
        crate::exercise::file::learner_seed(&self.name, student)
    }

    /// Loads the class's stack; a stack that cannot be found is an error
    /// at the class file's `stack:`, with the names that are close.
    pub fn load_stack(&self) -> Result<crate::stack::Stack> {
        crate::stack::load(&self.stack).map_err(|e| match e {
            Error::Usage { message, hint } => {
                let mut d = Diagnostic::new(message).at(self.stack_at.clone());
                d.hint = hint;
                Error::Stack(vec![d])
            }
            other => other,
        })
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

/// The hint for an unknown key of a class file.
fn unknown_key_hint(parent: &str, key: &str, inner: &str) -> Option<String> {
    let allowed = crate::stack::allowed_keys(inner);
    if let Some(k) = did_you_mean(key, allowed.iter().copied()) {
        return Some(format!("did you mean `{k}`?"));
    }
    Some(match (parent, key) {
        ("", "servers" | "networks" | "domain" | "extends") => {
            "a class names its stack (`stack: task1`, or a stack file's path): the servers are the stack's".into()
        }
        ("", "labs" | "learners" | "users") => {
            "a class's learners are its `students:` (names, or how many)".into()
        }
        _ => return None,
    })
}

/// Reads a class file's text (`shown` names it in errors).
pub fn parse(text: &str, shown: &str, default_name: &str, dir: &Path) -> Result<Class> {
    let source = Source {
        name: shown.to_string(),
        text: text.to_string(),
        dir: Some(dir.to_path_buf()),
    };
    let (file, locator): (ClassFile, _) = crate::stack::read_located(
        source,
        CLASS,
        &crate::stack::Words {
            unknown_key: unknown_key_hint,
            missing: "a class file has `stack:` (a built-in name or a path) or `exercise:`, and `students:` (names, or how many)",
        },
    )?;
    let name = file.name.unwrap_or_else(|| default_name.to_string());
    check_name(&name, &locator)?;
    let students = match file.students {
        Students::Count(n) => {
            let width = n.to_string().len().max(2);
            (1..=n).map(|i| format!("student-{i:0width$}")).collect()
        }
        Students::Names(v) => v,
    };
    let max_labs = file.max_labs.unwrap_or(DEFAULT_MAX_LABS);
    check_students(&students, file.max_labs, &name, &locator)?;
    let engines = engines(file.engines, &locator, dir, &Env::read())?;
    let (stack, exercise, stack_at) = stack_or_exercise(file.stack, file.exercise, &locator, dir)?;
    Ok(Class {
        name,
        stack,
        exercise,
        students,
        engines,
        max_labs,
        publish: file.publish,
        stack_at,
    })
}

/// A reference given as a path is found from the class file's folder.
fn from_dir(reference: String, dir: &Path) -> String {
    let p = Path::new(&reference);
    if p.extension().is_some() && !p.is_absolute() {
        dir.join(p).display().to_string()
    } else {
        reference
    }
}

/// The class's stack — `stack:`, or `exercise:`'s — and its exercise,
/// and where the file names them; one of the two, never both.
fn stack_or_exercise(
    stack: Option<String>,
    exercise: Option<String>,
    locator: &Locator,
    dir: &Path,
) -> Result<(
    String,
    Option<crate::exercise::file::Exercise>,
    Option<Location>,
)> {
    match (stack, exercise) {
        (Some(s), None) => Ok((from_dir(s, dir), None, locator.value("stack"))),
        (None, Some(e)) => {
            let e = crate::exercise::file::load_reference(&from_dir(e, dir)).map_err(|err| match err {
                Error::Usage { message, hint } => locator.problem("exercise", false, message, hint),
                other => other,
            })?;
            Ok((e.stack.clone(), Some(e), locator.value("exercise")))
        }
        (Some(_), Some(_)) => Err(locator.problem("exercise",
            true,
            "a class has `stack:` or `exercise:`, not both".into(),
            Some("an exercise names its own stack: keep `exercise:` for a class that is set one".into()),
        )),
        (None, None) => Err(locator.problem("students",
            true,
            "`stack` is missing".into(),
            Some("a class file has `stack:` (a built-in name or a path) or `exercise:`, and `students:` (names, or how many)".into()),
        )),
    }
}

/// The class's name is a lab name's beginning: an error at `name:` (or
/// the file's name) when it cannot be.
fn check_name(name: &str, locator: &Locator) -> Result<()> {
    if !crate::stack::valid_name(name) {
        let (at, whose) = match locator.key("name") {
            Some(_) => ("name", ""),
            None => ("", " (its file's)"),
        };
        return Err(locator.problem(at,
            false,
            format!("the class's name `{name}`{whose} must be lowercase letters, digits and `-`"),
            Some("it begins the name of each student's lab (`<class>-<student>`); `name:` gives the class another".into()),
        ));
    }
    Ok(())
}

/// The students fit under the class's `max-labs:` (`max_labs`, as
/// written), are each listed once, and each make a valid lab name.
fn check_students(
    students: &[String],
    max_labs: Option<u32>,
    name: &str,
    locator: &Locator,
) -> Result<()> {
    if students.len() > max_labs.unwrap_or(DEFAULT_MAX_LABS) as usize {
        let (what, hint) = match max_labs {
            None => (
                format!("the class has {} students, more than {DEFAULT_MAX_LABS} (the most labs a class has unless its `max-labs:` says more)", students.len()),
                format!("if the class is meant to be this big, say so: `max-labs: {}`", students.len()),
            ),
            Some(m) => (
                format!("the class has {} students, more than its `max-labs: {m}`", students.len()),
                format!("raise `max-labs:` to {}, or give the class fewer students", students.len()),
            ),
        };
        return Err(locator.problem("students", true, what, Some(hint)));
    }
    for (i, s) in students.iter().enumerate() {
        let at = source::join_index("students", i);
        if let Some(first) = students[..i].iter().position(|x| x == s) {
            return Err(locator.problem(
                &at,
                false,
                format!("student `{s}` is listed twice"),
                Some(format!(
                    "the first is `students[{first}]`; each student has one lab"
                )),
            ));
        }
        let lab = format!("{name}-{s}");
        if !crate::stack::valid_name(&lab) {
            return Err(locator.problem(&at,
                false,
                format!(
                    "student `{s}`: the lab's name `{lab}` must be lowercase letters, digits and `-`, at most {} characters",
                    crate::stack::MAX_NAME
                ),
                None,
            ));
        }
    }
    Ok(())
}

/// The engines a class file lists (the environment's when none).
fn engines(
    entries: Vec<EngineEntry>,
    locator: &Locator,
    dir: &Path,
    env: &Env,
) -> Result<Vec<ClassEngine>> {
    if entries.is_empty() {
        return Ok(vec![ClassEngine {
            placement: placement_of(&Endpoint::choose(None, None, env)?),
            max_labs: None,
        }]);
    }
    let mut out: Vec<ClassEngine> = Vec::new();
    for (i, entry) in entries.into_iter().enumerate() {
        let item = source::join_index("engines", i);
        // An engine's error at the entry (`sub`: the key of its mapping
        // that is wrong), in the engine's words.
        let at = |sub: &str| {
            let path = if sub.is_empty() {
                item.clone()
            } else {
                source::join_key(&item, sub)
            };
            move |e: Error| {
                let hint = e.hint_text().map(str::to_string);
                locator.problem(&path, false, e.headline(), hint)
            }
        };
        // Where the entry names its engine.
        let names = match &entry {
            EngineEntry::Full(m) if m.host.is_some() => source::join_key(&item, "host"),
            EngineEntry::Full(m) if m.context.is_some() => source::join_key(&item, "context"),
            _ => item.clone(),
        };
        let (endpoint, max_labs) = match entry {
            EngineEntry::Named(s) if s.contains("://") => {
                (Endpoint::choose(Some(&s), None, env).map_err(at(""))?, None)
            }
            EngineEntry::Named(s) => (Endpoint::context(&s, env).map_err(at(""))?, None),
            EngineEntry::Full(m) => {
                let endpoint = match (&m.host, &m.context, m.tls) {
                    (Some(h), None, Some(tls)) => {
                        Endpoint::parse(h, Some(dir.join(tls))).map_err(at("host"))
                    }
                    (Some(h), None, None) => Endpoint::choose(Some(h), None, env).map_err(at("host")),
                    (None, Some(c), None) => Endpoint::context(c, env).map_err(at("context")),
                    (None, Some(_), Some(_)) => Err(at("tls")(Error::usage(
                        "an engine's `tls:` goes with `host:` (a context has its own certificates)",
                    ))),
                    _ => Err(at("")(Error::usage(
                        "an engine has `host:` (a URL) or `context:` (a Docker context), one of them",
                    ))),
                }?;
                (endpoint, m.max_labs)
            }
        };
        if let Some(first) = out
            .iter()
            .position(|e| e.placement.same(&placement_of(&endpoint)))
        {
            return Err(locator.problem(
                &names,
                false,
                format!("engine {endpoint} is listed twice"),
                Some(format!("the first is `engines[{first}]`")),
            ));
        }
        out.push(ClassEngine {
            placement: placement_of(&endpoint),
            max_labs,
        });
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Class `c` of task1: ann and ben, on no engine named.
    pub(crate) fn ann_and_ben() -> Class {
        Class {
            name: "c".into(),
            stack: "task1".into(),
            exercise: None,
            students: vec!["ann".into(), "ben".into()],
            engines: vec![],
            max_labs: 200,
            publish: false,
            stack_at: None,
        }
    }
    use crate::driver::docker::backend::endpoint_of;

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
        assert_eq!(
            e("stack: task1\nstudent: [a]\n"),
            "error: unknown key `student`; the keys here are `name`, `stack`, `exercise`, `students`, `engines`, `max-labs`, `publish`
 --> c.yaml:2:1
  |
2 | student: [a]
  | ^^^^^^^
  = hint: did you mean `students`?
"
        );
        assert!(e("stack: task1\nstudents: [Alice]\n").contains("student `Alice`"));
        assert!(e("stack: task1\nstudents: [a, a]\n").contains("listed twice\n --> c.yaml:2:15"));
        assert!(e("stack: task1\nstudents: 0\n").contains("a class needs one"));
        assert!(e("stack: task1\nstudents: [a]\nengines: [ftp://x]\n").starts_with(
            "error: engine `ftp://x`: `ftp://` is not a way to reach an engine\n --> c.yaml:3:11"
        ));
        assert!(
            e("stack: task1\nstudents: [a]\nengines: [tcp://h:1, tcp://h:1]\n")
                .contains("listed twice\n --> c.yaml:3:22")
        );
        assert!(
            e("stack: task1\nstudents: [a]\nengines: [{host: tcp://h:1, max-labs: 0}]\n")
                .contains("engines[0].max-labs: `0` leaves the engine no lab")
        );
        assert!(e("stack: task1\nstudents: [a]\nengines: [{max-labs: 3}]\n")
            .contains("`host:` (a URL) or `context:`"));
        assert!(e("stack: task1\nstudents: [a]\nengines: [5]\n").contains(
            "engines[0]: `5` is not an engine: an engine is its URL (`tcp://host:2376`)"
        ));
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
        assert!(e.report().contains("--> c.yaml:2:11"), "{}", e.report());
    }

    #[test]
    fn engines_are_urls_contexts_or_mappings() {
        let c = parse_text(
            "stack: task1\nstudents: [a]\nengines:\n  - unix:///var/run/docker.sock\n  - tcp://192.0.2.7\n  - { host: tcp://192.0.2.8, tls: certs/e8, max-labs: 4 }\n",
        )
        .unwrap();
        let endpoints: Vec<Endpoint> = c
            .engines
            .iter()
            .map(|e| endpoint_of(&e.placement).unwrap())
            .collect();
        let hosts: Vec<&str> = endpoints.iter().map(|e| e.host.as_str()).collect();
        assert_eq!(
            hosts,
            [
                "unix:///var/run/docker.sock",
                "tcp://192.0.2.7:2375",
                "tcp://192.0.2.8:2376"
            ]
        );
        assert_eq!(endpoints[2].tls.as_deref(), Some(Path::new("/x/certs/e8")));
        assert_eq!(c.engines[2].max_labs, Some(4));
        // None listed: the one the environment names.
        let c = parse_text("stack: task1\nstudents: [a]\n").unwrap();
        assert_eq!(c.engines.len(), 1);
    }
}
