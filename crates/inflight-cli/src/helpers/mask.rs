//! Passwords in URLs (`http://user:secret@host/`) are masked wherever inflight shows or logs a
//! URL, as curl does: `http://user:***@host/`. Done on the text, without parsing, so the rest
//! of the line stays exactly as given and a malformed URL is masked too. The spellings that
//! URL parsers accept for http(s) are covered too (`http:/u:p@h`, `http:\\u:p@h`,
//! `http:u:p@h`, `http:///u:p@h`), and a line without a scheme (`user:secret@host/x`): when in
//! doubt, more is masked, never less.
use std::borrow::Cow;

/// The line with the password of its URL, if any, replaced by `***`.
pub fn password(line: &[u8]) -> Cow<'_, [u8]> {
    // `scheme:`, if the line starts with one.
    let scheme = line.iter().position(|&b| b == b':').filter(|&colon| {
        colon > 0
            && line[0].is_ascii_alphabetic()
            && line[..colon]
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
    });
    // A line that does not start with a scheme may still hold a URL further on (a malformed
    // one, or text around it): its `://` marks the scheme's end.
    let Some(colon) = scheme.or_else(|| line.windows(3).position(|w| w == b"://")) else {
        return Cow::Borrowed(line);
    };
    // The authority: after any run of slashes (parsers take `/`, `//`, `///` and `\`), up to
    // the path, query or fragment.
    let mut start = colon + 1;
    let slashed = line.get(start).is_some_and(|b| matches!(b, b'/' | b'\\'));
    while line.get(start).is_some_and(|b| matches!(b, b'/' | b'\\')) {
        start += 1;
    }
    let end = line[start..]
        .iter()
        .position(|b| matches!(b, b'/' | b'\\' | b'?' | b'#'))
        .map_or(line.len(), |at| start + at);
    let authority = &line[start..end];
    let Some(at) = authority.iter().rposition(|&b| b == b'@') else {
        return Cow::Borrowed(line);
    };
    let hidden_from = match authority[..at].iter().position(|&b| b == b':') {
        // user:password@
        Some(user_colon) => start + user_colon + 1,
        // `name:word@host` without slashes: the "scheme" may be a user name and the word its
        // password (`user:secret@host`), or the word a user with no password (`http:u@h`):
        // mask the word either way.
        None if !slashed => start,
        // `scheme://user@host`: no password.
        None => return Cow::Borrowed(line),
    };
    let mut out = Vec::with_capacity(line.len());
    out.extend_from_slice(&line[..hidden_from]);
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
        assert_eq!(masked("plain@mail.example"), "plain@mail.example");
        assert_eq!(masked("ht tp://a:b@c"), "ht tp://a:***@c");
    }

    #[test]
    fn masks_the_spellings_parsers_accept_and_lines_without_a_scheme() {
        for (line, shown) in [
            (
                "http:/u:LEAK1@127.0.0.1:18082/x",
                "http:/u:***@127.0.0.1:18082/x",
            ),
            (
                "http:\\\\u:LEAK2@127.0.0.1:18082/y",
                "http:\\\\u:***@127.0.0.1:18082/y",
            ),
            (
                "http:u:LEAK3@127.0.0.1:18082/z",
                "http:u:***@127.0.0.1:18082/z",
            ),
            (
                "http:///u:LEAK4@127.0.0.1:18082/w",
                "http:///u:***@127.0.0.1:18082/w",
            ),
            ("user:secret14@127.0.0.1/x", "user:***@127.0.0.1/x"),
            ("HTTPS://u:p:q@h/", "HTTPS://u:***@h/"),
        ] {
            assert_eq!(masked(line), shown, "{line}");
        }
    }
}
