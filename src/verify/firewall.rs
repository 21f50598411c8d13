//! Firewall claims: ufw is active on every server that has it, every
//! allowed TCP flow into one connects (tried from the server it comes
//! from), and a sample of what must not pass does not. Also how verify
//! tries ports at all: the probes and how their output is read, which the
//! stranger's claims use too. A failed one's hint points at the firewall
//! of the server the flow goes to (`ufw status`), or at what listens there
//! when the connection was refused.

use std::net::Ipv4Addr;
use std::time::Instant;

use super::claim::{verdict, Claim};
use super::verifier::{answer, first_line, kinds_claims, Verifier};
use crate::components::ufw::USER_RULES;
use crate::components::ToProve;
use crate::driver::STRANGER;

use crate::error::Result;
use crate::stack::raw::Proto;
use crate::topology::{Role, Topology};

/// Shell trying a TCP connection to `addr:port` at once with the others,
/// printing `<i> open`, `<i> refused` (the host answered that nothing
/// listens) or `<i> closed` (no answer: dropped).
fn port_probe(i: usize, addr: impl std::fmt::Display, port: u16) -> String {
    format!(
        "(if out=$(nc -z -v -w 1 {addr} {port} 2>&1); then echo '{i} open'; else case $out in *refused*) echo '{i} refused' ;; *) echo '{i} closed' ;; esac; fi) &\n"
    )
}

/// What a probe saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Seen {
    Open,
    /// The host answered that nothing listens: no firewall dropped it.
    Refused,
    Closed,
}

/// Reads `port_probe` lines into `seen` (`None` where nothing came back;
/// a line naming no probe is ignored).
fn read_probes(stdout: &str, seen: &mut [Option<Seen>]) {
    for line in stdout.lines() {
        if let Some((i, state)) = line.split_once(' ') {
            if let Some(slot) = i.parse::<usize>().ok().and_then(|i| seen.get_mut(i)) {
                *slot = Some(match state {
                    "open" => Seen::Open,
                    "refused" => Seen::Refused,
                    _ => Seen::Closed,
                });
            }
        }
    }
}

/// What a probe saw, in words.
fn connection(got: Option<Seen>) -> &'static str {
    match got {
        Some(Seen::Open) => "connected",
        Some(Seen::Refused) => "refused (nothing listens)",
        Some(Seen::Closed) => "dropped",
        None => "not tried",
    }
}

/// A TCP connection verify tries, and whether it should connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortProbe {
    /// The host it runs on.
    pub from: String,
    /// The source as the report names it.
    pub shown_from: String,
    pub to: String,
    /// The address of `to` as `from` reaches it.
    pub address: Ipv4Addr,
    pub port: u16,
    pub connects: bool,
    /// Only listening now and then (a Galera node's state transfers): the
    /// firewall letting the connection through to a refusal is enough.
    pub now_and_then: bool,
    /// What the flow is, in a few words.
    pub what: String,
}

/// The servers with a firewall, in stack order.
fn walled(topo: &Topology) -> Vec<String> {
    kinds_claims(topo)
        .into_iter()
        .filter(|(_, c)| *c == ToProve::Firewall)
        .map(|(s, _)| s)
        .collect()
}

/// The firewall's probes: every TCP flow into a firewalled server (from
/// the user's computer where the flow is from anyone), then a sample of
/// what must not pass: the user's computer to a database or to a web
/// server behind the load balancer, a web server to a database.
pub fn firewall_probes(topo: &Topology, client: &str) -> Vec<PortProbe> {
    let walled = walled(topo);
    let mut probes: Vec<PortProbe> = topo
        .flows
        .iter()
        .filter(|f| f.proto == Proto::Tcp && walled.contains(&f.to))
        .map(|f| {
            let from = if f.from == "any" { client } else { &f.from };
            probe(topo, from, &f.to, f.port, true, &f.purpose)
        })
        .collect();
    let allowed = |from: &str, to: &str, port: u16| {
        topo.flows
            .iter()
            .any(|f| (f.from == from || f.from == "any") && f.to == to && f.port == port)
    };
    for (from, to, port, what) in must_not_pass(topo, client) {
        if from != to && walled.contains(&to) && !allowed(&from, &to, port) {
            probes.push(probe(topo, &from, &to, port, false, what));
        }
    }
    probes
}

/// A probe from `from` to `to`'s `port`.
fn probe(
    topo: &Topology,
    from: &str,
    to: &str,
    port: u16,
    connects: bool,
    what: &str,
) -> PortProbe {
    PortProbe {
        from: from.to_string(),
        shown_from: from.to_string(),
        to: to.to_string(),
        address: if topo.stack.server(from).is_some() {
            topo.addr(from, to)
        } else {
            topo.server(to).primary_addr()
        },
        port,
        connects,
        now_and_then: crate::components::mariadb::TRANSFER_PORTS.contains(&port)
            && !topo.node(to).cluster.is_empty(),
        what: what.to_string(),
    }
}

/// What must not pass, whatever the firewalls say: `(from, to, port,
/// what)`, the user's computer to a database or to a web server that is
/// not an entry point, a web server to a database.
fn must_not_pass(topo: &Topology, client: &str) -> Vec<(String, String, u16, &'static str)> {
    let db_port = crate::components::mariadb::PORT;
    let dbs: Vec<&str> = topo
        .nodes
        .iter()
        .filter(|n| n.roles.contains(&Role::DbPrimary) || n.roles.contains(&Role::DbReplica))
        .map(|n| n.name.as_str())
        .collect();
    let entry: Vec<String> = topo.entry().iter().map(|n| n.name.clone()).collect();
    let mut out = Vec::new();
    let mut forbid = |from: &str, to: &str, port: u16, what: &'static str| {
        out.push((from.to_string(), to.to_string(), port, what));
    };
    for db in &dbs {
        forbid(client, db, db_port, "the user's computer to the database");
    }
    for w in topo
        .with_role(Role::Web)
        .filter(|n| !n.roles.contains(&Role::LoadBalancer))
    {
        if !entry.contains(&w.name) {
            let port = topo.web_port(&w.name);
            forbid(
                client,
                &w.name,
                port,
                "the user's computer to a web server directly",
            );
        }
        for db in &dbs {
            forbid(&w.name, db, db_port, "a web server to the database");
        }
    }
    out
}

/// Where to look when a firewall is not on, on `server`.
fn ufw_hint(server: &str) -> String {
    format!(
        "On {server}, `ufw status verbose` says whether the firewall is on and what it lets in; `{USER_RULES}` holds its rules"
    )
}

/// Where to look when probe `p` did not see what it should (`got`):
/// what listens on the server it goes to when it was refused, else that
/// server's firewall; and the same connection tried by hand.
fn port_hint(p: &PortProbe, got: Option<Seen>) -> String {
    let (to, port) = (&p.to, p.port);
    let by_hand = if p.from == STRANGER {
        String::new()
    } else {
        format!(
            " From {}, `nc -zv -w 1 {} {port}` tries it as verify does",
            p.from, p.address
        )
    };
    if p.connects && got == Some(Seen::Refused) {
        return format!(
            "On {to}, nothing listens on {port}: `ss -ltnp` shows what listens where, `sv status /etc/service/*` which services run.{by_hand}"
        );
    }
    let who = if p.from == STRANGER {
        "a stranger (an address the stack does not name)".to_string()
    } else {
        p.shown_from.clone()
    };
    let question = if p.connects {
        format!("is {who} let in on {port}/tcp?")
    } else {
        format!("which rule lets {who} in on {port}/tcp?")
    };
    format!("On {to}, `ufw status numbered` lists what it lets in: {question}{by_hand}")
}

/// Each probe's check, from what it saw (`open`, in the same order) and
/// the time each took.
pub(super) fn judge_ports(
    group: &'static str,
    probes: &[PortProbe],
    seen: &[Option<Seen>],
    ms: u64,
) -> Vec<Claim> {
    probes
        .iter()
        .zip(seen)
        .map(|(p, got)| {
            let ok = match (p.connects, got) {
                (true, Some(Seen::Open)) => true,
                (true, Some(Seen::Refused)) => p.now_and_then,
                (false, Some(Seen::Refused | Seen::Closed)) => true,
                _ => false,
            };
            let judged = verdict(ok, || port_hint(p, *got));
            Claim {
                group,
                check: format!("{} -> {}:{} ({})", p.shown_from, p.to, p.port, p.what),
                expected: match (p.connects, p.now_and_then) {
                    (true, false) => "connects".into(),
                    (true, true) => "let through (it listens during a transfer)".into(),
                    (false, _) => "refused or dropped".into(),
                },
                observed: connection(*got).into(),
                ok: judged.ok,
                ms,
                because: None,
                hint: judged.hint,
            }
        })
        .collect()
}

impl Verifier<'_> {
    /// Every allowed flow into a firewalled server connects; a sample of
    /// forbidden ones does not.
    pub(super) async fn firewall(&mut self) -> Result<()> {
        let walled: Vec<String> = self
            .claimed(|c| (*c == ToProve::Firewall).then_some(()))
            .into_iter()
            .map(|(s, ())| s.to_string())
            .collect();
        for s in &walled {
            let t = Instant::now();
            let out = self.sh(s, "ufw status | head -n 1").await?;
            let observed = first_line(&answer(&out));
            self.record(
                "firewall",
                format!("ufw on {s}"),
                "Status: active".into(),
                observed.clone(),
                verdict(observed == "Status: active", || ufw_hint(s)),
                t,
            );
        }
        let probes = firewall_probes(self.topo, &self.client);
        self.port_checks("firewall", &probes).await
    }

    /// Runs `probes` at once (one script a source) and records each.
    pub(super) async fn port_checks(
        &mut self,
        group: &'static str,
        probes: &[PortProbe],
    ) -> Result<()> {
        if probes.is_empty() {
            return Ok(());
        }
        let mut sources: Vec<&str> = probes.iter().map(|p| p.from.as_str()).collect();
        sources.sort();
        sources.dedup();
        let t = Instant::now();
        let this: &Self = self;
        let jobs = sources.iter().map(|src| {
            let script = probes
                .iter()
                .enumerate()
                .filter(|(_, p)| p.from == *src)
                .map(|(i, p)| port_probe(i, p.address, p.port))
                .collect::<String>()
                + "wait\n";
            async move { this.sh(src, &script).await }
        });
        let outs = futures_util::future::try_join_all(jobs).await?;
        // Each claim names its source and its destination, which says
        // whether a server that is not running explains it: the sources
        // refused are not every claim's.
        self.take_refused();
        let per = t.elapsed().as_millis() as u64 / probes.len() as u64;
        let mut open = vec![None; probes.len()];
        for o in &outs {
            read_probes(&o.stdout, &mut open);
        }
        for claim in judge_ports(group, probes, &open, per) {
            self.push(claim);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_probe_output_is_ignored_not_a_panic() {
        let mut seen = vec![None; 3];
        read_probes(
            "1 open\n7 open\nx closed\n0 closed\n2 refused\ngarbage\n",
            &mut seen,
        );
        assert_eq!(
            seen,
            vec![Some(Seen::Closed), Some(Seen::Open), Some(Seen::Refused)]
        );
    }

    #[test]
    fn a_refusal_passes_only_where_nothing_listens_between_transfers() {
        let probe = |connects, now_and_then| PortProbe {
            from: "db-01".into(),
            shown_from: "db-01".into(),
            to: "db-02".into(),
            address: Ipv4Addr::new(10, 0, 0, 2),
            port: 4444,
            connects,
            now_and_then,
            what: "x".into(),
        };
        let judged = judge_ports(
            "firewall",
            &[
                probe(true, true),
                probe(true, false),
                probe(false, false),
                probe(true, true),
            ],
            &[
                Some(Seen::Refused),
                Some(Seen::Refused),
                Some(Seen::Refused),
                Some(Seen::Closed),
            ],
            1,
        );
        let ok: Vec<bool> = judged.iter().map(|c| c.ok).collect();
        assert_eq!(ok, [true, false, true, false]);
    }

    #[test]
    fn a_failed_flow_points_at_the_firewall_or_at_what_listens() {
        let topo = Topology::load("task2").unwrap();
        let probes = firewall_probes(&topo, "client");
        let flow = |from: &str, to: &str, port: u16| {
            probes
                .iter()
                .find(|p| p.from == from && p.to == to && p.port == port)
                .unwrap_or_else(|| panic!("no probe {from} -> {to}:{port}"))
                .clone()
        };
        let allowed = flow("lb-01", "server-01", 80);
        let forbidden = flow("client", "server-01", 3306);
        let judged = judge_ports(
            "firewall",
            &[
                allowed.clone(),
                allowed.clone(),
                forbidden.clone(),
                allowed,
                forbidden,
            ],
            &[
                Some(Seen::Closed),
                Some(Seen::Refused),
                Some(Seen::Open),
                Some(Seen::Open),
                Some(Seen::Closed),
            ],
            1,
        );
        let hints: Vec<Option<&str>> = judged.iter().map(|c| c.hint.as_deref()).collect();
        assert_eq!(
            hints,
            [
                Some(
                    "On server-01, `ufw status numbered` lists what it lets in: is lb-01 let in on 80/tcp? \
                     From lb-01, `nc -zv -w 1 10.102.1.11 80` tries it as verify does"
                ),
                Some(
                    "On server-01, nothing listens on 80: `ss -ltnp` shows what listens where, `sv status /etc/service/*` \
                     which services run. From lb-01, `nc -zv -w 1 10.102.1.11 80` tries it as verify does"
                ),
                Some(
                    "On server-01, `ufw status numbered` lists what it lets in: which rule lets client in on 3306/tcp? \
                     From client, `nc -zv -w 1 10.102.0.11 3306` tries it as verify does"
                ),
                None,
                None,
            ],
            "a flow that passes has no hint"
        );
        let ufw = ufw_hint("server-02");
        assert!(
            ufw.starts_with("On server-02, `ufw status verbose`"),
            "{ufw}"
        );
        assert!(ufw.contains("`/etc/ufw/user.rules`"), "{ufw}");
    }

    fn probes_of(stack: &str) -> Vec<String> {
        let topo = Topology::load(stack).unwrap();
        firewall_probes(&topo, "client")
            .iter()
            .map(|p| {
                format!(
                    "{} {} {}:{} {}",
                    p.from,
                    if p.connects { "->" } else { "-x" },
                    p.to,
                    p.port,
                    p.address
                )
            })
            .collect()
    }

    #[test]
    fn firewall_probes_try_every_flow_in_and_what_must_not_pass() {
        assert!(
            probes_of("task0").is_empty(),
            "no firewall, nothing to probe"
        );
        let p = probes_of("task2");
        for want in [
            "client -> lb-01:443 10.102.0.10",
            "client -> lb-01:80 10.102.0.10",
            "lb-01 -> server-01:80 10.102.1.11",
            "server-02 -> server-01:3306 10.102.1.11",
            "client -x server-01:3306 10.102.0.11",
            "client -x server-02:80 10.102.0.12",
        ] {
            assert!(p.iter().any(|x| x == want), "{want} not in {p:#?}");
        }
        // A flow is tried one way only: allowed, or forbidden.
        for x in &p {
            let other = x.replacen(" -> ", " -x ", 1);
            if other != *x {
                assert!(!p.contains(&other), "{x} both ways");
            }
        }
        let t3 = probes_of("task3");
        assert!(
            t3.iter().any(|x| x.starts_with("web-01 -x db-01:3306")),
            "{t3:#?}"
        );
    }

    #[test]
    fn the_walled_servers_are_those_with_a_firewall() {
        for stack in ["task0", "task1", "task2", "task3", "task4"] {
            let topo = Topology::load(stack).unwrap();
            let ufw: Vec<String> = topo
                .stack
                .servers
                .iter()
                .filter(|s| s.has("ufw"))
                .map(|s| s.name.clone())
                .collect();
            assert_eq!(walled(&topo), ufw, "{stack}");
        }
    }
}
