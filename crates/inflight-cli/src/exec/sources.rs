//! exec's input sources, as GNU parallel's: lines of stdin, or the arguments after `:::`, or
//! the lines of a file after `::::` (`-` is stdin). With several sources, each job gets one
//! value of each: every combination, the first source varying slowest (parallel's order), or
//! with `--link` the first values together, then the second ones, the shorter sources
//! starting over until the longest ends.
//!
//! A job's input holds its values joined by NUL, a byte no argument can hold; the template
//! splits them again, and the log and `--resume` key on the whole (see `log`). A single
//! source is passed on as before, byte for byte.
//!
//! Only the first source is read lazily: the others are read whole before the first job, since
//! each of their values is used again for every value of the first (with `--link`, all are
//! read whole, to know the longest).
use std::ffi::OsString;
use std::io;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::stream::{self, BoxStream, StreamExt};

use crate::run::input::{self, RawLine};

/// One input source.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// The arguments after `:::`.
    List(Vec<Vec<u8>>),
    /// The lines of a file, after `::::` (`-`: stdin).
    File(PathBuf),
}

/// The input sources of a run; none means the lines of stdin.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sources {
    pub list: Vec<Source>,
    /// `--link`: pair the sources' values instead of combining them.
    pub link: bool,
}

/// Splits `CMD [ARGS]... [::: VALUES... | :::: FILES...]...` into the command and its sources.
pub fn split(words: Vec<OsString>) -> Result<(Vec<OsString>, Vec<Source>), String> {
    let mut command = Vec::new();
    let mut sources = Vec::new();
    // Whether the words now are values (`:::`) or files (`::::`).
    let mut files = None;
    for word in words {
        let bytes = word.as_encoded_bytes();
        if bytes == b":::" || bytes == b"::::" {
            files = Some(bytes.len() == 4);
            if bytes.len() == 3 {
                sources.push(Source::List(Vec::new()));
            }
            continue;
        }
        if bytes == b":::+" || bytes == b"::::+" {
            return Err(format!(
                "'{}' (link one source to the one before) is not supported; use --link",
                word.to_string_lossy()
            ));
        }
        match (files, sources.last_mut()) {
            (None, _) => command.push(word),
            (Some(true), _) => sources.push(Source::File(PathBuf::from(word))),
            (Some(false), Some(Source::List(values))) => values.push(word.into_vec()),
            (Some(false), _) => unreachable!("a ::: pushed its list"),
        }
    }
    if files == Some(true) && !matches!(sources.last(), Some(Source::File(_))) {
        return Err(":::: needs a file to read inputs from (- for stdin)".into());
    }
    Ok((command, sources))
}

impl Sources {
    /// How many values each input holds.
    pub fn count(&self) -> usize {
        self.list.len().max(1)
    }

    /// Whether stdin is read.
    pub fn reads_stdin(&self) -> bool {
        self.list.is_empty() || self.files().any(|f| f == Path::new("-"))
    }

    /// The files read (`-` for stdin).
    pub fn files(&self) -> impl Iterator<Item = &Path> {
        self.list.iter().filter_map(|s| match s {
            Source::File(path) => Some(path.as_path()),
            Source::List(_) => None,
        })
    }

    /// How many inputs there will be, when only `:::` lists are given.
    pub fn total(&self) -> Option<u64> {
        let mut lens = Vec::new();
        for source in &self.list {
            match source {
                Source::List(values) => lens.push(values.len() as u64),
                Source::File(_) => return None,
            }
        }
        match (lens.is_empty(), self.link) {
            (true, _) => None,
            (false, true) if lens.contains(&0) => Some(0),
            (false, true) => lens.into_iter().max(),
            (false, false) => lens.into_iter().try_fold(1u64, u64::checked_mul),
        }
    }

    /// The inputs, each the values of one job joined by NUL: lazily from the first source, the
    /// others read whole first. A file that cannot be opened or read is an error.
    pub async fn open(
        self,
        delim: u8,
        max: usize,
    ) -> Result<BoxStream<'static, io::Result<RawLine>>, String> {
        let link = self.link;
        let mut list = self.list.into_iter();
        let Some(first) = list.next() else {
            return Ok(input::lines(tokio::io::stdin(), delim, max).boxed());
        };
        let rest: Vec<Source> = list.collect();
        if rest.is_empty() {
            return match first {
                Source::List(values) => {
                    Ok(stream::iter(values.into_iter().map(|v| Ok(whole(v)))).boxed())
                }
                Source::File(path) => lines_of(&path, delim, max).await,
            };
        }
        let mut loaded = Vec::with_capacity(rest.len());
        for source in rest {
            loaded.push(load(source, delim, max).await?);
        }
        if link {
            let mut all = vec![load(first, delim, max).await?];
            all.extend(loaded);
            return Ok(linked(all));
        }
        let first = match first {
            Source::List(values) => stream::iter(values.into_iter().map(|v| Ok(whole(v)))).boxed(),
            Source::File(path) => lines_of(&path, delim, max).await?,
        };
        let rest = Arc::new(loaded);
        Ok(first
            .flat_map(move |line| {
                let combos: BoxStream<'static, io::Result<RawLine>> = match line.and_then(value) {
                    Ok(head) => stream::iter(Odometer::new(rest.clone()).map(move |tail| {
                        let mut values = vec![head.as_slice()];
                        values.extend(tail.iter().map(Vec::as_slice));
                        Ok(whole(values.join(&0u8)))
                    }))
                    .boxed(),
                    Err(e) => stream::iter([Err(e)]).boxed(),
                };
                combos
            })
            .boxed())
    }
}

fn whole(bytes: Vec<u8>) -> RawLine {
    RawLine {
        bytes,
        cut: None,
        seq: None,
    }
}

/// The lines of a file, or of stdin for `-`.
async fn lines_of(
    path: &Path,
    delim: u8,
    max: usize,
) -> Result<BoxStream<'static, io::Result<RawLine>>, String> {
    if path == Path::new("-") {
        return Ok(input::lines(tokio::io::stdin(), delim, max).boxed());
    }
    match tokio::fs::File::open(path).await {
        Ok(file) => Ok(input::lines(file, delim, max).boxed()),
        Err(e) => Err(format!("cannot open {}: {e}", path.display())),
    }
}

/// A value of a source that is one of several: whole (not over `--max-line`) and without NUL.
fn value(line: RawLine) -> io::Result<Vec<u8>> {
    if let Some(len) = line.cut {
        return Err(io::Error::other(format!(
            "an input of {len} bytes is longer than --max-line"
        )));
    }
    if line.bytes.contains(&0) {
        return Err(io::Error::other(
            "an input holds a NUL byte, which no argument can (use -0 for NUL-separated input)",
        ));
    }
    Ok(line.bytes)
}

/// Every value of a source, read whole.
async fn load(source: Source, delim: u8, max: usize) -> Result<Vec<Vec<u8>>, String> {
    match source {
        Source::List(values) => Ok(values),
        Source::File(path) => {
            let mut lines = lines_of(&path, delim, max).await?;
            let mut values = Vec::new();
            while let Some(line) = lines.next().await {
                let line = line
                    .and_then(value)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                values.push(line);
            }
            Ok(values)
        }
    }
}

/// `--link`: the i-th value of every source, each source starting over when it ends, until
/// the longest ends (none if a source is empty).
fn linked(sources: Vec<Vec<Vec<u8>>>) -> BoxStream<'static, io::Result<RawLine>> {
    let len = if sources.iter().any(Vec::is_empty) {
        0
    } else {
        sources.iter().map(Vec::len).max().unwrap_or(0)
    };
    stream::iter((0..len).map(move |i| {
        let values: Vec<&[u8]> = sources.iter().map(|s| s[i % s.len()].as_slice()).collect();
        Ok(whole(values.join(&0u8)))
    }))
    .boxed()
}

/// Every combination of one value of each source, the last varying fastest.
struct Odometer {
    sources: Arc<Vec<Vec<Vec<u8>>>>,
    at: Vec<usize>,
    done: bool,
}

impl Odometer {
    fn new(sources: Arc<Vec<Vec<Vec<u8>>>>) -> Odometer {
        let done = sources.iter().any(Vec::is_empty);
        let at = vec![0; sources.len()];
        Odometer { sources, at, done }
    }
}

impl Iterator for Odometer {
    type Item = Vec<Vec<u8>>;

    fn next(&mut self) -> Option<Vec<Vec<u8>>> {
        if self.done {
            return None;
        }
        let item = self
            .at
            .iter()
            .zip(self.sources.iter())
            .map(|(&i, s)| s[i].clone())
            .collect();
        // Advance the last source; carry into the one before when it wraps.
        let mut k = self.at.len();
        loop {
            if k == 0 {
                self.done = true;
                break;
            }
            k -= 1;
            self.at[k] += 1;
            if self.at[k] < self.sources[k].len() {
                break;
            }
            self.at[k] = 0;
        }
        Some(item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(w: &[&str]) -> Vec<OsString> {
        w.iter().map(OsString::from).collect()
    }

    fn list(v: &[&str]) -> Source {
        Source::List(v.iter().map(|s| s.as_bytes().to_vec()).collect())
    }

    async fn inputs(sources: Sources) -> Vec<String> {
        let stream = sources.open(b'\n', 1000).await.unwrap();
        stream
            .map(|l| {
                String::from_utf8(l.unwrap().bytes)
                    .unwrap()
                    .replace('\0', ",")
            })
            .collect()
            .await
    }

    #[test]
    fn splits_command_and_sources() {
        let (cmd, sources) = split(words(&[
            "echo", "{}", ":::", "a", "b", "::::", "f", "g", ":::", "1",
        ]))
        .unwrap();
        assert_eq!(cmd, words(&["echo", "{}"]));
        assert_eq!(
            sources,
            [
                list(&["a", "b"]),
                Source::File("f".into()),
                Source::File("g".into()),
                list(&["1"])
            ]
        );
        assert_eq!(split(words(&["echo", ":::"])).unwrap().1, [list(&[])]);
        assert!(split(words(&["echo", "::::"])).is_err());
        assert!(split(words(&["echo", ":::", "a", ":::+", "b"])).is_err());
        assert!(split(words(&["echo", ":::+", "a"])).is_err());
    }

    #[tokio::test]
    async fn every_combination_in_parallels_order_or_linked() {
        let product = Sources {
            list: vec![list(&["a", "b"]), list(&["1", "2", "3"]), list(&["x"])],
            link: false,
        };
        assert_eq!(product.total(), Some(6));
        assert_eq!(
            inputs(product).await,
            ["a,1,x", "a,2,x", "a,3,x", "b,1,x", "b,2,x", "b,3,x"]
        );
        let linked = Sources {
            list: vec![list(&["a", "b", "c"]), list(&["1", "2"])],
            link: true,
        };
        assert_eq!(linked.total(), Some(3));
        assert_eq!(inputs(linked).await, ["a,1", "b,2", "c,1"]);
        let empty = Sources {
            list: vec![list(&["a"]), list(&[])],
            link: false,
        };
        assert_eq!(empty.total(), Some(0));
        assert!(inputs(empty).await.is_empty());
    }

    #[tokio::test]
    async fn files_are_sources_and_a_nul_in_a_combined_value_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        std::fs::write(&f, "p\nq\n").unwrap();
        let s = Sources {
            list: vec![list(&["1", "2"]), Source::File(f.clone())],
            link: false,
        };
        assert_eq!(s.total(), None);
        assert_eq!(inputs(s).await, ["1,p", "1,q", "2,p", "2,q"]);
        std::fs::write(&f, "p\0q\n").unwrap();
        let s = Sources {
            list: vec![list(&["1"]), Source::File(f.clone())],
            link: false,
        };
        let e = s.open(b'\n', 1000).await.err().unwrap();
        assert!(e.contains("NUL"), "{e}");
        let missing = Sources {
            list: vec![Source::File(dir.path().join("missing"))],
            link: false,
        };
        assert!(missing
            .open(b'\n', 10)
            .await
            .err()
            .unwrap()
            .contains("cannot open"));
    }
}
