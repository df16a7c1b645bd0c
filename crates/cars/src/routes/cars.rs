//! Cars: `GET/POST /cars`, `GET/PUT/PATCH/DELETE /cars/{id}`.
//!
//! Every route needs a valid access token, listing included (the seed: "si le token n'est pas
//! fourni ou non valide, renvoyez une erreur 401"); the token is checked before the body is
//! read, so an anonymous caller learns nothing about validation. A customer sees and changes
//! only the cars they created and gets 404 for anyone else's, exactly as for an id that does
//! not exist; an admin sees and changes every car (the owner stays the creator).
//!
//! Bodies take English names or the seed's French ones (`marque`, `modèle`, `année`,
//! `couleur`); answers always use the English names.

use std::marker::PhantomData;

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use axum::routing::get;
use http::{StatusCode, header};
use platform::{AuthUser, Json, Problem};
use serde::de::value::MapAccessDeserializer;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::{Brand, CarChanges, CarDetails, CarQuery, Color, Model, Year};
use crate::error::CarsError;
use crate::state::AppState;
use crate::storage::{Car, Scope};

pub fn router() -> Router<AppState> {
    Router::new().route("/cars", get(list).post(create)).route(
        "/cars/{id}",
        get(read).put(replace).patch(patch).delete(delete),
    )
}

/// A car as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CarView {
    pub id: Uuid,
    pub brand: String,
    pub model: String,
    pub year: i64,
    pub color: String,
    /// The account that created the car.
    pub owner_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<Car> for CarView {
    fn from(car: Car) -> Self {
        Self {
            id: car.id,
            brand: car.brand,
            model: car.model,
            year: car.year,
            color: car.color,
            owner_id: car.owner_id,
            created_at: car.created_at,
            updated_at: car.updated_at,
        }
    }
}

/// One page of `GET /cars`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CarsPage {
    pub items: Vec<CarView>,
    /// Cars matching the filters in all (the caller's own for a customer), for page counts.
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

/// `POST` and `PUT`: the four details, all required (French names `marque`, `modèle`,
/// `année`, `couleur` are accepted too). Each value is checked as it is read, so
/// an error names the key the client sent (`année` or `year`).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CarBody {
    #[serde(alias = "marque")]
    #[schema(value_type = String)]
    brand: Brand,
    #[serde(alias = "modèle", alias = "modele")]
    #[schema(value_type = String)]
    model: Model,
    #[serde(alias = "année", alias = "annee")]
    #[schema(value_type = i64)]
    year: Year,
    #[serde(alias = "couleur")]
    #[schema(value_type = String)]
    color: Color,
}

impl From<CarBody> for CarDetails {
    fn from(body: CarBody) -> Self {
        Self {
            brand: body.brand,
            model: body.model,
            year: body.year,
            color: body.color,
        }
    }
}

/// `PATCH`: only the fields sent change. Every field of a car is required, so `null` is
/// refused rather than read as "keep".
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PatchBody {
    #[serde(default, deserialize_with = "not_null", alias = "marque")]
    #[schema(value_type = Option<String>)]
    brand: Option<Brand>,
    #[serde(
        default,
        deserialize_with = "not_null",
        alias = "modèle",
        alias = "modele"
    )]
    #[schema(value_type = Option<String>)]
    model: Option<Model>,
    #[serde(
        default,
        deserialize_with = "not_null",
        alias = "année",
        alias = "annee"
    )]
    #[schema(value_type = Option<i64>)]
    year: Option<Year>,
    #[serde(default, deserialize_with = "not_null", alias = "couleur")]
    #[schema(value_type = Option<String>)]
    color: Option<Color>,
}

/// A field that is present must hold a value; absence (`None`) comes from `default`.
fn not_null<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

impl From<PatchBody> for CarChanges {
    fn from(body: PatchBody) -> Self {
        Self {
            brand: body.brand,
            model: body.model,
            year: body.year,
            color: body.color,
        }
    }
}

/// A body that must be a JSON object. serde's derived structs also accept an array of the
/// fields' values in declaration order (`["Peugeot", "208", 2020, "bleu"]`), which no client
/// should rely on and which would make `PATCH []` a silent no-op; this refuses anything but
/// an object, while errors inside it still name the field.
#[derive(Debug)]
struct Object<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
            type Value = T;

            fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
                formatter.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map))
            }
        }

        deserializer
            .deserialize_map(ObjectVisitor(PhantomData))
            .map(Object)
    }
}

/// The operations of this module, for [`crate::openapi`].
#[derive(utoipa::OpenApi)]
#[openapi(paths(list, create, read, replace, patch, delete))]
pub(super) struct Api;

/// The id in the path; a string that is no id is the same 404 as an unknown id.
fn car_id(raw: &str) -> Result<Uuid, CarsError> {
    Uuid::parse_str(raw).map_err(|_| CarsError::NotFound)
}

#[utoipa::path(
    get,
    path = "/cars",
    tag = "cars",
    security(("bearer" = [])),
    params(
        ("limit" = Option<i64>, Query, description = "Page size"),
        ("offset" = Option<i64>, Query, description = "Cars to skip"),
        ("brand" = Option<String>, Query, description = "Only this brand (also `marque`)"),
        ("model" = Option<String>, Query, description = "Only this model (also `modèle`)"),
        ("year" = Option<i64>, Query, description = "Only this year (also `année`)"),
        ("color" = Option<String>, Query, description = "Only this color (also `couleur`)"),
        ("sort" = Option<String>, Query, description = "Comma-separated keys among brand, model, year, color, created_at; `-` for descending (`brand,-year`)"),
    ),
    responses(
        (status = 200, description = "The caller's cars (every car for an admin), one page", body = CarsPage),
        (status = 400, description = "malformed_query: the query string cannot be read"),
        (status = 422, description = "validation_failed: a filter or paging value is invalid"),
    )
)]
async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    params: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<CarsPage>, CarsError> {
    let Query(params) = params
        .map_err(|rejection| Problem::bad_request("malformed_query", rejection.body_text()))?;
    let query = CarQuery::parse(
        params
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str())),
    )?;
    let (cars, total) = state.storage.list(Scope::of(&user), &query).await?;
    Ok(Json(CarsPage {
        items: cars.into_iter().map(CarView::from).collect(),
        total,
        limit: query.page.limit(),
        offset: query.page.offset(),
    }))
}

#[utoipa::path(
    post,
    path = "/cars",
    tag = "cars",
    security(("bearer" = [])),
    request_body = CarBody,
    responses(
        (status = 201, description = "The car, created and owned by the caller", body = CarView, headers(("Location" = String, description = "The new car's URL"))),
    )
)]
async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    Json(Object(body)): Json<Object<CarBody>>,
) -> Result<impl IntoResponse, CarsError> {
    let car = state.storage.insert(user.id, &body.into()).await?;
    tracing::info!(car_id = %car.id, owner_id = %user.id, "car created");
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/cars/{}", car.id))],
        Json(CarView::from(car)),
    ))
}

#[utoipa::path(
    get,
    path = "/cars/{id}",
    tag = "cars",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The car's id (a UUID)")),
    responses(
        (status = 200, description = "The car", body = CarView),
        (status = 404, description = "not_found: no such car, or another user's"),
    )
)]
async fn read(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<CarView>, CarsError> {
    let car = state
        .storage
        .find(car_id(&id)?, Scope::of(&user))
        .await?
        .ok_or(CarsError::NotFound)?;
    Ok(Json(car.into()))
}

async fn change(
    state: &AppState,
    user: &AuthUser,
    id: &str,
    changes: CarChanges,
) -> Result<Json<CarView>, CarsError> {
    let car = state
        .storage
        .update(car_id(id)?, Scope::of(user), &changes)
        .await?
        .ok_or(CarsError::NotFound)?;
    Ok(Json(car.into()))
}

#[utoipa::path(
    put,
    path = "/cars/{id}",
    tag = "cars",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The car's id (a UUID)")),
    request_body = CarBody,
    responses(
        (status = 200, description = "The car, replaced", body = CarView),
        (status = 404, description = "not_found: no such car, or another user's"),
    )
)]
async fn replace(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    Json(Object(body)): Json<Object<CarBody>>,
) -> Result<Json<CarView>, CarsError> {
    change(&state, &user, &id, CarDetails::from(body).into()).await
}

#[utoipa::path(
    patch,
    path = "/cars/{id}",
    tag = "cars",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The car's id (a UUID)")),
    request_body = PatchBody,
    responses(
        (status = 200, description = "The car, with the fields sent changed", body = CarView),
        (status = 404, description = "not_found: no such car, or another user's"),
    )
)]
async fn patch(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    Json(Object(body)): Json<Object<PatchBody>>,
) -> Result<Json<CarView>, CarsError> {
    change(&state, &user, &id, body.into()).await
}

#[utoipa::path(
    delete,
    path = "/cars/{id}",
    tag = "cars",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The car's id (a UUID)")),
    responses(
        (status = 204, description = "The car is gone"),
        (status = 404, description = "not_found: no such car, or another user's"),
    )
)]
async fn delete(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, CarsError> {
    let id = car_id(&id)?;
    if !state.storage.delete(id, Scope::of(&user)).await? {
        return Err(CarsError::NotFound);
    }
    tracing::info!(car_id = %id, by = %user.id, "car deleted");
    Ok(StatusCode::NO_CONTENT)
}
