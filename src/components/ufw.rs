//! ufw: a host firewall on the server. Incoming traffic is denied by
//! default; exactly the flows the topology needs into this server are
//! allowed, each from its source address only. What each firewall lets
//! in, line by line ([`firewall_allows`]), is said here too: `explain` and
//! the diagram print it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Component, Kind};
use crate::error::Result;
use crate::render::plan::When;
use crate::render::{Ctx, Out};
use crate::stack::raw::Proto;
use crate::topology::{Flows, Leg, Node, Topology};
use crate::words::and_list;

pub const KIND: Kind = Kind {
    name: "ufw",
    memory_mb: 0,
    summary: "host firewall: denies incoming traffic except the flows the topology needs",
    packages: &["ufw", "iptables"],
    templates: &[
        "ufw/apply.sh",
        "ufw/ufw.default",
        "ufw/user.rules",
        "ufw/user6.rules",
    ],
    habits: &[("firewall", "the host firewall is `ufw`")],
};

pub const RULES: &str = "/etc/infractl/ufw/rules";
pub const APPLY: &str = "/etc/infractl/ufw/apply.sh";
pub const USER_RULES: &str = "/etc/ufw/user.rules";
pub const USER6_RULES: &str = "/etc/ufw/user6.rules";

/// Options of the `ufw` component (none yet: the policy is the stack's
/// `firewall` section).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "UfwOptions")]
pub struct Options {}

/// One allowed incoming flow, as ufw sees it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Rule {
    pub proto: &'static str,
    /// Port, or `any` (VRRP has none).
    pub port: String,
    /// Source address, or `0.0.0.0/0`.
    pub from: String,
    pub comment: String,
    /// The comment as ufw stores it in user.rules.
    pub comment_hex: String,
}

impl Rule {
    /// The rule as arguments to the `ufw` command.
    pub fn command(&self) -> String {
        let from = if self.from == "0.0.0.0/0" {
            "any"
        } else {
            &self.from
        };
        match self.port.as_str() {
            "any" => format!(
                "allow from {from} to any proto {} comment '{}'",
                self.proto, self.comment
            ),
            port => format!(
                "allow from {from} to any port {port} proto {} comment '{}'",
                self.proto, self.comment
            ),
        }
    }
}

/// The ufw rules for the flows into the server.
pub fn rules(ctx: &Ctx) -> Vec<Rule> {
    let topo = ctx.topo;
    let mut out: Vec<Rule> = Vec::new();
    for f in topo.flows_to(ctx.name()) {
        let who = if f.from == "any" { "anyone" } else { &f.from };
        let comment = format!("{who}: {}", f.purpose).replace('\'', "");
        let rule = Rule {
            proto: f.proto.as_str(),
            port: match f.proto {
                Proto::Vrrp => "any".into(),
                _ => f.port.to_string(),
            },
            from: topo
                .flow_source(f)
                .map(|a| a.to_string())
                .unwrap_or_else(|| "0.0.0.0/0".into()),
            comment_hex: hex::encode(comment.as_bytes()),
            comment,
        };
        if !out
            .iter()
            .any(|r| r.proto == rule.proto && r.port == rule.port && r.from == rule.from)
        {
            out.push(rule);
        }
    }
    out
}

/// One line of a firewall's allow-list: these ports (of one protocol) from
/// these sources.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Allow {
    pub ports: Vec<u16>,
    pub proto: Proto,
    /// A TCP line whose ports are open to the same sources over UDP too
    /// (DNS).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub udp_too: bool,
    /// Source servers, or `anyone`.
    pub from: Vec<String>,
}

impl Allow {
    /// `80, 443/tcp`, `53/tcp+udp`, or `VRRP`.
    pub fn ports_text(&self) -> String {
        match self.proto {
            Proto::Vrrp => "VRRP".into(),
            p => {
                let ports: Vec<String> = self.ports.iter().map(u16::to_string).collect();
                let udp = if self.udp_too { "+udp" } else { "" };
                format!("{}/{}{udp}", ports.join(", "), p.as_str())
            }
        }
    }

    /// `80, 443/tcp from anyone`.
    pub fn text(&self) -> String {
        format!("{} from {}", self.ports_text(), and_list(&self.from))
    }
}

/// What the firewall of `server` lets in, from the topology's flows: ports
/// with the same sources on one line. Empty when nothing may come in.
pub fn firewall_allows(topo: &Topology, server: &str) -> Vec<Allow> {
    let mut out = by_sources(sources_by_port(topo, server));
    fold_udp(&mut out);
    // Open to anyone first, then by first port.
    out.sort_by_key(|a| (a.from != ["anyone"], a.proto as u8, a.ports[0]));
    out
}

/// The sources of each (proto, port) into `server`, in stack order (or
/// `anyone` alone), ordered by protocol and port.
fn sources_by_port(topo: &Topology, server: &str) -> Vec<(Proto, u16, Vec<String>)> {
    let order = |name: &str| {
        topo.nodes
            .iter()
            .position(|n| n.name == name)
            .unwrap_or(usize::MAX)
    };
    let mut by_port: Vec<(Proto, u16, Vec<String>)> = Vec::new();
    for f in topo.flows_to(server) {
        let from = if f.from == "any" {
            "anyone".to_string()
        } else {
            f.from.clone()
        };
        match by_port
            .iter_mut()
            .find(|(p, port, _)| *p == f.proto && *port == f.port)
        {
            Some((_, _, v)) if !v.contains(&from) => v.push(from),
            Some(_) => {}
            None => by_port.push((f.proto, f.port, vec![from])),
        }
    }
    for (_, _, v) in &mut by_port {
        if v.iter().any(|s| s == "anyone") {
            *v = vec!["anyone".into()];
        }
        v.sort_by_key(|s| order(s));
    }
    by_port.sort_by_key(|(p, port, _)| (*p as u8, *port));
    by_port
}

/// Ports of one protocol with the same sources on one line.
fn by_sources(by_port: Vec<(Proto, u16, Vec<String>)>) -> Vec<Allow> {
    let mut out: Vec<Allow> = Vec::new();
    for (proto, port, from) in by_port {
        match out.iter_mut().find(|a| a.proto == proto && a.from == from) {
            Some(a) => a.ports.push(port),
            None => out.push(Allow {
                ports: vec![port],
                proto,
                udp_too: false,
                from,
            }),
        }
    }
    out
}

/// The same ports from the same sources over both TCP and UDP: one line.
fn fold_udp(out: &mut Vec<Allow>) {
    let udp: Vec<Allow> = out
        .iter()
        .filter(|a| a.proto == Proto::Udp)
        .cloned()
        .collect();
    for u in udp {
        if let Some(t) = out
            .iter_mut()
            .find(|a| a.proto == Proto::Tcp && a.ports == u.ports && a.from == u.from)
        {
            t.udp_too = true;
            out.retain(|a| *a != u);
        }
    }
}

impl Component for Options {
    fn explain(&self, topo: &Topology, node: &Node) -> String {
        let allows: Vec<String> = firewall_allows(topo, &node.name)
            .iter()
            .map(Allow::text)
            .collect();
        if allows.is_empty() {
            "firewall (ufw): refuses every incoming connection".into()
        } else {
            format!(
                "firewall (ufw): refuses incoming connections except {}",
                allows.join("; ")
            )
        }
    }

    /// The stack's firewall section: SSH from the administrators to every
    /// firewalled server, then its own extra rules.
    fn flows(leg: Leg, topo: &Topology, out: &mut Flows) {
        if leg != Leg::Admin {
            return;
        }
        let walled = topo.stack.with(KIND.name);
        for admin in &topo.stack.firewall.ssh_from {
            // The administrators' host is their way in: SSH to it from
            // anywhere (keys only), and from it to every other server.
            if walled.contains(admin) {
                out.add("any", admin, 22, Proto::Tcp, "SSH, the administrators' way in");
            }
            for s in walled.iter().filter(|s| *s != admin) {
                out.add(admin, s, 22, Proto::Tcp, "SSH from the administrator");
            }
        }
        for r in &topo.stack.firewall.allow {
            let why = "allowed by the stack's firewall policy";
            out.add(&r.from, &r.to, r.port, r.proto, why);
        }
    }

    fn render(&self, ctx: &Ctx, out: &mut Out) -> Result<()> {
        render(self, ctx, out)
    }

    // ---- verify ----

    /// The firewall is on.
    fn to_prove(&self, _topo: &Topology, _node: &Node) -> Vec<super::ToProve> {
        vec![super::ToProve::Firewall]
    }
}

pub fn render(_o: &Options, ctx: &Ctx, out: &mut Out) -> Result<()> {
    let rules = rules(ctx);
    let mut text = String::from("# ufw rules for this server, one per line (arguments to `ufw`), derived from the topology.\n");
    for r in &rules {
        text.push_str(&r.command());
        text.push('\n');
    }
    out.file(RULES, 0o644, text);
    out.template(
        USER_RULES,
        0o640,
        "ufw/user.rules",
        json!({ "rules": rules }),
    )?;
    // IPv6 as `ufw allow` does it: a rule open to any source is open over
    // IPv6 too; those from one (IPv4) address are not.
    let rules6: Vec<&Rule> = rules.iter().filter(|r| r.from == "0.0.0.0/0").collect();
    out.template(
        USER6_RULES,
        0o640,
        "ufw/user6.rules",
        json!({ "rules6": rules6 }),
    )?;
    out.template("/etc/default/ufw", 0o644, "ufw/ufw.default", json!({}))?;
    out.template(
        APPLY,
        0o755,
        "ufw/apply.sh",
        json!({
            "rules": RULES,
            "controller_comment": hex::encode("infractl: the controller applying this stack"),
        }),
    )?;
    out.capability("NET_ADMIN");
    out.capability("NET_RAW");
    out.step(
        "apply firewall rules",
        When::BeforeStart,
        &[RULES, USER_RULES, USER6_RULES, APPLY, "/etc/default/ufw"],
        APPLY,
    );
    out.check(
        "ufw --dry-run",
        RULES,
        format!(
            "grep -v '^#' {RULES} | while IFS= read -r rule; do eval \"ufw --dry-run $rule\" >/dev/null || {{ echo \"rejected rule: ufw $rule\" >&2; exit 1; }}; done"
        ),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn firewall_allow_lists_come_from_the_flows() {
        let topo = crate::topology::Topology::load("task3").unwrap();
        let web: Vec<String> = firewall_allows(&topo, "web-01")
            .iter()
            .map(Allow::text)
            .collect();
        assert_eq!(
            web,
            [
                "22, 9100, 9113/tcp from admin",
                "80/tcp from lb-01 and lb-02"
            ]
        );
        let lb: Vec<String> = firewall_allows(&topo, "lb-02")
            .iter()
            .map(Allow::text)
            .collect();
        assert!(lb.iter().any(|l| l == "VRRP from lb-01"), "{lb:?}");
    }
}
