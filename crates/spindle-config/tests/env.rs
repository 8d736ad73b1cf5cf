//! Placeholders and the applications' environment.

mod common;

use common::{Project, ONE_APP};

#[test]
fn placeholders_come_from_the_environment() {
    let project = Project::new("ph-env")
        .env("PORT", "8080")
        .env("HOST", "0.0.0.0");
    project.app("api").config(
        r#"{
  "applications": [{ "id": "api", "path": "api", "env": { "URL": "http://{HOST}:{{PORT}}/" } }],
  "server": { "hostname": "{HOST}", "port": "{PORT}" }
}"#,
    );
    let config = project.config_ok();
    assert_eq!(config.server.hostname, "0.0.0.0");
    assert_eq!(config.server.port, 8080);
    assert_eq!(config.applications[0].env["URL"], "http://0.0.0.0:8080/");
}

#[test]
fn placeholders_fall_back_to_the_root_env_file() {
    let project = Project::new("ph-dotenv");
    project
        .app("api")
        .file(".env", "APP_DIR=api\nWORKERS=3\n")
        .config(
            r#"{ "applications": [{ "id": "api", "path": "{APP_DIR}", "workers": "{WORKERS}" }] }"#,
        );
    let config = project.config_ok();
    assert_eq!(config.applications[0].path, project.path("api"));
    assert_eq!(config.applications[0].workers.get(), 3);
}

#[test]
fn the_real_environment_wins_over_the_env_file() {
    let project = Project::new("ph-wins").env("WORKERS", "5");
    project
        .app("api")
        .file(".env", "WORKERS=3\n")
        .config(r#"{ "applications": [{ "id": "api", "path": "api", "workers": "{WORKERS}" }] }"#);
    assert_eq!(project.config_ok().applications[0].workers.get(), 5);
}

#[test]
fn plt_root_is_the_config_directory() {
    let project = Project::new("ph-root");
    project
        .app("api")
        .config(r#"{ "applications": [{ "id": "api", "path": "{PLT_ROOT}/api" }] }"#);
    assert_eq!(
        project.config_ok().applications[0].path,
        project.path("api")
    );
}

#[test]
fn env_sources_layer_in_order() {
    let project = Project::new("env-layers")
        .env("FROM_PROCESS", "process")
        .env("SHARED", "process");
    project
        .app("api")
        .file(
            ".env",
            "FROM_ROOT=root\nSHARED=root\nROOT_ONLY_OVERRIDDEN_BY_APP=root\n",
        )
        .file(
            "api/.env",
            "FROM_APP=app\nROOT_ONLY_OVERRIDDEN_BY_APP=app\nAPP_VS_ENVFILE=app\n",
        )
        .file(
            "api/.env.local",
            "APP_VS_ENVFILE=envfile\nSHARED=envfile\nCONFIG_WINS=envfile\n",
        )
        .config(
            r#"{ "applications": [{
  "id": "api", "path": "api", "envfile": ".env.local",
  "env": { "CONFIG_WINS": "config", "SHARED": "config" }
}] }"#,
        );
    let env = &project.config_ok().applications[0].env;
    let get = |key: &str| env.get(key).map(String::as_str);
    assert_eq!(get("FROM_ROOT"), Some("root"));
    assert_eq!(get("FROM_APP"), Some("app"));
    assert_eq!(get("FROM_PROCESS"), Some("process"));
    assert_eq!(get("ROOT_ONLY_OVERRIDDEN_BY_APP"), Some("app"));
    assert_eq!(get("APP_VS_ENVFILE"), Some("envfile"));
    assert_eq!(get("CONFIG_WINS"), Some("config"));
    assert_eq!(get("SHARED"), Some("config"));
    assert_eq!(get("PORT"), Some("3042"));
}

#[test]
fn port_is_only_added_when_unset() {
    let project = Project::new("env-port").env("PORT", "9999");
    project.app("api").config(
        r#"{ "applications": [{ "id": "api", "path": "api" }], "server": { "port": 4000 } }"#,
    );
    assert_eq!(project.config_ok().applications[0].env["PORT"], "9999");

    let project = Project::new("env-port-default");
    project.app("api").config(
        r#"{ "applications": [{ "id": "api", "path": "api" }], "server": { "port": 4000 } }"#,
    );
    assert_eq!(project.config_ok().applications[0].env["PORT"], "4000");
}

#[test]
fn a_broken_env_file_names_the_file_and_line() {
    let project = Project::new("env-broken");
    project
        .app("api")
        .file("api/.env", "OK=1\n# comment\nNOT VALID\n")
        .config(ONE_APP);
    assert_eq!(
        project.error(),
        "/x/api/.env:3:5: invalid line (expected KEY=value; the line is not shown, it may \
         hold a secret)"
    );
}

#[test]
fn a_missing_envfile_is_an_error() {
    let project = Project::new("env-missing");
    project
        .app("api")
        .config(r#"{ "applications": [{ "id": "api", "path": "api", "envfile": "prod.env" }] }"#);
    assert_eq!(
        project.error(),
        "/x/spindle.json:1:61: applications[0].envfile: cannot read /x/api/prod.env: not found"
    );
}
