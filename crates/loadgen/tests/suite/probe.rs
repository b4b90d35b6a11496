//! The probe before a run (`loadgen::probe`). On `h3` it completes a QUIC handshake with ALPN
//! `h3`, and otherwise names the cause: no answer over UDP (a timeout), a server that refuses ALPN
//! `h3` (protocol mismatch, fatal), a certificate that does not verify (bad target, fatal). On
//! `h2c`, where no ALPN says what the server speaks, it waits for the server's HTTP/2 SETTINGS:
//! an HTTP/1.1 server fails it.

use std::sync::Arc;
use std::time::Duration;

use loadgen::{FatalKind, LoadError, Protocol, Target, Trust};
use test_support::scripted::{self, Reply};

/// A QUIC server on 127.0.0.1 whose TLS offers `alpn_of`'s ALPN, accepting connections; its URL
/// and certificate.
fn quic_server(alpn_of: Protocol) -> (String, rustls_pki_types::CertificateDer<'static>) {
    let (tls, cert) = scripted::self_signed_config(alpn_of);
    let crypto = quinn::crypto::rustls::QuicServerConfig::try_from(tls).expect("TLS 1.3");
    let config = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    let endpoint = quinn::Endpoint::server(config, "127.0.0.1:0".parse().expect("address"))
        .expect("a UDP socket");
    let url = format!("https://{}", endpoint.local_addr().expect("address"));
    tokio::spawn(async move {
        while let Some(incoming) = endpoint.accept().await {
            tokio::spawn(async move {
                if let Ok(connection) = incoming.await {
                    connection.closed().await;
                }
            });
        }
    });
    (url, cert)
}

async fn probe(url: &str, trust: Trust, timeout: Duration) -> Result<(), LoadError> {
    let target = Target::new(Protocol::H3, url, &trust).expect("target");
    loadgen::probe(&target, timeout).await
}

#[tokio::test]
async fn a_quic_handshake_with_alpn_h3_passes() {
    let (target, _) = scripted::serve(Protocol::H3, |_| Reply::events(Vec::new())).await;
    loadgen::probe(&target, Duration::from_secs(5))
        .await
        .expect("the scripted h3 server passes the probe");
}

#[tokio::test]
async fn no_answer_over_udp_is_a_timeout() {
    // A bound UDP socket that reads nothing: no QUIC answer, and no ICMP unreachable either.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").expect("a UDP socket");
    let url = format!("https://{}", silent.local_addr().expect("address"));
    let (_, cert) = scripted::self_signed_config(Protocol::H3);
    let e = probe(
        &url,
        Trust::Certificates(vec![cert]),
        Duration::from_millis(500),
    )
    .await
    .expect_err("nobody answers");
    assert!(matches!(e, LoadError::Timeout { .. }), "{e:?}");
    assert_eq!(e.fatal_kind(), None);
    assert!(e.to_string().contains("no answer over UDP"), "{e}");
}

#[tokio::test]
async fn a_server_refusing_alpn_h3_is_a_protocol_mismatch() {
    let (url, cert) = quic_server(Protocol::H2);
    let e = probe(
        &url,
        Trust::Certificates(vec![cert]),
        Duration::from_secs(5),
    )
    .await
    .expect_err("ALPN h2 only");
    assert_eq!(
        e.fatal_kind(),
        Some(FatalKind::ProtocolMismatch),
        "{}",
        loadgen::error_chain(&e)
    );
    assert!(e.to_string().contains("refused ALPN \"h3\""), "{e}");
}

#[tokio::test]
async fn a_certificate_that_does_not_verify_is_a_bad_target() {
    let (url, _) = quic_server(Protocol::H3);
    let (_, other) = scripted::self_signed_config(Protocol::H3);
    let e = probe(
        &url,
        Trust::Certificates(vec![other]),
        Duration::from_secs(5),
    )
    .await
    .expect_err("another certificate");
    assert_eq!(
        e.fatal_kind(),
        Some(FatalKind::BadTarget),
        "{}",
        loadgen::error_chain(&e)
    );
    assert!(e.to_string().contains("certificate"), "{e}");
    assert_eq!(e.class(), loadgen::ErrorClass::Tls);
}

/// An `h2c` target that answers in HTTP/1.1 (a `400` to the HTTP/2 preface, then a close): the
/// probe fails instead of letting the run start against a server that cannot serve the arm.
#[tokio::test]
async fn an_http1_server_fails_the_h2c_probe() {
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let _ = tcp
                .write_all(
                    b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                )
                .await;
        }
    });
    let target = Target::new(
        Protocol::H2c,
        &format!("http://{addr}"),
        &Trust::Certificates(Vec::new()),
    )
    .expect("target");
    let probed = loadgen::probe(&target, Duration::from_secs(5)).await;
    assert!(
        matches!(probed, Err(LoadError::Http2(_))),
        "an HTTP/1.1 server passed the h2c probe: {probed:?}"
    );
}
