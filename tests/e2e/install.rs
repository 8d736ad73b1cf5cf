//! Installed copies of spindle: the files it needs found beside it, under `lib/spindle`,
//! in the npm package, or unpacked from the binary itself (`bundle` feature), and a clear
//! error when they are missing.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use http::StatusCode;
use spindle_e2e::client::get;
use spindle_e2e::{fixture, spindle_bin, test_node, Running, TempDir, TestServer};

const ADDON: &str = "libspindle_node.so";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("repository root")
}

fn copy(from: &Path, to: &Path) {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::copy(from, to)
        .unwrap_or_else(|err| panic!("copy {} to {}: {err}", from.display(), to.display()));
}

/// Copies the build's spindle to `exe`, and its addon and JS shim into `lib` (`lib/js/`).
fn install(exe: &Path, lib: &Path) {
    let built = spindle_bin();
    copy(&built, exe);
    copy(&built.with_file_name(ADDON), &lib.join(ADDON));
    for entry in std::fs::read_dir(repo().join("js")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|ext| ext == "js") {
            copy(&path, &lib.join("js").join(path.file_name().unwrap()));
        }
    }
}

/// Runs an installed spindle on its own: no SPINDLE_ADDON / SPINDLE_JS from the caller.
fn run(exe: &Path, args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut command = Command::new(exe);
    command
        .args(args)
        .env_remove("SPINDLE_ADDON")
        .env_remove("SPINDLE_JS");
    for (key, value) in env {
        command.env(key, value);
    }
    command
        .output()
        .unwrap_or_else(|err| panic!("run {}: {err}", exe.display()))
}

fn start_args(app: &Path) -> Vec<String> {
    let mut args = vec!["start".to_owned(), app.display().to_string()];
    if let Some(node) = test_node() {
        args.extend(["--node".to_owned(), node.display().to_string()]);
    }
    args
}

/// The process's command line and the SPINDLE_ADDON it was given: spindle execs Node, so
/// the pid it was started with is Node's.
fn node_js_and_addon(server: &Running) -> (PathBuf, PathBuf) {
    let proc = PathBuf::from(format!("/proc/{}", server.pid()));
    let cmdline = std::fs::read(proc.join("cmdline")).expect("read cmdline");
    let main = cmdline
        .split(|b| *b == 0)
        .map(|arg| PathBuf::from(String::from_utf8_lossy(arg).into_owned()))
        .find(|arg| arg.ends_with("main.js"))
        .unwrap_or_else(|| panic!("no main.js in {}", String::from_utf8_lossy(&cmdline)));
    let environ = std::fs::read(proc.join("environ")).expect("read environ");
    let addon = environ
        .split(|b| *b == 0)
        .find_map(|var| var.strip_prefix(b"SPINDLE_ADDON="))
        .map(|value| PathBuf::from(String::from_utf8_lossy(value).into_owned()))
        .expect("SPINDLE_ADDON in Node's environment");
    let canonical = |p: PathBuf| p.canonicalize().unwrap_or(p);
    (
        canonical(main.parent().unwrap().to_path_buf()),
        canonical(addon),
    )
}

/// The plain fixture served by the spindle at `exe` (with `env` for its process), once it
/// has answered `GET /`; with the JS shim and the addon that process loaded.
async fn serve_plain_with(exe: &Path, env: &[(&str, &str)]) -> (Running, PathBuf, PathBuf) {
    let mut server = TestServer::new().bin(exe);
    for (key, value) in env {
        server = server.process_env(key, value);
    }
    let server = server.app("plain", fixture("plain")).start().await;
    let response = get(&format!("{}/", server.url())).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(response.json()["app"], "plain");
    let (js, addon) = node_js_and_addon(&server);
    (server, js, addon)
}

fn assert_check_passes(exe: &Path, env: &[(&str, &Path)]) {
    let out = run(exe, &["check", fixture("plain").to_str().unwrap()], env);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config: serde_json::Value = serde_json::from_slice(&out.stdout).expect("check prints JSON");
    assert_eq!(config["applications"][0]["id"], "plain", "{config}");
}

#[tokio::test]
async fn an_installed_copy_finds_its_files_beside_it_or_in_lib_spindle() {
    let tmp = TempDir::new();
    let beside = tmp.path().join("beside");
    let prefix = tmp.path().join("prefix");
    let layouts = [
        (beside.join("spindle"), beside.clone()),
        (prefix.join("bin/spindle"), prefix.join("lib/spindle")),
    ];
    for (exe, lib) in layouts {
        install(&exe, &lib);
        let (server, js, addon) = serve_plain_with(&exe, &[]).await;
        let lib = lib.canonicalize().unwrap();
        assert_eq!(
            js,
            lib.join("js"),
            "the installed JS shim, not the source tree's"
        );
        assert_eq!(addon, lib.join(ADDON));
        drop(server);
        assert_check_passes(&exe, &[]);
    }
}

#[test]
fn without_its_addon_spindle_says_where_it_looked_and_how_to_get_one() {
    let tmp = TempDir::new();
    // As the executable sees itself (/proc/self/exe), in case the temp dir is a link.
    let root = tmp.path().canonicalize().unwrap();
    let exe = root.join("bin/spindle");
    copy(&spindle_bin(), &exe);
    let args = start_args(&fixture("plain"));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&exe, &args, &[]);
    assert_eq!(out.status.code(), Some(69));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    for part in [
        "spindle: error: the addon libspindle_node.so is missing",
        &format!("beside {}", exe.display()),
        &root.join("lib/spindle").display().to_string(),
        "cargo build --workspace",
        "cargo install --locked --path crates/spindle-cli --features bundle",
        "SPINDLE_ADDON",
    ] {
        assert!(lines[0].contains(part), "{part:?} not in {stderr}");
    }
    assert!(out.stdout.is_empty());
}

/// The package scripts/pack-npm builds, without npm: `bin/spindle` from npm/, `native/`,
/// and the link npm makes in `node_modules/.bin`.
#[tokio::test]
async fn the_npm_launcher_execs_the_native_binary_of_its_package() {
    let tmp = TempDir::new();
    let package = tmp.path().join("node_modules/spindle");
    copy(
        &repo().join("npm/bin/spindle"),
        &package.join("bin/spindle"),
    );
    copy(
        &repo().join("npm/package.json"),
        &package.join("package.json"),
    );
    install(&package.join("native/spindle"), &package.join("native"));
    let link = tmp.path().join("node_modules/.bin/spindle");
    std::fs::create_dir_all(link.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink("../spindle/bin/spindle", &link).unwrap();

    let out = run(&link, &["--version"], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("spindle {}", env!("CARGO_PKG_VERSION"))
    );

    let (_server, js, _) = serve_plain_with(&link, &[]).await;
    assert_eq!(
        js,
        package.join("native/js").canonicalize().unwrap(),
        "the launcher's pid became Node's: nothing stays in between"
    );
}

#[test]
fn the_npm_launcher_without_the_native_binary_says_how_to_build_it() {
    let tmp = TempDir::new();
    let launcher = tmp.path().join("bin/spindle");
    copy(&repo().join("npm/bin/spindle"), &launcher);
    let out = run(&launcher, &["--version"], &[]);
    assert_eq!(out.status.code(), Some(69));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("spindle: error: the native spindle binary is missing"),
        "{stderr}"
    );
    assert!(stderr.contains("scripts/pack-npm"), "{stderr}");
}

/// A spindle built with `--features bundle`, alone in a directory, unpacks its addon and JS
/// shim into a private cache directory once and reuses it. Needs such a binary:
/// `scripts/check-install` builds one and runs this test with SPINDLE_BUNDLED_BIN.
#[tokio::test]
#[ignore = "needs SPINDLE_BUNDLED_BIN (a --features bundle build): run scripts/check-install"]
async fn a_bundled_binary_unpacks_its_files_into_the_user_cache() {
    let bundled = std::env::var_os("SPINDLE_BUNDLED_BIN")
        .map(PathBuf::from)
        .expect("SPINDLE_BUNDLED_BIN: the path of a spindle built with --features bundle");
    let tmp = TempDir::new();
    let exe = tmp.path().join("bin/spindle");
    copy(&bundled, &exe);
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    let cache = tmp.path().join("cache");

    let mut inode = None;
    for _ in 0..2 {
        let cache_env = [("XDG_CACHE_HOME", cache.to_str().unwrap())];
        let (_server, js, addon) = serve_plain_with(&exe, &cache_env).await;
        let root = cache.join("spindle").canonicalize().unwrap();
        let dir = addon.parent().unwrap().to_path_buf();
        assert_eq!(dir.parent(), Some(root.as_path()), "{}", addon.display());
        assert_eq!(js, dir.join("js"));
        assert!(js.join("worker.js").is_file());
        for private in [&root, &dir] {
            let mode = std::fs::metadata(private).unwrap().mode() & 0o777;
            assert_eq!(mode, 0o700, "{}", private.display());
        }
        let this = std::fs::metadata(&addon).unwrap().ino();
        assert_eq!(
            *inode.get_or_insert(this),
            this,
            "the second start reuses the copy"
        );
        let entries = std::fs::read_dir(&root).unwrap().count();
        assert_eq!(entries, 1, "one copy, no staging leftovers");
    }
    assert_check_passes(&exe, &[("XDG_CACHE_HOME", &cache)]);
}
