//! Apps' own metrics in /metrics: each worker's published registry, parsed, labelled with
//! its app and worker, and merged by family across workers, with one HELP and TYPE each.
//!
//! Rules, so that the result stays one valid exposition:
//! - a family whose name Spindle already wrote (or that one of them could be mistaken for,
//!   like `x_count` next to Spindle's histogram `x`) is left out: Spindle's own figures of
//!   the same name (`process_*`, `nodejs_*` from prom-client's default metrics) are the ones
//!   measured from outside, and one name cannot hold two families;
//! - the first worker to declare a family sets its type and help; a later worker's family
//!   of the same name but another type is left out;
//! - a label of the app's that is named like one Spindle adds (the app and worker labels,
//!   `metrics.labels`) is renamed `exported_<name>`, as Prometheus does on a clash;
//! - `_created` samples are dropped (the text format has no place for them), and so is an
//!   OpenMetrics counter's suffix when the family is named without it.

use super::exposition::{self, Family};
use super::render::LabelNames;
use super::text::{confusable, Format, Kind, Writer};

/// One worker's registry text, with the values of its app and worker labels.
pub struct AppText<'a> {
    pub app: &'a str,
    pub worker: &'a str,
    pub text: &'a str,
}

struct Merged<'a> {
    family: Family,
    /// (app, worker) of each sample.
    from: Vec<(&'a str, &'a str)>,
}

/// Writes every family of `texts` after the ones already in `w`.
pub fn write(w: &mut Writer, names: &LabelNames, texts: &[AppText<'_>]) {
    let format = w.format();
    let mut merged: Vec<Merged<'_>> = Vec::new();
    for t in texts {
        for family in exposition::parse(t.text) {
            let family = normalize(family);
            if family.samples.is_empty() || w.clashes(&family.name) {
                continue;
            }
            match merged.iter().position(|m| m.family.name == family.name) {
                Some(i) if merged[i].family.kind == family.kind => {
                    let m = &mut merged[i];
                    m.from
                        .extend(std::iter::repeat_n((t.app, t.worker), family.samples.len()));
                    m.family.samples.extend(family.samples);
                }
                // Same name, another type: the first worker's stays.
                Some(_) => {}
                // Another app family one could mistake for this one: the first stays.
                None if merged
                    .iter()
                    .any(|m| confusable(&m.family.name, &family.name)) => {}
                None => merged.push(Merged {
                    from: vec![(t.app, t.worker); family.samples.len()],
                    family,
                }),
            }
        }
    }
    let static_labels = w.static_label_names();
    let taken = |label: &str| {
        label == names.app || label == names.worker || static_labels.iter().any(|s| s == label)
    };
    for Merged { family, from } in &merged {
        // OpenMetrics requires a counter's samples to end in `_total`; one named otherwise
        // is written as unknown there, so its series keeps its name in both formats.
        let kind = match family.kind {
            Kind::Counter if format == Format::OpenMetrics && !family.name.ends_with("_total") => {
                Kind::Untyped
            }
            kind => kind,
        };
        w.family(&family.name, kind, &family.help);
        for (sample, &(app, worker)) in family.samples.iter().zip(from) {
            let renamed: Vec<(String, &str)> = sample
                .labels
                .iter()
                .map(|(k, v)| {
                    let k = if taken(k) {
                        format!("exported_{k}")
                    } else {
                        k.clone()
                    };
                    (k, v.as_str())
                })
                .collect();
            let mut labels: Vec<(&str, &str)> = Vec::with_capacity(renamed.len() + 2);
            labels.push((names.app.as_str(), app));
            labels.push((names.worker.as_str(), worker));
            labels.extend(renamed.iter().map(|(k, v)| (k.as_str(), *v)));
            w.sample(&sample.suffix, &labels, sample.value);
        }
    }
}

/// Drops `_created` samples, and names an OpenMetrics counter family as its samples are.
fn normalize(mut family: Family) -> Family {
    family.samples.retain(|s| s.suffix != "_created");
    if family.kind == Kind::Counter && family.samples.iter().all(|s| s.suffix == "_total") {
        family.name.push_str("_total");
        for s in &mut family.samples {
            s.suffix.clear();
        }
    }
    if family.kind == Kind::Info {
        for s in &mut family.samples {
            if s.suffix == "_info" {
                s.suffix.clear();
            }
        }
        if !family.name.ends_with("_info") {
            family.name.push_str("_info");
        }
    }
    family
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> LabelNames {
        LabelNames::default()
    }

    /// The scrape of `text` from worker `web:0`, with nothing of Spindle's beside it.
    fn merged_alone(format: Format, text: &str) -> String {
        let mut w = Writer::new(format, &[]);
        write(&mut w, &names(), &[from("web", "web:0", text)]);
        w.finish()
    }

    /// The text that worker `worker` of app `app` published.
    fn from<'t>(app: &'t str, worker: &'t str, text: &'t str) -> AppText<'t> {
        AppText { app, worker, text }
    }

    #[test]
    fn families_merge_across_workers_with_their_labels_and_one_help() {
        let a = "# HELP jobs_total Jobs.\n# TYPE jobs_total counter\njobs_total{queue=\"q\"} 3\n";
        let b = "# HELP jobs_total Jobs (other help).\n# TYPE jobs_total counter\njobs_total{queue=\"q\"} 4\n\
                 # HELP depth Queue depth.\n# TYPE depth gauge\ndepth 7\n";
        let mut w = Writer::new(Format::Prometheus, &[]);
        write(
            &mut w,
            &names(),
            &[from("web", "web:0", a), from("web", "web:1", b)],
        );
        assert_eq!(
            w.finish(),
            "# HELP jobs_total Jobs.\n\
             # TYPE jobs_total counter\n\
             jobs_total{app=\"web\",worker=\"web:0\",queue=\"q\"} 3\n\
             jobs_total{app=\"web\",worker=\"web:1\",queue=\"q\"} 4\n\
             # HELP depth Queue depth.\n\
             # TYPE depth gauge\n\
             depth{app=\"web\",worker=\"web:1\"} 7\n"
        );
    }

    #[test]
    fn two_workers_histograms_merge_with_every_bucket_under_one_help_and_type() {
        let registry = |le_01: u64, all: u64, sum: f64| {
            format!(
                "# HELP job_seconds How long a job took.\n\
                 # TYPE job_seconds histogram\n\
                 job_seconds_bucket{{le=\"0.1\",queue=\"mail\"}} {le_01}\n\
                 job_seconds_bucket{{le=\"+Inf\",queue=\"mail\"}} {all}\n\
                 job_seconds_sum{{queue=\"mail\"}} {sum}\n\
                 job_seconds_count{{queue=\"mail\"}} {all}\n"
            )
        };
        let (a, b) = (registry(1, 2, 0.35), registry(0, 5, 2.5));
        let mut w = Writer::new(Format::Prometheus, &[]);
        write(
            &mut w,
            &names(),
            &[from("jobs", "jobs:0", &a), from("jobs", "jobs:1", &b)],
        );
        assert_eq!(
            w.finish(),
            "# HELP job_seconds How long a job took.\n\
             # TYPE job_seconds histogram\n\
             job_seconds_bucket{app=\"jobs\",worker=\"jobs:0\",le=\"0.1\",queue=\"mail\"} 1\n\
             job_seconds_bucket{app=\"jobs\",worker=\"jobs:0\",le=\"+Inf\",queue=\"mail\"} 2\n\
             job_seconds_sum{app=\"jobs\",worker=\"jobs:0\",queue=\"mail\"} 0.35\n\
             job_seconds_count{app=\"jobs\",worker=\"jobs:0\",queue=\"mail\"} 2\n\
             job_seconds_bucket{app=\"jobs\",worker=\"jobs:1\",le=\"0.1\",queue=\"mail\"} 0\n\
             job_seconds_bucket{app=\"jobs\",worker=\"jobs:1\",le=\"+Inf\",queue=\"mail\"} 5\n\
             job_seconds_sum{app=\"jobs\",worker=\"jobs:1\",queue=\"mail\"} 2.5\n\
             job_seconds_count{app=\"jobs\",worker=\"jobs:1\",queue=\"mail\"} 5\n"
        );
    }

    #[test]
    fn families_one_could_mistake_for_another_are_left_out() {
        let mut w = Writer::new(Format::Prometheus, &[]);
        w.family("nodejs_gc_duration_seconds", Kind::Histogram, "GC.");
        w.sample("_count", &[], 1.0);
        // Named like a sample of Spindle's histogram, and like one of another app family.
        let text =
            "# TYPE nodejs_gc_duration_seconds_count gauge\nnodejs_gc_duration_seconds_count 4\n\
                    # TYPE orders counter\norders 1\n\
                    # TYPE orders_total gauge\norders_total 2\n";
        write(&mut w, &names(), &[from("web", "web:0", text)]);
        let out = w.finish();
        assert!(!out.contains(" 4\n"), "{out}");
        assert!(
            out.contains("orders{app=\"web\",worker=\"web:0\"} 1\n"),
            "{out}"
        );
        assert!(!out.contains("orders_total"), "{out}");
    }

    #[test]
    fn spindles_families_and_type_conflicts_are_left_out_and_clashing_labels_renamed() {
        let mut w = Writer::new(Format::Prometheus, &[("region".into(), "eu".into())]);
        w.family("process_cpu_seconds_total", Kind::Counter, "CPU.");
        w.sample("", &[], 1.0);
        let a = "# HELP process_cpu_seconds_total CPU.\n# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 9\n\
                 # TYPE x gauge\nx{app=\"mine\",region=\"us\",le=\"1\"} 1\n";
        let b = "# TYPE x counter\nx 5\n";
        let names = LabelNames::watt();
        write(
            &mut w,
            &names,
            &[from("web", "web:0", a), from("api", "api:0", b)],
        );
        let out = w.finish();
        assert_eq!(
            out.matches("# TYPE process_cpu_seconds_total").count(),
            1,
            "{out}"
        );
        assert!(!out.contains(" 9\n"), "{out}");
        assert!(
            out.contains("x{region=\"eu\",applicationId=\"web\",workerId=\"web:0\",app=\"mine\",exported_region=\"us\",le=\"1\"} 1\n"),
            "{out}"
        );
        assert!(
            !out.contains("api:0"),
            "a counter named like a gauge is left out: {out}"
        );
    }

    #[test]
    fn openmetrics_gets_valid_counters() {
        let text = "# HELP jobs_total Jobs.\n# TYPE jobs_total counter\njobs_total 3\n\
                    # HELP hits Hits without the suffix.\n# TYPE hits counter\nhits 2\n";
        assert_eq!(
            merged_alone(Format::OpenMetrics, text),
            "# HELP jobs Jobs.\n\
             # TYPE jobs counter\n\
             jobs_total{app=\"web\",worker=\"web:0\"} 3\n\
             # HELP hits Hits without the suffix.\n\
             # TYPE hits unknown\n\
             hits{app=\"web\",worker=\"web:0\"} 2\n\
             # EOF\n"
        );
    }

    #[test]
    fn an_openmetrics_registry_reads_as_the_text_format_names_it() {
        let text = "# HELP jobs Jobs.\n# TYPE jobs counter\njobs_total 3\njobs_created 1\n# EOF\n";
        assert_eq!(
            merged_alone(Format::Prometheus, text),
            "# HELP jobs_total Jobs.\n\
             # TYPE jobs_total counter\n\
             jobs_total{app=\"web\",worker=\"web:0\"} 3\n"
        );
    }
}
