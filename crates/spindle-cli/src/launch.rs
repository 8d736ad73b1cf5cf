//! Becomes the Node.js process: the JS main thread loads the addon, and the core starts.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};

/// The addon's file name as cargo builds it (a cdylib of crate `spindle-node`).
const ADDON_FILE: &str = "libspindle_node.so";

/// Replaces this process with Node running the JS shim, so signals sent to `spindle`
/// reach Node (which owns them) directly. Returns only on failure.
pub fn exec_node(
    node: &Path,
    opts: &spindle_config::LoadOptions,
    pretty: bool,
    dev: bool,
) -> anyhow::Error {
    match prepare(node, opts, pretty, dev) {
        Ok(mut cmd) => {
            anyhow::Error::new(cmd.exec()).context(format!("cannot start {}", node.display()))
        }
        Err(err) => err,
    }
}

fn prepare(
    node: &Path,
    opts: &spindle_config::LoadOptions,
    pretty: bool,
    dev: bool,
) -> anyhow::Result<Command> {
    let exe = std::env::current_exe().context("cannot locate the spindle executable")?;
    let addon = find_addon(&exe)?;
    let js = find_js(&exe)?;
    let mut cmd = Command::new(node);
    cmd.arg(js.join("main.js")).arg("--dir").arg(&opts.dir);
    if let Some(config) = &opts.config {
        cmd.arg("--config").arg(config);
    }
    if pretty {
        cmd.arg("--pretty");
    }
    if dev {
        cmd.arg("--dev");
    }
    cmd.env("SPINDLE_ADDON", addon);
    Ok(cmd)
}

/// Beside the executable (cargo puts both in target/<profile>), unless SPINDLE_ADDON says.
fn find_addon(exe: &Path) -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("SPINDLE_ADDON") {
        return Ok(PathBuf::from(path));
    }
    let dir = exe
        .parent()
        .context("the spindle executable has no directory")?;
    let addon = dir.join(ADDON_FILE);
    if !addon.is_file() {
        bail!("the addon {} is missing; build it with `cargo build --workspace` (same profile as spindle)", addon.display());
    }
    Ok(addon)
}

/// The JS shim: SPINDLE_JS, else `js/` of the source tree this binary was built from.
fn find_js(exe: &Path) -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("SPINDLE_JS") {
        return Ok(PathBuf::from(path));
    }
    let candidates = [
        exe.parent().map(|d| d.join("js")),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../js")),
    ];
    for dir in candidates.into_iter().flatten() {
        if dir.join("main.js").is_file() {
            return Ok(dir.canonicalize().unwrap_or(dir));
        }
    }
    bail!("cannot find Spindle's JS shim (main.js); set SPINDLE_JS to its directory")
}
