//! An application's own Watt config (`watt.json`, `platformatic.json`, or the file its
//! `config` names): which capability it is, and what that says about its entry.
//!
//! Watt picks the capability from the config's `module`, else from its `$schema` URL. Spindle
//! runs `@platformatic/node` apps (and apps with no config of their own) and
//! `@platformatic/next` apps (see [`crate::next`]); any other capability is an error that
//! says so, since running its files as a plain Node program would fail in ways far from the
//! cause.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{io_message, ConfigError, ErrorKind, Reporter};
use crate::json;
use crate::keypath::KeyPath;
use crate::locate::Locator;

/// Names of an application's own config, in the order Watt looks for them. YAML, TOML and
/// JSON5 forms are not read (see [`crate::load`]).
pub(crate) const APP_CONFIG_NAMES: [&str; 6] = [
    "watt.json",
    "platformatic.json",
    "watt.application.json",
    "platformatic.application.json",
    "watt.service.json",
    "platformatic.service.json",
];

/// What an application's own config says.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OwnConfig {
    pub(crate) file: PathBuf,
    pub(crate) capability: Capability,
    /// `node.main`: the entry file, relative to the application's directory.
    pub(crate) main: Option<String>,
    /// The whole document, for capability options (`next`, `application`).
    pub(crate) document: Value,
    /// Its text, to place warnings about its keys.
    pub(crate) text: String,
}

/// Watt's capabilities, as far as Spindle tells them apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Capability {
    /// `@platformatic/node`, or a config that names no capability.
    Node,
    /// `@platformatic/next`.
    Next,
    /// Any other: the package name (`@platformatic/service`).
    Other(String),
}

/// The capability a config document names: `module`, else the package in its `$schema` URL.
pub(crate) fn named(document: &Value) -> Option<String> {
    if let Some(module) = document.get("module").and_then(Value::as_str) {
        return Some(module.to_owned());
    }
    let schema = document.get("$schema").and_then(Value::as_str)?;
    // https://schemas.platformatic.dev/@platformatic/<name>/<version>.json
    if let Some(rest) = schema.split("/@platformatic/").nth(1) {
        let name = rest.split('/').next().unwrap_or(rest);
        return Some(format!("@platformatic/{name}"));
    }
    // https://schemas.platformatic.dev/wattpm/<version>.json
    if schema.contains("schemas.platformatic.dev/wattpm/") {
        return Some("@platformatic/runtime".to_owned());
    }
    // https://platformatic.dev/schemas/v<version>/<name> (Platformatic 1.x)
    if let Some(rest) = schema.split("platformatic.dev/schemas/").nth(1) {
        let name = rest.rsplit('/').next().unwrap_or(rest);
        return Some(format!("@platformatic/{name}"));
    }
    None
}

impl Capability {
    fn from_module(module: Option<&str>) -> Self {
        match module {
            None | Some("@platformatic/node" | "@platformatic/runtime" | "wattpm") => Self::Node,
            Some("@platformatic/next") => Self::Next,
            Some(other) => Self::Other(other.to_owned()),
        }
    }
}

/// What to do instead, for a capability Spindle does not run.
pub(crate) fn advice(module: &str) -> &'static str {
    match module {
        "@platformatic/service" | "@platformatic/db" => {
            "run it as a @platformatic/node app: a Fastify server in index.js that registers its plugins"
        }
        "@platformatic/gateway" | "@platformatic/composer" => {
            "route by path prefix with server.routes instead of a gateway app"
        }
        _ => {
            "build it and serve the build with a Node.js server (an index.js that listens, or exports create()); see docs/frameworks.md"
        }
    }
}

/// Reads the application's own config in `dir`: the file `named` (relative to `dir`), else
/// the first of [`APP_CONFIG_NAMES`] present. `None` when there is none.
pub(crate) fn read(dir: &Path, named: Option<&str>) -> Result<Option<OwnConfig>, ConfigError> {
    let file = match named {
        Some(name) => dir.join(name),
        None => match APP_CONFIG_NAMES
            .iter()
            .map(|name| dir.join(name))
            .find(|file| file.is_file())
        {
            Some(file) => file,
            None => return Ok(None),
        },
    };
    let text = fs::read_to_string(&file).map_err(|error| {
        let kind = match error.kind() {
            std::io::ErrorKind::NotFound => ErrorKind::NotFound,
            _ => ErrorKind::Io,
        };
        let message = format!(
            "cannot read the application's config: {}",
            io_message(&error)
        );
        ConfigError::file(&file, kind, message)
    })?;
    let text = json::strip_bom(&text);
    let document = json::parse(&file, text)?;
    let capability = Capability::from_module(self::named(&document).as_deref());
    let main = match document.get("node").and_then(|node| node.get("main")) {
        None | Some(Value::Null) => None,
        Some(Value::String(main)) if !main.is_empty() => Some(main.clone()),
        Some(other) => {
            let locator = Locator::new(text).ok();
            let report = Reporter::new(&file, locator.as_ref());
            let found = crate::json::describe(Some(other));
            return Err(report.at_value(
                &KeyPath::root().key("node").key("main"),
                ErrorKind::InvalidType,
                format!("expected a file path, got {found}"),
            ));
        }
    };
    Ok(Some(OwnConfig {
        capability,
        main,
        document,
        text: text.to_owned(),
        file,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_the_capability_from_module_or_schema() {
        let cases = [
            (
                json!({"module": "@platformatic/next"}),
                Some("@platformatic/next"),
            ),
            (
                json!({"$schema": "https://schemas.platformatic.dev/@platformatic/node/3.67.0.json"}),
                Some("@platformatic/node"),
            ),
            (
                json!({"$schema": "https://schemas.platformatic.dev/wattpm/3.0.0.json"}),
                Some("@platformatic/runtime"),
            ),
            (
                json!({"$schema": "https://platformatic.dev/schemas/v1.52.0/service"}),
                Some("@platformatic/service"),
            ),
            (json!({"$schema": "./schema.json"}), None),
            (json!({}), None),
        ];
        for (document, expected) in cases {
            assert_eq!(named(&document).as_deref(), expected, "{document}");
        }
    }

    #[test]
    fn tells_capabilities_apart() {
        assert_eq!(Capability::from_module(None), Capability::Node);
        assert_eq!(
            Capability::from_module(Some("@platformatic/node")),
            Capability::Node
        );
        assert_eq!(
            Capability::from_module(Some("@platformatic/next")),
            Capability::Next
        );
        assert_eq!(
            Capability::from_module(Some("@platformatic/vite")),
            Capability::Other("@platformatic/vite".into())
        );
    }
}
