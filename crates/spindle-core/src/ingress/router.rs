//! Which app a public request is for: the longest `server.routes` prefix that matches its
//! path, else the entrypoint. A routed request reaches its app with the prefix removed
//! (`/api/users` → `/users`) and `X-Forwarded-Prefix: /api`, so the app can be written
//! as if it were mounted at the root and still build absolute links.

use std::sync::{Arc, RwLock};

use http::uri::PathAndQuery;
use http::{HeaderValue, Request, Uri};

use super::proxy::Proxy;

pub struct Router {
    /// Longest prefix first. Apps added at run time may add a route.
    routes: RwLock<Vec<(String, Arc<Proxy>)>>,
    default: Arc<Proxy>,
}

impl Router {
    pub fn new(routes: Vec<(String, Arc<Proxy>)>, default: Arc<Proxy>) -> Router {
        let router = Router {
            routes: RwLock::new(Vec::new()),
            default,
        };
        for (prefix, proxy) in routes {
            router.add(&prefix, proxy);
        }
        router
    }

    /// Routes `prefix` to `proxy`; false if that prefix is taken.
    pub fn add(&self, prefix: &str, proxy: Arc<Proxy>) -> bool {
        let mut routes = self.routes.write().unwrap_or_else(|e| e.into_inner());
        if routes.iter().any(|(p, _)| p == prefix) {
            return false;
        }
        routes.push((prefix.to_string(), proxy));
        routes.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        true
    }

    /// Drops every route to `app`.
    pub fn remove_app(&self, app: &str) {
        self.routes
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(_, p)| &*p.app != app);
    }

    /// The proxy for this request, after rewriting it for a routed app.
    pub fn route<B>(&self, req: &mut Request<B>) -> Arc<Proxy> {
        let routes = self.routes.read().unwrap_or_else(|e| e.into_inner());
        for (prefix, proxy) in routes.iter() {
            if let Some(rest) = strip(req.uri().path(), prefix) {
                let rest = rest.to_string();
                *req.uri_mut() = rewrite(req.uri(), &rest);
                if let Ok(value) = HeaderValue::from_str(prefix) {
                    req.headers_mut().insert("x-forwarded-prefix", value);
                }
                return proxy.clone();
            }
        }
        self.default.clone()
    }
}

/// The path below `prefix` ("/" for the prefix itself), or None if it is not below it.
fn strip<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = path.strip_prefix(prefix)?;
    match rest {
        "" => Some("/"),
        r if r.starts_with('/') => Some(r),
        _ => None,
    }
}

fn rewrite(uri: &Uri, path: &str) -> Uri {
    let pq = match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = PathAndQuery::try_from(pq).ok().or(parts.path_and_query);
    Uri::from_parts(parts).unwrap_or_else(|_| uri.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_match_whole_segments() {
        assert_eq!(strip("/api", "/api"), Some("/"));
        assert_eq!(strip("/api/", "/api"), Some("/"));
        assert_eq!(strip("/api/users/7", "/api"), Some("/users/7"));
        assert_eq!(strip("/apiary", "/api"), None);
        assert_eq!(strip("/other", "/api"), None);
    }

    #[test]
    fn rewriting_keeps_the_query() {
        let uri: Uri = "/api/users?x=1".parse().unwrap();
        assert_eq!(rewrite(&uri, "/users").to_string(), "/users?x=1");
        let uri: Uri = "/api".parse().unwrap();
        assert_eq!(rewrite(&uri, "/").to_string(), "/");
    }
}
