//! Readiness check (`teamline doctor` in the portal) against the simulators: every check
//! passes in their default mode, a tenant that behaves the other way is named on the page and
//! still passes, and the write test puts the test user back.

use crate::app::{Browser, TestApp};

const TEST_USER: &str = "LeeG@contoso.example";

async fn run(b: &Browser, fields: &[(&str, &str)]) -> String {
    let r = b
        .post_form("/troubleshoot/readiness", fields)
        .header("hx-request", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    r.text().await.unwrap()
}

/// The line of one check, from its badge to the end of its item.
fn line<'a>(page: &'a str, id: &str) -> &'a str {
    let marker = format!(r#"data-check="{id}""#);
    let at = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no check {id} in {page}"));
    let rest = &page[at..];
    &rest[..rest.find("</li>").unwrap()]
}

#[tokio::test]
async fn the_readiness_check_passes_against_the_simulators_and_names_what_it_found() {
    let app = TestApp::start().await;
    let b = app.signed_in().await;

    let page = b
        .get("/troubleshoot")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(r#"href="/troubleshoot/readiness""#), "{page}");
    let page = b
        .get("/troubleshoot/readiness")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Run the checks"), "{page}");

    // Read-only, default behaviour: nothing to fix.
    let results = run(&b, &[("extension", "1008")]).await;
    assert!(results.contains("Teamline can work here"), "{results}");
    assert!(!results.contains("badge-bad"), "{results}");
    assert!(line(&results, "token.graph").contains("Pass"), "{results}");
    assert!(
        line(&results, "pbx.api_key").contains("may write"),
        "{results}"
    );
    // The session here did not come through Microsoft's sign-in: nothing recorded yet.
    assert!(line(&results, "signin.roles").contains("no sign-in recorded yet"));

    // A tenant whose Graph refuses the voice policy types: named, and still workable.
    app.contoso_tenant
        .update_behaviour(|b| b.graph_voice_policies = false);
    let results = run(&b, &[]).await;
    assert!(
        line(&results, "policy.OnlineVoiceRoutingPolicy").contains("Graph refuses"),
        "{results}"
    );
    assert!(results.contains("Teamline can work here"), "{results}");

    // The write test on a test user, who is put back as before.
    let results = run(
        &b,
        &[("test_user", TEST_USER), ("test_number", "+12025550123")],
    )
    .await;
    assert!(results.contains("Read checks and write test"), "{results}");
    assert!(
        line(&results, "write.policy.TenantDialPlan").contains("Teams admin REST surface"),
        "{results}"
    );
    assert!(!results.contains("badge-bad"), "{results}");
    let audit = app.store.list_audit(Some(app.contoso.id), 5).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.action == "doctor.write_test" && a.summary.contains(TEST_USER)),
        "the write test is in the audit log: {audit:?}"
    );
    let lee = app.contoso_tenant.teams_state(TEST_USER).unwrap();
    assert!(
        lee.numbers.is_empty() && lee.effective_policies.is_empty(),
        "{lee:?}"
    );

    // Without JavaScript the form answers with the whole page.
    let r = b
        .post_form("/troubleshoot/readiness", &[("test_user", "")])
        .send()
        .await
        .unwrap();
    let page = r.text().await.unwrap();
    assert!(page.contains("<h1>Readiness check</h1>"), "{page}");
    assert!(page.contains(r#"data-check="token.teams_admin""#), "{page}");
    app.stop().await;
}
