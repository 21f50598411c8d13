//! Where a Docker engine is, as the docker CLI finds it: an engine URL
//! (`unix://`, `tcp://` with or without TLS, `ssh://user@host`), a Docker
//! context (`--context`, `DOCKER_CONTEXT`, the config's `currentContext`),
//! `DOCKER_HOST`, or the local socket. A lab's record keeps the endpoint
//! its lab runs on, so later commands find the lab where it is.
//!
//! The order is the docker CLI's: `--engine` (its `-H`), `--context`,
//! `DOCKER_HOST`, `DOCKER_CONTEXT`, the config's current context, the local
//! socket. TLS follows its conventions too: `DOCKER_TLS_VERIFY` with
//! `DOCKER_CERT_PATH` (`ca.pem`, `cert.pem`, `key.pem`; the config folder
//! when unset), and a context's own TLS folder.

use super::tunnel::CONNECT_SECONDS;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bollard::Docker;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The local engine's socket.
pub const LOCAL: &str = "unix:///var/run/docker.sock";

/// Every request's deadline (an image's export or import is the longest).
const REQUEST_SECONDS: u64 = 600;

/// One Docker engine's address, and how to trust it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// `unix:///var/run/docker.sock`, `tcp://host:port`, `ssh://user@host`.
    pub host: String,
    /// A folder with `ca.pem`, `cert.pem` and `key.pem`: the engine is
    /// reached over TLS, its certificate checked against `ca.pem`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<PathBuf>,
    /// The Docker context it was found through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.context {
            Some(c) => write!(f, "{c} ({})", self.host),
            None => f.write_str(&self.host),
        }
    }
}

/// The environment as far as finding an engine goes (a seam for tests).
#[derive(Debug, Default, Clone)]
pub struct Env {
    pub docker_host: Option<String>,
    pub docker_context: Option<String>,
    pub tls_verify: bool,
    /// `DOCKER_TLS` set without `DOCKER_TLS_VERIFY`: TLS that trusts any
    /// certificate, which infractl does not do.
    pub tls_unverified: bool,
    pub cert_path: Option<PathBuf>,
    /// `DOCKER_CONFIG`, or `~/.docker`.
    pub config_dir: PathBuf,
}

impl Env {
    pub fn read() -> Env {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let config_dir = var("DOCKER_CONFIG").map(PathBuf::from).unwrap_or_else(|| {
            PathBuf::from(var("HOME").unwrap_or_else(|| "/root".into())).join(".docker")
        });
        Env {
            docker_host: var("DOCKER_HOST"),
            docker_context: var("DOCKER_CONTEXT"),
            tls_verify: var("DOCKER_TLS_VERIFY").is_some(),
            tls_unverified: var("DOCKER_TLS").is_some() && var("DOCKER_TLS_VERIFY").is_none(),
            cert_path: var("DOCKER_CERT_PATH").map(PathBuf::from),
            config_dir,
        }
    }
}

impl Endpoint {
    /// The local engine.
    pub fn local() -> Endpoint {
        Endpoint {
            host: LOCAL.into(),
            tls: None,
            context: None,
        }
    }

    /// An engine URL as written on a command line or in a class file;
    /// `tls` is the folder of its certificates when it is reached over TLS.
    pub fn parse(url: &str, tls: Option<PathBuf>) -> Result<Endpoint> {
        let bad = |why: &str| {
            Error::usage(format!("engine `{url}`: {why}")).with_hint(
                "an engine is unix:///PATH, tcp://HOST:PORT (TLS with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH, or `tls:` in a class file) or ssh://USER@HOST",
            )
        };
        // As the docker CLI's -H: `HOST:PORT` alone is TCP.
        let (scheme, rest) = url.split_once("://").unwrap_or(("tcp", url));
        // A folder named from elsewhere (a class file's, DOCKER_CERT_PATH)
        // is kept whole: the lab's record is read from anywhere.
        let tls = tls.map(|t| std::path::absolute(&t).unwrap_or(t));
        let host = match scheme {
            "unix" if rest.starts_with('/') => url.to_string(),
            "unix" => {
                return Err(bad(
                    "a socket's path is absolute (unix:///var/run/docker.sock)",
                ))
            }
            "tcp" | "http" | "https" => {
                let authority = rest.trim_end_matches('/');
                if authority.is_empty() || authority.contains('/') || authority.contains('@') {
                    return Err(bad("tcp:// takes a host and a port"));
                }
                // The docker CLI's default ports: 2376 over TLS, else 2375.
                let with_port = if authority.rsplit_once(':').is_some_and(|(h, p)| {
                    !h.is_empty() && !h.ends_with(':') && p.parse::<u16>().is_ok()
                }) {
                    authority.to_string()
                } else if tls.is_some() || scheme == "https" {
                    format!("{authority}:2376")
                } else {
                    format!("{authority}:2375")
                };
                format!("tcp://{with_port}")
            }
            "ssh" => {
                let authority = rest.trim_end_matches('/');
                if authority.is_empty() || authority.contains('/') {
                    return Err(bad("ssh:// takes [USER@]HOST[:PORT]"));
                }
                url.trim_end_matches('/').to_string()
            }
            other => {
                return Err(bad(&format!(
                    "`{other}://` is not a way to reach an engine"
                )))
            }
        };
        if scheme == "https" && tls.is_none() {
            return Err(bad(
                "https:// needs the engine's certificates (DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH)",
            ));
        }
        if tls.is_some() && !host.starts_with("tcp://") {
            return Err(bad("TLS is for tcp:// engines"));
        }
        Ok(Endpoint {
            host,
            tls,
            context: None,
        })
    }

    /// The engine the docker CLI would use: `--engine`, `--context`,
    /// `DOCKER_HOST`, `DOCKER_CONTEXT`, the config's `currentContext`, the
    /// local socket.
    pub fn choose(engine: Option<&str>, context: Option<&str>, env: &Env) -> Result<Endpoint> {
        if engine.is_some() && context.is_some() {
            return Err(Error::usage(
                "--engine and --context both name an engine: give one",
            ));
        }
        if let Some(url) = engine {
            return Endpoint::from_env_url(url, env);
        }
        if let Some(name) = context {
            return Endpoint::context(name, env);
        }
        if let Some(url) = &env.docker_host {
            return Endpoint::from_env_url(url, env);
        }
        if let Some(name) = &env.docker_context {
            return Endpoint::context(name, env);
        }
        match current_context(&env.config_dir)? {
            Some(name) => Endpoint::context(&name, env),
            None => Ok(Endpoint::local()),
        }
    }

    /// The explicit choice (`--engine`, `--context`), if any.
    pub fn explicit(engine: Option<&str>, context: Option<&str>) -> Result<Option<Endpoint>> {
        if engine.is_none() && context.is_none() {
            return Ok(None);
        }
        Endpoint::choose(engine, context, &Env::read()).map(Some)
    }

    /// The engine the environment names outright — `DOCKER_HOST`, else
    /// `DOCKER_CONTEXT` — with the variable that names it; none when
    /// neither is set (the config's current context is a standing
    /// setting, not a choice made for this command).
    pub fn named_by_env(env: &Env) -> Result<Option<(Endpoint, &'static str)>> {
        if let Some(url) = &env.docker_host {
            return Ok(Some((Endpoint::from_env_url(url, env)?, "DOCKER_HOST")));
        }
        if let Some(name) = &env.docker_context {
            return Ok(Some((Endpoint::context(name, env)?, "DOCKER_CONTEXT")));
        }
        Ok(None)
    }

    /// How a command line names this engine: `--context NAME` for one
    /// found through a context, else `--engine URL`.
    pub fn flag(&self) -> String {
        match &self.context {
            Some(c) => format!("--context {c}"),
            None => format!("--engine {}", self.host),
        }
    }

    /// The engine the environment names (as the docker CLI with no flags).
    pub fn ambient() -> Result<Endpoint> {
        Endpoint::choose(None, None, &Env::read())
    }

    /// A URL given as `-H`/`DOCKER_HOST` would be: TLS per the environment.
    fn from_env_url(url: &str, env: &Env) -> Result<Endpoint> {
        if env.tls_unverified && !url.starts_with("unix://") && !url.starts_with("ssh://") {
            return Err(Error::usage(
                "DOCKER_TLS is set without DOCKER_TLS_VERIFY: infractl always checks the engine's certificate",
            )
            .with_hint("set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH to the folder of ca.pem, cert.pem and key.pem"));
        }
        let tls = (env.tls_verify && (url.starts_with("tcp://") || url.starts_with("https://")))
            .then(|| {
                env.cert_path
                    .clone()
                    .unwrap_or_else(|| env.config_dir.clone())
            });
        Endpoint::parse(url, tls)
    }

    /// The Docker context `name`, as `docker context create` stored it:
    /// `contexts/meta/<sha256 of the name>/meta.json` in the config folder,
    /// its certificates in `contexts/tls/<sha256>/docker/`.
    pub fn context(name: &str, env: &Env) -> Result<Endpoint> {
        if name == "default" {
            return match &env.docker_host {
                Some(url) => Endpoint::from_env_url(url, env),
                None => Ok(Endpoint::local()),
            };
        }
        let id = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(name.as_bytes()));
        let meta = env
            .config_dir
            .join("contexts/meta")
            .join(&id)
            .join("meta.json");
        let text = std::fs::read_to_string(&meta).map_err(|_| {
            Error::usage(format!(
                "Docker context `{name}` not found (no {})",
                meta.display()
            ))
            .with_hint("`docker context ls` lists the contexts; `docker context create` makes one")
        })?;
        let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            Error::usage(format!("Docker context `{name}`: {}: {e}", meta.display()))
        })?;
        let docker = &value["Endpoints"]["docker"];
        let host = docker["Host"].as_str().ok_or_else(|| {
            Error::usage(format!(
                "Docker context `{name}` has no Docker endpoint ({})",
                meta.display()
            ))
        })?;
        if docker["SkipTLSVerify"].as_bool() == Some(true) {
            return Err(Error::usage(format!(
                "Docker context `{name}` skips TLS verification: infractl always checks the engine's certificate"
            )));
        }
        let tls_dir = env.config_dir.join("contexts/tls").join(&id).join("docker");
        let tls = tls_dir.join("ca.pem").exists().then_some(tls_dir);
        let mut endpoint = Endpoint::parse(host, tls)?;
        endpoint.context = Some(name.to_string());
        Ok(endpoint)
    }

    /// Whether both name one engine: the same address, however they were
    /// named (a URL, a context) and whatever certificates reach it.
    pub fn same_engine(&self, other: &Endpoint) -> bool {
        self.host == other.host
    }

    /// The engine's host as a browser on this machine reaches it: none
    /// for the local socket (`localhost`).
    pub fn host_name(&self) -> Option<&str> {
        let rest = self
            .host
            .strip_prefix("tcp://")
            .or_else(|| self.host.strip_prefix("ssh://"))?;
        let rest = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
        let host = match rest.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(v6),
            None => rest.rsplit_once(':').map_or(rest, |(h, _)| h),
        };
        Some(host).filter(|h| !h.is_empty() && *h != "localhost" && *h != "127.0.0.1")
    }

    /// Connects and agrees on an API version; one clear error, within
    /// seconds, when the engine cannot be reached.
    pub async fn connect(&self) -> Result<Docker> {
        let unreachable = |why: Option<Why>| self.unreachable(why);
        let version = bollard::API_DEFAULT_VERSION;
        let docker = if self.host.starts_with("unix://") {
            Docker::connect_with_unix(&self.host, REQUEST_SECONDS, version)
        } else if self.host.starts_with("ssh://") {
            let socket = super::tunnel::open(&self.host).await?;
            Docker::connect_with_unix(
                &format!("unix://{}", socket.display()),
                REQUEST_SECONDS,
                version,
            )
        } else if let Some(dir) = &self.tls {
            for file in ["ca.pem", "cert.pem", "key.pem"] {
                if !dir.join(file).is_file() {
                    return Err(Error::usage(format!(
                        "engine {self}: no {} (its TLS folder needs ca.pem, cert.pem and key.pem)",
                        dir.join(file).display()
                    )));
                }
            }
            Docker::connect_with_ssl(
                &self.host,
                &dir.join("key.pem"),
                &dir.join("cert.pem"),
                &dir.join("ca.pem"),
                REQUEST_SECONDS,
                version,
            )
        } else {
            Docker::connect_with_http(&self.host, REQUEST_SECONDS, version)
        }
        .map_err(|e| unreachable(Some(Why::of(&e))))?;
        let reach = async {
            let docker = docker.negotiate_version().await?;
            docker.ping().await?;
            Ok::<_, bollard::errors::Error>(docker)
        };
        match tokio::time::timeout(Duration::from_secs(CONNECT_SECONDS), reach).await {
            Ok(Ok(docker)) => Ok(docker),
            Ok(Err(e)) => Err(unreachable(Some(Why::of(&e)))),
            Err(_) => Err(unreachable(Some(Why::Silent))),
        }
    }

    /// "cannot reach the Docker engine at …", why in a few plain words
    /// (never the HTTP client's own), and what to try.
    fn unreachable(&self, why: Option<Why>) -> Error {
        let others = "or name another engine (--engine, --context, DOCKER_HOST)";
        let hint = match (&why, self.host.strip_prefix("unix://")) {
            (Some(Why::Denied), Some(_)) => format!(
                "this user may not use the engine's socket: add it to the `docker` group (`sudo usermod -aG docker $USER`, then log in again), {others}"
            ),
            (_, Some(_)) => format!(
                "is the engine running? start it (`sudo systemctl start docker`), {others}"
            ),
            (_, None) => format!(
                "is the engine at {} running, and its port open to this machine? {others}",
                self.host_name().unwrap_or(&self.host)
            ),
        };
        let why = match why {
            Some(Why::Said(s)) => format!(": {s}"),
            Some(Why::Denied) => ": permission denied".into(),
            Some(Why::Silent) => format!(": no answer within {CONNECT_SECONDS} s"),
            None => String::new(),
        };
        Error::failure(format!("cannot reach the Docker engine at {self}{why}")).with_hint(hint)
    }
}

/// Why an engine could not be reached.
#[derive(Debug, PartialEq, Eq)]
enum Why {
    /// In a few words: `connection refused`, `no socket at /x.sock`.
    Said(String),
    /// Its socket is not this user's to use.
    Denied,
    /// It did not answer in time.
    Silent,
}

impl Why {
    /// The few words of an error from the engine's client: the system's
    /// own (`connection refused`) when the chain of causes holds one, the
    /// innermost cause's otherwise; never the HTTP client's wrapping
    /// (`error trying to connect`, `client error (Connect)`).
    fn of(e: &bollard::errors::Error) -> Why {
        use std::io::ErrorKind;
        if let bollard::errors::Error::SocketNotFoundError(path) = e {
            return Why::Said(format!("no socket at {path}"));
        }
        if matches!(e, bollard::errors::Error::RequestTimeoutError) {
            return Why::Silent;
        }
        let mut innermost: &(dyn std::error::Error + 'static) = e;
        let mut io = match e {
            bollard::errors::Error::IOError { err } => Some(err),
            _ => None,
        };
        while let Some(next) = innermost.source() {
            innermost = next;
            if let Some(x) = next.downcast_ref::<std::io::Error>() {
                io = io.or(Some(x));
            }
        }
        if let Some(x) = io.or_else(|| innermost.downcast_ref::<std::io::Error>()) {
            return match x.kind() {
                ErrorKind::PermissionDenied => Why::Denied,
                ErrorKind::TimedOut => Why::Silent,
                ErrorKind::ConnectionRefused => Why::Said("connection refused".into()),
                ErrorKind::NotFound => Why::Said("no such socket".into()),
                ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted => {
                    Why::Said("the connection was closed".into())
                }
                ErrorKind::HostUnreachable | ErrorKind::NetworkUnreachable => {
                    Why::Said("no route to the host".into())
                }
                _ if x.to_string().starts_with("failed to lookup address") => {
                    Why::Said("no such host".into())
                }
                _ => Why::Said(plain_io(x)),
            };
        }
        Why::Said(innermost.to_string())
    }
}

/// An I/O error's message without its `(os error N)`.
fn plain_io(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.rfind(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// The config's `currentContext`, if one is set (and not `default`).
fn current_context(config_dir: &Path) -> Result<Option<String>> {
    let path = config_dir.join("config.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::usage(format!("cannot read {}: {e}", path.display())))?;
    Ok(value["currentContext"]
        .as_str()
        .filter(|c| !c.is_empty() && *c != "default")
        .map(str::to_string))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreachable_engine_is_said_in_plain_words() {
        use bollard::errors::Error as B;
        let io = |kind| B::from(std::io::Error::from(kind));
        let said = |e: &B| Why::of(e);
        assert_eq!(
            said(&B::SocketNotFoundError("/x.sock".into())),
            Why::Said("no socket at /x.sock".into())
        );
        assert_eq!(
            said(&io(std::io::ErrorKind::ConnectionRefused)),
            Why::Said("connection refused".into())
        );
        assert_eq!(said(&io(std::io::ErrorKind::PermissionDenied)), Why::Denied);
        assert_eq!(said(&B::RequestTimeoutError), Why::Silent);
        let local = Endpoint::parse("unix:///x.sock", None).unwrap();
        let e = local.unreachable(Some(Why::Denied));
        assert_eq!(
            e.headline(),
            "cannot reach the Docker engine at unix:///x.sock: permission denied"
        );
        assert!(e.hint_text().unwrap().contains("`docker` group"));
    }

    fn env(dir: &Path) -> Env {
        Env {
            config_dir: dir.to_path_buf(),
            ..Env::default()
        }
    }

    fn write_context(dir: &Path, name: &str, host: &str, tls: bool) {
        let id = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(name.as_bytes()));
        let meta = dir.join("contexts/meta").join(&id);
        std::fs::create_dir_all(&meta).unwrap();
        std::fs::write(
            meta.join("meta.json"),
            format!(
                r#"{{"Name":"{name}","Metadata":{{}},"Endpoints":{{"docker":{{"Host":"{host}","SkipTLSVerify":false}}}}}}"#
            ),
        )
        .unwrap();
        if tls {
            let t = dir.join("contexts/tls").join(&id).join("docker");
            std::fs::create_dir_all(&t).unwrap();
            std::fs::write(t.join("ca.pem"), "").unwrap();
        }
    }

    #[test]
    fn urls_are_read_as_the_docker_cli_reads_them() {
        let e = Endpoint::parse("tcp://10.0.0.7", None).unwrap();
        assert_eq!(e.host, "tcp://10.0.0.7:2375");
        let e = Endpoint::parse("tcp://10.0.0.7", Some("/c".into())).unwrap();
        assert_eq!(e.host, "tcp://10.0.0.7:2376");
        assert_eq!(e.host_name(), Some("10.0.0.7"));
        let e = Endpoint::parse("ssh://ann@lab-7:2222", None).unwrap();
        assert_eq!(e.host_name(), Some("lab-7"));
        assert_eq!(Endpoint::local().host_name(), None);
        assert_eq!(
            Endpoint::parse("10.0.0.7:2375", None).unwrap().host,
            "tcp://10.0.0.7:2375"
        );
        let e = Endpoint::parse("tcp://h", Some("certs".into())).unwrap();
        assert!(e.tls.unwrap().is_absolute());
        for (bad, says) in [
            ("unix://docker.sock", "absolute"),
            ("ftp://x", "`ftp://` is not a way"),
            ("https://x:2376", "needs the engine's certificates"),
        ] {
            let e = Endpoint::parse(bad, None).unwrap_err().report();
            assert!(e.contains(says), "{bad}: {e}");
        }
        let e = Endpoint::parse("ssh://x", Some("/c".into())).unwrap_err();
        assert!(e.report().contains("TLS is for tcp://"));
    }

    #[test]
    fn the_engine_is_chosen_in_the_docker_clis_order() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write_context(d, "school", "tcp://192.0.2.7:2376", true);
        write_context(d, "plain", "tcp://192.0.2.8:2375", false);
        let mut env = env(d);
        // Nothing set: the local socket.
        assert_eq!(
            Endpoint::choose(None, None, &env).unwrap(),
            Endpoint::local()
        );
        // The config's current context.
        std::fs::write(d.join("config.json"), r#"{"currentContext":"plain"}"#).unwrap();
        let e = Endpoint::choose(None, None, &env).unwrap();
        assert_eq!(
            (e.host.as_str(), e.tls.is_none()),
            ("tcp://192.0.2.8:2375", true)
        );
        assert_eq!(e.to_string(), "plain (tcp://192.0.2.8:2375)");
        // DOCKER_CONTEXT over the config; its TLS folder is the context's.
        env.docker_context = Some("school".into());
        let e = Endpoint::choose(None, None, &env).unwrap();
        assert_eq!(e.context.as_deref(), Some("school"));
        assert!(e.tls.unwrap().ends_with("docker"));
        // DOCKER_HOST over DOCKER_CONTEXT, with TLS from the environment.
        env.docker_host = Some("tcp://192.0.2.9:2376".into());
        env.tls_verify = true;
        env.cert_path = Some("/certs".into());
        let e = Endpoint::choose(None, None, &env).unwrap();
        assert_eq!(e.host, "tcp://192.0.2.9:2376");
        assert_eq!(e.tls.as_deref(), Some(Path::new("/certs")));
        // The flags over everything; both at once is refused.
        let e = Endpoint::choose(None, Some("plain"), &env).unwrap();
        assert_eq!(e.context.as_deref(), Some("plain"));
        let e = Endpoint::choose(Some("unix:///run/d.sock"), None, &env).unwrap();
        assert_eq!((e.host.as_str(), e.tls), ("unix:///run/d.sock", None));
        assert!(Endpoint::choose(Some(LOCAL), Some("plain"), &env).is_err());
        // `default` is DOCKER_HOST or the socket; an unknown context says so.
        let e = Endpoint::choose(None, Some("default"), &env).unwrap();
        assert_eq!(e.host, "tcp://192.0.2.9:2376");
        let e = Endpoint::choose(None, Some("nowhere"), &env).unwrap_err();
        assert!(e.report().contains("Docker context `nowhere` not found"));
        // What the environment names outright: DOCKER_HOST, then
        // DOCKER_CONTEXT; the config's current context is no such choice.
        let (e, var) = Endpoint::named_by_env(&env).unwrap().unwrap();
        assert_eq!(
            (e.host.as_str(), var),
            ("tcp://192.0.2.9:2376", "DOCKER_HOST")
        );
        assert_eq!(e.flag(), "--engine tcp://192.0.2.9:2376");
        let only_context = Env {
            docker_host: None,
            ..env.clone()
        };
        let (e, var) = Endpoint::named_by_env(&only_context).unwrap().unwrap();
        assert_eq!(
            (e.flag().as_str(), var),
            ("--context school", "DOCKER_CONTEXT")
        );
        assert!(Endpoint::named_by_env(&self::env(d)).unwrap().is_none());
        // TLS that verifies nothing is refused.
        env.tls_verify = false;
        env.tls_unverified = true;
        let e = Endpoint::choose(None, None, &env).unwrap_err();
        assert!(e.report().contains("DOCKER_TLS_VERIFY"), "{}", e.report());
    }

    #[test]
    fn engine_urls_at_the_edges() {
        let host = |url: &str| Endpoint::parse(url, None).map(|e| e.host);
        // A trailing slash goes; http is plain TCP; a port is kept.
        assert_eq!(host("tcp://h:2380/").unwrap(), "tcp://h:2380");
        assert_eq!(host("http://h").unwrap(), "tcp://h:2375");
        assert_eq!(host("ssh://ann@h/").unwrap(), "ssh://ann@h");
        // An IPv6 address without a port gets the default one.
        assert_eq!(host("tcp://[::1]").unwrap(), "tcp://[::1]:2375");
        assert_eq!(host("tcp://[::1]:2380").unwrap(), "tcp://[::1]:2380");
        // Over TLS: https, and the default port is 2376.
        let tls = Endpoint::parse("https://h", Some("/certs".into())).unwrap();
        assert_eq!(tls.host, "tcp://h:2376");
        for (bad, says) in [
            ("tcp://", "tcp:// takes a host and a port"),
            ("tcp://h/path", "tcp:// takes a host and a port"),
            ("tcp://ann@h", "tcp:// takes a host and a port"),
            ("ssh://", "ssh:// takes [USER@]HOST[:PORT]"),
            ("ssh://h/x", "ssh:// takes [USER@]HOST[:PORT]"),
        ] {
            let e = Endpoint::parse(bad, None).unwrap_err().report();
            assert!(e.contains(says), "{bad}: {e}");
        }
        let e = Endpoint::parse("unix:///x.sock", Some("/c".into())).unwrap_err();
        assert!(e.report().contains("TLS is for tcp://"));
    }

    #[test]
    fn the_machine_a_browser_reaches_is_the_engines_host() {
        let name = |url: &str| {
            Endpoint::parse(url, None)
                .unwrap()
                .host_name()
                .map(str::to_string)
        };
        assert_eq!(
            name("tcp://[2001:db8::7]:2375").as_deref(),
            Some("2001:db8::7")
        );
        assert_eq!(name("ssh://ann@lab-7").as_deref(), Some("lab-7"));
        assert_eq!(name("tcp://localhost:2375"), None);
        assert_eq!(name("tcp://127.0.0.1:2375"), None);
        assert_eq!(name("unix:///run/docker.sock"), None);
        let mut e = Endpoint::parse("tcp://h", None).unwrap();
        assert_eq!(
            (e.to_string(), e.flag()),
            ("tcp://h:2375".into(), "--engine tcp://h:2375".into())
        );
        e.context = Some("school".into());
        assert_eq!(
            (e.to_string(), e.flag()),
            ("school (tcp://h:2375)".into(), "--context school".into())
        );
        assert!(e.same_engine(&Endpoint::parse("h:2375", None).unwrap()));
    }

    #[test]
    fn io_errors_lose_their_os_error_number() {
        let e = std::io::Error::from_raw_os_error(111);
        assert!(e.to_string().ends_with("(os error 111)"));
        assert!(!plain_io(&e).contains("os error"));
        assert_eq!(plain_io(&std::io::Error::other("plain")), "plain");
    }

    #[test]
    fn the_current_context_is_read_from_the_config() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        assert_eq!(current_context(d).unwrap(), None);
        for (config, context) in [
            (r#"{"currentContext":"school"}"#, Some("school")),
            (r#"{"currentContext":"default"}"#, None),
            (r#"{"currentContext":""}"#, None),
            (r#"{"auths":{}}"#, None),
        ] {
            std::fs::write(d.join("config.json"), config).unwrap();
            assert_eq!(current_context(d).unwrap().as_deref(), context, "{config}");
        }
        std::fs::write(d.join("config.json"), "{").unwrap();
        assert!(current_context(d)
            .unwrap_err()
            .report()
            .contains("cannot read"));
    }
}
