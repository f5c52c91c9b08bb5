//! The exec command template: GNU parallel's replacement strings.
//!
//! `{}` the input, `{.}` without its extension, `{/}` its basename, `{//}` its dirname, `{/.}`
//! the basename without extension, `{#}` the job number and `{%}` the job slot. With several
//! input sources (see `sources`), `{N}` is the value of source N (`{-N}` counted from the
//! last), with the same modifiers (`{N.}`, `{N/}`, `{N//}`, `{N/.}`), and `{}` is every value,
//! one argument each, as parallel's shell would split them. Any replacement string, `{#}` and
//! `{%}` included, means the input is not appended. Everything is bytes (`OsString`), so an
//! input that is not UTF-8 reaches the command unchanged.
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

/// A command with placeholders.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    args: Vec<Vec<Piece>>,
    /// How many input sources a job's input holds (joined by NUL, see `sources`).
    sources: usize,
    /// Whether any argument holds a replacement string; if none does, the input's values are
    /// appended (as xargs and GNU parallel do).
    replaces: bool,
    /// Whether any argument mentions `{%}`, so slots are handed out only when used.
    pub uses_slot: bool,
}

/// One piece of an argument.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(Vec<u8>),
    /// A value, changed by `Part`: of one source (0-based), or of every source (`None`).
    Value(Option<usize>, Part),
    Seq,
    Slot,
}

/// What is taken of a value.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Part {
    Whole,
    NoExt,
    Base,
    Dir,
    BaseNoExt,
}

/// The modifiers after `{` or `{N`, longest first where one is a prefix of another.
const PARTS: [(&[u8], Part); 5] = [
    (b"}", Part::Whole),
    (b".}", Part::NoExt),
    (b"/.}", Part::BaseNoExt),
    (b"//}", Part::Dir),
    (b"/}", Part::Base),
];

/// GNU parallel's `--plus` strings: meant as replacement strings, never as text.
const PLUS: [&[u8]; 9] = [
    b"{##}", b"{+/}", b"{+.}", b"{+..}", b"{+...}", b"{..}", b"{...}", b"{/..}", b"{/...}",
];

impl Template {
    /// The template of `words` (the command and its arguments) for jobs whose inputs hold
    /// `sources` values (1 for stdin or a single list). An unsupported replacement string, or
    /// a source number there is no source for, is an error.
    pub fn parse(words: Vec<OsString>, sources: usize) -> Result<Template, String> {
        if words.is_empty() {
            return Err(
                "no command given (usage: inflight exec [OPTIONS] -- CMD [ARGS]...)".into(),
            );
        }
        let args = words
            .into_iter()
            .map(|w| pieces(&w.into_vec(), sources))
            .collect::<Result<Vec<_>, _>>()?;
        let any = |pred: fn(&Piece) -> bool| args.iter().flatten().any(pred);
        Ok(Template {
            replaces: any(|p| !matches!(p, Piece::Text(_))),
            uses_slot: any(|p| *p == Piece::Slot),
            args,
            sources: sources.max(1),
        })
    }

    /// How many values a job's input holds.
    pub fn sources(&self) -> usize {
        self.sources
    }

    /// The argument vector for one job. Substitution is one pass, so an input that itself
    /// contains `{#}` or `{}` is passed through untouched.
    pub fn render(&self, input: &[u8], seq: u64, slot: usize) -> Vec<OsString> {
        let values = split(input, self.sources);
        let mut argv = Vec::with_capacity(self.args.len() + 1);
        for arg in &self.args {
            // A word that holds `{}` with several values becomes several words: the first
            // value joins the text before, the last the text after.
            let mut words = vec![Vec::new()];
            for piece in arg {
                let last = words.len() - 1;
                match piece {
                    Piece::Text(text) => words[last].extend_from_slice(text),
                    Piece::Seq => words[last].extend_from_slice(seq.to_string().as_bytes()),
                    Piece::Slot => words[last].extend_from_slice(slot.to_string().as_bytes()),
                    Piece::Value(Some(n), part) => {
                        let value = values.get(*n).copied().unwrap_or_default();
                        take(&mut words[last], value, *part);
                    }
                    Piece::Value(None, part) => {
                        for (i, value) in values.iter().enumerate() {
                            if i > 0 {
                                words.push(Vec::new());
                            }
                            let last = words.len() - 1;
                            take(&mut words[last], value, *part);
                        }
                    }
                }
            }
            argv.extend(words.into_iter().map(OsString::from_vec));
        }
        if !self.replaces {
            argv.extend(values.iter().map(|v| OsStr::from_bytes(v).to_owned()));
        }
        argv
    }
}

/// The values of an input of `sources` sources (joined by NUL, which no argument can hold).
pub fn split(input: &[u8], sources: usize) -> Vec<&[u8]> {
    if sources <= 1 {
        vec![input]
    } else {
        input.split(|&b| b == 0).collect()
    }
}

fn take(out: &mut Vec<u8>, value: &[u8], part: Part) {
    match part {
        Part::Whole => out.extend_from_slice(value),
        Part::NoExt => out.extend_from_slice(no_ext(value)),
        Part::Base => out.extend_from_slice(base(value)),
        Part::Dir => out.extend_from_slice(&dir(value)),
        Part::BaseNoExt => out.extend_from_slice(no_ext(base(value))),
    }
}

/// The pieces of one argument.
fn pieces(arg: &[u8], sources: usize) -> Result<Vec<Piece>, String> {
    let mut out = Vec::new();
    let mut text = Vec::new();
    let mut rest = arg;
    while let Some(at) = rest.iter().position(|&b| b == b'{') {
        text.extend_from_slice(&rest[..at]);
        let tail = &rest[at..];
        match replacement(tail, sources)? {
            Some((piece, len)) => {
                if !text.is_empty() {
                    out.push(Piece::Text(std::mem::take(&mut text)));
                }
                out.push(piece);
                rest = &tail[len..];
            }
            None => {
                text.push(b'{');
                rest = &tail[1..];
            }
        }
    }
    text.extend_from_slice(rest);
    if !text.is_empty() || out.is_empty() {
        out.push(Piece::Text(text));
    }
    Ok(out)
}

/// The replacement string at the start of `s` (which starts with `{`) and its length, `None`
/// for text that only looks like one (`{print $1}`, JSON), or an error for one that inflight
/// does not have.
fn replacement(s: &[u8], sources: usize) -> Result<Option<(Piece, usize)>, String> {
    let shown = |len: usize| String::from_utf8_lossy(&s[..len]).into_owned();
    if s.starts_with(b"{#}") {
        return Ok(Some((Piece::Seq, 3)));
    }
    if s.starts_with(b"{%}") {
        return Ok(Some((Piece::Slot, 3)));
    }
    if let Some(p) = PLUS.iter().find(|p| s.starts_with(p)) {
        return Err(format!(
            "'{}' is a replacement string of GNU parallel's --plus, which inflight does not have",
            shown(p.len())
        ));
    }
    if s.starts_with(b"{=") {
        if let Some(end) = s.windows(2).position(|w| w == b"=}") {
            if end >= 2 {
                return Err(format!(
                    "'{}': perl expressions ({{= ... =}}) are not supported; use sh -c with the value as \"$1\"",
                    shown(end + 2)
                ));
            }
        }
    }
    let body = &s[1..];
    if let Some((len, part)) = part_at(body) {
        return Ok(Some((Piece::Value(None, part), 1 + len)));
    }
    // `{N...}` or `{-N...}`.
    let negative = body.first() == Some(&b'-');
    let digits = &body[usize::from(negative)..];
    let count = digits.iter().take_while(|b| b.is_ascii_digit()).count();
    if count == 0 {
        return Ok(None);
    }
    let Some((len, part)) = part_at(&digits[count..]) else {
        return Ok(None); // `{1x}`: text, as in parallel
    };
    let total = 1 + usize::from(negative) + count + len;
    let n = std::str::from_utf8(&digits[..count])
        .ok()
        .and_then(|d| d.parse::<usize>().ok())
        .unwrap_or(usize::MAX);
    let sources = sources.max(1);
    let index = match (negative, n) {
        (_, 0) => None,
        (false, n) if n <= sources => Some(n - 1),
        (true, n) if n <= sources => Some(sources - n),
        _ => None,
    };
    match index {
        Some(i) => Ok(Some((Piece::Value(Some(i), part), total))),
        None => Err(format!(
            "'{}' names an input source that is not there: there {} {sources} (sources are numbered from 1: {{1}}, {{2}}, ..., or from the last: {{-1}})",
            shown(total),
            if sources == 1 { "is" } else { "are" }
        )),
    }
}

/// The modifier (and closing brace) at the start of `s`, and its length.
fn part_at(s: &[u8]) -> Option<(usize, Part)> {
    PARTS
        .iter()
        .find(|(p, _)| s.starts_with(p))
        .map(|(p, part)| (p.len(), *part))
}

/// `{/}`: everything after the last `/` (`a/b/` gives an empty string, as in GNU parallel).
fn base(s: &[u8]) -> &[u8] {
    match s.iter().rposition(|&b| b == b'/') {
        Some(at) => &s[at + 1..],
        None => s,
    }
}

/// `{.}`: without the last `.` after the last `/` and what follows it.
fn no_ext(s: &[u8]) -> &[u8] {
    let start = s.iter().rposition(|&b| b == b'/').map_or(0, |at| at + 1);
    match s[start..].iter().rposition(|&b| b == b'.') {
        Some(dot) => &s[..start + dot],
        None => s,
    }
}

/// `{//}`: POSIX dirname, as GNU parallel's: `a/b/` gives `a`, `file` gives `.`, `/x` gives `/`.
fn dir(s: &[u8]) -> Vec<u8> {
    let trimmed = trim_slashes(s);
    if trimmed.is_empty() {
        return if s.is_empty() {
            b".".to_vec()
        } else {
            b"/".to_vec()
        };
    }
    match trimmed.iter().rposition(|&b| b == b'/') {
        None => b".".to_vec(),
        Some(at) => {
            let parent = trim_slashes(&trimmed[..at]);
            if parent.is_empty() {
                b"/".to_vec()
            } else {
                parent.to_vec()
            }
        }
    }
}

fn trim_slashes(s: &[u8]) -> &[u8] {
    let end = s.iter().rposition(|&b| b != b'/').map_or(0, |at| at + 1);
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(w: &[&str]) -> Vec<OsString> {
        w.iter().map(OsString::from).collect()
    }

    fn render(t: &Template, input: &str, seq: u64) -> Vec<String> {
        t.render(input.as_bytes(), seq, 2)
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn placeholders() {
        let t = Template::parse(words(&["echo", "{#}:{}", "x{}y", "{", "{x}"]), 1).unwrap();
        assert_eq!(render(&t, "a b", 7), ["echo", "7:a b", "xa by", "{", "{x}"]);
        assert_eq!(render(&t, "{#}", 1), ["echo", "1:{#}", "x{#}y", "{", "{x}"]);
    }

    #[test]
    fn gnu_parallel_replacement_strings() {
        let t = Template::parse(words(&["{.}|{/}|{//}|{/.}|{%}"]), 1).unwrap();
        assert!(t.uses_slot);
        // The same cases as `parallel echo '{.}|{/}|{//}|{/.}' ::: ...` gives.
        for (input, want) in [
            ("a/b.c.txt", "a/b.c|b.c.txt|a|b.c|2"),
            ("foo/.bashrc", "foo/|.bashrc|foo||2"),
            ("a/b/", "a/b/||a||2"),
            ("file", "file|file|.|file|2"),
            ("/abs", "/abs|abs|/|abs|2"),
            ("plain.tar.gz", "plain.tar|plain.tar.gz|.|plain.tar|2"),
            ("a.b/c", "a.b/c|c|a.b|c|2"),
            ("x/", "x/||.||2"),
            (".", "|.|.||2"),
            ("..", ".|..|.|.|2"),
        ] {
            assert_eq!(render(&t, input, 1), [want], "{input}");
        }
    }

    #[test]
    fn bytes_pass_through() {
        let t = Template::parse(words(&["cat", "{}"]), 1).unwrap();
        let argv = t.render(b"data\xff", 1, 1);
        assert_eq!(argv[1].as_bytes(), b"data\xff");
    }

    #[test]
    fn appends_only_without_any_replacement_string() {
        let t = Template::parse(words(&["echo", "job"]), 1).unwrap();
        assert!(!t.uses_slot);
        assert_eq!(render(&t, "in", 3), ["echo", "job", "in"]);
        let t = Template::parse(words(&["echo", "job", "{#}"]), 1).unwrap();
        assert_eq!(render(&t, "in", 3), ["echo", "job", "3"]);
        let t = Template::parse(words(&["echo", "{%}"]), 1).unwrap();
        assert_eq!(render(&t, "in", 3), ["echo", "2"]);
        let t = Template::parse(words(&["echo", "{/}"]), 1).unwrap();
        assert_eq!(render(&t, "d/in", 3), ["echo", "in"]);
        let t = Template::parse(words(&["echo"]), 2).unwrap();
        assert_eq!(render(&t, "a\0b c", 3), ["echo", "a", "b c"]);
    }

    #[test]
    fn several_sources() {
        let t = Template::parse(words(&["x{}y", "{2}-{1.}", "{-1/}"]), 2).unwrap();
        assert_eq!(render(&t, "a.b\0d/e", 1), ["xa.b", "d/ey", "d/e-a", "e"]);
        let t = Template::parse(words(&["{1}", "{01}"]), 1).unwrap();
        assert_eq!(render(&t, "a\0b", 1), ["a\0b", "a\0b"].map(String::from));
    }

    #[test]
    fn unsupported_strings_are_errors_and_braces_of_other_kinds_are_text() {
        for bad in [
            "{= s/a/b/ =}",
            "x{=1 uc =}",
            "{0}",
            "{3}",
            "{-3}",
            "{##}",
            "{+/}",
            "{..}",
        ] {
            assert!(Template::parse(words(&["echo", bad]), 2).is_err(), "{bad}");
        }
        assert!(Template::parse(words(&["echo", "{2}"]), 1).is_err());
        let t =
            Template::parse(words(&["awk", "{print $1}", "{=", "=}", "{1x}", "{-}"]), 2).unwrap();
        assert_eq!(
            render(&t, "a\0b", 1),
            ["awk", "{print $1}", "{=", "=}", "{1x}", "{-}", "a", "b"]
        );
        assert!(Template::parse(vec![], 1).is_err());
    }
}
