//! ufw: a host firewall on the server. Incoming traffic is denied by
//! default; exactly the flows the topology needs into this server are
//! allowed, each from its source address only.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use super::{Component, Kind};
use crate::error::Result;
use crate::plan::When;
use crate::render::{Ctx, Out};
use crate::topology::{Flows, Leg, Node, Topology};
use crate::stack::raw::Proto;

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

impl Component for Options {
    fn explain(&self, topo: &Topology, node: &Node) -> String {
        let allows: Vec<String> = crate::explain::firewall_allows(topo, &node.name)
            .iter()
            .map(crate::explain::Allow::text)
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
