//! A call's SIP ladder on its page: the gateway's `siptrace` copies (HEP3 over UDP, as
//! Kamailio sends them) reach the engine's SIP trace recorder, which keeps the call's
//! messages redacted; the call's page draws them between Microsoft's proxy, the gateway and
//! the PBX, each readable in full; another enterprise finds nothing; the retention purge
//! removes old messages.

use crate::app::{TestApp, eventually, text};
use std::net::{Ipv4Addr, UdpSocket};
use std::time::{Duration, SystemTime};
use teamline_engine::sip_trace::SipTraceRecorder;
use teamline_gateway::trace::Sides;
use teamline_gateway::trace::hep::{HepPacket, encode};
use teamline_store::StoredCall;

const CALL_ID: &str = "ladder-1@10.0.0.5";
const GATEWAY_TLS: &str = "127.0.0.1:5061";
const GATEWAY_SIP: &str = "127.0.0.1:5060";
const MICROSOFT: &str = "127.0.0.2:5061";
const PBX: &str = "127.0.0.3:5060";

fn sip(first: &str, cseq: &str, extra: &str) -> String {
    format!(
        "{first}\r\nVia: SIP/2.0/UDP 127.0.0.3;branch=z9hG4bK1\r\nCall-ID: {CALL_ID}\r\nCSeq: {cseq}\r\n{extra}Content-Length: 0\r\n\r\n"
    )
}

fn packet(src: &str, dst: &str, at: SystemTime, payload: String) -> Vec<u8> {
    encode(&HepPacket {
        src: src.parse().unwrap(),
        dst: dst.parse().unwrap(),
        ip_proto: if src == GATEWAY_TLS || dst == GATEWAY_TLS {
            6
        } else {
            17
        },
        at,
        payload_type: 1,
        payload: payload.into_bytes(),
    })
}

async fn a_failed_calls_ladder_shows_redacted_and_expires(app: TestApp) {
    let e = app.contoso.id;
    let b = app.signed_in().await;
    let now = SystemTime::now();
    let now_ms = i64::try_from(
        now.duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap();
    app.store
        .record_call(&StoredCall {
            call_id: CALL_ID.to_owned(),
            enterprise_id: e,
            pbx_user_id: None,
            direction: "to_pbx".to_owned(),
            device: "1000tm".to_owned(),
            from_number: "+11000".to_owned(),
            to_number: "1001".to_owned(),
            tenant_fqdn: "contoso.useast2.sbc.example.net".to_owned(),
            microsoft_proxy: Some("sip.pstnhub.microsoft.com".to_owned()),
            started_ms: now_ms,
            ringing_ms: None,
            answered_ms: None,
            ended_ms: Some(now_ms + 400),
            result: "busy".to_owned(),
            sip_code: Some(486),
            codec: None,
            srtp: None,
            observed_ms: now_ms,
        })
        .await
        .unwrap();
    let (_, before) = text(b.get("/calls/ladder-1@10.0.0.5")).await;
    assert!(
        before.contains("No SIP messages are kept for this call"),
        "{before}"
    );

    let sides = Sides {
        microsoft: GATEWAY_TLS.parse().unwrap(),
        pbx: GATEWAY_SIP.parse().unwrap(),
    };
    let (stop, rx) = tokio::sync::watch::channel(false);
    // The recorder listens where the gateway's siptrace sends.
    let any_port = (Ipv4Addr::LOCALHOST, 0).into();
    let recorder = SipTraceRecorder::new(app.engine.clone(), any_port, sides, 7)
        .listen()
        .await
        .unwrap();
    let listen = recorder.local_addr().unwrap();
    let task = tokio::spawn(recorder.run(rx));
    let sdp_secret = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz";
    let at = |ms: u64| now + Duration::from_millis(ms);
    let messages = [
        packet(
            MICROSOFT,
            GATEWAY_TLS,
            at(0),
            sip(
                "INVITE sip:1001@contoso.useast2.sbc.example.net SIP/2.0",
                "1 INVITE",
                &format!(
                    "Content-Type: application/sdp\r\nX-Note: a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{sdp_secret}\r\n"
                ),
            ),
        ),
        packet(
            GATEWAY_SIP,
            PBX,
            at(5),
            sip("INVITE sip:1001@contoso SIP/2.0", "1 INVITE", ""),
        ),
        packet(
            PBX,
            GATEWAY_SIP,
            at(20),
            sip("SIP/2.0 407 Proxy Authentication Required", "1 INVITE", ""),
        ),
        packet(
            GATEWAY_SIP,
            PBX,
            at(30),
            sip(
                "INVITE sip:1001@contoso SIP/2.0",
                "2 INVITE",
                "Proxy-Authorization: Digest username=\"1000tm\", realm=\"contoso\", nonce=\"n\", uri=\"sip:1001@contoso\", response=\"d3adb33fd3adb33f\"\r\n",
            ),
        ),
        packet(
            PBX,
            GATEWAY_SIP,
            at(300),
            sip("SIP/2.0 486 Busy Here", "2 INVITE", ""),
        ),
        packet(
            GATEWAY_TLS,
            MICROSOFT,
            at(310),
            sip("SIP/2.0 486 Busy Here", "1 INVITE", ""),
        ),
        // Keep-alives are not calls: not kept.
        packet(
            GATEWAY_TLS,
            MICROSOFT,
            at(320),
            sip(
                "OPTIONS sip:sip.pstnhub.microsoft.com SIP/2.0",
                "9 OPTIONS",
                "",
            ),
        ),
    ];
    let gateway = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    for m in &messages {
        gateway.send_to(m, listen).unwrap();
    }
    eventually("the call's six messages are stored", || async {
        app.store.sip_messages(e, CALL_ID).await.unwrap().len() >= 6
    })
    .await;
    let (status, page) = text(b.get("/calls/ladder-1@10.0.0.5")).await;
    assert_eq!(status, 200);
    assert!(page.contains("SIP ladder"), "{page}");
    for column in ["Microsoft proxy", "Gateway", "PBX"] {
        assert!(
            page.contains(&format!("<span>{column}</span>")),
            "{column}: {page}"
        );
    }
    // Each message is an arrow with its label, way and time since the first.
    let arrows: Vec<&str> = page
        .split("class=\"ladder-arrow ")
        .skip(1)
        .map(|s| s.split('<').next().unwrap())
        .collect();
    assert_eq!(
        arrows,
        vec![
            "right tone-sent\">INVITE",
            "right tone-sent\">INVITE",
            "left tone-bad\">407 Proxy Authentication Required",
            "right tone-sent\">INVITE",
            "left tone-bad\">486 Busy Here",
            "left tone-bad\">486 Busy Here",
        ],
        "{page}"
    );
    assert!(
        page.contains("+0.000 s") && page.contains("+0.310 s"),
        "{page}"
    );
    assert!(page.contains("Microsoft proxy → gateway"), "{page}");
    assert!(page.contains("gateway → PBX"), "{page}");
    // Read in full, with the digest response redacted.
    assert!(
        page.contains("Proxy-Authorization: Digest username=&#34;1000tm&#34;")
            || page.contains("Proxy-Authorization: Digest username=&quot;1000tm&quot;"),
        "{page}"
    );
    assert!(!page.contains("d3adb33fd3adb33f"), "{page}");
    assert!(page.contains("[redacted]"), "{page}");
    assert!(!page.contains("OPTIONS sip:"), "{page}");

    // Another enterprise: the call and its ladder are not found.
    let fabrikam = app.fabrikam().id;
    assert!(
        app.store
            .sip_messages(fabrikam, CALL_ID)
            .await
            .unwrap()
            .is_empty()
    );

    // Retention: a message captured ten days ago goes with the purge; the call's others stay.
    let old = now - Duration::from_secs(10 * 86_400);
    gateway
        .send_to(
            &packet(PBX, GATEWAY_SIP, old, sip("BYE sip:x SIP/2.0", "3 BYE", "")),
            listen,
        )
        .unwrap();
    eventually("the old message is stored", || async {
        app.store
            .sip_messages(e, CALL_ID)
            .await
            .unwrap()
            .iter()
            .any(|m| m.label == "BYE")
    })
    .await;
    let purger = SipTraceRecorder::new(app.engine.clone(), any_port, sides, 7);
    assert_eq!(purger.purge().await.unwrap(), 1);
    let left = app.store.sip_messages(e, CALL_ID).await.unwrap();
    assert!(left.iter().all(|m| m.label != "BYE"), "{left:?}");
    assert_eq!(left.len(), 6);

    let _ = stop.send(true);
    task.await.unwrap();
    app.stop().await;
}

#[tokio::test]
async fn sip_ladder_on_sqlite() {
    a_failed_calls_ladder_shows_redacted_and_expires(TestApp::start().await).await;
}

#[tokio::test]
async fn sip_ladder_on_postgresql() {
    a_failed_calls_ladder_shows_redacted_and_expires(TestApp::start_on_postgres().await).await;
}
