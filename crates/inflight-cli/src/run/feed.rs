//! [`Feed`]: what a source of inputs is told about them besides the log. Lines of stdin or a
//! file need nothing; a queue on Redis acknowledges each finished input with its record and
//! gives back those that never ran (see `queue_source`).
use futures::future::BoxFuture;

use crate::run::log::Record;

/// Told of each input's end by the run loop; the inputs are named by their `seq`.
pub trait Feed: Send + Sync + 'static {
    /// The input finished, with this record (already in the log, if any).
    fn finished(&self, record: &Record);
    /// The input was taken but never started (the run was stopping, or a shared limit could
    /// not be had): it is not done, so another run (or worker) must do it.
    fn unstarted(&self, seq: u64);
    /// The run is over: awaited before the summary, to settle what is under way (queue
    /// acknowledgements) and give back whatever is still held.
    fn close(&self) -> BoxFuture<'static, ()>;
    /// After `close`: whether results were lost on the way (a queue that could not record
    /// some): the run then ends with the status of an I/O error.
    fn failed(&self) -> bool {
        false
    }
}
