//! Standby workers, and workers exiting unasked.

use super::*;

fn with_standby(mut config: AppConfig, standby: u32) -> AppConfig {
    config.faults.standby_workers = standby;
    config
}

/// Starts `web` with `workers` serving and one standby, all ready; returns the harness.
async fn running_with_standby(workers: u32) -> Harness {
    let mut h = start(vec![with_standby(app("web", workers), 1)]);
    for n in 0..workers {
        assert_eq!(h.call().await, Call::Spawn(format!("web:{n}")));
    }
    for n in 0..workers {
        h.send(ready(&format!("web:{n}")));
    }
    assert_eq!(h.call().await, Call::Spawn(format!("web:{workers}")));
    h.send(ready(&format!("web:{workers}")));
    h.wait_for_standby().await;
    h
}

#[tokio::test(start_paused = true)]
async fn a_standby_worker_starts_once_the_serving_ones_are_ready_and_gets_no_requests() {
    let mut h = start(vec![with_standby(app("web", 2), 1)]);
    assert_eq!(h.call().await, spawn("web:0"));
    assert_eq!(h.call().await, spawn("web:1"));
    h.send(ready("web:0"));
    h.wait_status(|s| s.phase == Phase::Running).await;
    assert!(
        h.calls.try_recv().is_err(),
        "no standby while a serving worker is still starting"
    );

    h.send(ready("web:1"));
    assert_eq!(h.call().await, spawn("web:2"));
    h.send(ready("web:2"));
    h.wait_for_standby().await;
    assert_eq!(
        h.states("web"),
        [
            ("web:0".into(), WorkerState::Ready),
            ("web:1".into(), WorkerState::Ready),
            ("web:2".into(), WorkerState::Standby)
        ]
    );
    assert_eq!(h.routes.borrow().ready_count("web"), 2);
    assert_eq!(h.status.borrow().apps[0].ready_workers(), 2);
    assert!(h.calls.try_recv().is_err(), "one standby is enough");
}

#[tokio::test(start_paused = true)]
async fn unset_standby_workers_means_one_standby_once_the_app_has_crashed() {
    let mut config = app("web", 1);
    config.faults.standby_after_failure = true;
    let mut h = start(vec![config]);
    assert_eq!(h.call().await, spawn("web:0"));
    h.send(ready("web:0"));
    h.wait_status(|s| s.apps[0].workers[0].state == WorkerState::Ready)
        .await;
    assert!(h.calls.try_recv().is_err(), "no standby before a failure");

    h.send(crashed("web:0", "boom"));
    assert_eq!(h.call().await, spawn("web:1"));
    h.send(ready("web:1"));
    // Ready again: from now on the app keeps one standby.
    assert_eq!(h.call().await, spawn("web:2"));
    h.send(ready("web:2"));
    h.wait_state("web:2", WorkerState::Standby).await;
    // The next crash is not a cold start.
    h.send(crashed("web:1", "boom"));
    h.wait_state("web:2", WorkerState::Ready).await;
    assert_eq!(h.routes.borrow().ready_count("web"), 1);
}

#[tokio::test(start_paused = true)]
async fn a_crash_promotes_the_standby_at_once_even_inside_a_crash_loop_delay() {
    let mut h = running_with_standby(1).await;
    h.send(crashed("web:0", "boom"));
    // The first crash restarts at once: the standby serves, a new standby starts.
    assert_eq!(h.call().await, spawn("web:2"));
    assert_eq!(
        h.states("web"),
        [
            ("web:1".into(), WorkerState::Ready),
            ("web:2".into(), WorkerState::Starting)
        ]
    );
    assert_eq!(h.routes.borrow().ready_count("web"), 1);
    h.send(ready("web:2"));
    h.wait_for_standby().await;

    // A second crash soon after is a crash loop: the next start waits. The loaded
    // standby serves at once all the same.
    h.send(crashed("web:1", "boom"));
    h.wait_status(|s| {
        s.apps[0].workers.len() == 1 && s.apps[0].workers[0].state == WorkerState::Ready
    })
    .await;
    assert_eq!(h.states("web"), [("web:2".into(), WorkerState::Ready)]);
    assert_eq!(h.routes.borrow().ready_count("web"), 1);
    assert_eq!(h.status.borrow().apps[0].restarts.crash, 2);
    tokio::time::advance(backoff::FIRST_DELAY / 2).await;
    assert!(h.calls.try_recv().is_err(), "no start inside the delay");
    assert_eq!(h.call().await, spawn("web:3"));
}

#[tokio::test(start_paused = true)]
async fn a_crash_while_the_standby_loads_promotes_it_to_serve_once_ready() {
    let mut h = start(vec![with_standby(app("web", 1), 1)]);
    assert_eq!(h.call().await, spawn("web:0"));
    h.send(ready("web:0"));
    assert_eq!(h.call().await, spawn("web:1"));
    tokio::time::advance(backoff::GOOD_START).await;
    h.send(exited("web:0", 1));
    // The loading standby fills the place; no cold start on top of it.
    h.wait_status(|s| s.apps[0].workers.len() == 1).await;
    h.send(ready("web:1"));
    h.wait_status(|s| s.apps[0].ready_workers() == 1).await;
    assert_eq!(h.routes.borrow().ready_count("web"), 1);
    // With the place filled and nothing starting, a new standby follows.
    assert_eq!(h.call().await, spawn("web:2"));
}

#[tokio::test(start_paused = true)]
async fn a_stuck_worker_gives_way_to_the_standby_and_is_terminated_at_once() {
    let mut h = start(vec![with_standby(app("web", 1), 1)]);
    assert_eq!(h.call().await, spawn("web:0"));
    attach_frozen_loop(&h, "web:0");
    h.send(ready("web:0"));
    assert_eq!(h.call().await, spawn("web:1"));
    h.send(ready("web:1"));

    // No cold start to wait for: the stuck worker is ended as soon as it is found.
    assert_eq!(h.call().await, terminate("web:0"));
    assert_eq!(h.routes.borrow().ready_count("web"), 1);
    assert_eq!(h.states("web")[1], ("web:1".into(), WorkerState::Ready));
    assert_eq!(h.call().await, spawn("web:2"));
}

#[tokio::test(start_paused = true)]
async fn scaling_up_promotes_the_standby_first() {
    let mut h = running_with_standby(1).await;
    h.send(scale_web(2));
    h.wait_status(|s| s.apps[0].ready_workers() == 2).await;
    assert_eq!(h.routes.borrow().ready_count("web"), 2);
    assert_eq!(h.call().await, spawn("web:2"));
}

#[tokio::test(start_paused = true)]
async fn a_rolling_restart_replaces_the_standby_as_well() {
    let mut h = running_with_standby(1).await;
    h.send(Event::Restart(Some("web".into())));
    let calls = h.calls(2).await;
    // The successor starts, and the standby (old code) leaves.
    assert_eq!(calls, [spawn("web:2"), stop("web:1")]);
    h.send(exited("web:1", 0));
    h.send(ready("web:2"));
    let calls = h.calls(2).await;
    // A new standby (new code) once the successor serves; the old worker drains.
    assert_eq!(calls, [spawn("web:3"), stop("web:0")]);
}

#[tokio::test(start_paused = true)]
async fn a_worker_exiting_unasked_leaves_routing_and_gives_way_to_the_standby_before_its_end() {
    let mut h = running_with_standby(2).await;
    h.send(Event::Exiting(id("web:0")));
    h.wait_status(|s| {
        s.apps[0]
            .workers
            .iter()
            .all(|w| w.state != WorkerState::Standby)
    })
    .await;
    let routes = h.routes.borrow().clone();
    assert_eq!(routes.ready_count("web"), 2, "web:1 and the promoted web:2");
    assert!(
        h.calls.try_recv().is_err(),
        "nothing starts before the thread has ended"
    );

    tokio::time::advance(backoff::GOOD_START).await;
    h.send(exited("web:0", 1));
    // Its end is still a crash (counted, logged), and a new standby follows.
    assert_eq!(h.call().await, spawn("web:3"));
    assert_eq!(h.status.borrow().apps[0].restarts.crash, 1);
    assert_eq!(h.routes.borrow().ready_count("web"), 2);
}

#[tokio::test(start_paused = true)]
async fn a_worker_exiting_after_being_asked_to_stop_changes_nothing() {
    let mut h = running_with_standby(1).await;
    h.send(scale_web(1));
    h.send(stop_workers());
    let stops = h.calls(2).await;
    assert_eq!(stops, [stop("web:0"), stop("web:1")]);
    h.send(Event::Exiting(id("web:0")));
    h.send(exited("web:0", 0));
    h.wait_status(|s| s.apps[0].workers.len() == 1).await;
    assert_eq!(h.status.borrow().apps[0].restarts.crash, 0);
}
