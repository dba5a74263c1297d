//! Web sessions.

use crate::Harness;
use std::sync::Arc;
use teamline_store::*;

pub async fn sessions_expire(h: Arc<Harness>) {
    let s = &h.store;
    let now = h.clock.now_ms();
    s.save_session(&SessionRecord {
        id: "abc".into(),
        data: "{\"u\":1}".into(),
        expiry_ms: now + 1_000,
    })
    .await
    .unwrap();
    s.save_session(&SessionRecord {
        id: "abc".into(),
        data: "{\"u\":2}".into(),
        expiry_ms: now + 2_000,
    })
    .await
    .unwrap();
    assert_eq!(
        s.load_session("abc").await.unwrap().unwrap().data,
        "{\"u\":2}"
    );
    h.clock.advance_ms(2_000);
    assert!(s.load_session("abc").await.unwrap().is_none());
    assert_eq!(s.delete_expired_sessions().await.unwrap(), 1);
    s.save_session(&SessionRecord {
        id: "def".into(),
        data: "{}".into(),
        expiry_ms: now + 10_000,
    })
    .await
    .unwrap();
    s.delete_session("def").await.unwrap();
    assert!(s.load_session("def").await.unwrap().is_none());
}

pub async fn sealed_values_open_only_for_their_purpose(h: Arc<Harness>) {
    let s = &h.store;
    let sealed = s.seal("web.sign_in", "state=abc").unwrap();
    assert!(
        !sealed.windows(9).any(|w| w == b"state=abc"),
        "not in clear"
    );
    assert_eq!(s.unseal("web.sign_in", &sealed).unwrap(), "state=abc");
    // Another purpose, or one changed byte, does not open.
    assert!(s.unseal("web.consent", &sealed).is_err());
    let mut altered = sealed.clone();
    let last = altered.len() - 1;
    altered[last] ^= 1;
    assert!(s.unseal("web.sign_in", &altered).is_err());
    // Sealing writes nothing: the value lives with whoever keeps it.
    assert_eq!(s.delete_expired_sessions().await.unwrap(), 0);
}
