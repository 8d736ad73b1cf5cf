//! The unit tests of the JS shim (`js/test/*.test.js`, `node:test`), run on the Node the
//! end-to-end tests use, so that they run wherever the rest of the suite runs.

use std::path::Path;
use std::process::Command;

use spindle_e2e::test_node;

#[test]
fn js_unit_tests_pass() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../js/test");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("read {}: {err}", dir.display()))
        .map(|entry| entry.expect("dir entry").path())
        .filter(|path| path.to_string_lossy().ends_with(".test.js"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no *.test.js in {}", dir.display());
    let node = test_node().unwrap_or_else(|| "node".into());
    // Files named one by one: Node 20's --test takes no glob.
    let out = Command::new(&node)
        .arg("--test")
        .args(&files)
        .output()
        .unwrap_or_else(|err| panic!("run {} --test: {err}", node.display()));
    assert!(
        out.status.success(),
        "node --test failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
