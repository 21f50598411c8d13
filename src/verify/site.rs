//! Site claims, from the user's computer: HTTPS with a valid chain, HTTP
//! redirecting to it, the page coming through every tier; and TLS from end
//! to end, each load balancer's hop to a web server verified against the
//! lab CA. A failed one's hint points at the program facing users (its
//! configuration, its state), or at the first tier the page did not come
//! through.

use std::time::Instant;

use serde_json::Value;

use super::claim::{service_state, verdict};
use super::verifier::{answer, first_line, Verifier};
use crate::components::{app, haproxy, nginx, ToProve};

use crate::error::Result;
use crate::topology::{names, Role, Topology};
use crate::words::and_list;

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
    /// The first tier not served by a server of that tier (the first of
    /// all when no page info came back); None when every one was.
    stuck: Option<Role>,
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
    let served = [
        (
            Role::LoadBalancer,
            lbs.is_empty() || lb.as_ref().is_some_and(|l| lbs.contains(l)),
        ),
        (Role::Web, has(Role::Web, &web)),
        (Role::App, has(Role::App, &app)),
        (
            Role::DbPrimary,
            has(Role::DbPrimary, &db) || has(Role::DbReplica, &db),
        ),
    ];
    let stuck = served.iter().find(|(_, ok)| !ok).map(|(role, _)| *role);
    let ok = stuck.is_none();
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
        stuck,
    }
}

/// The program facing users on `server` with its configuration file:
/// HAProxy on a load balancer, else nginx.
fn front(topo: &Topology, server: &str) -> (&'static str, &'static str) {
    if topo.server(server).has("haproxy") {
        ("haproxy", haproxy::CONF)
    } else {
        ("nginx", nginx::CONF)
    }
}

/// `On lb-01 and lb-02, `/etc/haproxy/haproxy.cfg``: the site's entry
/// points, and the file that says how they face users, `what` it says
/// after.
fn on_entry(topo: &Topology, what: &str) -> String {
    let entry = names(topo.entry().into_iter());
    let (service, conf) = entry
        .first()
        .map(|e| front(topo, e))
        .unwrap_or(("nginx", nginx::CONF));
    format!(
        "On {}, `{conf}` says {what} ({})",
        and_list(&entry),
        service_state(service)
    )
}

/// Where to look when the site is not served over HTTPS with a valid
/// chain: the entry points, then the chain by hand from `client`.
fn https_hint(topo: &Topology, client: &str) -> String {
    format!(
        "{}; from {client}, `curl -v https://{}/` shows the chain the site presents and what answers",
        on_entry(topo, "what serves HTTPS, with which certificate"),
        topo.site_host()
    )
}

/// Where to look when plain HTTP does not redirect to HTTPS.
fn redirect_hint(topo: &Topology, client: &str) -> String {
    format!(
        "{}; from {client}, `curl -sI http://{}/` shows the status and the `Location` answered",
        on_entry(topo, "what answers plain HTTP on port 80"),
        topo.site_host()
    )
}

/// Where to look when the page does not come through every tier: the
/// first tier it did not come through (`stuck`), with the request by
/// hand from `client`.
fn tiers_hint(topo: &Topology, client: &str, stuck: Role) -> String {
    let of = |role: Role| and_list(&names(topo.with_role(role)));
    let (webs, apps) = (of(Role::Web), of(Role::App));
    let look = match stuck {
        Role::LoadBalancer => on_entry(
            topo,
            "where requests go and marks each answer with `X-Load-Balancer`",
        ),
        Role::Web => format!(
            "On {webs}, `{}` says where `/api/` goes ({})",
            nginx::CONF,
            service_state("nginx")
        ),
        Role::App => format!(
            "On {apps}, is the application running ({})? `{}` says how it runs; on {webs}, `{}` says where `/api/` goes",
            service_state("app"),
            app::GUNICORN_CONF,
            nginx::CONF
        ),
        _ => {
            let dbs: Vec<String> = names(topo.with_role(Role::DbPrimary))
                .into_iter()
                .chain(names(topo.with_role(Role::DbReplica)))
                .collect();
            format!(
                "On {apps}, `{}` names the databases the application uses, and `tail {}` says what it met; on {}, {}",
                app::CONFIG,
                super::claim::log_of("app"),
                and_list(&dbs),
                service_state("mariadb")
            )
        }
    };
    format!(
        "{look}; from {client}, `curl -si {}://{}/api/info` shows who served each tier",
        topo.site_scheme(),
        topo.site_host()
    )
}

/// Where to look when `lb`'s hop to `web` (on `port`) is not HTTPS
/// verified against the lab CA: how HAProxy reaches it, what nginx
/// serves there and with which certificate.
fn hop_hint(lb: &str, web: &str, port: u16) -> String {
    format!(
        "On {lb}, the `server {web}` line of `{}` says how it reaches {web} (ssl, verify, ca-file); \
         on {web}, `{}` says what listens on {port}, and `openssl x509 -in {} -noout -subject -issuer -ext subjectAltName` \
         what its certificate names and who signed it",
        haproxy::CONF,
        nginx::CONF,
        nginx::CERT
    )
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
            verdict(observed == "200 0", || https_hint(self.topo, &self.client)),
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
            verdict(observed == want, || redirect_hint(self.topo, &self.client)),
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
        let stuck = seen.stuck.unwrap_or(Role::LoadBalancer);
        self.record(
            "site",
            "the page comes through every tier".into(),
            seen.expected,
            observed,
            verdict(seen.ok, || tiers_hint(self.topo, &self.client, stuck)),
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
        let ca = haproxy::CA;
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
            verdict(observed == want, || hop_hint(lb, web, port)),
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
                stuck: None,
            }
        );
        let unmarked = tiers(&topo, &response(None, &body));
        assert!(!unmarked.ok, "no load balancer said it served it");
        assert_eq!(unmarked.path, Some(format!("? -> {web} -> {app} -> {db}")));
        assert_eq!(unmarked.stuck, Some(Role::LoadBalancer));
        let wrong = body.replace(
            &format!("\"web\": \"{web}\""),
            &format!("\"web\": \"{db}\""),
        );
        let wrong = tiers(&topo, &response(Some(&lb), &wrong));
        assert!(!wrong.ok);
        assert_eq!(wrong.stuck, Some(Role::Web));
        let no_db = body.replace(&format!("\"db\": \"{db}\""), "\"db\": null");
        assert_eq!(
            tiers(&topo, &response(Some(&lb), &no_db)).stuck,
            Some(Role::DbPrimary)
        );
        let nothing = tiers(&topo, "curl: (7) refused");
        assert_eq!(
            (nothing.path, nothing.stuck),
            (None, Some(Role::LoadBalancer))
        );
    }

    #[test]
    fn the_tiers_hint_points_at_the_first_tier_the_page_missed() {
        let topo = Topology::load("task3").unwrap();
        let lb = tiers_hint(&topo, "client", Role::LoadBalancer);
        assert!(
            lb.starts_with("On lb-01 and lb-02, `/etc/haproxy/haproxy.cfg` says where requests go"),
            "{lb}"
        );
        assert!(lb.contains("`sv status haproxy`"), "{lb}");
        assert!(
            lb.ends_with("from client, `curl -si https://www.foobar.com/api/info` shows who served each tier"),
            "{lb}"
        );
        let web = tiers_hint(&topo, "client", Role::Web);
        assert!(
            web.starts_with("On web-01 and web-02, `/etc/nginx/nginx.conf` says where `/api/` goes (`sv status nginx`, `tail /var/log/nginx/error.log`)"),
            "{web}"
        );
        let app = tiers_hint(&topo, "client", Role::App);
        assert!(
            app.starts_with("On app-01 and app-02, is the application running (`sv status app`"),
            "{app}"
        );
        let db = tiers_hint(&topo, "client", Role::DbPrimary);
        assert!(
            db.starts_with(
                "On app-01 and app-02, `/etc/infractl/app/config.json` names the databases"
            ),
            "{db}"
        );
        assert!(
            db.contains("on db-01 and db-02, `sv status mariadb`"),
            "{db}"
        );
    }

    #[test]
    fn the_entry_hints_name_what_faces_users() {
        let t3 = Topology::load("task3").unwrap();
        let https = https_hint(&t3, "client");
        assert!(
            https.starts_with(
                "On lb-01 and lb-02, `/etc/haproxy/haproxy.cfg` says what serves HTTPS"
            ),
            "{https}"
        );
        assert!(
            https.contains("from client, `curl -v https://www.foobar.com/`"),
            "{https}"
        );
        // Without load balancers, nginx faces users.
        let t0 = Topology::load("task0").unwrap();
        let redirect = redirect_hint(&t0, "client");
        let web = &names(t0.entry().into_iter())[0];
        assert!(
            redirect.starts_with(&format!(
                "On {web}, `/etc/nginx/nginx.conf` says what answers plain HTTP on port 80"
            )),
            "{redirect}"
        );
        let hop = hop_hint("lb-01", "web-02", 443);
        assert!(
            hop.starts_with("On lb-01, the `server web-02` line of `/etc/haproxy/haproxy.cfg`"),
            "{hop}"
        );
        assert!(
            hop.contains("on web-02, `/etc/nginx/nginx.conf` says what listens on 443"),
            "{hop}"
        );
        assert!(hop.contains("-in /etc/nginx/tls/site.crt "), "{hop}");
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
