//! Bulk Upload files and their rows' results.

use crate::SqlStore;
use crate::audit::{self, Subject};
use crate::error::DbResultExt;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use teamline_domain::audit::{Actor, Audit};
use teamline_domain::ids::{EnterpriseId, ImportId, JobId, PbxUserId};
use teamline_store::{
    ImportRowRecord, ImportState, ImportStore, NewImport, RowOutcome, RowProblem, StoreError,
    StoreResult, StoredImport,
};

const COLUMNS: &str = "id, enterprise_id, file_name, created_by, created_ms, content, row_count, \
     bad_rows, applied_rows, state, job_id, finished_ms, error";

/// Rows per INSERT: seven values each stays well under either database's bind limit.
const ROWS_PER_INSERT: usize = 500;

#[derive(sqlx::FromRow)]
struct ImportRow {
    id: i64,
    enterprise_id: i64,
    file_name: String,
    created_by: String,
    created_ms: i64,
    content: String,
    row_count: i64,
    bad_rows: i64,
    applied_rows: i64,
    state: String,
    job_id: Option<i64>,
    finished_ms: Option<i64>,
    error: Option<String>,
}

impl ImportRow {
    fn into_record(self) -> StoreResult<StoredImport> {
        Ok(StoredImport {
            id: ImportId(self.id),
            enterprise_id: EnterpriseId(self.enterprise_id),
            file_name: self.file_name,
            created_by: Actor::decode(&self.created_by),
            created_ms: self.created_ms,
            content: self.content,
            row_count: count(self.row_count),
            bad_rows: count(self.bad_rows),
            applied_rows: count(self.applied_rows),
            state: ImportState::parse(&self.state)
                .ok_or_else(|| StoreError::corrupt(format!("import state '{}'", self.state)))?,
            job_id: self.job_id.map(JobId),
            finished_ms: self.finished_ms,
            error: self.error,
        })
    }
}

fn count(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn signed(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

#[derive(sqlx::FromRow)]
struct RowRow {
    row_number: i64,
    upn: String,
    sip_user: String,
    outcome: String,
    errors: String,
    pbx_user_id: Option<i64>,
}

#[derive(Serialize, Deserialize)]
struct Problem {
    field: String,
    message: String,
}

fn problems_json(problems: &[RowProblem]) -> String {
    let list: Vec<Problem> = problems
        .iter()
        .map(|p| Problem {
            field: p.field.clone(),
            message: p.message.clone(),
        })
        .collect();
    serde_json::to_string(&list).unwrap_or_else(|_| "[]".to_owned())
}

impl RowRow {
    fn into_record(self) -> StoreResult<ImportRowRecord> {
        let problems: Vec<Problem> = serde_json::from_str(&self.errors)
            .map_err(|e| StoreError::corrupt(format!("import row errors: {e}")))?;
        Ok(ImportRowRecord {
            row: count(self.row_number),
            upn: self.upn,
            sip_user: self.sip_user,
            outcome: RowOutcome::parse(&self.outcome).ok_or_else(|| {
                StoreError::corrupt(format!("import row outcome '{}'", self.outcome))
            })?,
            problems: problems
                .into_iter()
                .map(|p| RowProblem {
                    field: p.field,
                    message: p.message,
                })
                .collect(),
            pbx_user_id: self.pbx_user_id.map(PbxUserId),
        })
    }
}

impl SqlStore {
    async fn fetch_import(
        &self,
        e: EnterpriseId,
        id: ImportId,
    ) -> StoreResult<Option<StoredImport>> {
        let row: Option<ImportRow> = sqlx::query_as(sql!(
            "SELECT {COLUMNS} FROM imports WHERE enterprise_id = $1 AND id = $2"
        ))
        .bind(e.0)
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .db()?;
        row.map(ImportRow::into_record).transpose()
    }
}

#[async_trait]
impl ImportStore for SqlStore {
    async fn create_import(&self, new: &NewImport, a: &Audit) -> StoreResult<StoredImport> {
        let now = self.now();
        let bad = new
            .rows
            .iter()
            .filter(|r| r.outcome == RowOutcome::Invalid)
            .count() as u64;
        let mut tx = self.begin_write().await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO imports (enterprise_id, file_name, created_by, created_ms, content, \
             row_count, bad_rows, applied_rows, state) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 0, 'checked') RETURNING id",
        )
        .bind(new.enterprise_id.0)
        .bind(new.file_name.clone())
        .bind(new.created_by.encode())
        .bind(now)
        .bind(new.content.clone())
        .bind(signed(new.rows.len() as u64))
        .bind(signed(bad))
        .fetch_one(&mut *tx)
        .await
        .db()?;
        for chunk in new.rows.chunks(ROWS_PER_INSERT) {
            let values: Vec<String> = (0..chunk.len())
                .map(|i| {
                    let b = i * 7;
                    format!(
                        "(${}, ${}, ${}, ${}, ${}, ${}, ${})",
                        b + 1,
                        b + 2,
                        b + 3,
                        b + 4,
                        b + 5,
                        b + 6,
                        b + 7
                    )
                })
                .collect();
            let statement = format!(
                "INSERT INTO import_rows (import_id, row_number, upn, sip_user, outcome, errors, \
                 pbx_user_id) VALUES {}",
                values.join(", ")
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(statement));
            for r in chunk {
                q = q
                    .bind(id)
                    .bind(signed(r.row))
                    .bind(r.upn.clone())
                    .bind(r.sip_user.clone())
                    .bind(r.outcome.as_str())
                    .bind(problems_json(&r.problems))
                    .bind(r.pbx_user_id.map(|p| p.0));
            }
            q.execute(&mut *tx).await.db()?;
        }
        audit::write(
            &mut tx,
            now,
            Some(new.enterprise_id),
            a,
            Subject::new("import", id),
        )
        .await?;
        tx.commit().await.db()?;
        self.fetch_import(new.enterprise_id, ImportId(id))
            .await?
            .ok_or_else(|| StoreError::not_found(format!("import {id}")))
    }

    async fn get_import(&self, e: EnterpriseId, id: ImportId) -> StoreResult<Option<StoredImport>> {
        self.fetch_import(e, id).await
    }

    async fn list_imports(&self, e: EnterpriseId, limit: u32) -> StoreResult<Vec<StoredImport>> {
        let rows: Vec<ImportRow> = sqlx::query_as(sql!(
            "SELECT {COLUMNS} FROM imports WHERE enterprise_id = $1 ORDER BY id DESC LIMIT $2"
        ))
        .bind(e.0)
        .bind(i64::from(limit.clamp(1, 1000)))
        .fetch_all(&self.pool)
        .await
        .db()?;
        rows.into_iter().map(ImportRow::into_record).collect()
    }

    async fn import_rows(
        &self,
        e: EnterpriseId,
        id: ImportId,
    ) -> StoreResult<Vec<ImportRowRecord>> {
        let rows: Vec<RowRow> = sqlx::query_as(
            "SELECT r.row_number, r.upn, r.sip_user, r.outcome, r.errors, r.pbx_user_id \
             FROM import_rows r JOIN imports i ON i.id = r.import_id \
             WHERE i.enterprise_id = $1 AND r.import_id = $2 ORDER BY r.row_number",
        )
        .bind(e.0)
        .bind(id.0)
        .fetch_all(&self.pool)
        .await
        .db()?;
        rows.into_iter().map(RowRow::into_record).collect()
    }

    async fn start_import(
        &self,
        e: EnterpriseId,
        id: ImportId,
        job: JobId,
        a: &Audit,
    ) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let changed = sqlx::query(
            "UPDATE imports SET state = 'applying', job_id = $3 \
             WHERE enterprise_id = $1 AND id = $2 AND state = 'checked' AND bad_rows = 0",
        )
        .bind(e.0)
        .bind(id.0)
        .bind(job.0)
        .execute(&mut *tx)
        .await
        .db()?
        .rows_affected();
        if changed == 0 {
            return Ok(false);
        }
        audit::write(&mut tx, self.now(), Some(e), a, Subject::new("import", id)).await?;
        tx.commit().await.db()?;
        Ok(true)
    }

    async fn record_import_rows(
        &self,
        e: EnterpriseId,
        id: ImportId,
        rows: &[ImportRowRecord],
        applied_rows: u64,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let owned = sqlx::query(
            "UPDATE imports SET applied_rows = $3 WHERE enterprise_id = $1 AND id = $2",
        )
        .bind(e.0)
        .bind(id.0)
        .bind(signed(applied_rows))
        .execute(&mut *tx)
        .await
        .db()?
        .rows_affected();
        if owned == 0 {
            return Err(StoreError::not_found(format!("import {id}")));
        }
        for r in rows {
            sqlx::query(
                "UPDATE import_rows SET outcome = $3, errors = $4, pbx_user_id = $5 \
                 WHERE import_id = $1 AND row_number = $2",
            )
            .bind(id.0)
            .bind(signed(r.row))
            .bind(r.outcome.as_str())
            .bind(problems_json(&r.problems))
            .bind(r.pbx_user_id.map(|p| p.0))
            .execute(&mut *tx)
            .await
            .db()?;
        }
        tx.commit().await.db()
    }

    async fn finish_import(
        &self,
        e: EnterpriseId,
        id: ImportId,
        state: ImportState,
        error: Option<&str>,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE imports SET state = $3, error = $4, finished_ms = $5 \
             WHERE enterprise_id = $1 AND id = $2",
        )
        .bind(e.0)
        .bind(id.0)
        .bind(state.as_str())
        .bind(error.map(str::to_owned))
        .bind(self.now())
        .execute(&self.pool)
        .await
        .db()?;
        Ok(())
    }
}
