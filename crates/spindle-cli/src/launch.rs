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
    let runtime = find_runtime(&exe)?;
    let mut cmd = Command::new(node);
    cmd.arg(runtime.js.join("main.js"))
        .arg("--dir")
        .arg(&opts.dir);
    if let Some(config) = &opts.config {
        cmd.arg("--config").arg(config);
    }
    if pretty {
        cmd.arg("--pretty");
    }
    if dev {
        cmd.arg("--dev");
    }
    cmd.env("SPINDLE_ADDON", runtime.addon);
    Ok(cmd)
}

/// The files Node needs besides the apps: the addon and the JS shim's directory.
struct Runtime {
    addon: PathBuf,
    js: PathBuf,
}

/// A place holding the addon, and maybe the JS shim.
struct Layout {
    addon: PathBuf,
    js: Option<PathBuf>,
}

/// SPINDLE_ADDON and SPINDLE_JS win; otherwise the first layout that has the addon:
/// beside the executable (cargo's `target/<profile>`, the npm package, an unpacked
/// archive), then `<prefix>/lib/spindle` for `<prefix>/bin/spindle`, then the files
/// embedded by the `bundle` feature.
fn find_runtime(exe: &Path) -> anyhow::Result<Runtime> {
    let addon_env = env_path("SPINDLE_ADDON");
    let js_env = env_path("SPINDLE_JS");
    if let (Some(addon), Some(js)) = (&addon_env, &js_env) {
        return Ok(Runtime {
            addon: addon.clone(),
            js: js.clone(),
        });
    }
    let layout = match installed_layout(exe)? {
        Some(layout) => Some(layout),
        None => bundled_layout()?,
    };
    let (layout_addon, layout_js) = match layout {
        Some(layout) => (Some(layout.addon), layout.js),
        None => (None, None),
    };
    let addon = match addon_env.or(layout_addon) {
        Some(addon) => addon,
        None => bail!(
            "the addon {ADDON_FILE} is missing: it is neither beside {} nor in {}. \
             Build it with `cargo build --workspace` (same profile as spindle), \
             install a self-contained spindle with \
             `cargo install --locked --path crates/spindle-cli --features bundle`, \
             or set SPINDLE_ADDON to its path",
            exe.display(),
            prefix_dir(exe).display(),
        ),
    };
    let js = js_env
        .or(layout_js)
        .or_else(source_tree_js)
        .context("cannot find Spindle's JS shim (main.js); set SPINDLE_JS to its directory")?;
    Ok(Runtime { addon, js })
}

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|value| !value.is_empty())
        .map(PathBuf::from)
}

fn installed_layout(exe: &Path) -> anyhow::Result<Option<Layout>> {
    let dir = exe
        .parent()
        .context("the spindle executable has no directory")?;
    for dir in [dir.to_path_buf(), prefix_dir(exe)] {
        let addon = dir.join(ADDON_FILE);
        if addon.is_file() {
            let js = dir.join("js");
            let js = js.join("main.js").is_file().then_some(js);
            return Ok(Some(Layout { addon, js }));
        }
    }
    Ok(None)
}

/// `<prefix>/lib/spindle` for `<prefix>/bin/spindle`.
fn prefix_dir(exe: &Path) -> PathBuf {
    let bin = exe.parent().unwrap_or(Path::new("/"));
    bin.parent().unwrap_or(bin).join("lib").join("spindle")
}

/// The JS shim of the source tree this binary was built from: a development build in
/// `target/<profile>` has the addon beside it but not the JS.
fn source_tree_js() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../js");
    dir.join("main.js")
        .is_file()
        .then(|| dir.canonicalize().unwrap_or(dir))
}

#[cfg(feature = "bundle")]
fn bundled_layout() -> anyhow::Result<Option<Layout>> {
    use crate::bundle;
    let env = |name: &str| std::env::var(name).ok();
    let roots = bundle::cache_roots(env);
    let dir = bundle::unpack_first(&bundle::EMBEDDED, &roots).map_err(|why| {
        anyhow::anyhow!(
            "cannot unpack the embedded addon and JS shim ({why}); set XDG_CACHE_HOME to a \
             private writable directory, or SPINDLE_ADDON and SPINDLE_JS"
        )
    })?;
    Ok(Some(Layout {
        addon: dir.join(ADDON_FILE),
        js: Some(dir.join("js")),
    }))
}

#[cfg(not(feature = "bundle"))]
fn bundled_layout() -> anyhow::Result<Option<Layout>> {
    Ok(None)
}
