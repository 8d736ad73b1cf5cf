//! The mesh keys: `applicationTimeout` and `policies`. Their error messages are locked in
//! `errors.rs`.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{Project, ONE_APP};
use spindle_config::{Config, Policies, DEFAULT_APPLICATION_TIMEOUT};

/// A project with apps `api`, `web` and `admin` and this config.
fn load(name: &str, config: &str) -> Config {
    let project = Project::new(name);
    project.app("api").app("web").app("admin").config(config);
    project.config_ok()
}

/// A config with the three apps (`web` the entrypoint) and `extra` top-level keys.
fn three_apps(extra: &str) -> String {
    format!(
        r#"{{
  "entrypoint": "web",
  "applications": [
    {{ "id": "api", "path": "api" }},
    {{ "id": "web", "path": "web" }},
    {{ "id": "admin", "path": "admin" }}
  ],
  {extra}
}}"#
    )
}

fn pairs(list: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    list.iter()
        .map(|(from, to)| ((*from).to_owned(), (*to).to_owned()))
        .collect()
}

#[test]
fn defaults_fill_everything_not_written() {
    let config = load("mesh-defaults", ONE_APP);
    assert_eq!(config.application_timeout, DEFAULT_APPLICATION_TIMEOUT);
    assert_eq!(config.policies, Policies::default());

    // The defaults themselves, spelled out once.
    assert_eq!(DEFAULT_APPLICATION_TIMEOUT, Duration::from_millis(300_000));
    assert!(config.policies.deny.is_empty());
    assert!(!config.policies.denies("api", "api"));
}

#[test]
fn a_directory_without_config_gets_the_defaults() {
    let project = Project::new("mesh-no-config");
    project.file("index.js", "");
    let config = project.config_ok();
    assert_eq!(config.application_timeout, DEFAULT_APPLICATION_TIMEOUT);
    assert_eq!(config.policies, Policies::default());
}

#[test]
fn application_timeout_is_read() {
    let config = load("mesh-timeout", &three_apps(r#""applicationTimeout": 1500"#));
    assert_eq!(config.application_timeout, Duration::from_millis(1500));
}

#[test]
fn application_timeout_may_come_from_the_environment() {
    let project = Project::new("mesh-timeout-env").env("MESH_TIMEOUT", "2500");
    project
        .app("api")
        .app("web")
        .app("admin")
        .config(&three_apps(r#""applicationTimeout": "{MESH_TIMEOUT}""#));
    let config = project.config_ok();
    assert_eq!(config.application_timeout, Duration::from_millis(2500));
}

#[test]
fn a_denied_pair_is_denied_in_both_directions() {
    let config = load(
        "mesh-deny",
        &three_apps(r#""policies": { "deny": { "web": ["admin"] } }"#),
    );
    let policies = &config.policies;
    assert_eq!(policies.deny, pairs(&[("admin", "web"), ("web", "admin")]));
    assert!(policies.denies("web", "admin"));
    assert!(policies.denies("admin", "web"));
    // Every other pair is allowed, including calling oneself.
    for (from, to) in [
        ("web", "api"),
        ("api", "web"),
        ("admin", "api"),
        ("api", "admin"),
        ("web", "web"),
        ("admin", "admin"),
    ] {
        assert!(!policies.denies(from, to), "{from} -> {to}");
    }
}

#[test]
fn duplicates_and_pairs_given_from_both_sides_are_kept_once() {
    let config = load(
        "mesh-deny-dups",
        &three_apps(
            r#""policies": {
    "deny": {
      "web": ["admin", "api", "admin"],
      "admin": ["web"],
      "api": []
    }
  }"#,
        ),
    );
    assert_eq!(
        config.policies.deny,
        pairs(&[
            ("admin", "web"),
            ("api", "web"),
            ("web", "admin"),
            ("web", "api"),
        ])
    );
    assert!(config.policies.denies("api", "web"));
    assert!(!config.policies.denies("api", "admin"));
}

#[test]
fn an_empty_policies_object_denies_nothing() {
    let config = load("mesh-deny-empty", &three_apps(r#""policies": {}"#));
    assert_eq!(config.policies, Policies::default());
}

#[test]
fn autoloaded_applications_can_be_denied() {
    let project = Project::new("mesh-deny-autoload");
    project.app("apps/api").app("apps/web").config(
        r#"{
  "entrypoint": "web",
  "autoload": { "path": "apps" },
  "policies": { "deny": { "api": ["web"] } }
}"#,
    );
    let config = project.config_ok();
    assert!(config.policies.denies("web", "api"));
    assert!(config.policies.denies("api", "web"));
}

#[test]
fn the_config_serializes_for_logging() {
    let config = load(
        "mesh-serialize",
        &three_apps(r#""applicationTimeout": 1500, "policies": { "deny": { "web": ["api"] } }"#),
    );
    let json = serde_json::to_value(config).unwrap();
    assert_eq!(json["application_timeout"], 1500);
    assert_eq!(
        json["policies"]["deny"],
        serde_json::json!([["api", "web"], ["web", "api"]])
    );
}
