//! A certificate fault: HAProxy serves last year's certificate of the
//! site, expired, while the valid one sits beside it unused (a renewal
//! that wrote the new file and never pointed HAProxy at it).

use super::{balancing, reload, through_site, undo, Breakage, Change, Edit, Repair, Symptom};
use crate::components::haproxy::{CONF, PEM};
use crate::topology::{Role, Topology};

/// Where the expired certificate is put, beside the valid one.
pub const EXPIRED: &str = "/etc/haproxy/certs/site-last-year.pem";

/// The load balancers that serve the site over HTTPS.
pub(super) fn terminating(topo: &Topology) -> Vec<String> {
    if !topo.tls() {
        return Vec::new();
    }
    topo.with_role(Role::LoadBalancer)
        .map(|n| n.name.clone())
        .collect()
}

/// (g) HAProxy on `lb` pointed at an expired certificate of the site.
pub(super) fn cert_expired(topo: &Topology, lb: &str) -> Breakage {
    let port = topo.site_port();
    let site = topo.site_host();
    let bind = format!("bind :{port} ssl crt ");
    let edits = vec![Edit {
        from: format!("{bind}{PEM}"),
        to: format!("{bind}{EXPIRED}"),
    }];
    let mut breaks = through_site(topo, None);
    breaks.push(balancing());
    let mut commands = vec![format!("openssl x509 -in {EXPIRED} -noout -enddate")];
    commands.extend(edits.iter().map(|e| undo(e, CONF)));
    commands.push(format!("haproxy -c -q -f {CONF}"));
    commands.push(reload("haproxy"));
    Breakage {
        fault: "",
        seed: 0,
        server: lb.into(),
        on: lb.into(),
        what: format!(
            "HAProxy on {lb} serves last year's certificate of the site ({EXPIRED}, expired 30 days ago) instead of {PEM}: every browser refuses https://{site}/, while HTTP still redirects to it"
        ),
        breaks,
        repair: Repair {
            server: lb.into(),
            text: format!(
                "`curl -v https://{site}/` says the certificate has expired. On {lb}, the `bind :{port}` line of {CONF} names the certificate HAProxy serves: `openssl x509 -noout -enddate -in` that file and {PEM} says which one is valid. Point the line back at {PEM}, check the file with `haproxy -c` and reload HAProxy."
            ),
            commands,
        },
        shows: Symptom {
            server: lb.into(),
            script: format!(
                "r=$(echo | timeout 5 openssl s_client -connect 127.0.0.1:{port} -servername {site} 2>/dev/null \
                 | openssl x509 -noout -checkend 0 2>/dev/null); \
                 case $r in *'will not expire'*) echo no ;; *'will expire'*) echo yes ;; *) echo none ;; esac"
            ),
        },
        change: Change::ExpiredCert {
            cert: EXPIRED,
            path: CONF,
            service: "haproxy",
            edits,
        },
        alerts: None,
    }
}
