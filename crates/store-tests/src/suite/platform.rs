//! The store itself and the platform: health, local accounts, the audit log across enterprises.

use crate::Harness;
use crate::fixtures::*;
use std::sync::Arc;
use teamline_store::*;

pub async fn health_and_accounts(h: Arc<Harness>) {
    let s = &h.store;
    s.ping().await.unwrap();
    let t = tenant(s, "Contoso").await;
    let email = teamline_domain::text::Email::parse("e", "Reseller@Northwind.example").unwrap();
    let account = s
        .create_account(
            &NewAccount {
                email,
                role: teamline_domain::reseller::AccountRole::ResellerAdmin,
                reseller_id: Some(t.enterprise.reseller_id),
                password_hash: "$argon2id$v=19$x".into(),
            },
            &audit("account.create"),
        )
        .await
        .unwrap();
    assert_eq!(
        s.account_by_email("reseller@northwind.EXAMPLE")
            .await
            .unwrap()
            .unwrap()
            .id,
        account.id
    );
    assert!(
        s.account_by_email("nobody@northwind.example")
            .await
            .unwrap()
            .is_none()
    );
    let audit_all = s.list_audit(None, 100).await.unwrap();
    assert!(audit_all.iter().any(|e| e.action == "account.create"));
    assert!(
        audit_all.windows(2).all(|w| w[0].id.0 > w[1].id.0),
        "newest first"
    );
}
