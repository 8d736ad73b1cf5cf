//! `applications[].dependencies`: which applications must have started before another
//! starts. Checked once every application is known (autoloaded ones too): each id must
//! name another application, and the order must have no cycle, or the start would wait
//! forever.

use std::collections::BTreeMap;

use crate::context::Context;
use crate::declared::{ids, Declared};
use crate::error::{ConfigError, ErrorKind};

pub(crate) fn check(apps: &[Declared], cx: &Context<'_>) -> Result<(), ConfigError> {
    for app in apps {
        for (j, dep) in app.dependencies.iter().enumerate() {
            let at = app.origin.key("dependencies").index(j);
            let fail =
                |message: String| Err(cx.report.at_value(&at, ErrorKind::InvalidValue, message));
            if *dep == app.id {
                return fail(format!("{:?} cannot depend on itself", app.id));
            }
            if !apps.iter().any(|other| other.id == *dep) {
                return fail(format!(
                    "no application {dep:?} to depend on (applications: {})",
                    ids(apps)
                ));
            }
        }
    }
    if let Some(cycle) = find_cycle(apps) {
        let first = apps
            .iter()
            .find(|app| app.id == cycle[0])
            .expect("a cycle names declared applications");
        let at = first.origin.key("dependencies");
        let message = format!(
            "the dependencies form a cycle ({}): none of them could start",
            cycle.join(" → ")
        );
        return Err(cx.report.at_value(&at, ErrorKind::InvalidValue, message));
    }
    Ok(())
}

/// A cycle of ids, its first id repeated at the end, or None. Ids are known to exist.
fn find_cycle(apps: &[Declared]) -> Option<Vec<String>> {
    let deps: BTreeMap<&str, &[String]> = apps
        .iter()
        .map(|app| (app.id.as_str(), app.dependencies.as_slice()))
        .collect();
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let mut marks: BTreeMap<&str, Mark> = deps.keys().map(|id| (*id, Mark::New)).collect();
    // Depth-first, with the path so far: an edge back to an open id closes a cycle.
    fn visit<'a>(
        id: &'a str,
        deps: &BTreeMap<&'a str, &'a [String]>,
        marks: &mut BTreeMap<&'a str, Mark>,
        path: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        marks.insert(id, Mark::Open);
        path.push(id);
        for dep in deps.get(id).copied().unwrap_or_default() {
            match marks.get(dep.as_str()).copied() {
                Some(Mark::Open) => {
                    let start = path.iter().position(|p| *p == dep.as_str()).unwrap_or(0);
                    let mut cycle: Vec<String> =
                        path[start..].iter().map(|s| s.to_string()).collect();
                    cycle.push(dep.clone());
                    return Some(cycle);
                }
                Some(Mark::New) => {
                    if let Some(cycle) = visit(dep.as_str(), deps, marks, path) {
                        return Some(cycle);
                    }
                }
                _ => {}
            }
        }
        path.pop();
        marks.insert(id, Mark::Done);
        None
    }
    let ids: Vec<&str> = deps.keys().copied().collect();
    for id in ids {
        if marks[id] == Mark::New {
            if let Some(cycle) = visit(id, &deps, &mut marks, &mut Vec::new()) {
                return Some(cycle);
            }
        }
    }
    None
}
