//! The operator commands (`ps`, `logs`, `top`, `restart`, `scale`, `inject`, `metrics`,
//! `stop`): each finds a running spindle by its control socket and speaks the management
//! API over it.
//!
//! - [`discover`] finds the socket (`<tmp>/spindle-<pid>/control.sock`), [`client`] is a
//!   blocking HTTP/1.0 client over it; the answers and request bodies are `spindle_api`'s,
//!   the types the server writes them with.
//! - [`format`] and [`table`] lay out numbers and columns; [`window`] turns two metric
//!   samples into rates and a p99; `spindle_logline` renders a JSON log line for a terminal, as `--pretty` does.
//! - One module per command group: [`ps`], [`top`], [`logs`], [`actions`] (restart,
//!   scale, stop), [`inject`], [`metrics`].

mod actions;
mod client;
mod discover;
mod error;
mod format;
mod inject;
mod logs;
mod metrics;
mod ps;
mod save;
mod table;
mod top;
mod window;

use std::time::Duration;

use clap::{Args, Subcommand};

pub use error::ControlError;

/// Which running spindle a command talks to; needed only when several are running.
#[derive(Args, Debug, Clone, Default)]
pub struct Target {
    /// The spindle with this process id.
    #[arg(long, value_name = "PID")]
    pid: Option<u32>,
    /// The spindle with this name (the `name` in its status).
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// List the apps of a running spindle and their workers.
    ///
    /// RESTARTS counts replacements on the app's first row: crash/unhealthy/restart.
    Ps {
        #[command(flatten)]
        target: Target,
        /// Print the API's JSON status.
        #[arg(long)]
        json: bool,
    },
    /// Print the log lines of a running spindle: the last N, then new ones with -f.
    Logs {
        #[command(flatten)]
        target: Target,
        /// Only the lines of this app (its id).
        app: Option<String>,
        /// Keep printing new lines as they come (until Ctrl-C).
        #[arg(short, long)]
        follow: bool,
        /// How many past lines to print first.
        #[arg(short = 'n', long = "lines", value_name = "N", default_value_t = 100)]
        lines: u32,
        /// Raw JSON lines even on a terminal.
        #[arg(long)]
        json: bool,
    },
    /// A live view of the workers and the traffic, refreshed every interval.
    Top {
        #[command(flatten)]
        target: Target,
        /// Print one frame and exit (the default when stdout is not a terminal).
        #[arg(long)]
        once: bool,
        /// Milliseconds between samples; rates and p99 cover this window.
        #[arg(long, value_name = "MS", default_value_t = 1000,
              value_parser = clap::value_parser!(u64).range(100..=600_000))]
        interval: u64,
    },
    /// Restart every app (or APP), worker by worker, without dropping requests.
    Restart {
        #[command(flatten)]
        target: Target,
        /// The app's id (default: every app).
        app: Option<String>,
        /// Print the API's JSON answer.
        #[arg(long)]
        json: bool,
    },
    /// Set how many workers an app runs.
    Scale {
        #[command(flatten)]
        target: Target,
        /// The app's id.
        app: String,
        /// The number of workers (1 to 64).
        workers: u32,
        /// Print the API's JSON answer.
        #[arg(long)]
        json: bool,
    },
    /// Add an app to the running server, or remove one (nothing else restarts).
    Apps {
        #[command(subcommand)]
        action: AppsAction,
    },
    /// Send one request to a worker of APP, bypassing the public port; print the answer
    /// like `curl -i`.
    Inject {
        #[command(flatten)]
        target: Target,
        /// The app's id (any app, not only the entrypoint).
        app: String,
        /// GET, POST, …
        method: String,
        /// The path with its query, e.g. `/users?id=1`.
        path: String,
        /// A request header, `Name: value` (repeatable).
        #[arg(short = 'H', long = "header", value_name = "HEADER", value_parser = inject::parse_header)]
        headers: Vec<(String, String)>,
        /// The request body; `@FILE` reads a file, `@-` stdin.
        #[arg(short = 'd', long = "data", value_name = "DATA")]
        data: Option<String>,
        /// Print the API's JSON answer.
        #[arg(long)]
        json: bool,
    },
    /// Print the metrics in Prometheus text format (or JSON).
    Metrics {
        #[command(flatten)]
        target: Target,
        /// Per-app request counts and latency histograms as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Stop a running spindle: it drains in-flight requests, then exits.
    Stop {
        #[command(flatten)]
        target: Target,
        /// Print the API's JSON answer.
        #[arg(long)]
        json: bool,
    },
}

/// Runs one operator command against the spindle it names.
pub fn run(command: Command) -> Result<(), ControlError> {
    let find = || discover::find(&command.target().wanted());
    match &command {
        Command::Ps { json, .. } => ps::run(&find()?, *json),
        Command::Logs {
            app,
            follow,
            lines,
            json,
            ..
        } => logs::run(&find()?, app.as_deref(), *lines, *follow, *json),
        Command::Top { once, interval, .. } => {
            top::run(&find()?, *once, Duration::from_millis(*interval))
        }
        Command::Restart { app, json, .. } => actions::restart(&find()?, app.as_deref(), *json),
        Command::Scale {
            app, workers, json, ..
        } => actions::scale(&find()?, app, *workers, *json),
        Command::Apps {
            action:
                AppsAction::Add {
                    path,
                    id,
                    workers,
                    route,
                    save,
                    json,
                    ..
                },
        } => actions::add_app(
            &find()?,
            path,
            id.as_deref(),
            *workers,
            route.as_deref(),
            *save,
            *json,
        ),
        Command::Apps {
            action: AppsAction::Remove { id, save, json, .. },
        } => actions::remove_app(&find()?, id, *save, *json),
        Command::Inject {
            app,
            method,
            path,
            headers,
            data,
            json,
            ..
        } => {
            // A bad request (or an unreadable body file) fails before anything is sent.
            let request = inject::Request::new(method, path, headers.clone(), data.clone())?;
            inject::run(&find()?, app, &request, *json)
        }
        Command::Metrics { json, .. } => metrics::run(&find()?, *json),
        Command::Stop { json, .. } => actions::stop(&find()?, *json),
    }
}

impl Command {
    fn target(&self) -> &Target {
        match self {
            Command::Ps { target, .. }
            | Command::Logs { target, .. }
            | Command::Top { target, .. }
            | Command::Restart { target, .. }
            | Command::Scale { target, .. }
            | Command::Apps {
                action: AppsAction::Add { target, .. } | AppsAction::Remove { target, .. },
            }
            | Command::Inject { target, .. }
            | Command::Metrics { target, .. }
            | Command::Stop { target, .. } => target,
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum AppsAction {
    /// Start serving the app in PATH (a directory or its entry file) in the running server.
    Add {
        #[command(flatten)]
        target: Target,
        /// The app's directory or entry file.
        path: std::path::PathBuf,
        /// Its id (default: the directory's name).
        #[arg(long)]
        id: Option<String>,
        /// How many workers (default 1).
        #[arg(long)]
        workers: Option<u32>,
        /// Also serve it on the public port under this path prefix (like server.routes).
        #[arg(long, value_name = "PREFIX")]
        route: Option<String>,
        /// Also add it to the server's config file, so it is there after a restart.
        #[arg(long)]
        save: bool,
        /// Print the API's JSON answer.
        #[arg(long)]
        json: bool,
    },
    /// Stop serving an app: it leaves the mesh at once, its workers drain, then stop.
    Remove {
        #[command(flatten)]
        target: Target,
        /// The app's id.
        id: String,
        /// Also remove it from the server's config file.
        #[arg(long)]
        save: bool,
        /// Print the API's JSON answer.
        #[arg(long)]
        json: bool,
    },
}

impl Target {
    fn wanted(&self) -> discover::Wanted {
        discover::Wanted {
            pid: self.pid,
            name: self.name.clone(),
        }
    }
}
