//! The lab's DNS server (BIND 9), authoritative for the stack's domain: the
//! A, CNAME, MX and TXT records the stack declares, plus SOA and NS.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use super::{Component, ComponentSpec, Kind};
use crate::diagram::{Part, Tier};
use crate::error::Result;
use crate::plan::{Reload, Service};
use crate::render::{Ctx, Out};
use crate::stack::raw::Proto;
use crate::stack::Stack;
use crate::topology::{Node, Role, Topology};

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
pub struct Options {}

impl Component for Options {
    fn ports(&self, _server: &[ComponentSpec], _tls: bool) -> Vec<(u16, Proto)> {
        vec![(PORT, Proto::Udp), (PORT, Proto::Tcp)]
    }

    fn shape(&self, _stack: &Stack, node: &mut Node) {
        node.roles.push(Role::Dns);
    }

    fn explain(&self, topo: &Topology, _node: &Node) -> String {
        // The record types of the zone: `A, CNAME, MX and TXT`.
        let mut types: Vec<&str> = Vec::new();
        for r in &topo.records {
            if !types.contains(&r.kind) {
                types.push(r.kind);
            }
        }
        format!(
            "DNS server (BIND 9): authoritative for {}, answers with its {} records",
            topo.stack.domain,
            crate::explain::and_list(&types)
        )
    }

    fn draw(&self, topo: &Topology, _node: &Node) -> Option<Part> {
        let zone = format!("zone {}", topo.stack.domain);
        Some(Part::new(Tier::Outside, "BIND :53".into(), vec![zone], false))
    }

    fn render(&self, ctx: &Ctx, out: &mut Out) -> Result<()> {
        render(self, ctx, out)
    }
}

pub fn render(_o: &Options, ctx: &Ctx, out: &mut Out) -> Result<()> {
    let topo = ctx.topo;
    let domain = ctx.domain();
    let zone_file = format!("/var/lib/bind/db.{domain}");
    let me = topo.server(ctx.name());
    let records: Vec<_> = topo
        .records
        .iter()
        .map(|r| {
            let value = match r.kind {
                "TXT" => format!("\"{}\"", r.value.replace('\\', "\\\\").replace('"', "\\\"")),
                _ => r.value.clone(),
            };
            json!({ "name": r.name, "type": r.kind, "value": value, "priority": r.priority })
        })
        .collect();
    // A serial that changes whenever the records do, and only then.
    let digest = crate::plan::sha256_hex(serde_json::to_string(&records).expect("json").as_bytes());
    let serial = u32::from_str_radix(&digest[..7], 16).expect("hex") % 2_000_000_000 + 1;
    out.template(
        &zone_file,
        0o644,
        "dns/zone",
        json!({
            "domain": domain,
            "ttl": topo.stack.dns.ttl,
            "serial": serial,
            "ns_address": me.primary_addr().to_string(),
            "records": records,
        }),
    )?;
    out.template(
        CONF,
        0o644,
        "dns/named.conf",
        json!({ "domain": domain, "zone_file": zone_file }),
    )?;
    out.service(Service {
        name: "named".into(),
        pre: vec!["install -d -o bind -g bind /run/named /var/cache/bind".into()],
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
        watches: vec![CONF.into(), zone_file.clone()],
        host_provides: false,
        replaces: vec!["named.service".into()],
    });
    out.probe(
        "named",
        format!("dig +short +time=1 +tries=1 @127.0.0.1 {domain} SOA | grep -q ."),
        format!("an SOA answer for {domain} from 127.0.0.1"),
    );
    out.check(
        "named-checkconf -z",
        CONF,
        format!("named-checkconf -z {CONF}"),
    );
    out.check(
        "named-checkzone",
        &zone_file,
        format!("named-checkzone {domain} {zone_file}"),
    );
    Ok(())
}
