//! The `--log` file: one JSON object per finished input, and `--resume` reading it back.
//!
//! Each record is serialised whole and handed to the kernel in a single `write` on an unbuffered
//! append-mode file as soon as its job finishes, so a `kill -9` loses no finished record; at
//! worst the last line is torn, which resume tolerates (and `open` starts a fresh line after it).
//!
//! Inputs are bytes, and JSON strings hold only Unicode. An input that is valid UTF-8 (the
//! usual case, and every log written before) is `input` as is. One that is not gets `input`
//! with each invalid byte replaced by U+FFFD, for people and `grep`, plus `input_b64`: its
//! exact bytes in standard base64 (RFC 4648, padded; `jq -r .input_b64 | base64 -d`). Resume
//! keys on the exact bytes: `input_b64` when present, else `input`.
//!
//! A job of several input sources (exec's `::: a b ::: 1 2`) has `inputs`, its values in
//! source order (and `inputs_b64`, all of them in base64, when one is not UTF-8), and `input`
//! holds them joined by spaces, for people. Resume keys on the values, kept apart: `("a b",
//! "c")` is not `("a", "b c")`, nor the single input `a b c`.
use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::Mutex;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde::{Deserialize, Serialize};

/// One finished input.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Record {
    /// The input line (or `:::` argument) as given; bytes that are not UTF-8 become U+FFFD
    /// here and the exact bytes are in `input_b64`.
    pub input: String,
    /// The exact input bytes in base64, only when they are not UTF-8.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub input_b64: Option<String>,
    /// With several input sources: each source's value (bytes that are not UTF-8 as U+FFFD).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub inputs: Option<Vec<String>>,
    /// With several input sources of which a value is not UTF-8: every value in base64.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub inputs_b64: Option<Vec<String>>,
    /// 1-based position of the input (the `{#}` of exec).
    pub seq: u64,
    /// Whether the job succeeded (exit status 0, or an HTTP 2xx after redirects).
    pub ok: bool,
    /// Exit status of the command or HTTP status of the response; null if there was none
    /// (spawn failure, signal, timeout, connection error).
    pub status: Option<i64>,
    /// What went wrong, in one line; null when `ok`.
    pub error: Option<String>,
    /// How many attempts were made (0 if the input was rejected before any attempt).
    pub attempts: u32,
    /// Wall time from the first attempt's start to the end, in milliseconds.
    pub ms: u64,
    /// fetch: body bytes received in the last attempt.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub bytes: Option<u64>,
    /// fetch with `-o`: the file written, relative to the output directory.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub path: Option<String>,
    /// fetch with `-o`: bytes that an earlier attempt had saved and this one continued from
    /// (with a Range request); `bytes` counts the whole body.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub resumed_from: Option<u64>,
}

impl Record {
    /// Sets `input` (and `input_b64` when the bytes are not UTF-8).
    pub fn set_input(&mut self, bytes: &[u8]) {
        match std::str::from_utf8(bytes) {
            Ok(text) => {
                self.input = text.to_owned();
                self.input_b64 = None;
            }
            Err(_) => {
                self.input = String::from_utf8_lossy(bytes).into_owned();
                self.input_b64 = Some(BASE64.encode(bytes));
            }
        }
    }
}

impl Record {
    /// Sets the values of a job of several input sources: `inputs` (and `inputs_b64` when one
    /// is not UTF-8), and `input` as the values joined by spaces.
    pub fn set_inputs(&mut self, values: &[&[u8]]) {
        let shown: Vec<String> = values
            .iter()
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .collect();
        self.input = shown.join(" ");
        self.input_b64 = None;
        self.inputs_b64 = values
            .iter()
            .any(|v| std::str::from_utf8(v).is_err())
            .then(|| values.iter().map(|v| BASE64.encode(v)).collect());
        self.inputs = Some(shown);
    }
}

/// An open log: appends whole lines, one `write` each, from any task.
pub struct Log {
    file: Mutex<File>,
    /// Whether this run holds the log's lock (see [`Log::lock`]).
    locked: bool,
}

impl Log {
    /// Opens `path` for appending (creating it), ending a torn last line first so the next
    /// record starts on a line of its own.
    pub fn open(path: &Path) -> io::Result<Log> {
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)?;
        let len = file.metadata()?.len();
        if len > 0 {
            let mut last = [0u8; 1];
            file.seek(SeekFrom::Start(len - 1))?;
            file.read_exact(&mut last)?;
            if last[0] != b'\n' {
                file.write_all(b"\n")?;
            }
        }
        Ok(Log {
            file: Mutex::new(file),
            locked: false,
        })
    }

    /// Locks the log for this run (`flock`), so that a `--resume` never runs inputs whose
    /// first copies still run: the lock is held by the run and then by its jobs' guard (see
    /// `groups`) until they are gone, even after a SIGKILL. With `wait` (`--resume`), waits
    /// for another holder, saying so once; without, a log held by another run is used
    /// unlocked (two runs may append to one log). Returns whether the lock is held.
    pub fn lock(&mut self, wait: bool, path: &Path) -> io::Result<bool> {
        use rustix::fs::{flock, FlockOperation};
        let file = self.file.get_mut().unwrap_or_else(|e| e.into_inner());
        match flock(&*file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {
                self.locked = true;
                return Ok(true);
            }
            Err(e) if e == rustix::io::Errno::WOULDBLOCK => {}
            Err(e) => return Err(e.into()),
        }
        if !wait {
            return Ok(false);
        }
        // A run that just ended lets go within milliseconds (its guard exits after it): only
        // a longer wait is worth a message.
        for _ in 0..25 {
            std::thread::sleep(std::time::Duration::from_millis(20));
            if flock(&*file, FlockOperation::NonBlockingLockExclusive).is_ok() {
                self.locked = true;
                return Ok(true);
            }
        }
        crate::helpers::say::line(&format!(
            "inflight: {} is in use by another run (or by the jobs of a killed one, until they stop); waiting for it",
            path.display()
        ));
        flock(&*file, FlockOperation::LockExclusive)?;
        self.locked = true;
        Ok(true)
    }

    /// Another descriptor of the log's open file, which shares its lock, if this run holds it.
    pub fn share_lock(&self) -> Option<File> {
        if !self.locked {
            return None;
        }
        self.file
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .try_clone()
            .ok()
    }

    /// Appends one record as one line, in one write.
    pub fn append(&self, record: &Record) -> io::Result<()> {
        let mut line = serde_json::to_vec(record).map_err(io::Error::other)?;
        line.push(b'\n');
        // A poisoned lock only means another writer panicked mid-call; the file is still usable.
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        file.write_all(&line)
    }
}

/// Where a run reads its inputs from.
pub enum Source<'a> {
    Stdin,
    File(&'a Path),
}

/// Whether the log at `log` is one of the inputs (the same regular file or FIFO: device and
/// inode, whatever its name), which would read back every record as an input for ever; which
/// one. (A FIFO too: its records would come back as inputs, and a full FIFO that nothing
/// reads any more blocks the writer. A terminal is not a loop: what is typed is not the log.)
pub fn is_an_input(log: &Path, inputs: &[Source]) -> Option<String> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let loops = |t: std::fs::FileType| t.is_file() || t.is_fifo();
    let log_meta = std::fs::metadata(log)
        .ok()
        .filter(|m| loops(m.file_type()))?;
    let id = (log_meta.dev(), log_meta.ino());
    inputs.iter().find_map(|input| match input {
        Source::Stdin => {
            let st = rustix::fs::fstat(std::io::stdin()).ok()?;
            let kind = rustix::fs::FileType::from_raw_mode(st.st_mode);
            let loops =
                kind == rustix::fs::FileType::RegularFile || kind == rustix::fs::FileType::Fifo;
            (loops && (st.st_dev, st.st_ino) == id).then(|| "stdin".to_owned())
        }
        Source::File(path) => {
            let m = std::fs::metadata(path).ok()?;
            (loops(m.file_type()) && (m.dev(), m.ino()) == id).then(|| path.display().to_string())
        }
    })
}

/// The inputs a log says are done: those whose latest record is `ok`.
///
/// Keeps a 128-bit hash per input rather than the input itself, so resuming a run of 10^7
/// inputs costs a few hundred MB at most, not the inputs' total size.
#[derive(Default)]
pub struct Done {
    inputs: HashSet<u128>,
    /// Lines that did not parse, other than a torn last line.
    pub bad_lines: u64,
}

impl Done {
    /// Reads a log. A missing file is an empty set (the first run of a `--resume` script).
    pub fn read(path: &Path) -> io::Result<Done> {
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Done::default()),
            Err(e) => return Err(e),
        };
        Done::from_reader(BufReader::new(file))
    }

    /// Reads log lines from any reader; the last record for an input decides.
    pub fn from_reader(mut reader: impl BufRead) -> io::Result<Done> {
        /// Only the fields resume needs; unknown fields are ignored.
        #[derive(Deserialize)]
        struct Entry {
            input: String,
            #[serde(default)]
            input_b64: Option<String>,
            #[serde(default)]
            inputs: Option<Vec<String>>,
            #[serde(default)]
            inputs_b64: Option<Vec<String>>,
            ok: bool,
        }
        let mut done = Done::default();
        let mut line = Vec::new();
        let mut pending_bad = 0;
        loop {
            line.clear();
            if reader.read_until(b'\n', &mut line)? == 0 {
                break;
            }
            // A bad line followed by more lines is corruption; a bad last line is a torn write.
            done.bad_lines += pending_bad;
            pending_bad = 0;
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let entry = serde_json::from_slice::<Entry>(&line).ok().and_then(|e| {
                let bytes = match (&e.inputs_b64, e.inputs, &e.input_b64) {
                    (Some(b64s), _, _) => {
                        let values: Option<Vec<Vec<u8>>> =
                            b64s.iter().map(|b| BASE64.decode(b).ok()).collect();
                        values?.join(&0u8)
                    }
                    (None, Some(values), _) => values.join("\0").into_bytes(),
                    (None, None, Some(b64)) => BASE64.decode(b64).ok()?,
                    (None, None, None) => e.input.into_bytes(),
                };
                Some((key(&bytes), e.ok))
            });
            match entry {
                Some((input, true)) => {
                    done.inputs.insert(input);
                }
                Some((input, false)) => {
                    done.inputs.remove(&input);
                }
                None => pending_bad = 1,
            }
        }
        Ok(done)
    }

    /// Whether `input` already succeeded (the values of several sources joined by NUL).
    pub fn contains(&self, input: &[u8]) -> bool {
        self.inputs.contains(&key(input))
    }

    /// How many distinct inputs are done.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.inputs.len()
    }
}

/// A 128-bit hash of an input: two SipHash runs with different prefixes. Only compared within
/// one process, so the hasher need not be stable across Rust versions.
fn key(input: &[u8]) -> u128 {
    let mut a = DefaultHasher::new();
    input.hash(&mut a);
    let mut b = DefaultHasher::new();
    0xa5u8.hash(&mut b);
    input.hash(&mut b);
    (u128::from(a.finish()) << 64) | u128::from(b.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(text: &str) -> Done {
        Done::from_reader(text.as_bytes()).unwrap()
    }

    #[test]
    fn latest_record_decides() {
        let d = done(concat!(
            "{\"input\":\"a\",\"ok\":false}\n",
            "{\"input\":\"a\",\"ok\":true}\n",
            "{\"input\":\"b\",\"ok\":true}\n",
            "{\"input\":\"b\",\"ok\":false}\n",
            "{\"input\":\"c\",\"ok\":false}\n",
        ));
        assert!(d.contains(b"a"));
        assert!(!d.contains(b"b"));
        assert!(!d.contains(b"c"));
        assert_eq!(d.len(), 1);
        assert_eq!(d.bad_lines, 0);
    }

    #[test]
    fn torn_last_line_is_tolerated() {
        let d = done("{\"input\":\"a\",\"ok\":true}\n{\"input\":\"b\",\"o");
        assert!(d.contains(b"a"));
        assert!(!d.contains(b"b"));
        assert_eq!(d.bad_lines, 0);
    }

    #[test]
    fn bad_middle_lines_are_counted() {
        let d = done("garbage\n\n{\"input\":\"a\",\"ok\":true,\"extra\":1}\n");
        assert!(d.contains(b"a"));
        assert_eq!(d.bad_lines, 1);
    }

    #[test]
    fn open_ends_a_torn_line_and_records_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        std::fs::write(&path, "{\"input\":\"a\",\"ok\":true}\n{\"inp").unwrap();
        let log = Log::open(&path).unwrap();
        let rec = Record {
            input: "b \"quoted\"\nnewline".into(),
            seq: 2,
            ok: true,
            status: Some(0),
            attempts: 1,
            ..Record::default()
        };
        log.append(&rec).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(serde_json::from_str::<Record>(lines[2]).unwrap(), rec);
        let d = Done::read(&path).unwrap();
        assert!(d.contains(b"a") && d.contains(b"b \"quoted\"\nnewline"));
        assert_eq!(d.bad_lines, 1, "the torn line is now in the middle");
    }

    #[test]
    fn raw_bytes_round_trip_and_stay_apart() {
        let mut lines = Vec::new();
        for (bytes, ok) in [
            (&b"data\xe9"[..], true),
            (b"data\xff", false),
            (b"plain", true),
        ] {
            let mut rec = Record {
                ok,
                ..Record::default()
            };
            rec.set_input(bytes);
            lines.extend(serde_json::to_vec(&rec).unwrap());
            lines.push(b'\n');
        }
        let text = String::from_utf8(lines).unwrap();
        assert!(
            text.contains("\"input\":\"data\u{fffd}\",\"input_b64\":\"ZGF0Yek=\""),
            "{text}"
        );
        assert!(text.contains(r#""input":"plain","seq""#), "{text}");
        let d = Done::from_reader(text.as_bytes()).unwrap();
        assert!(d.contains(b"data\xe9"));
        assert!(!d.contains(b"data\xff"));
        assert!(!d.contains("data\u{fffd}".as_bytes()));
        assert!(d.contains(b"plain"));
    }

    #[test]
    fn several_sources_key_on_their_values_kept_apart() {
        let mut lines = Vec::new();
        for values in [&[&b"a b"[..], b"c"][..], &[b"x\xff", b"y"]] {
            let mut rec = Record {
                ok: true,
                ..Record::default()
            };
            rec.set_inputs(values);
            lines.extend(serde_json::to_vec(&rec).unwrap());
            lines.push(b'\n');
        }
        let text = String::from_utf8(lines).unwrap();
        assert!(
            text.contains(r#""input":"a b c","inputs":["a b","c"],"seq""#),
            "{text}"
        );
        assert!(text.contains(r#""inputs_b64":["eP8=","eQ=="]"#), "{text}");
        let d = Done::from_reader(text.as_bytes()).unwrap();
        assert!(d.contains(b"a b\0c"));
        assert!(!d.contains(b"a\0b c"));
        assert!(!d.contains(b"a b c"));
        assert!(d.contains(b"x\xff\0y"));
    }

    #[test]
    fn missing_log_is_empty() {
        let d = Done::read(Path::new("/nonexistent/inflight/log")).unwrap();
        assert_eq!(d.len(), 0);
    }
}
