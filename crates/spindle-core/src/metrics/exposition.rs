//! Reading the Prometheus text format that prom-client's `registry.metrics()` writes, so
//! an app's own families can be merged into /metrics. Lenient: a line it cannot read is
//! skipped, never the whole registry; timestamps and exemplars are dropped.

use super::text::Kind;

#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    pub name: String,
    pub help: String,
    pub kind: Kind,
    pub samples: Vec<Sample>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// What follows the family's name in the sample's: "" or `_bucket`, `_sum`, `_count`.
    pub suffix: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

/// The families of `text`, in the order they first appear.
pub fn parse(text: &str) -> Vec<Family> {
    let mut families: Vec<Family> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some(comment) = line.strip_prefix('#') {
            let comment = comment.trim_start();
            if let Some(rest) = comment.strip_prefix("HELP ") {
                let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
                family(&mut families, name).help = unescape_help(help);
            } else if let Some(rest) = comment.strip_prefix("TYPE ") {
                let (name, kind) = rest.split_once(' ').unwrap_or((rest, ""));
                family(&mut families, name).kind = kind_of(kind.trim());
            }
            continue;
        }
        if line.is_empty() {
            continue;
        }
        let Some((name, labels, value)) = sample(line) else {
            continue;
        };
        let (index, suffix) = owner(&families, name);
        let index = match index {
            Some(i) => i,
            None => {
                families.push(new_family(name));
                families.len() - 1
            }
        };
        families[index].samples.push(Sample {
            suffix: suffix.to_owned(),
            labels,
            value,
        });
    }
    families.retain(|f| !f.samples.is_empty());
    families
}

fn new_family(name: &str) -> Family {
    Family {
        name: name.to_owned(),
        help: String::new(),
        kind: Kind::Untyped,
        samples: Vec::new(),
    }
}

fn family<'a>(families: &'a mut Vec<Family>, name: &str) -> &'a mut Family {
    match families.iter().position(|f| f.name == name) {
        Some(i) => &mut families[i],
        None => {
            families.push(new_family(name));
            families.last_mut().expect("just pushed")
        }
    }
}

/// The family a sample named `name` belongs to, and the suffix it adds to the family's
/// name. The latest family is tried first: samples follow their `# TYPE`.
fn owner<'n>(families: &[Family], name: &'n str) -> (Option<usize>, &'n str) {
    for (i, f) in families.iter().enumerate().rev() {
        if f.name == name {
            return (Some(i), "");
        }
        let Some(suffix) = name.strip_prefix(f.name.as_str()) else {
            continue;
        };
        let allowed: &[&str] = match f.kind {
            Kind::Histogram => &["_bucket", "_sum", "_count", "_created"],
            Kind::Summary => &["_sum", "_count", "_created"],
            // OpenMetrics names a counter family without its samples' `_total`.
            Kind::Counter => &["_total", "_created"],
            Kind::Info => &["_info"],
            Kind::Gauge | Kind::Untyped => &[],
        };
        if allowed.contains(&suffix) {
            return (Some(i), suffix);
        }
    }
    (None, "")
}

fn kind_of(name: &str) -> Kind {
    match name {
        "counter" => Kind::Counter,
        "gauge" => Kind::Gauge,
        "histogram" => Kind::Histogram,
        "summary" => Kind::Summary,
        "info" => Kind::Info,
        _ => Kind::Untyped,
    }
}

/// Label names and values, in the order written.
type Labels = Vec<(String, String)>;

/// `name{labels} value [timestamp] [# exemplar]`.
fn sample(line: &str) -> Option<(&str, Labels, f64)> {
    let end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(line.len());
    let (name, mut rest) = line.split_at(end);
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let mut labels = Vec::new();
    if let Some(inner) = rest.strip_prefix('{') {
        let (parsed, after) = label_set(inner)?;
        labels = parsed;
        rest = after;
    }
    let value = rest.split_whitespace().next()?;
    Some((name, labels, parse_value(value)?))
}

/// The labels up to the closing `}`, and what follows it.
fn label_set(mut s: &str) -> Option<(Labels, &str)> {
    let mut labels = Vec::new();
    loop {
        s = s.trim_start();
        if let Some(after) = s.strip_prefix('}') {
            return Some((labels, after));
        }
        let (name, rest) = s.split_once('=')?;
        let name = name.trim();
        if name.is_empty()
            || name.starts_with(|c: char| c.is_ascii_digit())
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return None;
        }
        let rest = rest.trim_start().strip_prefix('"')?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let close = loop {
            match chars.next()? {
                (i, '"') => break i,
                (_, '\\') => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    c => value.push(c),
                },
                (_, c) => value.push(c),
            }
        };
        labels.push((name.to_owned(), value));
        s = rest[close + 1..].trim_start();
        s = s.strip_prefix(',').unwrap_or(s);
    }
}

fn parse_value(text: &str) -> Option<f64> {
    match text {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ => text.parse().ok().filter(|v: &f64| v.is_finite()),
    }
}

fn unescape_help(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn reads_what_prom_client_writes() {
        let text = "# HELP jobs_total Jobs done.\n\
                    # TYPE jobs_total counter\n\
                    jobs_total{queue=\"a \\\"b\\\"\\\\c\\nd\"} 3\n\
                    jobs_total{queue=\"e\",} 4 1700000000000\n\
                    \n\
                    # HELP latency_seconds How long.\n\
                    # TYPE latency_seconds histogram\n\
                    latency_seconds_bucket{le=\"0.1\",route=\"/\"} 1\n\
                    latency_seconds_bucket{le=\"+Inf\",route=\"/\"} 2\n\
                    latency_seconds_sum{route=\"/\"} 0.35\n\
                    latency_seconds_count{route=\"/\"} 2\n\
                    # HELP rt Summary with \\\\ and \\n.\n\
                    # TYPE rt summary\n\
                    rt{quantile=\"0.5\"} NaN\n\
                    rt_sum 0\n\
                    rt_count 0\n";
        let f = parse(text);
        assert_eq!(
            f.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
            ["jobs_total", "latency_seconds", "rt"]
        );
        assert_eq!(f[0].kind, Kind::Counter);
        assert_eq!(f[0].help, "Jobs done.");
        assert_eq!(
            f[0].samples[0].labels,
            labels(&[("queue", "a \"b\"\\c\nd")])
        );
        assert_eq!(f[0].samples[1].labels, labels(&[("queue", "e")]));
        assert_eq!(f[0].samples[1].value, 4.0);
        assert_eq!(f[1].kind, Kind::Histogram);
        let suffixes: Vec<&str> = f[1].samples.iter().map(|s| s.suffix.as_str()).collect();
        assert_eq!(suffixes, ["_bucket", "_bucket", "_sum", "_count"]);
        assert_eq!(f[1].samples[1].value, 2.0);
        assert_eq!(
            f[1].samples[1].labels,
            labels(&[("le", "+Inf"), ("route", "/")])
        );
        assert_eq!(f[2].kind, Kind::Summary);
        assert_eq!(f[2].help, "Summary with \\ and \n.");
        assert!(f[2].samples[0].value.is_nan());
    }

    #[test]
    fn samples_without_type_are_untyped_families_and_bad_lines_are_skipped() {
        let text = "loose 1\n\
                    bad{unterminated=\"x} 1\n\
                    9starts_with_a_digit 1\n\
                    no_value\n\
                    also_bad{a=b} 2\n\
                    # TYPE g gauge\n\
                    g -2.5e3\n\
                    g_sum 1\n";
        let f = parse(text);
        let names: Vec<&str> = f.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["loose", "g", "g_sum"], "a gauge has no _sum sample");
        assert_eq!(f[0].kind, Kind::Untyped);
        assert_eq!(f[1].samples[0].value, -2500.0);
    }

    #[test]
    fn openmetrics_counters_keep_their_total_samples_and_eof_is_ignored() {
        let text = "# TYPE jobs counter\n# HELP jobs Jobs.\njobs_total 3 # {trace_id=\"x\"} 1\njobs_created 1.7e9\n# EOF\n";
        let f = parse(text);
        assert_eq!(f.len(), 1);
        let suffixes: Vec<&str> = f[0].samples.iter().map(|s| s.suffix.as_str()).collect();
        assert_eq!(suffixes, ["_total", "_created"]);
        assert_eq!(f[0].samples[0].value, 3.0);
    }

    #[test]
    fn declared_families_without_samples_are_left_out() {
        assert!(parse("# HELP x An empty family.\n# TYPE x gauge\n").is_empty());
    }
}
