//! A body on its way to its file under `-o DIR`.
//!
//! A small body is held in memory and written with one `write` once it is complete, so a file
//! is made, and a descriptor held, only for a body that arrived: `open`, `write`, `linkat`,
//! `close` per file, as many system calls as curl's `open`, `write`, `close`, `fstat`. A larger
//! one goes to an unnamed file (see `save`) in writes of [`BUFFER`] bytes; past
//! `partial::KEEP_AFTER` it may be kept for a later attempt (see `partial`), and a body that
//! continues a kept one appends to it. Either way it gets its real name only when whole.
use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::sync::Arc;

use crate::fetch::partial::{Found, Kept, Partials, KEEP_AFTER};
use crate::fetch::save::{self, Dir, PartFile};

/// Bodies up to this size are held in memory and written in one call when complete; a larger
/// one goes to its file in writes of this size.
pub const BUFFER: usize = 64 * 1024;

/// Where the bytes go once they leave memory.
enum Sink {
    /// Not made yet (the body is small so far).
    None,
    /// An unnamed file in the target directory (or the named fallback).
    New(PartFile),
    /// A partial file an earlier attempt left, being continued.
    Continued(File),
}

/// How a new body may become a partial file: the run's partials, the URL's key, the
/// response's validator and the URL to note beside it.
struct Keepable {
    partials: Arc<Partials>,
    key: String,
    validator: String,
    url: String,
}

pub struct Body {
    dir: Dir,
    held: Vec<u8>,
    sink: Sink,
    /// Bytes in the file, not counting `held`.
    written: u64,
    keepable: Option<Keepable>,
    /// Set once the file is a partial file: removed from there when the body is whole.
    kept: Option<(Arc<Partials>, Kept)>,
}

impl Body {
    /// A new body, to be linked into `dir`.
    pub fn new(dir: Dir) -> Body {
        Body {
            dir,
            held: Vec::new(),
            sink: Sink::None,
            written: 0,
            keepable: None,
            kept: None,
        }
    }

    /// Lets the body be kept for a later attempt once it is large enough.
    pub fn keepable(
        &mut self,
        partials: Arc<Partials>,
        key: String,
        validator: String,
        url: String,
    ) {
        self.keepable = Some(Keepable {
            partials,
            key,
            validator,
            url,
        });
    }

    /// A body that continues the partial file `found`, to be linked into `dir`.
    pub fn continued(dir: Dir, mut found: Found, partials: Arc<Partials>) -> io::Result<Body> {
        found.file.seek(SeekFrom::Start(found.len))?;
        Ok(Body {
            dir,
            held: Vec::new(),
            sink: Sink::Continued(found.file),
            written: found.len,
            keepable: None,
            kept: Some((partials, Kept { key: found.key })),
        })
    }

    /// Takes a chunk. Fails without taking it if the file cannot be made (the caller may
    /// wait for descriptors and offer the same chunk again).
    pub fn push(&mut self, chunk: &[u8]) -> io::Result<()> {
        if matches!(self.sink, Sink::None) && self.held.len() + chunk.len() <= BUFFER {
            self.held.extend_from_slice(chunk);
            return Ok(());
        }
        self.ready()?;
        if self.held.is_empty() && chunk.len() >= BUFFER {
            self.write(chunk)?;
        } else {
            self.held.extend_from_slice(chunk);
            if self.held.len() >= BUFFER {
                self.flush()?;
            }
        }
        self.maybe_keep();
        Ok(())
    }

    /// Makes the file if the body was small so far (fails, keeping the body, if it cannot).
    pub fn ready(&mut self) -> io::Result<()> {
        if matches!(self.sink, Sink::None) {
            self.sink = Sink::New(PartFile::create(&self.dir)?);
        }
        Ok(())
    }

    /// Writes what is held and links the file under a free name based on `name`; a partial
    /// file is then removed from the partial directory.
    pub fn keep(mut self, name: &str) -> io::Result<String> {
        self.ready()?;
        self.flush()?;
        let claimed = match std::mem::replace(&mut self.sink, Sink::None) {
            Sink::New(file) => file.keep(name)?,
            Sink::Continued(file) => save::link_to_free_name(&file, &self.dir, name)?,
            Sink::None => return Err(no_file()),
        };
        if let Some((partials, kept)) = self.kept.take() {
            partials.remove(&kept.key);
        }
        Ok(claimed)
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.held.is_empty() {
            let held = std::mem::take(&mut self.held);
            self.write(&held)?;
            self.held = held;
            self.held.clear();
        }
        Ok(())
    }

    fn write(&mut self, data: &[u8]) -> io::Result<()> {
        match &mut self.sink {
            Sink::New(file) => file.write(data)?,
            Sink::Continued(file) => file.write_all(data)?,
            Sink::None => return Err(no_file()),
        }
        self.written += data.len() as u64;
        Ok(())
    }

    /// Links a large enough new body into the partial directory, once.
    fn maybe_keep(&mut self) {
        if self.written < KEEP_AFTER {
            return;
        }
        let (Some(k), Sink::New(file)) = (self.keepable.take(), &self.sink) else {
            return;
        };
        if let Some(file) = file.unnamed() {
            if let Some(kept) = k.partials.keep(file, &k.key, &k.validator, &k.url) {
                self.kept = Some((k.partials, kept));
            }
        }
    }
}

/// What `ready` rules out; an error rather than a panic all the same.
fn no_file() -> io::Error {
    io::Error::other("the body's file was not made")
}

impl Drop for Body {
    /// A partial file keeps every byte that arrived: what is still held is written to it.
    fn drop(&mut self) {
        if self.kept.is_some() {
            let _ = self.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(path: &std::path::Path) -> usize {
        std::fs::read_dir(path).unwrap().count()
    }

    #[test]
    fn large_bodies_go_to_the_file_and_small_ones_in_one_write() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = Dir::open(tmp.path()).unwrap();
        let mut small = Body::new(dir.clone());
        small.push(b"ab").unwrap();
        small.push(b"c").unwrap();
        assert!(
            matches!(small.sink, Sink::None),
            "no file made for a small body yet"
        );
        assert_eq!(small.keep("s").unwrap(), "s");
        let mut big = Body::new(dir);
        let mut expected = Vec::new();
        for i in 0..100u8 {
            let chunk = vec![i; 3000];
            big.push(&chunk).unwrap();
            expected.extend_from_slice(&chunk);
        }
        big.push(&vec![7; BUFFER + 1]).unwrap();
        expected.extend(std::iter::repeat_n(7, BUFFER + 1));
        assert!(matches!(big.sink, Sink::New(_)));
        assert_eq!(entries(tmp.path()), 1, "the big body has no name yet");
        assert_eq!(big.keep("b").unwrap(), "b");
        assert_eq!(std::fs::read(tmp.path().join("s")).unwrap(), b"abc");
        assert_eq!(std::fs::read(tmp.path().join("b")).unwrap(), expected);
    }

    #[test]
    fn a_large_body_is_kept_then_continued() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = Dir::open(tmp.path()).unwrap();
        let partials = Arc::new(Partials::new(dir.clone(), false));
        let key = Partials::key("http://h/big");
        let data: Vec<u8> = (0..3 * KEEP_AFTER).map(|i| (i % 251) as u8).collect();
        let cut = KEEP_AFTER as usize * 3 / 2 + 1000;
        let mut body = Body::new(dir.clone());
        body.keepable(
            partials.clone(),
            key.clone(),
            "\"v\"".into(),
            "http://h/big".into(),
        );
        for chunk in data[..cut].chunks(16 * 1024) {
            body.push(chunk).unwrap();
        }
        drop(body); // the attempt failed
        let found = partials.find(&key).expect("kept");
        assert_eq!(found.len, cut as u64, "every byte that arrived was kept");
        let mut body = Body::continued(dir, found, partials.clone()).unwrap();
        for chunk in data[cut..].chunks(16 * 1024) {
            body.push(chunk).unwrap();
        }
        assert_eq!(body.keep("big").unwrap(), "big");
        assert_eq!(std::fs::read(tmp.path().join("big")).unwrap(), data);
        assert!(partials.find(&key).is_none(), "removed once whole");
        let left = tmp.path().join(crate::fetch::partial::DIR_NAME);
        assert_eq!(entries(&left), 0);
    }
}
