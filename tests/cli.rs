//! What a user sees from the commands that need no engine: help, list,
//! schema, render, and every kind of bad input (exit 2, the file, line and
//! column, nothing written).

use crate::harness::Test;

#[test]
fn list_shows_the_four_seed_stacks() {
    let out = Test::new().args(&["list"]).run().code(0);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "STACK  DESCRIPTION");
    assert_eq!(lines.len(), 5);
    for (i, t) in ["task0", "task1", "task2", "task3"].iter().enumerate() {
        assert!(
            lines[i + 1].starts_with(&format!("{t}  ")),
            "{}",
            lines[i + 1]
        );
    }
    let json = Test::new().args(&["list", "--json"]).run().code(0);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 4);
}

#[test]
fn every_command_has_help_with_an_example() {
    for cmd in ["list", "render", "validate", "schema"] {
        Test::new()
            .args(&[cmd, "--help"])
            .run()
            .code(0)
            .stdout_has("Example: infractl");
    }
    Test::new()
        .args(&["image", "build", "--help"])
        .run()
        .code(0)
        .stdout_has("Example: infractl image build");
    Test::new()
        .args(&["--help"])
        .run()
        .code(0)
        .stdout_has("Exit codes: 0 ok, 1 the lab");
}

#[test]
fn schema_describes_the_stack_format() {
    let out = Test::new().args(&["schema"]).run().code(0);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let props = v["properties"].as_object().unwrap();
    for key in [
        "domain", "networks", "servers", "dns", "tls", "firewall", "extends",
    ] {
        assert!(props.contains_key(key), "schema lacks {key}");
    }
    let text = out.stdout;
    for kind in ["nginx", "haproxy", "keepalived", "monitoring-client"] {
        assert!(
            text.contains(&format!("\"{kind}\"")),
            "schema lacks component {kind}"
        );
    }
}

#[test]
fn render_writes_every_config_of_task3() {
    let t = Test::new();
    t.run_args(&["render", "task3", "--out", "out"])
        .code(0)
        .stdout_has("Rendered stack `task3`: 11 servers");
    let out = t.dir().join("out");
    for f in [
        "lb-01/etc/haproxy/haproxy.cfg",
        "lb-02/etc/haproxy/haproxy.cfg",
        "lb-01/etc/keepalived/keepalived.conf",
        "lb-02/etc/keepalived/keepalived.conf",
        "db-01/etc/mysql/mariadb.conf.d/60-infractl.cnf",
        "db-02/etc/mysql/mariadb.conf.d/60-infractl.cnf",
        "db-01/etc/infractl/mariadb/primary.sql",
        "db-02/etc/infractl/mariadb/replica.sql",
        "ns/var/lib/bind/db.foobar.com",
        "web-01/etc/nginx/nginx.conf",
        "app-01/srv/app/app.py",
        "admin/etc/prometheus/prometheus.yml",
        "plan.json",
    ] {
        assert!(out.join(f).is_file(), "{f} not rendered");
    }
    for s in [
        "lb-01", "lb-02", "web-01", "web-02", "app-01", "app-02", "db-01", "db-02",
    ] {
        assert!(
            out.join(s).join("etc/infractl/ufw/rules").is_file(),
            "{s} has no ufw rules"
        );
    }
    // Secrets are written 0600, and never appear in the plan.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(out.join("db-02/etc/infractl/mariadb/replica.sql"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let plan = std::fs::read_to_string(out.join("plan.json")).unwrap();
    let password =
        std::fs::read_to_string(t.state_dir().join("task3/secrets/db-replication.password"))
            .unwrap();
    assert!(!plan.contains(&password));
    let v: serde_json::Value = serde_json::from_str(&plan).unwrap();
    assert_eq!(v["order"][0], serde_json::json!(["ns"]));
    let lb = v["servers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "lb-01")
        .unwrap();
    let f = &lb["files"][0];
    for key in ["path", "mode", "sha256"] {
        assert!(f.get(key).is_some(), "plan file entry lacks {key}");
    }
    for key in ["packages", "services", "probes", "checks"] {
        assert!(
            !lb[key].as_array().unwrap().is_empty(),
            "lb-01 has no {key}"
        );
    }
}

#[test]
fn render_is_deterministic() {
    let t = Test::new();
    t.run_args(&["render", "task2", "--out", "a"]).code(0);
    t.run_args(&["render", "task2", "--out", "b"]).code(0);
    let read = |d: &str| std::fs::read_to_string(t.dir().join(d).join("plan.json")).unwrap();
    assert_eq!(read("a"), read("b"));
}

/// A bad stack: exit 2, the message at `file:line:col`, nothing written.
fn rejects(stack: &str, message: &str, at: &str) {
    let t = Test::new();
    t.file("bad.yaml", stack);
    let out = t.run_args(&["render", "bad.yaml", "--out", "out"]).code(2);
    assert!(
        out.stderr.contains(message),
        "stderr lacks {message:?}:\n{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(&format!("--> bad.yaml:{at}")),
        "stderr lacks bad.yaml:{at}:\n{}",
        out.stderr
    );
    assert!(!t.dir().join("out").exists(), "a bad stack wrote output");
    assert!(
        std::fs::read_dir(t.state_dir()).unwrap().next().is_none(),
        "a bad stack created state"
    );
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
fn malformed_yaml() {
    rejects(
        "domain: foobar.com\nservers: [\n  web-01\n",
        "invalid YAML",
        "4:1",
    );
}

#[test]
fn unknown_key() {
    rejects(
        &BASE.replace("domain:", "domian: x\ndomain:"),
        "unknown field `domian`",
        "1:1",
    );
}

#[test]
fn unknown_component() {
    let t = Test::new();
    t.file("bad.yaml", &BASE.replace("app,", "apache,"));
    t.run_args(&["render", "bad.yaml", "--out", "out"]).code(2).stderr(
        "error: servers.web-01.components[1]: unknown component `apache`; known components: nginx, app, mariadb, haproxy, keepalived, ufw, dns, monitoring-client, prometheus, client
 --> bad.yaml:7:25
  |
7 |     components: [nginx, apache, mariadb]
  |                         ^
",
    );
}

#[test]
fn duplicate_server_name() {
    rejects(
        &format!("{BASE}  web-01:\n    networks: {{ public: 11 }}\n    components: [nginx]\n"),
        "duplicate server name `web-01`",
        "8:3",
    );
}

#[test]
fn replica_with_no_primary() {
    rejects(
        &BASE.replace("mariadb]", "{ mariadb: { role: replica } }]"),
        "a mariadb replica needs a primary, and this stack has none",
        "7:30",
    );
}

#[test]
fn load_balancer_with_no_backends() {
    rejects(
        "domain: foobar.com\nnetworks:\n  public: { subnet: 10.9.0.0/24 }\nservers:\n  lb-01:\n    networks: { public: 10 }\n    components: [haproxy]\n",
        "load balancer `lb-01` has no backends",
        "7:18",
    );
}

#[test]
fn virtual_ip_outside_its_network() {
    rejects(
        &format!("{BASE}  lb-01:\n    networks: {{ public: 5 }}\n    components:\n      - haproxy\n      - keepalived: {{ vip: 10.77.0.9 }}\n"),
        "virtual IP 10.77.0.9 is outside its networks",
        "12:28",
    );
}

#[test]
fn firewall_rule_naming_an_unknown_server() {
    rejects(
        &format!("{BASE}firewall:\n  ssh-from: [admin]\n"),
        "firewall: `admin` is not a server of this stack",
        "9:14",
    );
}

#[test]
fn two_services_on_one_port() {
    rejects(
        &BASE.replace("mariadb]", "mariadb, haproxy]"),
        "`nginx` and `haproxy` both listen on port 80/tcp",
        "7:39",
    );
}

#[test]
fn missing_stack_file() {
    Test::new()
        .args(&["render", "nope.yaml", "--out", "out"])
        .run()
        .code(2)
        .stderr_has("error: cannot read stack file `nope.yaml`");
}

#[test]
fn explain_names_the_weaknesses_of_each_seed_stack() {
    let out = Test::new()
        .args(&["explain", "task1", "--json"])
        .run()
        .code(0);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let titles: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["title"].as_str().unwrap())
        .collect();
    assert!(
        titles.contains(&"single point of failure: the load balancer"),
        "{titles:?}"
    );
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
    Test::new()
        .args(&["explain", "task3"])
        .run()
        .code(0)
        .stdout_has("active-passive: lb-01 holds the virtual IP 10.103.0.100");
}

#[test]
fn diagram_svg_parses_and_names_every_server() {
    for stack in ["task0", "task1", "task2", "task3"] {
        let t = Test::new();
        t.run_args(&["diagram", stack, "-o", "d.svg"]).code(0);
        let text = std::fs::read_to_string(t.dir().join("d.svg")).unwrap();
        let doc = roxmltree::Document::parse(&text)
            .unwrap_or_else(|e| panic!("{stack}: SVG does not parse: {e}"));
        let ids: Vec<&str> = doc
            .descendants()
            .filter(|n| n.attribute("class") == Some("node"))
            .filter_map(|n| n.attribute("id"))
            .collect();
        let list = Test::new()
            .args(&["render", stack, "--out", "o", "--json"])
            .run()
            .code(0);
        let plan: serde_json::Value = serde_json::from_str(&list.stdout).unwrap();
        for s in plan["servers"].as_array().unwrap() {
            let name = s["name"].as_str().unwrap();
            assert!(
                ids.contains(&name),
                "{stack}: the diagram has no box for {name}"
            );
        }
    }
    let dot = Test::new()
        .args(&["diagram", "task1", "--format", "dot"])
        .run()
        .code(0);
    assert!(
        dot.stdout
            .contains("\"lb-01\" -> \"server-01\" [label=\"HTTP 80\"];"),
        "{}",
        dot.stdout
    );
    let mmd = Test::new()
        .args(&["diagram", "task1", "--format", "mermaid"])
        .run()
        .code(0);
    assert!(mmd.stdout.contains("flowchart LR"));
}

#[test]
fn driver_and_inventory_must_agree() {
    let t = Test::new();
    t.run_args(&["--driver", "ssh", "status", "task1"])
        .code(2)
        .stderr_has("--driver ssh needs --inventory FILE");
    t.file("hosts.yaml", "hosts: {}\n");
    t.run_args(&[
        "--driver",
        "docker",
        "--inventory",
        "hosts.yaml",
        "status",
        "task1",
    ])
    .code(2)
    .stderr_has("--inventory is for --driver ssh");
    t.run_args(&["down", "task1", "--purge-packages"])
        .code(2)
        .stderr_has("--purge-packages is for hosts reached over SSH");
}
