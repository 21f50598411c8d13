//! Faults of the web tier: nginx's upstream on the wrong port, HAProxy's
//! health check on a path that 404s, a web server left out of HAProxy's
//! backend list, and the application's database password wrong.

use super::{
    balancer, balancing, reload, through_site, undo, verified_hop, Breakage, Change, Edit, Repair,
    Symptom,
};
use crate::topology::Topology;

/// A port near `right` that no component of `servers` listens on.
pub(super) fn wrong_port(topo: &Topology, servers: &[&str], right: u16) -> u16 {
    let tls = topo.tls();
    let mut used: Vec<u16> = vec![crate::components::nginx::STATUS_PORT, 22];
    for s in servers {
        let comps = &topo.server(s).components;
        for c in comps {
            used.extend(c.ports(comps, tls).into_iter().map(|(p, _)| p));
        }
    }
    (right.saturating_add(1)..u16::MAX)
        .find(|p| !used.contains(p))
        .unwrap_or(1)
}

/// (a) Every upstream of `web`'s nginx on a port nothing listens on.
pub(super) fn upstream_port(topo: &Topology, web: &str) -> Breakage {
    let node = topo.node(web);
    let mut edits = Vec::new();
    let mut seen = Vec::new();
    for app in &node.upstreams {
        let addr = if app == web {
            "127.0.0.1".to_string()
        } else {
            topo.addr(web, app).to_string()
        };
        let right = topo.app_port(app);
        let wrong = wrong_port(topo, &[web, app.as_str()], right);
        seen.push(format!(
            "{addr}:{wrong} (the application listens on {right})"
        ));
        edits.push(Edit {
            from: format!("server {addr}:{right} "),
            to: format!("server {addr}:{wrong} "),
        });
    }
    let path = "/etc/nginx/nginx.conf";
    let entry = match balancer(topo) {
        Some((_, backends)) => backends,
        None => topo.entry().iter().map(|n| n.name.clone()).collect(),
    };
    let alone = entry.iter().all(|w| w == web);
    let when = format!("when round robin sends its request to {web}");
    let mut breaks = through_site(topo, (!alone).then_some(when.as_str()));
    if let Some((lb, backends)) = balancer(topo) {
        if backends.iter().any(|b| b == web) {
            breaks.push(balancing());
        }
        breaks.extend(verified_hop(topo, &lb, web));
    }
    let mut commands: Vec<String> = edits.iter().map(|e| undo(e, path)).collect();
    commands.push("nginx -t".into());
    commands.push(reload("nginx"));
    Breakage {
        fault: "",
        seed: 0,
        server: web.into(),
        on: web.into(),
        what: format!(
            "nginx on {web} sends the application's requests to {}: every page it serves is 502 Bad Gateway, while its health check (/nginx-health, answered by nginx itself) still passes",
            seen.join(", ")
        ),
        breaks,
        repair: Repair {
            server: web.into(),
            text: format!(
                "On {web}, put the application's port back in the `upstream app` block of {path} (the port `ss -ltn` shows the application listening on), check the file with `nginx -t` and reload nginx."
            ),
            commands,
        },
        shows: app_symptom(topo, web, "502"),
        change: Change::Edit {
            path,
            service: "nginx",
            edits,
            then: None,
        },
        alerts: None,
    }
}

/// Whether `web` answers the application's page with `code` (`yes`) or
/// 200 (`no`), asked once no worker of an earlier configuration is left.
fn app_symptom(topo: &Topology, web: &str, code: &str) -> Symptom {
    let scheme = if topo.web_tls() { "https" } else { "http" };
    let port = topo.web_port(web);
    Symptom {
        server: web.into(),
        script: format!(
            "if pgrep -f 'nginx: worker process is shutting dow[n]' >/dev/null; then echo reloading; else \
             c=$(curl -sk -o /dev/null -w '%{{http_code}}' {scheme}://127.0.0.1:{port}/api/info); \
             case $c in {code}) echo yes ;; 200) echo no ;; *) echo \"$c\" ;; esac; fi"
        ),
    }
}

/// HAProxy's stats as `name state` lines, one per server of backend `web`.
fn stats_lines(topo: &Topology, lb: &str) -> String {
    let port = topo
        .server(lb)
        .get::<crate::components::haproxy::Options>()
        .map(|o| o.stats_port.get())
        .unwrap_or(8404);
    format!(
        "curl -fsS 'http://127.0.0.1:{port}/stats;csv' | awk -F, '$1 == \"web\" && $2 != \"BACKEND\" && $2 != \"FRONTEND\" {{ print $2, $18 }}'"
    )
}

/// (b) HAProxy's health check on a path that answers 404.
pub(super) fn check_404(topo: &Topology, lb: &str) -> Breakage {
    let path = crate::components::haproxy::CONF;
    let edits = vec![Edit {
        from: "option httpchk GET /nginx-health".into(),
        to: "option httpchk GET /health".into(),
    }];
    let backends = topo.node(lb).backends.clone();
    let mut breaks = through_site(topo, None);
    breaks.push(balancing());
    let mut commands: Vec<String> = edits.iter().map(|e| undo(e, path)).collect();
    commands.push(format!("haproxy -c -q -f {path}"));
    commands.push(reload("haproxy"));
    let stats = stats_lines(topo, lb);
    Breakage {
        fault: "",
        seed: 0,
        server: lb.into(),
        on: lb.into(),
        what: format!(
            "HAProxy on {lb} checks its web servers' health with GET /health, which they answer 404: {} are all marked DOWN and the site answers 503 Service Unavailable",
            crate::words::and_list(&backends)
        ),
        breaks,
        repair: Repair {
            server: lb.into(),
            text: format!(
                "On {lb}, point `option httpchk` in {path} back at the path the web servers answer 200 on (/nginx-health: `curl -i http://WEB/nginx-health` from {lb} says which), check the file with `haproxy -c` and reload HAProxy; the stats page (:8404/stats) shows the servers UP again."
            ),
            commands,
        },
        shows: Symptom {
            server: lb.into(),
            script: format!(
                "s=$({stats}); if [ -z \"$s\" ]; then echo none; \
                 elif ! echo \"$s\" | grep -qv ' DOWN$'; then echo yes; \
                 elif ! echo \"$s\" | grep -qv ' UP$'; then echo no; else echo changing; fi"
            ),
        },
        change: Change::Edit {
            path,
            service: "haproxy",
            edits,
            then: None,
        },
        alerts: None,
    }
}

/// (c) `web` left out of the first load balancer's backend list.
pub(super) fn left_out(topo: &Topology, web: &str) -> Breakage {
    let (lb, backends) = balancer(topo).expect("a load balancer, by fit");
    let path = crate::components::haproxy::CONF;
    let edits = vec![Edit {
        from: format!("server {web} "),
        to: format!("# server {web} "),
    }];
    let mut breaks = vec![balancing()];
    breaks.extend(verified_hop(topo, &lb, web));
    let mut commands: Vec<String> = edits.iter().map(|e| undo(e, path)).collect();
    commands.push(format!("haproxy -c -q -f {path}"));
    commands.push(reload("haproxy"));
    let stats = stats_lines(topo, &lb);
    let n = backends.len();
    Breakage {
        fault: "",
        seed: 0,
        server: web.into(),
        on: lb.clone(),
        what: format!(
            "{web}'s line in HAProxy's backend on {lb} is commented out: the site answers, but only from the other web servers; {web} runs, healthy and idle"
        ),
        breaks,
        repair: Repair {
            server: lb.clone(),
            text: format!(
                "On {lb}, put {web} back in the `backend web` list of {path} (uncomment its `server` line), check the file with `haproxy -c` and reload HAProxy; the stats page lists it UP."
            ),
            commands,
        },
        shows: Symptom {
            server: lb,
            script: format!(
                "s=$({stats}); if ! echo \"$s\" | grep -q '^{web} '; then echo yes; \
                 elif [ \"$(echo \"$s\" | grep -c ' UP$')\" = {n} ]; then echo no; else echo changing; fi"
            ),
        },
        change: Change::Edit {
            path,
            service: "haproxy",
            edits,
            then: None,
        },
        alerts: None,
    }
}

/// What the application's password is made: the right one with a stale
/// prefix, as if copied from an older configuration.
pub const STALE: &str = "stale-";

/// (e) The database password in `web`'s application config made wrong.
pub(super) fn db_password(topo: &Topology, web: &str) -> Breakage {
    let path = crate::components::app::CONFIG;
    let edits = vec![Edit {
        from: "\"password\": \"".into(),
        to: format!("\"password\": \"{STALE}"),
    }];
    let entry = match balancer(topo) {
        Some((_, backends)) => backends,
        None => topo.entry().iter().map(|n| n.name.clone()).collect(),
    };
    let alone = entry.iter().all(|w| w == web);
    let when = format!("when round robin sends its request to {web}");
    // Each request through the site that round robin sends to `web`.
    let breaks = through_site(topo, (!alone).then_some(when.as_str()));
    let others: Vec<String> = entry.iter().filter(|w| *w != web).cloned().collect();
    let source = match others.first() {
        Some(o) => format!("{o}'s {path} has the right one"),
        None => {
            "the database's `app` account has the right one (`ALTER USER` on the primary sets it)"
                .into()
        }
    };
    let mut commands: Vec<String> = edits.iter().map(|e| undo(e, path)).collect();
    commands.push(reload("app"));
    Breakage {
        fault: "",
        seed: 0,
        server: web.into(),
        on: web.into(),
        what: format!(
            "the database password in {path} on {web} is wrong (`{STALE}` before the right one): the application on {web} is refused by MariaDB and answers 503 to everything that reads or writes rows; its home page still loads"
        ),
        breaks,
        repair: Repair {
            server: web.into(),
            text: format!(
                "The application's log on {web} (`tail /var/log/infractl/app/current`) says Access denied for user 'app'; the password in {path} is not the database's ({source}); put the right one back and reload the application (gunicorn re-reads its configuration on HUP)."
            ),
            commands,
        },
        shows: app_symptom(topo, web, "503"),
        change: Change::Edit {
            path,
            service: "app",
            edits,
            then: None,
        },
        alerts: None,
    }
}
