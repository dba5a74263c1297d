use std::collections::BTreeMap;

use proptest::prelude::*;
use secrecy::{ExposeSecret, SecretString};

use super::*;
use crate::rpc::UacFlags;

fn want(id: &str, password: &str, proxy: &str) -> UacRecord {
    UacRecord {
        l_uuid: id.to_owned(),
        l_username: "+11000".to_owned(),
        l_domain: "contoso.sbc.example.net".to_owned(),
        r_username: "1000tm".to_owned(),
        r_domain: "contoso".to_owned(),
        auth_username: "1000tm".to_owned(),
        auth_password: SecretString::from(password.to_owned()),
        auth_proxy: proxy.to_owned(),
        expires: 600,
        reg_delay: 0,
    }
}

/// Kamailio's view of a record as `uac.reg_dump` would print it.
fn held(r: &UacRecord, flags: u32, expires: u32, timer_expires: i64) -> UacRecordState {
    serde_json::from_value(serde_json::json!({
        "l_uuid": r.l_uuid, "l_username": r.l_username, "l_domain": r.l_domain,
        "r_username": r.r_username, "r_domain": r.r_domain, "realm": "",
        "auth_username": r.auth_username, "auth_password": r.auth_password.expose_secret(),
        "auth_ha1": "none", "auth_proxy": r.auth_proxy, "expires": expires, "flags": flags,
        "diff_expires": 0, "timer_expires": timer_expires, "reg_init": 0, "reg_delay": 0,
        "contact_addr": "gw:5060", "socket": ""
    }))
    .unwrap()
}

const ONLINE: u32 = UacFlags::INIT | UacFlags::ONLINE;
const P1: &str = "sip:192.0.2.7:5060";

#[test]
fn an_empty_kamailio_gets_everything_and_an_equal_one_nothing() {
    let desired = vec![want("a", "pw1", P1), want("b", "pw2", P1)];
    let p = plan(&desired, &[], 100);
    assert_eq!(p.add.len(), 2);
    assert_eq!(p.calls(), 2);
    let current: Vec<_> = desired.iter().map(|r| held(r, ONLINE, 600, 700)).collect();
    assert!(plan(&desired, &current, 100).is_empty());
}

#[test]
fn a_changed_password_or_proxy_replaces_the_record() {
    let desired = vec![
        want("a", "new-pw", P1),
        want("b", "pw", "sip:192.0.2.8:5060"),
    ];
    let current = vec![
        held(&want("a", "old-pw", P1), ONLINE, 600, 700),
        held(&want("b", "pw", P1), ONLINE, 600, 700),
    ];
    let p = plan(&desired, &current, 100);
    assert_eq!(p.replace.len(), 2);
    assert!(p.add.is_empty() && p.remove.is_empty());
}

#[test]
fn an_expiry_raised_by_the_pbx_is_kept_but_a_lower_one_is_fixed() {
    let desired = vec![want("a", "pw", P1)];
    // 423 Interval Too Brief made uac_reg ask for 3600: that is the PBX's rule, keep it.
    assert!(plan(&desired, &[held(&desired[0], ONLINE, 3600, 700)], 100).is_empty());
    assert_eq!(
        plan(&desired, &[held(&desired[0], ONLINE, 60, 700)], 100)
            .replace
            .len(),
        1
    );
}

#[test]
fn an_unwanted_registered_record_is_unregistered_then_removed() {
    let gone = want("old", "pw", P1);
    let p = plan(&[], &[held(&gone, ONLINE, 600, 700)], 100);
    assert_eq!(p.unregister, vec!["old".to_owned()]);
    // uac.reg_unregister set expires 0 and sent the REGISTER at t=100: wait for its answer.
    let in_flight = held(&gone, UacFlags::INIT | UacFlags::ONGOING, 0, 100);
    assert!(plan(&[], std::slice::from_ref(&in_flight), 110).is_empty());
    // …but not forever.
    assert_eq!(plan(&[], &[in_flight], 131).remove, vec!["old".to_owned()]);
    // Answered: forget it.
    assert_eq!(
        plan(&[], &[held(&gone, UacFlags::INIT, 0, 100)], 101).remove,
        vec!["old".to_owned()]
    );
    // Never registered (e.g. wrong password): no un-REGISTER needed.
    assert_eq!(
        plan(&[], &[held(&gone, UacFlags::INIT, 600, 130)], 101).remove,
        vec!["old".to_owned()]
    );
}

#[test]
fn a_record_wanted_again_while_unregistering_is_replaced_and_a_disabled_one_enabled() {
    let r = want("a", "pw", P1);
    let p = plan(
        std::slice::from_ref(&r),
        &[held(&r, UacFlags::INIT, 0, 100)],
        101,
    );
    assert_eq!(p.replace.len(), 1);
    let p = plan(
        std::slice::from_ref(&r),
        &[held(&r, UacFlags::INIT | UacFlags::DISABLED, 600, 100)],
        101,
    );
    assert_eq!(p.enable, vec!["a".to_owned()]);
}

/// Applies a plan to a model of Kamailio the way uac_reg would (un-REGISTERs are answered at
/// once).
fn apply_model(kam: &mut BTreeMap<String, UacRecordState>, p: &Plan, now: i64) {
    for id in &p.remove {
        kam.remove(id);
    }
    for id in &p.unregister {
        if let Some(r) = kam.get_mut(id) {
            r.expires = 0;
            r.flags = UacFlags(UacFlags::INIT);
            r.timer_expires = now;
        }
    }
    for r in p.replace.iter().chain(&p.add) {
        kam.insert(r.l_uuid.clone(), held(r, ONLINE, r.expires, now + 600));
    }
    for id in &p.enable {
        if let Some(r) = kam.get_mut(id) {
            r.flags = UacFlags(r.flags.0 & !UacFlags::DISABLED);
        }
    }
}

fn arb_records() -> impl Strategy<Value = Vec<(u8, u8, bool)>> {
    prop::collection::vec((0u8..20, 0u8..3, any::<bool>()), 0..25)
}

proptest! {
    /// Whatever Kamailio holds (missing, extra, changed, disabled, registered or not), two
    /// passes make it equal to the desired set, and a third has nothing to do.
    #[test]
    fn two_passes_converge(desired in arb_records(), current in arb_records()) {
        let mk = |(id, pw, _): &(u8, u8, bool)| want(&format!("h{id}"), &format!("pw{pw}"), P1);
        let mut desired_map = BTreeMap::new();
        for d in &desired {
            desired_map.insert(format!("h{}", d.0), mk(d));
        }
        let desired: Vec<UacRecord> = desired_map.values().cloned().collect();
        let mut kam = BTreeMap::new();
        for c in &current {
            let flags = if c.2 { ONLINE } else { UacFlags::INIT | UacFlags::DISABLED };
            kam.insert(format!("h{}", c.0), held(&mk(c), flags, 600, 700));
        }
        let mut now = 1_000;
        for _ in 0..2 {
            let cur: Vec<_> = kam.values().cloned().collect();
            let p = plan(&desired, &cur, now);
            apply_model(&mut kam, &p, now);
            now += 1;
        }
        let cur: Vec<_> = kam.values().cloned().collect();
        prop_assert!(plan(&desired, &cur, now).is_empty());
        prop_assert_eq!(kam.keys().collect::<Vec<_>>(), desired_map.keys().collect::<Vec<_>>());
        for (id, want) in &desired_map {
            prop_assert!(kam[id].matches(want));
        }
    }
}
