//! Unfinished downloads that a later attempt can continue with a Range request.
//!
//! A body is written to an unnamed file (see `save`), which a crash or a failed attempt
//! leaves nowhere. Once a body passes [`KEEP_AFTER`] bytes and its response carries a
//! validator (a strong ETag, or Last-Modified), the unnamed file is linked into
//! `DIR/.inflight-partial/` under a name made from a hash of the URL, with a small `.meta` file
//! beside it that holds the validator. So no partial file ever sits under a real name: the
//! body gets its real name only when whole, as before.
//!
//! A process may be killed (`kill -9`) between any two steps, so the pair is made in an order
//! that leaves nothing a later run could misuse: the `.meta` is written first and the body
//! linked after it, so a body never has a name without its `.meta` beside it. The `.meta` names
//! the body it belongs to (device and inode of the unnamed file, known before it has a name);
//! a `.meta` left alone (killed before the body was linked), or one beside another body (two
//! runs that raced for one URL), does not match and the download starts over.
//!
//! The next attempt at the URL (a retry, or a `--resume` run) finds it, asks for the rest with
//! `Range: bytes=N-` and `If-Range: VALIDATOR`, and appends a 206 answer; a 200 answer (the
//! server ignores ranges, or the file changed and the validator no longer matches) starts the
//! body over. Without `--resume`, a run continues only its own unfinished downloads (its
//! retries); partials left by an earlier run are replaced.
//!
//! Safety against others who can write to DIR: the directory is made by us with mode 0700 and
//! used only if it is a real directory (never a symlink: `O_NOFOLLOW`) owned by us and closed
//! to others, so nobody else can plant a partial file or a link in it; files in it are opened
//! with `O_NOFOLLOW` and must be regular files. Each partial is locked (`flock`) while an
//! attempt uses it, so two runs sharing DIR never write one partial at once; a lock dies with
//! its process, so a `kill -9` leaves the partial free for the next run.
use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::sync::{Mutex, OnceLock};

use reqwest::header::{HeaderMap, ETAG, LAST_MODIFIED};
use rustix::fs::{AtFlags, FileType, FlockOperation, Mode, OFlags};
use rustix::io::Errno;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::fetch::save::{self, Dir};
use crate::helpers::say;

/// A body is kept for a later attempt once this much of it is on disk.
pub const KEEP_AFTER: u64 = 1 << 20;

/// The directory of partial files, inside DIR.
pub const DIR_NAME: &str = ".inflight-partial";

/// What `.meta` holds.
#[derive(Serialize, Deserialize)]
struct Meta {
    /// The ETag or Last-Modified value of the response the bytes came from.
    validator: String,
    /// The URL (passwords masked), for people looking into the directory.
    url: String,
    /// Device and inode of the body this validator belongs to.
    dev: u64,
    ino: u64,
}

/// The partial files of a run's output directory.
pub struct Partials {
    root: Dir,
    /// Continue partials left by earlier runs (`--resume`).
    resume: bool,
    /// The directory, once opened or made; `None` if it cannot be used safely (said once).
    dir: OnceLock<Option<Dir>>,
    /// Partials this run made (its retries may continue them without `--resume`).
    mine: Mutex<HashSet<String>>,
}

/// A partial file found for a URL, locked for this attempt.
pub struct Found {
    pub file: File,
    pub len: u64,
    pub validator: String,
    pub key: String,
}

/// A body linked into the partial directory: where it is, to remove it once whole.
pub struct Kept {
    pub key: String,
}

impl Partials {
    pub fn new(root: Dir, resume: bool) -> Partials {
        Partials {
            root,
            resume,
            dir: OnceLock::new(),
            mine: Mutex::new(HashSet::new()),
        }
    }

    /// The name of a URL's partial file: 32 hex digits of its SHA-256.
    pub fn key(url: &str) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let digest = Sha256::digest(url.as_bytes());
        let mut key = String::with_capacity(32);
        for b in &digest[..16] {
            key.push(HEX[usize::from(b >> 4)] as char);
            key.push(HEX[usize::from(b & 15)] as char);
        }
        key
    }

    /// Whether any partial file may be found: with `--resume`, or once this run kept one.
    /// (Cheap, so that a run of small files computes no keys.)
    pub fn may_find(&self) -> bool {
        self.resume || !self.lock_mine().is_empty()
    }

    /// The partial file of `key` that this attempt may continue, locked, if there is one.
    pub fn find(&self, key: &str) -> Option<Found> {
        let mine = self.lock_mine().contains(key);
        if !(self.resume || mine) {
            return None;
        }
        let dir = self.dir(false)?;
        let meta_name = format!("{key}.meta");
        let Some(file) = open_regular(&dir, key, OFlags::RDWR) else {
            // A `.meta` without its body (killed before the body was linked): useless. (Should
            // another run be between its two steps right now, its body loses its `.meta` and
            // is started over later: a lost head start, never wrong bytes.)
            let _ = rustix::fs::unlinkat(dir.fd(), meta_name.as_str(), AtFlags::empty());
            return None;
        };
        // Another run is writing it: leave it alone.
        rustix::fs::flock(&file, FlockOperation::NonBlockingLockExclusive).ok()?;
        let stat = rustix::fs::fstat(&file).ok()?;
        let len = u64::try_from(stat.st_size).ok()?;
        let meta = open_regular(&dir, &meta_name, OFlags::RDONLY).and_then(|mut f| {
            let mut text = String::new();
            f.read_to_string(&mut text).ok()?;
            serde_json::from_str::<Meta>(&text).ok()
        });
        match meta {
            Some(meta) if len > 0 && (meta.dev, meta.ino) == identity(&stat) => Some(Found {
                file,
                len,
                validator: meta.validator,
                key: key.to_string(),
            }),
            // No `.meta`, or one that belongs to another body: start over.
            _ => {
                self.remove(key);
                None
            }
        }
    }

    /// Links the unnamed body file `file` into the partial directory as `key`, with its
    /// validator beside it, and keeps it locked. `None` if it cannot be (another run holds
    /// that URL's partial, or the directory is unusable): the body goes on unnamed.
    pub fn keep(&self, file: &File, key: &str, validator: &str, url: &str) -> Option<Kept> {
        let dir = self.dir(true)?;
        rustix::fs::flock(file, FlockOperation::NonBlockingLockExclusive).ok()?;
        if let Some(old) = open_regular(&dir, key, OFlags::RDONLY) {
            // A partial from an earlier run (or one being written by another run, locked).
            rustix::fs::flock(&old, FlockOperation::NonBlockingLockExclusive).ok()?;
            self.remove(key);
        }
        let (dev, ino) = identity(&rustix::fs::fstat(file).ok()?);
        let meta = serde_json::to_vec(&Meta {
            validator: validator.to_string(),
            url: url.to_string(),
            dev,
            ino,
        })
        .ok()?;
        // The `.meta` first, then the body: killed in between, a `.meta` is left alone, which
        // the next run drops; never a body without its `.meta`.
        let meta_name = format!("{key}.meta");
        let written = rustix::fs::openat(
            dir.fd(),
            meta_name.as_str(),
            OFlags::CREATE | OFlags::TRUNC | OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )
        .map_err(io::Error::from)
        .and_then(|fd| File::from(fd).write_all(&meta));
        let linked = written
            .map_err(|_| Errno::IO)
            .and_then(|()| save::link(file, &dir, key));
        match linked {
            Ok(()) => {}
            // Another run linked a body for this URL meanwhile. Our `.meta` replaced its own
            // and does not name that body, so it starts over when found (never mixed).
            Err(Errno::EXIST) => return None,
            Err(_) => {
                let _ = rustix::fs::unlinkat(dir.fd(), meta_name.as_str(), AtFlags::empty());
                return None;
            }
        }
        self.lock_mine().insert(key.to_string());
        Some(Kept {
            key: key.to_string(),
        })
    }

    /// Removes `key`'s partial file and its validator (the body is whole, or useless).
    pub fn remove(&self, key: &str) {
        self.lock_mine().remove(key);
        if let Some(Some(dir)) = self.dir.get() {
            for name in [key.to_string(), format!("{key}.meta")] {
                let _ = rustix::fs::unlinkat(dir.fd(), name.as_str(), AtFlags::empty());
            }
        }
    }

    /// At the end of a run: removes the partial directory if nothing is left in it (a run
    /// whose big downloads all finished leaves no trace), never a directory that holds files.
    pub fn tidy(&self) {
        if let Some(Some(_)) = self.dir.get() {
            let _ = rustix::fs::unlinkat(self.root.fd(), DIR_NAME, AtFlags::REMOVEDIR);
        }
    }

    /// The partial directory, opened once (and made if `make`). Refused, once and for the
    /// whole run, if it is not a directory of ours that nobody else may write to.
    fn dir(&self, make: bool) -> Option<Dir> {
        if let Some(dir) = self.dir.get() {
            return dir.clone();
        }
        if make {
            match rustix::fs::mkdirat(self.root.fd(), DIR_NAME, Mode::from_raw_mode(0o700)) {
                Ok(()) | Err(Errno::EXIST) => {}
                Err(e) => return self.unusable(&format!("cannot make it: {e}")),
            }
        }
        let fd = match rustix::fs::openat(
            self.root.fd(),
            DIR_NAME,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => fd,
            // Not made yet: nothing to find (and it may be made later).
            Err(Errno::NOENT) if !make => return None,
            Err(e) => return self.unusable(&format!("cannot open it ({e}); is it a link?")),
        };
        let stat = match rustix::fs::fstat(&fd) {
            Ok(stat) => stat,
            Err(e) => return self.unusable(&e.to_string()),
        };
        if stat.st_uid != rustix::process::geteuid().as_raw() || stat.st_mode & 0o077 != 0 {
            return self.unusable(
                "it is not ours alone (another user made it, or others may write to it)",
            );
        }
        let dir = Some(Dir::from_fd(fd));
        self.dir.get_or_init(|| dir).clone()
    }

    fn unusable(&self, why: &str) -> Option<Dir> {
        say::line(&format!(
            "inflight: not keeping unfinished downloads in {DIR_NAME}: {why}"
        ));
        let _ = self.dir.set(None);
        None
    }

    fn lock_mine(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.mine.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The validator of a response: a strong ETag, else Last-Modified (a weak ETag may not be
/// used in If-Range, RFC 9110 13.1.5).
pub fn validator(headers: &HeaderMap) -> Option<String> {
    let etag = headers.get(ETAG).and_then(|v| v.to_str().ok());
    match etag {
        Some(tag) if !tag.starts_with("W/") => Some(tag.to_string()),
        _ => headers
            .get(LAST_MODIFIED)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    }
}

/// What a `.meta` records of its body: device and inode, which stay the file's own while it
/// is open or named, so a `.meta` matches no other body.
fn identity(stat: &rustix::fs::Stat) -> (u64, u64) {
    // `st_dev` and `st_ino` differ in type between targets.
    #[allow(clippy::useless_conversion)]
    let identity = (u64::from(stat.st_dev), u64::from(stat.st_ino));
    identity
}

/// Opens `name` in `dir` if it is a regular file (never through a link).
fn open_regular(dir: &Dir, name: &str, mode: OFlags) -> Option<File> {
    let fd = rustix::fs::openat(
        dir.fd(),
        name,
        mode | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ok()?;
    let stat = rustix::fs::fstat(fd.as_fd()).ok()?;
    (FileType::from_raw_mode(stat.st_mode) == FileType::RegularFile).then(|| File::from(fd))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unnamed(dir: &Dir, data: &[u8]) -> File {
        let fd = rustix::fs::openat(
            dir.fd(),
            ".",
            OFlags::TMPFILE | OFlags::RDWR | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )
        .unwrap();
        let mut file = File::from(fd);
        file.write_all(data).unwrap();
        file
    }

    #[test]
    fn kept_then_found_by_a_resuming_run_only() {
        let tmp = tempfile::tempdir().unwrap();
        let root = Dir::open(tmp.path()).unwrap();
        let key = Partials::key("http://h/big");
        let first = Partials::new(root.clone(), false);
        let file = unnamed(&root, b"0123");
        assert!(first.keep(&file, &key, "\"v1\"", "http://h/big").is_some());
        // Locked by this run's file: a second run may not take it.
        let resuming = Partials::new(root.clone(), true);
        assert!(resuming.find(&key).is_none());
        drop(file);
        let found = resuming.find(&key).unwrap();
        assert_eq!((found.len, found.validator.as_str()), (4, "\"v1\""));
        drop(found);
        assert!(
            Partials::new(root.clone(), false).find(&key).is_none(),
            "not without --resume"
        );
        let mode = std::fs::metadata(tmp.path().join(DIR_NAME)).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(mode.permissions().mode() & 0o777, 0o700);
        resuming.remove(&key);
        assert!(resuming.find(&key).is_none());
    }

    #[test]
    fn a_planted_directory_or_link_is_never_used() {
        let tmp = tempfile::tempdir().unwrap();
        let elsewhere = tmp.path().join("elsewhere");
        std::fs::create_dir(&elsewhere).unwrap();
        let out = tmp.path().join("out");
        std::fs::create_dir(&out).unwrap();
        std::os::unix::fs::symlink(&elsewhere, out.join(DIR_NAME)).unwrap();
        let root = Dir::open(&out).unwrap();
        let partials = Partials::new(root.clone(), true);
        let file = unnamed(&root, b"data");
        assert!(partials.keep(&file, "k", "\"v\"", "u").is_none());
        assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
        // A directory others may write to is refused too.
        let open = tmp.path().join("open");
        std::fs::create_dir(&open).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir(open.join(DIR_NAME)).unwrap();
        std::fs::set_permissions(open.join(DIR_NAME), std::fs::Permissions::from_mode(0o777))
            .unwrap();
        let root = Dir::open(&open).unwrap();
        let partials = Partials::new(root.clone(), true);
        assert!(partials
            .keep(&unnamed(&root, b"x"), "k", "\"v\"", "u")
            .is_none());
    }

    #[test]
    fn keys_are_stable_hex() {
        assert_eq!(Partials::key("http://h/a"), Partials::key("http://h/a"));
        assert_ne!(Partials::key("http://h/a"), Partials::key("http://h/b"));
        // The SHA-256 of "abc" begins ba7816bf8f01cfea414140de5dae2223.
        assert_eq!(Partials::key("abc"), "ba7816bf8f01cfea414140de5dae2223");
    }

    #[test]
    fn validators() {
        let mut h = HeaderMap::new();
        h.insert(
            LAST_MODIFIED,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        h.insert(ETAG, "W/\"weak\"".parse().unwrap());
        assert_eq!(validator(&h).unwrap(), "Wed, 21 Oct 2015 07:28:00 GMT");
        h.insert(ETAG, "\"strong\"".parse().unwrap());
        assert_eq!(validator(&h).unwrap(), "\"strong\"");
        assert_eq!(validator(&HeaderMap::new()), None);
    }
}
