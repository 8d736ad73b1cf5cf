//! `workers`: an application's number or object, and the top-level scaler settings. Their
//! error messages are locked in `errors.rs`.

mod common;

use std::num::NonZeroU32;
use std::time::Duration;

use common::{app, load, Project, ONE_APP};
use spindle_config::{AppScaling, ScalingConfig};

fn n(value: u32) -> NonZeroU32 {
    NonZeroU32::new(value).unwrap()
}

fn range(min: u32, max: u32) -> AppScaling {
    AppScaling {
        min: n(min),
        max: n(max),
        dynamic: true,
    }
}

#[test]
fn a_number_is_a_fixed_count_as_before() {
    let config = load(
        "scaling-number",
        r#"{
  "entrypoint": "api",
  "applications": [
    { "id": "api", "path": "api", "workers": 3 },
    { "id": "web", "path": "web" }
  ]
}"#,
    );
    let api = app(&config, "api");
    assert_eq!(api.workers.get(), 3);
    assert_eq!(api.scaling, AppScaling::fixed(n(3)));
    let web = app(&config, "web");
    assert_eq!(web.workers.get(), 1);
    assert_eq!(web.scaling, AppScaling::fixed(n(1)));
    assert!(!config.scales_dynamically());
}

#[test]
fn defaults_fill_the_top_level() {
    let config = load("scaling-defaults", ONE_APP);
    assert_eq!(config.scaling, ScalingConfig::default());

    // The defaults themselves, spelled out once.
    let scaling = &config.scaling;
    assert!(!scaling.dynamic);
    assert_eq!(
        scaling.total as usize,
        std::thread::available_parallelism().unwrap().get()
    );
    assert_eq!(scaling.total, spindle_config::default_total_workers());
    assert_eq!(scaling.scale_up_elu, 0.8);
    assert_eq!(scaling.scale_down_elu, 0.2);
    assert_eq!(scaling.cooldown, Duration::from_secs(20));
    assert_eq!(scaling.grace_period, Duration::from_secs(30));
}

#[test]
fn a_directory_without_config_runs_one_fixed_worker() {
    let project = Project::new("scaling-no-config");
    project.file("index.js", "");
    let config = project.config_ok();
    assert_eq!(config.applications[0].scaling, AppScaling::fixed(n(1)));
    assert_eq!(config.scaling, ScalingConfig::default());
}

#[test]
fn every_top_level_key_is_read() {
    let config = load(
        "scaling-all",
        r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "workers": {
    "dynamic": true,
    "total": 12,
    "scaleUpELU": 0.9,
    "scaleDownELU": "0.3",
    "cooldown": 5000,
    "gracePeriod": 0,
    "minimum": 2,
    "maximum": 6
  }
}"#,
    );
    assert_eq!(
        config.scaling,
        ScalingConfig {
            dynamic: true,
            total: 12,
            scale_up_elu: 0.9,
            scale_down_elu: 0.3,
            cooldown: Duration::from_millis(5000),
            grace_period: Duration::ZERO,
        }
    );
    let api = app(&config, "api");
    assert_eq!(api.scaling, range(2, 6));
    assert_eq!(api.workers.get(), 2, "kept within the range");
}

#[test]
fn static_is_a_fixed_count() {
    let config = load(
        "scaling-static",
        r#"{
  "applications": [{ "id": "api", "path": "api", "workers": { "static": 4 } }],
  "workers": { "dynamic": true }
}"#,
    );
    let api = app(&config, "api");
    assert_eq!(api.workers.get(), 4);
    assert_eq!(
        api.scaling,
        AppScaling::fixed(n(4)),
        "even with top-level dynamic"
    );
    assert!(!config.scales_dynamically());
}

#[test]
fn minimum_and_maximum_scale_starting_at_the_minimum() {
    let config = load(
        "scaling-range",
        r#"{
  "applications": [
    { "id": "api", "path": "api", "workers": { "minimum": 2, "maximum": "6" } }
  ]
}"#,
    );
    let api = app(&config, "api");
    assert_eq!(api.workers.get(), 2);
    assert_eq!(api.scaling, range(2, 6));
    assert!(config.scales_dynamically());
    assert!(!config.scaling.dynamic, "the top level is not dynamic");
}

#[test]
fn missing_bounds_come_from_the_top_level_then_the_defaults() {
    let config = load(
        "scaling-inherit",
        r#"{
  "entrypoint": "api",
  "applications": [
    { "id": "api", "path": "api", "workers": { "minimum": 2 } },
    { "id": "web", "path": "web", "workers": { "maximum": 3 } }
  ],
  "workers": { "total": 8 }
}"#,
    );
    assert_eq!(app(&config, "api").scaling, range(2, 8), "maximum: total");
    assert_eq!(app(&config, "web").scaling, range(1, 3), "minimum: 1");

    let config = load(
        "scaling-inherit-top",
        r#"{
  "entrypoint": "api",
  "applications": [
    { "id": "api", "path": "api", "workers": { "minimum": 2 } },
    { "id": "web", "path": "web", "workers": { "dynamic": true } }
  ],
  "workers": { "total": 8, "minimum": 1, "maximum": 4 }
}"#,
    );
    assert_eq!(app(&config, "api").scaling, range(2, 4));
    assert_eq!(app(&config, "web").scaling, range(1, 4));
    assert_eq!(app(&config, "web").workers.get(), 1);
}

#[test]
fn dynamic_false_fixes_the_count_at_the_minimum() {
    let config = load(
        "scaling-off",
        r#"{
  "entrypoint": "api",
  "applications": [
    { "id": "api", "path": "api", "workers": { "minimum": 3, "maximum": 6, "dynamic": false } },
    { "id": "web", "path": "web", "workers": { "dynamic": false } }
  ],
  "workers": { "dynamic": true }
}"#,
    );
    let api = app(&config, "api");
    assert_eq!(api.workers.get(), 3);
    assert_eq!(api.scaling, AppScaling::fixed(n(3)));
    assert_eq!(app(&config, "web").scaling, AppScaling::fixed(n(1)));
}

#[test]
fn an_empty_object_follows_the_top_level() {
    let config = load(
        "scaling-empty",
        r#"{ "applications": [{ "id": "api", "path": "api", "workers": {} }] }"#,
    );
    assert_eq!(app(&config, "api").scaling, AppScaling::fixed(n(1)));

    let config = load(
        "scaling-empty-dynamic",
        r#"{
  "applications": [{ "id": "api", "path": "api", "workers": {} }],
  "workers": { "dynamic": true, "total": 4 }
}"#,
    );
    assert_eq!(app(&config, "api").scaling, range(1, 4));
}

#[test]
fn top_level_dynamic_scales_applications_given_a_number_or_nothing() {
    let config = load(
        "scaling-top-dynamic",
        r#"{
  "entrypoint": "api",
  "applications": [
    { "id": "api", "path": "api", "workers": 2 },
    { "id": "web", "path": "web" }
  ],
  "workers": { "dynamic": true, "total": 8 }
}"#,
    );
    let api = app(&config, "api");
    assert_eq!(api.scaling, range(1, 8), "between 1 and total");
    assert_eq!(
        api.workers.get(),
        2,
        "its number is the count to start with"
    );
    let web = app(&config, "web");
    assert_eq!(web.scaling, range(1, 8));
    assert_eq!(web.workers.get(), 1);
    assert!(config.scaling.dynamic);
    assert!(config.scales_dynamically());
}

#[test]
fn top_level_bounds_apply_and_keep_the_starting_count_in_range() {
    let project = Project::new("scaling-top-bounds");
    project.app("api").app("web").app("admin").config(
        r#"{
  "entrypoint": "api",
  "applications": [
    { "id": "api", "path": "api", "workers": 9 },
    { "id": "web", "path": "web" },
    { "id": "admin", "path": "admin", "workers": { "minimum": 1, "maximum": 2 } }
  ],
  "workers": { "dynamic": true, "total": 10, "minimum": 2, "maximum": 4 }
}"#,
    );
    let config = project.config_ok();
    let api = app(&config, "api");
    assert_eq!(api.scaling, range(2, 4));
    assert_eq!(api.workers.get(), 4, "9 kept within 2-4");
    let web = app(&config, "web");
    assert_eq!(web.scaling, range(2, 4));
    assert_eq!(web.workers.get(), 2, "the default 1 kept within 2-4");
    let admin = app(&config, "admin");
    assert_eq!(
        admin.scaling,
        range(1, 2),
        "an application's own object wins"
    );
    assert_eq!(admin.workers.get(), 1);
}

#[test]
fn autoloaded_applications_follow_the_top_level() {
    let project = Project::new("scaling-autoload");
    project.app("apps/one").app("apps/two").config(
        r#"{
  "entrypoint": "one",
  "autoload": { "path": "apps" },
  "workers": { "dynamic": true, "total": 6, "maximum": 3 }
}"#,
    );
    let config = project.config_ok();
    for id in ["one", "two"] {
        assert_eq!(app(&config, id).scaling, range(1, 3), "{id}");
        assert_eq!(app(&config, id).workers.get(), 1, "{id}");
    }
}

#[test]
fn minimums_may_fill_the_total_exactly() {
    let config = load(
        "scaling-total-exact",
        r#"{
  "entrypoint": "api",
  "applications": [
    { "id": "api", "path": "api", "workers": { "minimum": 2, "maximum": 4 } },
    { "id": "web", "path": "web", "workers": 2 }
  ],
  "workers": { "total": 4 }
}"#,
    );
    assert_eq!(config.scaling.total, 4);
}

#[test]
fn fixed_counts_are_not_held_to_the_total_when_nothing_scales() {
    let config = load(
        "scaling-static-over-total",
        r#"{
  "applications": [{ "id": "api", "path": "api", "workers": 16 }],
  "workers": { "total": 2 }
}"#,
    );
    assert_eq!(app(&config, "api").workers.get(), 16);
}

#[test]
fn bounds_may_be_placeholders() {
    let project = Project::new("scaling-env")
        .env("MIN_WORKERS", "2")
        .env("MAX_WORKERS", "5");
    project.app("api").config(
        r#"{
  "applications": [
    {
      "id": "api",
      "path": "api",
      "workers": { "minimum": "{MIN_WORKERS}", "maximum": "{MAX_WORKERS}" }
    }
  ],
  "workers": { "total": 8 }
}"#,
    );
    assert_eq!(project.config_ok().applications[0].scaling, range(2, 5));
}

#[test]
fn scaling_serializes_for_logging() {
    let config = load(
        "scaling-serialize",
        r#"{
  "applications": [{ "id": "api", "path": "api", "workers": { "minimum": 1, "maximum": 2 } }],
  "workers": { "total": 4 }
}"#,
    );
    let json = serde_json::to_value(config).unwrap();
    assert_eq!(json["scaling"]["total"], 4);
    assert_eq!(json["scaling"]["cooldown"], 20000);
    assert_eq!(json["scaling"]["gracePeriod"], 30000);
    assert_eq!(json["scaling"]["scaleUpElu"], 0.8);
    assert_eq!(
        json["applications"][0]["scaling"],
        serde_json::json!({ "min": 1, "max": 2, "dynamic": true })
    );
    assert_eq!(json["applications"][0]["workers"], 1);
}
