//! The `spindle` command: checks everything it can before anything starts, then turns
//! into the Node.js process that hosts the core and the apps. The operator commands
//! (`ps`, `logs`, `top`, …) talk to a running spindle through [`control`].

mod build;
#[cfg(any(feature = "bundle", test))]
mod bundle;
mod control;
mod launch;
mod node;
mod uid;

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit code for a bad configuration: sysexits' EX_USAGE, "the input was wrong", so
/// scripts and orchestrators can tell it from a crash.
const EXIT_CONFIG: u8 = 64;
/// Exit code when the environment cannot run Spindle (EX_UNAVAILABLE).
const EXIT_UNAVAILABLE: u8 = 69;

#[derive(Parser)]
#[command(name = "spindle", version, about = "An application server for Node.js with a native coordinator", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start serving the apps of a project (its spindle.json or watt.json, or the app in DIR).
    Start {
        /// Project directory (default: the current directory).
        dir: Option<PathBuf>,
        /// Config file to use instead of DIR/spindle.json or DIR/watt.json.
        #[arg(short, long)]
        config: Option<PathBuf>,
        /// The Node.js executable (default: the first `node` on PATH).
        #[arg(long, value_name = "PATH")]
        node: Option<PathBuf>,
        /// Human-readable coloured logs (the default on a terminal).
        #[arg(long, conflicts_with = "json")]
        pretty: bool,
        /// JSON log lines even on a terminal.
        #[arg(long)]
        json: bool,
    },
    /// Like start, for development: restarts an app (replace-before-stop) when its files
    /// change, and logs in the readable form unless --json.
    Dev {
        /// Project directory (default: the current directory).
        dir: Option<PathBuf>,
        /// Config file to use instead of DIR/spindle.json or DIR/watt.json.
        #[arg(short, long)]
        config: Option<PathBuf>,
        /// The Node.js executable (default: the first `node` on PATH).
        #[arg(long, value_name = "PATH")]
        node: Option<PathBuf>,
        /// JSON log lines instead of the readable form.
        #[arg(long)]
        json: bool,
    },
    /// Build the project's Next.js apps (`next build` in each, or its
    /// application.commands.build), as `wattpm build` does; other apps are left as they are.
    Build {
        /// Project directory (default: the current directory).
        dir: Option<PathBuf>,
        /// Config file to use instead of DIR/spindle.json or DIR/watt.json.
        #[arg(short, long)]
        config: Option<PathBuf>,
    },
    /// Check a configuration and print it resolved, without starting anything.
    Check {
        dir: Option<PathBuf>,
        #[arg(short, long)]
        config: Option<PathBuf>,
    },
    /// Print the JSON Schema of spindle.json.
    Schema {
        /// The configuration reference (docs/configuration.md) as Markdown instead.
        #[arg(long)]
        markdown: bool,
    },
    #[command(flatten)]
    Control(control::Command),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Start {
            dir,
            config,
            node,
            pretty,
            json,
        } => {
            let pretty = pretty || (!json && std::io::stdout().is_terminal());
            become_node(dir, config, node, pretty, false)
        }
        Command::Dev {
            dir,
            config,
            node,
            json,
        } => become_node(dir, config, node, !json, true),
        Command::Build { dir, config } => {
            let opts = match load_options(dir, config) {
                Ok(o) => o,
                Err(code) => return code,
            };
            match spindle_config::load(&opts) {
                Ok(config) => {
                    print_warnings(&config);
                    build::exit(build::run(&config))
                }
                Err(err) => fail(EXIT_CONFIG, &err.to_string()),
            }
        }
        Command::Check { dir, config } => {
            let opts = match load_options(dir, config) {
                Ok(o) => o,
                Err(code) => return code,
            };
            match spindle_config::load(&opts) {
                Ok(mut config) => {
                    print_warnings(&config);
                    for app in &mut config.applications {
                        redact_env(&mut app.env, &opts.env);
                    }
                    let text = serde_json::to_string_pretty(&config).expect("config serializes");
                    println!("{text}");
                    ExitCode::SUCCESS
                }
                Err(err) => fail(EXIT_CONFIG, &err.to_string()),
            }
        }
        Command::Schema { markdown: true } => {
            print!("{}", spindle_config::configuration_reference());
            ExitCode::SUCCESS
        }
        Command::Schema { markdown: false } => {
            let text = serde_json::to_string_pretty(&spindle_config::json_schema())
                .expect("schema serializes");
            println!("{text}");
            ExitCode::SUCCESS
        }
        Command::Control(command) => match control::run(command) {
            Ok(()) => ExitCode::SUCCESS,
            // The reader of a pipe (`spindle logs | head`) has all it wanted.
            Err(err) if err.is_broken_pipe() => ExitCode::SUCCESS,
            Err(err) => fail(err.exit_code(), &err.to_string()),
        },
    }
}

/// `start` and `dev`: checks the config and Node, then becomes the Node process; returns
/// only when that fails.
fn become_node(
    dir: Option<PathBuf>,
    config: Option<PathBuf>,
    node: Option<PathBuf>,
    pretty: bool,
    dev: bool,
) -> ExitCode {
    let opts = match load_options(dir, config) {
        Ok(o) => o,
        Err(code) => return code,
    };
    if let Err(code) = check_startable(&opts, dev) {
        return code;
    }
    let node = node.unwrap_or_else(|| PathBuf::from("node"));
    if let Err(err) = node::check(&node) {
        return fail(EXIT_UNAVAILABLE, &err.to_string());
    }
    let err = launch::exec_node(&node, &opts, pretty, dev);
    fail(EXIT_UNAVAILABLE, &format!("{err:#}"))
}

fn load_options(
    dir: Option<PathBuf>,
    config: Option<PathBuf>,
) -> Result<spindle_config::LoadOptions, ExitCode> {
    let cwd = std::env::current_dir().map_err(|e| {
        fail(
            EXIT_UNAVAILABLE,
            &format!("cannot read the current directory: {e}"),
        )
    })?;
    let dir = cwd.join(dir.unwrap_or_default());
    // "." and ".." would show up in every path logged later.
    let dir = dir.canonicalize().unwrap_or(dir);
    let env: BTreeMap<String, String> = std::env::vars().collect();
    Ok(spindle_config::LoadOptions {
        config: config.map(|c| cwd.join(c)),
        dir,
        env,
    })
}

/// Loads the config as start does, prints its warnings (once: the core, loading it again,
/// does not), and refuses Next.js apps that cannot be served as configured: not built, built
/// for another path, or in dev mode (`dev`).
fn check_startable(opts: &spindle_config::LoadOptions, dev: bool) -> Result<(), ExitCode> {
    let config = spindle_config::load(opts).map_err(|err| fail(EXIT_CONFIG, &err.to_string()))?;
    print_warnings(&config);
    spindle_config::next::check_startable(&config, dev).map_err(|why| fail(EXIT_UNAVAILABLE, &why))
}

fn print_warnings(config: &spindle_config::Config) {
    for warning in &config.warnings {
        eprintln!("spindle: warning: {warning}");
    }
}

fn fail(code: u8, message: &str) -> ExitCode {
    eprintln!("spindle: error: {message}");
    ExitCode::from(code)
}

/// What `check` prints of an app's environment: only what the config and `.env` files
/// set or changed (the rest is the caller's own environment, which can be long and can
/// hold credentials that do not belong in CI logs), with likely secrets masked.
fn redact_env(env: &mut BTreeMap<String, String>, process_env: &BTreeMap<String, String>) {
    const SECRET_HINTS: [&str; 7] = [
        "SECRET",
        "TOKEN",
        "PASSWORD",
        "PASSWD",
        "KEY",
        "CREDENTIAL",
        "AUTH",
    ];
    env.retain(|k, v| process_env.get(k) != Some(v));
    for (key, value) in env.iter_mut() {
        let upper = key.to_ascii_uppercase();
        if SECRET_HINTS.iter().any(|hint| upper.contains(hint)) {
            *value = "<redacted>".into();
        }
    }
}

#[cfg(test)]
mod check_output_tests {
    use super::*;

    #[test]
    fn check_shows_only_set_variables_and_masks_secrets() {
        let process: BTreeMap<String, String> =
            [("HOME", "/root"), ("PATH", "/bin"), ("PORT", "1")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        let mut env = process.clone();
        env.insert("PORT".into(), "3042".into());
        env.insert("GREETING".into(), "hi".into());
        env.insert("api_key".into(), "s3cret".into());
        env.insert("DB_PASSWORD".into(), "pw".into());
        redact_env(&mut env, &process);
        let shown: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            shown,
            [
                ("DB_PASSWORD", "<redacted>"),
                ("GREETING", "hi"),
                ("PORT", "3042"),
                ("api_key", "<redacted>"),
            ]
        );
    }
}
