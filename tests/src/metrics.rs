//! Reading the Prometheus text the admin server renders: samples by name and label, the
//! value of one series, and the scrape itself.

use http::StatusCode;

use crate::client::try_get;
use crate::first_value;
use crate::running::Running;

/// One sample of a Prometheus text exposition: its name, labels and value.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

impl Sample {
    /// The value of label `key`, if the sample has it.
    pub fn label(&self, key: &str) -> Option<&str> {
        first_value(&self.labels, key)
    }
}

/// Every sample line of `text` (comments and blank lines skipped; lines that do not parse
/// are skipped too).
pub fn samples(text: &str) -> Vec<Sample> {
    text.lines().filter_map(parse_sample).collect()
}

/// The sum of the samples named `name` that carry every label in `labels` (other labels
/// are ignored, so extra labels such as `metrics.labels` do not matter). 0 when none match.
pub fn sum(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    samples(text)
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| labels.iter().all(|(k, v)| s.label(k) == Some(*v)))
        .fold(0.0, |total, s| total + s.value)
}

fn parse_sample(line: &str) -> Option<Sample> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let name_end = line.find(['{', ' '])?;
    let name = line[..name_end].to_string();
    let mut labels = Vec::new();
    let rest = if line[name_end..].starts_with('{') {
        // key="value" pairs, values with \" \\ \n escapes.
        let mut chars = line[name_end + 1..].char_indices();
        let base = name_end + 1;
        let mut key = String::new();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            match c {
                '}' => {
                    end = Some(base + i + 1);
                    break;
                }
                ',' | ' ' => {}
                '=' => {
                    if chars.next()?.1 != '"' {
                        return None;
                    }
                    let mut value = String::new();
                    loop {
                        match chars.next()?.1 {
                            '"' => break,
                            '\\' => match chars.next()?.1 {
                                'n' => value.push('\n'),
                                other => value.push(other),
                            },
                            other => value.push(other),
                        }
                    }
                    labels.push((std::mem::take(&mut key), value));
                }
                other => key.push(other),
            }
        }
        &line[end?..]
    } else {
        &line[name_end..]
    };
    let value = rest.split_whitespace().next()?.parse().ok()?;
    Some(Sample {
        name,
        labels,
        value,
    })
}

impl Running {
    /// The admin `/metrics` text; panics with all output unless it answers 200.
    pub async fn scrape_metrics(&self) -> String {
        let url = format!("{}/metrics", self.admin_url());
        match try_get(&url).await {
            Ok(res) if res.status == StatusCode::OK => res.text(),
            Ok(res) => self.fail(&format!("GET {url}: {} {}", res.status, res.text())),
            Err(err) => self.fail(&format!("GET {url}: {err}")),
        }
    }

    /// `spindle_http_requests_total` of `app`, summed over every series that carries all of
    /// `labels` besides `app` (e.g. `[("method", "GET"), ("code_class", "2xx")]`).
    pub async fn requests_total(&self, app: &str, labels: &[(&str, &str)]) -> f64 {
        let mut all = vec![("app", app)];
        all.extend_from_slice(labels);
        sum(
            &self.scrape_metrics().await,
            "spindle_http_requests_total",
            &all,
        )
    }
}

/// The value of the first sample whose line starts with `series` (name and labels exactly
/// as rendered), or None.
pub fn series_value(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}
