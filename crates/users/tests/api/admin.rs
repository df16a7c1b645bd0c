//! The admin routes: `GET /users` (paginated) and `POST /users`.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{alice_details, assert_invalid_field, assert_problem, spawn_app};

#[tokio::test]
async fn customers_may_neither_list_nor_create_profiles() {
    let app = spawn_app().await;
    let alice = app.customer("alice");

    assert_problem(
        app.get("/users", Some(&alice.token)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_problem(
        app.post("/users", Some(&alice.token), &json!({"username": "bobby"}))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let list: Value = app
        .get("/users", Some(&app.admin.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 0, "nothing was created");
}

#[tokio::test]
async fn an_admin_creates_a_profile_for_an_existing_account() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    let mut body = json!({"id": alice.id, "username": "alice"});
    crate::helpers::merge(&mut body, alice_details());

    let response = app.post("/users", Some(&app.admin.token), &body).await;

    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(
        response.headers()["location"],
        format!("/users/{}", alice.id).as_str()
    );
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["id"], alice.id.to_string());
    assert_eq!(created["email"], "alice@example.com");
    assert_eq!(created["created_at"], created["updated_at"]);
    assert_eq!(app.me(&alice).await, created, "the account's owner sees it");
}

#[tokio::test]
async fn without_an_id_the_new_profile_gets_a_uuidv7() {
    let app = spawn_app().await;

    let response = app
        .post(
            "/users",
            Some(&app.admin.token),
            &json!({"username": "walkin", "nom": "Petit"}),
        )
        .await;

    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.unwrap();
    let id = uuid::Uuid::parse_str(created["id"].as_str().unwrap()).unwrap();
    assert_eq!(id.get_version_num(), 7);
    assert_eq!(created["last_name"], "Petit");
    let read = app
        .get(&format!("/users/{id}"), Some(&app.admin.token))
        .await;
    assert_eq!(read.status(), StatusCode::OK);
}

#[tokio::test]
async fn creating_a_profile_for_an_id_that_has_one_is_409() {
    let app = spawn_app().await;
    let alice = app.customer("alice");
    app.create_profile(&alice, alice_details()).await;

    let response = app
        .post(
            "/users",
            Some(&app.admin.token),
            &json!({"id": alice.id, "username": "alice", "first_name": "Other"}),
        )
        .await;

    assert_problem(response, StatusCode::CONFLICT, "profile_exists").await;
    assert_eq!(app.me(&alice).await["first_name"], "Alice");
}

#[tokio::test]
async fn creating_a_profile_needs_a_valid_username() {
    let app = spawn_app().await;

    assert_invalid_field(
        app.post(
            "/users",
            Some(&app.admin.token),
            &json!({"first_name": "No"}),
        )
        .await,
        "username",
    )
    .await;
    assert_invalid_field(
        app.post(
            "/users",
            Some(&app.admin.token),
            &json!({"username": "a b"}),
        )
        .await,
        "username",
    )
    .await;
    assert_invalid_field(
        app.post(
            "/users",
            Some(&app.admin.token),
            &json!({"username": "zed", "id": "not-a-uuid"}),
        )
        .await,
        "id",
    )
    .await;
}

/// Creates `count` profiles named `user00`, `user01`, ... in that order.
async fn create_many(app: &crate::helpers::TestApp, count: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for index in 0..count {
        let response = app
            .post(
                "/users",
                Some(&app.admin.token),
                &json!({"username": format!("user{index:02}")}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.unwrap();
        ids.push(body["id"].as_str().unwrap().to_owned());
    }
    ids
}

fn usernames(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["username"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_list_pages_20_at_a_time_by_default_oldest_first_with_the_total() {
    let app = spawn_app().await;
    create_many(&app, 25).await;

    let page: Value = app
        .get("/users", Some(&app.admin.token))
        .await
        .json()
        .await
        .unwrap();

    assert_eq!(page["total"], 25);
    assert_eq!(page["limit"], 20);
    assert_eq!(page["offset"], 0);
    let names = usernames(&page);
    assert_eq!(names.len(), 20);
    assert_eq!(names[0], "user00");
    assert_eq!(names[19], "user19");
}

#[tokio::test]
async fn limit_and_offset_select_a_page() {
    let app = spawn_app().await;
    create_many(&app, 25).await;

    let page: Value = app
        .get("/users?limit=10&offset=20", Some(&app.admin.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 25);
    assert_eq!(page["limit"], 10);
    assert_eq!(page["offset"], 20);
    assert_eq!(
        usernames(&page),
        ["user20", "user21", "user22", "user23", "user24"]
    );

    let past_the_end: Value = app
        .get("/users?offset=100", Some(&app.admin.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(past_the_end["items"], json!([]));
    assert_eq!(past_the_end["total"], 25);

    let widest: Value = app
        .get("/users?limit=100", Some(&app.admin.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(usernames(&widest).len(), 25);
}

#[tokio::test]
async fn a_limit_outside_1_to_100_or_a_negative_offset_is_422_naming_it() {
    let app = spawn_app().await;

    for query in ["limit=0", "limit=101", "limit=-5", "limit=ten", "limit=2.5"] {
        let response = app
            .get(&format!("/users?{query}"), Some(&app.admin.token))
            .await;
        assert_invalid_field(response, "limit").await;
    }
    for query in ["offset=-1", "offset=x"] {
        let response = app
            .get(&format!("/users?{query}"), Some(&app.admin.token))
            .await;
        assert_invalid_field(response, "offset").await;
    }
}

#[tokio::test]
async fn deleted_profiles_leave_the_list_and_the_total() {
    let app = spawn_app().await;
    let ids = create_many(&app, 3).await;

    let deleted = app
        .delete(&format!("/users/{}", ids[1]), Some(&app.admin.token))
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);

    let page: Value = app
        .get("/users", Some(&app.admin.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 2);
    assert_eq!(usernames(&page), ["user00", "user02"]);
}
