//! Every bad exercise file in `tests/exercise-errors/`: `infractl validate
//! FILE` refuses it with exit 2 before any engine is reached, makes no
//! state, and prints exactly `<case>.stderr`: the file's line and a caret
//! under what is wrong, with a hint (as for a class file, see
//! `class_errors`). `UPDATE_GOLDEN=1` rewrites the `.stderr` files from
//! what the binary prints.

use std::path::{Path, PathBuf};

use crate::harness::Test;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/exercise-errors")
}

/// The cases: (name, exercise file text), sorted by name.
fn cases() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(dir())
        .expect("tests/exercise-errors")
        .filter_map(|e| {
            let p = e.ok()?.path();
            (p.extension()? == "yaml").then_some(p)
        })
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    out.sort();
    out
}

/// Runs one case; returns what differs from its `.stderr`, if anything.
fn run_case(case: &str, text: &str, update: bool) -> Option<String> {
    let t = Test::new();
    let file = format!("{case}.yaml");
    t.file(&file, text);
    // An engine that is never reached: the file is refused before.
    let out = t.run_env_args(
        &[("DOCKER_HOST", "tcp://127.0.0.1:1")],
        &["validate", &file],
    );
    if out.code != 2 {
        return Some(format!(
            "{case}: exit {} (want 2)\n{}",
            out.code, out.stderr
        ));
    }
    if std::fs::read_dir(t.state_dir()).is_ok_and(|mut d| d.next().is_some()) {
        return Some(format!("{case}: a bad exercise file created state"));
    }
    let path = dir().join(format!("{case}.stderr"));
    if update {
        std::fs::write(&path, &out.stderr).unwrap();
        return None;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    (out.stderr != want).then(|| {
        format!(
            "{case}: stderr differs\n--- want\n{want}--- got\n{}",
            out.stderr
        )
    })
}

#[test]
fn every_bad_exercise_file_is_refused_at_its_line() {
    let update = std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1");
    let cases = cases();
    assert!(
        cases.len() >= 10,
        "tests/exercise-errors has {} cases",
        cases.len()
    );
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(case, text)| run_case(case, text, update))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    for (case, _) in cases {
        assert!(
            dir().join(format!("{case}.stderr")).is_file(),
            "tests/exercise-errors/{case}.stderr is missing (UPDATE_GOLDEN=1 writes it)"
        );
    }
}

#[test]
fn the_shipped_exercises_validate_as_exercises() {
    // Refused before the engine: a misspelt exercise name is a stack's
    // error, and the shipped ones are read (the engine is what fails).
    let out = Test::new().run_env_args(
        &[("DOCKER_HOST", "tcp://127.0.0.1:1")],
        &["validate", "task1-backend-out"],
    );
    assert!(
        out.stderr
            .contains("Exercise `task1-backend-out` on stack `task1`: its faults (haproxy-backend-left-out) apply"),
        "{}",
        out.stderr
    );
}
