//! Who is calling the API: a bearer token, looked up by its SHA-256, refused when unknown,
//! revoked or expired, held to its rate limit, and — when read-only — to reading.

use super::problem::Problem;
use crate::AppState;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use teamline_domain::audit::Actor;
use teamline_domain::enterprise::Enterprise;
use teamline_domain::ids::{ApiTokenId, EnterpriseId};
use teamline_store::ApiToken;

/// Every token starts with this, so a leaked one is recognisable (e.g. by secret scanners).
pub const TOKEN_PREFIX: &str = "tl_";
/// How many characters of a token lists show.
const SHOWN_PREFIX_LEN: usize = 11;
/// Last use is written at most this often per token: it is for admins, not accounting.
const TOUCH_EVERY_MS: i64 = 60_000;

/// A new token: the value shown once to the admin, and what is stored of it.
pub struct MintedToken {
    pub token: String,
    pub prefix: String,
    pub secret_sha256: String,
}

/// 32 random bytes: guessing one is hopeless, so a plain SHA-256 is enough at rest.
pub fn mint() -> MintedToken {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    let token = format!("{TOKEN_PREFIX}{}", hex::encode(bytes));
    MintedToken {
        prefix: token[..SHOWN_PREFIX_LEN].to_owned(),
        secret_sha256: sha256(&token),
        token,
    }
}

pub fn sha256(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

/// One limiter per token, made with the token's quota (a changed quota gets a new limiter).
#[derive(Default)]
pub struct RateLimits {
    limiters: Mutex<HashMap<ApiTokenId, (u32, Arc<DefaultDirectRateLimiter>)>>,
}

impl RateLimits {
    /// `Err(seconds to wait)` when the token used up its quota.
    fn check(&self, token: &ApiToken) -> Result<(), u64> {
        let per_minute = NonZeroU32::new(token.rate_per_minute).unwrap_or(NonZeroU32::MIN);
        let limiter = {
            let mut map = self
                .limiters
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let entry = map.entry(token.id).or_insert_with(|| {
                (
                    per_minute.get(),
                    Arc::new(RateLimiter::direct(Quota::per_minute(per_minute))),
                )
            });
            if entry.0 != per_minute.get() {
                *entry = (
                    per_minute.get(),
                    Arc::new(RateLimiter::direct(Quota::per_minute(per_minute))),
                );
            }
            entry.1.clone()
        };
        limiter.check().map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            // Round up: a client that waits the whole seconds is let through.
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        })
    }
}

/// The token a request came with, once it passed [`authenticate`].
#[derive(Debug, Clone)]
pub struct Caller {
    pub token: ApiToken,
}

impl Caller {
    /// The audit log names the token.
    pub fn actor(&self) -> Actor {
        Actor::ApiToken(self.token.name.clone())
    }

    /// The enterprise `id` if this token reaches it; any other answers "not found", so a token
    /// cannot learn which ids exist elsewhere.
    pub async fn enterprise(&self, state: &AppState, id: i64) -> Result<Enterprise, Problem> {
        if self
            .token
            .enterprise_id
            .is_some_and(|own| own != EnterpriseId(id))
        {
            return Err(Problem::not_found());
        }
        match state.store.get_enterprise(EnterpriseId(id)).await {
            Ok(e) if self.token.reaches(e.reseller_id, e.id) => Ok(e),
            Ok(_) => Err(Problem::not_found()),
            Err(e) => Err(e.into()),
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Problem> {
        parts.extensions.get::<Caller>().cloned().ok_or_else(|| {
            Problem::new(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "This request needs an API token.",
            )
        })
    }
}

fn unauthorized(detail: &str) -> Response {
    let mut response =
        Problem::new(StatusCode::UNAUTHORIZED, "Unauthorized", detail).into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"teamline\""),
    );
    response
}

/// Authenticates every API request except the OpenAPI document.
pub async fn authenticate(
    State((state, limits)): State<(AppState, Arc<RateLimits>)>,
    mut request: Request,
    next: Next,
) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    let Some(presented) = presented else {
        return unauthorized(
            "Send an API token as `Authorization: Bearer tl_…`. Create one in the Enterprise portal under API tokens.",
        );
    };
    let token = match state.store.api_token_by_hash(&sha256(presented)).await {
        Ok(Some(t)) => t,
        Ok(None) => {
            return unauthorized(
                "This API token is not known: check that it was copied whole, or create a new one.",
            );
        }
        Err(e) => return Problem::from(e).into_response(),
    };
    let now = state.store.clock().now_ms();
    if token.revoked_ms.is_some() {
        return unauthorized(&format!(
            "The API token \"{}\" was revoked: create a new one.",
            token.name
        ));
    }
    if !token.is_usable(now) {
        return unauthorized(&format!(
            "The API token \"{}\" has expired: create a new one.",
            token.name
        ));
    }
    if let Err(wait) = limits.check(&token) {
        let mut p = Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests",
            format!(
                "The API token \"{}\" may send {} requests a minute; wait {wait} s (Retry-After) and send the request again.",
                token.name, token.rate_per_minute
            ),
        );
        p.retry_after_secs = Some(wait.max(1));
        return p.into_response();
    }
    let writes = !matches!(*request.method(), Method::GET | Method::HEAD);
    if writes && token.read_only {
        return Problem::new(
            StatusCode::FORBIDDEN,
            "Read-only token",
            format!(
                "The API token \"{}\" is read-only: it cannot change anything. Use a read-write token.",
                token.name
            ),
        )
        .into_response();
    }
    if token
        .last_used_ms
        .is_none_or(|last| now - last >= TOUCH_EVERY_MS)
        && let Err(e) = state.store.touch_api_token(token.id).await
    {
        tracing::warn!(error = %e, token = %token.name, "could not record an API token's last use");
    }
    request.extensions_mut().insert(Caller { token });
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_are_random_and_stored_only_as_their_hash() {
        let a = mint();
        let b = mint();
        assert_ne!(a.token, b.token);
        assert!(a.token.starts_with(TOKEN_PREFIX));
        assert_eq!(a.token.len(), TOKEN_PREFIX.len() + 64);
        assert!(a.token.starts_with(&a.prefix));
        assert_eq!(a.secret_sha256, sha256(&a.token));
        assert!(!a.secret_sha256.contains(&a.token[TOKEN_PREFIX.len()..]));
    }
}
