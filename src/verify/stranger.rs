//! The site is public: what anyone on the users' network may reach. A
//! stranger (a host at an address the stack does not name, started by the
//! driver) loads the site over the entry point, HTTPS included, and every
//! other port a firewalled server serves (application, database,
//! exporters, SSH) refuses it. Where the stranger stands is
//! `crate::topology::public`'s. A failed one's hint points at the
//! firewall of the server the stranger reached (or could not reach).

use std::net::Ipv4Addr;
use std::time::Instant;

use serde_json::Value;

use super::claim::verdict;
use super::firewall::PortProbe;
use super::verifier::{answer, Verifier};
use crate::driver::STRANGER;
use crate::error::Result;
use crate::stack::raw::Proto;
use crate::topology::public::{address, site_address, users_network};
use crate::topology::{names, Role, Topology};
use crate::words::and_list;

/// Where the stranger keeps the lab CA it trusts.
const STRANGER_CA: &str = "/etc/infractl/lab-ca.crt";

/// A port a stranger must find closed: (server, address, port, what).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closed {
    pub server: String,
    pub address: Ipv4Addr,
    pub port: u16,
    pub what: String,
}

/// The firewalled servers with an address on `network`: those a stranger
/// there finds refusing all but what is open to anyone.
pub fn walled_on(topo: &Topology, network: &str) -> Vec<String> {
    topo.stack
        .servers
        .iter()
        .filter(|s| s.has("ufw") && s.addr_on(network).is_some())
        .map(|s| s.name.clone())
        .collect()
}

/// The TCP ports `ss -ltnH` lists as listened on from outside the host
/// (not on loopback only).
pub fn listening(ss: &str) -> Vec<u16> {
    let mut out: Vec<u16> = ss
        .lines()
        .filter_map(|l| {
            let local = l.split_whitespace().nth(3)?;
            let (addr, port) = local.rsplit_once(':')?;
            let loopback = addr.starts_with("127.") || addr == "[::1]";
            (!loopback).then(|| port.parse().ok()).flatten()
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Every port a firewalled server on `network` serves to someone in
/// particular (each TCP flow into it not open to anyone), its application
/// and database ports, SSH, and every other port it was seen listening on
/// (`listening`, by server): the stranger must be refused on each.
pub fn closed_ports(
    topo: &Topology,
    network: &str,
    listening: &[(String, Vec<u16>)],
) -> Vec<Closed> {
    let mut out: Vec<Closed> = Vec::new();
    for s in topo.stack.servers.iter().filter(|s| s.has("ufw")) {
        let Some(address) = s.addr_on(network) else {
            continue;
        };
        // SSH, and what each component serves besides the site (the
        // application, the database, the monitoring's web interfaces).
        let mut ports = vec![(22, "SSH".to_string())];
        for c in &s.components {
            ports.extend(
                c.component()
                    .services()
                    .into_iter()
                    .map(|(what, port)| (port, what.to_string())),
            );
        }
        ports.extend(
            topo.flows_to(&s.name)
                .filter(|f| f.proto == Proto::Tcp && f.from != "any")
                .map(|f| (f.port, f.purpose.clone())),
        );
        ports.extend(
            listening
                .iter()
                .filter(|(server, _)| *server == s.name)
                .flat_map(|(_, ports)| ports)
                .map(|p| (*p, "a port it listens on".to_string())),
        );
        for (port, what) in ports {
            let open_to_all = topo
                .flows_to(&s.name)
                .any(|f| f.from == "any" && f.port == port);
            if !open_to_all && !out.iter().any(|c| c.server == s.name && c.port == port) {
                out.push(Closed {
                    server: s.name.clone(),
                    address,
                    port,
                    what,
                });
            }
        }
    }
    out
}

/// Where to look when a stranger does not load the site: what listens on
/// the entry points and, where they have one, their firewalls; and the
/// site loaded from the user's computer (`client`) to tell the two apart.
fn site_hint(topo: &Topology, client: &str) -> String {
    let port = topo.site_port();
    let entry = names(topo.entry().into_iter());
    let wall = if entry.iter().any(|e| topo.server(e).has("ufw")) {
        ", and `ufw status numbered` who may reach it (a stranger comes from an address the stack does not name)"
    } else {
        ""
    };
    format!(
        "On {}, `ss -ltn` shows whether something listens on {port}{wall}; from {client}, `curl -v {}://{}/` \
         loads the site as a user of the lab would",
        and_list(&entry),
        topo.site_scheme(),
        topo.site_host()
    )
}

impl Verifier<'_> {
    /// From an address the stack does not name: the site answers (over
    /// HTTPS where it has it, trusting the lab CA as a visitor who added
    /// it would), and every other port of a firewalled server refuses.
    pub(super) async fn stranger(&mut self) -> Result<()> {
        let topo = self.topo;
        let Some(net) = users_network(topo) else {
            return Ok(());
        };
        let (Some(me), Some(site_addr)) = (address(topo, &net), site_address(topo, &net)) else {
            return Ok(());
        };
        if !self
            .driver
            .add_stranger(self.plan, &net, &me.to_string())
            .await?
        {
            return Ok(());
        }
        let result = self.stranger_probes(&net, me, site_addr).await;
        let removed = self.driver.remove(STRANGER).await;
        result.and(removed)
    }

    async fn stranger_probes(
        &mut self,
        net: &str,
        me: Ipv4Addr,
        site_addr: Ipv4Addr,
    ) -> Result<()> {
        self.stranger_loads_site(me, site_addr).await?;
        let probes = self.stranger_scan(net).await;
        self.port_checks("public", &probes).await
    }

    /// The claim that the stranger `me` loads the site, reaching it at
    /// `site_addr`.
    async fn stranger_loads_site(&mut self, me: Ipv4Addr, site_addr: Ipv4Addr) -> Result<()> {
        let site = self.site();
        let scheme = self.scheme();
        let port = self.topo.site_port();
        let mut curl = format!("curl -sS --max-time 5 --resolve {site}:{port}:{site_addr}");
        if let Some(tls) = &self.secrets.tls {
            let ca = crate::render::supervise::plain_file(STRANGER_CA, 0o644, tls.ca_cert.clone());
            self.driver
                .put_files(self.plan, STRANGER, std::slice::from_ref(&ca))
                .await?;
            curl.push_str(&format!(" --cacert {STRANGER_CA}"));
        }
        let t = Instant::now();
        let out = self
            .sh(STRANGER, &format!("{curl} {scheme}://{site}/api/info"))
            .await?;
        let info: Value = serde_json::from_str(&out.stdout).unwrap_or(Value::Null);
        let web = info["served_by"]["web"].as_str().unwrap_or("").to_string();
        let ok = out.code == 0 && self.topo.with_role(Role::Web).any(|w| w.name == web);
        self.record(
            "public",
            format!("a stranger ({me}) loads {scheme}://{site}/"),
            "the page, from a web server".into(),
            if ok {
                format!("served by {web} through {site_addr}")
            } else {
                answer(&out)
            },
            verdict(ok, || site_hint(self.topo, &self.client)),
            t,
        );
        Ok(())
    }

    /// The ports the stranger on `net` must find closed: every port each
    /// firewalled server there listens on, besides those the design names
    /// (what a stranger would scan for).
    async fn stranger_scan(&self, net: &str) -> Vec<PortProbe> {
        let walled = walled_on(self.topo, net);
        let seen =
            futures_util::future::join_all(walled.iter().map(|w| self.sh(w, "ss -ltnH"))).await;
        let listening: Vec<(String, Vec<u16>)> = walled
            .into_iter()
            .zip(seen)
            .filter_map(|(w, out)| Some((w, listening(&out.ok()?.stdout))))
            .collect();
        closed_ports(self.topo, net, &listening)
            .into_iter()
            .map(|c| PortProbe {
                from: STRANGER.into(),
                shown_from: "stranger".into(),
                to: c.server,
                address: c.address,
                port: c.port,
                connects: false,
                now_and_then: false,
                what: c.what.to_string(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topo(name: &str) -> Topology {
        Topology::load(name).expect("a shipped stack loads")
    }

    #[test]
    fn a_stranger_finds_only_the_site_open() {
        let t = topo("task3");
        let net = users_network(&t).expect("users' network");
        let closed = closed_ports(&t, &net, &[]);
        // The load balancers serve the site to anyone, and nothing else.
        for c in closed.iter().filter(|c| c.server.starts_with("lb-")) {
            assert!(![80, 443].contains(&c.port), "{c:?}");
        }
        for lb in ["lb-01", "lb-02"] {
            assert!(closed.iter().any(|c| c.server == lb && c.port == 22));
            assert!(closed.iter().any(|c| c.server == lb && c.port == 9100));
        }
        // task1 has no firewall: nothing to find closed.
        let t1 = topo("task1");
        let n1 = users_network(&t1).expect("users' network");
        assert!(closed_ports(&t1, &n1, &[]).is_empty());
    }

    #[test]
    fn a_stranger_s_hints_point_at_the_firewall_it_met() {
        let t = topo("task3");
        let site = site_hint(&t, "client");
        assert!(
            site.starts_with(
                "On lb-01 and lb-02, `ss -ltn` shows whether something listens on 443, \
                 and `ufw status numbered` who may reach it"
            ),
            "{site}"
        );
        let t0 = topo("task0");
        let open = site_hint(&t0, "client");
        assert!(
            open.starts_with(
                "On server-01, `ss -ltn` shows whether something listens on 80; from client,"
            ),
            "no firewall to look at: {open}"
        );
        let probe = PortProbe {
            from: STRANGER.into(),
            shown_from: "stranger".into(),
            to: "lb-01".into(),
            address: Ipv4Addr::new(10, 103, 0, 10),
            port: 22,
            connects: false,
            now_and_then: false,
            what: "SSH".into(),
        };
        let claims = super::super::firewall::judge_ports(
            "public",
            &[probe.clone(), probe],
            &[
                Some(super::super::firewall::Seen::Open),
                Some(super::super::firewall::Seen::Closed),
            ],
            1,
        );
        assert_eq!(
            claims[0].hint.as_deref(),
            Some(
                "On lb-01, `ufw status numbered` lists what it lets in: \
                 which rule lets a stranger (an address the stack does not name) in on 22/tcp?"
            ),
            "no command from the stranger, which is gone once verify ends"
        );
        assert!(claims[1].ok, "dropped, as it should be");
        assert_eq!(claims[1].hint, None);
    }

    #[test]
    fn ports_listened_on_from_outside_are_read_from_ss() {
        let ss = "LISTEN 0 511 0.0.0.0:80 0.0.0.0:*\n\
                  LISTEN 0 80 127.0.0.1:3306 0.0.0.0:*\n\
                  LISTEN 0 128 [::1]:9090 [::]:*\n\
                  LISTEN 0 128 [::]:22 [::]:*\n\
                  LISTEN 0 511 0.0.0.0:80 0.0.0.0:*\n\
                  garbage\n";
        assert_eq!(listening(ss), vec![22, 80]);
    }

    #[test]
    fn a_port_seen_listening_is_one_more_to_find_closed() {
        let t = topo("task3");
        let net = users_network(&t).expect("users' network");
        let walled = walled_on(&t, &net);
        let first = walled.first().expect("a firewalled server on it").clone();
        let seen = [(first.clone(), vec![31337])];
        let closed = closed_ports(&t, &net, &seen);
        assert!(closed
            .iter()
            .any(|c| c.server == first && c.port == 31337 && c.what == "a port it listens on"));
        let once = |port| {
            closed
                .iter()
                .filter(|c| c.server == first && c.port == port)
                .count()
        };
        assert_eq!(once(22), 1, "a port named twice is tried once");
    }
}
