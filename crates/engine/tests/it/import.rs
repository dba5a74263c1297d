//! Bulk Upload: a file is checked against the live PBX and Teams data with the form's rules;
//! a file with bad rows writes nothing, a good one sets every row up as Save User does.

use crate::support::{contoso, eventually, settings, upn};
use teamline_domain::audit::Actor;
use teamline_domain::bulk_import::{COLUMNS, template};
use teamline_engine::import::{ApplyError, ApplyImport, ImportError};
use teamline_sim::microsoft::demo as ms;
use teamline_sim::netsapiens::CONTOSO_HQ_ADDRESS_ID;
use teamline_store::{ImportState, RowOutcome};
use teamline_testkit::Workers;

const HEADER: &str = "Teams User,PBX Locations,Available Voice Routes,SIP User,Phone Number,User Tag,Use Voicemail in Teams,Caller Name Policy,Custom Caller Name,Caller ID on Forwarded Calls,Assign Default Dial Plan Policy,User Devices,Emergency Address";

/// A good row for a Contoso user on an extension (the `tm` device created where missing).
fn row(name: &str, ext: &str) -> Vec<String> {
    let address = if ["1000", "1001"].contains(&ext) {
        ""
    } else {
        CONTOSO_HQ_ADDRESS_ID
    };
    [
        upn(name).as_str(),
        "PBX",
        "US East 2",
        ext,
        &format!("+1425555{ext}"),
        "",
        "No",
        "Transparent",
        "",
        "User's Caller ID",
        "Yes",
        "",
        address,
    ]
    .map(str::to_owned)
    .to_vec()
}

fn file(rows: &[Vec<String>]) -> String {
    let mut out = format!("{HEADER}\r\n");
    for r in rows {
        out.push_str(&r.join(","));
        out.push_str("\r\n");
    }
    out
}

fn with(mut r: Vec<String>, column: usize, value: &str) -> Vec<String> {
    r[column] = value.to_owned();
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_kinds_of_bad_rows_are_each_reported_by_row_and_field_and_nothing_is_written() {
    assert_eq!(HEADER.split(',').count(), COLUMNS.len());
    let c = contoso(settings(), 4).await;
    let (engine, e) = (&c.engine, c.contoso.id);
    engine.sync_directory(e, false).await.unwrap();
    let good = || row("Adele Vance", "1000");
    let diego = || row("Diego Siciliani", "1002");
    // (the row, the column the error must name, words of its message)
    let cases: Vec<(Vec<String>, &str, &str)> = vec![
        (
            with(good(), 0, "nobody@contoso.example"),
            "Teams User",
            "not a synced Teams user",
        ),
        (with(good(), 0, ""), "Teams User", "is required"),
        (
            with(good(), 0, &upn("Christie Cline")),
            "Teams User",
            "Teams Phone",
        ),
        (
            with(good(), 0, &upn("Enrico Cattaneo")),
            "Teams User",
            "blocked",
        ),
        (with(good(), 0, &upn("Irvin Sayers")), "Teams User", ""),
        (
            with(good(), 0, &upn("Debra Berger")),
            "Teams User",
            "already set up",
        ),
        (with(good(), 1, "Head Office"), "PBX Locations", "'PBX'"),
        (
            with(good(), 2, "Mars"),
            "Available Voice Routes",
            "'US West'",
        ),
        (with(good(), 2, ""), "Available Voice Routes", "is required"),
        (with(good(), 3, "abc"), "SIP User", ""),
        (
            with(with(good(), 3, "1099"), 11, "1099tm"),
            "SIP User",
            "does not exist on the PBX",
        ),
        (
            with(with(good(), 3, "1015"), 11, "1015tm"),
            "SIP User",
            "Debra Berger",
        ),
        (with(good(), 4, ""), "Phone Number", ""),
        (with(good(), 4, "12ab"), "Phone Number", ""),
        (with(good(), 4, "+11015"), "Phone Number", "Debra"),
        (with(good(), 4, "+1234567890123456789"), "Phone Number", ""),
        (
            with(good(), 6, "perhaps"),
            "Use Voicemail in Teams",
            "Yes or No",
        ),
        (
            with(good(), 10, "maybe"),
            "Assign Default Dial Plan Policy",
            "Yes or No",
        ),
        (
            with(good(), 7, "loud"),
            "Caller Name Policy",
            "Transparent or Other",
        ),
        (
            with(good(), 7, "Other"),
            "Custom Caller Name",
            "is required",
        ),
        (
            with(with(good(), 7, "Other"), 8, &"N".repeat(200)),
            "Custom Caller Name",
            "",
        ),
        (
            with(good(), 9, "someone"),
            "Caller ID on Forwarded Calls",
            "Original Caller",
        ),
        (with(good(), 5, &"t".repeat(101)), "User Tag", ""),
        (
            with(good(), 11, "1000xx"),
            "User Devices",
            "does not exist on extension 1000",
        ),
        (with(good(), 11, "bad device!"), "User Devices", ""),
        (
            with(diego(), 12, "Nowhere"),
            "User Devices",
            "emergency address",
        ),
        (with(diego(), 12, ""), "User Devices", "emergency address"),
        // The same as an earlier row of the file.
        (
            with(row("Grady Archie", "1003"), 0, &upn("Alex Wilber")),
            "Teams User",
            "row",
        ),
        (
            with(row("Henrietta Mueller", "1004"), 4, "+14255551001"),
            "Phone Number",
            "on row",
        ),
        (
            with(row("Isaiah Langer", "1005"), 3, "1001"),
            "SIP User",
            "on row",
        ),
    ];
    assert_eq!(cases.len(), 30);
    let mut rows = vec![row("Alex Wilber", "1001")];
    rows.extend(cases.iter().map(|(r, _, _)| r.clone()));
    let before = engine.store().user_counts(e).await.unwrap();
    let audit_before = engine
        .store()
        .list_audit(Some(e), 1000)
        .await
        .unwrap()
        .len();

    let admin = Actor::EnterpriseAdmin(ms::CONTOSO_ADMIN_UPN.into());
    let (check, created) = engine.apply_import(e, &admin, &file(&rows)).await.unwrap();

    assert!(created.is_empty());
    assert_eq!(check.rows.len(), 31);
    assert!(check.rows[0].outcome.is_ok(), "{:?}", check.rows[0]);
    for (i, (_, field, words)) in cases.iter().enumerate() {
        let r = &check.rows[i + 1];
        assert_eq!(r.row, i + 3, "row numbers as a spreadsheet shows them");
        let errors = r
            .outcome
            .as_ref()
            .expect_err(&format!("row {} ({field}) passed", r.row));
        let message = errors
            .for_field(field)
            .unwrap_or_else(|| panic!("row {}: no error for {field}: {errors:?}", r.row));
        assert!(message.contains(words), "row {} {field}: {message}", r.row);
    }
    assert_eq!(engine.store().user_counts(e).await.unwrap(), before);
    assert_eq!(
        engine
            .store()
            .list_audit(Some(e), 1000)
            .await
            .unwrap()
            .len(),
        audit_before,
        "nothing written"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_good_file_sets_up_every_row_and_a_file_that_is_no_bulk_upload_is_refused() {
    let c = contoso(settings(), 4).await;
    let (engine, e) = (&c.engine, c.contoso.id);
    engine.sync_directory(e, false).await.unwrap();
    let admin = Actor::EnterpriseAdmin(ms::CONTOSO_ADMIN_UPN.into());

    let refused = engine.check_import(e, "Name,Colour\nx,y\n").await;
    assert!(matches!(refused, Err(ImportError::File(_))), "{refused:?}");
    // The template names a user of another tenant: one bad row, nothing else.
    let check = engine.check_import(e, &template()).await.unwrap();
    assert_eq!(check.bad_rows().count(), 1);

    // Excel's way: `;`, a BOM, numbers without `+` or in scientific notation, blank rows.
    let text = format!(
        "\u{feff}{}\r\n{}\r\n{}\r\n;;;;;;;;;;;;\r\n\r\n",
        HEADER.replace(',', ";"),
        row("Adele Vance", "1000").join(";"),
        with(row("Diego Siciliani", "1002"), 4, "1,4255551002E+10").join(";"),
    );
    let before = engine.store().user_counts(e).await.unwrap();
    let (check, created) = engine.apply_import(e, &admin, &text).await.unwrap();
    assert!(check.is_clean(), "{check:?}");
    assert_eq!(created.len(), 2);
    assert_eq!(created[1].spec.phone_number.to_string(), "+14255551002");
    assert!(
        created[1].spec.device_creation.is_some(),
        "1002tm is created"
    );
    let after = engine.store().user_counts(e).await.unwrap();
    assert_eq!(after.active, before.active + 2);

    // The same file again: every row is now taken.
    let (again, none) = engine.apply_import(e, &admin, &text).await.unwrap();
    assert!(none.is_empty());
    assert_eq!(again.bad_rows().count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_is_kept_with_its_rows_applied_as_a_job_and_its_result_downloaded() {
    let c = contoso(settings(), 4).await;
    let (engine, e) = (&c.engine, c.contoso.id);
    engine.sync_directory(e, false).await.unwrap();
    let admin = Actor::EnterpriseAdmin(ms::CONTOSO_ADMIN_UPN.into());
    let store = engine.store();

    // A file with a bad row is kept with each row's problems, and cannot be applied.
    let bad_file = file(&[
        row("Adele Vance", "1000"),
        with(row("Diego Siciliani", "1002"), 4, "12ab"),
    ]);
    let (bad, _) = engine
        .upload_import(e, &admin, "users.csv", &bad_file)
        .await
        .unwrap();
    assert_eq!(
        (bad.row_count, bad.bad_rows, bad.state),
        (2, 1, ImportState::Checked)
    );
    let rows = store.import_rows(e, bad.id).await.unwrap();
    assert_eq!(rows[0].outcome, RowOutcome::Ready);
    assert_eq!(rows[1].outcome, RowOutcome::Invalid);
    assert_eq!(rows[1].problems[0].field, "Phone Number");
    let refused = engine.apply_import_later(e, &admin, bad.id).await;
    assert!(
        matches!(refused, Err(ApplyError::BadRows { bad: 1, .. })),
        "{refused:?}"
    );

    // The fixed file, uploaded twice before either is applied.
    let good_file = file(&[row("Adele Vance", "1000"), row("Diego Siciliani", "1002")]);
    let (good, _) = engine
        .upload_import(e, &admin, "users-fixed.csv", &good_file)
        .await
        .unwrap();
    let (twice, _) = engine
        .upload_import(e, &admin, "users-fixed.csv", &good_file)
        .await
        .unwrap();
    assert_eq!(good.bad_rows, 0);
    let before = store.user_counts(e).await.unwrap();
    let job = engine.apply_import_later(e, &admin, good.id).await.unwrap();
    let again = engine.apply_import_later(e, &admin, good.id).await;
    assert!(
        matches!(again, Err(ApplyError::NotCheckedState { .. })),
        "{again:?}"
    );
    let _bg = Workers::new().runner(engine, "import");
    eventually("the import is applied", || async {
        store.get_import(e, good.id).await.unwrap().unwrap().state == ImportState::Done
    })
    .await;
    let applied = store.get_import(e, good.id).await.unwrap().unwrap();
    assert_eq!((applied.applied_rows, applied.job_id), (2, Some(job)));
    let rows = store.import_rows(e, good.id).await.unwrap();
    assert!(
        rows.iter()
            .all(|r| r.outcome == RowOutcome::SetUp && r.pbx_user_id.is_some())
    );
    assert_eq!(
        store.user_counts(e).await.unwrap().active,
        before.active + 2
    );
    let result = engine.import_result_csv(e, good.id).await.unwrap().unwrap();
    assert_eq!(result.lines().count(), 3);
    assert!(
        result.lines().skip(1).all(|l| l.ends_with(",set_up,")),
        "{result}"
    );

    // The second upload no longer holds: applying it writes nothing and says why per row.
    engine
        .apply_import_later(e, &admin, twice.id)
        .await
        .unwrap();
    eventually("the stale import fails", || async {
        store.get_import(e, twice.id).await.unwrap().unwrap().state == ImportState::Failed
    })
    .await;
    let failed = store.get_import(e, twice.id).await.unwrap().unwrap();
    assert!(failed.error.unwrap().contains("nothing was set up"));
    assert_eq!(failed.applied_rows, 0);
    assert_eq!(
        store.user_counts(e).await.unwrap().active,
        before.active + 2
    );
    let result = engine
        .import_result_csv(e, twice.id)
        .await
        .unwrap()
        .unwrap();
    assert!(result.contains("Adele Vance"), "{result}");
    assert!(
        result.lines().skip(1).all(|l| l.contains(",invalid,")),
        "{result}"
    );

    // Another enterprise's import is not found.
    let other = teamline_domain::ids::EnterpriseId(e.0 + 1000);
    assert!(
        engine
            .import_result_csv(other, good.id)
            .await
            .unwrap()
            .is_none()
    );
}

/// A runner may claim the apply job before the request that queued it has marked the import
/// applying (the runner wakes as soon as the job is stored): the job then starts the import
/// itself instead of ending with nothing done and the import "applying" for ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_apply_job_claimed_before_its_import_was_marked_applying_still_applies_it() {
    let c = contoso(settings(), 4).await;
    let (engine, e) = (&c.engine, c.contoso.id);
    engine.sync_directory(e, false).await.unwrap();
    let admin = Actor::EnterpriseAdmin(ms::CONTOSO_ADMIN_UPN.into());
    let store = engine.store();
    let good_file = file(&[row("Adele Vance", "1000"), row("Diego Siciliani", "1002")]);
    let (good, _) = engine
        .upload_import(e, &admin, "users.csv", &good_file)
        .await
        .unwrap();

    // The job exists and runs while the import is still only checked.
    let queue = teamline_jobs::Queue::new(store.clone());
    let job = queue
        .enqueue(&ApplyImport {
            enterprise_id: e,
            import_id: good.id,
            actor: admin.clone(),
        })
        .await
        .unwrap();
    let _bg = Workers::new().runner(engine, "import");
    eventually("the import is applied", || async {
        store.get_import(e, good.id).await.unwrap().unwrap().state == ImportState::Done
    })
    .await;
    let applied = store.get_import(e, good.id).await.unwrap().unwrap();
    assert_eq!((applied.applied_rows, applied.job_id), (2, Some(job)));

    // The request that queued it then finds its own job in charge: no error, no second apply.
    assert_eq!(
        engine.apply_import_later(e, &admin, good.id).await.ok(),
        None,
        "a finished import is not applied again"
    );
    let events = store.list_audit(Some(e), 500).await.unwrap();
    let applies = events.iter().filter(|a| a.action == "import.apply").count();
    assert_eq!(applies, 1, "one audit event for pressing Apply");
}
