//! `POST /auth/token`: the OAuth 2.0 token endpoint (RFC 6749 §3.2).
//!
//! Standard OAuth clients send form-encoded requests and expect the RFC 6749 answers, not the
//! shop's JSON and problem details: `grant_type=password` (§4.3, the resource owner's username
//! and password) and `grant_type=refresh_token` (§6). Both run the very functions of the JSON
//! `/auth/login` and `/auth/refresh` ([`crate::sessions`]), so the login lockout, its metrics,
//! refresh rotation and reuse detection are the same whichever door a client uses.
//!
//! Clients are public (token endpoint authentication `none`): `client_id` is optional, names
//! the application in the tokens it gets (`client_id` claim, default `microshop-web`), and no
//! secret is accepted. Auth defines no scopes: the token carries the account's role, so a
//! `scope` parameter is refused with `invalid_scope` rather than silently ignored.
//!
//! Errors are the §5.2 JSON (`error`, `error_description`), 400, except `invalid_client` (401
//! with `WWW-Authenticate`) and the lockout (429 `invalid_grant` with `Retry-After`: the grant
//! cannot be used now, and the client learns when it can). A database outage or an internal
//! error keeps the service's usual problem answer (503/500); every answer is `no-store`.

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use platform::http::ClientIp;
use serde::Serialize;

use super::sessions::token_response;
use crate::domain::ClientId;
use crate::error::AuthError;
use crate::sessions;
use crate::state::AppState;

/// The token endpoint's path, also published in the metadata (the route below spells it out:
/// the OpenAPI completeness test reads literal paths).
pub(super) const TOKEN_PATH: &str = "/auth/token";

/// The grant types the token endpoint serves, also published in the metadata.
pub(super) const GRANT_TYPES: [&str; 2] = ["password", "refresh_token"];

pub fn router() -> Router<AppState> {
    Router::new().route("/auth/token", post(token))
}

/// The operations of this module, for [`crate::openapi`].
#[derive(utoipa::OpenApi)]
#[openapi(paths(token), components(schemas(TokenRequest, OAuthErrorBody)))]
pub(super) struct Api;

/// A token request: the parameters of one grant type, form-encoded.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // Documents the form; the handler reads the pairs itself.
struct TokenRequest {
    /// `password` or `refresh_token`.
    grant_type: String,
    /// For `password`.
    username: Option<String>,
    /// For `password`.
    password: Option<String>,
    /// For `refresh_token`.
    refresh_token: Option<String>,
    /// The public client's id, 1 to 64 characters of `[A-Za-z0-9._~-]`; default `microshop-web`.
    client_id: Option<String>,
    /// Auth defines no scopes: any value is refused (`invalid_scope`).
    scope: Option<String>,
}

/// An RFC 6749 §5.2 error answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct OAuthErrorBody {
    /// `invalid_request`, `invalid_client`, `invalid_grant`, `unsupported_grant_type` or
    /// `invalid_scope`.
    error: &'static str,
    error_description: String,
}

/// A refused token request, answered the RFC 6749 way; a failure that is not the client's
/// (database, internal) stays a problem.
#[derive(Debug)]
enum TokenError {
    OAuth {
        status: StatusCode,
        error: &'static str,
        description: String,
        retry_after_secs: Option<u64>,
    },
    Service(AuthError),
}

impl TokenError {
    fn new(error: &'static str, description: impl Into<String>) -> Self {
        let status = if error == "invalid_client" {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::BAD_REQUEST
        };
        Self::OAuth {
            status,
            error,
            description: description.into(),
            retry_after_secs: None,
        }
    }

    fn invalid_request(description: impl Into<String>) -> Self {
        Self::new("invalid_request", description)
    }
}

impl From<AuthError> for TokenError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::InvalidCredentials => {
                Self::new("invalid_grant", "The username or password is incorrect")
            }
            AuthError::InvalidRefreshToken(reason) => Self::new("invalid_grant", reason.detail()),
            AuthError::TooManyAttempts { retry_after_secs } => Self::OAuth {
                status: StatusCode::TOO_MANY_REQUESTS,
                error: "invalid_grant",
                description: format!(
                    "Too many failed logins for this account from this address; retry in \
                     {retry_after_secs} s"
                ),
                retry_after_secs: Some(retry_after_secs),
            },
            other => Self::Service(other),
        }
    }
}

impl IntoResponse for TokenError {
    fn into_response(self) -> Response {
        let mut response = match self {
            TokenError::OAuth {
                status,
                error,
                description,
                retry_after_secs,
            } => {
                let mut response = (
                    status,
                    axum::Json(OAuthErrorBody {
                        error,
                        error_description: description,
                    }),
                )
                    .into_response();
                let headers = response.headers_mut();
                headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
                if status == StatusCode::UNAUTHORIZED {
                    headers.insert(
                        header::WWW_AUTHENTICATE,
                        HeaderValue::from_static("Basic realm=\"microshop\""),
                    );
                }
                if let Some(secs) = retry_after_secs {
                    headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
                }
                response
            }
            TokenError::Service(error) => error.into_response(),
        };
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

/// The form's parameters. RFC 6749 §3.1: an empty value is an omitted parameter, and a
/// parameter must not be sent twice.
struct Form(HashMap<String, String>);

impl Form {
    fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Self, TokenError> {
        let form_encoded = headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .is_some_and(|mime| {
                mime.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        if !form_encoded {
            return Err(TokenError::invalid_request(
                "Send the parameters as application/x-www-form-urlencoded",
            ));
        }
        let mut params = HashMap::new();
        for (name, value) in form_urlencoded::parse(body) {
            if value.is_empty() {
                continue;
            }
            if params
                .insert(name.to_string(), value.into_owned())
                .is_some()
            {
                return Err(TokenError::invalid_request(format!(
                    "The parameter `{name}` is repeated"
                )));
            }
        }
        Ok(Self(params))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    fn require(&self, name: &str) -> Result<&str, TokenError> {
        self.get(name).ok_or_else(|| {
            TokenError::invalid_request(format!("The parameter `{name}` is missing"))
        })
    }
}

#[utoipa::path(
    post,
    path = "/auth/token",
    operation_id = "auth_token",
    tag = "auth",
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded", description = "`grant_type=password&username=…&password=…` (RFC 6749 §4.3) or `grant_type=refresh_token&refresh_token=…` (§6), optionally `client_id`"),
    responses(
        (status = 200, description = "An access token and a refresh token (RFC 6749 §5.1); a refresh token sent is spent", body = super::sessions::TokenResponse, headers(("Cache-Control" = String, description = "`no-store`"), ("Pragma" = String, description = "`no-cache`"))),
        (status = 400, description = "RFC 6749 §5.2 error: invalid_request (missing or repeated parameter, not form-encoded), invalid_grant (wrong username or password, unknown or deleted user, refresh token unknown, expired, revoked or reused), unsupported_grant_type, invalid_scope (auth defines no scopes)", body = OAuthErrorBody),
        (status = 401, description = "invalid_client: a malformed client_id, or client authentication (only public clients are served)", body = OAuthErrorBody, headers(("WWW-Authenticate" = String, description = "`Basic realm=\"microshop\"`"))),
        (status = 429, description = "invalid_grant: too many failed logins for this account from this address; retry after `Retry-After`", body = OAuthErrorBody),
    )
)]
async fn token(
    State(state): State<AppState>,
    ClientIp(client_ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, TokenError> {
    let form = Form::parse(&headers, &body)?;
    if headers.contains_key(header::AUTHORIZATION) || form.get("client_secret").is_some() {
        return Err(TokenError::new(
            "invalid_client",
            "Only public clients are served: send client_id alone, without credentials",
        ));
    }
    let client = match form.get("client_id") {
        Some(id) => ClientId::parse(id).map_err(|error| {
            TokenError::new("invalid_client", format!("client_id {}", error.message))
        })?,
        None => ClientId::default_client(),
    };
    let grant_type = form.require("grant_type")?;
    if !GRANT_TYPES.contains(&grant_type) {
        return Err(TokenError::new(
            "unsupported_grant_type",
            "The grant types served are password and refresh_token",
        ));
    }
    if form.get("scope").is_some() {
        return Err(TokenError::new(
            "invalid_scope",
            "No scopes are defined: a token carries its account's role; omit scope",
        ));
    }
    let pair = if grant_type == "password" {
        let username = form.require("username")?;
        let password = form.require("password")?;
        sessions::login(&state, username, password, client_ip, &client).await?
    } else {
        let refresh_token = form.require("refresh_token")?;
        sessions::refresh(&state, refresh_token, &client).await?
    };
    Ok(token_response(pair).into_response())
}
