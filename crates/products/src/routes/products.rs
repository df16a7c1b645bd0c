//! The catalogue: `GET /products` (optionally one category's), `GET /products/{id}` and
//! `GET /products/categories` for everyone; `POST`, `PATCH` and `DELETE` for admins.
//!
//! Bodies take the English fields or the seeds' French ones: `name` or `nom`, `price_cents` (an
//! integer) or `prix` (a decimal with at most two decimals, read exactly). Answers always use
//! the English names and integer cents.

use axum::Router;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use axum::routing::get;
use http::{StatusCode, header};
use platform::{Json, Problem};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use time::OffsetDateTime;

use super::Admin;
use crate::domain::{
    Category, Description, ImagePath, MAX_NAME_CHARS, NewProduct, Page, PriceCents, ProductChanges,
    ProductId, ProductName, ProductQuery, SearchTerm, Stock, ValidationError, at_most_one,
};
use crate::error::ProductsError;
use crate::state::AppState;
use crate::storage::Product;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/products", get(list).post(create))
        .route("/products/categories", get(categories))
        .route("/products/{id}", get(show).patch(update).delete(remove))
}

/// A product as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct ProductView {
    pub id: i64,
    pub name: String,
    pub description: String,
    /// The category's slug (`audio`); `null` for a product in none.
    pub category: Option<String>,
    /// The path of the product's picture on the shop's origin
    /// (`/ui/images/products/keyboard.svg`); `null`: the shop shows a generic one.
    pub image: Option<String>,
    pub price_cents: i64,
    pub stock: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<Product> for ProductView {
    fn from(product: Product) -> Self {
        Self {
            id: product.id,
            name: product.name,
            description: product.description,
            category: product.category,
            image: product.image,
            price_cents: product.price_cents,
            stock: product.stock,
            created_at: product.created_at,
            updated_at: product.updated_at,
        }
    }
}

/// One page of the catalogue.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct ProductList {
    pub items: Vec<ProductView>,
    /// Products matching the search, over all pages.
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

/// One category of `GET /products/categories`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct CategoryView {
    /// The slug, as `?category=` takes it.
    pub name: String,
    /// Products in this category.
    pub products: i64,
}

/// Every category some product is in, by name.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct CategoryList {
    pub items: Vec<CategoryView>,
}

/// `?limit=&offset=&q=&category=`, as text: parsed by the domain, so a bad value is a 422
/// naming it.
#[derive(Debug, Deserialize)]
struct ListParams {
    limit: Option<String>,
    offset: Option<String>,
    q: Option<String>,
    category: Option<String>,
}

impl TryFrom<ListParams> for ProductQuery {
    type Error = ValidationError;

    fn try_from(params: ListParams) -> Result<Self, Self::Error> {
        Ok(ProductQuery {
            page: Page::parse_with(
                params.limit.as_deref(),
                params.offset.as_deref(),
                &crate::domain::PAGING,
            )?,
            search: SearchTerm::parse(params.q.as_deref(), MAX_NAME_CHARS)?,
            category: ProductQuery::parse_category(params.category.as_deref())?,
        })
    }
}

/// The body of `POST` (name and price required) and `PATCH` (everything optional).
///
/// `null` means "not given" for every field; send `""` to clear a description, a category or
/// an image.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ProductBody {
    name: Option<String>,
    /// The seeds' name for `name`.
    nom: Option<String>,
    description: Option<String>,
    /// A slug: lowercase letters and digits, words joined by single hyphens (`home-office`),
    /// at most 40 characters; input is lowercased.
    category: Option<String>,
    /// The path of a picture the shop ships: `/ui/images/…` ending in `.svg`, `.png`, `.jpg`,
    /// `.jpeg` or `.webp`.
    image: Option<String>,
    price_cents: Option<i64>,
    /// The seeds' price: a decimal with at most two decimals (`12.50`).
    ///
    // Kept as JSON text, converted to cents without a float (see `PriceCents`).
    #[schema(value_type = Option<f64>)]
    prix: Option<Box<RawValue>>,
    stock: Option<i64>,
}

impl TryFrom<ProductBody> for ProductChanges {
    type Error = ValidationError;

    fn try_from(body: ProductBody) -> Result<Self, Self::Error> {
        at_most_one(("name", body.name.is_some()), ("nom", body.nom.is_some()))?;
        at_most_one(
            ("price_cents", body.price_cents.is_some()),
            ("prix", body.prix.is_some()),
        )?;
        let name = match (body.name, body.nom) {
            (Some(name), _) => Some(ProductName::parse(&name, "name")?),
            (None, Some(nom)) => Some(ProductName::parse(&nom, "nom")?),
            (None, None) => None,
        };
        let price = match (body.price_cents, body.prix) {
            (Some(cents), _) => Some(PriceCents::from_cents(cents)?),
            (None, Some(prix)) => Some(PriceCents::from_decimal_json(prix.get(), "prix")?),
            (None, None) => None,
        };
        Ok(ProductChanges {
            name,
            description: body
                .description
                .as_deref()
                .map(Description::parse)
                .transpose()?,
            category: clearable(body.category.as_deref(), Category::parse)?,
            image: clearable(body.image.as_deref(), ImagePath::parse)?,
            price,
            stock: body.stock.map(Stock::parse).transpose()?,
        })
    }
}

impl TryFrom<ProductBody> for NewProduct {
    type Error = ValidationError;

    fn try_from(body: ProductBody) -> Result<Self, Self::Error> {
        let changes = ProductChanges::try_from(body)?;
        Ok(NewProduct {
            name: changes
                .name
                .ok_or_else(|| ValidationError::new("name", "is required"))?,
            price: changes.price.ok_or_else(|| {
                ValidationError::new(
                    "price_cents",
                    "is required (or prix, a decimal number such as 12.50)",
                )
            })?,
            description: changes.description.unwrap_or_default(),
            category: changes.category.flatten(),
            image: changes.image.flatten(),
            stock: changes.stock.unwrap_or_default(),
        })
    }
}

/// A field that `""` clears: absent → unchanged, blank → `Some(None)`, else parsed.
fn clearable<T>(
    value: Option<&str>,
    parse: impl FnOnce(&str) -> Result<T, ValidationError>,
) -> Result<Option<Option<T>>, ValidationError> {
    value
        .map(|text| {
            if text.trim().is_empty() {
                Ok(None)
            } else {
                parse(text).map(Some)
            }
        })
        .transpose()
}

/// The operations of this module, for [`crate::openapi`].
#[derive(utoipa::OpenApi)]
#[openapi(paths(list, categories, show, create, update, remove))]
pub(super) struct Api;

/// A product id from the path: not an integer → 422; an integer no product has → 404.
fn product_id(path: Result<Path<String>, PathRejection>) -> Result<ProductId, ProductsError> {
    let Path(text) = path.map_err(|_| ProductsError::ProductNotFound)?;
    ProductId::parse_path(&text)?.ok_or(ProductsError::ProductNotFound)
}

#[utoipa::path(
    get,
    path = "/products",
    tag = "products",
    params(
        ("limit" = Option<i64>, Query, description = "Page size"),
        ("offset" = Option<i64>, Query, description = "Products to skip"),
        ("q" = Option<String>, Query, description = "Text to find in names (ignoring case)"),
        ("category" = Option<String>, Query, description = "Only this category's products (a slug such as `audio`)"),
    ),
    responses(
        (status = 200, description = "The catalogue, one page", body = ProductList),
        (status = 400, description = "invalid_query: the query string cannot be read"),
        (status = 422, description = "validation_failed: a paging, search or category value is invalid"),
    )
)]
async fn list(
    State(state): State<AppState>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<ProductList>, ProductsError> {
    let Query(params) =
        params.map_err(|rejection| Problem::bad_request("invalid_query", rejection.body_text()))?;
    let query = ProductQuery::try_from(params)?;
    let (products, total) = state.storage.list_products(&query).await?;
    Ok(Json(ProductList {
        items: products.into_iter().map(ProductView::from).collect(),
        total,
        limit: query.page.limit(),
        offset: query.page.offset(),
    }))
}

#[utoipa::path(
    get,
    path = "/products/categories",
    tag = "products",
    responses(
        (status = 200, description = "Every category a product is in, by name, with its number of products", body = CategoryList),
    )
)]
async fn categories(State(state): State<AppState>) -> Result<Json<CategoryList>, ProductsError> {
    let items = state
        .storage
        .categories()
        .await?
        .into_iter()
        .map(|(name, products)| CategoryView { name, products })
        .collect();
    Ok(Json(CategoryList { items }))
}

#[utoipa::path(
    get,
    path = "/products/{id}",
    tag = "products",
    params(("id" = i64, Path, description = "The product's id")),
    responses(
        (status = 200, description = "The product", body = ProductView),
        (status = 404, description = "not_found: no product has this id"),
        (status = 422, description = "validation_failed: the id is not an integer"),
    )
)]
async fn show(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<ProductView>, ProductsError> {
    let id = product_id(path)?;
    let product = state
        .storage
        .find_product(id)
        .await?
        .ok_or(ProductsError::ProductNotFound)?;
    Ok(Json(product.into()))
}

#[utoipa::path(
    post,
    path = "/products",
    tag = "products",
    security(("bearer" = [])),
    request_body(content = ProductBody, description = "`name` (or `nom`) and `price_cents` (or `prix`) are required"),
    responses(
        (status = 201, description = "The product, created", body = ProductView, headers(("Location" = String, description = "The new product's URL"))),
        (status = 403, description = "forbidden: the caller is not an admin"),
    )
)]
async fn create(
    _admin: Admin,
    State(state): State<AppState>,
    Json(body): Json<ProductBody>,
) -> Result<impl IntoResponse, ProductsError> {
    let product = NewProduct::try_from(body)?;
    let created = state.storage.create_product(&product).await?;
    let location = format!("/products/{}", created.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(ProductView::from(created)),
    ))
}

#[utoipa::path(
    patch,
    path = "/products/{id}",
    tag = "products",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The product's id")),
    request_body(content = ProductBody, description = "Only the fields sent change"),
    responses(
        (status = 200, description = "The product, changed", body = ProductView),
        (status = 403, description = "forbidden: the caller is not an admin"),
        (status = 404, description = "not_found: no product has this id"),
    )
)]
async fn update(
    _admin: Admin,
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    Json(body): Json<ProductBody>,
) -> Result<Json<ProductView>, ProductsError> {
    let id = product_id(path)?;
    let changes = ProductChanges::try_from(body)?;
    let product = state
        .storage
        .update_product(id, &changes)
        .await?
        .ok_or(ProductsError::ProductNotFound)?;
    Ok(Json(product.into()))
}

#[utoipa::path(
    delete,
    path = "/products/{id}",
    tag = "products",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The product's id")),
    responses(
        (status = 204, description = "The product is gone"),
        (status = 403, description = "forbidden: the caller is not an admin"),
        (status = 404, description = "not_found: no product has this id"),
        (status = 422, description = "validation_failed: the id is not an integer"),
    )
)]
async fn remove(
    _admin: Admin,
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ProductsError> {
    let id = product_id(path)?;
    if state.storage.delete_product(id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ProductsError::ProductNotFound)
    }
}
