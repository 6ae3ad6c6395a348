//! TLS, both ends: the listeners' side (`serve --tls-cert/--tls-key`, with
//! `--tls-client-ca` for client certificates) and the control API client's side
//! (`--server https://...` with `--ca-cert`, `--client-cert/--client-key`).
//!
//! This module is configuration only: which files, read and checked into rustls (server)
//! and tonic (client) settings, naming the file at fault. The handshakes themselves are
//! [`crate::listen`]'s, on the accept path.
//!
//! One crypto provider, aws-lc-rs (the one reqwest and rustls already bring), chosen
//! explicitly: rustls is built with ring as well, so its process default is ambiguous.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{self, RootCertStore};

/// A TLS file that cannot be used, named so the user knows which flag to fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("{}: {reason}", path.display())]
    Invalid { path: PathBuf, reason: String },
    #[error("{0}")]
    Config(String),
}

/// The server's certificate files (`serve --tls-cert/--tls-key/--tls-client-ca`).
#[derive(Clone, Debug)]
pub struct ServerTls {
    /// PEM: the server's certificate chain, leaf first.
    pub cert: PathBuf,
    /// PEM: the private key of the leaf (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// PEM: the CA certificates client certificates must chain to; when set, a client
    /// without a valid certificate is refused during the handshake.
    pub client_ca: Option<PathBuf>,
}

impl ServerTls {
    /// The rustls configuration of a listener offering `alpn` (`h2` for gRPC; `h2` and
    /// `http/1.1` for OTLP/HTTP).
    ///
    /// # Errors
    /// [`Error`] naming the file that is missing, not PEM, holds no certificate or key, or
    /// whose key does not match the certificate.
    pub fn server_config(&self, alpn: &[&[u8]]) -> Result<Arc<rustls::ServerConfig>, Error> {
        let chain = read_certificates(&self.cert)?;
        let key = read_key(&self.key)?;
        let builder = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|error| Error::Config(error.to_string()))?;
        let builder = match &self.client_ca {
            None => builder.with_no_client_auth(),
            Some(path) => {
                let roots = root_store(path)?;
                let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
                    .build()
                    .map_err(|error| invalid(path, error))?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        let mut config = builder.with_single_cert(chain, key).map_err(|error| Error::Invalid {
            path: self.key.clone(),
            reason: format!("does not fit {}: {error}", self.cert.display()),
        })?;
        config.alpn_protocols = alpn.iter().map(|protocol| protocol.to_vec()).collect();
        Ok(Arc::new(config))
    }
}

/// The client's TLS files (`--ca-cert`, `--client-cert`, `--client-key`); all unset means
/// the platform's roots and no client certificate.
#[derive(Clone, Debug, Default)]
pub struct ClientTls {
    /// PEM: verify the server against these CA certificates instead of the platform's roots.
    pub ca_cert: Option<PathBuf>,
    /// PEM: a client certificate chain for a server that demands one (mTLS).
    pub client_cert: Option<PathBuf>,
    /// PEM: the key of `client_cert`.
    pub client_key: Option<PathBuf>,
}

impl ClientTls {
    /// Whether any file was given (which only makes sense with an `https://` server).
    pub fn is_set(&self) -> bool {
        self.ca_cert.is_some() || self.client_cert.is_some() || self.client_key.is_some()
    }

    /// tonic's client TLS settings for these files.
    ///
    /// # Errors
    /// [`Error`] naming a file that cannot be read or holds no certificate or key, or
    /// [`Error::Config`] when only one of the client certificate and key is given.
    pub fn tonic_config(&self) -> Result<tonic::transport::ClientTlsConfig, Error> {
        use tonic::transport::{Certificate, ClientTlsConfig, Identity};
        let mut config = ClientTlsConfig::new();
        config = match &self.ca_cert {
            Some(path) => {
                // Parsed here too, so a bad file is named now rather than at the handshake.
                read_certificates(path)?;
                config.ca_certificate(Certificate::from_pem(read(path)?))
            }
            None => config.with_native_roots(),
        };
        match (&self.client_cert, &self.client_key) {
            (None, None) => Ok(config),
            (Some(cert), Some(key)) => {
                read_certificates(cert)?;
                read_key(key)?;
                Ok(config.identity(Identity::from_pem(read(cert)?, read(key)?)))
            }
            _ => Err(Error::Config("--client-cert and --client-key go together".to_string())),
        }
    }
}

/// The rustls configurations of the gRPC listener (ALPN `h2`) and the OTLP/HTTP listener
/// (`h2`, `http/1.1`), or none for plaintext.
///
/// # Errors
/// See [`ServerTls::server_config`].
#[allow(clippy::type_complexity)]
pub fn listener_configs(
    tls: Option<&ServerTls>,
) -> Result<(Option<Arc<rustls::ServerConfig>>, Option<Arc<rustls::ServerConfig>>), Error> {
    let Some(tls) = tls else { return Ok((None, None)) };
    Ok((Some(tls.server_config(&[b"h2"])?), Some(tls.server_config(&[b"h2", b"http/1.1"])?)))
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn read(path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|source| Error::Read { path: path.to_path_buf(), source })
}

fn invalid(path: &Path, reason: impl std::fmt::Display) -> Error {
    Error::Invalid { path: path.to_path_buf(), reason: reason.to_string() }
}

fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    let text = read(path)?;
    let certificates = CertificateDer::pem_slice_iter(&text)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| invalid(path, format!("not a PEM certificate file: {error}")))?;
    if certificates.is_empty() {
        return Err(invalid(path, "holds no PEM certificate (-----BEGIN CERTIFICATE-----)"));
    }
    Ok(certificates)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, Error> {
    let text = read(path)?;
    PrivateKeyDer::from_pem_slice(&text)
        .map_err(|error| invalid(path, format!("no PEM private key: {error}")))
}

fn root_store(path: &Path) -> Result<RootCertStore, Error> {
    let mut roots = RootCertStore::empty();
    for certificate in read_certificates(path)? {
        roots.add(certificate).map_err(|error| invalid(path, error))?;
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let not_pem = dir.path().join("cert.pem");
        std::fs::write(&not_pem, "hello").unwrap();
        let missing = dir.path().join("missing-key.pem");
        let tls = ServerTls { cert: not_pem.clone(), key: missing.clone(), client_ca: None };
        let error = tls.server_config(&[b"h2"]).unwrap_err().to_string();
        assert!(error.contains("cert.pem") && error.contains("no PEM certificate"), "{error}");

        let client = ClientTls { client_cert: Some(not_pem), ..ClientTls::default() };
        assert!(client.tonic_config().unwrap_err().to_string().contains("go together"));
        let client = ClientTls { ca_cert: Some(missing), ..ClientTls::default() };
        assert!(client.tonic_config().unwrap_err().to_string().contains("missing-key.pem"));
    }
}
