//! HTTPS for the portal: a listener whose connections are TLS (rustls),
//! each handshake done apart so that a slow or broken client holds up no
//! other.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::server::TlsStream;

use crate::error::{Error, Result};

/// Connections whose handshake is done.
pub struct Listener {
    ready: tokio::sync::mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

/// How long a client has for its handshake.
const HANDSHAKE: Duration = Duration::from_secs(10);

impl Listener {
    /// Serves TLS on `listener` with the certificate chain and key in
    /// `cert` and `key` (PEM); a file that is not one is an error naming it.
    pub fn bind(listener: TcpListener, cert: &Path, key: &Path) -> Result<Listener> {
        let bad = |p: &Path, what: &str| {
            Error::usage(format!("{} holds no {what} (PEM)", p.display()))
                .with_hint("--tls-cert takes the certificate chain, --tls-key its private key")
        };
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
            .map_err(|_| bad(cert, "certificate"))?
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| bad(cert, "certificate"))?;
        if chain.is_empty() {
            return Err(bad(cert, "certificate"));
        }
        let key = PrivateKeyDer::from_pem_file(key).map_err(|_| bad(key, "private key"))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .and_then(|b| b.with_no_client_auth().with_single_cert(chain, key))
            .map_err(|e| Error::usage(format!("the portal's certificate is refused: {e}")))?;
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let local = listener
            .local_addr()
            .map_err(|e| Error::caused("cannot read the portal's address", e))?;
        let (tx, ready) = tokio::sync::mpsc::channel(64);
        tokio::spawn(async move {
            loop {
                let Ok((tcp, peer)) = listener.accept().await else {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    if let Ok(Ok(tls)) = tokio::time::timeout(HANDSHAKE, acceptor.accept(tcp)).await
                    {
                        let _ = tx.send((tls, peer)).await;
                    }
                });
            }
        });
        Ok(Listener { ready, local })
    }
}

impl axum::serve::Listener for Listener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(c) => c,
            // The accepting task never ends while the listener lives.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// The portal's own certificate (`serve --tls-self`), made once under
/// `<state>/.portal/tls/` by a CA of its own for `names`, and made anew
/// when the names change: the certificate's and key's paths, and the
/// CA's (for the learners' browsers to trust).
pub fn own_certificate(
    root: &Path,
    names: &[String],
) -> Result<(std::path::PathBuf, std::path::PathBuf, std::path::PathBuf)> {
    use crate::error::Context;
    let dir = root.join(".portal/tls");
    let (cert, key, ca) = (
        dir.join("portal.crt"),
        dir.join("portal.key"),
        dir.join("ca.crt"),
    );
    let wanted = names.join("\n");
    let had = std::fs::read_to_string(dir.join("names")).unwrap_or_default();
    if had == wanted && cert.is_file() && key.is_file() && ca.is_file() {
        return Ok((cert, key, ca));
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    // The portal CA signs nothing more: its key is not kept.
    let (m, _) = crate::lab::state::make_certificates("infractl portal CA", names)?;
    for (path, text) in [
        (&ca, &m.ca_cert),
        (&cert, &m.cert),
        (&key, &m.key),
        (&dir.join("names"), &wanted),
    ] {
        crate::lab::state::write_private(path, text.as_bytes())
            .with_context(|| format!("cannot save {}", path.display()))?;
    }
    Ok((cert, key, ca))
}

/// The names the portal's own certificate is for: this machine's name,
/// `localhost`, the loopback address, and the address it listens on
/// when that is one address.
pub fn own_names(listen: &SocketAddr) -> Vec<String> {
    let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    if let Ok(h) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
        let h = h.trim();
        if !h.is_empty() && !names.iter().any(|n| n == h) {
            names.insert(0, h.to_string());
        }
    }
    let ip = listen.ip();
    if !ip.is_unspecified() && !ip.is_loopback() {
        names.push(ip.to_string());
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_portals_own_certificate_is_trusted_through_its_ca() {
        use rustls::pki_types::pem::PemObject;
        let root = tempfile::tempdir().expect("tmp");
        let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
        let (cert, key, ca) = own_certificate(root.path(), &names).expect("made");
        let again = own_certificate(root.path(), &names).expect("kept");
        assert_eq!(
            std::fs::read(&cert).expect("cert"),
            std::fs::read(&again.0).expect("cert"),
            "made once"
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).expect("key").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);

        let tcp = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let at = tcp.local_addr().expect("addr");
        let mut listener = Listener::bind(tcp, &cert, &key).expect("tls");
        let server = tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            let (mut io, _) = axum::serve::Listener::accept(&mut listener).await;
            io.write_all(b"hello").await.expect("write");
            io.shutdown().await.expect("close");
        });
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_file_iter(&ca).expect("ca") {
            roots.add(c.expect("pem")).expect("root");
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let tcp = TcpStream::connect(at).await.expect("connect");
        let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
        let mut tls = connector.connect(name, tcp).await.expect("handshake");
        let mut got = String::new();
        use tokio::io::AsyncReadExt;
        tls.read_to_string(&mut got).await.expect("read");
        assert_eq!(got, "hello");
        server.await.expect("server");
    }

    #[test]
    fn a_file_that_holds_no_certificate_is_named() {
        let dir = tempfile::tempdir().expect("tmp");
        let bad = dir.path().join("x.pem");
        std::fs::write(&bad, "not a certificate").expect("write");
        let rt = tokio::runtime::Runtime::new().expect("rt");
        let e = rt
            .block_on(async {
                let tcp = TcpListener::bind("127.0.0.1:0").await.expect("bind");
                Listener::bind(tcp, &bad, &bad).map(|_| ())
            })
            .expect_err("refused");
        assert!(
            e.report().contains("x.pem holds no certificate"),
            "{}",
            e.report()
        );
    }
}
