//! Crashes: replaced at once, then with back-off, then the app is marked failed.

use super::*;

#[tokio::test(start_paused = true)]
async fn a_crashed_worker_is_replaced_at_once_with_a_fresh_id() {
    let mut h = start(vec![app("web", 1)]);
    assert_eq!(h.call().await, spawn("web:0"));
    h.send(ready("web:0"));
    h.wait_status(|s| s.phase == Phase::Running).await;

    // Served long enough to count as a good start: no delay before the restart.
    tokio::time::advance(backoff::GOOD_START).await;
    h.send(crashed("web:0", "boom"));
    assert_eq!(h.call().await, spawn("web:1"));
    let status = h
        .wait_status(|s| s.apps[0].workers.len() == 1 && s.apps[0].workers[0].id == "web:1")
        .await;
    assert_eq!(
        status.not_ready_reason().as_deref(),
        Some("no ready worker for app web")
    );
    assert_eq!(h.routes.borrow().ready_count("web"), 0);
}

#[tokio::test(start_paused = true)]
async fn a_crash_loop_backs_off() {
    let mut h = start(vec![app("web", 1)]);
    assert_eq!(h.call().await, spawn("web:0"));
    // Fails at load, again and again: the first restart is immediate, then 100 ms, 200 ms.
    h.send(exited("web:0", 1));
    assert_eq!(h.call().await, spawn("web:1"));
    for (n, delay_ms) in [(1u32, 100u64), (2, 200)] {
        let before = Instant::now();
        h.send(Event::Exited {
            id: WorkerId::new("web", n),
            code: 1,
            error: None,
        });
        assert_eq!(h.call().await, Call::Spawn(format!("web:{}", n + 1)));
        assert_eq!(before.elapsed(), Duration::from_millis(delay_ms));
    }
}

#[tokio::test(start_paused = true)]
async fn a_crash_loop_fails_the_app_and_stops_restarting() {
    let mut config = app("web", 1);
    config.faults.max_failed_starts = 3;
    let mut h = start(vec![config]);
    for n in 0..3 {
        assert_eq!(h.call().await, Call::Spawn(format!("web:{n}")));
        h.send(Event::Exited {
            id: WorkerId::new("web", n),
            code: 1,
            error: Some("Error: boom\n    at x".into()),
        });
    }
    let status = h.wait_status(|s| s.apps[0].failed.is_some()).await;
    assert_eq!(
        status.not_ready_reason().as_deref(),
        Some("app web failed: 3 workers in a row failed to start; last error: Error: boom")
    );
    // Well past the longest backoff: nothing more is started.
    tokio::time::sleep(backoff::MAX_DELAY * 2).await;
    assert!(h.calls.try_recv().is_err());

    // A restart gives it another chance.
    h.send(Event::Restart(Some("web".into())));
    assert_eq!(h.call().await, spawn("web:3"));
}
