//! The lab's DNS servers (BIND 9), authoritative for the stack's domain:
//! the A, CNAME, MX and TXT records the stack declares, plus SOA and an NS
//! record for each DNS server. One is the primary, which holds the zone
//! file; a secondary (`dns: { primary: ns }`) takes the zone from it by
//! zone transfer, told of each change by NOTIFY, and answers the same.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use super::{Component, ComponentSpec, Kind};
use super::hop::Hop;
use super::part::{Part, Tier};
use crate::error::Result;
use crate::render::plan::{Reload, Service};
use crate::render::{Ctx, Out};
use crate::stack::Stack;
use crate::stack::raw::Proto;
use crate::topology::{names, Flows, Leg, Node, Role, Topology};
use crate::words::{and_list, or_list};

pub const KIND: Kind = Kind {
    name: "dns",
    memory_mb: 25,
    summary: "DNS server (BIND 9): authoritative for the stack's domain",
    packages: &["bind9", "bind9-utils"],
    templates: &["dns/named.conf", "dns/zone"],
    habits: &[
        ("bind", "the DNS server (BIND) is `dns`"),
        ("bind9", "the DNS server (BIND) is `dns`"),
        ("named", "the DNS server (BIND) is `dns`"),
    ],
};

pub const CONF: &str = "/etc/bind/named.conf";
/// Where it answers, over UDP and TCP.
pub const PORT: u16 = 53;

/// Options of the `dns` component (the records are the stack's `dns` section).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "DnsOptions")]
pub struct Options {
    /// For a secondary DNS server: the primary it takes the zone from (by
    /// zone transfer, on NOTIFY). Default: this server is the primary.
    pub primary: Option<String>,
}

/// Shell that passes once the DNS server at `at` answers with the
/// domain's SOA record. dig prints its complaints (`;; communications
/// error ...: connection refused`) where the answer would be: only a
/// line that is not one counts.
fn answers_soa(at: &str, domain: &str) -> String {
    format!("dig +short +time=1 +tries=1 @{at} {domain} SOA | grep -qv '^;'")
}

/// Where a DNS server keeps the zone of `domain`: the primary its own,
/// a secondary named's copy of the primary's, kept across restarts.
pub fn zone_file(domain: &str, secondary: bool) -> String {
    if secondary {
        format!("/var/cache/bind/db.{domain}")
    } else {
        format!("/var/lib/bind/db.{domain}")
    }
}

/// The stack's DNS servers: the primary first, then the secondaries, in
/// stack order.
pub fn servers(topo: &Topology) -> Vec<&str> {
    let mut v: Vec<(bool, &str)> = topo
        .running::<Options>()
        .map(|(s, o)| (o.primary.is_some(), s.name.as_str()))
        .collect();
    v.sort_by_key(|(secondary, _)| *secondary);
    v.into_iter().map(|(_, n)| n).collect()
}

/// A digest of the zone's records: the zone changes when it does.
pub fn records_digest(topo: &Topology) -> String {
    crate::render::plan::sha256_hex(
        serde_json::to_string(&zone_records(topo))
            .expect("json")
            .as_bytes(),
    )
}

/// The zone's first serial, drawn from its records' digest (the lab's
/// state then keeps it, and adds one at each change:
/// `StateDir::zone_serial`).
pub fn first_serial(digest: &str) -> u32 {
    u32::from_str_radix(&digest[..7], 16).expect("hex") % 2_000_000_000 + 1
}

/// The zone's serial, as the lab's state has it.
pub fn serial(topo: &Topology, secrets: &crate::lab::state::Secrets) -> u32 {
    secrets
        .zone_serial
        .unwrap_or_else(|| first_serial(&records_digest(topo)))
}

/// The stack's records as the zone file writes them.
fn zone_records(topo: &Topology) -> Vec<serde_json::Value> {
    topo.records
        .iter()
        .map(|r| {
            let value = match r.kind {
                "TXT" => format!("\"{}\"", r.value.replace('\\', "\\\\").replace('"', "\\\"")),
                _ => r.value.clone(),
            };
            json!({ "name": r.name, "type": r.kind, "value": value, "priority": r.priority })
        })
        .collect()
}

/// Who answers at `address`: `lb-01`, or `the virtual IP of lb-01 and lb-02`.
fn owner_of(topo: &Topology, address: &str) -> Option<String> {
    if let Some(v) = topo.vips.iter().find(|v| v.address.to_string() == address) {
        let members: Vec<String> = v.members.iter().map(|m| m.0.clone()).collect();
        return Some(format!("the virtual IP of {}", and_list(&members)));
    }
    topo.stack
        .servers
        .iter()
        .find(|s| s.addrs.iter().any(|(_, a)| a.to_string() == address))
        .map(|s| s.name.clone())
}

/// Its hop of the request path (see `Component::hop`).
fn request_hop(topo: &Topology) -> Option<Hop> {
    let dns = names(topo.with_role(Role::Dns));
    if dns.is_empty() {
        return None;
    }
    let domain = &topo.stack.domain;
    let www = topo.records.iter().find(|r| r.name == "www");
    let note = match www {
        Some(r) if r.kind == "A" => {
            let who = owner_of(topo, &r.value)
                .map(|o| format!(" ({o})"))
                .unwrap_or_default();
            format!(
                "The browser asks {} for www.{domain}; its A record answers {}{who}.",
                or_list(&dns),
                r.value
            )
        }
        Some(r) if r.kind == "CNAME" => format!(
            "The browser asks {} for www.{domain}, an alias (CNAME record) of {}, and gets that name's address.",
            or_list(&dns),
            r.value
        ),
        _ => format!(
            "The browser asks {} for the site's address in {domain}.",
            or_list(&dns)
        ),
    };
    Some(Hop {
        what: "DNS".into(),
        servers: dns,
        port: "53/udp".into(),
        note,
    })
}

impl Component for Options {
    fn ports(&self, _server: &[ComponentSpec], _tls: bool) -> Vec<(u16, Proto)> {
        vec![(PORT, Proto::Udp), (PORT, Proto::Tcp)]
    }

    fn shape(&self, _stack: &Stack, node: &mut Node) {
        node.roles.push(Role::Dns);
    }

    /// Anyone asks (the zone is the site's public name); a secondary takes
    /// the zone from its primary (over TCP), which tells it of each change
    /// (NOTIFY, over UDP).
    fn flows(leg: Leg, topo: &Topology, out: &mut Flows) {
        if leg == Leg::User {
            for (n, _) in topo.running::<Options>() {
                let why = format!("DNS queries for {}", topo.stack.domain);
                out.add("any", &n.name, PORT, Proto::Udp, &why);
                out.add("any", &n.name, PORT, Proto::Tcp, &why);
            }
        }
        if leg != Leg::Replication {
            return;
        }
        for (n, o) in topo.running::<Options>() {
            if let Some(p) = &o.primary {
                out.add(&n.name, p, PORT, Proto::Tcp, "zone transfer from the primary");
                out.add(p, &n.name, PORT, Proto::Udp, "NOTIFY of a changed zone");
            }
        }
    }

    fn explain(&self, topo: &Topology, _node: &Node) -> String {
        if let Some(p) = &self.primary {
            return format!(
                "secondary DNS server (BIND 9): answers for {} with the zone it takes from {p} by zone transfer, told of each change by NOTIFY; if {p} is lost it still answers",
                topo.stack.domain
            );
        }
        let secondaries: Vec<String> = servers(topo)
            .into_iter()
            .skip(1)
            .map(String::from)
            .collect();
        // The record types of the zone: `A, CNAME, MX and TXT`.
        let mut types: Vec<&str> = Vec::new();
        for r in &topo.records {
            if !types.contains(&r.kind) {
                types.push(r.kind);
            }
        }
        let copies = if secondaries.is_empty() {
            String::new()
        } else {
            format!(
                "; the primary: {} {} a copy by zone transfer",
                crate::words::and_list(&secondaries),
                if secondaries.len() == 1 { "holds" } else { "hold" }
            )
        };
        format!(
            "DNS server (BIND 9): authoritative for {}, answers with its {} records{copies}",
            topo.stack.domain,
            crate::words::and_list(&types)
        )
    }

    fn draw(&self, topo: &Topology, _node: &Node) -> Option<Part> {
        // The primary's zone is named over its records, below.
        let lines = match &self.primary {
            Some(p) => vec![format!("zone {}", topo.stack.domain), format!("secondary of {p}")],
            None => vec![],
        };
        Some(Part::new(Tier::Outside, "BIND :53".into(), lines, false))
    }

    fn hop(topo: &Topology) -> Option<(Tier, Hop)> {
        request_hop(topo).map(|hop| (Tier::Outside, hop))
    }

    fn render(&self, ctx: &Ctx, out: &mut Out) -> Result<()> {
        render(self, ctx, out)
    }

    // ---- verify ----

    /// Several DNS servers answer with one serial, named by the first.
    fn to_prove(&self, topo: &Topology, node: &Node) -> Vec<super::ToProve> {
        let servers = servers(topo);
        if servers.len() < 2 || servers[0] != node.name {
            return Vec::new();
        }
        let servers = servers.into_iter().map(str::to_string).collect();
        vec![super::ToProve::ZoneSerial { servers }]
    }
}

pub fn render(o: &Options, ctx: &Ctx, out: &mut Out) -> Result<()> {
    let topo = ctx.topo;
    let domain = ctx.domain();
    let me = ctx.name();
    let addr = |from: &str, to: &str| topo.addr(from, to).to_string();
    let (zone_file, primary, secondaries) = match &o.primary {
        Some(p) => (zone_file(domain, true), Some(addr(me, p)), vec![]),
        None => {
            let secondaries: Vec<String> =
                servers(topo).iter().skip(1).map(|s| addr(me, s)).collect();
            (zone_file(domain, false), None, secondaries)
        }
    };
    if o.primary.is_none() {
        zone(ctx, &zone_file, out)?;
    }
    out.template(
        CONF,
        0o644,
        "dns/named.conf",
        json!({
            "domain": domain,
            "zone_file": zone_file,
            "primary": primary,
            "secondaries": secondaries,
        }),
    )?;
    service(domain, primary.as_deref(), &zone_file, out);
    out.probe(
        "named",
        answers_soa("127.0.0.1", domain),
        format!("an SOA answer for {domain} from 127.0.0.1"),
    );
    out.check(
        "named-checkconf -z",
        CONF,
        format!("named-checkconf -z {CONF}"),
    );
    if primary.is_none() {
        out.check(
            "named-checkzone",
            &zone_file,
            format!("named-checkzone {domain} {zone_file}"),
        );
    }
    Ok(())
}

/// The zone the primary serves: every record, and each DNS server's NS
/// record with its address where clients are.
fn zone(ctx: &Ctx, zone_file: &str, out: &mut Out) -> Result<()> {
    let (topo, domain, me) = (ctx.topo, ctx.domain(), ctx.name());
    let name_servers: Vec<_> = servers(topo)
        .iter()
        .map(|s| json!({ "name": s, "address": topo.server(s).primary_addr().to_string() }))
        .collect();
    out.template(
        zone_file,
        0o644,
        "dns/zone",
        json!({
            "domain": domain,
            "ttl": topo.stack.dns.ttl,
            "serial": serial(topo, ctx.secrets),
            "primary": me,
            "name_servers": name_servers,
            "records": zone_records(topo),
        }),
    )
}

/// named, waiting a little at start for the primary's zone (a secondary,
/// `primary` its address).
fn service(domain: &str, primary: Option<&str>, zone_file: &str, out: &mut Out) {
    let mut pre = vec!["install -d -o bind -g bind /run/named /var/cache/bind".into()];
    if let Some(p) = primary {
        // A first transfer as soon as it starts: wait a little for the
        // primary (started at the same time), then start anyway and
        // serve the copy kept from before, if any.
        pre.push(format!(
            "i=0; until {} || [ $i -ge 50 ]; do i=$((i + 1)); sleep 0.2; done",
            answers_soa(p, domain)
        ));
    }
    out.service(Service {
        name: "named".into(),
        pre,
        command: vec![
            "named".into(),
            "-g".into(),
            "-u".into(),
            "bind".into(),
            "-c".into(),
            CONF.into(),
        ],
        user: None,
        reload: Reload::Signal {
            signal: "HUP".into(),
        },
        watches: if primary.is_some() {
            vec![CONF.into()]
        } else {
            vec![CONF.into(), zone_file.into()]
        },
        host_provides: false,
        replaces: vec!["named.service".into()],
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The probe, run with a `dig` that prints what the real one does.
    fn probe_passes(dig_prints: &str) -> bool {
        let script = format!(
            "dig() {{ printf '{dig_prints}'; }}\n{}",
            answers_soa("127.0.0.1", "foobar.com")
        );
        std::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .status()
            .expect("sh")
            .success()
    }

    #[test]
    fn a_dns_server_is_ready_on_an_soa_answer_not_on_digs_complaints() {
        assert!(probe_passes(
            "ns.foobar.com. hostmaster.foobar.com. 56576375 3600 600 86400 300\n"
        ));
        // named not listening yet
        assert!(!probe_passes(
            ";; communications error to 127.0.0.1#53: connection refused\n;; no servers could be reached\n"
        ));
        // a secondary without its zone yet: SERVFAIL, which +short leaves blank
        assert!(!probe_passes(""));
    }
}
