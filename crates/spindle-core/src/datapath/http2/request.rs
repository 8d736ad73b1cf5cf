//! An HTTP/2 request as the HTTP/1.1 head the data path reads (RFC 9113 §8.3.1 and
//! §8.2.3): `:authority` becomes `Host`, split `cookie` fields are joined, and a body with
//! no `content-length` is sent chunked. The head then goes through the same parser,
//! limits, routing and forwarding rewrites as any HTTP/1.1 request.

use std::io::Write;

use http::header::{self, HeaderName};
use http::request::Parts;
use http::Method;

/// Header fields that belong to one HTTP/1.1 connection, never to a request forwarded
/// from HTTP/2 (the h2 crate already refuses most of them).
const CONNECTION_FIELDS: [HeaderName; 6] = [
    header::CONNECTION,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::TE,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
];

/// How the request's body is carried in the HTTP/1.1 message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    None,
    /// As the client's `content-length` says (the h2 crate holds the DATA frames to it).
    Length,
    /// DATA frames as chunks.
    Chunked,
}

/// Writes the HTTP/1.1 head for `parts` into `out`. `has_body`: the client did not end
/// the stream with its headers. Err: what HTTP/1.1 cannot carry.
pub fn write_head(
    parts: &Parts,
    has_body: bool,
    out: &mut Vec<u8>,
) -> Result<BodyFraming, &'static str> {
    if parts.method == Method::CONNECT {
        return Err("CONNECT is not served");
    }
    let target = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .filter(|p| !p.is_empty())
        .unwrap_or("/");
    let _ = write!(out, "{} {} HTTP/1.1\r\n", parts.method, target);
    let authority = parts.uri.authority();
    if let Some(authority) = authority {
        // `:authority` wins over a `host` field (RFC 9113 §8.3.1).
        let _ = write!(out, "host: {authority}\r\n");
    }
    let mut cookies = 0;
    let mut has_length = false;
    for (name, value) in &parts.headers {
        if CONNECTION_FIELDS.contains(name) || (authority.is_some() && name == header::HOST) {
            continue;
        }
        if name == header::COOKIE {
            cookies += 1;
            continue;
        }
        if name == header::CONTENT_LENGTH {
            has_length = true;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if cookies > 0 {
        // One field for HTTP/1.1, joined with "; " (RFC 9113 §8.2.3).
        out.extend_from_slice(b"cookie: ");
        for (i, value) in parts.headers.get_all(header::COOKIE).iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(b"; ");
            }
            out.extend_from_slice(value.as_bytes());
        }
        out.extend_from_slice(b"\r\n");
    }
    let framing = match (has_body, has_length) {
        (_, true) => BodyFraming::Length,
        (false, false) => BodyFraming::None,
        (true, false) => {
            out.extend_from_slice(b"transfer-encoding: chunked\r\n");
            BodyFraming::Chunked
        }
    };
    out.extend_from_slice(b"\r\n");
    Ok(framing)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(request: http::Request<()>, has_body: bool) -> (String, BodyFraming) {
        let (parts, ()) = request.into_parts();
        let mut out = Vec::new();
        let framing = write_head(&parts, has_body, &mut out).expect("a head");
        (String::from_utf8(out).unwrap(), framing)
    }

    #[test]
    fn authority_becomes_host_and_cookies_are_joined() {
        let request = http::Request::get("https://example.com:8443/a/b?c=d")
            .header("host", "forged")
            .header("cookie", "a=1")
            .header("accept", "*/*")
            .header("cookie", "b=2")
            .body(())
            .unwrap();
        let (text, framing) = head(request, false);
        assert_eq!(
            text,
            "GET /a/b?c=d HTTP/1.1\r\nhost: example.com:8443\r\naccept: */*\r\ncookie: a=1; b=2\r\n\r\n"
        );
        assert_eq!(framing, BodyFraming::None);
    }

    #[test]
    fn a_body_without_a_length_is_chunked() {
        let request = http::Request::post("https://h/up").body(()).unwrap();
        let (text, framing) = head(request, true);
        assert!(
            text.ends_with("transfer-encoding: chunked\r\n\r\n"),
            "{text}"
        );
        assert_eq!(framing, BodyFraming::Chunked);
        let request = http::Request::post("https://h/up")
            .header("content-length", "5")
            .body(())
            .unwrap();
        let (text, framing) = head(request, true);
        assert!(!text.contains("transfer-encoding"), "{text}");
        assert_eq!(framing, BodyFraming::Length);
    }

    #[test]
    fn connection_fields_and_connect_do_not_pass() {
        let request = http::Request::get("https://h/")
            .header("te", "trailers")
            .header("keep-alive", "5")
            .body(())
            .unwrap();
        let (text, _) = head(request, false);
        assert_eq!(text, "GET / HTTP/1.1\r\nhost: h\r\n\r\n");
        let (parts, ()) = http::Request::connect("h:443")
            .body(())
            .unwrap()
            .into_parts();
        assert!(write_head(&parts, false, &mut Vec::new()).is_err());
    }
}
