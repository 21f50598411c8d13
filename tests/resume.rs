//! An interrupted `up` resumes: `up` is stopped at every progress event of
//! a bring-up (SIGKILL, SIGINT and SIGTERM in turn, through the binary's
//! test tripwire); each time the next `up`
//! must bring the lab to one whose site answers through every tier and
//! takes writes, and `down` must leave nothing behind.

use crate::harness::Test;
use crate::up::{lab_lock, labelled, test_stack, Down};

/// The binary's tripwire (`infractl::tripwire::TRIPWIRE_ENV`, built for
/// the tests with the `test-hooks` feature).
const TRIPWIRE: &str = infractl::tripwire::TRIPWIRE_ENV;
const SIGNALS: [&str; 3] = ["KILL", "INT", "TERM"];

/// The page's JSON from the user's computer names every tier, and a note
/// written through the application lands in the database.
fn site_answers_through_every_tier(t: &Test, file: &str, context: &str) {
    let out = t.run_args(&[
        "exec",
        file,
        "client",
        "--",
        "curl",
        "-sS",
        "-f",
        "http://www.foobar.com/api/info",
    ]);
    assert_eq!(
        out.code, 0,
        "{context}: the site does not answer\n{}{}",
        out.stdout, out.stderr
    );
    for tier in ["web", "app", "db"] {
        assert!(
            out.stdout.contains(&format!("\"{tier}\": \"server-0")),
            "{context}: no {tier} server named in\n{}",
            out.stdout
        );
    }
    let out = t.run_args(&[
        "exec",
        file,
        "client",
        "--",
        "curl",
        "-sS",
        "-f",
        "-H",
        "Content-Type: application/json",
        "-d",
        "{\"text\": \"resumed\"}",
        "http://www.foobar.com/api/notes",
    ]);
    assert_eq!(
        out.code, 0,
        "{context}: a write fails\n{}{}",
        out.stdout, out.stderr
    );
}

fn nothing_left(stack: &str, context: &str) {
    for kind in ["container", "network"] {
        let left = labelled(kind, stack);
        assert!(left.is_empty(), "{context}: `down` left {kind}s {left:?}");
    }
}

#[test]
#[ignore = "needs the Docker engine and the node image"]
fn an_interrupted_up_resumes_at_every_point() {
    let _lab = lab_lock();
    let t = Test::new();
    let file = test_stack(&t, "task1", "it-resume", 216, true);
    let _down = Down(&t, file.clone());
    // Event n of the bring-up, for n = 1, 2, ... until an `up` runs to its
    // end before its tripwire: then every point has been tried.
    let mut n = 1;
    loop {
        let signal = SIGNALS[n % SIGNALS.len()];
        let context = format!("stopped by SIG{signal} at event {n}");
        let stopped = t.run_env_args(
            &[(TRIPWIRE, &format!("{n}:{signal}"))],
            &["--quiet", "up", &file],
        );
        if stopped.code == 0 {
            assert!(n > 20, "only {n} progress events in a task1 bring-up");
            break;
        }
        let resumed = t.run_args(&["--quiet", "up", &file]);
        assert_eq!(
            resumed.code, 0,
            "{context}: `up` does not resume\n{}",
            resumed.stderr
        );
        site_answers_through_every_tier(&t, &file, &context);
        t.run_args(&["--quiet", "down", &file]).code(0);
        nothing_left("it-resume", &context);
        n += 1;
    }
    t.run_args(&["--quiet", "down", &file]).code(0);
    nothing_left("it-resume", "after the last bring-up");
}
