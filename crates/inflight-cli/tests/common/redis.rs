//! A real `redis-server` for the CLI's Redis tests: the library's harness
//! (`crates/inflight-redis/tests/common/redis_server.rs`), with a shorter way to ask for
//! persistence and a password.
#![allow(dead_code)]

#[path = "../../../inflight-redis/tests/common/redis_server.rs"]
mod redis_server;

/// TLS, ACL users, Sentinel and Cluster (the library's harness too).
#[path = "../../../inflight-redis/tests/common/topology.rs"]
pub mod topology;

#[allow(unused_imports)]
pub use redis_server::{server, Server};

/// A fresh server, with `appendonly yes` if asked (a restart keeps everything), and a
/// password if given.
pub fn server_with(appendonly: bool, password: Option<&str>) -> Option<Server> {
    redis_server::server_with(redis_server::Config {
        appendonly,
        password: password.map(str::to_string),
        ..Default::default()
    })
}
