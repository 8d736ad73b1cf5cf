//! The header names this module acts on, recognised once per header line.

/// A header name we act on, or `Other`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Name {
    Host,
    ContentLength,
    TransferEncoding,
    Connection,
    Upgrade,
    Expect,
    KeepAlive,
    ProxyConnection,
    Te,
    XForwardedFor,
    XForwardedProto,
    XForwardedHost,
    XForwardedPrefix,
    Forwarded,
    TraceParent,
    TraceState,
    Other,
}

impl Name {
    /// Field names are case-insensitive (RFC 9110 §5.1). Most lines are none of ours, and
    /// their length alone says so.
    pub fn of(name: &str) -> Name {
        let is = |lower: &str| name.eq_ignore_ascii_case(lower);
        match name.len() {
            2 if is("te") => Name::Te,
            4 if is("host") => Name::Host,
            6 if is("expect") => Name::Expect,
            7 if is("upgrade") => Name::Upgrade,
            10 if is("connection") => Name::Connection,
            9 if is("forwarded") => Name::Forwarded,
            10 if is("keep-alive") => Name::KeepAlive,
            10 if is("tracestate") => Name::TraceState,
            11 if is("traceparent") => Name::TraceParent,
            14 if is("content-length") => Name::ContentLength,
            15 if is("x-forwarded-for") => Name::XForwardedFor,
            16 if is("proxy-connection") => Name::ProxyConnection,
            16 if is("x-forwarded-host") => Name::XForwardedHost,
            17 if is("transfer-encoding") => Name::TransferEncoding,
            17 if is("x-forwarded-proto") => Name::XForwardedProto,
            18 if is("x-forwarded-prefix") => Name::XForwardedPrefix,
            _ => Name::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_any_case() {
        assert_eq!(Name::of("Content-Length"), Name::ContentLength);
        assert_eq!(Name::of("TRANSFER-ENCODING"), Name::TransferEncoding);
        assert_eq!(Name::of("tE"), Name::Te);
        assert_eq!(Name::of("X-Forwarded-Prefix"), Name::XForwardedPrefix);
        assert_eq!(Name::of("Forwarded"), Name::Forwarded);
        assert_eq!(Name::of("Content-Lengths"), Name::Other);
        assert_eq!(Name::of("Content_Length"), Name::Other);
        assert_eq!(Name::of(""), Name::Other);
    }
}
