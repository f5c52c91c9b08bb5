//! The simulation of issue 11: a server with a hidden capacity, phases that change it, and
//! runs of a limit policy against it on tokio's paused clock. Shared by the tests
//! (`tests/adaptive_sim.rs`) and the benchmark (`benches/adaptive.rs`).
#![allow(dead_code)]

pub mod criteria;
pub mod rng;
pub mod run;
pub mod scenario;
pub mod server;
pub mod trace;
