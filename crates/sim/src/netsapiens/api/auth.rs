//! Who is calling: an API key or an OAuth access token from `Authorization: Bearer`, as a
//! [`Principal`] extractor that every endpoint but `/version` and `/tokens` requires.

use std::time::Instant;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};

use super::{ApiError, ApiResult};
use crate::netsapiens::NetSapiensSim;
use crate::netsapiens::state::{Access, ApiKey};

/// The caller, identified from `Authorization: Bearer <API key or access token>`.
#[derive(Debug, Clone)]
pub struct Principal {
    pub(super) access: Access,
    pub(super) readonly: bool,
    /// The domain `~` stands for.
    pub(super) home_domain: Option<String>,
    pub(super) api_key: Option<ApiKey>,
}

impl Principal {
    pub(super) fn ensure_can_write(&self) -> ApiResult<()> {
        if self.readonly {
            return Err(ApiError::forbidden("This API key is read-only"));
        }
        Ok(())
    }
}

impl FromRequestParts<NetSapiensSim> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, sim: &NetSapiensSim) -> ApiResult<Self> {
        let token = bearer(&parts.headers);
        let mut st = sim.lock();
        let Some(token) = token else {
            st.stats.unauthorized += 1;
            return Err(ApiError::unauthorized("Authentication Required"));
        };
        if let Some(key) = st.api_keys.get(token) {
            return Ok(Principal {
                access: key.access.clone(),
                readonly: key.readonly,
                home_domain: key.access.home_domain().map(str::to_owned),
                api_key: Some(key.clone()),
            });
        }
        match st.access_tokens.get(token) {
            Some(grant) if grant.expires_at > Instant::now() => Ok(Principal {
                access: grant.access.clone(),
                readonly: false,
                home_domain: Some(grant.domain.clone()),
                api_key: None,
            }),
            Some(_) => {
                st.stats.unauthorized += 1;
                Err(ApiError::unauthorized("Access token has expired"))
            }
            None => {
                st.stats.unauthorized += 1;
                Err(ApiError::unauthorized("Invalid API key or access token"))
            }
        }
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| token.trim())
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn bearer_needs_the_scheme_and_a_token() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), None);
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc"),
        );
        assert_eq!(bearer(&h), Some("abc"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&h), None);
    }
}
