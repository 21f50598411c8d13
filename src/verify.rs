//! `verify`: proves what a stack claims on its running lab, from the user's
//! side, the way an examiner would check it.
//!
//! Probes run from the client container (the user's computer) through the
//! lab's DNS, HTTPS and the virtual IP; firewall flows are tried from the
//! server each flow comes from. Checks apply to the stacks that have the
//! component. Each result says what was expected, what was observed, and
//! how long it took.

use std::net::Ipv4Addr;
use std::time::Instant;

use serde::Serialize;
use serde_json::Value;

use crate::driver::{Driver, ExecOutput, STRANGER};
use crate::error::{Error, Result};
use crate::plan::Plan;
use crate::progress::Progress;
use crate::shell::shell_quote;
use crate::stack::raw::Proto;
use crate::state::Secrets;
use crate::topology::{Role, Topology};

/// One claim of the stack proved (or not) on the running lab: what was
/// expected and what was observed. (A *check* is a rendered file run
/// through its program, `infractl validate`'s; the JSON keeps the name
/// `check` for the claim's words, as scripts read it.)
#[derive(Debug, Clone, Serialize)]
pub struct Claim {
    pub group: &'static str,
    pub check: String,
    pub expected: String,
    pub observed: String,
    pub ok: bool,
    pub ms: u64,
    /// Why a failed claim failed, when a server it needs is not running
    /// (`server-02 is not running`): what the dead server breaks, told
    /// apart from what the lab gets wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub because: Option<String>,
}

/// `server-02 is not running`, `lb-01 and server-02 are not running`.
pub fn not_running<S: AsRef<str>>(servers: &[S]) -> String {
    let verb = if servers.len() == 1 { "is" } else { "are" };
    format!("{} {verb} not running", crate::words::and_list(servers))
}

/// Whether `text` names the server `name` as a word of its own
/// (`server-02` in `lb-01 -> server-02:80`, not in `server-021`).
pub fn mentions(text: &str, name: &str) -> bool {
    let part = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    text.match_indices(name).any(|(at, _)| {
        !text[..at].chars().next_back().is_some_and(part)
            && !text[at + name.len()..].chars().next().is_some_and(part)
    })
}

/// Why `claim` failed, if a server that is not running (`down`) explains
/// it: the servers among `down` its words name, else those verify could
/// not run its commands on (`refused`). None for a claim that passed.
pub fn blame(claim: &Claim, down: &[String], refused: &[String]) -> Option<String> {
    if claim.ok {
        return None;
    }
    let words = [&claim.check, &claim.expected, &claim.observed];
    let mut named: Vec<&String> = down
        .iter()
        .filter(|d| words.iter().any(|w| mentions(w, d)))
        .collect();
    if named.is_empty() {
        named = down.iter().filter(|d| refused.contains(d)).collect();
    }
    (!named.is_empty()).then(|| not_running(&named))
}

/// Requests sent to measure load balancing, at the least.
pub const REQUESTS: usize = 20;
/// Requests per web server, so that every one is seen however many.
pub const REQUESTS_PER_BACKEND: usize = 4;

/// Requests that see each of `backends` web servers answer (round robin
/// needs one each; the rest is margin for any other algorithm).
pub fn requests_for(backends: usize) -> usize {
    REQUESTS.max(backends * REQUESTS_PER_BACKEND)
}

/// Whether every backend answered, and what was seen: a summary first
/// (a terminal clips the rest), then each server's count.
pub fn spread(backends: &[String], answers: &str) -> (bool, String) {
    let counts: Vec<(&String, usize)> = backends
        .iter()
        .map(|b| (b, answers.matches(&format!("\"web\": \"{b}\"")).count()))
        .collect();
    let silent: Vec<&str> = counts
        .iter()
        .filter(|(_, n)| *n == 0)
        .map(|(b, _)| b.as_str())
        .collect();
    let each = counts
        .iter()
        .map(|(b, n)| format!("{b}: {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    let summary = if silent.is_empty() {
        format!("all {} answered", backends.len())
    } else {
        format!("{} never answered: {}", silent.len(), silent.join(", "))
    };
    (silent.is_empty(), format!("{summary} ({each})"))
}

/// Shell trying a TCP connection to `addr:port` at once with the others,
/// printing `<i> open`, `<i> refused` (the host answered that nothing
/// listens) or `<i> closed` (no answer: dropped).
fn port_probe(i: usize, addr: impl std::fmt::Display, port: u16) -> String {
    format!(
        "(if out=$(nc -z -v -w 1 {addr} {port} 2>&1); then echo '{i} open'; else case $out in *refused*) echo '{i} refused' ;; *) echo '{i} closed' ;; esac; fi) &\n"
    )
}

/// What a probe saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    Open,
    /// The host answered that nothing listens: no firewall dropped it.
    Refused,
    Closed,
}

/// Reads `port_probe` lines into `seen` (`None` where nothing came back;
/// a line naming no probe is ignored).
fn read_probes(stdout: &str, seen: &mut [Option<Seen>]) {
    for line in stdout.lines() {
        if let Some((i, state)) = line.split_once(' ') {
            if let Some(slot) = i.parse::<usize>().ok().and_then(|i| seen.get_mut(i)) {
                *slot = Some(match state {
                    "open" => Seen::Open,
                    "refused" => Seen::Refused,
                    _ => Seen::Closed,
                });
            }
        }
    }
}

/// What a probe saw, in words.
fn connection(got: Option<Seen>) -> &'static str {
    match got {
        Some(Seen::Open) => "connected",
        Some(Seen::Refused) => "refused (nothing listens)",
        Some(Seen::Closed) => "dropped",
        None => "not tried",
    }
}

/// A TCP connection verify tries, and whether it should connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortProbe {
    /// The host it runs on.
    pub from: String,
    /// The source as the report names it.
    pub shown_from: String,
    pub to: String,
    /// The address of `to` as `from` reaches it.
    pub address: Ipv4Addr,
    pub port: u16,
    pub connects: bool,
    /// Only listening now and then (a Galera node's state transfers): the
    /// firewall letting the connection through to a refusal is enough.
    pub now_and_then: bool,
    /// What the flow is, in a few words.
    pub what: String,
}

/// What Prometheus's targets (its `/api/v1/targets` answer) say against
/// the wanted ones.
#[derive(Debug, PartialEq)]
struct Targets {
    /// What was seen, naming the targets not up and the wanted ones
    /// Prometheus has not (yet) discovered.
    observed: String,
    /// Every wanted target is there and up, and no other.
    ok: bool,
    /// Some wanted target is not among Prometheus's targets.
    undiscovered: bool,
}

/// Prometheus's targets against the `wanted` ones, `(job, server)`.
fn targets_up(v: &Value, wanted: &[(String, String)]) -> Targets {
    let targets = v["data"]["activeTargets"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let label = |t: &Value, l: &str| t["labels"][l].as_str().unwrap_or("?").to_string();
    let down: Vec<String> = targets
        .iter()
        .filter(|t| t["health"] != "up")
        .map(|t| {
            format!(
                "{}/{} {}",
                label(t, "job"),
                label(t, "server"),
                t["health"].as_str().unwrap_or("?")
            )
        })
        .collect();
    let seen: Vec<(String, String)> = targets
        .iter()
        .map(|t| (label(t, "job"), label(t, "server")))
        .collect();
    let missing: Vec<String> = wanted
        .iter()
        .filter(|w| !seen.contains(w))
        .map(|(job, server)| format!("{job}/{server}"))
        .collect();
    let up = targets.len() - down.len();
    let mut observed = format!("{up} of {} up", targets.len());
    if !down.is_empty() {
        observed.push_str(&format!("; not up: {}", down.join(", ")));
    }
    if !missing.is_empty() {
        observed.push_str(&format!("; not a target: {}", missing.join(", ")));
    }
    Targets {
        observed,
        ok: down.is_empty() && missing.is_empty() && targets.len() == wanted.len(),
        undiscovered: !missing.is_empty(),
    }
}

/// `TargetDown (web-02: node, nginx), SiteDown (site)`, or `none`: each
/// alert on a server once, with the jobs it fires for.
fn names(firing: &[crate::alerts::Firing]) -> String {
    let mut seen: Vec<(String, Vec<String>)> = Vec::new();
    for f in firing {
        let key = format!("{} ({}", f.alert, f.server);
        let job = f.labels.get("job").cloned();
        match seen.iter_mut().find(|(k, _)| *k == key) {
            Some((_, jobs)) => jobs.extend(job),
            None => seen.push((key, job.into_iter().collect())),
        }
    }
    if seen.is_empty() {
        return "none".into();
    }
    seen.into_iter()
        .map(|(key, jobs)| match jobs.len() {
            0 | 1 => format!("{key})"),
            _ => format!("{key}: {})", jobs.join(", ")),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The server verify kills to see its alert fire: one Prometheus scrapes
/// (not the monitoring server itself), the one whose loss costs the lab
/// least — not the only entry point, not the write primary, rather not a
/// replica — the last such in the stack.
pub fn alert_victim(topo: &Topology) -> Option<String> {
    let monitor = crate::alerts::monitor(topo)?;
    let entries = topo.entry();
    topo.stack
        .servers
        .iter()
        .filter(|s| s.name != monitor && !topo.exporters(&s.name).is_empty())
        .map(|s| {
            let n = topo.node(&s.name);
            let sole_entry = entries.len() == 1 && entries[0].name == s.name;
            let cost = 2 * usize::from(sole_entry)
                + 2 * usize::from(n.roles.contains(&Role::DbPrimary))
                + usize::from(n.roles.contains(&Role::DbReplica));
            (cost, s.name.clone())
        })
        .enumerate()
        .min_by_key(|(i, (cost, _))| (*cost, usize::MAX - i))
        .map(|(_, (_, name))| name)
}

/// The servers with a firewall.
fn walled(topo: &Topology) -> Vec<String> {
    topo.stack
        .servers
        .iter()
        .filter(|s| s.has("ufw"))
        .map(|s| s.name.clone())
        .collect()
}

/// The firewall's probes: every TCP flow into a firewalled server (from
/// the user's computer where the flow is from anyone), then a sample of
/// what must not pass: the user's computer to a database or to a web
/// server behind the load balancer, a web server to a database.
pub fn firewall_probes(topo: &Topology, client: &str) -> Vec<PortProbe> {
    let walled = walled(topo);
    let probe = |from: &str, to: &str, port: u16, connects: bool, what: &str| PortProbe {
        from: from.to_string(),
        shown_from: from.to_string(),
        to: to.to_string(),
        address: if topo.stack.server(from).is_some() {
            topo.addr(from, to)
        } else {
            topo.server(to).primary_addr()
        },
        port,
        connects,
        now_and_then: crate::components::mariadb::TRANSFER_PORTS.contains(&port)
            && !topo.node(to).cluster.is_empty(),
        what: what.to_string(),
    };
    let mut probes: Vec<PortProbe> = topo
        .flows
        .iter()
        .filter(|f| f.proto == Proto::Tcp && walled.contains(&f.to))
        .map(|f| {
            let from = if f.from == "any" { client } else { &f.from };
            probe(from, &f.to, f.port, true, &f.purpose)
        })
        .collect();
    let allowed = |from: &str, to: &str, port: u16| {
        topo.flows
            .iter()
            .any(|f| (f.from == from || f.from == "any") && f.to == to && f.port == port)
    };
    let mut forbid = |from: &str, to: &str, port: u16, what: &str| {
        if from != to && walled.iter().any(|w| w == to) && !allowed(from, to, port) {
            probes.push(probe(from, to, port, false, what));
        }
    };
    let db_port = crate::components::mariadb::PORT;
    let dbs: Vec<&str> = topo
        .nodes
        .iter()
        .filter(|n| n.roles.contains(&Role::DbPrimary) || n.roles.contains(&Role::DbReplica))
        .map(|n| n.name.as_str())
        .collect();
    let entry: Vec<String> = topo.entry().iter().map(|n| n.name.clone()).collect();
    for db in &dbs {
        forbid(client, db, db_port, "the user's computer to the database");
    }
    for w in topo
        .with_role(Role::Web)
        .filter(|n| !n.roles.contains(&Role::LoadBalancer))
    {
        if !entry.contains(&w.name) {
            let port = topo.web_port(&w.name);
            forbid(
                client,
                &w.name,
                port,
                "the user's computer to a web server directly",
            );
        }
        for db in &dbs {
            forbid(&w.name, db, db_port, "a web server to the database");
        }
    }
    probes
}

/// Each probe's check, from what it saw (`open`, in the same order) and
/// the time each took.
fn judge_ports(
    group: &'static str,
    probes: &[PortProbe],
    seen: &[Option<Seen>],
    ms: u64,
) -> Vec<Claim> {
    probes
        .iter()
        .zip(seen)
        .map(|(p, got)| Claim {
            group,
            check: format!("{} -> {}:{} ({})", p.shown_from, p.to, p.port, p.what),
            expected: match (p.connects, p.now_and_then) {
                (true, false) => "connects".into(),
                (true, true) => "let through (it listens during a transfer)".into(),
                (false, _) => "refused or dropped".into(),
            },
            observed: connection(*got).into(),
            ok: match (p.connects, got) {
                (true, Some(Seen::Open)) => true,
                (true, Some(Seen::Refused)) => p.now_and_then,
                (false, Some(Seen::Refused | Seen::Closed)) => true,
                _ => false,
            },
            ms,
            because: None,
        })
        .collect()
}

/// The claim that `web`'s request rate is seen.
fn rate_check(web: &str) -> String {
    format!("{web}'s request count rises after traffic (QPS)")
}

/// Where the stranger keeps the lab CA it trusts.
const STRANGER_CA: &str = "/etc/infractl/lab-ca.crt";

/// How long a write may take to reach every replica.
pub const REPLICATION_BOUND_MS: u64 = 5000;
/// How long the site may be away when the active load balancer dies.
pub const FAILOVER_BOUND_MS: u64 = 1000;

/// How soon a killed server's alert must fire, and resolve once it is
/// back and ready: a target is scraped every 5 s, rules are evaluated
/// every 5 s, and `TargetDown` holds for 10 s before it fires.
pub const ALERT_BOUND_S: u64 = 30;

struct Verifier<'a, D: Driver> {
    driver: &'a D,
    topo: &'a Topology,
    plan: &'a Plan,
    secrets: &'a Secrets,
    client: String,
    results: Vec<Claim>,
    /// The lab's servers that are not running: verify runs nothing on
    /// them (nor kills or restarts them), and a claim that needs one
    /// fails because of it.
    down: Vec<String>,
    /// The servers of `down` a command was meant for since the last claim
    /// was recorded.
    refused: std::sync::Mutex<Vec<String>>,
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").trim().to_string()
}

/// What a command answered: its output, or the first line of its error.
fn answer(out: &ExecOutput) -> String {
    if out.code == 0 {
        out.stdout.trim().to_string()
    } else {
        first_line(&out.stderr)
    }
}

impl<D: Driver> Verifier<'_, D> {
    async fn sh(&self, server: &str, script: &str) -> Result<ExecOutput> {
        match self.refuse(server) {
            Some(out) => Ok(out),
            None => self.driver.exec(server, script).await,
        }
    }

    fn is_down(&self, server: &str) -> bool {
        self.down.iter().any(|d| d == server)
    }

    /// For a server that is not running, what a command there answers
    /// (noted, for the claim that needed it); None for one that runs.
    fn refuse(&self, server: &str) -> Option<ExecOutput> {
        if !self.is_down(server) {
            return None;
        }
        let mut refused = self.refused.lock().unwrap_or_else(|e| e.into_inner());
        if !refused.iter().any(|r| r == server) {
            refused.push(server.to_string());
        }
        Some(ExecOutput {
            code: 125,
            stdout: String::new(),
            stderr: not_running(&[server]),
        })
    }

    /// The servers refused since the last claim, forgotten.
    fn take_refused(&self) -> Vec<String> {
        std::mem::take(&mut *self.refused.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Records `claim`, saying why it failed when a server that is not
    /// running explains it.
    fn push(&mut self, mut claim: Claim) {
        let refused = self.take_refused();
        if claim.because.is_none() {
            claim.because = blame(&claim, &self.down, &refused);
        }
        self.results.push(claim);
    }

    /// A claim that cannot be tried because `server` is not running: failed,
    /// because of it.
    fn unchecked(&mut self, group: &'static str, check: String, expected: String, server: &str) {
        let because = not_running(&[server]);
        self.push(Claim {
            group,
            check,
            expected,
            observed: format!("not tried: {because}"),
            ok: false,
            ms: 0,
            because: Some(because),
        });
    }

    fn record(
        &mut self,
        group: &'static str,
        check: String,
        expected: String,
        observed: String,
        ok: bool,
        started: Instant,
    ) {
        self.push(Claim {
            group,
            check,
            expected,
            observed,
            ok,
            ms: started.elapsed().as_millis() as u64,
            because: None,
        });
    }

    fn scheme(&self) -> &'static str {
        self.topo.site_scheme()
    }

    fn site(&self) -> String {
        self.topo.site_host()
    }

    fn fqdn(&self, name: &str) -> String {
        let domain = &self.topo.stack.domain;
        match name {
            "@" => format!("{domain}."),
            n if n.ends_with('.') => n.to_string(),
            n => format!("{n}.{domain}."),
        }
    }

    /// Every record of the zone answers as declared, through the lab's DNS.
    async fn dns(&mut self) -> Result<()> {
        let t = Instant::now();
        let mut script = String::new();
        for (i, r) in self.topo.records.iter().enumerate() {
            script.push_str(&format!(
                "echo '#{i}'; dig +short +time=2 +tries=2 {} {}\n",
                shell_quote(self.fqdn(&r.name).trim_end_matches('.')),
                r.kind
            ));
        }
        let out = self.sh(&self.client, &script).await?;
        // Every record is asked in one command: one refusal for them all.
        let refused = self.take_refused();
        let mut answers: Vec<Vec<String>> = vec![Vec::new(); self.topo.records.len()];
        let mut cur = None;
        for line in out.stdout.lines() {
            if let Some(i) = line.strip_prefix('#').and_then(|n| n.parse::<usize>().ok()) {
                cur = Some(i);
            } else if let Some(a) = cur.and_then(|i| answers.get_mut(i)) {
                a.push(line.trim().to_string());
            }
        }
        let elapsed_each = t.elapsed() / self.topo.records.len().max(1) as u32;
        for (r, got) in self.topo.records.clone().iter().zip(answers) {
            let expected = match r.kind {
                "CNAME" => self.fqdn(&r.value),
                "MX" => format!("{} {}", r.priority.unwrap_or(10), self.fqdn(&r.value)),
                "TXT" => format!("\"{}\"", r.value),
                _ => r.value.clone(),
            };
            let ok = got.contains(&expected);
            let claim = Claim {
                group: "dns",
                check: format!("{} {}", self.fqdn(&r.name), r.kind),
                expected,
                observed: if got.is_empty() {
                    "no answer".into()
                } else {
                    got.join(", ")
                },
                ok,
                ms: elapsed_each.as_millis() as u64,
                because: None,
            };
            let because = blame(&claim, &self.down, &refused);
            self.push(Claim { because, ..claim });
        }
        Ok(())
    }

    /// Every DNS server answers for the domain with the zone's serial: a
    /// secondary has the primary's zone, as it is now.
    async fn dns_servers(&mut self) -> Result<()> {
        let servers = crate::components::dns::servers(self.topo);
        if servers.len() < 2 {
            return Ok(());
        }
        let serial = crate::components::dns::serial(self.topo, self.secrets).to_string();
        let domain = self.topo.stack.domain.clone();
        for s in servers {
            let t = Instant::now();
            let addr = self.topo.addr(&self.client, s);
            // The header too: a missing answer says why (REFUSED,
            // SERVFAIL, a timeout) rather than only that it is missing.
            let ask = format!(
                "dig +time=1 +tries=1 +noall +comments +answer @{addr} {} SOA",
                shell_quote(&domain)
            );
            // A secondary is told of a change by NOTIFY and transfers the
            // zone at once: give it a few seconds after an `up`.
            let mut got = Err("no answer".to_string());
            while t.elapsed().as_secs() < 5 {
                let out = self.sh(&self.client, &ask).await?;
                got = soa_serial(&out.stdout);
                if got.as_deref() == Ok(serial.as_str()) {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            }
            let ok = got.as_deref() == Ok(serial.as_str());
            self.record(
                "dns",
                format!("{s} answers for {domain} with the zone's serial"),
                format!("{serial} within 5 s"),
                got.unwrap_or_else(|e| e),
                ok,
                t,
            );
        }
        Ok(())
    }

    /// The site: HTTPS with a valid chain, HTTP redirects, the page through
    /// every tier.
    async fn site_checks(&mut self) -> Result<()> {
        let site = self.site();
        if self.topo.tls() {
            let t = Instant::now();
            let out = self
                .sh(
                    &self.client,
                    &format!("curl -sS -o /dev/null -w '%{{http_code}} %{{ssl_verify_result}}' https://{site}/"),
                )
                .await?;
            let observed = answer(&out);
            self.record(
                "site",
                format!("https://{site}/ with a valid certificate chain"),
                "200 0 (HTTP 200, chain verified)".into(),
                observed.clone(),
                observed == "200 0",
                t,
            );
            let t = Instant::now();
            let out = self
                .sh(&self.client, &format!("curl -sS -o /dev/null -w '%{{http_code}} %{{redirect_url}}' http://{site}/"))
                .await?;
            let want = format!("301 https://{site}/");
            let observed = answer(&out);
            self.record(
                "site",
                format!("http://{site}/ redirects to HTTPS"),
                want.clone(),
                observed.clone(),
                observed == want,
                t,
            );
        }
        let t = Instant::now();
        let out = self
            .sh(
                &self.client,
                &format!("curl -sS -i {}://{site}/api/info", self.scheme()),
            )
            .await?;
        let (head, body) = out.stdout.split_once("\r\n\r\n").unwrap_or(("", ""));
        let header = |name: &str| {
            head.lines().find_map(|l| {
                l.split_once(':')
                    .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.trim().to_string())
            })
        };
        let info: Value = serde_json::from_str(body).unwrap_or(Value::Null);
        let who = |k: &str| info["served_by"][k].as_str().unwrap_or("").to_string();
        let (web, app, db) = (who("web"), who("app"), who("db"));
        let has = |role: Role, n: &str| self.topo.with_role(role).any(|x| x.name == n);
        let lb = header("x-load-balancer");
        let lbs: Vec<String> = self
            .topo
            .with_role(Role::LoadBalancer)
            .map(|n| n.name.clone())
            .collect();
        let ok = has(Role::Web, &web)
            && has(Role::App, &app)
            && (has(Role::DbPrimary, &db) || has(Role::DbReplica, &db))
            && (lbs.is_empty() || lb.as_ref().is_some_and(|l| lbs.contains(l)));
        let mut path = Vec::new();
        if !lbs.is_empty() {
            path.push(lb.unwrap_or_else(|| "?".into()));
        }
        path.extend([web, app, db].map(|x| if x.is_empty() { "?".to_string() } else { x }));
        let mut expected = Vec::new();
        if !lbs.is_empty() {
            expected.push("load balancer");
        }
        expected.extend(["web", "app", "database"]);
        let observed = if info.is_null() {
            first_line(&format!("{}{}", out.stderr, out.stdout))
        } else {
            path.join(" -> ")
        };
        self.record(
            "site",
            "the page comes through every tier".into(),
            expected.join(" -> "),
            observed,
            ok,
            t,
        );
        self.reencrypted().await
    }

    /// TLS from end to end: each load balancer's hop to each web server
    /// is HTTPS whose certificate the lab CA alone verifies for the site's
    /// name, and HAProxy is told to verify it (`verify required`).
    async fn reencrypted(&mut self) -> Result<()> {
        if !self.topo.web_tls() {
            return Ok(());
        }
        let site = self.site();
        let ca = crate::components::haproxy::CA;
        let hops: Vec<(String, String)> = self
            .topo
            .with_role(Role::LoadBalancer)
            .flat_map(|lb| lb.backends.iter().map(|b| (lb.name.clone(), b.clone())))
            .collect();
        for (lb, web) in hops {
            let t = Instant::now();
            let port = self.topo.web_port(&web);
            let ip = self.topo.addr(&lb, &web);
            let script = format!(
                "v=$(grep -c '^ *server {web} .* ssl verify required ca-file {ca} ' /etc/haproxy/haproxy.cfg); \
                 curl -sS -o /dev/null -w \"%{{http_code}} %{{ssl_verify_result}} verify-required=$v\" \
                 --cacert {ca} --resolve {site}:{port}:{ip} https://{site}:{port}/"
            );
            let out = self.sh(&lb, &script).await?;
            let want = "200 0 verify-required=1";
            let observed = answer(&out);
            self.record(
                "site",
                format!("{lb} -> {web}:{port} is HTTPS, verified against the lab CA"),
                format!("{want} (HTTP 200, chain verified by the lab CA alone; HAProxy verifies)"),
                observed.clone(),
                observed == want,
                t,
            );
        }
        Ok(())
    }

    /// N requests spread over every web server behind the load balancer.
    async fn balancing(&mut self) -> Result<()> {
        let Some(lb) = self.topo.with_role(Role::LoadBalancer).next() else {
            return Ok(());
        };
        let backends = lb.backends.clone();
        let requests = requests_for(backends.len());
        let t = Instant::now();
        let script = format!(
            "for i in $(seq {requests}); do curl -s {}://{}/api/info | grep -o '\"web\": \"[^\"]*\"'; done",
            self.scheme(),
            self.site()
        );
        let out = self.sh(&self.client, &script).await?;
        let (ok, observed) = spread(&backends, &out.stdout);
        self.record(
            "load balancing",
            format!("{requests} requests spread over the web servers"),
            format!("every web server answers ({})", backends.len()),
            observed,
            ok,
            t,
        );
        Ok(())
    }

    /// A Galera cluster: every node in it, Synced, in the primary
    /// component; a note written through the application reaches every
    /// node (each holds every write).
    async fn galera(&mut self) -> Result<()> {
        let cluster = self.topo.cluster().to_vec();
        if cluster.is_empty() {
            return Ok(());
        }
        let size = cluster.len();
        for node in &cluster {
            let t = Instant::now();
            let out = self
                .sh(
                    node,
                    "mariadb -N -e \"SHOW STATUS WHERE Variable_name IN ('wsrep_cluster_size', 'wsrep_cluster_status', 'wsrep_local_state_comment')\"",
                )
                .await?;
            let status: std::collections::HashMap<String, String> = out
                .stdout
                .lines()
                .filter_map(|l| l.split_once('\t'))
                .map(|(k, v)| (k.to_string(), v.trim().to_string()))
                .collect();
            let get = |k: &str| status.get(k).cloned().unwrap_or_else(|| "?".into());
            let observed = format!(
                "{}, {}, size {}",
                get("wsrep_local_state_comment"),
                get("wsrep_cluster_status"),
                get("wsrep_cluster_size")
            );
            self.record(
                "replication",
                format!("Galera node {node} is in the cluster"),
                format!("Synced, Primary, size {size}"),
                observed.clone(),
                observed == format!("Synced, Primary, size {size}"),
                t,
            );
        }
        let marker = self.write_note().await?;
        for node in &cluster {
            self.note_reaches(node, &marker, format!("the note is on Galera node {node}"))
                .await?;
        }
        Ok(())
    }

    /// The claim `check`: the note `marker` is on database `server` within
    /// [`REPLICATION_BOUND_MS`].
    async fn note_reaches(&mut self, server: &str, marker: &str, check: String) -> Result<()> {
        let t = Instant::now();
        let seconds = REPLICATION_BOUND_MS.div_ceil(1000).to_string();
        let script = crate::shell::polling(crate::shell::REPLICA_LAG, &[seconds.as_str(), marker]);
        let out = self.sh(server, &script).await?;
        let lag = out.stdout.trim().parse::<u64>().ok();
        self.record(
            "replication",
            check,
            format!("within {REPLICATION_BOUND_MS} ms"),
            match lag {
                Some(ms) => format!("after {ms} ms"),
                None if self.is_down(server) => not_running(&[server]),
                None => "not there".into(),
            },
            lag.is_some_and(|ms| ms <= REPLICATION_BOUND_MS),
            t,
        );
        Ok(())
    }

    /// Writes a note of a marker of its own through the site, as a user
    /// would; the marker.
    async fn write_note(&mut self) -> Result<String> {
        let marker = format!(
            "verify-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default()
        );
        let t = Instant::now();
        let out = self
            .sh(
                &self.client,
                &format!(
                    "curl -sS -o /dev/null -w '%{{http_code}}' -H 'Content-Type: application/json' -d '{{\"text\": \"{marker}\"}}' {}://{}/api/notes",
                    self.scheme(),
                    self.site()
                ),
            )
            .await?;
        let observed = out.stdout.trim().to_string();
        self.record(
            "replication",
            "a note written through the application".into(),
            "201 (stored)".into(),
            if observed.is_empty() {
                first_line(&out.stderr)
            } else {
                observed.clone()
            },
            observed == "201",
            t,
        );
        Ok(marker)
    }

    /// A write through the application reaches every replica in time, and
    /// replicas refuse writes (or, in a Galera cluster, every node).
    async fn replication(&mut self) -> Result<()> {
        self.galera().await?;
        let replicas: Vec<String> = self
            .topo
            .with_role(Role::DbReplica)
            .map(|n| n.name.clone())
            .collect();
        if replicas.is_empty() {
            return Ok(());
        }
        let marker = self.write_note().await?;
        for r in &replicas {
            self.note_reaches(r, &marker, format!("the note reaches replica {r}"))
                .await?;
            let t = Instant::now();
            let out = match self.refuse(r) {
                Some(out) => out,
                None => self
                    .driver
                    .exec_env(r,
                        "mariadb -uapp -h127.0.0.1 site -e \"INSERT INTO notes (text, written_by) VALUES ('verify', 'verify')\"",
                        &[format!("MYSQL_PWD={}", self.secrets.db_app)],
                    )
                    .await?,
            };
            let refused = out.code != 0 && out.stderr.contains("read-only");
            self.record(
                "replication",
                format!("replica {r} refuses writes"),
                "ERROR 1290: --read-only".into(),
                if out.code == 0 {
                    "the write went through".into()
                } else {
                    out.stderr
                        .lines()
                        .find(|l| l.starts_with("ERROR"))
                        .unwrap_or_else(|| out.stderr.trim())
                        .to_string()
                },
                refused,
                t,
            );
        }
        Ok(())
    }

    /// Every allowed flow into a firewalled server connects; a sample of
    /// forbidden ones does not.
    async fn firewall(&mut self) -> Result<()> {
        let walled = walled(self.topo);
        for s in &walled {
            let t = Instant::now();
            let out = self.sh(s, "ufw status | head -n 1").await?;
            let observed = first_line(&answer(&out));
            self.record(
                "firewall",
                format!("ufw on {s}"),
                "Status: active".into(),
                observed.clone(),
                observed == "Status: active",
                t,
            );
        }
        let probes = firewall_probes(self.topo, &self.client);
        self.port_checks("firewall", &probes).await
    }

    /// Runs `probes` at once (one script a source) and records each.
    async fn port_checks(&mut self, group: &'static str, probes: &[PortProbe]) -> Result<()> {
        if probes.is_empty() {
            return Ok(());
        }
        let mut sources: Vec<&str> = probes.iter().map(|p| p.from.as_str()).collect();
        sources.sort();
        sources.dedup();
        let t = Instant::now();
        let this: &Self = self;
        let jobs = sources.iter().map(|src| {
            let script = probes
                .iter()
                .enumerate()
                .filter(|(_, p)| p.from == *src)
                .map(|(i, p)| port_probe(i, p.address, p.port))
                .collect::<String>()
                + "wait\n";
            async move { this.sh(src, &script).await }
        });
        let outs = futures_util::future::try_join_all(jobs).await?;
        let per = t.elapsed().as_millis() as u64 / probes.len() as u64;
        let mut open = vec![None; probes.len()];
        for o in &outs {
            read_probes(&o.stdout, &mut open);
        }
        for claim in judge_ports(group, probes, &open, per) {
            self.push(claim);
        }
        Ok(())
    }

    /// From an address the stack does not name: the site answers (over
    /// HTTPS where it has it, trusting the lab CA as a visitor who added
    /// it would), and every other port of a firewalled server refuses.
    async fn stranger(&mut self) -> Result<()> {
        let topo = self.topo;
        let Some(net) = crate::stranger::users_network(topo) else {
            return Ok(());
        };
        let (Some(me), Some(site_addr)) = (
            crate::stranger::address(topo, &net),
            crate::stranger::site_address(topo, &net),
        ) else {
            return Ok(());
        };
        if !self
            .driver
            .add_stranger(self.plan, &net, &me.to_string())
            .await?
        {
            return Ok(());
        }
        let result = self.stranger_probes(&net, me, site_addr).await;
        let removed = self.driver.remove(STRANGER).await;
        result.and(removed)
    }

    async fn stranger_probes(
        &mut self,
        net: &str,
        me: Ipv4Addr,
        site_addr: Ipv4Addr,
    ) -> Result<()> {
        let site = self.site();
        let scheme = self.scheme();
        let port = self.topo.site_port();
        let mut curl = format!("curl -sS --max-time 5 --resolve {site}:{port}:{site_addr}");
        if let Some(tls) = &self.secrets.tls {
            let ca = crate::supervise::plain_file(STRANGER_CA, 0o644, tls.ca_cert.clone());
            self.driver
                .put_files(self.plan, STRANGER, std::slice::from_ref(&ca))
                .await?;
            curl.push_str(&format!(" --cacert {STRANGER_CA}"));
        }
        let t = Instant::now();
        let out = self
            .sh(STRANGER, &format!("{curl} {scheme}://{site}/api/info"))
            .await?;
        let info: Value = serde_json::from_str(&out.stdout).unwrap_or(Value::Null);
        let web = info["served_by"]["web"].as_str().unwrap_or("").to_string();
        let ok = out.code == 0 && self.topo.with_role(Role::Web).any(|w| w.name == web);
        self.record(
            "public",
            format!("a stranger ({me}) loads {scheme}://{site}/"),
            "the page, from a web server".into(),
            if ok {
                format!("served by {web} through {site_addr}")
            } else {
                answer(&out)
            },
            ok,
            t,
        );
        // Every port each firewalled server listens on, besides those the
        // design names: what a stranger would scan for.
        let walled = crate::stranger::walled_on(self.topo, net);
        let seen =
            futures_util::future::join_all(walled.iter().map(|w| self.sh(w, "ss -ltnH"))).await;
        let listening: Vec<(String, Vec<u16>)> = walled
            .into_iter()
            .zip(seen)
            .filter_map(|(w, out)| Some((w, crate::stranger::listening(&out.ok()?.stdout))))
            .collect();
        let probes: Vec<PortProbe> = crate::stranger::closed_ports(self.topo, net, &listening)
            .into_iter()
            .map(|c| PortProbe {
                from: STRANGER.into(),
                shown_from: "stranger".into(),
                to: c.server,
                address: c.address,
                port: c.port,
                connects: false,
                now_and_then: false,
                what: c.what.to_string(),
            })
            .collect();
        self.port_checks("public", &probes).await
    }

    /// Every exporter is an `up` target of Prometheus, and a web server's
    /// request rate rises after traffic.
    async fn monitoring(&mut self) -> Result<()> {
        let Some(prom) = self.topo.with_role(Role::Monitoring).next() else {
            return Ok(());
        };
        let targets = "every exporter is a Prometheus target that is up";
        if self.is_down(&prom.name) {
            let prom = prom.name.clone();
            self.unchecked(
                "monitoring",
                targets.into(),
                "every target up".into(),
                &prom,
            );
            if let Some(web) = self.rate_web() {
                self.unchecked(
                    "monitoring",
                    rate_check(&web),
                    "more requests than before".into(),
                    &prom,
                );
            }
            return Ok(());
        }
        // Asked on the monitoring server itself: its web interface
        // answers the administrators only, not the user's computer.
        let port = self.topo.prometheus_port(&prom.name);
        let api = format!("http://127.0.0.1:{port}/api/v1");
        let prom = prom.name.clone();
        let t = Instant::now();
        let mut wanted: Vec<(String, String)> = self
            .topo
            .stack
            .servers
            .iter()
            .flat_map(|s| {
                self.topo
                    .exporters(&s.name)
                    .into_iter()
                    .map(|(job, _)| (job.to_string(), s.name.clone()))
            })
            .collect();
        wanted.extend(
            crate::components::prometheus::own_targets(self.topo, &prom)
                .into_iter()
                .map(|(job, server)| (job.to_string(), server.to_string())),
        );
        // A target needs one scrape after start: a few seconds. The site's
        // is discovered once `up` ends (a file Prometheus reads, then hands
        // to its scrapers every 5 s): up to 30 s while one is missing.
        let seen = loop {
            let out = self.sh(&prom, &format!("curl -sS {api}/targets")).await?;
            let v: Value = serde_json::from_str(&out.stdout).unwrap_or(Value::Null);
            let seen = targets_up(&v, &wanted);
            let limit = if seen.undiscovered { 30 } else { 10 };
            if seen.ok || t.elapsed() > std::time::Duration::from_secs(limit) {
                break seen;
            }
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        };
        let n = wanted.len();
        self.record(
            "monitoring",
            targets.into(),
            format!("{n} of {n} up"),
            seen.observed,
            seen.ok,
            t,
        );
        self.request_rate(&prom, &api).await
    }

    /// A web server's request count rises after traffic, and Prometheus
    /// gives its rate (the seeds' QPS).
    async fn request_rate(&mut self, prom: &str, api: &str) -> Result<()> {
        let Some(web) = self.rate_web() else {
            return Ok(());
        };
        let t = Instant::now();
        let query = |q: &str| {
            format!(
                "curl -sS --data-urlencode {} {api}/query",
                shell_quote(&format!("query={q}"))
            )
        };
        let counter = format!("sum(nginx_http_requests_total{{server=\"{web}\"}})");
        let value = |out: &ExecOutput| -> Option<f64> {
            let v: Value = serde_json::from_str(&out.stdout).ok()?;
            v["data"]["result"][0]["value"][1].as_str()?.parse().ok()
        };
        let before = value(&self.sh(prom, &query(&counter)).await?).unwrap_or(0.0);
        let traffic = format!(
            "for i in $(seq 40); do curl -s -o /dev/null {}://{}/static/style.css; done",
            self.scheme(),
            self.site()
        );
        self.sh(&self.client, &traffic).await?;
        let mut after = before;
        for _ in 0..30 {
            after = value(&self.sh(prom, &query(&counter)).await?).unwrap_or(before);
            if after > before {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
        let rate = value(
            &self
                .sh(
                    prom,
                    &query(&format!(
                        "sum(rate(nginx_http_requests_total{{server=\"{web}\"}}[1m]))"
                    )),
                )
                .await?,
        );
        self.record(
            "monitoring",
            rate_check(&web),
            format!("more than {before:.0} requests"),
            format!(
                "{after:.0} requests; {} req/s over the last minute",
                rate.map(|r| format!("{r:.2}"))
                    .unwrap_or_else(|| "?".into())
            ),
            after > before,
            t,
        );
        Ok(())
    }

    /// The web server whose request rate verify checks: the first, when
    /// its nginx is exported.
    fn rate_web(&self) -> Option<String> {
        let web = self.topo.with_role(Role::Web).next()?.name.clone();
        self.topo
            .exporters(&web)
            .iter()
            .any(|(j, _)| *j == crate::components::nginx::EXPORTER.job)
            .then_some(web)
    }

    /// Which member of the VIP's group holds it now.
    async fn vip_holder(&self, vip: &str, members: &[String]) -> Result<Vec<String>> {
        let mut holders = Vec::new();
        for m in members {
            let out = self
                .sh(
                    m,
                    &format!("{} && echo yes", crate::components::keepalived::holds(vip)),
                )
                .await;
            if out.map(|o| o.stdout.trim() == "yes").unwrap_or(false) {
                holders.push(m.clone());
            }
        }
        Ok(holders)
    }

    /// Starts a server verify killed, and waits until it is ready.
    async fn restore(&self, victim: &str) -> Result<()> {
        self.driver.start(self.plan, victim).await?;
        let server = self
            .plan
            .server(victim)
            .ok_or_else(|| Error::failure(format!("{victim} is not in the plan")))?;
        crate::apply::wait_probes(self.driver, self.plan, server, 30, 0).await
    }

    /// No alert fires on the healthy lab; a monitored server killed fires
    /// its `TargetDown` within [`ALERT_BOUND_S`]; restored, its alerts
    /// resolve within the same bound. A server already down is watched for
    /// its alert, never killed or started: the lab is left as it was.
    async fn alerting(&mut self, progress: &dyn Progress) -> Result<()> {
        let Some(monitor) = crate::alerts::monitor(self.topo).map(str::to_string) else {
            return Ok(());
        };
        let victim = alert_victim(self.topo);
        let quiet = "no alert fires on the lab as it is";
        let killed = |v: &str| format!("{v} killed: its alert fires");
        let fires = |v: &str| format!("TargetDown for {v} within {ALERT_BOUND_S} s");
        let restored = |v: &str| format!("{v} restored: its alerts resolve");
        let resolve = |v: &str| format!("none for {v} within {ALERT_BOUND_S} s");
        if self.is_down(&monitor) {
            self.unchecked("alerting", quiet.into(), "none".into(), &monitor);
            if let Some(v) = &victim {
                self.unchecked("alerting", killed(v), fires(v), &monitor);
                self.unchecked("alerting", restored(v), resolve(v), &monitor);
            }
            return Ok(());
        }
        let t = Instant::now();
        let firing = crate::alerts::firing(self.driver, self.topo).await;
        let (observed, ok) = match &firing {
            Ok(f) => {
                let f = f.clone().unwrap_or_default();
                (names(&f), f.is_empty())
            }
            Err(e) => (e.headline(), false),
        };
        self.record("alerting", quiet.into(), "none".into(), observed, ok, t);
        let Some(victim) = victim else {
            return Ok(());
        };
        if firing.is_err() {
            // Alertmanager does not answer: nothing to watch a kill with.
            for (check, expected) in [
                (killed(&victim), fires(&victim)),
                (restored(&victim), resolve(&victim)),
            ] {
                self.record(
                    "alerting",
                    check,
                    expected,
                    "not tried: Alertmanager did not answer".into(),
                    false,
                    Instant::now(),
                );
            }
            return Ok(());
        }
        let bound = std::time::Duration::from_secs(ALERT_BOUND_S);
        let mine = |f: &[crate::alerts::Firing]| -> Vec<crate::alerts::Firing> {
            f.iter().filter(|a| a.server == victim).cloned().collect()
        };
        let was_down = self.is_down(&victim);
        let t = Instant::now();
        if !was_down {
            progress.update("verify", None, &format!("killing {victim}"));
            self.driver.kill(&victim).await?;
        }
        // A server already down is neither killed nor started again (the
        // lab is left as it was found): its alert fires all the same.
        let watched = crate::alerts::watch(self.driver, self.topo, bound, |f| {
            mine(f).iter().any(|a| a.alert == "TargetDown")
        })
        .await;
        let (observed, fired) = match watched {
            Ok((now, fired)) => (
                format!(
                    "{} after {:.1} s{}",
                    names(&mine(&now)),
                    t.elapsed().as_secs_f64(),
                    if was_down {
                        " (it was not running)"
                    } else {
                        ""
                    }
                ),
                fired,
            ),
            Err(e) => (e.headline(), false),
        };
        self.record(
            "alerting",
            killed(&victim),
            fires(&victim),
            observed,
            fired,
            t,
        );
        if was_down {
            self.unchecked("alerting", restored(&victim), resolve(&victim), &victim);
            return Ok(());
        }
        progress.update("verify", None, &format!("restoring {victim}"));
        self.restore(&victim).await?;
        let t = Instant::now();
        let (now, resolved) =
            crate::alerts::watch(self.driver, self.topo, bound, |f| mine(f).is_empty()).await?;
        self.record(
            "alerting",
            restored(&victim),
            resolve(&victim),
            format!(
                "{} after {:.1} s",
                names(&mine(&now)),
                t.elapsed().as_secs_f64()
            ),
            resolved,
            t,
        );
        Ok(())
    }

    /// Kill the active load balancer: the site keeps answering on the
    /// virtual IP; then restore it.
    async fn failover(&mut self, progress: &dyn Progress) -> Result<()> {
        let Some(vip) = self.topo.vips.first().cloned() else {
            return Ok(());
        };
        let members: Vec<String> = vip.members.iter().map(|(m, _)| m.clone()).collect();
        let address = vip.address.to_string();
        let t = Instant::now();
        let holders = self.vip_holder(&address, &members).await?;
        let active = members[0].clone();
        self.record(
            "failover",
            format!("virtual IP {address} held by one load balancer"),
            format!("{active} (highest priority)"),
            if holders.is_empty() {
                "nobody".into()
            } else {
                holders.join(", ")
            },
            holders == [active.clone()],
            t,
        );
        if self.is_down(&active) {
            // Killing the other would only take the site down: the claims
            // that need the active one fail because of it.
            let answers = format!("site answers on {address} after {active} is killed");
            let again = format!("{active} restored and holds {address} again");
            self.unchecked(
                "failover",
                answers,
                format!("within {FAILOVER_BOUND_MS} ms, through another load balancer"),
                &active,
            );
            self.unchecked("failover", again, active.clone(), &active);
            return Ok(());
        }
        let Some(victim) = holders.first().cloned() else {
            return Ok(());
        };
        progress.update("verify", None, &format!("killing {victim}"));
        let t = Instant::now();
        self.driver.kill(&victim).await?;
        // The virtual IP itself is polled (the name resolved once, here):
        // the gap measured is the address's, not the DNS server's too.
        let port = self.topo.site_port();
        let site = self.site();
        let poll = crate::shell::polling(
            crate::shell::FAILOVER_GAP,
            &[
                "4".to_string(),
                "--resolve".to_string(),
                format!("{site}:{port}:{address}"),
                format!("{}://{site}/nginx-health", self.scheme()),
            ],
        );
        let out = self.sh(&self.client, &poll).await?;
        let mut lines = out.stdout.lines();
        let gap = lines.next().and_then(|l| l.trim().parse::<u64>().ok());
        let via = lines
            .next()
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default();
        self.record(
            "failover",
            format!("site answers on {address} after {victim} is killed"),
            format!("within {FAILOVER_BOUND_MS} ms, through another load balancer"),
            match gap {
                Some(ms) => format!("after {ms} ms, through {via}"),
                None => "no answer in 4 s".into(),
            },
            gap.is_some_and(|ms| ms <= FAILOVER_BOUND_MS) && !via.is_empty() && via != victim,
            t,
        );
        // Restore: start it again and wait until it holds the VIP again.
        progress.update("verify", None, &format!("restoring {victim}"));
        let t = Instant::now();
        self.restore(&victim).await?;
        let mut back = Vec::new();
        for _ in 0..100 {
            back = self.vip_holder(&address, &members).await?;
            if back == [active.clone()] {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        self.record(
            "failover",
            format!("{victim} restored and holds {address} again"),
            active.clone(),
            if back.is_empty() {
                "nobody".into()
            } else {
                back.join(", ")
            },
            back == [active],
            t,
        );
        Ok(())
    }
}

/// Runs every check that applies to the stack. A server that is not
/// running fails the claims that need it (each saying so in `because`);
/// the others are checked as on a whole lab.
pub async fn run<D: Driver>(
    driver: &D,
    topo: &Topology,
    plan: &Plan,
    secrets: &Secrets,
    progress: &dyn Progress,
) -> Result<Vec<Claim>> {
    let client = topo
        .with_role(Role::Client)
        .next()
        .map(|n| n.name.clone())
        .ok_or_else(|| Error::usage("verify checks the lab from the user's computer, and this stack has no `client` server"))?;
    let hosts = driver.hosts().await?;
    let down: Vec<String> = plan
        .servers
        .iter()
        .filter(|s| !hosts.iter().any(|h| h.server == s.name && h.running))
        .map(|s| s.name.clone())
        .collect();
    if !down.is_empty() {
        progress.note(&format!(
            "{}: the claims that need {} fail, the others are checked",
            not_running(&down),
            if down.len() == 1 { "it" } else { "them" }
        ));
    }
    let mut v = Verifier {
        driver,
        topo,
        plan,
        secrets,
        client,
        results: Vec::new(),
        down,
        refused: Default::default(),
    };
    progress.begin("verify", None, "DNS");
    v.dns().await?;
    v.dns_servers().await?;
    progress.update("verify", None, "the site");
    v.site_checks().await?;
    progress.update("verify", None, "load balancing");
    v.balancing().await?;
    progress.update("verify", None, "replication");
    v.replication().await?;
    progress.update("verify", None, "firewalls");
    v.firewall().await?;
    progress.update("verify", None, "a stranger");
    v.stranger().await?;
    progress.update("verify", None, "monitoring");
    v.monitoring().await?;
    progress.update("verify", None, "alerting");
    v.alerting(progress).await?;
    progress.update("verify", None, "failover");
    v.failover(progress).await?;
    let failed = v.results.iter().filter(|r| !r.ok).count();
    progress.finish(
        "verify",
        failed == 0,
        &format!("{} checks, {failed} failed", v.results.len()),
    );
    Ok(v.results)
}

/// The serial of the SOA answer in `dig +noall +comments +answer`'s
/// output, or why there is none: the answer's status when it is not
/// NOERROR, dig's first complaint when no server answered.
fn soa_serial(dig: &str) -> std::result::Result<String, String> {
    let mut status = None;
    let mut complaint = None;
    for line in dig.lines().map(str::trim) {
        if let Some(rest) = line.split_once("status: ").map(|(_, r)| r) {
            status = rest.split(',').next().map(str::to_string);
        } else if let Some(c) = line.strip_prefix(";; ") {
            complaint.get_or_insert_with(|| c.to_string());
        } else if !line.starts_with(';') {
            // `foobar.com. 300 IN SOA ns.foobar.com. hostmaster.foobar.com. SERIAL ...`
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.get(3) == Some(&"SOA") {
                if let Some(serial) = f.get(6) {
                    return Ok(serial.to_string());
                }
            }
        }
    }
    Err(match (status, complaint) {
        (Some(s), _) if s != "NOERROR" => format!("status {s}"),
        (Some(_), _) => "no SOA in the answer".into(),
        (None, Some(c)) => c,
        (None, None) => "no answer".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_is_named_as_a_word_of_its_own() {
        assert!(mentions("lb-01 -> server-02:80 (web)", "server-02"));
        assert!(mentions("server-02", "server-02"));
        assert!(mentions("TargetDown (server-02: node)", "server-02"));
        assert!(!mentions("server-021 answers", "server-02"));
        assert!(!mentions("my-server-02", "server-02"));
        assert!(!mentions("", "server-02"));
    }

    #[test]
    fn a_failure_is_blamed_on_the_dead_server_it_needs() {
        let claim = |check: &str, observed: &str, ok: bool| Claim {
            group: "firewall",
            check: check.into(),
            expected: "connects".into(),
            observed: observed.into(),
            ok,
            ms: 1,
            because: None,
        };
        let down = vec!["server-02".to_string(), "lb-02".to_string()];
        assert_eq!(
            blame(
                &claim("lb-01 -> server-02:80", "dropped", false),
                &down,
                &[]
            )
            .as_deref(),
            Some("server-02 is not running")
        );
        assert_eq!(
            blame(
                &claim("lb-02 -> server-02:80", "dropped", false),
                &down,
                &[]
            )
            .as_deref(),
            Some("server-02 and lb-02 are not running")
        );
        assert_eq!(
            blame(
                &claim("lb-01 -> server-02:80", "connected", true),
                &down,
                &[]
            ),
            None,
            "a claim that passes needs no reason"
        );
        assert_eq!(
            blame(
                &claim("lb-01 -> server-01:80", "dropped", false),
                &down,
                &[]
            ),
            None,
            "not every failure is the dead server's"
        );
        assert_eq!(
            blame(
                &claim("www.foobar.com. A", "no answer", false),
                &["ns".to_string()],
                &["ns".to_string()]
            )
            .as_deref(),
            Some("ns is not running"),
            "a command meant for a dead server"
        );
    }

    #[test]
    fn soa_serial_reads_the_answer_or_says_why_there_is_none() {
        let answered = ";; Got answer:
;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 4242
;; flags: qr aa rd; QUERY: 1, ANSWER: 1, AUTHORITY: 0, ADDITIONAL: 1

foobar.com.\t\t300\tIN\tSOA\tns.foobar.com. hostmaster.foobar.com. 56576375 3600 600 86400 300
";
        assert_eq!(soa_serial(answered), Ok("56576375".into()));
        let refused = ";; Got answer:
;; ->>HEADER<<- opcode: QUERY, status: REFUSED, id: 4243
;; flags: qr rd; QUERY: 1, ANSWER: 0, AUTHORITY: 0, ADDITIONAL: 1
";
        assert_eq!(soa_serial(refused), Err("status REFUSED".into()));
        let empty = ";; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 4244\n";
        assert_eq!(soa_serial(empty), Err("no SOA in the answer".into()));
        let silent = ";; communications error to 10.226.0.3#53: timed out
;; no servers could be reached
";
        assert_eq!(
            soa_serial(silent),
            Err("communications error to 10.226.0.3#53: timed out".into())
        );
        assert_eq!(soa_serial(""), Err("no answer".into()));
    }

    #[test]
    fn the_alert_victim_is_the_server_the_lab_misses_least() {
        let victim = |s: &str| alert_victim(&Topology::load(s).unwrap());
        assert_eq!(victim("task1"), None, "no monitoring");
        assert_eq!(victim("task2").as_deref(), Some("server-02"));
        assert_eq!(victim("task3").as_deref(), Some("app-02"));
    }

    #[test]
    fn odd_probe_output_is_ignored_not_a_panic() {
        let mut seen = vec![None; 3];
        read_probes(
            "1 open\n7 open\nx closed\n0 closed\n2 refused\ngarbage\n",
            &mut seen,
        );
        assert_eq!(
            seen,
            vec![Some(Seen::Closed), Some(Seen::Open), Some(Seen::Refused)]
        );
    }

    #[test]
    fn a_refusal_passes_only_where_nothing_listens_between_transfers() {
        let probe = |connects, now_and_then| PortProbe {
            from: "db-01".into(),
            shown_from: "db-01".into(),
            to: "db-02".into(),
            address: Ipv4Addr::new(10, 0, 0, 2),
            port: 4444,
            connects,
            now_and_then,
            what: "x".into(),
        };
        let judged = judge_ports(
            "firewall",
            &[
                probe(true, true),
                probe(true, false),
                probe(false, false),
                probe(true, true),
            ],
            &[
                Some(Seen::Refused),
                Some(Seen::Refused),
                Some(Seen::Refused),
                Some(Seen::Closed),
            ],
            1,
        );
        let ok: Vec<bool> = judged.iter().map(|c| c.ok).collect();
        assert_eq!(ok, [true, false, true, false]);
    }

    fn probes_of(stack: &str) -> Vec<String> {
        let topo = Topology::load(stack).unwrap();
        firewall_probes(&topo, "client")
            .iter()
            .map(|p| {
                format!(
                    "{} {} {}:{} {}",
                    p.from,
                    if p.connects { "->" } else { "-x" },
                    p.to,
                    p.port,
                    p.address
                )
            })
            .collect()
    }

    #[test]
    fn firewall_probes_try_every_flow_in_and_what_must_not_pass() {
        assert!(
            probes_of("task0").is_empty(),
            "no firewall, nothing to probe"
        );
        let p = probes_of("task2");
        for want in [
            "client -> lb-01:443 10.102.0.10",
            "client -> lb-01:80 10.102.0.10",
            "lb-01 -> server-01:80 10.102.1.11",
            "server-02 -> server-01:3306 10.102.1.11",
            "client -x server-01:3306 10.102.0.11",
            "client -x server-02:80 10.102.0.12",
        ] {
            assert!(p.iter().any(|x| x == want), "{want} not in {p:#?}");
        }
        // A flow is tried one way only: allowed, or forbidden.
        for x in &p {
            let other = x.replacen(" -> ", " -x ", 1);
            if other != *x {
                assert!(!p.contains(&other), "{x} both ways");
            }
        }
        let t3 = probes_of("task3");
        assert!(
            t3.iter().any(|x| x.starts_with("web-01 -x db-01:3306")),
            "{t3:#?}"
        );
    }

    #[test]
    fn targets_are_up_when_all_wanted_ones_are() {
        let w = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(j, s)| (j.to_string(), s.to_string()))
                .collect()
        };
        let v = serde_json::json!({"data": {"activeTargets": [
            {"health": "up", "labels": {"job": "node", "server": "web-01"}},
            {"health": "down", "labels": {"job": "mysqld", "server": "db-01"}},
        ]}});
        assert_eq!(
            targets_up(&v, &w(&[("node", "web-01"), ("mysqld", "db-01")])),
            Targets {
                observed: "1 of 2 up; not up: mysqld/db-01 down".into(),
                ok: false,
                undiscovered: false,
            }
        );
        let all = serde_json::json!({"data": {"activeTargets": [
            {"health": "up", "labels": {"job": "node", "server": "web-01"}},
        ]}});
        assert_eq!(
            targets_up(&all, &w(&[("node", "web-01")])),
            Targets {
                observed: "1 of 1 up".into(),
                ok: true,
                undiscovered: false,
            }
        );
        assert_eq!(
            targets_up(&all, &w(&[("node", "web-01"), ("site", "site")])),
            Targets {
                observed: "1 of 1 up; not a target: site/site".into(),
                ok: false,
                undiscovered: true,
            },
            "a target missing is not all up"
        );
        assert!(!targets_up(&Value::Null, &[]).observed.is_empty());
    }

    #[test]
    fn enough_requests_to_see_every_web_server() {
        assert_eq!(requests_for(2), REQUESTS);
        assert_eq!(requests_for(40), 160);
        let backends: Vec<String> = (1..=3).map(|i| format!("web-{i:02}")).collect();
        let answers = "\"web\": \"web-01\"\n\"web\": \"web-03\"\n\"web\": \"web-01\"\n";
        let (ok, seen) = spread(&backends, answers);
        assert!(!ok);
        assert_eq!(
            seen,
            "1 never answered: web-02 (web-01: 2, web-02: 0, web-03: 1)"
        );
    }
}
