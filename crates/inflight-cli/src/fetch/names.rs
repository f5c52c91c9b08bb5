//! Safe output file names for `fetch -o DIR`.
//!
//! A name is one path component made from the URL's last non-empty path segment, percent-decoded
//! and then sanitised, so that `..`, `/`, `\`, absolute paths and encoded tricks such as
//! `%2e%2e%2f` cannot leave DIR: decoding happens *before* sanitising, and the result is checked
//! to be a single normal component. A taken name gets a numeric suffix (`page-1.html`), claimed
//! atomically by `save`, so two jobs never write the same file and nothing that exists is ever
//! replaced.
use std::path::{Component, Path};

use percent_encoding::percent_decode_str;

/// Longest name we produce, in bytes; well under the usual 255-byte limit, leaving room for the
/// collision suffix.
const MAX_NAME: usize = 200;
/// Longest extension a cut name keeps (with its dot).
const MAX_EXT: usize = 16;

/// Name used when the URL has no path segment (e.g. `http://host/`).
pub const DEFAULT_NAME: &str = "index.html";

/// The file name for a URL's body: a single, safe path component.
pub fn for_url(url: &reqwest::Url) -> String {
    let last = url
        .path_segments()
        .and_then(|segments| segments.rev().find(|s| !s.is_empty()))
        .unwrap_or("");
    let decoded = percent_decode_str(last).decode_utf8_lossy();
    let name = sanitize(&decoded);
    if name.is_empty() {
        DEFAULT_NAME.to_string()
    } else {
        name
    }
}

/// One path segment of a URL as a directory or file name: percent-decoded, then sanitised.
pub fn segment(raw: &str) -> String {
    sanitize(&percent_decode_str(raw).decode_utf8_lossy())
}

/// The host of a URL as a directory name, with its port when it is not the scheme's default
/// (`example.com`, `127.0.0.1_8080`); `_` when there is none.
pub fn host(url: &reqwest::Url) -> String {
    let host = match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_string(),
        (None, _) => String::new(),
    };
    let name = sanitize(&host);
    if name.is_empty() {
        "_".to_string()
    } else {
        name
    }
}

/// Replaces every character that could change the meaning of a path (separators, NUL, controls,
/// shell and Windows specials, whitespace) with `_`, and a leading dot too, so no result is `.`,
/// `..` or hidden. Cuts to `MAX_NAME` bytes on a character boundary, keeping a short extension
/// (`.pdf`, up to `MAX_EXT` bytes), which says what the file is.
pub fn sanitize(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len().min(MAX_NAME));
    for c in raw.chars() {
        let safe =
            c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | '+' | '=' | ',' | '@' | '~');
        let c = if !safe || (out.is_empty() && c == '.') {
            '_'
        } else {
            c
        };
        out.push(c);
    }
    if out.len() <= MAX_NAME {
        return out;
    }
    let ext = match out.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && ext.len() < MAX_EXT => format!(".{ext}"),
        _ => String::new(),
    };
    let mut cut = MAX_NAME - ext.len();
    while !out.is_char_boundary(cut) {
        cut -= 1;
    }
    out.truncate(cut);
    out.push_str(&ext);
    out
}

/// True if `name` is exactly one normal path component (not `.`, `..`, absolute or nested).
pub fn is_single_component(name: &str) -> bool {
    let mut parts = Path::new(name).components();
    matches!(parts.next(), Some(Component::Normal(_)))
        && parts.next().is_none()
        && !name.contains('/')
}

/// Candidate `n` for `name`: `name` itself for 0, else `stem-N.ext` (`name-N` without an
/// extension).
pub fn with_suffix(name: &str, n: u64) -> String {
    match (n, name.rsplit_once('.')) {
        (0, _) => name.to_string(),
        (n, Some((stem, ext))) if !stem.is_empty() => format!("{stem}-{n}.{ext}"),
        (n, _) => format!("{name}-{n}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(url: &str) -> String {
        for_url(&reqwest::Url::parse(url).unwrap())
    }

    #[test]
    fn plain_names() {
        assert_eq!(name("http://h/a/b/file.txt"), "file.txt");
        assert_eq!(name("http://h/a/dir/"), "dir");
        assert_eq!(name("http://h/"), "index.html");
        assert_eq!(name("http://h"), "index.html");
        assert_eq!(name("http://h/a%20b.txt?x=1#f"), "a_b.txt");
        assert_eq!(name("http://h/caf%C3%A9.txt"), "café.txt");
    }

    #[test]
    fn escapes_are_neutralised() {
        for url in [
            "http://h/..",
            "http://h/../../etc/passwd",
            "http://h/%2e%2e",
            "http://h/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
            "http://h/..%2f..%2fx",
            "http://h/%2E%2E%5C%2E%2E%5Cx",
            "http://h/%2fetc%2fpasswd",
            "http://h/a%00b",
            "http://h/%252e%252e%252f",
            "http://h/.hidden",
            "http://h/%2e",
        ] {
            let n = name(url);
            assert!(is_single_component(&n), "{url} -> {n}");
            assert!(!n.starts_with('.'), "{url} -> {n}");
            assert!(
                !n.contains('/') && !n.contains('\\') && !n.contains('\0'),
                "{url} -> {n}"
            );
        }
        assert_eq!(
            name("http://h/%2e%2e%2f%2e%2e%2fetc%2fpasswd"),
            "_._.._etc_passwd"
        );
    }

    #[test]
    fn long_names_are_cut() {
        let long = format!("http://h/{}", "é".repeat(300));
        let n = name(&long);
        assert!(n.len() <= MAX_NAME);
        assert!(n.chars().all(|c| c == 'é'));
        let long = format!("http://h/{}.pdf", "a".repeat(300));
        assert_eq!(name(&long), format!("{}.pdf", "a".repeat(MAX_NAME - 4)));
        let long = format!("http://h/{}.pdf?x", "é".repeat(300));
        let n = name(&long);
        assert!(n.len() <= MAX_NAME && n.ends_with("é.pdf"), "{n}");
        // A dot far from the end is not an extension.
        let long = format!("http://h/a.{}", "b".repeat(300));
        assert_eq!(name(&long), format!("a.{}", "b".repeat(MAX_NAME - 2)));
    }

    #[test]
    fn single_component() {
        assert!(is_single_component("a.txt"));
        for bad in ["", ".", "..", "/etc", "a/b", "../x"] {
            assert!(!is_single_component(bad), "{bad}");
        }
    }
}
