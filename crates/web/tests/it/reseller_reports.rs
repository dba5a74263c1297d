//! The Reseller portal's audit log and billing summary over HTTP: a reseller reads its own
//! enterprises' events and billing lines, never another reseller's.

use crate::app::{TestApp, text};
use crate::reseller::sign_in;
use teamline_domain::audit::{Actor, Audit};
use teamline_domain::billing::Month;
use teamline_domain::reseller::{AccountRole, ResellerForm};
use teamline_domain::text::Email;
use teamline_engine::accounts::hash_password;
use teamline_store::{AuditRecord, NewAccount};
use teamline_testkit::demo::{RESELLER_ADMIN, RESELLER_PASSWORD};

const TAILSPIN_ADMIN: &str = "admin@tailspin.example";
const TAILSPIN_PASSWORD: &str = "tailspin-password-1";

async fn tailspin(app: &TestApp) {
    let audit = Audit::new(Actor::System("test".into()), "test", "Tailspin");
    let reseller = app
        .store
        .create_reseller(
            &ResellerForm {
                name: "Tailspin Telecom".into(),
                contact_email: TAILSPIN_ADMIN.into(),
                services: String::new(),
                billing_reference: String::new(),
            }
            .validate()
            .unwrap(),
            &audit,
        )
        .await
        .unwrap();
    app.store
        .create_account(
            &NewAccount {
                email: Email::parse("E-mail", TAILSPIN_ADMIN).unwrap(),
                role: AccountRole::ResellerAdmin,
                reseller_id: Some(reseller.id),
                password_hash: hash_password(TAILSPIN_PASSWORD).unwrap(),
            },
            &audit,
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reseller_audit_log_shows_its_enterprises_and_filters_by_enterprise() {
    let app = TestApp::start().await;
    tailspin(&app).await;
    app.store
        .record_audit(&AuditRecord {
            enterprise_id: Some(app.fabrikam().id),
            actor: Actor::ResellerAdmin(RESELLER_ADMIN.into()),
            action: "pbx_user.update".into(),
            summary: "Edited Megan Bowen's caller ID".into(),
            object_type: "pbx_user".into(),
            object_id: None,
            before: None,
            after: None,
        })
        .await
        .unwrap();
    let northwind = sign_in(&app, RESELLER_ADMIN, RESELLER_PASSWORD)
        .await
        .unwrap();
    let (status, page) = text(northwind.get("/reseller/audit")).await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("Edited Megan Bowen&#39;s caller ID"),
        "{page}"
    );
    assert!(
        page.contains(&format!("reseller admin {RESELLER_ADMIN} for Fabrikam")),
        "{page}"
    );
    // Only Contoso's events: the Fabrikam change is not among them.
    let (_, contoso) =
        text(northwind.get(&format!("/reseller/audit?enterprise={}", app.contoso.id.0))).await;
    assert!(!contoso.contains("Megan Bowen"), "{contoso}");
    assert!(contoso.contains("Clear filters"), "{contoso}");

    // Another reseller sees none of it, even when it names Fabrikam's id.
    let other = sign_in(&app, TAILSPIN_ADMIN, TAILSPIN_PASSWORD)
        .await
        .unwrap();
    for path in [
        "/reseller/audit".to_owned(),
        format!("/reseller/audit?enterprise={}", app.fabrikam().id.0),
    ] {
        let (status, page) = text(other.get(&path)).await;
        assert_eq!(status, 200, "{page}");
        assert!(
            !page.contains("Megan Bowen")
                && !page.contains("Fabrikam")
                && !page.contains("Contoso"),
            "{path}: {page}"
        );
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_billing_summary_counts_configured_users_per_enterprise_as_page_and_csv() {
    let app = TestApp::start().await;
    tailspin(&app).await;
    let northwind = sign_in(&app, RESELLER_ADMIN, RESELLER_PASSWORD)
        .await
        .unwrap();
    let month = Month::containing(app.store.clock().now_ms());
    let (status, page) = text(northwind.get("/reseller/billing")).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(&month.label()), "{page}");
    assert!(
        page.contains("Contoso") && page.contains("Fabrikam"),
        "{page}"
    );

    // The CSV: one line per enterprise; Contoso's count is its configured users.
    let [active, disabled, _deleted] = app.store.tab_counts(app.contoso.id).await.unwrap();
    let configured = active + disabled;
    let r = northwind
        .get(&format!("/reseller/billing/export.csv?month={month}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains(&format!("teamline-billing-{month}.csv"))
    );
    let csv = r.text().await.unwrap();
    let contoso: Vec<&str> = csv
        .lines()
        .find(|l| l.contains(",Contoso,"))
        .unwrap_or_else(|| panic!("{csv}"))
        .split(',')
        .collect();
    assert_eq!(contoso[0], month.to_string());
    assert_eq!(contoso[5], configured.to_string(), "{csv}");
    assert!(configured > 0);

    // Before the enterprises existed there is nothing to bill; a month that is not one says so.
    let (_, empty) = text(northwind.get("/reseller/billing?month=2001-01")).await;
    assert!(
        empty.contains("No enterprise of yours existed in January 2001"),
        "{empty}"
    );
    let (_, bad) = text(northwind.get("/reseller/billing?month=last")).await;
    assert!(bad.contains("is not a month"), "{bad}");
    let (status, _) = text(northwind.get("/reseller/billing/export.csv?month=2026-13")).await;
    assert_eq!(status, 400);

    // Another reseller's summary has none of Northwind's enterprises.
    let other = sign_in(&app, TAILSPIN_ADMIN, TAILSPIN_PASSWORD)
        .await
        .unwrap();
    let csv = text(other.get(&format!("/reseller/billing/export.csv?month={month}")))
        .await
        .1;
    assert_eq!(csv.lines().count(), 1, "{csv}");
    app.stop().await;
}
