//! The value of Chromium's `--ignore-certificate-errors-spki-list` for a certificate: the base64 of
//! the SHA-256 of its DER `SubjectPublicKeyInfo`.
//!
//! Chromium then accepts the embedded server's self-signed certificate by its key alone, as the
//! emulated client trusts it by that certificate alone; nothing else is trusted. The flag is only
//! honoured together with `--user-data-dir`, which every launch sets.
//!
//! The key is found by a small DER walk rather than a certificate parser:
//!
//! ```text
//! Certificate  ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signature }
//! TBSCertificate ::= SEQUENCE { [0] version OPTIONAL, serialNumber, signature, issuer,
//!                               validity, subject, subjectPublicKeyInfo, ... }
//! ```

use base64::Engine as _;

/// Why a certificate's public key could not be found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed certificate DER at byte {offset}: {reason}")]
pub struct SpkiError {
    pub offset: usize,
    pub reason: &'static str,
}

/// `base64(sha256(SubjectPublicKeyInfo))` of a DER certificate.
pub fn spki_sha256_base64(cert_der: &[u8]) -> Result<String, SpkiError> {
    let spki = subject_public_key_info(cert_der)?;
    let digest = ring::digest::digest(&ring::digest::SHA256, spki);
    Ok(base64::engine::general_purpose::STANDARD.encode(digest.as_ref()))
}

/// The complete DER encoding (tag, length and contents) of the certificate's
/// `SubjectPublicKeyInfo`.
pub fn subject_public_key_info(cert_der: &[u8]) -> Result<&[u8], SpkiError> {
    const SEQUENCE: u8 = 0x30;
    const VERSION: u8 = 0xA0; // [0] EXPLICIT, constructed
    let cert = Tlv::read(cert_der, 0)?.expect_tag(SEQUENCE, "certificate is not a SEQUENCE")?;
    let tbs = Tlv::read(cert.contents(cert_der), cert.contents_at)?
        .expect_tag(SEQUENCE, "tbsCertificate is not a SEQUENCE")?;
    let mut at = tbs.contents_at;
    let end = tbs.end();
    let mut next = || -> Result<Tlv, SpkiError> {
        if at >= end {
            return Err(SpkiError {
                offset: at,
                reason: "tbsCertificate ends before subjectPublicKeyInfo",
            });
        }
        let tlv = Tlv::read(&cert_der[..end], at)?;
        at = tlv.end();
        Ok(tlv)
    };
    let mut field = next()?;
    if field.tag == VERSION {
        field = next()?;
    }
    // field is serialNumber; skip it, signature, issuer, validity and subject.
    for _ in 0..5 {
        field = next()?;
    }
    let spki = field.expect_tag(SEQUENCE, "subjectPublicKeyInfo is not a SEQUENCE")?;
    Ok(&cert_der[spki.start..spki.end()])
}

/// One DER tag-length-value, as offsets into the whole certificate.
#[derive(Debug, Clone, Copy)]
struct Tlv {
    tag: u8,
    start: usize,
    contents_at: usize,
    len: usize,
}

impl Tlv {
    /// Reads the TLV starting at `at` in `der` (offsets are absolute, `der` may be a prefix
    /// of the certificate ending where the enclosing value ends).
    fn read(der: &[u8], at: usize) -> Result<Tlv, SpkiError> {
        let err = |offset, reason| SpkiError { offset, reason };
        let byte = |i: usize| der.get(i).copied().ok_or(err(i, "truncated"));
        let tag = byte(at)?;
        if tag & 0x1F == 0x1F {
            return Err(err(at, "multi-byte tags are not used in certificates"));
        }
        let first = byte(at + 1)?;
        let (len, header) = if first < 0x80 {
            (usize::from(first), 2)
        } else {
            let n = usize::from(first & 0x7F);
            if n == 0 {
                return Err(err(at + 1, "indefinite length is not DER"));
            }
            if n > 4 {
                return Err(err(at + 1, "length over 4 bytes"));
            }
            let mut len = 0usize;
            for i in 0..n {
                len = (len << 8) | usize::from(byte(at + 2 + i)?);
            }
            (len, 2 + n)
        };
        let tlv = Tlv {
            tag,
            start: at,
            contents_at: at + header,
            len,
        };
        if tlv.end() > der.len() {
            return Err(err(at, "length runs past the end of the enclosing value"));
        }
        Ok(tlv)
    }

    fn end(&self) -> usize {
        self.contents_at + self.len
    }

    /// The contents, as a prefix of `der` ending where they end (offsets stay absolute).
    fn contents<'a>(&self, der: &'a [u8]) -> &'a [u8] {
        &der[..self.end()]
    }

    fn expect_tag(self, tag: u8, reason: &'static str) -> Result<Tlv, SpkiError> {
        if self.tag == tag {
            Ok(self)
        } else {
            Err(SpkiError {
                offset: self.start,
                reason,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn certified_key() -> rcgen::CertifiedKey<rcgen::KeyPair> {
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
            .expect("rcgen generates a certificate")
    }

    #[test]
    fn finds_the_key_rcgen_signed() {
        let ck = certified_key();
        let spki = subject_public_key_info(ck.cert.der()).unwrap();
        use rcgen::PublicKeyData as _;
        assert_eq!(spki, ck.signing_key.subject_public_key_info().as_slice());
    }

    #[test]
    fn agrees_with_x509_parser() {
        use x509_parser::prelude::FromDer as _;
        let ck = certified_key();
        let (_, parsed) = x509_parser::certificate::X509Certificate::from_der(ck.cert.der())
            .expect("x509-parser reads rcgen's certificate");
        let raw = parsed.tbs_certificate.subject_pki.raw;
        assert_eq!(subject_public_key_info(ck.cert.der()).unwrap(), raw);
        let expected = base64::engine::general_purpose::STANDARD
            .encode(ring::digest::digest(&ring::digest::SHA256, raw).as_ref());
        assert_eq!(spki_sha256_base64(ck.cert.der()).unwrap(), expected);
        assert_eq!(expected.len(), 44, "base64 of 32 bytes");
    }

    /// A fixed vector, checked with
    /// `openssl x509 -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256
    /// -binary | base64`.
    #[test]
    fn matches_openssl_on_a_fixed_certificate() {
        let der = base64::engine::general_purpose::STANDARD
            .decode(FIXED_CERT_B64)
            .unwrap();
        assert_eq!(spki_sha256_base64(&der).unwrap(), FIXED_SPKI_SHA256);
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        let der = certified_key().cert.der().to_vec();
        for cut in [0, 1, 2, 10, der.len() / 2, der.len() - 1] {
            assert!(
                subject_public_key_info(&der[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        assert!(subject_public_key_info(&[0x04, 0x00]).is_err());
        assert!(subject_public_key_info(&[0x30, 0x80, 0x00, 0x00]).is_err());
    }

    /// `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -subj /CN=ssebench-fixed`
    const FIXED_CERT_B64: &str = concat!(
        "MIIBhjCCAS2gAwIBAgIUZeFcr9NIwj6Alofncm4t1k9/cjcwCgYIKoZIzj0EAwIwGTEXMBUGA1UEAwwOc3NlYmVu",
        "Y2gtZml4ZWQwHhcNMjYxMTIzMjA0MDQzWhcNMzYxMTIwMjA0MDQzWjAZMRcwFQYDVQQDDA5zc2ViZW5jaC1maXhl",
        "ZDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABEwhg3fgXiTfZO1V7gYV/hSKz7oZ1b0AH9QzW8zRj7mjxb1LXHc9",
        "V/6pTDItQDlokyQ7kWo8SkV87CjoI7cDbTOjUzBRMB0GA1UdDgQWBBTxYGDqY3f98KPl558untoEFe5J8TAfBgNV",
        "HSMEGDAWgBTxYGDqY3f98KPl558untoEFe5J8TAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0cAMEQCICLX",
        "Y7sA955Bar2M0vpH+vrQKdaFU0oKt8NG6ztTfcbAAiBmo8f7U35wqTJfXf1TsYvQwNUGHRvWCK4YA8urjHXGfQ==",
    );
    const FIXED_SPKI_SHA256: &str = "a+V5KMDOqzhttQmXYINaPozCP2+AWfshYKPmvZ0cmnY=";
}
