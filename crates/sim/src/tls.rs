//! A throw-away certificate authority for serving the simulators over HTTPS.
//!
//! Real Microsoft endpoints are HTTPS only, and some clients (the Microsoft Graph SDK for Python)
//! refuse anything else. The simulator therefore creates a self-signed CA at start-up, signs a
//! server certificate for `localhost` / `127.0.0.1` / `::1` with it, and writes the CA
//! certificate to a directory so that clients can be told to trust it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// File name of the CA certificate written by [`TestCa::write_ca_pem`].
pub const CA_FILE_NAME: &str = "teamline-sim-ca.pem";

/// Errors while creating certificates or the TLS configuration.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("could not generate a simulator certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("could not build the simulator's TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("could not write the simulator CA certificate to {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Installs ring as the process-wide rustls provider (ignored when one is already installed).
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A self-signed CA and one server certificate it signed for the loopback names.
pub struct TestCa {
    ca_pem: String,
    server_chain: Vec<CertificateDer<'static>>,
    server_key_der: Vec<u8>,
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCa").finish_non_exhaustive()
    }
}

impl TestCa {
    /// Creates a CA and a server certificate for `localhost`, `127.0.0.1` and `::1`, plus any
    /// extra DNS names given.
    pub fn generate(extra_names: &[String]) -> Result<Self, TlsError> {
        install_crypto_provider();
        let ca_key = KeyPair::generate()?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        let mut ca_dn = DistinguishedName::new();
        ca_dn.push(DnType::CommonName, "Teamline simulator CA");
        ca_dn.push(DnType::OrganizationName, "Teamline");
        ca_params.distinguished_name = ca_dn;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca_params.self_signed(&ca_key)?;
        let issuer = Issuer::new(ca_params, ca_key);

        let server_key = KeyPair::generate()?;
        let mut names = vec!["localhost".to_string()];
        names.extend(extra_names.iter().cloned());
        let mut params = CertificateParams::new(names)?;
        params
            .subject_alt_names
            .push(SanType::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()));
        params
            .subject_alt_names
            .push(SanType::IpAddress(std::net::Ipv6Addr::LOCALHOST.into()));
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "localhost");
        params.distinguished_name = dn;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_cert = params.signed_by(&server_key, &issuer)?;

        Ok(Self {
            ca_pem: ca_cert.pem(),
            server_chain: vec![server_cert.der().clone(), ca_cert.der().clone()],
            server_key_der: server_key.serialize_der(),
        })
    }

    /// The CA certificate in PEM form, for clients to trust.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// Writes the CA certificate to `dir/teamline-sim-ca.pem` (creating `dir`) and returns the path.
    pub fn write_ca_pem(&self, dir: &Path) -> Result<PathBuf, TlsError> {
        let path = dir.join(CA_FILE_NAME);
        std::fs::create_dir_all(dir).map_err(|source| TlsError::Write {
            path: path.clone(),
            source,
        })?;
        std::fs::write(&path, &self.ca_pem).map_err(|source| TlsError::Write {
            path: path.clone(),
            source,
        })?;
        Ok(path)
    }

    /// A rustls server configuration presenting the server certificate (HTTP/1.1).
    pub fn server_config(&self) -> Result<Arc<ServerConfig>, TlsError> {
        install_crypto_provider();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.server_key_der.clone()));
        let mut config = ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(self.server_chain.clone(), key)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_pem_ca_and_builds_a_server_config() {
        let ca = TestCa::generate(&[]).unwrap();
        let dir = std::env::temp_dir().join(format!("teamline-sim-ca-{}", std::process::id()));
        let path = ca.write_ca_pem(&dir).unwrap();
        let pem = std::fs::read_to_string(&path).unwrap();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
        ca.server_config().unwrap();
        let _ = std::fs::remove_dir_all(dir);
    }
}
