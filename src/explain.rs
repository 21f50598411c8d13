//! `explain`: what the seeds ask learners to explain, computed from the
//! topology: each server and component with its role, the request path from
//! the browser to the database with ports, how load is balanced and whether
//! the load balancers are active-active or active-passive, how replication
//! works here, and findings (single points of failure, security,
//! monitoring, tiers sharing a server) with a severity and a fix. Editing
//! the stack changes the output: nothing here is written per task.

use serde::Serialize;

use crate::components::haproxy;
use crate::topology::{Role, Topology};

#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    pub stack: String,
    pub description: String,
    pub servers: Vec<ServerRole>,
    /// The path of a request, hop by hop.
    pub request_path: Vec<Hop>,
    pub load_balancing: Option<LoadBalancing>,
    pub replication: Option<Replication>,
    pub findings: Vec<Finding>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServerRole {
    pub server: String,
    pub addresses: Vec<String>,
    pub roles: Vec<String>,
    /// (component, what it does)
    pub components: Vec<(String, String)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Hop {
    pub what: String,
    pub servers: Vec<String>,
    /// `port/proto` the hop is reached on.
    pub port: String,
    pub note: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct LoadBalancing {
    pub algorithm: String,
    pub how: String,
    /// `single`, `active-passive` or `active-active`.
    pub mode: String,
    pub mode_explained: String,
    pub balancers: Vec<String>,
    pub backends: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Replication {
    pub primary: String,
    pub replicas: Vec<String>,
    pub how: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    High,
    Medium,
    Low,
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// `spof`, `security`, `monitoring`, `scalability`.
    pub category: &'static str,
    pub title: String,
    pub detail: String,
    pub fix: String,
    /// The servers whose loss (for a single point of failure) it is about.
    pub servers: Vec<String>,
}

fn algorithm_explained(b: haproxy::Balance) -> &'static str {
    match b {
        haproxy::Balance::Roundrobin => "each request goes to the next web server in turn (1 -> A, 2 -> B, 3 -> A, ...), weighting them equally",
        haproxy::Balance::Leastconn => "each request goes to the web server with the fewest open connections",
        haproxy::Balance::Source => "a hash of the client's address picks the web server, so a client sticks to one (session persistence)",
    }
}

/// What each role is called in findings.
fn function_name(r: Role) -> &'static str {
    match r {
        Role::Dns => "DNS server",
        Role::DbPrimary => "database primary (the only server taking writes)",
        Role::DbReplica => "database replica",
        Role::App => "application server",
        Role::Web => "web server",
        Role::LoadBalancer => "load balancer",
        Role::Monitoring => "monitoring server",
        Role::Client => "client",
    }
}

pub fn explain(topo: &Topology) -> Explanation {
    let stack = &topo.stack;
    let servers = stack
        .servers
        .iter()
        .map(|s| ServerRole {
            server: s.name.clone(),
            addresses: s.addrs.iter().map(|(n, a)| format!("{a} {n}")).collect(),
            roles: topo
                .node(&s.name)
                .roles
                .iter()
                .map(|r| r.as_str().to_string())
                .collect(),
            components: s
                .components
                .iter()
                .map(|c| (c.name().to_string(), c.kind().summary.to_string()))
                .collect(),
        })
        .collect();

    let names =
        |role: Role| -> Vec<String> { topo.with_role(role).map(|n| n.name.clone()).collect() };
    let lbs = names(Role::LoadBalancer);
    let webs = names(Role::Web);
    let apps = names(Role::App);
    let primaries = names(Role::DbPrimary);
    let replicas = names(Role::DbReplica);
    let tls = stack.tls.as_ref();

    // The request path.
    let mut path = Vec::new();
    if let Some(d) = topo.with_role(Role::Dns).next() {
        let www = topo
            .records
            .iter()
            .find(|r| r.name == "www" && r.kind == "A");
        path.push(Hop {
            what: "DNS".into(),
            servers: vec![d.name.clone()],
            port: "53/udp".into(),
            note: match www {
                Some(r) => format!(
                    "the browser resolves www.{} (A record) to {}",
                    stack.domain, r.value
                ),
                None => format!("the browser resolves the site's name in {}", stack.domain),
            },
        });
    }
    let scheme_port = |o_http: u16, o_https: u16| {
        if tls.is_some() {
            format!("{o_https}/tcp (HTTPS; {o_http} redirects)")
        } else {
            format!("{o_http}/tcp (HTTP)")
        }
    };
    if !lbs.is_empty() {
        let o = topo.server(&lbs[0]).haproxy().cloned().unwrap_or_default();
        let mut note = String::from("HAProxy picks a web server");
        if let Some(v) = topo.vips.first() {
            note = format!(
                "on the virtual IP {} held by one of them; {note}",
                v.address
            );
        }
        if tls.is_some() {
            note.push_str(if topo.web_tls() {
                "; TLS is terminated here and re-encrypted to the web servers"
            } else {
                "; TLS is terminated here, plain HTTP behind"
            });
        }
        path.push(Hop {
            what: "load balancer".into(),
            servers: lbs.clone(),
            port: scheme_port(o.port, o.https_port),
            note,
        });
    }
    if !webs.is_empty() {
        let port = topo.web_port(&webs[0]);
        path.push(Hop {
            what: "web server".into(),
            servers: webs.clone(),
            port: format!("{port}/tcp{}", if topo.web_tls() { " (HTTPS)" } else { "" }),
            note: "nginx serves static files itself and proxies everything else to the application"
                .into(),
        });
    }
    if !apps.is_empty() {
        path.push(Hop {
            what: "application server".into(),
            servers: apps.clone(),
            port: format!("{}/tcp", topo.app_port(&apps[0])),
            note: "gunicorn runs the site's code, which queries the database".into(),
        });
    }
    if !primaries.is_empty() {
        let reads = topo
            .with_role(Role::App)
            .next()
            .map(|a| a.db_reads.clone())
            .unwrap_or_default();
        path.push(Hop {
            what: "database".into(),
            servers: primaries.iter().chain(replicas.iter()).cloned().collect(),
            port: format!("{}/tcp", crate::components::mariadb::PORT),
            note: format!(
                "writes go to {}, reads to {}",
                primaries.join(", "),
                reads.join(", ")
            ),
        });
    }

    let load_balancing = lbs.first().map(|first| {
        let balance = topo
            .server(first)
            .haproxy().map(|o| o.balance)
            .unwrap_or_default();
        let (mode, explained) = match (lbs.len(), topo.vips.first()) {
            (1, _) => ("single".to_string(), "one load balancer: every request goes through it".to_string()),
            (_, Some(v)) => (
                "active-passive".to_string(),
                format!(
                    "{} holds the virtual IP {} and takes all the traffic; {} stand by and take the address over (VRRP, keepalived) when it fails",
                    v.members[0].0,
                    v.address,
                    v.members[1..].iter().map(|m| m.0.clone()).collect::<Vec<_>>().join(", ")
                ),
            ),
            (_, None) => (
                "active-active".to_string(),
                "every load balancer takes traffic at once (the DNS name lists them all)".to_string(),
            ),
        };
        LoadBalancing {
            algorithm: balance.as_str().into(),
            how: algorithm_explained(balance).into(),
            mode,
            mode_explained: explained,
            balancers: lbs.clone(),
            backends: topo.node(first).backends.clone(),
        }
    });

    let replication = primaries.first().map(|p| Replication {
        primary: p.clone(),
        replicas: replicas.clone(),
        how: if replicas.is_empty() {
            format!("{p} is the only database: it takes every read and write; nothing replicates")
        } else {
            format!(
                "{p} (primary) takes every write and records it in its binary log; {} (replicas) follow that log asynchronously with GTIDs, are read-only, and serve the application's reads. A replica can be promoted if the primary fails, but nothing does it automatically",
                replicas.join(", ")
            )
        },
    });

    Explanation {
        stack: stack.name.clone(),
        description: stack.description.clone(),
        servers,
        request_path: path,
        load_balancing,
        replication,
        findings: findings(topo),
    }
}

/// Single points of failure, security, monitoring and contention.
pub fn findings(topo: &Topology) -> Vec<Finding> {
    let stack = &topo.stack;
    let mut out = Vec::new();
    let site_servers: Vec<&crate::topology::Node> = topo
        .nodes
        .iter()
        .filter(|n| {
            n.roles.iter().any(|r| {
                matches!(
                    r,
                    Role::LoadBalancer | Role::Web | Role::App | Role::DbPrimary | Role::DbReplica
                )
            })
        })
        .collect();

    // Single points of failure: a function the site needs, on one server.
    let vip_protected = |name: &str| {
        topo.vips
            .iter()
            .any(|v| v.members.len() > 1 && v.members.iter().any(|m| m.0 == name))
    };
    for role in [
        Role::LoadBalancer,
        Role::Web,
        Role::App,
        Role::DbPrimary,
        Role::Dns,
    ] {
        let holders: Vec<String> = topo.with_role(role).map(|n| n.name.clone()).collect();
        if holders.len() != 1 || vip_protected(&holders[0]) {
            continue;
        }
        let who = &holders[0];
        let (severity, detail, fix) = match role {
            Role::DbPrimary => (
                Severity::High,
                format!("{who} is the only server that takes writes: if it fails, nothing can be written (and what it had not replicated yet is lost) until a replica is promoted by hand"),
                "automatic failover (promote a replica: MaxScale, Orchestrator) or a multi-primary cluster (Galera)".to_string(),
            ),
            Role::LoadBalancer => (
                Severity::High,
                format!("every request goes through {who}: if it fails, the site is down"),
                "a second load balancer sharing a virtual IP (keepalived, active-passive), or two behind DNS (active-active)".to_string(),
            ),
            Role::Dns => (
                Severity::Medium,
                format!("{who} is the only DNS server for {}: if it fails, browsers cannot find the site (once their caches expire)", stack.domain),
                "a secondary DNS server on another machine (NS records for both)".to_string(),
            ),
            _ => (
                Severity::High,
                format!("{who} is the only {}: if it fails, the site is down", function_name(role)),
                format!("a second {} behind the load balancer", function_name(role)),
            ),
        };
        out.push(Finding {
            severity,
            category: "spof",
            title: format!("single point of failure: the {}", function_name(role)),
            detail,
            fix,
            servers: vec![who.clone()],
        });
    }
    if site_servers.len() == 1 {
        let who = &site_servers[0].name;
        out.push(Finding {
            severity: Severity::High,
            category: "spof",
            title: "no redundancy: the whole site is one server".into(),
            detail: format!("{who} runs every component: if it fails, or is stopped for maintenance (an upgrade, a reboot), the site is down; it cannot grow past one machine under heavy traffic"),
            fix: "more servers behind a load balancer, with the database replicated".into(),
            servers: vec![who.clone()],
        });
    }

    // Security.
    let has_lb = topo.with_role(Role::LoadBalancer).next().is_some();
    match &stack.tls {
        None => out.push(Finding {
            severity: Severity::High,
            category: "security",
            title: "no HTTPS".into(),
            detail: "the site is served over plain HTTP: passwords, cookies and pages cross the network readable and changeable by anyone on the path (eavesdropping, man in the middle)".into(),
            fix: "a TLS certificate for the site (`tls:` in the stack), HTTP redirecting to HTTPS".into(),
            servers: vec![],
        }),
        Some(t) if has_lb && !t.reencrypt => out.push(Finding {
            severity: Severity::Medium,
            category: "security",
            title: "TLS terminated at the load balancer, plaintext behind it".into(),
            detail: "HTTPS ends at the load balancer; from there to the web servers traffic is plain HTTP, readable by anything on the internal network".into(),
            fix: "re-encrypt to the web servers (`tls: { reencrypt: true }`), or pass TLS through to them".into(),
            servers: topo.with_role(Role::LoadBalancer).map(|n| n.name.clone()).collect(),
        }),
        _ => {}
    }
    let unwalled: Vec<String> = site_servers
        .iter()
        .filter(|n| !topo.server(&n.name).has("ufw"))
        .map(|n| n.name.clone())
        .collect();
    if !unwalled.is_empty() {
        out.push(Finding {
            severity: Severity::High,
            category: "security",
            title: "no firewall".into(),
            detail: format!("{} accept connections on every port from anywhere: the database, the application server and SSH are open to the network (brute force, exploits)", unwalled.join(", ")),
            fix: "a firewall on each server (`ufw`): deny incoming by default, allow only the flows the site needs".into(),
            servers: unwalled.clone(),
        });
    }
    let public_nets: Vec<&str> = stack
        .networks
        .iter()
        .filter(|n| n.public)
        .map(|n| n.name.as_str())
        .collect();
    let exposed_db: Vec<String> = topo
        .nodes
        .iter()
        .filter(|n| n.roles.contains(&Role::DbPrimary) || n.roles.contains(&Role::DbReplica))
        .filter(|n| {
            let s = topo.server(&n.name);
            !s.has("ufw")
                && s.addrs
                    .iter()
                    .any(|(net, _)| public_nets.contains(&net.as_str()))
        })
        .map(|n| n.name.clone())
        .collect();
    if !exposed_db.is_empty() {
        out.push(Finding {
            severity: Severity::High,
            category: "security",
            title: "database reachable from the public network".into(),
            detail: format!("MySQL on {} listens on an address users can reach, with nothing filtering port 3306", exposed_db.join(", ")),
            fix: "keep databases on the private network only, and firewall 3306 to the application servers and replicas".into(),
            servers: exposed_db,
        });
    }

    // Monitoring.
    let unmonitored: Vec<String> = site_servers
        .iter()
        .filter(|n| !topo.server(&n.name).has("monitoring-client"))
        .map(|n| n.name.clone())
        .collect();
    let collector = topo.with_role(Role::Monitoring).next().is_some();
    if !collector || !unmonitored.is_empty() {
        out.push(Finding {
            severity: Severity::Medium,
            category: "monitoring",
            title: "no monitoring".into(),
            detail: if collector {
                format!("{} send no metrics: failures and load there go unnoticed until users complain", unmonitored.join(", "))
            } else {
                "nothing collects metrics or raises alerts: a failure, a full disk or a traffic spike goes unnoticed until users complain; there is no QPS figure to plan capacity with".into()
            },
            fix: "a monitoring client on each server (`monitoring-client`: host metrics, web server QPS, database health) and a Prometheus server with alerts".into(),
            servers: unmonitored,
        });
    }

    // Tiers sharing one server.
    let shared: Vec<String> = topo
        .nodes
        .iter()
        .filter(|n| {
            n.roles
                .iter()
                .filter(|r| matches!(r, Role::Web | Role::App | Role::DbPrimary | Role::DbReplica))
                .count()
                > 1
        })
        .map(|n| n.name.clone())
        .collect();
    if !shared.is_empty() {
        out.push(Finding {
            severity: Severity::Medium,
            category: "scalability",
            title: "tiers sharing one server".into(),
            detail: format!("{} each run several of web, application and database: they compete for CPU, memory and disk, one tier cannot be scaled without the others, and a fault in one takes the others down", shared.join(", ")),
            fix: "web, application and database on servers of their own, each tier scaled on its own".into(),
            servers: shared,
        });
    }
    out.sort_by_key(|f| f.severity);
    out
}

/// Servers whose loss alone takes the site down, according to the findings.
pub fn fatal_servers(topo: &Topology) -> Vec<String> {
    let mut v: Vec<String> = findings(topo)
        .into_iter()
        .filter(|f| f.category == "spof" && f.severity == Severity::High)
        .flat_map(|f| f.servers)
        .collect();
    // The write primary's loss stops writes, not the site's pages.
    let primaries: Vec<String> = topo
        .with_role(Role::DbPrimary)
        .map(|n| n.name.clone())
        .collect();
    v.retain(|s| {
        !primaries.contains(s)
            || topo
                .node(s)
                .roles
                .iter()
                .any(|r| matches!(r, Role::Web | Role::App | Role::LoadBalancer))
    });
    v.sort();
    v.dedup();
    v
}

/// The explanation as text for people.
pub fn render_text(e: &Explanation) -> String {
    let mut t = format!("Stack `{}`: {}\n\n", e.stack, e.description);
    t.push_str("Servers\n");
    for s in &e.servers {
        t.push_str(&format!("  {} ({})\n", s.server, s.addresses.join(", ")));
        for (c, what) in &s.components {
            t.push_str(&format!("    {c:<18} {what}\n"));
        }
    }
    t.push_str("\nA request, from the browser to the database\n");
    t.push_str("  browser");
    for (i, h) in e.request_path.iter().enumerate() {
        t.push_str(&format!(
            "\n  {}. {} [{}] on {}\n     {}",
            i + 1,
            h.what,
            h.servers.join(", "),
            h.port,
            h.note
        ));
    }
    t.push('\n');
    if let Some(lb) = &e.load_balancing {
        t.push_str(&format!(
            "\nLoad balancing: {} over {}\n  {}\n  {}: {}\n",
            lb.algorithm,
            lb.backends.join(", "),
            lb.how,
            lb.mode,
            lb.mode_explained
        ));
    }
    if let Some(r) = &e.replication {
        t.push_str(&format!("\nDatabase\n  {}\n", r.how));
    }
    t.push_str("\nFindings\n");
    if e.findings.is_empty() {
        t.push_str("  none\n");
    }
    for f in &e.findings {
        let sev = match f.severity {
            Severity::High => "HIGH",
            Severity::Medium => "MEDIUM",
            Severity::Low => "LOW",
        };
        t.push_str(&format!(
            "  [{sev}] {} ({})\n    {}\n    fix: {}\n",
            f.title, f.category, f.detail, f.fix
        ));
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn titles(stack: &str) -> Vec<String> {
        findings(&crate::stack::load(stack).unwrap())
            .into_iter()
            .map(|f| f.title)
            .collect()
    }

    #[test]
    fn task0_everything_is_a_single_point_of_failure() {
        let t = titles("task0");
        for want in [
            "single point of failure: the web server",
            "single point of failure: the application server",
            "single point of failure: the database primary (the only server taking writes)",
            "no redundancy: the whole site is one server",
            "no HTTPS",
            "no firewall",
            "no monitoring",
            "tiers sharing one server",
        ] {
            assert!(
                t.contains(&want.to_string()),
                "task0 lacks `{want}`: {t:#?}"
            );
        }
    }

    #[test]
    fn task1_load_balancer_and_primary_are_spofs_no_https_firewall_monitoring() {
        let t = titles("task1");
        for want in [
            "single point of failure: the load balancer",
            "single point of failure: the database primary (the only server taking writes)",
            "no HTTPS",
            "no firewall",
            "no monitoring",
        ] {
            assert!(
                t.contains(&want.to_string()),
                "task1 lacks `{want}`: {t:#?}"
            );
        }
        assert!(!t.contains(&"single point of failure: the web server".to_string()));
        let e = explain(&crate::stack::load("task1").unwrap());
        let lb = e.load_balancing.unwrap();
        assert_eq!(
            (lb.algorithm.as_str(), lb.mode.as_str()),
            ("roundrobin", "single")
        );
    }

    #[test]
    fn task2_tls_at_the_balancer_single_primary_shared_tiers() {
        let t = titles("task2");
        for want in [
            "TLS terminated at the load balancer, plaintext behind it",
            "single point of failure: the database primary (the only server taking writes)",
            "tiers sharing one server",
        ] {
            assert!(
                t.contains(&want.to_string()),
                "task2 lacks `{want}`: {t:#?}"
            );
        }
        for gone in ["no HTTPS", "no firewall", "no monitoring"] {
            assert!(!t.contains(&gone.to_string()), "task2 still has `{gone}`");
        }
    }

    #[test]
    fn task3_the_single_write_primary_remains() {
        let t = titles("task3");
        assert!(t.contains(
            &"single point of failure: the database primary (the only server taking writes)"
                .to_string()
        ));
        for gone in [
            "single point of failure: the load balancer",
            "single point of failure: the web server",
            "tiers sharing one server",
        ] {
            assert!(
                !t.contains(&gone.to_string()),
                "task3 still has `{gone}`: {t:#?}"
            );
        }
        let e = explain(&crate::stack::load("task3").unwrap());
        assert_eq!(e.load_balancing.unwrap().mode, "active-passive");
    }

    #[test]
    fn editing_the_stack_changes_the_findings() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("safer.yaml");
        std::fs::write(&path, "extends: task1\nservers:\n  lb-02:\n    networks: { public: 13, private: 13 }\n    components: [haproxy, { keepalived: { vip: 10.101.0.100 } }]\n  lb-01:\n    components: [haproxy, { keepalived: { vip: 10.101.0.100 } }]\n").unwrap();
        let t: Vec<String> = findings(&crate::stack::load(path.to_str().unwrap()).unwrap())
            .into_iter()
            .map(|f| f.title)
            .collect();
        assert!(
            !t.contains(&"single point of failure: the load balancer".to_string()),
            "{t:#?}"
        );
        assert!(titles("task1").contains(&"single point of failure: the load balancer".to_string()));
    }
}
