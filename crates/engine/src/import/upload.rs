//! The import object: an uploaded file kept with its check (who, when, each row's result), and
//! Apply as a job that sets the rows up with progress, row by row, and a result file.
//!
//! Apply checks the file again against what holds then (someone may have set up one of its
//! extensions since the upload): when a row no longer passes before anything was set up,
//! nothing is written, as at upload. A retried or resumed apply skips the rows already set up.

use super::{ImportCheck, ImportError, RowCheck};
use crate::{Engine, EngineError, SaveError};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use teamline_domain::FieldErrors;
use teamline_domain::audit::{Actor, Audit};
use teamline_domain::bulk_import::{RowResult, result_csv};
use teamline_domain::ids::{EnterpriseId, ImportId, JobId, PbxUserId};
use teamline_jobs::{Attempt, Job, JobError};
use teamline_store::{
    ImportRowRecord, ImportState, NewImport, RowOutcome, RowProblem, StoreError, StoredImport,
};

/// Rows recorded (and progress reported) at once while applying.
const ROWS_PER_REPORT: usize = 25;

/// Why an import cannot be applied.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("import {0} was not found")]
    NotFound(ImportId),
    #[error(
        "import {id} has {bad} rows that cannot be set up: fix them in the file and upload it again"
    )]
    BadRows { id: ImportId, bad: u64 },
    #[error("import {id} is already {state}: upload the file again to apply it once more")]
    NotCheckedState { id: ImportId, state: &'static str },
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl From<StoreError> for ApplyError {
    fn from(e: StoreError) -> Self {
        Self::Engine(e.into())
    }
}

/// Applies a stored import: sets up each of its rows as Save User does.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApplyImport {
    pub enterprise_id: EnterpriseId,
    pub import_id: ImportId,
    /// Who pressed Apply: each user's audit event names them.
    pub actor: Actor,
}

impl Job for ApplyImport {
    const KIND: &'static str = "apply_import";
    // Each row only stores a user and queues its jobs; the Microsoft and PBX work is theirs.
    const MAX_ATTEMPTS: u32 = 5;
    type Context = Engine;

    fn enterprise(&self) -> Option<EnterpriseId> {
        Some(self.enterprise_id)
    }

    fn lane(&self) -> Option<String> {
        Some(format!("import:{}", self.enterprise_id))
    }

    fn idempotency_key(&self) -> Option<String> {
        Some(format!("{}:{}", Self::KIND, self.import_id))
    }

    async fn run(&self, engine: &Engine, attempt: &Attempt) -> Result<(), JobError> {
        engine
            .apply_stored_import(
                self.enterprise_id,
                self.import_id,
                &self.actor,
                Some(attempt),
            )
            .await?;
        Ok(())
    }
}

/// The audit event of pressing Apply, recorded by whichever of the request and the job starts
/// the import.
fn apply_audit(actor: &Actor, import: &StoredImport) -> Audit {
    Audit::new(
        actor.clone(),
        "import.apply",
        format!(
            "Applied {} ({} rows) with Bulk Upload",
            import.file_name, import.row_count
        ),
    )
}

fn problems(errors: &FieldErrors) -> Vec<RowProblem> {
    errors
        .iter()
        .map(|e| RowProblem {
            field: e.field.to_owned(),
            message: e.message.clone(),
        })
        .collect()
}

fn record_of(r: &RowCheck) -> ImportRowRecord {
    let (outcome, problems) = match &r.outcome {
        Ok(_) => (RowOutcome::Ready, Vec::new()),
        Err(errors) => (RowOutcome::Invalid, problems(errors)),
    };
    ImportRowRecord {
        row: r.row as u64,
        upn: r.upn.clone(),
        sip_user: r.sip_user.clone(),
        outcome,
        problems,
        pbx_user_id: None,
    }
}

impl Engine {
    /// Checks an uploaded file and keeps it with each row's result (nothing else is written).
    /// The import can be applied when no row is bad.
    pub async fn upload_import(
        &self,
        e: EnterpriseId,
        actor: &Actor,
        file_name: &str,
        text: &str,
    ) -> Result<(StoredImport, ImportCheck), ImportError> {
        let check = self.check_import(e, text).await?;
        let rows: Vec<ImportRowRecord> = check.rows.iter().map(record_of).collect();
        let bad = check.bad_rows().count();
        let name = if file_name.trim().is_empty() {
            "upload.csv"
        } else {
            file_name.trim()
        };
        let audit = Audit::new(
            actor.clone(),
            "import.upload",
            format!(
                "Uploaded {name} for Bulk Upload: {} rows, {bad} to fix",
                rows.len()
            ),
        );
        let stored = self
            .inner
            .store
            .create_import(
                &NewImport {
                    enterprise_id: e,
                    file_name: name.to_owned(),
                    created_by: actor.clone(),
                    content: text.to_owned(),
                    rows,
                },
                &audit,
            )
            .await?;
        Ok((stored, check))
    }

    /// The import, when it can be applied: checked, and no bad row (also what the apply's
    /// preview requires).
    pub(crate) async fn applicable_import(
        &self,
        e: EnterpriseId,
        id: ImportId,
    ) -> Result<StoredImport, ApplyError> {
        let import = self
            .inner
            .store
            .get_import(e, id)
            .await?
            .ok_or(ApplyError::NotFound(id))?;
        if import.state != ImportState::Checked {
            return Err(ApplyError::NotCheckedState {
                id,
                state: import.state.as_str(),
            });
        }
        if import.bad_rows > 0 {
            return Err(ApplyError::BadRows {
                id,
                bad: import.bad_rows,
            });
        }
        Ok(import)
    }

    /// Queues the apply of a checked import without bad rows; returns its job.
    pub async fn apply_import_later(
        &self,
        e: EnterpriseId,
        actor: &Actor,
        id: ImportId,
    ) -> Result<JobId, ApplyError> {
        let store = &self.inner.store;
        let import = self.applicable_import(e, id).await?;
        let job = self
            .enqueue(&ApplyImport {
                enterprise_id: e,
                import_id: id,
                actor: actor.clone(),
            })
            .await?;
        // Two clicks on Apply queue one job (its idempotency key); only one starts it. The job
        // may already have started it: a runner can claim the job before this line runs.
        if !store
            .start_import(e, id, job, &apply_audit(actor, &import))
            .await?
        {
            let now = store
                .get_import(e, id)
                .await?
                .ok_or(ApplyError::NotFound(id))?;
            if now.job_id != Some(job) {
                return Err(ApplyError::NotCheckedState {
                    id,
                    state: now.state.as_str(),
                });
            }
        }
        Ok(job)
    }

    /// The result file: every row of the upload with its outcome and problems.
    pub async fn import_result_csv(
        &self,
        e: EnterpriseId,
        id: ImportId,
    ) -> Result<Option<String>, ImportError> {
        let store = &self.inner.store;
        let Some(import) = store.get_import(e, id).await? else {
            return Ok(None);
        };
        let results: Vec<RowResult> = store
            .import_rows(e, id)
            .await?
            .into_iter()
            .map(|r| RowResult {
                row: usize::try_from(r.row).unwrap_or(usize::MAX),
                outcome: r.outcome.as_str().to_owned(),
                detail: r
                    .problems
                    .iter()
                    .map(|p| format!("{}: {}", p.field, p.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            })
            .collect();
        Ok(Some(result_csv(&import.content, &results)?))
    }

    /// The work of [`ApplyImport`].
    async fn apply_stored_import(
        &self,
        e: EnterpriseId,
        id: ImportId,
        actor: &Actor,
        attempt: Option<&Attempt>,
    ) -> Result<(), EngineError> {
        let store = &self.inner.store;
        let Some(mut import) = store.get_import(e, id).await? else {
            return Ok(());
        };
        // Queued before it was marked applying (see `apply_import_later`): a runner that claims
        // the job in between starts the import itself, or the job would end with nothing done
        // and the import would stay "applying" for ever.
        if let (ImportState::Checked, Some(attempt)) = (import.state, attempt) {
            store
                .start_import(e, id, attempt.job_id(), &apply_audit(actor, &import))
                .await?;
            import = match store.get_import(e, id).await? {
                Some(now) if now.job_id == Some(attempt.job_id()) => now,
                _ => return Ok(()),
            };
        }
        if import.state != ImportState::Applying {
            return Ok(());
        }
        let done: HashMap<u64, Option<PbxUserId>> = store
            .import_rows(e, id)
            .await?
            .into_iter()
            .filter(|r| r.outcome == RowOutcome::SetUp)
            .map(|r| (r.row, r.pbx_user_id))
            .collect();
        let check = match self.check_import(e, &import.content).await {
            Ok(c) => c,
            Err(ImportError::File(f)) => {
                store
                    .finish_import(e, id, ImportState::Failed, Some(&f.to_string()))
                    .await?;
                return Ok(());
            }
            Err(ImportError::Engine(err)) => return Err(err),
        };
        let pending = |r: &&RowCheck| !done.contains_key(&(r.row as u64));
        let newly_bad: Vec<ImportRowRecord> = check
            .rows
            .iter()
            .filter(pending)
            .filter(|r| r.outcome.is_err())
            .map(record_of)
            .collect();
        if done.is_empty() && !newly_bad.is_empty() {
            store.record_import_rows(e, id, &newly_bad, 0).await?;
            let why = format!(
                "{} rows no longer pass the check (the PBX or Teams changed since the upload): nothing was set up; download the result, fix those rows and upload the file again",
                newly_bad.len()
            );
            store
                .finish_import(e, id, ImportState::Failed, Some(&why))
                .await?;
            return Ok(());
        }
        let total = check.rows.len() as u64;
        let mut applied = done.len() as u64;
        let mut failed = 0u64;
        let mut batch = Vec::with_capacity(ROWS_PER_REPORT);
        for row in check.rows.iter().filter(pending) {
            let mut record = record_of(row);
            match &row.outcome {
                Err(_) => {
                    record.outcome = RowOutcome::Failed;
                    failed += 1;
                }
                Ok(spec) => match self.create_configured_user(e, actor, spec.clone()).await {
                    Ok(user) => {
                        record.outcome = RowOutcome::SetUp;
                        record.pbx_user_id = Some(user.id);
                        applied += 1;
                    }
                    Err(SaveError::Fields(errors)) => {
                        record.outcome = RowOutcome::Failed;
                        record.problems = problems(&errors);
                        failed += 1;
                    }
                    Err(SaveError::Engine(err)) => {
                        store.record_import_rows(e, id, &batch, applied).await?;
                        return Err(err);
                    }
                },
            }
            batch.push(record);
            if batch.len() >= ROWS_PER_REPORT {
                store.record_import_rows(e, id, &batch, applied).await?;
                batch.clear();
                report(attempt, applied, failed, total).await;
            }
        }
        store.record_import_rows(e, id, &batch, applied).await?;
        report(attempt, applied, failed, total).await;
        if failed == 0 {
            store.finish_import(e, id, ImportState::Done, None).await?;
        } else {
            let why = format!(
                "{failed} of {total} rows could not be set up (the PBX or Teams changed while applying): download the result to see why"
            );
            store
                .finish_import(e, id, ImportState::Failed, Some(&why))
                .await?;
        }
        Ok(())
    }
}

async fn report(attempt: Option<&Attempt>, applied: u64, failed: u64, total: u64) {
    if let Some(a) = attempt {
        let message = if failed == 0 {
            format!("set up {applied} of {total} users")
        } else {
            format!("set up {applied} of {total} users, {failed} failed")
        };
        // Progress is only shown; a lost report is not worth failing the apply.
        let _ = a.progress(applied + failed, Some(total), &message).await;
    }
}
