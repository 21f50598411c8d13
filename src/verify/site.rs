//! Site claims, from the user's computer: HTTPS with a valid chain, HTTP
//! redirecting to it, the page coming through every tier; and TLS from end
//! to end, each load balancer's hop to a web server verified against the
//! lab CA.

use std::time::Instant;

use serde_json::Value;

use super::verifier::{answer, first_line, Verifier};
use crate::components::ToProve;

use crate::error::Result;
use crate::topology::{Role, Topology};

/// What the page's way through the tiers was, against the stack's.
#[derive(Debug, PartialEq)]
struct Tiers {
    /// Every tier served by a server of that tier.
    ok: bool,
    /// The tiers, in words (`load balancer -> web -> app -> database`).
    expected: String,
    /// The servers that served it (`lb-01 -> web-01 -> app-01 -> db-01`);
    /// None when the answer was no page info.
    path: Option<String>,
}

/// The way through the tiers of `curl -i .../api/info`'s `response`.
fn tiers(topo: &Topology, response: &str) -> Tiers {
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or(("", ""));
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
    let has = |role: Role, n: &str| topo.with_role(role).any(|x| x.name == n);
    let lb = header("x-load-balancer");
    let lbs: Vec<String> = topo
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
    Tiers {
        ok,
        expected: expected.join(" -> "),
        path: (!info.is_null()).then(|| path.join(" -> ")),
    }
}

impl Verifier<'_> {
    /// The site: HTTPS with a valid chain, HTTP redirects, the page through
    /// every tier.
    pub(super) async fn site_checks(&mut self) -> Result<()> {
        if self.topo.tls() {
            self.https().await?;
        }
        self.every_tier().await?;
        self.reencrypted().await
    }

    /// HTTPS with a valid certificate chain; HTTP redirecting to it.
    async fn https(&mut self) -> Result<()> {
        let site = self.site();
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
            .sh(
                &self.client,
                &format!(
                    "curl -sS -o /dev/null -w '%{{http_code}} %{{redirect_url}}' http://{site}/"
                ),
            )
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
        Ok(())
    }

    /// The page comes through every tier: each server named in its info
    /// is of its tier.
    async fn every_tier(&mut self) -> Result<()> {
        let site = self.site();
        let t = Instant::now();
        let out = self
            .sh(
                &self.client,
                &format!("curl -sS -i {}://{site}/api/info", self.scheme()),
            )
            .await?;
        let seen = tiers(self.topo, &out.stdout);
        let observed = seen
            .path
            .unwrap_or_else(|| first_line(&format!("{}{}", out.stderr, out.stdout)));
        self.record(
            "site",
            "the page comes through every tier".into(),
            seen.expected,
            observed,
            seen.ok,
            t,
        );
        Ok(())
    }

    /// TLS from end to end: each load balancer's hop to each web server
    /// is HTTPS whose certificate the lab CA alone verifies for the site's
    /// name, and HAProxy is told to verify it (`verify required`).
    async fn reencrypted(&mut self) -> Result<()> {
        let hops: Vec<(String, String)> = self
            .claimed(|c| match c {
                ToProve::VerifiedHop { web } => Some(web.clone()),
                _ => None,
            })
            .into_iter()
            .map(|(lb, web)| (lb.to_string(), web))
            .collect();
        for (lb, web) in hops {
            self.verified_hop(&lb, &web).await?;
        }
        Ok(())
    }

    /// The claim that `lb`'s hop to `web` is HTTPS verified against the
    /// lab CA.
    async fn verified_hop(&mut self, lb: &str, web: &str) -> Result<()> {
        let site = self.site();
        let ca = crate::components::haproxy::CA;
        let t = Instant::now();
        let port = self.topo.web_port(web);
        let ip = self.topo.addr(lb, web);
        let script = format!(
            "v=$(grep -c '^ *server {web} .* ssl verify required ca-file {ca} ' /etc/haproxy/haproxy.cfg); \
             curl -sS -o /dev/null -w \"%{{http_code}} %{{ssl_verify_result}} verify-required=$v\" \
             --cacert {ca} --resolve {site}:{port}:{ip} https://{site}:{port}/"
        );
        let out = self.sh(lb, &script).await?;
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
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(lb: Option<&str>, body: &str) -> String {
        let lb = lb
            .map(|l| format!("X-Load-Balancer: {l}\r\n"))
            .unwrap_or_default();
        format!("HTTP/1.1 200 OK\r\n{lb}Content-Type: application/json\r\n\r\n{body}")
    }

    #[test]
    fn the_page_comes_through_a_server_of_every_tier() {
        let topo = Topology::load("task3").unwrap();
        let web = topo.with_role(Role::Web).next().unwrap().name.clone();
        let app = topo.with_role(Role::App).next().unwrap().name.clone();
        let db = topo.with_role(Role::DbPrimary).next().unwrap().name.clone();
        let lb = topo
            .with_role(Role::LoadBalancer)
            .next()
            .unwrap()
            .name
            .clone();
        let body = format!(r#"{{"served_by": {{"web": "{web}", "app": "{app}", "db": "{db}"}}}}"#);
        let seen = tiers(&topo, &response(Some(&lb), &body));
        assert_eq!(
            seen,
            Tiers {
                ok: true,
                expected: "load balancer -> web -> app -> database".into(),
                path: Some(format!("{lb} -> {web} -> {app} -> {db}")),
            }
        );
        let unmarked = tiers(&topo, &response(None, &body));
        assert!(!unmarked.ok, "no load balancer said it served it");
        assert_eq!(unmarked.path, Some(format!("? -> {web} -> {app} -> {db}")));
        let wrong = body.replace(
            &format!("\"web\": \"{web}\""),
            &format!("\"web\": \"{db}\""),
        );
        assert!(!tiers(&topo, &response(Some(&lb), &wrong)).ok);
        assert_eq!(tiers(&topo, "curl: (7) refused").path, None);
    }

    #[test]
    fn without_load_balancers_the_page_starts_at_the_web_server() {
        let topo = Topology::load("task0").unwrap();
        assert_eq!(tiers(&topo, "").expected, "web -> app -> database");
    }

    #[test]
    fn each_hop_to_a_web_server_is_claimed_where_it_is_reencrypted() {
        for stack in ["task0", "task1", "task2", "task3", "task4"] {
            let topo = Topology::load(stack).unwrap();
            let claimed: Vec<(String, String)> = super::super::verifier::kinds_claims(&topo)
                .into_iter()
                .filter_map(|(lb, c)| match c {
                    ToProve::VerifiedHop { web } => Some((lb, web)),
                    _ => None,
                })
                .collect();
            let mut hops: Vec<(String, String)> = Vec::new();
            if topo.web_tls() {
                for lb in topo.with_role(Role::LoadBalancer) {
                    hops.extend(lb.backends.iter().map(|b| (lb.name.clone(), b.clone())));
                }
            }
            assert_eq!(claimed, hops, "{stack}");
            assert_eq!(hops.is_empty(), stack != "task4", "{stack}");
        }
    }
}
