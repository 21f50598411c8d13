//! ufw: a host firewall on the server. Incoming traffic is denied by
//! default; exactly the flows the topology needs into this server are
//! allowed, each from its source address only.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use super::Kind;
use crate::error::Result;
use crate::plan::When;
use crate::render::{Ctx, Out};
use crate::stack::raw::Proto;

pub const KIND: Kind = Kind {
    name: "ufw",
    summary: "host firewall: denies incoming traffic except the flows the topology needs",
    packages: &["ufw", "iptables"],
    templates: &["ufw/apply.sh", "ufw/ufw.default"],
};

pub const RULES: &str = "/etc/infractl/ufw/rules";
pub const APPLY: &str = "/etc/infractl/ufw/apply.sh";

/// Options of the `ufw` component (none yet: the policy is the stack's
/// `firewall` section).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Options {}

/// The ufw rules (arguments after `ufw`) for the flows into `server`.
pub fn rules(ctx: &Ctx) -> Vec<String> {
    let topo = ctx.topo;
    let me = ctx.name();
    let mut out = Vec::new();
    for f in topo.flows_to(me) {
        let from = match topo.flow_source(f) {
            None => "any".to_string(),
            Some(a) => a.to_string(),
        };
        let comment = format!("{}: {}", f.from, f.purpose);
        let rule = match f.proto {
            Proto::Vrrp => format!("allow from {from} to any proto vrrp comment '{comment}'"),
            p => format!(
                "allow from {from} to any port {} proto {} comment '{comment}'",
                f.port,
                p.as_str()
            ),
        };
        if !out.contains(&rule) {
            out.push(rule);
        }
    }
    out
}

pub fn render(_o: &Options, ctx: &Ctx, out: &mut Out) -> Result<()> {
    let rules = rules(ctx);
    let mut text = String::from("# ufw rules for this server, one per line (arguments to `ufw`), derived from the topology.\n");
    for r in &rules {
        text.push_str(r);
        text.push('\n');
    }
    out.file(RULES, 0o644, text);
    out.template("/etc/default/ufw", 0o644, "ufw/ufw.default", json!({}))?;
    out.template(APPLY, 0o755, "ufw/apply.sh", json!({ "rules": RULES }))?;
    out.capability("NET_ADMIN");
    out.capability("NET_RAW");
    out.step(
        "apply firewall rules",
        When::BeforeStart,
        &[RULES, APPLY, "/etc/default/ufw"],
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
