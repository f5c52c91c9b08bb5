//! The TLS setup of `fetch` and how a server's certificate is checked: rustls's own verifier
//! (webpki) with the run's roots (the built-in ones, or those of `--cacert`), plus what curl
//! (OpenSSL) accepts too: a `--cacert` certificate that is exactly the server's own
//! (pinning). webpki refuses such a certificate when it is a CA (`openssl req -x509` makes
//! them CA:TRUE) or when it is not self-signed (its issuer is not given); the pinned one is
//! then accepted if it is valid for the host name (webpki has checked its dates before it
//! stopped) — as curl, which checks the name of a pinned certificate too.
//!
//! A refusal is told in words that fit it (see `tlserr::Refusal`): a self-signed certificate
//! that is not the one given, one from a CA that is not given, or a CA certificate signed by a
//! CA that is given and used as a server's own (OpenSSL accepts that one; rustls does not).
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, Error, OtherError, SignatureScheme};

use crate::fetch::tlserr::{self, Refusal};

/// The client TLS configuration of a run: the certificates of `--cacert` (PEM, read), or the
/// built-in roots; HTTP/2 and HTTP/1.1 offered by ALPN.
pub fn config(
    cacert: Option<Vec<CertificateDer<'static>>>,
) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    match &cacert {
        Some(certs) => {
            for cert in certs {
                roots
                    .add(cert.clone())
                    .map_err(|e| format!("--cacert: a certificate that cannot be used: {e}"))?;
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let anchor_names = roots
        .roots
        .iter()
        .map(|anchor| anchor.subject.as_ref().to_vec())
        .collect();
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| format!("cannot set up TLS: {e}"))?;
    let verifier = Verifier {
        webpki,
        given: cacert,
        anchor_names,
    };
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// webpki's verifier, with pinning and refusals in words.
#[derive(Debug)]
struct Verifier {
    webpki: Arc<WebPkiServerVerifier>,
    /// The certificates of `--cacert`, as given; `None` with the built-in roots.
    given: Option<Vec<CertificateDer<'static>>>,
    /// The subject names (DER contents) of the trusted certificates.
    anchor_names: Vec<Vec<u8>>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let problem = match self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(Error::InvalidCertificate(problem)) => problem,
            other => return other,
        };
        // Errors about the chain come after webpki has checked the dates (and, but for a CA,
        // the certificate's purpose): for a pinned certificate only the name is left to check.
        let chain = matches!(
            problem,
            CertificateError::UnknownIssuer | CertificateError::BadSignature
        ) || tlserr::ca_used_as_end_entity(&problem);
        if !chain {
            return Err(Error::InvalidCertificate(problem));
        }
        let pinned = self
            .given
            .iter()
            .flatten()
            .any(|cert| cert.as_ref() == end_entity.as_ref());
        if pinned {
            let parsed = rustls::server::ParsedCertificate::try_from(end_entity)?;
            rustls::client::verify_server_name(&parsed, server_name)?;
            return Ok(ServerCertVerified::assertion());
        }
        Err(Error::InvalidCertificate(
            self.refusal(&problem, end_entity, intermediates)
                .map_or(problem, |r| {
                    CertificateError::Other(OtherError(Arc::new(r)))
                }),
        ))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

impl Verifier {
    /// What to say about a certificate refused for its chain, when webpki's own word would
    /// mislead: "badly signed" for a self-signed certificate that merely has the same name as
    /// a trusted one, "CA used as end entity" when the real problem is that its CA is unknown.
    fn refusal(
        &self,
        problem: &CertificateError,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
    ) -> Option<Refusal> {
        let (issuer, subject) = issuer_and_subject(end_entity.as_ref())?;
        let given = self.given.is_some();
        if issuer == subject {
            return Some(Refusal::SelfSigned { given });
        }
        let known_issuer = self.anchor_names.iter().any(|name| name == issuer)
            || intermediates.iter().any(|cert| {
                issuer_and_subject(cert.as_ref()).is_some_and(|(_, name)| name == issuer)
            });
        match problem {
            CertificateError::BadSignature => None,
            _ if !known_issuer => Some(Refusal::UnknownCa { given }),
            CertificateError::UnknownIssuer => None,
            _ => Some(Refusal::CaAsServer),
        }
    }
}

/// The issuer and subject names of a DER certificate (the contents of each Name, as webpki
/// compares them); `None` if it does not parse.
fn issuer_and_subject(cert: &[u8]) -> Option<(&[u8], &[u8])> {
    let (0x30, cert, _) = element(cert)? else {
        return None;
    };
    let (0x30, tbs, _) = element(cert)? else {
        return None;
    };
    let mut fields = tbs;
    let mut next = |tag: u8| -> Option<&[u8]> {
        let (found, contents, rest) = element(fields)?;
        fields = rest;
        (found == tag).then_some(contents)
    };
    // [0] version, which a v1 certificate leaves out.
    if tbs.first() == Some(&0xa0) {
        next(0xa0)?;
    }
    next(0x02)?; // serial number
    next(0x30)?; // signature algorithm
    let issuer = next(0x30)?;
    next(0x30)?; // validity
    let subject = next(0x30)?;
    Some((issuer, subject))
}

/// The DER element at the start of `input`: its tag, its contents, and what follows it.
fn element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| acc << 8 | usize::from(b));
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{CertificateParams, DnType, KeyPair};

    #[test]
    fn names_of_a_certificate() {
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.distinguished_name.push(DnType::CommonName, "the CA");
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca_key = KeyPair::generate().unwrap();
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let mut leaf = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        leaf.distinguished_name.push(DnType::CommonName, "the leaf");
        let leaf_key = KeyPair::generate().unwrap();
        let leaf_cert = leaf.signed_by(&leaf_key, &ca_cert, &ca_key).unwrap();
        let (issuer, subject) = issuer_and_subject(leaf_cert.der()).unwrap();
        let (ca_issuer, ca_subject) = issuer_and_subject(ca_cert.der()).unwrap();
        assert_eq!(issuer, ca_subject);
        assert_eq!(ca_issuer, ca_subject, "self-signed");
        assert_ne!(issuer, subject);
        // webpki's own idea of the CA's name is the same bytes.
        let anchor = webpki_roots_anchor(ca_cert.der());
        assert_eq!(anchor, ca_subject);
        // Junk and cut input parse to nothing, without panicking.
        let der = leaf_cert.der().as_ref();
        for cut in 0..der.len() {
            let _ = issuer_and_subject(&der[..cut]);
        }
        assert!(issuer_and_subject(b"\x30\x84\xff\xff\xff\xff").is_none());
    }

    fn webpki_roots_anchor(der: &CertificateDer<'_>) -> Vec<u8> {
        let mut store = rustls::RootCertStore::empty();
        store.add(der.clone().into_owned()).unwrap();
        store.roots[0].subject.as_ref().to_vec()
    }
}
