//! Where each key and value sits in the config text.
//!
//! serde_json's `Value` forgets positions, and the typed layer only knows key paths, so errors
//! are placed afterwards: one pass over the original text records the line and column of every
//! key and value under its [`KeyPath`]. The text has already been accepted by serde_json, so
//! the scanner only needs to be right for valid JSON (it must merely not hang on anything else).
//! It also catches what `Value` silently drops: a key given twice in one object.

use std::collections::HashMap;

use crate::keypath::{KeyPath, Segment};

/// A 1-based line and column; columns count characters, not bytes, as editors do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Position {
    pub(crate) line: usize,
    pub(crate) column: usize,
}

#[derive(Debug, Clone, Copy)]
struct Spot {
    /// Where the key starts (its opening quote); `None` for array items and the root.
    key: Option<Position>,
    /// Where the value starts.
    value: Position,
}

/// A key that appears twice in the same object.
#[derive(Debug)]
pub(crate) struct DuplicateKey {
    pub(crate) path: KeyPath,
    pub(crate) at: Position,
    pub(crate) first: Position,
}

/// Maps key paths to their positions in one config text.
#[derive(Debug)]
pub(crate) struct Locator {
    spots: HashMap<KeyPath, Spot>,
}

impl Locator {
    /// Scans `text`, which serde_json has already parsed successfully.
    pub(crate) fn new(text: &str) -> Result<Self, DuplicateKey> {
        let mut scanner = Scanner {
            text,
            pos: 0,
            here: Position { line: 1, column: 1 },
            spots: HashMap::new(),
            duplicate: None,
        };
        scanner.value(&mut KeyPath::root(), None);
        match scanner.duplicate {
            Some(duplicate) => Err(duplicate),
            None => Ok(Self {
                spots: scanner.spots,
            }),
        }
    }

    /// Where the value at `path` starts. A path absent from the text (a missing key) resolves
    /// to its nearest present ancestor, i.e. the start of the object that should hold it.
    pub(crate) fn value(&self, path: &KeyPath) -> Position {
        self.nearest(path).value
    }

    /// Where the key of `path` starts, or its value when it has no key (array items).
    pub(crate) fn key(&self, path: &KeyPath) -> Position {
        let spot = self.nearest(path);
        spot.key.unwrap_or(spot.value)
    }

    /// Whether `path` is present in the text.
    #[cfg(test)]
    pub(crate) fn contains(&self, path: &KeyPath) -> bool {
        self.spots.contains_key(path)
    }

    fn nearest(&self, path: &KeyPath) -> Spot {
        let mut path = path.clone();
        loop {
            if let Some(spot) = self.spots.get(&path) {
                return *spot;
            }
            match path.parent() {
                Some(parent) => path = parent,
                None => {
                    return Spot {
                        key: None,
                        value: Position { line: 1, column: 1 },
                    }
                }
            }
        }
    }
}

/// Converts serde_json's position (line, and column counted in bytes) to a [`Position`]
/// counted in characters, so syntax errors and located errors agree on non-ASCII lines.
pub(crate) fn from_byte_column(text: &str, line: usize, byte_column: usize) -> Position {
    let line = line.max(1);
    let bytes = text.split('\n').nth(line - 1).unwrap_or("").as_bytes();
    let end = byte_column.saturating_sub(1).min(bytes.len());
    // UTF-8 continuation bytes are 0b10xxxxxx; every other byte starts a character.
    let chars = bytes[..end].iter().filter(|&&b| b & 0xC0 != 0x80).count();
    Position {
        line,
        column: chars + 1,
    }
}

struct Scanner<'t> {
    text: &'t str,
    pos: usize,
    here: Position,
    spots: HashMap<KeyPath, Spot>,
    duplicate: Option<DuplicateKey>,
}

impl<'t> Scanner<'t> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn bump(&mut self) {
        if let Some(c) = self.text[self.pos..].chars().next() {
            self.pos += c.len_utf8();
            if c == '\n' {
                self.here.line += 1;
                self.here.column = 1;
            } else {
                self.here.column += 1;
            }
        }
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.bump();
        }
    }

    fn value(&mut self, path: &mut KeyPath, key: Option<Position>) {
        self.skip_whitespace();
        let spot = Spot {
            key,
            value: self.here,
        };
        self.spots.insert(path.clone(), spot);
        match self.peek() {
            Some(b'{') => self.object(path),
            Some(b'[') => self.array(path),
            Some(b'"') => {
                self.string();
            }
            Some(_) => self.scalar(),
            None => {}
        }
    }

    fn object(&mut self, path: &mut KeyPath) {
        self.bump(); // {
        let mut seen: HashMap<String, Position> = HashMap::new();
        loop {
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.bump(),
                Some(b'"') => {
                    let at = self.here;
                    let raw = self.string();
                    // Keys may hold escapes; serde_json decodes them exactly as it did when
                    // building the `Value`, so both sides agree on the key.
                    let key = serde_json::from_str::<String>(raw)
                        .unwrap_or_else(|_| raw.trim_matches('"').to_owned());
                    if let Some(&first) = seen.get(&key) {
                        if self.duplicate.is_none() {
                            let mut dup = path.clone();
                            dup.push(Segment::Key(key.clone()));
                            self.duplicate = Some(DuplicateKey {
                                path: dup,
                                at,
                                first,
                            });
                        }
                    } else {
                        seen.insert(key.clone(), at);
                    }
                    self.skip_whitespace();
                    if self.peek() == Some(b':') {
                        self.bump();
                    }
                    path.push(Segment::Key(key));
                    self.value(path, Some(at));
                    path.pop();
                }
                Some(b'}') => {
                    self.bump();
                    return;
                }
                _ => return,
            }
        }
    }

    fn array(&mut self, path: &mut KeyPath) {
        self.bump(); // [
        let mut index = 0;
        loop {
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.bump(),
                Some(b']') => {
                    self.bump();
                    return;
                }
                None | Some(b'}') => return,
                Some(_) => {
                    let before = self.pos;
                    path.push(Segment::Index(index));
                    self.value(path, None);
                    path.pop();
                    index += 1;
                    if self.pos == before {
                        return;
                    }
                }
            }
        }
    }

    /// Skips a string and returns it with its quotes.
    fn string(&mut self) -> &'t str {
        let start = self.pos;
        self.bump(); // "
        loop {
            match self.peek() {
                None => break,
                Some(b'\\') => {
                    self.bump();
                    self.bump();
                }
                Some(b'"') => {
                    self.bump();
                    break;
                }
                Some(_) => self.bump(),
            }
        }
        &self.text[start..self.pos]
    }

    /// Skips a number, `true`, `false` or `null`.
    fn scalar(&mut self) {
        while !matches!(
            self.peek(),
            None | Some(b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
        ) {
            self.bump();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(line: usize, column: usize) -> Position {
        Position { line, column }
    }

    const TEXT: &str = r#"{
  "server": { "port": 3042 },
  "applications": [
    { "id": "api", "path": "./api" },
    {
      "id": "wéb",   "workers": 2
    }
  ],
  "a\"b": [[1, 2], {"x": null}]
}"#;

    #[test]
    fn finds_keys_and_values() {
        let locator = Locator::new(TEXT).unwrap();
        let port = KeyPath::root().key("server").key("port");
        assert_eq!(locator.key(&port), at(2, 15));
        assert_eq!(locator.value(&port), at(2, 23));
        let app1 = KeyPath::root().key("applications").index(1);
        assert_eq!(locator.value(&app1), at(5, 5));
        // Columns count characters: "wéb" is 5 characters but 6 bytes.
        assert_eq!(locator.value(&app1.key("workers")), at(6, 33));
        assert_eq!(locator.key(&app1), at(5, 5));
    }

    #[test]
    fn decodes_escaped_keys_and_nested_arrays() {
        let locator = Locator::new(TEXT).unwrap();
        let ab = KeyPath::root().key("a\"b");
        assert_eq!(locator.value(&ab.index(0).index(1)), at(9, 16));
        assert_eq!(locator.value(&ab.index(1).key("x")), at(9, 26));
    }

    #[test]
    fn missing_paths_fall_back_to_the_enclosing_value() {
        let locator = Locator::new(TEXT).unwrap();
        let id = KeyPath::root().key("server").key("hostname");
        assert!(!locator.contains(&id));
        assert_eq!(locator.value(&id), at(2, 13));
        assert_eq!(locator.value(&KeyPath::root().key("nope")), at(1, 1));
    }

    #[test]
    fn reports_duplicate_keys() {
        let err = Locator::new("{\"a\": 1,\n \"b\": {\"c\": 1, \"c\": 2}}").unwrap_err();
        assert_eq!(err.path.to_string(), "b.c");
        assert_eq!(err.at, at(2, 16));
        assert_eq!(err.first, at(2, 8));
    }

    #[test]
    fn converts_byte_columns_to_characters() {
        let text = "{\n  \"é\": ,\n}";
        // serde_json counts the two bytes of "é": the comma sits at byte column 9.
        assert_eq!(from_byte_column(text, 2, 9), at(2, 8));
        assert_eq!(from_byte_column("", 1, 0), at(1, 1));
    }
}
