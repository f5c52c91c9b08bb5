//! Passwords in URLs (`http://user:secret@host/`) are masked wherever inflight shows or logs a
//! URL, as curl does: `http://user:***@host/`. Done on the text, without parsing, so the rest
//! of the line stays exactly as given and a malformed URL is masked too.
use std::borrow::Cow;

/// The line with the password of its URL, if any, replaced by `***`.
pub fn password(line: &[u8]) -> Cow<'_, [u8]> {
    let Some(scheme_end) = line.windows(3).position(|w| w == b"://") else {
        return Cow::Borrowed(line);
    };
    let start = scheme_end + 3;
    let end = line[start..]
        .iter()
        .position(|b| matches!(b, b'/' | b'?' | b'#'))
        .map_or(line.len(), |at| start + at);
    let authority = &line[start..end];
    let Some(at) = authority.iter().rposition(|&b| b == b'@') else {
        return Cow::Borrowed(line);
    };
    let Some(colon) = authority[..at].iter().position(|&b| b == b':') else {
        return Cow::Borrowed(line);
    };
    let mut out = Vec::with_capacity(line.len());
    out.extend_from_slice(&line[..start + colon + 1]);
    out.extend_from_slice(b"***");
    out.extend_from_slice(&line[start + at..]);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(s: &str) -> String {
        String::from_utf8(password(s.as_bytes()).into_owned()).unwrap()
    }

    #[test]
    fn masks_only_passwords() {
        assert_eq!(
            masked("http://user:secret@host/a"),
            "http://user:***@host/a"
        );
        assert_eq!(
            masked("https://u:p@ss:w@h:8080?q=1"),
            "https://u:***@h:8080?q=1"
        );
        assert_eq!(masked("http://user@host/a:b@c"), "http://user@host/a:b@c");
        assert_eq!(masked("http://host:80/x"), "http://host:80/x");
        assert_eq!(masked("not a url"), "not a url");
        assert_eq!(masked("ht tp://a:b@c"), "ht tp://a:***@c");
    }
}
