//! What a page asks to be done to a lab: stop, start or kill a server,
//! verify the lab, explain it. Each is checked by [`LabAccess`] and
//! written to the audit log.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;

use super::auth::LabAccess;
use super::{Portal, PortalError};

pub fn router() -> Router<Portal> {
    Router::new()
        .route("/lab/{lab}/servers/{server}/{action}", post(server_action))
        .route("/lab/{lab}/verify", post(verify))
        .route("/lab/{lab}/reset", post(reset))
        .route("/lab/{lab}/explain", get(explain))
}

/// What a server action did.
#[derive(Serialize)]
struct Done {
    ok: bool,
    message: String,
}

/// Stops (cleanly), starts or kills (no clean shutdown) one server of the
/// lab.
async fn server_action(
    access: LabAccess,
    State(portal): State<Portal>,
    Path((_, server, action)): Path<(String, String, String)>,
) -> Result<Json<Done>, PortalError> {
    let lab = portal.lab(&access.lab).await?;
    if !lab.plan.servers.iter().any(|s| s.name == server) {
        return Err(PortalError::NotFound);
    }
    let d = &*lab.driver;
    let result = match action.as_str() {
        "stop" => d.stop(&server).await,
        "kill" => d.kill(&server).await,
        "start" => d.start(&lab.plan, &server).await,
        _ => return Err(PortalError::NotFound),
    };
    portal.audit.log(
        &access.who,
        &action,
        Some(&access.lab),
        Some(&server),
        result.is_ok(),
    );
    portal.live.poke(&access.lab);
    match result {
        Ok(()) => Ok(Json(Done {
            ok: true,
            message: format!("{server}: {action} done"),
        })),
        Err(e) => Err(PortalError::Failed(format!(
            "{server}: {action} failed: {}",
            e.headline()
        ))),
    }
}

/// Every claim of the lab checked, as `infractl verify --json` gives them.
async fn verify(
    access: LabAccess,
    State(portal): State<Portal>,
) -> Result<Json<serde_json::Value>, PortalError> {
    let running = crate::ops::lab_to_verify(&access.lab, "verify", &portal.global).await;
    let result = match running {
        Ok(lab) => {
            crate::verify::run(
                lab.driver.as_ref(),
                &lab.loaded.topo,
                &lab.loaded.plan,
                &lab.loaded.secrets,
                &crate::progress::Silent,
            )
            .await
        }
        Err(e) => Err(e),
    };
    portal.audit.log(
        &access.who,
        "verify",
        Some(&access.lab),
        None,
        result.is_ok(),
    );
    portal.live.poke(&access.lab);
    let claims = match result {
        Ok(c) => c,
        Err(e) => {
            super::class::LastVerify::now(0, 0, Some(e.headline())).save(&portal, &access.lab);
            return Err(e.into());
        }
    };
    let failed = claims.iter().filter(|c| !c.ok).count();
    super::class::LastVerify::now(claims.len() - failed, claims.len(), None)
        .save(&portal, &access.lab);
    Ok(Json(serde_json::json!({
        "lab": access.lab,
        "passed": claims.len() - failed,
        "failed": failed,
        "checks": claims,
    })))
}

/// `infractl explain` of the lab, as text.
async fn explain(
    access: LabAccess,
    State(portal): State<Portal>,
) -> Result<impl IntoResponse, PortalError> {
    let lab = portal.lab(&access.lab).await?;
    let text = crate::explain::render_text(&crate::explain::explain(&lab.topo));
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text))
}

/// Resets the lab: taken down and brought up again, as new.
async fn reset(access: LabAccess, State(portal): State<Portal>) -> Result<Json<Done>, PortalError> {
    portal.forget(&access.lab).await;
    let r = crate::ops::up::reset(&access.lab, &portal.global, &crate::progress::Silent).await;
    portal
        .audit
        .log(&access.who, "reset", Some(&access.lab), None, r.is_ok());
    portal.forget(&access.lab).await;
    portal.live.poke(&access.lab);
    r?;
    Ok(Json(Done {
        ok: true,
        message: format!("lab `{}` was reset", access.lab),
    }))
}
