//! `server.https`: keys and certificates as files or inline PEM, in Watt's forms, and the
//! errors that name the key and the file of a bad one.

mod common;

use common::Project;
use spindle_config::{HttpsConfig, Pem};

/// A self-signed certificate for localhost and its key, as PEM.
fn self_signed() -> (String, String) {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
        .expect("generate a certificate");
    (cert.key_pair.serialize_pem(), cert.cert.pem())
}

fn project(name: &str, https: &str) -> Project {
    let project = Project::new(name);
    project.app("web").config(&format!(
        r#"{{ "applications": [{{ "id": "web", "path": "web" }}], "server": {{ "https": {https} }} }}"#
    ));
    project
}

fn https(project: &Project) -> HttpsConfig {
    project.config_ok().server.https.expect("https is set")
}

#[test]
fn no_https_by_default() {
    let project = Project::new("https-none");
    project
        .app("web")
        .config(r#"{ "applications": [{ "id": "web", "path": "web" }] }"#);
    assert_eq!(project.config_ok().server.https, None);
}

#[test]
fn files_as_paths_and_as_path_objects() {
    let (key, cert) = self_signed();
    let project = project(
        "https-files",
        r#"{ "key": "tls/key.pem", "cert": { "path": "tls/cert.pem" } }"#,
    );
    project
        .file("tls/key.pem", &key)
        .file("tls/cert.pem", &cert);
    let https = https(&project);
    assert_eq!(https.pairs.len(), 1);
    let pair = &https.pairs[0];
    assert_eq!(pair.key, Pem::File(project.dir().join("tls/key.pem")));
    assert_eq!(pair.cert, Pem::File(project.dir().join("tls/cert.pem")));
    let files: Vec<_> = https.files().collect();
    assert_eq!(files.len(), 2);
    assert_eq!(
        spindle_config::load_certified_keys(&https).unwrap().len(),
        1
    );
}

#[test]
fn inline_pem_and_arrays() {
    let (key1, cert1) = self_signed();
    let (key2, cert2) = self_signed();
    let json = serde_json::json!({
        "key": [key1, { "path": "k2.pem" }],
        "cert": [cert1, { "path": "c2.pem" }],
    });
    let project = project("https-arrays", &json.to_string());
    project.file("k2.pem", &key2).file("c2.pem", &cert2);
    let https = https(&project);
    assert_eq!(https.pairs.len(), 2);
    assert!(matches!(https.pairs[0].key, Pem::Inline(_)));
    assert_eq!(https.pairs[1].cert, Pem::File(project.dir().join("c2.pem")));
    // `spindle check` prints the config: never an inline private key.
    let printed = serde_json::to_string(&https).unwrap();
    assert!(!printed.contains("PRIVATE KEY"), "{printed}");
}

#[test]
fn an_unreadable_file_is_named() {
    let (_, cert) = self_signed();
    let project = project(
        "https-missing",
        r#"{ "key": { "path": "nope.pem" }, "cert": "cert.pem" }"#,
    );
    project.file("cert.pem", &cert);
    let error = project.error();
    assert!(error.contains("server.https.key"), "{error}");
    assert!(error.contains("cannot read /x/nope.pem"), "{error}");
}

#[test]
fn a_file_without_a_key_is_named() {
    let (_, cert) = self_signed();
    let project = project(
        "https-nokey",
        r#"{ "key": "cert.pem", "cert": "cert.pem" }"#,
    );
    project.file("cert.pem", &cert);
    let error = project.error();
    assert!(error.contains("server.https.key"), "{error}");
    assert!(
        error.contains("/x/cert.pem holds no private key"),
        "{error}"
    );
}

#[test]
fn a_file_without_a_certificate_is_named() {
    let (key, _) = self_signed();
    let project = project("https-nocert", r#"{ "key": "key.pem", "cert": "key.pem" }"#);
    project.file("key.pem", &key);
    let error = project.error();
    assert!(error.contains("server.https.cert"), "{error}");
    assert!(error.contains("/x/key.pem holds no certificate"), "{error}");
}

#[test]
fn a_key_that_does_not_match_its_certificate() {
    let (key, _) = self_signed();
    let (_, other_cert) = self_signed();
    let project = project(
        "https-mismatch",
        r#"{ "key": "key.pem", "cert": "cert.pem" }"#,
    );
    project.file("key.pem", &key).file("cert.pem", &other_cert);
    let error = project.error();
    assert!(error.contains("server.https.cert"), "{error}");
    assert!(
        error.contains("the certificate in /x/cert.pem was not issued for the key in /x/key.pem"),
        "{error}"
    );
}

#[test]
fn broken_pem_is_named() {
    let project = project(
        "https-broken",
        r#"{ "key": "-----BEGIN PRIVATE KEY-----\nnot base64!\n", "cert": "c.pem" }"#,
    );
    project.file("c.pem", "");
    let error = project.error();
    assert!(error.contains("server.https.key"), "{error}");
    assert!(error.contains("the inline PEM is not valid PEM"), "{error}");
}

#[test]
fn keys_and_certificates_pair_up() {
    let (key, cert) = self_signed();
    let project = project(
        "https-counts",
        r#"{ "key": ["key.pem", "key.pem"], "cert": "cert.pem" }"#,
    );
    project.file("key.pem", &key).file("cert.pem", &cert);
    let error = project.error();
    assert!(error.contains("server.https.cert"), "{error}");
    assert!(
        error.contains("one certificate chain for each key, got 2 key(s) and 1"),
        "{error}"
    );
}

#[test]
fn watt_keys_without_effect_are_warned() {
    let (key, cert) = self_signed();
    let project = project(
        "https-watt",
        r#"{ "key": "key.pem", "cert": "cert.pem", "allowHTTP1": false, "requestCert": true }"#,
    );
    project.file("key.pem", &key).file("cert.pem", &cert);
    let config = project.config_ok();
    let warned: Vec<String> = config.warnings.iter().map(|w| w.to_string()).collect();
    assert!(
        warned
            .iter()
            .any(|w| w.contains("server.https.requestCert")),
        "{warned:?}"
    );
    assert!(
        warned.iter().any(|w| w.contains("server.https.allowHTTP1")),
        "{warned:?}"
    );
}

#[test]
fn an_unknown_key_is_an_error() {
    let project = project("https-typo", r#"{ "key": "k", "cert": "c", "ca": "x" }"#);
    let error = project.error();
    assert!(error.contains("ca"), "{error}");
}

#[test]
fn http2_is_read_without_a_warning() {
    let project = Project::new("http2");
    project.app("web").config(
        r#"{ "applications": [{ "id": "web", "path": "web" }], "server": { "http2": true } }"#,
    );
    let config = project.config_ok();
    assert!(config.server.http2);
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
}
