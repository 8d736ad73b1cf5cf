//! The body of every 4xx/5xx answer.

use serde::{Deserialize, Serialize};

use crate::lenient;

/// `{"code": "unknown_app", "message": "no app \"x\" (apps: web)"}`. Read leniently: an
/// error may come from something that is not quite Spindle, and the status alone still
/// says what happened.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// For scripts: `unknown_app`, `bad_request`, …
    #[serde(default, deserialize_with = "lenient")]
    pub code: String,
    /// For people; this server always sends one.
    #[serde(default, deserialize_with = "lenient")]
    pub message: Option<String>,
}

impl ErrorBody {
    pub fn new(code: &str, message: String) -> ErrorBody {
        ErrorBody {
            code: code.to_string(),
            message: Some(message),
        }
    }
}
