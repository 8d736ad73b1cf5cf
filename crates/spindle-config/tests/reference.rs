//! The committed configuration reference must match the one rendered from the schema.

mod common;

use std::collections::HashSet;

/// Run with `UPDATE_DOCS=1 cargo test -p spindle-config --test reference` to rewrite the file.
#[test]
fn committed_reference_is_up_to_date() {
    common::committed_is(
        spindle_config::REFERENCE_PATH,
        &spindle_config::configuration_reference(),
        "UPDATE_DOCS",
        &format!(
            "{} is out of date with the config types; regenerate it (and the schema) with `{}`",
            spindle_config::REFERENCE_PATH,
            spindle_config::REGENERATE_COMMAND
        ),
    );
}

#[test]
fn reference_lists_every_key_path_with_its_default() {
    let page = spindle_config::configuration_reference();
    assert!(page.starts_with("<!-- Generated"), "{page}");
    assert!(page.contains(spindle_config::REGENERATE_COMMAND));
    for row in [
        "| `server.port` | integer (0 to 65535) | `3042` |",
        "| `health.maxStall` | integer (at least 20) | `1000` |",
        "| `health.maxHeapTotal` | integer or size string (at least 16777216 (16 MiB)) | `4294967296` (4 GiB) |",
        "| `applications[].id` | string | required |",
        "| `applications[].workers.static` | integer (at least 1) | — |",
        "| `metrics.auth.password` | string (not empty) | required |",
        "| `logger.level` | one of `\"trace\"`, `\"debug\"`, `\"info\"`, `\"warn\"`, `\"error\"`, `\"fatal\"`, `\"silent\"` | `\"info\"` |",
        "| `workers.scaleUpELU` | number (above 0, at most 1) | `0.8` |",
        "| `autoload.exclude` | array of string | `[]` |",
        "| `standbyWorkers` | integer (0 to 8) | — |",
        "| `applications[].standbyWorkers` | integer (0 to 8) | — |",
    ] {
        assert!(page.contains(row), "no row {row:?} in\n{page}");
    }
    assert!(page.contains("`{VAR}`"), "placeholders are explained");
}

/// Every `(#anchor)` link points at a heading of the page, by GitHub's anchor rules.
#[test]
fn reference_links_resolve() {
    let page = spindle_config::configuration_reference();
    let anchors: HashSet<String> = page
        .lines()
        .filter_map(|line| line.strip_prefix("## "))
        .map(|title| {
            title
                .to_lowercase()
                .chars()
                .filter_map(|c| match c {
                    ' ' => Some('-'),
                    c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                    _ => None,
                })
                .collect()
        })
        .collect();
    let mut rest = page.as_str();
    let mut links = 0;
    while let Some(start) = rest.find("](#") {
        let tail = &rest[start + 3..];
        let end = tail.find(')').expect("link closes");
        let anchor = &tail[..end];
        assert!(
            anchors.contains(anchor),
            "no heading for #{anchor}: {anchors:?}"
        );
        links += 1;
        rest = &tail[end..];
    }
    assert!(links > 5, "the page links its sections");
}
