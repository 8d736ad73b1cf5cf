//! What the parser tests share.

/// A head: its start line, these header lines, and the blank line that ends it.
pub(super) fn head(start_line: &str, lines: &[&str]) -> Vec<u8> {
    let mut s = format!("{start_line}\r\n");
    for l in lines {
        s.push_str(l);
        s.push_str("\r\n");
    }
    s.push_str("\r\n");
    s.into_bytes()
}
