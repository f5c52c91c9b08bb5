//! The command line, declared with clap's derive API. Values are parsed and checked here (see
//! `parse`), so a bad argument is a usage error before anything runs.
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::helpers::parse;
use crate::run::halt::Halt;

/// Run jobs and fetch URLs with a bounded number in flight.
///
/// Inputs are read lazily, one line at a time, so millions of inputs use constant memory.
///
/// Exit status: 0 if every job succeeded (or a `--halt ...,success=N` rule was met); otherwise
/// the number of failed jobs up to 100, and 101 for more;
/// 128 + N after signal N (130 Ctrl-C, 129 SIGHUP, 131 SIGQUIT, 143 SIGTERM; the running jobs'
/// process groups are killed first); 141 when stdout is a closed pipe (as after SIGPIPE); 255
/// for bad arguments, or when the input, the log or the output directory cannot be read or
/// written, or when Redis refuses (URL, password, version) or stays unreachable past
/// --redis-timeout.
///
/// Many processes on many machines work as one run through a Redis server: shared limits
/// (--global-jobs, --global-rate, --global-per-host) and work queues (`inflight queue`,
/// --queue). See USAGE.md, "More than one machine".
#[derive(Parser, Debug)]
#[command(name = "inflight", version, about, long_about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a command once per input (lines of stdin, or the arguments after `:::`).
    ///
    /// `{}` in the command is replaced by the input, passed as (part of) one argument and never
    /// through a shell. GNU parallel's other replacement strings work too: `{.}` the input
    /// without extension, `{/}` its basename, `{//}` its dirname, `{/.}` the basename without
    /// extension, `{#}` the job number (1-based input position), `{%}` the job slot (1 to -j).
    /// Without an input placeholder, the input is appended as the last argument. Inputs are
    /// bytes, passed on exactly, UTF-8 or not.
    ///
    /// Options come before the command; put `--` before a command that starts with `-`. For a
    /// shell, write `sh -c` yourself and pass the input as an argument ("$1"), never inside the
    /// script, where the shell would run what it contains.
    ///
    /// Each job's stdout, and separately its stderr, is printed as one block when it finishes
    /// (held in memory up to 1 MiB a stream and 64 MiB in all, past that in a temporary file).
    ///
    /// Example: seq 1 9 | inflight exec -j 3 -- sh -c 'sleep 1; echo done "$1"' _ {}
    Exec(Box<ExecArgs>),
    /// Download URLs (one a line, from FILE or stdin; blank lines are skipped).
    ///
    /// Only http and https. Redirects are followed (up to --max-redirects). A job succeeds on a
    /// 2xx response whose whole body arrived. Without -o, bodies are downloaded, counted and
    /// discarded: only the log (--log) and the summary are written, which suits checking or
    /// warming many URLs. With -o DIR, each body is saved under DIR with a name made from the
    /// URL's last path segment, sanitised so it can never leave DIR; a taken name gets a
    /// numeric suffix (page-1.html). The log's `path` field says which file holds which URL.
    /// Passwords in URLs are masked (user:***@host) on stderr and in the log.
    Fetch(Box<FetchArgs>),
    /// Work queues on Redis: push inputs once, run workers anywhere (`exec --queue`, `fetch
    /// --queue`), read status and results.
    Queue(crate::redis::queue_cmd::QueueArgs),
    /// Read or change live the shared limits of running processes (`--global-*`).
    Limits(crate::redis::limits_cmd::LimitsArgs),
    /// Print a shell completion script: bash, zsh, fish, elvish or powershell.
    ///
    /// bash: inflight completions bash > ~/.local/share/bash-completion/completions/inflight
    /// zsh: inflight completions zsh > ~/.zfunc/_inflight (with ~/.zfunc in $fpath)
    /// fish: inflight completions fish > ~/.config/fish/completions/inflight.fish
    Completions {
        #[arg(value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) on stdout, or with DIR write inflight.1, inflight-exec.1 and
    /// inflight-fetch.1 there.
    ///
    /// Example: inflight man | man -l -
    Man {
        #[arg(value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

/// Options shared by `exec` and `fetch`.
#[derive(Args, Debug, Clone)]
pub struct Common {
    /// How many jobs run at once [default: number of CPUs for exec, 50 for fetch]. `auto`
    /// adapts the number while the run goes on, from the jobs' latencies and (fetch) the
    /// server's refusals (429, 503, connection resets), up to 1000 or to MAX with `auto:MAX`;
    /// the progress line shows it and the summary says where it settled.
    #[arg(short = 'j', long = "jobs", value_name = "N|auto|auto:MAX",
          value_parser = crate::run::jobs::Jobs::parse, allow_negative_numbers = true)]
    pub jobs: Option<crate::run::jobs::Jobs>,

    /// Time limit for one attempt (e.g. 10s, 500ms, 2m; a plain number is seconds). exec sends
    /// SIGTERM to the job's whole process group, then SIGKILL after --term-grace, and prints
    /// what the job wrote; fetch cuts the request, like curl --max-time.
    #[arg(long, value_name = "DURATION", value_parser = parse::duration)]
    pub timeout: Option<Duration>,

    /// Retry a failed job up to N more times, with exponential backoff and jitter.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        allow_negative_numbers = true
    )]
    pub retries: u32,

    /// Start at most this many attempts per period, evenly spaced (e.g. 20/s, 100/m, 5/h).
    #[arg(long, value_name = "N/PERIOD", value_parser = parse::rate)]
    pub rate: Option<Duration>,

    /// Stop early on failures, as GNU parallel: `soon,fail=N` stops starting jobs after N
    /// failures and waits for the running ones; `now,fail=N` kills them too. N may be a
    /// percentage of the jobs finished so far (`soon,fail=10%`), and `success=`/`done=` count
    /// successes or all finished jobs instead.
    #[arg(long, value_name = "RULE", value_parser = parse_halt)]
    pub halt: Option<HaltRule>,

    /// Append one JSON line per finished input: input, seq, ok, status, error, attempts, ms
    /// (and for fetch, bytes and path). Each line is written as soon as its job finishes. An
    /// input that is not UTF-8 also gets input_b64, its exact bytes in base64, which --resume
    /// compares.
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,

    /// Skip the inputs whose latest record in --log succeeded, and append to the log. With
    /// fetch -o, also continue unfinished downloads with Range requests.
    #[arg(long, requires = "log")]
    pub resume: bool,

    /// Show the progress bar on stderr even when it is not a terminal.
    #[arg(long)]
    pub bar: bool,

    /// Hide the progress bar and the summary line.
    #[arg(short = 'q', long, conflicts_with = "bar")]
    pub quiet: bool,

    /// Inputs are separated by NUL instead of newline (for find -print0, xargs -0).
    #[arg(short = '0', long = "null")]
    pub null: bool,

    /// Longest input line (e.g. 64K, 1M). A longer one is read to its end but not kept: its
    /// job fails with "longer than --max-line" and the run goes on.
    #[arg(long, value_name = "SIZE", value_parser = parse::size, default_value = "1M")]
    pub max_line: u64,

    #[command(flatten)]
    pub redis: crate::redis::options::RedisArgs,
}

/// `inflight exec`.
#[derive(Args, Debug)]
pub struct ExecArgs {
    #[command(flatten)]
    pub common: Common,

    /// Print outputs in input order. While an early job runs long, later jobs go on running,
    /// until 1024 finished ones (or -j, if more) wait for it; then no more start.
    #[arg(short = 'k', long)]
    pub keep_order: bool,

    /// After --timeout, how long a job has between SIGTERM and SIGKILL (to its whole process
    /// group), as GNU parallel's --termseq; 0 kills at once.
    #[arg(long, value_name = "DURATION", value_parser = parse::grace, default_value = "1s")]
    pub term_grace: Duration,

    /// The command and its arguments, optionally followed by `:::` and the inputs. Options
    /// of inflight come before it; an unknown one is an error, not a command.
    #[arg(
        required = true,
        trailing_var_arg = true,
        value_name = "CMD [ARGS]... [::: INPUTS]...",
        value_parser = clap::value_parser!(OsString)
    )]
    pub command: Vec<OsString>,
}

/// `inflight fetch`.
#[derive(Args, Debug)]
pub struct FetchArgs {
    #[command(flatten)]
    pub common: Common,

    /// At most N requests at once to one host (host:port of the input URL).
    #[arg(long, value_name = "N", value_parser = parse::limit)]
    pub per_host: Option<usize>,

    /// Largest body to accept (e.g. 512K, 1MB; K = 1024). A larger body is cut off and the job
    /// fails with "too large".
    #[arg(long, value_name = "SIZE", value_parser = parse::size)]
    pub max_size: Option<u64>,

    /// Save bodies under DIR (created if missing). Without it, bodies are counted and discarded.
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    pub output: Option<PathBuf>,

    /// Follow at most this many redirects per request (only to http and https).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 10,
        allow_negative_numbers = true
    )]
    pub max_redirects: usize,

    #[command(flatten)]
    pub crawl: crate::fetch::crawl::CrawlArgs,

    /// File of URLs, one a line [default: stdin].
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,

    #[command(flatten)]
    pub redis_fetch: crate::redis::options::FetchRedisArgs,
}

/// A parsed `--halt`; `None` inside means `never`.
#[derive(Clone, Copy, Debug)]
pub struct HaltRule(pub Option<Halt>);

fn parse_halt(s: &str) -> Result<HaltRule, String> {
    Halt::parse(s).map(HaltRule)
}

impl Common {
    /// The `--halt` rule, if any.
    pub fn halt(&self) -> Option<Halt> {
        self.halt.and_then(|h| h.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn exec_takes_everything_after_the_options() {
        let cli = Cli::try_parse_from([
            "inflight", "exec", "-j", "3", "-k", "--", "echo", "-n", "{}", ":::", "a",
        ])
        .unwrap();
        let Command::Exec(args) = cli.command else {
            panic!("not exec")
        };
        assert_eq!(args.common.jobs, Some(crate::run::jobs::Jobs::Fixed(3)));
        assert!(args.keep_order);
        assert_eq!(args.command, ["echo", "-n", "{}", ":::", "a"]);
        let cli = Cli::try_parse_from(["inflight", "exec", "echo", "-n", "--timeout"]).unwrap();
        let Command::Exec(args) = cli.command else {
            panic!("not exec")
        };
        assert_eq!(args.command, ["echo", "-n", "--timeout"]);
    }

    #[test]
    fn bad_values_are_usage_errors() {
        for argv in [
            vec!["inflight", "exec", "-j", "0", "--", "true"],
            vec!["inflight", "exec", "--timeout", "soon", "--", "true"],
            vec!["inflight", "exec", "--halt", "maybe", "--", "true"],
            vec!["inflight", "exec", "--resume", "--", "true"],
            vec!["inflight", "fetch", "--max-size", "lots"],
            vec!["inflight", "fetch", "--rate", "0/s"],
            vec!["inflight", "exec", "--timout", "5s", "--", "echo"],
            vec!["inflight", "fetch", "--max-redirects", "-1"],
        ] {
            let err = Cli::try_parse_from(&argv).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{argv:?}");
        }
    }
}
