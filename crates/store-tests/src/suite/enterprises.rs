//! Enterprises: registration with a tenant, consents, and the names and tenants only one enterprise
//! may hold.

use crate::Harness;
use crate::fixtures::*;
use std::sync::Arc;
use teamline_domain::enterprise::{ConsentKind, EnterpriseState, TenantId};
use teamline_domain::ids::*;
use teamline_store::*;

const CONTOSO_TENANT: &str = "6d1b3f6e-4c1a-4f5e-9a53-2a1f0c0b7e11";

pub async fn enterprises_register_and_consent(h: Arc<Harness>) {
    let s = &h.store;
    let t = tenant(s, "Contoso").await;
    let e = &t.enterprise;
    assert_eq!(e.state, EnterpriseState::Invited);
    assert_eq!(e.slug.as_str(), "contoso");
    assert_eq!(e.sbc_regions.len(), 2);
    assert!(!e.consent(ConsentKind::UserSync));

    let tenant_id = TenantId::parse(CONTOSO_TENANT).unwrap();
    let e = s
        .register_enterprise(e.id, &tenant_id, &audit("enterprise.register"))
        .await
        .unwrap();
    assert_eq!(e.state, EnterpriseState::Registered);
    let change = ConsentChange {
        kind: ConsentKind::UserSync,
        granted: true,
        by: Some("admin@contoso.example".into()),
    };
    let e = s
        .set_consent(e.id, &change, &audit("consent.grant"))
        .await
        .unwrap();
    assert!(e.consent(ConsentKind::UserSync));
    assert!(!e.consent(ConsentKind::Management));

    assert_eq!(
        s.enterprise_by_tenant(&tenant_id)
            .await
            .unwrap()
            .unwrap()
            .id,
        e.id
    );
    assert_eq!(
        s.enterprise_by_slug("contoso").await.unwrap().unwrap().id,
        e.id
    );
    assert!(s.enterprise_by_slug("fabrikam").await.unwrap().is_none());
    assert_eq!(
        s.list_enterprises(Some(e.reseller_id)).await.unwrap().len(),
        1
    );
    assert_eq!(
        s.list_enterprises(Some(ResellerId(e.reseller_id.0 + 99)))
            .await
            .unwrap()
            .len(),
        0
    );

    // A second enterprise cannot claim the same tenant or name.
    let other = tenant(s, "Fabrikam").await;
    let err = s
        .register_enterprise(
            other.enterprise.id,
            &tenant_id,
            &audit("enterprise.register"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                field: "Microsoft Tenant",
                ..
            }
        ),
        "{err}"
    );
    let reseller = s
        .reseller_by_name("Northwind Voice")
        .await
        .unwrap()
        .unwrap();
    let form = teamline_domain::enterprise::EnterpriseForm {
        name: "Contoso".into(),
        global_admin_email: "x@contoso.example".into(),
        ..Default::default()
    };
    let err = s
        .create_enterprise(
            reseller.id,
            &form.validate(&[]).unwrap(),
            &audit("enterprise.create"),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");

    // Every change was audited with before and after.
    let events = s.list_audit(Some(e.id), 50).await.unwrap();
    let consent = events
        .iter()
        .find(|ev| ev.action == "consent.grant")
        .unwrap();
    assert!(
        consent
            .before
            .as_deref()
            .unwrap()
            .contains("\"consents\":[]")
    );
    assert!(consent.after.as_deref().unwrap().contains("user_sync"));
}
