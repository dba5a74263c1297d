//! The organization and its domains: listing, adding a domain, its verification DNS records
//! and verification (which can wait for the TXT record to be "published" through the control
//! API).

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::microsoft::admission::Caller;
use crate::microsoft::errors::ApiResponse;
use crate::microsoft::model::ids;
use crate::microsoft::model::{Domain, Tenant, iso};
use crate::microsoft::request::{GraphRequest, collection};
use crate::microsoft::state::{SimState, lock};

/// GET /organization
pub(crate) fn organization(t: &Tenant, req: &GraphRequest) -> ApiResponse {
    let verified: Vec<Value> = t
        .domains
        .iter()
        .filter(|d| d.is_verified)
        .map(|d| {
            json!({
                "capabilities": if d.supported_services.is_empty() { "None".to_string() } else { d.supported_services.join(", ") },
                "isDefault": d.is_default,
                "isInitial": d.is_initial,
                "name": d.id,
                "type": "Managed",
            })
        })
        .collect();
    let org = json!({
        "id": t.id,
        "displayName": t.display_name,
        "tenantType": "AAD",
        "countryLetterCode": t.country_letter_code,
        "defaultUsageLocation": t.default_usage_location,
        "preferredLanguage": "en",
        "createdDateTime": iso(t.created),
        "verifiedDomains": verified,
        "assignedPlans": [],
        "businessPhones": [],
        "city": null, "state": null, "street": null, "postalCode": null,
        "technicalNotificationMails": [format!("admin@{}", t.default_domain())],
        "onPremisesSyncEnabled": null,
    });
    collection(
        format!("{}/v1.0/$metadata#organization", req.base),
        vec![org],
        None,
        None,
    )
}

fn domain_json(d: &Domain) -> Value {
    json!({
        "authenticationType": "Managed",
        "availabilityStatus": null,
        "id": d.id,
        "isAdminManaged": true,
        "isDefault": d.is_default,
        "isInitial": d.is_initial,
        "isRoot": true,
        "isVerified": d.is_verified,
        "passwordNotificationWindowInDays": null,
        "passwordValidityPeriodInDays": null,
        "supportedServices": d.supported_services,
        "state": null,
    })
}

/// GET /domains
pub(crate) fn list_domains(t: &Tenant, req: &GraphRequest) -> ApiResponse {
    let values = t.domains.iter().map(domain_json).collect();
    collection(
        format!("{}/v1.0/$metadata#domains", req.base),
        values,
        None,
        None,
    )
}

/// GET /domains/{id}
pub(crate) fn get_domain(t: &Tenant, req: &GraphRequest, id: &str) -> ApiResponse {
    match t.domains.iter().find(|d| d.id.eq_ignore_ascii_case(id)) {
        Some(d) => {
            let mut v = domain_json(d);
            if let Some(m) = v.as_object_mut() {
                m.insert(
                    "@odata.context".into(),
                    Value::from(format!("{}/v1.0/$metadata#domains/$entity", req.base)),
                );
            }
            ApiResponse::ok(v)
        }
        None => req.not_found(id),
    }
}

/// POST /domains {"id": "sub.example.net"}
pub(crate) fn add_domain(state: &SimState, caller: &Caller, req: &GraphRequest) -> ApiResponse {
    let body = match req.json_body() {
        Ok(b) => b,
        Err(e) => return e,
    };
    let Some(name) = body
        .get("id")
        .and_then(Value::as_str)
        .map(|s| s.trim().to_ascii_lowercase())
    else {
        return req.bad_request("Property 'id' is required.");
    };
    let valid = name.contains('.')
        && name
            .split('.')
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    if !valid {
        return req.bad_request(format!("Domain name '{name}' is invalid."));
    }
    if let Some(owner) = state.tenant(&name)
        && !std::sync::Arc::ptr_eq(&owner, &caller.tenant)
    {
        return req.bad_request(format!(
            "Domain '{name}' has already been added to a different tenant."
        ));
    }
    let mut t = lock(&caller.tenant);
    if t.domains.iter().any(|d| d.id == name) {
        return req.error(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            "Another object with the same value for property id already exists.",
        );
    }
    let d = Domain {
        id: name.clone(),
        is_default: false,
        is_initial: false,
        is_verified: false,
        supported_services: Vec::new(),
        verification_code: ids::verification_code(&name),
        dns_published: !t.traffic.faults.require_dns_for_domain_verification,
        dns_seen_at: None,
    };
    let mut v = domain_json(&d);
    t.domains.push(d);
    let tid = t.id.clone();
    drop(t);
    state.index_domain(&name, &tid);
    if let Some(m) = v.as_object_mut() {
        m.insert(
            "@odata.context".into(),
            Value::from(format!("{}/v1.0/$metadata#domains/$entity", req.base)),
        );
    }
    ApiResponse::json(StatusCode::CREATED, v)
}

/// GET /domains/{id}/verificationDnsRecords
pub(crate) fn verification_records(t: &Tenant, req: &GraphRequest, id: &str) -> ApiResponse {
    let Some(d) = t.domains.iter().find(|d| d.id.eq_ignore_ascii_case(id)) else {
        return req.not_found(id);
    };
    let code = d.verification_code.trim_start_matches("MS=").to_string();
    let values = vec![
        json!({
            "@odata.type": "#microsoft.graph.domainDnsTxtRecord",
            "id": ids::stable_guid("dns-txt", &d.id),
            "isOptional": false,
            "label": d.id,
            "recordType": "Txt",
            "supportedService": "Email",
            "ttl": 3600,
            "text": d.verification_code,
        }),
        json!({
            "@odata.type": "#microsoft.graph.domainDnsMxRecord",
            "id": ids::stable_guid("dns-mx", &d.id),
            "isOptional": false,
            "label": d.id,
            "recordType": "Mx",
            "supportedService": "Email",
            "ttl": 3600,
            "mailExchange": format!("{code}.msv1.invalid"),
            "preference": 32767,
        }),
    ];
    collection(
        format!(
            "{}/v1.0/$metadata#domains('{}')/verificationDnsRecords",
            req.base, d.id
        ),
        values,
        None,
        None,
    )
}

/// Before `POST /domains/{id}/verify` with a configured nameserver: looks the domain's TXT
/// records up there (outside the tenant's lock) and records whether the verification code is
/// published, and since when.
pub(crate) async fn look_up_verification(
    server: std::net::SocketAddr,
    tenant: &std::sync::Mutex<Tenant>,
    id: &str,
) {
    let code = lock(tenant)
        .domains
        .iter()
        .find(|d| d.id.eq_ignore_ascii_case(id) && !d.is_verified)
        .map(|d| d.verification_code.clone());
    let Some(code) = code else { return };
    let found = match crate::microsoft::dns_check::txt_values(server, id).await {
        Ok(values) => values.contains(&code),
        Err(e) => {
            tracing::info!(domain = id, error = %e, "domain verification: DNS lookup failed");
            false
        }
    };
    let mut t = lock(tenant);
    if let Some(d) = t.domains.iter_mut().find(|d| d.id.eq_ignore_ascii_case(id)) {
        d.dns_published = found;
        d.dns_seen_at = if found {
            d.dns_seen_at.or_else(|| Some(std::time::Instant::now()))
        } else {
            None
        };
    }
}

/// POST /domains/{id}/verify
pub(crate) fn verify_domain(t: &mut Tenant, req: &GraphRequest, id: &str) -> ApiResponse {
    let Some(d) = t.domains.iter().find(|d| d.id.eq_ignore_ascii_case(id)) else {
        return req.not_found(id);
    };
    let propagated = d.dns_seen_at.is_none_or(|seen| {
        seen.elapsed()
            >= std::time::Duration::from_millis(t.traffic.faults.domain_verification_delay_ms)
    });
    let Some(d) = t.domains.iter_mut().find(|d| d.id.eq_ignore_ascii_case(id)) else {
        return req.not_found(id);
    };
    if !d.is_verified {
        if !d.dns_published || !propagated {
            return req.bad_request(format!(
                "Domain verification failed because the required DNS record was not found. Add a TXT record '{}' to the DNS zone of '{}' and try again.",
                d.verification_code, d.id
            ));
        }
        d.is_verified = true;
    }
    let mut v = domain_json(d);
    if let Some(m) = v.as_object_mut() {
        m.insert(
            "@odata.context".into(),
            Value::from(format!("{}/v1.0/$metadata#domains/$entity", req.base)),
        );
    }
    ApiResponse::ok(v)
}
