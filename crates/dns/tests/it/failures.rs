//! What the operator is told when the server refuses, is down, or does not serve the zone.

use teamline_dns::testing::TestTsigKey;
use teamline_dns::{DnsError, Rfc2136Publisher, ZonePublisher};

use crate::support::{ZONE, publisher, server, server_with, settings};

const NAME: &str = "cust1234.sbc.example.net";

fn value() -> Vec<String> {
    vec!["MS=ms12345678".to_owned()]
}

#[tokio::test]
async fn a_wrong_secret_is_refused_with_the_key_and_zone_named() {
    let server = server().await;
    let wrong = TestTsigKey {
        name: server.key.name.clone(),
        secret_base64: TestTsigKey::generate("x").secret_base64,
    };
    let dns = Rfc2136Publisher::new(&settings(&server.knot.server(), ZONE, &wrong)).unwrap();

    let err = dns.upsert_txt(NAME, &value(), 300).await.unwrap_err();

    assert!(matches!(err, DnsError::KeyRefused { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "the TSIG key `teamline.` is not allowed to update zone `sbc.example.net` on the \
             DNS server {}: the key's secret does not match the server's (BADSIG). Check the \
             key name and secret in Teamline's DNS settings against the key configured on the \
             server and the zone's update ACL",
            server.knot.server()
        )
    );
    assert!(!err.to_string().contains(&wrong.secret_base64));
    assert!(
        server.knot.txt(NAME).unwrap().is_empty(),
        "nothing published"
    );
}

#[tokio::test]
async fn an_unknown_key_and_a_key_the_zone_does_not_allow_are_refused() {
    let other = TestTsigKey::generate("other.");
    let server = server_with(|c| c.known_key(other.clone())).await;

    for key in [TestTsigKey::generate("stranger."), other.clone()] {
        let dns = Rfc2136Publisher::new(&settings(&server.knot.server(), ZONE, &key)).unwrap();
        let err = dns.upsert_txt(NAME, &value(), 300).await.unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, DnsError::KeyRefused { .. }), "{err:?}");
        assert!(
            text.starts_with(&format!(
                "the TSIG key `{}` is not allowed to update zone `sbc.example.net`",
                key.name
            )) && text.contains("does not know this key, or does not accept it for this zone"),
            "{text}"
        );
    }
    assert!(server.knot.txt(NAME).unwrap().is_empty());
}

#[tokio::test]
async fn a_zone_the_server_does_not_serve_is_named_in_the_error() {
    let server = server().await;
    let dns = Rfc2136Publisher::new(&settings(
        &server.knot.server(),
        "sbc.example.org",
        &server.key,
    ))
    .unwrap();

    let err = dns
        .upsert_txt("cust1.sbc.example.org", &value(), 300)
        .await
        .unwrap_err();
    assert!(matches!(err, DnsError::ZoneNotServed { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "the DNS server {} does not serve the zone `sbc.example.org` (it is not \
             authoritative for it): check the zone name in Teamline's DNS settings and that the \
             server is the zone's primary",
            server.knot.server()
        )
    );
    let err = dns.lookup_txt("cust1.sbc.example.org").await.unwrap_err();
    assert!(matches!(err, DnsError::ZoneNotServed { .. }), "{err:?}");
}

#[tokio::test]
async fn a_server_that_is_down_is_reported_unreachable() {
    let mut server = server().await;
    let dns = publisher(&server);
    server.knot.stop();

    let err = dns.upsert_txt(NAME, &value(), 300).await.unwrap_err();
    assert!(matches!(err, DnsError::Unreachable { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "cannot reach the DNS server {}: ",
            server.knot.server()
        )) && text.contains("Connection refused")
            && text.ends_with(
                "Check that the server runs and that this host may connect to it over TCP"
            ),
        "{text}"
    );
    let err = dns.lookup_txt(NAME).await.unwrap_err();
    assert!(matches!(err, DnsError::Unreachable { .. }), "{err:?}");
}

#[tokio::test]
async fn names_outside_the_zone_are_refused_before_anything_is_sent() {
    let server = server().await;
    let dns = publisher(&server);
    let err = dns
        .upsert_txt("cust1.example.org", &value(), 300)
        .await
        .unwrap_err();
    assert!(matches!(err, DnsError::NameOutsideZone { .. }), "{err:?}");
    let err = dns.upsert_txt(NAME, &[], 300).await.unwrap_err();
    assert!(matches!(err, DnsError::InvalidValue { .. }), "{err:?}");
}

/// A server that says NOERROR without signing its answer (a spoofed or misconfigured one):
/// Teamline must not take the change as made.
#[tokio::test]
async fn an_unsigned_success_is_not_trusted() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let len = socket.read_u16().await.unwrap();
        let mut request = vec![0; usize::from(len)];
        socket.read_exact(&mut request).await.unwrap();
        // The request's header with QR set, NOERROR, and no records: an unsigned "done".
        let mut answer = request[..12].to_vec();
        answer[2] |= 0x80;
        answer[3] = 0;
        answer[4..12].fill(0);
        socket.write_u16(12).await.unwrap();
        socket.write_all(&answer).await.unwrap();
    });
    let key = TestTsigKey::generate("teamline.");
    let dns = Rfc2136Publisher::new(&settings(&addr.to_string(), ZONE, &key)).unwrap();

    let err = dns.upsert_txt(NAME, &value(), 300).await.unwrap_err();

    assert!(matches!(err, DnsError::Unauthenticated { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("is not signed with the TSIG key `teamline.`"),
        "{err}"
    );
}
