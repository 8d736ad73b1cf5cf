//! Choosing the application that receives public traffic.

use crate::context::Context;
use crate::declared::{ids, Declared};
use crate::error::{ConfigError, ErrorKind};
use crate::keypath::KeyPath;

/// The entrypoint's id: the top-level `entrypoint`, else the one application marked
/// `"entrypoint": true`, else the only application. Contradictions are errors rather than
/// silently resolved, since a wrong guess sends public traffic to the wrong app.
pub(crate) fn choose(
    top: Option<&str>,
    apps: &[Declared],
    cx: &Context<'_>,
) -> Result<String, ConfigError> {
    let key = KeyPath::root().key("entrypoint");
    let mut marked = apps.iter().filter(|app| app.entrypoint);

    if let Some(top) = top {
        if !apps.iter().any(|app| app.id == top) {
            let message = format!(
                "unknown application {top:?} (expected one of: {})",
                ids(apps)
            );
            return Err(cx.report.at_value(&key, ErrorKind::Entrypoint, message));
        }
        if let Some(other) = marked.find(|app| app.id != top) {
            let message = format!(
                "{:?} is marked as entrypoint but the top-level entrypoint is {top:?}",
                other.id
            );
            let at = other.origin.key("entrypoint");
            return Err(cx.report.at_value(&at, ErrorKind::Entrypoint, message));
        }
        return Ok(top.to_owned());
    }

    match (marked.next(), marked.next()) {
        (Some(first), Some(second)) => {
            let message = format!(
                "{:?} is marked as entrypoint but so is {:?}; only one can be",
                second.id, first.id
            );
            let at = second.origin.key("entrypoint");
            Err(cx.report.at_value(&at, ErrorKind::Entrypoint, message))
        }
        (Some(only), None) => Ok(only.id.clone()),
        (None, _) => match apps {
            [only] => Ok(only.id.clone()),
            _ => {
                let message = format!(
                    "required when there are several applications ({}); \
                     set it or mark one with \"entrypoint\": true",
                    ids(apps)
                );
                Err(cx.report.at_value(&key, ErrorKind::Entrypoint, message))
            }
        },
    }
}
