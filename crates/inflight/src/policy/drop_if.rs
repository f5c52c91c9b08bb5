//! [`Inflight::drop_if`](crate::Inflight::drop_if)'s predicate: which failures mean "too much"
//! to an adaptive limit. Stored without its error type, as the retry policy is, so the builder
//! keeps one type; a run takes it back out for its own error type.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use super::outcome::Failure;

/// The predicate for a run whose task fails with `E`.
pub(crate) type DropIf<E> = Arc<dyn Fn(&Failure<E>) -> bool + Send + Sync>;

#[derive(Clone)]
pub(crate) struct ErasedDropIf {
    /// A `DropIf<E>` for the `E` named below.
    predicate: Arc<dyn Any + Send + Sync>,
    error_type: &'static str,
}

impl ErasedDropIf {
    pub(crate) fn new<E: 'static>(
        predicate: impl Fn(&Failure<E>) -> bool + Send + Sync + 'static,
    ) -> Self {
        let typed: DropIf<E> = Arc::new(predicate);
        ErasedDropIf {
            predicate: Arc::new(typed),
            error_type: std::any::type_name::<E>(),
        }
    }

    /// The predicate for a run whose task fails with `E`, if one is stored.
    ///
    /// # Panics
    ///
    /// If the stored predicate was written for another error type.
    #[track_caller]
    pub(crate) fn for_errors<E: 'static>(stored: Option<&ErasedDropIf>) -> Option<DropIf<E>> {
        let stored = stored?;
        match stored.predicate.downcast_ref::<DropIf<E>>() {
            Some(predicate) => Some(predicate.clone()),
            None => panic!(
                "Inflight::drop_if: the builder's predicate takes failures of `{}`, but this run's \
                 task fails with `{}`",
                stored.error_type,
                std::any::type_name::<E>()
            ),
        }
    }
}

/// Whether `failure` is a drop: a timeout always is; a task's error is if `drop_if` says so.
pub(crate) fn is_drop<E>(failure: &Failure<E>, drop_if: Option<&DropIf<E>>) -> bool {
    matches!(failure, Failure::TimedOut(_)) || drop_if.is_some_and(|drop_if| drop_if(failure))
}

impl fmt::Debug for ErasedDropIf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DropIf<{}>", self.error_type)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_timeout_is_always_a_drop_and_an_error_only_when_the_predicate_says() {
        let overload: DropIf<u16> = Arc::new(|f| matches!(f, Failure::Error(429 | 503)));
        let timed_out = Failure::<u16>::TimedOut(Duration::from_secs(1));
        assert!(is_drop(&timed_out, None));
        assert!(is_drop(&timed_out, Some(&overload)));
        assert!(is_drop(&Failure::Error(503), Some(&overload)));
        assert!(!is_drop(&Failure::Error(404), Some(&overload)));
        assert!(!is_drop(&Failure::Error(503), None));
        assert!(!is_drop(&Failure::Panicked("boom".into()), Some(&overload)));
    }
}
