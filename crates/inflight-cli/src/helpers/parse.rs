//! Parsers for the human-friendly values on the command line: durations, sizes, rates, job
//! counts. Each returns a one-line message on error, which clap prints after the flag name.
//!
//! Every value has a range, so that no value can overflow a clock or a counter, or ask for
//! what no machine has (a million threads): durations up to 365 days, rates up to 10^9 a
//! second and down to one per 365 days, sizes up to 1 EiB, counts of jobs at once up to [`MOST`].
use std::time::Duration;

/// The most jobs (or requests, or places of a shared limit) at once: far above what the
/// descriptors and processes of one machine allow, far below where a counter could overflow.
pub const MOST: usize = 1_000_000;

/// The longest duration any option takes: a year (more would be "never", and could overflow
/// the clocks it is added to).
pub const LONGEST: Duration = Duration::from_secs(365 * 24 * 3600);

/// The largest size any option takes: 1 EiB (2^60 bytes), far past any disk.
const LARGEST_SIZE: u64 = 1 << 60;

/// The shortest interval between two starts of `--rate`: 10^9 a second.
const SHORTEST_INTERVAL_SECS: f64 = 1e-9;

/// Parses a duration: `10s`, `500ms`, `2m`, `1h`, `1d`, `1.5s`, or a plain number of
/// seconds, at most [`LONGEST`]. Zero is rejected, because a zero timeout or period is always
/// a mistake.
pub fn duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    not_negative(s)?;
    let (num, unit) = split_number(s);
    let scale = match unit.to_ascii_lowercase().as_str() {
        "" | "s" | "sec" | "secs" => 1.0,
        "ms" => 0.001,
        "m" | "min" | "mins" => 60.0,
        "h" | "hr" | "hrs" => 3600.0,
        "d" | "day" | "days" => 86400.0,
        _ => {
            return Err(format!(
                "unknown unit '{unit}' (use ms, s, m, h or d, e.g. 10s, 500ms)"
            ))
        }
    };
    let value = number(num, s)?;
    let secs = value * scale;
    if secs <= 0.0 {
        return Err("must be greater than zero".into());
    }
    if secs > LONGEST.as_secs_f64() {
        return Err("must be at most 365d".into());
    }
    Duration::try_from_secs_f64(secs).map_err(|_| format!("duration '{s}' is out of range"))
}

/// A leading `-` is never a value of ours: say so rather than "not a number".
fn not_negative(s: &str) -> Result<(), String> {
    match s.strip_prefix('-') {
        Some(_) => Err("must not be negative".into()),
        None => Ok(()),
    }
}

/// Parses `--term-grace`: a duration as [`duration`], or 0 (SIGKILL at once).
pub fn grace(s: &str) -> Result<Duration, String> {
    if s.trim().parse::<f64>() == Ok(0.0) {
        return Ok(Duration::ZERO);
    }
    duration(s)
}

/// Parses a size in bytes: `1MB`, `512K`, `2GiB`, `100` (bytes). `K`, `KB` and `KiB` all mean
/// 1024, as in curl and GNU tools: a cap is a guard, not an accounting unit.
pub fn size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    not_negative(s)?;
    let (num, unit) = split_number(s);
    let shift = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        _ => {
            return Err(format!(
                "unknown unit '{unit}' (use K, M, G or T, e.g. 512K, 1MB)"
            ))
        }
    };
    let value = number(num, s)?;
    let bytes = value * (1u64 << shift) as f64;
    if bytes < 1.0 {
        return Err("must be at least one byte".into());
    }
    if bytes > LARGEST_SIZE as f64 {
        return Err("must be at most 1048576T (1 EiB)".into());
    }
    Ok(bytes as u64)
}

/// Parses a rate such as `20/s`, `100/m`, `5/h` or a plain `20` (per second), and returns the
/// interval between two starts: from 10^9 a second to one per 365 days.
pub fn rate(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    not_negative(s)?;
    let (count, per) = match s.split_once('/') {
        Some((c, p)) => (c.trim(), p.trim()),
        None => (s, "s"),
    };
    let period = match per.to_ascii_lowercase().as_str() {
        "s" | "sec" | "second" => 1.0,
        "m" | "min" | "minute" => 60.0,
        "h" | "hour" => 3600.0,
        _ => {
            return Err(format!(
                "unknown period '{per}' (use N/s, N/m or N/h, e.g. 20/s)"
            ))
        }
    };
    let n = number(count, s)?;
    if n <= 0.0 {
        return Err("rate must be greater than zero".into());
    }
    let interval = period / n;
    if interval < SHORTEST_INTERVAL_SECS {
        return Err("rate must be at most 1000000000/s".into());
    }
    if interval > LONGEST.as_secs_f64() {
        return Err("rate must be at least one per 365 days".into());
    }
    Duration::try_from_secs_f64(interval).map_err(|_| format!("rate '{s}' is out of range"))
}

/// Parses a limit such as `-j` or `--per-host`: a whole number from 1 to [`MOST`].
pub fn limit(s: &str) -> Result<usize, String> {
    count(s, 1, MOST)
}

/// `--threads`: from 1 to 1024 (a thread per core is all that helps; tens of thousands abort).
pub fn threads(s: &str) -> Result<usize, String> {
    count(s, 1, 1024)
}

/// Inputs per Redis call (`--batch`, `--read-batch`): from 1 to 10000.
pub fn batch(s: &str) -> Result<usize, String> {
    count(s, 1, 10_000)
}

/// `--max-pending`: from 1 to 10^9 (Redis counts in doubles; a queue past that is a mistake).
pub fn pending(s: &str) -> Result<usize, String> {
    count(s, 1, 1_000_000_000)
}

/// `--max-redirects`: from 0 to 1000.
pub fn redirects(s: &str) -> Result<usize, String> {
    count(s, 0, 1000)
}

/// A whole number in `least..=most`.
pub fn count(s: &str, least: usize, most: usize) -> Result<usize, String> {
    let t = s.trim();
    not_negative(t).map_err(|_| format!("must be at least {least}"))?;
    match t.parse::<u128>() {
        Ok(n) if n < least as u128 => Err(format!("must be at least {least}")),
        Ok(n) if n > most as u128 => Err(format!("must be at most {most}")),
        Ok(n) => Ok(n as usize),
        Err(_) if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) => {
            Err(format!("must be at most {most}"))
        }
        Err(_) => Err(format!("'{s}' is not a whole number")),
    }
}

/// Splits `"1.5ms"` into `("1.5", "ms")`.
fn split_number(s: &str) -> (&str, &str) {
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    (&s[..end], s[end..].trim())
}

fn number(num: &str, whole: &str) -> Result<f64, String> {
    match num.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(format!("'{whole}' does not start with a number")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(duration("3"), Ok(Duration::from_secs(3)));
        assert_eq!(duration("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(duration("1h"), Ok(Duration::from_secs(3600)));
        assert!(duration("0").is_err());
        assert!(duration("").is_err());
        assert!(duration("ten").is_err());
        assert!(duration("10x").is_err());
        assert!(duration("-1s").is_err());
        assert!(duration("1e400").is_err());
        assert_eq!(duration("365d"), Ok(LONGEST));
        assert!(duration("366d").unwrap_err().contains("at most 365d"));
        assert!(duration("1000000000000000000").is_err());
        assert!(duration("-5").unwrap_err().contains("negative"));
        assert_eq!(grace("0"), Ok(Duration::ZERO));
        assert_eq!(grace("250ms"), Ok(Duration::from_millis(250)));
        assert!(grace("-1").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(size("100"), Ok(100));
        assert_eq!(size("512K"), Ok(512 * 1024));
        assert_eq!(size("1MB"), Ok(1 << 20));
        assert_eq!(size("1.5k"), Ok(1536));
        assert_eq!(size("2GiB"), Ok(2 << 30));
        assert!(size("0").is_err());
        assert!(size("1Q").is_err());
        assert!(size("MB").is_err());
        assert!(size("99999999T").is_err());
        assert_eq!(size("1048576T"), Ok(1 << 60));
        assert!(size("1048577T").is_err());
        assert!(size("2305843009213693952").is_err());
        assert!(size("-1M").unwrap_err().contains("negative"));
    }

    #[test]
    fn rates() {
        assert_eq!(rate("20/s"), Ok(Duration::from_millis(50)));
        assert_eq!(rate("100/m"), Ok(Duration::from_millis(600)));
        assert_eq!(rate("2"), Ok(Duration::from_millis(500)));
        assert_eq!(rate("1/h"), Ok(Duration::from_secs(3600)));
        assert!(rate("0/s").is_err());
        assert!(rate("5/d").is_err());
        assert!(rate("fast").is_err());
        assert_eq!(rate("1000000000/s"), Ok(Duration::from_nanos(1)));
        assert!(rate("10000000000/s").unwrap_err().contains("at most"));
        assert!(rate("0.0000000000000000001/s")
            .unwrap_err()
            .contains("at least"));
        assert!(rate("-5/s").is_err());
    }

    #[test]
    fn limits() {
        assert_eq!(limit("3"), Ok(3));
        assert!(limit("0").is_err());
        assert!(limit("-1").is_err());
        assert!(limit("many").is_err());
        assert_eq!(limit("1000000"), Ok(MOST));
        assert!(limit("1000001").unwrap_err().contains("at most 1000000"));
        assert!(limit("2305843009213693952")
            .unwrap_err()
            .contains("at most"));
        assert!(limit("999999999999999999999999999999999999999999")
            .unwrap_err()
            .contains("at most"));
        assert!(threads("100000").unwrap_err().contains("at most 1024"));
        assert_eq!(redirects("0"), Ok(0));
        assert!(redirects("-1").is_err());
    }
}
