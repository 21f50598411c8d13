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
