//! The builder's plug-in: [`GlobalLimit`], [`GlobalPerKey`] and [`GlobalRate`] as
//! [`inflight::SharedLimit`]s, so `Inflight::shared_limit`, `shared_per_key` and `shared_rate`
//! take them and every entry point of the library (and both commands) gets them.

use inflight::{Acquiring, SharedLimit, SharedPermit};

use crate::limit::global::GlobalLimit;
use crate::limit::per_key::GlobalPerKey;
use crate::rate::GlobalRate;

/// A place under the global concurrency limit for each input, held from its start to its end.
///
/// ```no_run
/// # #[tokio::main] async fn main() -> Result<(), inflight_redis::Error> {
/// let redis = inflight_redis::Redis::connect("redis://127.0.0.1/").await?;
/// let crawl = inflight::Inflight::new(50) // this process: 50 at once
///     .shared_limit(inflight_redis::GlobalLimit::new(&redis, "crawl", 200)); // all: 200
/// # drop(crawl); Ok(()) }
/// ```
impl SharedLimit for GlobalLimit {
    fn acquire<'a>(&'a self, key: Option<&'a str>) -> Acquiring<'a> {
        Box::pin(async move {
            let permit = GlobalLimit::acquire(self, key).await?;
            Ok(SharedPermit::new(permit))
        })
    }
}

/// A place under the input's key's global limit (the run's `per_key` keys, by their
/// `Display`), held from its start to its end.
///
/// ```no_run
/// # #[tokio::main] async fn main() -> Result<(), inflight_redis::Error> {
/// let redis = inflight_redis::Redis::connect("redis://127.0.0.1/").await?;
/// let crawl = inflight::Inflight::new(50)
///     .shared_per_key(inflight_redis::GlobalPerKey::new(&redis, "crawl-hosts", 4));
/// // A run of it then says its keys: `.per_key(8, |url| host_of(url))`.
/// # drop(crawl); Ok(()) }
/// ```
impl SharedLimit for GlobalPerKey {
    fn acquire<'a>(&'a self, key: Option<&'a str>) -> Acquiring<'a> {
        Box::pin(async move {
            let permit = GlobalPerKey::acquire(self, key).await?;
            Ok(SharedPermit::new(permit))
        })
    }
}

/// One start of the global rate for each attempt (retries included).
///
/// ```no_run
/// # #[tokio::main] async fn main() -> Result<(), inflight_redis::Error> {
/// let redis = inflight_redis::Redis::connect("redis://127.0.0.1/").await?;
/// let rate = inflight::Rate::per_second(20);
/// let crawl = inflight::Inflight::new(50)
///     .shared_rate(inflight_redis::GlobalRate::new(&redis, "crawl", rate));
/// # drop(crawl); Ok(()) }
/// ```
impl SharedLimit for GlobalRate {
    fn acquire<'a>(&'a self, key: Option<&'a str>) -> Acquiring<'a> {
        Box::pin(async move {
            GlobalRate::acquire(self, key).await?;
            Ok(SharedPermit::empty())
        })
    }
}
