//! ChunkedDecoder: valid bodies and each way one can be wrong.

use super::*;

/// Feeds `data` whole: bytes consumed, or the error.
fn run(data: &[u8]) -> Result<(usize, bool), ChunkError> {
    let mut d = ChunkedDecoder::new();
    let n = d.feed(data)?;
    Ok((n, d.is_done()))
}

fn byte_by_byte(data: &[u8]) -> Result<(usize, bool), ChunkError> {
    let mut d = ChunkedDecoder::new();
    let mut total = 0;
    for b in data.chunks(1) {
        total += d.feed(b)?;
    }
    Ok((total, d.is_done()))
}

fn error(data: &[u8]) -> &'static str {
    match run(data) {
        Err(ChunkError(what)) => what,
        Ok(ok) => panic!("{:?} accepted: {ok:?}", String::from_utf8_lossy(data)),
    }
}

fn complete(body: &[u8]) {
    let mut with_next = body.to_vec();
    with_next.extend_from_slice(b"GET / HTTP/1.1\r\n");
    assert_eq!(
        run(&with_next),
        Ok((body.len(), true)),
        "{:?}",
        String::from_utf8_lossy(body)
    );
    assert_eq!(byte_by_byte(&with_next), Ok((body.len(), true)));
}

#[test]
fn valid_bodies_end_where_they_end() {
    complete(b"0\r\n\r\n");
    complete(b"000\r\n\r\n");
    complete(b"5\r\nhello\r\n0\r\n\r\n");
    complete(b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
    complete(b"A\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n");
    // Data may hold anything, CRLF included.
    complete(b"4\r\n\r\n\r\n\r\n0\r\n\r\n");
}

#[test]
fn extensions() {
    complete(b"5;a\r\nhello\r\n0\r\n\r\n");
    complete(b"5;a=b\r\nhello\r\n0;last\r\n\r\n");
    complete(b"5 ; a = b ;c;d=\"q \\\"x\\\" \t\xff\"\r\nhello\r\n0\r\n\r\n");
    complete(b"5\t;\ta\t=\t\"\"\r\nhello\r\n0\r\n\r\n");
    let mut long = b"1;".to_vec();
    long.resize(4094, b'x');
    long.extend_from_slice(b"\r\nz\r\n0\r\n\r\n");
    complete(&long);
}

#[test]
fn trailers() {
    complete(b"0\r\nX-Checksum: abc\r\n\r\n");
    complete(b"3\r\nabc\r\n0\r\nA: 1\r\nb:\r\nC:  spaced \t\r\n\r\n");
    complete(b"0\r\nX: \x80\xff\r\n\r\n");
}

#[test]
fn after_the_end_feed_takes_nothing() {
    let mut d = ChunkedDecoder::new();
    assert_eq!(d.feed(b"0\r\n\r\nextra"), Ok(5));
    assert!(d.is_done());
    assert_eq!(d.feed(b"more"), Ok(0));
    assert_eq!(d.feed(b""), Ok(0));
}

#[test]
fn not_done_until_the_last_crlf() {
    let body = b"3\r\nabc\r\n0\r\nT: 1\r\n\r\n";
    let mut d = ChunkedDecoder::new();
    assert_eq!(d.feed(&body[..body.len() - 1]), Ok(body.len() - 1));
    assert!(!d.is_done());
    assert_eq!(d.feed(b"\nX"), Ok(1));
    assert!(d.is_done());
}

#[test]
fn data_is_skipped_in_bulk() {
    let mut d = ChunkedDecoder::new();
    assert_eq!(d.feed(b"ffffffffffffffff\r\n"), Ok(18));
    let mib = vec![0u8; 1 << 20];
    for _ in 0..64 {
        assert_eq!(d.feed(&mib), Ok(mib.len()));
    }
    assert!(!d.is_done());
}

#[test]
fn sizes() {
    assert_eq!(error(b"\r\n"), "invalid chunk size");
    assert_eq!(error(b";a\r\n"), "invalid chunk size");
    assert_eq!(error(b" 5\r\n"), "invalid chunk size");
    assert_eq!(error(b"+5\r\n"), "invalid chunk size");
    assert_eq!(error(b"0x5\r\n"), "invalid chunk size");
    assert_eq!(error(b"5g\r\n"), "invalid chunk size");
    assert_eq!(error(b"00000000000000000\r\n"), "chunk size too large");
    assert_eq!(run(b"FFFFFFFFFFFFFFFF\r\n"), Ok((18, false)));
}

#[test]
fn line_ends_are_crlf() {
    assert_eq!(error(b"5\nhello\r\n0\r\n\r\n"), "invalid chunk size");
    assert_eq!(error(b"5\rhello\r\n0\r\n\r\n"), "CR not followed by LF");
    assert_eq!(
        error(b"5\r\nhello\n0\r\n\r\n"),
        "chunk data not followed by CRLF"
    );
    assert_eq!(error(b"5\r\nhello\r0\r\n\r\n"), "CR not followed by LF");
    assert_eq!(
        error(b"5\r\nhelloX\r\n0\r\n\r\n"),
        "chunk data not followed by CRLF"
    );
    assert_eq!(
        error(b"5\r\nhell\r\n0\r\n\r\n"),
        "chunk data not followed by CRLF"
    );
    assert_eq!(error(b"0\r\n\n"), "invalid trailer field name");
    assert_eq!(error(b"0\r\n\rX"), "CR not followed by LF");
    assert_eq!(error(b"0\r\nA: 1\n\r\n"), "invalid trailer field value");
    assert_eq!(error(b"0\r\nA: 1\rX"), "CR not followed by LF");
}

#[test]
fn extensions_follow_the_grammar() {
    for bad in [
        &b"5;\r\n"[..],
        b"5; \r\n",
        b"5;=b\r\n",
        b"5;a=\r\n",
        b"5;a b\r\n",
        b"5;a=b c\r\n",
        b"5;a=\"b\r\n",
        b"5;a=\"b\"c\r\n",
        b"5;a=\"\x01\"\r\n",
        b"5;a=\"\x7f\"\r\n",
        b"5;a\x01\r\n",
        b"5;a=b\x00\r\n",
        b"5;a=\"\\\x01\"\r\n",
        b"5;a=(\r\n",
    ] {
        assert!(run(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
    }
    // BWS is allowed before `;` and around `=`, never before the CR.
    assert_eq!(error(b"5 \r\n"), "invalid chunk extension");
    assert_eq!(error(b"5;a \r\n"), "invalid chunk extension");
    assert_eq!(error(b"5;a=b\t\r\n"), "invalid chunk extension");
}

#[test]
fn a_size_line_is_at_most_4_kib() {
    let mut line = b"1;".to_vec();
    line.resize(4095, b'x');
    line.extend_from_slice(b"\r\n");
    assert_eq!(error(&line), "chunk size line too long");
    let mut zeros = vec![b'0'; 4];
    zeros.push(b';');
    zeros.resize(5000, b'a');
    assert_eq!(error(&zeros), "chunk size line too long");
}

#[test]
fn trailer_fields_follow_the_grammar() {
    assert_eq!(
        error(b"0\r\nA: 1\r\n folded\r\n\r\n"),
        "obs-fold in trailer section"
    );
    assert_eq!(error(b"0\r\n\tA: 1\r\n\r\n"), "obs-fold in trailer section");
    assert_eq!(error(b"0\r\nA : 1\r\n\r\n"), "invalid trailer field name");
    assert_eq!(error(b"0\r\nA\r\n\r\n"), "invalid trailer field name");
    assert_eq!(error(b"0\r\n: 1\r\n\r\n"), "invalid trailer field name");
    assert_eq!(
        error(b"0\r\nA: \x00\r\n\r\n"),
        "invalid trailer field value"
    );
    assert_eq!(
        error(b"0\r\nA: \x7f\r\n\r\n"),
        "invalid trailer field value"
    );
}

#[test]
fn the_trailer_section_is_at_most_16_kib() {
    let mut ok = b"0\r\nA: ".to_vec();
    ok.resize(3 + 16 * 1024 - 4, b'x');
    ok.extend_from_slice(b"\r\n\r\n");
    complete(&ok);
    let mut big = b"0\r\nA: ".to_vec();
    big.resize(3 + 16 * 1024 - 3, b'x');
    big.extend_from_slice(b"\r\n\r\n");
    assert_eq!(error(&big), "trailer section too large");
}

#[test]
fn errors_stick() {
    let mut d = ChunkedDecoder::new();
    assert!(d.feed(b"z").is_err());
    assert_eq!(d.feed(b"0\r\n\r\n"), Err(ChunkError("invalid chunk size")));
    assert_eq!(d.feed(b""), Err(ChunkError("invalid chunk size")));
    assert!(!d.is_done());
}

#[test]
fn feed_with_hands_on_the_data_without_its_framing() {
    let body = b"5;ext=1\r\nhello\r\n1\r\n \r\n6\r\nworld!\r\n0\r\nx-t: 1\r\n\r\nNEXT";
    for split in [1, 2, 3, 7, body.len()] {
        let mut d = ChunkedDecoder::new();
        let mut data = Vec::new();
        let mut used = 0;
        for piece in body.chunks(split) {
            used += d.feed_with(piece, |b| data.extend_from_slice(b)).unwrap();
            if d.is_done() {
                break;
            }
        }
        assert!(d.is_done());
        assert_eq!(used, body.len() - 4, "split {split}");
        assert_eq!(data, b"hello world!", "split {split}");
    }
}
