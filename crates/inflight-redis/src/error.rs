//! [`Error`]: what can go wrong talking to Redis, each said in one line.

use std::fmt;
use std::time::Duration;

use redis::{ErrorKind, RedisError, ServerErrorKind};

/// An error of this crate. Its `Display` is one line, fit for a command line's stderr.
///
/// ```
/// let e = inflight_redis::Error::BadUrl { url: "reddis://x".into(), reason: "unknown scheme".into() };
/// assert_eq!(e.to_string(), "invalid Redis URL reddis://x: unknown scheme");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The URL could not be parsed (the password in it, if any, is masked).
    BadUrl {
        /// The URL as given, password masked.
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// Redis refused the user name or password.
    Auth {
        /// The server's URL, password masked.
        url: String,
        /// Redis's own words.
        reason: String,
    },
    /// The server is older than the commands the scripts use.
    TooOld {
        /// The server's URL, password masked.
        url: String,
        /// The `redis_version` the server reported.
        version: String,
    },
    /// Redis stayed unreachable for longer than the outage timeout.
    Unreachable {
        /// The server's URL, password masked.
        url: String,
        /// How long this operation waited.
        waited: Duration,
        /// The last error seen.
        reason: String,
    },
    /// TLS failed: the certificate was refused (the reason names its problem), the files
    /// could not be read, or one side spoke TLS and the other did not.
    Tls {
        /// The server's URL, password masked.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The server at the URL does not speak Redis's protocol.
    NotRedis {
        /// The server's URL, password masked.
        url: String,
        /// What it answered instead, escaped.
        answered: String,
    },
    /// The servers are not laid out as the URL says: a sentinel that does not know the master
    /// name, a Cluster node behind a `redis://` URL, a replica where a master is needed.
    Topology {
        /// The server's URL, password masked.
        url: String,
        /// What is wrong, and what to do.
        reason: String,
    },
    /// Any other error from Redis (a script error, a wrong type under one of our keys, ...).
    Redis {
        /// The server's URL, password masked.
        url: String,
        /// Redis's own words.
        reason: String,
    },
    /// An argument this crate cannot use (a record that does not serialise, say).
    Invalid(String),
    /// There is no queue by this name: nothing was pushed to it yet, or it was deleted.
    NoQueue {
        /// The queue's name.
        queue: String,
    },
    /// A push to a queue that is closed ([`Queue::close`](crate::Queue::close)): no more
    /// inputs can be added to it. (A push of inputs it holds already is not refused.)
    QueueClosed {
        /// The queue's name.
        queue: String,
    },
    /// The queue was deleted ([`Queue::delete`](crate::Queue::delete)) while this handle
    /// used it; nothing of it is written again.
    QueueDeleted {
        /// The queue's name.
        queue: String,
    },
    /// Redis lost the queue's data while this handle used it (a restart without
    /// persistence, or FLUSHALL): its inputs, results and counters are gone.
    QueueLost {
        /// The queue's name.
        queue: String,
    },
    /// Another live worker uses this worker's name on the queue (its heartbeat came within
    /// its lease): two workers of one name would share their inputs.
    WorkerNameTaken {
        /// The queue's name.
        queue: String,
        /// The name.
        worker: String,
        /// Time since the other worker's last heartbeat.
        last_seen: Duration,
        /// The other worker's lease: its name is free once that passes without a heartbeat.
        lease: Duration,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BadUrl { url, reason } => write!(f, "invalid Redis URL {url}: {reason}"),
            Error::Auth { url, reason } => {
                write!(f, "Redis at {url} refused the credentials: {reason}")
            }
            Error::TooOld { url, version } => write!(
                f,
                "Redis at {url} is version {version}; inflight needs 6.2 or newer (XAUTOCLAIM, XPENDING IDLE)"
            ),
            Error::Unreachable {
                url,
                waited,
                reason,
            } => write!(
                f,
                "Redis at {url} unreachable for {:.1}s, giving up: {reason}",
                waited.as_secs_f64()
            ),
            Error::Tls { url, reason } => write!(f, "TLS to Redis at {url} failed: {reason}"),
            Error::NotRedis { url, answered } => write!(
                f,
                "{url} is not a Redis server (it answered \"{answered}\")"
            ),
            Error::Topology { url, reason } => write!(f, "Redis at {url}: {reason}"),
            Error::Redis { url, reason } => write!(f, "Redis at {url}: {reason}"),
            Error::Invalid(why) => write!(f, "{why}"),
            Error::NoQueue { queue } => write!(f, "no queue named {queue}"),
            Error::QueueClosed { queue } => {
                write!(f, "the queue {queue} is closed: no more inputs can be pushed to it")
            }
            Error::QueueDeleted { queue } => {
                write!(f, "the queue {queue} was deleted while in use")
            }
            Error::QueueLost { queue } => write!(
                f,
                "Redis lost the data of the queue {queue} (restarted without persistence, or \
                 flushed): its inputs and results are gone"
            ),
            Error::WorkerNameTaken {
                queue,
                worker,
                last_seen,
                lease,
            } => write!(
                f,
                "a live worker named {worker} works on the queue {queue} already (last \
                 heartbeat {:.1}s ago); the name is free once {:.0}s pass without one",
                last_seen.as_secs_f64(),
                lease.as_secs_f64()
            ),
        }
    }
}

impl std::error::Error for Error {}

/// Whether an error means "Redis is away for now": the operation waits and tries again rather
/// than failing, so that an outage never turns into running past a limit.
pub(crate) fn is_transient(e: &RedisError) -> bool {
    // A refused login never heals by waiting, even when a cluster client wraps it in an I/O
    // error of its initial connections.
    if refused_credentials(e) {
        return false;
    }
    e.is_io_error()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_timeout()
        || matches!(
            e.kind(),
            ErrorKind::Server(
                ServerErrorKind::BusyLoading
                    | ServerErrorKind::TryAgain
                    | ServerErrorKind::MasterDown
                    | ServerErrorKind::ClusterDown
            )
        )
}

/// Whether Redis refused the login: the error itself, or (a cluster client's initial
/// connections) its text, which is all that client keeps of the cause.
fn refused_credentials(e: &RedisError) -> bool {
    e.kind() == ErrorKind::AuthenticationFailed
        || matches!(e.code(), Some("WRONGPASS" | "NOAUTH" | "NOPERM"))
        || e.to_string().contains("AuthenticationFailed")
}

/// A non-transient Redis error as one of ours.
pub(crate) fn classify(e: &RedisError, url: &str) -> Error {
    let reason = one_line(&e.to_string());
    let auth = refused_credentials(e);
    if let Some(problem) = crate::tls::certificate_problem(e) {
        return Error::Tls {
            url: url.to_string(),
            reason: problem,
        };
    }
    if matches!(e.code(), Some("MOVED" | "ASK" | "CROSSSLOT")) {
        return Error::Topology {
            url: url.to_string(),
            reason: CLUSTER_HINT.to_string(),
        };
    }
    if auth {
        Error::Auth {
            url: url.to_string(),
            reason,
        }
    } else {
        Error::Redis {
            url: url.to_string(),
            reason,
        }
    }
}

/// What a `redis://` URL to a Cluster node is told.
pub(crate) const CLUSTER_HINT: &str =
    "this server is a Redis Cluster node: use redis+cluster://HOST:PORT[,HOST:PORT...]";

/// Collapses whitespace so that a multi-line server message stays on one line.
pub(crate) fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The URL with its password (if any) replaced by `***`, for messages: the one in the user
/// part, and a `pass` or `password` query parameter (`redis+unix:///path?pass=...`). Invalid
/// URLs are masked too (everything before the last `@` after the scheme's user name), since
/// they are what error messages show.
///
/// ```
/// # use inflight_redis::masked_url;
/// assert_eq!(masked_url("redis://user:secret@host:6379/0"), "redis://user:***@host:6379/0");
/// assert_eq!(masked_url("redis://:secret@host"), "redis://:***@host");
/// assert_eq!(masked_url("redis://:se/cr@et@host"), "redis://:***@host");
/// assert_eq!(masked_url("redis+unix:///s.sock?db=1&pass=secret"), "redis+unix:///s.sock?db=1&pass=***");
/// assert_eq!(masked_url("redis://host:6379"), "redis://host:6379");
/// // Typos without a scheme still hide what looks like a password.
/// assert_eq!(masked_url("user:secret@host:6379"), "user:***@host:6379");
/// assert_eq!(masked_url("redis:/user:secret@host"), "redis:***@host");
/// ```
pub fn masked_url(url: &str) -> String {
    // No scheme (a typo such as `redis:/` or `user:pw@host`): all of it is the authority part,
    // so a user:password before an '@' is masked as in a URL.
    let (head, rest) = match url.find("://") {
        Some(scheme_end) => url.split_at(scheme_end + 3),
        None => ("", url),
    };
    let (rest, query) = match rest.split_once('?') {
        Some((rest, query)) => (rest, Some(query)),
        None => (rest, None),
    };
    let mut out = head.to_string();
    match rest.rfind('@') {
        // A password may hold '/' or '@' (then the URL is invalid, but still shown): all up
        // to the last '@' is the user part.
        Some(at) => {
            let userinfo = &rest[..at];
            match userinfo.find(':') {
                Some(colon) => out.push_str(&format!("{}:***", &userinfo[..colon])),
                None => out.push_str("***"),
            }
            out.push_str(&rest[at..]);
        }
        None => out.push_str(rest),
    }
    if let Some(query) = query {
        let masked: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if matches!(key, "pass" | "password") => format!("{key}=***"),
                _ => pair.to_string(),
            })
            .collect();
        out.push('?');
        out.push_str(&masked.join("&"));
    }
    out
}
