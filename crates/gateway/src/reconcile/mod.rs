//! Makes Kamailio's uac_reg records equal to the records Teamline wants.
//!
//! [`plan`] is pure: desired records and Kamailio's current ones in, the steps out. [`apply`]
//! runs the steps over RPC. Running both again changes nothing once the two sets are equal,
//! whatever happened in between: a Kamailio restart (empty set: everything is added again), a
//! record changed or removed behind Teamline's back, or a password that changed on the PBX.
//!
//! A record Teamline no longer wants is first un-registered (REGISTER with Expires 0, so the
//! PBX stops sending calls for it at once) and removed on a later pass, once that REGISTER is
//! answered or has timed out. A changed record is removed and added again (uac_reg has no
//! update, and `uac.reg_add` refuses an existing id).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use futures::StreamExt;

use crate::rpc::{RpcClient, RpcError, UacRecord, UacRecordState};

/// How long an un-REGISTER may stay in flight before the record is removed anyway.
const UNREGISTER_GRACE_SECS: i64 = 30;

/// The steps that make Kamailio's set equal to the desired one.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Plan {
    /// New records.
    pub add: Vec<UacRecord>,
    /// Records Kamailio holds differently (removed, then added as wanted).
    pub replace: Vec<UacRecord>,
    /// Records no longer wanted and still registered: un-register first.
    pub unregister: Vec<String>,
    /// Records no longer wanted and not registered (or un-registered): forget them.
    pub remove: Vec<String>,
    /// Wanted records Kamailio holds disabled: enable them (a REGISTER at the next walk).
    pub enable: Vec<String>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.add.is_empty()
            && self.replace.is_empty()
            && self.unregister.is_empty()
            && self.remove.is_empty()
            && self.enable.is_empty()
    }

    /// How many RPC calls the plan takes.
    pub fn calls(&self) -> usize {
        self.add.len()
            + 2 * self.replace.len()
            + self.unregister.len()
            + self.remove.len()
            + self.enable.len()
    }
}

/// Compares the desired records with Kamailio's (`now` in Unix seconds).
pub fn plan(desired: &[UacRecord], current: &[UacRecordState], now: i64) -> Plan {
    let current: BTreeMap<&str, &UacRecordState> =
        current.iter().map(|c| (c.l_uuid.as_str(), c)).collect();
    let wanted: BTreeSet<&str> = desired.iter().map(|d| d.l_uuid.as_str()).collect();
    let mut p = Plan::default();
    for want in desired {
        match current.get(want.l_uuid.as_str()) {
            None => p.add.push(want.clone()),
            // expires 0: Teamline un-registered it earlier and wants it back.
            Some(have) if !have.matches(want) || have.expires == 0 => p.replace.push(want.clone()),
            Some(have) if have.flags.disabled() => p.enable.push(want.l_uuid.clone()),
            Some(_) => {}
        }
    }
    for (id, have) in &current {
        if wanted.contains(id) {
            continue;
        }
        if have.flags.online() && have.expires != 0 {
            p.unregister.push((*id).to_owned());
        } else if unregister_done(have, now) {
            p.remove.push((*id).to_owned());
        }
        // Otherwise the un-REGISTER is in flight: wait for its answer.
    }
    p
}

/// Whether a record that is no longer wanted can be forgotten: it is not registered, or its
/// un-REGISTER was answered, or has been in flight for too long.
pub fn unregister_done(have: &UacRecordState, now: i64) -> bool {
    let in_flight = have.expires == 0 && have.flags.ongoing();
    let registered = have.flags.online() && have.expires != 0;
    !registered && (!in_flight || now - have.timer_expires >= UNREGISTER_GRACE_SECS)
}

/// What [`apply`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Applied {
    pub added: usize,
    pub replaced: usize,
    pub unregistered: usize,
    pub removed: usize,
    pub enabled: usize,
    /// Steps Kamailio refused (one line each, naming the record); the next pass retries them.
    pub failures: Vec<String>,
}

/// Runs a plan over RPC, `concurrency` calls at a time. Stops at the first sign that Kamailio
/// is gone (`Err`); a refused step is counted in `failures` and the others go on.
pub async fn apply(rpc: &RpcClient, plan: &Plan, concurrency: usize) -> Result<Applied, RpcError> {
    let mut out = Applied::default();
    let concurrency = concurrency.max(1);

    let removals = run(rpc, concurrency, &plan.remove, |rpc, id| async move {
        rpc.uac_reg_remove(id).await.map(drop)
    })
    .await?;
    out.removed = removals.done;
    out.failures.extend(removals.failures);

    let unregs = run(rpc, concurrency, &plan.unregister, |rpc, id| async move {
        rpc.uac_reg_unregister(id).await.map(drop)
    })
    .await?;
    out.unregistered = unregs.done;
    out.failures.extend(unregs.failures);

    let replaced = run(rpc, concurrency, &plan.replace, |rpc, r| async move {
        rpc.uac_reg_remove(&r.l_uuid).await?;
        rpc.uac_reg_add(r).await
    })
    .await?;
    out.replaced = replaced.done;
    out.failures.extend(replaced.failures);

    let added = run(rpc, concurrency, &plan.add, |rpc, r| async move {
        rpc.uac_reg_add(r).await
    })
    .await?;
    out.added = added.done;
    out.failures.extend(added.failures);

    let enabled = run(rpc, concurrency, &plan.enable, |rpc, id| async move {
        rpc.uac_reg_enable(id).await.map(drop)
    })
    .await?;
    out.enabled = enabled.done;
    out.failures.extend(enabled.failures);
    Ok(out)
}

struct Outcome {
    done: usize,
    failures: Vec<String>,
}

trait Named {
    fn name(&self) -> &str;
}

impl Named for String {
    fn name(&self) -> &str {
        self
    }
}

impl Named for UacRecord {
    fn name(&self) -> &str {
        &self.l_uuid
    }
}

async fn run<'a, T, F, Fut>(
    rpc: &'a RpcClient,
    concurrency: usize,
    items: &'a [T],
    step: F,
) -> Result<Outcome, RpcError>
where
    T: Named + 'a,
    F: Fn(&'a RpcClient, &'a T) -> Fut,
    Fut: std::future::Future<Output = Result<(), RpcError>> + 'a,
{
    // Collected first: a stream over a lazy `map` keeps a closure whose lifetimes the compiler
    // cannot prove general enough for `tokio::spawn` of a caller.
    let steps: Vec<_> = items
        .iter()
        .map(|item| {
            let fut = step(rpc, item);
            async move { (item.name(), fut.await) }
        })
        .collect();
    let mut results = futures::stream::iter(steps).buffer_unordered(concurrency);
    let mut out = Outcome {
        done: 0,
        failures: Vec::new(),
    };
    while let Some((name, result)) = results.next().await {
        match result {
            Ok(()) => out.done += 1,
            Err(e) if e.is_unreachable() => return Err(e),
            Err(e) => out.failures.push(format!("registration {name}: {e}")),
        }
    }
    Ok(out)
}

/// A full pass: read Kamailio's records, plan, apply. Returns the plan's size and what was
/// done, with how long it took.
pub async fn reconcile(
    rpc: &RpcClient,
    desired: &[UacRecord],
    now: i64,
    concurrency: usize,
) -> Result<Pass, RpcError> {
    let started = Instant::now();
    let current = rpc.uac_reg_dump().await?;
    let plan = plan(desired, &current, now);
    let applied = apply(rpc, &plan, concurrency).await?;
    Ok(Pass {
        current: current.len(),
        plan_calls: plan.calls(),
        applied,
        took: started.elapsed(),
    })
}

/// One reconcile pass.
#[derive(Debug, Clone)]
pub struct Pass {
    /// Records Kamailio held before the pass.
    pub current: usize,
    pub plan_calls: usize,
    pub applied: Applied,
    pub took: Duration,
}

#[cfg(test)]
mod tests;
