//! Request-target forms (RFC 9112 §3.2) and authorities (RFC 3986 §3.2).

/// The forms a request to an origin server may use; CONNECT's authority-form is refused
/// before we get here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Form<'b> {
    Origin,
    /// `rest` is the path and query after the authority, possibly empty.
    Absolute {
        authority: &'b str,
        rest: &'b str,
    },
    Asterisk,
}

/// The form of a target as `httparse` gave it (no SP or CTLs). None: no form we accept.
pub(super) fn form(target: &str) -> Option<Form<'_>> {
    match target.as_bytes().first() {
        Some(b'/') => Some(Form::Origin),
        _ if target == "*" => Some(Form::Asterisk),
        _ => {
            let (authority, rest) = split_absolute(target)?;
            is_authority(authority.as_bytes()).then_some(Form::Absolute { authority, rest })
        }
    }
}

fn split_absolute(target: &str) -> Option<(&str, &str)> {
    let after_scheme = ["http://", "https://"].iter().find_map(|scheme| {
        let head = target.as_bytes().get(..scheme.len())?;
        // The scheme is ASCII, so a match ends on a char boundary.
        head.eq_ignore_ascii_case(scheme.as_bytes())
            .then(|| &target[scheme.len()..])
    })?;
    let end = after_scheme.find(['/', '?']).unwrap_or(after_scheme.len());
    Some(after_scheme.split_at(end))
}

/// The path without the query. Only for targets [`form`] accepted.
pub(super) fn path(target: &str) -> &str {
    let path_and_query = match form(target) {
        Some(Form::Asterisk) => return "*",
        Some(Form::Absolute { rest, .. }) => rest,
        _ => target,
    };
    match path_and_query.split('?').next() {
        Some(p) if !p.is_empty() => p,
        _ => "/",
    }
}

/// Appends the target in origin form (asterisk-form stays as is), without `strip`, a
/// route prefix the caller matched on whole path segments.
pub(super) fn write_origin(target: &str, strip: Option<&str>, out: &mut Vec<u8>) {
    let path_and_query = match form(target) {
        Some(Form::Absolute { rest, .. }) => rest,
        _ => target,
    };
    if !path_and_query.starts_with(['/', '*']) {
        // An absolute-form target with an empty path: "http://a?q" is "/?q".
        out.push(b'/');
        out.extend_from_slice(path_and_query.as_bytes());
        return;
    }
    let rest = strip
        .map(|p| p.trim_end_matches('/'))
        .filter(|p| !p.is_empty())
        .and_then(|p| path_and_query.strip_prefix(p))
        .filter(|rest| rest.is_empty() || rest.starts_with(['/', '?']));
    match rest {
        Some(rest) => {
            if !rest.starts_with('/') {
                out.push(b'/');
            }
            out.extend_from_slice(rest.as_bytes());
        }
        None => out.extend_from_slice(path_and_query.as_bytes()),
    }
}

/// `host [":" port]` with no userinfo (RFC 9110 §4.2.4 treats it as an error), as in a
/// Host field or an absolute-form target. The host must not be empty.
pub(super) fn is_authority(a: &[u8]) -> bool {
    let (host, port) = if a.first() == Some(&b'[') {
        let Some(close) = a.iter().position(|&b| b == b']') else {
            return false;
        };
        let literal = &a[1..close];
        if literal.is_empty()
            || !literal
                .iter()
                .all(|&b| is_unreserved_or_sub_delim(b) || b == b':')
        {
            return false;
        }
        (&a[..=close], &a[close + 1..])
    } else {
        let end = a.iter().position(|&b| b == b':').unwrap_or(a.len());
        let host = &a[..end];
        if host.is_empty() || !is_reg_name(host) {
            return false;
        }
        (host, &a[end..])
    };
    debug_assert!(!host.is_empty());
    match port {
        [] => true,
        [b':', digits @ ..] => digits.iter().all(u8::is_ascii_digit),
        _ => false,
    }
}

fn is_reg_name(host: &[u8]) -> bool {
    let mut i = 0;
    while i < host.len() {
        match host[i] {
            b'%' => {
                let hex = host.get(i + 1..i + 3);
                if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                    return false;
                }
                i += 3;
            }
            b if is_unreserved_or_sub_delim(b) => i += 1,
            _ => return false,
        }
    }
    true
}

fn is_unreserved_or_sub_delim(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.'
                | b'_'
                | b'~'
                | b'!'
                | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert_eq!(form("/a?b"), Some(Form::Origin));
        assert_eq!(form("*"), Some(Form::Asterisk));
        assert_eq!(
            form("HTTPS://Ex.com:8443/p?q"),
            Some(Form::Absolute {
                authority: "Ex.com:8443",
                rest: "/p?q"
            })
        );
        assert_eq!(
            form("http://a?q"),
            Some(Form::Absolute {
                authority: "a",
                rest: "?q"
            })
        );
        for bad in [
            "http://",
            "http:///x",
            "ftp://a/",
            "a/b",
            "**",
            "http://u@a/",
            "http://a:x/",
        ] {
            assert_eq!(form(bad), None, "{bad}");
        }
    }

    #[test]
    fn authorities() {
        for good in [
            &b"a"[..],
            b"a.b:80",
            b"a:",
            b"[::1]",
            b"[::1]:8080",
            b"x%41y",
            b"a_b-c~",
        ] {
            assert!(is_authority(good), "{good:?}");
        }
        for bad in [
            &b""[..],
            b":80",
            b"[]",
            b"[::1",
            b"[::1]x",
            b"a b",
            b"a/b",
            b"a%4",
            b"a:1:2",
            b"u@h",
        ] {
            assert!(!is_authority(bad), "{bad:?}");
        }
    }

    #[test]
    fn paths() {
        assert_eq!(path("/a/b?c"), "/a/b");
        assert_eq!(path("*"), "*");
        assert_eq!(path("http://h"), "/");
        assert_eq!(path("http://h?q"), "/");
        assert_eq!(path("http://h/x?q"), "/x");
    }

    fn origin(target: &str, strip: Option<&str>) -> String {
        let mut out = Vec::new();
        write_origin(target, strip, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn origin_targets() {
        assert_eq!(origin("/x?q", None), "/x?q");
        assert_eq!(origin("http://h", None), "/");
        assert_eq!(origin("http://h?q", None), "/?q");
        assert_eq!(origin("http://h/x?q", Some("/x")), "/?q");
        assert_eq!(origin("/api", Some("/api")), "/");
        assert_eq!(origin("/api/", Some("/api")), "/");
        assert_eq!(origin("/api/x?q", Some("/api")), "/x?q");
        assert_eq!(origin("/api?q", Some("/api/")), "/?q");
        assert_eq!(origin("/apix", Some("/api")), "/apix");
        assert_eq!(origin("/x", Some("/")), "/x");
        assert_eq!(origin("*", Some("/api")), "*");
    }
}
