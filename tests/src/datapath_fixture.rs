//! What the `datapath` fixture reports about itself (run it with one worker, so its
//! records are the whole app's): the requests that reached it (`/__seen`), what became of
//! a request it held (`/__events`) and the connections it has open (`/__sockets`).

use std::time::Duration;

use crate::client::{get_json, poll};
use crate::running::Running;
use crate::STEP_TIMEOUT;

/// How many requests the app has seen (its report routes aside), and the last targets.
pub async fn seen(server: &Running) -> (u64, Vec<String>) {
    let body = get_json(&format!("{}/__seen", server.url())).await;
    let urls = body["urls"]
        .as_array()
        .expect("urls")
        .iter()
        .map(|u| u.as_str().unwrap_or_default().to_string())
        .collect();
    (body["count"].as_u64().expect("count"), urls)
}

/// Whether one of `urls` carries the query parameter `tag=<tag>`.
pub fn has_tag(urls: &[String], tag: &str) -> bool {
    let param = format!("tag={tag}");
    urls.iter()
        .any(|u| u.split(['?', '&']).skip(1).any(|p| p == param))
}

/// What the app recorded for requests tagged `tag`.
pub async fn events(server: &Running, tag: &str) -> Vec<String> {
    let body = get_json(&format!("{}/__events?tag={tag}", server.url())).await;
    body["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e.as_str().unwrap_or_default().to_string())
        .collect()
}

/// Polls the app's events for `tag` until one starts with `prefix` (bounded).
pub async fn wait_event(server: &Running, tag: &str, prefix: &str) -> Vec<String> {
    wait_event_of(server, tag, &[prefix]).await
}

/// Polls the app's events for `tag` until one starts with any of `prefixes` (bounded).
pub async fn wait_event_of(server: &Running, tag: &str, prefixes: &[&str]) -> Vec<String> {
    let found = poll(STEP_TIMEOUT, || async {
        let events = events(server, tag).await;
        events
            .iter()
            .any(|e| prefixes.iter().any(|p| e.starts_with(p)))
            .then_some(events)
    })
    .await;
    match found {
        Some(events) => events,
        None => server.fail(&format!(
            "the app recorded none of {prefixes:?} for {tag}; it has {:?}",
            events(server, tag).await
        )),
    }
}

/// Client connections the app holds open (the one asking included).
pub async fn open_sockets(server: &Running) -> u64 {
    get_json(&format!("{}/__sockets", server.url())).await["open"]
        .as_u64()
        .expect("open")
}

/// Polls until the app holds at most `most` connections; fails with the last count.
pub async fn wait_open_sockets_at_most(server: &Running, most: u64, context: &str) {
    // Closing takes one trip through the worker's inbox: 5 s is plenty.
    let settled = poll(Duration::from_secs(5), || async {
        (open_sockets(server).await <= most).then_some(())
    })
    .await;
    if settled.is_none() {
        server.fail(&format!(
            "{context}: the app still holds {} connections (at most {most} expected): \
             virtual connections were left open",
            open_sockets(server).await
        ));
    }
}
