//! Unhealthy workers: replaced before they stop, one at a time, never the last, not under load.

use super::*;

#[tokio::test(start_paused = true)]
async fn a_stuck_worker_is_replaced_before_it_is_terminated() {
    let mut h = start(vec![app("web", 1)]);
    assert_eq!(h.call().await, spawn("web:0"));
    attach_frozen_loop(&h, "web:0");
    h.send(ready("web:0"));
    let began = Instant::now();

    // The loop never turns: after maxStall the successor starts, and the stuck worker
    // leaves routing at once.
    assert_eq!(h.call().await, spawn("web:1"));
    let detected = began.elapsed();
    let max_stall = spindle_config::DEFAULT_MAX_STALL;
    assert!(detected >= max_stall, "{detected:?}");
    assert!(
        detected <= max_stall + 2 * spindle_config::DEFAULT_SAMPLE_INTERVAL,
        "{detected:?}"
    );
    assert_eq!(h.routes.borrow().ready_count("web"), 0);
    assert_eq!(h.states("web")[0], ("web:0".into(), WorkerState::Draining));

    // Terminated as soon as the successor is Ready, not before.
    h.send(ready("web:1"));
    assert_eq!(h.call().await, terminate("web:0"));
    h.send(exited("web:0", 1));
    let status = h.wait_status(|s| s.apps[0].workers.len() == 1).await;
    assert_eq!(status.apps[0].workers[0].id, "web:1");
    assert_eq!(status.apps[0].workers[0].state, WorkerState::Ready);
    assert!(
        h.calls.try_recv().is_err(),
        "no restart for a worker that was retired"
    );
}

#[tokio::test(start_paused = true)]
async fn a_saturated_app_keeps_its_workers() {
    let mut h = start(vec![app("web", 2)]);
    h.call().await;
    h.call().await;
    for w in ["web:0", "web:1"] {
        attach_busy_loop(&h, w);
        h.send(ready(w));
    }
    // Grace (5 s) plus many 1 s checks at ELU 1.0 on both: load, so nobody goes.
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert!(
        h.calls.try_recv().is_err(),
        "no replacement of a saturated app"
    );
    assert_eq!(h.routes.borrow().ready_count("web"), 2);
}

#[tokio::test(start_paused = true)]
async fn a_worker_busier_than_its_siblings_is_replaced_for_elu_one_at_a_time() {
    let mut h = start(vec![app("web", 3)]);
    for _ in 0..3 {
        h.call().await;
    }
    attach_busy_loop(&h, "web:0");
    attach_busy_loop(&h, "web:1");
    attach(&h, "web:2", IdleLoop(std::sync::atomic::AtomicU64::new(0)));
    for w in ["web:0", "web:1", "web:2"] {
        h.send(ready(w));
    }
    // Grace (5 s) plus five 1 s checks at ELU 1.0: one busy worker is replaced...
    assert_eq!(h.call().await, spawn("web:3"));
    assert_eq!(h.routes.borrow().ready_count("web"), 2);
    // ...and, while its successor is not Ready, the other stays.
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert!(h.calls.try_recv().is_err());
    assert_eq!(h.routes.borrow().ready_count("web"), 2);
}

#[tokio::test(start_paused = true)]
async fn the_last_serving_worker_is_not_replaced_for_elu() {
    let mut h = start(vec![app("web", 1)]);
    h.call().await;
    attach_busy_loop(&h, "web:0");
    h.send(ready("web:0"));
    h.wait_status(|s| s.phase == Phase::Running).await;
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert!(
        h.calls.try_recv().is_err(),
        "busy is not stuck: the only worker stays"
    );
    assert_eq!(h.routes.borrow().ready_count("web"), 1);
}
