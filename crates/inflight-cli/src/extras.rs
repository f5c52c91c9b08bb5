//! Shell completions and man pages, generated from the same clap definitions as the parser, so
//! they can never disagree with it.
use std::io::{self, Write};
use std::path::Path;

use clap::CommandFactory;

use crate::cli::Cli;

/// Prints the completion script for `shell`.
pub fn completions(shell: clap_complete::Shell) -> io::Result<()> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "inflight", &mut out);
    io::stdout().lock().write_all(&out)
}

/// Prints the man page of `inflight`, or writes it and one per subcommand into `dir`.
pub fn man(dir: Option<&Path>) -> io::Result<()> {
    match dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            clap_mangen::generate_to(Cli::command(), dir)
        }
        None => io::stdout().lock().write_all(&one_page()?),
    }
}

/// One page for `man -l`: clap_mangen's page of `inflight`, then for each of `exec` and
/// `fetch` its description and options under headings of their own (clap_mangen alone would
/// leave them to pages of their own, which `man -l -` cannot follow).
fn one_page() -> io::Result<Vec<u8>> {
    let mut cmd = Cli::command();
    cmd.build();
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut out)?;
    for sub in cmd
        .get_subcommands()
        .filter(|s| s.get_arguments().count() > 2)
    {
        let title = format!("INFLIGHT {}", sub.get_name().to_uppercase());
        let man = clap_mangen::Man::new(sub.clone());
        let mut part = Vec::new();
        man.render_description_section(&mut part)?;
        man.render_options_section(&mut part)?;
        let part = String::from_utf8_lossy(&part)
            .replace(".SH DESCRIPTION", &format!(".SH \"{title}\""))
            .replace(".SH OPTIONS", &format!(".SH \"{title} OPTIONS\""));
        out.extend_from_slice(part.as_bytes());
    }
    Ok(out)
}
