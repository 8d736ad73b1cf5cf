//! Reassembles lines from output chunks split at arbitrary points.
//!
//! Node flushes stdout/stderr in whatever pieces its streams produce: a line may arrive
//! across several chunks and one chunk may hold many lines. The partial tail is held here
//! until its newline arrives.

/// Longest line passed on whole. Longer ones are cut into pieces of at most this many
/// bytes, so one runaway write (a dumped buffer with no newline) cannot grow the buffer
/// or a single log line without bound.
pub(crate) const MAX_LINE_BYTES: usize = 64 * 1024;

/// The unterminated tail of one stream.
#[derive(Debug, Default)]
pub(crate) struct LineBuffer {
    partial: String,
}

impl LineBuffer {
    /// Appends `chunk` and moves every line it completes into `lines`, without the
    /// newline or a trailing `\r`.
    pub(crate) fn push(&mut self, chunk: &str, lines: &mut Vec<String>) {
        let mut rest = chunk;
        while let Some(end) = rest.find('\n') {
            let piece = &rest[..end];
            rest = &rest[end + 1..];
            let line = if self.partial.is_empty() {
                piece.to_owned()
            } else {
                self.partial.push_str(piece);
                std::mem::take(&mut self.partial)
            };
            emit(line, lines);
        }
        self.partial.push_str(rest);
        // Cut an overlong partial line now rather than waiting for a newline that may
        // never come.
        while self.partial.len() > MAX_LINE_BYTES {
            let cut = floor_char_boundary(&self.partial, MAX_LINE_BYTES);
            let tail = self.partial.split_off(cut);
            lines.push(std::mem::replace(&mut self.partial, tail));
        }
    }

    /// Takes the unterminated tail, if any (the stream ended without a final newline).
    pub(crate) fn finish(&mut self) -> Option<String> {
        if self.partial.is_empty() {
            return None;
        }
        let mut line = std::mem::take(&mut self.partial);
        trim_cr(&mut line);
        Some(line)
    }
}

/// Pushes a completed line, cut into `MAX_LINE_BYTES` pieces if needed.
fn emit(mut line: String, lines: &mut Vec<String>) {
    trim_cr(&mut line);
    while line.len() > MAX_LINE_BYTES {
        let cut = floor_char_boundary(&line, MAX_LINE_BYTES);
        let tail = line.split_off(cut);
        lines.push(std::mem::replace(&mut line, tail));
    }
    lines.push(line);
}

/// Windows-style `\r\n` endings should not leave a `\r` in the message.
fn trim_cr(line: &mut String) {
    if line.ends_with('\r') {
        line.pop();
    }
}

/// The largest char boundary at or below `index` (`str::floor_char_boundary` is not
/// stable on our minimum Rust).
fn floor_char_boundary(s: &str, index: usize) -> usize {
    let mut i = index.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push_all(chunks: &[&str]) -> (Vec<String>, LineBuffer) {
        let mut buffer = LineBuffer::default();
        let mut lines = Vec::new();
        for chunk in chunks {
            buffer.push(chunk, &mut lines);
        }
        (lines, buffer)
    }

    #[test]
    fn a_line_split_across_three_chunks_is_joined() {
        let (lines, mut buffer) = push_all(&["hel", "lo wo", "rld\n"]);
        assert_eq!(lines, ["hello world"]);
        assert_eq!(buffer.finish(), None);
    }

    #[test]
    fn one_chunk_can_hold_several_lines_and_a_partial_one() {
        let (lines, mut buffer) = push_all(&["a\nb\n\nc"]);
        assert_eq!(lines, ["a", "b", ""]);
        assert_eq!(buffer.finish().as_deref(), Some("c"));
    }

    #[test]
    fn every_split_point_gives_the_same_lines() {
        let text = "first line\r\nsecond ✓ line\nthird\n";
        for i in 0..=text.len() {
            for j in i..=text.len() {
                if !(text.is_char_boundary(i) && text.is_char_boundary(j)) {
                    continue;
                }
                let (lines, _) = push_all(&[&text[..i], &text[i..j], &text[j..]]);
                assert_eq!(
                    lines,
                    ["first line", "second ✓ line", "third"],
                    "split {i}/{j}"
                );
            }
        }
    }

    #[test]
    fn carriage_return_is_trimmed_even_when_split_from_its_newline() {
        let (lines, _) = push_all(&["crlf\r", "\n"]);
        assert_eq!(lines, ["crlf"]);
    }

    #[test]
    fn finish_takes_the_partial_line_once() {
        let (lines, mut buffer) = push_all(&["done\nno newline\r"]);
        assert_eq!(lines, ["done"]);
        assert_eq!(buffer.finish().as_deref(), Some("no newline"));
        assert_eq!(buffer.finish(), None);
    }

    #[test]
    fn overlong_lines_are_cut_at_char_boundaries() {
        // 'é' is two bytes, so the cut cannot fall exactly on MAX_LINE_BYTES + 1.
        let long = format!("x{}", "é".repeat(MAX_LINE_BYTES));
        let (lines, _) = push_all(&[&long, "\n"]);
        assert!(lines.iter().all(|l| l.len() <= MAX_LINE_BYTES));
        assert_eq!(lines.concat(), long);
        assert_eq!(lines.len(), 3);
    }

    #[test]
    fn an_unterminated_flood_is_cut_without_waiting_for_a_newline() {
        let (lines, mut buffer) = push_all(&[&"y".repeat(MAX_LINE_BYTES * 2 + 5)]);
        assert_eq!(lines.len(), 2);
        assert!(lines.iter().all(|l| l.len() == MAX_LINE_BYTES));
        assert_eq!(buffer.finish().map(|l| l.len()), Some(5));
    }
}
