//! Cell parsers for contract column types. Each returns a reason string on failure,
//! which becomes the `reason` column of `rejects.csv`.

use chrono::{DateTime, NaiveDate, NaiveDateTime};

/// Marks an absent timestamp in `i64` timestamp columns.
pub const NO_TIME: i64 = i64::MIN;

/// Accepted timestamp range: 1970-01-01 up to (excluding) 2100-01-01, in unix seconds.
/// Anything outside is far likelier to be milliseconds or garbage than a real event time.
pub const TIME_RANGE: std::ops::Range<i64> = 0..4_102_444_800;

/// Parses ISO-8601 (`2026-11-01T08:30:00Z`, with offset, naive = UTC, or a bare date)
/// or unix seconds (integer or decimal; fractions are truncated).
pub fn timestamp(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let secs = if let Some(secs) = unix_seconds(s) {
        secs
    } else if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        t.timestamp()
    } else if let Some(t) = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
    {
        t.and_utc().timestamp()
    } else if let Ok(t) = DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f%:z") {
        t.timestamp()
    } else if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        d.and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc().timestamp())
            .unwrap_or(NO_TIME)
    } else {
        return Err(format!(
            "'{s}' is not an ISO-8601 timestamp or unix seconds"
        ));
    };
    check_time_range(secs)
}

/// Rejects times outside [`TIME_RANGE`], with a hint when the value looks like milliseconds.
pub fn check_time_range(secs: i64) -> Result<i64, String> {
    if TIME_RANGE.contains(&secs) {
        Ok(secs)
    } else if secs >= TIME_RANGE.end && secs / 1000 < TIME_RANGE.end {
        Err(format!(
            "{secs} is after 2100 as unix seconds (milliseconds?)"
        ))
    } else {
        Err(format!("{secs} is outside 1970..2100 as unix seconds"))
    }
}

fn unix_seconds(s: &str) -> Option<i64> {
    if !s
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_digit() || b == b'-')
    {
        return None;
    }
    if let Ok(v) = s.parse::<i64>() {
        return Some(v);
    }
    let v = s.parse::<f64>().ok().filter(|v| v.is_finite())?;
    (v.abs() < 9.0e15).then_some(v.trunc() as i64)
}

/// A star rating 1..=5; integral decimals such as `4.0` are accepted.
pub fn rating(s: &str) -> Result<u8, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a number"))?;
    if v.fract() != 0.0 || !(1.0..=5.0).contains(&v) {
        return Err(format!("rating {s} is outside the integers 1..=5"));
    }
    Ok(v as u8)
}

/// A finite number ≥ 0 (amounts, prices).
pub fn non_negative(s: &str) -> Result<f32, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a number"))?;
    if !v.is_finite() || v < 0.0 {
        return Err(format!("{s} is not a finite number >= 0"));
    }
    Ok(v as f32)
}

/// true/false, 1/0, yes/no, t/f (any case).
pub fn boolean(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "t" | "y" => Ok(true),
        "false" | "0" | "no" | "f" | "n" => Ok(false),
        _ => Err(format!("'{s}' is not a boolean")),
    }
}

/// A fraud label: 0 or 1 (`0.0`/`1.0`, `true`/`false` too).
pub fn label(s: &str) -> Result<u8, String> {
    match s.trim() {
        "0" | "0.0" | "false" => Ok(0),
        "1" | "1.0" | "true" => Ok(1),
        _ => Err(format!("label '{s}' is not 0 or 1")),
    }
}

/// Account kind as stored in the graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[repr(u8)]
pub enum AccountKind {
    /// Kind column absent or empty.
    #[default]
    Unknown = 0,
    /// A buying account.
    Buyer = 1,
    /// A selling account.
    Seller = 2,
}

impl AccountKind {
    /// `buyer`, `seller` or an empty string.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::Unknown => "",
            AccountKind::Buyer => "buyer",
            AccountKind::Seller => "seller",
        }
    }
}

/// `buyer` or `seller` (any case).
pub fn account_kind(s: &str) -> Result<AccountKind, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "buyer" => Ok(AccountKind::Buyer),
        "seller" => Ok(AccountKind::Seller),
        _ => Err(format!("kind '{s}' is not buyer or seller")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_in_every_documented_form_agree() {
        let t = 1_793_521_800; // 2026-11-01T08:30:00Z
        for s in [
            "1793521800",
            "1793521800.9",
            "2026-11-01T08:30:00Z",
            "2026-11-01T10:30:00+02:00",
            "2026-11-01T08:30:00",
            "2026-11-01 08:30:00",
            "2026-11-01T08:30:00.250",
            " 2026-11-01T08:30:00Z ",
        ] {
            assert_eq!(timestamp(s), Ok(t), "{s}");
        }
        assert_eq!(timestamp("2026-11-01"), Ok(t - 8 * 3600 - 30 * 60));
    }

    #[test]
    fn bad_timestamps_are_rejected_with_a_reason() {
        for s in [
            "yesterday",
            "2026-13-01",
            "2026-11-01T25:00:00",
            "",
            "1e400",
        ] {
            assert!(timestamp(s).is_err(), "{s}");
        }
        let ms = timestamp("1793521800000").unwrap_err();
        assert!(ms.contains("milliseconds"), "{ms}");
        assert!(timestamp("-5").is_err());
    }

    #[test]
    fn ratings_must_be_integers_one_to_five() {
        assert_eq!(rating("1"), Ok(1));
        assert_eq!(rating("5.0"), Ok(5));
        for s in ["0", "6", "4.5", "five", "-1", "NaN"] {
            assert!(rating(s).is_err(), "{s}");
        }
    }

    #[test]
    fn numbers_labels_bools_and_kinds() {
        assert_eq!(non_negative("12.5"), Ok(12.5));
        assert!(non_negative("-1").is_err());
        assert!(non_negative("inf").is_err());
        assert!(non_negative("12,5").is_err());
        assert_eq!(label("1"), Ok(1));
        assert_eq!(label("0.0"), Ok(0));
        assert!(label("2").is_err());
        assert_eq!(boolean("Yes"), Ok(true));
        assert_eq!(boolean("0"), Ok(false));
        assert!(boolean("maybe").is_err());
        assert_eq!(account_kind("Seller"), Ok(AccountKind::Seller));
        assert!(account_kind("admin").is_err());
    }
}
