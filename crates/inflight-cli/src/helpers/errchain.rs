//! Walking an error's chain. reqwest wraps what went wrong several times, and an
//! `io::Error` that holds another error does not hand it out as its `source`, so each one is
//! opened too: a TLS error travels inside two io::Errors through hyper.
use std::error::Error;

/// `e`, then every error it was caused by, each io::Error's held error included.
pub fn chain<'a>(e: &'a (dyn Error + 'static)) -> impl Iterator<Item = &'a (dyn Error + 'static)> {
    let mut stack = vec![e];
    std::iter::from_fn(move || {
        let current = stack.pop()?;
        if let Some(source) = current.source() {
            stack.push(source);
        }
        if let Some(held) = current
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            // Looked at before the source, as it is the nearer cause.
            stack.push(held);
        }
        Some(current)
    })
}

/// The first error of type `T` in `e`'s chain.
pub fn find<'a, T: Error + 'static>(e: &'a (dyn Error + 'static)) -> Option<&'a T> {
    chain(e).find_map(|e| e.downcast_ref::<T>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    #[derive(Debug)]
    struct Inner;
    impl std::fmt::Display for Inner {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("inner")
        }
    }
    impl Error for Inner {}

    #[test]
    fn finds_what_io_errors_hold() {
        let e = io::Error::other(io::Error::other(Inner));
        assert!(find::<Inner>(&e).is_some());
        assert_eq!(chain(&e).count(), 3);
        assert!(find::<Inner>(&io::Error::other("no")).is_none());
    }
}
