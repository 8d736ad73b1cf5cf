//! A client's socket, shared by the task that serves the connection and the worker thread
//! that answers it: the worker writes its answer straight to the client
//! ([`super::answer`]), so a response needs no hop through a core thread. Both use only
//! `&self` operations that are safe from any thread; which of them writes at a given
//! moment is decided under the exchange's lock.

use std::io;
use std::net::Shutdown;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use bytes::BytesMut;
use tokio::io::Interest;
use tokio::net::{TcpStream, UnixStream};

pub trait ClientIo: Send + Sync + 'static {
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
    /// Reads what is there without waiting; `WouldBlock` when nothing is.
    fn try_read_buf(&self, buf: &mut BytesMut) -> io::Result<usize>;
    fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
    /// Writes what fits without waiting; `WouldBlock` when nothing does.
    fn try_write(&self, buf: &[u8]) -> io::Result<usize>;
    /// Ends the sending side: the client reads the end of the stream.
    fn shutdown(&self);
}

impl ClientIo for TcpStream {
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        TcpStream::poll_read_ready(self, cx)
    }
    fn try_read_buf(&self, buf: &mut BytesMut) -> io::Result<usize> {
        let spare = buf.capacity() - buf.len();
        let n = TcpStream::try_read_buf(self, buf)?;
        if n > 0 && n < spare {
            drained(|| self.try_io(Interest::READABLE, would_block));
        }
        Ok(n)
    }
    fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        TcpStream::poll_write_ready(self, cx)
    }
    fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        TcpStream::try_write(self, buf)
    }
    fn shutdown(&self) {
        let _ = socket2::SockRef::from(self).shutdown(Shutdown::Write);
    }
}

impl ClientIo for UnixStream {
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        UnixStream::poll_read_ready(self, cx)
    }
    fn try_read_buf(&self, buf: &mut BytesMut) -> io::Result<usize> {
        let spare = buf.capacity() - buf.len();
        let n = UnixStream::try_read_buf(self, buf)?;
        if n > 0 && n < spare {
            drained(|| self.try_io(Interest::READABLE, would_block));
        }
        Ok(n)
    }
    fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        UnixStream::poll_write_ready(self, cx)
    }
    fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        UnixStream::try_write(self, buf)
    }
    fn shutdown(&self) {
        let _ = socket2::SockRef::from(self).shutdown(Shutdown::Write);
    }
}

pub type Client = Arc<dyn ClientIo>;

/// A read that did not fill the buffer emptied the socket: its readiness is cleared now,
/// so the next wait registers for the next edge instead of making a read that can only
/// say "would block" (one wasted syscall per request, in profiles). Safe: the clear
/// applies only to the readiness that read saw; bytes that arrived since set it again.
fn drained(clear: impl FnOnce() -> io::Result<()>) {
    let _ = clear();
}

fn would_block() -> io::Result<()> {
    Err(io::ErrorKind::WouldBlock.into())
}

/// Reads into `buf` once something is there: Ok(0) at the end of the stream.
pub fn poll_read(
    io: &dyn ClientIo,
    cx: &mut Context<'_>,
    buf: &mut BytesMut,
) -> Poll<io::Result<usize>> {
    if buf.capacity() - buf.len() < 1024 {
        buf.reserve(8 * 1024);
    }
    loop {
        ready!(io.poll_read_ready(cx))?;
        match io.try_read_buf(buf) {
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => continue,
            other => return Poll::Ready(other),
        }
    }
}

/// Writes some of `buf` once the socket takes it.
pub fn poll_write(io: &dyn ClientIo, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
    loop {
        ready!(io.poll_write_ready(cx))?;
        match io.try_write(buf) {
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => continue,
            other => return Poll::Ready(other),
        }
    }
}

pub async fn read(io: &dyn ClientIo, buf: &mut BytesMut) -> io::Result<usize> {
    std::future::poll_fn(|cx| poll_read(io, cx, buf)).await
}

pub async fn write_all(io: &dyn ClientIo, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        let n = std::future::poll_fn(|cx| poll_write(io, cx, buf)).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        buf = &buf[n..];
    }
    Ok(())
}
