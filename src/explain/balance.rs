//! How load is balanced over the web servers (the algorithm, the health
//! checks, whether the load balancers are single, active-passive or
//! active-active) and how the database is replicated, in words.

use super::{LoadBalancing, Replication};
use crate::components::{haproxy, mariadb};
use crate::topology::{names, Role, Topology};
use crate::words::{agree, and_list};

fn algorithm_explained(b: haproxy::Balance, backends: &[String]) -> String {
    match b {
        haproxy::Balance::Roundrobin => {
            // Requests 1.. n+1: around the backends and back to the first.
            let turns: Vec<String> = backends
                .iter()
                .chain(backends.first())
                .enumerate()
                .map(|(i, w)| format!("{} -> {w}", i + 1))
                .collect();
            format!(
                "Each request goes to the next web server in turn ({}, ...), weighting them equally.",
                turns.join(", ")
            )
        }
        haproxy::Balance::Leastconn => {
            "Each request goes to the web server with the fewest open connections.".into()
        }
        haproxy::Balance::Source => "A hash of the client's address picks the web server, so a client sticks to one (session persistence).".into(),
    }
}

pub(super) fn load_balancing(topo: &Topology) -> Option<LoadBalancing> {
    let lbs = names(topo.with_role(Role::LoadBalancer));
    let first = topo.with_role(Role::LoadBalancer).next()?;
    let balance = topo
        .server(&first.name)
        .get::<haproxy::Options>()
        .map(|o| o.balance)
        .unwrap_or_default();
    let (mode, explained) = match (lbs.len(), topo.vips.first()) {
        (1, _) => (
            "single",
            format!("One load balancer, {}, takes every request: there is no second one to share the traffic (active-active) or to stand by (active-passive).", lbs[0]),
        ),
        (_, Some(v)) => {
            let standby: Vec<String> = v.members[1..].iter().map(|m| m.0.clone()).collect();
            (
                "active-passive",
                format!(
                    "{} holds the virtual IP {} and takes all the traffic; {} {} by and {} the address over (VRRP, keepalived) if {} fails.",
                    v.members[0].0,
                    v.address,
                    and_list(&standby),
                    agree(standby.len(), "stands", "stand"),
                    agree(standby.len(), "takes", "take"),
                    v.members[0].0,
                ),
            )
        }
        (_, None) => ("active-active", active_active(topo, &lbs)),
    };
    Some(LoadBalancing {
        algorithm: balance.as_str().into(),
        how: format!(
            "{} HAProxy checks each web server's health every second, every quarter second once a check fails, and stops sending requests to one that fails two checks in a row (within about 1.25 s); a server that is down is checked every quarter second and takes requests again after one check passes.",
            algorithm_explained(balance, &first.backends)
        ),
        mode: mode.into(),
        mode_explained: explained,
        balancers: lbs,
        backends: first.backends.clone(),
    })
}

/// Several load balancers and no virtual IP: which of them DNS sends users to.
fn active_active(topo: &Topology, lbs: &[String]) -> String {
    let listed: Vec<String> = lbs
        .iter()
        .filter(|lb| {
            let addrs: Vec<String> = topo
                .server(lb)
                .addrs
                .iter()
                .map(|(_, a)| a.to_string())
                .collect();
            topo.records
                .iter()
                .any(|r| r.name == "www" && r.kind == "A" && addrs.contains(&r.value))
        })
        .cloned()
        .collect();
    if listed.len() == lbs.len() {
        format!(
            "{} take traffic at the same time: www.{} has an A record for each.",
            and_list(lbs),
            topo.stack.domain
        )
    } else {
        let idle: Vec<String> = lbs
            .iter()
            .filter(|l| !listed.contains(l))
            .cloned()
            .collect();
        format!(
            "{} could all take traffic, but www.{} has no A record for {}, so {} no user's request.",
            and_list(lbs),
            topo.stack.domain,
            and_list(&idle),
            agree(idle.len(), "it gets", "they get")
        )
    }
}

pub(super) fn replication(topo: &Topology) -> Option<Replication> {
    let first = topo.with_role(Role::DbPrimary).next()?;
    let p = first.name.clone();
    let replicas = topo.replicas_of(&p);
    let cluster = &first.cluster;
    let how = if !cluster.is_empty() {
        let n = cluster.len();
        format!(
            "{} form a Galera cluster: every node takes writes, and a write commits only once every node has certified it (no conflict with a write elsewhere), so each holds the same data and none lags. A node that fails is left out; the others go on while they are a majority ({} of {n}), and it catches up when it is back (the writes it missed, or a full copy). Lose {} at once and the rest stop taking writes rather than diverge (no quorum).",
            and_list(cluster),
            mariadb::quorum(n),
            n + 1 - mariadb::quorum(n),
        )
    } else if replicas.is_empty() {
        format!("{p} is the only database: it takes every read and write, and no other server holds a copy of the data.")
    } else {
        let n = replicas.len();
        format!(
            "{p} (the primary) takes every write and records it in its binary log; {} ({}) {} that log asynchronously (with GTIDs), {} the application's reads and {} any other writes (read-only). A replica can be promoted if the primary fails, but nothing here does it automatically.",
            and_list(&replicas),
            agree(n, "the replica", "the replicas"),
            agree(n, "follows", "follow"),
            agree(n, "answers", "answer"),
            agree(n, "refuses", "refuse"),
        )
    };
    Some(Replication {
        primary: p,
        replicas,
        how,
    })
}
