//! keepalived: VRRP between the load balancers so that one of them always
//! holds the site's virtual IP (active-passive). The active node is the one
//! with the highest priority; a check script drops a node whose HAProxy has
//! died, and VRRP v3 with sub-second adverts makes failover fast.

use std::net::Ipv4Addr;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use super::{Component, Kind};
use crate::error::Result;
use crate::render::plan::{Reload, Service};
use crate::render::{Ctx, Out};
use crate::stack::raw::Proto;
use crate::topology::{Flow, Flows, Leg, Node, Topology, Vip};
use crate::words;

pub const KIND: Kind = Kind {
    name: "keepalived",
    memory_mb: 4,
    summary: "VRRP cluster manager: moves the site's virtual IP to a healthy load balancer",
    packages: &["keepalived"],
    templates: &["keepalived/keepalived.conf"],
    habits: &[],
};

pub const CONF: &str = "/etc/keepalived/keepalived.conf";
/// Written at service start: `$IFACE=<interface holding the server's
/// address on the VIP's network>`.
pub const IFACE_CONF: &str = "/run/keepalived-iface.conf";
/// A host's own choice of interface for the VIP, written by the SSH driver.
pub const IFACE_OVERRIDE: &str = "/var/lib/infractl/vip-interface";

/// Options of the `keepalived` component.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(rename = "KeepalivedOptions")]
pub struct Options {
    /// The virtual IP, inside one of this server's networks.
    pub vip: String,
    /// VRRP priority (1 to 255, highest wins). Default: 255 for the first
    /// server of the group (it takes the VIP at once), then 100, 99, ...
    #[serde(default, deserialize_with = "crate::stack::de::vrrp_priority")]
    #[schemars(schema_with = "crate::stack::de::vrrp_priority_schema")]
    pub priority: Option<u8>,
    /// Seconds between VRRP adverts, 0.01 to 40.95 (VRRP v3: hundredths
    /// of a second, 12 bits).
    #[serde(
        default = "default_advert",
        deserialize_with = "crate::stack::de::advert_interval"
    )]
    #[schemars(schema_with = "crate::stack::de::advert_interval_schema")]
    pub advert_interval: f64,
}

fn default_advert() -> f64 {
    0.1
}

impl Component for Options {
    fn explain(&self, topo: &Topology, node: &Node) -> String {
        let server = &node.name;
        let Some(v) = topo
            .vips
            .iter()
            .find(|v| v.members.iter().any(|m| m.0 == *server))
        else {
            return "keepalived (VRRP): holds no virtual IP".into();
        };
        let rank = v.members.iter().position(|m| m.0 == *server).unwrap_or(0);
        let prio = v.members[rank].1;
        let member = |m: &(String, u8)| m.0.clone();
        if rank == 0 {
            let others: Vec<String> = v.members[1..].iter().map(member).collect();
            let backup = if others.is_empty() {
                "no other server shares it".to_string()
            } else {
                format!(
                    "{} {} it over if {server} fails",
                    words::and_list(&others),
                    words::agree(others.len(), "takes", "take")
                )
            };
            format!(
                "keepalived (VRRP): holds the virtual IP {} (priority {prio}, the highest); {backup}",
                v.address
            )
        } else {
            let above: Vec<String> = v.members[..rank].iter().map(member).collect();
            format!(
                "keepalived (VRRP): stands by (priority {prio}) and takes the virtual IP {} over if {} {}",
                v.address,
                words::and_list(&above),
                words::agree(above.len(), "fails", "fail")
            )
        }
    }

    /// VRRP adverts between the members of each virtual IP group, on its
    /// network: one flow per virtual IP, even between the same servers.
    fn flows(leg: Leg, topo: &Topology, out: &mut Flows) {
        if leg != Leg::Failover {
            return;
        }
        for v in &topo.vips {
            for (a, _) in &v.members {
                for (b, _) in v.members.iter().filter(|(b, _)| b != a) {
                    out.push(Flow {
                        from: a.clone(),
                        to: b.clone(),
                        port: 0,
                        proto: Proto::Vrrp,
                        purpose: "VRRP adverts for the virtual IP".into(),
                        via: Some(v.network.clone()),
                    });
                }
            }
        }
    }

    fn render(&self, ctx: &Ctx, out: &mut Out) -> Result<()> {
        render(self, ctx, out)
    }

    // ---- verify ----

    /// The lab's first virtual IP fails over, named by its first member.
    fn to_prove(&self, topo: &Topology, node: &Node) -> Vec<super::ToProve> {
        let Some(vip) = topo.vips.first() else {
            return Vec::new();
        };
        let members: Vec<String> = vip.members.iter().map(|(m, _)| m.clone()).collect();
        if members.first() != Some(&node.name) {
            return Vec::new();
        }
        vec![super::ToProve::Failover {
            address: vip.address,
            members,
        }]
    }
}

pub fn render(o: &Options, ctx: &Ctx, out: &mut Out) -> Result<()> {
    let vip = ctx
        .topo
        .vips
        .iter()
        .find(|v| v.members.iter().any(|(m, _)| m == ctx.name()))
        .expect("validated: a keepalived server is in a VIP group");
    let my_addr = ctx
        .topo
        .server(ctx.name())
        .addr_on(&vip.network)
        .expect("validated: VIP inside one of the server's networks");
    conf(o, ctx, vip, my_addr, out)?;
    out.capability("NET_ADMIN");
    out.capability("NET_RAW");
    service(my_addr, out);
    probe(ctx, vip, out);
    out.check(
        "keepalived --config-test",
        CONF,
        // The check container has one interface, eth0, where the server has
        // the one found at start.
        format!("echo '$IFACE=eth0' > {IFACE_CONF} && keepalived --config-test --use-file {CONF}"),
    );
    Ok(())
}

/// This server's priority in its VIP group, and whether it comes first.
fn rank(ctx: &Ctx, vip: &Vip) -> (u8, bool) {
    let (_, priority) = vip
        .members
        .iter()
        .find(|(m, _)| m == ctx.name())
        .expect("member");
    let first = vip.members.first().map(|(m, _)| m.as_str()) == Some(ctx.name());
    (*priority, first)
}

/// `keepalived.conf`: the VRRP instance of the server's VIP group, its
/// peers by unicast, and HAProxy's health as a tracked script.
fn conf(o: &Options, ctx: &Ctx, vip: &Vip, my_addr: Ipv4Addr, out: &mut Out) -> Result<()> {
    let topo = ctx.topo;
    let (priority, first) = rank(ctx, vip);
    let peers: Vec<String> = vip
        .members
        .iter()
        .filter(|(m, _)| m != ctx.name())
        .filter_map(|(m, _)| topo.server(m).addr_on(&vip.network))
        .map(|a| a.to_string())
        .collect();
    let haproxy_stats = topo
        .server(ctx.name())
        .get::<super::haproxy::Options>()
        .map(|h| h.stats_port);
    out.template(
        CONF,
        0o644,
        "keepalived/keepalived.conf",
        json!({
            "server": ctx.name(),
            "iface_conf": IFACE_CONF,
            "state": if first { "MASTER" } else { "BACKUP" },
            "priority": priority,
            "router_id": vip.router_id,
            "advert": o.advert_interval,
            "address": my_addr.to_string(),
            "peers": peers,
            "vip": vip.address.to_string(),
            "prefix": vip.prefix,
            "haproxy_stats": haproxy_stats,
        }),
    )
}

/// The keepalived service, on the interface holding `my_addr`.
fn service(my_addr: Ipv4Addr, out: &mut Out) {
    // The interface holding the server's address on the VIP's network,
    // unless the host names it (an inventory's `vip-interface`).
    let find_iface = format!(
        "if [ -s {IFACE_OVERRIDE} ]; then echo \"\\$IFACE=$(cat {IFACE_OVERRIDE})\" > {IFACE_CONF}; else echo \"\\$IFACE=$(ip -o -4 addr show | awk '$4 ~ /^{}\\// {{print $2; exit}}')\" > {IFACE_CONF}; fi",
        my_addr.to_string().replace('.', "\\.")
    );
    out.service(Service {
        name: "keepalived".into(),
        // Its pid files in a directory of its own, emptied at each start: a
        // pid left by a crash may belong to another process by now, and
        // keepalived would refuse to start ("already running").
        pre: vec![
            "rm -rf /run/keepalived && mkdir -p /run/keepalived".into(),
            find_iface,
        ],
        command: vec![
            "keepalived".into(),
            "--dont-fork".into(),
            "--log-console".into(),
            "--log-detail".into(),
            "--pid=/run/keepalived/keepalived.pid".into(),
            "--vrrp_pid=/run/keepalived/vrrp.pid".into(),
            "--checkers_pid=/run/keepalived/checkers.pid".into(),
            "--use-file".into(),
            CONF.into(),
        ],
        user: None,
        reload: Reload::Signal {
            signal: "HUP".into(),
        },
        watches: vec![CONF.into()],
        host_provides: false,
        replaces: vec!["keepalived.service".into()],
    });
}

/// Ready once running, and for the member that outranks every other one,
/// once it holds the virtual IP.
fn probe(ctx: &Ctx, vip: &Vip, out: &mut Out) {
    let (priority, first) = rank(ctx, vip);
    // The member that outranks every other one is ready only once it holds
    // the virtual IP: until then the site's address leads nowhere, or to a
    // backup that is about to hand it back.
    let runs = "pgrep -x keepalived >/dev/null";
    let outranks = vip.members.get(1).is_none_or(|(_, p)| *p < priority);
    let (command, expect) = if first && outranks {
        (
            format!("{runs} && {}", holds(&vip.address.to_string())),
            "keepalived runs and holds the virtual IP",
        )
    } else {
        (runs.to_string(), "the keepalived process runs")
    };
    out.probe("keepalived", command, expect);
}

/// A command that succeeds on a host holding `address` (a virtual IP) on
/// one of its interfaces.
pub fn holds(address: &str) -> String {
    format!("ip -o -4 addr show | grep -qF ' {address}/'")
}

/// Which of `members` hold `address` now, asking each at once through
/// `ask` (a member's name, a script: what running it there printed, or
/// `None` when it could not be run) whether it holds it (see [`holds`]);
/// one that does not answer holds nothing.
pub async fn holders<F, Fut>(address: &str, members: &[String], ask: F) -> Vec<String>
where
    F: Fn(String, String) -> Fut,
    Fut: std::future::Future<Output = Option<String>>,
{
    let script = format!("{} && echo yes", holds(address));
    let answers = members.iter().map(|m| {
        let asked = ask(m.clone(), script.clone());
        async move {
            let yes = asked.await.is_some_and(|out| out.trim() == "yes");
            yes.then(|| m.clone())
        }
    });
    futures_util::future::join_all(answers)
        .await
        .into_iter()
        .flatten()
        .collect()
}
