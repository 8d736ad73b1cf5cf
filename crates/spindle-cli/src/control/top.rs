//! `spindle top`: apps with their traffic (requests/s, 5xx/s, p99 over the last interval)
//! and workers with their state, ELU and heap; redrawn every interval on a terminal, one
//! frame otherwise.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use spindle_api::{Metrics, Status};

use super::client::Endpoint;
use super::error::ControlError;
use super::format::{duration_ms, rate, seconds};
use super::ps;
use super::table::{Column, Table};
use super::window::{self, AppWindow, Quantile};

/// Cursor home; each line then erases its rest, and the screen below the frame is erased:
/// a redraw without the flicker of clearing first.
const HOME: &str = "\x1b[H";
const ERASE_LINE: &str = "\x1b[K";
const ERASE_BELOW: &str = "\x1b[J";

pub fn run(endpoint: &Endpoint, once: bool, interval: Duration) -> Result<(), ControlError> {
    let live = !once && std::io::stdout().is_terminal();
    let mut before = metrics(endpoint)?;
    loop {
        // Pacing: the window over which rates are measured.
        std::thread::sleep(interval);
        let status: Status = endpoint.decode(&endpoint.get("/v1/status")?)?;
        let after = metrics(endpoint)?;
        let elapsed = after.1.duration_since(before.1);
        let windows = window::between(&before.0, &after.0, elapsed);
        let frame = render(&status, &windows, elapsed);
        let mut out = std::io::stdout().lock();
        if !live {
            out.write_all(frame.as_bytes())?;
            return Ok(());
        }
        let mut screen = String::from(HOME);
        for line in frame.lines() {
            screen.push_str(line);
            screen.push_str(ERASE_LINE);
            screen.push('\n');
        }
        screen.push_str(ERASE_BELOW);
        out.write_all(screen.as_bytes())?;
        out.flush()?;
        before = after;
    }
}

fn metrics(endpoint: &Endpoint) -> Result<(Metrics, Instant), ControlError> {
    let response = endpoint.get("/v1/metrics?format=json")?;
    let taken = Instant::now();
    Ok((endpoint.decode(&response)?, taken))
}

/// One frame: the server line, a row per app, a row per worker.
pub fn render(status: &Status, windows: &BTreeMap<String, AppWindow>, elapsed: Duration) -> String {
    let mut apps = Table::new(vec![
        Column::left("APP").max(20),
        Column::right("WORKERS"),
        Column::right("REQ/S"),
        Column::right("5XX/S"),
        Column::right("P99"),
        Column::left("RESTARTS"),
    ]);
    let mut columns = vec![Column::left("WORKER").max(24)];
    columns.extend(ps::worker_columns());
    columns.push(Column::right("UPTIME"));
    let mut workers = Table::new(columns);
    for app in &status.apps {
        let wanted = app.workers_wanted.map_or(app.workers.len(), |n| n as usize);
        let window = windows.get(&app.id);
        apps.row(vec![
            app.id.clone(),
            format!("{}/{wanted}", app.ready_workers()),
            window.map_or_else(|| "-".into(), |w| rate(w.requests_per_s)),
            window.map_or_else(|| "-".into(), |w| rate(w.errors_per_s)),
            match window.and_then(|w| w.p99) {
                Some(Quantile::Within(s)) => seconds(s),
                Some(Quantile::Beyond(s)) => format!(">{}", seconds(s)),
                None => "-".into(),
            },
            ps::restarts(&app.restarts),
        ]);
        for worker in &app.workers {
            let mut row = vec![worker.id.clone()];
            row.extend(ps::worker_cells(worker));
            row.push(ps::uptime(worker));
            workers.row(row);
        }
    }
    format!(
        "{}  up {}  window {:.1}s\n\n{}\n{}{}",
        ps::header(status),
        duration_ms(status.uptime_ms),
        elapsed.as_secs_f64(),
        apps.render(),
        workers.render(),
        ps::failures(&status.apps),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Windows by app id: requests/s, 5xx/s, p99.
    fn windows(apps: &[(&str, f64, f64, Option<Quantile>)]) -> BTreeMap<String, AppWindow> {
        apps.iter()
            .map(|&(app, requests_per_s, errors_per_s, p99)| {
                let window = AppWindow {
                    requests_per_s,
                    errors_per_s,
                    p99,
                };
                (app.to_string(), window)
            })
            .collect()
    }

    #[test]
    fn renders_apps_with_traffic_and_workers() {
        let status = ps::tests::status();
        let windows = windows(&[
            ("web", 125.25, 0.5, Some(Quantile::Within(0.0025))),
            ("api", 0.0, 0.0, None),
        ]);
        let frame = render(&status, &windows, Duration::from_millis(1000));
        assert_eq!(
            frame,
            "spindle 0.1.0 pid 4242 http://127.0.0.1:3042 running ready  up 3m04s  window 1.0s\n\
             \n\
             APP  WORKERS  REQ/S  5XX/S    P99  RESTARTS\n\
             web      1/2    125    0.5  2.5ms  1/0/2\n\
             api      0/1    0.0    0.0      -  5/0/0\n\
             \n\
             WORKER  STATE      ELU  HEAP MiB  IN-FLIGHT  UPTIME\n\
             web:0   ready     1.2%  6.1/4160          3     12s\n\
             web:3   starting     -         -          0   3m04s\n\
             app api failed: 5 workers in a row failed to start\n"
        );
    }

    #[test]
    fn a_p99_past_the_last_bucket_says_so() {
        let status = ps::tests::status();
        let windows = windows(&[("web", 1.0, 0.0, Some(Quantile::Beyond(10.0)))]);
        let frame = render(&status, &windows, Duration::from_millis(1000));
        assert!(frame.contains(">10s"), "{frame}");
    }
}
