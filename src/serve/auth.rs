//! Who a request comes from, and what it may reach. A personal link
//! (`/join/TOKEN`, see `class::links`) is exchanged for a cookie holding
//! the same token (HttpOnly, SameSite=Strict); every later request is
//! known by its cookie's hash in the classes' `access.json`, read anew at
//! each request so that a revoked link stops at once and a restart loses
//! nothing.
//!
//! Routes take an extractor — [`LabAccess`] for a lab's routes,
//! [`ClassAccess`] for a class's — so a handler without the check cannot
//! be written. Anything that is not the caller's is 404, exactly as a lab
//! that does not exist: a learner cannot even learn which labs there are.
//! Wrong tokens and cookies are counted per client address, and past
//! [`TRIES`] a minute the address gets 429 until the minute ends, for
//! anything but a good cookie or link: those still pass, so that
//! learners sharing an address are not locked out by one of them.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};

use super::{Portal, PortalError};
use crate::class::links::{self, Role};

/// The cookie a link is exchanged for.
pub const COOKIE: &str = "infractl_portal";

/// Wrong tokens a client address may present in a minute.
pub const TRIES: u32 = 20;

/// Who a request comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Who {
    pub class: String,
    /// The student, or `instructor`.
    pub name: String,
    pub role: Role,
    /// The student's lab.
    pub lab: Option<String>,
    /// The labs they may reach: a learner their own, the instructor every
    /// lab of the class (read with the link, from the same file).
    pub reaches: Vec<String>,
}

impl Who {
    /// The page this person lands on (the operator's: the index, `/`).
    pub fn home(&self) -> String {
        match (&self.lab, self.role) {
            (Some(lab), _) => format!("/lab/{lab}"),
            (None, Role::Operator) => "/".into(),
            (None, _) => format!("/class/{}", self.class),
        }
    }
}

/// Who holds `token`, if anyone.
pub fn who(root: &std::path::Path, token: &str) -> Option<Who> {
    if !super::operator::is_token(token) {
        return None;
    }
    if super::operator::holds(root, token) {
        return Some(Who {
            class: String::new(),
            name: super::operator::OPERATOR.into(),
            role: Role::Operator,
            lab: None,
            reaches: super::operator::labs(root),
        });
    }
    let hash = links::hash(token);
    let now = links::now();
    links::all(root).into_iter().find_map(|access| {
        let e = access
            .entries
            .iter()
            .find(|e| e.hash == hash && e.valid_at(now))?;
        let reaches = match e.role {
            Role::Learner => e.lab.iter().cloned().collect(),
            Role::Instructor | Role::Operator => access
                .entries
                .iter()
                .filter_map(|x| x.lab.clone())
                .collect(),
        };
        Some(Who {
            class: access.class.clone(),
            name: e.who.trim_start_matches('@').to_string(),
            role: e.role,
            lab: e.lab.clone(),
            reaches,
        })
    })
}

/// Wrong tokens per client address, a minute at a time.
#[derive(Default)]
pub struct Limiter {
    failures: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl Limiter {
    const WINDOW: Duration = Duration::from_secs(60);

    /// Whether `ip` has used up its tries this minute.
    pub fn blocked(&self, ip: IpAddr) -> bool {
        let map = self.failures.lock().expect("limiter lock");
        map.get(&ip)
            .is_some_and(|(since, n)| since.elapsed() < Self::WINDOW && *n >= TRIES)
    }

    /// Counts a wrong token from `ip`.
    pub fn failed(&self, ip: IpAddr) {
        let mut map = self.failures.lock().expect("limiter lock");
        map.retain(|_, (since, _)| since.elapsed() < Self::WINDOW);
        let e = map.entry(ip).or_insert((Instant::now(), 0));
        e.1 += 1;
    }
}

/// The portal's cookie in a request's headers.
pub fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            let (k, v) = c.trim().split_once('=')?;
            (k == COOKIE).then(|| v.to_string())
        })
}

/// The client's address (the portal serves with connection info).
fn client(parts: &Parts) -> IpAddr {
    parts
        .extensions
        .get::<ConnectInfo<Peer>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0 .0.ip())
}

/// The address a connection comes from, over TCP or TLS.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

impl
    axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, tokio::net::TcpListener>>
    for Peer
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, tokio::net::TcpListener>) -> Peer {
        Peer(*stream.remote_addr())
    }
}

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, super::tls::Listener>>
    for Peer
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, super::tls::Listener>) -> Peer {
        Peer(*stream.remote_addr())
    }
}

/// Anyone holding a valid cookie.
pub struct Someone(pub Who);

impl FromRequestParts<Portal> for Someone {
    type Rejection = PortalError;

    async fn from_request_parts(parts: &mut Parts, portal: &Portal) -> Result<Self, PortalError> {
        let ip = client(parts);
        let token = cookie(&parts.headers);
        // A good cookie passes even from a blocked address: a class behind
        // one address (a school's NAT) is not locked out by one wrong link.
        if let Some(w) = token.as_deref().and_then(|t| who(&portal.root, t)) {
            return Ok(Someone(w));
        }
        if portal.limiter.blocked(ip) {
            return Err(PortalError::TooMany);
        }
        if token.is_some() {
            portal.limiter.failed(ip);
        }
        Err(PortalError::NotFound)
    }
}

/// A lab's route, taken by someone who may reach the lab (`{lab}` in the
/// path); anyone else gets 404.
pub struct LabAccess {
    pub who: Who,
    pub lab: String,
}

/// The caller, and the path's parameter `name` (the lab, the class).
async fn who_and(
    parts: &mut Parts,
    portal: &Portal,
    name: &str,
) -> Result<(Who, String), PortalError> {
    let Someone(who) = Someone::from_request_parts(parts, portal).await?;
    let Path(mut params) = Path::<HashMap<String, String>>::from_request_parts(parts, portal)
        .await
        .map_err(|_| PortalError::NotFound)?;
    let value = params.remove(name).ok_or(PortalError::NotFound)?;
    Ok((who, value))
}

impl FromRequestParts<Portal> for LabAccess {
    type Rejection = PortalError;

    async fn from_request_parts(parts: &mut Parts, portal: &Portal) -> Result<Self, PortalError> {
        let (who, lab) = who_and(parts, portal, "lab").await?;
        if !who.reaches.contains(&lab) {
            return Err(PortalError::NotFound);
        }
        Ok(LabAccess { who, lab })
    }
}

/// A class's route (`{class}` in the path), taken by its instructor (or
/// the machine's operator); anyone else gets 404.
pub struct ClassAccess {
    pub who: Who,
    pub class: String,
}

impl FromRequestParts<Portal> for ClassAccess {
    type Rejection = PortalError;

    async fn from_request_parts(parts: &mut Parts, portal: &Portal) -> Result<Self, PortalError> {
        let (who, class) = who_and(parts, portal, "class").await?;
        let instructor = who.role == Role::Instructor && who.class == class;
        if !instructor && who.role != Role::Operator {
            return Err(PortalError::NotFound);
        }
        Ok(ClassAccess { who, class })
    }
}

/// The client address, for the routes that count wrong tokens themselves.
pub struct Client(pub IpAddr);

impl FromRequestParts<Portal> for Client {
    type Rejection = PortalError;

    async fn from_request_parts(parts: &mut Parts, _: &Portal) -> Result<Self, PortalError> {
        Ok(Client(client(parts)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_portals_cookie_is_read() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            "a=1; infractl_portal=abc; b=2".parse().expect("h"),
        );
        assert_eq!(cookie(&h).as_deref(), Some("abc"));
        h.insert(header::COOKIE, "infractl_portalx=abc".parse().expect("h"));
        assert_eq!(cookie(&h), None);
    }

    #[test]
    fn an_address_is_blocked_after_its_tries_for_the_minute() {
        let l = Limiter::default();
        let ip = IpAddr::from([10, 0, 0, 1]);
        for _ in 0..TRIES - 1 {
            l.failed(ip);
        }
        assert!(!l.blocked(ip));
        l.failed(ip);
        assert!(l.blocked(ip));
        assert!(!l.blocked(IpAddr::from([10, 0, 0, 2])));
    }

    #[test]
    fn a_token_that_is_not_a_links_shape_is_nobody() {
        let root = tempfile::tempdir().expect("tmp");
        assert_eq!(who(root.path(), "../../etc/passwd"), None);
        assert_eq!(who(root.path(), &"a".repeat(64)), None);
    }
}
