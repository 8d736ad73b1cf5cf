//! Key paths such as `applications[0].workers`: how errors name the value they are about.

use std::fmt;

/// One step into a JSON document.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Segment {
    /// A key of an object.
    Key(String),
    /// An index into an array.
    Index(usize),
}

/// A path from the document root to a value; empty for the root itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct KeyPath(Vec<Segment>);

impl KeyPath {
    /// The document root.
    pub(crate) fn root() -> Self {
        Self::default()
    }

    /// This path extended by an object key.
    pub(crate) fn key(&self, key: &str) -> Self {
        let mut segments = self.0.clone();
        segments.push(Segment::Key(key.to_owned()));
        Self(segments)
    }

    /// `other` taken from this path rather than the root.
    pub(crate) fn join(&self, other: &KeyPath) -> Self {
        let mut segments = self.0.clone();
        segments.extend(other.0.iter().cloned());
        Self(segments)
    }

    /// This path extended by an array index.
    pub(crate) fn index(&self, index: usize) -> Self {
        let mut segments = self.0.clone();
        segments.push(Segment::Index(index));
        Self(segments)
    }

    /// The enclosing value's path, or `None` at the root.
    pub(crate) fn parent(&self) -> Option<Self> {
        let (_, init) = self.0.split_last()?;
        Some(Self(init.to_vec()))
    }

    pub(crate) fn push(&mut self, segment: Segment) {
        self.0.push(segment);
    }

    pub(crate) fn pop(&mut self) {
        self.0.pop();
    }

    pub(crate) fn segments(&self) -> &[Segment] {
        &self.0
    }
}

/// Renders `server.port`, `applications[0].env.NODE_ENV`; keys that would be ambiguous after
/// a dot (empty, or holding anything but letters, digits, `_`, `-`, `$`) are quoted as
/// `env["a.b"]` so the path can always be read back unambiguously.
impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Index(index) => write!(f, "[{index}]")?,
                Segment::Key(key) if is_plain(key) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(key)?;
                }
                Segment::Key(key) => write!(f, "[{key:?}]")?,
            }
        }
        Ok(())
    }
}

fn is_plain(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '$'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_dots_and_indexes() {
        let path = KeyPath::root().key("applications").index(0).key("workers");
        assert_eq!(path.to_string(), "applications[0].workers");
        assert_eq!(KeyPath::root().to_string(), "");
    }

    #[test]
    fn quotes_keys_that_would_be_ambiguous() {
        let path = KeyPath::root().key("env").key("a.b");
        assert_eq!(path.to_string(), r#"env["a.b"]"#);
    }

    #[test]
    fn parent_walks_up() {
        let path = KeyPath::root().key("server").key("port");
        assert_eq!(path.parent(), Some(KeyPath::root().key("server")));
        assert_eq!(KeyPath::root().parent(), None);
    }
}
