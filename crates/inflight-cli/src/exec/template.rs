//! The exec command template: GNU parallel's replacement strings, and inputs after `:::`.
//!
//! `{}` the input, `{.}` without its extension, `{/}` its basename, `{//}` its dirname, `{/.}`
//! the basename without extension, `{#}` the job number and `{%}` the job slot. Everything is
//! bytes (`OsString`), so an input that is not UTF-8 reaches the command unchanged.
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

/// A command with placeholders.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    args: Vec<Vec<u8>>,
    /// Whether any argument mentions the input (`{}`, `{.}`, ...); if none does, the input is
    /// appended (as xargs and GNU parallel do).
    has_input: bool,
    /// Whether any argument mentions `{%}`, so slots are handed out only when used.
    pub uses_slot: bool,
}

/// The inputs given after `:::`, as bytes.
pub type Inputs = Vec<Vec<u8>>;

/// The replacement strings, longest first where one is a prefix of another.
const PLACEHOLDERS: [(&[u8], Part); 7] = [
    (b"{}", Part::Input),
    (b"{.}", Part::NoExt),
    (b"{/.}", Part::BaseNoExt),
    (b"{//}", Part::Dir),
    (b"{/}", Part::Base),
    (b"{#}", Part::Seq),
    (b"{%}", Part::Slot),
];

#[derive(Clone, Copy, Debug, PartialEq)]
enum Part {
    Input,
    NoExt,
    Base,
    Dir,
    BaseNoExt,
    Seq,
    Slot,
}

impl Template {
    /// Splits `CMD ARGS... [::: INPUTS...]` into the template and the `:::` inputs, if any.
    pub fn parse(words: Vec<OsString>) -> Result<(Template, Option<Inputs>), String> {
        let mut words: Vec<Vec<u8>> = words.into_iter().map(OsString::into_vec).collect();
        let inputs = match words.iter().position(|w| w == b":::") {
            Some(at) => {
                let inputs = words.split_off(at + 1);
                words.pop();
                if inputs.iter().any(|w| w == b":::") {
                    return Err("only one ::: group is supported".into());
                }
                Some(inputs)
            }
            None => None,
        };
        if words.is_empty() {
            return Err(
                "no command given (usage: inflight exec [OPTIONS] -- CMD [ARGS]...)".into(),
            );
        }
        let mentions = |pred: fn(Part) -> bool| {
            words.iter().any(|w| {
                PLACEHOLDERS
                    .iter()
                    .any(|(p, part)| pred(*part) && w.windows(p.len()).any(|x| x == *p))
            })
        };
        let has_input = mentions(|p| !matches!(p, Part::Seq | Part::Slot));
        let uses_slot = mentions(|p| p == Part::Slot);
        Ok((
            Template {
                args: words,
                has_input,
                uses_slot,
            },
            inputs,
        ))
    }

    /// The argument vector for one job. Substitution is one pass, so an input that itself
    /// contains `{#}` or `{}` is passed through untouched.
    pub fn render(&self, input: &[u8], seq: u64, slot: usize) -> Vec<OsString> {
        let mut argv: Vec<OsString> = self
            .args
            .iter()
            .map(|arg| OsString::from_vec(substitute(arg, input, seq, slot)))
            .collect();
        if !self.has_input {
            argv.push(OsStr::from_bytes(input).to_owned());
        }
        argv
    }
}

fn substitute(arg: &[u8], input: &[u8], seq: u64, slot: usize) -> Vec<u8> {
    if !arg.contains(&b'{') {
        return arg.to_vec();
    }
    let mut out = Vec::with_capacity(arg.len() + input.len());
    let mut rest = arg;
    while let Some(at) = rest.iter().position(|&b| b == b'{') {
        out.extend_from_slice(&rest[..at]);
        let tail = &rest[at..];
        match PLACEHOLDERS.iter().find(|(p, _)| tail.starts_with(p)) {
            Some((p, part)) => {
                match part {
                    Part::Input => out.extend_from_slice(input),
                    Part::NoExt => out.extend_from_slice(no_ext(input)),
                    Part::Base => out.extend_from_slice(base(input)),
                    Part::Dir => out.extend_from_slice(&dir(input)),
                    Part::BaseNoExt => out.extend_from_slice(no_ext(base(input))),
                    Part::Seq => out.extend_from_slice(seq.to_string().as_bytes()),
                    Part::Slot => out.extend_from_slice(slot.to_string().as_bytes()),
                }
                rest = &tail[p.len()..];
            }
            None => {
                out.push(b'{');
                rest = &tail[1..];
            }
        }
    }
    out.extend_from_slice(rest);
    out
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
        let (t, inputs) = Template::parse(words(&["echo", "{#}:{}", "x{}y", "{", "{x}"])).unwrap();
        assert_eq!(inputs, None);
        assert_eq!(render(&t, "a b", 7), ["echo", "7:a b", "xa by", "{", "{x}"]);
        assert_eq!(render(&t, "{#}", 1), ["echo", "1:{#}", "x{#}y", "{", "{x}"]);
    }

    #[test]
    fn gnu_parallel_replacement_strings() {
        let (t, _) = Template::parse(words(&["{.}|{/}|{//}|{/.}|{%}"])).unwrap();
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
        let (t, _) = Template::parse(words(&["cat", "{}"])).unwrap();
        let argv = t.render(b"data\xff", 1, 1);
        assert_eq!(argv[1].as_bytes(), b"data\xff");
    }

    #[test]
    fn appends_without_placeholder() {
        let (t, _) = Template::parse(words(&["echo", "job", "{#}"])).unwrap();
        assert!(!t.uses_slot);
        assert_eq!(render(&t, "in", 3), ["echo", "job", "3", "in"]);
        let (t, _) = Template::parse(words(&["echo", "{/}"])).unwrap();
        assert_eq!(render(&t, "d/in", 3), ["echo", "in"]);
    }

    #[test]
    fn triple_colon_inputs() {
        let (t, inputs) = Template::parse(words(&["echo", ":::", "a", "b"])).unwrap();
        assert_eq!(inputs, Some(vec![b"a".to_vec(), b"b".to_vec()]));
        assert_eq!(render(&t, "a", 1), ["echo", "a"]);
        assert!(Template::parse(words(&[":::", "a"])).is_err());
        assert!(Template::parse(words(&["echo", ":::", "a", ":::", "b"])).is_err());
    }
}
