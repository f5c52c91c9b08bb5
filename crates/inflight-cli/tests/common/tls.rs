//! An HTTPS server for the tests, on 127.0.0.1:0, with a certificate authority and a server
//! certificate that the test makes (rcgen): the CA's PEM goes to `--cacert`. It speaks HTTP/2
//! and HTTP/1.1 (hyper's auto builder), and offers by ALPN what the test asks for, so both
//! protocols can be checked. Routes: `/redirect-to/URL` (302 to URL, percent-encoded);
//! anything else: 200 with body `PROTOCOL PATH` (e.g. `HTTP/2.0 /a`).
#![allow(dead_code)]

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A certificate authority made for one test.
pub struct Ca {
    pub pem: String,
    cert: rcgen::Certificate,
    key: KeyPair,
}

impl Ca {
    pub fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Ca {
            pem: cert.pem(),
            cert,
            key,
        }
    }

    /// A server certificate for `localhost` and, if `with_ip`, 127.0.0.1.
    fn leaf(&self, with_ip: bool) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
        let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        if with_ip {
            params
                .subject_alt_names
                .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        }
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        (cert.der().clone(), der)
    }
}

/// What a self-signed server certificate says it is (its basicConstraints).
#[derive(Clone, Copy, Debug)]
pub enum SelfSigned {
    /// `CA:TRUE`, as `openssl req -x509` makes it.
    Ca,
    /// `CA:FALSE`.
    NotCa,
    /// No basicConstraints at all (an end-entity certificate).
    Unmarked,
    /// `CA:TRUE`, and expired in 2020.
    ExpiredCa,
}

/// A DER certificate as PEM.
fn pem_of(der: &[u8]) -> String {
    use base64::Engine;
    let text = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in text.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).unwrap());
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

/// A running HTTPS server; it lives until the test process exits.
pub struct TlsServer {
    pub addr: SocketAddr,
    /// The server's own certificate, PEM (for `--cacert` to pin it).
    pub pem: String,
    /// The headers of each request that came in plain HTTP on the same port (a connection
    /// whose first byte is not a TLS handshake's is served without TLS), as `name: value`
    /// lines.
    pub plain_heads: Arc<std::sync::Mutex<Vec<String>>>,
}

impl TlsServer {
    /// Serves with a certificate from `ca` (valid for 127.0.0.1 only if `with_ip`), offering
    /// HTTP/2 by ALPN only if `h2`.
    pub fn start(ca: &Ca, with_ip: bool, h2: bool) -> TlsServer {
        let (cert, key) = ca.leaf(with_ip);
        TlsServer::start_with(cert, key, h2)
    }

    /// Serves with a self-signed certificate for `localhost` (not 127.0.0.1, so that a name it
    /// is not for can be tried) marked as `kind` says; returns its PEM for `--cacert` too.
    /// `SelfSigned::Ca` is what `openssl req -x509` makes.
    pub fn start_self_signed(kind: SelfSigned) -> (TlsServer, String) {
        let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params.is_ca = match kind {
            SelfSigned::Ca | SelfSigned::ExpiredCa => IsCa::Ca(BasicConstraints::Unconstrained),
            SelfSigned::NotCa => IsCa::ExplicitNoCa,
            SelfSigned::Unmarked => IsCa::NoCa,
        };
        if let SelfSigned::ExpiredCa = kind {
            params.not_before = rcgen::date_time_ymd(2019, 1, 1);
            params.not_after = rcgen::date_time_ymd(2020, 1, 1);
        }
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let server = TlsServer::start_with(cert.der().clone(), der, false);
        (server, cert.pem())
    }

    /// Serves with a certificate for `localhost` and 127.0.0.1 signed by `ca` that is itself a
    /// CA (`CA:TRUE`): an intermediate used as a server's own.
    pub fn start_ca_signed_ca(ca: &Ca) -> TlsServer {
        let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params
            .subject_alt_names
            .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &ca.cert, &ca.key).unwrap();
        let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        TlsServer::start_with(cert.der().clone(), der, false)
    }

    fn start_with(
        cert: CertificateDer<'static>,
        key: PrivateKeyDer<'static>,
        h2: bool,
    ) -> TlsServer {
        let cert_der = cert.to_vec();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.clone()], key)
            .unwrap();
        config.alpn_protocols = if h2 {
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        } else {
            vec![b"http/1.1".to_vec()]
        };
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let pem = pem_of(&cert_der);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let plain_heads = Arc::new(std::sync::Mutex::new(Vec::new()));
        let heads = plain_heads.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                loop {
                    let Ok((tcp, _)) = listener.accept().await else {
                        continue;
                    };
                    let acceptor = acceptor.clone();
                    let heads = heads.clone();
                    tokio::spawn(async move {
                        let mut first = [0u8; 1];
                        if tcp.peek(&mut first).await.is_ok() && first[0] != 0x16 {
                            let io = hyper_util::rt::TokioIo::new(tcp);
                            let service = hyper::service::service_fn(move |req| {
                                let head: String = req
                                    .headers()
                                    .iter()
                                    .map(|(k, v)| format!("{k}: {}\n", v.to_str().unwrap_or("")))
                                    .collect();
                                heads.lock().unwrap().push(head);
                                respond(req)
                            });
                            let _ = hyper::server::conn::http1::Builder::new()
                                .serve_connection(io, service)
                                .await;
                            return;
                        }
                        // A client that refuses the certificate ends the handshake: nothing to do.
                        let Ok(tls) = acceptor.accept(tcp).await else {
                            return;
                        };
                        let io = hyper_util::rt::TokioIo::new(tls);
                        let builder = hyper_util::server::conn::auto::Builder::new(
                            hyper_util::rt::TokioExecutor::new(),
                        );
                        let _ = builder
                            .serve_connection(io, hyper::service::service_fn(respond))
                            .await;
                    });
                }
            });
        });
        TlsServer {
            addr,
            pem,
            plain_heads,
        }
    }

    /// `https://localhost:PORT/PATH`, or with the IP address if `ip`.
    pub fn url(&self, path: &str, ip: bool) -> String {
        let host = if ip { "127.0.0.1" } else { "localhost" };
        format!("https://{host}:{}{path}", self.addr.port())
    }
}

async fn respond(req: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_string();
    if let Some(target) = path.strip_prefix("/redirect-to/") {
        let target = percent_encoding::percent_decode_str(target)
            .decode_utf8_lossy()
            .into_owned();
        return Ok(Response::builder()
            .status(302)
            .header("location", target)
            .body(Full::new(Bytes::new()))
            .unwrap());
    }
    let body = format!("{:?} {path}", req.version());
    Ok(Response::new(Full::new(Bytes::from(body))))
}
