//! Faults of the network's edges: a ufw rule that blocks HTTPS on the load
//! balancer, one that opens a database to everyone, and the DNS A record
//! for `www` pointing where no web server answers.

use super::{balancing, through_site, Breakage, Change, ClaimRef, Repair, Symptom};
use crate::components::dns;
use crate::topology::{Role, Topology};

/// The address `www` is made to point at: a host's own loopback, where no
/// site answers (a record left from testing on a laptop).
pub const NOWHERE: &str = "127.0.0.1";

/// The servers of `topo` in one of `roles` with a firewall.
fn firewalled(topo: &Topology, roles: &[Role]) -> Vec<String> {
    topo.nodes
        .iter()
        .filter(|n| roles.iter().any(|r| n.roles.contains(r)))
        .filter(|n| {
            topo.server(&n.name)
                .get::<crate::components::ufw::Options>()
                .is_some()
        })
        .map(|n| n.name.clone())
        .collect()
}

/// The load balancers with a firewall, on a stack served over HTTPS.
pub(super) fn firewalled_balancers(topo: &Topology) -> Vec<String> {
    if !topo.tls() {
        return Vec::new();
    }
    firewalled(topo, &[Role::LoadBalancer])
}

/// (f) `ufw reject` on the site's HTTPS port of `lb`: the rule that
/// allowed it now refuses it (a refusal, at once: a dropped connection
/// would make each of verify's requests wait out its timeout).
pub(super) fn ufw_https(topo: &Topology, lb: &str) -> Breakage {
    let port = topo.site_port();
    let mut breaks = through_site(topo, None);
    breaks.push(balancing());
    breaks.push(ClaimRef::sure("firewall", format!("-> {lb}:{port} ")));
    let purpose = "anyone: HTTPS to the site";
    Breakage {
        fault: "",
        seed: 0,
        server: lb.into(),
        on: lb.into(),
        what: format!(
            "`ufw reject {port}/tcp` on {lb}: the rule that let anyone reach the site over HTTPS now rejects it; HTTP still answers (its redirect to HTTPS), every HTTPS connection is refused"
        ),
        breaks,
        repair: Repair {
            server: lb.into(),
            text: format!(
                "On {lb}, `ufw status numbered` shows {port}/tcp REJECT where the site needs ALLOW; allow it again (ufw updates the rule in place), with its comment, and `ufw status` shows {port}/tcp ALLOW Anywhere."
            ),
            commands: vec![
                "ufw status numbered".into(),
                format!("ufw allow {port}/tcp comment '{purpose}'"),
            ],
        },
        shows: Symptom {
            server: lb.into(),
            script: format!(
                "s=$(ufw status | grep -E '^{port}/tcp +'); case $s in *REJECT*) echo yes ;; *ALLOW*) echo no ;; *) echo none ;; esac"
            ),
        },
        change: Change::Run {
            script: format!("ufw reject {port}/tcp"),
        },
        alerts: None,
    }
}

/// The database servers with a firewall.
pub(super) fn firewalled_databases(topo: &Topology) -> Vec<String> {
    firewalled(topo, &[Role::DbPrimary, Role::DbReplica])
}

/// (f, the converse) `ufw allow 3306/tcp` on the database server `db`: a rule added
/// "to test from a laptop" opens the database to anyone. Nothing stops
/// working and no alert fires; verify's probes of what must not pass (the
/// user's computer, the web servers, a stranger) now connect.
pub(super) fn ufw_db_open(topo: &Topology, db: &str) -> Breakage {
    let port = crate::components::mariadb::PORT;
    let mut breaks: Vec<ClaimRef> = crate::verify::firewall_probes(topo, super::client(topo))
        .into_iter()
        .filter(|p| p.to == db && p.port == port && !p.connects)
        .map(|p| ClaimRef::sure("firewall", format!("{} -> {db}:{port} ", p.shown_from)))
        .collect();
    let users = crate::topology::public::users_network(topo);
    if users.is_some_and(|net| crate::verify::walled_on(topo, &net).iter().any(|w| w == db)) {
        breaks.push(ClaimRef::sure(
            "public",
            format!("stranger -> {db}:{port} "),
        ));
    }
    let rule = format!("{port}/tcp");
    Breakage {
        fault: "",
        seed: 0,
        server: db.into(),
        on: db.into(),
        what: format!(
            "`ufw allow {rule}` on {db}: its database is open to anyone who reaches the server (the user's computer, a web server, a stranger); everything works, and nothing says so"
        ),
        breaks,
        repair: Repair {
            server: db.into(),
            text: format!(
                "On {db}, `ufw status numbered` shows {rule} ALLOW Anywhere: a rule no flow of the design asks for. Delete it; the servers that need the database are allowed by rules of their own, which stay."
            ),
            commands: vec![
                "ufw status numbered".into(),
                format!("ufw delete allow {rule}"),
            ],
        },
        shows: Symptom {
            server: db.into(),
            script: format!(
                "if ufw status | grep -Eq '^{port}/tcp +ALLOW +Anywhere'; then echo yes; else echo no; fi"
            ),
        },
        change: Change::Run {
            script: format!("ufw allow {rule}"),
        },
        alerts: None,
    }
}

/// The primary DNS server, where `www` is an A record.
pub(super) fn www_zone(topo: &Topology) -> Option<String> {
    let www = topo.records.iter().find(|r| r.name == "www")?;
    (www.kind == "A")
        .then(|| dns::servers(topo).first().map(|s| s.to_string()))
        .flatten()
}

/// The A record's right address, as the zone has it.
fn www_address(topo: &Topology) -> String {
    let www = topo
        .records
        .iter()
        .find(|r| r.name == "www")
        .expect("a www record, by fit");
    match www.value.parse::<std::net::Ipv4Addr>() {
        Ok(a) => a.to_string(),
        Err(_) => topo
            .server(&www.value)
            .addrs
            .first()
            .map(|(_, a)| a.to_string())
            .unwrap_or_else(|| www.value.clone()),
    }
}

/// The shell that bumps the zone's serial in `file`, in place.
fn bump_serial(file: &str) -> String {
    format!(
        "awk '/; serial/ && !d {{ sub(/[0-9]+/, $1 + 1); d = 1 }} 1' {file} > {file}.new && cat {file}.new > {file} && rm {file}.new"
    )
}

/// (h) `www`'s A record on the primary DNS server `ns` points at
/// [`NOWHERE`], the zone's serial bumped and the zone reloaded.
pub(super) fn dns_www(topo: &Topology, ns: &str) -> Breakage {
    let domain = &topo.stack.domain;
    let file = dns::zone_file(domain, false);
    let right = www_address(topo);
    let set = |to: &str| {
        format!(
            "sed -i -E {} {file}",
            crate::shell::shell_quote(&format!("s/^(www +IN +A +)[0-9.]+/\\1{to}/"))
        )
    };
    let reload = format!("rndc reload {domain}");
    let mut breaks = vec![ClaimRef::sure("dns", format!("www.{domain}. A"))];
    breaks.extend(
        through_site(topo, None)
            .into_iter()
            .filter(|c| c.group != "public"),
    );
    if topo.tls() {
        breaks.push(ClaimRef::sure("site", "redirects to HTTPS"));
    }
    if topo.with_role(Role::LoadBalancer).next().is_some() {
        breaks.push(balancing());
    }
    Breakage {
        fault: "",
        seed: 0,
        server: ns.into(),
        on: ns.into(),
        what: format!(
            "the A record of www.{domain} in {file} on {ns} points at {NOWHERE} (the zone's serial bumped, the zone reloaded): every user's browser connects to their own computer and is refused; the site itself is fine at {right}"
        ),
        breaks,
        repair: Repair {
            server: ns.into(),
            text: format!(
                "`dig www.{domain}` answers {NOWHERE}; on {ns}, put the site's address ({right}, where the load balancer or web server listens) back in the `www` A record of {file}, bump the zone's serial, check the zone with `named-checkzone` and reload it (`rndc reload {domain}`)."
            ),
            commands: vec![
                set(&right),
                bump_serial(&file),
                format!("named-checkzone {domain} {file}"),
                reload.clone(),
            ],
        },
        shows: Symptom {
            server: ns.into(),
            script: format!(
                "a=$(dig +short +time=1 +tries=1 @127.0.0.1 www.{domain} A); case $a in {NOWHERE}) echo yes ;; {right}) echo no ;; *) echo \"$a\" ;; esac"
            ),
        },
        change: Change::Run {
            script: format!(
                "{}\n{}\nnamed-checkzone -q {domain} {file}\n{reload}",
                set(NOWHERE),
                bump_serial(&file)
            ),
        },
        alerts: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_serial_is_bumped_and_the_record_moved_and_moved_back() {
        let zone = "$TTL 300\n@ IN SOA ns. host. (\n        119 ; serial (changes)\n        3600 ; refresh\n 60 )\nwww  IN A  10.0.0.10\n";
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("zone");
        std::fs::write(&f, zone).unwrap();
        let file = f.display().to_string();
        let t = Topology::load("task0").unwrap();
        let b = dns_www(&t, "ns");
        let Change::Run { script } = &b.change else {
            panic!("a script")
        };
        let dns_file = dns::zone_file(&t.stack.domain, false);
        let sh = |s: &str| {
            let s = s
                .replace(&dns_file, &file)
                .lines()
                .filter(|l| !l.starts_with("named-checkzone") && !l.starts_with("rndc"))
                .collect::<Vec<_>>()
                .join("\n");
            let out = std::process::Command::new("sh")
                .arg("-ec")
                .arg(s)
                .output()
                .unwrap();
            assert!(out.status.success(), "{out:?}");
            std::fs::read_to_string(&f).unwrap()
        };
        let broken = sh(script);
        assert!(
            broken.contains("        120 ; serial (changes)\n"),
            "{broken}"
        );
        assert!(broken.contains("www  IN A  127.0.0.1\n"), "{broken}");
        let repaired = sh(&b.repair.commands.join("\n"));
        assert!(repaired.contains("        121 ; serial"), "{repaired}");
        let right = www_address(&t);
        assert!(
            repaired.contains(&format!("www  IN A  {right}\n")),
            "{repaired}"
        );
        assert_eq!(repaired.lines().count(), zone.lines().count());
    }

    #[test]
    fn the_https_port_is_blocked_only_where_a_firewall_guards_it() {
        assert!(firewalled_balancers(&Topology::load("task1").unwrap()).is_empty());
        let t = Topology::load("task2").unwrap();
        assert_eq!(firewalled_balancers(&t), vec!["lb-01".to_string()]);
        let b = ufw_https(&t, "lb-01");
        assert_eq!(
            b.change,
            Change::Run {
                script: "ufw reject 443/tcp".into()
            }
        );
        assert!(b.repair.commands[1].starts_with("ufw allow 443/tcp comment "));
    }

    #[test]
    fn a_database_opened_to_anyone_breaks_every_probe_that_must_not_pass() {
        assert!(firewalled_databases(&Topology::load("task1").unwrap()).is_empty());
        let t = Topology::load("task2").unwrap();
        assert_eq!(firewalled_databases(&t), vec!["server-01", "server-02"]);
        let b = ufw_db_open(&t, "server-01");
        let claims: Vec<String> = b
            .breaks
            .iter()
            .map(|c| format!("{}: {}", c.group, c.words))
            .collect();
        assert_eq!(
            claims,
            vec![
                "firewall: client -> server-01:3306 ",
                "public: stranger -> server-01:3306 "
            ]
        );
        assert_eq!(b.repair.commands[1], "ufw delete allow 3306/tcp");
    }
}
