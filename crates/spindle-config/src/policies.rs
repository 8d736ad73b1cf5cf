//! The `policies` key: which applications may not call each other over the mesh.

use std::collections::BTreeSet;

use crate::config::Policies;
use crate::context::Context;
use crate::declared::{ids, Declared};
use crate::error::{ConfigError, ErrorKind};
use crate::keypath::KeyPath;
use crate::raw::RawPolicies;

/// Checks `policies.deny` against the applications (configured and autoloaded) and keeps
/// every pair in both orders, as Watt forbids calls in either direction. A pair given twice
/// (or once from each side) is kept once.
pub(crate) fn read(
    raw: RawPolicies,
    apps: &[Declared],
    cx: &Context<'_>,
) -> Result<Policies, ConfigError> {
    let at = KeyPath::root().key("policies").key("deny");
    let known = |id: &str| apps.iter().any(|app| app.id == id);
    let unknown = |id: &str| {
        format!(
            "unknown application {id:?} (expected one of: {})",
            ids(apps)
        )
    };
    let mut deny = BTreeSet::new();
    for (from, targets) in raw.deny {
        let from_at = at.key(&from);
        if !known(&from) {
            let message = unknown(&from);
            return Err(cx.report.at_key(&from_at, ErrorKind::InvalidValue, message));
        }
        for (index, to) in targets.into_iter().enumerate() {
            let fail = |message: String| {
                Err(cx
                    .report
                    .at_value(&from_at.index(index), ErrorKind::InvalidValue, message))
            };
            if !known(&to) {
                return fail(unknown(&to));
            }
            if to == from {
                return fail(format!("application {to:?} cannot deny itself"));
            }
            deny.insert((from.clone(), to.clone()));
            deny.insert((to, from.clone()));
        }
    }
    Ok(Policies { deny })
}
