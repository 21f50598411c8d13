//! Every bad stack in `tests/errors/`: `infractl render` refuses it with
//! exit 2, writes nothing, and prints exactly `<case>.stderr` (temporary
//! paths shown as `[TMP]`). The same table serves the library's test of the
//! loader (src/stack/tests.rs). `UPDATE_GOLDEN=1` rewrites the `.stderr`
//! files from what the binary prints.

use std::path::{Path, PathBuf};

use crate::harness::Test;

/// The cases: (name, stack text), sorted by name.
pub fn cases() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/errors");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("tests/errors")
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

fn expected_path(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/errors")
        .join(format!("{case}.stderr"))
}

/// Runs one case; returns what differs from its `.stderr`, if anything.
fn run_case(case: &str, text: &str, update: bool) -> Option<String> {
    let t = Test::new();
    let file = format!("{case}.yaml");
    t.file(&file, text);
    let out = t.run_args(&["render", &file, "--out", "out"]);
    let stderr = out
        .stderr
        .replace(&t.dir().display().to_string(), "[TMP]")
        .replace(&t.state_dir().display().to_string(), "[TMP]");
    if out.code != 2 {
        return Some(format!("{case}: exit {} (want 2)\n{stderr}", out.code));
    }
    if t.dir().join("out").exists() {
        return Some(format!("{case}: a bad stack wrote output"));
    }
    if std::fs::read_dir(t.state_dir()).unwrap().next().is_some() {
        return Some(format!("{case}: a bad stack created state"));
    }
    let path = expected_path(case);
    if update {
        std::fs::write(&path, &stderr).unwrap();
        return None;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    (stderr != want).then(|| format!("{case}: stderr differs\n--- want\n{want}--- got\n{stderr}"))
}

#[test]
fn every_bad_stack_is_refused_at_its_line() {
    let update = std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1");
    let cases = cases();
    assert!(cases.len() >= 30, "tests/errors has {} cases", cases.len());
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(case, text)| run_case(case, text, update))
        .collect();
    crate::harness::all_passed(&failures, cases.len());
}

#[test]
fn every_case_has_its_expected_output() {
    for (case, _) in cases() {
        assert!(
            expected_path(&case).is_file(),
            "tests/errors/{case}.stderr is missing (UPDATE_GOLDEN=1 writes it)"
        );
    }
}
