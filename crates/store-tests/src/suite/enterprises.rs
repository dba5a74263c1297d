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

/// Edit Enterprise: every field changes in one audited step, the version rises, the regions
/// are replaced, and an edit from a version read before another change is refused as stale.
pub async fn enterprises_edit(h: Arc<Harness>) {
    use teamline_domain::enterprise::EnterpriseForm;
    let s = &h.store;
    let t = tenant(s, "Contoso").await;
    let e = &t.enterprise;
    assert_eq!(e.billing_reference, None);
    let east = e.sbc_regions[0];
    let form = EnterpriseForm {
        name: "Contoso Ltd".into(),
        global_admin_email: "it@contoso.example".into(),
        user_limit: "5".into(),
        pbx_music_on_hold: true,
        access_sip_data: true,
        request_management_consent: false,
        sbc_regions: vec![east],
        billing_reference: " C-1042 ".into(),
    };
    let edit = form.validate_edit(&e.sbc_regions, e, 0).unwrap();
    let edited = s
        .update_enterprise(e.id, e.version, &edit, &audit("enterprise.update"))
        .await
        .unwrap();
    assert_eq!(edited.name.as_str(), "Contoso Ltd");
    assert_eq!(edited.slug.as_str(), "contoso", "the slug never changes");
    assert_eq!(edited.global_admin_email.as_str(), "it@contoso.example");
    assert_eq!(edited.user_limit, Some(5));
    assert!(edited.pbx_music_on_hold && edited.access_sip_data);
    assert!(!edited.request_management_consent);
    assert_eq!(edited.sbc_regions, vec![east]);
    assert_eq!(edited.billing_reference.as_deref(), Some("C-1042"));
    assert!(edited.version > e.version);
    assert_eq!(s.get_enterprise(e.id).await.unwrap(), edited);

    let history = s
        .audit_of(e.id, "enterprise", &e.id.to_string(), 10)
        .await
        .unwrap();
    let event = &history[0];
    assert_eq!(event.action, "enterprise.update");
    assert!(event.before.as_deref().unwrap().contains("\"Contoso\""));
    assert!(event.after.as_deref().unwrap().contains("C-1042"));

    // A second edit made from the version read before the first is stale: nothing changes.
    let err = s
        .update_enterprise(e.id, e.version, &edit, &audit("enterprise.update"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Stale { .. }), "{err:?}");
    assert_eq!(s.get_enterprise(e.id).await.unwrap(), edited);

    // Any other change of the enterprise raises the version too.
    let registered = s
        .register_enterprise(
            e.id,
            &TenantId::parse(CONTOSO_TENANT).unwrap(),
            &audit("enterprise.register"),
        )
        .await
        .unwrap();
    assert!(registered.version > edited.version);
}
