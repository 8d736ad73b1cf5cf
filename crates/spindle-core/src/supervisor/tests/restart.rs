//! Rolling restarts.

use super::*;

#[tokio::test(start_paused = true)]
async fn rolling_restart_replaces_one_worker_at_a_time() {
    let mut h = running(2).await;

    h.send(Event::Restart(None));
    assert_eq!(h.call().await, spawn("web:2"));
    assert_eq!(
        h.routes.borrow().ready_count("web"),
        2,
        "both old workers serve meanwhile"
    );
    h.send(ready("web:2"));
    // The successor is Ready: its predecessor drains (nothing in flight) and stops,
    // and the next successor starts.
    let calls = h.calls(2).await;
    assert_eq!(calls, [spawn("web:3"), stop("web:0")]);
    h.send(exited("web:0", 0));
    h.send(ready("web:3"));
    assert_eq!(h.call().await, stop("web:1"));
    h.send(exited("web:1", 0));
    let status = h
        .wait_status(|s| s.apps[0].workers.len() == 2 && s.apps[0].ready_workers() == 2)
        .await;
    let ids: Vec<&str> = status.apps[0]
        .workers
        .iter()
        .map(|w| w.id.as_str())
        .collect();
    assert_eq!(ids, ["web:2", "web:3"]);
}
