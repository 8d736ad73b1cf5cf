//! Numbers for people: durations, percentages, sizes, latencies, rates.

const MIB: f64 = 1024.0 * 1024.0;

/// `12s`, `3m04s`, `2h01m`, `3d04h`: two units at most, the larger first.
pub fn duration_ms(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        3600..86_400 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d{:02}h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// A 0–1 ratio as `12.3%`.
pub fn percent(ratio: f64) -> String {
    format!("{:.1}%", ratio * 100.0)
}

/// `used/limit` in MiB: `6.1/4160`.
pub fn heap_mib(used: u64, limit: u64) -> String {
    let used = used as f64 / MIB;
    if limit == 0 {
        return format!("{used:.1}");
    }
    format!("{used:.1}/{:.0}", limit as f64 / MIB)
}

/// A latency in seconds, three significant digits at most: `0.25ms`, `2.5ms`, `120ms`,
/// `1.5s`.
pub fn seconds(s: f64) -> String {
    if s < 1.0 {
        format!("{}ms", trim(s * 1000.0))
    } else {
        format!("{}s", trim(s))
    }
}

/// A rate per second: one decimal below 100, none above.
pub fn rate(per_s: f64) -> String {
    if per_s < 100.0 {
        format!("{per_s:.1}")
    } else {
        format!("{per_s:.0}")
    }
}

/// Up to three decimals without trailing zeros (`2.5`, `1`, `0.25`).
fn trim(value: f64) -> String {
    let text = format!("{value:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    text.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_use_two_units() {
        let cases = [
            (0, "0s"),
            (12_999, "12s"),
            (60_000, "1m00s"),
            (184_000, "3m04s"),
            (3_599_000, "59m59s"),
            (7_260_000, "2h01m"),
            (86_399_000, "23h59m"),
            (86_400_000 * 3 + 3_600_000 * 4, "3d04h"),
        ];
        for (ms, text) in cases {
            assert_eq!(duration_ms(ms), text);
        }
    }

    #[test]
    fn ratios_and_sizes() {
        assert_eq!(percent(0.0123), "1.2%");
        assert_eq!(percent(1.0), "100.0%");
        assert_eq!(heap_mib(6_411_816, 4_362_076_160), "6.1/4160");
        assert_eq!(heap_mib(6_411_816, 0), "6.1");
    }

    #[test]
    fn latencies_and_rates() {
        let latencies = [
            (0.0025, "2.5ms"),
            (0.001, "1ms"),
            (0.00025, "0.25ms"),
            (0.25, "250ms"),
            (1.0, "1s"),
            (2.5, "2.5s"),
        ];
        for (s, text) in latencies {
            assert_eq!(seconds(s), text);
        }
        for (per_s, text) in [(0.0, "0.0"), (12.345, "12.3"), (1234.4, "1234")] {
            assert_eq!(rate(per_s), text);
        }
    }
}
