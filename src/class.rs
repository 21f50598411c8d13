//! Classes: a lab per learner. A class file names the stack and the
//! students; each student's lab is `<class>-<student>`, a lab instance of
//! the stack (see `lab`), published on the engine's host for the learner's
//! browser.
//!
//! ```yaml
//! stack: task1                    # built-in name or path (from the file's folder)
//! students: [alice, bob, carol]   # or  students: 30  (student-01 ...)
//! ```

use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, Result};

/// A class file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClassFile {
    name: Option<String>,
    stack: String,
    students: Students,
    /// Where labs may run; only the engine this machine reaches
    /// (`DOCKER_HOST`, or the local one) for now.
    #[serde(default)]
    engines: Vec<String>,
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
    let local = crate::driver::docker::engine::address();
    if let Some(other) = file.engines.iter().find(|e| **e != local) {
        return Err(Error::usage(format!(
            "{shown}: engine `{other}`: labs run on the engine this machine reaches ({local}) for now"
        ))
        .with_hint("leave `engines:` out, or point DOCKER_HOST at the engine"));
    }
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
    })
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
        assert!(
            e("stack: task1\nstudents: [a]\nengines: [tcp://192.0.2.7:2376]\n")
                .contains("engine `tcp://192.0.2.7:2376`")
        );
    }
}
