//! Coalescing of concurrent single-user calls into one list request.
//!
//! Every push job works on one user and asks for that user alone ("give Adele the voice routing
//! policy US East 2", "read Adele's Teams configuration"). When many pushes of one tenant run
//! at once (Enable Calling for a whole department), Microsoft takes the same kind of request
//! for many users at once: `userAssignments/assign` takes a list of users, `$batch` takes 20
//! reads. A [`Coalescer`] gathers the calls that arrive within a short window under the same
//! key and sends them as one request, then hands each caller its own answer. A caller alone
//! waits only that window.
//!
//! The request is sent from its own task, so a caller that gives up (a job stepping aside
//! while the tenant is throttled) never strands the others who joined its batch. The task
//! carries the first caller's throttling patience ([`crate::throttle::with_max_wait`]).

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::oneshot;

/// One batch being gathered: its number (so the timer flushes only its own batch) and the
/// callers waiting for it.
struct Gathering<I, R> {
    number: u64,
    items: Vec<(I, oneshot::Sender<R>)>,
}

struct State<K, I, R> {
    next: u64,
    gathering: HashMap<K, Gathering<I, R>>,
}

/// Gathers calls under a key for `window` or until `max` of them wait, then runs them as one.
pub(crate) struct Coalescer<K, I, R> {
    state: Mutex<State<K, I, R>>,
    max: usize,
    window: Duration,
}

impl<K, I, R> Coalescer<K, I, R>
where
    K: Eq + Hash + Clone + Send + 'static,
    I: Send + 'static,
    R: Send + 'static,
{
    pub(crate) fn new(max: usize, window: Duration) -> Self {
        Self {
            state: Mutex::new(State {
                next: 0,
                gathering: HashMap::new(),
            }),
            max: max.max(1),
            window,
        }
    }

    /// Adds `item` to the batch gathering under `key` and waits for its answer. `run` sends a
    /// whole batch and answers each item in order (the same `run` serves every caller of a
    /// key, so any caller's may be the one used). `None` when the batch's task ended without
    /// an answer for this item.
    pub(crate) async fn call<F, Fut>(self: &Arc<Self>, key: K, item: I, run: F) -> Option<R>
    where
        F: FnOnce(K, Vec<I>) -> Fut + Send + 'static,
        Fut: Future<Output = Vec<R>> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let patience = crate::throttle::max_wait();
        let (first, full) = {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            let state = &mut *state;
            let batch = state
                .gathering
                .entry(key.clone())
                .or_insert_with(|| Gathering {
                    number: state.next,
                    items: Vec::new(),
                });
            let first = batch.items.is_empty();
            let this = batch.number;
            batch.items.push((item, tx));
            let len = batch.items.len();
            if first {
                state.next += 1;
            }
            let full = if len >= self.max {
                state.gathering.remove(&key)
            } else {
                None
            };
            (first.then_some(this), full)
        };
        let me = Arc::clone(self);
        match (full, first) {
            // Full: sent at once; its timer (if any) finds nothing to send.
            (Some(batch), _) => {
                tokio::spawn(send(batch.items, key, run, patience));
            }
            (None, Some(number)) => {
                tokio::spawn(async move {
                    tokio::time::sleep(me.window).await;
                    let due = {
                        let mut state = me.state.lock().unwrap_or_else(PoisonError::into_inner);
                        match state.gathering.get(&key) {
                            Some(b) if b.number == number => state.gathering.remove(&key),
                            _ => None,
                        }
                    };
                    if let Some(batch) = due {
                        send(batch.items, key, run, patience).await;
                    }
                });
            }
            (None, None) => {}
        }
        rx.await.ok()
    }
}

/// Runs one batch and answers each caller.
async fn send<K, I, R, F, Fut>(
    items: Vec<(I, oneshot::Sender<R>)>,
    key: K,
    run: F,
    patience: Option<Duration>,
) where
    F: FnOnce(K, Vec<I>) -> Fut,
    Fut: Future<Output = Vec<R>>,
{
    let (inputs, senders): (Vec<I>, Vec<oneshot::Sender<R>>) = items.into_iter().unzip();
    let answers = match patience {
        Some(limit) => crate::throttle::with_max_wait(limit, run(key, inputs)).await,
        None => run(key, inputs).await,
    };
    for (tx, answer) in senders.into_iter().zip(answers) {
        // A caller that gave up no longer listens; the others still get theirs.
        let _ = tx.send(answer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn concurrent_calls_under_one_key_become_one_run_and_each_gets_its_own_answer() {
        let coalescer = Arc::new(Coalescer::<&str, u32, u32>::new(
            3,
            Duration::from_millis(20),
        ));
        let runs = Arc::new(AtomicUsize::new(0));
        let call = |key: &'static str, n: u32| {
            let (c, runs) = (coalescer.clone(), runs.clone());
            async move {
                c.call(key, n, move |_, items: Vec<u32>| async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    items.into_iter().map(|i| i * 10).collect()
                })
                .await
            }
        };
        // Three of "a" fill a batch (sent at once), a fourth starts the next; "b" is its own.
        let answers = futures::future::join_all([
            call("a", 1),
            call("a", 2),
            call("a", 3),
            call("a", 4),
            call("b", 5),
        ])
        .await;
        assert_eq!(
            answers,
            vec![Some(10), Some(20), Some(30), Some(40), Some(50)]
        );
        assert_eq!(runs.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_caller_that_gives_up_does_not_strand_the_others() {
        let coalescer = Arc::new(Coalescer::<(), u32, u32>::new(
            20,
            Duration::from_millis(20),
        ));
        let run = |_, items: Vec<u32>| async move { items };
        let quitter = {
            let c = coalescer.clone();
            tokio::spawn(async move { c.call((), 1, run).await })
        };
        tokio::task::yield_now().await;
        let stayer = coalescer.call((), 2, run);
        quitter.abort();
        assert_eq!(stayer.await, Some(2));
    }
}
