//! Adding and removing apps in a running server: nothing else restarts, and the other
//! apps' traffic does not notice.

use std::time::Duration;

use spindle_e2e::client::get;
use spindle_e2e::load::Load;
use spindle_e2e::{fixture, TestServer, STEP_TIMEOUT};

#[tokio::test]
async fn an_app_added_under_load_joins_the_mesh_and_a_removed_one_leaves_without_failing_the_others(
) {
    let server = TestServer::new()
        .app("gateway", fixture("mesh-gateway"))
        .app("api", fixture("mesh-api"))
        .workers(2)
        .entrypoint("gateway")
        .start()
        .await;
    let workers_before: Vec<String> = server
        .logs()
        .iter()
        .filter(|l| l.is_msg("worker ready"))
        .filter_map(|l| l.str("worker").map(String::from))
        .collect();

    // Steady mesh traffic to `api` all along; strict: anything but api's own 200 fails.
    let load = Load::get(server.url(), "/via-fetch?to=api&path=/whoami&strict=1")
        .clients(4)
        .limits(50_000, Duration::from_secs(20))
        .start();
    load.assert_going(50).await;

    let added = server
        .cli(&[
            "apps",
            "add",
            fixture("mesh-api").to_str().unwrap(),
            "--id",
            "extra",
            "--route",
            "/extra",
            "--save",
        ])
        .await;
    added.assert_ok();
    let config = server.config_path().expect("a config file").to_path_buf();
    assert!(
        added.stdout.starts_with("added extra\nsaved to "),
        "{}",
        added.describe()
    );
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    let ids: Vec<&str> = saved["applications"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["id"].as_str())
        .collect();
    assert_eq!(
        ids,
        ["gateway", "api", "extra"],
        "--save appended the app: {saved}"
    );
    server
        .wait_log(
            |l| l.is_msg("worker ready") && l.str("worker") == Some("extra:0"),
            STEP_TIMEOUT,
        )
        .await;

    // The new app answers over the mesh (its fixture calls itself "api" unless told
    // otherwise; the Host it saw proves which app was reached).
    let via = get(&format!("{}/via-fetch?to=extra&path=/whoami", server.url()))
        .await
        .json();
    assert_eq!(via["status"], 200, "{via}");
    assert_eq!(via["body"]["host"], "extra.plt.local", "{via}");

    // ...and on the public port under its route, with the prefix removed.
    let routed = get(&format!("{}/extra/whoami", server.url())).await.json();
    assert_eq!(
        routed["host"].as_str().map(|h| h.starts_with("127.0.0.1")),
        Some(true),
        "{routed}"
    );
    assert_eq!(routed["method"], "GET", "{routed}");

    let removed = server.cli(&["apps", "remove", "extra", "--save"]).await;
    removed.assert_ok();
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    assert_eq!(
        saved["applications"].as_array().unwrap().len(),
        2,
        "--save removed the app: {saved}"
    );
    server
        .wait_log(
            |l| l.is_msg("app removed") && l.str("app") == Some("extra"),
            STEP_TIMEOUT,
        )
        .await;
    let gone = get(&format!("{}/via-fetch?to=extra&path=/whoami", server.url()))
        .await
        .json();
    assert_eq!(gone["status"], 502, "{gone}");
    assert_eq!(gone["body"]["error"], "unknown_app", "{gone}");
    // Its route went with it: the path falls back to the entrypoint.
    let fallback = get(&format!("{}/extra/whoami", server.url())).await;
    assert!(
        !fallback.text().contains("\"threadId\"") || fallback.text().contains("gateway"),
        "{}",
        fallback.text()
    );

    // The entrypoint cannot be removed, and a bad path is refused with a reason.
    let refused = server.cli(&["apps", "remove", "gateway"]).await;
    assert_eq!(refused.code, Some(1), "{}", refused.describe());
    assert!(
        refused.stderr.contains("entrypoint"),
        "{}",
        refused.describe()
    );
    let bad = server.cli(&["apps", "add", "/nonexistent/app"]).await;
    assert_eq!(bad.code, Some(1), "{}", bad.describe());
    assert!(bad.stderr.contains("does not exist"), "{}", bad.describe());

    load.stop();
    let report = load.finish().await;
    assert_eq!(report.failed, 0, "{}", report.summary());
    // Nothing else restarted: the same workers still serve gateway and api.
    let restarted: Vec<String> = server
        .logs()
        .iter()
        .filter(|l| l.is_msg("worker exited") || l.is_msg("worker crashed"))
        .filter_map(|l| l.str("worker").map(String::from))
        .filter(|w| workers_before.contains(w))
        .collect();
    assert!(
        restarted.is_empty(),
        "workers restarted by an add/remove: {restarted:?}"
    );
}
