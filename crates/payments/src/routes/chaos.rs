//! The bank's chaos settings, for admins: `GET /payments/chaos`, `PUT /payments/chaos` (every
//! setting, replaced) and `PATCH /payments/chaos` (only the settings sent).
//!
//! The settings are this instance's, in memory (see [`crate::chaos`]); these routes never pass
//! through the chaos themselves, so an outage can always be lifted.

use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::routing::get;
use platform::{AuthUser, Json, Problem};
use serde::{Deserialize, Serialize};

use crate::domain::{ChaosSettings, DeclineRate, Latency, Outage};
use crate::error::PaymentsError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/payments/chaos", get(show).put(replace).patch(update))
}

/// An admin caller: 401 without a valid token, 403 for a customer, checked before the body is
/// read so a customer never learns anything from a validation error.
struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        AuthUser::from_request_parts(parts, state)
            .await?
            .require_admin()?;
        Ok(Admin)
    }
}

/// The chaos settings as the API shows and takes them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChaosView {
    /// Share of charges declined, 0.0 to 1.0.
    pub decline_rate: f64,
    /// Milliseconds added before every payment answer, 0 to 60000.
    pub latency_ms: u64,
    /// `none`, `error` or `hang`.
    #[schema(value_type = String)]
    pub outage: &'static str,
}

impl From<ChaosSettings> for ChaosView {
    fn from(settings: ChaosSettings) -> Self {
        Self {
            decline_rate: settings.decline_rate.value(),
            latency_ms: settings.latency.millis(),
            outage: settings.outage.as_str(),
        }
    }
}

/// `PUT`: every setting is required.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ReplaceChaos {
    decline_rate: f64,
    latency_ms: i64,
    outage: String,
}

impl TryFrom<ReplaceChaos> for ChaosSettings {
    type Error = PaymentsError;

    fn try_from(body: ReplaceChaos) -> Result<Self, Self::Error> {
        Ok(ChaosSettings {
            decline_rate: DeclineRate::parse(body.decline_rate)?,
            latency: Latency::parse(body.latency_ms)?,
            outage: Outage::parse(&body.outage)?,
        })
    }
}

/// `PATCH`: absent settings keep their value.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct UpdateChaos {
    decline_rate: Option<f64>,
    latency_ms: Option<i64>,
    outage: Option<String>,
}

/// A parsed `PATCH` body.
struct ChaosChange {
    decline_rate: Option<DeclineRate>,
    latency: Option<Latency>,
    outage: Option<Outage>,
}

impl TryFrom<UpdateChaos> for ChaosChange {
    type Error = PaymentsError;

    fn try_from(body: UpdateChaos) -> Result<Self, Self::Error> {
        Ok(ChaosChange {
            decline_rate: body.decline_rate.map(DeclineRate::parse).transpose()?,
            latency: body.latency_ms.map(Latency::parse).transpose()?,
            outage: body.outage.as_deref().map(Outage::parse).transpose()?,
        })
    }
}

/// The operations of this module, for [`crate::openapi`]. Their ids say `chaos`: the handler
/// names alone repeat those of [`super::payments`].
#[derive(utoipa::OpenApi)]
#[openapi(paths(show, replace, update))]
pub(super) struct Api;

#[utoipa::path(
    get,
    path = "/payments/chaos",
    operation_id = "show_chaos",
    tag = "payments",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "This instance's chaos settings", body = ChaosView),
        (status = 403, description = "forbidden: the caller is not an admin"),
    )
)]
async fn show(State(state): State<AppState>, _admin: Admin) -> Json<ChaosView> {
    Json(state.chaos.settings().into())
}

#[utoipa::path(
    put,
    path = "/payments/chaos",
    operation_id = "replace_chaos",
    tag = "payments",
    security(("bearer" = [])),
    request_body(content = ReplaceChaos, description = "Every setting"),
    responses(
        (status = 200, description = "The settings, replaced", body = ChaosView),
        (status = 403, description = "forbidden: the caller is not an admin"),
    )
)]
async fn replace(
    State(state): State<AppState>,
    _admin: Admin,
    Json(body): Json<ReplaceChaos>,
) -> Result<Json<ChaosView>, PaymentsError> {
    let settings = ChaosSettings::try_from(body)?;
    Ok(Json(state.chaos.set(settings).into()))
}

#[utoipa::path(
    patch,
    path = "/payments/chaos",
    operation_id = "update_chaos",
    tag = "payments",
    security(("bearer" = [])),
    request_body(content = UpdateChaos, description = "Only the settings sent change"),
    responses(
        (status = 200, description = "The settings, changed", body = ChaosView),
        (status = 403, description = "forbidden: the caller is not an admin"),
    )
)]
async fn update(
    State(state): State<AppState>,
    _admin: Admin,
    Json(body): Json<UpdateChaos>,
) -> Result<Json<ChaosView>, PaymentsError> {
    let change = ChaosChange::try_from(body)?;
    let settings = state.chaos.update(|settings| {
        if let Some(rate) = change.decline_rate {
            settings.decline_rate = rate;
        }
        if let Some(latency) = change.latency {
            settings.latency = latency;
        }
        if let Some(outage) = change.outage {
            settings.outage = outage;
        }
    });
    Ok(Json(settings.into()))
}
