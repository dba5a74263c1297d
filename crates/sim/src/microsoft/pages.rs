//! HTML pages of the simulated Microsoft sign-in: e-mail + password, consent, "need admin
//! approval", errors and form_post. Inputs carry the same `name`/`id` attributes as Microsoft's
//! own page (`loginfmt`/`i0116`, `passwd`/`i0118`, `idSIButton9`) plus labels, so that a browser
//! test can fill them.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

/// Escapes text for HTML content and attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn layout(title: &str, body: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{{font-family:"Segoe UI",Arial,sans-serif;background:#f2f2f2;margin:0}}
main{{max-width:440px;margin:60px auto;background:#fff;padding:44px;box-shadow:0 2px 6px rgba(0,0,0,.2)}}
h1{{font-size:24px;font-weight:600;margin:0 0 16px}}
label{{display:block;margin:12px 0 4px}}
input[type=email],input[type=password],input[type=text]{{width:100%;padding:6px 0;border:0;border-bottom:1px solid #666;font-size:15px}}
.error{{color:#e81123;margin:8px 0}}
.details{{color:#666;font-size:12px;word-break:break-all}}
button,input[type=submit]{{background:#0067b8;color:#fff;border:0;padding:8px 24px;margin-top:20px;font-size:15px;cursor:pointer}}
button.secondary{{background:#ccc;color:#000}}
.brand{{font-weight:600;color:#737373;margin-bottom:16px}}
ul{{padding-left:20px}}
</style></head>
<body><main><div class="brand">Microsoft (Teamline simulator)</div>
{body}
</main></body></html>"#,
        title = esc(title),
        body = body
    )
}

/// The sign-in page (e-mail + password).
pub(crate) fn sign_in(
    action: &str,
    flow: &str,
    login_hint: &str,
    app_name: &str,
    error: Option<&str>,
) -> Response {
    let error_html = error
        .map(|e| {
            format!(
                r#"<div id="passwordError" class="error" role="alert">Your account or password is incorrect.</div><div class="details" id="error-details">{}</div>"#,
                esc(e)
            )
        })
        .unwrap_or_default();
    let body = format!(
        r#"<h1 id="loginHeader">Sign in</h1>
<p>to continue to {app}</p>
<form id="signin-form" method="post" action="{action}">
<input type="hidden" name="flow" value="{flow}">
<label for="i0116">Email, phone, or Skype</label>
<input type="email" id="i0116" name="loginfmt" value="{hint}" autocomplete="username" required>
<label for="i0118">Password</label>
<input type="password" id="i0118" name="passwd" autocomplete="current-password" required>
{error_html}
<input type="submit" id="idSIButton9" value="Sign in">
</form>"#,
        app = esc(app_name),
        action = esc(action),
        flow = esc(flow),
        hint = esc(login_hint),
    );
    Html(layout("Sign in to your account", &body)).into_response()
}

/// The consent screen (`Permissions requested`).
pub(crate) fn consent(
    action: &str,
    flow: &str,
    app_name: &str,
    user: &str,
    permissions: &[String],
    offer_org: bool,
    admin_consent: bool,
) -> Response {
    let items: String = permissions
        .iter()
        .map(|p| format!("<li>{}</li>", esc(p)))
        .collect();
    let org = if offer_org {
        r#"<p><input type="checkbox" id="consent-org" name="consent_org" value="true"><label for="consent-org" style="display:inline">Consent on behalf of your organization</label></p>"#
    } else if admin_consent {
        r#"<input type="hidden" name="consent_org" value="true"><p>If you accept, this app will get access to the specified resources for all users in your organization. No one else will be prompted to review these permissions.</p>"#
    } else {
        ""
    };
    let body = format!(
        r#"<h1 id="consentHeader">Permissions requested{review}</h1>
<p id="consent-user">{user}</p>
<p><strong id="consent-app">{app}</strong> needs permission to:</p>
<ul id="consent-permissions">{items}</ul>
<form id="consent-form" method="post" action="{action}">
<input type="hidden" name="flow" value="{flow}">
{org}
<button type="submit" id="idBtn_Back" name="decision" value="cancel" class="secondary">Cancel</button>
<button type="submit" id="idSIButton9" name="decision" value="accept">Accept</button>
</form>"#,
        review = if admin_consent {
            " — Review for your organization"
        } else {
            ""
        },
        user = esc(user),
        app = esc(app_name),
        action = esc(action),
        flow = esc(flow),
    );
    Html(layout("Permissions requested", &body)).into_response()
}

/// "Need admin approval": a non-admin cannot grant what the app asks for.
pub(crate) fn need_admin_approval(
    app_name: &str,
    user: &str,
    details: &str,
    return_url: &str,
) -> Response {
    let body = format!(
        r#"<h1 id="needAdminApprovalHeader">Need admin approval</h1>
<p id="consent-user">{user}</p>
<p><strong>{app}</strong> needs permission to access resources in your organization that only an admin can grant. Please ask an admin to grant permission to this app before you can use it.</p>
<div class="details" id="error-details">{details}</div>
<p><a id="return-to-app" href="{ret}">Return to the application without granting consent</a></p>"#,
        user = esc(user),
        app = esc(app_name),
        details = esc(details),
        ret = esc(return_url),
    );
    (StatusCode::OK, Html(layout("Need admin approval", &body))).into_response()
}

/// An error page (for errors that must not be redirected to an unverified redirect URI).
pub(crate) fn error(status: StatusCode, description: &str) -> Response {
    let body = format!(
        r#"<h1 id="errorHeader">Sorry, but we’re having trouble signing you in.</h1>
<div class="error" id="error-code" role="alert">{d}</div>"#,
        d = esc(description)
    );
    (status, Html(layout("Sign in error", &body))).into_response()
}

/// `response_mode=form_post`: a page that posts the parameters to the redirect URI.
pub(crate) fn form_post(redirect_uri: &str, params: &[(String, String)]) -> Response {
    let inputs: String = params
        .iter()
        .map(|(k, v)| {
            format!(
                r#"<input type="hidden" name="{}" value="{}">"#,
                esc(k),
                esc(v)
            )
        })
        .collect();
    let html = format!(
        r#"<!DOCTYPE html><html><head><title>Working...</title></head>
<body onload="document.forms[0].submit()"><form method="POST" name="hiddenform" action="{}">{inputs}
<noscript><p>Script is disabled. Click Submit to continue.</p><input type="submit" value="Submit"></noscript></form></body></html>"#,
        esc(redirect_uri)
    );
    Html(html).into_response()
}

/// Signed out.
pub(crate) fn signed_out() -> Response {
    Html(layout(
        "Sign out",
        r#"<h1 id="signedOutHeader">You signed out of your account</h1><p>It's a good idea to close all browser windows.</p>"#,
    ))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
