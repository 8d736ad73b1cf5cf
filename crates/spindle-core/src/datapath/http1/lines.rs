//! The raw lines of a head that `httparse` has accepted.

use httparse::Header;

use super::emit;

/// True when some LF in `head` is not preceded by CR. `httparse` takes a lone LF as a line
/// end, but RFC 9112 §2.2 lets a recipient do that only where nobody downstream could read
/// the line differently; a worker might not, so we refuse it.
pub(super) fn has_bare_lf(head: &[u8]) -> bool {
    let Some((&first, _)) = head.split_first() else {
        return false;
    };
    // Non-short-circuiting on purpose: this runs over every head, and a branch-free fold
    // vectorises where `any` would not.
    let pairs = head[1..].iter().zip(head).fold(false, |bad, (&b, &prev)| {
        bad | ((b == b'\n') & (prev != b'\r'))
    });
    pairs | (first == b'\n')
}

/// Appends header `i`'s line (name through CRLF) as it came. Header names are subslices
/// of the head and lines follow each other with nothing in between (no obs-fold, no
/// skipped lines), so a line runs from its name to the next name, and the last one to the
/// head's final CRLF.
pub(super) fn push_header_line(out: &mut Vec<u8>, head: &[u8], headers: &[Header], i: usize) {
    let start = offset(head, headers[i].name);
    let end = match headers.get(i + 1) {
        Some(next) => offset(head, next.name),
        None => head.len().checked_sub(2),
    };
    match start.zip(end).and_then(|(start, end)| head.get(start..end)) {
        Some(line) => out.extend_from_slice(line),
        // Headers the caller swapped for others after parsing: write them out afresh.
        None => emit::field(out, headers[i].name.as_bytes(), headers[i].value),
    }
}

/// The start line, CRLF included: a response head's first line.
pub(super) fn first_line(head: &[u8]) -> &[u8] {
    match head.iter().position(|&b| b == b'\n') {
        Some(lf) => &head[..=lf],
        None => head,
    }
}

fn offset(head: &[u8], name: &str) -> Option<usize> {
    let at = name.as_ptr().addr().checked_sub(head.as_ptr().addr())?;
    (at < head.len()).then_some(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_lf() {
        assert!(!has_bare_lf(b""));
        assert!(!has_bare_lf(b"a\r\nb\r\n\r\n"));
        assert!(has_bare_lf(b"\n"));
        assert!(has_bare_lf(b"a\r\nb\n\r\n"));
        assert!(has_bare_lf(b"a\r\n\n"));
    }

    #[test]
    fn lines_of_a_head() {
        let head = b"GET / HTTP/1.1\r\nA: 1 \r\nB:2\r\n\r\n";
        let mut headers = [httparse::EMPTY_HEADER; 4];
        let mut req = httparse::Request::new(&mut headers);
        assert!(req.parse(head).unwrap().is_complete());
        let headers = req.headers;
        assert_eq!(first_line(head), b"GET / HTTP/1.1\r\n");
        let line = |i| {
            let mut out = Vec::new();
            push_header_line(&mut out, head, headers, i);
            out
        };
        assert_eq!(line(0), b"A: 1 \r\n");
        assert_eq!(line(1), b"B:2\r\n");
    }

    #[test]
    fn headers_from_elsewhere_are_written_afresh() {
        let foreign = [httparse::Header {
            name: "X-A",
            value: b"1\r\nY: 2",
        }];
        let mut out = Vec::new();
        push_header_line(&mut out, b"HTTP/1.1 200 OK\r\n\r\n", &foreign, 0);
        assert_eq!(out, b"X-A: 1Y: 2\r\n");
    }
}
