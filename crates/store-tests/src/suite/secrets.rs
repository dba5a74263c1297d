//! Secrets at rest: PBX API credentials and SIP passwords are encrypted, write-only, scoped to
//! their enterprise, and survive a key rotation.

use crate::fixtures::*;
use crate::{Harness, keyring};
use std::sync::Arc;
use teamline_domain::device::{DeviceAuthId, SipPassword};
use teamline_domain::sip::Extension;
use teamline_store::*;

pub async fn pbx_location_secrets_are_encrypted_and_write_only(h: Arc<Harness>) {
    let s = &h.store;
    let t = tenant(s, "Contoso").await;
    let e = t.enterprise.id;
    assert_eq!(
        api_key_of(&s.pbx_location_auth(e, t.location.id).await.unwrap()),
        API_KEY
    );
    assert!(!format!("{:?}", t.location).contains(API_KEY));

    // Editing without a new key keeps the stored one.
    let mut form = location_form();
    form.api_key = String::new();
    form.voicemail_code = "*97".into();
    let updated = s
        .update_pbx_location(
            e,
            t.location.id,
            &form.validate(true).unwrap(),
            &audit("pbx_location.update"),
        )
        .await
        .unwrap();
    assert_eq!(updated.settings.voicemail_code.as_str(), "*97");
    assert_eq!(
        api_key_of(&s.pbx_location_auth(e, t.location.id).await.unwrap()),
        API_KEY
    );

    // A device handle's SIP password too.
    let password = SipPassword::parse("Zq7wK2mP9xR4").unwrap();
    let handle = s
        .upsert_device_handle(
            &NewDeviceHandle {
                enterprise_id: e,
                pbx_location_id: t.location.id,
                extension: Extension::parse("1000").unwrap(),
                auth_id: DeviceAuthId::parse("1000tm").unwrap(),
                password: password.clone(),
                created_by_teamline: false,
            },
            &audit("device.store"),
        )
        .await
        .unwrap();
    assert_eq!(
        s.device_handle_password(e, handle.id).await.unwrap(),
        password
    );

    let raw = h.raw_dump().await;
    for secret in [API_KEY, "Zq7wK2mP9xR4"] {
        assert!(
            !raw.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} found in clear in the {} database",
            s.backend()
        );
    }
    // The audit log says the location changed without recording any secret.
    let events = s.list_audit(Some(e), 50).await.unwrap();
    assert!(
        events
            .iter()
            .all(|ev| !ev.after.clone().unwrap_or_default().contains(API_KEY))
    );

    // Another enterprise cannot read this location or its secrets.
    let other = tenant(s, "Fabrikam").await;
    assert!(matches!(
        s.pbx_location_auth(other.enterprise.id, t.location.id)
            .await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        s.get_pbx_location(other.enterprise.id, t.location.id).await,
        Err(StoreError::NotFound { .. })
    ));
}

pub async fn stored_secrets_stay_bound_to_their_endpoint(h: Arc<Harness>) {
    let s = &h.store;
    let t = tenant(s, "Contoso").await;
    let e = t.enterprise.id;
    let saved_for = t.location.settings.credential_binding();
    assert_eq!(
        s.pbx_location_auth(e, t.location.id)
            .await
            .unwrap()
            .bound_to,
        saved_for
    );

    // Another URL, domain or method with the key left blank: refused, naming the key field,
    // and nothing changed.
    for (field, value) in [
        ("api_base_url", "https://collector.example/ns-api/v2"),
        ("sip_domain", "fabrikam"),
    ] {
        let mut form = location_form();
        form.api_key = String::new();
        match field {
            "api_base_url" => form.api_base_url = value.into(),
            _ => form.sip_domain = value.into(),
        }
        let err = s
            .update_pbx_location(
                e,
                t.location.id,
                &form.validate(true).unwrap(),
                &audit("pbx_location.update"),
            )
            .await
            .unwrap_err();
        match err {
            StoreError::Conflict { field, message } => {
                assert_eq!(field, "API Key");
                assert!(message.contains("required again"), "{message}");
            }
            other => panic!("{field}: {other:?}"),
        }
        assert_eq!(
            s.get_pbx_location(e, t.location.id).await.unwrap(),
            t.location
        );
    }

    // With the key typed again, the location moves and the key is bound to the new URL.
    let mut form = location_form();
    form.api_base_url = "https://pbx2.example/ns-api/v2".into();
    form.api_key = "nsk_for_pbx2".into();
    let moved = s
        .update_pbx_location(
            e,
            t.location.id,
            &form.validate(true).unwrap(),
            &audit("pbx_location.update"),
        )
        .await
        .unwrap();
    let bound = s.pbx_location_auth(e, t.location.id).await.unwrap();
    assert_eq!(api_key_of(&bound), "nsk_for_pbx2");
    assert_eq!(bound.bound_to, moved.settings.credential_binding());
    assert_eq!(
        bound.bound_to.api_base_url.as_str(),
        "https://pbx2.example/ns-api/v2"
    );
}

pub async fn a_sip_domain_belongs_to_one_enterprise(h: Arc<Harness>) {
    let s = &h.store;
    let contoso = tenant(s, "Contoso").await;
    let fabrikam = tenant(s, "Fabrikam").await;
    assert_eq!(fabrikam.location.settings.sip_domain.as_str(), "fabrikam");
    let refused = |err: StoreError| match err {
        StoreError::Conflict { field, message } => {
            assert_eq!(field, "SIP Domain");
            message
        }
        other => panic!("{other:?}"),
    };

    // Contoso may not move its location onto Fabrikam's domain, even with a key that reaches
    // it, nor add one there; nothing is said about whose domain it is.
    let mut onto = location_form_for("Fabrikam");
    onto.api_key = "nsr_reseller_wide".into();
    let message = refused(
        s.update_pbx_location(
            contoso.enterprise.id,
            contoso.location.id,
            &onto.validate(true).unwrap(),
            &audit("pbx_location.update"),
        )
        .await
        .unwrap_err(),
    );
    assert!(message.contains("another enterprise"), "{message}");
    assert!(!message.contains("Fabrikam"), "{message}");
    onto.name = "Second PBX".into();
    refused(
        s.create_pbx_location(
            contoso.enterprise.id,
            &onto.validate(false).unwrap(),
            &audit("pbx_location.create"),
        )
        .await
        .unwrap_err(),
    );
    // A second location of Contoso on its own domain is pointed at the first.
    let mut twin = location_form();
    twin.name = "Second PBX".into();
    let message = refused(
        s.create_pbx_location(
            contoso.enterprise.id,
            &twin.validate(false).unwrap(),
            &audit("pbx_location.create"),
        )
        .await
        .unwrap_err(),
    );
    assert!(message.contains("your PBX location PBX"), "{message}");
    // Saving a location on its own domain is fine.
    let mut same = location_form();
    same.api_key = String::new();
    same.voicemail_code = "*98".into();
    s.update_pbx_location(
        contoso.enterprise.id,
        contoso.location.id,
        &same.validate(true).unwrap(),
        &audit("pbx_location.update"),
    )
    .await
    .unwrap();
    assert_eq!(
        s.list_pbx_locations(contoso.enterprise.id)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        s.get_pbx_location(contoso.enterprise.id, contoso.location.id)
            .await
            .unwrap()
            .settings
            .sip_domain
            .as_str(),
        "contoso"
    );
}

/// A base32 TOTP secret as an authenticator app would be given it.
const TOTP: &str = "JBSWY3DPEHPK3PXP";

pub async fn key_rotation_reencrypts_secrets(h: Arc<Harness>) {
    // Write with key 1, then rotate to key 2 keeping 1 as previous.
    let old = h.reopen(keyring(1, &[])).await;
    let t = tenant(&old, "Contoso").await;
    // An operator enrolled in two-factor: the platform's own secret, not an enterprise's.
    let operator = old
        .create_account(
            &NewAccount {
                email: teamline_domain::text::Email::parse("e", "ops@teamline.example").unwrap(),
                role: teamline_domain::reseller::AccountRole::PlatformOperator,
                reseller_id: None,
                password_hash: "$argon2id$v=19$x".into(),
            },
            &audit("account.create"),
        )
        .await
        .unwrap();
    old.enable_two_factor(operator.id, TOTP, &[], &audit("account.two_factor_on"))
        .await
        .unwrap();
    let rotated = h.reopen(keyring(2, &[1])).await;
    assert_eq!(
        api_key_of(
            &rotated
                .pbx_location_auth(t.enterprise.id, t.location.id)
                .await
                .unwrap()
        ),
        API_KEY
    );
    assert_eq!(rotated.reencrypt_secrets().await.unwrap(), 2);
    assert_eq!(
        rotated.reencrypt_secrets().await.unwrap(),
        0,
        "nothing left to rewrite"
    );
    let new_only = h.reopen(keyring(2, &[])).await;
    assert_eq!(
        api_key_of(
            &new_only
                .pbx_location_auth(t.enterprise.id, t.location.id)
                .await
                .unwrap()
        ),
        API_KEY
    );
    assert_eq!(
        new_only
            .two_factor_secret(operator.id)
            .await
            .unwrap()
            .as_deref(),
        Some(TOTP),
        "the operator's two-factor secret survives the old key's retirement"
    );
    // Without the right key the error says what to do.
    let wrong = h.reopen(keyring(3, &[])).await;
    let err = wrong
        .pbx_location_auth(t.enterprise.id, t.location.id)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("TEAMLINE_PREVIOUS_ENCRYPTION_KEYS"),
        "{err}"
    );
}
