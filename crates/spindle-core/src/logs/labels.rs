//! The app and worker names stamped on every line of one worker, with the process's
//! `pid` and `hostname`.
//!
//! Computed once per worker so the per-line path only copies prepared text.

use super::escape::push_json_str;
use super::origin::Origin;
use super::pretty;

/// One worker's labels, with their JSON and colour forms prepared.
#[derive(Debug)]
pub(crate) struct Labels {
    pub(crate) app: std::sync::Arc<str>,
    pub(crate) worker: String,
    /// `"app":"<app>",` ready to splice into a pino line.
    pub(crate) json_app: String,
    /// `"worker":"<worker>",` ready to splice into a pino line.
    pub(crate) json_worker: String,
    /// `"name":"<app>",`: pino's field for a logger's name, which Watt sets to the app id.
    pub(crate) json_name: String,
    /// The process's `pid` and `hostname`.
    pub(crate) origin: Origin,
    /// ANSI colour of this app's label in pretty output.
    pub(crate) colour: &'static str,
}

impl Labels {
    pub(crate) fn new(app: &str, worker: &str, origin: Origin) -> Labels {
        Labels {
            app: app.into(),
            worker: worker.to_owned(),
            json_app: field_fragment("app", app),
            json_worker: field_fragment("worker", worker),
            json_name: field_fragment("name", app),
            origin,
            colour: pretty::app_colour(app),
        }
    }
}

fn field_fragment(key: &str, value: &str) -> String {
    let mut out = String::new();
    push_json_str(&mut out, key);
    out.push(':');
    push_json_str(&mut out, value);
    out.push(',');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragments_are_escaped_json_members() {
        let labels = Labels::new("we\"b", "we\"b:1", Origin::new(1, "h"));
        assert_eq!(labels.json_app, r#""app":"we\"b","#);
        assert_eq!(labels.json_worker, r#""worker":"we\"b:1","#);
        assert_eq!(labels.json_name, r#""name":"we\"b","#);
    }
}
