//! Application ids: the rule they follow, the check, and the id a directory gets.

use std::path::Path;

/// The rule for ids, as stated in error messages.
pub(crate) const ID_RULE: &str =
    "expected letters, digits, \"-\" or \"_\", starting with a letter or digit, at most 63 long";

/// Whether `id` is a DNS label as Spindle allows them (`_` too, as Watt does).
pub(crate) fn is_valid_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    (1..=63).contains(&bytes.len())
        && bytes[0].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

/// A valid application id made from a directory name: characters an id cannot hold become
/// `-`, leading ones that cannot start an id are dropped, and the result is cut to 63.
pub(crate) fn app_id_from_dir(dir: &Path) -> String {
    let name = dir
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let id: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .skip_while(|c| !c.is_ascii_alphanumeric())
        .take(63)
        .collect();
    if id.is_empty() {
        "app".to_owned()
    } else {
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_dns_labels() {
        for id in ["api", "a", "web-2", "my_app", "9lives", &"x".repeat(63)] {
            assert!(is_valid_id(id), "{id}");
        }
        for id in ["", "-api", "_api", "my app", "a.b", "é", &"x".repeat(64)] {
            assert!(!is_valid_id(id), "{id}");
        }
    }

    #[test]
    fn ids_from_directory_names_are_valid() {
        assert_eq!(app_id_from_dir(Path::new("/srv/demo")), "demo");
        assert_eq!(app_id_from_dir(Path::new("/srv/My App.v2")), "My-App-v2");
        assert_eq!(app_id_from_dir(Path::new("/srv/_build")), "build");
        assert_eq!(app_id_from_dir(Path::new("/srv/ünï")), "n-");
        assert_eq!(app_id_from_dir(Path::new("/")), "app");
        let long = app_id_from_dir(&Path::new("/srv").join("a".repeat(100)));
        assert_eq!(long.len(), 63);
        for dir in [
            "/srv/demo",
            "/srv/My App.v2",
            "/srv/_build",
            "/srv/ünï",
            "/",
        ] {
            assert!(is_valid_id(&app_id_from_dir(Path::new(dir))), "{dir}");
        }
    }
}
