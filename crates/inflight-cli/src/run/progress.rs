//! The progress bar on stderr (indicatif). Shown when stderr is a terminal, or with `--bar`.
//! The total is unknown (input is read lazily, never counted ahead), so it shows counts and a
//! rate rather than a percentage, unless the inputs came from `:::`.
use std::io::{self, IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle, TermLike};

/// A bar, or nothing. Clones show the same bar.
#[derive(Clone)]
pub struct Progress {
    bar: Option<ProgressBar>,
    quiet: bool,
    /// With `-j auto`: the limit now, shown on the line.
    auto: std::sync::OnceLock<crate::run::jobs::AutoLimit>,
}

impl Progress {
    /// A bar if `force`, or if stderr is a terminal and not `quiet`. `total` is known only for
    /// `:::` inputs.
    pub fn new(force: bool, quiet: bool, total: Option<u64>) -> Progress {
        let tty = io::stderr().is_terminal();
        if quiet || !(force || tty) {
            return Progress {
                bar: None,
                quiet,
                auto: std::sync::OnceLock::new(),
            };
        }
        // Redraws are rate-limited by indicatif, so updating per job costs an atomic or two.
        let target = if tty {
            ProgressDrawTarget::stderr_with_hz(10)
        } else {
            ProgressDrawTarget::term_like_with_hz(Box::new(AnsiStderr), 10)
        };
        let (bar, template) = match total {
            Some(n) => (
                ProgressBar::with_draw_target(Some(n), target),
                "{prefix}{elapsed_precise} [{wide_bar}] {pos}/{len} {msg} eta {eta}",
            ),
            None => (
                ProgressBar::with_draw_target(None, target),
                "{prefix}{spinner} {elapsed_precise} {pos} done {msg}",
            ),
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.enable_steady_tick(Duration::from_millis(200));
        Progress {
            bar: Some(bar),
            quiet,
            auto: std::sync::OnceLock::new(),
        }
    }

    /// Shows an adaptive limit (`-j auto`) on the line from now on.
    pub fn show_limit(&self, auto: crate::run::jobs::AutoLimit) {
        let _ = self.auto.set(auto);
    }

    /// Whether `--quiet` asked for no bar and no summary.
    pub fn quiet(&self) -> bool {
        self.quiet
    }

    /// Counts one finished job.
    pub fn finished(&self, ok: u64, failed: u64) {
        if let Some(bar) = &self.bar {
            let done = ok + failed;
            bar.set_position(done);
            let rate = done as f64 / bar.elapsed().as_secs_f64().max(1e-3);
            let limit = match self.auto.get() {
                Some(auto) => format!(", {}", auto.now()),
                None => String::new(),
            };
            bar.set_message(format!("({ok} ok, {failed} failed, {rate:.1}/s{limit})"));
        }
    }

    /// Shows `note` at the head of the bar until replaced (empty: none), e.g. while jobs wait
    /// for Redis.
    pub fn note(&self, note: &str) {
        if let Some(bar) = &self.bar {
            bar.set_prefix(if note.is_empty() {
                String::new()
            } else {
                format!("[{note}] ")
            });
        }
    }

    /// Runs `f` (which writes to the terminal) with the bar hidden, so lines never mix.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    /// Removes the bar, leaving the terminal clean for the summary.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Stderr treated as an ANSI terminal even when it is a file or pipe: what `--bar` asks for.
#[derive(Debug)]
struct AnsiStderr;

impl TermLike for AnsiStderr {
    fn width(&self) -> u16 {
        80
    }
    fn move_cursor_up(&self, n: usize) -> io::Result<()> {
        cursor(n, "A")
    }
    fn move_cursor_down(&self, n: usize) -> io::Result<()> {
        cursor(n, "B")
    }
    fn move_cursor_right(&self, n: usize) -> io::Result<()> {
        cursor(n, "C")
    }
    fn move_cursor_left(&self, n: usize) -> io::Result<()> {
        cursor(n, "D")
    }
    fn write_line(&self, s: &str) -> io::Result<()> {
        ansi(&format!("{s}\n"))
    }
    fn write_str(&self, s: &str) -> io::Result<()> {
        ansi(s)
    }
    fn clear_line(&self) -> io::Result<()> {
        ansi("\r\x1b[2K")
    }
    fn flush(&self) -> io::Result<()> {
        io::stderr().flush()
    }
}

/// Moves the cursor `n` cells; `ESC[0A` would move one, so zero writes nothing.
fn cursor(n: usize, dir: &str) -> io::Result<()> {
    if n == 0 {
        return Ok(());
    }
    ansi(&format!("\x1b[{n}{dir}"))
}

fn ansi(s: &str) -> io::Result<()> {
    io::stderr().write_all(s.as_bytes())
}
