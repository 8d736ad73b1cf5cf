//! One timer per client connection for all of its deadlines (head, keep-alive, the
//! response head, idle bodies). Re-arming a tokio timer on every request would cost a
//! timer-wheel update per request; this one is moved only when it must fire earlier than
//! it is set for. When it fires before the deadline the caller asks about (it was set for
//! an earlier phase), it is re-armed then — so under steady traffic it fires about once
//! per timeout period, whatever the request rate.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::{Instant, Sleep};

/// The deadlines of a connection, as a listener sets them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// From the moment the server waits for a request head until it is complete; also the
    /// longest an idle connection is kept (`server.headersTimeout`).
    pub head: Duration,
    /// How long a connection may sit idle between requests (`server.keepAliveTimeout`).
    pub keep_alive: Duration,
    /// How long a body may make no progress, in either direction: a client that stops
    /// sending its request body or stops reading its answer, an app that stops writing
    /// its answer's body (`server.bodyTimeout`).
    pub body: Duration,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            head: Duration::from_secs(10),
            keep_alive: Duration::from_secs(5),
            body: Duration::from_secs(60),
        }
    }
}

impl Timeouts {
    /// How long to wait for the first byte of a request: a keep-alive connection that
    /// served one already gets `keep_alive`, a new one `head` (never more than `head`).
    pub fn idle(&self, served: bool) -> Duration {
        if served {
            self.keep_alive.min(self.head)
        } else {
            self.head
        }
    }
}

pub struct Watchdog {
    sleep: Pin<Box<Sleep>>,
}

impl Watchdog {
    pub fn new(deadline: Instant) -> Watchdog {
        Watchdog {
            sleep: Box::pin(tokio::time::sleep_until(deadline)),
        }
    }

    /// Ready once `deadline` has passed; otherwise registers the task to be woken no
    /// later than `deadline`.
    pub fn poll_until(&mut self, cx: &mut Context<'_>, deadline: Instant) -> Poll<()> {
        if self.sleep.deadline() > deadline {
            self.sleep.as_mut().reset(deadline);
        }
        loop {
            match self.sleep.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(()) if Instant::now() >= deadline => return Poll::Ready(()),
                // Fired for an earlier deadline than the one asked about now.
                Poll::Ready(()) => self.sleep.as_mut().reset(deadline),
            }
        }
    }

    /// Resolves once `deadline` has passed.
    pub async fn until(&mut self, deadline: Instant) {
        std::future::poll_fn(|cx| self.poll_until(cx, deadline)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn fires_at_the_deadline_asked_about_not_the_one_it_was_set_for() {
        let start = Instant::now();
        let mut dog = Watchdog::new(start + Duration::from_secs(1));
        // Asked about a later deadline: the early firing is not taken for it.
        dog.until(start + Duration::from_secs(5)).await;
        assert_eq!(start.elapsed(), Duration::from_secs(5));
        // Asked about an earlier one than it is set for: it moves.
        let now = Instant::now();
        dog.until(now + Duration::from_millis(10)).await;
        assert_eq!(now.elapsed(), Duration::from_millis(10));
    }

    #[tokio::test(start_paused = true)]
    async fn a_deadline_already_past_is_ready_at_once() {
        let start = Instant::now();
        let mut dog = Watchdog::new(start + Duration::from_secs(60));
        tokio::time::advance(Duration::from_secs(2)).await;
        dog.until(start + Duration::from_secs(1)).await;
        assert_eq!(start.elapsed(), Duration::from_secs(2));
    }

    #[test]
    fn an_idle_keep_alive_never_outlasts_the_head_timeout() {
        let t = Timeouts {
            head: Duration::from_secs(3),
            keep_alive: Duration::from_secs(5),
            body: Duration::from_secs(1),
        };
        assert_eq!(t.idle(true), Duration::from_secs(3));
        assert_eq!(t.idle(false), Duration::from_secs(3));
        let d = Timeouts::default();
        assert_eq!(d.idle(true), Duration::from_secs(5));
        assert_eq!(d.idle(false), Duration::from_secs(10));
    }
}
