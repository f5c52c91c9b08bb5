//! `-H/--header`, `--header-file` and `-A/--user-agent`: the headers sent with every request.
//!
//! Header values are often secrets (tokens, cookies), so no message ever shows one: an error
//! names the option, the file and line, and the header's name, never its value. (clap is not
//! asked to parse them for the same reason: its errors quote the value.)
use std::path::Path;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, USER_AGENT};

/// The default User-Agent.
pub const DEFAULT_USER_AGENT: &str = concat!("inflight/", env!("CARGO_PKG_VERSION"));

/// The headers of every request: the User-Agent (default, then `-A`), then the files' headers,
/// then `-H`; the last value given for a name is the one sent, and a name with an empty value
/// is not sent at all.
pub fn build(
    cli: &[String],
    files: &[impl AsRef<Path>],
    user_agent: Option<&str>,
) -> Result<HeaderMap, String> {
    let mut headers = HeaderMap::new();
    let agent = user_agent.unwrap_or(DEFAULT_USER_AGENT);
    if !agent.is_empty() {
        let value = HeaderValue::from_str(agent)
            .map_err(|_| "--user-agent: the value holds characters a header cannot".to_string())?;
        headers.insert(USER_AGENT, value);
    }
    for file in files {
        let file = file.as_ref();
        let text = std::fs::read(file)
            .map_err(|e| format!("cannot read --header-file {}: {e}", file.display()))?;
        let mut lines = Vec::new();
        for (n, line) in text.split(|&b| b == b'\n').enumerate() {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let trimmed = line.trim_ascii();
            if trimmed.is_empty() || trimmed.starts_with(b"#") {
                continue;
            }
            let header = parse(line)
                .map_err(|e| format!("--header-file {} line {}: {e}", file.display(), n + 1))?;
            lines.push(header);
        }
        merge(&mut headers, lines);
    }
    let given = cli
        .iter()
        .map(|h| parse(h.as_bytes()).map_err(|e| format!("--header: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    merge(&mut headers, given);
    Ok(headers)
}

/// Adds one source's headers: each replaces what came before for its name; an empty value
/// removes the name.
fn merge(headers: &mut HeaderMap, source: Vec<(HeaderName, Option<HeaderValue>)>) {
    for (name, value) in source {
        match value {
            Some(value) => headers.insert(name, value),
            None => headers.remove(name),
        };
    }
}

/// `Name: value` → the header; `Name:` → the name with no value (remove it).
fn parse(line: &[u8]) -> Result<(HeaderName, Option<HeaderValue>), String> {
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return Err("expected 'Name: value' (no ':' found; the text is not shown)".into());
    };
    let name = line[..colon].trim_ascii();
    let shown = String::from_utf8_lossy(name);
    let name = HeaderName::from_bytes(name).map_err(|_| {
        // Not echoed: a mistyped line such as `Authorization=Bearer TOKEN:...` would show
        // its secret.
        let bad = name
            .iter()
            .position(|&b| !(b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)));
        match bad {
            Some(at) => format!(
                "not a valid header name: byte {} ({:?}) cannot be in one (the text is not shown)",
                at + 1,
                char::from(name[at])
            ),
            None => "an empty header name".to_string(),
        }
    })?;
    let value = line[colon + 1..].trim_ascii();
    if value.is_empty() {
        return Ok((name, None));
    }
    let value = HeaderValue::from_bytes(value).map_err(|_| {
        format!("the value of '{shown}' holds characters a header cannot (the value is not shown)")
    })?;
    Ok((name, Some(value)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_in_order_and_repeats() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("h");
        std::fs::write(
            &file,
            "# tokens\r\nAuthorization: Bearer file\r\n\r\nX-A: 1\nX-A: 2\nX-Keep: k\n",
        )
        .unwrap();
        let h = build(
            &["Authorization: Bearer cli".into(), "X-A: 3".into()],
            &[&file],
            Some("bot/1"),
        )
        .unwrap();
        assert_eq!(h["authorization"], "Bearer cli");
        assert_eq!(h.get_all("x-a").iter().collect::<Vec<_>>(), ["3"]);
        assert_eq!(h["x-keep"], "k");
        assert_eq!(h[USER_AGENT], "bot/1");
        let h = build(&[], &[&file], None).unwrap();
        assert_eq!(h.get_all("x-a").iter().collect::<Vec<_>>(), ["2"]);
        let h = build(&["User-Agent:".into()], &[] as &[&Path], None).unwrap();
        assert!(h.get(USER_AGENT).is_none());
        let h = build(&[], &[] as &[&Path], None).unwrap();
        assert_eq!(h[USER_AGENT], DEFAULT_USER_AGENT);
    }

    #[test]
    fn errors_never_show_values() {
        for bad in [
            "Authorization Bearer s3cret",
            "X-T: s3cret\u{1}",
            "Bad Name: s3cret",
            "Authorization=Bearer s3cret:x",
        ] {
            let e = build(&[bad.into()], &[] as &[&Path], None).unwrap_err();
            assert!(!e.contains("s3cret") && e.starts_with("--header: "), "{e}");
        }
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("h");
        std::fs::write(&file, "A: 1\nno colon s3cret\n").unwrap();
        let e = build(&[], &[&file], None).unwrap_err();
        assert!(e.contains("line 2") && !e.contains("s3cret"), "{e}");
    }
}
