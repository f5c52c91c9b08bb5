//! Saving a body under `-o DIR` so that nobody who can write to DIR can meet it before it is
//! whole: it is written to an unnamed file (`O_TMPFILE`) and linked into its directory under a
//! fresh, safe name (see `names`) only when complete, with `linkat`, which never replaces an
//! existing entry nor follows a planted symlink. No temporary name exists to be guessed, to
//! collide with another run's (two containers, one PID), or to be left behind by a `kill -9`.
//!
//! Every file operation is relative to a descriptor of its directory ([`Dir`]), opened once:
//! the kernel does not walk DIR's path again for each of a million files, and a directory
//! swapped for a symlink after it was opened is never followed. The unnamed file is linked
//! with `AT_EMPTY_PATH` (no path lookup at all; Linux 6.10 and later allow it to the file's
//! opener), else through `/proc/self/fd`.
//!
//! Where `O_TMPFILE` is not supported, the file gets a random name (`.inflight-XXXXXXXXXXXX.part`,
//! created with `O_EXCL | O_NOFOLLOW`, which refuses a planted symlink) and is moved into place
//! with `renameat2(RENAME_NOREPLACE)`.
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;
use std::sync::atomic::{AtomicU8, Ordering::Relaxed};
use std::sync::Arc;

use rustix::fs::{AtFlags, Mode, OFlags, RenameFlags, CWD};
use rustix::io::Errno;

use crate::fetch::free_name::{claim_free_name, Hints};
use crate::fetch::names;

/// An open directory that files are made in. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Dir(Arc<(OwnedFd, Hints)>);

impl Dir {
    /// Opens the directory at `path` (a symlink to a directory is followed, as given by the
    /// user; what is inside is never followed).
    pub fn open(path: &Path) -> io::Result<Dir> {
        let fd = rustix::fs::open(
            path,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(Dir::from_fd(fd))
    }

    /// Opens, making it if missing, the subdirectory `name` (one safe component). A symlink
    /// or a file planted there is refused (`O_NOFOLLOW | O_DIRECTORY`), never followed.
    pub fn subdir(&self, name: &str) -> io::Result<Dir> {
        match rustix::fs::mkdirat(self.fd(), name, Mode::from_raw_mode(0o777)) {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => return Err(e.into()),
        }
        let fd = rustix::fs::openat(
            self.fd(),
            name,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(Dir::from_fd(fd))
    }

    /// A directory already opened (with `O_NOFOLLOW`, and checked by the caller).
    pub fn from_fd(fd: OwnedFd) -> Dir {
        Dir(Arc::new((fd, Hints::default())))
    }

    pub fn fd(&self) -> &OwnedFd {
        &self.0 .0
    }

    /// Which suffixes this directory has given, to start the next probe there.
    fn hints(&self) -> &Hints {
        &self.0 .1
    }
}

/// A body being written; never visible under a name until kept.
pub struct PartFile {
    dir: Dir,
    file: File,
    /// The random name of the fallback; `None` for an unnamed `O_TMPFILE` file.
    named: Option<String>,
    kept: bool,
}

impl PartFile {
    /// Starts a body in `dir`.
    pub fn create(dir: &Dir) -> io::Result<PartFile> {
        let unnamed = rustix::fs::openat(
            dir.fd(),
            ".",
            OFlags::TMPFILE | OFlags::WRONLY | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o666),
        );
        match unnamed {
            Ok(fd) => Ok(PartFile {
                dir: dir.clone(),
                file: File::from(fd),
                named: None,
                kept: false,
            }),
            // Not supported by this filesystem or kernel: use a random name.
            Err(Errno::OPNOTSUPP | Errno::ISDIR | Errno::INVAL) => PartFile::create_named(dir),
            Err(e) => Err(e.into()),
        }
    }

    /// The fallback: a file under a random hidden name, created exclusively and never through
    /// a symlink, moved into place by [`PartFile::keep`].
    fn create_named(dir: &Dir) -> io::Result<PartFile> {
        for _ in 0..100 {
            let name = format!(".inflight-{:012x}.part", fastrand::u64(..) >> 16);
            match rustix::fs::openat(
                dir.fd(),
                name.as_str(),
                OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::WRONLY | OFlags::CLOEXEC,
                Mode::from_raw_mode(0o666),
            ) {
                Ok(fd) => {
                    return Ok(PartFile {
                        dir: dir.clone(),
                        file: File::from(fd),
                        named: Some(name),
                        kept: false,
                    })
                }
                Err(Errno::EXIST) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "no free temporary name after 100 tries",
        ))
    }

    /// The unnamed file itself (for `partial` to keep), or `None` for the named fallback.
    pub fn unnamed(&self) -> Option<&File> {
        self.named.is_none().then_some(&self.file)
    }

    /// Appends data. (Plain blocking I/O on the worker: writes land in the page cache, so a
    /// hop to the blocking pool per call would cost more than it saves.)
    pub fn write(&mut self, data: &[u8]) -> io::Result<()> {
        self.file.write_all(data)
    }

    /// Gives the body a free name based on `name` (one safe component) and returns that name.
    pub fn keep(mut self, name: &str) -> io::Result<String> {
        if !names::is_single_component(name) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("unsafe file name {name:?}"),
            ));
        }
        let claimed = match &self.named {
            None => link_to_free_name(&self.file, &self.dir, name)?,
            Some(temp) => rename_to_free_name(&self.dir, temp, name)?,
        };
        self.kept = true;
        Ok(claimed)
    }
}

impl Drop for PartFile {
    fn drop(&mut self) {
        if let (Some(temp), false) = (&self.named, self.kept) {
            let _ = rustix::fs::unlinkat(self.dir.fd(), temp.as_str(), AtFlags::empty());
        }
    }
}

/// How unnamed files are linked: not yet known, by `AT_EMPTY_PATH`, or through `/proc`.
static LINK_WAY: AtomicU8 = AtomicU8::new(UNKNOWN);
const UNKNOWN: u8 = 0;
const EMPTY_PATH: u8 = 1;
const PROC: u8 = 2;

/// Links an open file into `dir` under the first free candidate name based on `name` (one safe
/// component). `linkat` fails with EEXIST on any existing entry, a symlink included, so
/// nothing is replaced or followed.
pub fn link_to_free_name(file: &impl AsFd, dir: &Dir, name: &str) -> io::Result<String> {
    if !names::is_single_component(name) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("unsafe file name {name:?}"),
        ));
    }
    claim_free_name(dir.hints(), name, |candidate| link(file, dir, candidate))
}

/// One `linkat` of an unnamed file, the cheapest way this kernel allows.
pub fn link(file: &impl AsFd, dir: &Dir, name: &str) -> Result<(), Errno> {
    if LINK_WAY.load(Relaxed) != PROC {
        match rustix::fs::linkat(file, "", dir.fd(), name, AtFlags::EMPTY_PATH) {
            Ok(()) => {
                LINK_WAY.store(EMPTY_PATH, Relaxed);
                return Ok(());
            }
            // Before Linux 6.10 only CAP_DAC_READ_SEARCH may (ENOENT, or EPERM): use /proc.
            Err(Errno::NOENT | Errno::PERM) if LINK_WAY.load(Relaxed) == UNKNOWN => {
                LINK_WAY.store(PROC, Relaxed);
            }
            Err(e) => return Err(e),
        }
    }
    let source = format!("/proc/self/fd/{}", file.as_fd().as_raw_fd());
    rustix::fs::linkat(
        CWD,
        source.as_str(),
        dir.fd(),
        name,
        AtFlags::SYMLINK_FOLLOW,
    )
}

/// The fallback's move: `renameat2(RENAME_NOREPLACE)` per candidate; where the filesystem
/// cannot, the name is claimed with `O_EXCL` first and the file renamed over the empty claim.
fn rename_to_free_name(dir: &Dir, temp: &str, name: &str) -> io::Result<String> {
    let renamed = claim_free_name(dir.hints(), name, |candidate| {
        rustix::fs::renameat_with(dir.fd(), temp, dir.fd(), candidate, RenameFlags::NOREPLACE)
    });
    match renamed {
        Err(e) if matches!(Errno::from_io_error(&e), Some(Errno::INVAL | Errno::NOSYS)) => {
            let claimed = claim(dir, name)?;
            rustix::fs::renameat(dir.fd(), temp, dir.fd(), claimed.as_str())?;
            Ok(claimed)
        }
        other => other,
    }
}

/// Claims a free name by creating it exclusively (`O_EXCL | O_NOFOLLOW`).
fn claim(dir: &Dir, name: &str) -> io::Result<String> {
    claim_free_name(dir.hints(), name, |candidate| {
        rustix::fs::openat(
            dir.fd(),
            candidate,
            OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::WRONLY | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o666),
        )
        .map(drop)
    })
}

/// Checks that bodies can be saved in `dir`, before any request is made.
pub fn check_dir(dir: &Dir) -> io::Result<()> {
    PartFile::create(dir).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(path: &Path) -> usize {
        std::fs::read_dir(path).unwrap().count()
    }

    #[test]
    fn bodies_appear_only_when_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = Dir::open(tmp.path()).unwrap();
        let mut part = PartFile::create(&dir).unwrap();
        part.write(b"body").unwrap();
        assert_eq!(entries(tmp.path()), 0);
        assert_eq!(part.keep("a.txt").unwrap(), "a.txt");
        let mut other = PartFile::create(&dir).unwrap();
        other.write(b"two").unwrap();
        drop(PartFile::create(&dir).unwrap());
        assert_eq!(other.keep("a.txt").unwrap(), "a-1.txt");
        assert_eq!(std::fs::read(tmp.path().join("a.txt")).unwrap(), b"body");
        assert_eq!(std::fs::read(tmp.path().join("a-1.txt")).unwrap(), b"two");
        assert_eq!(entries(tmp.path()), 2);
        assert!(PartFile::create(&dir).unwrap().keep("../x").is_err());
    }

    #[test]
    fn the_named_fallback_is_as_safe() {
        let tmp = tempfile::tempdir().unwrap();
        let victim = tmp.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let out = tmp.path().join("out");
        std::fs::create_dir(&out).unwrap();
        std::os::unix::fs::symlink(&victim, out.join("f.txt")).unwrap();
        let dir = Dir::open(&out).unwrap();
        let mut part = PartFile::create_named(&dir).unwrap();
        part.write(b"attack").unwrap();
        let temp = part.named.clone().unwrap();
        assert!(temp.starts_with(".inflight-") && temp.len() > 16, "{temp}");
        assert_eq!(part.keep("f.txt").unwrap(), "f-1.txt");
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        assert_eq!(std::fs::read(out.join("f-1.txt")).unwrap(), b"attack");
        assert!(!out.join(&temp).exists());
        let dropped = PartFile::create_named(&dir).unwrap();
        let temp = dropped.named.clone().unwrap();
        drop(dropped);
        assert!(!out.join(temp).exists(), "an unkept body leaves nothing");
        assert_eq!(claim(&dir, "f.txt").unwrap(), "f-2.txt");
    }

    #[test]
    fn a_planted_symlink_is_never_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let victim = tmp.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let out = tmp.path().join("out");
        std::fs::create_dir(&out).unwrap();
        std::os::unix::fs::symlink(&victim, out.join("f.txt")).unwrap();
        std::os::unix::fs::symlink(tmp.path(), out.join("sub")).unwrap();
        let dir = Dir::open(&out).unwrap();
        let mut part = PartFile::create(&dir).unwrap();
        part.write(b"attack").unwrap();
        assert_eq!(part.keep("f.txt").unwrap(), "f-1.txt");
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        assert!(
            dir.subdir("sub").is_err(),
            "a planted directory link is refused"
        );
        assert!(dir.subdir("real").is_ok());
    }
}
