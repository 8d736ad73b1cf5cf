//! With the `bundle` feature, builds the Node addon (crate spindle-node) and lists it and the
//! JS shim for `src/bundle.rs` to embed, so that a `cargo install`ed spindle needs no files
//! beside it. Without the feature this does nothing, so workspace builds pay nothing.
//!
//! The addon is a cdylib of another crate of the workspace, which cargo cannot hand to a
//! dependent crate on stable, so it is built by a nested cargo. That cargo gets a target
//! directory of its own (under OUT_DIR): sharing the outer one would wait forever on the
//! lock the outer build holds.

use std::env;
use std::fmt::Write as _;
use std::hash::{DefaultHasher, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;

const ADDON_FILE: &str = "libspindle_node.so";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if env::var_os("CARGO_FEATURE_BUNDLE").is_none() {
        return;
    }
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let root = manifest_dir.join("../..");
    let root = root.canonicalize().unwrap_or(root);
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    if !root.join("crates/spindle-node/Cargo.toml").is_file() {
        panic!(
            "the bundle feature builds the addon from the Spindle repository, and {} is not \
             one: install from a clone, with `cargo install --locked --path \
             crates/spindle-cli --features bundle`",
            root.display()
        );
    }
    // Directories are watched recursively; the nested cargo decides what to rebuild.
    for watched in [
        "crates/spindle-node",
        "crates/spindle-core",
        "crates/spindle-config",
        "js",
        "Cargo.toml",
        "Cargo.lock",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }

    let addon = build_addon(&root, &out_dir);
    let mut files = vec![(ADDON_FILE.to_owned(), addon)];
    let mut js: Vec<PathBuf> = std::fs::read_dir(root.join("js"))
        .unwrap_or_else(|err| panic!("read {}: {err}", root.join("js").display()))
        .map(|entry| entry.expect("js/ entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "js"))
        .collect();
    js.sort();
    for path in js {
        let name = path.file_name().unwrap().to_string_lossy();
        files.push((format!("js/{name}"), path));
    }
    write_listing(&out_dir, &files);
}

/// Runs `cargo build -p spindle-node` in the same profile and for the same target as this
/// build, and returns the addon's path.
fn build_addon(root: &Path, out_dir: &Path) -> PathBuf {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let release = env::var("PROFILE").is_ok_and(|p| p == "release");
    let target = env::var("TARGET").expect("TARGET");
    let host = env::var("HOST").expect("HOST");
    let target_dir = out_dir.join("addon-target");
    let mut command = Command::new(cargo);
    command
        .current_dir(root)
        .arg("build")
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .args(["-p", "spindle-node"])
        .arg("--target-dir")
        .arg(&target_dir);
    if release {
        // Without debug info (symbols stay, for backtraces): the workspace's release profile
        // keeps it for profiling, but embedded it would make the binary several times larger.
        command
            .arg("--release")
            .env("CARGO_PROFILE_RELEASE_DEBUG", "0");
    }
    // The outer build resolved the workspace already; the nested one must agree with it and
    // never rewrite the lockfile from inside a build.
    if root.join("Cargo.lock").is_file() {
        command.arg("--locked");
    }
    let mut built = target_dir.clone();
    if target != host {
        command.args(["--target", &target]);
        built.push(&target);
    }
    built.push(if release { "release" } else { "debug" });
    built.push(ADDON_FILE);
    let status = command
        .status()
        .unwrap_or_else(|err| panic!("cannot run cargo to build the addon: {err}"));
    if !status.success() {
        panic!("building the addon for the bundle failed ({status}): {command:?}");
    }
    if !built.is_file() {
        panic!(
            "the nested cargo build left no addon at {}",
            built.display()
        );
    }
    built
}

/// Writes `bundle.rs`: `ID`, named after the version and the files' content, and `FILES`,
/// each embedded with `include_bytes!`.
fn write_listing(out_dir: &Path, files: &[(String, PathBuf)]) {
    let mut hasher = DefaultHasher::new();
    for (name, path) in files {
        let bytes =
            std::fs::read(path).unwrap_or_else(|err| panic!("read {}: {err}", path.display()));
        hasher.write(name.as_bytes());
        hasher.write_u64(bytes.len() as u64);
        hasher.write(&bytes);
    }
    let version = env::var("CARGO_PKG_VERSION").expect("CARGO_PKG_VERSION");
    let mut text = String::new();
    let _ = writeln!(
        text,
        "pub const ID: &str = \"{version}-{:016x}\";",
        hasher.finish()
    );
    text.push_str("pub const FILES: &[(&str, &[u8])] = &[\n");
    for (name, path) in files {
        let _ = writeln!(
            text,
            "    ({name:?}, include_bytes!({:?})),",
            path.display().to_string()
        );
    }
    text.push_str("];\n");
    std::fs::write(out_dir.join("bundle.rs"), text).expect("write bundle.rs");
}
