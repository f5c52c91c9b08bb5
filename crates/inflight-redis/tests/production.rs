//! The Redis that production runs: TLS with a CA of one's own, ACL users with the default user
//! off, and each way a connection can be wrong said in one line, with the password masked.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use common::topology::{tls_server, USER};
use futures::StreamExt;
use inflight_redis::{Error, GlobalLimit, Queue, Redis, TlsFiles};

async fn connect(url: &str, tls: TlsFiles) -> Result<Redis, Error> {
    Redis::builder(url)
        .tls(tls)
        .outage_timeout(Some(Duration::from_secs(5)))
        .connect()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_limit_and_a_queue_work_over_tls_as_an_acl_user() {
    let Some(s) = tls_server(true, false) else {
        return;
    };
    let redis = connect(&s.url(true), TlsFiles::default().ca_file(&s.certs.ca))
        .await
        .unwrap();
    let limit = GlobalLimit::new(&redis, "tls", 2);
    let a = limit.acquire(None).await.unwrap();
    let _b = limit.acquire(None).await.unwrap();
    assert!(limit.try_acquire().await.unwrap().is_none());
    assert!(a.release().await.unwrap());
    assert_eq!(limit.state().await.unwrap().held, 1);

    let queue = Queue::new(&redis, "tls");
    queue
        .push((0..10).map(|i| format!("in-{i}")))
        .await
        .unwrap();
    queue.close().await.unwrap();
    let mut items = queue.items();
    let mut n = 0;
    while let Some(item) = items.next().await {
        item.unwrap()
            .ack(true, &serde_json::json!({}))
            .await
            .unwrap();
        n += 1;
    }
    assert_eq!(n, 10);
    assert_eq!(queue.status().await.unwrap().done, 10);
}

/// The error of connecting to `url` with `tls`, as the one line a user sees.
async fn error_of(url: &str, tls: TlsFiles) -> String {
    let e = connect(url, tls).await.expect_err("must not connect");
    let line = e.to_string();
    assert!(!line.contains('\n'), "one line: {line}");
    line
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_wrong_connection_says_what_is_wrong_in_one_line_with_the_password_masked() {
    let Some(s) = tls_server(true, false) else {
        return;
    };
    let ca = || TlsFiles::default().ca_file(&s.certs.ca);
    let secret = USER.1;

    // A CA that did not sign the server's certificate, and the system's roots.
    for tls in [
        TlsFiles::default().ca_file(&s.certs.other_ca),
        TlsFiles::default(),
    ] {
        let line = error_of(&s.url(true), tls).await;
        assert!(line.contains("not signed by a trusted CA"), "{line}");
        assert!(
            !line.contains(secret) && line.contains("worker:***@"),
            "{line}"
        );
    }
    // An address the certificate is not for (it names localhost only).
    let other_name = s.url(true).replace("localhost", "127.0.0.1");
    let line = error_of(&other_name, ca()).await;
    assert!(line.contains("not valid for this host name"), "{line}");

    // A wrong password, and the default user (off).
    let wrong = s.url(true).replace("w0rk", "nope");
    let line = error_of(&wrong, ca()).await;
    assert!(line.contains("refused the credentials"), "{line}");
    assert!(line.contains("worker:***@"), "{line}");
    let line = error_of(&format!("rediss://localhost:{}", s.tls_port), ca()).await;
    assert!(
        line.contains("refused the credentials") || line.contains("NOAUTH"),
        "{line}"
    );

    // TLS to the plain port; plain to the TLS port.
    let line = error_of(&format!("rediss://localhost:{}", s.server.port), ca()).await;
    assert!(line.contains("speaks plain Redis, not TLS"), "{line}");
    let line = error_of(
        &format!("redis://localhost:{}", s.tls_port),
        TlsFiles::default(),
    )
    .await;
    assert!(line.contains("expects TLS (use rediss://"), "{line}");

    // TLS files with a plain URL, and a CA file that is not there.
    let line = error_of(&format!("redis://localhost:{}", s.server.port), ca()).await;
    assert!(line.contains("not TLS"), "{line}");
    let line = error_of(
        &s.url(true),
        TlsFiles::default().ca_file("/nonexistent/ca.pem"),
    )
    .await;
    assert!(
        line.contains("cannot read the CA file /nonexistent/ca.pem"),
        "{line}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_certificate_is_shown_when_the_server_asks_for_one() {
    let Some(s) = tls_server(false, true) else {
        return;
    };
    let url = s.url(false);
    let line = error_of(&url, TlsFiles::default().ca_file(&s.certs.ca)).await;
    assert!(line.contains("TLS"), "{line}");
    let tls = TlsFiles::default()
        .ca_file(&s.certs.ca)
        .client_cert(&s.certs.client_cert, &s.certs.client_key);
    let redis = connect(&url, tls).await.unwrap();
    let limit = GlobalLimit::new(&redis, "mtls", 1);
    assert!(limit.try_acquire().await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_is_not_redis_is_named_so() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut buf = [0u8; 256];
            let _ = stream.set_read_timeout(Some(Duration::from_millis(300)));
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n");
        }
    });
    let line = error_of(
        &format!("redis://:pw@127.0.0.1:{port}"),
        TlsFiles::default(),
    )
    .await;
    assert!(line.contains("is not a Redis server"), "{line}");
    assert!(line.contains("HTTP/1.1 400"), "{line}");
    assert!(line.contains(":***@"), "{line}");
}
