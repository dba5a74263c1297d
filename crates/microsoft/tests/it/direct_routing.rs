//! Tenant setup through the Teams admin REST surface and Graph `domains`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::{Value, json};
use teamline_microsoft::direct_routing::{
    CallerIdPolicySpec, CallerIdSubstitute, CallingPolicySpec, DialPlanSpec, NormalizationRule,
    PstnGatewaySpec, SetupChange, VoiceRouteSpec, VoiceRoutingPolicySpec, VoicemailMode,
};
use teamline_microsoft::{MicrosoftCloud, MicrosoftError};

use crate::fixture::{self, TENANT, graph_error, serve, token_route};

type Store = Arc<Mutex<HashMap<(String, String), Value>>>;

/// A Teams admin REST surface keeping configurations in memory; `forbidden` answers 403 as
/// when the app lacks the Teams Administrator role.
fn config_api(store: Store, forbidden: bool) -> impl FnOnce(url::Url) -> Router {
    move |_| {
        let put_store = store.clone();
        token_route(Router::new()).route(
            "/Skype.Policy/configurations/{kind}/configuration/{identity}",
            get(move |Path((kind, identity)): Path<(String, String)>| {
                let store = store.clone();
                async move {
                    if forbidden {
                        return (
                            StatusCode::FORBIDDEN,
                            axum::Json(json!({"code": 40301, "message": "Forbidden"})),
                        )
                            .into_response();
                    }
                    match store.lock().unwrap().get(&(kind, identity)) {
                        Some(v) => axum::Json(v.clone()).into_response(),
                        None => (
                            StatusCode::NOT_FOUND,
                            axum::Json(json!({"code": "NotFound", "message": "Policy not found"})),
                        )
                            .into_response(),
                    }
                }
            })
            .put(
                move |Path((kind, identity)): Path<(String, String)>,
                      axum::Json(body): axum::Json<Value>| {
                    let store = put_store.clone();
                    async move {
                        let mut s = store.lock().unwrap();
                        let entry = s
                            .entry((kind, identity.clone()))
                            .or_insert_with(|| json!({"Identity": format!("Tag:{identity}")}));
                        for (k, v) in body.as_object().unwrap() {
                            if k != "Identity" {
                                entry[k] = v.clone();
                            }
                        }
                        StatusCode::NO_CONTENT
                    }
                },
            ),
        )
    }
}

fn puts(server: &crate::fixture::Server) -> Vec<crate::fixture::Recorded> {
    server
        .requests_to("/Skype.Policy/")
        .into_iter()
        .filter(|r| r.method == "PUT")
        .collect()
}

#[tokio::test]
async fn a_pstn_usage_is_added_to_the_global_list_once() {
    let store: Store = Arc::default();
    store.lock().unwrap().insert(
        ("OnlinePstnUsages".into(), "Global".into()),
        json!({"Identity": "Global", "Usage": ["Existing"]}),
    );
    let server = serve(config_api(store.clone(), false)).await;
    let ms = fixture::client(&server.base);
    let t = ms.tenant(TENANT);
    assert_eq!(
        t.ensure_pstn_usage("US-East-2").await.unwrap(),
        SetupChange::Created
    );
    assert_eq!(
        t.ensure_pstn_usage("US-East-2").await.unwrap(),
        SetupChange::Unchanged
    );
    assert_eq!(
        store.lock().unwrap()[&("OnlinePstnUsages".to_owned(), "Global".to_owned())]["Usage"],
        json!(["Existing", "US-East-2"])
    );
    assert_eq!(puts(&server).len(), 1);

    // Calls to the Teams admin surface use a token for the Teams admin API.
    let token = &server.token_requests()[0];
    assert_eq!(
        token.form()["scope"],
        "48ac35b8-9aa8-4d74-927d-1f4a14a0b239/.default"
    );
}

#[tokio::test]
async fn voice_route_and_routing_policy_are_created_then_left_alone() {
    let store: Store = Arc::default();
    let server = serve(config_api(store.clone(), false)).await;
    let ms = fixture::client(&server.base);
    let t = ms.tenant(TENANT);
    let route = VoiceRouteSpec {
        name: "US-East-2".into(),
        number_pattern: r"^\+?\d+$".into(),
        gateways: vec!["cust0042.sbc.example.net".into()],
        pstn_usages: vec!["US-East-2".into()],
        priority: 1,
        description: None,
    };
    let policy = VoiceRoutingPolicySpec {
        name: "US-East-2".into(),
        pstn_usages: vec!["US-East-2".into()],
        description: Some("Teamline".into()),
    };
    assert_eq!(
        t.ensure_voice_route(&route).await.unwrap(),
        SetupChange::Created
    );
    assert_eq!(
        t.ensure_voice_routing_policy(&policy).await.unwrap(),
        SetupChange::Created
    );
    assert_eq!(
        t.ensure_voice_route(&route).await.unwrap(),
        SetupChange::Unchanged
    );
    assert_eq!(
        t.ensure_voice_routing_policy(&policy).await.unwrap(),
        SetupChange::Unchanged
    );

    let created = &puts(&server)[0];
    assert_eq!(
        created.path,
        "/Skype.Policy/configurations/OnlineVoiceRoute/configuration/US-East-2"
    );
    assert_eq!(
        created.json(),
        json!({"Identity": "US-East-2", "NumberPattern": r"^\+?\d+$", "OnlinePstnGatewayList": ["cust0042.sbc.example.net"],
               "OnlinePstnUsages": ["US-East-2"], "Priority": 1})
    );

    let moved = VoiceRouteSpec {
        gateways: vec!["cust0042-b.sbc.example.net".into()],
        ..route
    };
    assert_eq!(
        t.ensure_voice_route(&moved).await.unwrap(),
        SetupChange::Updated
    );
    assert_eq!(puts(&server).len(), 3);
}

#[tokio::test]
async fn dial_plan_caller_id_calling_policy_and_gateway_send_powershell_shapes() {
    let store: Store = Arc::default();
    let server = serve(config_api(store.clone(), false)).await;
    let ms = fixture::client(&server.base);
    let t = ms.tenant(TENANT);
    let plan = DialPlanSpec {
        name: "Contoso".into(),
        description: None,
        normalization_rules: vec![NormalizationRule::pass_short_strings("Extensions")],
    };
    assert_eq!(
        t.ensure_dial_plan(&plan).await.unwrap(),
        SetupChange::Created
    );
    assert_eq!(
        t.ensure_dial_plan(&plan).await.unwrap(),
        SetupChange::Unchanged
    );
    let caller_id = CallerIdPolicySpec {
        name: "Contoso Reception".into(),
        substitute: CallerIdSubstitute::LineUri,
        company_name: Some("Contoso Reception".into()),
        enable_user_override: false,
        description: None,
    };
    assert_eq!(
        t.ensure_caller_id_policy(&caller_id).await.unwrap(),
        SetupChange::Created
    );
    let calling = CallingPolicySpec {
        name: "Teamline-NoVoicemail".into(),
        voicemail: VoicemailMode::AlwaysDisabled,
    };
    assert_eq!(
        t.ensure_calling_policy(&calling).await.unwrap(),
        SetupChange::Created
    );
    let gw = PstnGatewaySpec {
        fqdn: "cust0042.sbc.example.net".into(),
        sip_signaling_port: 5061,
        enabled: true,
        max_concurrent_sessions: Some(100),
        forward_call_history: true,
        forward_pai: true,
        media_bypass: false,
    };
    assert_eq!(
        t.ensure_pstn_gateway(&gw).await.unwrap(),
        SetupChange::Created
    );

    let bodies: HashMap<String, Value> = puts(&server)
        .into_iter()
        .map(|r| (r.path.clone(), r.json()))
        .collect();
    assert_eq!(
        bodies["/Skype.Policy/configurations/TenantDialPlan/configuration/Contoso"]["NormalizationRules"],
        json!([{"Name": "Extensions", "Pattern": "^([0-9*#+]{1,7})$", "Translation": "$1",
                "Description": "Extensions and feature codes reach the PBX as dialed", "IsInternalExtension": false}])
    );
    let clid = &bodies["/Skype.Policy/configurations/CallingLineIdentity/configuration/Contoso%20Reception"];
    assert_eq!(
        (
            clid["CallingIDSubstitute"].as_str(),
            clid["CompanyName"].as_str()
        ),
        (Some("LineUri"), Some("Contoso Reception"))
    );
    assert_eq!(
        bodies["/Skype.Policy/configurations/TeamsCallingPolicy/configuration/Teamline-NoVoicemail"]
            ["AllowVoicemail"],
        "AlwaysDisabled"
    );
    let g = &bodies["/Skype.Policy/configurations/OnlinePSTNGateway/configuration/cust0042.sbc.example.net"];
    assert_eq!(
        (g["SipSignalingPort"].as_u64(), g["ForwardPai"].as_bool()),
        (Some(5061), Some(true))
    );
}

#[tokio::test]
async fn a_missing_teams_admin_role_says_how_to_fix_it() {
    let server = serve(config_api(Arc::default(), true)).await;
    let ms = fixture::client(&server.base);
    let err = ms
        .tenant(TENANT)
        .ensure_pstn_usage("US-West")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            MicrosoftError::TeamsAdminRoleMissing { status: 403, .. }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("Teams Administrator role"));
    assert!(err.needs_consent());
}

#[derive(Default)]
struct Domains {
    exists: bool,
    verified: bool,
    dns_published: bool,
}

fn domain_service(state: Arc<Mutex<Domains>>) -> impl FnOnce(url::Url) -> Router {
    move |_| {
        let (s1, s2, s3) = (state.clone(), state.clone(), state.clone());
        token_route(Router::new())
            .route(
                "/v1.0/domains",
                post(move |axum::Json(body): axum::Json<Value>| {
                    let s = s1.clone();
                    async move {
                        s.lock().unwrap().exists = true;
                        (StatusCode::CREATED, axum::Json(json!({"id": body["id"], "authenticationType": "Managed", "isVerified": false, "supportedServices": []})))
                    }
                }),
            )
            .route(
                "/v1.0/domains/{name}",
                get(move |Path(name): Path<String>| {
                    let s = s2.clone();
                    async move {
                        let s = s.lock().unwrap();
                        if s.exists {
                            axum::Json(json!({"id": name, "isVerified": s.verified, "supportedServices": []})).into_response()
                        } else {
                            (StatusCode::NOT_FOUND, axum::Json(graph_error("Request_ResourceNotFound", "Resource not found."))).into_response()
                        }
                    }
                }),
            )
            .route(
                "/v1.0/domains/{name}/verificationDnsRecords",
                get(|Path(name): Path<String>| async move {
                    axum::Json(json!({"value": [
                        {"@odata.type": "#microsoft.graph.domainDnsTxtRecord", "isOptional": false, "label": name, "recordType": "Txt", "supportedService": "None", "ttl": 3600, "text": "MS=ms12345678"},
                        {"@odata.type": "#microsoft.graph.domainDnsMxRecord", "isOptional": false, "label": name, "recordType": "Mx", "ttl": 3600, "mailExchange": "ms12345678.msv1.invalid", "preference": 32767}
                    ]}))
                }),
            )
            .route(
                "/v1.0/domains/{name}/verify",
                post(move |Path(name): Path<String>, _h: HeaderMap| {
                    let s = s3.clone();
                    async move {
                        let mut s = s.lock().unwrap();
                        if s.dns_published {
                            s.verified = true;
                            axum::Json(json!({"id": name, "isVerified": true, "supportedServices": []})).into_response()
                        } else {
                            (StatusCode::BAD_REQUEST, axum::Json(graph_error("Request_BadRequest", "Domain verification failed. The TXT record was not found."))).into_response()
                        }
                    }
                }),
            )
    }
}

#[tokio::test]
async fn the_direct_routing_subdomain_is_added_and_verified() {
    let state = Arc::new(Mutex::new(Domains::default()));
    let server = serve(domain_service(state.clone())).await;
    let ms = fixture::client(&server.base);
    let t = ms.tenant(TENANT);
    let name = "cust0042.sbc.example.net";
    assert!(t.domain(name).await.unwrap().is_none());
    let added = t.add_domain(name).await.unwrap();
    assert!(!added.is_verified);
    assert_eq!(
        server
            .requests_to("/v1.0/domains")
            .iter()
            .filter(|r| r.method == "POST")
            .count(),
        1
    );
    assert_eq!(
        t.add_domain(name).await.unwrap().name,
        name,
        "adding twice is harmless"
    );

    let records = t.domain_verification_records(name).await.unwrap();
    let txt = records.iter().find(|r| r.record_type == "Txt").unwrap();
    assert_eq!(txt.text.as_deref(), Some("MS=ms12345678"));

    let err = t.verify_domain(name).await.unwrap_err();
    assert!(
        matches!(err, MicrosoftError::DomainNotVerified { .. }),
        "{err:?}"
    );
    assert!(err.is_retryable());

    state.lock().unwrap().dns_published = true;
    assert!(t.verify_domain(name).await.unwrap().is_verified);
    let verifies = server
        .requests_to(&format!("/v1.0/domains/{name}/verify"))
        .len();
    assert!(t.verify_domain(name).await.unwrap().is_verified);
    assert_eq!(
        server
            .requests_to(&format!("/v1.0/domains/{name}/verify"))
            .len(),
        verifies,
        "already verified: no new request"
    );
}

/// The activation user's usage location comes from the tenant's organization: its default
/// usage location, else its country, read from the simulator.
#[tokio::test]
async fn the_organizations_country_gives_the_usage_location() {
    use teamline_sim::microsoft::{ConsentState, demo};
    let env = crate::sim::start().await;
    env.fabrikam.set_consent(ConsentState {
        granted: true,
        ..ConsentState::default()
    });
    let fabrikam = env.ms.tenant(demo::FABRIKAM_TENANT_ID);
    let org = fabrikam.organization().await.unwrap();
    assert_eq!(org.display_name, "Fabrikam");
    assert_eq!(org.country_letter_code.as_deref(), Some("GB"));
    assert_eq!(org.usage_location().as_deref(), Some("GB"));
    let contoso = env.ms.tenant(demo::CONTOSO_TENANT_ID);
    assert_eq!(
        contoso
            .organization()
            .await
            .unwrap()
            .usage_location()
            .as_deref(),
        Some("US")
    );

    // A default usage location set in the tenant wins over the address's country.
    env.fabrikam
        .set_organization_country(Some("GB"), Some("IE"));
    let org = fabrikam.organization().await.unwrap();
    assert_eq!(org.default_usage_location.as_deref(), Some("IE"));
    assert_eq!(org.usage_location().as_deref(), Some("IE"));

    // Neither set: no usage location to give.
    env.fabrikam.set_organization_country(None, None);
    let org = fabrikam.organization().await.unwrap();
    assert_eq!(org.usage_location(), None);
}
