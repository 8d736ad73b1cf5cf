//! Where the binary under test, the fixtures and the Node binary are.

use std::path::{Path, PathBuf};

/// The addon that must sit beside the `spindle` binary.
const ADDON: &str = "libspindle_node.so";

/// The `spindle` binary: `$SPINDLE_BIN`, or `target/<profile>/spindle` next to the test
/// executable (which lives in `target/<profile>/deps/`). Panics with what to do when the
/// binary or its addon is missing.
pub fn spindle_bin() -> PathBuf {
    let bin = match std::env::var_os("SPINDLE_BIN") {
        Some(path) => PathBuf::from(path),
        None => {
            let exe = std::env::current_exe().expect("current_exe");
            let profile_dir = exe
                .parent()
                .and_then(Path::parent)
                .expect("the test executable lives in target/<profile>/deps");
            profile_dir.join("spindle")
        }
    };
    if !bin.is_file() {
        panic!(
            "spindle binary not found at {}: run `cargo build --workspace` first \
             (or point SPINDLE_BIN at it)",
            bin.display()
        );
    }
    let addon = bin.with_file_name(ADDON);
    if !addon.is_file() {
        panic!(
            "the addon {ADDON} is not beside {} (looked for {}): run `cargo build --workspace` first",
            bin.display(),
            addon.display()
        );
    }
    bin
}

/// The Node binary to pass as `--node`: `$SPINDLE_TEST_NODE`, or none (spindle uses `node`
/// on PATH).
pub fn test_node() -> Option<PathBuf> {
    std::env::var_os("SPINDLE_TEST_NODE")
        .filter(|value| !value.is_empty())
        .map(PathBuf::from)
}

/// The absolute path of `tests/fixtures/<name>`. Panics when it is missing, or when it has
/// npm dependencies that are not installed (run `scripts/test`, which runs `npm ci`).
pub fn fixture(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name);
    let dir = dir
        .canonicalize()
        .unwrap_or_else(|err| panic!("fixture {name:?} ({}): {err}", dir.display()));
    let manifest = std::fs::read_to_string(dir.join("package.json")).unwrap_or_default();
    let manifest = serde_json::from_str::<serde_json::Value>(&manifest).unwrap_or_default();
    let listed = |key: &str| match manifest.get(key) {
        Some(serde_json::Value::Object(map)) => !map.is_empty(),
        Some(serde_json::Value::Array(list)) => !list.is_empty(),
        _ => false,
    };
    // A project with npm workspaces (as `wattpm create` writes them) has its apps'
    // dependencies installed at its root.
    let has_deps = listed("dependencies") || listed("workspaces");
    if has_deps && !dir.join("node_modules").is_dir() {
        panic!(
            "fixture {name:?} has npm dependencies but no node_modules: run `scripts/test`, \
             or `npm ci` in {}",
            dir.display()
        );
    }
    dir
}
