//! `spindle ps`: one line about the server, then a row per worker.

use std::io::Write;

use spindle_api::{AppStatus, Restarts, Status, WorkerStatus};

use super::client::Endpoint;
use super::error::ControlError;
use super::format::{duration_ms, heap_mib, percent};
use super::table::{Column, Table};

pub fn run(endpoint: &Endpoint, json: bool) -> Result<(), ControlError> {
    let response = endpoint.get("/v1/status")?;
    let mut out = std::io::stdout().lock();
    if json {
        out.write_all(&response.body)?;
        if !response.body.ends_with(b"\n") {
            out.write_all(b"\n")?;
        }
        return Ok(());
    }
    let status: Status = endpoint.decode(&response)?;
    out.write_all(render(&status).as_bytes())?;
    Ok(())
}

/// `spindle 0.1.0 pid 123 http://127.0.0.1:3042 running ready` (or `not ready: why`).
pub fn header(status: &Status) -> String {
    let ready = if status.ready {
        "ready".to_string()
    } else {
        format!(
            "not ready: {}",
            status.not_ready_reason.as_deref().unwrap_or("unknown")
        )
    };
    format!(
        "spindle {} pid {} {} {} {ready}",
        status.version,
        status.pid,
        status.url.as_deref().unwrap_or("-"),
        status.phase
    )
}

/// The header line, the table, and a line per failed app.
pub fn render(status: &Status) -> String {
    let mut columns = vec![Column::left("APP").max(14), Column::left("WORKER").max(18)];
    columns.extend(worker_columns());
    columns.extend([Column::left("RESTARTS"), Column::right("UPTIME")]);
    let mut table = Table::new(columns);
    for app in &status.apps {
        if app.workers.is_empty() {
            let state = if app.failed.is_some() { "failed" } else { "-" };
            table.row(vec![
                app.id.clone(),
                "-".into(),
                state.into(),
                String::new(),
                String::new(),
                String::new(),
                restarts(&app.restarts),
            ]);
        }
        for (n, worker) in app.workers.iter().enumerate() {
            let mut row = vec![app.id.clone(), worker.id.clone()];
            row.extend(worker_cells(worker));
            let restarts = if n == 0 {
                restarts(&app.restarts)
            } else {
                String::new()
            };
            row.extend([restarts, uptime(worker)]);
            table.row(row);
        }
    }
    let mut out = header(status);
    out.push('\n');
    out.push_str(&table.render());
    out.push_str(&failures(&status.apps));
    out
}

/// STATE, ELU, HEAP MiB, IN-FLIGHT: what `ps` and `top` show of every worker.
pub fn worker_columns() -> [Column; 4] {
    [
        Column::left("STATE"),
        Column::right("ELU"),
        Column::right("HEAP MiB"),
        Column::right("IN-FLIGHT"),
    ]
}

/// A worker's cells under [`worker_columns`].
pub fn worker_cells(worker: &WorkerStatus) -> [String; 4] {
    [
        worker.state.to_string(),
        worker.elu.map_or_else(|| "-".into(), percent),
        worker
            .heap
            .map_or_else(|| "-".into(), |h| heap_mib(h.used, h.limit)),
        worker.in_flight.to_string(),
    ]
}

/// `3m04s`, or `-` from a server that does not say.
pub fn uptime(worker: &WorkerStatus) -> String {
    worker.uptime_ms.map_or_else(|| "-".into(), duration_ms)
}

/// `crash/unhealthy/restart`.
pub fn restarts(r: &Restarts) -> String {
    format!("{}/{}/{}", r.crash, r.unhealthy, r.restart)
}

/// `app web failed: <why>` for each failed app.
pub fn failures(apps: &[AppStatus]) -> String {
    apps.iter()
        .filter_map(|app| {
            let why = app.failed.as_deref()?;
            Some(format!("app {} failed: {why}\n", app.id))
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn status() -> Status {
        serde_json::from_str(
            r#"{"pid":4242,"name":"demo","version":"0.1.0","uptimeMs":184000,
            "url":"http://127.0.0.1:3042","admin":"http://127.0.0.1:9090","phase":"running",
            "ready":true,"notReadyReason":null,"apps":[
              {"id":"web","entrypoint":true,"failed":null,"workersWanted":2,
               "restarts":{"crash":1,"unhealthy":0,"restart":2},"stalls":0,"workers":[
                {"id":"web:0","state":"ready","elu":0.0123,
                 "heap":{"used":6411816,"total":9936896,"limit":4362076160},"inFlight":3,"uptimeMs":12000},
                {"id":"web:3","state":"starting","inFlight":0,"uptimeMs":184000}]},
              {"id":"api","entrypoint":false,"failed":"5 workers in a row failed to start",
               "workersWanted":1,"restarts":{"crash":5,"unhealthy":0,"restart":0},"stalls":0,
               "workers":[]}]}"#,
        )
        .unwrap()
    }

    #[test]
    fn renders_a_header_a_row_per_worker_and_failures() {
        let text = render(&status());
        assert_eq!(
            text,
            "spindle 0.1.0 pid 4242 http://127.0.0.1:3042 running ready\n\
             APP  WORKER  STATE      ELU  HEAP MiB  IN-FLIGHT  RESTARTS  UPTIME\n\
             web  web:0   ready     1.2%  6.1/4160          3  1/0/2        12s\n\
             web  web:3   starting     -         -          0             3m04s\n\
             api  -       failed                               5/0/0\n\
             app api failed: 5 workers in a row failed to start\n"
        );
        assert!(text.lines().all(|line| line.chars().count() <= 100));
    }

    #[test]
    fn the_header_says_why_not_ready() {
        let mut status = status();
        status.ready = false;
        status.phase = spindle_api::Phase::Starting;
        status.not_ready_reason = Some("no ready worker for app web".into());
        status.url = None;
        assert_eq!(
            header(&status),
            "spindle 0.1.0 pid 4242 - starting not ready: no ready worker for app web"
        );
    }

    #[test]
    fn long_ids_still_fit_100_columns() {
        let mut status = status();
        let app = &mut status.apps[0];
        app.id = "a-very-long-application-name".into();
        app.workers[0].id = "a-very-long-application-name:12".into();
        app.workers[0].state = spindle_api::WorkerState::Draining;
        app.workers[0].heap = Some(spindle_api::Heap {
            used: 4_000 * 1024 * 1024,
            total: 4_050 * 1024 * 1024,
            limit: 4_096 * 1024 * 1024,
        });
        app.workers[0].in_flight = 123_456_789;
        app.restarts = Restarts {
            crash: 1234,
            unhealthy: 567,
            restart: 89,
        };
        let text = render(&status);
        for line in text.lines().skip(1) {
            assert!(
                line.chars().count() <= 100,
                "{} columns: {line}",
                line.len()
            );
        }
    }
}
