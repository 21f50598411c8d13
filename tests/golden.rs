//! Golden files: the rendered configs of the four stacks, byte for byte.
//! Secrets come from a state directory seeded with fixed values, so every
//! file is deterministic. A file that is a template's source unchanged (the
//! application, the style sheet) is not kept here: its sha256 in
//! `plan.json` covers it. `UPDATE_GOLDEN=1 cargo test golden` rewrites them
//! after an intended change; review the diff.

use std::collections::BTreeMap;
use std::path::Path;

use crate::harness::Test;

fn seed_state(root: &Path, stack: &str) {
    let dir = root.join(stack);
    std::fs::create_dir_all(dir.join("secrets")).unwrap();
    std::fs::create_dir_all(dir.join("tls")).unwrap();
    for name in ["db-app", "db-replication", "db-exporter"] {
        std::fs::write(
            dir.join(format!("secrets/{name}.password")),
            format!("golden-{name}"),
        )
        .unwrap();
    }
    std::fs::write(dir.join("tls/names"), "www.foobar.com\nfoobar.com\n").unwrap();
    for f in ["ca.crt", "ca.key", "site.crt", "site.key"] {
        std::fs::write(dir.join("tls").join(f), format!("golden {f}\n")).unwrap();
    }
}

fn tree(dir: &Path) -> BTreeMap<String, String> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                let rel = p.strip_prefix(base).unwrap().display().to_string();
                out.insert(rel, std::fs::read_to_string(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    if dir.exists() {
        walk(dir, dir, &mut out);
    }
    out
}

fn check(stack: &str) {
    let t = Test::new();
    seed_state(t.state_dir(), stack);
    t.run_args(&["render", stack, "--out", "out"]).code(0);
    let mut got = tree(&t.dir().join("out"));
    let sources: Vec<String> = tree(&Path::new(env!("CARGO_MANIFEST_DIR")).join("templates"))
        .into_values()
        .collect();
    got.retain(|_, text| !sources.contains(text));
    // The image tag is a hash of the image recipe; keep it out of the goldens.
    if let Some(plan) = got.get_mut("plan.json") {
        let mut v: serde_json::Value = serde_json::from_str(plan).unwrap();
        v["image"] = serde_json::json!("infractl/node:<recipe>");
        v["hash"] = serde_json::json!("<hash>");
        *plan = serde_json::to_string_pretty(&v).unwrap() + "\n";
    }
    let golden = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(stack);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        let _ = std::fs::remove_dir_all(&golden);
        for (rel, text) in &got {
            let p = golden.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        return;
    }
    let want = tree(&golden);
    let names = |m: &BTreeMap<String, String>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        names(&got),
        names(&want),
        "{stack}: rendered files differ from tests/golden/{stack}"
    );
    for (rel, text) in &want {
        assert_eq!(
            &got[rel], text,
            "{stack}: {rel} differs from its golden file (UPDATE_GOLDEN=1 to accept)"
        );
    }
}

#[test]
fn golden_task0() {
    check("task0");
}

#[test]
fn golden_task1() {
    check("task1");
}

#[test]
fn golden_task2() {
    check("task2");
}

#[test]
fn golden_task3() {
    check("task3");
}

#[test]
fn golden_task4() {
    check("task4");
}
