//! Exercise files: a stack, a text for the learner, the faults of the
//! catalogue to inject (or a pool each learner draws from), and the
//! claims of `verify` that grade the repair. Read with positions like a
//! class file: whatever is wrong is an error at its line, with a hint.
//!
//! ```yaml
//! name: backend-out          # default: the file's name
//! stack: task1               # built-in name or path (from the file's folder)
//! title: A server that never works
//! text: |                    # Markdown for the learner: the symptom, never the answer
//!   Users say ...
//! faults: [haproxy-backend-left-out]      # injected in order
//! # or: pool: { faults: [a, b, c, d], draw: 1 }  (each learner's own draw)
//! checks: [load balancing]   # verify's claim groups that grade; default:
//!                            # the claims the drawn faults break
//! allow-reset: false         # a lab re-made by `up` still counts
//! ```
//!
//! An exercise is told from a stack by its top-level `stack:` key (a
//! stack file names another through `extends:`). The exercises shipped
//! with the binary (`exercises/`) are found by name like built-in stacks.

use std::path::Path;

use include_dir::{include_dir, Dir};
use serde::Deserialize;

use super::faults::{self, Fault, Fit};
use crate::error::{did_you_mean, Error, Result};
use crate::render::plan::sha256_hex;
use crate::stack::source::{self, Kind, Locator, Source};
use crate::topology::Topology;

static BUILTIN: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/exercises");

/// An exercise file, as its errors name it.
const EXERCISE: Kind = Kind {
    file: "an exercise file",
    keys: "`stack`, `title`, `text` and `faults` (or `pool`)",
};

/// An infractl exercise: a stack brought up with faults for the learner
/// to find and repair on the servers themselves, graded by `infractl
/// check` and `class verify`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(title = "infractl exercise")]
pub struct ExerciseFile {
    /// The exercise's name (default: the file's name without `.yaml`).
    name: Option<String>,
    /// The stack the learner gets: a built-in name, or a path from this
    /// file's folder.
    stack: String,
    /// One line, shown above the text.
    title: String,
    /// For the learner, in Markdown: the symptom, never the answer.
    text: String,
    /// Faults of the catalogue (`infractl inject --list`), injected in
    /// order. One of `faults` or `pool`.
    faults: Option<Vec<String>>,
    /// Faults each learner draws from, seeded by class and student.
    pool: Option<PoolFile>,
    /// The verify claim groups that grade (default: the claims the drawn
    /// faults break every time).
    #[serde(default)]
    checks: Vec<String>,
    /// Whether a lab re-made by `infractl up` since the faults were set
    /// still counts.
    #[serde(default)]
    allow_reset: bool,
}

/// A pool of faults: each learner draws `draw` of them.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct PoolFile {
    /// Faults of the catalogue.
    faults: Vec<String>,
    /// How many each learner gets.
    #[schemars(range(min = 1))]
    draw: usize,
}

/// The faults of an exercise.
#[derive(Debug, Clone)]
pub enum Faults {
    /// Every learner gets these, injected in order.
    All(Vec<&'static Fault>),
    /// Each learner draws `draw` of these (see [`Exercise::draw`]).
    Pool {
        faults: Vec<&'static Fault>,
        draw: usize,
    },
}

/// An exercise, read and checked against its stack and the catalogue.
#[derive(Debug, Clone)]
pub struct Exercise {
    pub name: String,
    /// How to find it again: a built-in's name, or the file's absolute path.
    pub reference: String,
    /// The stack, as `stack::load` takes it.
    pub stack: String,
    pub title: String,
    /// Markdown for the learner.
    pub text: String,
    pub faults: Faults,
    /// The claim groups that grade; empty: the claims the drawn faults break.
    pub checks: Vec<String>,
    /// A lab re-made by `up` after the injection still counts.
    pub allow_reset: bool,
}

/// The exercises shipped inside the binary: (name, title), by name.
pub fn builtins() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = BUILTIN
        .files()
        .filter_map(|f| {
            let name = f.path().file_stem()?.to_str()?.to_string();
            let v: serde_yaml::Value = serde_yaml::from_str(f.contents_utf8()?).ok()?;
            Some((name, v.get("title")?.as_str()?.to_string()))
        })
        .collect();
    out.sort();
    out
}

/// The exercise `reference` names — a built-in exercise's name, or a YAML
/// file with a top-level `stack:` — read and checked; `None` when it
/// names no exercise (a stack, say).
pub fn find(reference: &str) -> Option<Result<Exercise>> {
    let looks_like_path =
        reference.contains('/') || reference.ends_with(".yaml") || reference.ends_with(".yml");
    if !looks_like_path {
        let file = BUILTIN.get_file(format!("{reference}.yaml"))?;
        let text = file.contents_utf8()?;
        let shown = format!("exercises/{reference}.yaml");
        return Some(parse(text, &shown, reference, None, reference));
    }
    let path = Path::new(reference);
    let text = std::fs::read_to_string(path).ok()?;
    let v: serde_yaml::Value = serde_yaml::from_str(&text).ok()?;
    v.get("stack")?;
    Some(load(path, &text))
}

/// Reads the exercise file at `path` (its text `text`).
fn load(path: &Path, text: &str) -> Result<Exercise> {
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("exercise");
    let dir = path.parent().unwrap_or(Path::new("."));
    let reference = std::fs::canonicalize(path)
        .map_or_else(|_| path.display().to_string(), |p| p.display().to_string());
    parse(
        text,
        &path.display().to_string(),
        stem,
        Some(dir),
        &reference,
    )
}

/// Reads the exercise `reference` names, which must be one: a class
/// file's `exercise:`.
pub fn load_reference(reference: &str) -> Result<Exercise> {
    find(reference).unwrap_or_else(|| {
        let names: Vec<String> = builtins().into_iter().map(|(n, _)| n).collect();
        let e = Error::usage(format!(
            "`{reference}` is no exercise: neither a built-in exercise nor a YAML file with `stack:`"
        ));
        Err(
            match did_you_mean(reference, names.iter().map(String::as_str)) {
                Some(n) => e.with_hint(format!(
                    "did you mean `{n}`? built-in exercises: {}",
                    names.join(", ")
                )),
                None => e.with_hint(format!("built-in exercises: {}", names.join(", "))),
            },
        )
    })
}

/// The hint for an unknown key of an exercise file.
fn unknown_key_hint(parent: &str, key: &str, inner: &str) -> Option<String> {
    let allowed = crate::stack::allowed_keys(inner);
    if let Some(k) = did_you_mean(key, allowed.iter().copied()) {
        return Some(format!("did you mean `{k}`?"));
    }
    Some(match (parent, key) {
        ("", "servers" | "networks" | "domain" | "extends") => {
            "an exercise names its stack (`stack: task1`, or a stack file's path): the servers are the stack's".into()
        }
        ("", "answer" | "solution" | "repair") => {
            "the answer key is the catalogue's (`infractl inject --list`): an exercise names its faults".into()
        }
        _ => return None,
    })
}

/// Reads an exercise file's text (`shown` names it in errors; a stack
/// given as a path is found from `dir`).
pub fn parse(
    text: &str,
    shown: &str,
    default_name: &str,
    dir: Option<&Path>,
    reference: &str,
) -> Result<Exercise> {
    let src = Source {
        name: shown.to_string(),
        text: text.to_string(),
        dir: dir.map(Path::to_path_buf),
    };
    let (file, locator): (ExerciseFile, _) = crate::stack::read_located(
        src,
        EXERCISE,
        &crate::stack::Words {
            unknown_key: unknown_key_hint,
            missing: "an exercise file has `stack:`, `title:`, `text:` (for the learner), and `faults:` or `pool:`",
        },
    )?;
    let name = file
        .name
        .clone()
        .unwrap_or_else(|| default_name.to_string());
    if !crate::stack::valid_name(&name) {
        return Err(locator.problem(
            if file.name.is_some() { "name" } else { "" },
            false,
            format!("the exercise's name `{name}` must be lowercase letters, digits and `-`"),
            Some(
                "it names the lab `infractl up` makes for it; `name:` gives the exercise another"
                    .into(),
            ),
        ));
    }
    let stack = match dir {
        Some(d)
            if Path::new(&file.stack).extension().is_some()
                && Path::new(&file.stack).is_relative() =>
        {
            d.join(&file.stack).display().to_string()
        }
        _ => file.stack.clone(),
    };
    let loaded = crate::stack::load(&stack).map_err(|e| match e {
        Error::Usage { message, hint } => locator.problem("stack", false, message, hint),
        other => other,
    })?;
    let topo = Topology::build(loaded);
    let faults = faults_of(&file, &locator, &topo)?;
    let all = match &faults {
        Faults::All(f) | Faults::Pool { faults: f, .. } => f.clone(),
    };
    check_checks(&file.checks, &all, &locator, &topo)?;
    Ok(Exercise {
        name,
        reference: reference.to_string(),
        stack,
        title: file.title,
        text: file.text,
        faults,
        checks: file.checks,
        allow_reset: file.allow_reset,
    })
}

/// The exercise's faults: `faults:` or `pool:`, one of them, each fault
/// in the catalogue, once, and applying to the stack.
fn faults_of(file: &ExerciseFile, locator: &Locator, topo: &Topology) -> Result<Faults> {
    let (names, at) = match (&file.faults, &file.pool) {
        (Some(_), Some(_)) => {
            return Err(locator.problem("pool",
                true,
                "an exercise has `faults:` or `pool:`, not both".into(),
                Some("`faults:` gives every learner the same faults; `pool: { faults: [...], draw: N }` gives each their own N".into()),
            ))
        }
        (None, None) => {
            return Err(locator.problem("stack",
                true,
                "an exercise has no faults: it needs `faults:` or `pool:`".into(),
                Some("`faults: [haproxy-backend-left-out]`, or `pool: { faults: [...], draw: 1 }`; the catalogue: `infractl inject --list STACK`".into()),
            ))
        }
        (Some(f), None) => (f, "faults".to_string()),
        (None, Some(p)) => (&p.faults, source::join_key("pool", "faults")),
    };
    if names.is_empty() {
        return Err(locator.problem(
            &at,
            false,
            format!("`{at}` is empty: an exercise breaks something"),
            Some(faults::applicable_hint(topo)),
        ));
    }
    let mut found: Vec<&'static Fault> = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let here = source::join_index(&at, i);
        let fault = faults::find(name).map_err(|e| {
            let hint = e.hint_text().map(str::to_string);
            locator.problem(&here, false, e.headline(), hint)
        })?;
        if let Some(first) = found.iter().position(|f| f.name == fault.name) {
            return Err(locator.problem(
                &here,
                false,
                format!("fault `{name}` is listed twice"),
                Some(format!(
                    "the first is `{at}[{first}]`; a fault is injected once"
                )),
            ));
        }
        if !matches!(fault.fit(topo), Fit::Servers(_)) {
            let e = fault
                .plan(topo, 0, "")
                .expect_err("a fault that does not fit");
            let hint = e.hint_text().map(str::to_string);
            return Err(locator.problem(&here, false, e.headline(), hint));
        }
        found.push(fault);
    }
    pool(file.pool.as_ref(), found, locator)
}

/// The faults found, drawn from as `pool:` says (`draw:` of them, 1 to
/// all), or all of them.
fn pool(pool: Option<&PoolFile>, found: Vec<&'static Fault>, locator: &Locator) -> Result<Faults> {
    match pool {
        None => Ok(Faults::All(found)),
        Some(p) if p.draw == 0 || p.draw > found.len() => Err(locator.problem(
            "pool.draw",
            false,
            if p.draw == 0 {
                "`draw: 0` gives each learner no fault".into()
            } else {
                format!(
                    "the pool has {} to draw {} from",
                    crate::error::count(found.len(), "fault"),
                    p.draw
                )
            },
            Some(format!(
                "`draw:` is how many faults of the pool each learner gets: 1 to {}",
                found.len()
            )),
        )),
        Some(p) => Ok(Faults::Pool {
            faults: found,
            draw: p.draw,
        }),
    }
}

/// Seeds a fault's claims are gathered over: the servers a seed picks
/// differ, the groups of the claims they break hardly.
const SEEDS: u64 = 8;

/// The claim groups some fault of `all` can make fail, in order.
pub fn breakable(all: &[&'static Fault], topo: &Topology) -> Vec<&'static str> {
    let mut groups: Vec<&'static str> = Vec::new();
    for f in all {
        for seed in 0..SEEDS {
            let Ok(b) = f.plan(topo, seed, "") else {
                continue;
            };
            for c in b.breaks {
                if !groups.contains(&c.group) {
                    groups.push(c.group);
                }
            }
        }
    }
    groups
}

/// Each check is a claim group some fault of the exercise can make fail.
fn check_checks(
    checks: &[String],
    all: &[&'static Fault],
    locator: &Locator,
    topo: &Topology,
) -> Result<()> {
    let groups = breakable(all, topo);
    for (i, c) in checks.iter().enumerate() {
        if groups.contains(&c.as_str()) {
            continue;
        }
        let list = groups
            .iter()
            .map(|g| format!("`{g}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let hint = match did_you_mean(c, groups.iter().copied()) {
            Some(g) => format!("did you mean `{g}`? the exercise's faults can fail {list}"),
            None => {
                format!("the exercise's faults can fail {list} (claim groups of `infractl verify`)")
            }
        };
        return Err(locator.problem(
            &source::join_index("checks", i),
            false,
            format!("check `{c}`: no fault of the exercise can make it fail, so it grades nothing"),
            Some(hint),
        ));
    }
    Ok(())
}

/// A learner's seed: the same for the same class and student, and for
/// two students as apart as two hashes.
pub fn learner_seed(class: &str, student: &str) -> u64 {
    let hash = sha256_hex(format!("{class}/{student}").as_bytes());
    u64::from_str_radix(&hash[..16], 16).expect("hex")
}

impl Exercise {
    /// The faults `seed` draws, in the file's order: every one of
    /// `faults:`; of a pool, the `draw` whose hash with the seed is
    /// least. Two seeds draw the same of a pool of n, drawing k, once in
    /// C(n, k) (a pool of 4 drawing 1: once in 4).
    pub fn draw(&self, seed: u64) -> Vec<&'static Fault> {
        match &self.faults {
            Faults::All(f) => f.clone(),
            Faults::Pool { faults, draw } => {
                let mut ranked: Vec<(String, usize)> = faults
                    .iter()
                    .enumerate()
                    .map(|(i, f)| {
                        (
                            sha256_hex(format!("{}/{}/{seed}", self.name, f.name).as_bytes()),
                            i,
                        )
                    })
                    .collect();
                ranked.sort();
                let mut chosen: Vec<usize> =
                    ranked.into_iter().take(*draw).map(|(_, i)| i).collect();
                chosen.sort_unstable();
                chosen.into_iter().map(|i| faults[i]).collect()
            }
        }
    }

    /// The exercise's faults, in words for an instructor: `a, b` or `2 of a, b, c`.
    pub fn faults_text(&self) -> String {
        match &self.faults {
            Faults::All(f) => f.iter().map(|f| f.name).collect::<Vec<_>>().join(", "),
            Faults::Pool { faults, draw } => format!(
                "{draw} of {} (each learner's own draw)",
                faults.iter().map(|f| f.name).collect::<Vec<_>>().join(", ")
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Result<Exercise> {
        parse(text, "e.yaml", "e", None, "e")
    }

    const HEAD: &str = "stack: task1\ntitle: T\ntext: the site is slow\n";

    #[test]
    fn the_shipped_exercises_read() {
        let names: Vec<String> = builtins().into_iter().map(|(n, _)| n).collect();
        assert!(names.len() >= 2, "{names:?}");
        for n in names {
            let e = find(&n).expect("a built-in").unwrap();
            assert_eq!(e.name, n);
            assert!(!e.draw(0).is_empty());
        }
        assert!(find("task1").is_none(), "a stack is no exercise");
    }

    #[test]
    fn a_pool_draws_the_same_for_a_seed_and_apart_for_others() {
        let e = parse_text(&format!(
            "{HEAD}pool:\n  faults: [nginx-upstream-wrong-port, haproxy-check-404, haproxy-backend-left-out, replication-stopped]\n  draw: 1\n"
        ))
        .unwrap();
        let seed = learner_seed("c", "ann");
        assert_eq!(seed, learner_seed("c", "ann"));
        let names = |s: u64| e.draw(s).iter().map(|f| f.name).collect::<Vec<_>>();
        assert_eq!(names(seed), names(seed));
        // Over 400 learners each fault is drawn, about a quarter of the time.
        let mut counts = [0usize; 4];
        for i in 0..400 {
            let f = e.draw(learner_seed("c", &format!("s{i}")))[0];
            counts[FAULTS_ORDER.iter().position(|n| *n == f.name).unwrap()] += 1;
        }
        assert!(counts.iter().all(|&n| (60..140).contains(&n)), "{counts:?}");
        let two = parse_text(&format!(
            "{HEAD}pool: {{ faults: [haproxy-check-404, replication-stopped, haproxy-backend-left-out], draw: 2 }}\n"
        ))
        .unwrap();
        let d = two.draw(7);
        assert_eq!(d.len(), 2);
        assert_ne!(d[0].name, d[1].name);
    }

    const FAULTS_ORDER: [&str; 4] = [
        "nginx-upstream-wrong-port",
        "haproxy-check-404",
        "haproxy-backend-left-out",
        "replication-stopped",
    ];

    #[test]
    fn a_bad_exercise_says_where_and_what() {
        let e = |t: &str| parse_text(&format!("{HEAD}{t}")).unwrap_err().report();
        assert!(e("faults: [haproxy-chek-404]\n").contains("did you mean `haproxy-check-404`?"));
        assert!(e("faults: [haproxy-chek-404]\n").contains("--> e.yaml:4:10"));
        assert!(e("pool: { faults: [haproxy-check-404], draw: 2 }\n")
            .contains("the pool has 1 fault to draw 2 from"));
        assert!(e("faults: [haproxy-check-404]\nchecks: [dns]\n")
            .contains("check `dns`: no fault of the exercise can make it fail"));
        assert!(
            e("faults: [haproxy-check-404]\npool: { faults: [haproxy-check-404], draw: 1 }\n")
                .contains("not both")
        );
        assert!(e("").contains("it needs `faults:` or `pool:`"));
        let task0 = parse_text("stack: task0\ntitle: T\ntext: x\nfaults: [replication-stopped]\n")
            .unwrap_err()
            .report();
        assert!(task0.contains("does not apply to stack `task0`"), "{task0}");
    }
}
