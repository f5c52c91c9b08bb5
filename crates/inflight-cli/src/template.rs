//! The exec command template: `{}` is the input, `{#}` the job number, and inputs after `:::`.

/// A command with placeholders.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    args: Vec<String>,
    /// Whether any argument mentions `{}`; if none does, the input is appended (as xargs and
    /// GNU parallel do).
    has_input: bool,
}

impl Template {
    /// Splits `CMD ARGS... [::: INPUTS...]` into the template and the `:::` inputs, if any.
    pub fn parse(mut words: Vec<String>) -> Result<(Template, Option<Vec<String>>), String> {
        let inputs = match words.iter().position(|w| w == ":::") {
            Some(at) => {
                let inputs = words.split_off(at + 1);
                words.pop();
                if inputs.iter().any(|w| w == ":::") {
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
        let has_input = words.iter().any(|w| w.contains("{}"));
        Ok((
            Template {
                args: words,
                has_input,
            },
            inputs,
        ))
    }

    /// The argument vector for one job. Substitution is one pass, so an input that itself
    /// contains `{#}` or `{}` is passed through untouched.
    pub fn render(&self, input: &str, seq: u64) -> Vec<String> {
        let seq = seq.to_string();
        let mut argv: Vec<String> = self
            .args
            .iter()
            .map(|arg| substitute(arg, input, &seq))
            .collect();
        if !self.has_input {
            argv.push(input.to_string());
        }
        argv
    }
}

fn substitute(arg: &str, input: &str, seq: &str) -> String {
    if !arg.contains('{') {
        return arg.to_string();
    }
    let mut out = String::with_capacity(arg.len() + input.len());
    let mut rest = arg;
    while let Some(at) = rest.find('{') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("{}") {
            out.push_str(input);
            rest = after;
        } else if let Some(after) = tail.strip_prefix("{#}") {
            out.push_str(seq);
            rest = after;
        } else {
            out.push('{');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(w: &[&str]) -> Vec<String> {
        w.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn placeholders() {
        let (t, inputs) = Template::parse(words(&["echo", "{#}:{}", "x{}y", "{", "{x}"])).unwrap();
        assert_eq!(inputs, None);
        assert_eq!(t.render("a b", 7), ["echo", "7:a b", "xa by", "{", "{x}"]);
        assert_eq!(t.render("{#}", 1), ["echo", "1:{#}", "x{#}y", "{", "{x}"]);
    }

    #[test]
    fn appends_without_placeholder() {
        let (t, _) = Template::parse(words(&["echo", "job", "{#}"])).unwrap();
        assert_eq!(t.render("in", 3), ["echo", "job", "3", "in"]);
    }

    #[test]
    fn triple_colon_inputs() {
        let (t, inputs) = Template::parse(words(&["echo", ":::", "a", "b"])).unwrap();
        assert_eq!(inputs, Some(words(&["a", "b"])));
        assert_eq!(t.render("a", 1), ["echo", "a"]);
        assert!(Template::parse(words(&[":::", "a"])).is_err());
        assert!(Template::parse(words(&["echo", ":::", "a", ":::", "b"])).is_err());
    }
}
