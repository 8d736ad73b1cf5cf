//! A worker's life as one value: whether it is routed, counted toward the app's workers,
//! kept as a standby or on its way out are all read from the same [`Lifecycle`], so they
//! cannot disagree. The published [`WorkerState`] is a projection of it.

use tokio::time::Instant;

use crate::WorkerState;

/// Where one worker is in its life. An exited worker leaves the table, so there is no
/// ended state here: [`Lifecycle::end`] says how it ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Lifecycle {
    /// Loading its app. A `standby` one waits unrouted once loaded, unless it is
    /// promoted first.
    Starting { standby: bool },
    /// Loaded and listening, sent no requests: it takes an empty place without a cold start.
    Standby,
    /// Routed: gets requests.
    Serving,
    /// Its thread is ending without having been asked to: out of routing already, the
    /// rest (logs, restart) waits for its exit. `was` decides how that exit is told.
    Exiting { was: Was },
    /// Out of routing because the supervisor wants it gone.
    Retiring(Retire),
}

/// What a worker leaving unasked was doing when it began to leave.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Was {
    Starting { standby: bool },
    Standby,
    Serving,
}

/// Why a worker is on its way out, and how far along.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Retire {
    /// Unhealthy: out of routing, waiting until a successor is Ready.
    AwaitSuccessor { stalled: bool, since: Instant },
    /// Out of routing; its in-flight requests finish until `deadline`.
    Draining { deadline: Instant },
    /// Asked to stop, or terminated; waiting for its exit.
    Stopping,
}

/// How a worker's thread ended, as its exit is logged and answered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum End {
    /// It had been asked to stop.
    Stopped,
    /// It left unasked. `starting`: before it was ever Ready, which counts toward
    /// `maxFailedStarts`; `standby`: it held no place, so no standby is promoted for it.
    Crashed { starting: bool, standby: bool },
}

impl Lifecycle {
    /// What status, metrics and the CLI show. A worker exiting unasked still shows what it
    /// was doing until its exit is seen.
    pub(super) fn state(self) -> WorkerState {
        match self {
            Lifecycle::Starting { .. }
            | Lifecycle::Exiting {
                was: Was::Starting { .. },
            } => WorkerState::Starting,
            Lifecycle::Standby | Lifecycle::Exiting { was: Was::Standby } => WorkerState::Standby,
            Lifecycle::Serving | Lifecycle::Exiting { was: Was::Serving } => WorkerState::Ready,
            Lifecycle::Retiring(_) => WorkerState::Draining,
        }
    }

    /// Counts toward the app's configured number of workers.
    pub(super) fn is_serving_or_starting(self) -> bool {
        matches!(
            self,
            Lifecycle::Starting { standby: false } | Lifecycle::Serving
        )
    }

    /// Counts toward the app's `standbyWorkers`.
    pub(super) fn is_standby(self) -> bool {
        matches!(
            self,
            Lifecycle::Starting { standby: true } | Lifecycle::Standby
        )
    }

    pub(super) fn is_retiring(self) -> bool {
        matches!(self, Lifecycle::Retiring(_))
    }

    /// Its app has loaded. Returns whether it was a standby (it then waits unrouted), or
    /// None when it was not loading. A worker already exiting may still report Ready (the
    /// two messages can cross): it stays out of routing.
    pub(super) fn loaded(&mut self) -> Option<bool> {
        let (next, standby) = match *self {
            Lifecycle::Starting { standby: true } => (Lifecycle::Standby, true),
            Lifecycle::Starting { standby: false } => (Lifecycle::Serving, false),
            Lifecycle::Exiting {
                was: Was::Starting { standby },
            } => {
                let was = if standby { Was::Standby } else { Was::Serving };
                (Lifecycle::Exiting { was }, standby)
            }
            _ => return None,
        };
        *self = next;
        Some(standby)
    }

    /// A standby takes a serving place. Returns whether it serves now (it was loaded),
    /// or None when it was no standby.
    pub(super) fn promote(&mut self) -> Option<bool> {
        let (next, serving) = match *self {
            Lifecycle::Standby => (Lifecycle::Serving, true),
            Lifecycle::Starting { standby: true } => {
                (Lifecycle::Starting { standby: false }, false)
            }
            _ => return None,
        };
        *self = next;
        Some(serving)
    }

    /// Its thread began to end unasked. False when it was already on its way out.
    pub(super) fn exit_unasked(&mut self) -> bool {
        let was = match *self {
            Lifecycle::Starting { standby } => Was::Starting { standby },
            Lifecycle::Standby => Was::Standby,
            Lifecycle::Serving => Was::Serving,
            Lifecycle::Exiting { .. } | Lifecycle::Retiring(_) => return false,
        };
        *self = Lifecycle::Exiting { was };
        true
    }

    pub(super) fn retire(&mut self, why: Retire) {
        *self = Lifecycle::Retiring(why);
    }

    /// How its exit is to be read: asked for, or a crash.
    pub(super) fn end(self) -> End {
        match self {
            Lifecycle::Retiring(_) => End::Stopped,
            _ => End::Crashed {
                starting: self.state() == WorkerState::Starting,
                standby: matches!(
                    self,
                    Lifecycle::Starting { standby: true }
                        | Lifecycle::Standby
                        | Lifecycle::Exiting {
                            was: Was::Starting { standby: true } | Was::Standby
                        }
                ),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STOPPING: Lifecycle = Lifecycle::Retiring(Retire::Stopping);

    #[test]
    fn each_life_has_one_state_and_one_count() {
        let cases = [
            // (life, state, counted, standby)
            (
                Lifecycle::Starting { standby: false },
                WorkerState::Starting,
                true,
                false,
            ),
            (
                Lifecycle::Starting { standby: true },
                WorkerState::Starting,
                false,
                true,
            ),
            (Lifecycle::Standby, WorkerState::Standby, false, true),
            (Lifecycle::Serving, WorkerState::Ready, true, false),
            (
                Lifecycle::Exiting { was: Was::Serving },
                WorkerState::Ready,
                false,
                false,
            ),
            (
                Lifecycle::Exiting { was: Was::Standby },
                WorkerState::Standby,
                false,
                false,
            ),
            (STOPPING, WorkerState::Draining, false, false),
        ];
        for (life, state, counted, standby) in cases {
            assert_eq!(life.state(), state, "{life:?}");
            assert_eq!(life.is_serving_or_starting(), counted, "{life:?}");
            assert_eq!(life.is_standby(), standby, "{life:?}");
        }
    }

    #[test]
    fn loading_and_promotion_move_only_the_lives_they_apply_to() {
        type Step = fn(&mut Lifecycle) -> Option<bool>;
        let (loaded, promote): (Step, Step) = (Lifecycle::loaded, Lifecycle::promote);
        let exiting = |was| Lifecycle::Exiting { was };
        #[rustfmt::skip]
        let cases = [
            // (step, before, returns, after)
            (loaded, Lifecycle::Starting { standby: false }, Some(false), Lifecycle::Serving),
            (loaded, Lifecycle::Starting { standby: true }, Some(true), Lifecycle::Standby),
            // The exit and the ready message crossed: loaded, but still unrouted.
            (loaded, exiting(Was::Starting { standby: false }), Some(false), exiting(Was::Serving)),
            (loaded, Lifecycle::Serving, None, Lifecycle::Serving),
            (loaded, STOPPING, None, STOPPING),
            (promote, Lifecycle::Standby, Some(true), Lifecycle::Serving),
            (promote, Lifecycle::Starting { standby: true }, Some(false), Lifecycle::Starting { standby: false }),
            (promote, Lifecycle::Serving, None, Lifecycle::Serving),
            (promote, exiting(Was::Standby), None, exiting(Was::Standby)),
        ];
        for (step, before, returns, after) in cases {
            let mut life = before;
            assert_eq!(step(&mut life), returns, "{before:?}");
            assert_eq!(life, after, "{before:?}");
        }
    }

    #[test]
    fn an_exit_is_a_crash_unless_it_was_asked_for() {
        let cases = [
            (
                Lifecycle::Starting { standby: false },
                End::Crashed {
                    starting: true,
                    standby: false,
                },
            ),
            (
                Lifecycle::Serving,
                End::Crashed {
                    starting: false,
                    standby: false,
                },
            ),
            (
                Lifecycle::Standby,
                End::Crashed {
                    starting: false,
                    standby: true,
                },
            ),
            (
                Lifecycle::Exiting {
                    was: Was::Starting { standby: true },
                },
                End::Crashed {
                    starting: true,
                    standby: true,
                },
            ),
            (STOPPING, End::Stopped),
        ];
        for (life, end) in cases {
            assert_eq!(life.end(), end, "{life:?}");
        }
        let mut leaving = Lifecycle::Serving;
        assert!(leaving.exit_unasked());
        assert!(!leaving.exit_unasked(), "once is enough");
        let mut retired = STOPPING;
        assert!(!retired.exit_unasked(), "asked to stop: not unasked");
    }
}
