//! The load balancing claim: enough requests to the site that every web
//! server behind the (first) load balancer answers some. A failed one's
//! hint points at the load balancer's backend and at each web server that
//! never answered.

use std::time::Instant;

use super::claim::{log_of, verdict};
use super::verifier::Verifier;
use crate::components::{haproxy, ToProve};

use crate::error::Result;
use crate::topology::Topology;
use crate::words::and_list;

/// Requests sent to measure load balancing, at the least.
pub const REQUESTS: usize = 20;
/// Requests per web server, so that every one is seen however many.
pub const REQUESTS_PER_BACKEND: usize = 4;

/// Requests that see each of `backends` web servers answer (round robin
/// needs one each; the rest is margin for any other algorithm).
pub fn requests_for(backends: usize) -> usize {
    REQUESTS.max(backends * REQUESTS_PER_BACKEND)
}

/// How many of `answers` each of `backends` gave.
fn counts<'b>(backends: &'b [String], answers: &str) -> Vec<(&'b String, usize)> {
    backends
        .iter()
        .map(|b| (b, answers.matches(&format!("\"web\": \"{b}\"")).count()))
        .collect()
}

/// The backends that gave none of `answers`.
fn silent<'b>(backends: &'b [String], answers: &str) -> Vec<&'b str> {
    counts(backends, answers)
        .into_iter()
        .filter(|(_, n)| *n == 0)
        .map(|(b, _)| b.as_str())
        .collect()
}

/// Where to look when the web servers `silent` behind `lb` never
/// answered: the load balancer's backend and log, then on each, whether
/// nginx runs and listens on its port, and its firewall.
fn hint(topo: &Topology, lb: &str, silent: &[&str]) -> String {
    let mut ports: Vec<u16> = silent.iter().map(|w| topo.web_port(w)).collect();
    ports.dedup();
    let each: Vec<String> = ports
        .iter()
        .map(|port| {
            let on: Vec<&str> = silent
                .iter()
                .copied()
                .filter(|w| topo.web_port(w) == *port)
                .collect();
            let walled = on.iter().any(|w| topo.server(w).has("ufw"));
            format!(
                "on {}, `sv status nginx` and `ss -ltn` say whether nginx runs and listens on {port}{}",
                and_list(&on),
                if walled {
                    format!(", `ufw status` whether {lb} is let in")
                } else {
                    String::new()
                }
            )
        })
        .collect();
    format!(
        "On {lb}, the `backend` of `{}` lists the web servers it sends requests to, and `tail {}` says which it took out; {}",
        haproxy::CONF,
        log_of("haproxy"),
        each.join("; ")
    )
}

/// Whether every backend answered, and what was seen: a summary first
/// (a terminal clips the rest), then each server's count.
pub fn spread(backends: &[String], answers: &str) -> (bool, String) {
    let counts = counts(backends, answers);
    let silent = silent(backends, answers);
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

impl Verifier<'_> {
    /// N requests spread over every web server behind the load balancer.
    pub(super) async fn balancing(&mut self) -> Result<()> {
        let first = self.claimed(|c| match c {
            ToProve::Balancing { backends } => Some(backends.clone()),
            _ => None,
        });
        let Some((lb, backends)) = first.into_iter().next() else {
            return Ok(());
        };
        let lb = lb.to_string();
        let requests = requests_for(backends.len());
        let t = Instant::now();
        let script = format!(
            "for i in $(seq {requests}); do curl -s {}://{}/api/info | grep -o '\"web\": \"[^\"]*\"'; done",
            self.scheme(),
            self.site()
        );
        let out = self.sh(&self.client, &script).await?;
        let (ok, observed) = spread(&backends, &out.stdout);
        let judged = verdict(ok, || hint(self.topo, &lb, &silent(&backends, &out.stdout)));
        self.record(
            "load balancing",
            format!("{requests} requests spread over the web servers"),
            format!("every web server answers ({})", backends.len()),
            observed,
            judged,
            t,
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::{Role, Topology};

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
        let (ok, seen) = spread(&backends[..1], answers);
        assert!(ok);
        assert_eq!(seen, "all 1 answered (web-01: 2)");
    }

    #[test]
    fn a_silent_web_server_is_looked_for_behind_its_load_balancer() {
        let topo = Topology::load("task2").unwrap();
        let backends = vec!["server-01".to_string(), "server-02".to_string()];
        let answers = "\"web\": \"server-01\"\n";
        assert_eq!(silent(&backends, answers), ["server-02"]);
        let hint = hint(&topo, "lb-01", &silent(&backends, answers));
        assert_eq!(
            hint,
            "On lb-01, the `backend` of `/etc/haproxy/haproxy.cfg` lists the web servers it sends requests to, \
             and `tail /var/log/infractl/haproxy/current` says which it took out; on server-02, `sv status nginx` \
             and `ss -ltn` say whether nginx runs and listens on 80, `ufw status` whether lb-01 is let in"
        );
        // task1 has no firewall: nothing to say of one.
        let t1 = Topology::load("task1").unwrap();
        let web = t1.with_role(Role::Web).nth(1).unwrap().name.clone();
        let h1 = super::hint(&t1, "lb-01", &[web.as_str()]);
        assert!(
            h1.ends_with(&format!(
                "on {web}, `sv status nginx` and `ss -ltn` say whether nginx runs and listens on 80"
            )),
            "{h1}"
        );
        assert!(silent(&backends, "\"web\": \"server-02\"\n\"web\": \"server-01\"").is_empty());
    }

    #[test]
    fn each_load_balancer_claims_its_backends_share_the_requests() {
        for stack in ["task0", "task1", "task2", "task3", "task4"] {
            let topo = Topology::load(stack).unwrap();
            let claimed: Vec<(String, Vec<String>)> = super::super::verifier::kinds_claims(&topo)
                .into_iter()
                .filter_map(|(lb, c)| match c {
                    ToProve::Balancing { backends } => Some((lb, backends)),
                    _ => None,
                })
                .collect();
            let lbs: Vec<(String, Vec<String>)> = topo
                .with_role(Role::LoadBalancer)
                .map(|n| (n.name.clone(), n.backends.clone()))
                .collect();
            assert_eq!(claimed, lbs, "{stack}");
        }
    }
}
