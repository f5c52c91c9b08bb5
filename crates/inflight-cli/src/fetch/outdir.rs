//! Where a body goes under `-o DIR`. `--layout` picks the directory: `flat` is DIR itself,
//! `host` is `DIR/HOST`, `tree` is `DIR/HOST/PATH` (the URL's path, as `wget -x` mirrors it),
//! so a million pages need not land in one folder. `--save-as` may replace the file name (see
//! `template`).
//!
//! Every directory component is sanitised as file names are (see `names`): it is one plain
//! component, never `.`, `..`, hidden or containing a separator. Directories are made and
//! opened one component at a time relative to their parent's descriptor, with `O_NOFOLLOW`, so
//! a symlink planted at `DIR/HOST` is refused rather than followed: nothing is written outside
//! DIR. A component whose name a file already has gets a suffix (`a-1`), as file names do.
use std::collections::HashMap;
use std::io;
use std::path::Path;
use std::sync::Mutex;

use clap::ValueEnum;
use reqwest::Url;
use rustix::io::Errno;

use crate::fetch::names;
use crate::fetch::naming::NameTemplate;
use crate::fetch::save::{self, Dir};

/// How bodies are spread over directories.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Layout {
    /// Every file in DIR.
    #[default]
    Flat,
    /// DIR/HOST/NAME (HOST with its port when not the scheme's default).
    Host,
    /// DIR/HOST/PATH/NAME: the URL's path, every segment sanitised.
    Tree,
}

/// Longest run of directories `tree` makes below DIR, in bytes (its host's included).
const MAX_PREFIX: usize = 1024;
/// Most directory levels `tree` makes below DIR; deeper paths keep their first levels.
const MAX_DEPTH: usize = 32;
/// Directories kept open for reuse (`host`, `tree`); the cache is emptied when full. Each
/// holds a descriptor, which a run short of them needs for its connections and files: see
/// [`cache_size`].
const CACHE: usize = 256;

/// Directories kept open: [`CACHE`], or an eighth of the descriptors this process may open.
pub fn cache_size() -> usize {
    let limit = crate::helpers::fdlimit::soft_limit();
    CACHE.min(limit / 8).max(1)
}

/// The output directory of a run.
pub struct OutDir {
    root: Dir,
    layout: Layout,
    name: Option<NameTemplate>,
    /// Opened subdirectories, by their wanted relative path: the opened one and its real path.
    opened: Mutex<HashMap<String, (Dir, String)>>,
}

/// Where one body goes: a directory, its path relative to DIR (`""` or ending in `/`), and
/// the name wanted there (a taken one gets a suffix when the body is linked).
pub struct Target {
    pub dir: Dir,
    pub prefix: String,
    pub name: String,
}

impl OutDir {
    /// Makes DIR if missing and checks that files can be made in it.
    pub fn open(path: &Path, layout: Layout, name: Option<NameTemplate>) -> io::Result<OutDir> {
        if std::fs::metadata(path).is_ok_and(|meta| !meta.is_dir()) {
            // create_dir_all would only say "File exists".
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "it is a file: -o takes a directory, and each body gets a name from its URL \
                 there (or from --save-as)",
            ));
        }
        std::fs::create_dir_all(path)?;
        let root = Dir::open(path)?;
        save::check_dir(&root)?;
        Ok(OutDir {
            root,
            layout,
            name,
            opened: Mutex::new(HashMap::new()),
        })
    }

    /// DIR itself.
    pub fn root(&self) -> &Dir {
        &self.root
    }

    /// The directory (made if missing) and file name for the body of `url`, input `seq`.
    pub fn target(&self, url: &Url, seq: u64) -> io::Result<Target> {
        let (dirs, last) = match self.layout {
            Layout::Flat => (Vec::new(), names::for_url(url)),
            Layout::Host => (vec![names::host(url)], names::for_url(url)),
            Layout::Tree => tree(url),
        };
        let name = match &self.name {
            Some(template) => template.render(seq, url),
            None => last,
        };
        if dirs.is_empty() {
            return Ok(Target {
                dir: self.root.clone(),
                prefix: String::new(),
                name,
            });
        }
        let (dir, prefix) = self.open_dirs(&dirs)?;
        Ok(Target { dir, prefix, name })
    }

    /// Opens (making them) the directories `dirs` below DIR, from the cache when it can.
    fn open_dirs(&self, dirs: &[String]) -> io::Result<(Dir, String)> {
        let wanted = dirs.join("/");
        if let Some(hit) = self.lock().get(&wanted) {
            return Ok(hit.clone());
        }
        let mut dir = self.root.clone();
        let mut prefix = String::new();
        for component in dirs {
            let (next, used) = subdir_with_free_name(&dir, component)?;
            dir = next;
            prefix.push_str(&used);
            prefix.push('/');
        }
        let mut opened = self.lock();
        if opened.len() >= cache_size() {
            opened.clear();
        }
        opened.insert(wanted, (dir.clone(), prefix.clone()));
        Ok((dir, prefix))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Dir, String)>> {
        // A poisoned cache only means another job panicked while holding it; it is still valid.
        self.opened.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Opens `name` in `dir`, or `name-1`, `name-2`... when a file or a link has that name.
fn subdir_with_free_name(dir: &Dir, name: &str) -> io::Result<(Dir, String)> {
    // The suffix goes at the end: a host such as 127.0.0.1 has no extension to keep.
    let candidates = (0..100).map(|n| match n {
        0 => name.to_string(),
        n => format!("{name}-{n}"),
    });
    for candidate in candidates {
        match dir.subdir(&candidate) {
            Ok(sub) => return Ok((sub, candidate)),
            Err(e) if matches!(Errno::from_io_error(&e), Some(Errno::NOTDIR | Errno::LOOP)) => {
                continue
            }
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("no free directory name for {name:?} after 100 tries"),
    ))
}

/// `tree`: the host and the path's segments as directories, the last segment as the name
/// (`index.html` for a path that ends in `/`), every one sanitised.
fn tree(url: &Url) -> (Vec<String>, String) {
    let mut dirs = vec![names::host(url)];
    let segments: Vec<&str> = url.path_segments().map_or(Vec::new(), Iterator::collect);
    let (name, parents) = match segments.split_last() {
        Some((last, parents)) if !last.is_empty() => (names::segment(last), parents),
        Some((_, parents)) => (String::new(), parents),
        None => (String::new(), &[][..]),
    };
    // Deeper levels are dropped past MAX_DEPTH, or past MAX_PREFIX bytes of directories, so
    // that DIR/PREFIX/NAME stays short enough to open (PATH_MAX is 4096).
    let mut prefix_len = dirs[0].len() + 1;
    for segment in parents.iter().filter(|s| !s.is_empty()).take(MAX_DEPTH) {
        let segment = names::segment(segment);
        if prefix_len + segment.len() + 1 > MAX_PREFIX {
            break;
        }
        prefix_len += segment.len() + 1;
        dirs.push(segment);
    }
    let name = if name.is_empty() {
        names::DEFAULT_NAME.to_string()
    } else {
        name
    };
    (dirs, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn tree_mirrors_the_path_safely() {
        assert_eq!(
            tree(&url("http://h:8080/a/b/c.html?x")),
            (
                vec!["h_8080".into(), "a".into(), "b".into()],
                "c.html".into()
            )
        );
        assert_eq!(
            tree(&url("https://h/a//b/")),
            (
                vec!["h".into(), "a".into(), "b".into()],
                "index.html".into()
            )
        );
        assert_eq!(
            tree(&url("http://h")),
            (vec!["h".into()], "index.html".into())
        );
        let (dirs, name) = tree(&url("http://h/%2e%2e/.git/..%2f..%2fx/%2e"));
        for part in dirs.iter().chain([&name]) {
            assert!(names::is_single_component(part), "{part}");
            assert!(!part.starts_with('.'), "{part}");
        }
        let deep = format!("http://h/{}x", "d/".repeat(100));
        assert_eq!(tree(&url(&deep)).0.len(), 1 + MAX_DEPTH);
        // 40 levels of 250 bytes: the prefix stops at MAX_PREFIX, the name is kept.
        let long = format!(
            "http://h/{}page.html",
            format!("{}/", "s".repeat(250)).repeat(40)
        );
        let (dirs, name) = tree(&url(&long));
        let prefix: usize = dirs.iter().map(|d| d.len() + 1).sum();
        assert!(prefix <= MAX_PREFIX && dirs.len() > 2, "{prefix} bytes");
        assert_eq!(name, "page.html");
    }

    #[test]
    fn layouts_make_their_directories_and_refuse_planted_links() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("out");
        let out = OutDir::open(&root, Layout::Tree, None).unwrap();
        let t = out.target(&url("http://h/a/b/c.txt"), 1).unwrap();
        assert_eq!((t.prefix.as_str(), t.name.as_str()), ("h/a/b/", "c.txt"));
        assert!(root.join("h/a/b").is_dir());
        // A file where a directory should be: the directory gets a suffix.
        std::fs::write(root.join("h/x"), "file").unwrap();
        let t = out.target(&url("http://h/x/y"), 2).unwrap();
        assert_eq!(t.prefix, "h/x-1/");
        // A link planted where a directory should be is never followed.
        let elsewhere = tmp.path().join("elsewhere");
        std::fs::create_dir(&elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, root.join("evil")).unwrap();
        let t = out.target(&url("http://evil/p/q"), 3).unwrap();
        assert_eq!(t.prefix, "evil-1/p/");
        assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
        let hosts = OutDir::open(&root, Layout::Host, None).unwrap();
        let t = hosts.target(&url("http://h/a/b/c.txt"), 1).unwrap();
        assert_eq!((t.prefix.as_str(), t.name.as_str()), ("h/", "c.txt"));
    }
}
