//! The portal's pages: HTML rendered on the server from Tera templates,
//! with every asset embedded in the binary; live data comes over each
//! page's event stream (`live`). Entry by a personal link (`/join/TOKEN`).

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

use super::auth::{self, ClassAccess, Client, LabAccess, COOKIE};
use super::{Portal, PortalError};
use crate::class::links::Role;

/// What anyone gets for what is not theirs (or not there).
pub const NOT_FOUND: &str = concat!(
    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Not found · infractl</title>",
    "<link rel=\"stylesheet\" href=\"/assets/portal.css\"></head><body class=\"plain\"><main>",
    "<h1>Not found</h1><p>There is nothing here for you. Open the personal link your instructor gave you; ",
    "if it stopped working, ask for a new one.</p></main></body></html>"
);

/// The files the pages load, embedded.
const ASSETS: &[(&str, &str, &str)] = &[
    ("portal.css", "text/css", include_str!("assets/portal.css")),
    ("lab.js", "text/javascript", include_str!("assets/lab.js")),
    (
        "class.js",
        "text/javascript",
        include_str!("assets/class.js"),
    ),
    (
        "monitor.js",
        "text/javascript",
        include_str!("assets/monitor.js"),
    ),
    ("term.js", "text/javascript", include_str!("assets/term.js")),
    (
        "xterm/xterm.min.js",
        "text/javascript",
        include_str!("assets/xterm/xterm.min.js"),
    ),
    (
        "xterm/xterm-addon-fit.min.js",
        "text/javascript",
        include_str!("assets/xterm/xterm-addon-fit.min.js"),
    ),
    (
        "xterm/xterm.min.css",
        "text/css",
        include_str!("assets/xterm/xterm.min.css"),
    ),
    // xterm.js's licence travels with it.
    (
        "xterm/LICENSE",
        "text/plain; charset=utf-8",
        include_str!("assets/xterm/LICENSE"),
    ),
];

pub fn router() -> Router<Portal> {
    Router::new()
        .route("/", get(home))
        .route("/join/{token}", get(join))
        .route("/lab/{lab}", get(lab_page))
        .route("/lab/{lab}/diagram.svg", get(diagram))
        .route("/class/{class}", get(class_page))
        .route("/assets/{*name}", get(asset))
}

fn render(
    template: &str,
    name: &str,
    context: &tera::Context,
) -> Result<Html<String>, PortalError> {
    let mut t = tera::Tera::default();
    t.autoescape_on(vec![".html"]);
    t.add_raw_template(name, template)
        .and_then(|()| t.render(name, context))
        .map(Html)
        .map_err(|e| PortalError::Failed(format!("the page could not be made: {e}")))
}

/// `/`: the caller's own page (the operator's: every lab and class), or
/// how to get one.
async fn home(
    State(portal): State<Portal>,
    someone: Result<auth::Someone, PortalError>,
) -> Response {
    match someone {
        Ok(auth::Someone(who)) if who.role == Role::Operator => index(&portal).into_response(),
        Ok(auth::Someone(who)) => Redirect::to(&who.home()).into_response(),
        Err(PortalError::TooMany) => PortalError::TooMany.into_response(),
        Err(_) => Html(NOT_FOUND.replace("Not found</h1>", "infractl</h1>")).into_response(),
    }
}

/// The operator's index: every class and lab of the state.
fn index(portal: &Portal) -> Result<Html<String>, PortalError> {
    let classes: Vec<serde_json::Value> = crate::class::links::all(&portal.root)
        .iter()
        .map(|a| {
            serde_json::json!({
                "name": a.class,
                "labs": a.entries.iter().filter(|e| e.lab.is_some()).count(),
                "file": a.file.display().to_string(),
            })
        })
        .collect();
    let labs: Vec<serde_json::Value> = crate::lab::records(&portal.root)
        .into_iter()
        .map(|(name, r)| {
            serde_json::json!({
                "name": name,
                "stack": r.stack,
                "class": r.class.unwrap_or_default(),
                "engine": r.engine.map_or_else(|| "down".to_string(), |e| e.describe()),
            })
        })
        .collect();
    let mut c = tera::Context::new();
    c.insert("classes", &classes);
    c.insert("labs", &labs);
    render(include_str!("assets/index.html"), "index.html", &c)
}

/// `/join/TOKEN`: a personal link, exchanged for the cookie. The answer
/// is a page that moves on by itself: a redirect would carry the cookie
/// on a navigation that started on another site (the LMS), which a
/// SameSite=Strict cookie is not sent on.
async fn join(
    Client(ip): Client,
    State(portal): State<Portal>,
    Path(token): Path<String>,
) -> Result<Response, PortalError> {
    // A good link passes even from a blocked address (see `auth`).
    let Some(who) = auth::who(&portal.root, &token) else {
        if portal.limiter.blocked(ip) {
            return Err(PortalError::TooMany);
        }
        portal.limiter.failed(ip);
        return Err(PortalError::NotFound);
    };
    portal
        .audit
        .log(&who, "join", who.lab.as_deref(), None, true);
    let secure = if portal.secure { "; Secure" } else { "" };
    let cookie =
        format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=2592000{secure}");
    let home = who.home();
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"0;url={home}\"><title>infractl</title></head><body><p><a href=\"{home}\">Continue to your page</a></p></body></html>"
    );
    let mut response = Html(body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(|_| PortalError::NotFound)?,
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    Ok(response)
}

/// A learner's page: their lab.
async fn lab_page(
    access: LabAccess,
    State(portal): State<Portal>,
) -> Result<Html<String>, PortalError> {
    let lab = portal.lab(&access.lab).await?;
    let model = crate::diagram::model(&lab.topo);
    let mut c = tera::Context::new();
    c.insert("lab", &access.lab);
    c.insert("class", &access.who.class);
    c.insert("who", &access.who.name);
    c.insert("instructor", &(access.who.role != Role::Learner));
    c.insert("role", &access.who.role);
    c.insert("stack", &lab.topo.stack.description);
    c.insert(
        "servers",
        &lab.plan.servers.iter().map(|s| &s.name).collect::<Vec<_>>(),
    );
    c.insert("diagram", &crate::diagram::svg(&model));
    c.insert("exercise", &super::exercise::shown(&portal, &access.lab));
    c.insert(
        "monitoring",
        &lab.topo
            .with_role(crate::topology::Role::Monitoring)
            .next()
            .is_some(),
    );
    render(include_str!("assets/lab.html"), "lab.html", &c)
}

/// The lab's diagram alone.
async fn diagram(access: LabAccess, State(portal): State<Portal>) -> Result<Response, PortalError> {
    let lab = portal.lab(&access.lab).await?;
    let svg = crate::diagram::svg(&crate::diagram::model(&lab.topo));
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response())
}

/// The instructor's page: the class as a grid.
async fn class_page(
    access: ClassAccess,
    State(portal): State<Portal>,
) -> Result<Html<String>, PortalError> {
    let class =
        crate::class::links::read(&portal.root, &access.class)?.ok_or(PortalError::NotFound)?;
    let students: Vec<(&str, &str)> = class
        .entries
        .iter()
        .filter_map(|e| Some((e.who.as_str(), e.lab.as_deref()?)))
        .collect();
    let mut c = tera::Context::new();
    c.insert("class", &access.class);
    c.insert("students", &students);
    let report = crate::class::links::dir(&portal.root, &access.class).join("report/index.html");
    c.insert("report", &report.is_file());
    render(include_str!("assets/class.html"), "class.html", &c)
}

async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, kind, body)) => (
            [
                (header::CONTENT_TYPE, *kind),
                (header::CACHE_CONTROL, "max-age=300"),
            ],
            *body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such asset\n").into_response(),
    }
}
