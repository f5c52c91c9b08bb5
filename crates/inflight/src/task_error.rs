//! [`TaskError`]: how a spawned task can fail to return its output.

use std::any::Any;
use std::fmt;

/// Why a spawned task gave no output: it panicked, or it was cancelled (aborted through its
/// handle, or its runtime shut down).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let mut pool = inflight::Pool::<()>::new(1);
/// pool.spawn(async { panic!("disk full") }).await.unwrap();
/// let error = pool.join_next().await.unwrap().unwrap_err();
/// assert!(error.is_panic());
/// assert_eq!(error.panic_message(), Some("disk full"));
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskError {
    /// The task panicked with this message (or a placeholder when the payload was not a
    /// string).
    Panicked(String),
    /// The task was cancelled before it finished.
    Cancelled,
}

impl TaskError {
    /// Whether the task panicked.
    ///
    /// ```
    /// assert!(inflight::TaskError::Panicked("x".into()).is_panic());
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self, TaskError::Panicked(_))
    }

    /// The panic's message, if the task panicked.
    ///
    /// ```
    /// assert_eq!(inflight::TaskError::Cancelled.panic_message(), None);
    /// ```
    pub fn panic_message(&self) -> Option<&str> {
        match self {
            TaskError::Panicked(message) => Some(message),
            TaskError::Cancelled => None,
        }
    }

    /// Makes the error of a panic payload, as caught by `catch_unwind` or a join handle.
    pub(crate) fn from_panic(payload: Box<dyn Any + Send>) -> TaskError {
        let message = match payload.downcast::<String>() {
            Ok(message) => *message,
            Err(payload) => match payload.downcast::<&'static str>() {
                Ok(message) => (*message).to_owned(),
                Err(_) => "a panic with a non-string payload".to_owned(),
            },
        };
        TaskError::Panicked(message)
    }
}

impl From<tokio::task::JoinError> for TaskError {
    fn from(error: tokio::task::JoinError) -> TaskError {
        match error.try_into_panic() {
            Ok(payload) => TaskError::from_panic(payload),
            Err(_) => TaskError::Cancelled,
        }
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Panicked(message) => write!(f, "task panicked: {message}"),
            TaskError::Cancelled => f.write_str("task cancelled"),
        }
    }
}

impl std::error::Error for TaskError {}
