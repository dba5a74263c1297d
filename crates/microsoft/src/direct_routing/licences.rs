//! The licences side of Direct Routing: which subscriptions the tenant has (a spare licence
//! for the activation user), and the activation user itself — a user whose UPN is in the SBC
//! subdomain and who holds a Teams licence, which Microsoft requires before it routes calls
//! for that subdomain.

use serde::Deserialize;
use serde_json::json;

use super::DirectRouting;
use super::types::{LicensedUserSpec, OrganizationInfo, SetupChange, SubscribedSku};
use crate::error::MicrosoftError;
use crate::odata::segment;
use crate::tenant::Req;

#[derive(Deserialize)]
struct SkusWire {
    #[serde(default)]
    value: Vec<SkuWire>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SkuWire {
    sku_id: String,
    #[serde(default)]
    sku_part_number: String,
    #[serde(default)]
    capability_status: String,
    #[serde(default)]
    applies_to: String,
    #[serde(default)]
    consumed_units: i64,
    #[serde(default)]
    prepaid_units: UnitsWire,
    #[serde(default)]
    service_plans: Vec<PlanWire>,
}

#[derive(Deserialize, Default)]
struct UnitsWire {
    #[serde(default)]
    enabled: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PlanWire {
    service_plan_id: String,
}

#[derive(Deserialize)]
struct OrganizationsWire {
    #[serde(default)]
    value: Vec<OrganizationWire>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrganizationWire {
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    default_usage_location: Option<String>,
    #[serde(default)]
    country_letter_code: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserWire {
    id: String,
    #[serde(default)]
    usage_location: Option<String>,
    #[serde(default)]
    assigned_licenses: Vec<LicenceWire>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LicenceWire {
    sku_id: String,
}

/// A password for an account nobody signs in to: long, random, and of every character class
/// Entra's password policy asks for.
fn throwaway_password() -> String {
    let mut bytes = [0u8; 24];
    rand::fill(&mut bytes[..]);
    let body: String = bytes
        .iter()
        .map(|b| {
            char::from(
                b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"[usize::from(*b) % 57],
            )
        })
        .collect();
    format!("{body}-7aZ")
}

impl DirectRouting {
    pub(super) async fn list_subscribed_skus(&self) -> Result<Vec<SubscribedSku>, MicrosoftError> {
        let what = "read the tenant's licences (subscribedSkus)";
        let reply = self
            .core
            .send(&Req::get(self.core.graph_url("/subscribedSkus"), what))
            .await?;
        if !reply.status.is_success() {
            return Err(self.core.error_from(&reply, what));
        }
        let wire: SkusWire = self.core.json(&reply, what)?;
        Ok(wire
            .value
            .into_iter()
            .map(|s| SubscribedSku {
                sku_id: s.sku_id,
                part_number: s.sku_part_number,
                capability_status: s.capability_status,
                applies_to: s.applies_to,
                enabled_units: s.prepaid_units.enabled,
                consumed_units: s.consumed_units,
                service_plans: s
                    .service_plans
                    .into_iter()
                    .map(|p| p.service_plan_id)
                    .collect(),
            })
            .collect())
    }

    /// The tenant's one organization object (a collection of one); an empty collection reads
    /// as an organization with no country.
    pub(super) async fn read_organization(&self) -> Result<OrganizationInfo, MicrosoftError> {
        let what = "read the tenant's organization (its country)";
        let url = self.core.graph_url(
            "/organization?$select=id,displayName,countryLetterCode,defaultUsageLocation",
        );
        let reply = self.core.send(&Req::get(url, what)).await?;
        if !reply.status.is_success() {
            return Err(self.core.error_from(&reply, what));
        }
        let wire: OrganizationsWire = self.core.json(&reply, what)?;
        Ok(wire
            .value
            .into_iter()
            .next()
            .map(|o| OrganizationInfo {
                display_name: o.display_name.unwrap_or_default(),
                default_usage_location: o.default_usage_location,
                country_letter_code: o.country_letter_code,
            })
            .unwrap_or_default())
    }

    async fn read_user(&self, upn: &str, what: &str) -> Result<Option<UserWire>, MicrosoftError> {
        let url = self.core.graph_url(&format!(
            "/users/{}?$select=id,userPrincipalName,usageLocation,assignedLicenses",
            segment(upn)
        ));
        let reply = self.core.send(&Req::get(url, what)).await?;
        if reply.status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !reply.status.is_success() {
            return Err(self.core.error_from(&reply, what));
        }
        Ok(Some(self.core.json(&reply, what)?))
    }

    pub(super) async fn licences_of(
        &self,
        upn: &str,
    ) -> Result<Option<Vec<String>>, MicrosoftError> {
        let what = format!("read the licences of {upn}");
        Ok(self
            .read_user(upn, &what)
            .await?
            .map(|u| u.assigned_licenses.into_iter().map(|l| l.sku_id).collect()))
    }

    pub(super) async fn licensed_user(
        &self,
        spec: &LicensedUserSpec,
    ) -> Result<SetupChange, MicrosoftError> {
        let upn = &spec.upn;
        let what = format!("create the user {upn}");
        let (user, mut change) = match self.read_user(upn, &what).await? {
            Some(u) => (u, SetupChange::Unchanged),
            None => {
                let nickname: String = upn
                    .split('@')
                    .next()
                    .unwrap_or("activation")
                    .chars()
                    .filter(char::is_ascii_alphanumeric)
                    .collect();
                let body = json!({
                    "accountEnabled": true,
                    "displayName": spec.display_name,
                    "mailNickname": nickname,
                    "userPrincipalName": upn,
                    "usageLocation": spec.usage_location,
                    "passwordProfile": {
                        "forceChangePasswordNextSignIn": false,
                        "password": throwaway_password(),
                    },
                });
                let reply = self
                    .core
                    .send(&Req::post(self.core.graph_url("/users"), &body, &what))
                    .await?;
                if !reply.status.is_success() {
                    return Err(self.core.error_from(&reply, &what));
                }
                (
                    self.core.json::<UserWire>(&reply, &what)?,
                    SetupChange::Created,
                )
            }
        };
        if user
            .assigned_licenses
            .iter()
            .any(|l| l.sku_id.eq_ignore_ascii_case(&spec.sku_id))
        {
            return Ok(change);
        }
        let what = format!("license the user {upn}");
        let url = self
            .core
            .graph_url(&format!("/users/{}", segment(&user.id)));
        // Microsoft refuses a licence to a user without a usage location.
        if user.usage_location.as_deref().is_none_or(str::is_empty) {
            let body = json!({ "usageLocation": spec.usage_location });
            let mut req = Req::post(url.clone(), &body, &what);
            req.method = reqwest::Method::PATCH;
            req.idempotent = true;
            let reply = self.core.send(&req).await?;
            if !reply.status.is_success() {
                return Err(self.core.error_from(&reply, &what));
            }
        }
        let body = json!({
            "addLicenses": [{ "skuId": spec.sku_id, "disabledPlans": [] }],
            "removeLicenses": [],
        });
        let mut req = Req::post(format!("{url}/assignLicense"), &body, &what);
        req.idempotent = true;
        let reply = self.core.send(&req).await?;
        if !reply.status.is_success() {
            return Err(self.core.error_from(&reply, &what));
        }
        if change == SetupChange::Unchanged {
            change = SetupChange::Updated;
        }
        Ok(change)
    }
}
