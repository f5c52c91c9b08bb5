//! A refused TLS certificate, said in words: rustls's own message is "invalid peer
//! certificate: UnknownIssuer", which does not say what to do about it.
use std::error::Error;

use rustls::CertificateError as C;

/// What is wrong with the server's certificate, if that is why `e` happened.
pub fn certificate_problem(e: &(dyn Error + 'static)) -> Option<String> {
    match crate::helpers::errchain::find::<rustls::Error>(e)? {
        rustls::Error::InvalidCertificate(problem) => Some(describe(problem)),
        _ => None,
    }
}

fn describe(problem: &C) -> String {
    let what = match problem {
        C::UnknownIssuer => {
            "not trusted (issued by an unknown certificate authority; give its CA with --cacert)"
                .to_string()
        }
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
                "CaUsedAsEndEntity" => "refused: it is a CA certificate (CA:TRUE) used as the \
                    server's own, which rustls does not accept (OpenSSL's `req -x509` makes such \
                    certificates); serve one with CA:FALSE signed by the CA given with --cacert"
                    .to_string(),
                reason => format!("refused ({reason})"),
            }
        }
    };
    format!("TLS certificate {what}")
}
