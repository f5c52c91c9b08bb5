//! A refused TLS certificate, said in words: rustls's own message is "invalid peer
//! certificate: UnknownIssuer", which does not say what to do about it. Also a server that
//! does not speak TLS at all (an https URL on a plain HTTP port), which rustls calls "received
//! corrupt message of type InvalidContentType".
use std::error::Error;

use rustls::CertificateError as C;

/// Why a certificate was refused, where webpki's own reason would mislead; `verify` tells
/// them apart and hands them over inside the rustls error.
#[derive(Debug)]
pub enum Refusal {
    /// Self-signed, and not the certificate given with `--cacert` (if one is given).
    SelfSigned { given: bool },
    /// Issued by a CA that is not trusted: not in `--cacert` if `given`, else not a
    /// built-in root.
    UnknownCa { given: bool },
    /// A CA certificate (CA:TRUE) that a trusted CA signed, used as the server's own.
    CaAsServer,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Refusal::SelfSigned { given: true } => {
                "not trusted (it is self-signed, and not the certificate given with --cacert)"
            }
            Refusal::SelfSigned { given: false } => {
                "not trusted (it is self-signed; to trust it, give it with --cacert)"
            }
            Refusal::UnknownCa { given: true } => {
                "not trusted (issued by a certificate authority that is not in --cacert)"
            }
            Refusal::UnknownCa { given: false } => {
                "not trusted (issued by an unknown certificate authority; give its CA with \
                 --cacert)"
            }
            Refusal::CaAsServer => {
                "refused: it is a CA certificate (CA:TRUE) used as the server's own, which \
                 rustls does not accept unless --cacert gives this very certificate (OpenSSL \
                 accepts it); serve one with CA:FALSE signed by that CA, or give this one with \
                 --cacert"
            }
        })
    }
}

impl Error for Refusal {}

/// Whether webpki refused a CA certificate (CA:TRUE) as a server's own. It comes wrapped:
/// `Other(OtherError(CaUsedAsEndEntity))`.
pub fn ca_used_as_end_entity(problem: &C) -> bool {
    matches!(problem, C::Other(other) if format!("{other:?}").contains("CaUsedAsEndEntity"))
}

/// Whether `e` is the answer of a server that does not speak TLS: the first bytes of a TLS
/// record were not one (a plain HTTP server answers "HTTP/1.1 400 ...").
pub fn not_tls(e: &(dyn Error + 'static)) -> bool {
    matches!(
        crate::helpers::errchain::find::<rustls::Error>(e),
        Some(rustls::Error::InvalidMessage(
            rustls::InvalidMessage::InvalidContentType
        ))
    )
}

/// What is wrong with the server's certificate, if that is why `e` happened.
pub fn certificate_problem(e: &(dyn Error + 'static)) -> Option<String> {
    match crate::helpers::errchain::find::<rustls::Error>(e)? {
        rustls::Error::InvalidCertificate(problem) => Some(describe(problem)),
        _ => None,
    }
}

fn describe(problem: &C) -> String {
    let what = match problem {
        C::UnknownIssuer => Refusal::UnknownCa { given: false }.to_string(),
        C::Other(other) if other.0.downcast_ref::<Refusal>().is_some() => other.0.to_string(),
        C::NotValidForName => "not valid for this host name".to_string(),
        C::NotValidForNameContext {
            expected,
            presented,
        } => {
            let expected = match expected {
                rustls::pki_types::ServerName::DnsName(name) => name.as_ref().to_string(),
                rustls::pki_types::ServerName::IpAddress(ip) => {
                    std::net::IpAddr::from(*ip).to_string()
                }
                other => format!("{other:?}"),
            };
            // rustls gives them as `DnsName("example.com")`: keep what is quoted.
            let presented: Vec<&str> = presented
                .iter()
                .map(|p| match (p.find('"'), p.rfind('"')) {
                    (Some(a), Some(b)) if a < b => &p[a + 1..b],
                    _ => p.as_str(),
                })
                .collect();
            format!(
                "not valid for {expected} (it is for {})",
                presented.join(", ")
            )
        }
        C::Expired | C::ExpiredContext { .. } => "expired".to_string(),
        C::NotValidYet | C::NotValidYetContext { .. } => "not valid yet".to_string(),
        C::Revoked => "revoked".to_string(),
        C::BadSignature => "badly signed".to_string(),
        other => {
            // webpki's own reasons come wrapped: `Other(OtherError(CaUsedAsEndEntity))`.
            let debug = format!("{other:?}");
            let reason = debug
                .trim_start_matches("Other(OtherError(")
                .trim_end_matches("))");
            match reason {
                "CaUsedAsEndEntity" => {
                    "refused: it is a CA certificate (CA:TRUE) used as the server's own".to_string()
                }
                reason => format!("refused ({reason})"),
            }
        }
    };
    format!("TLS certificate {what}")
}
