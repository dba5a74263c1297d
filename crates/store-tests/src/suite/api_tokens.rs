//! API tokens: scope, revocation, expiry, last use, and the answers kept for idempotency keys.

use crate::Harness;
use crate::fixtures::*;
use std::sync::Arc;
use teamline_domain::audit::{Actor, Audit};
use teamline_domain::ids::ApiTokenId;
use teamline_store::*;

fn new_token(
    t: &Tenant,
    name: &str,
    enterprise_scoped: bool,
    hash: &str,
    expires_ms: Option<i64>,
) -> NewApiToken {
    NewApiToken {
        reseller_id: t.enterprise.reseller_id,
        enterprise_id: enterprise_scoped.then_some(t.enterprise.id),
        name: name.into(),
        prefix: format!("tl_{}", &hash[..6]),
        secret_sha256: hash.into(),
        read_only: !enterprise_scoped,
        rate_per_minute: 120,
        expires_ms,
    }
}

fn by_admin(action: &str) -> Audit {
    Audit::new(
        Actor::EnterpriseAdmin("admin@contoso.example".into()),
        action,
        action,
    )
}

pub async fn api_tokens_are_scoped_revoked_and_expire(h: Arc<Harness>) {
    let s = &h.store;
    let contoso = tenant(s, "Contoso").await;
    let fabrikam = tenant(s, "Fabrikam").await;
    let now = h.clock.now_ms();
    let hash_a = "a".repeat(64);
    let created = s
        .create_api_token(
            &new_token(&contoso, "billing", true, &hash_a, Some(now + 60_000)),
            &by_admin("api_token.create"),
        )
        .await
        .unwrap();
    assert_eq!(created.created_by.to_string(), "admin@contoso.example");
    assert!(created.is_usable(now));
    assert!(created.reaches(contoso.enterprise.reseller_id, contoso.enterprise.id));
    assert!(!created.reaches(fabrikam.enterprise.reseller_id, fabrikam.enterprise.id));

    // The same name in the same scope is refused while the first token lives; another
    // enterprise may use it.
    let again = s
        .create_api_token(
            &new_token(&contoso, "billing", true, &"b".repeat(64), None),
            &by_admin("api_token.create"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(again, StoreError::Conflict { field: "name", .. }),
        "{again}"
    );
    s.create_api_token(
        &new_token(&fabrikam, "billing", true, &"c".repeat(64), None),
        &by_admin("api_token.create"),
    )
    .await
    .unwrap();
    let reseller_wide = s
        .create_api_token(
            &new_token(&contoso, "provisioning", false, &"d".repeat(64), None),
            &by_admin("api_token.create"),
        )
        .await
        .unwrap();
    assert_eq!(reseller_wide.enterprise_id, None);
    assert!(reseller_wide.reaches(fabrikam.enterprise.reseller_id, fabrikam.enterprise.id));

    // Found by hash only; listed by scope.
    let found = s.api_token_by_hash(&hash_a).await.unwrap().unwrap();
    assert_eq!(found, created);
    assert!(
        s.api_token_by_hash(&"e".repeat(64))
            .await
            .unwrap()
            .is_none()
    );
    let listed = s
        .list_api_tokens(contoso.enterprise.reseller_id, Some(contoso.enterprise.id))
        .await
        .unwrap();
    assert_eq!(
        listed.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        ["billing"]
    );
    let wide = s
        .list_api_tokens(contoso.enterprise.reseller_id, None)
        .await
        .unwrap();
    assert_eq!(
        wide.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        ["provisioning"]
    );

    // Last use is recorded without an audit event.
    h.clock.advance_ms(5_000);
    s.touch_api_token(created.id).await.unwrap();
    let used = s.api_token_by_hash(&hash_a).await.unwrap().unwrap();
    assert_eq!(used.last_used_ms, Some(now + 5_000));

    // Expiry.
    h.clock.advance_ms(60_000);
    assert!(!used.is_usable(h.clock.now_ms()));

    // Another enterprise cannot revoke it; its own admin can, once.
    let foreign = s
        .revoke_api_token(
            fabrikam.enterprise.reseller_id,
            Some(fabrikam.enterprise.id),
            created.id,
            &by_admin("api_token.revoke"),
        )
        .await
        .unwrap_err();
    assert!(matches!(foreign, StoreError::NotFound { .. }), "{foreign}");
    let revoked = s
        .revoke_api_token(
            contoso.enterprise.reseller_id,
            Some(contoso.enterprise.id),
            created.id,
            &by_admin("api_token.revoke"),
        )
        .await
        .unwrap();
    let at = revoked.revoked_ms.unwrap();
    h.clock.advance_ms(1_000);
    let twice = s
        .revoke_api_token(
            contoso.enterprise.reseller_id,
            Some(contoso.enterprise.id),
            created.id,
            &by_admin("api_token.revoke"),
        )
        .await
        .unwrap();
    assert_eq!(twice.revoked_ms, Some(at));
    assert!(!twice.is_usable(at));
    // Its name is free again.
    s.create_api_token(
        &new_token(&contoso, "billing", true, &"f".repeat(64), None),
        &by_admin("api_token.create"),
    )
    .await
    .unwrap();

    let log = s.list_audit(Some(contoso.enterprise.id), 50).await.unwrap();
    let token_events: Vec<_> = log
        .iter()
        .filter(|e| e.object_type == "api_token")
        .map(|e| e.action.as_str())
        .collect();
    assert_eq!(
        token_events,
        ["api_token.create", "api_token.revoke", "api_token.create"]
    );
    assert!(
        log.iter()
            .filter_map(|e| e.after.as_deref())
            .all(|j| !j.contains(&hash_a)),
        "the audit log never holds a token's hash"
    );
}

pub async fn idempotent_responses_are_kept_for_a_day(h: Arc<Harness>) {
    let s = &h.store;
    let t = tenant(s, "Contoso").await;
    let token = s
        .create_api_token(
            &new_token(&t, "billing", true, &"a".repeat(64), None),
            &by_admin("api_token.create"),
        )
        .await
        .unwrap();
    let first = StoredResponse {
        request_sha256: "1".repeat(64),
        status: 202,
        location: Some("/api/v1/enterprises/1/jobs/7".into()),
        body: "{\"id\":7}".into(),
    };
    assert!(s.stored_response(token.id, "k1").await.unwrap().is_none());
    s.store_response(token.id, "k1", &first).await.unwrap();
    // A second answer under the same key does not replace the first.
    s.store_response(
        token.id,
        "k1",
        &StoredResponse {
            body: "{\"id\":8}".into(),
            ..first.clone()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        s.stored_response(token.id, "k1").await.unwrap(),
        Some(first.clone())
    );
    // Keys belong to their token.
    assert!(
        s.stored_response(ApiTokenId(token.id.0 + 1), "k1")
            .await
            .unwrap()
            .is_none()
    );
    h.clock.advance_ms(24 * 60 * 60 * 1000);
    assert!(s.stored_response(token.id, "k1").await.unwrap().is_none());
    // After a day the key can be used again.
    let later = StoredResponse {
        status: 201,
        ..first
    };
    s.store_response(token.id, "k1", &later).await.unwrap();
    assert_eq!(
        s.stored_response(token.id, "k1").await.unwrap(),
        Some(later)
    );
}
