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

/// A client connection as the data path uses it, from the connection's task and (for
/// [`ClientIo::try_write`]) from a worker's thread.
pub trait ClientIo: Send + Sync + 'static {
    /// Reads into `buf` once something is there: Ok(0) at the end of the stream.
    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut BytesMut) -> Poll<io::Result<usize>>;
    /// Writes what fits without waiting, from any thread; `WouldBlock` when nothing does
    /// (or when only the connection's task may write: then it is woken to).
    fn try_write(&self, buf: &[u8]) -> io::Result<usize>;
    /// Writes some of `buf` once the connection takes it (the connection's task).
    fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>>;
    /// Sends on whatever the connection still holds of what was written (TLS records).
    fn poll_flush(&self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    /// Ends the sending side: the client reads the end of the stream.
    fn shutdown(&self);
}

/// A plain socket, read and written by readiness: what the kernel takes is sent.
pub trait Socket: Send + Sync + 'static {
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
    /// Reads what is there without waiting; `WouldBlock` when nothing is.
    fn try_read_buf(&self, buf: &mut BytesMut) -> io::Result<usize>;
    fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
    /// Writes what fits without waiting; `WouldBlock` when nothing does.
    fn try_write(&self, buf: &[u8]) -> io::Result<usize>;
    fn shutdown(&self);
}

impl<S: Socket> ClientIo for S {
    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut BytesMut) -> Poll<io::Result<usize>> {
        if buf.capacity() - buf.len() < 1024 {
            buf.reserve(8 * 1024);
        }
        loop {
            ready!(self.poll_read_ready(cx))?;
            match self.try_read_buf(buf) {
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => continue,
                other => return Poll::Ready(other),
            }
        }
    }
    fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        Socket::try_write(self, buf)
    }
    fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        loop {
            ready!(self.poll_write_ready(cx))?;
            match Socket::try_write(self, buf) {
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => continue,
                other => return Poll::Ready(other),
            }
        }
    }
    fn shutdown(&self) {
        Socket::shutdown(self)
    }
}

/// Tokio's TCP and Unix streams have the same readiness methods but no trait that holds
/// them, so one body serves both.
macro_rules! socket_for_stream {
    ($stream:ty) => {
        impl Socket for $stream {
            fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                <$stream>::poll_read_ready(self, cx)
            }
            fn try_read_buf(&self, buf: &mut BytesMut) -> io::Result<usize> {
                let spare = buf.capacity() - buf.len();
                let n = <$stream>::try_read_buf(self, buf)?;
                if n > 0 && n < spare {
                    drained(|| self.try_io(Interest::READABLE, would_block));
                }
                Ok(n)
            }
            fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                <$stream>::poll_write_ready(self, cx)
            }
            fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
                <$stream>::try_write(self, buf)
            }
            fn shutdown(&self) {
                let _ = socket2::SockRef::from(self).shutdown(Shutdown::Write);
            }
        }
    };
}

socket_for_stream!(TcpStream);
socket_for_stream!(UnixStream);

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
    io.poll_read(cx, buf)
}

/// Writes some of `buf` once the connection takes it.
pub fn poll_write(io: &dyn ClientIo, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
    io.poll_write(cx, buf)
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
    std::future::poll_fn(|cx| io.poll_flush(cx)).await
}
