//! Which app a public request is for: the longest `server.routes` prefix that matches its
//! path, else the entrypoint. A routed request reaches its app with the prefix removed
//! (`/api/users` → `/users`) and `X-Forwarded-Prefix: /api`, so the app can be written
//! as if it were mounted at the root and still build absolute links.

use std::sync::{Arc, RwLock};

use super::app::App;

pub struct PrefixRoutes {
    /// Longest prefix first. Apps added at run time may add a route.
    routes: RwLock<Vec<(Arc<str>, Arc<App>)>>,
    default: Arc<App>,
}

impl PrefixRoutes {
    pub fn new(routes: Vec<(String, Arc<App>)>, default: Arc<App>) -> PrefixRoutes {
        let table = PrefixRoutes {
            routes: RwLock::new(Vec::new()),
            default,
        };
        for (prefix, app) in routes {
            table.add(&prefix, app);
        }
        table
    }

    /// Sends requests under `prefix` to `app`; false if that prefix is taken.
    pub fn add(&self, prefix: &str, app: Arc<App>) -> bool {
        let mut routes = self.routes.write().unwrap_or_else(|e| e.into_inner());
        if routes.iter().any(|(p, _)| &**p == prefix) {
            return false;
        }
        routes.push((prefix.into(), app));
        routes.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        true
    }

    /// Drops every route to `app`.
    pub fn remove_app(&self, app: &str) {
        self.routes
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(_, a)| &*a.id != app);
    }

    /// The app for a request to `path`, and the prefix to strip from it if routed.
    pub fn route(&self, path: &str) -> (Arc<App>, Option<Arc<str>>) {
        let routes = self.routes.read().unwrap_or_else(|e| e.into_inner());
        for (prefix, app) in routes.iter() {
            if under(path, prefix) {
                return (app.clone(), Some(prefix.clone()));
            }
        }
        (self.default.clone(), None)
    }
}

/// Whether `path` is `prefix` or below it, on whole segments.
fn under(path: &str, prefix: &str) -> bool {
    match path.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::under;

    #[test]
    fn prefixes_match_whole_segments() {
        assert!(under("/api", "/api"));
        assert!(under("/api/", "/api"));
        assert!(under("/api/users/7", "/api"));
        assert!(!under("/apiary", "/api"));
        assert!(!under("/other", "/api"));
    }
}
