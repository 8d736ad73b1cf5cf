//! SIGTERM under load: in-flight requests finish, new connections are refused, exit 0.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;
use spindle_e2e::client::{get, poll, try_get, ClientError};
use spindle_e2e::{fixture, TestServer, STEP_TIMEOUT};
use tokio::net::TcpStream;

const CLIENTS: usize = 8;
const REQUESTS_PER_CLIENT: usize = 20;

/// What happened to one request of the load.
#[derive(Debug)]
struct Outcome {
    tag: String,
    result: Result<StatusCode, String>,
    refused: bool,
    /// SIGTERM had been sent when the client started this request (informational: a
    /// request started just before it can still race the listener closing).
    after_sigterm: bool,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_in_flight_requests_and_exits_zero() {
    let server = TestServer::new()
        .app("web", fixture("plain"))
        .workers(2)
        .graceful(10_000)
        .start()
        .await;
    let url = server.url().to_string();
    let sigterm_sent = Arc::new(AtomicBool::new(false));
    // Served at all before the load starts (else the waits below could only time out).
    let first = get(&format!("{url}/")).await;
    assert_eq!(
        first.status,
        StatusCode::OK,
        "first request after the ready line: {}",
        first.text()
    );

    // Bounded load: each client sends at most REQUESTS_PER_CLIENT requests of 200 ms, one
    // connection each, and stops at its first failure.
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let url = url.clone();
            let sigterm_sent = sigterm_sent.clone();
            tokio::spawn(async move {
                let mut outcomes = Vec::new();
                for n in 0..REQUESTS_PER_CLIENT {
                    let tag = format!("c{client}-{n}");
                    let after_sigterm = sigterm_sent.load(Ordering::SeqCst);
                    let result = try_get(&format!("{url}/slow?ms=200&tag={tag}")).await;
                    let refused = result.as_ref().err().is_some_and(ClientError::is_refused);
                    let failed = result.is_err();
                    outcomes.push(Outcome {
                        tag,
                        result: result.map(|r| r.status).map_err(|e| e.to_string()),
                        refused,
                        after_sigterm,
                    });
                    if failed {
                        break;
                    }
                }
                outcomes
            })
        })
        .collect();
    // One long request keeps the server draining long enough to probe it.
    let long = tokio::spawn({
        let url = url.clone();
        async move { try_get(&format!("{url}/slow?ms=2000&tag=long")).await }
    });

    // A request of every client, and the long one, have reached a worker.
    for prefix in (0..CLIENTS)
        .map(|c| format!("c{c}-"))
        .chain(["long".to_string()])
    {
        server
            .wait_log(
                |line| {
                    line.msg() == Some("slow request started")
                        && line.str("tag").is_some_and(|tag| tag.starts_with(&prefix))
                },
                STEP_TIMEOUT,
            )
            .await;
    }
    let mark = server.log_mark();
    sigterm_sent.store(true, Ordering::SeqCst);
    server.sigterm();

    // Readiness goes false (or the admin server is gone).
    let admin_ready = format!("{}/ready", server.admin_url());
    let not_ready = poll(Duration::from_secs(5), || async {
        match try_get(&admin_ready).await {
            Ok(response) if response.status == StatusCode::OK => None,
            Ok(response) => Some(format!("/ready answered {}", response.status)),
            Err(err) => Some(format!("/ready failed: {err}")),
        }
    })
    .await;
    assert!(
        not_ready.is_some(),
        "/ready still 200 five seconds after SIGTERM"
    );

    // New connections are refused while the long request is still being served.
    let addr = server.addr().to_string();
    let refused = poll(Duration::from_secs(5), || async {
        match TcpStream::connect(&addr).await {
            Err(err) if err.kind() == std::io::ErrorKind::ConnectionRefused => Some(()),
            _ => None,
        }
    })
    .await;
    let refused_while_draining = refused.is_some() && !long.is_finished();

    // The long request, in flight at SIGTERM, completes.
    match long.await.expect("long request task") {
        Ok(response) => assert_eq!(
            response.status,
            StatusCode::OK,
            "the request in flight at SIGTERM: {}",
            response.text()
        ),
        Err(err) => panic!("the request in flight at SIGTERM failed: {err}"),
    }
    assert!(
        refused.is_some(),
        "the ingress still accepted connections 5 s after SIGTERM"
    );
    assert!(
        refused_while_draining,
        "the ingress refused new connections only after the in-flight request finished"
    );

    let mut outcomes = Vec::new();
    for client in clients {
        outcomes.extend(client.await.expect("client task"));
    }
    let logged_before: Vec<String> = server
        .logs()
        .iter()
        .take(mark)
        .filter(|line| line.msg() == Some("slow request started"))
        .filter_map(|line| line.str("tag").map(str::to_string))
        .collect();
    let summary = format!("{outcomes:#?}");
    for outcome in &outcomes {
        // Every response that came back is a 200.
        if let Ok(status) = outcome.result {
            assert_eq!(status, StatusCode::OK, "{}: {summary}", outcome.tag);
        }
        // Every request that had reached a worker before SIGTERM got its response.
        if logged_before.contains(&outcome.tag) {
            assert_eq!(
                outcome.result,
                Ok(StatusCode::OK),
                "{} was in flight at SIGTERM: {summary}",
                outcome.tag
            );
        }
    }
    // A connection made in the instant between SIGTERM and the listener closing can be
    // reset rather than refused: reported, not failed.
    for outcome in outcomes.iter().filter(|o| o.result.is_err() && !o.refused) {
        eprintln!(
            "{} (started {} SIGTERM) failed without a refusal: {:?}",
            outcome.tag,
            if outcome.after_sigterm {
                "after"
            } else {
                "before"
            },
            outcome.result
        );
    }

    let status = server.wait_exit(Duration::from_secs(15)).await;
    assert_eq!(status.code(), Some(0), "exit status {status}");
}

#[tokio::test]
async fn sigint_stops_an_idle_server_with_exit_zero() {
    let server = TestServer::new().app("web", fixture("plain")).start().await;
    server.sigint();
    let status = server.wait_exit(Duration::from_secs(15)).await;
    assert_eq!(status.code(), Some(0), "exit status {status}");
}
