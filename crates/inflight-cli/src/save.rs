//! Saving a body under `-o DIR` so that nobody who can write to DIR can meet it before it is
//! whole: it is written to an unnamed file (`O_TMPFILE`) and linked into DIR under a fresh,
//! safe name (see `names`) only when complete, with `linkat`, which never replaces an existing
//! entry nor follows a planted symlink. No temporary name exists to be guessed, to collide with
//! another run's (two containers, one PID), or to be left behind by a `kill -9`.
//!
//! Where `O_TMPFILE` is not supported, the file gets a random name (`tempfile`: `O_CREAT |
//! O_EXCL`, which refuses to open through a planted symlink) and is moved into place with
//! `renameat2(RENAME_NOREPLACE)`.
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};

use crate::names;

/// A body being written; removed (or never linked) unless kept.
pub struct PartFile {
    dir: PathBuf,
    file: File,
    /// The random name of the fallback; `None` for an unnamed `O_TMPFILE` file.
    named: Option<PathBuf>,
    kept: bool,
}

impl PartFile {
    /// Starts a body in `dir`.
    pub fn create(dir: &Path) -> io::Result<PartFile> {
        if tmpfile_linkable() {
            let unnamed = OpenOptions::new()
                .write(true)
                .mode(0o666)
                .custom_flags(OFlag::O_TMPFILE.bits())
                .open(dir);
            match unnamed {
                Ok(file) => {
                    return Ok(PartFile {
                        dir: dir.to_path_buf(),
                        file,
                        named: None,
                        kept: false,
                    })
                }
                // Not supported by this filesystem or kernel: use a random name.
                Err(e) if unsupported(&e) => {}
                Err(e) => return Err(e),
            }
        }
        PartFile::create_named(dir)
    }

    /// The fallback: a file under a random name (`O_CREAT | O_EXCL`, so never through a
    /// planted symlink), moved into place by [`PartFile::keep`].
    fn create_named(dir: &Path) -> io::Result<PartFile> {
        let (file, path) = tempfile::Builder::new()
            .prefix(".inflight-")
            .suffix(".part")
            .tempfile_in(dir)?
            .keep()
            .map_err(|e| e.error)?;
        Ok(PartFile {
            dir: dir.to_path_buf(),
            file,
            named: Some(path),
            kept: false,
        })
    }

    /// Appends a chunk of the body. (Plain blocking I/O on the worker: small writes land in
    /// the page cache, so a hop to the blocking pool per call would cost more than it saves.)
    pub fn write(&mut self, data: &[u8]) -> io::Result<()> {
        self.file.write_all(data)
    }

    /// Gives the body a free name based on `name` and returns that name.
    pub fn keep(mut self, name: &str) -> io::Result<String> {
        let claimed = match &self.named {
            None => link_to_free_name(&self.file, &self.dir, name)?,
            Some(temp) => match names::move_to_free_name(temp, &self.dir, name) {
                Ok(claimed) => claimed,
                // A filesystem without RENAME_NOREPLACE: claim the name, then rename over it.
                Err(e) if e.kind() == io::ErrorKind::Unsupported => {
                    let claimed = names::claim(&self.dir, name)?;
                    std::fs::rename(temp, self.dir.join(&claimed))?;
                    claimed
                }
                Err(e) => return Err(e),
            },
        };
        self.kept = true;
        Ok(claimed)
    }
}

impl Drop for PartFile {
    fn drop(&mut self) {
        if let (Some(temp), false) = (&self.named, self.kept) {
            let _ = std::fs::remove_file(temp);
        }
    }
}

/// Links an unnamed file into `dir` under the first free candidate name. `linkat` fails with
/// EEXIST on any existing entry, a symlink included, so nothing is replaced or followed.
fn link_to_free_name(file: &File, dir: &Path, name: &str) -> io::Result<String> {
    if !names::is_single_component(name) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("unsafe file name {name:?}"),
        ));
    }
    let source = PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()));
    for candidate in names::candidates(name) {
        match nix::unistd::linkat(
            None,
            source.as_path(),
            None,
            dir.join(&candidate).as_path(),
            AtFlags::AT_SYMLINK_FOLLOW,
        ) {
            Ok(()) => return Ok(candidate),
            Err(Errno::EEXIST) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("no free name for {name:?} after 10000 tries"),
    ))
}

/// An unnamed file can be linked only through `/proc/self/fd` (the `AT_EMPTY_PATH` way needs
/// CAP_DAC_READ_SEARCH); without /proc, use the named fallback.
fn tmpfile_linkable() -> bool {
    static LINKABLE: OnceLock<bool> = OnceLock::new();
    *LINKABLE.get_or_init(|| Path::new("/proc/self/fd").is_dir())
}

/// `open(O_TMPFILE)` errors that mean "not here", as open(2) lists them.
fn unsupported(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error().map(Errno::from_raw),
        Some(Errno::EOPNOTSUPP | Errno::EISDIR | Errno::EINVAL)
    )
}

/// Checks that bodies can be saved in `dir`, before any request is made.
pub fn check_dir(dir: &Path) -> io::Result<()> {
    PartFile::create(dir).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_appear_only_when_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mut part = PartFile::create(dir.path()).unwrap();
        part.write(b"body").unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        assert_eq!(part.keep("a.txt").unwrap(), "a.txt");
        let mut other = PartFile::create(dir.path()).unwrap();
        other.write(b"two").unwrap();
        drop(PartFile::create(dir.path()).unwrap());
        assert_eq!(other.keep("a.txt").unwrap(), "a-1.txt");
        assert_eq!(std::fs::read(dir.path().join("a.txt")).unwrap(), b"body");
        assert_eq!(std::fs::read(dir.path().join("a-1.txt")).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn the_named_fallback_is_as_safe() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let out = dir.path().join("out");
        std::fs::create_dir(&out).unwrap();
        std::os::unix::fs::symlink(&victim, out.join("f.txt")).unwrap();
        let mut part = PartFile::create_named(&out).unwrap();
        part.write(b"attack").unwrap();
        let temp = part.named.clone().unwrap();
        let temp_name = temp.file_name().unwrap().to_str().unwrap();
        assert!(
            temp_name.starts_with(".inflight-") && temp_name.len() > 16,
            "{temp_name}"
        );
        assert_eq!(part.keep("f.txt").unwrap(), "f-1.txt");
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        assert_eq!(std::fs::read(out.join("f-1.txt")).unwrap(), b"attack");
        assert!(!temp.exists());
        let dropped = PartFile::create_named(&out).unwrap();
        let temp = dropped.named.clone().unwrap();
        drop(dropped);
        assert!(!temp.exists(), "an unkept body leaves nothing");
    }

    #[test]
    fn a_planted_symlink_is_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let out = dir.path().join("out");
        std::fs::create_dir(&out).unwrap();
        std::os::unix::fs::symlink(&victim, out.join("f.txt")).unwrap();
        let mut part = PartFile::create(&out).unwrap();
        part.write(b"attack").unwrap();
        assert_eq!(part.keep("f.txt").unwrap(), "f-1.txt");
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    }
}
