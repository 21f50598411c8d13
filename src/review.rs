//! A design review: the learner answers the course's questions about a
//! stack — which servers are its single points of failure, what stops
//! working for the users when a server dies — in a file of answers, and
//! `infractl chaos LAB --answers FILE` checks each answer against what
//! the lab did when chaos killed that server. Read with positions like a
//! stack file; graded from chaos's rows alone (pure).
//!
//! ```yaml
//! # What stops for the site's users when each server dies alone:
//! # site (it does not load), reads, writes, reads and writes, or nothing.
//! down:
//!   lb-01: site
//!   server-01: writes
//! # The servers whose loss alone stops something users do.
//! spof: [lb-01, server-01]
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::chaos::ServerChaos;
use crate::error::{did_you_mean, Error, Result};
use crate::stack::source::{self, Kind, Source};
use crate::topology::{Role, Topology};

/// A file of answers, as its errors name it.
const ANSWERS: Kind = Kind {
    file: "a file of answers",
    keys: "`down` and `spof`",
};

/// A learner's answers to a design review of a stack.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "infractl design review answers")]
pub struct AnswersFile {
    /// For each server answered: what stops for the users when it dies
    /// alone.
    #[serde(default)]
    down: IndexMap<String, Loss>,
    /// The servers whose loss alone stops something the users do
    /// (loading the site, reading or writing): the single points of
    /// failure.
    spof: Option<Vec<String>>,
}

/// What stops for the site's users when a server dies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
pub enum Loss {
    /// The site does not load.
    #[serde(rename = "site")]
    Site,
    /// The site loads, its notes cannot be read.
    #[serde(rename = "reads")]
    Reads,
    /// The site loads and reads, a note cannot be written.
    #[serde(rename = "writes")]
    Writes,
    /// The site loads, notes can be neither read nor written.
    #[serde(rename = "reads and writes")]
    ReadsAndWrites,
    /// Nothing the users see.
    #[serde(rename = "nothing")]
    Nothing,
}

impl Loss {
    /// What a chaos row saw stop.
    pub fn of(row: &ServerChaos) -> Loss {
        match (row.site, row.reads, row.writes) {
            (false, _, _) => Loss::Site,
            (true, true, true) => Loss::Nothing,
            (true, true, false) => Loss::Writes,
            (true, false, true) => Loss::Reads,
            (true, false, false) => Loss::ReadsAndWrites,
        }
    }

    fn word(self) -> &'static str {
        match self {
            Loss::Site => "site",
            Loss::Reads => "reads",
            Loss::Writes => "writes",
            Loss::ReadsAndWrites => "reads and writes",
            Loss::Nothing => "nothing",
        }
    }
}

/// Answers read and checked against a stack's servers.
#[derive(Debug, Clone)]
pub struct Answers {
    down: Vec<(String, Loss)>,
    spof: Option<Vec<String>>,
}

/// One answer, graded.
#[derive(Debug, Clone, Serialize)]
pub struct Graded {
    /// The question, in words.
    pub question: String,
    pub answer: String,
    /// What chaos saw.
    pub observed: String,
    pub right: bool,
}

/// The servers chaos kills: every one but the user's computer.
fn killed(topo: &Topology) -> Vec<&str> {
    topo.nodes
        .iter()
        .filter(|n| !n.roles.contains(&Role::Client))
        .map(|n| n.name.as_str())
        .collect()
}

/// The hint for an unknown key of a file of answers.
fn unknown_key_hint(_parent: &str, key: &str, inner: &str) -> Option<String> {
    let allowed = crate::stack::allowed_keys(inner);
    did_you_mean(key, allowed.iter().copied()).map(|k| format!("did you mean `{k}`?"))
}

/// Reads the answers at `path` and checks each server they name against
/// `topo`'s.
pub fn load(path: &Path, topo: &Topology) -> Result<Answers> {
    let text = fs_err::read_to_string(path).map_err(|e| {
        Error::usage(format!("cannot read the answers: {e}"))
            .with_hint("a YAML file: `down: { lb-01: site }` and `spof: [lb-01]`")
    })?;
    parse(&text, &path.display().to_string(), topo)
}

/// Reads answers from `text` (`shown` names it in errors).
pub fn parse(text: &str, shown: &str, topo: &Topology) -> Result<Answers> {
    let src = Source {
        name: shown.to_string(),
        text: text.to_string(),
        dir: None,
    };
    let (file, locator): (AnswersFile, _) = crate::stack::read_located(
        src,
        ANSWERS,
        &crate::stack::Words {
            unknown_key: unknown_key_hint,
            missing: "a file of answers has `down:` (what stops when each server dies) or `spof:` (the single points of failure)",
        },
    )?;
    if file.down.is_empty() && file.spof.is_none() {
        return Err(locator.problem(
            "",
            false,
            "the file answers nothing: it needs `down:` or `spof:`".into(),
            Some("`down: { lb-01: site, server-02: nothing }` and `spof: [lb-01]`".into()),
        ));
    }
    let servers = killed(topo);
    let known = |name: &str, at: &str, key: bool| -> Result<()> {
        if servers.contains(&name) {
            return Ok(());
        }
        let (message, hint) = if topo.nodes.iter().any(|n| n.name == name) {
            (
                format!("`{name}` is the user's computer: chaos never kills it"),
                format!("the servers: {}", servers.join(", ")),
            )
        } else {
            let hint = match did_you_mean(name, servers.iter().copied()) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("the servers: {}", servers.join(", ")),
            };
            (
                format!("stack `{}` has no server `{name}`", topo.stack.name),
                hint,
            )
        };
        Err(locator.problem(at, key, message, Some(hint)))
    };
    for name in file.down.keys() {
        known(name, &source::join_key("down", name), true)?;
    }
    if let Some(spof) = &file.spof {
        let mut seen = Vec::new();
        for (i, name) in spof.iter().enumerate() {
            let at = source::join_index("spof", i);
            known(name, &at, false)?;
            if seen.contains(&name) {
                return Err(locator.problem(&at, false, format!("`{name}` is named twice"), None));
            }
            seen.push(name);
        }
    }
    Ok(Answers {
        down: file.down.into_iter().collect(),
        spof: file.spof,
    })
}

/// The answers graded against chaos's `rows` (one server each; a row of
/// several killed at once grades nothing).
pub fn grade(answers: &Answers, rows: &[ServerChaos]) -> Vec<Graded> {
    let seen: BTreeMap<&str, Loss> = rows
        .iter()
        .filter(|r| !r.server.contains('+'))
        .map(|r| (r.server.as_str(), Loss::of(r)))
        .collect();
    let mut out = Vec::new();
    for (server, answer) in &answers.down {
        let observed = seen.get(server.as_str()).copied();
        out.push(Graded {
            question: format!("what stops when {server} dies"),
            answer: answer.word().into(),
            observed: observed.map_or("(not killed)", Loss::word).into(),
            right: observed == Some(*answer),
        });
    }
    if let Some(spof) = &answers.spof {
        // In the order chaos killed them.
        let truth: Vec<&str> = rows
            .iter()
            .filter(|r| {
                seen.get(r.server.as_str())
                    .is_some_and(|l| *l != Loss::Nothing)
            })
            .map(|r| r.server.as_str())
            .collect();
        let mut said: Vec<&str> = spof.iter().map(String::as_str).collect();
        said.sort_by_key(|s| rows.iter().position(|r| r.server == *s));
        let list = |l: &[&str]| {
            if l.is_empty() {
                "none".to_string()
            } else {
                l.join(", ")
            }
        };
        out.push(Graded {
            question: "the single points of failure".into(),
            answer: list(&said),
            observed: list(&truth),
            right: said == truth,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topo() -> Topology {
        Topology::load("task1").expect("a shipped stack loads")
    }

    fn row(server: &str, site: bool, reads: bool, writes: bool) -> ServerChaos {
        ServerChaos {
            server: server.into(),
            roles: vec![],
            site,
            reads,
            writes,
            recovery_s: 1.0,
            alert: None,
            predicted: String::new(),
            observed: String::new(),
            agrees: true,
        }
    }

    fn rows() -> Vec<ServerChaos> {
        vec![
            row("ns", false, false, false),
            row("lb-01", false, false, false),
            row("server-01", true, true, false),
            row("server-02", true, true, true),
        ]
    }

    fn error(text: &str) -> String {
        parse(text, "answers.yaml", &topo()).unwrap_err().report()
    }

    #[test]
    fn each_answer_is_graded_against_what_chaos_saw() {
        let answers = parse(
            "down:\n  lb-01: site\n  server-01: nothing\n  server-02: nothing\nspof: [server-01, lb-01]\n",
            "answers.yaml",
            &topo(),
        )
        .unwrap();
        let graded = grade(&answers, &rows());
        let brief: Vec<(&str, &str, &str, bool)> = graded
            .iter()
            .map(|g| {
                (
                    g.question.as_str(),
                    g.answer.as_str(),
                    g.observed.as_str(),
                    g.right,
                )
            })
            .collect();
        assert_eq!(
            brief,
            [
                ("what stops when lb-01 dies", "site", "site", true),
                ("what stops when server-01 dies", "nothing", "writes", false),
                ("what stops when server-02 dies", "nothing", "nothing", true),
                (
                    "the single points of failure",
                    "lb-01, server-01",
                    "ns, lb-01, server-01",
                    false
                ),
            ]
        );
        let right = parse("spof: [server-01, ns, lb-01]\n", "a.yaml", &topo()).unwrap();
        assert!(grade(&right, &rows())[0].right);
    }

    #[test]
    fn a_quorum_row_grades_nothing_and_a_server_not_killed_is_said() {
        let answers = parse("down: { server-02: reads and writes }\n", "a", &topo()).unwrap();
        let mut r = rows();
        r.retain(|r| r.server != "server-02");
        r.push(row("server-01+server-02", true, false, false));
        let g = grade(&answers, &r);
        assert_eq!(g[0].observed, "(not killed)");
        assert!(!g[0].right);
    }

    #[test]
    fn bad_answers_are_refused_at_their_place_with_a_hint() {
        let e = error("down:\n  server-1: site\n");
        assert!(e.contains("answers.yaml:2:3"), "{e}");
        assert!(e.contains("stack `task1` has no server `server-1`"), "{e}");
        assert!(e.contains("did you mean `server-01`?"), "{e}");
        let e = error("down:\n  lb-01: down\n");
        assert!(e.contains("answers.yaml:2:10"), "{e}");
        assert!(e.contains("nothing"), "{e}");
        let e = error("spof: [lb-01, client]\n");
        assert!(e.contains("answers.yaml:1:15"), "{e}");
        assert!(e.contains("the user's computer"), "{e}");
        let e = error("spof: [lb-01, lb-01]\n");
        assert!(e.contains("named twice"), "{e}");
        let e = error("spofs: [lb-01]\n");
        assert!(e.contains("did you mean `spof`?"), "{e}");
        let e = error("down: {}\n");
        assert!(e.contains("answers nothing"), "{e}");
    }
}
