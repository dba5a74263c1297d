//! `teamline --server URL --token … import FILE`: Bulk Upload through a server's JSON API. The
//! file is posted to the enterprise's imports (checked against the live PBX and Teams data on
//! the server, kept with each row's result), a clean file is applied as the server's job and
//! followed until every row is set up — the same core ([`run_import`]) as the local command.

use super::client::Client;
use super::enterprise;
use crate::commands::import::{
    ImportArgs, ImportReport, ImportTarget, ProblemReport, RowReport, run_import,
};
use teamline_web::api::v1::imports::ImportOut;

/// The remote mode: one enterprise's imports on a server.
pub struct RemoteTarget<'a> {
    pub client: &'a Client,
    pub enterprise: i64,
}

impl RemoteTarget<'_> {
    fn imports(&self) -> String {
        format!("/api/v1/enterprises/{}/imports", self.enterprise)
    }
}

fn report(out: ImportOut) -> ImportReport {
    ImportReport {
        id: out.id,
        file_name: out.file_name,
        state: out.state,
        row_count: out.row_count,
        bad_rows: out.bad_rows,
        applied_rows: out.applied_rows,
        error: out.error,
        rows: out
            .rows
            .into_iter()
            .map(|r| RowReport {
                row: r.row,
                teams_user: r.teams_user,
                sip_user: r.sip_user,
                outcome: r.outcome,
                problems: r
                    .problems
                    .into_iter()
                    .map(|p| ProblemReport {
                        field: p.field,
                        message: p.message,
                    })
                    .collect(),
            })
            .collect(),
    }
}

impl ImportTarget for RemoteTarget<'_> {
    async fn upload(
        &self,
        file_name: &str,
        text: &str,
        dry_run: bool,
    ) -> anyhow::Result<ImportReport> {
        let mut query = vec![("file_name", file_name.to_owned())];
        if dry_run {
            query.push(("dry_run", "true".to_owned()));
        }
        let out: ImportOut = self.client.post_csv(&self.imports(), &query, text).await?;
        Ok(report(out))
    }

    async fn apply(&self, id: i64) -> anyhow::Result<()> {
        let _: ImportOut = self
            .client
            .post::<(), _>(&format!("{}/{id}/apply", self.imports()), None)
            .await?;
        Ok(())
    }

    async fn status(&self, id: i64) -> anyhow::Result<ImportReport> {
        let out: ImportOut = self
            .client
            .get(&format!("{}/{id}", self.imports()), &[])
            .await?;
        Ok(report(out))
    }
}

pub async fn run(client: &Client, args: ImportArgs) -> anyhow::Result<()> {
    let e = enterprise(client, args.enterprise.as_deref()).await?;
    let target = RemoteTarget {
        client,
        enterprise: e.id,
    };
    run_import(&target, &args.file, args.dry_run, args.json)
        .await
        .map(drop)
}
