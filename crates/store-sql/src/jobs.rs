//! The durable job queue. Claiming is backend-specific (see [`crate::Backend::claim_job`]);
//! everything else is shared.
//!
//! A change made by one statement runs without BEGIN/COMMIT: a single statement is atomic on
//! both backends (SQLite takes its write lock before the statement reads), and each job
//! makes several of these changes, so the two round trips each would add up across a fleet.

use crate::SqlStore;
use crate::error::DbResultExt;
use crate::rows::JobRow;
use async_trait::async_trait;
use teamline_domain::ids::{EnterpriseId, JobId};
use teamline_domain::job::{Job, JobState};
use teamline_store::{Enqueued, JobFailure, JobQuery, JobStore, NewJob, StoreError, StoreResult};

pub const JOB_COLUMNS: &str = "id, enterprise_id, kind, payload, lane, idempotency_key, state, \
    priority, attempts, max_attempts, run_after_ms, locked_by, locked_until_ms, progress_done, \
    progress_total, progress_message, last_error, created_ms, updated_ms, finished_ms";

/// Error text is kept to this many characters: enough for any admin-facing message.
const MAX_ERROR_LEN: usize = 2000;

fn clip(s: &str) -> String {
    s.chars().take(MAX_ERROR_LEN).collect()
}

#[async_trait]
impl JobStore for SqlStore {
    async fn enqueue(&self, job: &NewJob) -> StoreResult<Enqueued> {
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let result = enqueue_in(&mut tx, job, now).await?;
        tx.commit().await.db()?;
        Ok(result)
    }

    async fn enqueue_all(&self, jobs: &[NewJob]) -> StoreResult<Vec<Enqueued>> {
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let mut out = Vec::with_capacity(jobs.len());
        for job in jobs {
            out.push(enqueue_in(&mut tx, job, now).await?);
        }
        tx.commit().await.db()?;
        Ok(out)
    }

    async fn enterprises_with_unfinished_jobs(
        &self,
        kinds: &[&str],
    ) -> StoreResult<Vec<EnterpriseId>> {
        if kinds.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (1..=kinds.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT DISTINCT enterprise_id FROM jobs WHERE state IN ('queued', 'running') \
             AND enterprise_id IS NOT NULL AND kind IN ({})",
            placeholders.join(", ")
        );
        let mut q = sqlx::query_as::<_, (i64,)>(sqlx::AssertSqlSafe(sql));
        for kind in kinds {
            q = q.bind(*kind);
        }
        let rows = q.fetch_all(&self.pool).await.db()?;
        Ok(rows.into_iter().map(|(e,)| EnterpriseId(e)).collect())
    }

    async fn latest_job_per_enterprise(&self, kind: &str) -> StoreResult<Vec<Job>> {
        let rows: Vec<JobRow> = sqlx::query_as(sql!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE id IN (SELECT MAX(id) FROM jobs \
             WHERE kind = $1 AND enterprise_id IS NOT NULL GROUP BY enterprise_id)"
        ))
        .bind(kind)
        .fetch_all(&self.pool)
        .await
        .db()?;
        rows.into_iter().map(JobRow::into_domain).collect()
    }

    async fn claim_job(&self, worker: &str, lease_ms: i64) -> StoreResult<Option<Job>> {
        self.backend
            .claim_job(&self.pool, worker, self.now(), lease_ms)
            .await?
            .map(JobRow::into_domain)
            .transpose()
    }

    async fn extend_lease(&self, id: JobId, worker: &str, lease_ms: i64) -> StoreResult<bool> {
        let now = self.now();
        let r = sqlx::query(
            "UPDATE jobs SET locked_until_ms = $1, updated_ms = $2 WHERE id = $3 AND locked_by = $4 AND state = 'running'",
        )
        .bind(now + lease_ms)
        .bind(now)
        .bind(id.0)
        .bind(worker)
        .execute(&self.pool)
        .await
        .db()?;
        Ok(r.rows_affected() == 1)
    }

    async fn report_progress(
        &self,
        id: JobId,
        worker: &str,
        done: u64,
        total: Option<u64>,
        message: Option<&str>,
    ) -> StoreResult<()> {
        let r = sqlx::query(
            "UPDATE jobs SET progress_done = $1, progress_total = $2, progress_message = $3, updated_ms = $4 \
             WHERE id = $5 AND locked_by = $6 AND state = 'running'",
        )
        .bind(i64::try_from(done).unwrap_or(i64::MAX))
        .bind(total.map(|t| i64::try_from(t).unwrap_or(i64::MAX)))
        .bind(message.map(clip))
        .bind(self.now())
        .bind(id.0)
        .bind(worker)
        .execute(&self.pool)
        .await
        .db()?;
        if r.rows_affected() == 1 {
            Ok(())
        } else {
            Err(StoreError::Stale {
                what: format!("job {id}"),
            })
        }
    }

    async fn complete_job(&self, id: JobId, worker: &str) -> StoreResult<()> {
        let now = self.now();
        let r = sqlx::query(
            "UPDATE jobs SET state = 'succeeded', finished_ms = $1, updated_ms = $1, locked_by = NULL, \
             locked_until_ms = NULL, last_error = NULL WHERE id = $2 AND locked_by = $3 AND state = 'running'",
        )
        .bind(now)
        .bind(id.0)
        .bind(worker)
        .execute(&self.pool)
        .await
        .db()?;
        if r.rows_affected() == 1 {
            Ok(())
        } else {
            Err(StoreError::Stale {
                what: format!("job {id}"),
            })
        }
    }

    async fn fail_job(
        &self,
        id: JobId,
        worker: &str,
        failure: &JobFailure,
    ) -> StoreResult<JobState> {
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let row: Option<(i64, i64)> = sqlx::query_as(
            "SELECT attempts, max_attempts FROM jobs WHERE id = $1 AND locked_by = $2 AND state = 'running'",
        )
        .bind(id.0)
        .bind(worker)
        .fetch_optional(&mut *tx)
        .await
        .db()?;
        let (attempts, max_attempts) = row.ok_or_else(|| StoreError::Stale {
            what: format!("job {id}"),
        })?;
        let (state, run_after, error) = match failure {
            JobFailure::RetryAt {
                run_after_ms,
                error,
            } if attempts < max_attempts => (JobState::Queued, *run_after_ms, error),
            JobFailure::Deferred {
                run_after_ms,
                reason,
            } => (JobState::Queued, *run_after_ms, reason),
            JobFailure::RetryAt { error, .. } | JobFailure::Permanent { error } => {
                (JobState::Failed, now, error)
            }
        };
        // A deferral is not an attempt: give back the one the claim counted.
        let attempts = match failure {
            JobFailure::Deferred { .. } => (attempts - 1).max(0),
            _ => attempts,
        };
        let finished = state.is_finished().then_some(now);
        sqlx::query(
            "UPDATE jobs SET state = $1, run_after_ms = $2, last_error = $3, finished_ms = $4, updated_ms = $5, \
             locked_by = NULL, locked_until_ms = NULL, attempts = $6 WHERE id = $7",
        )
        .bind(state.as_str())
        .bind(run_after)
        .bind(clip(error))
        .bind(finished)
        .bind(now)
        .bind(attempts)
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .db()?;
        tx.commit().await.db()?;
        Ok(state)
    }

    async fn get_job(&self, id: JobId) -> StoreResult<Job> {
        let row: Option<JobRow> =
            sqlx::query_as(sql!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"))
                .bind(id.0)
                .fetch_optional(&self.pool)
                .await
                .db()?;
        row.ok_or_else(|| StoreError::not_found(format!("job {id}")))?
            .into_domain()
    }

    async fn list_jobs(&self, q: &JobQuery) -> StoreResult<Vec<Job>> {
        let rows: Vec<JobRow> = sqlx::query_as(sql!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE ($1 IS NULL OR enterprise_id = $1) AND ($2 IS NULL OR kind = $2) \
             AND ($3 = 0 OR state IN ('queued', 'running')) AND ($5 IS NULL OR id < $5) \
             ORDER BY id DESC LIMIT $4"
        ))
        .bind(q.enterprise_id.map(|e| e.0))
        .bind(q.kind.clone())
        .bind(i64::from(q.unfinished_only))
        .bind(i64::from(q.limit.max(1)))
        .bind(q.before.map(|j| j.0))
        .fetch_all(&self.pool)
        .await
        .db()?;
        rows.into_iter().map(JobRow::into_domain).collect()
    }

    async fn next_job_due_ms(&self) -> StoreResult<Option<i64>> {
        // The earliest queued job and the earliest lease to run out, in one round trip (each
        // part reads an index from its start).
        let (due,): (Option<i64>,) = sqlx::query_as(
            "SELECT MIN(t) FROM (\
             SELECT (SELECT run_after_ms FROM jobs WHERE state = 'queued' \
                     ORDER BY run_after_ms LIMIT 1) AS t \
             UNION ALL \
             SELECT (SELECT locked_until_ms FROM jobs WHERE state = 'running' \
                     AND locked_until_ms IS NOT NULL ORDER BY locked_until_ms LIMIT 1)) AS due",
        )
        .fetch_one(&self.pool)
        .await
        .db()?;
        Ok(due)
    }

    async fn defer_queued_jobs(
        &self,
        enterprise: EnterpriseId,
        kinds: &[&str],
        until_ms: i64,
    ) -> StoreResult<u64> {
        if kinds.is_empty() {
            return Ok(0);
        }
        let placeholders: Vec<String> = (0..kinds.len()).map(|i| format!("${}", i + 4)).collect();
        let sql = format!(
            "UPDATE jobs SET run_after_ms = $1, updated_ms = $2 WHERE enterprise_id = $3 \
             AND state = 'queued' AND run_after_ms < $1 AND kind IN ({})",
            placeholders.join(", ")
        );
        let mut tx = self.begin_write().await?;
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(until_ms)
            .bind(self.now())
            .bind(enterprise.0);
        for k in kinds {
            q = q.bind(*k);
        }
        let r = q.execute(&mut *tx).await.db()?;
        tx.commit().await.db()?;
        Ok(r.rows_affected())
    }
}

/// Queues `job` inside `tx`: a new row, or the waiting job with the same idempotency key
/// (moved earlier if this request wants it sooner).
async fn enqueue_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    job: &NewJob,
    now: i64,
) -> StoreResult<Enqueued> {
    let inserted: Option<(i64,)> = sqlx::query_as(
            "INSERT INTO jobs (enterprise_id, kind, payload, lane, idempotency_key, state, priority, attempts, \
             max_attempts, run_after_ms, progress_done, created_ms, updated_ms) \
             VALUES ($1, $2, $3, $4, $5, 'queued', $6, 0, $7, $8, 0, $9, $9) \
             ON CONFLICT (idempotency_key) WHERE state = 'queued' DO NOTHING RETURNING id",
        )
        .bind(job.enterprise_id.map(|e| e.0))
        .bind(&job.kind)
        .bind(&job.payload)
        .bind(job.effective_lane())
        .bind(job.idempotency_key.clone())
        .bind(i64::from(job.priority))
        .bind(i64::from(job.max_attempts.max(1)))
        .bind(job.run_after_ms.unwrap_or(now))
        .bind(now)
        .fetch_optional(&mut **tx)
        .await
        .db()?;
    let result = match inserted {
        Some((id,)) => Enqueued::New(JobId(id)),
        None => {
            let (id,): (i64,) = sqlx::query_as(
                "SELECT id FROM jobs WHERE idempotency_key = $1 AND state = 'queued'",
            )
            .bind(job.idempotency_key.clone())
            .fetch_one(&mut **tx)
            .await
            .db()?;
            // The waiting job now also carries this request: it must not run later than
            // this request asked (e.g. "sync now" while the next scheduled sync waits).
            sqlx::query(
                    "UPDATE jobs SET run_after_ms = $1, updated_ms = $2 WHERE id = $3 AND run_after_ms > $1",
                )
                .bind(job.run_after_ms.unwrap_or(now))
                .bind(now)
                .bind(id)
                .execute(&mut **tx)
                .await
                .db()?;
            Enqueued::Existing(JobId(id))
        }
    };
    Ok(result)
}
