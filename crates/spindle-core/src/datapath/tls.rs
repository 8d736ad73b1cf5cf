//! A client connection over TLS, as the data path uses it (the handshake is done before,
//! by [`crate::tls`]).
//!
//! Over plain TCP a worker's thread writes its answer straight to the client socket. Over
//! TLS the bytes must first be sealed into records, and the TLS state has one owner: so
//! [`ClientIo::try_write`] always says `WouldBlock`, which makes the answer leave the
//! writing to the connection's task (it is woken for it), and only that task reads,
//! seals and sends. The mutex exists because the trait's methods take `&self`; it is
//! never contended.
//!
//! Records are sent as soon as the socket takes them; what it does not take yet stays
//! with rustls and goes out first on the next write, or on [`ClientIo::poll_flush`], which
//! the answer and the core's own replies wait for before they count as sent.

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::sync::{Mutex, MutexGuard};
use std::task::{ready, Context, Poll};

use bytes::BytesMut;
use rustls::ServerConnection;
use tokio::net::TcpStream;

use super::client::ClientIo;

/// Plaintext taken per write: four full records, so one slow client holds at most about
/// this much sealed and unsent.
const MAX_PLAIN_PER_WRITE: usize = 64 * 1024;
/// Plaintext read into the connection's buffer at once (one record's worth).
const MAX_PLAIN_PER_READ: usize = 16 * 1024;

pub struct TlsClient {
    tcp: TcpStream,
    tls: Mutex<ServerConnection>,
}

impl TlsClient {
    /// A connection whose handshake is done; `tls` may already hold the client's first
    /// request (sent along with the end of the handshake).
    pub fn new(tcp: TcpStream, tls: ServerConnection) -> TlsClient {
        TlsClient {
            tcp,
            tls: Mutex::new(tls),
        }
    }

    fn lock(&self) -> MutexGuard<'_, ServerConnection> {
        self.tls.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The socket as rustls reads and writes it: without waiting.
struct Tcp<'a>(&'a TcpStream);

impl Read for Tcp<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.try_read(buf)
    }
}

impl Write for Tcp<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.try_write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Sends every record rustls holds: Ready(Ok) once the socket took them all.
fn poll_send(
    tcp: &TcpStream,
    tls: &mut ServerConnection,
    cx: &mut Context<'_>,
) -> Poll<io::Result<()>> {
    while tls.wants_write() {
        match tls.write_tls(&mut Tcp(tcp)) {
            Ok(0) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
            Ok(_) => {}
            // The failed try cleared the socket's readiness: this registers for the next.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => ready!(tcp.poll_write_ready(cx))?,
            Err(e) => return Poll::Ready(Err(e)),
        }
    }
    Poll::Ready(Ok(()))
}

/// Moves decrypted bytes into `buf`: Ok(0) after the client's close_notify,
/// `WouldBlock` when none are decrypted yet.
fn read_plain(tls: &mut ServerConnection, buf: &mut BytesMut) -> io::Result<usize> {
    let start = buf.len();
    if buf.capacity() - start < 1024 {
        buf.reserve(8 * 1024);
    }
    let room = (buf.capacity() - start).min(MAX_PLAIN_PER_READ);
    buf.resize(start + room, 0);
    let read = tls.reader().read(&mut buf[start..]);
    buf.truncate(start + *read.as_ref().unwrap_or(&0));
    read
}

impl ClientIo for TlsClient {
    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut BytesMut) -> Poll<io::Result<usize>> {
        let mut tls = self.lock();
        let mut ended = false;
        loop {
            match read_plain(&mut tls, buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // Ok(0) is the client's close_notify; UnexpectedEof a close without it.
                other => return Poll::Ready(other),
            }
            if ended {
                return Poll::Ready(Ok(0));
            }
            ready!(self.tcp.poll_read_ready(cx))?;
            match tls.read_tls(&mut Tcp(&self.tcp)) {
                Ok(0) => ended = true,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
            if let Err(e) = tls.process_new_packets() {
                // The alert rustls queued for the client goes if the socket takes it now.
                let _ = tls.write_tls(&mut Tcp(&self.tcp));
                return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, e)));
            }
            if tls.wants_write() {
                // An answer rustls owes (to a key update): now if it fits, else it goes
                // ahead of the next write.
                let _ = tls.write_tls(&mut Tcp(&self.tcp));
            }
        }
    }

    fn try_write(&self, _: &[u8]) -> io::Result<usize> {
        // Only the connection's task writes (see the module docs).
        Err(io::ErrorKind::WouldBlock.into())
    }

    fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let mut tls = self.lock();
        // What is sealed goes first: that bounds what a slow client makes us hold.
        ready!(poll_send(&self.tcp, &mut tls, cx))?;
        let n = tls
            .writer()
            .write(&buf[..buf.len().min(MAX_PLAIN_PER_WRITE)])?;
        if let Poll::Ready(Err(e)) = poll_send(&self.tcp, &mut tls, cx) {
            return Poll::Ready(Err(e));
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut tls = self.lock();
        poll_send(&self.tcp, &mut tls, cx)
    }

    fn shutdown(&self) {
        let mut tls = self.lock();
        tls.send_close_notify();
        // Best effort: a client that does not read gets the TCP close without it.
        while tls.wants_write() {
            match tls.write_tls(&mut Tcp(&self.tcp)) {
                Ok(n) if n > 0 => {}
                _ => break,
            }
        }
        let _ = socket2::SockRef::from(&self.tcp).shutdown(Shutdown::Write);
    }
}
