//! Field values that decide framing and connection handling, read the same way for
//! requests and responses: list elements, Content-Length, Transfer-Encoding, Connection.

/// tchar (RFC 9110 §5.6.2).
pub(super) fn is_tchar(b: u8) -> bool {
    matches!(b,
        b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9'
        | b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+'
        | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~')
}

pub(super) fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

pub(super) fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// The elements of a `#rule` list, OWS-trimmed. Empty elements are skipped, as RFC 9110
/// §5.6.1 asks of recipients.
pub(super) fn list(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(trim_ows)
        .filter(|e| !e.is_empty())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum LengthError {
    Invalid,
    Conflict,
}

/// Folds one Content-Length field value into what the earlier ones said. Every element
/// must be 1*DIGIT, and all of them the same number: a recipient may accept repeats of
/// one value (RFC 9110 §8.6), but anything else means two parsers could disagree.
pub(super) fn merge_content_length(
    seen: &mut Option<u64>,
    value: &[u8],
) -> Result<(), LengthError> {
    // Empty elements are not skipped here: "5," is not a length.
    for element in value.split(|&b| b == b',').map(trim_ows) {
        let n = parse_decimal(element).ok_or(LengthError::Invalid)?;
        match *seen {
            Some(m) if m != n => return Err(LengthError::Conflict),
            _ => *seen = Some(n),
        }
    }
    Ok(())
}

fn parse_decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &b| {
        if b.is_ascii_digit() {
            n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

/// True when a Content-Length value is one plain number, so the line can pass unchanged.
pub(super) fn is_plain_length(value: &[u8]) -> bool {
    !value.is_empty() && value.iter().all(u8::is_ascii_digit)
}

/// The transfer codings of every Transfer-Encoding field, in order.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Codings {
    pub present: bool,
    pub chunked_count: u32,
    pub last_is_chunked: bool,
    pub invalid: bool,
}

impl Codings {
    pub fn add(&mut self, value: &[u8]) {
        self.present = true;
        for element in list(value) {
            let (name, params) = match element.iter().position(|&b| b == b';') {
                Some(i) => (trim_ows(&element[..i]), true),
                None => (element, false),
            };
            if !is_token(name) {
                self.invalid = true;
            }
            let chunked = name.eq_ignore_ascii_case(b"chunked");
            if chunked {
                // chunked takes no parameters (RFC 9112 §7.1).
                self.invalid |= params;
                self.chunked_count += 1;
            }
            self.last_is_chunked = chunked;
        }
    }

    /// Valid and chunked exactly once, last: the only form a request may use (RFC 9112
    /// §6.3 item 4), and the only one whose end a worker and we find the same way.
    pub fn is_final_chunked(&self) -> bool {
        !self.invalid && self.chunked_count == 1 && self.last_is_chunked
    }
}

/// The connection options of every Connection field.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct ConnectionOptions {
    pub close: bool,
    pub keep_alive: bool,
    pub upgrade: bool,
    /// An option other than the three above, naming a header to drop when forwarding.
    pub names_fields: bool,
}

impl ConnectionOptions {
    /// close, keep-alive and upgrade say something about the connection; any other option
    /// names a field.
    pub fn is_special(option: &[u8]) -> bool {
        ["close", "keep-alive", "upgrade"]
            .iter()
            .any(|s| option.eq_ignore_ascii_case(s.as_bytes()))
    }

    pub fn add(&mut self, value: &[u8]) {
        for option in list(value) {
            if option.eq_ignore_ascii_case(b"close") {
                self.close = true;
            } else if option.eq_ignore_ascii_case(b"keep-alive") {
                self.keep_alive = true;
            } else if option.eq_ignore_ascii_case(b"upgrade") {
                self.upgrade = true;
            } else {
                self.names_fields = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_skip_empty_elements_and_trim() {
        let got: Vec<&[u8]> = list(b" a ,, b\t,c,").collect();
        assert_eq!(got, [&b"a"[..], b"b", b"c"]);
    }

    #[test]
    fn content_length_elements() {
        let mut seen = None;
        assert_eq!(merge_content_length(&mut seen, b"5, 5"), Ok(()));
        assert_eq!(seen, Some(5));
        assert_eq!(merge_content_length(&mut seen, b"005"), Ok(()));
        assert_eq!(
            merge_content_length(&mut seen, b"6"),
            Err(LengthError::Conflict)
        );
        for bad in [
            &b""[..],
            b"5,",
            b"+5",
            b"-1",
            b"0x5",
            b"5 5",
            b"18446744073709551616",
        ] {
            assert_eq!(
                merge_content_length(&mut None, bad),
                Err(LengthError::Invalid),
                "{bad:?}"
            );
        }
        let mut max = None;
        assert_eq!(
            merge_content_length(&mut max, b"18446744073709551615"),
            Ok(())
        );
        assert_eq!(max, Some(u64::MAX));
    }

    #[test]
    fn codings() {
        let of = |values: &[&[u8]]| {
            let mut c = Codings::default();
            values.iter().for_each(|v| c.add(v));
            c.is_final_chunked()
        };
        assert!(of(&[b"chunked"]));
        assert!(of(&[b"gzip, CHUNKED"]));
        assert!(of(&[b"gzip", b"chunked"]));
        assert!(of(&[b"gzip;level=1 , , chunked"]));
        assert!(!of(&[b""]));
        assert!(!of(&[b"chunked, gzip"]));
        assert!(!of(&[b"chunked", b"chunked"]));
        assert!(!of(&[b"chunked;x=1"]));
        assert!(!of(&[b"\"chunked\""]));
        assert!(!of(&[b"g zip, chunked"]));
    }
}
