//! Trusting a server's certificate with `--cacert` (`Trust::Certificates`): a self-signed
//! certificate made the usual way (`openssl req -x509` marks it `CA:TRUE`) is trusted as the end
//! entity it is, as curl and browsers do once it is trusted; another certificate is still refused.

use std::time::Duration;

use loadgen::{Protocol, Target, Trust};
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use rustls_pki_types::CertificateDer;
use sse_server::{ServerConfig, TlsSource};

/// A self-signed `CA:TRUE` certificate for 127.0.0.1, written as PEM files under `dir`.
fn ca_true_cert(dir: &std::path::Path, name: &str) -> (TlsSource, CertificateDer<'static>) {
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_owned()]).expect("params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let key = KeyPair::generate().expect("key");
    let cert = params.self_signed(&key).expect("certificate");
    let (cert_path, key_path) = (
        dir.join(format!("{name}.pem")),
        dir.join(format!("{name}.key")),
    );
    std::fs::write(&cert_path, cert.pem()).expect("write cert");
    std::fs::write(&key_path, key.serialize_pem()).expect("write key");
    (
        TlsSource::Files {
            cert: cert_path,
            key: key_path,
        },
        cert.der().clone(),
    )
}

#[tokio::test]
async fn a_self_signed_ca_certificate_is_trusted_as_the_end_entity() {
    let dir = std::env::temp_dir().join(format!("ssebench-tls-trust-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (source, der) = ca_true_cert(&dir, "server");
    let (_, other) = ca_true_cert(&dir, "other");
    for arm in Protocol::ALL.into_iter().filter(|a| a.is_tls()) {
        let config = ServerConfig {
            listeners: vec![(arm, "127.0.0.1:0".parse().expect("address"))],
            tls: source.clone(),
            ..ServerConfig::default()
        };
        let server = sse_server::start(config).await.expect("server starts");
        let url = server.url(arm).expect("the arm's listener");
        let trusted =
            Target::new(arm, &url, &Trust::Certificates(vec![der.clone()])).expect("target");
        loadgen::probe(&trusted, Duration::from_secs(5))
            .await
            .unwrap_or_else(|e| panic!("{arm}: the given certificate is refused: {e}"));
        let wrong =
            Target::new(arm, &url, &Trust::Certificates(vec![other.clone()])).expect("target");
        let e = loadgen::probe(&wrong, Duration::from_secs(5))
            .await
            .expect_err("another certificate must not be trusted");
        assert!(e.to_string().contains("certificate"), "{arm}: {e}");
        server.shutdown().await;
    }
    let _ = std::fs::remove_dir_all(&dir);
}
