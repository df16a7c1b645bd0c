//! `GET /cars`: exact filters (ignoring case for text), orders, and pages with a total.

use serde_json::{Value, json};

use crate::helpers::{TestApp, column};

on_every_backend!(
    text_filters_match_whole_values_ignoring_case,
    the_year_filter_and_combined_filters_narrow_the_list,
    blank_filters_and_unknown_parameters_are_ignored,
    the_default_order_is_oldest_first,
    sort_orders_by_one_or_more_keys_in_either_direction,
    text_sorts_ignore_case_and_follow_code_points,
    pages_have_a_limit_an_offset_and_the_total,
    twenty_cars_is_the_default_page_and_a_hundred_the_most,
);

/// Creates cars for a fresh customer from `(brand, model, year, color)`; returns the customer
/// and the cars in creation order.
async fn garage(
    app: &TestApp,
    cars: &[(&str, &str, i64, &str)],
) -> (test_support::TestUser, Vec<Value>) {
    let owner = app.customer("owner");
    let mut created = Vec::new();
    for (brand, model, year, color) in cars {
        created.push(
            app.create_car(
                &owner,
                &json!({"brand": brand, "model": model, "year": year, "color": color}),
            )
            .await,
        );
    }
    (owner, created)
}

fn ids(cars: &[&Value]) -> Vec<Value> {
    cars.iter().map(|car| car["id"].clone()).collect()
}

async fn text_filters_match_whole_values_ignoring_case(app: TestApp) {
    let (owner, cars) = garage(
        &app,
        &[
            ("Peugeot", "208", 2020, "Bleu"),
            ("PEUGEOT", "3008", 2018, "gris"),
            ("Peugeot Sport", "208 GTi", 2020, "bleu nuit"),
            ("Citroën", "C3", 2019, "bleu"),
        ],
    )
    .await;

    let peugeot = app.list(&owner, "?brand=peugeot").await;
    let model = app.list(&owner, "?model=208").await;
    let blue = app.list(&owner, "?color=BLEU").await;
    let citroen = app.list(&owner, "?brand=CITRO%C3%8BN").await;
    let prefix = app.list(&owner, "?brand=Peu").await;

    assert_eq!(peugeot["total"], 2);
    assert_eq!(column(&peugeot, "id"), ids(&[&cars[0], &cars[1]]));
    assert_eq!(column(&model, "id"), ids(&[&cars[0]]));
    assert_eq!(column(&blue, "id"), ids(&[&cars[0], &cars[3]]));
    assert_eq!(column(&citroen, "id"), ids(&[&cars[3]]));
    assert_eq!(prefix["total"], 0);
    assert_eq!(prefix["items"], json!([]));
}

async fn the_year_filter_and_combined_filters_narrow_the_list(app: TestApp) {
    let (owner, cars) = garage(
        &app,
        &[
            ("Peugeot", "208", 2020, "bleu"),
            ("Peugeot", "208", 2019, "bleu"),
            ("Peugeot", "208", 2020, "rouge"),
            ("Renault", "Clio", 2020, "bleu"),
        ],
    )
    .await;

    let year = app.list(&owner, "?year=2020").await;
    let all_four = app
        .list(&owner, "?brand=Peugeot&model=208&year=2020&color=bleu")
        .await;
    let none = app.list(&owner, "?brand=Renault&year=2019").await;

    assert_eq!(column(&year, "id"), ids(&[&cars[0], &cars[2], &cars[3]]));
    assert_eq!(all_four["total"], 1);
    assert_eq!(column(&all_four, "id"), ids(&[&cars[0]]));
    assert_eq!(none["total"], 0);
}

async fn blank_filters_and_unknown_parameters_are_ignored(app: TestApp) {
    let (owner, _) = garage(
        &app,
        &[
            ("Peugeot", "208", 2020, "bleu"),
            ("Renault", "Clio", 2019, "rouge"),
        ],
    )
    .await;

    let page = app
        .list(
            &owner,
            "?brand=&model=%20&year=&color=&sort=&_=1712345678&utm_source=x",
        )
        .await;

    assert_eq!(page["total"], 2);
}

async fn the_default_order_is_oldest_first(app: TestApp) {
    let (owner, cars) = garage(
        &app,
        &[
            ("Volvo", "XC60", 2020, "noir"),
            ("Audi", "A3", 2010, "blanc"),
            ("Fiat", "500", 2015, "rouge"),
        ],
    )
    .await;

    let page = app.list(&owner, "").await;
    let newest_first = app.list(&owner, "?sort=-created_at").await;

    assert_eq!(column(&page, "id"), ids(&[&cars[0], &cars[1], &cars[2]]));
    assert_eq!(
        column(&newest_first, "id"),
        ids(&[&cars[2], &cars[1], &cars[0]])
    );
}

async fn sort_orders_by_one_or_more_keys_in_either_direction(app: TestApp) {
    let (owner, cars) = garage(
        &app,
        &[
            ("Renault", "Clio", 2019, "rouge"),
            ("Audi", "A3", 2010, "blanc"),
            ("Renault", "Zoe", 2021, "bleu"),
            ("Fiat", "500", 2015, "vert"),
        ],
    )
    .await;

    let by_year = app.list(&owner, "?sort=year").await;
    let by_year_desc = app.list(&owner, "?sort=-year").await;
    let by_brand_then_newest = app.list(&owner, "?sort=brand,-year").await;
    let by_color = app.list(&owner, "?sort=color").await;
    let by_model_desc = app.list(&owner, "?sort=-model").await;

    assert_eq!(
        column(&by_year, "year"),
        [json!(2010), json!(2015), json!(2019), json!(2021)]
    );
    assert_eq!(
        column(&by_year_desc, "year"),
        [json!(2021), json!(2019), json!(2015), json!(2010)]
    );
    assert_eq!(
        column(&by_brand_then_newest, "id"),
        ids(&[&cars[1], &cars[3], &cars[2], &cars[0]])
    );
    assert_eq!(
        column(&by_color, "color"),
        [json!("blanc"), json!("bleu"), json!("rouge"), json!("vert")]
    );
    assert_eq!(
        column(&by_model_desc, "model"),
        [json!("Zoe"), json!("Clio"), json!("A3"), json!("500")]
    );
}

async fn text_sorts_ignore_case_and_follow_code_points(app: TestApp) {
    // Case never decides (`bmw` sorts with `BMW`), ties keep creation order, and accented
    // letters come after `z` on every engine, whatever the PostgreSQL server's locale.
    let (owner, cars) = garage(
        &app,
        &[
            ("bmw", "i3", 2015, "blanc"),
            ("Ëlectra", "E", 2020, "blanc"),
            ("Audi", "A3", 2010, "blanc"),
            ("BMW", "X1", 2019, "blanc"),
            ("zastava", "Yugo", 1988, "blanc"),
        ],
    )
    .await;

    let page = app.list(&owner, "?sort=brand").await;

    assert_eq!(
        column(&page, "id"),
        ids(&[&cars[2], &cars[0], &cars[3], &cars[4], &cars[1]])
    );
}

async fn pages_have_a_limit_an_offset_and_the_total(app: TestApp) {
    let rows: Vec<(&str, &str, i64, &str)> = (0..7)
        .map(|index| ("Peugeot", "208", 2010 + index, "bleu"))
        .collect();
    let (owner, _) = garage(&app, &rows).await;

    let first = app.list(&owner, "?sort=year&limit=3").await;
    let second = app.list(&owner, "?sort=year&limit=3&offset=3").await;
    let last = app.list(&owner, "?sort=year&limit=3&offset=6").await;
    let beyond = app.list(&owner, "?sort=year&limit=3&offset=50").await;

    assert_eq!(
        (&first["total"], &first["limit"], &first["offset"]),
        (&json!(7), &json!(3), &json!(0))
    );
    assert_eq!(
        column(&first, "year"),
        [json!(2010), json!(2011), json!(2012)]
    );
    assert_eq!(second["offset"], 3);
    assert_eq!(
        column(&second, "year"),
        [json!(2013), json!(2014), json!(2015)]
    );
    assert_eq!(column(&last, "year"), [json!(2016)]);
    assert_eq!(beyond["items"], json!([]));
    assert_eq!(beyond["total"], 7);
}

async fn twenty_cars_is_the_default_page_and_a_hundred_the_most(app: TestApp) {
    let rows: Vec<(&str, &str, i64, &str)> = (0..21)
        .map(|index| ("Fiat", "500", 1990 + index, "rouge"))
        .collect();
    let (owner, cars) = garage(&app, &rows).await;

    let default = app.list(&owner, "").await;
    let most = app.list(&owner, "?limit=100").await;

    assert_eq!(
        (&default["limit"], &default["total"]),
        (&json!(20), &json!(21))
    );
    assert_eq!(default["items"].as_array().unwrap().len(), 20);
    assert_eq!(default["items"][0]["id"], cars[0]["id"]);
    assert_eq!(most["items"].as_array().unwrap().len(), 21);
}
