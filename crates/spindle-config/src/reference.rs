//! The configuration reference (`docs/configuration.md`), rendered from the JSON Schema so
//! that the page, the schema and the code cannot disagree.
//!
//! Every object of the schema becomes a section with one table row per key: its full key
//! path, type and limits, default and description. An object definition used at several
//! places (`health` at the top level and per application) is described once, at its
//! shallowest place, and linked from the others.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt::Write;

use serde_json::{Map, Value};

use crate::schema::json_schema;

/// Where the page is committed, relative to the repository root.
pub const REFERENCE_PATH: &str = "docs/configuration.md";

/// The command that rewrites the schema and this page from the code.
pub const REGENERATE_COMMAND: &str =
    "UPDATE_SCHEMA=1 UPDATE_DOCS=1 cargo test -p spindle-config --test schema --test reference";

/// The configuration reference as Markdown, rendered from [`json_schema`].
pub fn configuration_reference() -> String {
    markdown_reference(&json_schema())
}

/// Renders a JSON Schema shaped like Spindle's (an object of properties, object
/// definitions under `$defs`) as a Markdown reference page.
pub fn markdown_reference(schema: &Value) -> String {
    let homes = find_homes(schema);
    let mut page = Page {
        schema,
        homes,
        out: String::new(),
    };
    page.header();
    page.object_section(Section {
        path: String::new(),
        title: "Top-level keys".to_owned(),
        object: schema,
        intro: Vec::new(),
        defaults: None,
    });
    page.out
}

/// Which section describes an object definition: the first key path (shortest, then
/// alphabetical) that reaches it.
fn find_homes(schema: &Value) -> HashMap<String, String> {
    let mut homes = HashMap::new();
    let mut queue = VecDeque::from([(String::new(), schema)]);
    while let Some((path, object)) = queue.pop_front() {
        for (key, property) in properties(object) {
            let Some((def, child)) = object_ref(schema, property) else {
                continue;
            };
            let child_path = child_path(&path, key, child);
            if !homes.contains_key(def) {
                homes.insert(def.to_owned(), child_path.clone());
                queue.push_back((child_path, resolve(schema, def)));
            }
        }
    }
    homes
}

/// How a property holds an object definition.
#[derive(Clone, Copy, PartialEq)]
enum Holds {
    /// The value is the object (or null, or another type as well).
    Value,
    /// The value is an array of such objects.
    Items,
}

/// The object definition a property refers to, directly, among alternatives or as array
/// items; `None` for enums and plain types.
fn object_ref<'a>(schema: &Value, property: &'a Value) -> Option<(&'a str, Holds)> {
    let is_object = |name: &str| resolve(schema, name).get("properties").is_some();
    if let Some(name) = ref_name(property) {
        return is_object(name).then_some((name, Holds::Value));
    }
    if let Some(name) = property.get("items").and_then(ref_name) {
        return is_object(name).then_some((name, Holds::Items));
    }
    alternatives(property)
        .iter()
        .filter_map(|alt| ref_name(alt))
        .find(|name| is_object(name))
        .map(|name| (name, Holds::Value))
}

fn child_path(parent: &str, key: &str, holds: Holds) -> String {
    let mut path = if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    };
    if holds == Holds::Items {
        path.push_str("[]");
    }
    path
}

fn ref_name(value: &Value) -> Option<&str> {
    value.get("$ref")?.as_str()?.strip_prefix("#/$defs/")
}

fn resolve<'a>(schema: &'a Value, name: &str) -> &'a Value {
    &schema["$defs"][name]
}

fn properties(object: &Value) -> impl Iterator<Item = (&String, &Value)> {
    object
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
}

/// `anyOf` / `oneOf` alternatives, without the `null` that only makes a key optional.
fn alternatives(value: &Value) -> Vec<&Value> {
    ["anyOf", "oneOf"]
        .iter()
        .filter_map(|key| value.get(*key).and_then(Value::as_array))
        .flatten()
        .filter(|alt| alt.get("type").and_then(Value::as_str) != Some("null"))
        .collect()
}

/// One object to describe.
struct Section<'a> {
    /// Key path of the object (`""` for the file itself).
    path: String,
    title: String,
    object: &'a Value,
    /// Paragraphs before the table.
    intro: Vec<String>,
    /// The default the parent gives the whole object, for keys without a default of their own.
    defaults: Option<&'a Map<String, Value>>,
}

struct Page<'a> {
    schema: &'a Value,
    /// Definition name → key path of its section.
    homes: HashMap<String, String>,
    out: String,
}

impl<'a> Page<'a> {
    fn header(&mut self) {
        let schema = self.schema;
        let title = schema["title"].as_str().unwrap_or("Configuration");
        let _ = write!(
            self.out,
            "<!-- Generated from schema/spindle.schema.json by crates/spindle-config/src/reference.rs: do not edit. -->\n\n\
             # {title} reference\n\n\
             > Generated from the JSON Schema [`schema/spindle.schema.json`](../schema/spindle.schema.json), \
             which is itself generated from the Rust types in `crates/spindle-config/src/raw.rs`; \
             do not edit this page by hand. After changing those types (their doc comments are \
             the descriptions below), regenerate both files with\n\
             > `{REGENERATE_COMMAND}`.\n\
             > `spindle schema --markdown` prints this page.\n\n"
        );
        for paragraph in description(schema).split("\n\n").filter(|p| !p.is_empty()) {
            let _ = write!(self.out, "{paragraph}\n\n");
        }
        let mut notes = Vec::new();
        if self.has_numbers_as_strings() {
            notes.push(
                "Numbers may also be written as strings, so that a placeholder can supply \
                 them: `\"port\": \"{PORT}\"`.",
            );
        }
        notes.push(
            "In the tables, **—** means no default: the key is optional, and its description \
             says what happens without it.",
        );
        let _ = write!(self.out, "{}\n\n", notes.join(" "));
    }

    /// Whether some key takes a number or a string, the string holding a number or a
    /// placeholder.
    fn has_numbers_as_strings(&self) -> bool {
        fn walk(value: &Value) -> bool {
            match value {
                Value::Object(map) => {
                    let types = types(value);
                    let numeric = types.iter().any(|t| *t == "integer" || *t == "number");
                    (numeric && types.contains(&"string") && map.contains_key("pattern"))
                        || map.values().any(walk)
                }
                Value::Array(items) => items.iter().any(walk),
                _ => false,
            }
        }
        walk(self.schema)
    }

    /// Writes a heading. Titles are key paths, so their anchors are unique and links can
    /// be made before the heading is written.
    fn heading(&mut self, text: &str) {
        let _ = write!(self.out, "## {text}\n\n");
    }

    /// The anchor of a section's heading.
    fn anchor_of(&self, path: &str) -> String {
        slug(&self.section_title(path))
    }

    fn section_title(&self, path: &str) -> String {
        if self.has_other_alternatives(path) {
            format!("`{path}` as an object")
        } else {
            format!("`{path}`")
        }
    }

    /// Whether the key at `path` also takes a non-object value (`workers: 4` or
    /// `workers: {...}`).
    fn has_other_alternatives(&self, path: &str) -> bool {
        self.property_at(path).is_some_and(|property| {
            property.get("$ref").is_none()
                && property.get("items").is_none()
                && alternatives(property)
                    .iter()
                    .any(|alt| ref_name(alt).is_none())
        })
    }

    /// The property schema at a key path such as `applications[].workers`.
    fn property_at(&self, path: &str) -> Option<&'a Value> {
        let mut object = self.schema;
        let mut property = None;
        for key in path.split('.') {
            let key = key.trim_end_matches("[]");
            let found = object.get("properties")?.get(key)?;
            property = Some(found);
            if let Some((def, _)) = object_ref(self.schema, found) {
                object = resolve(self.schema, def);
            }
        }
        property
    }

    fn object_section(&mut self, section: Section<'a>) {
        self.heading(&section.title);
        for paragraph in &section.intro {
            let _ = write!(self.out, "{paragraph}\n\n");
        }
        let required: Vec<&str> = section.object["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let mut children = Vec::new();
        self.out
            .push_str("| key | type | default | description |\n|---|---|---|---|\n");
        for (key, property) in properties(section.object) {
            let holds = object_ref(self.schema, property);
            let path = child_path(&section.path, key, holds.map_or(Holds::Value, |h| h.1));
            let key_path = if section.path.is_empty() {
                key.clone()
            } else {
                format!("{}.{key}", section.path)
            };
            let is_home = holds.is_some_and(|(def, _)| self.homes.get(def) == Some(&path));
            let default = if required.contains(&key.as_str()) {
                "required".to_owned()
            } else if is_home && property.get("default").is_some_and(Value::is_object) {
                // The object's default is spelled out key by key in its section.
                format!("[see below](#{})", self.anchor_of(&path))
            } else {
                let value = property
                    .get("default")
                    .or_else(|| section.defaults.and_then(|d| d.get(key)));
                value.map_or("—".to_owned(), |v| default_text(property, v))
            };
            let _ = writeln!(
                self.out,
                "| `{key_path}` | {} | {default} | {} |",
                cell(&self.type_text(property)),
                cell(&self.description_text(property)),
            );
            if let Some((def, _)) = holds.filter(|_| is_home) {
                children.push((path, def.to_owned(), property));
            }
        }
        self.out.push('\n');
        for (path, def, property) in children {
            let object = resolve(self.schema, &def);
            // The key's own description is in the parent's table already.
            let text = match description(object) {
                "" => description(property),
                text => text,
            };
            let intro = text
                .split("\n\n")
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect();
            let defaults = property.get("default").and_then(Value::as_object);
            self.object_section(Section {
                title: self.section_title(&path),
                path,
                object,
                intro,
                defaults,
            });
        }
    }

    /// The key's description, plus the meaning of each allowed value when the schema gives
    /// them.
    fn description_text(&self, property: &Value) -> String {
        let mut text = description(property).to_owned();
        let target = ref_name(property).map_or(property, |name| resolve(self.schema, name));
        let values: Vec<String> = alternatives(target)
            .iter()
            .filter_map(|alt| {
                let value = alt.get("const")?;
                let meaning = description(alt);
                Some(format!("`{value}`: {meaning}"))
            })
            .collect();
        if !values.is_empty() {
            text.push_str("\n\n");
            text.push_str(&values.join("\n\n"));
        }
        text
    }

    /// Type and limits, e.g. `integer (0 to 65535)`, `object: name → string`.
    fn type_text(&self, property: &Value) -> String {
        if let Some(name) = ref_name(property) {
            let def = resolve(self.schema, name);
            return match self.homes.get(name) {
                Some(home) => format!("object ([`{home}`](#{}))", self.anchor_of(home)),
                None => self.type_text(def),
            };
        }
        let alts = alternatives(property);
        if !alts.is_empty() {
            let consts: Vec<String> = alts
                .iter()
                .filter_map(|alt| alt.get("const").map(|v| format!("`{v}`")))
                .collect();
            if consts.len() == alts.len() {
                return format!("one of {}", consts.join(", "));
            }
            let texts: Vec<String> = alts.iter().map(|alt| self.type_text(alt)).collect();
            return texts.join(" or ");
        }
        let types = types(property);
        let numeric = types.iter().find(|t| **t == "integer" || **t == "number");
        let base = match numeric {
            // A string is only accepted to hold a number or a placeholder.
            Some(numeric) if is_size(property) => format!("{numeric} or size string"),
            Some(numeric) if property.get("pattern").is_some() => (*numeric).to_owned(),
            _ => types
                .iter()
                .map(|t| match *t {
                    "array" => self.array_text(property),
                    "object" => self.map_text(property),
                    other => other.to_owned(),
                })
                .collect::<Vec<_>>()
                .join(" or "),
        };
        let limits = limits(property);
        if limits.is_empty() {
            base
        } else {
            format!("{base} ({})", limits.join(", "))
        }
    }

    fn array_text(&self, property: &Value) -> String {
        match property.get("items") {
            Some(items) => match ref_name(items).and_then(|name| self.homes.get(name)) {
                Some(home) => format!("array of objects ([`{home}`](#{}))", self.anchor_of(home)),
                None => format!("array of {}", self.type_text(items)),
            },
            None => "array".to_owned(),
        }
    }

    fn map_text(&self, property: &Value) -> String {
        match property.get("additionalProperties") {
            Some(value @ Value::Object(_)) => format!("object: name → {}", self.type_text(value)),
            _ => "object".to_owned(),
        }
    }
}

/// The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to `-`.
fn slug(text: &str) -> String {
    text.to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

fn description(value: &Value) -> &str {
    value["description"].as_str().unwrap_or("")
}

fn types(value: &Value) -> Vec<&str> {
    match &value["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .collect(),
        _ => Vec::new(),
    }
}

/// A byte size: its string form takes a unit (`"512MB"`), which its pattern spells out.
fn is_size(property: &Value) -> bool {
    property["pattern"]
        .as_str()
        .is_some_and(|p| p.contains("[KkMmGg]"))
}

fn limits(property: &Value) -> Vec<String> {
    let number = |key: &str| property.get(key).filter(|v| v.is_number());
    let show = |value: &Value| with_size(property, value, value.to_string());
    let mut limits = Vec::new();
    match (
        number("minimum"),
        number("exclusiveMinimum"),
        number("maximum"),
    ) {
        (Some(min), _, Some(max)) => limits.push(format!("{} to {}", show(min), show(max))),
        (Some(min), _, None) => limits.push(format!("at least {}", show(min))),
        (None, Some(min), max) => {
            limits.push(format!("above {}", show(min)));
            if let Some(max) = max {
                limits.push(format!("at most {}", show(max)));
            }
        }
        (None, None, Some(max)) => limits.push(format!("at most {}", show(max))),
        (None, None, None) => {}
    }
    if let Some(max) = number("exclusiveMaximum") {
        limits.push(format!("below {}", show(max)));
    }
    match property.get("minLength").and_then(Value::as_u64) {
        Some(1) => limits.push("not empty".to_owned()),
        Some(n) => limits.push(format!("at least {n} characters")),
        None => {}
    }
    if let Some(values) = property["not"]["enum"].as_array() {
        let values: Vec<String> = values.iter().map(|v| format!("`{v}`")).collect();
        limits.push(format!("not {}", values.join(", ")));
    }
    if let Some(values) = property["enum"].as_array() {
        let values: Vec<String> = values.iter().map(|v| format!("`{v}`")).collect();
        limits.push(format!("one of {}", values.join(", ")));
    }
    limits
}

/// `16 MiB`, `4 GiB` for whole mebibytes, so sizes written in bytes stay readable.
fn mebibytes(bytes: u64) -> Option<String> {
    const MIB: u64 = 1 << 20;
    const GIB: u64 = 1 << 30;
    if bytes == 0 || !bytes.is_multiple_of(MIB) {
        return None;
    }
    Some(if bytes.is_multiple_of(GIB) {
        format!("{} GiB", bytes / GIB)
    } else {
        format!("{} MiB", bytes / MIB)
    })
}

fn default_text(property: &Value, value: &Value) -> String {
    with_size(property, value, format!("`{}`", compact(value)))
}

/// `text`, then the size in MiB or GiB when `property` is a byte size and `value` a whole
/// number of mebibytes.
fn with_size(property: &Value, value: &Value, text: String) -> String {
    match value
        .as_u64()
        .filter(|_| is_size(property))
        .and_then(mebibytes)
    {
        Some(size) => format!("{text} ({size})"),
        None => text,
    }
}

/// JSON on one line with a space after `:` and `,`, as people write it.
fn compact(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let entries: BTreeMap<&String, String> =
                map.iter().map(|(k, v)| (k, compact(v))).collect();
            let inner: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("\"{k}\": {v}"))
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(compact).collect();
            format!("[{}]", inner.join(", "))
        }
        other => other.to_string(),
    }
}

/// Table cells are one line: paragraphs become `<br><br>` and `|` is escaped.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
        .split("\n\n")
        .map(|p| p.replace('\n', " "))
        .collect::<Vec<_>>()
        .join("<br><br>")
}

#[cfg(test)]
mod tests;
