//! What one server of a stack says of another: a load balancer's backends
//! run nginx, a web server's upstreams run the application, every
//! application has a database primary, every replica one primary to follow,
//! and every flow the topology derives has a network both ends are on.
//! Checked once the stack's own values are sound, so the topology can be
//! derived without checking anything again.

use super::checker::Checker;
use super::Stack;
use crate::components::{dns, mariadb, ComponentSpec};
use crate::topology::{shared_network, Topology};

fn list_or_none(v: &[String]) -> String {
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

/// The databases of the stack that take writes: its primaries, or the
/// nodes of its Galera cluster.
pub(crate) fn primaries(stack: &Stack) -> Vec<String> {
    stack
        .servers
        .iter()
        .filter(|s| {
            s.get::<mariadb::Options>().is_some_and(|o| {
                matches!(o.role, mariadb::DbRole::Primary | mariadb::DbRole::Galera)
            })
        })
        .map(|s| s.name.clone())
        .collect()
}

/// A Galera cluster has three nodes or more, and is the stack's only
/// database: no primary or replica beside it. Whether the stack has one.
fn galera(c: &mut Checker, stack: &Stack) -> bool {
    let nodes = mariadb::galera_nodes(stack);
    let Some(last) = nodes.last() else {
        return false;
    };
    let at = |server: &str| {
        let s = stack.server(server).expect("a server of the stack");
        let i = s
            .components
            .iter()
            .position(|x| x.name() == mariadb::KIND.name)
            .unwrap_or(0);
        format!("servers.{server}.components[{i}].mariadb.role")
    };
    if nodes.len() < 3 {
        c.err(
            &at(last),
            format!(
                "a Galera cluster needs three nodes or more, and {} {}: losing one would leave no majority (quorum), and the cluster would stop taking writes",
                crate::words::and_list(&nodes),
                if nodes.len() == 1 { "is one" } else { "are two" }
            ),
            Some("give a third server `mariadb: { role: galera }`".into()),
        );
    }
    for s in &stack.servers {
        if let Some(o) = s.get::<mariadb::Options>() {
            if o.role != mariadb::DbRole::Galera {
                c.err(
                    &at(&s.name),
                    format!(
                        "`{}` is a database {} beside the Galera cluster of {}: a stack's databases are one primary with its replicas, or one Galera cluster",
                        s.name,
                        if o.role == mariadb::DbRole::Replica { "replica" } else { "primary" },
                        crate::words::and_list(&nodes)
                    ),
                    Some("make it `mariadb: { role: galera }` too, or take it out".into()),
                );
            }
        }
    }
    true
}

/// Checks every reference between servers, at the component that makes it.
pub(super) fn check(c: &mut Checker, stack: &Stack) {
    let has_cluster = galera(c, stack);
    let primaries = primaries(stack);
    for s in &stack.servers {
        for (i, comp) in s.components.iter().enumerate() {
            let path = format!("servers.{}.components[{i}]", s.name);
            match comp {
                ComponentSpec::Haproxy(o) => backends(c, stack, &s.name, &path, o.backends.as_deref()),
                ComponentSpec::Nginx(o) => {
                    if o.upstream.is_none() && !s.has("app") && stack.with("app").is_empty() {
                        c.err(
                            &path,
                            format!("web server `{}` has no application server to proxy to", s.name),
                            Some("add `app` to this server or to another one".into()),
                        );
                    }
                    for (j, u) in o.upstream.iter().flatten().enumerate() {
                        if !stack.server(u).is_some_and(|t| t.has("app")) {
                            c.err(
                                &format!("{path}.nginx.upstream[{j}]"),
                                format!("web server `{}`: upstream `{u}` is not a server with the `app` component", s.name),
                                None,
                            );
                        }
                    }
                    if o.upstream.as_ref().is_some_and(|u| u.is_empty()) {
                        c.err(
                            &format!("{path}.nginx.upstream"),
                            format!("web server `{}` has no application server to proxy to", s.name),
                            Some("list at least one server with the `app` component".into()),
                        );
                    }
                }
                ComponentSpec::App(_) if primaries.is_empty() => c.err(
                    &path,
                    format!("application server `{}` needs a database, and no server has `mariadb: {{ role: primary }}`", s.name),
                    Some("add `mariadb` (a primary by default) to a server".into()),
                ),
                ComponentSpec::Dns(dns::Options { primary: Some(p) }) => {
                    let path = format!("{path}.dns.primary");
                    match stack.server(p) {
                        None => {
                            let hint = c.unknown_server_hint(p);
                            c.err(&path, format!("DNS server `{}`: primary `{p}` is not a server of this stack", s.name), hint)
                        }
                        Some(t) if t.name == s.name => c.err(
                            &path,
                            format!("DNS server `{}` cannot take the zone from itself", s.name),
                            Some("leave `primary` out: a DNS server without it holds the zone".into()),
                        ),
                        Some(t) if t.get::<dns::Options>().is_none_or(|o| o.primary.is_some()) => c.err(
                            &path,
                            format!("DNS server `{}`: primary `{p}` is not a DNS server holding the zone", s.name),
                            Some("name the server with `dns` and no `primary` of its own".into()),
                        ),
                        _ => {}
                    }
                }
                // Beside a Galera cluster, a replica is refused as such.
                ComponentSpec::Mariadb(o)
                    if o.role == mariadb::DbRole::Replica && !has_cluster =>
                {
                    replica(c, &s.name, &path, o.primary.as_deref(), &primaries)
                }
                _ => {}
            }
        }
    }
}

fn backends(c: &mut Checker, stack: &Stack, server: &str, path: &str, listed: Option<&[String]>) {
    let Some(listed) = listed else {
        if stack.with("nginx").is_empty() {
            c.err(
                path,
                format!("load balancer `{server}` has no backends: no server of this stack runs nginx"),
                Some("add `nginx` to the servers it should balance over, or list them in `haproxy: { backends: [...] }`".into()),
            );
        }
        return;
    };
    if listed.is_empty() {
        c.err(
            &format!("{path}.haproxy.backends"),
            format!("load balancer `{server}` has no backends"),
            Some("list the web servers it should balance over".into()),
        );
    }
    for (j, b) in listed.iter().enumerate() {
        match stack.server(b) {
            None => {
                let hint = c.unknown_server_hint(b);
                c.err(
                    &format!("{path}.haproxy.backends[{j}]"),
                    format!(
                        "load balancer `{server}`: backend `{b}` is not a server of this stack"
                    ),
                    hint,
                )
            }
            Some(t) if !t.has("nginx") => c.err(
                &format!("{path}.haproxy.backends[{j}]"),
                format!("load balancer `{server}`: backend `{b}` runs no web server (nginx)"),
                Some("backends are web servers: servers with the `nginx` component".into()),
            ),
            _ => {}
        }
    }
}

fn replica(c: &mut Checker, server: &str, path: &str, primary: Option<&str>, primaries: &[String]) {
    match (primary, primaries) {
        (Some(p), _) if !primaries.iter().any(|x| x == p) => c.err(
            &format!("{path}.mariadb.primary"),
            format!("server `{server}`: `{p}` is not a database primary of this stack"),
            Some(format!("primaries: {}", list_or_none(primaries))),
        ),
        (Some(_), _) | (None, [_]) => {}
        (None, []) => c.err(
            path,
            format!(
                "server `{server}`: a mariadb replica needs a primary, and this stack has none"
            ),
            Some("give another server `mariadb: { role: primary }`".into()),
        ),
        (None, _) => c.err(
            path,
            format!(
                "server `{server}`: this stack has several primaries; say which one to replicate"
            ),
            Some(format!(
                "`mariadb: {{ role: replica, primary: {} }}`",
                primaries[0]
            )),
        ),
    }
}

/// Ports (`3306/tcp`) with what each is for.
type Ports<'a> = Vec<(String, Vec<&'a str>)>;

/// Every flow between two servers needs a network they share; the flows
/// are the topology's (derived from a stack whose references hold).
pub(super) fn flows(c: &mut Checker, stack: &Stack) {
    let topo = Topology::build(stack.clone());
    // One message a pair of servers, with every port it needs.
    let mut apart: Vec<(&str, &str, Ports)> = Vec::new();
    for f in &topo.flows {
        let (Some(a), Some(b)) = (stack.server(&f.from), stack.server(&f.to)) else {
            continue;
        };
        if shared_network(stack, a, b).is_some() {
            continue;
        }
        let port = format!("{}/{}", f.port, f.proto.as_str());
        let pair = match apart
            .iter_mut()
            .position(|p| p.0 == a.name && p.1 == b.name)
        {
            Some(i) => &mut apart[i].2,
            None => {
                apart.push((&a.name, &b.name, Vec::new()));
                &mut apart.last_mut().expect("just pushed").2
            }
        };
        match pair.iter_mut().find(|p| p.0 == port) {
            Some(p) => p.1.push(&f.purpose),
            None => pair.push((port, vec![&f.purpose])),
        }
    }
    for (from, to, ports) in apart {
        let ports: Vec<String> = ports
            .iter()
            .map(|(port, why)| format!("{port} ({})", why.join(", ")))
            .collect();
        c.err(
            &format!("servers.{to}.networks"),
            format!(
                "`{from}` must reach `{to}` on {}, but they share no network",
                ports.join(", ")
            ),
            Some("put both servers on a common network".into()),
        );
    }
}
