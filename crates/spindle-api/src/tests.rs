//! The wire shape of every answer and request, pinned: a renamed or reshaped field fails
//! here before it breaks a `spindle` command talking to another version, or a script.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

use super::*;

/// `value` serializes to exactly `wire`, and reads back as itself.
fn pinned<T>(value: &T, wire: Value)
where
    T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    assert_eq!(serde_json::to_value(value).unwrap(), wire);
    assert_eq!(&serde_json::from_value::<T>(wire).unwrap(), value);
}

fn app() -> AppStatus {
    AppStatus {
        id: "web".into(),
        entrypoint: true,
        failed: None,
        workers_wanted: Some(2),
        restarts: Restarts {
            crash: 1,
            unhealthy: 0,
            restart: 2,
        },
        scaled: ScalerDecisions { up: 3, down: 1 },
        stalls: 0,
        workers: vec![
            WorkerStatus {
                id: "web:0".into(),
                state: WorkerState::Ready,
                elu: Some(0.01),
                heap: Some(Heap {
                    used: 6411816,
                    total: 9936896,
                    limit: 4362076160,
                }),
                in_flight: 3,
                uptime_ms: Some(1200),
            },
            WorkerStatus {
                id: "web:1".into(),
                state: WorkerState::Standby,
                elu: None,
                heap: None,
                in_flight: 0,
                uptime_ms: Some(5),
            },
        ],
    }
}

fn app_wire() -> Value {
    json!({"id": "web", "entrypoint": true, "failed": null, "workersWanted": 2,
    "restarts": {"crash": 1, "unhealthy": 0, "restart": 2},
    "scaled": {"up": 3, "down": 1}, "stalls": 0,
    "workers": [
        {"id": "web:0", "state": "ready", "elu": 0.01,
         "heap": {"used": 6411816, "total": 9936896, "limit": 4362076160u64},
         "inFlight": 3, "uptimeMs": 1200},
        {"id": "web:1", "state": "standby", "inFlight": 0, "uptimeMs": 5}
    ]})
}

#[test]
fn status() {
    let status = Status {
        pid: 123,
        config: Some("/srv/spindle.json".into()),
        name: "demo".into(),
        version: "0.1.0".into(),
        node: Some("v20.20.2".into()),
        uptime_ms: 1234,
        url: Some("http://127.0.0.1:3042".into()),
        admin: None,
        phase: Phase::ShuttingDown,
        ready: false,
        not_ready_reason: Some("shutting down".into()),
        apps: vec![app()],
    };
    pinned(
        &status,
        json!({"pid": 123, "config": "/srv/spindle.json", "name": "demo", "version": "0.1.0",
            "node": "v20.20.2", "uptimeMs": 1234, "url": "http://127.0.0.1:3042",
            "admin": null, "phase": "shuttingdown", "ready": false,
            "notReadyReason": "shutting down", "apps": [app_wire()]}),
    );
    pinned(&Apps { apps: vec![app()] }, json!({"apps": [app_wire()]}));
}

#[test]
fn every_state_and_phase_by_name() {
    let names = [
        "starting", "ready", "standby", "draining", "stopped", "crashed",
    ];
    assert_eq!(
        serde_json::to_value(WorkerState::KNOWN).unwrap(),
        json!(names)
    );
    for (state, name) in WorkerState::KNOWN.into_iter().zip(names) {
        assert_eq!(
            (state.as_str(), state.to_string()),
            (name, name.to_string())
        );
    }
    assert_eq!(WorkerState::Unknown.as_str(), "unknown");
    let phases = [
        Phase::Starting,
        Phase::Running,
        Phase::ShuttingDown,
        Phase::Stopped,
    ];
    let names = ["starting", "running", "shuttingdown", "stopped"];
    assert_eq!(serde_json::to_value(phases).unwrap(), json!(names));
    for (phase, name) in phases.into_iter().zip(names) {
        assert_eq!(phase.to_string(), name);
    }
}

#[test]
fn actions() {
    pinned(
        &Restarting {
            apps: vec!["web".into(), "api".into()],
        },
        json!({"apps": ["web", "api"]}),
    );
    pinned(&AppRestarting { app: "web".into() }, json!({"app": "web"}));
    pinned(&ScaleRequest { workers: Some(3) }, json!({"workers": 3}));
    pinned(
        &Scaled {
            app: "web".into(),
            workers: 3,
        },
        json!({"app": "web", "workers": 3}),
    );
    pinned(
        &AddApp {
            path: Some("/srv/apps/extra".into()),
            id: Some("extra".into()),
            workers: Some(2),
            route: Some("/extra".into()),
        },
        json!({"path": "/srv/apps/extra", "id": "extra", "workers": 2, "route": "/extra"}),
    );
    pinned(
        &AddApp {
            path: Some("/srv/apps/extra".into()),
            ..AddApp::default()
        },
        json!({"path": "/srv/apps/extra"}),
    );
    pinned(
        &Added {
            app: "extra".into(),
        },
        json!({"app": "extra"}),
    );
    pinned(
        &Removing {
            app: "extra".into(),
            removing: true,
        },
        json!({"app": "extra", "removing": true}),
    );
    pinned(&Stopping { stopping: true }, json!({"stopping": true}));
}

#[test]
fn inject() {
    pinned(
        &InjectRequest {
            method: Some("POST".into()),
            path: Some("/x?y=1".into()),
            headers: [("x-a".to_string(), "1".to_string())].into(),
            body: Some("hi".into()),
        },
        json!({"method": "POST", "path": "/x?y=1", "headers": {"x-a": "1"}, "body": "hi"}),
    );
    pinned(
        &InjectRequest {
            method: Some("GET".into()),
            path: Some("/".into()),
            ..InjectRequest::default()
        },
        json!({"method": "GET", "path": "/", "headers": {}}),
    );
    pinned(
        &Injected {
            status: 200,
            headers: [("content-type".to_string(), json!("text/plain"))].into(),
            body: "ok".into(),
        },
        json!({"status": 200, "headers": {"content-type": "text/plain"}, "body": "ok"}),
    );
}

#[test]
fn metrics() {
    let metrics = Metrics {
        apps: vec![AppMetrics {
            id: "web".into(),
            requests: vec![RequestCount {
                method: "GET".into(),
                code_class: "2xx".into(),
                count: 25,
            }],
            latency: vec![Latency {
                code_class: "2xx".into(),
                buckets: vec![(0.001, 0), (0.0025, 3)],
                count: 25,
                sum_seconds: 0.125,
            }],
            rejected: [("overloaded".to_string(), 1)].into(),
            retried: 2,
        }],
    };
    pinned(
        &metrics,
        json!({"apps": [{"id": "web",
            "requests": [{"method": "GET", "codeClass": "2xx", "count": 25}],
            "latency": [{"codeClass": "2xx", "buckets": [[0.001, 0], [0.0025, 3]],
                         "count": 25, "sumSeconds": 0.125}],
            "rejected": {"overloaded": 1}, "retried": 2}]}),
    );
}

#[test]
fn error_body() {
    pinned(
        &ErrorBody::new("unknown_app", "no app \"x\" (apps: web)".into()),
        json!({"code": "unknown_app", "message": "no app \"x\" (apps: web)"}),
    );
}

#[test]
fn reads_what_an_older_or_newer_server_sends() {
    let text = r#"{"pid":123,"name":"demo","version":"0.1.0","node":"v20.20.2","uptimeMs":1234,
        "url":"http://127.0.0.1:3042","admin":null,"phase":"running","ready":true,
        "notReadyReason":null,"apps":[{"id":"web","entrypoint":true,"failed":null,
        "workersWanted":2,"restarts":{"crash":1,"unhealthy":0,"restart":2},"stalls":0,
        "workers":[{"id":"web:0","state":"ready","elu":0.01,"heap":{"used":6411816,
        "total":9936896,"limit":4362076160},"inFlight":3,"uptimeMs":1200},
        {"id":"web:1","state":"hibernating","inFlight":0}]}]}"#;
    let status: Status = serde_json::from_str(text).unwrap();
    assert_eq!(status.pid, 123);
    assert_eq!(status.config, None);
    assert_eq!(status.phase, Phase::Running);
    assert_eq!(status.apps[0].restarts.restart, 2);
    assert_eq!(status.apps[0].scaled, ScalerDecisions::default());
    let w = &status.apps[0].workers;
    assert_eq!(w[0].state, WorkerState::Ready);
    assert_eq!(w[0].in_flight, 3);
    assert_eq!(w[0].heap.unwrap().limit, 4362076160);
    assert_eq!(w[1].state, WorkerState::Unknown);
    assert_eq!(w[1].state.to_string(), "?");
    assert!(w[1].elu.is_none() && w[1].heap.is_none() && w[1].uptime_ms.is_none());
    assert_eq!(status.apps[0].ready_workers(), 1);

    let bare: Status =
        serde_json::from_str(r#"{"pid":1,"phase":"hibernating","apps":[{"id":"web"}]}"#).unwrap();
    assert_eq!(bare.phase, Phase::Unknown);
    assert_eq!(bare.apps[0].workers_wanted, None);
    let none: Status = serde_json::from_str(r#"{"pid":1}"#).unwrap();
    assert_eq!(none.phase, Phase::Unknown);
    assert!(none.apps.is_empty() && !none.ready);
}

#[test]
fn reads_metrics_with_an_infinite_bound() {
    let text = r#"{"apps":[{"id":"web","requests":[{"method":"GET","codeClass":"2xx","count":25}],
        "latency":[{"codeClass":"2xx","buckets":[[0.001,0],[0.0025,3],["+Inf",25],[null,25]],
        "count":25,"sumSeconds":0.12}],"rejected":{"overloaded":0},"retried":0}]}"#;
    let metrics: Metrics = serde_json::from_str(text).unwrap();
    let latency = &metrics.apps[0].latency[0];
    assert_eq!(latency.buckets[1], (0.0025, 3));
    assert_eq!(latency.buckets[2], (f64::INFINITY, 25));
    assert_eq!(latency.buckets[3], (f64::INFINITY, 25));
    let old: Metrics = serde_json::from_str(r#"{"apps":[{"id":"web"}]}"#).unwrap();
    assert!(old.apps[0].latency.is_empty() && old.apps[0].rejected.is_empty());
}

#[test]
fn requests_are_read_leniently() {
    // A field of the wrong type is absent; a body that is no object has no fields.
    let scale: ScaleRequest = from_object(&json!({"workers": "3"})).unwrap();
    assert_eq!(scale.workers, None);
    let scale: ScaleRequest = from_object(&json!({"workers": 4294967299u64})).unwrap();
    assert_eq!(scale.workers, None);
    let scale: ScaleRequest = from_object(&json!([3])).unwrap();
    assert_eq!(scale.workers, None);
    let add: AddApp = from_object(&json!({"path": "/a", "id": 5, "workers": 1e3})).unwrap();
    assert_eq!(
        add,
        AddApp {
            path: Some("/a".into()),
            ..AddApp::default()
        }
    );
    let add: AddApp = from_object(&json!({"path": "/a", "workers": 4294967299u64})).unwrap();
    assert_eq!(add.workers, Some(4294967299));
    let inject: InjectRequest =
        from_object(&json!({"method": 1, "path": null, "headers": [], "body": {}})).unwrap();
    assert_eq!(inject, InjectRequest::default());
    let inject: InjectRequest = from_object(&json!("GET /")).unwrap();
    assert_eq!(inject, InjectRequest::default());
    let err = from_object::<InjectRequest>(&json!({"headers": {"a": 1}})).unwrap_err();
    assert_eq!(err.to_string(), "header \"a\" must be a string");
}

#[test]
fn error_bodies_are_read_leniently() {
    let error: ErrorBody = from_object(&json!({"code": 5, "message": "no"})).unwrap();
    assert_eq!(error.code, "");
    assert_eq!(error.message.as_deref(), Some("no"));
    let error: ErrorBody = from_object(&json!(["bad_request", "no"])).unwrap();
    assert_eq!(error, ErrorBody::default());
}
