//! The JSON Schema matches the loader: `stack.schema.json`, which every
//! shipped stack names in its `$schema` line, is what `infractl schema`
//! prints; the shipped stacks (overlays included) pass it; and what the
//! loader refuses for its shape, the schema refuses too. (What the loader
//! accepts, the schema accepts: see the mutants in tests/stack_mutants.rs.)
//! `UPDATE_GOLDEN=1` rewrites the schema file.

use std::path::Path;

use crate::harness::Test;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A validator of the schema `infractl schema` prints.
pub fn validator() -> jsonschema::Validator {
    let out = Test::new().args(&["schema"]).run().code(0);
    let schema: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    jsonschema::validator_for(&schema).expect("the schema is a valid JSON Schema")
}

/// A YAML stack as the JSON an editor's schema check sees.
fn as_json(yaml: &str) -> serde_json::Value {
    serde_yaml::from_str(yaml).expect("YAML")
}

fn errors(v: &jsonschema::Validator, yaml: &str) -> Vec<String> {
    v.iter_errors(&as_json(yaml))
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

#[test]
fn the_schema_file_is_current() {
    let out = Test::new().args(&["schema"]).run().code(0);
    let path = root().join(infractl::commands::schema::FILE);
    if std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &out.stdout).unwrap();
    }
    let file = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        file == out.stdout,
        "stack.schema.json differs from `infractl schema` (UPDATE_GOLDEN=1 rewrites it)"
    );
}

#[test]
fn shipped_stacks_name_the_schema_and_pass_it() {
    let v = validator();
    let dir = root().join("stacks");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let named = text
            .lines()
            .find_map(|l| l.strip_prefix("# yaml-language-server: $schema="))
            .unwrap_or_else(|| panic!("{} names no schema", path.display()));
        let target = dir.join(named);
        assert!(
            target.canonicalize().ok() == root().join("stack.schema.json").canonicalize().ok(),
            "{}: $schema={named} is not the repository's stack.schema.json",
            path.display()
        );
        let errs = errors(&v, &text);
        assert!(errs.is_empty(), "{}: {errs:#?}", path.display());
        n += 1;
    }
    assert_eq!(n, 5);
}

#[test]
fn habits_the_loader_reads_pass_the_schema() {
    let v = validator();
    let text = "x-db: &db
  networks: { private: 10 }
domain: foobar.com
networks:
  public: { subnet: 10.9.0.0/24, public: yes }
  private: { subnet: 10.9.1.0/24, public: off }
servers:
  db-01:
    networks: { private: 10 }
    components: [{ mariadb: { role: master } }, { monitoring-client: ~ }]
  db-02:
    networks: { private: 11 }
    components: [{ mariadb: { role: slave, server-id: 9 } }]
tls: { names: [www.foobar.com], reencrypt: no }
dns:
  records:
    - { name: \"@\", type: MX, priority: 0, value: mail }
";
    assert_eq!(errors(&v, text), Vec::<String>::new());
    let overlay = "extends: task1\nservers:\n  server-02: ~\ntls: ~\n";
    assert_eq!(errors(&v, overlay), Vec::<String>::new());
}

/// Cases of tests/errors/ the loader refuses for their shape (a key, a
/// type, a range): the schema refuses each of them too.
#[test]
fn the_schema_refuses_what_the_loader_refuses_for_its_shape() {
    let v = validator();
    let shape_errors = [
        "address-negative",
        "app-workers-zero",
        "database-role-unknown",
        "keepalived-advert-interval-zero",
        "keepalived-priority-too-large",
        "keepalived-priority-zero",
        "missing-domain",
        "misspelt-component",
        "mysql-component",
        "option-not-indented",
        "port-quoted",
        "port-too-large",
        "port-zero",
        "public-not-a-boolean",
        "server-role-habit",
        "unknown-component",
        "unknown-server-key",
        "unknown-top-level-key",
    ];
    for case in shape_errors {
        let text =
            std::fs::read_to_string(root().join(format!("tests/errors/{case}.yaml"))).unwrap();
        assert!(
            !errors(&v, &text).is_empty(),
            "{case}: the loader refuses it, the schema accepts it"
        );
    }
}

/// A validator of the exercises' schema (`infractl schema --exercise`).
fn exercise_validator() -> (jsonschema::Validator, String) {
    let out = Test::new().args(&["schema", "--exercise"]).run().code(0);
    let schema: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let v = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
    (v, out.stdout)
}

#[test]
fn the_exercise_schema_is_current_and_the_shipped_exercises_pass_it() {
    let (v, printed) = exercise_validator();
    let path = root().join(infractl::commands::schema::EXERCISE_FILE);
    if std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &printed).unwrap();
    }
    let file = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        file == printed,
        "exercise.schema.json differs from `infractl schema --exercise` (UPDATE_GOLDEN=1 rewrites it)"
    );
    let dir = root().join("exercises");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.lines()
                .any(|l| l == "# yaml-language-server: $schema=../exercise.schema.json"),
            "{} names no schema",
            path.display()
        );
        let errs = errors(&v, &text);
        assert!(errs.is_empty(), "{}: {errs:#?}", path.display());
        n += 1;
    }
    assert!(n >= 2, "{n} exercises shipped");
}

#[test]
fn the_exercise_schema_refuses_what_the_loader_refuses_for_its_shape() {
    let (v, _) = exercise_validator();
    let head = "stack: task1\ntitle: t\ntext: x\n";
    for (yaml, why) in [
        (format!("{head}faults: [no-such-fault]\n"), "a fault of no catalogue"),
        (
            format!("{head}faults: [haproxy-check-404]\npool: {{ faults: [replication-stopped], draw: 1 }}\n"),
            "both faults and a pool",
        ),
        (head.to_string(), "neither faults nor a pool"),
        (format!("{head}faults: [haproxy-check-404]\nhint: x\n"), "an unknown key"),
        (
            format!("{head}pool: {{ faults: [haproxy-check-404], draw: 0 }}\n"),
            "a draw of none",
        ),
        ("title: t\ntext: x\nfaults: [haproxy-check-404]\n".to_string(), "no stack"),
    ] {
        assert!(!errors(&v, &yaml).is_empty(), "{why} passed the schema:\n{yaml}");
        let t = Test::new();
        t.file("e.yaml", &yaml);
        let refused = t.run_args(&["validate", "e.yaml"]);
        assert_eq!(refused.code, 2, "{why}: the loader took it:\n{yaml}\n{}", refused.stderr);
    }
    let good =
        format!("{head}pool: {{ faults: [haproxy-check-404, replication-stopped], draw: 1 }}\n");
    assert_eq!(errors(&v, &good), Vec::<String>::new());
}
