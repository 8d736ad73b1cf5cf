//! Writing header lines of our own into a head, without `format!`.

use std::io::Write;
use std::net::IpAddr;

/// Appends `name: value` CRLF. `name` is one of ours, lowercase.
pub(super) fn field(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    push_value(out, value);
    out.extend_from_slice(b"\r\n");
}

/// Appends a field value that did not come out of a parsed head (configuration, say),
/// without the control bytes that could end the line early: a value can never add lines.
pub(super) fn push_value(out: &mut Vec<u8>, value: &[u8]) {
    let is_safe = |b: &u8| *b == b'\t' || !(b.is_ascii_control());
    if value.iter().all(is_safe) {
        out.extend_from_slice(value);
    } else {
        out.extend(value.iter().filter(|b| is_safe(b)));
    }
}

pub(super) fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// Appends the address as `IpAddr` displays it; an IPv4 client of a dual-stack listener
/// (`::ffff:a.b.c.d`) shows as the IPv4 address it is.
pub(super) fn push_ip(out: &mut Vec<u8>, ip: IpAddr) {
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                push_decimal(out, u64::from(octet));
            }
        }
        // RFC 5952's zero compression is not worth writing twice; Display does not
        // allocate, and writing to a Vec cannot fail.
        IpAddr::V6(v6) => {
            let _ = write!(out, "{v6}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals() {
        for n in [0, 7, 10, 99, 100, 12345, u64::MAX] {
            let mut out = Vec::new();
            push_decimal(&mut out, n);
            assert_eq!(out, n.to_string().as_bytes());
        }
    }

    #[test]
    fn ips() {
        for (ip, shown) in [
            ("1.2.3.4", "1.2.3.4"),
            ("255.0.10.100", "255.0.10.100"),
            ("::1", "::1"),
            ("::ffff:10.0.0.1", "10.0.0.1"),
            ("2001:db8::8:1", "2001:db8::8:1"),
        ] {
            let mut out = Vec::new();
            push_ip(&mut out, ip.parse().unwrap());
            assert_eq!(out, shown.as_bytes());
        }
    }

    #[test]
    fn values_cannot_add_lines() {
        let mut out = Vec::new();
        field(&mut out, b"x-a", b"v\r\nx-b: 1\0\t.");
        assert_eq!(out, b"x-a: vx-b: 1\t.\r\n");
    }
}
