//! [`TlsFiles`]: the CA to trust and the client certificate to show on `rediss://` (and
//! `rediss+sentinel://`, `rediss+cluster://`), read from PEM files when connecting; and the
//! words for a refused handshake, which name the certificate's problem.

use std::path::PathBuf;

use redis::{ClientTlsConfig, TlsCertificates};

/// PEM files for TLS: a CA to trust instead of the system's roots, and a client certificate
/// with its key for servers that ask for one (`tls-auth-clients yes`).
///
/// ```
/// let tls = inflight_redis::TlsFiles::default()
///     .ca_file("/etc/redis/ca.pem")
///     .client_cert("/etc/redis/client.pem", "/etc/redis/client.key");
/// assert!(tls.ca.is_some());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsFiles {
    /// The CA certificates (PEM) that the server's certificate must chain to; `None`: the
    /// system's roots.
    pub ca: Option<PathBuf>,
    /// The client certificate chain (PEM).
    pub cert: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    pub key: Option<PathBuf>,
}

impl TlsFiles {
    /// Trusts the CA certificates in `path` (PEM) instead of the system's roots.
    ///
    /// ```
    /// let tls = inflight_redis::TlsFiles::default().ca_file("ca.pem");
    /// assert_eq!(tls.ca.unwrap().to_str(), Some("ca.pem"));
    /// ```
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> TlsFiles {
        self.ca = Some(path.into());
        self
    }

    /// Shows the client certificate in `cert` (PEM) with its private key in `key`.
    ///
    /// ```
    /// let tls = inflight_redis::TlsFiles::default().client_cert("c.pem", "c.key");
    /// assert!(tls.cert.is_some() && tls.key.is_some());
    /// ```
    pub fn client_cert(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> TlsFiles {
        self.cert = Some(cert.into());
        self.key = Some(key.into());
        self
    }

    /// Whether any file is given.
    pub(crate) fn is_empty(&self) -> bool {
        self.ca.is_none() && self.cert.is_none() && self.key.is_none()
    }

    /// Reads the files into what redis-rs takes; the error names the file.
    pub(crate) fn load(&self) -> Result<TlsCertificates, String> {
        let read = |what: &str, path: &PathBuf| {
            std::fs::read(path)
                .map_err(|e| format!("cannot read the {what} {}: {e}", path.display()))
        };
        let root_cert = self.ca.as_ref().map(|p| read("CA file", p)).transpose()?;
        if let (Some(bytes), Some(path)) = (&root_cert, &self.ca) {
            if !String::from_utf8_lossy(bytes).contains("-----BEGIN CERTIFICATE-----") {
                return Err(format!(
                    "the CA file {} holds no PEM certificate",
                    path.display()
                ));
            }
        }
        let client_tls = match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => Some(ClientTlsConfig {
                client_cert: read("client certificate", cert)?,
                client_key: read("client key", key)?,
            }),
            (None, None) => None,
            _ => return Err("a client certificate needs both the certificate and its key".into()),
        };
        Ok(TlsCertificates {
            client_tls,
            root_cert,
        })
    }
}

/// The certificate problem in a refused handshake, in words, if the error is one.
pub(crate) fn certificate_problem(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut source = Some(e);
    while let Some(err) = source {
        // redis-rs keeps the I/O error in an `Arc<dyn Error>`, whose own `source` skips the
        // rustls error inside: look through the Arc and the io::Error by hand.
        let inner: &(dyn std::error::Error + 'static) =
            match err.downcast_ref::<std::sync::Arc<dyn std::error::Error + Send + Sync>>() {
                Some(arc) => &**arc,
                None => err,
            };
        if let Some(tls) = inner.downcast_ref::<rustls::Error>() {
            return Some(describe(tls));
        }
        if let Some(tls) = inner
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|e| e.downcast_ref::<rustls::Error>())
        {
            return Some(describe(tls));
        }
        source = err.source();
    }
    None
}

fn describe(e: &rustls::Error) -> String {
    use rustls::{CertificateError as C, Error as E};
    match e {
        E::InvalidCertificate(C::UnknownIssuer) => {
            "the server's certificate is not signed by a trusted CA (give its CA with --redis-cacert)"
                .into()
        }
        E::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. }) => {
            "the server's certificate is not valid for this host name".into()
        }
        E::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => {
            "the server's certificate has expired".into()
        }
        E::InvalidCertificate(C::NotValidYet | C::NotValidYetContext { .. }) => {
            "the server's certificate is not valid yet".into()
        }
        E::InvalidCertificate(other) => format!("the server's certificate is refused: {other:?}"),
        E::InvalidMessage(_) | E::InappropriateMessage { .. } => {
            "the server does not speak TLS on this port (use redis:// for a plain port)".into()
        }
        E::AlertReceived(rustls::AlertDescription::CertificateRequired) => {
            "the server asks for a client certificate (give one with --redis-cert and --redis-key)"
                .into()
        }
        E::AlertReceived(alert) => format!("the server refused the TLS handshake ({alert:?})"),
        other => format!("TLS failed: {other}"),
    }
}
