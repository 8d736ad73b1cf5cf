//! The exposition formats: Prometheus text 0.0.4, and OpenMetrics 1.0 when a scraper
//! asks for it. Both are written by one writer; they differ only in how counter and info
//! families are named and in the closing `# EOF`.

use std::fmt::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Prometheus,
    OpenMetrics,
}

impl Format {
    /// OpenMetrics when the `Accept` header asks for it, else the classic text format.
    pub fn from_accept(accept: Option<&str>) -> Format {
        match accept {
            Some(a) if a.contains("application/openmetrics-text") => Format::OpenMetrics,
            _ => Format::Prometheus,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Prometheus => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
    Summary,
    /// A constant 1 whose labels carry the information (versions).
    Info,
    /// No type given (an app's metric declared `untyped`, or without `# TYPE`).
    Untyped,
}

pub struct Writer {
    out: String,
    format: Format,
    /// `metrics.labels` from the config, added to every sample.
    static_labels: String,
    /// The family being written: `name` as the samples spell it.
    family: String,
    /// Every family written so far, as the samples spell it.
    declared: std::collections::HashSet<String>,
    static_names: Vec<String>,
}

impl Writer {
    pub fn new(format: Format, static_labels: &[(String, String)]) -> Writer {
        let mut labels = String::new();
        for (k, v) in static_labels {
            push_label(&mut labels, k, v);
        }
        Writer {
            out: String::with_capacity(8192),
            format,
            static_labels: labels,
            family: String::new(),
            declared: std::collections::HashSet::new(),
            static_names: static_labels.iter().map(|(k, _)| k.clone()).collect(),
        }
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// The names of `metrics.labels`, which every sample carries.
    pub fn static_label_names(&self) -> Vec<String> {
        self.static_names.clone()
    }

    /// Whether a family written already could be confused with one named `name`
    /// ([`confusable`]).
    pub fn clashes(&self, name: &str) -> bool {
        self.declared.iter().any(|d| confusable(d, name))
    }

    /// Starts a family. `name` is the sample name as Prometheus text spells it (counters
    /// end in `_total`, infos in `_info`).
    pub fn family(&mut self, name: &str, kind: Kind, help: &str) {
        let (declared, kind_name) = match (self.format, kind) {
            (Format::OpenMetrics, Kind::Counter) => {
                (name.strip_suffix("_total").unwrap_or(name), "counter")
            }
            (Format::OpenMetrics, Kind::Info) => {
                (name.strip_suffix("_info").unwrap_or(name), "info")
            }
            (_, Kind::Counter) => (name, "counter"),
            (_, Kind::Gauge) | (Format::Prometheus, Kind::Info) => (name, "gauge"),
            (_, Kind::Histogram) => (name, "histogram"),
            (_, Kind::Summary) => (name, "summary"),
            (Format::Prometheus, Kind::Untyped) => (name, "untyped"),
            (Format::OpenMetrics, Kind::Untyped) => (name, "unknown"),
        };
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        let _ = writeln!(self.out, "# HELP {declared} {help}");
        let _ = writeln!(self.out, "# TYPE {declared} {kind_name}");
        self.family = name.to_string();
        self.declared.insert(name.to_string());
    }

    /// A sample of the current family; `suffix` is "" or a histogram's `_bucket`/`_sum`/`_count`
    /// (a summary's `_sum`/`_count`).
    pub fn sample(&mut self, suffix: &str, labels: &[(&str, &str)], value: f64) {
        self.out.push_str(&self.family);
        self.out.push_str(suffix);
        let mut rendered = self.static_labels.clone();
        for (k, v) in labels {
            push_label(&mut rendered, k, v);
        }
        if !rendered.is_empty() {
            self.out.push('{');
            self.out.push_str(&rendered);
            self.out.push('}');
        }
        self.out.push(' ');
        push_value(&mut self.out, value);
        self.out.push('\n');
    }

    pub fn finish(mut self) -> String {
        if self.format == Format::OpenMetrics {
            self.out.push_str("# EOF\n");
        }
        self.out
    }
}

/// Whether families named `a` and `b` cannot both be in one exposition: the same name, or
/// one named like a sample of the other (`x` and `x_bucket`, `x_sum`, `x_count`, `x_total`,
/// `x_created`, `x_info`).
pub fn confusable(a: &str, b: &str) -> bool {
    const SUFFIXES: [&str; 6] = ["_bucket", "_sum", "_count", "_total", "_created", "_info"];
    let sample_of = |long: &str, short: &str| {
        long.strip_prefix(short)
            .is_some_and(|suffix| SUFFIXES.contains(&suffix))
    };
    a == b || sample_of(a, b) || sample_of(b, a)
}

fn push_label(out: &mut String, key: &str, value: &str) {
    if !out.is_empty() {
        out.push(',');
    }
    out.push_str(key);
    out.push_str("=\"");
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn push_value(out: &mut String, value: f64) {
    if value.is_nan() {
        out.push_str("NaN");
    } else if value.is_infinite() {
        out.push_str(if value > 0.0 { "+Inf" } else { "-Inf" });
    } else if value.fract() == 0.0 && value.abs() < 1e15 {
        let _ = write!(out, "{}", value as i64);
    } else {
        let _ = write!(out, "{value}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_text() {
        let mut w = Writer::new(Format::Prometheus, &[("region".into(), "eu \"1\"".into())]);
        w.family("spindle_http_requests_total", Kind::Counter, "Requests.");
        w.sample("", &[("app", "web")], 3.0);
        w.family("nodejs_version_info", Kind::Info, "Node.js version.");
        w.sample("", &[("version", "v20.1.0")], 1.0);
        w.family("x_seconds", Kind::Histogram, "A histogram.");
        w.sample("_bucket", &[("le", "+Inf")], 2.0);
        w.sample("_sum", &[], 0.25);
        assert_eq!(
            w.finish(),
            "# HELP spindle_http_requests_total Requests.\n\
             # TYPE spindle_http_requests_total counter\n\
             spindle_http_requests_total{region=\"eu \\\"1\\\"\",app=\"web\"} 3\n\
             # HELP nodejs_version_info Node.js version.\n\
             # TYPE nodejs_version_info gauge\n\
             nodejs_version_info{region=\"eu \\\"1\\\"\",version=\"v20.1.0\"} 1\n\
             # HELP x_seconds A histogram.\n\
             # TYPE x_seconds histogram\n\
             x_seconds_bucket{region=\"eu \\\"1\\\"\",le=\"+Inf\"} 2\n\
             x_seconds_sum{region=\"eu \\\"1\\\"\"} 0.25\n"
        );
    }

    #[test]
    fn openmetrics_names_counter_and_info_families_without_suffix_and_ends_with_eof() {
        let mut w = Writer::new(Format::OpenMetrics, &[]);
        w.family("spindle_http_requests_total", Kind::Counter, "Requests.");
        w.sample("", &[], 1.0);
        w.family("nodejs_version_info", Kind::Info, "Version.");
        w.sample("", &[("version", "v24")], 1.0);
        assert_eq!(
            w.finish(),
            "# HELP spindle_http_requests Requests.\n\
             # TYPE spindle_http_requests counter\n\
             spindle_http_requests_total 1\n\
             # HELP nodejs_version Version.\n\
             # TYPE nodejs_version info\n\
             nodejs_version_info{version=\"v24\"} 1\n\
             # EOF\n"
        );
    }

    #[test]
    fn accept_header_picks_the_format() {
        assert_eq!(Format::from_accept(None), Format::Prometheus);
        assert_eq!(Format::from_accept(Some("text/plain")), Format::Prometheus);
        assert_eq!(
            Format::from_accept(Some(
                "application/openmetrics-text;version=1.0.0,text/plain;q=0.5"
            )),
            Format::OpenMetrics
        );
    }
}
