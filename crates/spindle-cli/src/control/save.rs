//! `apps add|remove --save`: writes the change back to the config file by editing its
//! text in place, so the file keeps its layout and key order (re-serializing the JSON
//! would sort and reformat everything the user wrote).

use serde_json::Value;

/// Keys that hold the application list, as the config accepts them.
const LIST_KEYS: [&str; 3] = ["applications", "services", "web"];

/// `text` with `entry` appended to its application list (created if missing).
pub fn add(text: &str, entry: &Value) -> Result<String, String> {
    let b = text.as_bytes();
    let (open, members) = object_members(b, first_non_ws(b, 0))?;
    let entry = entry.to_string();
    let out = match members.iter().find(|m| LIST_KEYS.contains(&m.key.as_str())) {
        Some(list) => {
            let (close, elements) = array_elements(b, list.value.0)?;
            match elements.last() {
                Some(last) => splice(text, last.1, last.1, &format!(",\n    {entry}")),
                None => splice(text, list.value.0 + 1, close, &format!("\n    {entry}\n  ")),
            }
        }
        None if members.is_empty() => splice(
            text,
            open + 1,
            open + 1,
            &format!("\n  \"applications\": [\n    {entry}\n  ]\n"),
        ),
        None => splice(
            text,
            open + 1,
            open + 1,
            &format!("\n  \"applications\": [\n    {entry}\n  ],"),
        ),
    };
    check(out)
}

/// `text` without the application whose id is `id`.
pub fn remove(text: &str, id: &str) -> Result<String, String> {
    let b = text.as_bytes();
    let (_, members) = object_members(b, first_non_ws(b, 0))?;
    let list = members
        .iter()
        .find(|m| LIST_KEYS.contains(&m.key.as_str()))
        .ok_or("the config file has no \"applications\" list")?;
    let (_, elements) = array_elements(b, list.value.0)?;
    let index = elements
        .iter()
        .position(|(start, end)| {
            serde_json::from_str::<Value>(&text[*start..*end]).ok().is_some_and(|v| v["id"] == id)
        })
        .ok_or_else(|| format!("the config file lists no application with id {id:?} (an autoloaded app is removed by removing its directory)"))?;
    let (start, end) = elements[index];
    let out = if index > 0 {
        // Take the separator before it with it.
        splice(text, elements[index - 1].1, end, "")
    } else if let Some(next) = elements.get(1) {
        splice(text, start, next.0, "")
    } else {
        splice(text, start, end, "")
    };
    check(out)
}

fn check(out: String) -> Result<String, String> {
    serde_json::from_str::<Value>(&out)
        .map_err(|e| format!("editing the config would break it ({e}); left unchanged"))?;
    Ok(out)
}

fn splice(text: &str, from: usize, to: usize, with: &str) -> String {
    format!("{}{}{}", &text[..from], with, &text[to..])
}

struct Member {
    key: String,
    /// Byte span of the value.
    value: (usize, usize),
}

/// The members of the object whose `{` is at `open`.
fn object_members(b: &[u8], open: usize) -> Result<(usize, Vec<Member>), String> {
    let mut members = Vec::new();
    items(b, open, b'{', "the config file is not a JSON object", |i| {
        let key_end = skip_string(b, i)?;
        let key: String = serde_json::from_slice(&b[i..key_end]).map_err(|e| e.to_string())?;
        let colon = first_non_ws(b, key_end);
        let start = first_non_ws(b, colon + 1);
        let end = skip_value(b, start)?;
        members.push(Member {
            key,
            value: (start, end),
        });
        Ok(end)
    })?;
    Ok((open, members))
}

/// The closing `]` and the element spans of the array whose `[` is at `open`.
fn array_elements(b: &[u8], open: usize) -> Result<(usize, Vec<(usize, usize)>), String> {
    let mut elements = Vec::new();
    let close = items(b, open, b'[', "the application list is not an array", |i| {
        let end = skip_value(b, i)?;
        elements.push((i, end));
        Ok(end)
    })?;
    Ok((close, elements))
}

/// Walks the object or array whose `opening` bracket should be at `open` (`not_one` when
/// it is not): `item` reads each member or element from its first byte and returns where
/// it ends. Returns where the closing bracket is.
fn items(
    b: &[u8],
    open: usize,
    opening: u8,
    not_one: &str,
    mut item: impl FnMut(usize) -> Result<usize, String>,
) -> Result<usize, String> {
    let (closing, container) = match opening {
        b'{' => (b'}', "object"),
        _ => (b']', "array"),
    };
    if b.get(open) != Some(&opening) {
        return Err(not_one.into());
    }
    let mut i = first_non_ws(b, open + 1);
    while b.get(i) != Some(&closing) {
        let end = item(i)?;
        i = first_non_ws(b, end);
        if b.get(i) == Some(&b',') {
            i = first_non_ws(b, i + 1);
        }
        if i >= b.len() {
            return Err(format!("unterminated {container}"));
        }
    }
    Ok(i)
}

fn first_non_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

fn skip_string(b: &[u8], i: usize) -> Result<usize, String> {
    if b.get(i) != Some(&b'"') {
        return Err(format!("expected a string at byte {i}"));
    }
    let mut j = i + 1;
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            b'"' => return Ok(j + 1),
            _ => j += 1,
        }
    }
    Err("unterminated string".into())
}

/// Just past the value starting at `i`.
fn skip_value(b: &[u8], i: usize) -> Result<usize, String> {
    match b.get(i) {
        Some(b'"') => skip_string(b, i),
        Some(b'{') | Some(b'[') => {
            let mut depth = 0usize;
            let mut j = i;
            while j < b.len() {
                match b[j] {
                    b'"' => {
                        j = skip_string(b, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Ok(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            Err("unterminated value".into())
        }
        Some(_) => {
            let mut j = i;
            while j < b.len() && !matches!(b[j], b',' | b'}' | b']') && !b[j].is_ascii_whitespace()
            {
                j += 1;
            }
            Ok(j)
        }
        None => Err("unexpected end of the config file".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CONFIG: &str = "{\n  \"server\": { \"port\": 3042 },\n  \"applications\": [\n    { \"id\": \"web\", \"path\": \"web\" },\n    { \"id\": \"api\", \"path\": \"a,p]i\" }\n  ]\n}\n";

    #[test]
    fn add_appends_and_keeps_the_rest_as_written() {
        let out = add(CONFIG, &json!({"id": "extra", "path": "extra"})).unwrap();
        assert!(out.starts_with("{\n  \"server\": { \"port\": 3042 },"));
        assert!(
            out.contains("\"a,p]i\" },\n    {\"id\":\"extra\",\"path\":\"extra\"}\n  ]"),
            "{out}"
        );
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["applications"].as_array().unwrap().len(), 3);
    }

    #[test]
    fn add_creates_the_list_when_missing_or_empty() {
        let out = add("{}", &json!({"id": "a", "path": "a"})).unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&out).unwrap()["applications"][0]["id"],
            "a"
        );
        let out = add(
            "{ \"autoload\": {\"path\": \"apps\"} }",
            &json!({"id": "a", "path": "a"}),
        )
        .unwrap();
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["applications"][0]["id"], "a");
        assert_eq!(v["autoload"]["path"], "apps");
        let out = add("{\"services\": []}", &json!({"id": "a", "path": "a"})).unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&out).unwrap()["services"][0]["id"],
            "a"
        );
    }

    #[test]
    fn remove_takes_the_entry_and_its_separator() {
        let out = remove(CONFIG, "api").unwrap();
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["applications"], json!([{"id": "web", "path": "web"}]));
        let out = remove(CONFIG, "web").unwrap();
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["applications"], json!([{"id": "api", "path": "a,p]i"}]));
        let only = remove(&remove(CONFIG, "web").unwrap(), "api").unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&only).unwrap()["applications"],
            json!([])
        );
        assert!(remove(CONFIG, "nope")
            .unwrap_err()
            .contains("no application with id \"nope\""));
    }
}
