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
//! While a key's batches are shared (the last one held more than one caller, so pushes of the
//! tenant run side by side, as in a bulk Enable Calling), a new batch gathers for a longer
//! `busy_window`: the pushes are bound by Microsoft's request budget, not by their latency,
//! and a fuller list spends fewer requests of that budget. A single push (an admin saving one
//! user) finds the last batch unshared and waits only the short `window`.
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
use tokio::time::Instant;

/// How long after a shared batch a key still counts as busy: long enough to span the pause
/// of a throttled tenant (Microsoft's window is 10 s), so the batches after it gather again.
const BUSY_MEMORY: Duration = Duration::from_secs(15);

/// One batch being gathered: its number (so the timer flushes only its own batch), when it is
/// due, and the callers waiting for it.
struct Gathering<I, R> {
    number: u64,
    due: Instant,
    items: Vec<(I, oneshot::Sender<R>)>,
}

/// A key's state: the batch being gathered, how many batches of the key are on their way
/// (while one is, the next gathers until it comes back and is due), and when the last shared
/// batch came back.
struct Slot<I, R> {
    gathering: Option<Gathering<I, R>>,
    in_flight: usize,
    last_shared: Option<Instant>,
}

impl<I, R> Slot<I, R> {
    fn busy(&self, now: Instant) -> bool {
        self.last_shared
            .is_some_and(|at| now.saturating_duration_since(at) < BUSY_MEMORY)
    }
}

struct State<K, I, R> {
    next: u64,
    slots: HashMap<K, Slot<I, R>>,
}

/// Gathers calls under a key, then runs them as one: when the batch is due (`window` after
/// its first caller, `busy_window` while the key is busy) and nothing of the key is on its
/// way, else when that comes back and the batch is due, and at once when `max` callers wait.
pub(crate) struct Coalescer<K, I, R> {
    state: Mutex<State<K, I, R>>,
    max: usize,
    window: Duration,
    busy_window: Duration,
}

/// What a call has to do after adding its item.
enum Then<I, R> {
    /// Send this full batch now.
    Send(Vec<(I, oneshot::Sender<R>)>),
    /// Start the timer of the batch with this number.
    Time(u64, Instant),
    /// Nothing: a timer or a batch on its way will send it.
    Wait,
}

/// What a batch on its way does when it comes back.
enum Next<I, R> {
    Send(Vec<(I, oneshot::Sender<R>)>),
    SleepUntil(Instant),
    Done,
}

impl<K, I, R> Coalescer<K, I, R>
where
    K: Eq + Hash + Clone + Send + 'static,
    I: Send + 'static,
    R: Send + 'static,
{
    pub(crate) fn new(max: usize, window: Duration, busy_window: Duration) -> Self {
        Self {
            state: Mutex::new(State {
                next: 0,
                slots: HashMap::new(),
            }),
            max: max.max(1),
            window,
            busy_window: busy_window.max(window),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State<K, I, R>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds `item` to the batch gathering under `key` and waits for its answer. `run` sends a
    /// whole batch and answers each item in order (the same `run` serves every caller of a
    /// key, so any caller's may be the one used). `None` when the batch's task ended without
    /// an answer for this item.
    pub(crate) async fn call<F, Fut>(self: &Arc<Self>, key: K, item: I, run: F) -> Option<R>
    where
        F: Fn(K, Vec<I>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<R>> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let patience = crate::throttle::max_wait();
        let now = Instant::now();
        let then = {
            let mut state = self.lock();
            let state = &mut *state;
            let slot = state.slots.entry(key.clone()).or_insert(Slot {
                gathering: None,
                in_flight: 0,
                last_shared: None,
            });
            let window = if slot.busy(now) {
                self.busy_window
            } else {
                self.window
            };
            let batch = slot.gathering.get_or_insert_with(|| {
                state.next += 1;
                Gathering {
                    number: state.next,
                    due: now + window,
                    items: Vec::new(),
                }
            });
            batch.items.push((item, tx));
            if batch.items.len() >= self.max {
                slot.in_flight += 1;
                Then::Send(slot.gathering.take().map(|b| b.items).unwrap_or_default())
            } else if batch.items.len() == 1 && slot.in_flight == 0 {
                Then::Time(batch.number, batch.due)
            } else {
                Then::Wait
            }
        };
        let me = Arc::clone(self);
        match then {
            Then::Send(items) => {
                tokio::spawn(me.send_from(key, items, run, patience));
            }
            Then::Time(number, due) => {
                tokio::spawn(async move {
                    tokio::time::sleep_until(due).await;
                    let items = {
                        let mut state = me.lock();
                        match state.slots.get_mut(&key) {
                            Some(slot)
                                if slot.in_flight == 0
                                    && slot.gathering.as_ref().map(|b| b.number)
                                        == Some(number) =>
                            {
                                slot.in_flight += 1;
                                slot.gathering.take().map(|b| b.items)
                            }
                            _ => None,
                        }
                    };
                    if let Some(items) = items {
                        me.send_from(key, items, run, patience).await;
                    }
                });
            }
            Then::Wait => {}
        }
        rx.await.ok()
    }

    /// Sends `items`, then whatever gathered under the key meanwhile once it is due, until
    /// nothing is left.
    async fn send_from<F, Fut>(
        self: Arc<Self>,
        key: K,
        mut items: Vec<(I, oneshot::Sender<R>)>,
        run: F,
        patience: Option<Duration>,
    ) where
        F: Fn(K, Vec<I>) -> Fut,
        Fut: Future<Output = Vec<R>>,
    {
        let mut shared = items.len() > 1;
        send(items, key.clone(), &run, patience).await;
        loop {
            let next = {
                let mut state = self.lock();
                let Some(slot) = state.slots.get_mut(&key) else {
                    return;
                };
                let now = Instant::now();
                if shared {
                    slot.last_shared = Some(now);
                }
                match &slot.gathering {
                    Some(batch) if batch.due <= now => {
                        Next::Send(slot.gathering.take().map(|b| b.items).unwrap_or_default())
                    }
                    Some(batch) => Next::SleepUntil(batch.due),
                    None => {
                        slot.in_flight = slot.in_flight.saturating_sub(1);
                        // An idle key's slot is kept only while it still counts as busy.
                        if slot.in_flight == 0 && !slot.busy(now) {
                            state.slots.remove(&key);
                        }
                        Next::Done
                    }
                }
            };
            match next {
                Next::Send(next) => {
                    items = next;
                    shared = items.len() > 1;
                    send(items, key.clone(), &run, patience).await;
                }
                Next::SleepUntil(due) => {
                    shared = false;
                    tokio::time::sleep_until(due).await;
                }
                Next::Done => return,
            }
        }
    }
}

/// Runs one batch and answers each caller.
async fn send<K, I, R, F, Fut>(
    items: Vec<(I, oneshot::Sender<R>)>,
    key: K,
    run: &F,
    patience: Option<Duration>,
) where
    F: Fn(K, Vec<I>) -> Fut,
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
            Duration::from_millis(20),
        ));
        let runs = Arc::new(AtomicUsize::new(0));
        let call = |key: &'static str, n: u32| {
            let (c, runs) = (coalescer.clone(), runs.clone());
            async move {
                c.call(key, n, move |_, items: Vec<u32>| {
                    runs.fetch_add(1, Ordering::SeqCst);
                    async move { items.into_iter().map(|i| i * 10).collect() }
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
    async fn callers_arriving_while_a_batch_is_on_its_way_go_together_in_the_next() {
        let coalescer = Arc::new(Coalescer::<(), u32, u32>::new(
            20,
            Duration::from_millis(5),
            Duration::from_millis(5),
        ));
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let call = |n: u32| {
            let (c, sizes) = (coalescer.clone(), sizes.clone());
            async move {
                c.call((), n, move |_, items: Vec<u32>| {
                    sizes.lock().unwrap().push(items.len());
                    async move {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        items
                    }
                })
                .await
            }
        };
        let first = tokio::spawn(call(0));
        // The first batch (one caller) leaves after the window and takes 50 ms.
        tokio::time::sleep(Duration::from_millis(20)).await;
        let rest = futures::future::join_all((1..=5).map(call)).await;
        assert_eq!(first.await.unwrap(), Some(0));
        assert_eq!(rest, (1..=5).map(Some).collect::<Vec<_>>());
        assert_eq!(*sizes.lock().unwrap(), vec![1, 5]);
    }

    /// A caller's answer, boxed so the test's callers share one type.
    type Answer = std::pin::Pin<Box<dyn Future<Output = Option<u32>> + Send>>;

    /// A coalescer whose `run` records the size of each batch, and a way to call it.
    fn recording(
        window_ms: u64,
        busy_window_ms: u64,
    ) -> (Arc<Mutex<Vec<usize>>>, impl Fn(u32) -> Answer) {
        let coalescer = Arc::new(Coalescer::<(), u32, u32>::new(
            20,
            Duration::from_millis(window_ms),
            Duration::from_millis(busy_window_ms),
        ));
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let recorded = sizes.clone();
        let call = move |n: u32| {
            let (c, s) = (coalescer.clone(), recorded.clone());
            Box::pin(async move {
                c.call((), n, move |_, items: Vec<u32>| {
                    s.lock().unwrap().push(items.len());
                    async move { items }
                })
                .await
            }) as Answer
        };
        (sizes, call)
    }

    #[tokio::test]
    async fn once_batches_are_shared_callers_arriving_apart_still_go_together() {
        let (sizes, call) = recording(5, 2_000);
        // Two pushes at once share a batch: the key is busy from then on.
        let first = futures::future::join_all([call(1), call(2)]).await;
        assert_eq!(first, vec![Some(1), Some(2)]);
        // Four more arrive 30 ms apart, each far outside the short window.
        let mut later = Vec::new();
        for n in 3..=6 {
            later.push(tokio::spawn(call(n)));
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        for (n, answer) in (3..=6).zip(later) {
            assert_eq!(answer.await.unwrap(), Some(n));
        }
        assert_eq!(*sizes.lock().unwrap(), vec![2, 4]);
    }

    #[tokio::test]
    async fn a_lone_caller_does_not_wait_for_the_busy_window() {
        // A busy window of a minute: a lone caller waiting for it would time out below.
        let (sizes, call) = recording(5, 60_000);
        for n in 1..=3 {
            let answer = tokio::time::timeout(Duration::from_secs(10), call(n)).await;
            assert_eq!(answer.ok().flatten(), Some(n));
        }
        assert_eq!(*sizes.lock().unwrap(), vec![1, 1, 1]);
    }

    #[tokio::test]
    async fn a_caller_that_gives_up_does_not_strand_the_others() {
        let coalescer = Arc::new(Coalescer::<(), u32, u32>::new(
            20,
            Duration::from_millis(20),
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
