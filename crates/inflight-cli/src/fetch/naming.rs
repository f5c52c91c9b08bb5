//! `--save-as TEMPLATE`: file names made from a template instead of the URL's last segment, e.g.
//! `{#}.html` (the input's number) or `{host}-{name}`.
//!
//! A template stays inside DIR by construction: its literal text may hold only the characters
//! that sanitised names hold (letters, digits, `. - _ + = , @ ~`) and may not start with a
//! dot, and every placeholder expands to a sanitised value, so the result is one plain,
//! visible path component whatever the URL says. Checked once, when the options are read.
use reqwest::Url;

use crate::fetch::names;

/// A parsed `--save-as`.
#[derive(Clone, Debug, PartialEq)]
pub struct NameTemplate(Vec<Part>);

#[derive(Clone, Debug, PartialEq)]
enum Part {
    Text(String),
    /// `{#}`: the input's 1-based number.
    Seq,
    /// `{name}`: the name the URL would give (its last path segment, sanitised).
    Name,
    /// `{host}`: the URL's host (with a port that is not the default), sanitised.
    Host,
}

/// Longest name a template makes, in bytes (as `names`: room left for a suffix).
const MAX_NAME: usize = 200;

impl NameTemplate {
    /// Parses a template; the error is one line saying what is wrong.
    pub fn parse(text: &str) -> Result<NameTemplate, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('{') {
                let end = after
                    .find('}')
                    .ok_or("an unclosed '{' (placeholders are {#}, {name} and {host})")?;
                parts.push(match &after[..end] {
                    "#" => Part::Seq,
                    "name" => Part::Name,
                    "host" => Part::Host,
                    other => {
                        return Err(format!(
                            "unknown placeholder '{{{other}}}' (use {{#}}, {{name}} or {{host}})"
                        ))
                    }
                });
                rest = &after[end + 1..];
            } else {
                let end = rest.find('{').unwrap_or(rest.len());
                let literal = &rest[..end];
                // Dots may lead a literal after a placeholder ('{#}.html'); a leading dot of the
                // whole name is refused below.
                let inner = literal.trim_start_matches('.');
                if names::sanitize(inner) != inner {
                    return Err(format!(
                        "'{literal}' cannot be part of a file name: use letters, digits and . - _ + = , @ ~ (not '/', and not a leading '.')"
                    ));
                }
                parts.push(Part::Text(literal.to_string()));
                rest = &rest[end..];
            }
        }
        if parts.is_empty() {
            return Err("an empty name".into());
        }
        if let Some(Part::Text(first)) = parts.first() {
            if first.starts_with('.') {
                return Err("a name may not start with '.'".into());
            }
        }
        Ok(NameTemplate(parts))
    }

    /// The name for input `seq`, fetched from `url`: always one plain component.
    pub fn render(&self, seq: u64, url: &Url) -> String {
        let mut out = String::new();
        for part in &self.0 {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Seq => out.push_str(&seq.to_string()),
                Part::Name => out.push_str(&names::for_url(url)),
                Part::Host => out.push_str(&names::host(url)),
            }
        }
        // Placeholders are sanitised already; cutting may not leave a broken character.
        let mut end = out.len().min(MAX_NAME);
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out.truncate(end);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(template: &str, seq: u64, url: &str) -> String {
        NameTemplate::parse(template)
            .unwrap()
            .render(seq, &Url::parse(url).unwrap())
    }

    #[test]
    fn placeholders() {
        assert_eq!(render("{#}.html", 7, "http://h/a/b?c"), "7.html");
        assert_eq!(
            render("{host}-{name}", 1, "http://h:81/a/b.txt"),
            "h_81-b.txt"
        );
        assert_eq!(
            render("page{#}_{name}", 2, "http://h/%2e%2e%2f%2e%2e%2fetc"),
            "page2__._.._etc"
        );
        let long = format!("http://h/{}", "é".repeat(300));
        let name = render("x{name}{name}", 1, &long);
        assert!(name.len() <= MAX_NAME && names::is_single_component(&name));
    }

    #[test]
    fn templates_that_could_leave_dir_are_refused() {
        for bad in [
            "../{#}", "a/{#}", ".{#}", "..", "", "{#", "{url}", "a b{#}", "{#}\\x", "{#}/",
        ] {
            assert!(NameTemplate::parse(bad).is_err(), "{bad:?}");
        }
        assert!(NameTemplate::parse("{#}.html").is_ok());
        assert!(NameTemplate::parse("a.{#}").is_ok());
    }
}
