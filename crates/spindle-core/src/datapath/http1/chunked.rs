//! Following a chunked body (RFC 9112 §7.1) as it streams through unchanged.
//!
//! We never decode the body, only find where it ends, so the next message on the
//! connection starts where a worker (or client) will look for it. Anything a strict
//! reader could take two ways is an error: sizes, line ends, extensions and trailers are
//! checked to the grammar, and chunk data is skipped in bulk.

use std::fmt;

use super::fields::is_tchar;

/// A chunked body that is not one, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkError(pub &'static str);

impl fmt::Display for ChunkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for ChunkError {}

/// A size line, extensions included, may be this long (CRLF included): enough for any
/// real extension, and it bounds the bytes we read that are not data.
const MAX_SIZE_LINE: u32 = 4 * 1024;
/// The trailer section, final CRLF included.
const MAX_TRAILERS: u32 = 16 * 1024;
/// A u64 holds 16 hex digits; leading zeros beyond that are refused rather than counted.
const MAX_SIZE_DIGITS: u8 = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// In the chunk-size's hex digits.
    Size,
    /// After the size, an extension name or value: BWS, `;`, `=` (after a name only), or
    /// the CR, which may not follow whitespace.
    ExtGap {
        after_name: bool,
        space: bool,
    },
    /// After `;`: BWS, then an extension name.
    ExtNameStart,
    ExtName,
    /// After `=`: BWS, then a token or a quoted string.
    ExtValueStart,
    ExtToken,
    ExtQuoted,
    ExtEscape,
    /// The size line's LF.
    SizeLf,
    /// `size` data bytes left.
    Data,
    DataCr,
    DataLf,
    /// At the start of a trailer line, or of the CRLF that ends the body.
    TrailerStart,
    TrailerName,
    TrailerValue,
    TrailerLf,
    EndLf,
    Done,
    Failed(ChunkError),
}

/// Follows a chunked body (RFC 9112 §7.1) as its bytes pass through unchanged, to find
/// where it ends; validates it strictly.
#[derive(Debug, Clone)]
pub struct ChunkedDecoder {
    state: State,
    /// The size being read, then the data bytes left of the chunk.
    size: u64,
    digits: u8,
    /// Bytes of the current size line, or of the trailer section.
    count: u32,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl ChunkedDecoder {
    pub fn new() -> Self {
        ChunkedDecoder {
            state: State::Size,
            size: 0,
            digits: 0,
            count: 0,
        }
    }

    /// Feeds the next bytes; returns how many of them belong to the body (all of `data`
    /// unless the body ended inside it; the rest is the next message's). After the end,
    /// feed returns Ok(0); after an error, the same error.
    pub fn feed(&mut self, data: &[u8]) -> Result<usize, ChunkError> {
        self.feed_with(data, |_| {})
    }

    /// [`ChunkedDecoder::feed`], handing each run of chunk data (without its framing) to
    /// `data_out`: for a receiver that needs the body itself (an HTTP/2 client).
    pub fn feed_with(
        &mut self,
        data: &[u8],
        mut data_out: impl FnMut(&[u8]),
    ) -> Result<usize, ChunkError> {
        match self.state {
            State::Done => return Ok(0),
            State::Failed(e) => return Err(e),
            _ => {}
        }
        let mut i = 0;
        while i < data.len() {
            if self.state == State::Data {
                // usize always fits in u64 here, and the result is at most data's length.
                let n = self.size.min((data.len() - i) as u64);
                data_out(&data[i..i + n as usize]);
                i += n as usize;
                self.size -= n;
                if self.size == 0 {
                    self.state = State::DataCr;
                }
                continue;
            }
            let b = data[i];
            i += 1;
            match self.step(b) {
                Ok(State::Done) => {
                    self.state = State::Done;
                    return Ok(i);
                }
                Ok(next) => self.state = next,
                Err(e) => {
                    self.state = State::Failed(e);
                    return Err(e);
                }
            }
        }
        Ok(i)
    }

    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// The state after one more byte that is not chunk data.
    fn step(&mut self, b: u8) -> Result<State, ChunkError> {
        use State::*;
        match self.state {
            Size
            | ExtGap { .. }
            | ExtNameStart
            | ExtName
            | ExtValueStart
            | ExtToken
            | ExtQuoted
            | ExtEscape
            | SizeLf => {
                self.count += 1;
                if self.count > MAX_SIZE_LINE {
                    return Err(ChunkError("chunk size line too long"));
                }
            }
            TrailerStart | TrailerName | TrailerValue | TrailerLf | EndLf => {
                self.count += 1;
                if self.count > MAX_TRAILERS {
                    return Err(ChunkError("trailer section too large"));
                }
            }
            Data | DataCr | DataLf | Done | Failed(_) => {}
        }
        let is_space = b == b' ' || b == b'\t';
        Ok(match self.state {
            Size => match hex_value(b) {
                Some(v) if self.digits < MAX_SIZE_DIGITS => {
                    self.size = self.size << 4 | u64::from(v);
                    self.digits += 1;
                    Size
                }
                Some(_) => return Err(ChunkError("chunk size too large")),
                None if self.digits == 0 => return Err(ChunkError("invalid chunk size")),
                None => self.gap(false, false, b)?,
            },
            ExtGap { after_name, space } => self.gap(after_name, space, b)?,
            ExtNameStart if is_space => ExtNameStart,
            ExtNameStart if is_tchar(b) => ExtName,
            ExtName if is_tchar(b) => ExtName,
            ExtName => self.gap(true, false, b)?,
            ExtValueStart if is_space => ExtValueStart,
            ExtValueStart if b == b'"' => ExtQuoted,
            ExtValueStart if is_tchar(b) => ExtToken,
            ExtToken if is_tchar(b) => ExtToken,
            ExtToken => self.gap(false, false, b)?,
            ExtQuoted if b == b'"' => ExtGap {
                after_name: false,
                space: false,
            },
            ExtQuoted if b == b'\\' => ExtEscape,
            ExtQuoted if is_qdtext(b) => ExtQuoted,
            ExtEscape if b == b'\t' || b == b' ' || is_vchar_or_obs(b) => ExtQuoted,
            ExtNameStart | ExtValueStart | ExtQuoted | ExtEscape => {
                return Err(ChunkError("invalid chunk extension"))
            }
            SizeLf if b == b'\n' && self.size == 0 => {
                self.count = 0;
                TrailerStart
            }
            SizeLf if b == b'\n' => Data,
            DataCr if b == b'\r' => DataLf,
            DataCr => return Err(ChunkError("chunk data not followed by CRLF")),
            DataLf if b == b'\n' => {
                self.size = 0;
                self.digits = 0;
                self.count = 0;
                Size
            }
            TrailerStart if b == b'\r' => EndLf,
            TrailerStart if is_tchar(b) => TrailerName,
            TrailerStart if is_space => return Err(ChunkError("obs-fold in trailer section")),
            TrailerName if is_tchar(b) => TrailerName,
            TrailerName if b == b':' => TrailerValue,
            TrailerStart | TrailerName => return Err(ChunkError("invalid trailer field name")),
            TrailerValue if b == b'\r' => TrailerLf,
            TrailerValue if is_space || is_vchar_or_obs(b) => TrailerValue,
            TrailerValue => return Err(ChunkError("invalid trailer field value")),
            TrailerLf if b == b'\n' => TrailerStart,
            EndLf if b == b'\n' => Done,
            SizeLf | DataLf | TrailerLf | EndLf => return Err(ChunkError("CR not followed by LF")),
            // feed handles these itself and never steps in them; an error beats a panic.
            Data | Done | Failed(_) => return Err(ChunkError("decoder stepped out of turn")),
        })
    }

    /// Between the parts of a size line: `chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS
    /// value ] )`, so whitespace may come before `;` or `=` but not before the CR.
    fn gap(&self, after_name: bool, space: bool, b: u8) -> Result<State, ChunkError> {
        match b {
            b' ' | b'\t' => Ok(State::ExtGap {
                after_name,
                space: true,
            }),
            b';' => Ok(State::ExtNameStart),
            b'=' if after_name => Ok(State::ExtValueStart),
            b'\r' if !space => Ok(State::SizeLf),
            _ if self.state == State::Size => Err(ChunkError("invalid chunk size")),
            _ => Err(ChunkError("invalid chunk extension")),
        }
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn is_vchar_or_obs(b: u8) -> bool {
    (0x21..=0x7e).contains(&b) || b >= 0x80
}

/// qdtext (RFC 9110 §5.6.4): any of these but `"` and `\`.
fn is_qdtext(b: u8) -> bool {
    b == b'\t' || b == b' ' || (is_vchar_or_obs(b) && b != b'"' && b != b'\\')
}
