//! Raw reads for the doctor: the status and Microsoft's own error text, not Teamline's
//! interpretation of it.

use reqwest::Method;

use crate::error::MicrosoftError;
use crate::tenant::{Req, TenantCore};
use crate::tokens::Audience;
use crate::{graph, teams_admin};

/// What a surface answered.
pub(super) struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
    /// `code: message` as the surface wrote it, for a failed answer.
    pub error: Option<String>,
}

impl Answer {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

fn text(code: &str, message: &str) -> String {
    match (code.is_empty(), message.is_empty()) {
        (true, _) => message.to_owned(),
        (false, true) => code.to_owned(),
        (false, false) => format!("{code}: {message}"),
    }
}

/// A GET on Graph (`path_and_query` after `/v1.0`) with the app token.
pub(super) async fn graph_get(
    core: &TenantCore,
    path_and_query: &str,
    what: &str,
) -> Result<Answer, MicrosoftError> {
    graph_send(core, &Req::get(core.graph_url(path_and_query), what)).await
}

/// A POST on Graph (`path` after `/v1.0`) with the app token, sent once.
pub(super) async fn graph_post(
    core: &TenantCore,
    path: &str,
    body: &serde_json::Value,
    what: &str,
) -> Result<Answer, MicrosoftError> {
    graph_send(core, &Req::post(core.graph_url(path), body, what)).await
}

async fn graph_send(core: &TenantCore, req: &Req<'_>) -> Result<Answer, MicrosoftError> {
    let reply = core.send(req).await?;
    let error = (!reply.status.is_success()).then(|| {
        let e = graph::read_error(&reply);
        text(&e.code, &e.message)
    });
    Ok(Answer {
        status: reply.status.as_u16(),
        body: reply.body,
        error,
    })
}

/// A call on the Teams admin REST surface (`path` after the host) with its app token.
pub(super) async fn admin_call(
    core: &TenantCore,
    method: Method,
    path: &str,
    body: Option<&serde_json::Value>,
    what: &str,
) -> Result<Answer, MicrosoftError> {
    let req = Req {
        idempotent: method != Method::POST,
        method,
        url: format!("{}{path}", crate::odata::trim_base(&core.teams_admin_base)),
        audience: Audience::TeamsAdmin,
        body,
        headers: &[("x-authz-scope", "tenant")],
        what,
    };
    let reply = core.send(&req).await?;
    let error = (!reply.status.is_success()).then(|| {
        let e = teams_admin::read_error(&reply);
        text(&e.code, &e.message)
    });
    Ok(Answer {
        status: reply.status.as_u16(),
        body: reply.body,
        error,
    })
}
