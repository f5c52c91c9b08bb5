//! `inflight queue push`: the lines of a file or stdin into a queue, lazily, with the
//! library's backpressure (`--max-pending`) and resume (a rerun skips what the queue holds).
//!
//! The input is read on a thread of its own, so a slow stdin (or a full queue) holds that
//! thread only; the Redis connection runs on the runtime. Lines that come slowly still go
//! out as they come: a batch waits at most `inflight_redis::LINGER` after its first line.
use std::io::{self, BufRead, BufReader, Read};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use clap::Args;
use inflight_redis::Queue;

use crate::helpers::{parse, say};
use crate::redis::options::NameArgs;

// The options of `inflight queue push` (its help is the doc of `QueueCommand::Push`).
#[derive(Args, Debug)]
pub struct PushArgs {
    #[command(flatten)]
    pub queue: NameArgs,

    /// File of inputs, one a line [default: stdin].
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,

    /// Wait while the queue holds this many inputs that no worker has taken yet.
    #[arg(long, value_name = "N", value_parser = parse::limit, default_value = "100000")]
    pub max_pending: usize,

    /// Leave the queue open at the end of the input (a later push of the same, longer,
    /// input adds the rest).
    #[arg(long, conflicts_with = "close")]
    pub keep_open: bool,

    /// Close the queue at the end of the input (the default).
    #[arg(long)]
    pub close: bool,

    /// Inputs are separated by NUL instead of newline.
    #[arg(short = '0', long = "null")]
    pub null: bool,

    /// Longest input line (e.g. 64K, 1M); a longer one stops the push with an error.
    #[arg(long, value_name = "SIZE", value_parser = parse::size, default_value = "1M")]
    pub max_line: u64,

    /// Inputs sent to Redis per script call.
    #[arg(long, value_name = "N", value_parser = parse::limit, default_value = "100")]
    pub batch: usize,
}

/// Pushes, then closes the queue (unless `--keep-open`); returns the exit status.
pub async fn push(queue: Queue, args: &PushArgs) -> Result<i32, String> {
    let reader: Box<dyn Read + Send> = match &args.file {
        Some(path) => Box::new(
            std::fs::File::open(path)
                .map_err(|e| format!("cannot open {}: {e}", path.display()))?,
        ),
        None => Box::new(io::stdin()),
    };
    let error = Arc::new(Mutex::new(None));
    let lines = Lines {
        reader: BufReader::with_capacity(64 * 1024, reader),
        delim: if args.null { 0 } else { b'\n' },
        max: usize::try_from(args.max_line).unwrap_or(usize::MAX),
        line: 0,
        error: error.clone(),
        ended: false,
    };
    // The lines are read on a thread of their own and handed over through a bounded channel:
    // a full queue stops the reading, and a slow producer's lines go out as they come (a
    // batch waits at most `inflight_redis::LINGER` for more).
    let (tx, mut rx) = tokio::sync::mpsc::channel::<String>(1024);
    std::thread::spawn(move || {
        for line in lines {
            if tx.blocking_send(line).is_err() {
                return;
            }
        }
    });
    let inputs = futures::stream::poll_fn(move |cx| rx.poll_recv(cx));
    let report = queue.push_stream(inputs).await.map_err(|e| e.to_string())?;
    let said = format!(
        "inflight: {} inputs pushed to queue {}{}",
        report.added,
        queue.name(),
        if report.skipped > 0 {
            format!(" ({} were in already)", report.skipped)
        } else {
            String::new()
        }
    );
    say::line(&said);
    let error = error.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some(error) = error {
        // Not closed: a fixed input pushed again goes on from here.
        return Err(error);
    }
    if !args.keep_open {
        queue.close().await.map_err(|e| e.to_string())?;
        say::line(&format!("inflight: queue {} closed", queue.name()));
    }
    Ok(0)
}

/// The inputs, one per line, read as the push asks for them. Blank lines are skipped. The
/// first line that cannot be an input (not UTF-8, longer than `--max-line`, a read error)
/// ends them, its message in `error`.
struct Lines {
    reader: BufReader<Box<dyn Read + Send>>,
    delim: u8,
    max: usize,
    /// Lines read so far (1-based number of the last one).
    line: u64,
    error: Arc<Mutex<Option<String>>>,
    /// Set at the end or at the first bad line: nothing more comes (the push may ask again).
    ended: bool,
}

impl Lines {
    fn fail(&mut self, message: String) -> Option<String> {
        self.ended = true;
        *self.error.lock().unwrap_or_else(|e| e.into_inner()) = Some(message);
        None
    }

    /// The next line without its delimiter (and `\r`), or `Err(length)` if over the cap.
    fn read_line(&mut self) -> io::Result<Option<Result<Vec<u8>, u64>>> {
        let mut line = Vec::new();
        let (mut len, mut any) = (0u64, false);
        loop {
            let buf = self.reader.fill_buf()?;
            if buf.is_empty() {
                if !any {
                    return Ok(None);
                }
                break;
            }
            any = true;
            let (end, found) = match memchr::memchr(self.delim, buf) {
                Some(at) => (at, true),
                None => (buf.len(), false),
            };
            let room = (self.max + 1).saturating_sub(line.len());
            line.extend_from_slice(&buf[..end.min(room)]);
            len += end as u64;
            self.reader.consume(end + usize::from(found));
            if found {
                break;
            }
        }
        if len > self.max as u64 {
            return Ok(Some(Err(len)));
        }
        if self.delim == b'\n' && line.last() == Some(&b'\r') {
            line.pop();
        }
        Ok(Some(Ok(line)))
    }
}

impl Iterator for Lines {
    type Item = String;

    fn next(&mut self) -> Option<String> {
        while !self.ended {
            let read = self.read_line();
            self.line += 1;
            let n = self.line;
            let bytes = match read {
                Ok(None) => {
                    self.ended = true;
                    return None;
                }
                Ok(Some(Ok(bytes))) => bytes,
                Ok(Some(Err(len))) => {
                    return self.fail(format!(
                    "line {n} is {len} bytes, longer than --max-line; nothing after it was pushed"
                ))
                }
                Err(e) => return self.fail(format!("cannot read input: {e}")),
            };
            if bytes.trim_ascii().is_empty() {
                continue;
            }
            return match String::from_utf8(bytes) {
                Ok(text) => Some(text),
                Err(_) => self.fail(format!(
                    "line {n} is not UTF-8 (queue inputs are text); nothing after it was pushed"
                )),
            };
        }
        None
    }
}
