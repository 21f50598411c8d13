//! The lab's site through the portal, behind the learner's cookie:
//! `/lab/LAB/site/PATH` is `PATH` on the site as the public reaches it,
//! through the lab's forwarder over the engine's own API (no port of the
//! engine's host: a class's labs publish none unless told to), over
//! HTTPS trusting the lab's own CA when the stack has TLS. Links of its pages that start at the site's root are
//! rewritten under the portal's prefix; each answer keeps the headers
//! that say which load balancer, web and application server served it.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use http_body_util::BodyExt;
use tokio::net::TcpStream;

use super::auth::LabAccess;
use super::{LabHandle, Portal, PortalError};

pub fn router() -> Router<Portal> {
    Router::new()
        .route("/lab/{lab}/site", any(to_root))
        .route("/lab/{lab}/site/", any(proxy))
        .route("/lab/{lab}/site/{*path}", any(proxy))
}

async fn to_root(access: LabAccess) -> Response {
    axum::response::Redirect::to(&format!("/lab/{}/site/", access.lab)).into_response()
}

/// The largest body passed either way.
const LIMIT: usize = 4 << 20;

async fn proxy(
    access: LabAccess,
    State(portal): State<Portal>,
    request: Request,
) -> Result<Response, PortalError> {
    let lab = portal.lab(&access.lab).await?;
    let prefix = format!("/lab/{}/site", access.lab);
    let path = request
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .strip_prefix(&prefix)
        .unwrap_or("/")
        .to_string();
    let (mut parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|_| PortalError::Bad("the request's body could not be read".into()))?
        .to_bytes();
    if body.len() > LIMIT {
        return Err(PortalError::Bad("the request's body is too large".into()));
    }
    parts.uri = Uri::try_from(path).map_err(|_| PortalError::NotFound)?;
    parts.headers.remove(header::COOKIE);
    parts.headers.insert(
        header::HOST,
        HeaderValue::from_str(&lab.topo.site_host())
            .unwrap_or(HeaderValue::from_static("localhost")),
    );
    let forwarded = hyper::Request::from_parts(parts, http_body_util::Full::new(body));
    let answer = send(&portal, &lab, forwarded).await?;
    Ok(rewrite(answer, &prefix).await)
}

/// A connection to the lab's site: through the engine, to the lab's
/// forwarder (its site need not be published anywhere); straight to the
/// site's address where the hosts are real machines with addresses of
/// their own (a lab over SSH).
async fn connect(portal: &Portal, lab: &LabHandle) -> Result<crate::driver::Connection, String> {
    let port = lab.topo.site_port();
    if let Some(publisher) = lab.driver.publisher() {
        {
            let mut there = lab.forwarder.lock().await;
            if !*there {
                forwarder(portal, lab).await?;
                *there = true;
            }
        }
        let connected = publisher.connect(port).await;
        if connected.is_err() {
            // Gone (the lab went down, or was made anew): looked for again.
            *lab.forwarder.lock().await = false;
        }
        return connected.map_err(|e| e.headline());
    }
    let address = crate::topology::public::users_network(&lab.topo)
        .and_then(|n| crate::topology::public::site_address(&lab.topo, &n))
        .ok_or("the stack has no entry point on a network users reach")?;
    let tcp = TcpStream::connect((address, port))
        .await
        .map_err(|e| format!("{address}:{port}: {e}"))?;
    Ok(Box::new(tcp))
}

/// The lab's forwarder, made when the lab has none (a lab brought up
/// alone, without `--publish`), published as its record says: what an
/// `up` of the lab would keep.
async fn forwarder(portal: &Portal, lab: &LabHandle) -> Result<(), String> {
    let record = crate::lab::read(&portal.global.state(&lab.lab))
        .ok_or_else(|| format!("lab `{}` has no record", lab.lab))?;
    let engine = record
        .engine
        .ok_or_else(|| format!("lab `{}` is down", lab.lab))?;
    crate::ops::up::publish(&*lab.driver, &engine, &lab.topo, &lab.plan, record.publish)
        .await
        .map(|_| ())
        .map_err(|e| e.headline())
}

async fn send(
    portal: &Portal,
    lab: &LabHandle,
    request: hyper::Request<http_body_util::Full<bytes::Bytes>>,
) -> Result<hyper::Response<hyper::body::Incoming>, PortalError> {
    let failed = |e: &dyn std::fmt::Display| {
        PortalError::Failed(format!(
            "the site of lab `{}` does not answer: {e}",
            lab.lab
        ))
    };
    let stream = connect(portal, lab).await.map_err(|e| failed(&e))?;
    if lab.topo.tls() {
        let tls = connector(portal, lab).map_err(|e| failed(&e))?;
        // The site's own name, which its certificate names.
        let name = rustls::pki_types::ServerName::try_from(lab.topo.site_host())
            .map_err(|e| failed(&e))?;
        let stream = tls.connect(name, stream).await.map_err(|e| failed(&e))?;
        exchange(hyper_util::rt::TokioIo::new(stream), request)
            .await
            .map_err(|e| failed(&e))
    } else {
        exchange(hyper_util::rt::TokioIo::new(stream), request)
            .await
            .map_err(|e| failed(&e))
    }
}

/// A TLS client trusting the lab's CA alone.
fn connector(portal: &Portal, lab: &LabHandle) -> Result<tokio_rustls::TlsConnector, String> {
    use rustls::pki_types::pem::PemObject;
    let path = portal.global.state(&lab.lab).path.join("tls/ca.crt");
    let mut roots = rustls::RootCertStore::empty();
    for cert in
        rustls::pki_types::CertificateDer::pem_file_iter(&path).map_err(|e| e.to_string())?
    {
        roots
            .add(cert.map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(std::sync::Arc::new(
        config,
    )))
}

async fn exchange<S>(
    io: hyper_util::rt::TokioIo<S>,
    request: hyper::Request<http_body_util::Full<bytes::Bytes>>,
) -> Result<hyper::Response<hyper::body::Incoming>, hyper::Error>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io).await?;
    tokio::spawn(connection);
    sender.send_request(request).await
}

/// The site's answer for the browser: its headers but those of the
/// connection, redirects and root links under `prefix`.
async fn rewrite(answer: hyper::Response<hyper::body::Incoming>, prefix: &str) -> Response {
    let (mut parts, body) = answer.into_parts();
    for h in [
        header::CONNECTION,
        header::TRANSFER_ENCODING,
        header::STRICT_TRANSPORT_SECURITY,
        header::SET_COOKIE,
    ] {
        parts.headers.remove(h);
    }
    if let Some(loc) = parts
        .headers
        .get(header::LOCATION)
        .and_then(|l| l.to_str().ok())
    {
        let path = match loc.find("://") {
            Some(i) => loc[i + 3..].find('/').map_or("/", |j| &loc[i + 3 + j..]),
            None => loc,
        };
        if path.starts_with('/') {
            if let Ok(v) = HeaderValue::from_str(&format!("{prefix}{path}")) {
                parts.headers.insert(header::LOCATION, v);
            }
        }
    }
    let html = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|c| c.to_str().ok())
        .is_some_and(|c| c.starts_with("text/html"));
    let Ok(bytes) = body.collect().await.map(|b| b.to_bytes()) else {
        return PortalError::Failed("the site's answer was cut off".into()).into_response();
    };
    let bytes = if html {
        let text = String::from_utf8_lossy(&bytes);
        let mut out = text.into_owned();
        for attr in ["href=\"/", "src=\"/", "action=\"/"] {
            out = out.replace(attr, &format!("{}{prefix}/", &attr[..attr.len() - 1]));
        }
        parts.headers.remove(header::CONTENT_LENGTH);
        bytes::Bytes::from(out)
    } else {
        bytes
    };
    Response::from_parts(parts, Body::from(bytes))
}
