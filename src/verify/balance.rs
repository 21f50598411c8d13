//! The load balancing claim: enough requests to the site that every web
//! server behind the (first) load balancer answers some.

use std::time::Instant;

use super::verifier::Verifier;
use crate::components::ToProve;

use crate::error::Result;

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

impl Verifier<'_> {
    /// N requests spread over every web server behind the load balancer.
    pub(super) async fn balancing(&mut self) -> Result<()> {
        let first = self.claimed(|c| match c {
            ToProve::Balancing { backends } => Some(backends.clone()),
            _ => None,
        });
        let Some((_, backends)) = first.into_iter().next() else {
            return Ok(());
        };
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
