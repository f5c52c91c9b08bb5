//! [`Outcome`], [`Failure`] and [`Failed`]: what a run under policies hands back for each input.

use std::error::Error;
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
#[non_exhaustive]
pub struct Outcome<I, T, E> {
    /// The input, as pulled from the source.
    pub input: I,
    /// Its position in the source, from 0.
    pub index: u64,
    /// The output, or why there is none.
    pub result: Result<T, Failure<E>>,
    /// How many attempts were made (1 without retries; 0 if it never started).
    pub attempts: u32,
    /// Time from the first attempt's start to the end of the last.
    pub elapsed: Duration,
}

impl<I, T, E> Outcome<I, T, E> {
    pub(crate) fn new(
        input: I,
        index: u64,
        result: Result<T, Failure<E>>,
        attempts: u32,
        elapsed: Duration,
    ) -> Self {
        Outcome {
            input,
            index,
            result,
            attempts,
            elapsed,
        }
    }

    /// Whether the input succeeded.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let outcomes = inflight::Inflight::new(1).gather([1], |&n| async move { Ok::<_, ()>(n) }).await;
    /// assert!(outcomes[0].is_ok());
    /// # }
    /// ```
    pub fn is_ok(&self) -> bool {
        self.result.is_ok()
    }

    /// The same outcome with its result changed by `f` (to unwrap an output, or convert an
    /// error), input, position, attempts and time kept.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let outcomes = inflight::Inflight::new(1).gather([2], |&n| async move { Ok::<_, ()>(n) }).await;
    /// let doubled = outcomes.into_iter().next().unwrap().map_result(|r| r.map(|n| n * 2));
    /// assert_eq!(doubled.result, Ok(4));
    /// # }
    /// ```
    pub fn map_result<U, F>(
        self,
        f: impl FnOnce(Result<T, Failure<E>>) -> Result<U, Failure<F>>,
    ) -> Outcome<I, U, F> {
        Outcome {
            input: self.input,
            index: self.index,
            result: f(self.result),
            attempts: self.attempts,
            elapsed: self.elapsed,
        }
    }
}

/// Why an input has no output.
///
/// As an error it is transparent: it shows the task's own error as it is and forwards
/// [`source`](Error::source) to it, so error reporters (anyhow, eyre) print the whole chain.
///
/// ```
/// let timeout: inflight::Failure<std::io::Error> = inflight::Failure::TimedOut(std::time::Duration::from_secs(1));
/// assert_eq!(timeout.to_string(), "timed out after 1s");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failure<E> {
    /// The task returned this error (on its last attempt).
    Error(E),
    /// The last attempt ran past the timeout and was dropped.
    TimedOut(Duration),
    /// The task panicked (in spawn mode, where panics are caught per task).
    Panicked(String),
    /// A [shared limit](crate::SharedLimit) could not be acquired (its server is away, say): the
    /// task never started, and the run starts nothing more.
    Unavailable(String),
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

    /// The task's own error, owned, if that is what happened.
    ///
    /// ```
    /// assert_eq!(inflight::Failure::Error(3).into_error(), Some(3));
    /// ```
    pub fn into_error(self) -> Option<E> {
        match self {
            Failure::Error(e) => Some(e),
            _ => None,
        }
    }

    /// The same failure with the task's error converted by `f`.
    ///
    /// ```
    /// let failure = inflight::Failure::Error(404u16).map_error(|status| format!("HTTP {status}"));
    /// assert_eq!(failure, inflight::Failure::Error("HTTP 404".to_string()));
    /// ```
    pub fn map_error<F>(self, f: impl FnOnce(E) -> F) -> Failure<F> {
        match self {
            Failure::Error(e) => Failure::Error(f(e)),
            Failure::TimedOut(after) => Failure::TimedOut(after),
            Failure::Panicked(message) => Failure::Panicked(message),
            Failure::Unavailable(message) => Failure::Unavailable(message),
        }
    }
}

/// A boxed error: `?` converts it into a `Box<dyn Error>` (or returns it as it is); into an
/// `anyhow::Error` it goes with `anyhow::Error::from_boxed` (anyhow's `?` takes only types
/// that implement `Error`, which a `Box<dyn Error>` does not).
type BoxError = Box<dyn Error + Send + Sync>;

impl<E: Into<BoxError>> Failure<E> {
    /// The failure as a boxed error (`Box<dyn Error + Send + Sync>`), for tasks whose error
    /// type is not itself an [`Error`](std::error::Error) (a `Box<dyn Error>`, a `String`):
    /// the task's own error keeps its chain; the others become a message. `?` takes the box
    /// into a `Box<dyn Error>`; into an `anyhow::Error` it goes with
    /// `anyhow::Error::from_boxed` (when `E` implements `Error`, `Failure<E>` is an `Error`
    /// itself, and `?` takes it into anyhow directly).
    ///
    /// ```
    /// let failure: inflight::Failure<Box<dyn std::error::Error + Send + Sync>> =
    ///     inflight::Failure::Error("disk full".into());
    /// let error = anyhow::Error::from_boxed(failure.into_boxed_error());
    /// assert_eq!(error.to_string(), "disk full");
    /// ```
    pub fn into_boxed_error(self) -> BoxError {
        match self {
            Failure::Error(e) => e.into(),
            other => other.to_string_without_error().into(),
        }
    }
}

impl<E> Failure<E> {
    /// The message of a failure that is not the task's own error.
    fn to_string_without_error(&self) -> String {
        match self {
            Failure::Error(_) => "the task failed".to_owned(),
            Failure::TimedOut(after) => format!("timed out after {after:?}"),
            Failure::Panicked(message) => format!("panicked: {message}"),
            Failure::Unavailable(message) => format!("shared limit unavailable: {message}"),
        }
    }
}

impl<E: fmt::Display> fmt::Display for Failure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Error(e) => write!(f, "{e}"),
            other => f.write_str(&other.to_string_without_error()),
        }
    }
}

/// Transparent over the task's error: `source` is that error's source.
///
/// ```
/// use std::error::Error;
///
/// #[derive(Debug)]
/// struct SaveFailed(std::io::Error);
/// impl std::fmt::Display for SaveFailed {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         f.write_str("cannot save the page")
///     }
/// }
/// impl Error for SaveFailed {
///     fn source(&self) -> Option<&(dyn Error + 'static)> {
///         Some(&self.0)
///     }
/// }
///
/// let failure = inflight::Failure::Error(SaveFailed(std::io::Error::other("disk full")));
/// assert_eq!(failure.to_string(), "cannot save the page");
/// assert_eq!(failure.source().unwrap().to_string(), "disk full");
/// ```
impl<E: Error + 'static> Error for Failure<E> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            Failure::Error(e) => e.source(),
            _ => None,
        }
    }
}

/// The input that stopped a [`try_gather`](crate::Inflight::try_gather): which one it was, and
/// why it failed.
///
/// As an error it says which input failed, and its [`source`](Error::source) is the
/// [`Failure`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let failed = inflight::Inflight::new(2)
///     .try_gather(["a", "b", "c"], |&name| async move {
///         if name == "b" { Err(format!("{name} is missing")) } else { Ok(name.len()) }
///     })
///     .await
///     .unwrap_err();
/// assert_eq!((failed.input, failed.index), ("b", 1));
/// assert_eq!(failed.failure, inflight::Failure::Error("b is missing".to_string()));
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Failed<I, E> {
    /// The input that failed.
    pub input: I,
    /// Its position in the source, from 0.
    pub index: u64,
    /// Why.
    pub failure: Failure<E>,
    /// How many attempts were made.
    pub attempts: u32,
    /// Time from its first attempt's start to the end of its last.
    pub elapsed: Duration,
}

/// Says which input failed by its position, `#1` for the second (the input itself need not be
/// `Display` or `Debug`; it is in [`Failed::input`]), and after how many attempts; the why is
/// the [`source`](Error::source).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let failed = inflight::Inflight::new(1)
///     .try_gather([10, 20, 30], |&n| async move { if n == 20 { Err("too big") } else { Ok(n) } })
///     .await
///     .unwrap_err();
/// assert_eq!(failed.to_string(), "input #1 failed after 1 attempt");
/// assert_eq!(failed.input, 20);
/// # }
/// ```
impl<I, E> fmt::Display for Failed<I, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = if self.attempts == 1 { "" } else { "s" };
        write!(
            f,
            "input #{} failed after {} attempt{plural}",
            self.index, self.attempts
        )
    }
}

impl<I: fmt::Debug, E: Error + 'static> Error for Failed<I, E> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.failure)
    }
}

impl<I, E: Into<BoxError>> Failed<I, E> {
    /// This failure as a boxed error (`Box<dyn Error + Send + Sync>`: which input failed, with
    /// the task's error as its source), for tasks whose error type is not itself an
    /// [`Error`](std::error::Error), such as `Box<dyn Error>` or `String`.
    ///
    /// `?` takes the box into `Result<_, Box<dyn Error>>`. Into an `anyhow::Result`, `?` takes
    /// only types that implement `Error`, and a `Box<dyn Error>` does not: convert it with
    /// `anyhow::Error::from_boxed`, as below. When the task's error type implements `Error`
    /// (and the input `Debug`), `Failed` is an `Error` itself and `?` takes it into anyhow
    /// directly, with no conversion.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use std::error::Error;
    /// type BoxError = Box<dyn Error + Send + Sync>;
    ///
    /// // The task's error is a Box<dyn Error>: box the failure, then `from_boxed`.
    /// async fn sizes() -> anyhow::Result<Vec<usize>> {
    ///     let sizes = inflight::Inflight::new(2)
    ///         .try_gather(["a", "bad"], |&name| async move {
    ///             if name == "bad" { Err::<usize, BoxError>("no such file".into()) } else { Ok(name.len()) }
    ///         })
    ///         .await
    ///         .map_err(|failed| anyhow::Error::from_boxed(failed.into_boxed_error()))?;
    ///     Ok(sizes)
    /// }
    /// let error = sizes().await.unwrap_err();
    /// assert_eq!(error.to_string(), "input #1 failed after 1 attempt");
    /// assert_eq!(error.source().unwrap().to_string(), "no such file");
    ///
    /// // The task's error implements Error: `?` as it is.
    /// async fn lengths() -> anyhow::Result<Vec<u64>> {
    ///     let lengths = inflight::Inflight::new(2)
    ///         .try_gather(["Cargo.toml", "no-such-file"], |&path| async move {
    ///             std::fs::metadata(path).map(|m| m.len())
    ///         })
    ///         .await?;
    ///     Ok(lengths)
    /// }
    /// let error = lengths().await.unwrap_err();
    /// assert_eq!(error.to_string(), "input #1 failed after 1 attempt");
    /// let failure = error.downcast_ref::<inflight::Failed<&str, std::io::Error>>().unwrap();
    /// assert!(matches!(&failure.failure, inflight::Failure::Error(e) if e.kind() == std::io::ErrorKind::NotFound));
    /// # }
    /// ```
    pub fn into_boxed_error(self) -> BoxError {
        Box::new(FailedInput {
            index: self.index,
            attempts: self.attempts,
            source: self.failure.into_boxed_error(),
        })
    }
}

/// What [`Failed::into_boxed_error`] makes: the failed input's position, with the cause.
#[derive(Debug)]
struct FailedInput {
    index: u64,
    attempts: u32,
    source: BoxError,
}

impl fmt::Display for FailedInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = if self.attempts == 1 { "" } else { "s" };
        write!(
            f,
            "input #{} failed after {} attempt{plural}",
            self.index, self.attempts
        )
    }
}

impl Error for FailedInput {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&*self.source)
    }
}
