//! The chatbot's intent parser over HTTP: a table of phrasings and what each must do to a
//! seeded task list.
//!
//! Seed (ids in order): 1 "buy milk" due today; 2 "call mum" high, due tomorrow;
//! 3 "file taxes" done; 4 "buy bread" low, due 2020-01-01 (overdue).

mod common;

use chrono::{Datelike, Duration, NaiveDate, Utc, Weekday};
use common::{Db, TestServer};
use reqwest::{Method, StatusCode};
use rstest::rstest;
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy)]
enum Due {
    None,
    Today,
    Tomorrow,
    Days(i64),
    Next(Weekday),
    On(&'static str),
}

impl Due {
    fn date(self) -> Option<NaiveDate> {
        let today = Utc::now().date_naive();
        match self {
            Self::None => None,
            Self::Today => Some(today),
            Self::Tomorrow => Some(today + Duration::days(1)),
            Self::Days(n) => Some(today + Duration::days(n)),
            Self::Next(weekday) => {
                let ahead = (7 + weekday.num_days_from_monday() as i64
                    - today.weekday().num_days_from_monday() as i64)
                    % 7;
                Some(today + Duration::days(if ahead == 0 { 7 } else { ahead }))
            }
            Self::On(date) => Some(date.parse().unwrap()),
        }
    }

    fn json(self) -> Value {
        self.date()
            .map_or(Value::Null, |date| json!(date.to_string()))
    }
}

#[derive(Debug, Clone)]
enum Expect {
    Added(&'static str, &'static str, Due, &'static [&'static str]),
    Listed(&'static [i64]),
    Done(i64),
    Reopened(i64),
    Deleted(i64),
    Renamed(i64, &'static str),
    Prioritized(i64, &'static str),
    DueSet(i64, Due),
    Help,
    /// Nothing changes; the reply names these candidates.
    Unclear(&'static [i64]),
}

async fn tasks(server: &TestServer, token: &str) -> Vec<Value> {
    let (_, list) = server
        .call(Method::GET, "/api/tasks?sort=created", Some(token), None)
        .await;
    let mut tasks = list["tasks"].as_array().unwrap().clone();
    tasks.sort_by_key(|task| task["id"].as_i64().unwrap());
    tasks
}

fn ids(tasks: &Value) -> Vec<i64> {
    let mut ids: Vec<i64> = tasks
        .as_array()
        .unwrap()
        .iter()
        .map(|task| task["id"].as_i64().unwrap())
        .collect();
    ids.sort();
    ids
}

#[rstest]
// Adding
#[case("add buy eggs", Expect::Added("buy eggs", "medium", Due::None, &[]))]
#[case("add buy oat milk tomorrow, high priority", Expect::Added("buy oat milk", "high", Due::Tomorrow, &[]))]
#[case("Add a task to water the plants today", Expect::Added("water the plants", "medium", Due::Today, &[]))]
#[case("create task: pay rent due 2030-04-01", Expect::Added("pay rent", "medium", Due::On("2030-04-01"), &[]))]
#[case("remind me to call the bank on friday", Expect::Added("call the bank", "medium", Due::Next(Weekday::Fri), &[]))]
#[case("new task renew passport next monday", Expect::Added("renew passport", "medium", Due::Next(Weekday::Mon), &[]))]
#[case("please add read a book, low priority", Expect::Added("read a book", "low", Due::None, &[]))]
#[case("I need to book flights by tomorrow", Expect::Added("book flights", "medium", Due::Tomorrow, &[]))]
#[case("add urgent: fix the sink", Expect::Added("fix the sink", "high", Due::None, &[]))]
#[case("add \"clean garage\" in 3 days", Expect::Added("clean garage", "medium", Due::Days(3), &[]))]
#[case("todo: mow the lawn", Expect::Added("mow the lawn", "medium", Due::None, &[]))]
#[case("add pick up kids on 2030-06-01 priority high", Expect::Added("pick up kids", "high", Due::On("2030-06-01"), &[]))]
#[case("add team meeting the day after tomorrow", Expect::Added("team meeting", "medium", Due::Days(2), &[]))]
#[case("add submit report #work next week", Expect::Added("submit report", "medium", Due::Days(7), &["work"]))]
#[case("Could you add walk the dog this saturday", Expect::Added("walk the dog", "medium", Due::Next(Weekday::Sat), &[]))]
#[case("add Buy Milk & Eggs!", Expect::Added("Buy Milk & Eggs", "medium", Due::None, &[]))]
// Listing
#[case("what is still open?", Expect::Listed(&[1, 2, 4]))]
#[case("show my tasks", Expect::Listed(&[1, 2, 3, 4]))]
#[case("list tasks", Expect::Listed(&[1, 2, 3, 4]))]
#[case("what have I done?", Expect::Listed(&[3]))]
#[case("show completed tasks", Expect::Listed(&[3]))]
#[case("what's due today?", Expect::Listed(&[1]))]
#[case("what is due tomorrow", Expect::Listed(&[2]))]
#[case("show high priority tasks", Expect::Listed(&[2]))]
#[case("what do I have to do?", Expect::Listed(&[1, 2, 4]))]
#[case("list open tasks", Expect::Listed(&[1, 2, 4]))]
#[case("any overdue tasks?", Expect::Listed(&[4]))]
#[case("can you show me what's left", Expect::Listed(&[1, 2, 4]))]
// Completing
#[case("mark 2 done", Expect::Done(2))]
#[case("complete task 2", Expect::Done(2))]
#[case("I finished the milk task", Expect::Done(1))]
#[case("check off call mum", Expect::Done(2))]
#[case("mark the milk task as complete", Expect::Done(1))]
#[case("task 4 is done", Expect::Done(4))]
#[case("done with #4", Expect::Done(4))]
// Reopening
#[case("reopen 3", Expect::Reopened(3))]
#[case("mark 3 as not done", Expect::Reopened(3))]
#[case("undo the taxes task", Expect::Reopened(3))]
// Deleting
#[case("delete the milk task", Expect::Deleted(1))]
#[case("remove task 4", Expect::Deleted(4))]
#[case("get rid of #2", Expect::Deleted(2))]
#[case("cancel call mum", Expect::Deleted(2))]
// Renaming
#[case("rename 2 to call dad", Expect::Renamed(2, "call dad"))]
#[case(
    "rename the milk task to buy oat milk",
    Expect::Renamed(1, "buy oat milk")
)]
#[case("change task 4 to buy rye bread", Expect::Renamed(4, "buy rye bread"))]
// Priority
#[case("set priority of 1 to high", Expect::Prioritized(1, "high"))]
#[case("make task 4 high priority", Expect::Prioritized(4, "high"))]
#[case("prioritize the taxes task", Expect::Prioritized(3, "high"))]
#[case("mark 1 as urgent", Expect::Prioritized(1, "high"))]
#[case("set the priority of call mum to low", Expect::Prioritized(2, "low"))]
// Due dates
#[case("move 2 to friday", Expect::DueSet(2, Due::Next(Weekday::Fri)))]
#[case(
    "postpone the milk task to 2030-01-15",
    Expect::DueSet(1, Due::On("2030-01-15"))
)]
#[case("set the due date of 4 to tomorrow", Expect::DueSet(4, Due::Tomorrow))]
#[case("clear the due date of 1", Expect::DueSet(1, Due::None))]
#[case(
    "the milk task is due next wednesday",
    Expect::DueSet(1, Due::Next(Weekday::Wed))
)]
// Unclear: help, or nothing changes
#[case("help", Expect::Help)]
#[case("what can you do?", Expect::Help)]
#[case("banana", Expect::Help)]
#[case("mark 99 done", Expect::Unclear(&[]))]
#[case("delete buy", Expect::Unclear(&[1, 4]))]
#[case("complete the dentist task", Expect::Unclear(&[]))]
#[tokio::test]
async fn chat_phrasings(#[case] message: &str, #[case] expect: Expect) {
    let server = TestServer::start(Db::Sqlite).await.unwrap();
    let token = server.signup("ann@example.com").await;
    let token = token.as_str();
    for body in [
        json!({"title": "buy milk", "due_date": Due::Today.json()}),
        json!({"title": "call mum", "priority": "high", "due_date": Due::Tomorrow.json()}),
        json!({"title": "file taxes", "completed": true}),
        json!({"title": "buy bread", "priority": "low", "due_date": "2020-01-01"}),
    ] {
        server.create(token, body).await;
    }
    let before = tasks(&server, token).await;

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
    let reply = answer["reply"].as_str().unwrap();
    assert!(!reply.is_empty());
    let after = tasks(&server, token).await;
    let task = |id: i64| after.iter().find(|task| task["id"] == id).cloned();
    let touched = &answer["tasks"];

    match expect {
        Expect::Added(title, priority, due, tags) => {
            assert_eq!(after.len(), before.len() + 1, "{reply}");
            let added = after.last().unwrap();
            assert_eq!(added["title"], title, "{reply}");
            assert_eq!(added["priority"], priority);
            assert_eq!(added["due_date"], due.json());
            assert_eq!(added["tags"], json!(tags));
            assert_eq!(touched, &json!([added]));
            assert!(reply.starts_with("Added"), "{reply}");
        }
        Expect::Listed(expected) => {
            assert_eq!(ids(touched), expected, "{reply}");
            assert_eq!(after, before, "listing changes nothing");
            for id in expected {
                assert!(reply.contains(&format!("#{id} ")), "{reply}");
            }
        }
        Expect::Done(id) | Expect::Reopened(id) => {
            let done = matches!(expect, Expect::Done(_));
            assert_eq!(task(id).unwrap()["completed"], done, "{reply}");
            assert_eq!(ids(touched), [id]);
        }
        Expect::Deleted(id) => {
            assert!(task(id).is_none(), "{reply}");
            assert_eq!(after.len(), before.len() - 1);
            assert_eq!(ids(touched), [id]);
            assert!(reply.starts_with("Deleted"), "{reply}");
        }
        Expect::Renamed(id, title) => {
            assert_eq!(task(id).unwrap()["title"], title, "{reply}");
            assert_eq!(ids(touched), [id]);
        }
        Expect::Prioritized(id, priority) => {
            assert_eq!(task(id).unwrap()["priority"], priority, "{reply}");
            assert_eq!(ids(touched), [id]);
        }
        Expect::DueSet(id, due) => {
            assert_eq!(task(id).unwrap()["due_date"], due.json(), "{reply}");
            assert_eq!(ids(touched), [id]);
        }
        Expect::Help => {
            assert!(reply.contains("add buy milk"), "{reply}");
            assert_eq!(touched, &json!([]));
            assert_eq!(after, before);
        }
        Expect::Unclear(candidates) => {
            assert_eq!(after, before, "nothing changes: {reply}");
            assert_eq!(ids(touched), candidates, "{reply}");
        }
    }
    server.stop().await;
}
