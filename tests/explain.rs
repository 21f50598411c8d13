//! `infractl explain` as users read it: each seed stack's whole output
//! compared with a reviewed snapshot in tests/snapshots/explain-<stack>.txt.
//! `UPDATE_SNAPSHOTS=1 cargo test --test main explain` rewrites them after
//! an intended change; read the diff as a reviewer before committing it:
//! every sentence must be true of the stack and good English.

use std::path::Path;

use crate::harness::Test;

fn snapshot(stack: &str) {
    let out = Test::new().args(&["explain", stack]).run().code(0);
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(format!("explain-{stack}.txt"));
    if std::env::var("UPDATE_SNAPSHOTS").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &out.stdout).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (UPDATE_SNAPSHOTS=1 cargo test --test main explain writes it)",
            path.display()
        )
    });
    if out.stdout != want {
        let first = out
            .stdout
            .lines()
            .zip(want.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| out.stdout.lines().count().min(want.lines().count()));
        panic!(
            "explain {stack} differs from {} at line {}:\n  got:  {}\n  want: {}\n(UPDATE_SNAPSHOTS=1 rewrites the snapshot after an intended change)",
            path.display(),
            first + 1,
            out.stdout.lines().nth(first).unwrap_or("<end>"),
            want.lines().nth(first).unwrap_or("<end>")
        );
    }
}

#[test]
fn explain_task0_matches_its_snapshot() {
    snapshot("task0");
}

#[test]
fn explain_task1_matches_its_snapshot() {
    snapshot("task1");
}

#[test]
fn explain_task2_matches_its_snapshot() {
    snapshot("task2");
}

#[test]
fn explain_task3_matches_its_snapshot() {
    snapshot("task3");
}

#[test]
fn explain_task4_matches_its_snapshot() {
    snapshot("task4");
}

#[test]
fn explain_json_names_the_findings_by_kind() {
    let out = Test::new()
        .args(&["explain", "task1", "--json"])
        .run()
        .code(0);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let kinds: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    for want in [
        "spof-load-balancer",
        "spof-db-primary",
        "no-https",
        "no-firewall",
        "no-monitoring",
    ] {
        assert!(kinds.contains(&want), "{kinds:?}");
    }
    assert_eq!(v["load_balancing"]["algorithm"], "roundrobin");
    let hops: Vec<&str> = v["request_path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["what"].as_str().unwrap())
        .collect();
    assert_eq!(
        hops,
        [
            "DNS",
            "load balancer",
            "web server",
            "application server",
            "database"
        ]
    );
}

#[test]
fn explain_follows_an_edited_stack() {
    // task1 with a second load balancer sharing a virtual IP: the load
    // balancer is no longer a single point of failure, and the mode and the
    // DNS answer follow.
    let t = Test::new();
    let stack = t.file(
        "pair.yaml",
        "extends: task1\nname: pair\nservers:\n  lb-01:\n    components: [haproxy, { keepalived: { vip: 10.101.0.100 } }]\n  lb-02:\n    networks: { public: 13, private: 13 }\n    components: [haproxy, { keepalived: { vip: 10.101.0.100 } }]\ndns:\n  records:\n    - { name: www, type: A, value: 10.101.0.100 }\n",
    );
    let out = t
        .run_args(&["explain", stack.to_str().unwrap()])
        .code(0)
        .stdout;
    assert!(out.contains("Mode: active-passive. lb-01 holds the virtual IP 10.101.0.100 and takes all the traffic; lb-02 stands by and takes the address over (VRRP, keepalived) if lb-01 fails."), "{out}");
    assert!(
        out.contains("its A record answers 10.101.0.100 (the virtual IP of lb-01 and lb-02)"),
        "{out}"
    );
    assert!(
        !out.contains("single point of failure: the load balancer"),
        "{out}"
    );
}
