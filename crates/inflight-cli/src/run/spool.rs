//! A job's captured output: in memory while small, in an unnamed temporary file past a
//! threshold (GNU parallel spools to files too), so no job, and no number of jobs, can
//! exhaust the machine's memory with what it prints.
//!
//! Two bounds: one job's stream is kept in memory up to [`JOB_MEMORY`]; all outputs held at
//! once (running jobs and `-k`'s finished ones) up to [`TOTAL_MEMORY`]. Past either, the
//! stream goes to a file made with `tempfile::tempfile()` (`O_TMPFILE` in `$TMPDIR`: no name,
//! gone when closed, even after a `kill -9`).
use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// Most bytes of one stream of one job held in memory.
pub const JOB_MEMORY: usize = 1 << 20;
/// Most bytes of output held in memory by the whole run.
pub const TOTAL_MEMORY: usize = 64 << 20;

/// Bytes held in memory by every spool of the run.
static HELD: AtomicUsize = AtomicUsize::new(0);

/// One stream (stdout or stderr) of one job.
#[derive(Debug, Default)]
pub struct Spool {
    memory: Vec<u8>,
    /// The part of `memory` counted in [`HELD`].
    counted: usize,
    file: Option<File>,
    len: u64,
    /// Why the output is incomplete, when writing the spool file failed (a full disk).
    pub cut: Option<String>,
}

impl Spool {
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes held, in memory and on file.
    #[cfg(test)]
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Appends `data`, moving everything to a file once the bounds are passed. If no file can
    /// be made or written (a full or unusable `$TMPDIR`), the output is cut there and `cut`
    /// says why: holding it in memory instead could exhaust the machine (`yes`), and the job
    /// that lost output counts as failed (see exec/job.rs), so `--resume` runs it again.
    pub fn push(&mut self, data: &[u8]) -> io::Result<()> {
        if self.cut.is_some() {
            return Ok(()); // the rest of a cut output is dropped
        }
        let before = self.len;
        let result = self.push_inner(data);
        if let Err(e) = &result {
            self.cut = Some(format!("output cut after about {before} bytes: {e}"));
        }
        result
    }

    fn push_inner(&mut self, data: &[u8]) -> io::Result<()> {
        self.len += data.len() as u64;
        if let Some(file) = &mut self.file {
            return file.write_all(data);
        }
        let fits = self.memory.len() + data.len() <= JOB_MEMORY
            && HELD.fetch_add(data.len(), Relaxed) + data.len() <= TOTAL_MEMORY;
        if fits {
            self.counted += data.len();
            self.memory.extend_from_slice(data);
            return Ok(());
        }
        if self.memory.len() + data.len() <= JOB_MEMORY {
            // The global bound refused it: take the reservation back.
            HELD.fetch_sub(data.len(), Relaxed);
        }
        let mut file = tempfile::tempfile()?;
        file.write_all(&self.memory)?;
        file.write_all(data)?;
        self.release();
        self.memory = Vec::new();
        self.file = Some(file);
        Ok(())
    }

    /// Writes everything held to `out`.
    pub fn write_to(&mut self, out: &mut impl Write) -> io::Result<()> {
        match &mut self.file {
            Some(file) => {
                file.seek(SeekFrom::Start(0))?;
                io::copy(file, out)?;
                Ok(())
            }
            None => out.write_all(&self.memory),
        }
    }

    /// The first `max` bytes (tests and short messages).
    #[cfg(test)]
    pub fn head(&mut self, max: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let _ = self.write_to(&mut out);
        out.truncate(max);
        out
    }

    fn release(&mut self) {
        HELD.fetch_sub(self.counted, Relaxed);
        self.counted = 0;
    }
}

/// Checks that job output can be spooled at all, before any job runs (as GNU parallel checks
/// its temporary directory): a run whose jobs print more than fits in memory would otherwise
/// lose their output.
pub fn check_temp_dir() -> Result<(), String> {
    tempfile::tempfile().map(drop).map_err(|e| {
        format!(
            "cannot make temporary files in {} (to hold job output past {} MiB): {e}; set TMPDIR \
             to a writable directory",
            std::env::temp_dir().display(),
            JOB_MEMORY >> 20
        )
    })
}

impl Drop for Spool {
    fn drop(&mut self) {
        self.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_output_stays_in_memory_large_goes_to_a_file() {
        let mut small = Spool::default();
        small.push(b"hello ").unwrap();
        small.push(b"world").unwrap();
        assert!(small.file.is_none());
        assert_eq!(small.head(100), b"hello world");

        let mut big = Spool::default();
        let chunk = vec![b'x'; 64 * 1024];
        for _ in 0..(2 * JOB_MEMORY / chunk.len()) {
            big.push(&chunk).unwrap();
        }
        assert!(big.file.is_some());
        assert!(big.memory.is_empty());
        assert_eq!(big.len(), 2 * JOB_MEMORY as u64);
        let mut out = Vec::new();
        big.write_to(&mut out).unwrap();
        assert_eq!(out.len(), 2 * JOB_MEMORY);
        assert!(out.iter().all(|&b| b == b'x'));
    }
}
