//! Starting a simulator and building clients for it.

use std::time::Duration;

use secrecy::SecretString;
use teamline_pbx::{
    NetSapiensAuth, NetSapiensClient, NetSapiensSettings, NetworkPolicy, RetryPolicy, Timeouts,
};
use teamline_sim::netsapiens::{
    CONTOSO_DOMAIN, DEMO_API_KEY, DEMO_OAUTH_CLIENT_ID, DEMO_OAUTH_CLIENT_SECRET,
    DEMO_OAUTH_PASSWORD, DEMO_OAUTH_USERNAME, NetSapiensSim, NetSapiensSimHandle,
};

/// A running simulator seeded with the Contoso PBX.
pub async fn contoso() -> NetSapiensSimHandle {
    NetSapiensSim::new()
        .seed_contoso()
        .spawn("127.0.0.1:0".parse().expect("address"))
        .await
        .expect("simulator starts")
}

/// Retries fast, so that tests of retry paths stay quick; generous timeouts for a loaded
/// machine.
pub fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_retries: 3,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        max_retry_after: Duration::from_secs(5),
    }
}

/// Settings for the simulator on 127.0.0.1 over http, which only a trusting network policy
/// allows (as the demo and the tests configure Teamline).
pub fn settings(base_url: &str, domain: &str, auth: NetSapiensAuth) -> NetSapiensSettings {
    NetSapiensSettings {
        timeouts: Timeouts {
            connect: Duration::from_secs(10),
            request: Duration::from_secs(30),
        },
        retry: fast_retries(),
        ..NetSapiensSettings::new(base_url, domain, auth).network(NetworkPolicy::TRUSTED_NETWORK)
    }
}

pub fn api_key(key: &str) -> NetSapiensAuth {
    NetSapiensAuth::ApiKey(SecretString::from(key))
}

pub fn demo_oauth() -> NetSapiensAuth {
    NetSapiensAuth::OAuth {
        client_id: DEMO_OAUTH_CLIENT_ID.to_owned(),
        client_secret: SecretString::from(DEMO_OAUTH_CLIENT_SECRET),
        username: DEMO_OAUTH_USERNAME.to_owned(),
        password: SecretString::from(DEMO_OAUTH_PASSWORD),
    }
}

/// A client for Contoso with the demo API key.
pub fn client(sim: &NetSapiensSimHandle) -> NetSapiensClient {
    NetSapiensClient::new(settings(
        &sim.base_url,
        CONTOSO_DOMAIN,
        api_key(DEMO_API_KEY),
    ))
    .expect("client")
}

pub fn client_with(settings: NetSapiensSettings) -> NetSapiensClient {
    NetSapiensClient::new(settings).expect("client")
}

/// A local URL where nothing listens.
pub async fn closed_port_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    format!("http://{addr}")
}
