//! `spindle inject`: one request sent to an app's worker through the core, bypassing the
//! public port; the answer is printed like `curl -i`.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use serde_json::Value;
use spindle_api::{InjectRequest, Injected};

use super::actions::print_json;
use super::client::{encode, Endpoint};
use super::error::ControlError;

/// What to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Option<String>,
}

impl Request {
    /// Checks the parts and reads the body (`@FILE`, `@-` for stdin, or the text itself).
    pub fn new(
        method: &str,
        path: &str,
        headers: Vec<(String, String)>,
        data: Option<String>,
    ) -> Result<Request, ControlError> {
        if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(ControlError::Usage(format!(
                "bad method {method:?}: use GET, POST, …"
            )));
        }
        if !path.starts_with('/') {
            return Err(ControlError::Usage(format!(
                "bad path {path:?}: it starts with /"
            )));
        }
        let body = data.map(|data| read_body(&data)).transpose()?;
        Ok(Request {
            method: method.to_ascii_uppercase(),
            path: path.to_string(),
            headers,
            body,
        })
    }

    /// The API's request body. Repeated headers are joined with `, `.
    fn to_api(&self) -> InjectRequest {
        let mut headers: BTreeMap<String, String> = BTreeMap::new();
        for (name, value) in &self.headers {
            match headers.get_mut(name) {
                Some(joined) => {
                    joined.push_str(", ");
                    joined.push_str(value);
                }
                None => {
                    headers.insert(name.clone(), value.clone());
                }
            }
        }
        InjectRequest {
            method: Some(self.method.clone()),
            path: Some(self.path.clone()),
            headers,
            body: self.body.clone(),
        }
    }
}

pub fn run(
    endpoint: &Endpoint,
    app: &str,
    request: &Request,
    json: bool,
) -> Result<(), ControlError> {
    let response = endpoint.post_json(
        &format!("/v1/apps/{}/inject", encode(app)),
        &request.to_api(),
    )?;
    if json {
        return print_json(&response);
    }
    let answer: Injected = endpoint.decode(&response)?;
    std::io::stdout()
        .lock()
        .write_all(render(&answer).as_bytes())?;
    Ok(())
}

/// `HTTP 200`, the headers, a blank line, the body (ending in a newline).
pub fn render(answer: &Injected) -> String {
    let mut out = format!("HTTP {}\n", answer.status);
    for (name, value) in &answer.headers {
        match value {
            Value::Array(values) => {
                for value in values {
                    out.push_str(&format!("{name}: {}\n", text(value)));
                }
            }
            value => out.push_str(&format!("{name}: {}\n", text(value))),
        }
    }
    out.push('\n');
    out.push_str(&answer.body);
    if !answer.body.is_empty() && !answer.body.ends_with('\n') {
        out.push('\n');
    }
    out
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `-H 'Name: value'`.
pub fn parse_header(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once(':')
        .ok_or_else(|| format!("{text:?} is not `Name: value`"))?;
    let name = name.trim();
    if name.is_empty() || name.contains(char::is_whitespace) {
        return Err(format!("{text:?} has no valid header name"));
    }
    Ok((name.to_string(), value.trim().to_string()))
}

fn read_body(data: &str) -> Result<String, ControlError> {
    let Some(source) = data.strip_prefix('@') else {
        return Ok(data.to_string());
    };
    let bytes = if source == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|err| ControlError::Usage(format!("cannot read stdin: {err}")))?;
        bytes
    } else {
        std::fs::read(source)
            .map_err(|err| ControlError::Usage(format!("cannot read {source}: {err}")))?
    };
    String::from_utf8(bytes)
        .map_err(|_| ControlError::Usage(format!("the body from {data} is not UTF-8 text")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_headers() {
        assert_eq!(
            parse_header("X-Thing:  a: b "),
            Ok(("X-Thing".to_string(), "a: b".to_string()))
        );
        assert!(parse_header("nocolon").is_err());
        assert!(parse_header(": v").is_err());
        assert!(parse_header("a b: v").is_err());
    }

    #[test]
    fn builds_the_api_request() {
        let headers = vec![
            ("accept".to_string(), "text/html".to_string()),
            ("accept".to_string(), "application/json".to_string()),
            ("x-a".to_string(), "1".to_string()),
        ];
        let request = Request::new("post", "/x?y=1", headers, Some("hi".into())).unwrap();
        assert_eq!(
            serde_json::to_value(request.to_api()).unwrap(),
            json!({"method": "POST", "path": "/x?y=1",
                   "headers": {"accept": "text/html, application/json", "x-a": "1"},
                   "body": "hi"})
        );
        let request = Request::new("GET", "/", vec![], None).unwrap();
        assert_eq!(
            serde_json::to_value(request.to_api()).unwrap(),
            json!({"method": "GET", "path": "/", "headers": {}})
        );
    }

    #[test]
    fn checks_method_path_and_body_file() {
        assert!(Request::new("G T", "/", vec![], None).is_err());
        let err = Request::new("GET", "hello", vec![], None).unwrap_err();
        assert_eq!(err.to_string(), "bad path \"hello\": it starts with /");
        let err = Request::new("POST", "/", vec![], Some("@/nonexistent/body".into())).unwrap_err();
        assert!(
            err.to_string().starts_with("cannot read /nonexistent/body"),
            "{err}"
        );
    }

    #[test]
    fn renders_like_curl_i() {
        let answer: Injected = serde_json::from_value(json!({
            "status": 200,
            "headers": {"content-type": "application/json", "set-cookie": ["a=1", "b=2"]},
            "body": "{\"ok\":true}"
        }))
        .unwrap();
        assert_eq!(
            render(&answer),
            "HTTP 200\ncontent-type: application/json\nset-cookie: a=1\nset-cookie: b=2\n\n{\"ok\":true}\n"
        );
    }
}
