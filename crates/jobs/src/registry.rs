use crate::{Attempt, Job, JobError};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use teamline_domain::job::Job as JobRow;

type Running = Pin<Box<dyn Future<Output = Result<(), JobError>> + Send>>;
type Start<C> = dyn Fn(&C, &JobRow, Attempt) -> Result<Running, JobError> + Send + Sync;

struct Entry<C> {
    start: Arc<Start<C>>,
    throttle_group: Option<&'static str>,
}

/// Every job kind a runner can run, each with how to read its payload and run it, and the
/// context the jobs get. Filled once at start-up.
pub struct Registry<C> {
    context: C,
    entries: HashMap<&'static str, Entry<C>>,
}

impl<C: Clone + Send + Sync + 'static> Registry<C> {
    pub fn new(context: C) -> Self {
        Self {
            context,
            entries: HashMap::new(),
        }
    }

    /// Adds job type `J`. Registering a kind twice keeps the later type.
    pub fn register<J: Job<Context = C>>(mut self) -> Self {
        let entry = Entry {
            start: Arc::new(start::<J>),
            throttle_group: J::THROTTLE_GROUP,
        };
        if self.entries.insert(J::KIND, entry).is_some() {
            tracing::warn!(kind = J::KIND, "a job kind was registered twice");
        }
        self
    }

    pub(crate) fn throttle_group(&self, kind: &str) -> Option<&'static str> {
        self.entries.get(kind).and_then(|e| e.throttle_group)
    }

    /// The registered kinds of a throttle group.
    pub(crate) fn kinds_in(&self, group: &str) -> Vec<&'static str> {
        self.entries
            .iter()
            .filter(|(_, e)| e.throttle_group == Some(group))
            .map(|(kind, _)| *kind)
            .collect()
    }

    /// The attempt's future, ready to spawn; `None` for a kind this registry does not know.
    pub(crate) fn start(&self, row: &JobRow, attempt: Attempt) -> Option<Running> {
        let entry = self.entries.get(row.kind.as_str())?;
        Some(match (entry.start)(&self.context, row, attempt) {
            Ok(running) => running,
            Err(e) => Box::pin(std::future::ready(Err(e))),
        })
    }
}

fn start<J: Job>(ctx: &J::Context, row: &JobRow, attempt: Attempt) -> Result<Running, JobError> {
    let job: J = decode(row)?;
    let ctx = ctx.clone();
    Ok(Box::pin(async move { job.run(&ctx, &attempt).await }))
}

/// The stored payload as `J`. The row's enterprise is the one the store scopes the job by;
/// payloads queued before jobs carried it themselves get it from there.
fn decode<J: Job>(row: &JobRow) -> Result<J, JobError> {
    let unreadable = |e: serde_json::Error| {
        JobError::permanent(format!("job {} has an unreadable payload: {e}", row.id))
    };
    let mut value: serde_json::Value = serde_json::from_str(&row.payload).map_err(unreadable)?;
    if let (Some(fields), Some(e)) = (value.as_object_mut(), row.enterprise_id) {
        fields
            .entry("enterprise_id")
            .or_insert_with(|| serde_json::Value::from(e.0));
    }
    serde_json::from_value(value).map_err(unreadable)
}
