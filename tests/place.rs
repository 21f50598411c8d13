//! A class is placed whole before anything starts, and a lab's engine is
//! never a surprise: a class that does not fit is refused (exit 2) with
//! how many labs fit where, and nothing of it is made; `class up
//! --dry-run` shows the placement and makes nothing; an engine that the
//! environment names but the lab's record does not is refused, with the
//! flag that says which.
//!
//! Labs and classes here are `it-place-*`, clear of other tests' names.

use std::process::Command;

use crate::harness::Test;
use crate::up::{lab_lock, labelled, test_stack, Down};

/// An address no engine answers at (TEST-NET-1).
const NOWHERE: &str = "tcp://192.0.2.1:2375";

/// The labs, containers and networks of the engine whose lab label starts
/// with `prefix`.
fn objects_of(prefix: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (kind, extra, name) in [
        ("container", vec!["-a"], "{{.Names}}"),
        ("network", vec![], "{{.Name}}"),
    ] {
        let out = Command::new("docker")
            .args([kind, "ls"])
            .args(extra)
            .args([
                "--filter",
                "label=io.infractl.lab",
                "--format",
                &format!("{{{{.Label \"io.infractl.lab\"}}}} {name}"),
            ])
            .output()
            .expect("docker cli");
        assert!(out.status.success(), "docker {kind} ls");
        found.extend(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter(|l| l.starts_with(prefix))
                .map(|l| format!("{kind} {l}")),
        );
    }
    found
}

fn state_entries(t: &Test) -> Vec<String> {
    std::fs::read_dir(t.state_dir())
        .map(|d| {
            d.filter_map(|e| Some(e.ok()?.file_name().to_string_lossy().into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// A class of more students than its `max-labs:` (200 unless it says)
/// is refused on reading the file, pointing at `students:`.
#[test]
fn a_class_over_its_max_labs_is_refused_before_anything() {
    let t = Test::new();
    t.file("it-place-cap.yaml", "stack: task1\nstudents: 10000\n");
    t.run_args(&["class", "up", "it-place-cap.yaml"])
        .code(2)
        .stderr(
            "error: the class has 10000 students, more than 200 (the most labs a class has unless its `max-labs:` says more)
 --> it-place-cap.yaml:2:1
  |
2 | students: 10000
  | ^^^^^^^^
  = hint: if the class is meant to be this big, say so: `max-labs: 10000`
",
        );
    t.file(
        "it-place-cap2.yaml",
        "stack: task1\nmax-labs: 2\nstudents: [ann, ben, cy]\n",
    );
    t.run_args(&["class", "up", "it-place-cap2.yaml", "--dry-run"])
        .code(2)
        .stderr_has("error: the class has 3 students, more than its `max-labs: 2`")
        .stderr_has("raise `max-labs:` to 3");
    assert_eq!(state_entries(&t), Vec::<String>::new());
}

/// The environment naming another engine than the lab's record is an
/// error before any engine is asked (none answers at that address).
#[test]
fn an_engine_the_environment_names_is_not_a_labs_if_its_record_says_another() {
    let t = Test::new();
    let dir = t.state_dir().join("it-place-rec");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("lab.json"),
        r#"{"stack":"task0","engine":{"host":"unix:///var/run/docker.sock"}}"#,
    )
    .unwrap();
    let want = format!(
        "error: lab `it-place-rec` runs on the engine unix:///var/run/docker.sock, not {NOWHERE}, which DOCKER_HOST names
  = hint: say which engine: `--engine unix:///var/run/docker.sock` for the lab's, or unset DOCKER_HOST; `infractl down it-place-rec --engine unix:///var/run/docker.sock` frees the lab for another engine
"
    );
    for args in [
        &["down", "it-place-rec"][..],
        &["status", "it-place-rec"],
        &["verify", "it-place-rec"],
        &["up", "task0", "--lab", "it-place-rec"],
        &["exec", "it-place-rec", "client", "--", "true"],
    ] {
        t.run_env_args(&[("DOCKER_HOST", NOWHERE)], args)
            .code(2)
            .stderr(&want);
    }
    // A flag over the environment naming yet another: the flag's error.
    t.run_env_args(
        &[("DOCKER_HOST", "unix:///var/run/docker.sock")],
        &["down", "it-place-rec", "--engine", NOWHERE],
    )
    .code(2)
    .stderr_has(&format!(
        "error: lab `it-place-rec` runs on the engine unix:///var/run/docker.sock, not {NOWHERE}\n"
    ));
    // The record is as it was.
    assert!(std::fs::read_to_string(dir.join("lab.json"))
        .unwrap()
        .contains("unix:///var/run/docker.sock"));
}

/// A class bigger than its engines: refused with how many labs fit on
/// which engine, exit 2, and nothing made — no container, no network, no
/// state.
#[test]
#[ignore = "needs the Docker engine and the node image"]
fn an_oversized_class_is_refused_and_starts_nothing() {
    let t = Test::new();
    // Memory: ten thousand task1 labs fit on no machine.
    t.file(
        "it-place-big.yaml",
        "stack: task1\nmax-labs: 10000\nstudents: 10000\n",
    );
    let out = t.run_args(&["class", "up", "it-place-big.yaml"]).code(2);
    assert!(
        out.stderr
            .starts_with("error: class `it-place-big` does not fit: 10000 labs asked, room for ")
            && out
                .stderr
                .contains(" more of the 10000 new; nothing was started\n")
            && out.stderr.contains("  unix:///var/run/docker.sock  ")
            && out.stderr.contains("(its memory: ")
            && out.stderr.contains("a lab of task1 needs about "),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    // An engine's max-labs, and an engine that does not answer.
    t.file(
        "it-place-cap.yaml",
        &format!(
            "stack: task0\nstudents: [ann, ben, cy]\nengines:\n  - {{ host: unix:///var/run/docker.sock, max-labs: 1 }}\n  - {NOWHERE}\n"
        ),
    );
    let out = t
        .run_args(&["--quiet", "class", "up", "it-place-cap.yaml"])
        .code(2);
    assert!(
        out.stderr.starts_with(
            "error: class `it-place-cap` does not fit: 3 labs asked, room for 1 more of the 3 new; nothing was started\n"
        ) && out
            .stderr
            .contains("  unix:///var/run/docker.sock  1 more (its max-labs: 1)\n")
            && out.stderr.contains(&format!(
                "  {NOWHERE:<27}  0 more (did not answer: cannot reach the Docker engine at {NOWHERE}"
            ))
            && out.stderr.contains(
                "= hint: list more engines under `engines:` in it-place-cap.yaml, raise their `max-labs:`, bring back the engines that did not answer, or give the class fewer students\n"
            ),
        "{}",
        out.stderr
    );
    // The same with --dry-run: refused alike.
    t.run_args(&["--quiet", "class", "up", "it-place-cap.yaml", "--dry-run"])
        .code(2)
        .stderr_has("does not fit");
    // (Other tests' labs are it-place-* too, and may be up meanwhile.)
    for class in ["it-place-big", "it-place-cap"] {
        assert_eq!(objects_of(class), Vec::<String>::new());
    }
    assert_eq!(state_entries(&t), Vec::<String>::new());
}

/// `class up --dry-run` prints where each lab would go, as a table and as
/// JSON, and makes nothing.
#[test]
#[ignore = "needs the Docker engine and the node image"]
fn a_dry_run_prints_the_placement_and_starts_nothing() {
    let t = Test::new();
    t.file("it-place-dry.yaml", "stack: task0\nstudents: [ann, ben]\n");
    let out = t
        .run_args(&["class", "up", "it-place-dry.yaml", "--dry-run"])
        .code(0);
    assert_eq!(
        out.stdout,
        "STUDENT  LAB               ENGINE                       PLACED
ann      it-place-dry-ann  unix:///var/run/docker.sock  new
ben      it-place-dry-ben  unix:///var/run/docker.sock  new

Class `it-place-dry`: 2 labs placed: 2 on unix:///var/run/docker.sock (2 new).
Nothing was started or changed (--dry-run).
"
    );
    let out = t
        .run_args(&["class", "up", "it-place-dry.yaml", "--dry-run", "--json"])
        .code(0);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["class"], "it-place-dry");
    assert_eq!(v["dry_run"], true);
    let labs = v["labs"].as_array().unwrap();
    assert_eq!(labs.len(), 2);
    assert_eq!(
        labs[1],
        serde_json::json!({
            "engine": "unix:///var/run/docker.sock",
            "lab": "it-place-dry-ben",
            "placed": "new",
            "student": "ben",
        })
    );
    assert_eq!(objects_of("it-place-dry-"), Vec::<String>::new());
    assert_eq!(state_entries(&t), Vec::<String>::new());
}

/// A lab up on this engine; DOCKER_HOST then naming another: every
/// command naming the lab is refused with the hint, the lab untouched;
/// `--engine` naming the lab's engine settles it. `status` lists the
/// engine in use and counts the others.
#[test]
#[ignore = "needs the Docker engine and the node image"]
fn a_lab_stays_on_its_engine_whatever_the_environment_names() {
    let _lab = lab_lock();
    let t = Test::new();
    let file = test_stack(&t, "task0", "it-place-eng", 241, false);
    let _down = Down(&t, "it-place-eng".into());
    t.run_args(&["--quiet", "up", &file]).code(0);
    let before = labelled("container", "it-place-eng");
    assert!(!before.is_empty());
    let elsewhere = [("DOCKER_HOST", NOWHERE)];
    for args in [
        &["down", "it-place-eng"][..],
        &["status", "it-place-eng"],
        &["up", &file],
        &["exec", "it-place-eng", "client", "--", "true"],
    ] {
        t.run_env_args(&elsewhere, args)
            .code(2)
            .stderr_has(&format!(
                "error: lab `it-place-eng` runs on the engine unix:///var/run/docker.sock, not {NOWHERE}, which DOCKER_HOST names\n"
            ))
            .stderr_has("hint: say which engine: `--engine unix:///var/run/docker.sock` for the lab's");
    }
    assert_eq!(labelled("container", "it-place-eng"), before);
    // The flag says which: the lab's engine, over the environment.
    t.run_env_args(
        &elsewhere,
        &[
            "exec",
            "it-place-eng",
            "client",
            "--engine",
            "unix:///var/run/docker.sock",
            "--",
            "true",
        ],
    )
    .code(0);
    // `status` with no lab: the engine in use only, and how many labs the
    // records put on other engines (one made up here, on no engine that
    // answers); `--all` tries them.
    let far = t.state_dir().join("it-place-far");
    std::fs::create_dir_all(&far).unwrap();
    std::fs::write(
        far.join("lab.json"),
        format!(r#"{{"stack":"task0","engine":{{"host":"{NOWHERE}"}}}}"#),
    )
    .unwrap();
    let here = t.run_args(&["status", "--json"]).code(0);
    let v: serde_json::Value = serde_json::from_str(&here.stdout).unwrap();
    assert_eq!(v["engine"], "unix:///var/run/docker.sock");
    assert_eq!(v["elsewhere"], 1);
    assert!(
        v["labs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["lab"] == "it-place-eng"),
        "{v}"
    );
    t.run_args(&["status"])
        .code(0)
        .stdout_has("On the engine unix:///var/run/docker.sock.\n1 lab on other engines (status --all lists them).\n");
    let all = t.run_args(&["status", "--all"]).code(1);
    assert!(
        all.stdout.starts_with("LAB ")
            && all.stdout.contains(" ENGINE\n")
            && all
                .stdout
                .contains(&format!("cannot reach the Docker engine at {NOWHERE}"))
            && !all.stdout.contains("other engines"),
        "{}",
        all.stdout
    );
    std::fs::remove_dir_all(&far).unwrap();
    // Down with the flag that names the lab's engine.
    t.run_env_args(
        &elsewhere,
        &[
            "--quiet",
            "down",
            "it-place-eng",
            "--engine",
            "unix:///var/run/docker.sock",
        ],
    )
    .code(0);
    assert!(labelled("container", "it-place-eng").is_empty());
}
