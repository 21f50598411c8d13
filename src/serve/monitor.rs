//! What the lab's own monitoring sees, for the learner's page: each web
//! server's requests per second and share of errors (as its load
//! balancers count its answers), the site's share of errors, as the lab's
//! Prometheus has them, and the alerts its Alertmanager holds. A
//! stage without monitoring says so (one of the issues the course wants
//! named).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use super::auth::LabAccess;
use super::{Portal, PortalError};

pub fn router() -> Router<Portal> {
    Router::new().route("/lab/{lab}/monitoring", get(monitoring))
}

/// One look at the lab's monitoring.
#[derive(Debug, Serialize)]
struct Look {
    /// The stack has a monitoring server.
    monitoring: bool,
    /// Requests per second of each web server, over the last 30 s.
    qps: Vec<(String, f64)>,
    /// The share of the site's answers that were errors (5xx) over the
    /// last 30 s, where the load balancer counts them.
    errors: Option<f64>,
    /// The share of each web server's answers to the load balancers that
    /// were errors (5xx), over the last 30 s (a server with no traffic
    /// has none).
    server_errors: Vec<(String, f64)>,
    alerts: Vec<crate::alerts::Firing>,
    /// Why the monitoring server did not answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<String>,
}

/// The queries asked of Prometheus, each on a line of its own answer.
const QPS: &str = "sum by (server) (rate(nginx_http_requests_total[30s]))";
const ERRORS: &str = "sum(rate(haproxy_frontend_http_responses_total{code=\"5xx\"}[30s])) / sum(rate(haproxy_frontend_http_responses_total[30s]))";
/// HAProxy's own `server` label (the web server) is renamed
/// `exported_server` in the lab's Prometheus (the scrape's `server` is
/// the load balancer's); the load balancers' counts are summed.
const SERVER_ERRORS: &str = "sum by (exported_server) (rate(haproxy_server_http_responses_total{code=\"5xx\"}[30s])) / sum by (exported_server) (rate(haproxy_server_http_responses_total[30s]))";

async fn monitoring(
    access: LabAccess,
    State(portal): State<Portal>,
) -> Result<Json<Look>, PortalError> {
    let lab = portal.lab(&access.lab).await?;
    let Some(prom) = crate::alerts::monitor(&lab.topo) else {
        return Ok(Json(Look {
            monitoring: false,
            qps: vec![],
            errors: None,
            server_errors: vec![],
            alerts: vec![],
            problem: None,
        }));
    };
    let port = lab.topo.prometheus_port(prom);
    let ask = |q: &str| {
        format!(
            "curl -sS -m 3 --data-urlencode {} http://127.0.0.1:{port}/api/v1/query; echo",
            crate::shell::shell_quote(&format!("query={q}"))
        )
    };
    let script = format!("{}\n{}\n{}", ask(QPS), ask(ERRORS), ask(SERVER_ERRORS));
    let out = lab.driver.exec(prom, &script).await?;
    let mut lines = out.stdout.lines();
    let mut next = || lines.next().unwrap_or("");
    let (qps, errors, server_errors) = (next(), next(), next());
    let mut look = Look {
        monitoring: true,
        qps: series(qps, "server"),
        errors: series(errors, "server").first().map(|(_, v)| *v),
        server_errors: series(server_errors, "exported_server"),
        alerts: vec![],
        problem: None,
    };
    if out.code != 0 {
        look.problem = Some(format!(
            "{prom}: Prometheus did not answer: {}",
            out.stderr.trim()
        ));
    }
    match crate::alerts::firing(&*lab.driver, &lab.topo).await {
        Ok(a) => look.alerts = a.unwrap_or_default(),
        Err(e) => look.problem = Some(e.headline()),
    }
    Ok(Json(look))
}

/// Each result of a Prometheus answer: its label `label` (the server)
/// and value, rounded to hundredths; an answer that is not one gives none.
fn series(answer: &str, label: &str) -> Vec<(String, f64)> {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(answer) else {
        return vec![];
    };
    let mut out: Vec<(String, f64)> = v["data"]["result"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| {
            let value = r["value"][1].as_str()?.parse::<f64>().ok()?;
            let server = r["metric"][label].as_str().unwrap_or("site").to_string();
            value
                .is_finite()
                .then(|| (server, (value * 100.0).round() / 100.0))
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_answers_are_read_by_server_and_nan_is_no_value() {
        let qps = r#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"server":"server-02"},"value":[1.7e9,"3.456"]},
            {"metric":{"server":"server-01"},"value":[1.7e9,"12"]}]}}"#;
        assert_eq!(
            series(qps, "server"),
            vec![("server-01".into(), 12.0), ("server-02".into(), 3.46)]
        );
        let none = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1.7e9,"NaN"]}]}}"#;
        assert_eq!(series(none, "server"), vec![]);
        assert_eq!(series("curl: (7) Failed to connect", "server"), vec![]);
        let errors = r#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"exported_server":"server-01"},"value":[1.7e9,"0.5"]},
            {"metric":{"exported_server":"server-02"},"value":[1.7e9,"NaN"]}]}}"#;
        assert_eq!(
            series(errors, "exported_server"),
            vec![("server-01".into(), 0.5)]
        );
    }
}
