//! `health` and the fault keys: defaults, merging, memory sizes, numbers written as strings.
//! Their error messages are locked in `errors.rs`.

mod common;

use std::time::Duration;

use common::{app, load, Project, ONE_APP};
use spindle_config::{FaultConfig, HealthConfig};

const MIB: u64 = 1024 * 1024;
const GIB: u64 = 1024 * MIB;

#[test]
fn defaults_fill_everything_not_written() {
    let config = load("health-defaults", ONE_APP);
    let api = app(&config, "api");
    assert_eq!(api.health, HealthConfig::default());
    assert_eq!(api.faults, FaultConfig::default());

    // The defaults themselves, spelled out once.
    let health = &api.health;
    assert!(health.enabled);
    assert_eq!(health.sample_interval, Duration::from_millis(250));
    assert_eq!(health.interval, Duration::from_millis(1000));
    assert_eq!(health.grace_period, Duration::from_millis(5000));
    assert_eq!(health.max_unhealthy_checks, 5);
    assert_eq!(health.max_elu, 0.99);
    assert_eq!(health.max_heap_used, 0.99);
    assert_eq!(health.max_heap_total, 4 * GIB);
    assert_eq!(health.max_young_generation, 128 * MIB);
    assert_eq!(health.max_stall, Duration::from_millis(1000));
    let faults = &api.faults;
    assert_eq!(faults.max_failed_starts, 5);
    assert_eq!(faults.max_in_flight_per_worker, 1024);
    assert_eq!(faults.queue_timeout, Duration::from_secs(10));
    assert!(faults.exit_on_unhandled_errors);
    assert_eq!(faults.standby_workers, 0);
    assert!(
        faults.standby_after_failure,
        "unset: one standby after a failure"
    );
}

#[test]
fn a_directory_without_config_gets_the_defaults() {
    let project = Project::new("health-no-config");
    project.file("index.js", "");
    let config = project.config_ok();
    assert_eq!(config.applications[0].health, HealthConfig::default());
    assert_eq!(config.applications[0].faults, FaultConfig::default());
}

#[test]
fn every_key_is_read() {
    let config = load(
        "health-all",
        r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "health": {
    "enabled": false,
    "sampleInterval": 100,
    "interval": 2000,
    "gracePeriod": 0,
    "maxUnhealthyChecks": 3,
    "maxELU": 0.9,
    "maxHeapUsed": 1,
    "maxHeapTotal": 536870912,
    "maxYoungGeneration": 33554432,
    "maxStall": 200
  },
  "maxFailedStarts": 2,
  "maxInFlightPerWorker": 64,
  "queueTimeout": 1500,
  "exitOnUnhandledErrors": false,
  "standbyWorkers": 2,
  "responseTimeout": 2500
}"#,
    );
    let api = app(&config, "api");
    assert_eq!(
        api.health,
        HealthConfig {
            enabled: false,
            sample_interval: Duration::from_millis(100),
            interval: Duration::from_millis(2000),
            grace_period: Duration::ZERO,
            max_unhealthy_checks: 3,
            max_elu: 0.9,
            max_heap_used: 1.0,
            max_heap_total: 512 * MIB,
            max_young_generation: 32 * MIB,
            max_stall: Duration::from_millis(200),
        }
    );
    assert_eq!(
        api.faults,
        FaultConfig {
            max_failed_starts: 2,
            max_in_flight_per_worker: 64,
            queue_timeout: Duration::from_millis(1500),
            exit_on_unhandled_errors: false,
            standby_workers: 2,
            standby_after_failure: false,
            response_timeout: Some(Duration::from_millis(2500)),
        }
    );
}

#[test]
fn an_application_overrides_single_keys_of_the_top_level() {
    let config = load(
        "health-merge",
        r#"{
  "entrypoint": "api",
  "health": { "interval": 2000, "maxELU": 0.9, "maxHeapTotal": "1GB" },
  "maxFailedStarts": 3,
  "queueTimeout": 500,
  "applications": [
    {
      "id": "api",
      "path": "api",
      "health": { "maxELU": 0.8 },
      "queueTimeout": 50
    },
    { "id": "web", "path": "web" }
  ]
}"#,
    );
    let api = app(&config, "api");
    assert_eq!(api.health.max_elu, 0.8, "the application's own value");
    assert_eq!(
        api.health.interval,
        Duration::from_millis(2000),
        "top level"
    );
    assert_eq!(api.health.max_heap_total, GIB, "top level");
    assert_eq!(api.health.max_stall, Duration::from_millis(1000), "default");
    assert_eq!(api.faults.queue_timeout, Duration::from_millis(50));
    assert_eq!(api.faults.max_failed_starts, 3);
    assert_eq!(api.faults.max_in_flight_per_worker, 1024);

    let web = app(&config, "web");
    assert_eq!(web.health.max_elu, 0.9);
    assert_eq!(web.health.interval, Duration::from_millis(2000));
    assert_eq!(web.faults.queue_timeout, Duration::from_millis(500));
    assert_eq!(web.faults.max_failed_starts, 3);
}

#[test]
fn standby_workers_come_from_the_application_over_the_top_level_over_none() {
    // `standbyWorkers` at the top level, and on `api` (not on `web`).
    let standby = |name: &str, top: u32, api: u32| {
        load(
            name,
            &format!(
                r#"{{
  "entrypoint": "api",
  "standbyWorkers": {top},
  "applications": [
    {{ "id": "api", "path": "api", "standbyWorkers": {api} }},
    {{ "id": "web", "path": "web" }}
  ]
}}"#
            ),
        )
    };
    let config = standby("health-standby", 2, 8);
    assert_eq!(
        app(&config, "api").faults.standby_workers,
        8,
        "its own value"
    );
    assert_eq!(app(&config, "web").faults.standby_workers, 2, "top level");
    assert!(!app(&config, "web").faults.standby_after_failure, "written");
    assert_eq!(config.app_defaults.faults.standby_workers, 2);

    // An application's 0 turns off the top level's standbys for it alone.
    let config = standby("health-standby-zero", 3, 0);
    assert_eq!(app(&config, "api").faults.standby_workers, 0);
    assert_eq!(app(&config, "web").faults.standby_workers, 3);
}

#[test]
fn rules_between_keys_hold_on_the_merged_values() {
    // Alone, the application's sampleInterval would be too long for the default interval; with
    // the top-level interval it is fine.
    let config = load(
        "health-merged-rules",
        r#"{
  "health": { "interval": 5000, "maxStall": 4000 },
  "applications": [
    { "id": "api", "path": "api", "health": { "sampleInterval": 2000 } }
  ]
}"#,
    );
    let health = &app(&config, "api").health;
    assert_eq!(health.sample_interval, Duration::from_millis(2000));
    assert_eq!(health.interval, Duration::from_millis(5000));
    assert_eq!(health.max_stall, Duration::from_millis(4000));
}

#[test]
fn autoloaded_applications_take_the_top_level_values() {
    let project = Project::new("health-autoload");
    project.app("apps/one").config(
        r#"{
  "autoload": { "path": "apps" },
  "health": { "maxELU": 0.5 },
  "maxInFlightPerWorker": 8,
  "standbyWorkers": 1
}"#,
    );
    let config = project.config_ok();
    let one = app(&config, "one");
    assert_eq!(one.faults.standby_workers, 1);
    assert_eq!(one.health.max_elu, 0.5);
    assert_eq!(one.health.interval, Duration::from_millis(1000));
    assert_eq!(one.faults.max_in_flight_per_worker, 8);
}

#[test]
fn memory_sizes_are_1024_based_like_watt() {
    let cases: [(&str, u64); 9] = [
        (r#""512MB""#, 512 * MIB),
        (r#""512mb""#, 512 * MIB),
        (r#""256MiB""#, 256 * MIB),
        (r#""256M""#, 256 * MIB),
        (r#""4GB""#, 4 * GIB),
        (r#""1.5G""#, 3 * GIB / 2),
        (r#""2 GiB""#, 2 * GIB),
        (r#""65536kB""#, 64 * MIB),
        (r#""1073741824""#, GIB),
    ];
    for (index, (written, bytes)) in cases.into_iter().enumerate() {
        let config = load(
            &format!("health-memory-{index}"),
            &format!(
                r#"{{
  "applications": [{{ "id": "api", "path": "api" }}],
  "health": {{ "maxHeapTotal": {written}, "maxYoungGeneration": "16M" }}
}}"#
            ),
        );
        let health = &app(&config, "api").health;
        assert_eq!(health.max_heap_total, bytes, "{written}");
        assert_eq!(health.max_young_generation, 16 * MIB);
    }
}

#[test]
fn numbers_may_be_strings() {
    let config = load(
        "health-strings",
        r#"{
  "applications": [
    {
      "id": "api",
      "path": "api",
      "health": { "maxUnhealthyChecks": "7", "maxHeapUsed": " 0.75 " },
      "maxFailedStarts": "4",
      "standbyWorkers": " 1 "
    }
  ],
  "health": { "sampleInterval": "100", "interval": "400", "maxStall": "300", "maxELU": "0.5" },
  "maxInFlightPerWorker": "16",
  "queueTimeout": "2500"
}"#,
    );
    let api = app(&config, "api");
    assert_eq!(api.health.sample_interval, Duration::from_millis(100));
    assert_eq!(api.health.interval, Duration::from_millis(400));
    assert_eq!(api.health.max_stall, Duration::from_millis(300));
    assert_eq!(api.health.max_unhealthy_checks, 7);
    assert_eq!(api.health.max_elu, 0.5);
    assert_eq!(api.health.max_heap_used, 0.75);
    assert_eq!(api.faults.max_failed_starts, 4);
    assert_eq!(api.faults.standby_workers, 1);
    assert_eq!(api.faults.max_in_flight_per_worker, 16);
    assert_eq!(api.faults.queue_timeout, Duration::from_millis(2500));
}

#[test]
fn placeholders_work_in_every_form() {
    let project = Project::new("health-placeholders")
        .env("HEAP", "2GB")
        .env("ELU", "0.95")
        .env("STALL", "2000");
    project.app("api").config(
        r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "health": { "maxHeapTotal": "{HEAP}", "maxELU": "{ELU}", "maxStall": "{{STALL}}" }
}"#,
    );
    let config = project.config_ok();
    let health = &app(&config, "api").health;
    assert_eq!(health.max_heap_total, 2 * GIB);
    assert_eq!(health.max_elu, 0.95);
    assert_eq!(health.max_stall, Duration::from_millis(2000));
}

#[test]
fn health_serializes_for_logging() {
    let config = load("health-serialize", ONE_APP);
    let json = serde_json::to_value(config).unwrap();
    let app = &json["applications"][0];
    assert_eq!(app["health"]["sampleInterval"], 250);
    assert_eq!(app["health"]["maxHeapTotal"], 4 * GIB);
    assert_eq!(app["faults"]["queueTimeout"], 10000);
    assert_eq!(app["faults"]["standbyWorkers"], 0);
}
