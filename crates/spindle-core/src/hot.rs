//! Adding and removing apps in a running server. Nothing else restarts: a new app gets
//! its proxy, counters and mesh socket and starts its workers; a removed app leaves the
//! mesh at once (callers get `unknown_app`) and its workers drain before they stop.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use spindle_config::Config;
use tokio::sync::mpsc;

use crate::core::AppWiring;
use crate::datapath::apps::Apps;
use crate::datapath::prefixes::PrefixRoutes;
use crate::mesh;
use crate::supervisor::Event;

/// Why an add or remove was refused: HTTP status, error code, message.
#[derive(Debug)]
pub struct Refused(pub u16, pub &'static str, pub String);

pub struct HotApps {
    /// The config the server started with: defaults and env rules for added apps.
    pub config: Arc<Config>,
    pub env: BTreeMap<String, String>,
    pub apps: Apps,
    /// How an app is wired into the core, as the configured ones were at start; its
    /// runtime is the data plane's, which the management API injects requests on too.
    pub wiring: AppWiring,
    pub events: mpsc::UnboundedSender<Event>,
    /// The public port's routes: an added app may get one.
    pub prefixes: Arc<PrefixRoutes>,
}

impl HotApps {
    /// Starts serving the app at `path`, on the public port under `route` too when given;
    /// returns its id.
    pub fn add(
        &self,
        path: &Path,
        id: Option<&str>,
        workers: Option<u32>,
        route: Option<&str>,
    ) -> Result<String, Refused> {
        if let Some(route) = route {
            check_route(route).map_err(|m| Refused(400, "invalid_route", m))?;
        }
        let app = spindle_config::resolve_app(&self.config, path, id, workers, &self.env)
            .map_err(|e| Refused(400, "invalid_app", e.to_string()))?;
        // A Next.js app must be built, for the path it is added under.
        let mounts: Vec<&str> = route.into_iter().collect();
        spindle_config::next::check_app(&app, &mounts, false)
            .map_err(|why| Refused(400, "invalid_app", why))?;
        if self.apps.get(&app.id).is_some() {
            return Err(Refused(
                409,
                "app_exists",
                format!("app id {:?} is already in use", app.id),
            ));
        }
        let target = self.wiring.proxy(&app);
        if let Some(route) = route {
            if !self.prefixes.add(route, target.clone()) {
                return Err(Refused(
                    409,
                    "route_exists",
                    format!("route {route:?} is already in use"),
                ));
            }
        }
        self.wiring.listen(&app.id).map_err(|e| {
            self.prefixes.remove_app(&app.id);
            let socket = mesh::socket_path(&self.wiring.rundir, &app.id);
            Refused(
                500,
                "internal",
                format!("cannot create the mesh socket {}: {e}", socket.display()),
            )
        })?;
        let queue = target.queue.clone();
        self.apps.insert(target);
        let id = app.id.clone();
        let _ = self.events.send(Event::AddApp {
            config: Box::new(app),
            queue,
            base_path: route.map(str::to_owned),
        });
        Ok(id)
    }

    /// Stops serving `id`: out of the mesh now, workers drained, then forgotten.
    pub fn remove(&self, id: &str) -> Result<(), Refused> {
        if id == self.config.entrypoint {
            return Err(Refused(
                409,
                "entrypoint",
                format!("app {id:?} is the entrypoint and cannot be removed"),
            ));
        }
        self.prefixes.remove_app(id);
        if self.apps.remove(id).is_none() {
            return Err(Refused(
                404,
                "unknown_app",
                format!("no app {id:?} (apps: {})", self.apps.ids().join(", ")),
            ));
        }
        // Its mesh socket stays until the last worker is gone: draining workers may still
        // call other apps. The supervisor closes it then.
        let _ = self.events.send(Event::RemoveApp(id.into()));
        Ok(())
    }
}

/// The same rule as `server.routes` in the config: "/" and trailing slashes are not routes.
fn check_route(route: &str) -> Result<(), String> {
    if !route.starts_with('/') || route == "/" || route.ends_with('/') {
        return Err(format!(
            "expected a path prefix like \"/api\" (starting with \"/\", not ending with one), got {route:?}"
        ));
    }
    if route.contains(['?', '#']) || route.chars().any(char::is_whitespace) {
        return Err(format!(
            "expected a path prefix without \"?\", \"#\" or whitespace, got {route:?}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn routes_follow_the_config_rule() {
        assert!(super::check_route("/api").is_ok());
        assert!(super::check_route("/api/v2").is_ok());
        for bad in ["", "api", "/", "/api/", "/a?b", "/a b"] {
            assert!(super::check_route(bad).is_err(), "{bad:?}");
        }
    }
}
