//! What changes a running server: the request bodies the `spindle` command sends and the
//! answers the server gives. Every change is accepted, then carried out by the server.
//! The requests' fields are read leniently (a wrong type is absent); the server checks
//! what it needs and names the shape it expected.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use crate::lenient;

/// `POST /v1/restart`: `202`, every app restarts worker by worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Restarting {
    pub apps: Vec<String>,
}

/// `POST /v1/apps/{id}/restart`: `202`, the app restarts worker by worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppRestarting {
    pub app: String,
}

/// The body of `POST /v1/apps/{id}/scale`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScaleRequest {
    /// From 1 to the server's maximum; required.
    #[serde(default, deserialize_with = "lenient")]
    pub workers: Option<u32>,
}

/// `POST /v1/apps/{id}/scale`: `200`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scaled {
    pub app: String,
    pub workers: u32,
}

/// The body of `POST /v1/apps`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddApp {
    /// The app's directory or entry file, absolute; required.
    #[serde(default, deserialize_with = "lenient")]
    pub path: Option<String>,
    /// Default: the directory's name.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub id: Option<String>,
    /// Default: 1. Wider than a count needs, so that a huge number is refused as too many
    /// rather than read as absent.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub workers: Option<u64>,
    /// Also serve the app on the public port under this path prefix.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub route: Option<String>,
}

/// `POST /v1/apps`: `201`, the app's id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Added {
    pub app: String,
}

/// `DELETE /v1/apps/{id}`: `202`, the app leaves the mesh; its workers drain and stop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Removing {
    pub app: String,
    pub removing: bool,
}

/// `POST /v1/stop`: `202`, then the graceful shutdown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stopping {
    pub stopping: bool,
}

/// The body of `POST /v1/apps/{id}/inject`: one request for a worker of the app.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InjectRequest {
    /// Default: GET.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub method: Option<String>,
    /// The path with its query; default `/`.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub path: Option<String>,
    /// One value per name (a repeated header joined with `, `).
    #[serde(default, deserialize_with = "headers")]
    pub headers: BTreeMap<String, String>,
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub body: Option<String>,
}

/// `POST /v1/apps/{id}/inject`: `200`, the app's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Injected {
    pub status: u16,
    /// A header's value, or its values when it was repeated. This server sends a string
    /// per name (repeated values joined with `, `).
    #[serde(default)]
    pub headers: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub body: String,
}

/// An object of strings; anything other than an object is no headers, but a value that
/// is not a string is an error that names it.
fn headers<'de, D>(deserializer: D) -> Result<BTreeMap<String, String>, D::Error>
where
    D: Deserializer<'de>,
{
    let serde_json::Value::Object(object) = serde_json::Value::deserialize(deserializer)? else {
        return Ok(BTreeMap::new());
    };
    object
        .into_iter()
        .map(|(name, value)| match value {
            serde_json::Value::String(value) => Ok((name, value)),
            _ => Err(serde::de::Error::custom(format!(
                "header {name:?} must be a string"
            ))),
        })
        .collect()
}
