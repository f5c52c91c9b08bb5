//! Parsers for the human-friendly values on the command line: durations, sizes, rates, job
//! counts. Each returns a one-line message on error, which clap prints after the flag name.
use std::time::Duration;

/// Parses a duration: `10s`, `500ms`, `2m`, `1h`, `1.5s`, or a plain number of seconds.
/// Zero is rejected, because a zero timeout or period is always a mistake.
pub fn duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = split_number(s);
    let scale = match unit.to_ascii_lowercase().as_str() {
        "" | "s" | "sec" | "secs" => 1.0,
        "ms" => 0.001,
        "m" | "min" | "mins" => 60.0,
        "h" | "hr" | "hrs" => 3600.0,
        _ => {
            return Err(format!(
                "unknown unit '{unit}' (use ms, s, m or h, e.g. 10s, 500ms)"
            ))
        }
    };
    let value = number(num, s)?;
    let secs = value * scale;
    if secs <= 0.0 {
        return Err("must be greater than zero".into());
    }
    Duration::try_from_secs_f64(secs).map_err(|_| format!("duration '{s}' is too large"))
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
    if bytes >= u64::MAX as f64 {
        return Err(format!("size '{s}' is too large"));
    }
    Ok(bytes as u64)
}

/// Parses a rate such as `20/s`, `100/m`, `5/h` or a plain `20` (per second), and returns the
/// interval between two starts.
pub fn rate(s: &str) -> Result<Duration, String> {
    let s = s.trim();
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
    Duration::try_from_secs_f64(period / n).map_err(|_| format!("rate '{s}' is out of range"))
}

/// Parses a limit such as `-j` or `--per-host`: a whole number, at least 1.
pub fn limit(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
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
    }

    #[test]
    fn limits() {
        assert_eq!(limit("3"), Ok(3));
        assert!(limit("0").is_err());
        assert!(limit("-1").is_err());
        assert!(limit("many").is_err());
    }
}
