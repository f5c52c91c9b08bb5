//! Usage errors as one line that names what is wrong. clap puts the details (the missing
//! argument's name, the similar option it suggests) on lines of their own after the first, so
//! printing only its first line would drop exactly them ("were not provided:" and nothing).
use clap::error::ErrorKind;

use crate::helpers::say;
use crate::run::tally::EXIT_USAGE;

/// Help and version go to stdout with status 0; every real usage error is one line on stderr
/// and status 255.
pub fn exit(e: clap::Error) -> ! {
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => e.exit(),
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            std::process::exit(EXIT_USAGE);
        }
        _ => {
            say::line(&format!("inflight: {}", one_line(&e.render().to_string())));
            std::process::exit(EXIT_USAGE);
        }
    }
}

/// Joins the lines of a clap error up to its usage block: a line ending in ':' runs into the
/// next, others are separated by "; ".
fn one_line(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with("Usage:") || line.starts_with("For more information") {
            break;
        }
        let line = line.strip_prefix("error: ").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push_str(if out.ends_with(':') { " " } else { "; " });
        }
        out.push_str(line);
    }
    if out.is_empty() {
        out.push_str("bad arguments");
    }
    out.push_str(" (see --help)");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::Parser;

    fn message(argv: &[&str]) -> String {
        one_line(&Cli::try_parse_from(argv).unwrap_err().render().to_string())
    }

    #[test]
    fn messages_name_what_is_wrong() {
        let m = message(&["inflight", "exec"]);
        assert!(m.contains("<CMD [ARGS]... [::: INPUTS]...>"), "{m}");
        let m = message(&["inflight", "exec", "--timout", "5s", "--", "echo"]);
        assert!(m.contains("'--timout'") && m.contains("'--timeout'"), "{m}");
        let m = message(&["inflight", "fetch", "--max-redirects", "-1"]);
        assert!(m.contains("--max-redirects"), "{m}");
        assert!(!m.contains('\n'));
    }
}
