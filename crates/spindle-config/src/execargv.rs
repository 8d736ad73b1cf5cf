//! Node options for worker threads: `preload`, `sourceMaps`, `execArgv` and `nodeOptions`.
//!
//! A `Worker`'s `execArgv` takes only options that act per thread; given a process-wide one
//! (`--max-old-space-size`, `--expose-gc`, `--title`) Node refuses to start the worker at
//! all. So options are sorted here, at load time, against the list of those known to work in
//! a worker; the others are named in one warning and left out, rather than failing every
//! start of the application.

/// Options a worker thread accepts whose value may come as the next word
/// (`--require ./x.js`).
const PER_THREAD_WITH_VALUE: [&str; 10] = [
    "--require",
    "-r",
    "--import",
    "--loader",
    "--experimental-loader",
    "--conditions",
    "-C",
    "--disable-warning",
    "--unhandled-rejections",
    "--input-type",
];

/// Options a worker thread accepts that take no value; `--experimental-*` and
/// `--no-experimental-*` too.
const PER_THREAD_FLAGS: [&str; 8] = [
    "--enable-source-maps",
    "--no-warnings",
    "--trace-warnings",
    "--no-deprecation",
    "--trace-deprecation",
    "--throw-deprecation",
    "--pending-deprecation",
    "--trace-uncaught",
];

/// A process-wide option whose value may come as the next word: joined to it, so that the
/// value is not read as an option of its own.
const PROCESS_WIDE_WITH_VALUE: &str = "--env-file";

/// Options split into those a worker takes and those it does not.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Sorted {
    pub(crate) kept: Vec<String>,
    pub(crate) refused: Vec<String>,
}

/// Sorts `words` (items of `execArgv`, or the words of `nodeOptions`), joining an option and
/// its value given as two words into one `--name=value`.
pub(crate) fn sort<'a>(words: impl IntoIterator<Item = &'a str>) -> Sorted {
    let mut sorted = Sorted::default();
    let mut words = words.into_iter().filter(|w| !w.is_empty());
    while let Some(word) = words.next() {
        let name = word.split_once('=').map_or(word, |(name, _)| name);
        let takes_value = PER_THREAD_WITH_VALUE.contains(&name) || name == PROCESS_WIDE_WITH_VALUE;
        let option = if !word.contains('=') && takes_value {
            match words.next() {
                Some(value) => format!("{word}={value}"),
                None => word.to_owned(),
            }
        } else {
            word.to_owned()
        };
        let per_thread = PER_THREAD_WITH_VALUE.contains(&name)
            || PER_THREAD_FLAGS.contains(&name)
            || name.starts_with("--experimental-")
            || name.starts_with("--no-experimental-");
        if per_thread {
            sorted.kept.push(option);
        } else {
            sorted.refused.push(option);
        }
    }
    sorted
}

/// The warning for options left out.
pub(crate) fn refused_message(refused: &[String]) -> String {
    let heap = refused
        .iter()
        .any(|o| o.starts_with("--max-old-space-size") || o.starts_with("--max-semi-space-size"));
    let hint = if heap {
        "; a worker's heap is set with health.maxHeapTotal and health.maxYoungGeneration"
    } else {
        ""
    };
    format!(
        "has no effect in Spindle for {}: Node takes {} only for a whole process, not for a \
         worker thread (set NODE_OPTIONS when starting spindle instead){hint}",
        refused.join(" "),
        if refused.len() == 1 { "it" } else { "them" },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_per_thread_options_and_joins_values() {
        let sorted = sort([
            "--require",
            "./a.js",
            "--import=b.mjs",
            "--enable-source-maps",
            "--experimental-vm-modules",
            "--max-old-space-size=512",
            "--expose-gc",
        ]);
        assert_eq!(
            sorted.kept,
            [
                "--require=./a.js",
                "--import=b.mjs",
                "--enable-source-maps",
                "--experimental-vm-modules"
            ]
        );
        assert_eq!(sorted.refused, ["--max-old-space-size=512", "--expose-gc"]);
    }

    #[test]
    fn the_warning_names_the_options_and_the_way_out() {
        let message = refused_message(&["--max-old-space-size=512".into()]);
        assert_eq!(
            message,
            "has no effect in Spindle for --max-old-space-size=512: Node takes it only for a \
             whole process, not for a worker thread (set NODE_OPTIONS when starting spindle \
             instead); a worker's heap is set with health.maxHeapTotal and \
             health.maxYoungGeneration"
        );
    }
}
