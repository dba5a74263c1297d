//! Bulk Upload files: each upload with its rows' results, and the apply's progress.

use crate::StoreResult;
use async_trait::async_trait;
use teamline_domain::audit::{Actor, Audit};
use teamline_domain::ids::{EnterpriseId, ImportId, JobId, PbxUserId};

/// Where an import is: checked (and waiting for Apply, when every row is good), applying (the
/// job sets the rows up), done, or failed (the apply stopped; the rows say where).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImportState {
    Checked,
    Applying,
    Done,
    Failed,
}

impl ImportState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Checked => "checked",
            Self::Applying => "applying",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "checked" => Self::Checked,
            "applying" => Self::Applying,
            "done" => Self::Done,
            "failed" => Self::Failed,
            _ => return None,
        })
    }
}

/// One row's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RowOutcome {
    /// Checked and good: Apply sets it up.
    Ready,
    /// Checked and bad: its errors say what to fix.
    Invalid,
    /// Set up by the apply.
    SetUp,
    /// The apply could not set it up (e.g. someone took its extension since the check).
    Failed,
}

impl RowOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ready => "ready",
            Self::Invalid => "invalid",
            Self::SetUp => "set_up",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "ready" => Self::Ready,
            "invalid" => Self::Invalid,
            "set_up" => Self::SetUp,
            "failed" => Self::Failed,
            _ => return None,
        })
    }
}

/// One problem with a row, against the column (the form's field label) at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowProblem {
    pub field: String,
    pub message: String,
}

/// A row of an import as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRowRecord {
    /// The row number a spreadsheet shows (the header is row 1).
    pub row: u64,
    pub upn: String,
    pub sip_user: String,
    pub outcome: RowOutcome,
    pub problems: Vec<RowProblem>,
    /// The PBX user the row set up.
    pub pbx_user_id: Option<PbxUserId>,
}

/// A checked upload to store.
#[derive(Debug, Clone)]
pub struct NewImport {
    pub enterprise_id: EnterpriseId,
    pub file_name: String,
    pub created_by: Actor,
    pub content: String,
    pub rows: Vec<ImportRowRecord>,
}

/// An upload as stored (without its rows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredImport {
    pub id: ImportId,
    pub enterprise_id: EnterpriseId,
    pub file_name: String,
    pub created_by: Actor,
    pub created_ms: i64,
    pub content: String,
    pub row_count: u64,
    pub bad_rows: u64,
    pub applied_rows: u64,
    pub state: ImportState,
    pub job_id: Option<JobId>,
    pub finished_ms: Option<i64>,
    pub error: Option<String>,
}

#[async_trait]
pub trait ImportStore: Send + Sync + 'static {
    /// Stores a checked upload and its rows (state `checked`), with its audit event.
    async fn create_import(&self, new: &NewImport, audit: &Audit) -> StoreResult<StoredImport>;
    /// One of the enterprise's imports (`None` for another enterprise's).
    async fn get_import(&self, e: EnterpriseId, id: ImportId) -> StoreResult<Option<StoredImport>>;
    /// The enterprise's imports, newest first.
    async fn list_imports(&self, e: EnterpriseId, limit: u32) -> StoreResult<Vec<StoredImport>>;
    /// The import's rows in file order (empty for another enterprise's import).
    async fn import_rows(&self, e: EnterpriseId, id: ImportId)
    -> StoreResult<Vec<ImportRowRecord>>;
    /// Moves a checked import without bad rows to `applying` under the job that applies it,
    /// with its audit event. `false` when it is not (any more) a checked, clean import.
    async fn start_import(
        &self,
        e: EnterpriseId,
        id: ImportId,
        job: JobId,
        audit: &Audit,
    ) -> StoreResult<bool>;
    /// Records the results of some rows of an applying import and how many are set up.
    async fn record_import_rows(
        &self,
        e: EnterpriseId,
        id: ImportId,
        rows: &[ImportRowRecord],
        applied_rows: u64,
    ) -> StoreResult<()>;
    /// Ends an applying import: `done`, or `failed` with why.
    async fn finish_import(
        &self,
        e: EnterpriseId,
        id: ImportId,
        state: ImportState,
        error: Option<&str>,
    ) -> StoreResult<()>;
}
