//! [`Outcome`] and [`Failure`]: what a run under policies hands back for each input.

use std::fmt;
use std::time::Duration;

/// What became of one input: the input itself, its position, and its result.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use futures::StreamExt;
/// let mut outcomes = inflight::Inflight::new(2)
///     .as_completed(["a", "bb"], |s: &&str| { let n = s.len(); async move { Ok::<_, ()>(n) } });
/// let outcome = outcomes.next().await.unwrap();
/// assert_eq!(outcome.result.clone().unwrap(), outcome.input.len());
/// assert_eq!(outcome.attempts, 1);
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome<I, T, E> {
    /// The input, as pulled from the source.
    pub input: I,
    /// Its position in the source, from 0.
    pub index: u64,
    /// The output, or why there is none.
    pub result: Result<T, Failure<E>>,
    /// How many attempts were made (1 without retries).
    pub attempts: u32,
    /// Time from the first attempt's start to the end of the last.
    pub elapsed: Duration,
}

impl<I, T, E> Outcome<I, T, E> {
    /// Whether the input succeeded.
    ///
    /// ```
    /// # let outcome = inflight::Outcome::<(), (), ()> { input: (), index: 0, result: Ok(()), attempts: 1, elapsed: Default::default() };
    /// assert!(outcome.is_ok());
    /// ```
    pub fn is_ok(&self) -> bool {
        self.result.is_ok()
    }
}

/// Why an input has no output.
///
/// ```
/// let timeout: inflight::Failure<String> = inflight::Failure::TimedOut(std::time::Duration::from_secs(1));
/// assert_eq!(timeout.to_string(), "timed out after 1s");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure<E> {
    /// The task returned this error (on its last attempt).
    Error(E),
    /// The last attempt ran past the timeout and was dropped.
    TimedOut(Duration),
    /// The task panicked (in spawn mode, where panics are caught per task).
    Panicked(String),
}

impl<E> Failure<E> {
    /// The task's own error, if that is what happened.
    ///
    /// ```
    /// assert_eq!(inflight::Failure::Error(3).error(), Some(&3));
    /// ```
    pub fn error(&self) -> Option<&E> {
        match self {
            Failure::Error(e) => Some(e),
            _ => None,
        }
    }
}

impl<E: fmt::Display> fmt::Display for Failure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Error(e) => write!(f, "{e}"),
            Failure::TimedOut(after) => write!(f, "timed out after {after:?}"),
            Failure::Panicked(message) => write!(f, "panicked: {message}"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for Failure<E> {}
