//! What the scaler asks for, and why: a sentence for logs and a label for metrics.

use std::fmt;

/// A change to one app's worker count.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Set `app` to `to` workers; it has `from`.
    Scale {
        app: String,
        from: u32,
        to: u32,
        reason: Reason,
    },
}

impl Decision {
    /// The app this decision changes.
    pub fn app(&self) -> &str {
        match self {
            Decision::Scale { app, .. } => app,
        }
    }

    /// Whether this decision adds workers.
    pub fn is_up(&self) -> bool {
        match self {
            Decision::Scale { from, to, .. } => to > from,
        }
    }
}

/// Why an app's worker count changes.
#[derive(Debug, Clone, PartialEq)]
pub enum Reason {
    /// The app's mean ELU `elu` reached `threshold` (`scale_up_elu`): one more worker.
    Busy { elu: f64, threshold: f64 },
    /// The app's mean ELU `elu` fell to `threshold` (`scale_down_elu`): one fewer worker.
    Idle { elu: f64, threshold: f64 },
    /// The budget was full and one of this app's workers moved to the saturated app `to`.
    Moved { to: String },
    /// Raised to `min` or lowered to `max`, typically after a config change.
    Limits,
}

impl Reason {
    /// A stable label for metrics and log fields: `"busy"`, `"idle"`, `"moved"` or
    /// `"limits"`.
    pub fn kind(&self) -> &'static str {
        match self {
            Reason::Busy { .. } => "busy",
            Reason::Idle { .. } => "idle",
            Reason::Moved { .. } => "moved",
            Reason::Limits => "limits",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Busy { elu, threshold } => write!(f, "ELU {elu:.2} ≥ {threshold:.2}"),
            Reason::Idle { elu, threshold } => write!(f, "ELU {elu:.2} ≤ {threshold:.2}"),
            Reason::Moved { to } => write!(f, "moved to {to}"),
            Reason::Limits => f.write_str("limits"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_for_logs() {
        let busy = Reason::Busy {
            elu: 0.93,
            threshold: 0.8,
        };
        let idle = Reason::Idle {
            elu: 0.05,
            threshold: 0.2,
        };
        let moved = Reason::Moved { to: "api".into() };
        assert_eq!(busy.to_string(), "ELU 0.93 ≥ 0.80");
        assert_eq!(idle.to_string(), "ELU 0.05 ≤ 0.20");
        assert_eq!(moved.to_string(), "moved to api");
        assert_eq!(Reason::Limits.to_string(), "limits");
    }

    #[test]
    fn kinds_are_stable_labels() {
        let kinds = [
            Reason::Busy {
                elu: 1.0,
                threshold: 0.8,
            },
            Reason::Idle {
                elu: 0.0,
                threshold: 0.2,
            },
            Reason::Moved { to: "api".into() },
            Reason::Limits,
        ]
        .map(|reason| reason.kind());
        assert_eq!(kinds, ["busy", "idle", "moved", "limits"]);
    }
}
