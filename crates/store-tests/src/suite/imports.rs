//! Bulk Upload files: stored with their rows' results, scoped to their enterprise, applied
//! only when checked and clean, and their progress recorded row by row.

use crate::Harness;
use crate::fixtures::*;
use std::sync::Arc;
use teamline_domain::audit::{Actor, Audit};
use teamline_domain::ids::{ImportId, JobId};
use teamline_store::*;

fn row(n: u64, outcome: RowOutcome) -> ImportRowRecord {
    ImportRowRecord {
        row: n,
        upn: format!("user{n}@contoso.example"),
        sip_user: format!("{}", 1000 + n),
        outcome,
        problems: if outcome == RowOutcome::Invalid {
            vec![RowProblem {
                field: "Phone Number".to_owned(),
                message: "is required".to_owned(),
            }]
        } else {
            Vec::new()
        },
        pbx_user_id: None,
    }
}

fn audit(action: &str) -> Audit {
    Audit::new(
        Actor::EnterpriseAdmin("admin@contoso.example".to_owned()),
        action,
        "Bulk Upload",
    )
}

pub async fn imports_keep_rows_scope_and_apply_once(h: Arc<Harness>) {
    let s = &h.store;
    let contoso = tenant(s, "Contoso").await;
    let fabrikam = tenant(s, "Fabrikam").await;
    let e = contoso.enterprise.id;

    // A file of 1 200 rows (more than one INSERT's worth), one of them bad.
    let mut rows: Vec<ImportRowRecord> = (2..1202).map(|n| row(n, RowOutcome::Ready)).collect();
    rows[5] = row(7, RowOutcome::Invalid);
    let bad = s
        .create_import(
            &NewImport {
                enterprise_id: e,
                file_name: "users.csv".to_owned(),
                created_by: Actor::EnterpriseAdmin("admin@contoso.example".to_owned()),
                content: "Teams User,SIP User\n".to_owned(),
                rows: rows.clone(),
            },
            &audit("import.check"),
        )
        .await
        .unwrap();
    assert_eq!(bad.state, ImportState::Checked);
    assert_eq!(
        (bad.row_count, bad.bad_rows, bad.applied_rows),
        (1200, 1, 0)
    );
    assert_eq!(s.import_rows(e, bad.id).await.unwrap(), rows);
    // A file with a bad row is never applied.
    assert!(
        !s.start_import(e, bad.id, JobId(1), &audit("import.apply"))
            .await
            .unwrap()
    );

    let good_rows = vec![row(2, RowOutcome::Ready), row(3, RowOutcome::Ready)];
    let good = s
        .create_import(
            &NewImport {
                enterprise_id: e,
                file_name: "fixed.csv".to_owned(),
                created_by: Actor::ApiToken("ci".to_owned()),
                content: "Teams User,SIP User\n".to_owned(),
                rows: good_rows.clone(),
            },
            &audit("import.check"),
        )
        .await
        .unwrap();
    let listed: Vec<ImportId> = s
        .list_imports(e, 10)
        .await
        .unwrap()
        .iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(listed, vec![good.id, bad.id], "newest first");

    // Another enterprise sees nothing of it and cannot start it.
    let f = fabrikam.enterprise.id;
    assert_eq!(s.get_import(f, good.id).await.unwrap(), None);
    assert!(s.import_rows(f, good.id).await.unwrap().is_empty());
    assert!(s.list_imports(f, 10).await.unwrap().is_empty());
    assert!(
        !s.start_import(f, good.id, JobId(1), &audit("import.apply"))
            .await
            .unwrap()
    );
    assert!(s.record_import_rows(f, good.id, &[], 1).await.is_err());

    // Applied once: a second start is refused.
    assert!(
        s.start_import(e, good.id, JobId(9), &audit("import.apply"))
            .await
            .unwrap()
    );
    assert!(
        !s.start_import(e, good.id, JobId(10), &audit("import.apply"))
            .await
            .unwrap()
    );
    let mut first = good_rows[0].clone();
    first.outcome = RowOutcome::SetUp;
    s.record_import_rows(e, good.id, std::slice::from_ref(&first), 1)
        .await
        .unwrap();
    let applying = s.get_import(e, good.id).await.unwrap().unwrap();
    assert_eq!(
        (applying.state, applying.job_id, applying.applied_rows),
        (ImportState::Applying, Some(JobId(9)), 1)
    );
    assert_eq!(s.import_rows(e, good.id).await.unwrap()[0], first);
    s.finish_import(e, good.id, ImportState::Done, None)
        .await
        .unwrap();
    let done = s.get_import(e, good.id).await.unwrap().unwrap();
    assert_eq!(done.state, ImportState::Done);
    assert!(done.finished_ms.is_some());
    assert_eq!(done.created_by, Actor::ApiToken("ci".to_owned()));
}
