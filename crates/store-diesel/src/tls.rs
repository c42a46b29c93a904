//! TLS to PostgreSQL: libpq's `sslmode` and `sslrootcert` URL parameters,
//! on rustls with the `ring` provider (no OpenSSL).
//!
//! tokio-postgres knows `sslmode` `disable|prefer|require` only and rejects
//! `verify-ca`, `verify-full` and `sslrootcert`, so [`PgTls::parse`] takes
//! both out of the URL, hands tokio-postgres the mode it understands
//! (`verify-*` become `require`: TLS or nothing) and puts the certificate
//! checks in the rustls configuration instead.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::anyhow;
use beckon_ports::StoreError;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

/// libpq's `sslmode`, less `allow` (plain first, TLS only when the server
/// insists: no managed service needs it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// Plain TCP.
    Disable,
    /// TLS when the server offers it, plain otherwise; no certificate check
    /// (libpq's default).
    Prefer,
    /// TLS; the certificate is not checked, unless `sslrootcert` is given:
    /// then, as in libpq, like `VerifyCa`.
    Require,
    /// TLS; the server's chain must lead to a trusted root (`sslrootcert`,
    /// or the webpki roots); its host name is not checked.
    VerifyCa,
    /// `VerifyCa`, and the certificate must name the host connected to.
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Result<Self, StoreError> {
        match value {
            "disable" => Ok(Self::Disable),
            "prefer" => Ok(Self::Prefer),
            "require" => Ok(Self::Require),
            "verify-ca" => Ok(Self::VerifyCa),
            "verify-full" => Ok(Self::VerifyFull),
            other => Err(config_error(format!(
                "sslmode {other:?} is not supported: expected disable, prefer, require, \
                 verify-ca or verify-full"
            ))),
        }
    }

    /// The `sslmode` tokio-postgres is given.
    fn for_tokio_postgres(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Prefer => "prefer",
            Self::Require | Self::VerifyCa | Self::VerifyFull => "require",
        }
    }
}

/// How to reach one PostgreSQL server: the URL for tokio-postgres and the
/// TLS settings taken out of it. Its `Debug` leaves out the URL, which may
/// hold a password.
#[derive(Clone, PartialEq, Eq)]
pub struct PgTls {
    /// The URL without `sslrootcert`, with an `sslmode` tokio-postgres
    /// accepts.
    pub url: String,
    /// The `sslmode` asked for (`prefer` when the URL names none).
    pub mode: SslMode,
    /// `sslrootcert`: a PEM file of the trusted roots.
    pub root_cert: Option<PathBuf>,
}

impl std::fmt::Debug for PgTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgTls")
            .field("url", &"..")
            .field("mode", &self.mode)
            .field("root_cert", &self.root_cert)
            .finish()
    }
}

impl PgTls {
    /// Takes `sslmode` and `sslrootcert` out of a `postgres://` URL's query
    /// (the last of each wins, as in libpq) and leaves the rest as it is.
    pub fn parse(url: &str) -> Result<Self, StoreError> {
        let (base, query) = match url.split_once('?') {
            Some((base, query)) => (base, query),
            None => (url, ""),
        };
        let mut mode = SslMode::Prefer;
        let mut root_cert = None;
        let mut kept: Vec<&str> = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let raw_key = pair.split_once('=').map_or(pair, |(k, _)| k);
            match raw_key {
                "sslmode" => mode = SslMode::parse(&decoded_value(pair)?)?,
                "sslrootcert" => {
                    let path = decoded_value(pair)?;
                    if path.is_empty() {
                        return Err(config_error("sslrootcert is empty".to_owned()));
                    }
                    root_cert = Some(PathBuf::from(path));
                }
                // tokio-postgres would refuse them only when connecting:
                // client certificates, CRLs and the like stop the start.
                key if key.starts_with("ssl") && key != "sslnegotiation" => {
                    return Err(config_error(format!(
                        "{key} is not supported (of the ssl* parameters, only sslmode, \
                         sslrootcert and sslnegotiation are)"
                    )));
                }
                _ => kept.push(pair),
            }
        }
        let sslmode = format!("sslmode={}", mode.for_tokio_postgres());
        kept.push(&sslmode);
        Ok(Self {
            url: format!("{base}?{}", kept.join("&")),
            mode,
            root_cert,
        })
    }

    /// The rustls connector for these settings, with the roots read now so
    /// that a missing or unreadable `sslrootcert` stops the start rather than
    /// every connection. `None` for `disable`.
    pub fn connector(&self) -> Result<Option<MakeRustlsConnect>, StoreError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier: Arc<dyn ServerCertVerifier> = match (self.mode, &self.root_cert) {
            (SslMode::Disable, _) => return Ok(None),
            (SslMode::Prefer, _) | (SslMode::Require, None) => {
                Arc::new(AnyCertificate(Arc::clone(&provider)))
            }
            (SslMode::Require | SslMode::VerifyCa, root) => Arc::new(ChainOnly {
                roots: Arc::new(roots(root.as_deref())?),
                provider: Arc::clone(&provider),
            }),
            (SslMode::VerifyFull, root) => {
                rustls::client::WebPkiServerVerifier::builder_with_provider(
                    Arc::new(roots(root.as_deref())?),
                    Arc::clone(&provider),
                )
                .build()
                .map_err(|e| config_error(format!("building the certificate verifier: {e}")))?
            }
        };
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| config_error(format!("configuring TLS: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok(Some(MakeRustlsConnect::new(config)))
    }
}

/// A configuration error that names the variable and never the URL (it may
/// hold a password).
fn config_error(msg: String) -> StoreError {
    StoreError::Unexpected(anyhow!("BECKON_DATABASE_URL: {msg}"))
}

/// The percent-decoded value of one `key=value` query pair.
fn decoded_value(pair: &str) -> Result<String, StoreError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(pair)
        .map_err(|_| config_error("a query parameter is not URL-encoded".to_owned()))?;
    Ok(pairs.into_iter().next().map(|(_, v)| v).unwrap_or_default())
}

/// The roots in `path` (PEM), or the webpki (Mozilla) roots without one.
fn roots(path: Option<&Path>) -> Result<RootCertStore, StoreError> {
    let Some(path) = path else {
        return Ok(RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        });
    };
    let shown = path.display();
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| config_error(format!("reading sslrootcert {shown}: {e}")))?;
    let mut store = RootCertStore::empty();
    let (added, _ignored) = store.add_parsable_certificates(certs);
    if added == 0 {
        return Err(config_error(format!(
            "sslrootcert {shown} holds no usable certificate"
        )));
    }
    Ok(store)
}

/// Accepts any server certificate: libpq's `sslmode=prefer` and `require`
/// (without a root certificate) encrypt without authenticating the server,
/// and managed services often present certificates from a private CA that
/// the client has not been given. Such a connection resists eavesdropping,
/// not an active attacker; `verify-ca`/`verify-full` are there for that.
/// The handshake signatures are still checked, so the server must hold the
/// key of the certificate it presents.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain must lead to a trusted root (and be in date), the
/// host name is not checked.
#[derive(Debug)]
struct ChainOnly {
    roots: Arc<RootCertStore>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let cert = ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_cert_signed_by_trust_anchor(
            &cert,
            &self.roots,
            intermediates,
            now,
            self.provider.signature_verification_algorithms.all,
        )?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(url: &str) -> PgTls {
        PgTls::parse(url).unwrap()
    }

    #[test]
    fn without_sslmode_it_is_prefer_as_in_libpq() {
        let tls = parsed("postgres://u@h/db");
        assert_eq!(tls.mode, SslMode::Prefer);
        assert_eq!(tls.root_cert, None);
        assert_eq!(tls.url, "postgres://u@h/db?sslmode=prefer");
    }

    #[test]
    fn every_mode_parses_and_tokio_postgres_gets_one_it_knows() {
        for (given, mode, passed) in [
            ("disable", SslMode::Disable, "disable"),
            ("prefer", SslMode::Prefer, "prefer"),
            ("require", SslMode::Require, "require"),
            ("verify-ca", SslMode::VerifyCa, "require"),
            ("verify-full", SslMode::VerifyFull, "require"),
        ] {
            let tls = parsed(&format!("postgres://u@h/db?sslmode={given}"));
            assert_eq!(tls.mode, mode, "{given}");
            assert_eq!(tls.url, format!("postgres://u@h/db?sslmode={passed}"));
        }
    }

    #[test]
    fn sslrootcert_is_taken_out_and_decoded_and_other_parameters_stay() {
        let tls = parsed(
            "postgres://u:p@h:5433/db?application_name=beckon&sslrootcert=%2Fetc%2Fca%20x.pem\
             &sslmode=verify-full&connect_timeout=5",
        );
        assert_eq!(tls.mode, SslMode::VerifyFull);
        assert_eq!(tls.root_cert, Some(PathBuf::from("/etc/ca x.pem")));
        assert_eq!(
            tls.url,
            "postgres://u:p@h:5433/db?application_name=beckon&connect_timeout=5&sslmode=require"
        );
    }

    #[test]
    fn an_unknown_sslmode_is_a_config_error_naming_the_variable_not_the_password() {
        for bad in ["allow", "verify_full", "REQUIRE", ""] {
            let err = PgTls::parse(&format!("postgres://beckon:hunter2@db/app?sslmode={bad}"))
                .unwrap_err();
            let shown = format!("{err:#}");
            assert!(matches!(err, StoreError::Unexpected(_)), "{shown}");
            assert!(shown.contains("BECKON_DATABASE_URL"), "{shown}");
            assert!(shown.contains("sslmode"), "{shown}");
            assert!(!shown.contains("hunter2"), "{shown}");
        }
    }

    #[test]
    fn an_empty_or_unreadable_sslrootcert_is_a_config_error() {
        let err = PgTls::parse("postgres://u:hunter2@h/db?sslrootcert=").unwrap_err();
        assert!(format!("{err:#}").contains("BECKON_DATABASE_URL"));

        let tls =
            parsed("postgres://u:hunter2@h/db?sslmode=verify-ca&sslrootcert=/nonexistent/ca.pem");
        let err = tls.connector().err().unwrap();
        let shown = format!("{err:#}");
        assert!(shown.contains("BECKON_DATABASE_URL"), "{shown}");
        assert!(shown.contains("/nonexistent/ca.pem"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn other_ssl_parameters_are_a_config_error_without_their_value() {
        for key in ["sslcert", "sslkey", "sslpassword", "sslcrl", "sslsni"] {
            let err = PgTls::parse(&format!("postgres://u@h/db?{key}=hunter2")).unwrap_err();
            let shown = format!("{err:#}");
            assert!(shown.contains("BECKON_DATABASE_URL"), "{shown}");
            assert!(shown.contains(key), "{shown}");
            assert!(!shown.contains("hunter2"), "{shown}");
        }
        assert_eq!(
            parsed("postgres://h/db?sslnegotiation=postgres").url,
            "postgres://h/db?sslnegotiation=postgres&sslmode=prefer"
        );
    }

    #[test]
    fn debug_never_shows_the_url() {
        let shown = format!("{:?}", parsed("postgres://u:hunter2@db.internal/app"));
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("db.internal"), "{shown}");
    }

    #[test]
    fn every_mode_but_disable_builds_a_connector() {
        assert!(
            parsed("postgres://h/db?sslmode=disable")
                .connector()
                .unwrap()
                .is_none()
        );
        for mode in ["prefer", "require", "verify-ca", "verify-full"] {
            let tls = parsed(&format!("postgres://h/db?sslmode={mode}"));
            assert!(tls.connector().unwrap().is_some(), "{mode}");
        }
    }
}
