//! The commands that change a running spindle: `restart`, `scale`, `stop`. Each returns
//! once the server has accepted the request; the work goes on in the server.

use std::io::Write;

use serde_json::json;
use spindle_api::{AddApp, Added, AppRestarting, Restarting, ScaleRequest, Scaled, Status};

use super::client::{encode, Endpoint, Response};
use super::error::ControlError;

/// Restarts every app, or `app`, worker by worker.
pub fn restart(endpoint: &Endpoint, app: Option<&str>, json: bool) -> Result<(), ControlError> {
    let response = match app {
        Some(app) => endpoint.post(&format!("/v1/apps/{}/restart", encode(app)))?,
        None => endpoint.post("/v1/restart")?,
    };
    if json {
        return print_json(&response);
    }
    let apps = match app {
        Some(_) => vec![endpoint.decode::<AppRestarting>(&response)?.app],
        None => endpoint.decode::<Restarting>(&response)?.apps,
    };
    let mut out = std::io::stdout().lock();
    for app in apps {
        writeln!(out, "restarting {app}")?;
    }
    Ok(())
}

pub fn scale(endpoint: &Endpoint, app: &str, workers: u32, json: bool) -> Result<(), ControlError> {
    let response = endpoint.post_json(
        &format!("/v1/apps/{}/scale", encode(app)),
        &ScaleRequest {
            workers: Some(workers),
        },
    )?;
    if json {
        return print_json(&response);
    }
    let scaled: Scaled = endpoint.decode(&response)?;
    writeln!(
        std::io::stdout().lock(),
        "scaled {} to {} worker{}",
        scaled.app,
        scaled.workers,
        if scaled.workers == 1 { "" } else { "s" }
    )?;
    Ok(())
}

pub fn stop(endpoint: &Endpoint, json: bool) -> Result<(), ControlError> {
    let response = endpoint.post("/v1/stop")?;
    if json {
        return print_json(&response);
    }
    writeln!(
        std::io::stdout().lock(),
        "stopping spindle {}",
        endpoint.pid()
    )?;
    Ok(())
}

/// The API's answer as is, for scripts.
pub fn print_json(response: &Response) -> Result<(), ControlError> {
    let mut out = std::io::stdout().lock();
    out.write_all(&response.body)?;
    if !response.body.ends_with(b"\n") {
        out.write_all(b"\n")?;
    }
    Ok(())
}

pub fn add_app(
    endpoint: &Endpoint,
    path: &std::path::Path,
    id: Option<&str>,
    workers: Option<u32>,
    route: Option<&str>,
    save: bool,
    json: bool,
) -> Result<(), ControlError> {
    // The server resolves the path: make it absolute here, where the user's cwd is.
    let path = std::env::current_dir()
        .map(|cwd| cwd.join(path))
        .unwrap_or_else(|_| path.to_path_buf());
    let body = AddApp {
        path: Some(path.display().to_string()),
        id: id.map(str::to_string),
        workers: workers.map(u64::from),
        route: route.map(str::to_string),
    };
    let response = endpoint.post_json("/v1/apps", &body)?;
    if json {
        return print_json(&response);
    }
    let Added { app: id } = endpoint.decode(&response)?;
    writeln!(std::io::stdout().lock(), "added {id}")?;
    if save {
        let file = config_file(endpoint)?;
        let dir = file.parent().unwrap_or(std::path::Path::new("/"));
        let relative = path
            .strip_prefix(dir)
            .map_or(path.clone(), std::path::Path::to_path_buf);
        let mut entry = json!({ "id": id, "path": relative.display().to_string() });
        if let Some(workers) = workers {
            entry["workers"] = json!(workers);
        }
        edit_config(&file, |text| super::save::add(text, &entry))?;
    }
    Ok(())
}

/// The config file the server runs from, as its status says.
fn config_file(endpoint: &Endpoint) -> Result<std::path::PathBuf, ControlError> {
    let status: Status = endpoint.decode(&endpoint.get("/v1/status")?)?;
    status.config.map(std::path::PathBuf::from).ok_or_else(|| {
        ControlError::Usage("the server runs without a config file: nothing to --save to".into())
    })
}

/// Rewrites `file` through `edit`, atomically (a reader sees the old or the new file).
fn edit_config(
    file: &std::path::Path,
    edit: impl FnOnce(&str) -> Result<String, String>,
) -> Result<(), ControlError> {
    let fail = |what: String| ControlError::Usage(format!("{}: {what}", file.display()));
    let text = std::fs::read_to_string(file).map_err(|e| fail(e.to_string()))?;
    let out = edit(&text).map_err(fail)?;
    let tmp = file.with_extension("json.spindle-tmp");
    std::fs::write(&tmp, out)
        .and_then(|_| std::fs::rename(&tmp, file))
        .map_err(|e| fail(e.to_string()))?;
    writeln!(std::io::stdout().lock(), "saved to {}", file.display())?;
    Ok(())
}

pub fn remove_app(
    endpoint: &Endpoint,
    id: &str,
    save: bool,
    json: bool,
) -> Result<(), ControlError> {
    let response = endpoint.delete(&format!("/v1/apps/{}", encode(id)))?;
    if json {
        print_json(&response)?;
    } else {
        writeln!(std::io::stdout().lock(), "removing {id}")?;
    }
    if save {
        let file = config_file(endpoint)?;
        edit_config(&file, |text| super::save::remove(text, id))?;
    }
    Ok(())
}
