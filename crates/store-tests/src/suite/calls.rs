//! Call records: stored per enterprise, replaced by later events of the same call, listed
//! newest first with filters, never shown to or overwritten by another enterprise, and
//! deleted after the retention period.

use crate::Harness;
use crate::fixtures::*;
use std::sync::Arc;
use teamline_store::*;

fn call(t: &Tenant, id: &str, started_ms: i64, from: &str, result: &str) -> StoredCall {
    StoredCall {
        call_id: id.to_owned(),
        enterprise_id: t.enterprise.id,
        pbx_user_id: None,
        direction: "to_teams".to_owned(),
        device: "1000tm".to_owned(),
        from_number: from.to_owned(),
        to_number: "+11000".to_owned(),
        tenant_fqdn: "contoso.useast2.sbc.example.net".to_owned(),
        microsoft_proxy: Some("sip.pstnhub.microsoft.com".to_owned()),
        started_ms,
        ringing_ms: None,
        answered_ms: None,
        ended_ms: None,
        result: result.to_owned(),
        sip_code: None,
        codec: None,
        srtp: None,
        observed_ms: started_ms,
    }
}

pub async fn calls_are_kept_per_enterprise_filtered_and_expire(h: Arc<Harness>) {
    let s = &h.store;
    let contoso = tenant(s, "Contoso").await;
    let fabrikam = tenant(s, "Fabrikam").await;
    let all = CallFilter {
        limit: 100,
        ..CallFilter::default()
    };

    // A call in progress, then its answer and end replace it.
    s.record_call(&call(&contoso, "c1", 1_000, "+12125550100", "in_progress"))
        .await
        .unwrap();
    let mut done = call(&contoso, "c1", 1_000, "+12125550100", "answered");
    done.answered_ms = Some(3_000);
    done.ended_ms = Some(33_000);
    done.sip_code = Some(200);
    done.codec = Some("PCMU".to_owned());
    done.srtp = Some(true);
    s.record_call(&done).await.unwrap();
    let mut busy = call(&contoso, "c2", 2_000, "+13035550111", "busy");
    busy.direction = "to_pbx".to_owned();
    busy.sip_code = Some(486);
    s.record_call(&busy).await.unwrap();

    let listed = s.list_calls(contoso.enterprise.id, &all).await.unwrap();
    assert_eq!(listed, vec![busy.clone(), done.clone()], "newest first");
    assert_eq!(
        s.get_call(contoso.enterprise.id, "c1").await.unwrap(),
        Some(done.clone())
    );

    // Filters: direction, result, a part of a number.
    let only = |f: CallFilter| async move {
        s.list_calls(contoso.enterprise.id, &f)
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.call_id)
            .collect::<Vec<_>>()
    };
    let f = |direction: Option<&str>, result: Option<&str>, search: Option<&str>| CallFilter {
        direction: direction.map(str::to_owned),
        result: result.map(str::to_owned),
        search: search.map(str::to_owned),
        limit: 100,
        ..CallFilter::default()
    };
    assert_eq!(only(f(Some("to_pbx"), None, None)).await, vec!["c2"]);
    assert_eq!(only(f(None, Some("answered"), None)).await, vec!["c1"]);
    assert_eq!(only(f(None, None, Some("2125550"))).await, vec!["c1"]);
    assert_eq!(
        only(f(None, None, Some("5550%"))).await,
        Vec::<String>::new()
    );

    // A user is found by name: the call of the handle Adele's PBX user holds.
    synced(&h, &contoso, &[("AdeleV", "Adele Vance")]).await;
    let adele = s
        .create_pbx_user(
            &new_user(&contoso, "AdeleV", "1000"),
            &audit("pbx_user.create"),
        )
        .await
        .unwrap();
    let mut hers = call(&contoso, "c3", 2_500, "+14155550123", "no_answer");
    hers.pbx_user_id = Some(adele.id);
    s.record_call(&hers).await.unwrap();
    assert_eq!(only(f(None, None, Some("adele v"))).await, vec!["c3"]);

    // Keyset paging, newest first, ties by Call-ID; a date range.
    let mut tie = call(&contoso, "c0", 2_500, "+14155550124", "answered");
    tie.sip_code = Some(200);
    s.record_call(&tie).await.unwrap();
    let page = |after: Option<CallCursor>| CallFilter {
        after,
        limit: 2,
        ..CallFilter::default()
    };
    let first = only(page(None)).await;
    assert_eq!(first, vec!["c0", "c3"]);
    let next = only(page(Some(CallCursor {
        started_ms: 2_500,
        call_id: "c3".to_owned(),
    })))
    .await;
    assert_eq!(next, vec!["c2", "c1"]);
    let range = CallFilter {
        since_ms: Some(1_500),
        until_ms: Some(2_500),
        limit: 100,
        ..CallFilter::default()
    };
    assert_eq!(only(range).await, vec!["c2"]);

    // Another enterprise sees none of them, and cannot overwrite one with the same Call-ID.
    assert!(
        s.list_calls(fabrikam.enterprise.id, &all)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        s.get_call(fabrikam.enterprise.id, "c1").await.unwrap(),
        None
    );
    s.record_call(&call(&fabrikam, "c1", 9_000, "+1999", "failed"))
        .await
        .unwrap();
    assert_eq!(
        s.get_call(contoso.enterprise.id, "c1").await.unwrap(),
        Some(done)
    );

    // Retention: calls that started before the cut are deleted.
    assert_eq!(s.delete_calls_before(1_500).await.unwrap(), 1);
    let left: Vec<String> = s
        .list_calls(contoso.enterprise.id, &all)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.call_id)
        .collect();
    assert_eq!(left, vec!["c0", "c3", "c2"]);
}

fn sip(call_id: &str, captured_us: i64, label: &str) -> StoredSipMessage {
    StoredSipMessage {
        call_id: call_id.to_owned(),
        captured_us,
        peer: "pbx".to_owned(),
        from_gateway: false,
        src: "10.0.0.5:5060".to_owned(),
        dst: "10.0.0.1:5060".to_owned(),
        transport: "udp".to_owned(),
        label: label.to_owned(),
        cseq: format!("1 {label}"),
        message: format!(
            "{label} sip:+11000@contoso.example SIP/2.0\r\nCall-ID: {call_id}\r\n\r\n"
        ),
    }
}

pub async fn sip_messages_are_read_through_their_call_and_expire(h: Arc<Harness>) {
    let s = &h.store;
    let contoso = tenant(s, "Contoso").await;
    let fabrikam = tenant(s, "Fabrikam").await;
    s.record_call(&call(&contoso, "t1", 1_000, "+1001", "answered"))
        .await
        .unwrap();
    // Captured out of order (HEP is UDP): read back in capture order; a message of a Call-ID
    // with no record yet is kept for when its record comes.
    let mut ack = sip("t1", 3_000_000, "ACK");
    ack.peer = "microsoft".to_owned();
    ack.from_gateway = true;
    ack.transport = "tls".to_owned();
    s.record_sip_messages(&[
        ack.clone(),
        sip("t1", 1_000_000, "INVITE"),
        sip("later", 1_500_000, "INVITE"),
    ])
    .await
    .unwrap();
    let read = s.sip_messages(contoso.enterprise.id, "t1").await.unwrap();
    assert_eq!(read, vec![sip("t1", 1_000_000, "INVITE"), ack]);
    // Another enterprise reads nothing of it, nor of a Call-ID without a record.
    assert!(
        s.sip_messages(fabrikam.enterprise.id, "t1")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        s.sip_messages(contoso.enterprise.id, "later")
            .await
            .unwrap()
            .is_empty()
    );
    s.record_call(&call(&contoso, "later", 1_500, "+1002", "answered"))
        .await
        .unwrap();
    assert_eq!(
        s.sip_messages(contoso.enterprise.id, "later")
            .await
            .unwrap(),
        vec![sip("later", 1_500_000, "INVITE")]
    );

    // Retention: messages captured before the cut are deleted, the call record stays.
    assert_eq!(s.delete_sip_messages_before(2_000_000).await.unwrap(), 2);
    assert_eq!(
        s.sip_messages(contoso.enterprise.id, "t1")
            .await
            .unwrap()
            .iter()
            .map(|m| m.label.as_str())
            .collect::<Vec<_>>(),
        vec!["ACK"]
    );
    assert!(
        s.get_call(contoso.enterprise.id, "t1")
            .await
            .unwrap()
            .is_some()
    );
}

fn proxy(fqdn: &str, state: &str, since_ms: i64) -> ProxyHealthRecord {
    ProxyHealthRecord {
        fqdn: fqdn.to_owned(),
        uri: format!("sip:{fqdn}:5061;transport=tls"),
        state: state.to_owned(),
        since_ms,
    }
}

fn region(name: &str, proxies: Vec<ProxyHealthRecord>, observed_ms: i64) -> RegionHealthRecord {
    RegionHealthRecord {
        region: name.to_owned(),
        base_fqdn: format!("{name}.sbc.example.net"),
        proxies,
        certificate_expires_ms: Some(90 * 86_400_000),
        certificate_problem: None,
        observed_ms,
    }
}

pub async fn gateway_health_is_replaced_and_keeps_when_a_state_began(h: Arc<Harness>) {
    let s = &h.store;
    assert!(s.gateway_health().await.unwrap().is_empty());
    let first = vec![
        region(
            "us-east-2",
            vec![
                proxy("sip.pstnhub.microsoft.com", "up", 1_000),
                proxy("sip2.pstnhub.microsoft.com", "up", 1_000),
            ],
            1_000,
        ),
        region(
            "us-west",
            vec![proxy("sip3.pstnhub.microsoft.com", "up", 1_000)],
            1_000,
        ),
    ];
    s.record_gateway_health(&first).await.unwrap();
    assert_eq!(s.gateway_health().await.unwrap(), first);

    // Later: sip2 went down, sip stayed up (still "since 1 000"), us-west is gone.
    let mut second = vec![region(
        "us-east-2",
        vec![
            proxy("sip.pstnhub.microsoft.com", "up", 5_000),
            proxy("sip2.pstnhub.microsoft.com", "down", 5_000),
        ],
        5_000,
    )];
    second[0].certificate_expires_ms = None;
    second[0].certificate_problem = Some("cannot read /etc/teamline/use2.pem".to_owned());
    s.record_gateway_health(&second).await.unwrap();
    let stored = s.gateway_health().await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].observed_ms, 5_000);
    assert_eq!(stored[0].certificate_problem, second[0].certificate_problem);
    let states: Vec<(&str, &str, i64)> = stored[0]
        .proxies
        .iter()
        .map(|p| (p.fqdn.as_str(), p.state.as_str(), p.since_ms))
        .collect();
    assert_eq!(
        states,
        [
            ("sip.pstnhub.microsoft.com", "up", 1_000),
            ("sip2.pstnhub.microsoft.com", "down", 5_000)
        ]
    );
}
