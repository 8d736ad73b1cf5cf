//! Applications: entry files, the entrypoint, autoload.

mod common;

use common::{Project, ONE_APP};

fn ids(project: &Project) -> Vec<String> {
    project
        .config_ok()
        .applications
        .into_iter()
        .map(|app| app.id)
        .collect()
}

// --- entry files ---

#[test]
fn entry_is_package_main_when_present() {
    let project = Project::new("entry-main");
    project
        .file(
            "api/package.json",
            r#"{ "name": "api", "main": "src/start.js" }"#,
        )
        .file("api/src/start.js", "")
        .file("api/index.js", "")
        .config(ONE_APP);
    assert_eq!(project.entry(), project.path("api/src/start.js"));
}

#[test]
fn entry_candidates_are_tried_in_order() {
    let project = Project::new("entry-order");
    project
        .file("api/package.json", r#"{ "name": "api" }"#)
        .file("api/main.js", "")
        .file("api/app.mjs", "")
        .file("api/server.js", "")
        .config(ONE_APP);
    assert_eq!(project.entry(), project.path("api/main.js"));
}

#[test]
fn a_file_path_is_the_entry_and_its_directory_the_app_dir() {
    let project = Project::new("entry-file");
    project
        .file("api/boot.mjs", "")
        .config(r#"{ "applications": [{ "id": "api", "path": "./api/boot.mjs" }] }"#);
    let config = project.config_ok();
    assert_eq!(config.applications[0].entry, project.path("api/boot.mjs"));
    assert_eq!(config.applications[0].path, project.path("api"));
}

// --- entrypoint ---

const TWO_APPS: &str = r#"{ "id": "api", "path": "api" }, { "id": "web", "path": "web" }"#;

fn two_apps(name: &str, top: &str, apps: &str) -> Project {
    let project = Project::new(name);
    project.app("api").app("web");
    project.config(&format!(r#"{{ {top} "applications": [{apps}] }}"#));
    project
}

#[test]
fn the_top_level_entrypoint_names_the_app() {
    let project = two_apps("ep-top", r#""entrypoint": "web","#, TWO_APPS);
    assert_eq!(project.config_ok().entrypoint, "web");
}

#[test]
fn one_app_may_be_marked_as_entrypoint() {
    let apps =
        r#"{ "id": "api", "path": "api" }, { "id": "web", "path": "web", "entrypoint": true }"#;
    let project = two_apps("ep-flag", "", apps);
    assert_eq!(project.config_ok().entrypoint, "web");
}

#[test]
fn the_mark_may_agree_with_the_top_level_entrypoint() {
    let apps =
        r#"{ "id": "api", "path": "api", "entrypoint": true }, { "id": "web", "path": "web" }"#;
    let project = two_apps("ep-agree", r#""entrypoint": "api","#, apps);
    assert_eq!(project.config_ok().entrypoint, "api");
}

#[test]
fn several_apps_need_an_entrypoint() {
    let project = two_apps("ep-none", "", TWO_APPS);
    assert_eq!(
        project.error(),
        "/x/spindle.json:1:1: entrypoint: required when there are several applications \
         (api, web); set it or mark one with \"entrypoint\": true"
    );
}

#[test]
fn two_marked_apps_conflict() {
    let apps = "{ \"id\": \"api\", \"path\": \"api\", \"entrypoint\": true },\n  \
                { \"id\": \"web\", \"path\": \"web\", \"entrypoint\": true }";
    let project = two_apps("ep-two", "", apps);
    assert_eq!(
        project.error(),
        "/x/spindle.json:2:47: applications[1].entrypoint: \"web\" is marked as entrypoint \
         but so is \"api\"; only one can be"
    );
}

#[test]
fn a_mark_conflicting_with_the_top_level_entrypoint_is_an_error() {
    let apps =
        r#"{ "id": "api", "path": "api", "entrypoint": true }, { "id": "web", "path": "web" }"#;
    let project = two_apps("ep-conflict", r#""entrypoint": "web","#, apps);
    assert_eq!(
        project.error(),
        "/x/spindle.json:1:85: applications[0].entrypoint: \"api\" is marked as entrypoint \
         but the top-level entrypoint is \"web\""
    );
}

// --- autoload ---

#[test]
fn autoload_adds_subdirectories_sorted_after_configured_apps() {
    let project = Project::new("autoload");
    project
        .app("gateway")
        .app("services/zeta")
        .app("services/alpha")
        .app("services/old")
        .app("services/.cache")
        .app("services/node_modules")
        .file("services/README.md", "")
        .config(
            r#"{
  "entrypoint": "gateway",
  "applications": [{ "id": "gateway", "path": "gateway", "workers": 2 }],
  "autoload": { "path": "services", "exclude": ["old"] }
}"#,
        );
    assert_eq!(ids(&project), ["gateway", "alpha", "zeta"]);
    let config = project.config_ok();
    assert_eq!(config.applications[1].path, project.path("services/alpha"));
    assert_eq!(
        config.applications[1].entry,
        project.path("services/alpha/index.js")
    );
    assert_eq!(config.applications[1].workers.get(), 1);
}

#[test]
fn autoload_alone_with_one_directory_has_an_entrypoint() {
    let project = Project::new("autoload-alone");
    project
        .app("apps/only")
        .config(r#"{ "autoload": { "path": "./apps" } }"#);
    assert_eq!(project.config_ok().entrypoint, "only");
}

#[test]
fn an_autoloaded_id_colliding_with_a_configured_one_is_an_error() {
    let project = Project::new("autoload-collision");
    project.app("api").app("services/api").config(
        r#"{
  "applications": [{ "id": "api", "path": "api" }],
  "autoload": { "path": "services" }
}"#,
    );
    assert_eq!(
        project.error(),
        "/x/spindle.json:2:28: applications[0].id: duplicate id \"api\": /x/services/api is \
         autoloaded with the same id (rename one or add \"api\" to autoload.exclude)"
    );
}

#[test]
fn an_autoload_directory_must_exist() {
    let project = Project::new("autoload-missing");
    project.config(r#"{ "autoload": { "path": "nope" } }"#);
    assert_eq!(
        project.error(),
        "/x/spindle.json:1:25: autoload.path: /x/nope does not exist"
    );
}

#[test]
fn an_empty_autoload_directory_is_an_error() {
    let project = Project::new("autoload-empty");
    project
        .file("apps/.keep", "")
        .config(r#"{ "autoload": { "path": "apps" } }"#);
    assert_eq!(
        project.error(),
        "/x/spindle.json:1:25: autoload.path: no applications found in /x/apps"
    );
}

#[test]
fn an_autoloaded_directory_name_must_be_a_valid_id() {
    let project = Project::new("autoload-bad-name");
    project
        .app("apps/my app")
        .config(r#"{ "autoload": { "path": "apps" } }"#);
    assert_eq!(
        project.error(),
        "/x/spindle.json:1:25: autoload.path: directory \"my app\" in /x/apps is not a valid \
         application id (expected letters, digits, \"-\" or \"_\", starting with a letter or \
         digit, at most 63 long); rename it or add it to autoload.exclude"
    );
}
