//! Property tests: the project's fuzz targets for the HTTP/1 boundary.
//!
//! 1. `parse_request` never panics, on any bytes or on mutants of valid requests; what it
//!    accepts it forwards as a head it would accept again, framed the same; a head fed in
//!    prefixes is incomplete until its last byte.
//! 2. Forwarded heads of generated valid requests parse to the same request, and hold no
//!    header line that was neither the client's nor one of ours.
//! 3. `ChunkedDecoder` finds the end of generated bodies however they are split, never
//!    panics, and agrees with a slow line-by-line reference on corrupted bodies.
//! 4. `parse_response` never panics and frames generated responses as a reference does.

use std::net::{IpAddr, SocketAddr};

use proptest::collection::vec;
use proptest::prelude::*;

use super::*;

/// 256 cases each keeps the module's tests within seconds; run longer fuzzing with
/// `PROPTEST_CASES=100000 cargo test --release -p spindle-core http1::fuzz_tests`.
fn config() -> ProptestConfig {
    let mut config = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = 256;
    }
    config
}

// ---------------------------------------------------------------------------------------
// Generated valid requests.

#[derive(Debug, Clone)]
enum Target {
    Origin(String),
    Absolute {
        scheme: String,
        authority: String,
        rest: String,
    },
    Asterisk,
}

#[derive(Debug, Clone)]
enum Body {
    None,
    Length {
        n: u64,
        copies: usize,
        as_list: bool,
    },
    Chunked {
        gzip_first: bool,
        two_fields: bool,
    },
}

#[derive(Debug, Clone)]
struct Req {
    method: String,
    target: Target,
    http10: bool,
    host: Option<String>,
    body: Body,
    connection: Vec<String>,
    upgrade_field: bool,
    xff: Vec<String>,
    extras: Vec<(String, String)>,
    separator: &'static str,
}

/// Names the generator keeps for itself, so random extras cannot collide with them.
const SPECIAL: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "upgrade",
    "keep-alive",
    "te",
    "proxy-connection",
    "expect",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "x-forwarded-prefix",
    "x-drop",
];

fn method() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("GET".to_string()),
        Just("POST".to_string()),
        Just("PUT".to_string()),
        Just("HEAD".to_string()),
        Just("DELETE".to_string()),
        Just("OPTIONS".to_string()),
        "[A-Z][A-Za-z0-9!#$%&'*+.^_`|~-]{0,9}"
            .prop_filter("CONNECT is refused", |m| m != "CONNECT"),
    ]
}

fn path() -> impl Strategy<Value = String> {
    let segment = "[a-zA-Z0-9._~%!$&'()*+,;=:@-]{0,6}";
    let query = proptest::option::of("[a-zA-Z0-9=&%/?:@._~-]{0,10}");
    (vec(segment, 0..4), query).prop_map(|(segments, query)| {
        let mut p = format!("/{}", segments.join("/"));
        if let Some(q) = query {
            p.push('?');
            p.push_str(&q);
        }
        p
    })
}

fn authority() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9-]{0,8}(\\.[a-z]{1,5}){0,2}(:[0-9]{1,5})?",
        "\\[::[0-9a-f]{1,4}\\](:[0-9]{1,4})?",
    ]
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        6 => path().prop_map(Target::Origin),
        3 => (prop_oneof![Just("http"), Just("https"), Just("HTTP")], authority(), prop_oneof![path(), Just(String::new()), Just("?q=1".to_string())])
            .prop_map(|(scheme, authority, rest)| Target::Absolute { scheme: scheme.into(), authority, rest }),
        1 => Just(Target::Asterisk),
    ]
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        Just(Body::None),
        (0u64..100_000, 1usize..3, any::<bool>()).prop_map(|(n, copies, as_list)| Body::Length {
            n,
            copies,
            as_list
        }),
        (any::<bool>(), any::<bool>()).prop_map(|(gzip_first, two_fields)| Body::Chunked {
            gzip_first,
            two_fields
        }),
    ]
}

fn extras() -> impl Strategy<Value = Vec<(String, String)>> {
    let name = "[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]{0,12}"
        .prop_filter("generated separately", |n| {
            !SPECIAL.contains(&n.to_ascii_lowercase().as_str())
        });
    let value = "([!-~\u{80}-\u{ff}]([ \t!-~]{0,16}[!-~])?)?";
    vec((name, value), 0..8)
}

fn request() -> impl Strategy<Value = Req> {
    let tokens = vec(
        prop_oneof![
            Just("close"),
            Just("keep-alive"),
            Just("Keep-Alive"),
            Just("upgrade"),
            Just("x-drop"),
            Just("X-Unrelated")
        ]
        .prop_map(String::from),
        0..3,
    );
    let xff = vec("[0-9]{1,3}(\\.[0-9]{1,3}){3}", 0..3);
    (
        (
            method(),
            target(),
            any::<bool>(),
            proptest::option::of(authority()),
            body(),
        ),
        (tokens, any::<bool>(), xff, extras()),
        prop_oneof![Just(" "), Just(""), Just("\t "), Just("  ")],
    )
        .prop_map(
            |(
                (method, target, http10, host, body),
                (connection, upgrade_field, xff, extras),
                separator,
            )| {
                let method = if matches!(target, Target::Asterisk) {
                    "OPTIONS".into()
                } else {
                    method
                };
                // HTTP/1.1 needs a Host; HTTP/1.0 has no transfer codings.
                let host = if http10 {
                    host
                } else {
                    host.or(Some("h".into()))
                };
                let body = if http10 && matches!(body, Body::Chunked { .. }) {
                    Body::None
                } else {
                    body
                };
                Req {
                    method,
                    target,
                    http10,
                    host,
                    body,
                    connection,
                    upgrade_field,
                    xff,
                    extras,
                    separator,
                }
            },
        )
}

impl Req {
    fn target(&self) -> String {
        match &self.target {
            Target::Origin(p) => p.clone(),
            Target::Absolute {
                scheme,
                authority,
                rest,
            } => format!("{scheme}://{authority}{rest}"),
            Target::Asterisk => "*".into(),
        }
    }

    fn header_lines(&self) -> Vec<String> {
        let sep = self.separator;
        let mut lines = Vec::new();
        if let Some(h) = &self.host {
            lines.push(format!("Host:{sep}{h}"));
        }
        match self.body {
            Body::None => {}
            Body::Length { n, copies, as_list } if as_list => {
                lines.push(format!(
                    "Content-Length:{sep}{}",
                    vec![n.to_string(); copies].join(", ")
                ));
            }
            Body::Length { n, copies, .. } => {
                for _ in 0..copies {
                    lines.push(format!("content-length:{sep}{n}"));
                }
            }
            Body::Chunked {
                gzip_first,
                two_fields,
            } => match (gzip_first, two_fields) {
                // One entry, so that shuffling keeps the codings in order.
                (true, true) => lines.push(format!(
                    "Transfer-Encoding:{sep}gzip\r\nTransfer-Encoding:{sep}chunked"
                )),
                (true, false) => lines.push(format!("Transfer-Encoding:{sep}gzip, chunked")),
                (false, _) => lines.push(format!("Transfer-Encoding:{sep}chunked")),
            },
        }
        if !self.connection.is_empty() {
            lines.push(format!("Connection:{sep}{}", self.connection.join(", ")));
            lines.push(format!("X-Drop:{sep}named by Connection"));
        }
        if self.upgrade_field {
            lines.push(format!("Upgrade:{sep}websocket"));
        }
        for ip in &self.xff {
            lines.push(format!("X-Forwarded-For:{sep}{ip}"));
        }
        for (name, value) in &self.extras {
            lines.push(format!("{name}:{sep}{value}"));
        }
        lines
    }

    fn has_token(&self, t: &str) -> bool {
        self.connection.iter().any(|c| c.eq_ignore_ascii_case(t))
    }

    fn keep_alive(&self) -> bool {
        !self.has_token("close") && (!self.http10 || self.has_token("keep-alive"))
    }

    fn framing(&self) -> Framing {
        match self.body {
            Body::None => Framing::None,
            Body::Length { n, .. } => Framing::Length(n),
            Body::Chunked { .. } => Framing::Chunked,
        }
    }
}

fn encode(r: &Req, lines: &[String]) -> Vec<u8> {
    let version = if r.http10 { "1.0" } else { "1.1" };
    let mut s = format!("{} {} HTTP/{version}\r\n", r.method, r.target());
    for l in lines {
        s.push_str(l);
        s.push_str("\r\n");
    }
    s.push_str("\r\n");
    s.into_bytes()
}

/// A valid request, its header lines in a random order, encoded.
fn encoded_request() -> impl Strategy<Value = (Req, Vec<u8>)> {
    request().prop_flat_map(|r| {
        let lines = r.header_lines();
        (Just(r), Just(lines).prop_shuffle()).prop_map(|(r, lines)| {
            let bytes = encode(&r, &lines);
            (r, bytes)
        })
    })
}

fn peer() -> impl Strategy<Value = SocketAddr> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|o| SocketAddr::new(IpAddr::from(o), 1234)),
        any::<[u8; 16]>().prop_map(|o| SocketAddr::new(IpAddr::from(o), 1234)),
    ]
}

/// The path the worker should see, stripped of `prefix` on whole segments.
fn expected_path(path: &str, prefix: Option<&str>) -> String {
    let Some(p) = prefix
        .map(|p| p.trim_end_matches('/'))
        .filter(|p| !p.is_empty())
    else {
        return path.into();
    };
    if path == "*" {
        return path.into();
    }
    match path.strip_prefix(p) {
        Some("") => "/".into(),
        Some(rest) if rest.starts_with('/') => rest.into(),
        _ => path.into(),
    }
}

const ADDED: &[&str] = &[
    "connection",
    "host",
    "content-length",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "x-forwarded-prefix",
];

fn limits() -> Limits {
    Limits {
        max_headers: MAX_HEADERS,
        ..Limits::default()
    }
}

/// Forwards what `parse_request` accepted and checks the worker would read the same
/// request from it.
fn forward_and_reparse(
    buf: &[u8],
    strip_prefix: Option<&str>,
    peer: SocketAddr,
) -> Result<Vec<u8>, TestCaseError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let head = parse_request(buf, &mut headers, &limits())
        .unwrap()
        .unwrap();
    // Trusting every address makes each X-Forwarded-For entry go through the hop parser.
    let trust = spindle_config::TrustProxy::parse_list(["0.0.0.0/0, ::/0"]).unwrap();
    let fwd = Forwarding {
        peer,
        strip_prefix,
        proto: "http",
        trust: &trust,
        trace: None,
    };
    let mut out = Vec::new();
    write_forwarded(&head, &fwd, &mut out);
    let mut again = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let parsed = parse_request(&out, &mut again, &limits());
    let Ok(Some(h2)) = parsed else {
        return Err(TestCaseError::fail(format!(
            "forwarded head not accepted: {parsed:?}\n{}",
            String::from_utf8_lossy(&out)
        )));
    };
    prop_assert_eq!(h2.head_len, out.len());
    prop_assert_eq!(h2.method, head.method);
    prop_assert_eq!(h2.version, head.version);
    prop_assert_eq!(h2.framing, head.framing);
    prop_assert_eq!(h2.keep_alive, head.keep_alive);
    prop_assert_eq!(h2.upgrade, head.upgrade);
    prop_assert_eq!(h2.path(), expected_path(head.path(), strip_prefix));
    if head.host.is_some() {
        prop_assert_eq!(h2.host, head.host);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Mutations.

#[derive(Debug, Clone)]
enum Mutation {
    Set(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
}

fn interesting_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        any::<u8>(),
        prop::sample::select(b"\r\n \t:,;=\"\\/?*0aFz\x00\x7f\xff".to_vec()),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), interesting_byte()).prop_map(|(i, b)| Mutation::Set(i, b)),
        (any::<usize>(), interesting_byte()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Delete),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn mutate(buf: &mut Vec<u8>, mutations: &[Mutation]) {
    for m in mutations {
        let len = buf.len();
        match *m {
            Mutation::Set(i, b) if len > 0 => buf[i % len] = b,
            Mutation::Insert(i, b) => buf.insert(i % (len + 1), b),
            Mutation::Delete(i) if len > 0 => {
                buf.remove(i % len);
            }
            Mutation::Truncate(i) => buf.truncate(i % (len + 1)),
            _ => {}
        }
    }
}

proptest! {
    #![proptest_config(config())]

    // 1. parse_request never panics on arbitrary bytes, with any limits.
    #[test]
    fn fuzz_request_arbitrary_bytes(
        buf in vec(any::<u8>(), 0..400),
        max_head_bytes in 0usize..500,
        max_headers in 0usize..=MAX_HEADERS,
        max_target_bytes in 0usize..100,
    ) {
        let limits = Limits { max_head_bytes, max_headers, max_target_bytes };
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        if let Ok(Some(head)) = parse_request(&buf, &mut headers, &limits) {
            prop_assert!(head.head_len <= buf.len().min(max_head_bytes));
        }
    }

    // 1. Mutants of valid requests never panic, and whatever is accepted forwards to a
    //    head we accept again, framed the same (no smuggling through our own rewrite).
    #[test]
    fn fuzz_request_mutants((_, buf) in encoded_request(), mutations in vec(mutation(), 1..4), peer in peer()) {
        let mut buf = buf;
        mutate(&mut buf, &mutations);
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let accepted = matches!(parse_request(&buf, &mut headers, &limits()), Ok(Some(_)));
        if accepted {
            forward_and_reparse(&buf, None, peer)?;
        }
    }

    // 1. A head is incomplete until its last byte, then the same as when read whole.
    #[test]
    fn fuzz_request_prefixes((_, head) in encoded_request(), body in vec(any::<u8>(), 0..16)) {
        let mut buf = head.clone();
        buf.extend_from_slice(&body);
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let whole = parse_request(&buf, &mut headers, &limits()).unwrap().unwrap();
        prop_assert_eq!(whole.head_len, head.len());
        for end in 0..head.len() {
            let mut h = [httparse::EMPTY_HEADER; MAX_HEADERS];
            prop_assert_eq!(parse_request(&buf[..end], &mut h, &limits()), Ok(None), "prefix of {}", end);
        }
        let mut h = [httparse::EMPTY_HEADER; MAX_HEADERS];
        prop_assert_eq!(parse_request(&head, &mut h, &limits()), Ok(Some(whole)));
    }

    // 2. Forwarded heads read back as the same request, with no line of anyone else's.
    #[test]
    fn fuzz_forwarded_heads_round_trip(
        (req, buf) in encoded_request(),
        peer in peer(),
        strip in prop_oneof![
            Just(None),
            // The target's own first segment, so that something is stripped.
            Just(Some("first".to_string())),
            "/[a-z]{1,3}/?".prop_map(Some),
            Just(Some("/a\r\nx-evil: 1".to_string())),
        ],
    ) {
        let strip = match (strip.as_deref(), &req.target) {
            (Some("first"), Target::Origin(p)) => {
                Some(format!("/{}", p.split(['/', '?']).nth(1).unwrap_or("")))
            }
            (Some("first"), _) => None,
            _ => strip,
        };
        let strip = strip.as_deref();
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let head = parse_request(&buf, &mut headers, &limits());
        let Ok(Some(head)) = head else {
            return Err(TestCaseError::fail(format!("not accepted: {head:?}\n{}", String::from_utf8_lossy(&buf))));
        };
        prop_assert_eq!(head.framing, req.framing());
        prop_assert_eq!(head.keep_alive, req.keep_alive());
        prop_assert_eq!(head.method, req.method.as_str());

        let out = forward_and_reparse(&buf, strip, peer)?;
        let text = String::from_utf8_lossy(&out).into_owned();
        let input: Vec<&[u8]> = buf.split(|&b| b == b'\n').collect();
        let mut out_lines = text.split("\r\n").skip(1);
        for line in out_lines.by_ref().take_while(|l| !l.is_empty()) {
            let name = line.split(':').next().unwrap_or("").to_ascii_lowercase();
            let theirs = input.iter().any(|l| l.strip_suffix(b"\r") == Some(line.as_bytes()));
            prop_assert!(theirs || ADDED.contains(&name.as_str()), "line {:?} in\n{}", line, text);
            prop_assert!(!name.eq_ignore_ascii_case("x-evil"));
            prop_assert!(name != "x-drop" || !req.connection.iter().any(|t| t == "x-drop"), "{}", text);
        }
        prop_assert_eq!(out_lines.next(), Some(""), "nothing after the head");
    }
}

// ---------------------------------------------------------------------------------------
// Chunked bodies.

#[derive(Debug, Clone)]
struct Chunk {
    size: usize,
    upper: bool,
    zeros: usize,
    ext: String,
}

fn chunk_ext() -> impl Strategy<Value = String> {
    let ws = prop_oneof![Just(""), Just(" "), Just("\t"), Just(" \t ")];
    let value = prop_oneof![
        Just(None),
        "[a-z0-9!#$%&'*+.^_`|~-]{1,6}".prop_map(Some),
        "\"([ !#-\\[\\]-~]|\\\\[ -~]){0,6}\"".prop_map(Some),
    ];
    vec(
        (
            ws.clone(),
            ws.clone(),
            "[A-Za-z0-9-]{1,6}",
            ws.clone(),
            ws,
            value,
        ),
        0..3,
    )
    .prop_map(|exts| {
        exts.into_iter()
            .map(|(w1, w2, name, w3, w4, value)| match value {
                Some(v) => format!("{w1};{w2}{name}{w3}={w4}{v}"),
                None => format!("{w1};{w2}{name}"),
            })
            .collect()
    })
}

fn chunk() -> impl Strategy<Value = Chunk> {
    (1usize..300, any::<bool>(), 0usize..3, chunk_ext()).prop_map(|(size, upper, zeros, ext)| {
        Chunk {
            size,
            upper,
            zeros,
            ext,
        }
    })
}

fn trailer() -> impl Strategy<Value = String> {
    (
        "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,10}",
        "[ \t]{0,2}",
        "([!-~]([ \t!-~]{0,10}[!-~])?)?",
    )
        .prop_map(|(n, ws, v)| format!("{n}:{ws}{v}"))
}

/// A chunked body, and where its structural bytes (size lines, CRLFs) are.
fn chunked_body() -> impl Strategy<Value = Vec<u8>> {
    (
        vec(chunk(), 0..5),
        0usize..2,
        chunk_ext(),
        vec(trailer(), 0..3),
        any::<u8>(),
    )
        .prop_map(|(chunks, last_zeros, last_ext, trailers, fill)| {
            let mut body = Vec::new();
            for c in chunks {
                let size = if c.upper {
                    format!("{:X}", c.size)
                } else {
                    format!("{:x}", c.size)
                };
                body.extend_from_slice(
                    format!("{}{size}{}\r\n", "0".repeat(c.zeros), c.ext).as_bytes(),
                );
                body.extend(std::iter::repeat_n(fill, c.size));
                body.extend_from_slice(b"\r\n");
            }
            body.extend_from_slice(format!("{}0{last_ext}\r\n", "0".repeat(last_zeros)).as_bytes());
            for t in trailers {
                body.extend_from_slice(t.as_bytes());
                body.extend_from_slice(b"\r\n");
            }
            body.extend_from_slice(b"\r\n");
            body
        })
}

/// Feeds `data` in pieces cut at `cuts`: total bytes consumed and whether it ended, or
/// the error.
fn feed_split(data: &[u8], cuts: &[usize]) -> Result<(usize, bool), ChunkError> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
    cuts.push(0);
    cuts.push(data.len());
    cuts.sort_unstable();
    let mut d = ChunkedDecoder::new();
    let mut total = 0;
    for w in cuts.windows(2) {
        let piece = &data[w[0]..w[1]];
        let n = d.feed(piece)?;
        assert!(n <= piece.len());
        if d.is_done() {
            // Fed only up to the end: nothing more is taken.
            assert_eq!(d.feed(&data[w[0] + n..]), Ok(0));
            return Ok((total + n, true));
        }
        assert_eq!(
            n,
            piece.len(),
            "a body that has not ended takes all it is given"
        );
        total += n;
    }
    Ok((total, false))
}

/// A slow, line-by-line reading of RFC 9112 §7.1, written apart from the decoder: where
/// a complete, valid body ends, if it does.
fn reference_end(buf: &[u8]) -> Option<usize> {
    fn line(buf: &[u8], from: usize) -> Option<(&[u8], usize)> {
        let lf = from + buf.get(from..)?.iter().position(|&b| b == b'\n')?;
        let line = &buf[from..lf];
        let content = line.strip_suffix(b"\r")?;
        if content.contains(&b'\r') {
            return None;
        }
        Some((content, lf + 1))
    }
    fn tchar(b: u8) -> bool {
        b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
    }
    fn vchar_or_obs(b: u8) -> bool {
        (0x21..=0x7e).contains(&b) || b >= 0x80
    }
    fn ws(s: &[u8], mut i: usize) -> usize {
        while i < s.len() && (s[i] == b' ' || s[i] == b'\t') {
            i += 1;
        }
        i
    }
    fn token(s: &[u8], mut i: usize) -> Option<usize> {
        let start = i;
        while i < s.len() && tchar(s[i]) {
            i += 1;
        }
        (i > start).then_some(i)
    }
    fn quoted(s: &[u8], mut i: usize) -> Option<usize> {
        if s.get(i) != Some(&b'"') {
            return None;
        }
        i += 1;
        loop {
            match *s.get(i)? {
                b'"' => return Some(i + 1),
                b'\\' => {
                    let e = *s.get(i + 1)?;
                    if !(e == b'\t' || e == b' ' || vchar_or_obs(e)) {
                        return None;
                    }
                    i += 2;
                }
                b if b == b'\t' || b == b' ' || vchar_or_obs(b) => i += 1,
                _ => return None,
            }
        }
    }
    fn extensions(s: &[u8]) -> bool {
        let mut i = 0;
        while i < s.len() {
            i = ws(s, i);
            if s.get(i) != Some(&b';') {
                return false;
            }
            let Some(end) = token(s, ws(s, i + 1)) else {
                return false;
            };
            i = end;
            let eq = ws(s, i);
            if s.get(eq) == Some(&b'=') {
                let v = ws(s, eq + 1);
                let Some(end) = token(s, v).or_else(|| quoted(s, v)) else {
                    return false;
                };
                i = end;
            }
        }
        true
    }

    let mut pos = 0;
    loop {
        let (size_line, next) = line(buf, pos)?;
        if next - pos > 4096 {
            return None;
        }
        let digits = size_line
            .iter()
            .take_while(|b| b.is_ascii_hexdigit())
            .count();
        if digits == 0 || digits > 16 || !extensions(&size_line[digits..]) {
            return None;
        }
        let size = u64::from_str_radix(std::str::from_utf8(&size_line[..digits]).ok()?, 16).ok()?;
        pos = next;
        if size == 0 {
            break;
        }
        let end = pos.checked_add(usize::try_from(size).ok()?)?;
        if buf.get(end..end + 2)? != b"\r\n" {
            return None;
        }
        pos = end + 2;
    }
    let trailers_start = pos;
    loop {
        let (field, next) = line(buf, pos)?;
        if next - trailers_start > 16 * 1024 {
            return None;
        }
        pos = next;
        if field.is_empty() {
            return Some(pos);
        }
        let name = token(field, 0)?;
        if field.get(name) != Some(&b':')
            || !field[name + 1..]
                .iter()
                .all(|&b| b == b'\t' || b == b' ' || vchar_or_obs(b))
        {
            return None;
        }
    }
}

proptest! {
    #![proptest_config(config())]

    // 3. However a body is split, it ends exactly where it was encoded to.
    #[test]
    fn fuzz_chunked_splits(body in chunked_body(), next in vec(any::<u8>(), 0..20), cuts in vec(any::<usize>(), 0..8)) {
        let mut data = body.clone();
        data.extend_from_slice(&next);
        prop_assert_eq!(feed_split(&data, &cuts), Ok((body.len(), true)));
        prop_assert_eq!(feed_split(&data, &[]), Ok((body.len(), true)));
        prop_assert_eq!(reference_end(&data), Some(body.len()));
    }

    // 3. Arbitrary bytes never panic, split or whole, and agree with the reference.
    #[test]
    fn fuzz_chunked_arbitrary_bytes(data in vec(any::<u8>(), 0..300), cuts in vec(any::<usize>(), 0..4)) {
        let whole = feed_split(&data, &[]);
        prop_assert_eq!(feed_split(&data, &cuts), whole);
        if let Ok((n, true)) = whole {
            prop_assert_eq!(reference_end(&data), Some(n));
        }
    }

    // 3. A corrupted body either fails or ends where a correct reader says a valid body
    //    ends; never past it.
    #[test]
    fn fuzz_chunked_corruption(
        body in chunked_body(),
        next in vec(any::<u8>(), 0..8),
        mutations in vec(mutation(), 1..3),
        cuts in vec(any::<usize>(), 0..4),
    ) {
        let mut data = body;
        mutate(&mut data, &mutations);
        data.extend_from_slice(&next);
        let got = feed_split(&data, &cuts);
        let reference = reference_end(&data);
        match got {
            Ok((n, true)) => prop_assert_eq!(reference, Some(n)),
            _ => prop_assert_eq!(reference, None, "{:?}", got),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Responses.

#[derive(Debug, Clone)]
enum ResBody {
    Nothing,
    Length(u64, usize),
    Codings(&'static str),
    Both,
}

/// A generated response head, and whether it answers a HEAD request.
#[derive(Debug, Clone)]
struct Res {
    http10: bool,
    status: u16,
    body: ResBody,
    connection: Option<&'static str>,
    extras: Vec<(String, String)>,
    head: bool,
}

fn response() -> impl Strategy<Value = Res> {
    (
        any::<bool>(),
        prop_oneof![
            prop::sample::select(vec![
                100u16, 101, 103, 200, 201, 204, 206, 301, 304, 404, 500
            ]),
            100u16..600,
        ],
        prop_oneof![
            Just(ResBody::Nothing),
            (0u64..1_000_000, 1usize..3).prop_map(|(n, c)| ResBody::Length(n, c)),
            prop::sample::select(vec!["chunked", "gzip, chunked", "gzip", "chunked, gzip"])
                .prop_map(ResBody::Codings),
            Just(ResBody::Both),
        ],
        prop::sample::select(vec![
            None,
            Some("close"),
            Some("keep-alive"),
            Some("Upgrade"),
        ]),
        extras(),
        any::<bool>(),
    )
        .prop_map(|(http10, status, body, connection, extras, head)| Res {
            http10,
            status,
            body,
            connection,
            extras,
            head,
        })
}

proptest! {
    #![proptest_config(config())]

    // 4. parse_response never panics on arbitrary bytes.
    #[test]
    fn fuzz_response_arbitrary_bytes(buf in vec(any::<u8>(), 0..400), head in any::<bool>(), max in 0usize..500) {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        if let Ok(Some(h)) = parse_response(&buf, &mut headers, head, max) {
            prop_assert!(h.head_len <= buf.len().min(max));
        }
    }

    // 4. Mutants of valid responses never panic.
    #[test]
    fn fuzz_response_mutants(
        res in response(),
        mutations in vec(mutation(), 1..4),
        close in any::<bool>(),
    ) {
        let mut buf = encode_response(&res);
        let head = res.head;
        mutate(&mut buf, &mutations);
        let mut headers = [httparse::EMPTY_HEADER; 32];
        if let Ok(Some(h)) = parse_response(&buf, &mut headers, head, 64 * 1024) {
            let mut out = Vec::new();
            write_for_client(&h, close, &mut out);
            let mut again = [httparse::EMPTY_HEADER; 32];
            let h2 = parse_response(&out, &mut again, head, 64 * 1024);
            prop_assert!(matches!(h2, Ok(Some(ref h2)) if h2.framing == h.framing), "{:?}", h2);
        }
    }

    // 4. Framing as RFC 9112 §6.3 says, and what the client gets frames the same.
    #[test]
    fn fuzz_response_framing(
        res in response(),
        close in any::<bool>(),
    ) {
        let buf = encode_response(&res);
        let Res { http10, status, ref body, connection, head, .. } = res;
        let no_body = head || (100..200).contains(&status) || status == 204 || status == 304;
        let expected = match *body {
            _ if no_body => Some(Framing::None),
            ResBody::Nothing => Some(Framing::UntilClose),
            ResBody::Length(n, _) => Some(Framing::Length(n)),
            ResBody::Codings(_) | ResBody::Both if http10 => None,
            ResBody::Both => None,
            ResBody::Codings(c) if c.ends_with("chunked") => Some(Framing::Chunked),
            ResBody::Codings(_) => Some(Framing::UntilClose),
        };
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let got = parse_response(&buf, &mut headers, head, 64 * 1024);
        match expected {
            None => prop_assert!(got.is_err(), "{:?}", got),
            Some(framing) => {
                let Ok(Some(h)) = got else {
                    return Err(TestCaseError::fail(format!("{got:?}")));
                };
                prop_assert_eq!(h.framing, framing);
                prop_assert_eq!(h.status, status);
                let persistent = connection != Some("close") && (!http10 || connection == Some("keep-alive"));
                prop_assert_eq!(h.keep_alive, persistent && framing != Framing::UntilClose);

                let mut out = Vec::new();
                write_for_client(&h, close, &mut out);
                prop_assert_eq!(out == buf[..h.head_len], !needs_rewrite(&h, close));
                let mut again = [httparse::EMPTY_HEADER; 32];
                let Ok(Some(h2)) = parse_response(&out, &mut again, head, 64 * 1024) else {
                    return Err(TestCaseError::fail("rewritten head not accepted"));
                };
                prop_assert_eq!(h2.framing, h.framing);
                prop_assert_eq!(h2.status, h.status);
                if close {
                    prop_assert!(!h2.keep_alive);
                }
                prop_assert!(!h2.headers.iter().any(|f| f.name.eq_ignore_ascii_case("keep-alive")));
            }
        }
    }
}

fn encode_response(res: &Res) -> Vec<u8> {
    let Res {
        http10,
        status,
        ref body,
        connection,
        ref extras,
        ..
    } = *res;
    let version = if http10 { "1.0" } else { "1.1" };
    let mut s = format!("HTTP/{version} {status} Reason Phrase\r\n");
    match *body {
        ResBody::Nothing => {}
        ResBody::Length(n, copies) => {
            for _ in 0..copies {
                s.push_str(&format!("Content-Length: {n}\r\n"));
            }
        }
        ResBody::Codings(c) => s.push_str(&format!("Transfer-Encoding: {c}\r\n")),
        ResBody::Both => s.push_str("Transfer-Encoding: chunked\r\nContent-Length: 3\r\n"),
    }
    if let Some(c) = connection {
        s.push_str(&format!("Connection: {c}\r\nKeep-Alive: timeout=5\r\n"));
    }
    for (name, value) in extras {
        s.push_str(&format!("{name}: {value}\r\n"));
    }
    s.push_str("\r\n");
    s.into_bytes()
}
