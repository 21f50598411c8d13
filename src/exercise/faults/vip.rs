//! The virtual IP's fault: keepalived on a backup load balancer given the
//! active one's priority (a tie it wins by its higher address), its check
//! of HAProxy dropped, and its HAProxy stopped. Nothing shows to the users
//! while the active one holds the address; once it dies the address moves
//! to a server that serves nothing, and stays there when it comes back.
//!
//! The tie is at the first member's priority, 255 on the shipped stacks:
//! keepalived from 2.1 on (Debian's is 2.2) keeps an instance of priority
//! 255 configured `state BACKUP` a backup, so the address does not move
//! when the fault is made; older ones made it the master at once.

use super::{reload, undo, Breakage, Change, ClaimRef, Edit, Repair, Symptom};
use crate::components::keepalived::CONF;
use crate::render::supervise::{start, stop, SVC};
use crate::topology::Topology;

/// The name of the check of HAProxy in keepalived's `track_script`.
const CHECK: &str = "haproxy_alive";

/// The backups of the first virtual IP that run HAProxy, rank below its
/// first member and would win a tie of priorities with it: a higher
/// address on its network.
pub(super) fn tie_winners(topo: &Topology) -> Vec<String> {
    let Some(vip) = topo.vips.first() else {
        return Vec::new();
    };
    let Some((first, top)) = vip.members.first() else {
        return Vec::new();
    };
    let addr = |m: &str| topo.server(m).addr_on(&vip.network);
    vip.members
        .iter()
        .skip(1)
        .filter(|(m, p)| p < top && addr(m) > addr(first))
        .filter(|(m, _)| topo.server(m).has("haproxy"))
        .map(|(m, _)| m.clone())
        .collect()
}

/// The claims a load balancer whose HAProxy is stopped fails on its own:
/// the flows to HAProxy's ports on it, and its target in Prometheus.
fn silent_balancer(topo: &Topology, lb: &str) -> Vec<ClaimRef> {
    let comps = &topo.server(lb).components;
    let ports: Vec<u16> = comps
        .iter()
        .filter(|c| c.name() == "haproxy")
        .flat_map(|c| c.ports(comps, topo.tls()))
        .map(|(p, _)| p)
        .collect();
    let mut out: Vec<ClaimRef> = crate::verify::firewall_probes(topo, super::client(topo))
        .into_iter()
        .filter(|p| p.to == lb && p.connects && ports.contains(&p.port))
        .map(|p| ClaimRef::sure("firewall", format!("{} -> {lb}:{} ", p.shown_from, p.port)))
        .collect();
    if crate::alerts::monitor(topo).is_some() {
        out.push(ClaimRef::sure("monitoring", crate::verify::TARGETS));
    }
    out
}

/// (i) On `lb`, a backup of the first virtual IP: keepalived's priority
/// raised to the first member's, its check of HAProxy left out of
/// `track_script`, reloaded; then HAProxy stopped.
pub(super) fn dead_backup(topo: &Topology, lb: &str) -> Breakage {
    let vip = topo.vips.first().expect("a virtual IP, by fit");
    let (first, top) = vip.members.first().expect("members, by fit").clone();
    let own = vip
        .members
        .iter()
        .find(|(m, _)| m == lb)
        .map(|(_, p)| *p)
        .expect("a member, by fit");
    let address = vip.address;
    let edits = vec![
        Edit {
            from: format!("priority {own}"),
            to: format!("priority {top}"),
        },
        Edit {
            from: CHECK.into(),
            to: format!("# {CHECK}"),
        },
    ];
    let mut breaks = silent_balancer(topo, lb);
    breaks.push(ClaimRef::sure(
        "failover",
        format!("site answers on {address} after {first} is killed"),
    ));
    breaks.push(ClaimRef::sure(
        "failover",
        format!("{first} restored and holds {address} again"),
    ));
    let mut commands: Vec<String> = edits.iter().map(|e| undo(e, CONF)).collect();
    commands.push(start("haproxy"));
    commands.push(reload("keepalived"));
    Breakage {
        fault: "",
        seed: 0,
        server: lb.into(),
        on: lb.into(),
        what: format!(
            "keepalived on {lb} has {first}'s priority ({top}, where a backup has {own}) and no longer tracks HAProxy ({CHECK} left out of track_script), and HAProxy on {lb} is stopped: while {first} holds {address} the site works; once {first} dies the address moves to {lb}, which serves nothing, and stays there when {first} comes back (a tie goes to the higher address, {lb}'s)"
        ),
        breaks,
        repair: Repair {
            server: lb.into(),
            text: format!(
                "On {lb}, `sv status haproxy` shows HAProxy down: start it. {CONF} gives {lb} {first}'s priority ({top}; a backup's is {own}) and its track_script no longer names {CHECK}, so {lb} takes {address} without a running HAProxy and keeps it: put both back and reload keepalived; {first}, the highest priority again, takes the address back (`ip -br addr` on each)."
            ),
            commands,
        },
        shows: Symptom {
            server: lb.into(),
            // Every part of it (wherever the address is), or none and
            // the address no longer here; anything between: `partly`.
            script: format!(
                "n=0; grep -q '^ *# {CHECK}' {CONF} && n=$((n+1)); grep -qx ' *priority {top}' {CONF} && n=$((n+1)); \
                 {SVC} status | grep -qx 'run haproxy' || n=$((n+1)); {} && n=$((n+4)); \
                 case $n in 3 | 7) echo yes ;; 0) echo no ;; *) echo partly ;; esac",
                crate::components::keepalived::holds(&address.to_string())
            ),
        },
        change: Change::Edit {
            path: CONF,
            service: "keepalived",
            edits,
            then: Some(stop("haproxy")),
        },
        alerts: None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::breaks_on as breaks;

    #[test]
    fn the_backup_without_haproxy_fails_its_own_flows_its_target_and_the_failover() {
        for (stack, vip) in [("task3", "10.103.0.100"), ("task4", "10.104.0.100")] {
            assert_eq!(
                breaks(stack, "keepalived-backup-without-haproxy"),
                (
                    "lb-02".to_string(),
                    vec![
                        "firewall: client -> lb-02:80 ".to_string(),
                        "firewall: client -> lb-02:443 ".into(),
                        "firewall: admin -> lb-02:8404 ".into(),
                        "monitoring: every exporter is a Prometheus target that is up".into(),
                        format!("failover: site answers on {vip} after lb-01 is killed"),
                        format!("failover: lb-01 restored and holds {vip} again"),
                        "alerting: no alert fires on the lab as it is".into(),
                    ]
                ),
                "{stack}"
            );
        }
    }
}
