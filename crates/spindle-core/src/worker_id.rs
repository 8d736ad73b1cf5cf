//! Worker identity: `<app>:<n>`, with a fresh `n` for every worker an app ever starts.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

/// Names one worker thread for its whole life. Shown in logs, metric labels and thread names.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WorkerId {
    app: Arc<str>,
    n: u32,
}

impl WorkerId {
    pub fn new(app: impl Into<Arc<str>>, n: u32) -> Self {
        WorkerId { app: app.into(), n }
    }

    pub fn app(&self) -> &str {
        &self.app
    }

    pub fn app_arc(&self) -> &Arc<str> {
        &self.app
    }

    pub fn n(&self) -> u32 {
        self.n
    }
}

impl fmt::Display for WorkerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.app, self.n)
    }
}

impl fmt::Debug for WorkerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("invalid worker id {0:?}: expected <app>:<n>")]
pub struct InvalidWorkerId(String);

impl FromStr for WorkerId {
    type Err = InvalidWorkerId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // App ids cannot contain ':', so the last ':' separates the counter.
        let (app, n) = s
            .rsplit_once(':')
            .ok_or_else(|| InvalidWorkerId(s.into()))?;
        let n = n.parse().map_err(|_| InvalidWorkerId(s.into()))?;
        if app.is_empty() {
            return Err(InvalidWorkerId(s.into()));
        }
        Ok(WorkerId::new(app, n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_and_parses_as_app_colon_n() {
        let id = WorkerId::new("web", 7);
        assert_eq!(id.to_string(), "web:7");
        assert_eq!("web:7".parse::<WorkerId>(), Ok(id));
    }

    #[test]
    fn rejects_malformed_ids() {
        assert!("web".parse::<WorkerId>().is_err());
        assert!(":1".parse::<WorkerId>().is_err());
        assert!("web:x".parse::<WorkerId>().is_err());
    }
}
