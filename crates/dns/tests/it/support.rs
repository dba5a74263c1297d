//! What the tests share: a Knot server for `sbc.example.net` that takes updates signed with
//! one key, and a publisher configured for it.

use secrecy::SecretString;
use teamline_dns::testing::{Knot, KnotConfig, TestTsigKey};
use teamline_dns::{Rfc2136Publisher, Rfc2136Settings, TsigKey};

pub const ZONE: &str = "sbc.example.net";

pub struct Server {
    pub knot: Knot,
    pub key: TestTsigKey,
    _dir: tempfile::TempDir,
}

pub async fn server() -> Server {
    server_with(|config| config).await
}

pub async fn server_with(configure: impl FnOnce(KnotConfig) -> KnotConfig) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let key = TestTsigKey::generate("teamline.");
    let config = configure(KnotConfig::new(ZONE).update_key(key.clone()));
    let knot = config
        .start(dir.path())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    Server {
        knot,
        key,
        _dir: dir,
    }
}

/// Teamline's settings for a server, zone and key.
pub fn settings(server: &str, zone: &str, key: &TestTsigKey) -> Rfc2136Settings {
    Rfc2136Settings::new(
        server,
        zone,
        TsigKey::hmac_sha256(&key.name, SecretString::from(key.secret_base64.clone())),
    )
}

pub fn publisher(server: &Server) -> Rfc2136Publisher {
    Rfc2136Publisher::new(&settings(&server.knot.server(), ZONE, &server.key)).unwrap()
}
