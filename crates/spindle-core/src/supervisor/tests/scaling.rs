//! Scaling by command and by the scaler.

use super::*;

#[tokio::test(start_paused = true)]
async fn scaling_starts_workers_and_drains_the_newest_before_stopping_them() {
    let mut h = start(vec![app("web", 1)]);
    assert_eq!(h.call().await, spawn("web:0"));
    h.send(ready("web:0"));
    h.send(scale_web(3));
    assert_eq!(h.call().await, spawn("web:1"));
    assert_eq!(h.call().await, spawn("web:2"));
    h.send(ready("web:1"));
    h.send(ready("web:2"));
    h.wait_status(|s| s.apps[0].ready_workers() == 3).await;

    h.send(scale_web(1));
    let status = h.wait_status(|s| s.apps[0].workers_wanted == Some(1)).await;
    assert_eq!(
        status.apps[0]
            .workers
            .iter()
            .map(|w| w.state)
            .collect::<Vec<_>>(),
        [
            WorkerState::Ready,
            WorkerState::Draining,
            WorkerState::Draining
        ]
    );
    assert_eq!(
        h.routes.borrow().ready_count("web"),
        1,
        "draining workers get no new requests"
    );
    // Nothing in flight: the next health tick stops them.
    let stops = h.calls(2).await;
    assert_eq!(stops, [stop("web:1"), stop("web:2")]);
    h.send(exited("web:1", 0));
    h.send(exited("web:2", 0));
    let status = h.wait_status(|s| s.apps[0].workers.len() == 1).await;
    assert_eq!(
        status.apps[0].restarts.crash, 0,
        "a scale-down is not a crash"
    );
    assert!(h.calls.try_recv().is_err(), "nothing restarted");
}

#[tokio::test(start_paused = true)]
async fn the_scaler_adds_a_worker_to_a_busy_dynamic_app_and_logs_why() {
    let mut config = app("web", 1);
    config.scaling = spindle_config::AppScaling {
        min: NonZeroU32::new(1).unwrap(),
        max: NonZeroU32::new(2).unwrap(),
        dynamic: true,
    };
    let scaling = spindle_config::ScalingConfig {
        dynamic: true,
        total: 2,
        grace_period: Duration::ZERO,
        cooldown: Duration::from_secs(5),
        ..spindle_config::ScalingConfig::default()
    };
    let mut h = start_with(vec![config], scaling);
    assert_eq!(h.call().await, spawn("web:0"));
    attach_busy_loop(&h, "web:0");
    h.send(ready("web:0"));
    let began = Instant::now();
    // ELU 1.0 ≥ 0.8: one more worker, at the first scaler tick with a full window.
    assert_eq!(h.call().await, spawn("web:1"));
    assert!(
        began.elapsed() <= Duration::from_secs(3),
        "{:?}",
        began.elapsed()
    );
    let status = h.wait_status(|s| s.apps[0].workers_wanted == Some(2)).await;
    assert_eq!(status.apps[0].scaled.up, 1);
    // At max: nothing more, however busy.
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert!(h.calls.try_recv().is_err());
}
