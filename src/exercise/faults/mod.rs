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
//!
//! On a monitored stack a fault's alerts are timed claims: the lab's own
//! rules fire some time after it (their `for:`, a scrape, an evaluation).
//! A fault says which alerts it surely fires, and within what bound, read
//! from the rules as rendered; `inject` waits until they fire, so `verify`
//! right after fails the quiet lab's claim on every run. A fault whose
//! alerts depend on traffic (a 5xx rate over a minute) says so in the
//! claim's `when`. After the repair, the alerts resolve within a bound of
//! their own ([`Alerts::resolve_within_s`]).
//!
//! One file per family, this one the catalogue's core:
//! - `web.rs`: nginx and HAProxy (an upstream's port, the health check, a
//!   backend left out) and the application's database password;
//! - `db.rs`: replication stopped;
//! - `net.rs`: the firewall (443 blocked, the database open to anyone)
//!   and DNS (`www` elsewhere);
//! - `tls.rs`: HAProxy serving an expired certificate;
//! - `monitoring.rs`: Prometheus scraping the wrong port, an alert rule
//!   that never fires, and the alerts a fault fires on a monitored stack,
//!   with their bounds;
//! - `vip.rs`: keepalived handing the virtual IP to a backup whose HAProxy
//!   is stopped.

use serde::Serialize;

mod db;
mod monitoring;
mod net;
mod tls;
mod vip;
mod web;

pub use db::ROWS_BEHIND;
pub use monitoring::Alerts;

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
/// aside) begins with `from`, and not already with `to`, begins with `to`
/// instead; at least one line must.
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
            // A line already changed is not changed twice (`to` may begin
            // with `from`: a prefix put before a value).
            if body.starts_with(&e.to) {
                continue;
            }
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

/// `text` as a literal in a basic regular expression of `sed`'s `s|||`.
fn sed_pattern(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if matches!(c, '.' | '[' | ']' | '*' | '^' | '$' | '\\' | '|') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `text` as a literal replacement of `sed`'s `s|||`.
fn sed_replacement(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if matches!(c, '&' | '\\' | '|') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The `sed` a learner types to undo `e` in `path`.
fn undo(e: &Edit, path: &str) -> String {
    let script = format!(
        "s|^\\( *\\){}|\\1{}|",
        sed_pattern(&e.to),
        sed_replacement(&e.from)
    );
    format!("sed -i {} {path}", crate::shell::shell_quote(&script))
}

/// The user's computer of `topo`, where verify's probes start.
fn client(topo: &Topology) -> &str {
    topo.with_role(Role::Client)
        .next()
        .map_or("client", |n| n.name.as_str())
}

/// What a fault does to a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A config file edited, then its service reloaded as the lab's
    /// supervisor reloads it; then `then` run, where there is one (a
    /// service stopped).
    Edit {
        path: &'static str,
        service: &'static str,
        edits: Vec<Edit>,
        then: Option<String>,
    },
    /// A shell script run on the server (a firewall rule, a zone changed
    /// and reloaded).
    Run { script: String },
    /// A certificate of the site the lab CA signs, expired, put at `cert`
    /// (0600); then `path` edited as [`Change::Edit`] does.
    ExpiredCert {
        cert: &'static str,
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
    /// On a monitored stack: the alerts it fires, and within what bounds
    /// they fire and resolve.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alerts: Option<Alerts>,
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
    DbPassword,
    UfwHttps,
    UfwDbOpen,
    CertExpired,
    DnsWww,
    WrongScrape,
    RuleWrongJob,
    VipToDeadBackup,
}

impl Kind {
    /// Whether the claims it breaks are stated for a stack with a virtual
    /// IP (and so more than one load balancer) too: it leaves the load
    /// balancers alone, or it is the virtual IP's own fault.
    fn stated_with_vip(self) -> bool {
        matches!(self, Kind::RuleWrongJob | Kind::VipToDeadBackup)
    }
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
    Fault {
        name: "app-db-password-wrong",
        what: "the application's database password on a web server is wrong: it answers 503 to everything that reads or writes rows, while its home page loads",
        hits: "a server running the application",
        kind: Kind::DbPassword,
    },
    Fault {
        name: "ufw-blocks-https",
        what: "the load balancer's firewall rejects HTTPS (`ufw reject 443/tcp`): the site's HTTP redirect still answers, HTTPS never does",
        hits: "a load balancer with a firewall, on a site served over HTTPS",
        kind: Kind::UfwHttps,
    },
    Fault {
        name: "ufw-opens-database",
        what: "a database server's firewall lets anyone reach MariaDB (`ufw allow 3306/tcp`): the site works and no alert fires, but the user's computer and a stranger reach the database",
        hits: "a database server with a firewall",
        kind: Kind::UfwDbOpen,
    },
    Fault {
        name: "tls-cert-expired",
        what: "HAProxy serves last year's certificate of the site, expired, while the renewed one sits beside it unused: browsers refuse HTTPS, HTTP still redirects to it",
        hits: "a load balancer serving the site over HTTPS",
        kind: Kind::CertExpired,
    },
    Fault {
        name: "dns-www-wrong",
        what: "the A record for `www` points at 127.0.0.1 (serial bumped, zone reloaded): every user's browser asks their own computer; the site itself is fine",
        hits: "the primary DNS server, where `www` is an A record",
        kind: Kind::DnsWww,
    },
    Fault {
        name: "prometheus-wrong-port",
        what: "Prometheus scrapes a web server's nginx exporter on the node exporter's port: the target is up and no alert fires, but its requests are never counted (monitoring blind)",
        hits: "the web server whose request rate monitoring claims",
        kind: Kind::WrongScrape,
    },
    Fault {
        name: "alert-rule-wrong-job",
        what: "the TargetDown rule selects a job the lab does not have (`up{job='node-exporter'} == 0`): it loads, and no server's death ever fires it",
        hits: "the monitoring server, whose rules alert when a target is down",
        kind: Kind::RuleWrongJob,
    },
    Fault {
        name: "keepalived-backup-without-haproxy",
        what: "the backup load balancer has the active one's keepalived priority, no longer tracks HAProxy, and its HAProxy is stopped: nothing shows until the active one dies; then the virtual IP moves to a server that serves nothing, and stays there",
        hits: "a backup load balancer of a virtual IP, which wins a tie of priorities (a higher address)",
        kind: Kind::VipToDeadBackup,
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
/// its failover is a claim that kills the active load balancer, and
/// which of two a fault hits decides what fails.
pub fn not_yet(topo: &Topology) -> Option<String> {
    let mut what = Vec::new();
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
pub(crate) fn balancer(topo: &Topology) -> Option<(String, Vec<String>)> {
    topo.with_role(Role::LoadBalancer)
        .next()
        .map(|n| (n.name.clone(), n.backends.clone()))
}

impl Fault {
    /// The servers of `topo` this fault can hit, or why none.
    pub fn fit(&self, topo: &Topology) -> Fit {
        if let Some(why) = not_yet(topo).filter(|_| !self.kind.stated_with_vip()) {
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
            Kind::DbPassword => topo.with_role(Role::App).map(|n| n.name.clone()).collect(),
            Kind::UfwHttps => net::firewalled_balancers(topo),
            Kind::UfwDbOpen => net::firewalled_databases(topo),
            Kind::CertExpired => tls::terminating(topo),
            Kind::DnsWww => net::www_zone(topo).into_iter().collect(),
            Kind::WrongScrape => monitoring::counted(topo)
                .map(|(web, _)| web)
                .into_iter()
                .collect(),
            Kind::RuleWrongJob => monitoring::alerted(topo).into_iter().collect(),
            Kind::VipToDeadBackup => vip::tie_winners(topo),
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
                .with_hint(applicable_hint(topo)))
            }
        };
        let server = pick(self.name, &servers, seed)
            .expect("a fitting fault has servers")
            .clone();
        let mut b = match self.kind {
            Kind::UpstreamPort => web::upstream_port(topo, &server),
            Kind::Check404 => web::check_404(topo, &server),
            Kind::LeftOut => web::left_out(topo, &server),
            Kind::ReplicaStopped => db::replica_stopped(topo, &server, marker),
            Kind::DbPassword => web::db_password(topo, &server),
            Kind::UfwHttps => net::ufw_https(topo, &server),
            Kind::UfwDbOpen => net::ufw_db_open(topo, &server),
            Kind::CertExpired => tls::cert_expired(topo, &server),
            Kind::DnsWww => net::dns_www(topo, &server),
            Kind::WrongScrape => monitoring::wrong_scrape(topo, &server),
            Kind::RuleWrongJob => monitoring::rule_wrong_job(topo, &server),
            Kind::VipToDeadBackup => vip::dead_backup(topo, &server),
        };
        b.fault = self.name;
        b.seed = seed;
        // The users' traffic kept from the web server whose requests
        // monitoring counts: its count does not rise with it.
        let counted = monitoring::counted(topo).map(|(web, _)| web);
        let starved = match self.kind {
            Kind::Check404 | Kind::UfwHttps | Kind::CertExpired | Kind::DnsWww => true,
            Kind::LeftOut => counted.as_deref() == Some(server.as_str()),
            _ => false,
        };
        if starved {
            b.breaks.extend(monitoring::uncounted(topo));
        }
        let (fire, when) = self.timed(&server);
        b.alerts = monitoring::alerts(topo, fire, when.as_deref());
        b.breaks
            .extend(b.alerts.as_ref().and_then(monitoring::quiet_claim));
        Ok(b)
    }

    /// On a monitored stack, the lab's alerts this fault surely fires
    /// (hitting `server`), and when traffic may fire one more.
    fn timed(&self, server: &str) -> (&'static [&'static str], Option<String>) {
        let errors = || {
            Some(format!(
                "when SiteErrors fires: more than 5 % of the site's answers over a minute are 5xx, each request round robin sends to {server} among them (verify's own too)"
            ))
        };
        match self.kind {
            Kind::Check404 => (&["BackendDown", "SiteDown", "SiteErrors"], None),
            Kind::ReplicaStopped => (&["ReplicationStopped"], None),
            Kind::UfwHttps | Kind::CertExpired => (&["SiteDown"], None),
            Kind::VipToDeadBackup => (&["TargetDown"], None),
            Kind::UpstreamPort | Kind::DbPassword => (&[], errors()),
            Kind::LeftOut
            | Kind::DnsWww
            | Kind::WrongScrape
            | Kind::UfwDbOpen
            | Kind::RuleWrongJob => (&[], None),
        }
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
        "app" | "prometheus" | "keepalived" => {
            format!("{} signal {service} HUP", crate::render::supervise::SVC)
        }
        _ => format!("{} signal {service} USR2", crate::render::supervise::SVC),
    }
}

#[cfg(test)]
pub(super) mod tests {
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

    /// The server `fault` hits on `stack` (seed 0), and the claims it
    /// breaks (each surely) as `group: words`.
    pub(super) fn breaks_on(stack: &str, fault: &str) -> (String, Vec<String>) {
        let b = find(fault).unwrap().plan(&topo(stack), 0, "m").unwrap();
        assert!(b.breaks.iter().all(|c| c.surely), "{fault}");
        let words = b
            .breaks
            .iter()
            .map(|c| format!("{}: {}", c.group, c.words))
            .collect();
        (b.server, words)
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
        let two = || servers(&["server-01", "server-02"]);
        assert_eq!(
            fits("task0"),
            vec![
                ("nginx-upstream-wrong-port", servers(&["server-01"])),
                ("haproxy-check-404", Fit::Nothing),
                ("haproxy-backend-left-out", Fit::Nothing),
                ("replication-stopped", Fit::Nothing),
                ("app-db-password-wrong", servers(&["server-01"])),
                ("ufw-blocks-https", Fit::Nothing),
                ("ufw-opens-database", Fit::Nothing),
                ("tls-cert-expired", Fit::Nothing),
                ("dns-www-wrong", servers(&["ns"])),
                ("prometheus-wrong-port", Fit::Nothing),
                ("alert-rule-wrong-job", Fit::Nothing),
                ("keepalived-backup-without-haproxy", Fit::Nothing),
            ]
        );
        let task1 = vec![
            ("nginx-upstream-wrong-port", two()),
            ("haproxy-check-404", servers(&["lb-01"])),
            ("haproxy-backend-left-out", two()),
            ("replication-stopped", servers(&["server-02"])),
            ("app-db-password-wrong", two()),
            ("ufw-blocks-https", Fit::Nothing),
            ("ufw-opens-database", Fit::Nothing),
            ("tls-cert-expired", Fit::Nothing),
            ("dns-www-wrong", servers(&["ns"])),
            ("prometheus-wrong-port", Fit::Nothing),
            ("alert-rule-wrong-job", Fit::Nothing),
            ("keepalived-backup-without-haproxy", Fit::Nothing),
        ];
        assert_eq!(fits("task1"), task1);
        // task2 adds a firewall on every server, and monitoring.
        let mut task2 = task1;
        task2[5].1 = servers(&["lb-01"]);
        task2[6].1 = two();
        task2[7].1 = servers(&["lb-01"]);
        task2[9].1 = servers(&["server-01"]);
        task2[10].1 = servers(&["admin"]);
        assert_eq!(fits("task2"), task2);
        // A virtual IP's failover kills the active load balancer: only the
        // faults that leave the load balancers alone, and the virtual
        // IP's own, are stated there.
        for stack in ["task3", "task4"] {
            for (name, fit) in fits(stack) {
                match name {
                    "alert-rule-wrong-job" => assert_eq!(fit, servers(&["admin"])),
                    "keepalived-backup-without-haproxy" => assert_eq!(fit, servers(&["lb-02"])),
                    _ => assert!(matches!(fit, Fit::NotYet(_)), "{stack} {name}: {fit:?}"),
                }
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
        let (t1, t2, t3) = (topo("task1"), topo("task2"), topo("task3"));
        let (p1, p2, p3) = (plan(&t1), plan(&t2), plan(&t3));
        for (t, p, fault, seed) in [
            (&t1, &p1, "nginx-upstream-wrong-port", 0),
            (&t1, &p1, "nginx-upstream-wrong-port", 1),
            (&t1, &p1, "haproxy-check-404", 0),
            (&t1, &p1, "haproxy-backend-left-out", 0),
            (&t1, &p1, "app-db-password-wrong", 0),
            (&t2, &p2, "prometheus-wrong-port", 0),
            (&t2, &p2, "tls-cert-expired", 0),
            (&t2, &p2, "alert-rule-wrong-job", 0),
            (&t3, &p3, "keepalived-backup-without-haproxy", 0),
        ] {
            let b = find(fault).unwrap().plan(t, seed, "m").unwrap();
            let (path, service, edits) = match &b.change {
                Change::Edit {
                    path,
                    service,
                    edits,
                    ..
                }
                | Change::ExpiredCert {
                    path,
                    service,
                    edits,
                    ..
                } => (path, service, edits),
                _ => panic!("{fault} edits a file"),
            };
            let conf = rendered(p, &b.on, path);
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
            web::wrong_port(&t, &["server-01"], 8079),
            8081,
            "8080: nginx's status"
        );
        assert_eq!(
            web::wrong_port(&t, &["server-01"], 3305),
            3307,
            "3306: MariaDB"
        );
    }

    #[test]
    fn a_claim_is_matched_by_its_group_and_words() {
        let c = ClaimRef::sure("replication", "the note reaches replica server-02");
        assert!(c.matches("replication", "the note reaches replica server-02"));
        assert!(!c.matches("replication", "the note reaches replica server-03"));
        assert!(!c.matches("site", "the note reaches replica server-02"));
    }
}
