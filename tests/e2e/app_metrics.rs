//! What dashboards built for prom-client and Watt query: the HTTP families under their
//! names, per-worker runtime figures each worker publishes on its own schedule, and an
//! app's own prom-client metrics, all answered from memory the core reads, so a scrape
//! is fast and the last figures stay (marked stale) while a worker's loop is stuck.

use std::time::Duration;

use http::{Method, StatusCode};
use serde_json::json;
use spindle_e2e::client::{full, get, get_within, poll, post, try_request};
use spindle_e2e::metrics::series_value as value;
use spindle_e2e::{fixture, Running, TestServer, STEP_TIMEOUT};

/// A scrape that must answer within a second, whatever the workers are doing.
async fn fast_scrape(server: &Running) -> String {
    let res = get_within(
        &format!("{}/metrics", server.admin_url()),
        Duration::from_secs(1),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    res.text()
}

#[tokio::test]
async fn an_apps_prom_client_counter_reaches_metrics_and_stays_while_its_worker_is_stuck() {
    // maxStall far away: the stuck worker is kept, so its last figures are what a scrape sees.
    let server = TestServer::new()
        .app("shop", fixture("prom-app"))
        .config_json(json!({"health": {"maxStall": 60000}}))
        .start()
        .await;
    let given = get(&format!("{}/prometheus", server.url())).await.json();
    assert_eq!(
        given,
        json!({"hasPrometheus": true, "sameClient": true, "sameRegistry": true}),
        "globalThis.platformatic.prometheus is the app's own prom-client and its registry"
    );
    for _ in 0..3 {
        assert_eq!(
            post(&format!("{}/order", server.url()), "").await.status,
            StatusCode::OK
        );
    }
    assert_eq!(
        post(&format!("{}/visit", server.url()), "").await.status,
        StatusCode::OK
    );

    let ids = r#"app="shop",worker="shop:0""#;
    let orders = format!(r#"shop_orders_total{{{ids},kind="web"}}"#);
    let visits = format!("shop_visits_total{{{ids}}}");
    // Published every 5 s by the worker: wait for the publication that has the counts.
    let before = match poll(STEP_TIMEOUT, || async {
        let m = fast_scrape(&server).await;
        (value(&m, &orders) == Some(3.0)).then_some(m)
    })
    .await
    {
        Some(m) => m,
        None => panic!("no {orders} 3 in:\n{}", fast_scrape(&server).await),
    };
    assert_eq!(value(&before, &visits), Some(1.0), "{before}");
    assert_eq!(
        before.matches("# TYPE shop_orders_total counter").count(),
        1
    );
    assert!(before.contains("# HELP shop_orders_total Orders placed.\n"));
    assert_eq!(
        value(&before, &format!("spindle_worker_metrics_stale{{{ids}}}")),
        Some(0.0),
        "{before}"
    );
    // The runtime figures the worker published, under prom-client's and Watt's names.
    for series in [
        format!("nodejs_eventloop_lag_seconds{{{ids}}}"),
        format!("nodejs_eventloop_lag_p99_seconds{{{ids}}}"),
        format!("nodejs_active_handles_total{{{ids}}}"),
        format!("nodejs_external_memory_bytes{{{ids}}}"),
        format!(r#"nodejs_heap_space_size_used_bytes{{{ids},space="old"}}"#),
        format!("thread_cpu_seconds_total{{{ids}}}"),
    ] {
        assert!(
            value(&before, &series).is_some(),
            "no {series} in:\n{before}"
        );
    }
    let cpu_before = value(&before, &format!("thread_cpu_seconds_total{{{ids}}}")).unwrap();

    // Stuck: the loop does not turn for 10 s, long enough to be marked stale (3 s without
    // a publication) and seen so twice.
    let url = format!("{}/spin?ms=10000", server.url());
    let spin = tokio::spawn(async move {
        try_request(&url, Method::POST, full(""), Duration::from_secs(30)).await
    });
    server
        .wait_log(|l| l.is_msg("spin begins"), STEP_TIMEOUT)
        .await;
    let stuck = poll(Duration::from_secs(6), || async {
        let m = fast_scrape(&server).await;
        (value(&m, &format!("spindle_worker_metrics_stale{{{ids}}}")) == Some(1.0)).then_some(m)
    })
    .await
    .expect("the stuck worker's figures are marked stale within 6 s");
    assert_eq!(
        value(&stuck, &orders),
        Some(3.0),
        "the stuck worker's last app metrics stay:\n{stuck}"
    );
    let age = value(
        &stuck,
        &format!("spindle_worker_metrics_age_seconds{{{ids}}}"),
    )
    .unwrap();
    assert!(age > 3.0, "age {age}");
    // Its CPU time is read from /proc, not published: it keeps counting while stuck (at
    // least one clock tick more, with the test nice'd on a busy machine).
    let cpu = |m: &str| value(m, &format!("thread_cpu_seconds_total{{{ids}}}")).unwrap();
    let cpu_stuck = cpu(&stuck);
    assert!(cpu_stuck > cpu_before, "{cpu_before} -> {cpu_stuck}");
    let later = poll(Duration::from_secs(3), || async {
        let m = fast_scrape(&server).await;
        let stale = value(&m, &format!("spindle_worker_metrics_stale{{{ids}}}")) == Some(1.0);
        (stale && cpu(&m) > cpu_stuck).then_some(m)
    })
    .await;
    assert!(
        later.is_some(),
        "thread CPU counting on from {cpu_stuck} while the loop is stuck"
    );

    let done = spin.await.unwrap().unwrap();
    assert_eq!(done.status, StatusCode::OK, "busy, not replaced");
    let fresh = poll(STEP_TIMEOUT, || async {
        let m = fast_scrape(&server).await;
        (value(&m, &format!("spindle_worker_metrics_stale{{{ids}}}")) == Some(0.0)).then_some(m)
    })
    .await;
    assert!(fresh.is_some(), "fresh again once the loop turns");
}

#[tokio::test]
async fn http_families_have_prom_client_names_status_codes_routes_and_watts_label_names() {
    let server = TestServer::new()
        .app("web", fixture("plain"))
        .app("shop", fixture("prom-app"))
        .entrypoint("web")
        .config_json(json!({
            "server": {"hostname": "127.0.0.1", "port": 0, "routes": {"/shop": "shop"}},
            "metrics": {"applicationLabel": "applicationId", "workerLabel": "workerId"}
        }))
        .start()
        .await;
    for _ in 0..4 {
        assert_eq!(
            get(&format!("{}/shop/", server.url())).await.status,
            StatusCode::OK
        );
    }
    assert_eq!(
        get(&format!("{}/shop/fail", server.url())).await.status,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(
        get(&format!("{}/", server.url())).await.status,
        StatusCode::OK
    );

    let m = fast_scrape(&server).await;
    let shop = r#"applicationId="shop",method="GET""#;
    for name in [
        "http_request_duration_seconds",
        "http_request_all_duration_seconds",
    ] {
        assert_eq!(
            value(
                &m,
                &format!(r#"{name}_count{{{shop},status_code="200",route="/shop"}}"#)
            ),
            Some(4.0),
            "{m}"
        );
        assert_eq!(
            value(
                &m,
                &format!(r#"{name}_bucket{{{shop},status_code="500",route="/shop",le="+Inf"}}"#)
            ),
            Some(1.0),
            "{m}"
        );
        // The entrypoint's unrouted requests have no route.
        assert_eq!(
            value(
                &m,
                &format!(r#"{name}_count{{applicationId="web",method="GET",status_code="200"}}"#)
            ),
            Some(1.0),
            "{m}"
        );
    }
    for name in [
        "http_request_summary_seconds",
        "http_request_all_summary_seconds",
    ] {
        assert!(m.contains(&format!("# TYPE {name} summary\n")), "{m}");
        let p99 = value(
            &m,
            &format!(r#"{name}{{{shop},status_code="200",route="/shop",quantile="0.99"}}"#),
        )
        .unwrap_or_else(|| panic!("no p99 in {m}"));
        assert!(p99 > 0.0 && p99 <= 10.0, "{p99}");
    }
    // Every per-app and per-worker series takes the configured label names.
    assert_eq!(
        value(
            &m,
            r#"spindle_worker_state{applicationId="shop",workerId="shop:0",state="ready"}"#
        ),
        Some(1.0),
        "{m}"
    );
    assert!(!m.contains("app=\""), "{m}");
    assert!(!m.contains("worker=\""), "{m}");
}
