//! Is there a Node.js that can run Spindle?

use std::path::Path;
use std::process::Command;

/// The first releases with the `net.server.listen` tracing channel, which Spindle uses to
/// move an app's `listen()` onto the worker's private socket.
const MIN_20: (u32, u32) = (20, 16);
const MIN_22: (u32, u32) = (22, 3);

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("cannot run Node.js ({node}): {source}; install Node.js >= 20.16 or pass --node PATH")]
    Missing {
        node: String,
        source: std::io::Error,
    },
    #[error("cannot read the version of Node.js ({node}): it printed {output:?}")]
    Unreadable { node: String, output: String },
    #[error("Node.js {version} ({node}) is too old: Spindle needs >= 20.16 on the 20 line or >= 22.3 (for the net.server.listen tracing channel)")]
    TooOld { node: String, version: String },
}

pub fn check(node: &Path) -> Result<(), NodeError> {
    let name = node.display().to_string();
    let output = Command::new(node)
        .arg("--version")
        .output()
        .map_err(|source| NodeError::Missing {
            node: name.clone(),
            source,
        })?;
    let text = String::from_utf8_lossy(&output.stdout).trim().to_string();
    let version = parse(&text).ok_or_else(|| NodeError::Unreadable {
        node: name.clone(),
        output: text.clone(),
    })?;
    if supported(version) {
        Ok(())
    } else {
        Err(NodeError::TooOld {
            node: name,
            version: text,
        })
    }
}

fn parse(text: &str) -> Option<(u32, u32)> {
    let mut parts = text.strip_prefix('v')?.split('.');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

fn supported(v: (u32, u32)) -> bool {
    match v.0 {
        20 => v >= MIN_20,
        21 => false,
        22 => v >= MIN_22,
        major => major > 22,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_node_versions() {
        assert_eq!(parse("v20.20.2"), Some((20, 20)));
        assert_eq!(parse("v24.1.0"), Some((24, 1)));
        assert_eq!(parse("20.1.0"), None);
        assert_eq!(parse("garbage"), None);
    }

    #[test]
    fn needs_the_listen_tracing_channel() {
        assert!(!supported((18, 19)));
        assert!(!supported((20, 15)));
        assert!(supported((20, 16)));
        assert!(!supported((21, 7)));
        assert!(!supported((22, 2)));
        assert!(supported((22, 3)));
        assert!(supported((24, 0)));
    }
}
