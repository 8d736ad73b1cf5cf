//! Starting, dependencies and shutdown.

use super::*;

#[tokio::test(start_paused = true)]
async fn starts_the_configured_workers_and_routes_to_ready_ones() {
    let mut h = start(vec![app("web", 2), app("api", 1)]);
    let spawned = h.calls(3).await;
    assert_eq!(spawned, [spawn("api:0"), spawn("web:0"), spawn("web:1")]);

    h.send(ready("web:1"));
    h.wait_status(|s| s.apps.iter().any(|a| a.ready_workers() == 1))
        .await;
    assert_eq!(h.routes.borrow().ready_count("web"), 1);
    assert_eq!(
        h.status.borrow().phase,
        Phase::Starting,
        "api is not ready yet"
    );

    h.send(ready("api:0"));
    let status = h.wait_status(|s| s.phase == Phase::Running).await;
    assert_eq!(status.not_ready_reason(), None);
    assert_eq!(
        h.states("web"),
        [
            ("web:0".into(), WorkerState::Starting),
            ("web:1".into(), WorkerState::Ready)
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn an_app_starts_once_every_worker_of_its_dependencies_is_ready() {
    let mut web = app("web", 1);
    web.dependencies = vec!["api".into()];
    let mut h = start(vec![app("api", 2), web]);
    assert_eq!(h.call().await, spawn("api:0"));
    assert_eq!(h.call().await, spawn("api:1"));
    assert!(h.calls.try_recv().is_err(), "web waits for api");
    h.send(ready("api:0"));
    h.wait_status(|s| {
        s.apps
            .iter()
            .any(|a| a.workers.iter().any(|w| w.state == WorkerState::Ready))
    })
    .await;
    assert!(
        h.calls.try_recv().is_err(),
        "one of api's two workers is not enough"
    );
    h.send(ready("api:1"));
    assert_eq!(h.call().await, spawn("web:0"));
}

#[tokio::test(start_paused = true)]
async fn an_app_whose_dependency_failed_starts_all_the_same() {
    let mut web = app("web", 1);
    web.dependencies = vec!["api".into()];
    let mut api = app("api", 1);
    api.faults.max_failed_starts = 1;
    let mut h = start(vec![api, web]);
    assert_eq!(h.call().await, spawn("api:0"));
    h.send(crashed("api:0", "cannot load"));
    assert_eq!(h.call().await, spawn("web:0"));
}

#[tokio::test(start_paused = true)]
async fn shutdown_stops_every_worker_and_does_not_restart_them() {
    let mut h = running(2).await;

    h.send(Event::BeginShutdown);
    let status = h.wait_status(|s| s.phase == Phase::ShuttingDown).await;
    assert_eq!(status.not_ready_reason().as_deref(), Some("shutting down"));
    assert_eq!(
        h.routes.borrow().ready_count("web"),
        2,
        "in-flight work still drains"
    );

    h.send(stop_workers());
    let stopped = h.calls(2).await;
    assert_eq!(stopped, [stop("web:0"), stop("web:1")]);
    assert_eq!(h.routes.borrow().ready_count("web"), 0);
    assert!(h
        .states("web")
        .iter()
        .all(|(_, s)| *s == WorkerState::Draining));

    h.send(exited("web:0", 0));
    h.send(exited("web:1", 1));
    h.wait_status(|s| s.phase == Phase::Stopped).await;
    assert!(
        h.calls.try_recv().is_err(),
        "no worker restarted during shutdown"
    );
}
