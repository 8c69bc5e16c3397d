//! The chatbot's intent parser: the phrasing table (tests/data/chat_phrasings.txt, rows of
//! what people type and what it must do to a seeded task list), and the chat over HTTP.

mod common;

use common::phrasings::{Mode, run_table};
use common::{Db, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_phrasing_table_through_the_parser() {
    run_table(Mode::Parser).await;
}

async fn chat(server: &TestServer, token: &str, message: &str) -> Value {
    let (status, answer) = server
        .call(
            Method::POST,
            "/api/chat",
            Some(token),
            Some(json!({"message": message})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["source"], "parser");
    answer
}

async fn titles(server: &TestServer, token: &str) -> Vec<String> {
    let (_, list) = server
        .call(Method::GET, "/api/tasks?sort=created", Some(token), None)
        .await;
    let mut titles: Vec<String> = list["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|task| task["title"].as_str().unwrap().to_string())
        .collect();
    titles.sort();
    titles
}

#[tokio::test]
async fn several_tasks_and_a_confirmed_bulk_delete_over_http() {
    let server = TestServer::start(Db::Sqlite).await.unwrap();
    let ann = server.signup("ann@example.com").await;
    let bob = server.signup("bob@example.com").await;

    let answer = chat(&server, &ann, "add eggs, milk and bread").await;
    assert_eq!(answer["tasks"].as_array().unwrap().len(), 3, "{answer}");
    assert_eq!(titles(&server, &ann).await, ["bread", "eggs", "milk"]);
    chat(&server, &ann, "mark eggs done").await;
    chat(&server, &ann, "mark milk done").await;

    let asked = chat(&server, &ann, "remove everything done").await;
    assert!(asked["reply"].as_str().unwrap().contains("yes"), "{asked}");
    assert_eq!(
        titles(&server, &ann).await.len(),
        3,
        "nothing changes before the yes"
    );

    // Another user's yes does not answer Ann's question.
    let other = chat(&server, &bob, "yes").await;
    assert!(
        other["reply"]
            .as_str()
            .unwrap()
            .contains("Nothing is waiting"),
        "{other}"
    );
    assert_eq!(titles(&server, &ann).await.len(), 3);

    let done = chat(&server, &ann, "yes").await;
    assert_eq!(done["tasks"].as_array().unwrap().len(), 2, "{done}");
    assert_eq!(titles(&server, &ann).await, ["bread"]);

    // "undo" in answer to the question means "no": before, it left the question open
    // and took back Ann's older change (the bulk delete) instead.
    chat(&server, &ann, "add soap").await;
    let asked = chat(&server, &ann, "delete everything").await;
    assert!(asked["reply"].as_str().unwrap().contains("yes"), "{asked}");
    let kept = chat(&server, &ann, "undo").await;
    assert!(
        kept["reply"].as_str().unwrap().contains("as they are"),
        "{kept}"
    );
    assert_eq!(titles(&server, &ann).await, ["bread", "soap"]);

    // A message in another script gets the help with the reason: English only.
    for other in ["הוסף משימה לקנות חלב", "添加 买牛奶", "купить молоко"]
    {
        let help = chat(&server, &ann, other).await;
        assert!(
            help["reply"]
                .as_str()
                .unwrap()
                .starts_with("I only understand English for now. I can manage your tasks."),
            "{other}: {help}"
        );
    }
    server.stop().await;
}
