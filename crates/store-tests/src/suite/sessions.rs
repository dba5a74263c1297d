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
