//! Throttling, outages, time limits, the per-tenant concurrency limit and request ids.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use teamline_microsoft::throttle::with_max_wait;
use teamline_microsoft::{MicrosoftClient, MicrosoftCloud, MicrosoftError};
use tokio::sync::Notify;

use crate::fixture::{self, TENANT, eventually, graph_error, licensed_user, serve, token_route};

/// A `/v1.0/users/{id}` that answers with `script` in order, then 200.
fn scripted(
    script: Vec<(StatusCode, Vec<(&'static str, &'static str)>)>,
) -> impl FnOnce(url::Url) -> Router {
    move |_| {
        let script = Arc::new(Mutex::new(script.into_iter()));
        token_route(Router::new()).route(
            "/v1.0/users/{id}",
            get(move || {
                let script = script.clone();
                async move {
                    let next = script.lock().unwrap().next();
                    match next {
                        Some((status, headers)) => {
                            let mut h = HeaderMap::new();
                            for (k, v) in headers {
                                h.insert(k, v.parse().unwrap());
                            }
                            let code = if status == StatusCode::TOO_MANY_REQUESTS {
                                "TooManyRequests"
                            } else {
                                "serviceNotAvailable"
                            };
                            (
                                status,
                                h,
                                axum::Json(graph_error(code, "Please retry again later.")),
                            )
                                .into_response()
                        }
                        None => {
                            axum::Json(licensed_user("u1", "AdeleV@contoso.example", "Adele Vance"))
                                .into_response()
                        }
                    }
                }
            }),
        )
    }
}

#[tokio::test]
async fn throttling_waits_for_retry_after_before_trying_again() {
    let server = serve(scripted(vec![(
        StatusCode::TOO_MANY_REQUESTS,
        vec![("retry-after", "1")],
    )]))
    .await;
    let ms = fixture::client(&server.base);
    ms.tenant(TENANT).user("u1").await.unwrap().unwrap();
    let reqs = server.graph_requests();
    assert_eq!(reqs.len(), 2);
    // The server saw nothing from the client until Retry-After had elapsed.
    assert!(reqs[1].at.duration_since(reqs[0].at) >= Duration::from_secs(1));
    // Both attempts carry the same client-request-id: one logical request.
    assert_eq!(
        reqs[0].header("client-request-id"),
        reqs[1].header("client-request-id")
    );
}

#[tokio::test]
async fn a_retry_after_longer_than_the_budget_hands_back_to_the_job() {
    let server = serve(scripted(vec![(
        StatusCode::TOO_MANY_REQUESTS,
        vec![("retry-after", "120")],
    )]))
    .await;
    let ms = fixture::client(&server.base);
    let err = ms.tenant(TENANT).user("u1").await.unwrap_err();
    match &err {
        MicrosoftError::Throttled {
            retry_after,
            tenant_id,
            request_id,
        } => {
            assert_eq!(*retry_after, Duration::from_secs(120));
            assert_eq!(tenant_id, TENANT);
            assert!(request_id.is_some());
        }
        other => panic!("expected Throttled, got {other:?}"),
    }
    assert!(err.is_retryable());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(120)));
    assert_eq!(
        server.graph_requests().len(),
        1,
        "the client did not wait 120 s in place"
    );
}

#[tokio::test]
async fn a_retry_after_holds_every_request_to_the_tenant() {
    let server = serve(scripted(vec![(
        StatusCode::TOO_MANY_REQUESTS,
        vec![("retry-after", "2")],
    )]))
    .await;
    let ms = fixture::client(&server.base);
    let tenant = ms.tenant(TENANT);
    // A job that cannot wait gets the 429 and steps aside...
    let err = with_max_wait(Duration::ZERO, tenant.user("u1"))
        .await
        .unwrap_err();
    assert!(matches!(err, MicrosoftError::Throttled { .. }), "{err:?}");
    // ...and another call of the same tenant that cannot wait either is refused at once,
    // without sending anything.
    let err = with_max_wait(Duration::from_millis(100), tenant.user("u2"))
        .await
        .unwrap_err();
    match err {
        MicrosoftError::Throttled { retry_after, .. } => {
            assert!(retry_after <= Duration::from_secs(2), "{retry_after:?}")
        }
        other => panic!("expected Throttled, got {other:?}"),
    }
    assert_eq!(server.graph_requests().len(), 1);
    // A call that may wait sends only once the tenant's wait is over.
    tenant.user("u3").await.unwrap().unwrap();
    let reqs = server.graph_requests();
    assert_eq!(reqs.len(), 2);
    assert!(reqs[1].at.duration_since(reqs[0].at) >= Duration::from_secs(2));
}

#[tokio::test]
async fn service_unavailable_then_success_is_retried_with_back_off() {
    let server = serve(scripted(vec![
        (StatusCode::SERVICE_UNAVAILABLE, vec![]),
        (StatusCode::GATEWAY_TIMEOUT, vec![]),
    ]))
    .await;
    let ms = fixture::client(&server.base);
    let user = ms.tenant(TENANT).user("u1").await.unwrap().unwrap();
    assert_eq!(user.display_name, "Adele Vance");
    assert_eq!(server.graph_requests().len(), 3);
}

#[tokio::test]
async fn a_lasting_outage_ends_in_a_retryable_error() {
    let server = serve(scripted(vec![
        (StatusCode::SERVICE_UNAVAILABLE, vec![]);
        10
    ]))
    .await;
    let ms = fixture::client(&server.base);
    let err = ms.tenant(TENANT).user("u1").await.unwrap_err();
    assert!(
        matches!(err, MicrosoftError::Unavailable { status: 503, .. }),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert_eq!(
        server.graph_requests().len(),
        4,
        "max_attempts bounds the tries"
    );
}

#[tokio::test]
async fn every_request_carries_a_client_request_id_and_errors_keep_microsofts_request_id() {
    let server = serve(|_| {
        token_route(Router::new()).route(
            "/v1.0/groups/{id}",
            get(|| async {
                (
                    StatusCode::BAD_REQUEST,
                    [("request-id", "rid-42")],
                    axum::Json(graph_error(
                        "Request_BadRequest",
                        "Invalid object identifier 'x'.",
                    )),
                )
            }),
        )
    })
    .await;
    let ms = fixture::client(&server.base);
    let err = ms.tenant(TENANT).group("x").await.unwrap_err();
    assert_eq!(err.request_id(), Some("rid-42"));
    assert!(
        matches!(err, MicrosoftError::Rejected { status: 400, ref code, .. } if code == "Request_BadRequest")
    );
    let ids: Vec<_> = server
        .requests()
        .iter()
        .map(|r| r.header("client-request-id").map(str::to_owned))
        .collect();
    assert!(ids.iter().all(Option::is_some), "{ids:?}");
    assert_ne!(
        ids[0], ids[1],
        "token and Graph calls are separate requests"
    );
}

#[tokio::test]
async fn a_request_that_takes_too_long_fails_with_a_network_error() {
    let server = serve(|_| {
        token_route(Router::new()).route(
            "/v1.0/users/{id}",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "late"
            }),
        )
    })
    .await;
    let mut config = fixture::config(&server.base);
    config.timeouts.request = Duration::from_millis(300);
    config.retry.max_attempts = 2;
    let ms = MicrosoftClient::new(config).unwrap();
    let err = ms.tenant(TENANT).user("u1").await.unwrap_err();
    assert!(
        matches!(err, MicrosoftError::Network { ref detail, .. } if detail.contains("timed out")),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert_eq!(
        server.graph_requests().len(),
        2,
        "a GET is retried after a timeout"
    );
}

#[tokio::test]
async fn one_tenant_never_exceeds_its_concurrency_while_others_proceed() {
    struct Gate {
        in_flight: AtomicUsize,
        max_seen: AtomicUsize,
        release: Notify,
        released: std::sync::atomic::AtomicBool,
    }
    let gate = Arc::new(Gate {
        in_flight: AtomicUsize::new(0),
        max_seen: AtomicUsize::new(0),
        release: Notify::new(),
        released: false.into(),
    });
    let g = gate.clone();
    let server = serve(move |_| {
        token_route(Router::new()).route(
            "/v1.0/users/{id}",
            get(move |headers: HeaderMap| {
                let g = g.clone();
                async move {
                    let auth = headers
                        .get("authorization")
                        .unwrap()
                        .to_str()
                        .unwrap()
                        .to_owned();
                    if auth.contains("busy") {
                        let now = g.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                        g.max_seen.fetch_max(now, Ordering::SeqCst);
                        while !g.released.load(Ordering::SeqCst) {
                            let notified = g.release.notified();
                            if g.released.load(Ordering::SeqCst) {
                                break;
                            }
                            notified.await;
                        }
                        g.in_flight.fetch_sub(1, Ordering::SeqCst);
                    }
                    axum::Json(licensed_user("u1", "AdeleV@contoso.example", "Adele Vance"))
                }
            }),
        )
    })
    .await;
    let mut config = fixture::config(&server.base);
    config.tenant_concurrency = 2;
    let ms = MicrosoftClient::new(config).unwrap();

    let busy = ms.tenant("busy");
    let calls: Vec<_> = (0..6)
        .map(|_| {
            let t = busy.clone();
            tokio::spawn(async move { t.user("u1").await })
        })
        .collect();
    eventually(|| gate.in_flight.load(Ordering::SeqCst) == 2).await;

    // Another tenant is not held up by the busy one.
    ms.tenant("quiet").user("u1").await.unwrap().unwrap();
    assert_eq!(gate.in_flight.load(Ordering::SeqCst), 2);

    gate.released.store(true, Ordering::SeqCst);
    gate.release.notify_waiters();
    for c in calls {
        c.await.unwrap().unwrap().unwrap();
    }
    assert_eq!(gate.max_seen.load(Ordering::SeqCst), 2);
}
