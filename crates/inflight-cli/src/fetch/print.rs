//! `--print path|url|json`: one line on stdout per finished input, written the moment it
//! finishes (through the run's output, which flushes after each job), so the next program in a
//! pipeline can start on a page as soon as it is saved:
//! `inflight fetch -o pages --print path urls | inflight exec -- ./parse {}`.
//!
//! `path` and `url` are printed for successes only (a failed input has no file to hand on);
//! `json` prints the log record of every input, failures included.
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::fetch::crawl::Print;
use crate::run::log::Record;

/// The line to print for `record` (with its newline), if any. `dir` is `-o DIR` as given.
pub fn line(what: Print, record: &Record, dir: Option<&Path>) -> Option<Vec<u8>> {
    let mut line = match what {
        Print::Json => serde_json::to_vec(record).ok()?,
        _ if !record.ok => return None,
        // As requested: without the blanks around the line.
        Print::Url => record.input.trim().as_bytes().to_vec(),
        Print::Path => dir?
            .join(record.path.as_ref()?)
            .as_os_str()
            .as_bytes()
            .to_vec(),
    };
    line.push(b'\n');
    Some(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        let ok = Record {
            input: "http://h/a".into(),
            ok: true,
            path: Some("h/a".into()),
            ..Record::default()
        };
        let failed = Record {
            input: "http://h/b".into(),
            error: Some("HTTP 404".into()),
            ..Record::default()
        };
        let padded = Record {
            input: "  http://h/a\t".into(),
            ..ok.clone()
        };
        assert_eq!(line(Print::Url, &padded, None).unwrap(), b"http://h/a\n");
        let dir = Some(Path::new("pages/"));
        assert_eq!(line(Print::Path, &ok, dir).unwrap(), b"pages/h/a\n");
        assert_eq!(line(Print::Url, &ok, dir).unwrap(), b"http://h/a\n");
        assert_eq!(line(Print::Path, &failed, dir), None);
        assert_eq!(line(Print::Url, &failed, dir), None);
        let json = line(Print::Json, &failed, dir).unwrap();
        assert!(json.starts_with(b"{\"input\":\"http://h/b\"") && json.ends_with(b"}\n"));
    }
}
