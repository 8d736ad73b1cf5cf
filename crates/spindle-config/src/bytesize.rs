//! Memory sizes: a number of bytes, or a string such as `"512MB"`, `"4GB"` or `"1.5G"`.
//!
//! Units are read as Watt's `parseMemorySize` reads them, so a `watt.json` means the same
//! here: **every unit is 1024-based**, `"512MB"` is 512 × 1024² bytes. Watt knows `B`, `KB`,
//! `MB` and `GB` in any case; the IEC spellings (`KiB`, `MiB`, `GiB`) and the bare letters
//! (`K`, `M`, `G`) are accepted too, with the same meaning. A fraction is allowed before a
//! unit and the result is rounded down to whole bytes. A plain number, or a string holding
//! only digits (a `{VAR}` placeholder), counts bytes.
//!
//! As with [`Integer`](crate::integer::Integer), the value is kept whatever its size or sign:
//! bounds belong to validation, which can then show the value as it was written.

use std::fmt;

use schemars::json_schema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::scalar::{self, inline_schema, NumberOrString};

/// Unit names (lowercase) and the power of 1024 each stands for.
const UNITS: [(&str, u32); 10] = [
    ("b", 0),
    ("k", 1),
    ("kb", 1),
    ("kib", 1),
    ("m", 2),
    ("mb", 2),
    ("mib", 2),
    ("g", 3),
    ("gb", 3),
    ("gib", 3),
];

/// What a size may look like, as said in messages.
const EXPECTED: &str = "a number of bytes or a size like \"512MB\"";

/// A size in bytes, with the string it was written as (when it was one with a unit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ByteSize {
    /// Bytes; negative or huge values are kept for validation to report.
    pub(crate) bytes: i128,
    /// The string as written, for messages; `None` when it was a plain number.
    pub(crate) written: Option<String>,
}

impl From<u64> for ByteSize {
    fn from(bytes: u64) -> Self {
        Self {
            bytes: bytes.into(),
            written: None,
        }
    }
}

/// Shown as written: `"512MB"` quoted, a plain number as is.
impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.written {
            Some(text) => write!(f, "{text:?}"),
            None => self.bytes.fmt(f),
        }
    }
}

/// Bytes in a unit when that is exact (`64 MiB`), else as a count (`1000 bytes`).
pub(crate) fn format_bytes(bytes: u64) -> String {
    for (unit, size) in [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] {
        if bytes >= size && bytes.is_multiple_of(size) {
            return format!("{} {unit}", bytes / size);
        }
    }
    format!("{bytes} bytes")
}

/// Parses `"1.5 GB"`-style text; `None` when it is not a size.
fn parse(text: &str) -> Option<i128> {
    let text = text.trim();
    if let Ok(bytes) = text.parse::<i128>() {
        return Some(bytes);
    }
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = (text[..split].trim_end(), &text[split..]);
    let unit = unit.to_ascii_lowercase();
    let &(_, power) = UNITS.iter().find(|(name, _)| *name == unit)?;
    let (whole, fraction) = match number.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (number, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !fraction.is_none_or(digits) {
        return None;
    }
    let factor = 1024_i128.pow(power);
    match fraction {
        // Whole numbers stay exact; a value too long for i128 is far beyond any limit anyway.
        None => Some(
            whole
                .parse::<i128>()
                .map_or(i128::MAX, |n| n.saturating_mul(factor)),
        ),
        // `as` saturates, which is what an absurdly large size should do.
        Some(_) => number
            .parse::<f64>()
            .ok()
            .map(|n| (n * factor as f64).floor() as i128),
    }
}

impl NumberOrString for ByteSize {
    const EXPECTED: &'static str = EXPECTED;

    fn whole(bytes: i128) -> Self {
        Self {
            bytes,
            written: None,
        }
    }

    /// `1024.0` is accepted, as for integers; a fraction of a byte is not.
    fn float(value: f64) -> Result<Self, String> {
        if value.fract() == 0.0 && value.abs() < 1e18 {
            Ok(Self::whole(value as i128))
        } else {
            Err(format!("expected {EXPECTED}, got {value}"))
        }
    }

    fn text(value: &str) -> Result<Self, String> {
        let bytes = parse(value).ok_or_else(|| {
            format!(
                "expected {EXPECTED} (units B, K, KB, KiB, M, MB, MiB, G, GB, GiB), got {value:?}"
            )
        })?;
        // Digits alone are a byte count and read like one.
        let digits_only = value.trim().parse::<i128>().is_ok();
        Ok(Self {
            bytes,
            written: (!digits_only).then(|| value.to_owned()),
        })
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        scalar::deserialize(deserializer)
    }
}

impl Serialize for ByteSize {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        scalar::serialize_whole(self.bytes, serializer)
    }
}

// Bounds added by field attributes constrain only the number form.
inline_schema!(ByteSize, "ByteSize", |_| json_schema!({
    "type": ["integer", "string"],
    "pattern": concat!(
        r"^\s*[0-9]+\s*$",
        r"|^\s*[0-9]+(\.[0-9]+)?\s*([KkMmGg]([Ii]?[Bb])?|[Bb])\s*$",
        r"|\{\{?[A-Za-z0-9_]+\}\}?"
    )
}));

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const KIB: i128 = 1024;
    const MIB: i128 = 1024 * KIB;
    const GIB: i128 = 1024 * MIB;

    fn bytes(value: serde_json::Value) -> Result<i128, String> {
        ByteSize::deserialize(value)
            .map(|size| size.bytes)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn every_unit_is_1024_based_in_any_case() {
        assert_eq!(bytes(json!("512MB")), Ok(512 * MIB));
        assert_eq!(bytes(json!("512mb")), Ok(512 * MIB));
        assert_eq!(bytes(json!("256MiB")), Ok(256 * MIB));
        assert_eq!(bytes(json!("256M")), Ok(256 * MIB));
        assert_eq!(bytes(json!("4GB")), Ok(4 * GIB));
        assert_eq!(bytes(json!("4 gib")), Ok(4 * GIB));
        assert_eq!(bytes(json!("64kB")), Ok(64 * KIB));
        assert_eq!(bytes(json!("64K")), Ok(64 * KIB));
        assert_eq!(bytes(json!("100B")), Ok(100));
        assert_eq!(bytes(json!(" 2G ")), Ok(2 * GIB));
    }

    #[test]
    fn fractions_round_down_to_whole_bytes() {
        assert_eq!(bytes(json!("1.5G")), Ok(3 * GIB / 2));
        assert_eq!(bytes(json!("0.5 GB")), Ok(512 * MIB));
        assert_eq!(bytes(json!("1.0001K")), Ok(1024));
    }

    #[test]
    fn numbers_and_digit_strings_count_bytes() {
        assert_eq!(bytes(json!(1048576)), Ok(MIB));
        assert_eq!(bytes(json!("1048576")), Ok(MIB));
        assert_eq!(bytes(json!(-1)), Ok(-1));
        assert_eq!(bytes(json!(1024.0)), Ok(1024));
        assert_eq!(
            bytes(json!("99999999999999999999999999999999999999999GB")),
            Ok(i128::MAX)
        );
    }

    #[test]
    fn rejects_other_text_naming_the_units() {
        let units = "(units B, K, KB, KiB, M, MB, MiB, G, GB, GiB)";
        for text in [
            "12TB",
            "lots",
            "GB",
            "1.G",
            ".5G",
            "1.5",
            "-1GB",
            "1 2GB",
            "5 MB extra",
        ] {
            assert_eq!(
                bytes(json!(text)).unwrap_err(),
                format!(
                    "expected a number of bytes or a size like \"512MB\" {units}, got {text:?}"
                ),
            );
        }
        assert_eq!(
            bytes(json!(1.5)).unwrap_err(),
            "expected a number of bytes or a size like \"512MB\", got 1.5"
        );
        assert!(bytes(json!(true)).unwrap_err().starts_with("invalid type"));
    }

    #[test]
    fn displays_as_written() {
        let size = ByteSize::deserialize(json!("1.5G")).unwrap();
        assert_eq!(size.to_string(), r#""1.5G""#);
        let size = ByteSize::deserialize(json!("2048")).unwrap();
        assert_eq!(size.to_string(), "2048");
    }

    #[test]
    fn formats_exact_units() {
        assert_eq!(format_bytes(4 << 30), "4 GiB");
        assert_eq!(format_bytes(1536 << 20), "1536 MiB");
        assert_eq!(format_bytes(16 << 20), "16 MiB");
        assert_eq!(format_bytes(2048), "2 KiB");
        assert_eq!(format_bytes(1000), "1000 bytes");
        assert_eq!(format_bytes(0), "0 bytes");
    }
}
