//! The `server.routes` key: applications mounted on the public port by path prefix.
//!
//! Named for the prefixes, as the core's `datapath/prefixes.rs` that applies them: "routes"
//! is only the key's name (and the public [`Route`] it becomes).

use std::cmp::Reverse;
use std::collections::BTreeMap;

use crate::config::Route;
use crate::context::Context;
use crate::declared::{ids, Declared};
use crate::error::{ConfigError, ErrorKind};
use crate::keypath::KeyPath;

/// Checks `server.routes` against the applications (configured and autoloaded) and sorts the
/// routes longest prefix first, so the first that matches a path is the most specific one.
pub(crate) fn read(
    raw: BTreeMap<String, String>,
    apps: &[Declared],
    cx: &Context<'_>,
) -> Result<Vec<Route>, ConfigError> {
    let at = KeyPath::root().key("server").key("routes");
    let mut mounted = Vec::with_capacity(raw.len());
    for (prefix, app) in raw {
        let prefix_at = at.key(&prefix);
        if let Some(message) = prefix_problem(&prefix) {
            return Err(cx
                .report
                .at_key(&prefix_at, ErrorKind::InvalidValue, message));
        }
        if !apps.iter().any(|declared| declared.id == app) {
            let message = format!(
                "unknown application {app:?} (expected one of: {})",
                ids(apps)
            );
            return Err(cx
                .report
                .at_value(&prefix_at, ErrorKind::InvalidValue, message));
        }
        mounted.push(Route { prefix, app });
    }
    // Prefixes are distinct (they are keys); equal lengths keep the map's order.
    mounted.sort_by_key(|route| Reverse(route.prefix.len()));
    Ok(mounted)
}

/// What is wrong with a prefix, if anything.
fn prefix_problem(prefix: &str) -> Option<String> {
    if prefix == "/" {
        Some("\"/\" cannot be routed: the entrypoint already gets every path not routed".to_owned())
    } else if !prefix.starts_with('/') {
        Some(format!(
            "expected a path prefix starting with \"/\", got {prefix:?}"
        ))
    } else if prefix.contains(|c: char| matches!(c, '?' | '#') || c.is_whitespace()) {
        Some(format!(
            "expected a path prefix without \"?\", \"#\" or whitespace, got {prefix:?}"
        ))
    } else if prefix.ends_with('/') {
        Some(format!(
            "expected a path prefix not ending with \"/\", got {prefix:?}"
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_paths_without_a_trailing_slash() {
        for prefix in ["/api", "/a", "/api/v1", "/_next", "/%20"] {
            assert_eq!(prefix_problem(prefix), None, "{prefix}");
        }
        for prefix in [
            "/", "", "api", "/api/", "//", "/a?b", "/a#b", "/a b", "/a\tb",
        ] {
            assert!(prefix_problem(prefix).is_some(), "{prefix}");
        }
    }
}
