//! The catalogue of faults: for each, what it breaks in an instructor's
//! words, which servers of a stack it can hit (decided from the
//! topology), the change it makes there, exactly which of `verify`'s
//! claims then fail, and the repair a learner makes on the server itself.
//! All of it pure: [`Fault::plan`] decides everything, `inject` only
//! carries it out.
//!
//! Which server a fault hits is drawn from a seed ([`pick`]), the same
//! seed always drawing the same server, so that a class can later give
//! each learner a draw of their own.

use serde::Serialize;

use crate::components::ToProve;
use crate::error::{did_you_mean, Error, Result};
use crate::render::plan::sha256_hex;
use crate::topology::{Role, Topology};

/// A claim of `verify` that a fault makes fail, by its group and words
/// its check contains.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClaimRef {
    pub group: &'static str,
    /// Words the claim's check contains (`the page comes through every tier`).
    pub words: String,
    /// It fails on every run; otherwise only `when` something happens
    /// (its one request sent to the broken server by round robin).
    pub surely: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
}

impl ClaimRef {
    fn sure(group: &'static str, words: impl Into<String>) -> Self {
        ClaimRef {
            group,
            words: words.into(),
            surely: true,
            when: None,
        }
    }

    /// Whether a claim of `group` checking `check` is this one.
    pub fn matches(&self, group: &str, check: &str) -> bool {
        self.group == group && check.contains(&self.words)
    }
}

/// Lines of a config file changed: each line whose text (indentation
/// aside) begins with `from` begins with `to` instead; at least one line
/// must.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub from: String,
    pub to: String,
}

/// `conf` with `edits` made, or the first edit that found no line.
pub fn apply(conf: &str, edits: &[Edit]) -> std::result::Result<String, String> {
    let mut lines: Vec<String> = conf.lines().map(str::to_string).collect();
    for e in edits {
        let mut found = false;
        for line in lines.iter_mut() {
            let body = line.trim_start();
            if let Some(rest) = body.strip_prefix(&e.from) {
                let indent = &line[..line.len() - body.len()];
                *line = format!("{indent}{}{rest}", e.to);
                found = true;
            }
        }
        if !found {
            return Err(e.from.clone());
        }
    }
    let mut out = lines.join("\n");
    if conf.ends_with('\n') {
        out.push('\n');
    }
    Ok(out)
}

/// The `sed` a learner types to undo `e` in `path`.
fn undo(e: &Edit, path: &str) -> String {
    let esc = |s: &str| s.replace('.', "\\.").replace('|', "\\|");
    let script = format!(
        "s|^\\( *\\){}|\\1{}|",
        esc(&e.to),
        e.from.replace('|', "\\|")
    );
    format!("sed -i {} {path}", crate::shell::shell_quote(&script))
}

/// What a fault does to a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A config file edited, then its service reloaded as the lab's
    /// supervisor reloads it.
    Edit {
        path: &'static str,
        service: &'static str,
        edits: Vec<Edit>,
    },
    /// Replication stopped on the replica, then `rows` rows written on
    /// `primary`, each holding `marker`: the replica falls behind.
    StopReplica {
        primary: String,
        rows: usize,
        marker: String,
    },
}

/// What the learner does on a server to repair a fault: the answer key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Repair {
    pub server: String,
    pub text: String,
    /// The commands as typed in a shell on `server`, in order.
    pub commands: Vec<String>,
}

/// A script on a server that prints `yes` while the fault shows and `no`
/// once it is repaired (anything else: neither yet).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Symptom {
    pub server: String,
    pub script: String,
}

/// A fault decided for a lab: where it goes, what it does, what fails,
/// how it is repaired.
#[derive(Debug, Clone, Serialize)]
pub struct Breakage {
    /// The claims of `verify` that fail.
    pub breaks: Vec<ClaimRef>,
    pub fault: &'static str,
    /// The server whose file or state is changed.
    pub on: String,
    pub repair: Repair,
    pub seed: u64,
    /// The server the fault hits (drawn with the seed).
    pub server: String,
    /// How to tell that it shows, and that it is gone.
    pub shows: Symptom,
    /// What is broken, in the instructor's words.
    pub what: String,
    #[serde(skip)]
    pub change: Change,
}

/// The faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    UpstreamPort,
    Check404,
    LeftOut,
    ReplicaStopped,
}

/// A fault of the catalogue.
#[derive(Debug, Clone, Copy)]
pub struct Fault {
    /// Its name, kebab-case.
    pub name: &'static str,
    /// What is broken, for the instructor (never shown to learners).
    pub what: &'static str,
    /// The servers it can hit, in words.
    pub hits: &'static str,
    kind: Kind,
}

/// Every fault, in the order the catalogue lists them.
pub const FAULTS: &[Fault] = &[
    Fault {
        name: "nginx-upstream-wrong-port",
        what: "a web server's nginx sends the application's requests to a port nothing listens on (502); the load balancer still sees it healthy",
        hits: "a web server with an upstream application",
        kind: Kind::UpstreamPort,
    },
    Fault {
        name: "haproxy-check-404",
        what: "HAProxy's health check asks for a path that answers 404: every web server is marked down and the site answers 503",
        hits: "the load balancer",
        kind: Kind::Check404,
    },
    Fault {
        name: "haproxy-backend-left-out",
        what: "a web server is left out of HAProxy's backend list: the site works, but one server never gets a request",
        hits: "a web server behind the load balancer (of two or more)",
        kind: Kind::LeftOut,
    },
    Fault {
        name: "replication-stopped",
        what: "replication is stopped on a replica and rows are written on the primary since: the replica serves stale reads",
        hits: "a database replica",
        kind: Kind::ReplicaStopped,
    },
];

/// The fault named `name`; a usage error naming the catalogue (and the
/// closest name) otherwise.
pub fn find(name: &str) -> Result<&'static Fault> {
    if let Some(f) = FAULTS.iter().find(|f| f.name == name) {
        return Ok(f);
    }
    let names: Vec<&str> = FAULTS.iter().map(|f| f.name).collect();
    let e = Error::usage(format!("no fault `{name}` in the catalogue"));
    Err(match did_you_mean(name, names.iter().copied()) {
        Some(n) => e.with_hint(format!("did you mean `{n}`? (`infractl inject --list`)")),
        None => e.with_hint(format!(
            "the faults: {} (`infractl inject --list`)",
            names.join(", ")
        )),
    })
}

/// Whether a fault fits a stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fit {
    /// It can hit these servers.
    Servers(Vec<String>),
    /// The stack has nothing it can hit.
    Nothing,
    /// Not yet: the claims it would break there are timed (what fires
    /// and when), and the catalogue does not state them yet.
    NotYet(String),
}

/// Why the catalogue does not state yet what a fault breaks on `topo`:
/// its monitoring's alerts and its failover are claims that depend on
/// when verify runs after the fault.
pub fn not_yet(topo: &Topology) -> Option<String> {
    let mut what = Vec::new();
    if topo.with_role(Role::Monitoring).next().is_some() {
        what.push("monitoring (its alerts fire some time after a fault)");
    }
    if !topo.vips.is_empty() {
        what.push("a virtual IP (its failover claim kills the active load balancer)");
    }
    if topo.with_role(Role::LoadBalancer).count() > 1 {
        what.push("more than one load balancer");
    }
    (!what.is_empty()).then(|| format!("the stack has {}", crate::words::and_list(&what)))
}

/// The server `seed` draws among `servers`: the same seed always draws
/// the same one, and each fault draws apart from the others.
pub fn pick<'a>(fault: &str, servers: &'a [String], seed: u64) -> Option<&'a String> {
    if servers.is_empty() {
        return None;
    }
    let hash = sha256_hex(format!("{fault}/{seed}").as_bytes());
    let n = u64::from_str_radix(&hash[..16], 16).expect("hex");
    servers.get((n % servers.len() as u64) as usize)
}

/// The first load balancer and the web servers it balances over.
fn balancer(topo: &Topology) -> Option<(String, Vec<String>)> {
    topo.with_role(Role::LoadBalancer)
        .next()
        .map(|n| (n.name.clone(), n.backends.clone()))
}

impl Fault {
    /// The servers of `topo` this fault can hit, or why none.
    pub fn fit(&self, topo: &Topology) -> Fit {
        if let Some(why) = not_yet(topo) {
            return Fit::NotYet(why);
        }
        let servers: Vec<String> = match self.kind {
            Kind::UpstreamPort => topo
                .with_role(Role::Web)
                .filter(|n| !n.upstreams.is_empty())
                .map(|n| n.name.clone())
                .collect(),
            Kind::Check404 => balancer(topo)
                .filter(|(_, b)| !b.is_empty())
                .map(|(lb, _)| vec![lb])
                .unwrap_or_default(),
            Kind::LeftOut => balancer(topo)
                .map(|(_, b)| b)
                .filter(|b| b.len() > 1)
                .unwrap_or_default(),
            Kind::ReplicaStopped => topo
                .with_role(Role::DbReplica)
                .map(|n| n.name.clone())
                .collect(),
        };
        if servers.is_empty() {
            Fit::Nothing
        } else {
            Fit::Servers(servers)
        }
    }

    /// The fault decided for the lab of `topo`: the server `seed` draws,
    /// the change, the claims it breaks, the repair. `marker` tells the
    /// rows it writes from any other (unique per injection).
    pub fn plan(&self, topo: &Topology, seed: u64, marker: &str) -> Result<Breakage> {
        let servers = match self.fit(topo) {
            Fit::Servers(s) => s,
            Fit::Nothing => {
                return Err(Error::usage(format!(
                    "fault `{}` does not apply to stack `{}`: it hits {}, and the stack has none",
                    self.name, topo.stack.name, self.hits
                ))
                .with_hint(applicable_hint(topo)))
            }
            Fit::NotYet(why) => {
                return Err(Error::usage(format!(
                    "the catalogue does not state yet what fault `{}` breaks on stack `{}`: {why}",
                    self.name, topo.stack.name
                ))
                .with_hint("the faults apply to stacks like task0 and task1 so far"))
            }
        };
        let server = pick(self.name, &servers, seed)
            .expect("a fitting fault has servers")
            .clone();
        let mut b = match self.kind {
            Kind::UpstreamPort => upstream_port(topo, &server),
            Kind::Check404 => check_404(topo, &server),
            Kind::LeftOut => left_out(topo, &server),
            Kind::ReplicaStopped => replica_stopped(topo, &server, marker),
        };
        b.fault = self.name;
        b.seed = seed;
        Ok(b)
    }
}

/// `the faults that apply: ...`, or that none does.
pub fn applicable_hint(topo: &Topology) -> String {
    let fit: Vec<&str> = FAULTS
        .iter()
        .filter(|f| matches!(f.fit(topo), Fit::Servers(_)))
        .map(|f| f.name)
        .collect();
    if fit.is_empty() {
        format!(
            "no fault of the catalogue applies to stack `{}` (`infractl inject --list`)",
            topo.stack.name
        )
    } else {
        format!(
            "the faults that apply to stack `{}`: {}",
            topo.stack.name,
            fit.join(", ")
        )
    }
}

/// The claims a request through the site makes: the page through every
/// tier (over HTTPS with its chain, where the site has it), a note
/// written through the application and found on every replica, a
/// stranger loading the page. Each fails surely, or only `when`.
fn through_site(topo: &Topology, when: Option<&str>) -> Vec<ClaimRef> {
    let mut out = vec![ClaimRef::sure("site", "the page comes through every tier")];
    if topo.tls() {
        out.push(ClaimRef::sure("site", "with a valid certificate chain"));
    }
    let claims = crate::verify::kinds_claims(topo);
    let replicas: Vec<&str> = claims
        .iter()
        .filter(|(_, c)| *c == ToProve::Replica)
        .map(|(s, _)| s.as_str())
        .collect();
    let galera: Vec<&str> = claims
        .iter()
        .filter(|(_, c)| matches!(c, ToProve::GaleraNode { .. }))
        .map(|(s, _)| s.as_str())
        .collect();
    if !replicas.is_empty() || !galera.is_empty() {
        out.push(ClaimRef::sure(
            "replication",
            "a note written through the application",
        ));
    }
    for r in replicas {
        out.push(ClaimRef::sure(
            "replication",
            format!("the note reaches replica {r}"),
        ));
    }
    for g in galera {
        out.push(ClaimRef::sure(
            "replication",
            format!("the note is on Galera node {g}"),
        ));
    }
    out.push(ClaimRef::sure(
        "public",
        format!("loads {}://{}/", topo.site_scheme(), topo.site_host()),
    ));
    for c in out.iter_mut() {
        c.surely = when.is_none();
        c.when = when.map(str::to_string);
    }
    out
}

/// The load balancing claim: every web server behind the first load
/// balancer answers some of the requests.
fn balancing() -> ClaimRef {
    ClaimRef::sure("load balancing", "spread over the web servers")
}

/// The claim that `lb`'s hop to `web` is HTTPS verified by the lab CA,
/// where the stack makes it.
fn verified_hop(topo: &Topology, lb: &str, web: &str) -> Option<ClaimRef> {
    crate::verify::kinds_claims(topo)
        .iter()
        .any(|(s, c)| s == lb && *c == ToProve::VerifiedHop { web: web.into() })
        .then(|| ClaimRef::sure("site", format!("{lb} -> {web}:")))
}

/// The reload a learner types for `service`: the plan's own (see
/// `supervise::reload`): `nginx -s reload`, HAProxy's USR2 through the
/// lab's service helper.
pub fn reload(service: &str) -> String {
    match service {
        "nginx" => "nginx -s reload".into(),
        _ => format!("{} signal {service} USR2", crate::render::supervise::SVC),
    }
}

/// A port near `right` that no component of `servers` listens on.
fn wrong_port(topo: &Topology, servers: &[&str], right: u16) -> u16 {
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
fn upstream_port(topo: &Topology, web: &str) -> Breakage {
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
        shows: upstream_symptom(topo, web),
        change: Change::Edit {
            path,
            service: "nginx",
            edits,
        },
    }
}

/// Whether `web`'s nginx answers the page with 502 (`yes`) or 200 (`no`),
/// asked once no worker of an earlier configuration is left.
fn upstream_symptom(topo: &Topology, web: &str) -> Symptom {
    let scheme = if topo.web_tls() { "https" } else { "http" };
    let port = topo.web_port(web);
    Symptom {
        server: web.into(),
        script: format!(
            "if pgrep -f 'nginx: worker process is shutting dow[n]' >/dev/null; then echo reloading; else \
             c=$(curl -sk -o /dev/null -w '%{{http_code}}' {scheme}://127.0.0.1:{port}/api/info); \
             case $c in 502) echo yes ;; 200) echo no ;; *) echo \"$c\" ;; esac; fi"
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
fn check_404(topo: &Topology, lb: &str) -> Breakage {
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
        },
    }
}

/// (c) `web` left out of the first load balancer's backend list.
fn left_out(topo: &Topology, web: &str) -> Breakage {
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
        },
    }
}

/// How many rows are written on the primary while the replica stands still.
pub const ROWS_BEHIND: usize = 3;

/// (d) Replication stopped on `replica`, the primary written to since.
fn replica_stopped(topo: &Topology, replica: &str, marker: &str) -> Breakage {
    let primary = topo
        .node(replica)
        .replicates_from
        .clone()
        .expect("a replica has a primary");
    let breaks = vec![ClaimRef::sure(
        "replication",
        format!("the note reaches replica {replica}"),
    )];
    let status = "mariadb -e 'SHOW SLAVE STATUS\\G'";
    Breakage {
        fault: "",
        seed: 0,
        server: replica.into(),
        on: replica.into(),
        what: format!(
            "replication is stopped on {replica} (STOP SLAVE) and {ROWS_BEHIND} rows were written on {primary} since: {replica} serves reads without them, and every new write too"
        ),
        breaks,
        repair: Repair {
            server: replica.into(),
            text: format!(
                "On {replica}, `SHOW SLAVE STATUS` says Slave_IO_Running and Slave_SQL_Running: No; start replication again (`START SLAVE`): it catches up from where it stopped, the rows written on {primary} meanwhile included."
            ),
            commands: vec![format!("{status} | grep -E 'Running|Behind'"), "mariadb -e 'START SLAVE'".into()],
        },
        shows: Symptom {
            server: replica.into(),
            script: format!(
                "st=$({status}); \
                 if echo \"$st\" | grep -q 'Slave_SQL_Running: No'; then echo yes; \
                 elif echo \"$st\" | grep -q 'Slave_IO_Running: Yes' && echo \"$st\" | grep -q 'Slave_SQL_Running: Yes' \
                 && [ \"$(mariadb -N site -e \"SELECT COUNT(*) FROM notes WHERE text LIKE '{marker}%'\")\" = {ROWS_BEHIND} ]; then echo no; \
                 else echo catching-up; fi"
            ),
        },
        change: Change::StopReplica {
            primary,
            rows: ROWS_BEHIND,
            marker: marker.into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::state::Secrets;

    fn topo(stack: &str) -> Topology {
        Topology::load(stack).expect("a shipped stack loads")
    }

    fn plan(topo: &Topology) -> crate::render::plan::Plan {
        let secrets = Secrets {
            db_app: "a".into(),
            db_replication: "r".into(),
            db_exporter: "e".into(),
            tls: None,
            zone_serial: None,
        };
        crate::render::plan(topo, &secrets, "infractl/node:test").expect("renders")
    }

    fn fits(stack: &str) -> Vec<(&'static str, Fit)> {
        let t = topo(stack);
        FAULTS.iter().map(|f| (f.name, f.fit(&t))).collect()
    }

    fn servers(names: &[&str]) -> Fit {
        Fit::Servers(names.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn each_fault_fits_the_stacks_that_have_what_it_hits() {
        assert_eq!(
            fits("task0"),
            vec![
                ("nginx-upstream-wrong-port", servers(&["server-01"])),
                ("haproxy-check-404", Fit::Nothing),
                ("haproxy-backend-left-out", Fit::Nothing),
                ("replication-stopped", Fit::Nothing),
            ]
        );
        assert_eq!(
            fits("task1"),
            vec![
                (
                    "nginx-upstream-wrong-port",
                    servers(&["server-01", "server-02"])
                ),
                ("haproxy-check-404", servers(&["lb-01"])),
                (
                    "haproxy-backend-left-out",
                    servers(&["server-01", "server-02"])
                ),
                ("replication-stopped", servers(&["server-02"])),
            ]
        );
        // Monitoring's alerts and failover are timed claims: not stated yet.
        for stack in ["task2", "task3", "task4"] {
            for (name, fit) in fits(stack) {
                assert!(matches!(fit, Fit::NotYet(_)), "{stack} {name}: {fit:?}");
            }
        }
    }

    #[test]
    fn a_seed_always_draws_the_same_server_and_every_one_is_drawn() {
        let two: Vec<String> = vec!["server-01".into(), "server-02".into()];
        assert_eq!(pick("haproxy-backend-left-out", &two, 0), Some(&two[0]));
        assert_eq!(pick("nginx-upstream-wrong-port", &two, 0), Some(&two[0]));
        for seed in 0..50 {
            assert_eq!(
                pick("replication-stopped", &two, seed),
                pick("replication-stopped", &two, seed)
            );
        }
        for fault in FAULTS {
            let drawn: std::collections::BTreeSet<&String> =
                (0..20).filter_map(|s| pick(fault.name, &two, s)).collect();
            assert_eq!(drawn.len(), 2, "{}", fault.name);
        }
        assert_eq!(pick("x", &[], 3), None);
    }

    fn breaks(fault: &str, seed: u64) -> (String, Vec<(String, bool)>) {
        let b = find(fault)
            .unwrap()
            .plan(&topo("task1"), seed, "m")
            .unwrap();
        let refs = b
            .breaks
            .iter()
            .map(|c| (format!("{}: {}", c.group, c.words), c.surely))
            .collect();
        (b.server, refs)
    }

    #[test]
    fn each_fault_names_the_claims_it_breaks_on_task1() {
        let maybe = |c: &str| (c.to_string(), false);
        let sure = |c: &str| (c.to_string(), true);
        assert_eq!(
            breaks("nginx-upstream-wrong-port", 0),
            (
                "server-01".into(),
                vec![
                    maybe("site: the page comes through every tier"),
                    maybe("replication: a note written through the application"),
                    maybe("replication: the note reaches replica server-02"),
                    maybe("public: loads http://www.foobar.com/"),
                    sure("load balancing: spread over the web servers"),
                ]
            )
        );
        assert_eq!(
            breaks("haproxy-check-404", 0),
            (
                "lb-01".into(),
                vec![
                    sure("site: the page comes through every tier"),
                    sure("replication: a note written through the application"),
                    sure("replication: the note reaches replica server-02"),
                    sure("public: loads http://www.foobar.com/"),
                    sure("load balancing: spread over the web servers"),
                ]
            )
        );
        assert_eq!(
            breaks("haproxy-backend-left-out", 0),
            (
                "server-01".into(),
                vec![sure("load balancing: spread over the web servers")]
            )
        );
        assert_eq!(
            breaks("replication-stopped", 0),
            (
                "server-02".into(),
                vec![sure("replication: the note reaches replica server-02")]
            )
        );
    }

    #[test]
    fn a_web_server_alone_breaks_the_site_on_every_run() {
        let b = find("nginx-upstream-wrong-port")
            .unwrap()
            .plan(&topo("task0"), 7, "m")
            .unwrap();
        assert_eq!(b.server, "server-01");
        assert!(b.breaks.iter().all(|c| c.surely && c.when.is_none()));
        assert!(b
            .breaks
            .iter()
            .any(|c| c.matches("site", "the page comes through every tier")));
        assert!(!b.breaks.iter().any(|c| c.group == "load balancing"));
    }

    #[test]
    fn a_fault_that_does_not_fit_names_those_that_do() {
        let e = find("replication-stopped")
            .unwrap()
            .plan(&topo("task0"), 0, "m")
            .unwrap_err();
        assert_eq!(e.exit_code(), crate::error::EXIT_INPUT);
        assert!(
            e.report().contains("it hits a database replica"),
            "{}",
            e.report()
        );
        assert!(
            e.report()
                .contains("the faults that apply to stack `task0`: nginx-upstream-wrong-port"),
            "{}",
            e.report()
        );
        let e = find("haproxy-check-404")
            .unwrap()
            .plan(&topo("task3"), 0, "m")
            .unwrap_err();
        assert!(e.report().contains("does not state yet"), "{}", e.report());
        let e = find("replication-stoped").unwrap_err();
        assert!(
            e.report().contains("did you mean `replication-stopped`?"),
            "{}",
            e.report()
        );
        assert!(find("dns-broken")
            .unwrap_err()
            .report()
            .contains("the faults: "));
    }

    /// The file as `up` renders it on `server`.
    fn rendered(plan: &crate::render::plan::Plan, server: &str, path: &str) -> String {
        let s = plan.servers.iter().find(|s| s.name == server).unwrap();
        let f = s.files.iter().find(|f| f.path == path).unwrap();
        String::from_utf8(f.content.clone()).unwrap()
    }

    #[test]
    fn each_edit_breaks_the_rendered_file_and_the_learner_s_sed_undoes_it() {
        let t = topo("task1");
        let p = plan(&t);
        for (fault, seed) in [
            ("nginx-upstream-wrong-port", 0),
            ("nginx-upstream-wrong-port", 1),
            ("haproxy-check-404", 0),
            ("haproxy-backend-left-out", 0),
        ] {
            let b = find(fault).unwrap().plan(&t, seed, "m").unwrap();
            let Change::Edit {
                path,
                service,
                edits,
            } = &b.change
            else {
                panic!("{fault} edits a file")
            };
            let conf = rendered(&p, &b.on, path);
            let broken = apply(&conf, edits).unwrap();
            assert_ne!(broken, conf, "{fault}");
            assert_eq!(
                apply(&broken, edits),
                Err(edits[0].from.clone()),
                "{fault}: a file already broken is not broken twice"
            );
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join("conf");
            std::fs::write(&file, &broken).unwrap();
            let seds: Vec<String> = b
                .repair
                .commands
                .iter()
                .filter(|c| c.starts_with("sed "))
                .map(|c| c.replace(path, &file.display().to_string()))
                .collect();
            assert!(!seds.is_empty(), "{fault}");
            let out = std::process::Command::new("sh")
                .arg("-ec")
                .arg(seds.join("\n"))
                .output()
                .unwrap();
            assert!(out.status.success(), "{fault}: {out:?}");
            assert_eq!(std::fs::read_to_string(&file).unwrap(), conf, "{fault}");
            // The learner reloads the service as the lab's supervisor does.
            let svc = p
                .servers
                .iter()
                .find(|s| s.name == b.on)
                .and_then(|s| s.services.iter().find(|s| s.name == *service))
                .unwrap();
            assert_eq!(
                b.repair.commands.last(),
                Some(&crate::render::supervise::reload(svc)),
                "{fault}"
            );
        }
    }

    #[test]
    fn the_wrong_port_is_one_nothing_on_the_server_listens_on() {
        let t = topo("task1");
        let b = find("nginx-upstream-wrong-port")
            .unwrap()
            .plan(&t, 0, "m")
            .unwrap();
        let Change::Edit { edits, .. } = &b.change else {
            panic!("an edit")
        };
        assert_eq!(
            edits,
            &[Edit {
                from: "server 127.0.0.1:8000 ".into(),
                to: "server 127.0.0.1:8001 ".into(),
            }]
        );
        assert_eq!(
            wrong_port(&t, &["server-01"], 8079),
            8081,
            "8080: nginx's status"
        );
        assert_eq!(wrong_port(&t, &["server-01"], 3305), 3307, "3306: MariaDB");
    }

    #[test]
    fn a_claim_is_matched_by_its_group_and_words() {
        let c = ClaimRef::sure("replication", "the note reaches replica server-02");
        assert!(c.matches("replication", "the note reaches replica server-02"));
        assert!(!c.matches("replication", "the note reaches replica server-03"));
        assert!(!c.matches("site", "the note reaches replica server-02"));
    }
}
