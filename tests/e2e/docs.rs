//! The architecture page stays true: every repository path it names exists.

use std::path::Path;

/// Backticked words of `text` that look like repository paths: they start with one of
/// the top-level folders and name no placeholder.
fn named_paths(text: &str) -> Vec<&str> {
    const ROOTS: [&str; 7] = [
        "crates/", "js/", "tests/", "docs/", "bench/", "deploy/", "scripts/",
    ];
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|word| ROOTS.iter().any(|root| word.starts_with(root)))
        .filter(|word| !word.contains(['<', '*', ' ']))
        .collect()
}

#[test]
fn every_path_the_architecture_page_names_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let page =
        std::fs::read_to_string(root.join("docs/architecture.md")).expect("docs/architecture.md");
    let paths = named_paths(&page);
    assert!(paths.len() >= 20, "the page names few paths: {paths:?}");
    let missing: Vec<&&str> = paths.iter().filter(|p| !root.join(p).exists()).collect();
    assert!(
        missing.is_empty(),
        "docs/architecture.md names paths that do not exist: {missing:?}"
    );
}

#[test]
fn named_paths_are_the_backticked_repository_paths() {
    let text = "see `crates/a.rs` and `js/b.js`, not `spindle ps`, `tests/<x>` or `docs/*.md`";
    assert_eq!(named_paths(text), vec!["crates/a.rs", "js/b.js"]);
}
