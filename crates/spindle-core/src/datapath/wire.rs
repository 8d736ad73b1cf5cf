//! The records the core writes into a worker's inbox. `js/vconn.js` reads them; the two
//! must agree on every number here.
//!
//! A record is `id: u32 LE | kind: u8 | len: u32 LE | payload[len]`, where `id` names a
//! virtual connection of that worker.

use std::io::Write;
use std::net::SocketAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// A new virtual connection, and its client (as a peer record's payload): the
    /// worker hands a new socket to the app's server. Sent with its first request.
    Open = 1,
    /// Bytes from the client, in order.
    Data = 2,
    /// The client now behind this connection: `port: u16 LE | ip as text`. Sent before a
    /// request whose client differs from the previous one's.
    Peer = 3,
    /// The client sent its last byte (a tunnel's half-close).
    End = 4,
    /// The core gave up the connection (the client left, or a protocol error): destroy it.
    Close = 5,
    /// The core sent what the worker wrote; it may write again.
    Drained = 6,
}

impl Kind {
    fn from_u8(b: u8) -> Option<Kind> {
        Some(match b {
            1 => Kind::Open,
            2 => Kind::Data,
            3 => Kind::Peer,
            4 => Kind::End,
            5 => Kind::Close,
            6 => Kind::Drained,
            _ => return None,
        })
    }
}

pub const HEADER_LEN: usize = 9;

/// Appends one record whose payload `fill` writes.
pub fn write_record(out: &mut Vec<u8>, id: u32, kind: Kind, fill: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend_from_slice(&id.to_le_bytes());
    out.push(kind as u8);
    out.extend_from_slice(&[0; 4]);
    fill(out);
    let len = (out.len() - start - HEADER_LEN) as u32;
    out[start + 5..start + HEADER_LEN].copy_from_slice(&len.to_le_bytes());
}

/// A peer record's payload.
pub fn peer(addr: SocketAddr, out: &mut Vec<u8>) {
    out.extend_from_slice(&addr.port().to_le_bytes());
    let _ = write!(out, "{}", addr.ip());
}

/// Removes every record of connection `id` from `buf` (well-formed records, as
/// [`write_record`] writes them). Returns whether one of them opened the connection: then
/// the worker has never heard of it.
pub fn strip(buf: &mut Vec<u8>, id: u32) -> bool {
    let mut opened = false;
    let mut read = 0;
    let mut kept = 0;
    while read + HEADER_LEN <= buf.len() {
        let len = u32::from_le_bytes(buf[read + 5..read + 9].try_into().expect("4 bytes")) as usize;
        let end = (read + HEADER_LEN + len).min(buf.len());
        if u32::from_le_bytes(buf[read..read + 4].try_into().expect("4 bytes")) == id {
            opened |= buf[read + 4] == Kind::Open as u8;
        } else {
            buf.copy_within(read..end, kept);
            kept += end - read;
        }
        read = end;
    }
    buf.truncate(kept);
    opened
}

/// Decodes an inbox (tests, and the reference for the JS reader).
pub fn read_records(mut buf: &[u8]) -> Result<Vec<(u32, Kind, Vec<u8>)>, String> {
    let mut records = Vec::new();
    while !buf.is_empty() {
        if buf.len() < HEADER_LEN {
            return Err(format!("{} stray bytes", buf.len()));
        }
        let id = u32::from_le_bytes(buf[0..4].try_into().expect("4 bytes"));
        let kind = Kind::from_u8(buf[4]).ok_or_else(|| format!("kind {}", buf[4]))?;
        let len = u32::from_le_bytes(buf[5..9].try_into().expect("4 bytes")) as usize;
        let payload = buf
            .get(HEADER_LEN..HEADER_LEN + len)
            .ok_or_else(|| format!("record of {len} bytes cut short"))?;
        records.push((id, kind, payload.to_vec()));
        buf = &buf[HEADER_LEN + len..];
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let mut buf = Vec::new();
        write_record(&mut buf, 7, Kind::Open, |_| {});
        write_record(&mut buf, 7, Kind::Peer, |o| {
            peer("[::1]:4000".parse().unwrap(), o)
        });
        write_record(&mut buf, u32::MAX, Kind::Data, |o| {
            o.extend_from_slice(b"GET /")
        });
        let got = read_records(&buf).unwrap();
        assert_eq!(got[0], (7, Kind::Open, vec![]));
        let mut want = 4000u16.to_le_bytes().to_vec();
        want.extend_from_slice(b"::1");
        assert_eq!(got[1], (7, Kind::Peer, want));
        assert_eq!(got[2], (u32::MAX, Kind::Data, b"GET /".to_vec()));
    }

    #[test]
    fn strip_removes_one_connections_records() {
        let mut buf = Vec::new();
        write_record(&mut buf, 1, Kind::Data, |o| o.extend_from_slice(b"one"));
        write_record(&mut buf, 2, Kind::Open, |_| {});
        write_record(&mut buf, 2, Kind::Data, |o| o.extend_from_slice(b"two"));
        write_record(&mut buf, 3, Kind::Data, |o| o.extend_from_slice(b"three"));
        assert!(strip(&mut buf, 2), "2 was opened by the stripped records");
        let got = read_records(&buf).unwrap();
        assert_eq!(
            got,
            vec![
                (1, Kind::Data, b"one".to_vec()),
                (3, Kind::Data, b"three".to_vec())
            ]
        );
        assert!(!strip(&mut buf, 3), "3 was opened earlier");
        assert_eq!(read_records(&buf).unwrap().len(), 1);
        assert!(!strip(&mut buf, 9));
        assert_eq!(read_records(&buf).unwrap().len(), 1);
    }

    #[test]
    fn a_cut_record_is_an_error() {
        let mut buf = Vec::new();
        write_record(&mut buf, 1, Kind::Data, |o| o.extend_from_slice(b"abc"));
        assert!(read_records(&buf[..buf.len() - 1]).is_err());
    }
}
