//! Exercises on real labs: a class of three set one exercise with a pool
//! (task1), each student's draw injected as computed from the class and
//! the student; one lab repaired with the catalogue's repair over
//! `infractl exec`; `class verify` grading that one fixed and the two
//! others not, with hints in report.json; `check` on a repaired and an
//! unrepaired lab; a lab re-made by `down` and `up` seen as reset. One
//! class, its labs shared by every step.

use crate::harness::Test;
use crate::up::lab_lock;
use infractl::exercise::file;

/// Takes the class down when the test ends, passed or failed.
struct ClassDown<'a>(&'a Test);

impl Drop for ClassDown<'_> {
    fn drop(&mut self) {
        let _ = self.0.run_args(&["--quiet", "class", "down", "it-ex.yaml"]);
    }
}

const POOL: &str = "stack: task1
title: Something is off
text: Users say the site is not quite right.
pool:
  faults: [nginx-upstream-wrong-port, haproxy-check-404, haproxy-backend-left-out, replication-stopped]
  draw: 1
";

const STUDENTS: [&str; 3] = ["ann", "ben", "cat"];

/// The lab's `exercise.json`.
fn record(t: &Test, lab: &str) -> serde_json::Value {
    let path = t.state_dir().join(lab).join("exercise.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// Runs `script` on `server` of `lab` until it prints `want` (the
/// fault's symptom, after a repair): a reload shows within a second, 60
/// tries half a second apart leave a loaded engine thirty.
fn until(t: &Test, lab: &str, server: &str, script: &str, want: &str) {
    let mut last = String::new();
    for i in 0..60 {
        if i > 0 {
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
        last = t
            .run_args(&["exec", lab, server, "--", "sh", "-c", script])
            .stdout
            .trim()
            .to_string();
        if last == want {
            return;
        }
    }
    panic!("{lab}: {server} never printed {want}: last {last:?}");
}

#[test]
#[ignore = "needs the Docker engine and the node image"]
fn a_class_set_an_exercise_draws_grades_and_sees_a_reset() {
    let _lab = lab_lock();
    let t = Test::new();
    let pool = t.file("pool.yaml", POOL);
    t.file(
        "it-ex.yaml",
        "exercise: pool.yaml\nstudents: [ann, ben, cat]\n",
    );
    let _down = ClassDown(&t);
    t.run_args(&["--quiet", "class", "up", "it-ex.yaml"])
        .code(0);

    // Each student's draw is the one computed from the class and the
    // student, with the server its seed picks.
    let exercise = file::find(pool.to_str().unwrap()).unwrap().unwrap();
    let topo = infractl::topology::Topology::build(infractl::stack::load("task1").unwrap());
    let mut plans = Vec::new();
    for s in STUDENTS {
        let seed = file::learner_seed("it-ex", s);
        let drawn = exercise.draw(seed);
        assert_eq!(drawn.len(), 1);
        let plan = drawn[0].plan(&topo, seed, "").unwrap();
        let r = record(&t, &format!("it-ex-{s}"));
        assert_eq!(r["drawn"][0]["fault"], plan.fault, "{s}: {r}");
        assert_eq!(r["drawn"][0]["server"], plan.server.as_str(), "{s}: {r}");
        assert_eq!(r["drawn"][0]["seed"], seed, "{s}");
        plans.push(plan);
    }

    // Ann repairs her lab with the catalogue's repair, typed on the server.
    let ann = &plans[0];
    t.run_args(&[
        "exec",
        "it-ex-ann",
        &ann.repair.server,
        "--",
        "sh",
        "-ec",
        &ann.repair.commands.join("\n"),
    ])
    .code(0);
    until(&t, "it-ex-ann", &ann.shows.server, &ann.shows.script, "no");

    t.run_args(&[
        "--quiet",
        "class",
        "verify",
        "it-ex.yaml",
        "--report",
        "grades",
    ])
    .code(1)
    .stdout_has("Exercise `pool`: 1 of 3 labs fixed it.");
    let json = std::fs::read_to_string(t.dir().join("grades/report.json")).unwrap();
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    for lab in report["labs"].as_array().unwrap() {
        let e = &lab["exercise"];
        let (fixed, total) = (e["fixed"].as_u64().unwrap(), e["total"].as_u64().unwrap());
        assert!(total >= 1, "{e}");
        assert_eq!(e["counts"], true, "{e}");
        assert!(e["seconds"].as_u64().is_some(), "{e}");
        if lab["student"] == "ann" {
            assert_eq!(fixed, total, "ann repaired hers: {e}");
        } else {
            assert!(fixed < total, "{}: {e}", lab["student"]);
            for c in e["checks"].as_array().unwrap() {
                if c["fixed"] == false {
                    assert!(c["hint"].as_str().is_some_and(|h| !h.is_empty()), "{c}");
                }
            }
        }
    }
    let csv = std::fs::read_to_string(t.dir().join("grades/report.csv")).unwrap();
    assert!(csv
        .lines()
        .next()
        .unwrap()
        .contains("exercise fixed,exercise checks,seconds since set,counts"));

    // The learner's own check: fixed, and not yet with where to look,
    // never the fault.
    t.run_args(&["--quiet", "check", "it-ex-ann"])
        .code(0)
        .stdout_has("Every check is fixed");
    let ben = t.run_args(&["--quiet", "check", "it-ex-ben"]).code(1);
    assert!(
        ben.stdout.contains("not yet") && ben.stdout.contains("hint: "),
        "{}",
        ben.stdout
    );
    assert!(!ben.stdout.contains(plans[1].fault), "{}", ben.stdout);
    in_the_portal(&t, plans[1].fault);

    // Cat's lab taken down and brought up again: new servers, nothing
    // injected again, and the attempt does not count.
    t.run_args(&["--quiet", "down", "it-ex-cat"]).code(0);
    let before = record(&t, "it-ex-cat");
    t.run_args(&[
        "--quiet",
        "up",
        pool.to_str().unwrap(),
        "--lab",
        "it-ex-cat",
    ])
    .code(0)
    .stdout_has("this `up` changed nothing of it");
    assert_eq!(record(&t, "it-ex-cat"), before);
    t.run_args(&["--quiet", "check", "it-ex-cat"])
        .code(1)
        .stdout_has("The lab was reset (infractl up re-made its servers:")
        .stdout_has("this attempt does not count");
}

/// The exercise on each learner's page in the portal: its title and
/// text, and its check (ann's fixed, ben's not yet with a hint, never the
/// fault's name); ben's cookie checks nothing of ann's lab.
fn in_the_portal(t: &Test, bens_fault: &str) {
    let serve = crate::portal::Serve::start(t, &[]);
    let links = crate::portal_faults::links(t, "it-ex.yaml", &serve.base, &[]);
    let token = |who: &str| links[who].rsplit('/').next().expect("a token").to_string();
    let curl = |method: &str, path: &str, who: &str| {
        let out = std::process::Command::new("curl")
            .args(["-s", "-m", "120", "-X", method, "-w", "\n%{http_code}"])
            .args(["-b", &format!("infractl_portal={}", token(who))])
            .arg(format!("{}{path}", serve.base))
            .output()
            .expect("curl");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n').expect("a status");
        (code.to_string(), body.to_string())
    };
    let (code, page) = curl("GET", "/lab/it-ex-ann", "ann");
    assert_eq!(code, "200", "{page}");
    assert!(
        page.contains("data-tab=\"exercise\"") && page.contains("Check my repair"),
        "{page}"
    );
    let (code, ann) = curl("POST", "/lab/it-ex-ann/check", "ann");
    assert_eq!(code, "200", "{ann}");
    let ann: serde_json::Value = serde_json::from_str(&ann).expect("JSON");
    assert_eq!(
        (ann["ok"].as_bool(), ann["counts"].as_bool()),
        (Some(true), Some(true)),
        "{ann}"
    );
    let (code, ben) = curl("POST", "/lab/it-ex-ben/check", "ben");
    assert_eq!(code, "200", "{ben}");
    assert!(!ben.contains(bens_fault), "{ben}");
    let ben: serde_json::Value = serde_json::from_str(&ben).expect("JSON");
    assert_eq!(ben["ok"].as_bool(), Some(false), "{ben}");
    assert!(
        ben["checks"]
            .as_array()
            .expect("checks")
            .iter()
            .any(|c| c["fixed"] == false && c["hint"].as_str().is_some_and(|h| !h.is_empty())),
        "{ben}"
    );
    let (code, _) = curl("POST", "/lab/it-ex-ann/check", "ben");
    assert_eq!(code, "404", "ben's cookie on ann's check");
}
