//! Loading and validation: the built-in stacks load, and each kind of bad
//! input gets its own message at the right line and column.

use super::source::Source;
use super::*;
use crate::topology::Role;

fn load_text(text: &str) -> Result<Topology> {
    load_source(Source {
        name: "bad.yaml".into(),
        text: text.into(),
        dir: None,
    })
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

const BASE: &str = "domain: foobar.com
networks:
  public: { subnet: 10.9.0.0/24, public: true }
servers:
  web-01:
    networks: { public: 10 }
    components: [nginx, app, mariadb]
";

#[test]
fn builtin_stacks_load() {
    let names: Vec<String> = builtins().into_iter().map(|b| b.name).collect();
    assert_eq!(names, ["task0", "task1", "task2", "task3"]);
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

#[test]
fn malformed_yaml_points_at_the_line() {
    let (msg, line, _) = error_of("domain: foobar.com\nservers:\n  web-01: {networks: [\n");
    assert!(msg.starts_with("invalid YAML"), "{msg}");
    assert!(line >= 3, "line {line}");
}

#[test]
fn unknown_key_is_named_with_the_allowed_ones() {
    let text = BASE.replace(
        "    components: [nginx, app, mariadb]",
        "    components: [nginx, app, mariadb]\n    cpus: 2",
    );
    let (msg, line, col) = error_of(&text);
    assert!(msg.contains("unknown field `cpus`"), "{msg}");
    assert!(
        msg.contains("expected one of `description`, `networks`, `components`"),
        "{msg}"
    );
    assert_eq!((line, col), (8, 5));
}

#[test]
fn unknown_component_lists_the_known_ones() {
    let text = BASE.replace("[nginx, app, mariadb]", "[nginx, apache, mariadb]");
    let (msg, line, col) = error_of(&text);
    assert!(msg.contains("unknown component `apache`"), "{msg}");
    assert!(
        msg.contains("known components: nginx, app, mariadb, haproxy"),
        "{msg}"
    );
    assert_eq!((line, col), (7, 25));
}

#[test]
fn misspelt_component_gets_a_suggestion() {
    let text = BASE.replace("[nginx, app, mariadb]", "[ngnix, app, mariadb]");
    let (msg, _, _) = error_of(&text);
    assert!(msg.contains("did you mean `nginx`?"), "{msg}");
}

#[test]
fn duplicate_server_name() {
    let text =
        format!("{BASE}  web-01:\n    networks: {{ public: 11 }}\n    components: [nginx]\n");
    let (msg, line, col) = error_of(&text);
    assert_eq!(msg, "duplicate server name `web-01`");
    assert_eq!((line, col), (8, 3));
}

#[test]
fn replica_without_primary() {
    let text = BASE.replace(
        "[nginx, app, mariadb]",
        "[nginx, app, { mariadb: { role: replica } }]",
    );
    let err = load_text(&text).unwrap_err();
    let Error::Stack(d) = err else { panic!() };
    let replica = d
        .iter()
        .find(|d| d.message.contains("replica needs a primary"))
        .expect("replica error");
    let loc = replica.location.as_ref().unwrap();
    assert_eq!((loc.line, loc.column), (7, 30));
}

#[test]
fn load_balancer_without_backends() {
    let text = "domain: foobar.com
networks:
  public: { subnet: 10.9.0.0/24 }
servers:
  lb-01:
    networks: { public: 10 }
    components: [haproxy]
";
    let (msg, line, col) = error_of(text);
    assert!(
        msg.contains("load balancer `lb-01` has no backends"),
        "{msg}"
    );
    assert_eq!((line, col), (7, 18));
}

#[test]
fn vip_outside_its_network() {
    let text = "domain: foobar.com
networks:
  public: { subnet: 10.9.0.0/24 }
servers:
  web-01:
    networks: { public: 11 }
    components: [nginx, app, mariadb]
  lb-01:
    networks: { public: 10 }
    components:
      - haproxy
      - keepalived: { vip: 10.8.0.100 }
";
    let (msg, line, col) = error_of(text);
    assert!(
        msg.contains("virtual IP 10.8.0.100 is outside its networks (public 10.9.0.0/24)"),
        "{msg}"
    );
    assert_eq!((line, col), (12, 28));
}

#[test]
fn firewall_rule_naming_an_unknown_server() {
    let text =
        format!("{BASE}firewall:\n  allow:\n    - {{ from: wbe-01, to: web-01, port: 8080 }}\n");
    let err = load_text(&text).unwrap_err();
    let Error::Stack(d) = err else { panic!() };
    let unknown = d
        .iter()
        .find(|d| d.message.contains("`wbe-01` is not a server"))
        .expect("unknown server error");
    assert_eq!(
        unknown.hint.as_deref(),
        Some("did you mean `web-01`? servers of this stack: web-01")
    );
    let loc = unknown.location.as_ref().unwrap();
    assert_eq!((loc.line, loc.column), (10, 15));
}

#[test]
fn two_services_on_one_port() {
    let text = BASE.replace("[nginx, app, mariadb]", "[nginx, app, mariadb, haproxy]");
    let err = load_text(&text).unwrap_err();
    let Error::Stack(d) = err else { panic!() };
    let clash = &d[0];
    assert_eq!(
        clash.message,
        "server `web-01`: `nginx` and `haproxy` both listen on port 80/tcp"
    );
    let loc = clash.location.as_ref().unwrap();
    assert_eq!((loc.line, loc.column), (7, 39));
}

#[test]
fn address_outside_subnet_and_unknown_network() {
    let text = BASE.replace("{ public: 10 }", "{ public: 10.9.1.5, privat: 3 }");
    let err = load_text(&text).unwrap_err();
    let Error::Stack(d) = err else { panic!() };
    let msgs: Vec<&str> = d.iter().map(|d| d.message.as_str()).collect();
    assert!(
        msgs.contains(
            &"server `web-01`: address 10.9.1.5 is outside network `public` (10.9.0.0/24)"
        ),
        "{msgs:?}"
    );
    assert!(
        msgs.contains(&"server `web-01`: unknown network `privat`"),
        "{msgs:?}"
    );
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
