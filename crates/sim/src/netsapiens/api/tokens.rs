//! OAuth: `POST /tokens` (password and single-use refresh-token grants) and `GET /apikeys/~`
//! (the calling API key).

use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use rand::RngExt;
use serde_json::{Map, Value, json};

use super::auth::Principal;
use super::{ApiError, ApiResult, parse_object, text_field};
use crate::netsapiens::NetSapiensSim;
use crate::netsapiens::json;
use crate::netsapiens::state::Grant;

fn random_token() -> String {
    format!("{:032x}", rand::rng().random::<u128>())
}

/// `POST /ns-api/v2/tokens`: OAuth password and refresh-token grants (JSON body; a
/// form-encoded body is accepted too, like the v1 `oauth2/token` endpoint).
pub(super) async fn tokens(
    State(sim): State<NetSapiensSim>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let form: Map<String, Value> = if is_form {
        form_urlencoded_parse(&body)
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect()
    } else {
        parse_object(&body)?
    };
    let field = |k: &str| text_field(&form, k).unwrap_or_default();
    let grant_type = field("grant_type");
    let client_id = field("client_id");
    let mut st = sim.lock();
    let client_ok = st
        .oauth_clients
        .get(&client_id)
        .is_some_and(|secret| *secret == field("client_secret"));
    let now = Instant::now();
    let (username, mut grant) = match grant_type.as_str() {
        "password" => {
            if !client_ok {
                st.stats.unauthorized += 1;
                return Err(ApiError::unauthorized("Invalid client_id or client_secret"));
            }
            let username = field("username");
            let login = st
                .logins
                .get(&username)
                .filter(|l| l.password == field("password"))
                .cloned();
            let Some(login) = login else {
                st.stats.unauthorized += 1;
                return Err(ApiError::unauthorized("Invalid username or password"));
            };
            st.stats.password_grants += 1;
            let grant = Grant {
                username: username.clone(),
                client_id: client_id.clone(),
                access: login.access,
                domain: login.domain,
                user: login.user,
                expires_at: now,
            };
            (username, grant)
        }
        "refresh_token" => {
            if !client_ok {
                st.stats.unauthorized += 1;
                return Err(ApiError::unauthorized("Invalid client_id or client_secret"));
            }
            let refresh = field("refresh_token");
            // Refresh tokens are single use: the answer carries a new one.
            let grant = st
                .refresh_tokens
                .remove(&refresh)
                .filter(|g| g.expires_at > now && g.client_id == client_id);
            let Some(grant) = grant else {
                st.stats.unauthorized += 1;
                return Err(ApiError::unauthorized("Invalid or expired refresh token"));
            };
            st.stats.refresh_grants += 1;
            (grant.username.clone(), grant)
        }
        "" => return Err(ApiError::bad_request("Missing required field grant_type")),
        other => {
            return Err(ApiError::bad_request(format!(
                "Unsupported grant_type {other}"
            )));
        }
    };
    let lifetime = st.token_lifetime;
    let access_token = random_token();
    let refresh_token = random_token();
    grant.expires_at = now + lifetime;
    st.access_tokens.insert(access_token.clone(), grant.clone());
    let mut refresh_grant = grant.clone();
    refresh_grant.expires_at = now + st.refresh_token_lifetime;
    st.refresh_tokens
        .insert(refresh_token.clone(), refresh_grant);
    Ok(Json(json!({
        "username": username,
        "user": grant.user,
        "territory": grant.access.reseller(),
        "domain": grant.domain,
        "uid": format!("{}@{}", grant.user, grant.domain),
        "login": username,
        "scope": grant.access.user_scope(),
        "display_name": username,
        "access_token": access_token,
        "expires_in": lifetime.as_secs(),
        "token_type": "Bearer",
        "refresh_token": refresh_token,
        "client_id": client_id,
        "apiversion": "44.4.0",
    })))
}

/// Minimal `application/x-www-form-urlencoded` decoding (keys and values are short ASCII here).
fn form_urlencoded_parse(body: &[u8]) -> Vec<(String, String)> {
    fn decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                    match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                        Some(b) => {
                            out.push(b);
                            i += 2;
                        }
                        None => out.push(b'%'),
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(pair), String::new()),
        })
        .collect()
}

pub(super) async fn my_api_key(who: Principal) -> ApiResult<Json<Value>> {
    match &who.api_key {
        Some(key) => Ok(Json(json::api_key(key))),
        None => Err(ApiError::not_found(
            "This request was not made with an API key",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_bodies_decode() {
        let pairs = form_urlencoded_parse(
            b"grant_type=password&username=teamline%40northwind&password=a+b",
        );
        assert_eq!(
            pairs,
            vec![
                ("grant_type".to_owned(), "password".to_owned()),
                ("username".to_owned(), "teamline@northwind".to_owned()),
                ("password".to_owned(), "a b".to_owned()),
            ]
        );
    }
}
