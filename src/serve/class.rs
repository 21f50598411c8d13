//! The instructor's class: every lab verified and graded at once (the
//! report `class verify --report` writes, kept in the class's state and
//! downloaded as CSV, JSON or HTML), and each lab's last score and last
//! activity for the grid.

use std::path::PathBuf;

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::auth::ClassAccess;
use super::{Portal, PortalError};

pub fn router() -> Router<Portal> {
    Router::new()
        .route("/class/{class}/verify", post(verify_all))
        .route("/class/{class}/scores", get(scores))
        .route("/class/{class}/report/{file}", get(report))
}

/// A lab's last verify, kept in its state (`last-verify.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LastVerify {
    /// Seconds since the epoch.
    pub time: u64,
    pub passed: usize,
    pub total: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl LastVerify {
    pub fn now(passed: usize, total: usize, error: Option<String>) -> LastVerify {
        LastVerify {
            time: super::audit::now(),
            passed,
            total,
            error,
        }
    }

    fn path(portal: &Portal, lab: &str) -> PathBuf {
        portal.global.state(lab).path.join("last-verify.json")
    }

    /// Keeps it beside the lab's state (a lab with no state is gone:
    /// nothing kept).
    pub fn save(&self, portal: &Portal, lab: &str) {
        let path = Self::path(portal, lab);
        if path.parent().is_some_and(std::path::Path::is_dir) {
            let text = serde_json::to_string(self).expect("a score serialises");
            let _ = crate::lab::state::write_private(&path, text.as_bytes());
        }
    }

    pub fn read(portal: &Portal, lab: &str) -> Option<LastVerify> {
        let text = std::fs::read_to_string(Self::path(portal, lab)).ok()?;
        serde_json::from_str(&text).ok()
    }
}

fn report_dir(portal: &Portal, class: &str) -> PathBuf {
    crate::class::links::dir(&portal.root, class).join("report")
}

/// Verifies every lab of the class, one after another per engine (as
/// `class verify`), and keeps the graded report.
async fn verify_all(
    access: ClassAccess,
    State(portal): State<Portal>,
) -> Result<Json<serde_json::Value>, PortalError> {
    let class =
        crate::class::links::read(&portal.root, &access.class)?.ok_or(PortalError::NotFound)?;
    let dir = report_dir(&portal, &access.class);
    let r = crate::class::verify::verify(
        &class.file,
        Some(&dir),
        &portal.global,
        &crate::progress::Silent,
    )
    .await;
    portal
        .audit
        .log(&access.who, "verify-class", None, None, r.is_ok());
    let r = r?;
    for lab in &r.labs {
        LastVerify::now(lab.score, lab.total, lab.error.clone()).save(&portal, &lab.lab);
        portal.live.poke(&lab.lab);
    }
    Ok(Json(serde_json::json!({
        "class": r.class,
        "labs": r.labs.iter().map(|l| serde_json::json!({
            "student": l.student, "lab": l.lab, "score": l.score, "total": l.total, "error": l.error,
        })).collect::<Vec<_>>(),
    })))
}

/// One lab's row of scores and activity.
#[derive(Serialize)]
struct Score {
    lab: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    verify: Option<LastVerify>,
    /// When the learner last did something on the portal (seconds since
    /// the epoch).
    #[serde(skip_serializing_if = "Option::is_none")]
    active: Option<u64>,
}

/// Each lab's last score and last activity.
async fn scores(
    access: ClassAccess,
    State(portal): State<Portal>,
) -> Result<Json<Vec<Score>>, PortalError> {
    let class =
        crate::class::links::read(&portal.root, &access.class)?.ok_or(PortalError::NotFound)?;
    let rows = class
        .entries
        .iter()
        .filter_map(|e| e.lab.clone())
        .map(|lab| Score {
            verify: LastVerify::read(&portal, &lab),
            active: portal.audit.last_activity(&lab),
            lab,
        })
        .collect();
    Ok(Json(rows))
}

/// The graded report of the last verify of the class.
async fn report(
    access: ClassAccess,
    State(portal): State<Portal>,
    Path((_, file)): Path<(String, String)>,
) -> Result<Response, PortalError> {
    let (name, kind) = match file.as_str() {
        "report.csv" => ("report.csv", "text/csv; charset=utf-8"),
        "report.json" => ("report.json", "application/json"),
        "index.html" => ("index.html", "text/html; charset=utf-8"),
        _ => return Err(PortalError::NotFound),
    };
    let path = report_dir(&portal, &access.class).join(name);
    let body = std::fs::read(&path).map_err(|_| {
        PortalError::Bad("no report yet: verify the class first (the grid's button)".into())
    })?;
    let disposition = format!("inline; filename=\"{}-{name}\"", access.class);
    Ok((
        [
            (header::CONTENT_TYPE, kind.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}
