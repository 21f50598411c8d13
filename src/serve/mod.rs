//! `infractl serve`: the classroom portal. One process serves every class
//! this machine's state knows: each learner, through their personal link,
//! reaches their own lab's page (its diagram coloured live, terminals into
//! its servers, the site, stop/start/kill, explain and verify); the
//! instructor reaches the class's grid. It is another front end beside
//! the command line, over the same operations (`ops`, `class`); it keeps
//! no state of its own but the audit log.
//!
//! A `Router` per concern, merged here: `pages` (the HTML and its assets),
//! `live` (each page's event stream), `term` (terminals over WebSockets),
//! `site` (the lab's site through the portal), `actions` (what a page
//! asks to be done). Every route of a lab or class takes an extractor of
//! `auth`, so none can be written without the access check.

pub mod actions;
pub mod audit;
pub mod auth;
pub mod class;
pub mod exercise;
pub mod live;
pub mod monitor;
pub mod operator;
pub mod pages;
pub mod probes;
pub mod site;
pub mod term;
mod tls;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Router;

use crate::driver::Driver;
use crate::error::{Error, Result};
use crate::ops::Global;
use crate::render::plan::Plan;
use crate::topology::Topology;

/// How `serve` listens.
#[derive(Debug, Clone)]
pub struct Options {
    /// `127.0.0.1:8080` by default: this machine only.
    pub listen: String,
    /// A certificate and its key (PEM): HTTPS.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// HTTPS with a certificate of the portal's own CA (made once, kept
    /// in the state).
    pub tls_self: bool,
}

/// What every handler shares.
#[derive(Clone)]
pub struct Portal(Arc<Inner>);

pub struct Inner {
    pub global: Global,
    /// The state root (links, labs' records, the audit log).
    pub root: PathBuf,
    pub audit: audit::Audit,
    pub limiter: auth::Limiter,
    /// Labs opened so far, by name.
    labs: tokio::sync::Mutex<HashMap<String, Arc<LabHandle>>>,
    pub live: live::Hub,
    pub terms: term::Sessions,
    /// Served over HTTPS (cookies are `Secure`).
    pub secure: bool,
}

impl std::ops::Deref for Portal {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// A lab the portal has opened: its stack and plan, and a driver on its
/// engine.
pub struct LabHandle {
    pub lab: String,
    pub topo: Topology,
    pub plan: Plan,
    pub secrets: crate::lab::state::Secrets,
    pub driver: Arc<dyn Driver>,
    /// Its forwarder is known to be there (see `site`); held while it is
    /// made, so that requests coming at once make one.
    pub forwarder: tokio::sync::Mutex<bool>,
}

impl Portal {
    pub fn new(global: Global, secure: bool) -> Result<Portal> {
        let root = global.root();
        Ok(Portal(Arc::new(Inner {
            audit: audit::Audit::open(&root)?,
            root,
            global,
            limiter: auth::Limiter::default(),
            labs: tokio::sync::Mutex::new(HashMap::new()),
            live: live::Hub::default(),
            terms: term::Sessions::default(),
            secure,
        })))
    }

    /// The lab `lab`, opened on its engine on first use.
    pub async fn lab(&self, lab: &str) -> Result<Arc<LabHandle>> {
        if let Some(h) = self.labs.lock().await.get(lab) {
            return Ok(h.clone());
        }
        let loaded = crate::ops::load(lab, &self.global)?;
        let driver = crate::ops::driver(&self.global, &loaded.topo).await?;
        let handle = Arc::new(LabHandle {
            lab: lab.to_string(),
            topo: loaded.topo,
            plan: loaded.plan,
            secrets: loaded.secrets,
            driver: Arc::from(driver),
            forwarder: tokio::sync::Mutex::new(false),
        });
        self.labs
            .lock()
            .await
            .insert(lab.to_string(), handle.clone());
        Ok(handle)
    }

    /// Forgets an opened lab (it was reset, or its engine failed).
    pub async fn forget(&self, lab: &str) {
        self.labs.lock().await.remove(lab);
    }
}

/// What a route answers instead of what was asked.
#[derive(Debug)]
pub enum PortalError {
    /// Not there, or not the caller's: the same answer.
    NotFound,
    /// Too many wrong tokens from this address this minute.
    TooMany,
    /// The request itself is wrong.
    Bad(String),
    /// The lab or its engine failed.
    Failed(String),
}

impl From<Error> for PortalError {
    fn from(e: Error) -> Self {
        match e {
            Error::Usage { .. } | Error::Stack(_) => PortalError::Bad(e.headline()),
            _ => PortalError::Failed(e.headline()),
        }
    }
}

impl IntoResponse for PortalError {
    fn into_response(self) -> Response {
        match self {
            PortalError::NotFound => (
                StatusCode::NOT_FOUND,
                [("content-type", "text/html; charset=utf-8")],
                pages::NOT_FOUND,
            )
                .into_response(),
            PortalError::TooMany => (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", "60")],
                "too many wrong links from this address: wait a minute\n",
            )
                .into_response(),
            PortalError::Bad(m) => (StatusCode::BAD_REQUEST, m + "\n").into_response(),
            PortalError::Failed(m) => (StatusCode::BAD_GATEWAY, m + "\n").into_response(),
        }
    }
}

/// Every route of the portal.
pub fn router(portal: Portal) -> Router {
    Router::new()
        .merge(pages::router())
        .merge(live::router())
        .merge(term::router())
        .merge(site::router())
        .merge(actions::router())
        .merge(class::router())
        .merge(monitor::router())
        .merge(exercise::router())
        .layer(axum::extract::DefaultBodyLimit::max(1 << 20))
        .with_state(portal)
}

/// Serves until Ctrl-C (which stops it at once, as every command: the
/// pages' event streams never end by themselves). A port in use is an
/// error (exit 2) naming it.
pub async fn run(options: Options, global: Global, say: &dyn Fn(&str)) -> Result<i32> {
    let addr: SocketAddr = options.listen.parse().map_err(|_| {
        Error::usage(format!("--listen `{}` is not an address", options.listen))
            .with_hint("an address and a port: 127.0.0.1:8080, 0.0.0.0:8080, [::]:8443")
    })?;
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        let taken = e.kind() == std::io::ErrorKind::AddrInUse;
        let message = if taken {
            format!("cannot listen on {addr}: the port is in use (another `infractl serve`?)")
        } else {
            format!("cannot listen on {addr}: {e}")
        };
        Error::usage(message).with_hint("choose another with --listen ADDR:PORT")
    })?;
    let mut tls = options.tls.clone();
    if options.tls_self && tls.is_none() {
        let local = listener.local_addr().unwrap_or(addr);
        let (cert, key, ca) = tls::own_certificate(&global.root(), &tls::own_names(&local))?;
        say(&format!(
            "HTTPS with the portal's own certificate: learners' browsers trust it once they import {}",
            ca.display()
        ));
        tls = Some((cert, key));
    }
    let portal = Portal::new(global, tls.is_some())?;
    let classes = crate::class::links::all(&portal.root);
    let scheme = if tls.is_some() { "https" } else { "http" };
    let local = listener.local_addr().unwrap_or(addr);
    // The operator's own link, at an address of this machine: written
    // before `serve` says it listens, so it is there once it does.
    let host = match local.ip() {
        ip if ip.is_unspecified() => "localhost".to_string(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    let link = operator::write_link(&portal.root, &format!("{scheme}://{host}:{}", local.port()))?;
    let labs = operator::labs(&portal.root).len();
    let classes_said = match classes.len() {
        1 => "1 class".to_string(),
        n => format!("{n} classes"),
    };
    say(&format!(
        "serving {} ({classes_said}) on {scheme}://{local}/ (audit log: {})",
        crate::error::count(labs, "lab"),
        portal.audit.path.display()
    ));
    say(&where_to_open(&local, &classes));
    say(&format!(
        "your own link, to every lab and class of this machine: in {} (`cat` it; keep it to yourself)",
        link.display()
    ));
    let app = router(portal).into_make_service_with_connect_info::<auth::Peer>();
    let served = match tls {
        Some((cert, key)) => {
            let tls = tls::Listener::bind(listener, &cert, &key)?;
            axum::serve(tls, app).await
        }
        None => axum::serve(listener, app).await,
    };
    served.map_err(|e| Error::caused("the portal stopped", e))?;
    Ok(crate::error::EXIT_OK)
}

/// What to tell the instructor at start: how to hand out links, and how
/// to open the portal to the class when it listens on this machine only.
fn where_to_open(local: &SocketAddr, classes: &[crate::class::links::Access]) -> String {
    let mut s = String::new();
    match classes.first() {
        Some(a) => s.push_str(&format!(
            "links: `infractl class links {}` (one per student, and the instructor's)",
            a.file.display()
        )),
        None => s.push_str("no class yet: `infractl class up FILE` makes the labs and their links"),
    }
    if local.ip().is_loopback() {
        s.push_str(&format!(
            "\nthis machine only: to open it to the class, --listen 0.0.0.0:{} (HTTPS: --tls-self, or --tls-cert and --tls-key)",
            local.port()
        ));
    }
    s
}
