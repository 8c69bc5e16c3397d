//! The chatbot through an OpenAI-compatible API with tool calls, against a local stand-in
//! server, and the fall back to the intent parser when that API fails.

mod common;

use std::time::Duration;

use common::phrasings::{Mode, run_table};
use common::standin::{Reply, StandIn, text, tool_calls};
use common::{Db, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn server_with(standin_url: &str) -> TestServer {
    TestServer::start_with(
        Db::Sqlite,
        &[
            ("OPENAI_API_KEY", "sk-test-key"),
            ("OPENAI_BASE_URL", standin_url),
            ("OPENAI_MODEL", "stand-in-model"),
        ],
    )
    .await
    .unwrap()
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
    answer
}

/// The parser's phrasing table again, each row answered by a stand-in model that makes the
/// tool calls the row expects: the titles, dates, several tasks and bulk changes with their
/// confirmation go through the tool-call plumbing to the task list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_phrasing_table_through_the_model_tool_calls() {
    run_table(Mode::Model).await;
}

#[tokio::test]
async fn the_model_drives_task_operations_through_tool_calls() {
    let standin = StandIn::start(vec![
        tool_calls(&[(
            "add_task",
            json!({"title": "buy milk", "priority": "high", "due_date": "2030-01-01", "tags": ["shop"]}),
        )]),
        text("Added \"buy milk\" for January 1st."),
    ])
    .await;
    let server = server_with(&standin.base_url).await;
    let token = server.signup("ann@example.com").await;

    let answer = chat(
        &server,
        &token,
        "I should get milk on new year's day, it's important",
    )
    .await;
    assert_eq!(answer["source"], "llm");
    assert_eq!(answer["reply"], "Added \"buy milk\" for January 1st.");
    let task = &answer["tasks"][0];
    assert_eq!(task["title"], "buy milk");
    assert_eq!(task["priority"], "high");
    assert_eq!(task["due_date"], "2030-01-01");
    assert_eq!(task["tags"], json!(["shop"]));
    let (_, list) = server
        .call(Method::GET, "/api/tasks", Some(&token), None)
        .await;
    assert_eq!(list["total"], 1, "the task is stored");

    let received = standin.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].authorization, "Bearer sk-test-key");
    let first = &received[0].body;
    assert_eq!(first["model"], "stand-in-model");
    let tools: Vec<&str> = first["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tool| tool["function"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        tools,
        [
            "add_task",
            "list_tasks",
            "update_task",
            "delete_task",
            "bulk_tasks"
        ]
    );
    // Tasks are named by the user's own numbers, as people say them; ids stay internal.
    for tool in ["update_task", "delete_task"] {
        let parameters = first["tools"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["function"]["name"] == tool)
            .map(|t| &t["function"]["parameters"])
            .unwrap();
        assert_eq!(parameters["required"], json!(["number"]), "{tool}");
        assert!(parameters["properties"].get("id").is_none(), "{tool}");
    }
    assert_eq!(first["messages"][0]["role"], "system");
    let prompt = first["messages"][0]["content"].as_str().unwrap();
    assert!(prompt.contains("the tools take that number"), "{prompt}");
    assert!(!prompt.contains("`id`"), "{prompt}");
    assert_eq!(
        first["messages"][1],
        json!({"role": "user", "content": "I should get milk on new year's day, it's important"})
    );
    // The second call carries the assistant's tool call and the tool's result.
    let messages = received[1].body["messages"].as_array().unwrap();
    assert_eq!(messages[2]["tool_calls"][0]["id"], "call_0");
    assert_eq!(messages[3]["role"], "tool");
    assert_eq!(messages[3]["tool_call_id"], "call_0");
    let result: Value = serde_json::from_str(messages[3]["content"].as_str().unwrap()).unwrap();
    assert_eq!(result["tasks"][0]["title"], "buy milk");
    server.stop().await;
}

/// Signs up someone else with two tasks, so that the next account's task numbers differ
/// from the tasks' ids.
async fn someone_else_first(server: &TestServer) {
    let bob = server.signup("bob@example.com").await;
    server.create(&bob, json!({"title": "bob's milk"})).await;
    server.create(&bob, json!({"title": "bob's errand"})).await;
}

#[tokio::test]
async fn several_rounds_and_tool_errors_reach_the_model() {
    let standin = StandIn::start(vec![
        tool_calls(&[("list_tasks", json!({"status": "open", "q": "milk"}))]),
        tool_calls(&[
            ("update_task", json!({"number": 1, "completed": true})),
            ("delete_task", json!({"number": 999})),
            ("delete_task", json!({"id": 3})),
            ("launch_rockets", json!({})),
        ]),
        text("Done: milk is checked off."),
    ])
    .await;
    let server = server_with(&standin.base_url).await;
    someone_else_first(&server).await;
    let token = server.signup("ann@example.com").await;
    let milk = server.create(&token, json!({"title": "buy milk"})).await;
    server.create(&token, json!({"title": "call mum"})).await;
    assert_eq!(
        (milk["number"].clone(), milk["id"].clone()),
        (json!(1), json!(3))
    );

    let answer = chat(&server, &token, "I got the milk").await;
    assert_eq!(answer["source"], "llm");
    assert_eq!(answer["tasks"].as_array().unwrap().len(), 1, "{answer}");
    assert_eq!(
        answer["tasks"][0]["completed"], true,
        "latest version of the touched task"
    );
    let (_, task) = server
        .call(
            Method::GET,
            &format!("/api/tasks/{}", milk["id"]),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(task["completed"], true, "task number 1 is Ann's milk");
    let (_, list) = server
        .call(Method::GET, "/api/tasks", Some(&token), None)
        .await;
    assert_eq!(list["total"], 2, "nothing was deleted: {list}");

    let received = standin.received();
    assert_eq!(received.len(), 3);
    let messages = received[2].body["messages"].as_array().unwrap();
    let results: Vec<Value> = messages
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| serde_json::from_str(m["content"].as_str().unwrap()).unwrap())
        .collect();
    assert_eq!(results.len(), 5);
    assert_eq!(
        results[0]["tasks"],
        json!([{
            "number": 1, "title": "buy milk", "description": "", "completed": false,
            "priority": "medium", "due_date": null, "tags": [],
            "created_at": milk["created_at"], "updated_at": milk["updated_at"]
        }]),
        "only the milk task matched, shown by number and without its id"
    );
    assert_eq!(results[1]["tasks"][0]["completed"], true);
    assert_eq!(results[1]["tasks"][0]["number"], 1);
    assert_eq!(results[2]["error"], "the user has no task #999");
    assert_eq!(
        results[3]["error"], "number (the task's number, an integer) is required",
        "an id is not a number"
    );
    assert!(
        results[4]["error"]
            .as_str()
            .unwrap()
            .contains("launch_rockets")
    );
    server.stop().await;
}

#[tokio::test]
async fn the_parser_answers_when_the_api_fails() {
    let standin = StandIn::start(vec![
        Reply::Status(500),
        Reply::Status(401),
        Reply::Garbage,
        Reply::Completion(json!({"choices": []})),
        // Endless tool calls.
        tool_calls(&[("list_tasks", json!({}))]),
        tool_calls(&[("list_tasks", json!({}))]),
        tool_calls(&[("list_tasks", json!({}))]),
        tool_calls(&[("list_tasks", json!({}))]),
        tool_calls(&[("list_tasks", json!({}))]),
    ])
    .await;
    let server = server_with(&standin.base_url).await;
    let token = server.signup("ann@example.com").await;
    for n in 1..=5 {
        let answer = chat(&server, &token, &format!("add errand {n}")).await;
        assert_eq!(answer["source"], "parser", "{answer}");
        assert_eq!(answer["tasks"][0]["title"], format!("errand {n}"));
    }
    server.stop().await;
}

#[tokio::test]
async fn the_parser_answers_when_the_api_is_unreachable_or_slow() {
    // A port that was free a moment ago: nothing listens there.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/v1", listener.local_addr().unwrap())
    };
    let server = server_with(&closed).await;
    let token = server.signup("ann@example.com").await;
    let answer = chat(&server, &token, "add buy milk").await;
    assert_eq!(answer["source"], "parser");
    server.stop().await;

    let standin = StandIn::start(vec![Reply::After(
        Duration::from_secs(60),
        Box::new(text("late")),
    )])
    .await;
    let mut config = common::config(&[
        ("OPENAI_API_KEY", "sk-test-key"),
        ("OPENAI_BASE_URL", &standin.base_url),
        ("BETTER_AUTH_SECRET", common::SECRET),
    ]);
    config.llm.as_mut().unwrap().timeout = Duration::from_millis(300);
    let db = common::TestDb::new(Db::Sqlite).await.unwrap();
    config.database = todo_backend::config::Database::parse(&db.url).unwrap();
    let server = TestServer::start_config(config, db).await;
    let token = server.signup("ann@example.com").await;
    let answer = chat(&server, &token, "what is still open?").await;
    assert_eq!(answer["source"], "parser");
    assert_eq!(answer["reply"], "You have no open tasks.");
    server.stop().await;
}

#[tokio::test]
async fn an_update_that_changes_nothing_is_reported_to_the_model() {
    let standin = StandIn::start(vec![
        tool_calls(&[("update_task", json!({"number": 1, "priority": "high"}))]),
        text("It is already high priority."),
        tool_calls(&[("update_task", json!({"number": 1, "priority": "low"}))]),
        text("Now low."),
    ])
    .await;
    let server = server_with(&standin.base_url).await;
    someone_else_first(&server).await;
    let token = server.signup("ann@example.com").await;
    server
        .create(&token, json!({"title": "call mum", "priority": "high"}))
        .await;

    chat(&server, &token, "make call mum high priority").await;
    chat(&server, &token, "make call mum low priority").await;
    let received = standin.received();
    let result = |request: usize| -> Value {
        let messages = received[request].body["messages"].as_array().unwrap();
        serde_json::from_str(messages[3]["content"].as_str().unwrap()).unwrap()
    };
    assert_eq!(result(1)["unchanged"], true, "{}", result(1));
    assert_eq!(result(3)["unchanged"], Value::Null, "{}", result(3));
    assert_eq!(result(3)["tasks"][0]["priority"], "low");
    server.stop().await;
}
