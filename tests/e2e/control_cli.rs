//! The operator commands (`ps`, `logs`, `restart`, `scale`, `inject`, `metrics`, `top`,
//! `stop`): the real binary against a real server, through the management API on its
//! private Unix socket. Each command is aimed at its test's server with `--pid`, since
//! tests run in parallel and several spindles are up at once.

use std::collections::BTreeSet;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::time::Duration;

use serde_json::Value;
use spindle_e2e::cli::{spindle_cli, CliOutput};
use spindle_e2e::client::get;
use spindle_e2e::load::Load;
use spindle_e2e::workers::wait_ready_workers;
use spindle_e2e::workers::StatusSource::Ps;
use spindle_e2e::{fixture, Running, TestServer, READY_TIMEOUT, STEP_TIMEOUT};
use tokio::io::{AsyncBufReadExt, BufReader};

const APP: &str = "web";

/// Asserts a failure in one line on stderr naming `what`, with the given exit code.
fn assert_fails(out: &CliOutput, code: i32, what: &str) {
    assert_eq!(out.code, Some(code), "{}", out.describe());
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr: {}", out.describe());
    assert!(
        lines[0].starts_with("spindle: error: ") && lines[0].contains(what),
        "stderr names {what}: {}",
        out.describe()
    );
    assert!(out.stdout.is_empty(), "{}", out.describe());
}

/// The fixture `name` as the app `web` with `workers` workers, once `ps` lists them all as
/// ready; their ids.
async fn start_ready(name: &str, workers: u32) -> (Running, BTreeSet<String>) {
    let server = TestServer::new()
        .app(APP, fixture(name))
        .workers(workers)
        .start()
        .await;
    let n = workers as usize;
    let ids = wait_ready_workers(&server, Ps, APP, n, &BTreeSet::new(), READY_TIMEOUT).await;
    (server, ids)
}

/// Every line of the command's output fits a 100-column terminal.
fn assert_fits_100_columns(out: &CliOutput) {
    assert!(
        out.stdout.lines().all(|line| line.chars().count() <= 100),
        "{}",
        out.describe()
    );
}

#[tokio::test]
async fn ps_lists_the_workers_as_ready() {
    let (server, ids) = start_ready("plain", 2).await;

    let json = server.cli(&["ps", "--json"]).await.assert_ok().json();
    assert_eq!(json["pid"], server.pid(), "{json}");
    assert_eq!(json["url"], server.url(), "{json}");
    assert_eq!(json["ready"], true, "{json}");

    let out = server.cli(&["ps"]).await;
    out.assert_ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines[0],
        format!(
            "spindle {} pid {} {} running ready",
            env!("CARGO_PKG_VERSION"),
            server.pid(),
            server.url()
        ),
        "{}",
        out.describe()
    );
    let header: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(
        header,
        [
            "APP",
            "WORKER",
            "STATE",
            "ELU",
            "HEAP",
            "MiB",
            "IN-FLIGHT",
            "RESTARTS",
            "UPTIME"
        ],
        "{}",
        out.describe()
    );
    for id in &ids {
        let row = lines
            .iter()
            .find(|line| line.split_whitespace().nth(1) == Some(id.as_str()))
            .unwrap_or_else(|| panic!("no row for {id}: {}", out.describe()));
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(&cells[..3], [APP, id.as_str(), "ready"], "{row}");
    }
    assert_fits_100_columns(&out);
}

#[tokio::test]
async fn logs_prints_the_app_lines_and_follows_new_ones() {
    let server = TestServer::new().app(APP, fixture("plain")).start().await;
    server
        .wait_log(
            |line| {
                line.is_app(APP)
                    && line
                        .msg()
                        .is_some_and(|m| m.starts_with("plain app loaded in thread"))
            },
            STEP_TIMEOUT,
        )
        .await;

    // Not a terminal: raw JSON lines, only the app's, at most 5.
    let out = server.cli(&["logs", "-n", "5", APP]).await;
    out.assert_ok();
    let lines: Vec<Value> = out
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    assert!(!lines.is_empty() && lines.len() <= 5, "{}", out.describe());
    // The app's own lines, and the coordinator's lines about its workers.
    let about_app = |line: &Value| {
        line["app"] == APP
            || line["worker"]
                .as_str()
                .is_some_and(|w| w.starts_with(&format!("{APP}:")))
    };
    assert!(lines.iter().all(about_app), "{}", out.describe());
    assert!(
        lines.iter().any(|line| line["msg"]
            .as_str()
            .is_some_and(|m| m.starts_with("plain app loaded in thread"))),
        "{}",
        out.describe()
    );

    // -f: the last line, then new ones as they come.
    let mut child = server.cli_spawn(&["logs", "-f", "-n", "1", APP]);
    let mut reader = BufReader::new(child.stdout.take().expect("piped")).lines();
    let first = tokio::time::timeout(STEP_TIMEOUT, reader.next_line())
        .await
        .expect("the tail line within the step timeout")
        .expect("read");
    assert!(first.is_some(), "logs -f printed its tail line");
    let tag = format!("follow-{}", server.pid());
    get(&format!("{}/slow?ms=0&tag={tag}", server.url())).await;
    let seen = tokio::time::timeout(STEP_TIMEOUT, async {
        while let Some(line) = reader.next_line().await.expect("read") {
            let json: Value = serde_json::from_str(&line).unwrap_or_default();
            if json["msg"] == "slow request started" && json["tag"] == tag.as_str() {
                return Some(json);
            }
        }
        None
    })
    .await
    .expect("the new line within the step timeout")
    .expect("logs -f ended early");
    assert_eq!(seen["app"], APP, "{seen}");
    let _ = child.kill().await;
}

/// `restart web` while GETs and POSTs run: not one fails, and every worker is replaced.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn restart_under_load_fails_no_request_and_replaces_every_worker() {
    let (server, initial) = start_ready("chaos", 2).await;

    let posts = Load::post_echo(server.url(), "/echo", 1024)
        .clients(4)
        .limits(200_000, Duration::from_secs(40))
        .start();
    let gets = Load::get(server.url(), "/")
        .clients(4)
        .limits(200_000, Duration::from_secs(40))
        .start();
    posts.assert_going(100).await;
    gets.assert_going(100).await;

    let mark = server.log_mark();
    let ok_before = posts.ok() + gets.ok();
    let out = server.cli(&["restart", APP]).await;
    out.assert_ok();
    assert_eq!(out.stdout, "restarting web\n", "{}", out.describe());
    server.wait_app_restarted_since(mark, APP).await;
    let during_restart = posts.ok() + gets.ok() - ok_before;
    assert!(
        !posts.is_finished() && !gets.is_finished(),
        "the load ended before the restart did: make its bounds wider"
    );
    let fresh = wait_ready_workers(&server, Ps, APP, 2, &initial, STEP_TIMEOUT).await;
    // Some more requests on the new workers.
    posts.wait_more_ok(100, STEP_TIMEOUT).await;
    gets.wait_more_ok(100, STEP_TIMEOUT).await;
    let posts = posts.finish().await;
    let gets = gets.finish().await;
    eprintln!(
        "restart load ({during_restart} answered between `restart` and `app restarted`):\n{}\n{}",
        posts.summary(),
        gets.summary()
    );

    assert_eq!(posts.failed, 0, "{}", posts.summary());
    assert_eq!(gets.failed, 0, "{}", gets.summary());
    assert!(
        during_restart > 0,
        "no request was answered while the restart was under way"
    );
    assert!(
        fresh.is_disjoint(&initial),
        "every worker was replaced: {initial:?} -> {fresh:?}"
    );
}

#[tokio::test]
async fn restart_without_an_app_restarts_every_app() {
    let server = TestServer::new()
        .app(APP, fixture("plain"))
        .app("api", fixture("plain"))
        .entrypoint(APP)
        .start()
        .await;
    let mark = server.log_mark();
    let out = server.cli(&["restart"]).await;
    out.assert_ok();
    // One line per app, in the server's order.
    let lines: BTreeSet<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines,
        BTreeSet::from(["restarting api", "restarting web"]),
        "{}",
        out.describe()
    );
    assert_eq!(out.stdout.lines().count(), 2, "{}", out.describe());
    for app in [APP, "api"] {
        server.wait_app_restarted_since(mark, app).await;
    }
}

#[tokio::test]
async fn scale_up_then_down_after_draining() {
    let server = TestServer::new()
        .app(APP, fixture("plain"))
        .graceful(5000)
        .start()
        .await;
    let first = wait_ready_workers(&server, Ps, APP, 1, &BTreeSet::new(), READY_TIMEOUT).await;

    let out = server.cli(&["scale", APP, "3"]).await;
    out.assert_ok();
    assert_eq!(
        out.stdout,
        "scaled web to 3 workers\n",
        "{}",
        out.describe()
    );
    let three = wait_ready_workers(&server, Ps, APP, 3, &BTreeSet::new(), STEP_TIMEOUT).await;
    assert!(three.is_superset(&first), "{first:?} -> {three:?}");

    let out = server.cli(&["scale", APP, "1"]).await;
    out.assert_ok();
    assert_eq!(out.stdout, "scaled web to 1 worker\n", "{}", out.describe());
    // The newest go: the first worker is the one left.
    let one = wait_ready_workers(&server, Ps, APP, 1, &BTreeSet::new(), STEP_TIMEOUT).await;
    assert_eq!(one, first);
    let status = server.cli(&["ps", "--json"]).await.json();
    assert_eq!(status["apps"][0]["workersWanted"], 1, "{status}");

    let out = server.cli(&["scale", APP, "0"]).await;
    assert_fails(&out, 1, "from 1 to 64");
}

#[tokio::test]
async fn inject_sends_a_request_to_a_worker_and_prints_it_like_curl_i() {
    let server = TestServer::new().app(APP, fixture("plain")).start().await;

    let out = server
        .cli(&["inject", APP, "GET", "/hello?x=1", "-H", "X-Probe: yes"])
        .await;
    out.assert_ok();
    let (head, body) = out
        .stdout
        .split_once("\n\n")
        .unwrap_or_else(|| panic!("no blank line after the headers: {}", out.describe()));
    let mut head = head.lines();
    assert_eq!(head.next(), Some("HTTP 200"), "{}", out.describe());
    assert!(
        head.any(|line| line == "content-type: application/json"),
        "{}",
        out.describe()
    );
    let body: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert_eq!(body["app"], "plain", "{body}");
    assert_eq!(body["method"], "GET", "{body}");
    assert_eq!(body["url"], "/hello?x=1", "{body}");
    assert_eq!(body["headers"]["x-probe"], "yes", "{body}");

    // A body, and the API's JSON for scripts.
    let out = server
        .cli(&["inject", APP, "POST", "/upload", "-d", "hello", "--json"])
        .await;
    let answer = out.assert_ok().json();
    assert_eq!(answer["status"], 200, "{answer}");
    let body: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["bytes"], 5, "{body}");
    assert_eq!(
        body["sha256"],
        "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    );
}

#[tokio::test]
async fn metrics_prints_prometheus_text_or_json() {
    let server = TestServer::new().app(APP, fixture("plain")).start().await;
    get(server.url()).await;

    let out = server.cli(&["metrics"]).await;
    out.assert_ok();
    assert!(
        out.stdout
            .lines()
            .any(|line| line.starts_with("spindle_http_requests_total{")),
        "{}",
        out.describe()
    );

    let json = server.cli(&["metrics", "--json"]).await.assert_ok().json();
    assert_eq!(json["apps"][0]["id"], APP, "{json}");
}

/// One frame on a non-terminal, with the traffic of the sampled window.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn top_once_renders_one_frame_with_traffic() {
    let (server, ids) = start_ready("plain", 2).await;
    let load = Load::get(server.url(), "/")
        .clients(2)
        .pause(Duration::from_millis(5))
        .limits(20_000, Duration::from_secs(20))
        .start();
    load.assert_going(20).await;

    let out = server.cli(&["top", "--once", "--interval", "500"]).await;
    let report = load.finish().await;
    out.assert_ok();
    assert!(
        !out.stdout.contains('\x1b'),
        "no escapes off a terminal: {}",
        out.describe()
    );
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines[0].starts_with(&format!(
            "spindle {} pid {}",
            env!("CARGO_PKG_VERSION"),
            server.pid()
        )),
        "{}",
        out.describe()
    );
    let app_row: Vec<&str> = lines
        .iter()
        .find(|line| line.split_whitespace().next() == Some(APP))
        .unwrap_or_else(|| panic!("no row for {APP}: {}", out.describe()))
        .split_whitespace()
        .collect();
    // APP WORKERS REQ/S 5XX/S P99 RESTARTS
    assert_eq!(app_row[1], "2/2", "{}", out.describe());
    let rate: f64 = app_row[2].parse().unwrap_or(0.0);
    assert!(
        rate > 0.0,
        "requests/s under load: {}\n{}",
        out.describe(),
        report.summary()
    );
    assert_ne!(app_row[4], "-", "a p99 under load: {}", out.describe());
    for id in &ids {
        assert!(
            lines
                .iter()
                .any(|line| line.split_whitespace().take(2).eq([id.as_str(), "ready"])),
            "a row for {id}: {}",
            out.describe()
        );
    }
    assert_fits_100_columns(&out);
}

#[tokio::test]
async fn stop_drains_and_exits_0() {
    let server = TestServer::new().app(APP, fixture("plain")).start().await;
    let out = server.cli(&["stop"]).await;
    out.assert_ok();
    assert_eq!(
        out.stdout,
        format!("stopping spindle {}\n", server.pid()),
        "{}",
        out.describe()
    );
    let status = server.wait_exit(STEP_TIMEOUT).await;
    assert_eq!(status.code(), Some(0), "{}", server.describe());

    // It is gone: nothing to reach.
    let out = server.cli(&["ps"]).await;
    assert_fails(
        &out,
        69,
        &format!("no running spindle with pid {}", server.pid()),
    );
}

#[tokio::test]
async fn an_unknown_app_is_named_in_one_line_and_exit_1() {
    let server = TestServer::new().app(APP, fixture("plain")).start().await;
    for args in [
        &["restart", "nope"][..],
        &["scale", "nope", "2"],
        &["inject", "nope", "GET", "/"],
        &["logs", "nope"],
    ] {
        let out = server.cli(args).await;
        assert_fails(&out, 1, "\"nope\"");
        assert!(
            out.stderr.contains("web"),
            "lists the apps: {}",
            out.describe()
        );
    }
}

/// Only the user running spindle can reach the socket: tests run as root, so the modes
/// stand in for "a second user cannot connect".
#[tokio::test]
async fn the_control_socket_is_private_to_the_user() {
    let server = TestServer::new().app(APP, fixture("plain")).start().await;
    let dir = std::env::temp_dir().join(format!("spindle-{}", server.pid()));
    let meta = std::fs::symlink_metadata(&dir).expect("the spindle's directory");
    assert!(meta.is_dir());
    assert_eq!(
        meta.permissions().mode() & 0o777,
        0o700,
        "{}",
        dir.display()
    );
    // SAFETY: geteuid has no preconditions.
    let uid = unsafe { libc::geteuid() };
    assert_eq!(meta.uid(), uid);

    let socket = dir.join("control.sock");
    let meta = std::fs::symlink_metadata(&socket).expect("control.sock");
    assert!(meta.file_type().is_socket(), "{}", socket.display());
    assert_eq!(
        meta.permissions().mode() & 0o777,
        0o600,
        "{}",
        socket.display()
    );
    assert_eq!(meta.uid(), uid);
}

/// With `$XDG_RUNTIME_DIR` set (a login session's), the sockets live there, and the CLI
/// of the same session finds them.
#[tokio::test]
async fn the_run_directory_follows_xdg_runtime_dir() {
    let xdg = std::env::temp_dir().join(format!("spindle-e2e-xdg-{}", std::process::id()));
    std::fs::create_dir_all(&xdg).expect("create the runtime dir");
    let server = TestServer::new()
        .app(APP, fixture("plain"))
        .process_env("XDG_RUNTIME_DIR", xdg.to_str().unwrap())
        .start()
        .await;
    let dir = xdg.join(format!("spindle-{}", server.pid()));
    assert!(dir.join("control.sock").exists(), "{}", dir.display());
    assert!(
        !std::env::temp_dir()
            .join(format!("spindle-{}", server.pid()))
            .exists(),
        "not under the temp dir as well"
    );
    let out = tokio::process::Command::new(spindle_e2e::spindle_bin())
        .args(["ps", "--json", "--pid", &server.pid().to_string()])
        .env("XDG_RUNTIME_DIR", &xdg)
        .output()
        .await
        .expect("run spindle ps");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&xdg);
}

/// Without `--pid`, several servers (there are at least two here) are listed; `--name`
/// picks one by the name in its status.
#[tokio::test]
async fn several_running_need_a_pid_or_a_name() {
    let a = TestServer::new().app(APP, fixture("plain")).start().await;
    let b = TestServer::new().app(APP, fixture("plain")).start().await;

    let out = spindle_cli(&["ps"]).await;
    assert_fails(&out, 1, "several spindles are running");
    for server in [&a, &b] {
        assert!(
            out.stderr.contains(&format!("pid {} (", server.pid())),
            "lists pid {}: {}",
            server.pid(),
            out.describe()
        );
    }
    assert!(
        out.stderr.contains("--pid PID or --name NAME"),
        "{}",
        out.describe()
    );

    let name = a.cli(&["ps", "--json"]).await.assert_ok().json()["name"]
        .as_str()
        .expect("a name")
        .to_string();
    let json = spindle_cli(&["ps", "--json", "--name", &name])
        .await
        .assert_ok()
        .json();
    assert_eq!(json["pid"], a.pid(), "{json}");
}

#[tokio::test]
async fn a_pid_that_is_not_a_spindle_cannot_be_reached() {
    let pid = std::process::id().to_string();
    let out = spindle_cli(&["ps", "--pid", &pid]).await;
    assert_fails(&out, 69, &format!("no running spindle with pid {pid}"));
}
