//! Loading and validation: the built-in stacks load, and each kind of bad
//! input gets its own message at the right line and column.

use std::path::Path;

use super::source::Source;
use super::*;
use crate::topology::{Role, Topology};

fn load_text(text: &str) -> Result<Topology> {
    load_source(Source {
        name: "bad.yaml".into(),
        text: text.into(),
        dir: None,
    })
    .map(Topology::build)
}

/// A stack and its topology, by name or path.
fn load(reference: &str) -> Result<Topology> {
    super::load(reference).map(Topology::build)
}

/// The one diagnostic of a failed load: (message, line, column).
fn error_of(text: &str) -> (String, usize, usize) {
    match load_text(text) {
        Ok(_) => panic!("stack loaded, but an error was expected"),
        Err(Error::Stack(d)) => {
            assert_eq!(d.len(), 1, "expected one diagnostic, got {d:#?}");
            let loc = d[0].location.clone().expect("a location");
            assert_eq!(loc.file, "bad.yaml");
            (d[0].message.clone(), loc.line, loc.column)
        }
        Err(e) => panic!("expected a stack error, got {e:?}"),
    }
}

#[test]
fn builtin_stacks_load() {
    let names: Vec<String> = builtins().into_iter().map(|b| b.name).collect();
    assert_eq!(names, ["task0", "task1", "task2", "task3", "task4"]);
    for n in &names {
        let t = load(n).unwrap_or_else(|e| panic!("{n}: {}", e.report()));
        assert_eq!(&t.stack.name, n);
        assert!(!t.stack.description.is_empty());
    }
}

#[test]
fn task0_is_one_server_with_everything() {
    let t = load("task0").unwrap();
    let site: Vec<_> = t
        .nodes
        .iter()
        .filter(|n| n.roles.contains(&Role::Web))
        .collect();
    assert_eq!(site.len(), 1);
    assert_eq!(site[0].roles, [Role::DbPrimary, Role::App, Role::Web]);
    let www = t.records.iter().find(|r| r.name == "www").unwrap();
    assert_eq!((www.kind, www.value.as_str()), ("A", "10.100.0.10"));
    let kinds: Vec<&str> = t.records.iter().map(|r| r.kind).collect();
    for k in ["A", "CNAME", "MX", "TXT"] {
        assert!(kinds.contains(&k), "task0 zone lacks {k}");
    }
}

#[test]
fn task1_balances_two_servers_with_primary_and_replica() {
    let t = load("task1").unwrap();
    let lb = t.node("lb-01");
    assert_eq!(lb.backends, ["server-01", "server-02"]);
    assert_eq!(
        t.node("server-02").replicates_from.as_deref(),
        Some("server-01")
    );
    // Applications write to the primary and read from the replica.
    for app in ["server-01", "server-02"] {
        assert_eq!(t.node(app).db_primary.as_deref(), Some("server-01"));
        assert_eq!(t.node(app).db_reads, ["server-02"]);
    }
    assert!(t.stack.tls.is_none());
    assert!(!t.stack.servers.iter().any(|s| s.has("ufw")));
}

#[test]
fn task2_extends_task1_with_firewalls_tls_and_monitoring() {
    let t = load("task2").unwrap();
    for s in ["lb-01", "server-01", "server-02"] {
        let srv = t.server(s);
        assert!(srv.has("ufw") && srv.has("monitoring-client"), "{s}");
    }
    assert_eq!(
        t.stack.tls.as_ref().unwrap().names,
        ["www.foobar.com", "foobar.com"]
    );
    // Inherited servers keep their place; the subnet is task2's own.
    assert_eq!(t.stack.servers[0].name, "ns");
    assert_eq!(t.server("lb-01").primary_addr().to_string(), "10.102.0.10");
    // The database is reachable only from the app servers, the replica and Prometheus.
    let into_db: Vec<(&str, u16)> = t
        .flows_to("server-01")
        .map(|f| (f.from.as_str(), f.port))
        .collect();
    assert!(into_db.contains(&("server-02", 3306)));
    assert!(!into_db.contains(&("client", 3306)));
}

#[test]
fn task3_splits_tiers_and_clusters_the_load_balancers() {
    let t = load("task3").unwrap();
    assert!(
        t.stack.server("server-01").is_none(),
        "task3 removes task2's mixed servers"
    );
    for (s, role) in [
        ("web-01", Role::Web),
        ("app-01", Role::App),
        ("db-01", Role::DbPrimary),
        ("db-02", Role::DbReplica),
    ] {
        assert_eq!(t.node(s).roles, [role], "{s}");
    }
    assert_eq!(t.vips.len(), 1);
    let vip = &t.vips[0];
    assert_eq!(vip.address.to_string(), "10.103.0.100");
    assert_eq!(
        vip.members,
        [("lb-01".to_string(), 255), ("lb-02".to_string(), 100)]
    );
    let www = t.records.iter().find(|r| r.name == "www").unwrap();
    assert_eq!(www.value, "10.103.0.100");
    assert_eq!(t.node("web-01").upstreams, ["app-01", "app-02"]);
    assert_eq!(
        t.stages(),
        [
            vec!["ns"],
            vec!["db-01"],
            vec!["db-02"],
            vec!["app-01", "app-02"],
            vec!["web-01", "web-02"],
            vec!["lb-01", "lb-02"],
            vec!["admin"],
            vec!["client"]
        ]
    );
}

/// The cases of `tests/errors/`: (name, text).
fn error_cases() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/errors");
    let mut out: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
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

fn report_of(case: &str, text: &str) -> String {
    let src = Source {
        name: format!("{case}.yaml"),
        text: text.into(),
        dir: None,
    };
    match load_source(src) {
        Ok(_) => panic!("{case}: the stack loaded"),
        Err(e) => {
            assert_eq!(e.exit_code(), 2, "{case}");
            e.report()
        }
    }
}

/// The loader's half of the error table (the binary's is
/// tests/stack_errors.rs): each case's report is its `.stderr`.
#[test]
fn every_error_case_reports_its_stderr() {
    let cases = error_cases();
    assert!(!cases.is_empty());
    for (case, text) in cases {
        let want_path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/errors")
            .join(format!("{case}.stderr"));
        let want = std::fs::read_to_string(want_path).unwrap();
        assert_eq!(report_of(&case, &text), want, "{case}");
    }
}

/// Saved with a byte order mark and CRLF line endings, every bad stack is
/// reported exactly as before: same lines, columns and carets.
#[test]
fn bom_and_crlf_change_no_report() {
    for (case, text) in error_cases() {
        let windows = format!("\u{feff}{}", text.replace('\n', "\r\n"));
        assert_eq!(
            report_of(&case, &windows),
            report_of(&case, &text),
            "{case}"
        );
    }
}

#[test]
fn bom_and_crlf_load_like_the_original() {
    for name in ["task0", "task3"] {
        let text =
            std::fs::read_to_string(format!("{}/stacks/{name}.yaml", env!("CARGO_MANIFEST_DIR")))
                .unwrap();
        let windows = format!("\u{feff}{}", text.replace('\n', "\r\n"));
        let dir = Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("stacks"));
        let load_as = |text: String| {
            load_source(Source {
                name: format!("{name}.yaml"),
                text,
                dir: dir.clone(),
            })
            .unwrap_or_else(|e| panic!("{name}: {}", e.report()))
        };
        let (a, b) = (load_as(text), load_as(windows));
        assert_eq!(format!("{a:?}"), format!("{b:?}"), "{name}");
    }
}

#[test]
fn habits_from_ansible_and_the_course_are_read() {
    let t = load_text(
        "domain: foobar.com
networks:
  public: { subnet: 10.9.0.0/24, public: yes }
  private: { subnet: 10.9.1.0/24, public: no }
servers:
  db-01:
    networks: { private: 10 }
    components: [{ mariadb: { role: master } }]
  db-02:
    networks: { private: 11 }
    components: [{ mariadb: { role: slave } }]
",
    )
    .unwrap();
    assert!(t.stack.network("public").unwrap().public);
    assert!(!t.stack.network("private").unwrap().public);
    assert_eq!(t.node("db-01").roles, [Role::DbPrimary]);
    assert_eq!(t.node("db-02").roles, [Role::DbReplica]);
    assert_eq!(t.node("db-02").replicates_from.as_deref(), Some("db-01"));
}

#[test]
fn merge_keys_and_extension_keys_as_in_compose() {
    let t = load_text(
        "domain: foobar.com
x-web: &web
  networks: { public: 10 }
  components: [nginx, app, { mariadb: { role: primary } }]
networks:
  public: { subnet: 10.9.0.0/24, public: true }
servers:
  web-01:
    <<: *web
  web-02:
    <<: *web
    networks: { public: 11 }
    components: [nginx, app, { mariadb: { role: replica } }]
",
    )
    .unwrap();
    assert_eq!(t.server("web-01").primary_addr().to_string(), "10.9.0.10");
    assert_eq!(t.server("web-02").primary_addr().to_string(), "10.9.0.11");
    assert_eq!(
        t.node("web-02").roles,
        [Role::DbReplica, Role::App, Role::Web]
    );
}

#[test]
fn an_error_beside_a_merge_points_at_the_mapping_that_set_it() {
    // web-02 sets its own address, which clashes: the error is on web-02's
    // line, not on the anchor's.
    let text = "domain: foobar.com
x-web: &web
  networks: { public: 10 }
  components: [nginx, app, mariadb]
networks:
  public: { subnet: 10.9.0.0/24, public: true }
servers:
  web-01:
    <<: *web
  web-02:
    <<: *web
    networks: { public: 10 }
";
    let (msg, line, col) = error_of(text);
    assert_eq!(
        msg,
        "server `web-02`: address 10.9.0.10 is already used by `web-01`"
    );
    assert_eq!((line, col), (12, 25));
}

#[test]
fn mx_priority_zero_is_rendered() {
    let t = load_text(
        "domain: foobar.com
networks:
  public: { subnet: 10.9.0.0/24, public: true }
servers:
  ns:
    networks: { public: 2 }
    components: [dns]
dns:
  records:
    - { name: mail, type: A, value: ns }
    - { name: \"@\", type: MX, priority: 0, value: mail }
",
    )
    .unwrap();
    let mx = t.records.iter().find(|r| r.kind == "MX").unwrap();
    assert_eq!(mx.priority, Some(0));
}

#[test]
fn extends_cycle_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.yaml"), "extends: b.yaml\n").unwrap();
    std::fs::write(dir.path().join("b.yaml"), "extends: a.yaml\n").unwrap();
    let err = load(dir.path().join("a.yaml").to_str().unwrap()).unwrap_err();
    assert!(
        err.report().contains("`extends` forms a cycle"),
        "{}",
        err.report()
    );
}

#[test]
fn extends_a_builtin_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bigger.yaml");
    std::fs::write(
        &path,
        "extends: task1
servers:
  server-03:
    networks: { public: 13, private: 13 }
    components: [nginx, app, { mariadb: { role: replica } }]
",
    )
    .unwrap();
    let t = load(path.to_str().unwrap()).unwrap();
    assert_eq!(t.stack.name, "bigger");
    assert_eq!(
        t.node("lb-01").backends,
        ["server-01", "server-02", "server-03"]
    );
    assert_eq!(t.node("server-01").db_reads, ["server-02", "server-03"]);
}

#[test]
fn unknown_stack_name_suggests_builtins() {
    let err = load("tsak1").unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(
        err.report().contains("did you mean `task1`?"),
        "{}",
        err.report()
    );
}

/// Every value of the shipped stacks replaced, one at a time, by one of the
/// wrong kind or range: whatever the message, it speaks of the stack, never
/// of Rust's types or serde's terms.
#[test]
fn no_message_speaks_rust() {
    const WRONG: &[&str] = &[
        "[1]",
        "{a: 1}",
        "~",
        "-1",
        "0",
        "1.5",
        "70000",
        "99999999999999999999",
        "x y",
        "true",
    ];
    const RUST_WORDS: &[&str] = &[
        "u8", "u16", "u32", "u64", "u128", "i8", "i16", "i32", "i64", "i128", "f32", "f64",
        "usize", "untagged", "variant", "struct", "enum", "serde", "Option", "String", "Vec",
        "IndexMap", "sequence", "map", "unit",
    ];
    let mut tried = 0;
    // task3 has every kind of component and record but the client's.
    for name in ["task3"] {
        let src = FsResolver.resolve(name, None).unwrap();
        let doc = source::read(src, &FsResolver).unwrap();
        let flat = serde_yaml::to_string(&doc.value)
            .unwrap()
            .replace("extends: task2\n", "");
        let lines: Vec<&str> = flat.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if line.trim_start().starts_with("description:") {
                continue; // free text
            }
            // `key: value` or `- value`, the value a scalar.
            let Some(at) = line.find(": ").map(|p| p + 2).or_else(|| {
                line.trim_start()
                    .starts_with("- ")
                    .then(|| line.find("- ").unwrap() + 2)
            }) else {
                continue;
            };
            for wrong in WRONG {
                let mut text: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
                text[i] = format!("{}{wrong}", &line[..at]);
                let Err(e) = load_text(&text.join("\n")) else {
                    continue;
                };
                tried += 1;
                let report = e.report();
                for word in report.split(|c: char| !c.is_ascii_alphanumeric()) {
                    assert!(
                        !RUST_WORDS.contains(&word),
                        "`{word}` in the message for {line:?} -> {wrong:?}:\n{report}"
                    );
                }
                assert!(
                    !report.contains("invalid type") && !report.contains("invalid value"),
                    "{report}"
                );
            }
        }
    }
    assert!(tried > 400, "only {tried} wrong stacks tried");
}
