//! `verify` on running labs: every check of task2 and task3 passes on a
//! fresh lab (task0 and task1 are verified in `up`'s tests), and a broken
//! lab fails with the right checks named (task2's on the monitored fault
//! catalogue's lab, `faults.rs`).

use std::collections::HashMap;
use std::process::Command;

use crate::harness::{eventually, Test};
use crate::up::{lab_alone, lab_lock, test_stack, Down};

/// Runs verify; returns (exit code, check name -> passed).
fn verify(t: &Test, file: &str) -> (i32, HashMap<String, bool>, String) {
    let (code, v, out) = verify_json(t, file);
    let checks = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                format!(
                    "{}: {}",
                    c["group"].as_str().unwrap(),
                    c["check"].as_str().unwrap()
                ),
                c["ok"].as_bool().unwrap(),
            )
        })
        .collect();
    (code, checks, out)
}

/// Runs verify; returns (exit code, what `--json` printed, the failures
/// in words).
fn verify_json(t: &Test, file: &str) -> (i32, serde_json::Value, String) {
    let out = t.run_args(&["--quiet", "verify", file, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|_| panic!("verify printed no JSON:\n{}\n{}", out.stdout, out.stderr));
    let failed = failures(&v, &out.stdout);
    (out.code, v, failed)
}

/// The failed checks, each with what was expected and observed (the whole
/// JSON follows, for the rest).
fn failures(v: &serde_json::Value, json: &str) -> String {
    let mut text = String::from("failed checks:\n");
    for c in v["checks"].as_array().into_iter().flatten() {
        if c["ok"] != true {
            text.push_str(&format!(
                "  {}: {}\n    expected: {}\n    observed: {}\n    hint: {}\n",
                c["group"], c["check"], c["expected"], c["observed"], c["hint"]
            ));
        }
    }
    text + json
}

/// A task2 lab fresh from `up` (`file`, on 10.`octet`.0.0/24 and
/// 10.`octet`.1.0/24) passes every check, of each of its groups, and
/// `status` shows each web server's requests per second. (The lab is the
/// monitored fault catalogue's, `faults.rs`.)
pub fn task2_verifies(t: &Test, file: &str) {
    let (code, checks, out) = verify(t, file);
    assert_eq!(code, 0, "{out}");
    for group in [
        "dns:",
        "site:",
        "load balancing:",
        "replication:",
        "firewall:",
        "public:",
        "monitoring:",
        "alerting:",
    ] {
        assert!(
            checks.keys().any(|k| k.starts_with(group)),
            "no {group} check:\n{out}"
        );
    }
    assert!(
        !checks.keys().any(|k| k.starts_with("failover:")),
        "task2 has no virtual IP"
    );

    // Status shows each web server's requests per second, from Prometheus
    // (once it has two scrapes of each within the minute).
    let mut last = String::new();
    let ok = eventually(40, || {
        let st = t.run_args(&["status", file, "--json"]).code(0);
        let v: serde_json::Value = serde_json::from_str(&st.stdout).unwrap();
        last = st.stdout;
        ["server-01", "server-02"].iter().all(|web| {
            v["servers"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["server"] == *web && s["qps"].as_f64().is_some())
        })
    });
    assert!(ok, "no QPS for every web server: {last}");
    t.run_args(&["status", file])
        .code(0)
        .stdout_has("Requests per second, last minute (Prometheus): server-01 ");
}

/// The task2 lab `file` (on 10.`octet`...) broken three ways fails the
/// right checks, each with a hint where to look, and passes the rest.
pub fn broken_task2_fails_the_right_checks(t: &Test, file: &str, octet: u8) {
    // Break three things: a firewall rule, the replica's replication, a web server.
    let lb = format!("10.{octet}.1.10");
    t.run_args(&[
        "exec",
        file,
        "server-01",
        "--",
        "ufw",
        "delete",
        "allow",
        "from",
        &lb,
        "to",
        "any",
        "port",
        "80",
        "proto",
        "tcp",
    ])
    .code(0);
    t.run_args(&[
        "exec",
        file,
        "server-02",
        "--",
        "mariadb",
        "-e",
        "STOP SLAVE",
    ])
    .code(0);
    t.run_args(&["exec", file, "server-02", "--", "sv", "stop", "nginx"])
        .code(0);
    // The lab's own monitoring says so: the replica's replication stopped
    // (mysqld exporter) and its web server down behind the load balancer
    // (HAProxy), each within its rule's hold, a scrape and an evaluation.
    let mut last = String::new();
    let wanted = [
        ("ReplicationStopped", "server-02"),
        ("BackendDown", "lb-01"),
    ];
    let fired = eventually(120, || {
        let out = t.run_args(&["alerts", file, "--json"]).code(0);
        let v: Vec<serde_json::Value> = serde_json::from_str(&out.stdout).unwrap();
        last = out.stdout;
        wanted.iter().all(|(alert, server)| {
            v.iter()
                .any(|a| a["alert"] == *alert && a["server"] == *server)
        })
    });
    assert!(fired, "not every alert of {wanted:?} fired: {last}");
    t.run_args(&["alerts", file])
        .code(0)
        .stdout_has("ReplicationStopped  critical  server-02");
    let (code, v, out) = verify_json(t, file);
    assert_eq!(code, 1, "{out}");
    let checks: HashMap<String, &serde_json::Value> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                format!(
                    "{}: {}",
                    c["group"].as_str().unwrap(),
                    c["check"].as_str().unwrap()
                ),
                c,
            )
        })
        .collect();
    let failed: Vec<&String> = checks
        .iter()
        .filter(|(_, c)| c["ok"] != true)
        .map(|(k, _)| k)
        .collect();
    for want in [
        "firewall: lb-01 -> server-01:80 (HTTP to web server)",
        "replication: the note reaches replica server-02",
        "load balancing: 20 requests spread over the web servers",
    ] {
        assert!(
            failed.iter().any(|f| f.as_str() == want),
            "`{want}` did not fail; failed: {failed:#?}"
        );
    }
    // Each failure says where to look: the server, the file, the command
    // (the firewall rule gone, lb-01 reaches neither web server).
    for (check, words) in [
        (
            "firewall: lb-01 -> server-01:80 (HTTP to web server)",
            &[
                "On server-01, `ufw status numbered`",
                "is lb-01 let in on 80/tcp?",
            ][..],
        ),
        (
            "replication: the note reaches replica server-02",
            &[
                "On server-02, `mariadb -e 'SHOW REPLICA STATUS\\G'`",
                "replicates from server-01",
            ][..],
        ),
        (
            "load balancing: 20 requests spread over the web servers",
            &[
                "On lb-01",
                "`/etc/haproxy/haproxy.cfg`",
                "on server-01 and server-02, `sv status nginx`",
            ][..],
        ),
    ] {
        let hint = checks[check]["hint"]
            .as_str()
            .unwrap_or_else(|| panic!("no hint for `{check}`:\n{out}"));
        for w in words {
            assert!(hint.contains(w), "`{check}`'s hint lacks `{w}`: {hint}");
        }
    }
    for (check, c) in &checks {
        assert_eq!(c["ok"] == true, c.get("hint").is_none(), "{check}: {c}");
    }
    // What was not broken still passes.
    assert_eq!(checks["dns: www.foobar.com. A"]["ok"], true);
    assert_eq!(
        checks["replication: replica server-02 refuses writes"]["ok"],
        true
    );
}

/// task3 under `name` on 10.`octet`.0.0/24 and 10.`octet`.1.0/24, its
/// virtual IP (and the records pointing at it) moved with it.
fn task3_stack(t: &Test, name: &str, octet: u8) -> String {
    vip_stack(t, "task3", name, octet)
}

/// `base` (task3, or a stack extending it) moved as [`task3_stack`] moves
/// task3.
fn vip_stack(t: &Test, base: &str, name: &str, octet: u8) -> String {
    let file = test_stack(t, base, name, octet, true);
    let mut text = std::fs::read_to_string(t.dir().join(&file)).unwrap();
    let vip = format!("10.{octet}.0.100");
    text.push_str(&format!(
        "servers:
  lb-01:
    components: [haproxy, {{ keepalived: {{ vip: {vip} }} }}, ufw, monitoring-client]
  lb-02:
    components: [haproxy, {{ keepalived: {{ vip: {vip} }} }}, ufw, monitoring-client]
dns:
  records:
    - {{ name: \"@\", type: A, value: {vip} }}
    - {{ name: www, type: A, value: {vip} }}
    - {{ name: blog, type: CNAME, value: www }}
"
    ));
    t.file(&file, &text);
    file
}

/// Two labs of one stack on one engine: the second moves to subnets of
/// its own, both pass verify (failover included), each is found by its
/// name alone, and taking one down leaves the other.
#[test]
#[ignore = "needs the Docker engine and the node image"]
fn two_labs_of_one_stack_run_side_by_side_and_verify() {
    let _lab = lab_alone();
    let t = Test::new();
    let file = task3_stack(&t, "it-twin", 223);
    let _a = Down(&t, "it-twin-a".into());
    let _b = Down(&t, "it-twin-b".into());
    t.run_args(&["--quiet", "up", &file, "--lab", "it-twin-a"])
        .code(0);
    t.run_args(&["--quiet", "up", &file, "--lab", "it-twin-b"])
        .code(0);
    let status = t.run_args(&["status", "--json"]).code(0);
    let labs: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    for lab in ["it-twin-a", "it-twin-b"] {
        let l = labs["labs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["lab"] == lab)
            .unwrap_or_else(|| panic!("{lab} not listed:\n{}", status.stdout));
        assert_eq!(
            (l["stack"].as_str(), l["running"].as_u64()),
            (Some("it-twin"), Some(11))
        );
    }
    let mut vips = Vec::new();
    for lab in ["it-twin-a", "it-twin-b"] {
        let (code, checks, out) = verify(&t, lab);
        assert_eq!(code, 0, "{lab}: {out}");
        let failover: Vec<&String> = checks
            .keys()
            .filter(|c| c.starts_with("failover:"))
            .collect();
        assert!(failover.len() >= 3, "{lab}: {failover:?}");
        let vip = checks
            .keys()
            .find_map(|c| c.strip_prefix("failover: virtual IP ")?.split(' ').next())
            .unwrap()
            .to_string();
        vips.push(vip);
    }
    assert_eq!(
        vips[0], "10.223.0.100",
        "the first lab keeps the stack's subnets"
    );
    assert_ne!(vips[1], vips[0], "the second lab has subnets of its own");
    assert!(
        vips[1].ends_with(".100"),
        "host numbers are kept: {}",
        vips[1]
    );
    // Each lab is named by its name alone; one down leaves the other whole.
    t.run_args(&["--quiet", "down", "it-twin-a"]).code(0);
    assert!(crate::up::labelled("container", "it-twin-a").is_empty());
    assert_eq!(crate::up::labelled("container", "it-twin-b").len(), 11);
    t.run_args(&[
        "exec",
        "it-twin-b",
        "client",
        "--",
        "curl",
        "-sfk",
        "https://www.foobar.com/",
    ])
    .code(0);
}

#[test]
#[ignore = "needs the Docker engine and the node image"]
fn chaos_on_task1_agrees_with_explain_and_checks_a_design_review() {
    let _lab = lab_lock();
    let t = Test::new();
    let file = test_stack(&t, "task1", "it-chaos", 215, true);
    let _down = Down(&t, file.clone());
    t.run_args(&["--quiet", "up", &file]).code(0);
    // A learner's design review, checked by the same run: one answer
    // wrong (the primary's loss stops writes), so chaos exits 1.
    let answers = t.file(
        "answers.yaml",
        "down:\n  lb-01: site\n  server-01: nothing\n  server-02: nothing\nspof: [ns, lb-01, server-01]\n",
    );
    let (out, server) = chaos_with(&t, &file, &["--answers", answers.to_str().unwrap()], 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let graded: Vec<(&str, &str, &str, bool)> = v["answers"]
        .as_array()
        .unwrap_or_else(|| panic!("no answers graded:\n{out}"))
        .iter()
        .map(|g| {
            (
                g["question"].as_str().unwrap(),
                g["answer"].as_str().unwrap(),
                g["observed"].as_str().unwrap(),
                g["right"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        graded,
        [
            ("what stops when lb-01 dies", "site", "site", true),
            ("what stops when server-01 dies", "nothing", "writes", false),
            ("what stops when server-02 dies", "nothing", "nothing", true),
            (
                "the single points of failure",
                "ns, lb-01, server-01",
                "ns, lb-01, server-01",
                true
            ),
        ],
        "{out}"
    );
    // The load balancer is fatal; one web server is survivable.
    assert_eq!(server("lb-01")["site"], false);
    assert_eq!(server("server-02")["site"], true);
    assert_eq!(server("server-02")["reads"], true);
    // Losing the primary stops writes only.
    let primary = server("server-01");
    assert_eq!(
        (primary["site"].clone(), primary["writes"].clone()),
        (true.into(), false.into())
    );
    // Chaos leaves the lab as it found it.
    t.run_args(&["--quiet", "verify", &file]).code(0);
}

/// task4, the stack with no single point of failure. verify: every
/// Galera node in the cluster and holding the note, both DNS servers with
/// the zone's serial, each load balancer's hop to each web server HTTPS
/// verified against the lab CA, a server's alert fired and resolved. A
/// new record reaches the secondary (NOTIFY, then a transfer). chaos:
/// no single server is fatal, two Galera nodes lost at once stop reads
/// and writes (no quorum), each as explain says, an alert for each kill;
/// the lab is whole again after. Run on the lab `lab`, brought up from
/// the stack file `file` (whose last lines are its DNS records): the
/// task4 a lab grows to in `stages`.
pub fn task4_survives_the_loss_of_any_one_server(t: &Test, lab: &str, file: &str) {
    let (code, checks, out) = verify(t, lab);
    assert_eq!(code, 0, "{out}");
    // Where the lab is: on task4's subnets, or moved off them.
    let vip = checks
        .keys()
        .find_map(|c| c.strip_prefix("failover: virtual IP ")?.split(' ').next())
        .unwrap_or_else(|| panic!("no virtual IP verified:\n{out}"))
        .to_string();
    let mut claims: Vec<String> = ["ns", "ns-02"]
        .iter()
        .map(|s| format!("dns: {s} answers for foobar.com with the zone's serial"))
        .collect();
    for n in ["db-01", "db-02", "db-03"] {
        claims.push(format!("replication: Galera node {n} is in the cluster"));
        claims.push(format!("replication: the note is on Galera node {n}"));
    }
    claims.extend(
        [
            "firewall: client -> db-01:3306 (the user's computer to the database)",
            "firewall: web-01 -> db-01:3306 (a web server to the database)",
            "public: stranger -> lb-01:22 (SSH)",
            "public: stranger -> lb-02:9100 (metrics: node exporter)",
            // Every server of a firewalled stage has a firewall: the DNS
            // servers and the monitoring server's web interfaces too.
            "public: stranger -> ns:22 (SSH)",
            "public: stranger -> ns-02:22 (SSH)",
            "public: stranger -> admin:9090 (Prometheus)",
            "public: stranger -> admin:9093 (Alertmanager)",
            "firewall: client -> admin:22 (SSH, the administrators' way in)",
        ]
        .map(String::from),
    );
    let net = vip.trim_end_matches(".100");
    claims.extend([
        format!("failover: virtual IP {vip} held by one load balancer"),
        format!("failover: site answers on {vip} after lb-01 is killed"),
        format!("failover: lb-01 restored and holds {vip} again"),
        format!("public: a stranger ({net}.254) loads https://www.foobar.com/"),
    ]);
    for lb in ["lb-01", "lb-02"] {
        for web in ["web-01", "web-02"] {
            claims.push(format!(
                "site: {lb} -> {web}:443 is HTTPS, verified against the lab CA"
            ));
        }
    }
    for claim in &claims {
        assert_eq!(checks.get(claim), Some(&true), "{claim}:\n{out}");
    }
    let alerting: Vec<&String> = checks
        .keys()
        .filter(|k| k.starts_with("alerting:"))
        .collect();
    assert!(alerting.len() >= 2, "no alert fired and resolved:\n{out}");
    let explained = t.run_args(&["explain", lab]).code(0).stdout;
    assert!(
        explained.contains("no server is a single point of failure; the site still is one"),
        "{explained}"
    );
    // What is open to the public is named, and why.
    assert!(
        explained.contains(
            "admin: 22/tcp (SSH, the administrators' way in); its firewall refuses everything else"
        ),
        "{explained}"
    );
    // A new record reaches the secondary: the primary's NOTIFY, then a
    // zone transfer.
    let text = std::fs::read_to_string(t.dir().join(file)).unwrap()
        + "    - { name: shop, type: CNAME, value: www }\n";
    t.file(file, &text);
    t.run_args(&["--quiet", "up", file, "--lab", lab]).code(0);
    // The transfer follows the `up` (NOTIFY goes as the primary loads
    // the zone): asked for up to 5 s.
    let ask = "for i in $(seq 50); do r=$(dig +short @ns-02 shop.foobar.com); \
               [ -n \"$r\" ] && echo \"$r\" && exit 0; sleep 0.1; done; exit 1";
    let shop = t
        .run_args(&["exec", lab, "client", "--", "sh", "-c", ask])
        .code(0);
    assert!(
        shop.stdout.starts_with("www.foobar.com."),
        "{}",
        shop.stdout
    );
    let (out, killed) = chaos_agreeing(t, lab);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    for row in v["servers"].as_array().unwrap() {
        let name = row["server"].as_str().unwrap();
        if name.contains('+') || name == "client" {
            continue;
        }
        assert_eq!(
            (
                row["site"].clone(),
                row["reads"].clone(),
                row["writes"].clone()
            ),
            (true.into(), true.into(), true.into()),
            "{name}: {out}"
        );
    }
    // The alerts chaos raised (the site's errors while quorum was lost
    // among them) resolved before it ended.
    assert_eq!(v["alerts_after"]["kind"], "quiet", "{out}");
    let quorum = killed("db-02+db-03");
    assert_eq!(
        (quorum["reads"].clone(), quorum["writes"].clone()),
        (false.into(), false.into()),
        "{out}"
    );
    // Chaos leaves the lab whole (its alerts quiet, above): every server
    // and service running, the cluster back at three.
    t.run_args(&["--quiet", "status", lab]).code(0);
    let size = t
        .run_args(&[
            "exec",
            lab,
            "db-01",
            "--",
            "mariadb",
            "-N",
            "-e",
            "SHOW STATUS LIKE 'wsrep_cluster_size'",
        ])
        .code(0)
        .stdout;
    assert_eq!(size.split_whitespace().nth(1), Some("3"), "{size}");
}

#[test]
#[ignore = "needs the Docker engine and the node image"]
fn forty_web_servers_verify_and_the_table_stays_readable() {
    let _lab = lab_lock();
    let t = Test::new();
    let mut text = String::from(
        "extends: task1\nname: it-wide\nnetworks:\n  public: { subnet: 10.221.0.0/24 }\n  private: { subnet: 10.221.1.0/24 }\nservers:\n",
    );
    for i in 3..=40 {
        text.push_str(&format!(
            "  web-{i:02}: {{ networks: {{ private: {} }}, components: [nginx] }}\n",
            100 + i
        ));
    }
    t.file("it-wide.yaml", &text);
    let file = "it-wide.yaml".to_string();
    let _down = Down(&t, file.clone());
    t.run_args(&["--quiet", "up", &file, "--timeout", "120"])
        .code(0);
    let (code, checks, out) = verify(&t, &file);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        checks.get("load balancing: 160 requests spread over the web servers"),
        Some(&true),
        "{out}"
    );
    // On the terminal, long lists are clipped; the JSON above has them whole.
    let table = t.run_args(&["--quiet", "verify", &file]).code(0);
    let widest = table.stdout.lines().map(|l| l.chars().count()).max();
    assert!(
        widest.is_some_and(|w| w <= 210),
        "a line of {widest:?} characters:\n{}",
        table.stdout
    );
    assert!(table.stdout.contains("all 40 answered"), "{}", table.stdout);
}

/// What a browser shows of `url`: the page's DOM, from headless Chromium
/// trusting the lab's site key (`site.crt` in the lab's state).
fn browse(t: &Test, lab: &str, url: &str) -> String {
    let crt = t.state_dir().join(lab).join("tls/site.crt");
    let spki = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "openssl x509 -in '{}' -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64",
            crt.display()
        ))
        .output()
        .expect("openssl");
    let spki = String::from_utf8_lossy(&spki.stdout).trim().to_string();
    assert!(!spki.is_empty(), "no key hash for {}", crt.display());
    // A profile of its own for each load: a second Chromium on the
    // profile of one still shutting down hands its URL over to it and
    // exits with nothing on its output.
    static LOADS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = LOADS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let out = Command::new("timeout")
        .args([
            "120",
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
        ])
        .arg(format!(
            "--user-data-dir={}",
            t.dir().join(format!("chromium-{n}")).display()
        ))
        .arg(format!("--ignore-certificate-errors-spki-list={spki}"))
        .args(["--dump-dom", url])
        .output()
        .expect("chromium");
    let mut page = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        // Why a load failed shows in the test's message.
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(5).collect();
        page.push_str(&format!(
            "\n[chromium: {}; {}]",
            out.status,
            tail.join(" | ")
        ));
    }
    page
}

/// The web server a page says served it.
fn served_by(page: &str) -> Option<String> {
    let at = page.find("Served by web server <code>")? + "Served by web server <code>".len();
    Some(page[at..].split('<').next()?.to_string())
}

/// A learner opens their lab: `up --publish` puts the site on this
/// machine's port, `open` says where, `ca` gives the certificate to trust;
/// a browser loads it through the virtual IP, and still does once the
/// load balancer holding it is killed.
#[test]
#[ignore = "needs the Docker engine, the node image and Chromium"]
fn a_published_lab_opens_in_a_browser_through_a_failover() {
    let _lab = lab_alone();
    let t = Test::new();
    let file = task3_stack(&t, "it-pub", 225);
    let _down = Down(&t, "it-pub".into());
    t.run_args(&["--quiet", "up", &file, "--publish"]).code(0);
    let url = t
        .run_args(&["open", "it-pub"])
        .code(0)
        .stdout
        .trim()
        .to_string();
    assert!(url.starts_with("https://localhost:"), "{url}");
    // curl trusts the lab's CA, as `infractl ca` prints it.
    let ca = t.run_args(&["ca", "it-pub"]).code(0).stdout;
    assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"), "{ca}");
    t.file("ca.crt", &ca);
    let curl = |path: &str| {
        Command::new("curl")
            .args(["-sf", "-m", "5", "--cacert"])
            .arg(t.dir().join("ca.crt"))
            .arg(format!("{url}{path}"))
            .output()
            .expect("curl")
    };
    let info = curl("api/info");
    assert!(info.status.success(), "curl {url}api/info failed");
    let pages: Vec<String> = (0..4).map(|_| browse(&t, "it-pub", &url)).collect();
    let seen: Vec<String> = pages.iter().filter_map(|p| served_by(p)).collect();
    assert_eq!(
        seen.len(),
        4,
        "the browser did not load the page: {seen:?}; what it showed instead: {:?}",
        pages.iter().find(|p| served_by(p).is_none())
    );
    assert!(
        seen.iter().all(|w| w == "web-01" || w == "web-02"),
        "{seen:?}"
    );
    // The load balancer holding the virtual IP dies: the site answers on.
    Command::new("docker")
        .args(["kill", "it-pub-lb-01"])
        .output()
        .unwrap();
    let start = std::time::Instant::now();
    while !curl("").status.success() {
        assert!(
            start.elapsed().as_secs() < 10,
            "the published site is gone after the failover"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let after = served_by(&browse(&t, "it-pub", &url));
    assert!(
        after.is_some(),
        "the browser did not load the page after the failover"
    );
    // `up` again brings lb-01 back and keeps the address.
    t.run_args(&["--quiet", "up", "it-pub"]).code(0);
    assert_eq!(t.run_args(&["open", "it-pub"]).code(0).stdout.trim(), url);
}

/// `chaos --json` on the lab of `file`, which must agree with explain
/// (exit 0): its output, and each killed server's row by name.
fn chaos_agreeing(t: &Test, file: &str) -> (String, impl Fn(&str) -> serde_json::Value) {
    chaos_with(t, file, &[], 0)
}

/// chaos on `file` (with `more` arguments): it exits `code` and agrees
/// with explain; its output, and its row of a server.
fn chaos_with(
    t: &Test,
    file: &str,
    more: &[&str],
    code: i32,
) -> (String, impl Fn(&str) -> serde_json::Value) {
    let mut args = vec!["--quiet", "chaos", file, "--json"];
    args.extend(more);
    let out = t.run_args(&args);
    let v: serde_json::Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|_| panic!("chaos printed no JSON:\n{}\n{}", out.stdout, out.stderr));
    assert_eq!(out.code, code, "{}", out.stdout);
    assert_eq!(v["agrees"], true, "{}", out.stdout);
    let text = out.stdout.clone();
    let row = move |name: &str| {
        v["servers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["server"] == name)
            .unwrap_or_else(|| panic!("chaos did not kill {name}:\n{text}"))
            .clone()
    };
    (out.stdout, row)
}
