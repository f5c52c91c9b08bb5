//! Saving a body under `-o DIR`: written to a hidden temporary file, then moved to a safe,
//! freshly claimed name (see `names`), so a failed or cancelled download never leaves a file
//! under a real name.
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::names;

/// A body being written to `DIR/.inflight-PID-SEQ.part`; removed on drop unless kept, so a
/// failed or cancelled download never leaves a file under a real name.
pub struct PartFile {
    dir: PathBuf,
    temp: PathBuf,
    file: Option<File>,
    kept: bool,
}

impl PartFile {
    /// Starts the temporary file for job `seq`; the pid keeps two runs in one DIR apart.
    pub fn create(dir: &Path, seq: u64) -> std::io::Result<PartFile> {
        let temp = dir.join(format!(".inflight-{}-{seq}.part", std::process::id()));
        // Plain blocking I/O on the worker: small writes land in the page cache, and creating
        // files in one directory serialises on its lock anyway, so a hop to the blocking pool
        // per call would add cost without adding parallelism.
        let file = File::create(&temp)?;
        Ok(PartFile {
            dir: dir.to_path_buf(),
            temp,
            file: Some(file),
            kept: false,
        })
    }

    /// Appends a chunk of the body.
    pub fn write(&mut self, data: &[u8]) -> std::io::Result<()> {
        match &mut self.file {
            Some(file) => file.write_all(data),
            None => Ok(()),
        }
    }

    /// Moves the body to a free name based on `name` and returns that name.
    pub fn keep(mut self, name: &str) -> std::io::Result<String> {
        self.file = None;
        let claimed = match names::move_to_free_name(&self.temp, &self.dir, name) {
            Ok(claimed) => claimed,
            // A filesystem without RENAME_NOREPLACE: claim the name, then rename over it.
            Err(e) if e.kind() == std::io::ErrorKind::Unsupported => {
                let claimed = names::claim(&self.dir, name)?;
                std::fs::rename(&self.temp, self.dir.join(&claimed))?;
                claimed
            }
            Err(e) => return Err(e),
        };
        self.kept = true;
        Ok(claimed)
    }
}

impl Drop for PartFile {
    fn drop(&mut self) {
        if !self.kept {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}
