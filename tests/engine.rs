//! Against the real Docker engine: every rendered file of the five stacks
//! goes through the program that reads it, and a broken file is caught with
//! the server, file and the program's own message.
//!
//! These need the engine and the node image (built on first use): they are
//! `#[ignore]`d with that reason, so `cargo test` reports them as ignored,
//! and `cargo test -- --include-ignored` (what `.ci/run` runs) runs them.

use std::sync::Arc;

use crate::harness::Test;

fn validate(stack: &str) {
    // Not beside a lab: verify's failover timing must measure the lab alone.
    let _lab = crate::up::lab_lock();
    let out = Test::new()
        .args(&["--quiet", "validate", stack])
        .run()
        .code(0);
    let summary = out.stdout.lines().last().unwrap_or("").to_string();
    assert!(
        summary.contains(" passed, 0 failed"),
        "{stack}: {summary}\n{}",
        out.stdout
    );
    assert!(!out.stdout.contains("FAILED"), "{}", out.stdout);
}

#[test]
#[ignore = "needs the Docker engine and the node image"]
fn validate_task0() {
    validate("task0");
}

#[test]
#[ignore = "needs the Docker engine and the node image"]
fn validate_task1() {
    validate("task1");
}

#[test]
#[ignore = "needs the Docker engine and the node image"]
fn validate_task2() {
    validate("task2");
}

#[test]
#[ignore = "needs the Docker engine and the node image"]
fn validate_task3() {
    validate("task3");
}

#[test]
#[ignore = "needs the Docker engine and the node image"]
fn validate_task4() {
    validate("task4");
}

#[test]
#[ignore = "needs the Docker engine and the node image"]
fn a_broken_config_is_rejected_by_its_program() {
    let state = tempfile::tempdir().unwrap();
    let global = infractl::commands::Global {
        state_dir: Some(state.path().to_path_buf()),
        quiet: true,
        ..Default::default()
    };
    let (_, mut plan) = infractl::commands::plan_for("task1", &global).unwrap();
    // A typo a person could make: `balance roundrobn`.
    let lb = plan.servers.iter_mut().find(|s| s.name == "lb-01").unwrap();
    let cfg = lb
        .files
        .iter_mut()
        .find(|f| f.path == "/etc/haproxy/haproxy.cfg")
        .unwrap();
    let text = String::from_utf8(cfg.content.clone())
        .unwrap()
        .replace("balance roundrobin", "balance roundrobn");
    cfg.content = text.into_bytes();
    // ...and a zone with an impossible address.
    let ns = plan.servers.iter_mut().find(|s| s.name == "ns").unwrap();
    let zone = ns
        .files
        .iter_mut()
        .find(|f| f.path.ends_with("db.foobar.com"))
        .unwrap();
    let text = String::from_utf8(zone.content.clone())
        .unwrap()
        .replace("10.101.0.10", "10.101.0.300");
    zone.content = text.into_bytes();

    let rt = tokio::runtime::Runtime::new().unwrap();
    let results = rt.block_on(async {
        let docker = infractl::driver::docker::engine::connect().await.unwrap();
        infractl::driver::docker::check::run(&docker, &plan, Arc::new(infractl::progress::Silent))
            .await
            .unwrap()
    });
    let failed: Vec<_> = results.iter().filter(|r| !r.ok).collect();
    let names: Vec<(&str, &str)> = failed
        .iter()
        .map(|r| (r.server.as_str(), r.program.as_str()))
        .collect();
    assert!(names.contains(&("lb-01", "haproxy -c")), "{names:?}");
    assert!(names.contains(&("ns", "named-checkzone")), "{names:?}");
    let haproxy = failed.iter().find(|r| r.program == "haproxy -c").unwrap();
    assert!(
        haproxy
            .message
            .contains("haproxy.cfg:28] : balance only supports"),
        "{}",
        haproxy.message
    );
    assert_eq!(haproxy.file, "/etc/haproxy/haproxy.cfg");
    let zone = failed
        .iter()
        .find(|r| r.program == "named-checkzone")
        .unwrap();
    assert!(zone.message.contains("bad dotted quad"), "{}", zone.message);
    // The untouched servers pass.
    assert!(results.iter().any(|r| r.server == "server-01" && r.ok));
    // No check container is left behind.
    let left = rt.block_on(async {
        let docker = infractl::driver::docker::engine::connect().await.unwrap();
        infractl::driver::docker::engine::containers_with_label(
            &docker,
            infractl::driver::docker::engine::LABEL_CHECK,
            "task1",
        )
        .await
        .unwrap()
    });
    assert!(left.is_empty(), "left behind: {left:?}");
}
